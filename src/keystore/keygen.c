/* SPDX-License-Identifier: Apache-2.0 */
/*
 * New and imported keys, in the forms the keystore stores: PKCS#8 DER for a
 * private key with its SPKI DER public key, raw bytes for a KEK.
 */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "keystore/keystore.h"

uint32_t vsm_key_default_bits(uint32_t type)
{
	switch (type) {
	case VSM_KT_SM2:
	case VSM_KT_ECDSA_P256:
	case VSM_KT_ED25519:
		return 256;
	case VSM_KT_ECDSA_P384:
		return 384;
	case VSM_KT_SM4:
		return 128;
	default:
		return 0; /* RSA and AES: the caller chooses */
	}
}

static int fail(int *detail, int st, int det)
{
	*detail = det;
	return st;
}

/* Is bits a size we generate or accept for type? */
static bool bits_ok(uint32_t type, uint32_t bits, bool generating)
{
	switch (type) {
	case VSM_KT_RSA:
		if (generating)
			return bits == 2048 || bits == 3072 || bits == 4096;
		return bits >= 1024 && bits <= 4096;
	case VSM_KT_AES:
		return bits == 128 || bits == 192 || bits == 256;
	default:
		return bits == vsm_key_default_bits(type);
	}
}

static int encode(EVP_PKEY *pk, uint8_t **secret, size_t *secret_len, uint8_t **pub,
		  size_t *pub_len)
{
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pk);
	int sl = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, NULL) : -1;
	int pl = i2d_PUBKEY(pk, NULL);
	uint8_t *s = sl > 0 ? malloc((size_t)sl) : NULL;
	uint8_t *p = pl > 0 ? malloc((size_t)pl) : NULL;
	uint8_t *ws = s, *wp = p;
	int ok = s && p && i2d_PKCS8_PRIV_KEY_INFO(p8, &ws) == sl && i2d_PUBKEY(pk, &wp) == pl;
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (!ok) {
		if (s)
			OPENSSL_clear_free(s, (size_t)sl);
		free(p);
		return -1;
	}
	*secret = s;
	*secret_len = (size_t)sl;
	*pub = p;
	*pub_len = (size_t)pl;
	return 0;
}

static int raw_key(uint32_t bits, uint8_t **secret, size_t *secret_len)
{
	size_t n = bits / 8;
	uint8_t *k = malloc(n);
	if (!k || RAND_priv_bytes(k, (int)n) != 1) {
		free(k);
		return -1;
	}
	*secret = k;
	*secret_len = n;
	return 0;
}

int vsm_keygen(uint32_t type, uint32_t bits, uint8_t **secret, size_t *secret_len, uint8_t **pub,
	       size_t *pub_len, int *detail)
{
	*secret = *pub = NULL;
	*secret_len = *pub_len = 0;
	*detail = VSM_D_NONE;
	if (bits == 0)
		bits = vsm_key_default_bits(type);
	EVP_PKEY *pk = NULL;
	switch (type) {
	case VSM_KT_SM2:
	case VSM_KT_RSA:
	case VSM_KT_ECDSA_P256:
	case VSM_KT_ECDSA_P384:
	case VSM_KT_ED25519:
	case VSM_KT_SM4:
	case VSM_KT_AES:
		if (!bits_ok(type, bits, true))
			return fail(detail, VSM_S_BADMSG, VSM_D_BAD_LENGTH);
		break;
	default:
		return fail(detail, VSM_S_BADMSG, VSM_D_KEY_TYPE);
	}
	switch (type) {
	case VSM_KT_SM4:
	case VSM_KT_AES:
		if (raw_key(bits, secret, secret_len) < 0)
			return fail(detail, VSM_S_ERR, VSM_D_ENGINE);
		return VSM_S_OK;
	case VSM_KT_SM2:
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
		break;
	case VSM_KT_RSA:
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
		break;
	case VSM_KT_ECDSA_P256:
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case VSM_KT_ECDSA_P384:
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	default:
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	}
	int rc = pk && encode(pk, secret, secret_len, pub, pub_len) == 0 ? VSM_S_OK : VSM_S_ERR;
	EVP_PKEY_free(pk);
	return rc ? fail(detail, rc, VSM_D_ENGINE) : VSM_S_OK;
}

/* Does the parsed key pk have the type the caller named? */
static bool is_type(EVP_PKEY *pk, uint32_t type)
{
	char group[64] = "";
	size_t gl = 0;
	if (EVP_PKEY_is_a(pk, "EC") || EVP_PKEY_is_a(pk, "SM2"))
		EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					       &gl);
	switch (type) {
	case VSM_KT_SM2:
		return EVP_PKEY_is_a(pk, "SM2") || !strcmp(group, "SM2");
	case VSM_KT_RSA:
		return EVP_PKEY_is_a(pk, "RSA");
	case VSM_KT_ECDSA_P256:
		return EVP_PKEY_is_a(pk, "EC") && !strcmp(group, "prime256v1");
	case VSM_KT_ECDSA_P384:
		return EVP_PKEY_is_a(pk, "EC") && !strcmp(group, "secp384r1");
	case VSM_KT_ED25519:
		return EVP_PKEY_is_a(pk, "ED25519");
	default:
		return false;
	}
}

int vsm_keyimport_check(uint32_t type, const uint8_t *secret, size_t secret_len, uint32_t *bits,
			uint8_t **norm, size_t *norm_len, uint8_t **pub, size_t *pub_len,
			int *detail)
{
	*norm = *pub = NULL;
	*norm_len = *pub_len = 0;
	*detail = VSM_D_NONE;
	if (!secret || secret_len == 0 || secret_len > 16384)
		return fail(detail, VSM_S_KEY_REJECTED, VSM_D_BAD_KEY);
	if (type == VSM_KT_SM4 || type == VSM_KT_AES) {
		if (secret_len > 32 || !bits_ok(type, (uint32_t)secret_len * 8, false))
			return fail(detail, VSM_S_KEY_REJECTED, VSM_D_BAD_KEY);
		*norm = malloc(secret_len);
		if (!*norm)
			return fail(detail, VSM_S_ERR, VSM_D_ENGINE);
		memcpy(*norm, secret, secret_len);
		*norm_len = secret_len;
		*bits = (uint32_t)secret_len * 8;
		return VSM_S_OK;
	}
	if (type < VSM_KT_SM2 || type > VSM_KT_ED25519)
		return fail(detail, VSM_S_BADMSG, VSM_D_KEY_TYPE);
	const unsigned char *p = secret;
	EVP_PKEY *pk = d2i_AutoPrivateKey(NULL, &p, (long)secret_len);
	if (!pk || p != secret + secret_len) {
		EVP_PKEY_free(pk);
		return fail(detail, VSM_S_KEY_REJECTED, VSM_D_BAD_KEY);
	}
	int rc = VSM_S_OK, det = VSM_D_NONE;
	EVP_PKEY_CTX *cx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	if (!is_type(pk, type)) {
		rc = VSM_S_BADMSG;
		det = VSM_D_KEY_TYPE;
	} else if (!bits_ok(type, (uint32_t)EVP_PKEY_get_bits(pk), false)) {
		rc = VSM_S_KEY_REJECTED;
		det = VSM_D_BAD_KEY;
	} else if (!cx || EVP_PKEY_pairwise_check(cx) == 0) {
		/* -2 (not supported for the type) passes: parsing already checked the encoding. */
		rc = VSM_S_KEY_REJECTED;
		det = VSM_D_BAD_KEY;
	} else if (encode(pk, norm, norm_len, pub, pub_len) < 0) {
		rc = VSM_S_ERR;
		det = VSM_D_ENGINE;
	} else {
		*bits = (uint32_t)EVP_PKEY_get_bits(pk);
	}
	EVP_PKEY_CTX_free(cx);
	EVP_PKEY_free(pk);
	return rc ? fail(detail, rc, det) : VSM_S_OK;
}
