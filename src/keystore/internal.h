/* SPDX-License-Identifier: Apache-2.0 */
/* Between the keystore's files; nothing outside src/keystore includes this. */
#ifndef VSM_KEYSTORE_INTERNAL_H
#define VSM_KEYSTORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KS_KEY_LEN  32u /* master and tenant storage keys: AES-256 */
#define KS_CTX_LEN  32u /* binding header inside every wrapped plaintext */
#define KS_SALT_LEN 16u
#define KS_HASH_LEN 32u

/* What a wrapped blob is; part of its binding, so one kind never unwraps as another. */
enum ks_kind {
	KS_KIND_CHECK = 1,  /* the master key's check value */
	KS_KIND_TENANT = 2, /* a tenant's storage key */
	KS_KIND_KEY = 3,    /* a key's secret */
	KS_KIND_FILE = 4,   /* a file's contents */
};

/*
 * The binding of one blob: SHA-256 over its kind, tenant and everything that
 * names or governs the row (usage, index, type, bits, password verifier,
 * public key, file name).
 * Rows swapped or edited in the database then fail to unwrap.
 */
struct ks_ctx {
	enum ks_kind kind;
	const char *tenant;
	uint32_t usage, index, type, bits;
	uint32_t kdf_iter;
	const uint8_t *salt, *hash; /* NULL when the key has no password */
	const uint8_t *pub;	    /* public key stored beside the secret */
	size_t pub_len;
	const uint8_t *name; /* file name */
	size_t name_len;
};

int ks_ctx_digest(const struct ks_ctx *c, uint8_t out[KS_CTX_LEN]);

/* wrap.c: RFC 5649 under kek of ctx || in. 0 or -1. *out malloc'd. */
int ks_wrap(const uint8_t kek[KS_KEY_LEN], const struct ks_ctx *c, const uint8_t *in, size_t len,
	    uint8_t **out, size_t *out_len);
/* -1 when the blob does not unwrap or belongs to another row. *out wiped/freed by the caller. */
int ks_unwrap(const uint8_t kek[KS_KEY_LEN], const struct ks_ctx *c, const uint8_t *in, size_t len,
	      uint8_t **out, size_t *out_len);

/* master.c */
int ks_master_exists(const char *path);
int ks_master_load(const char *path, bool may_create, uint8_t key[KS_KEY_LEN], char *err,
		   size_t errlen);

/* kdf.c: PBKDF2-HMAC-SHA256 verifier. ks_pw_check returns 0 on a match. */
int ks_pw_make(const uint8_t *pw, size_t len, uint32_t iter, uint8_t salt[KS_SALT_LEN],
	       uint8_t hash[KS_HASH_LEN]);
/* Forget every password proven right (the keystore closes). */
void ks_pw_cache_clear(void);
int ks_pw_check(const uint8_t *pw, size_t len, uint32_t iter, const uint8_t salt[KS_SALT_LEN],
		const uint8_t hash[KS_HASH_LEN]);

/* keystore.c, for files.c: run fn inside one BEGIN IMMEDIATE transaction under the lock. */
struct sqlite3;
typedef int (*ks_txn_fn)(struct sqlite3 *db, const uint8_t skey[KS_KEY_LEN], void *arg,
			 int *detail);
int ks_txn(const char *tenant, bool create_tenant, ks_txn_fn fn, void *arg, int *detail);
const struct vsm_keystore_conf *ks_conf(void);

#endif
