/* SPDX-License-Identifier: Apache-2.0 */
#include "ref.h"

#include <string.h>

#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "harness.h"

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t vh_unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex);
	VH_CHECK(n % 2 == 0 && n / 2 <= cap, "bad hex constant '%s'", hex);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
		VH_CHECK(hi >= 0 && lo >= 0, "bad hex constant '%s'", hex);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return n / 2;
}

EVP_PKEY *vh_ec_p256_new(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	VH_CHECK(k, "EC P-256 key generation failed");
	return k;
}

EVP_PKEY *vh_rsa_new(unsigned bits)
{
	EVP_PKEY *k = EVP_RSA_gen(bits);
	VH_CHECK(k, "RSA-%u key generation failed", bits);
	return k;
}

uint8_t *vh_der_pkcs8(EVP_PKEY *k, size_t *len)
{
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(k);
	VH_CHECK(p8, "EVP_PKEY2PKCS8");
	uint8_t *der = NULL;
	int n = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
	PKCS8_PRIV_KEY_INFO_free(p8);
	VH_CHECK(n > 0, "i2d_PKCS8_PRIV_KEY_INFO");
	*len = (size_t)n;
	return der;
}

uint8_t *vh_der_spki(EVP_PKEY *k, size_t *len)
{
	uint8_t *der = NULL;
	int n = i2d_PUBKEY(k, &der);
	VH_CHECK(n > 0, "i2d_PUBKEY");
	*len = (size_t)n;
	return der;
}

void vh_sha256(const void *msg, size_t len, uint8_t *out)
{
	unsigned n = 0;
	VH_CHECK(EVP_Digest(msg, len, out, &n, EVP_sha256(), NULL) && n == 32, "EVP_Digest");
}

static const EVP_CIPHER *aes(const char *mode, size_t key_len)
{
	if (!strcmp(mode, "gcm"))
		return key_len == 16   ? EVP_aes_128_gcm()
		       : key_len == 24 ? EVP_aes_192_gcm()
				       : EVP_aes_256_gcm();
	return key_len == 16   ? EVP_aes_128_cbc()
	       : key_len == 24 ? EVP_aes_192_cbc()
			       : EVP_aes_256_cbc();
}

void vh_aes_gcm(const uint8_t *key, size_t key_len, const uint8_t *iv, const void *aad,
		size_t aad_len, const void *pt, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, f = 0;
	VH_CHECK(c && EVP_EncryptInit_ex(c, aes("gcm", key_len), NULL, key, iv), "gcm init");
	VH_CHECK(!aad_len || EVP_EncryptUpdate(c, NULL, &n, aad, (int)aad_len), "gcm aad");
	VH_CHECK(EVP_EncryptUpdate(c, out, &n, pt, (int)len), "gcm update");
	VH_CHECK(EVP_EncryptFinal_ex(c, out + n, &f), "gcm final");
	VH_CHECK(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + len), "gcm tag");
	EVP_CIPHER_CTX_free(c);
}

void vh_aes_cbc(const uint8_t *key, size_t key_len, const uint8_t *iv, const void *pt, size_t len,
		uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, f = 0;
	VH_CHECK(c && EVP_EncryptInit_ex(c, aes("cbc", key_len), NULL, key, iv), "cbc init");
	EVP_CIPHER_CTX_set_padding(c, 0);
	VH_CHECK(EVP_EncryptUpdate(c, out, &n, pt, (int)len), "cbc update");
	VH_CHECK(EVP_EncryptFinal_ex(c, out + n, &f) && (size_t)(n + f) == len, "cbc final");
	EVP_CIPHER_CTX_free(c);
}

bool vh_verify_sha256(EVP_PKEY *k, const void *msg, size_t len, const uint8_t *sig, size_t sig_len)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	VH_CHECK(m && EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, k), "verify init");
	int r = EVP_DigestVerify(m, sig, sig_len, msg, len);
	EVP_MD_CTX_free(m);
	return r == 1;
}

size_t vh_rsa_sign_sha256(EVP_PKEY *k, const void *msg, size_t len, uint8_t *sig, size_t cap)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	size_t n = cap;
	VH_CHECK(m && EVP_DigestSignInit(m, &pc, EVP_sha256(), NULL, k), "sign init");
	VH_CHECK(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) > 0, "padding");
	VH_CHECK(EVP_DigestSign(m, sig, &n, msg, len) == 1, "sign");
	EVP_MD_CTX_free(m);
	return n;
}
