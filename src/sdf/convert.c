/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SDF's fixed-size key, signature and ciphertext structures to and from the
 * DER that vsmd speaks, with OpenSSL doing all the encoding. Integers in the
 * SDF structures are big-endian and right-aligned in their fields; for SM2
 * that is the last 32 bytes of each 64-byte field.
 */
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "sdf_int.h"

#define LOW(f) ((f) + ECCref_MAX_LEN - SDF_SM2_LEN)

/* GM/T 0009 SM2Cipher: SEQUENCE { x INTEGER, y INTEGER, hash OCTET STRING, ciphertext OCTET STRING
 * } */
typedef struct {
	BIGNUM *x;
	BIGNUM *y;
	ASN1_OCTET_STRING *hash;
	ASN1_OCTET_STRING *ct;
} SDF_SM2_CIPHER;

ASN1_SEQUENCE(SDF_SM2_CIPHER) =
	{
		ASN1_SIMPLE(SDF_SM2_CIPHER, x, BIGNUM),
		ASN1_SIMPLE(SDF_SM2_CIPHER, y, BIGNUM),
		ASN1_SIMPLE(SDF_SM2_CIPHER, hash, ASN1_OCTET_STRING),
		ASN1_SIMPLE(SDF_SM2_CIPHER, ct, ASN1_OCTET_STRING),
} static_ASN1_SEQUENCE_END(SDF_SM2_CIPHER)

		static int spki_of(EVP_PKEY * pk, uint8_t **der, size_t *len)
{
	unsigned char *out = NULL;
	int n = i2d_PUBKEY(pk, &out);

	if (n <= 0)
		return SDR_KEYERR;
	*der = out;
	*len = (size_t)n;
	return SDR_OK;
}

static int pkcs8_of(EVP_PKEY *pk, uint8_t **der, size_t *len)
{
	OSSL_ENCODER_CTX *e =
		OSSL_ENCODER_CTX_new_for_pkey(pk, EVP_PKEY_KEYPAIR, "DER", "PrivateKeyInfo", NULL);
	unsigned char *out = NULL;
	size_t n = 0;
	int ok = e && OSSL_ENCODER_to_data(e, &out, &n) == 1;

	OSSL_ENCODER_CTX_free(e);
	if (!ok)
		return SDR_KEYERR;
	*der = out;
	*len = n;
	return SDR_OK;
}

static EVP_PKEY *from_params(const char *type, int selection, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pk = NULL;

	if (params && c && EVP_PKEY_fromdata_init(c) > 0)
		EVP_PKEY_fromdata(c, &pk, selection, params);
	EVP_PKEY_CTX_free(c);
	/* Private values came from BN_secure_new, so they sit in (cleansed) secure memory. */
	OSSL_PARAM_free(params);
	return pk;
}

/* High bytes of a 64-byte field must be zero for a 256-bit value. */
static bool high_zero(const unsigned char *f)
{
	for (size_t i = 0; i < ECCref_MAX_LEN - SDF_SM2_LEN; i++)
		if (f[i])
			return false;
	return true;
}

int vsm_sdf_ecc_pub_to_point(const ECCrefPublicKey *k, uint8_t pt[65])
{
	if (k->bits != SDF_SM2_BITS || !high_zero(k->x) || !high_zero(k->y))
		return SDR_KEYERR;
	pt[0] = 0x04;
	memcpy(pt + 1, LOW(k->x), SDF_SM2_LEN);
	memcpy(pt + 1 + SDF_SM2_LEN, LOW(k->y), SDF_SM2_LEN);
	return SDR_OK;
}

void vsm_sdf_point_to_ecc_pub(const uint8_t pt[65], ECCrefPublicKey *k)
{
	memset(k, 0, sizeof(*k));
	k->bits = SDF_SM2_BITS;
	memcpy(LOW(k->x), pt + 1, SDF_SM2_LEN);
	memcpy(LOW(k->y), pt + 1 + SDF_SM2_LEN, SDF_SM2_LEN);
}

int vsm_sdf_ecc_pub_to_spki(const ECCrefPublicKey *k, uint8_t **der, size_t *len)
{
	OSSL_PARAM_BLD *bld;
	EVP_PKEY *pk;
	uint8_t pt[65];
	int rc = vsm_sdf_ecc_pub_to_point(k, pt);

	if (rc)
		return rc;
	bld = OSSL_PARAM_BLD_new();
	if (!bld)
		return SDR_NOBUFFER;
	OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, SN_sm2, 0);
	OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt));
	pk = from_params("SM2", EVP_PKEY_PUBLIC_KEY, bld);
	OSSL_PARAM_BLD_free(bld);
	/* fromdata takes any point; a key off the curve is refused here. */
	if (!pk)
		return SDR_KEYERR;
	rc = spki_of(pk, der, len);
	EVP_PKEY_free(pk);
	return rc;
}

static bool is_sm2(EVP_PKEY *pk)
{
	char group[32];

	if (EVP_PKEY_is_a(pk, "SM2"))
		return true;
	return EVP_PKEY_is_a(pk, "EC") &&
	       EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					      NULL) == 1 &&
	       !strcmp(group, SN_sm2);
}

int vsm_sdf_spki_to_ecc_pub(const uint8_t *der, size_t len, ECCrefPublicKey *k)
{
	const unsigned char *p = der;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)len);
	BIGNUM *x = NULL, *y = NULL;
	int rc = SDR_KEYTYPEERR;

	if (!pk)
		return SDR_KEYERR;
	if (is_sm2(pk)) {
		rc = SDR_KEYERR;
		memset(k, 0, sizeof(*k));
		k->bits = SDF_SM2_BITS;
		if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
		    EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1 &&
		    BN_bn2binpad(x, LOW(k->x), SDF_SM2_LEN) == SDF_SM2_LEN &&
		    BN_bn2binpad(y, LOW(k->y), SDF_SM2_LEN) == SDF_SM2_LEN)
			rc = SDR_OK;
	}
	BN_free(x);
	BN_free(y);
	EVP_PKEY_free(pk);
	return rc;
}

int vsm_sdf_spki_alg(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)len);
	int alg = -1;

	if (!pk)
		return -1;
	if (is_sm2(pk))
		alg = VSM_ALG_SM2;
	else if (EVP_PKEY_is_a(pk, "RSA"))
		alg = VSM_ALG_RSA;
	else if (EVP_PKEY_is_a(pk, "EC"))
		alg = VSM_ALG_ECDSA;
	else if (EVP_PKEY_is_a(pk, "ED25519"))
		alg = VSM_ALG_ED25519;
	EVP_PKEY_free(pk);
	return alg;
}

static EC_GROUP *sm2_group(void)
{
	return EC_GROUP_new_by_curve_name(NID_sm2);
}

int vsm_sdf_ecc_priv_to_der(const ECCrefPrivateKey *k, uint8_t **der, size_t *len)
{
	EC_GROUP *g = sm2_group();
	EC_POINT *q = g ? EC_POINT_new(g) : NULL;
	BIGNUM *d = NULL;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY *pk = NULL;
	uint8_t pt[65];
	int rc = SDR_KEYERR;

	if (!g || !q || !bld) {
		rc = SDR_NOBUFFER;
		goto out;
	}
	if (k->bits != SDF_SM2_BITS || !high_zero(k->K))
		goto out;
	d = BN_secure_new();
	if (!d || !BN_bin2bn(LOW(k->K), SDF_SM2_LEN, d) || BN_is_zero(d) ||
	    BN_cmp(d, EC_GROUP_get0_order(g)) >= 0)
		goto out;
	/* The public half is not in the SDF structure; vsmd wants a whole key. */
	if (!EC_POINT_mul(g, q, d, NULL, NULL, NULL) ||
	    EC_POINT_point2oct(g, q, POINT_CONVERSION_UNCOMPRESSED, pt, sizeof(pt), NULL) !=
		    sizeof(pt))
		goto out;
	OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, SN_sm2, 0);
	OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt));
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d);
	pk = from_params("SM2", EVP_PKEY_KEYPAIR, bld);
	if (pk)
		rc = pkcs8_of(pk, der, len);
out:
	EVP_PKEY_free(pk);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(d);
	EC_POINT_free(q);
	EC_GROUP_free(g);
	return rc;
}

/* bits must describe m exactly: a short or padded modulus is a caller's mistake. */
static BIGNUM *rsa_modulus(const RSArefPublicKey *k)
{
	BIGNUM *n;

	if (k->bits < 1024 || k->bits > RSAref_MAX_BITS)
		return NULL;
	n = BN_bin2bn(k->m, RSAref_MAX_LEN, NULL);
	if (n && (unsigned)BN_num_bits(n) != k->bits) {
		BN_free(n);
		return NULL;
	}
	return n;
}

int vsm_sdf_rsa_pub_to_spki(const RSArefPublicKey *k, uint8_t **der, size_t *len)
{
	BIGNUM *n = rsa_modulus(k), *e = BN_bin2bn(k->e, RSAref_MAX_LEN, NULL);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY *pk = NULL;
	int rc = SDR_KEYERR;

	if (n && e && bld && !BN_is_zero(e)) {
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n);
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
		pk = from_params("RSA", EVP_PKEY_PUBLIC_KEY, bld);
		if (pk)
			rc = spki_of(pk, der, len);
	}
	EVP_PKEY_free(pk);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return rc;
}

static int rsa_export(EVP_PKEY *pk, RSArefPublicKey *pub, RSArefPrivateKey *priv)
{
	static const char *const names[8] = {
		OSSL_PKEY_PARAM_RSA_N,	       OSSL_PKEY_PARAM_RSA_E,
		OSSL_PKEY_PARAM_RSA_D,	       OSSL_PKEY_PARAM_RSA_FACTOR1,
		OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
		OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	};
	BIGNUM *v[8] = {NULL};
	int rc = SDR_KEYERR, nparams = priv ? 8 : 2, bits;

	for (int i = 0; i < nparams; i++)
		if (EVP_PKEY_get_bn_param(pk, names[i], &v[i]) != 1)
			goto out;
	bits = BN_num_bits(v[0]);
	if (bits > RSAref_MAX_BITS)
		goto out;
	if (pub) {
		memset(pub, 0, sizeof(*pub));
		pub->bits = (unsigned)bits;
		BN_bn2binpad(v[0], pub->m, RSAref_MAX_LEN);
		BN_bn2binpad(v[1], pub->e, RSAref_MAX_LEN);
	}
	if (priv) {
		memset(priv, 0, sizeof(*priv));
		priv->bits = (unsigned)bits;
		if (BN_bn2binpad(v[0], priv->m, RSAref_MAX_LEN) < 0 ||
		    BN_bn2binpad(v[1], priv->e, RSAref_MAX_LEN) < 0 ||
		    BN_bn2binpad(v[2], priv->d, RSAref_MAX_LEN) < 0 ||
		    BN_bn2binpad(v[3], priv->prime[0], RSAref_MAX_PLEN) < 0 ||
		    BN_bn2binpad(v[4], priv->prime[1], RSAref_MAX_PLEN) < 0 ||
		    BN_bn2binpad(v[5], priv->pexp[0], RSAref_MAX_PLEN) < 0 ||
		    BN_bn2binpad(v[6], priv->pexp[1], RSAref_MAX_PLEN) < 0 ||
		    BN_bn2binpad(v[7], priv->coef, RSAref_MAX_PLEN) < 0) {
			OPENSSL_cleanse(priv, sizeof(*priv));
			goto out;
		}
	}
	rc = SDR_OK;
out:
	for (int i = 0; i < 8; i++)
		BN_clear_free(v[i]);
	return rc;
}

int vsm_sdf_spki_to_rsa_pub(const uint8_t *der, size_t len, RSArefPublicKey *k)
{
	const unsigned char *p = der;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)len);
	int rc;

	if (!pk)
		return SDR_KEYERR;
	rc = EVP_PKEY_is_a(pk, "RSA") ? rsa_export(pk, k, NULL) : SDR_KEYTYPEERR;
	EVP_PKEY_free(pk);
	return rc;
}

int vsm_sdf_rsa_priv_to_der(const RSArefPrivateKey *k, uint8_t **der, size_t *len)
{
	const unsigned char *src[8] = {k->m,	    k->e,	k->d,	    k->prime[0],
				       k->prime[1], k->pexp[0], k->pexp[1], k->coef};
	static const char *const names[8] = {
		OSSL_PKEY_PARAM_RSA_N,	       OSSL_PKEY_PARAM_RSA_E,
		OSSL_PKEY_PARAM_RSA_D,	       OSSL_PKEY_PARAM_RSA_FACTOR1,
		OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
		OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	};
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *v[8] = {NULL};
	EVP_PKEY *pk = NULL;
	int rc = SDR_KEYERR;

	if (!bld)
		return SDR_NOBUFFER;
	if (k->bits < 1024 || k->bits > RSAref_MAX_BITS)
		goto out;
	for (int i = 0; i < 8; i++) {
		v[i] = BN_secure_new();
		if (!v[i] || !BN_bin2bn(src[i], i < 3 ? RSAref_MAX_LEN : RSAref_MAX_PLEN, v[i]) ||
		    BN_is_zero(v[i]))
			goto out;
		OSSL_PARAM_BLD_push_BN(bld, names[i], v[i]);
	}
	if ((unsigned)BN_num_bits(v[0]) != k->bits)
		goto out;
	pk = from_params("RSA", EVP_PKEY_KEYPAIR, bld);
	if (pk)
		rc = pkcs8_of(pk, der, len);
out:
	EVP_PKEY_free(pk);
	OSSL_PARAM_BLD_free(bld);
	for (int i = 0; i < 8; i++)
		BN_clear_free(v[i]);
	return rc;
}

int vsm_sdf_sig_from_der(const uint8_t *der, size_t len, ECCSignature *sig)
{
	const unsigned char *p = der;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)len);
	int rc = SDR_SIGNERR;

	if (!s)
		return rc;
	memset(sig, 0, sizeof(*sig));
	if (BN_bn2binpad(ECDSA_SIG_get0_r(s), LOW(sig->r), SDF_SM2_LEN) == SDF_SM2_LEN &&
	    BN_bn2binpad(ECDSA_SIG_get0_s(s), LOW(sig->s), SDF_SM2_LEN) == SDF_SM2_LEN)
		rc = SDR_OK;
	ECDSA_SIG_free(s);
	return rc;
}

int vsm_sdf_sig_to_der(const ECCSignature *sig, uint8_t **der, size_t *len)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig->r, ECCref_MAX_LEN, NULL);
	BIGNUM *v = BN_bin2bn(sig->s, ECCref_MAX_LEN, NULL);
	unsigned char *out = NULL;
	int n;

	if (!s || !r || !v || !ECDSA_SIG_set0(s, r, v)) {
		ECDSA_SIG_free(s);
		BN_free(r);
		BN_free(v);
		return SDR_NOBUFFER;
	}
	n = i2d_ECDSA_SIG(s, &out);
	ECDSA_SIG_free(s);
	if (n <= 0)
		return SDR_VERIFYERR;
	*der = out;
	*len = (size_t)n;
	return SDR_OK;
}

int vsm_sdf_cipher_from_der(const uint8_t *der, size_t len, ECCCipher *c)
{
	const unsigned char *p = der;
	SDF_SM2_CIPHER *v = (SDF_SM2_CIPHER *)ASN1_item_d2i(NULL, &p, (long)len,
							    ASN1_ITEM_rptr(SDF_SM2_CIPHER));
	int rc = SDR_ENCDATAERR;

	if (!v)
		return rc;
	memset(c, 0, offsetof(ECCCipher, C));
	if (BN_bn2binpad(v->x, LOW(c->x), SDF_SM2_LEN) == SDF_SM2_LEN &&
	    BN_bn2binpad(v->y, LOW(c->y), SDF_SM2_LEN) == SDF_SM2_LEN &&
	    ASN1_STRING_length(v->hash) == (int)sizeof(c->M)) {
		memcpy(c->M, ASN1_STRING_get0_data(v->hash), sizeof(c->M));
		c->L = (unsigned)ASN1_STRING_length(v->ct);
		if (c->L)
			memcpy(c->C, ASN1_STRING_get0_data(v->ct), c->L);
		rc = SDR_OK;
	}
	ASN1_item_free((ASN1_VALUE *)v, ASN1_ITEM_rptr(SDF_SM2_CIPHER));
	return rc;
}

int vsm_sdf_cipher_to_der(const ECCCipher *c, uint8_t **der, size_t *len)
{
	SDF_SM2_CIPHER *v = (SDF_SM2_CIPHER *)ASN1_item_new(ASN1_ITEM_rptr(SDF_SM2_CIPHER));
	unsigned char *out = NULL;
	int rc = SDR_NOBUFFER, n;

	if (!v)
		return rc;
	/* L is the caller's word; beyond a message it cannot be real (and must fit an int). */
	if (!high_zero(c->x) || !high_zero(c->y) || c->L == 0 || c->L > VSM_WIRE_MAX_PAYLOAD) {
		rc = SDR_ENCDATAERR;
		goto out;
	}
	if (!BN_bin2bn(LOW(c->x), SDF_SM2_LEN, v->x) || !BN_bin2bn(LOW(c->y), SDF_SM2_LEN, v->y) ||
	    !ASN1_OCTET_STRING_set(v->hash, c->M, sizeof(c->M)) ||
	    !ASN1_OCTET_STRING_set(v->ct, c->C, (int)c->L))
		goto out;
	n = ASN1_item_i2d((ASN1_VALUE *)v, &out, ASN1_ITEM_rptr(SDF_SM2_CIPHER));
	if (n > 0) {
		*der = out;
		*len = (size_t)n;
		rc = SDR_OK;
	}
out:
	ASN1_item_free((ASN1_VALUE *)v, ASN1_ITEM_rptr(SDF_SM2_CIPHER));
	return rc;
}

int vsm_sdf_gen_rsa(unsigned bits, RSArefPublicKey *pub, RSArefPrivateKey *priv)
{
	EVP_PKEY *pk;
	int rc;

	if (bits < 1024 || bits > RSAref_MAX_BITS || bits % 8)
		return SDR_INARGERR;
	pk = EVP_RSA_gen(bits);
	if (!pk)
		return SDR_UNKNOWERR;
	rc = rsa_export(pk, pub, priv);
	EVP_PKEY_free(pk);
	return rc;
}

int vsm_sdf_gen_sm2(ECCrefPublicKey *pub, ECCrefPrivateKey *priv)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	BIGNUM *d = NULL, *x = NULL, *y = NULL;
	int rc = SDR_UNKNOWERR;

	if (!pk)
		return rc;
	memset(pub, 0, sizeof(*pub));
	memset(priv, 0, sizeof(*priv));
	pub->bits = priv->bits = SDF_SM2_BITS;
	if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &d) == 1 &&
	    EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
	    EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1 &&
	    BN_bn2binpad(d, LOW(priv->K), SDF_SM2_LEN) == SDF_SM2_LEN &&
	    BN_bn2binpad(x, LOW(pub->x), SDF_SM2_LEN) == SDF_SM2_LEN &&
	    BN_bn2binpad(y, LOW(pub->y), SDF_SM2_LEN) == SDF_SM2_LEN)
		rc = SDR_OK;
	else
		OPENSSL_cleanse(priv, sizeof(*priv));
	BN_clear_free(d);
	BN_free(x);
	BN_free(y);
	EVP_PKEY_free(pk);
	return rc;
}

/* ENTL is a 16-bit count of bits. */
#define SM2_MAX_ID 8191

int vsm_sdf_z_input(const ECCrefPublicKey *k, const uint8_t *id, size_t id_len, uint8_t **out,
		    size_t *len)
{
	EC_GROUP *g = sm2_group();
	BIGNUM *a = BN_new(), *b = BN_new(), *gx = BN_new(), *gy = BN_new();
	size_t n = 2 + id_len + 6 * SDF_SM2_LEN;
	uint8_t *buf = NULL, *p, pt[65];
	int rc = vsm_sdf_ecc_pub_to_point(k, pt);

	if (rc)
		goto out;
	rc = SDR_NOBUFFER;
	if (!g || !a || !b || !gx || !gy || id_len > SM2_MAX_ID || !(buf = malloc(n)))
		goto out;
	if (!EC_GROUP_get_curve(g, NULL, a, b, NULL) ||
	    !EC_POINT_get_affine_coordinates(g, EC_GROUP_get0_generator(g), gx, gy, NULL))
		goto out;
	p = buf;
	*p++ = (uint8_t)((id_len * 8) >> 8);
	*p++ = (uint8_t)(id_len * 8);
	memcpy(p, id, id_len);
	p += id_len;
	BN_bn2binpad(a, p, SDF_SM2_LEN);
	BN_bn2binpad(b, p + 32, SDF_SM2_LEN);
	BN_bn2binpad(gx, p + 64, SDF_SM2_LEN);
	BN_bn2binpad(gy, p + 96, SDF_SM2_LEN);
	memcpy(p + 128, pt + 1, 2 * SDF_SM2_LEN);
	*out = buf;
	*len = n;
	buf = NULL;
	rc = SDR_OK;
out:
	free(buf);
	BN_free(a);
	BN_free(b);
	BN_free(gx);
	BN_free(gy);
	EC_GROUP_free(g);
	return rc;
}
