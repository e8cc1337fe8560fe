/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key passwords are never stored: only a PBKDF2-HMAC-SHA256 verifier with a
 * random 16-byte salt, compared in constant time. The iteration count is
 * stored with each key, so changing kdf_iterations does not lock anyone out.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
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

/*
 * Passwords already proven right, so that opening sessions on the same key
 * again (SDF sessions, the provider's per-thread connections) does not cost
 * PBKDF2 on a worker every time. An entry is a verifier's identity and an
 * HMAC of the password under a key that exists only in this process: it is
 * no use outside vsmd. A miss or a mismatch takes the slow path, so the
 * cache never makes a guess cheaper. A changed password has a new salt, so
 * its old entries can never match.
 */
#define CACHE_SLOTS 256

struct pw_entry {
	bool used;
	uint8_t id[KS_HASH_LEN];  /* SHA-256 of salt, verifier and iterations */
	uint8_t tag[KS_HASH_LEN]; /* HMAC(cache_key, salt || password) */
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pw_entry cache[CACHE_SLOTS];
static uint8_t cache_key[32];
static bool cache_ready;

static int cache_prepare(void)
{
	if (cache_ready)
		return 0;
	if (RAND_priv_bytes(cache_key, sizeof(cache_key)) != 1)
		return -1;
	cache_ready = true;
	return 0;
}

static void verifier_id(uint32_t iter, const uint8_t salt[KS_SALT_LEN],
			const uint8_t hash[KS_HASH_LEN], uint8_t id[KS_HASH_LEN])
{
	uint8_t buf[KS_SALT_LEN + KS_HASH_LEN + 4];
	memcpy(buf, salt, KS_SALT_LEN);
	memcpy(buf + KS_SALT_LEN, hash, KS_HASH_LEN);
	memcpy(buf + KS_SALT_LEN + KS_HASH_LEN, &iter, 4);
	unsigned int n = KS_HASH_LEN;
	EVP_Digest(buf, sizeof(buf), id, &n, EVP_sha256(), NULL);
}

static bool password_tag(const uint8_t *pw, size_t len, const uint8_t salt[KS_SALT_LEN],
			 uint8_t tag[KS_HASH_LEN])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *m = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0),
			       OSSL_PARAM_construct_end()};
	size_t out = 0;
	bool ok = m && EVP_MAC_init(m, cache_key, sizeof(cache_key), params) == 1 &&
		  EVP_MAC_update(m, salt, KS_SALT_LEN) == 1 &&
		  (len == 0 || EVP_MAC_update(m, pw, len) == 1) &&
		  EVP_MAC_final(m, tag, &out, KS_HASH_LEN) == 1 && out == KS_HASH_LEN;
	EVP_MAC_CTX_free(m);
	EVP_MAC_free(mac);
	return ok;
}

int ks_pw_check(const uint8_t *pw, size_t len, uint32_t iter, const uint8_t salt[KS_SALT_LEN],
		const uint8_t hash[KS_HASH_LEN])
{
	uint8_t id[KS_HASH_LEN] = {0}, tag[KS_HASH_LEN], got[KS_HASH_LEN];
	bool tagged = false;
	unsigned slot;

	pthread_mutex_lock(&cache_lock);
	if (cache_prepare() == 0) {
		verifier_id(iter, salt, hash, id);
		tagged = password_tag(pw, len, salt, tag);
	}
	slot = (unsigned)id[0] | (unsigned)id[1] << 8;
	slot %= CACHE_SLOTS;
	bool hit = tagged && cache[slot].used && !CRYPTO_memcmp(cache[slot].id, id, sizeof(id)) &&
		   !CRYPTO_memcmp(cache[slot].tag, tag, sizeof(tag));
	pthread_mutex_unlock(&cache_lock);
	if (hit) {
		OPENSSL_cleanse(tag, sizeof(tag));
		return 0;
	}

	int rc = derive(pw, len, iter, salt, got);
	if (rc == 0 && CRYPTO_memcmp(got, hash, KS_HASH_LEN))
		rc = 1;
	OPENSSL_cleanse(got, sizeof(got));
	if (rc == 0 && tagged) {
		pthread_mutex_lock(&cache_lock);
		cache[slot].used = true;
		memcpy(cache[slot].id, id, sizeof(id));
		memcpy(cache[slot].tag, tag, sizeof(tag));
		pthread_mutex_unlock(&cache_lock);
	}
	OPENSSL_cleanse(tag, sizeof(tag));
	return rc;
}

void ks_pw_cache_clear(void)
{
	pthread_mutex_lock(&cache_lock);
	OPENSSL_cleanse(cache, sizeof(cache));
	OPENSSL_cleanse(cache_key, sizeof(cache_key));
	cache_ready = false;
	pthread_mutex_unlock(&cache_lock);
}
