/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the known-answer vector sets. Private to tests/vectors. */
#ifndef VSM_KAT_H
#define VSM_KAT_H

#include <stddef.h>
#include <openssl/types.h>
#include <stdint.h>

#include "backend.h"

/* One vector set ("file"): counted and printed as one line. */
struct kat_file {
	const char *name;
	unsigned tests, passed, failed, skipped;
};

void kat_begin(struct kat_file *f, const char *name);
/* Records one test; prints the message when it failed. */
void kat_check(struct kat_file *f, int ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Records a test not run, with the reason (printed). */
void kat_skip(struct kat_file *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the counts line; returns the failures. */
unsigned kat_end(struct kat_file *f);

/* Hex to bytes (malloc'd, never NULL; "" gives length 0). Aborts on bad hex. */
uint8_t *kat_unhex(const char *hex, size_t *len);

/* A byte string the runner owns. */
struct kat_buf {
	uint8_t *p;
	size_t n;
};

struct kat_buf kat_hex(const char *hex);
void kat_buf_free(struct kat_buf *b);
/* A key as DER in the given OSSL_ENCODER structure ("PrivateKeyInfo", ...); empty on failure. */
struct kat_buf kat_der(EVP_PKEY *pk, int selection, const char *structure);

/* Run one request; returns the status and fills out/out_len/detail. */
int kat_op(const struct kat_backend *be, void *sess, uint32_t opc, uint32_t flags,
	   const struct kat_buf *iv, const struct kat_buf *aad, const uint8_t *src, size_t src_len,
	   const struct kat_buf *aux, uint8_t *out, size_t cap, size_t *out_len, int *detail);

/*
 * CIPHER/AEAD: encrypt pt must give ct (with the tag appended for AEAD),
 * decrypting ct must give pt back. Returns 1 if both hold.
 */
int kat_sym(const struct kat_backend *be, void *sess, const struct kat_buf *iv,
	    const struct kat_buf *aad, const struct kat_buf *pt, const struct kat_buf *ct,
	    char *why, size_t why_len);

/* HASH/MAC one-shot digest compared with expect. */
int kat_digest(const struct kat_backend *be, void *sess, const uint8_t *msg, size_t len,
	       const struct kat_buf *expect);

/* Convenience: a session from the usual fields; returns NULL on failure (status in *st). */
void *kat_session(const struct kat_backend *be, uint32_t svc, uint32_t alg, const uint8_t *key,
		  size_t key_len, uint32_t tag_len, int *st, int *detail);

/* The vector sets. Each returns its failures. */
unsigned vsm_kat_builtin(const struct kat_backend *be);
unsigned vsm_kat_sm2(const struct kat_backend *be);
unsigned vsm_kat_errors(const struct kat_backend *be);
unsigned vsm_kat_keyformats(const struct kat_backend *be);
unsigned vsm_kat_wycheproof(const struct kat_backend *be, const char *vectors_dir);

#endif
