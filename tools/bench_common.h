/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vsm-bench internals: the case table, the prepared inputs a case shares
 * between threads, and the two sides (native OpenSSL, vsmd through libvsm).
 */
#ifndef VSM_BENCH_COMMON_H
#define VSM_BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include <vsm/vsm.h>

enum bench_kind {
	BK_NULL,
	BK_CIPHER,
	BK_AEAD,
	BK_HASH,
	BK_MAC,
	BK_SIGN,
	BK_VERIFY,
};

enum bench_pkey {
	BP_NONE,
	BP_RSA2048,
	BP_P256,
	BP_P384,
	BP_SM2,
	BP_ED25519,
};

struct bench_case {
	const char *name;
	const char *desc;
	enum bench_kind kind;
	int alg;	  /* enum vsm_alg */
	unsigned key_len; /* symmetric key bytes */
	unsigned iv_len;
	unsigned block;	  /* size must be a multiple of this (CBC) */
	const char *ossl; /* EVP cipher or digest name; NULL: see gcrypt */
	int hash;	  /* akcipher: vsm hash alg (0 for Ed25519) */
	enum bench_pkey pkey;
	int gcrypt; /* native side through libgcrypt (OpenSSL 3.0 lacks it) */
};

extern const struct bench_case bench_cases[];
extern const size_t bench_ncases;
const struct bench_case *bench_case_find(const char *name);

#define BENCH_TAG_LEN 16
#define BENCH_SIG_MAX 512

/* Inputs prepared once per case and size, read-only while threads run. */
struct bench_prep {
	const struct bench_case *bc;
	size_t size;
	uint8_t key[32];
	uint8_t iv[16];
	uint8_t *msg; /* size bytes */
	EVP_PKEY *pkey;
	uint8_t *der; /* key sent to vsmd: PKCS#8 to sign, SPKI to verify */
	size_t der_len;
	uint8_t sig[BENCH_SIG_MAX]; /* VERIFY: a valid signature of msg */
	size_t sig_len;
	const EVP_CIPHER *cipher; /* fetched once */
	const EVP_MD *md;
	EVP_MAC *mac;
	size_t out_cap; /* output bytes one operation produces at most */
};

int bench_prep_init(struct bench_prep *p, const struct bench_case *bc, size_t size);
void bench_prep_free(struct bench_prep *p);
/* Session parameters for vsmd (valid while p lives). */
void bench_session_params(const struct bench_prep *p, struct vsm_session_params *sp);
/* The vsm operation for one request. */
void bench_vsm_op(const struct bench_prep *p, uint64_t session, struct vsm_op *op);

/* Native side: one per thread. */
struct bench_native;
struct bench_native *bench_native_new(const struct bench_prep *p, char *err, size_t errlen);
/* One operation; output goes to a per-context buffer. 0 or -1. */
int bench_native_op(struct bench_native *n);
/* Output of the last op, for cross-checking against vsmd. */
const uint8_t *bench_native_out(const struct bench_native *n, size_t *len);
void bench_native_free(struct bench_native *n);

/* Native library init (libgcrypt). */
int bench_native_global_init(void);
/* EVP_Digest{Sign,Verify}Init_ex for the case's key and hash (SM2: with its id). */
int bench_pkey_init(const struct bench_prep *p, EVP_MD_CTX *ctx, int sign);
/* Check a signature vsmd made, with the native key. 0 if it verifies. */
int bench_verify_sig(const struct bench_prep *p, const uint8_t *sig, size_t len);

/*
 * Zero-copy buffers of one request over shm, from vsm_shm_alloc: src (a copy
 * of the message, with a VERIFY signature right after it, where libvsm
 * carries aux without copying) and out in the same block. For null, out is
 * src: the echo runs in place.
 */
struct bench_zc {
	uint8_t *src;
	uint8_t *out;
};
/* 0, or -1 on a stream client or when the region has no room. */
int bench_zc_alloc(vsm_client *c, const struct bench_prep *p, struct bench_zc *z);
void bench_zc_free(vsm_client *c, struct bench_zc *z);
/* Point op (from bench_vsm_op) at the zero-copy buffers. */
void bench_zc_op(const struct bench_prep *p, const struct bench_zc *z, struct vsm_op *op);

/* Running one side of a case on N threads. */
struct bench_cfg {
	const char *uri;
	unsigned threads;
	double seconds;
};

struct bench_result {
	int ok; /* 0: not run or failed (err says why) */
	char err[160];
	uint64_t ops;
	double ops_per_s;
	double p50_us;
	double p99_us;
};

void bench_run_native(const struct bench_prep *p, const struct bench_cfg *cfg,
		      struct bench_result *r);
void bench_run_vsm(const struct bench_prep *p, const struct bench_cfg *cfg, unsigned depth,
		   struct bench_result *r);

#endif
