/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key passwords are never stored: only a PBKDF2-HMAC-SHA256 verifier with a
 * random 16-byte salt, compared in constant time. The iteration count is
 * stored with each key, so changing kdf_iterations does not lock anyone out.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "keystore/internal.h"

static int derive(const uint8_t *pw, size_t len, uint32_t iter, const uint8_t salt[KS_SALT_LEN],
		  uint8_t out[KS_HASH_LEN])
{
	static const char none = 0;
	if (len > INT32_MAX || iter == 0 || iter > INT32_MAX)
		return -1;
	return PKCS5_PBKDF2_HMAC(len ? (const char *)pw : &none, (int)len, salt, KS_SALT_LEN,
				 (int)iter, EVP_sha256(), KS_HASH_LEN, out)
		       ? 0
		       : -1;
}

int ks_pw_make(const uint8_t *pw, size_t len, uint32_t iter, uint8_t salt[KS_SALT_LEN],
	       uint8_t hash[KS_HASH_LEN])
{
	if (RAND_bytes(salt, KS_SALT_LEN) != 1)
		return -1;
	return derive(pw, len, iter, salt, hash);
}

int ks_pw_check(const uint8_t *pw, size_t len, uint32_t iter, const uint8_t salt[KS_SALT_LEN],
		const uint8_t hash[KS_HASH_LEN])
{
	uint8_t got[KS_HASH_LEN];
	int rc = derive(pw, len, iter, salt, got);
	if (rc == 0 && CRYPTO_memcmp(got, hash, KS_HASH_LEN))
		rc = 1;
	OPENSSL_cleanse(got, sizeof(got));
	return rc;
}
