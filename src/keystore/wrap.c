/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Wrapping at rest: RFC 5649 (AES key wrap with padding, AES-256). The
 * wrapped plaintext starts with a digest of the row it belongs to, so a blob
 * copied into another row, tenant or kind fails to unwrap; KWP's integrity
 * check makes any edit fail too.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "keystore/internal.h"

/* Largest plaintext we wrap: a file of 16 MiB plus its header, far below KWP's 2^32. */
#define KS_WRAP_MAX ((size_t)(16u << 20) + KS_CTX_LEN)

static int put_u32(EVP_MD_CTX *md, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	return EVP_DigestUpdate(md, b, 4);
}

/* Variable fields are length-prefixed, so no two contexts encode alike. */
static int put_bytes(EVP_MD_CTX *md, const void *p, size_t n)
{
	return put_u32(md, (uint32_t)n) && (n == 0 || EVP_DigestUpdate(md, p, n));
}

int ks_ctx_digest(const struct ks_ctx *c, uint8_t out[KS_CTX_LEN])
{
	static const char tag[] = "vsm keystore v1";
	size_t tlen = c->tenant ? strlen(c->tenant) : 0;
	if (tlen > UINT32_MAX || c->name_len > UINT32_MAX || c->pub_len > UINT32_MAX)
		return -1;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int n = 0;
	bool pw = c->salt && c->hash;
	int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
		 put_bytes(md, tag, sizeof(tag) - 1) && put_u32(md, (uint32_t)c->kind) &&
		 put_bytes(md, c->tenant, tlen) && put_u32(md, c->usage) && put_u32(md, c->index) &&
		 put_u32(md, c->type) && put_u32(md, c->bits) && put_u32(md, pw) &&
		 (!pw || (put_u32(md, c->kdf_iter) && put_bytes(md, c->salt, KS_SALT_LEN) &&
			  put_bytes(md, c->hash, KS_HASH_LEN))) &&
		 put_bytes(md, c->pub, c->pub_len) && put_bytes(md, c->name, c->name_len) &&
		 EVP_DigestFinal_ex(md, out, &n);
	EVP_MD_CTX_free(md);
	return ok && n == KS_CTX_LEN ? 0 : -1;
}

static int kwp(int enc, const uint8_t kek[KS_KEY_LEN], const uint8_t *in, size_t len, uint8_t *out,
	       size_t *out_len)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n1 = 0, n2 = 0;
	if (!ctx)
		return -1;
	EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	int ok = EVP_CipherInit_ex(ctx, EVP_aes_256_wrap_pad(), NULL, kek, NULL, enc) &&
		 EVP_CipherUpdate(ctx, out, &n1, in, (int)len) &&
		 EVP_CipherFinal_ex(ctx, out + n1, &n2);
	EVP_CIPHER_CTX_free(ctx);
	if (!ok || n1 < 0 || n2 < 0)
		return -1;
	*out_len = (size_t)n1 + (size_t)n2;
	return 0;
}

int ks_wrap(const uint8_t kek[KS_KEY_LEN], const struct ks_ctx *c, const uint8_t *in, size_t len,
	    uint8_t **out, size_t *out_len)
{
	*out = NULL;
	if (len > KS_WRAP_MAX - KS_CTX_LEN)
		return -1;
	size_t plen = KS_CTX_LEN + len;
	uint8_t *plain = malloc(plen);
	/* KWP pads to a multiple of 8 and adds 8 bytes of integrity check. */
	uint8_t *w = malloc(plen + 16);
	int rc = -1;
	if (!plain || !w || ks_ctx_digest(c, plain) < 0)
		goto out;
	if (len)
		memcpy(plain + KS_CTX_LEN, in, len);
	if (kwp(1, kek, plain, plen, w, out_len) < 0 || *out_len > plen + 16)
		goto out;
	*out = w;
	w = NULL;
	rc = 0;
out:
	if (plain)
		OPENSSL_clear_free(plain, plen);
	free(w);
	return rc;
}

int ks_unwrap(const uint8_t kek[KS_KEY_LEN], const struct ks_ctx *c, const uint8_t *in, size_t len,
	      uint8_t **out, size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	if (len < 16 || len % 8 || len > KS_WRAP_MAX + 16)
		return -1;
	uint8_t want[KS_CTX_LEN];
	uint8_t *plain = malloc(len);
	size_t plen = 0;
	int rc = -1;
	if (!plain || ks_ctx_digest(c, want) < 0)
		goto out;
	if (kwp(0, kek, in, len, plain, &plen) < 0 || plen < KS_CTX_LEN || plen > len)
		goto out;
	if (CRYPTO_memcmp(plain, want, KS_CTX_LEN))
		goto out;
	*out_len = plen - KS_CTX_LEN;
	/* One spare byte, so an empty secret still gets a non-NULL buffer. */
	*out = malloc(*out_len + 1);
	if (!*out)
		goto out;
	memcpy(*out, plain + KS_CTX_LEN, *out_len);
	rc = 0;
out:
	if (plain)
		OPENSSL_clear_free(plain, len);
	if (rc)
		*out_len = 0;
	return rc;
}
