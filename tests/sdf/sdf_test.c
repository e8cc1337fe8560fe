/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libsdf-vsm test helpers: daemon and SDF handles, hex, and the native
 * OpenSSL computations the SDF results are checked against.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "sdf_test.h"

/* The packed layouts of GmSSL's sdf.h, which SDF applications are built against. */
_Static_assert(sizeof(DEVICEINFO) == 100, "DEVICEINFO");
_Static_assert(sizeof(RSArefPublicKey) == 516, "RSArefPublicKey");
_Static_assert(sizeof(RSArefPrivateKey) == 1412, "RSArefPrivateKey");
_Static_assert(sizeof(ECCrefPublicKey) == 132, "ECCrefPublicKey");
_Static_assert(sizeof(ECCrefPrivateKey) == 68, "ECCrefPrivateKey");
_Static_assert(sizeof(ECCCipher) == 165, "ECCCipher");
_Static_assert(offsetof(ECCCipher, L) == 160, "ECCCipher.L");
_Static_assert(sizeof(ECCSignature) == 128, "ECCSignature");
_Static_assert(sizeof(EnvelopedKeyBlob) == 16 + 165 + 132 + 64, "EnvelopedKeyBlob");

void st_open(const char *uri, void **dev, void **s)
{
	VH_CHECK(setenv("VSM_URI", uri, 1) == 0, "setenv");
	SDF_OK(SDF_OpenDevice(dev));
	SDF_OK(SDF_OpenSession(*dev, s));
}

void st_close(void *dev, void *s)
{
	SDF_OK(SDF_CloseSession(s));
	SDF_OK(SDF_CloseDevice(dev));
}

void st_start(struct st_env *e, bool tcp)
{
	struct vh_opts o = {.tcp = tcp};

	memset(e, 0, sizeof(*e));
	vh_start(&e->d, &o);
	st_open(e->d.uri, &e->dev, &e->s);
}

void st_stop(struct st_env *e)
{
	st_close(e->dev, e->s);
	vh_stop(&e->d);
	vh_cleanup(&e->d);
}

bool st_have_keystore(const struct st_env *e)
{
	vsm_client *c = vh_connect(e->d.uri);
	bool ok = vsm_info(c)->features & VSM_FEAT_KEYSTORE;

	vsm_close(c);
	if (!ok)
		printf("SKIP: vsmd has no keystore\n");
	return ok;
}

void st_hex(const char *hex, uint8_t *out, size_t len)
{
	VH_CHECK(strlen(hex) == 2 * len, "hex '%s' is not %zu bytes", hex, len);
	for (size_t i = 0; i < len; i++) {
		unsigned v;

		VH_CHECK(sscanf(hex + 2 * i, "%2x", &v) == 1, "bad hex '%s'", hex);
		out[i] = (uint8_t)v;
	}
}

uint8_t *st_sm2_pkcs8(const uint8_t d[32], size_t *len)
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_sm2);
	EC_POINT *q = EC_POINT_new(g);
	BIGNUM *bd = BN_bin2bn(d, 32, NULL);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL);
	EVP_PKEY *pk = NULL;
	OSSL_PARAM *params;
	OSSL_ENCODER_CTX *enc;
	unsigned char *out = NULL;
	uint8_t pt[65];

	VH_CHECK(g && q && bd && bld && c, "OpenSSL allocation");
	VH_CHECK(EC_POINT_mul(g, q, bd, NULL, NULL, NULL) &&
			 EC_POINT_point2oct(g, q, POINT_CONVERSION_UNCOMPRESSED, pt, 65, NULL) ==
				 65,
		 "public point");
	OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, SN_sm2, 0);
	OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 65);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bd);
	params = OSSL_PARAM_BLD_to_param(bld);
	VH_CHECK(EVP_PKEY_fromdata_init(c) > 0 &&
			 EVP_PKEY_fromdata(c, &pk, EVP_PKEY_KEYPAIR, params) > 0,
		 "SM2 key from d");
	enc = OSSL_ENCODER_CTX_new_for_pkey(pk, EVP_PKEY_KEYPAIR, "DER", "PrivateKeyInfo", NULL);
	VH_CHECK(enc && OSSL_ENCODER_to_data(enc, &out, len) == 1, "PKCS#8 encoding");
	OSSL_ENCODER_CTX_free(enc);
	OSSL_PARAM_free(params);
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(c);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bd);
	EC_POINT_free(q);
	EC_GROUP_free(g);
	return out;
}

bool st_sm2_verify_native(const ECCrefPublicKey *pub, const uint8_t e[32], const ECCSignature *sig)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL), *vc = NULL;
	ECDSA_SIG *es = ECDSA_SIG_new();
	EVP_PKEY *pk = NULL;
	OSSL_PARAM *params;
	unsigned char *der = NULL;
	uint8_t pt[65];
	int der_len, ok;

	pt[0] = 4;
	memcpy(pt + 1, pub->x + 32, 32);
	memcpy(pt + 33, pub->y + 32, 32);
	OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, SN_sm2, 0);
	OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 65);
	params = OSSL_PARAM_BLD_to_param(bld);
	VH_CHECK(EVP_PKEY_fromdata_init(c) > 0 &&
			 EVP_PKEY_fromdata(c, &pk, EVP_PKEY_PUBLIC_KEY, params) > 0,
		 "SM2 public key");
	ECDSA_SIG_set0(es, BN_bin2bn(sig->r + 32, 32, NULL), BN_bin2bn(sig->s + 32, 32, NULL));
	der_len = i2d_ECDSA_SIG(es, &der);
	vc = EVP_PKEY_CTX_new(pk, NULL);
	/* EVP_PKEY_verify on an SM2 key checks the signature of e as given. */
	ok = vc && EVP_PKEY_verify_init(vc) > 0 &&
	     EVP_PKEY_verify(vc, der, (size_t)der_len, e, 32) == 1;
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	EVP_PKEY_CTX_free(vc);
	EVP_PKEY_free(pk);
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(c);
	OSSL_PARAM_BLD_free(bld);
	return ok;
}

void st_sm4_cbc_native(const uint8_t key[16], const uint8_t iv[16], const uint8_t *in, size_t len,
		       uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0;

	VH_CHECK(c && EVP_EncryptInit_ex2(c, EVP_sm4_cbc(), key, iv, NULL) &&
			 EVP_CIPHER_CTX_set_padding(c, 0) &&
			 EVP_EncryptUpdate(c, out, &n, in, (int)len) && (size_t)n == len,
		 "native SM4-CBC");
	EVP_CIPHER_CTX_free(c);
}
