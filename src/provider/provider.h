/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals of the OpenSSL 3 provider "vsm" (docs/provider.md).
 *
 * Private operations (sign, decrypt) run in vsmd; public ones run locally in
 * a library context of the provider's own, so that nothing the provider
 * fetches for itself can ever land back in the provider.
 */
#ifndef VSM_PROVIDER_H
#define VSM_PROVIDER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/evp.h>

#include <vsm/vsm.h>

#define VSM_PROV_NAME  "vsm"
#define VSM_PROV_PROPS "provider=vsm"

struct vsm_conn;

struct vsm_prov {
	const OSSL_CORE_HANDLE *handle;
	OSSL_LIB_CTX *libctx; /* private: the default provider, for public operations */
	OSSL_PROVIDER *deflt;
	char *uri; /* vsm_uri from the config, else NULL ($VSM_URI / default) */
	char *pin; /* vsm_key_password from the config, else NULL */
	pthread_key_t tls;
	pthread_mutex_t lock; /* conns */
	struct vsm_conn *conns;
};

enum vsm_pk {
	VSM_PK_RSA,
	VSM_PK_EC, /* ECDSA P-256, P-384 */
	VSM_PK_SM2,
	VSM_PK_ED25519,
};

/* What a session on a key is created with; equal parameters share a session. */
struct vsm_sess_params {
	int padding;
	int hash;
	int mgf_hash;
	int salt_len;
	unsigned flags;
	uint8_t aux[64];
	size_t aux_len;
};

#define VSM_KEY_SESSIONS 16

struct vsm_key {
	struct vsm_prov *prov;
	int kind; /* enum vsm_pk */
	int refs;
	EVP_PKEY *pub;	 /* public half, in prov->libctx */
	int params_only; /* EC domain parameters, no key (a keygen template) */
	uint8_t *der;	 /* an application's own private key (DER), sent as session key */
	size_t der_len;
	int usage; /* keystore key when non-zero: (usage, index) */
	uint32_t index;
	char *pw;
	size_t pw_len;
	pthread_mutex_t lock;
	struct {
		struct vsm_sess_params p;
		pid_t pid;
		uint64_t handle;
	} sess[VSM_KEY_SESSIONS];
	int nsess;
};

/* provider.c */
const char *vsm_prov_kind_name(int kind);
int vsm_prov_alg(int kind);
/* OpenSSL digest name to a vsm HASH alg; 0 if unknown. */
int vsm_prov_hash_alg(OSSL_LIB_CTX *lc, const char *mdname);
int vsm_prov_hash_by_len(size_t len);

/* conn.c: the calling thread's client of this process. */
vsm_client *vsm_conn_get(struct vsm_prov *p, int *rc);
void vsm_conn_free_all(struct vsm_prov *p);
/*
 * Run one operation: inside an ASYNC job the job pauses until vsmd answers;
 * otherwise the call blocks. Returns 0 or a libvsm error.
 */
int vsm_conn_run(struct vsm_prov *p, const struct vsm_op *op, void *out, size_t *out_len);
void vsm_prov_raise(struct vsm_prov *p, int rc, const char *what);

/* keymgmt.c */
struct vsm_key *vsm_key_new(struct vsm_prov *p, int kind);
void vsm_key_free(struct vsm_key *k);
/* Builds k->pub from SPKI DER, setting k->kind; 0 on success. */
int vsm_key_set_spki(struct vsm_key *k, const uint8_t *der, size_t len);
/* A session on the key for these parameters (cached per process); 0 or an error. */
int vsm_key_session(struct vsm_key *k, const struct vsm_sess_params *sp, uint64_t *handle);
/* One private operation on the key in vsmd; retries once on a vanished session. */
int vsm_key_op(struct vsm_key *k, const struct vsm_sess_params *sp, int opcode, const void *src,
	       size_t src_len, void *out, size_t *out_len);
extern const OSSL_DISPATCH vsm_rsa_keymgmt[];
extern const OSSL_DISPATCH vsm_ec_keymgmt[];
extern const OSSL_DISPATCH vsm_sm2_keymgmt[];
extern const OSSL_DISPATCH vsm_ed25519_keymgmt[];

/* signature.c, asym_cipher.c */
extern const OSSL_DISPATCH vsm_signature[];
extern const OSSL_DISPATCH vsm_ed25519_signature[];
extern const OSSL_DISPATCH vsm_asym_cipher[];

/* keyref.c: vsm: URIs and keystore keys. */
struct vsm_keyref {
	char label[VSM_KEY_LABEL_MAX + 1];
	int usage;
	uint32_t index;
	char pw[256];
	size_t pw_len;
	int have_pw;
};
int vsm_keyref_parse(const char *uri, struct vsm_keyref *r);
/* Resolves the reference in vsmd: a key object with the public half only. */
struct vsm_key *vsm_keyref_load(struct vsm_prov *p, const struct vsm_keyref *r);
/* Hands a key to OpenSSL as an object reference (store and decoder). */
int vsm_keyref_object(struct vsm_key *k, OSSL_CALLBACK *cb, void *cbarg);

/* store.c, decoder.c */
extern const OSSL_DISPATCH vsm_store[];
extern const OSSL_DISPATCH vsm_pem_decoder[];
extern const OSSL_DISPATCH vsm_der_decoder[];
extern const OSSL_DISPATCH vsm_pem2der_decoder[];

#endif
