/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libsdf-vsm internals shared by the function-group files. An SDF device is
 * the address of a vsmd; an SDF session is one vsm_client (one connection,
 * one thread), plus what the SDF API keeps per session: private-key access
 * rights, session keys (key objects in vsmd), the vsmd sessions it reuses,
 * and the state of the multi-part calls.
 */
#ifndef VSM_SDF_INT_H
#define VSM_SDF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vsm/vsm.h>

#include "sdf.h"

#define SDF_DEV_MAGIC  0x56534d44u /* "VSMD" */
#define SDF_SESS_MAGIC 0x56534d53u /* "VSMS" */
#define SDF_KEY_MAGIC  0x56534d4bu /* "VSMK" */
#define SDF_AGR_MAGIC  0x56534d41u /* "VSMA" */

#define SDF_URI_MAX	  256
#define SDF_PW_MAX	  128
#define SDF_RIGHTS	  16
#define SDF_CACHE	  16
#define SDF_CACHE_KEY_MAX 600 /* public keys only: an RSA-4096 SPKI fits */
#define SDF_HASH_BUF	  (64u * 1024u)
#define SDF_SM2_BITS	  256
#define SDF_SM2_LEN	  32

struct sdf_device {
	uint32_t magic;
	char uri[SDF_URI_MAX]; /* empty: libvsm's default */
};

/* What a reusable vsmd session was made from. */
enum sdf_cache_kind { SDF_C_NONE, SDF_C_INTERNAL, SDF_C_KEYOBJ, SDF_C_PUBLIC };

struct sdf_cached {
	int kind;
	int usage;
	uint32_t index;
	int alg, padding, hash;
	unsigned flags;
	bool priv;			/* INTERNAL: made with the password */
	uint64_t keyobj;		/* KEYOBJ */
	uint8_t key[SDF_CACHE_KEY_MAX]; /* PUBLIC: SPKI DER */
	size_t key_len;
	uint64_t handle;
	unsigned long used;
};

struct sdf_right {
	bool set;
	uint32_t index;
	uint8_t pw[SDF_PW_MAX];
	size_t pw_len;
};

/* A session key: a key object held by vsmd. */
struct sdf_key {
	uint32_t magic;
	uint64_t obj;
	unsigned bits;
	struct sdf_key *next;
};

/* Sponsor side of an SM2 agreement, between the two SDF calls. */
struct sdf_agreement {
	uint32_t magic;
	uint64_t handle;
	struct sdf_agreement *next;
};

enum sdf_mp_kind { SDF_MP_NONE, SDF_MP_ENC, SDF_MP_DEC, SDF_MP_MAC };

struct sdf_session {
	uint32_t magic;
	vsm_client *c;
	struct sdf_right rights[SDF_RIGHTS];
	struct sdf_cached cache[SDF_CACHE];
	unsigned long tick;
	struct sdf_key *keys;
	struct sdf_agreement *agreements;

	/* SDF_Hash*: vsmd hash session, bytes held back to save round trips. */
	bool hash_active;
	bool hash_open; /* vsmd holds a VSM_OPF_MORE chain */
	uint64_t hash_handle;
	int hash_alg; /* 0: no vsmd session yet */
	uint8_t *hash_buf;
	size_t hash_len;

	/* SDF_Encrypt/Decrypt/CalculateMAC Init/Update/Final. */
	int mp_kind;
	struct sdf_key *mp_key;
	int mp_alg;  /* vsm alg */
	int mp_mode; /* sym.c's MODE_* */
	uint8_t mp_iv[16];
	uint8_t mp_part[16];
	size_t mp_part_len;

	/* SDF_HMAC*. */
	bool hmac_active;
	uint64_t hmac_handle;
	size_t hmac_len;
};

/* Which SDR_* an error becomes depends on what was being done. */
enum sdf_ctx {
	SDF_X_GENERIC,
	SDF_X_ACCESS, /* SDF_GetPrivateKeyAccessRight */
	SDF_X_KEY,    /* key management */
	SDF_X_PK,     /* public-key operation */
	SDF_X_SK,     /* private-key operation */
	SDF_X_SIGN,
	SDF_X_VERIFY,
	SDF_X_SYM,
	SDF_X_MAC,
	SDF_X_AEAD_DEC,
	SDF_X_FILE,
	SDF_X_RAND,
};

/* status.c: libvsm return value (0, vsm status, -errno) to SDR_*. */
int vsm_sdf_rc(const struct sdf_session *s, int rc, int ctx);

/* device.c */
struct sdf_session *vsm_sdf_session(void *h);
const struct sdf_right *vsm_sdf_right(const struct sdf_session *s, uint32_t index);
/*
 * A vsmd session for an internal key, a key object or an external public
 * key, reused while this SDF session lives. p gives service/alg/padding/
 * hash/flags; priv asks for the key's password (from the access right).
 */
int vsm_sdf_internal(struct sdf_session *s, const struct vsm_session_params *p, int usage,
		     uint32_t index, bool priv, uint64_t *h, int ctx);
int vsm_sdf_keyobj(struct sdf_session *s, const struct vsm_session_params *p, uint64_t obj,
		   uint64_t *h, int ctx);
int vsm_sdf_public(struct sdf_session *s, const struct vsm_session_params *p, const void *spki,
		   size_t spki_len, uint64_t *h, int ctx);
/* Forget (and destroy in vsmd) cached sessions of a key object or key index. */
void vsm_sdf_forget_keyobj(struct sdf_session *s, uint64_t obj);
void vsm_sdf_forget_index(struct sdf_session *s, uint32_t index);

/* key.c */
struct sdf_key *vsm_sdf_key(struct sdf_session *s, void *h);
void vsm_sdf_keys_free(struct sdf_session *s);

/* hash.c, sym.c */
void vsm_sdf_hash_reset(struct sdf_session *s);
void vsm_sdf_hash_close(struct sdf_session *s);
void vsm_sdf_sym_reset(struct sdf_session *s);

/* convert.c: SDF structures <-> DER. DER buffers from here are freed by the caller. */
int vsm_sdf_ecc_pub_to_spki(const ECCrefPublicKey *k, uint8_t **der, size_t *len);
int vsm_sdf_spki_to_ecc_pub(const uint8_t *der, size_t len, ECCrefPublicKey *k);
/* 65 bytes 04 || x || y, and back. */
int vsm_sdf_ecc_pub_to_point(const ECCrefPublicKey *k, uint8_t pt[65]);
void vsm_sdf_point_to_ecc_pub(const uint8_t pt[65], ECCrefPublicKey *k);
/* PKCS#8 of an SM2 private scalar; free with OPENSSL_clear_free. */
int vsm_sdf_ecc_priv_to_der(const ECCrefPrivateKey *k, uint8_t **der, size_t *len);
int vsm_sdf_rsa_pub_to_spki(const RSArefPublicKey *k, uint8_t **der, size_t *len);
int vsm_sdf_spki_to_rsa_pub(const uint8_t *der, size_t len, RSArefPublicKey *k);
int vsm_sdf_rsa_priv_to_der(const RSArefPrivateKey *k, uint8_t **der, size_t *len);
int vsm_sdf_sig_from_der(const uint8_t *der, size_t len, ECCSignature *sig);
int vsm_sdf_sig_to_der(const ECCSignature *sig, uint8_t **der, size_t *len);
/* GM/T 0009 SM2Cipher DER <-> ECCCipher (whose C must hold L bytes). */
int vsm_sdf_cipher_from_der(const uint8_t *der, size_t len, ECCCipher *c);
int vsm_sdf_cipher_to_der(const ECCCipher *c, uint8_t **der, size_t *len);
/* Key pairs made locally for SDF_GenerateKeyPair_*: the caller gets the private key anyway. */
int vsm_sdf_gen_rsa(unsigned bits, RSArefPublicKey *pub, RSArefPrivateKey *priv);
int vsm_sdf_gen_sm2(ECCrefPublicKey *pub, ECCrefPrivateKey *priv);
/* The vsm alg of an SPKI's key (VSM_ALG_SM2, _RSA, _ECDSA, _ED25519), or -1. */
int vsm_sdf_spki_alg(const uint8_t *der, size_t len);
/* ENTL || ID || a || b || xG || yG || xA || yA, the input of the SM2 Z hash. */
int vsm_sdf_z_input(const ECCrefPublicKey *k, const uint8_t *id, size_t id_len, uint8_t **out,
		    size_t *len);

#endif
