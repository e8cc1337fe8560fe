/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private interface between the files of the OpenSSL software engine. Each
 * file owns one service: it fetches its algorithms once in *_init (the tables
 * are read-only afterwards, so workers share them without locks) and builds
 * sessions whose contexts are reused request after request.
 */
#ifndef VSM_ENGINE_SOFT_H
#define VSM_ENGINE_SOFT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "engine/engine.h"

#define SOFT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Every session starts with this, so soft.c dispatches without knowing the service. */
struct soft_sess {
	int (*op)(struct soft_sess *s, const struct vsm_wire_op *op, uint8_t *out, size_t out_cap,
		  size_t *out_len, int *detail);
	void (*free)(struct soft_sess *s);
};

static inline int soft_fail(int *detail, int status, int d)
{
	*detail = d;
	return status;
}

/* OpenSSL queues an error per failure; a worker must not let them pile up. */
int vsm_soft_engine_err(int *detail);

static inline void soft_set_alg(uint8_t *bitmap, int alg)
{
	bitmap[alg / 8] |= (uint8_t)(1u << (alg % 8));
}

int vsm_soft_cipher_init(void);
void vsm_soft_cipher_fini(void);
void vsm_soft_cipher_algs(uint8_t *bitmap);
int vsm_soft_cipher_new(const struct vsm_wire_session *p, struct soft_sess **s, int *detail);

int vsm_soft_digest_init(void);
void vsm_soft_digest_fini(void);
void vsm_soft_digest_algs(uint8_t *bitmap);
int vsm_soft_hash_new(const struct vsm_wire_session *p, struct soft_sess **s, int *detail);
int vsm_soft_mac_new(const struct vsm_wire_session *p, struct soft_sess **s, int *detail);
/* The fetched EVP_MD for a HASH alg id, or NULL. Shared with akcipher. */
const EVP_MD *vsm_soft_md(int alg);

int vsm_soft_aead_init(void);
void vsm_soft_aead_fini(void);
void vsm_soft_aead_algs(uint8_t *bitmap);
int vsm_soft_aead_new(const struct vsm_wire_session *p, struct soft_sess **s, int *detail);

int vsm_soft_sm4gcm_init(void);
void vsm_soft_sm4gcm_algs(uint8_t *bitmap);
int vsm_soft_sm4gcm_new(const struct vsm_wire_session *p, struct soft_sess **s, int *detail);

int vsm_soft_akcipher_init(void);
void vsm_soft_akcipher_fini(void);
void vsm_soft_akcipher_algs(uint8_t *bitmap);
int vsm_soft_akcipher_new(const struct vsm_wire_session *p, struct soft_sess **s, int *detail);

/* Longest SM2 user id: ENTL counts its bits in 16 bits. */
#define VSM_SOFT_SM2_MAX_ID 8191
/* Z of GB/T 32918.2 5.5 for an SM2 or explicit-curve EC key; 1 on success. */
int vsm_soft_sm2_z(EVP_PKEY *pk, const uint8_t *id, size_t id_len, uint8_t z[32]);

/* SM2 on explicit-parameter curves (soft_sm2x.c, libgcrypt). */
struct vsm_soft_sm2x;
struct vsm_soft_sm2x *vsm_soft_sm2x_new(EVP_PKEY *ec);
void vsm_soft_sm2x_free(struct vsm_soft_sm2x *x);
int vsm_soft_sm2x_has_private(const struct vsm_soft_sm2x *x);
/* e is SM3(Z || M). Sign writes a DER signature; both return 1 on success. */
int vsm_soft_sm2x_sign(const struct vsm_soft_sm2x *x, const uint8_t e[32], uint8_t *out, size_t cap,
		       size_t *out_len);
int vsm_soft_sm2x_verify(const struct vsm_soft_sm2x *x, const uint8_t e[32], const uint8_t *sig,
			 size_t sig_len);

#endif
