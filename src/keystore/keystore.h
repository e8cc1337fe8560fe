/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The keystore: each tenant's internal keys and small files, in one SQLite
 * database (WAL, synchronous=FULL: a call that returns success has been
 * committed durably). Tenants are named, so their keys outlive connections
 * and restarts.
 *
 * At rest every secret is wrapped (RFC 5649 AES key wrap with padding) under
 * the tenant's storage key, itself wrapped under the host master key (a 0600
 * file, created on first start). The database alone reveals no key. A key's
 * password is kept only as a salted PBKDF2-HMAC-SHA256 verifier and checked
 * in constant time.
 *
 * Thread-safe: any worker, the control socket and the vhost-user threads may
 * call in concurrently. Status contract as the engines': VSM_S_* with a
 * VSM_D_* detail (NO_KEY, EXISTS, ACCESS_DENIED, RANGE, KEYSTORE, ...).
 */
#ifndef VSM_KEYSTORE_H
#define VSM_KEYSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vsm/wire.h>

#include "daemon/config.h"

#define VSM_DEFAULT_KEYSTORE   "/var/lib/vsm/keystore.db"
#define VSM_DEFAULT_MASTER_KEY "/var/lib/vsm/master.key"

/*
 * Open (creating the database and master key if missing). With
 * kc->enabled false: returns 0 and the keystore stays disabled. Errors
 * return -1 with a message in err; main() treats that as fatal only when
 * the paths were configured explicitly (kc->path_set).
 */
int vsm_keystore_open(const struct vsm_keystore_conf *kc, char *err, size_t errlen);
void vsm_keystore_close(void);
bool vsm_keystore_enabled(void);
const struct vsm_keystore_conf *vsm_keystore_conf(void);

/* A stored key's public attributes (no secret). */
struct vsm_key_rec {
	uint32_t usage; /* enum vsm_key_usage */
	uint32_t index;
	uint32_t type; /* enum vsm_key_type */
	uint32_t bits;
	bool has_password;
	int64_t created; /* unix seconds */
	char label[VSM_KEY_LABEL_MAX + 1];
};

/*
 * Store a new key in (rec->usage, rec->index) of tenant. secret: private key
 * DER (PKCS#8) for asymmetric keys, raw bytes for a KEK. pub: SPKI DER for
 * asymmetric keys, NULL for a KEK. pw may be empty (no password). Fails with
 * EXISTS if the slot is taken, RANGE past max_keys.
 */
int vsm_keystore_put(const char *tenant, const struct vsm_key_rec *rec, const uint8_t *secret,
		     size_t secret_len, const uint8_t *pub, size_t pub_len, const uint8_t *pw,
		     size_t pw_len, int *detail);

/*
 * Unwrap a key's secret into a fresh buffer (*secret, *secret_len); the
 * caller wipes and frees it with vsm_keystore_secret_free. When check_pw is
 * true and the key has a password, pw must match (ACCESS_DENIED if not). rec
 * may be NULL.
 */
int vsm_keystore_get(const char *tenant, uint32_t usage, uint32_t index, bool check_pw,
		     const uint8_t *pw, size_t pw_len, struct vsm_key_rec *rec, uint8_t **secret,
		     size_t *secret_len, int *detail);
void vsm_keystore_secret_free(uint8_t *secret, size_t len);

/* Public key (SPKI DER, malloc'd; plain free) and attributes. */
int vsm_keystore_get_public(const char *tenant, uint32_t usage, uint32_t index,
			    struct vsm_key_rec *rec, uint8_t **pub, size_t *pub_len, int *detail);

int vsm_keystore_delete(const char *tenant, uint32_t usage, uint32_t index, int *detail);

/* All of a tenant's keys, ordered by usage then index (*recs malloc'd; free). */
int vsm_keystore_list(const char *tenant, struct vsm_key_rec **recs, size_t *n, int *detail);

/* old_pw must match the current password (if any); new_pw empty removes it. */
int vsm_keystore_set_password(const char *tenant, uint32_t usage, uint32_t index,
			      const uint8_t *old_pw, size_t old_len, const uint8_t *new_pw,
			      size_t new_len, int *detail);

/* First key with this label: its usage and index. NO_KEY if none. */
int vsm_keystore_find(const char *tenant, const char *label, uint32_t *usage, uint32_t *index,
		      int *detail);

/* Files: name is 1..VSM_FILE_NAME_MAX bytes, contents wrapped like keys. */
int vsm_keystore_file_create(const char *tenant, const uint8_t *name, size_t name_len,
			     uint32_t size, int *detail);
int vsm_keystore_file_read(const char *tenant, const uint8_t *name, size_t name_len,
			   uint32_t offset, uint32_t len, uint8_t *out, int *detail);
int vsm_keystore_file_write(const char *tenant, const uint8_t *name, size_t name_len,
			    uint32_t offset, const uint8_t *data, size_t len, int *detail);
int vsm_keystore_file_delete(const char *tenant, const uint8_t *name, size_t name_len, int *detail);

/*
 * Key generation (src/keystore/keygen.c): a fresh key of type/bits. For
 * asymmetric types *secret is PKCS#8 DER and *pub SPKI DER; for SM4/AES
 * *secret is raw and *pub NULL. Free secret with vsm_keystore_secret_free,
 * pub with free.
 */
/*
 * The size of a fixed-size key type (SM2, P-256, Ed25519: 256; P-384: 384;
 * SM4: 128), or 0 for RSA and AES, whose size the caller chooses. vsm_keygen
 * takes bits 0 for the fixed-size types.
 */
uint32_t vsm_key_default_bits(uint32_t type);

int vsm_keygen(uint32_t type, uint32_t bits, uint8_t **secret, size_t *secret_len, uint8_t **pub,
	       size_t *pub_len, int *detail);

/*
 * Check an imported key: parse secret as type (DER private key, or raw KEK of
 * a valid size), fill *bits, and derive *pub (SPKI DER, NULL for a KEK) and a
 * normalised PKCS#8 *norm to store. BAD_KEY / KEY_TYPE on mismatch.
 */
int vsm_keyimport_check(uint32_t type, const uint8_t *secret, size_t secret_len, uint32_t *bits,
			uint8_t **norm, size_t *norm_len, uint8_t **pub, size_t *pub_len,
			int *detail);

#endif
