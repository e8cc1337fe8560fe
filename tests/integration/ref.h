/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Local reference computations with OpenSSL: what vsmd's answers are
 * checked against, and the keys the tests hand to vsmd.
 */
#ifndef VSM_INTEG_REF_H
#define VSM_INTEG_REF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* Hex string to bytes; returns the length. Fails the test on bad hex or overflow. */
size_t vh_unhex(const char *hex, uint8_t *out, size_t cap);

EVP_PKEY *vh_ec_p256_new(void);
EVP_PKEY *vh_rsa_new(unsigned bits);
/* DER encodings, malloc'd (free with OPENSSL_free). */
uint8_t *vh_der_pkcs8(EVP_PKEY *k, size_t *len);
uint8_t *vh_der_spki(EVP_PKEY *k, size_t *len);

/* SHA-256 of msg into out[32]. */
void vh_sha256(const void *msg, size_t len, uint8_t *out);
/* AES-GCM (key 16/24/32, iv 12), returns ct || 16-byte tag in out; length len + 16. */
void vh_aes_gcm(const uint8_t *key, size_t key_len, const uint8_t *iv, const void *aad,
		size_t aad_len, const void *pt, size_t len, uint8_t *out);
/* AES-CBC without padding; len must be a multiple of 16. */
void vh_aes_cbc(const uint8_t *key, size_t key_len, const uint8_t *iv, const void *pt, size_t len,
		uint8_t *out);
/* Verify a signature over msg with SHA-256 (ECDSA DER, or RSA PKCS#1 v1.5). */
bool vh_verify_sha256(EVP_PKEY *k, const void *msg, size_t len, const uint8_t *sig, size_t sig_len);
/* RSA PKCS#1 v1.5 / SHA-256 signature (deterministic); returns its length. */
size_t vh_rsa_sign_sha256(EVP_PKEY *k, const void *msg, size_t len, uint8_t *sig, size_t cap);

#endif
