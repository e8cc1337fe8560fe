/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SM2 key agreement with OpenSSL's EC arithmetic. The curve is the one
 * named "SM2" (GM/T 0003.5); w = ceil(ceil(log2 n) / 2) - 1 = 127, so
 * x' = 2^127 + (x mod 2^127), and the cofactor is 1.
 */
#include "daemon/sm2kx.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define W 127

void vsm_sm2kx_free(struct vsm_sm2kx *x)
{
	if (!x)
		return;
	OPENSSL_cleanse(x, sizeof(*x));
	free(x);
}

int vsm_sm2_kdf(const uint8_t *z, size_t z_len, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "X963KDF", NULL);
	EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM p[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SM3", 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z, z_len),
		OSSL_PARAM_construct_end(),
	};
	int ok = kctx && EVP_KDF_derive(kctx, out, out_len, p) > 0;

	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return ok ? 0 : -1;
}

static EC_GROUP *sm2_group(void)
{
	return EC_GROUP_new_by_curve_name(NID_sm2);
}

/* x' = 2^w + (x mod 2^w), from a point's encoding. */
static int xbar(const uint8_t pt[VSM_SM2_POINT_LEN], BIGNUM *out)
{
	return BN_bin2bn(pt + 1, 32, out) && BN_mask_bits(out, W) && BN_set_bit(out, W);
}

int vsm_sm2kx_z(const uint8_t *id, size_t id_len, const uint8_t pub[VSM_SM2_POINT_LEN],
		uint8_t z[32])
{
	EC_GROUP *g = sm2_group();
	BIGNUM *a = BN_new(), *b = BN_new(), *gx = BN_new(), *gy = BN_new();
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_MD *sm3 = EVP_MD_fetch(NULL, "SM3", NULL);
	uint8_t buf[4 * 32], entl[2];
	int ok = 0;

	if (id_len > VSM_SM2_ID_MAX || pub[0] != 4)
		goto out;
	entl[0] = (uint8_t)(id_len * 8 >> 8);
	entl[1] = (uint8_t)(id_len * 8);
	ok = g && a && b && gx && gy && md && sm3 && EC_GROUP_get_curve(g, NULL, a, b, NULL) &&
	     EC_POINT_get_affine_coordinates(g, EC_GROUP_get0_generator(g), gx, gy, NULL) &&
	     BN_bn2binpad(a, buf, 32) == 32 && BN_bn2binpad(b, buf + 32, 32) == 32 &&
	     BN_bn2binpad(gx, buf + 64, 32) == 32 && BN_bn2binpad(gy, buf + 96, 32) == 32 &&
	     EVP_DigestInit_ex(md, sm3, NULL) && EVP_DigestUpdate(md, entl, 2) &&
	     EVP_DigestUpdate(md, id, id_len) && EVP_DigestUpdate(md, buf, sizeof(buf)) &&
	     EVP_DigestUpdate(md, pub + 1, 64) && EVP_DigestFinal_ex(md, z, NULL);
out:
	EVP_MD_free(sm3);
	EVP_MD_CTX_free(md);
	BN_free(a);
	BN_free(b);
	BN_free(gx);
	BN_free(gy);
	EC_GROUP_free(g);
	return ok ? 0 : -1;
}

static int point_out(const EC_GROUP *g, const EC_POINT *p, uint8_t out[VSM_SM2_POINT_LEN])
{
	return EC_POINT_point2oct(g, p, POINT_CONVERSION_UNCOMPRESSED, out, VSM_SM2_POINT_LEN,
				  NULL) == VSM_SM2_POINT_LEN;
}

/* The private scalar of an SM2 key in DER (PKCS#8 or SEC1). */
static int priv_scalar(const uint8_t *der, size_t len, BIGNUM **d)
{
	const unsigned char *p = der;
	EVP_PKEY *pk;
	char gname[32];
	int ok;

	if (len > LONG_MAX)
		return 0;
	pk = d2i_AutoPrivateKey(NULL, &p, (long)len);
	ok = pk && (EVP_PKEY_is_a(pk, "SM2") || EVP_PKEY_is_a(pk, "EC")) &&
	     EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, gname, sizeof(gname),
					    NULL) &&
	     !strcmp(gname, "SM2") && EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, d);
	EVP_PKEY_free(pk);
	return ok;
}

int vsm_sm2kx_init(struct vsm_sm2kx *x, const uint8_t *der, size_t der_len, const uint8_t *id,
		   size_t id_len)
{
	EC_GROUP *g = sm2_group();
	EC_POINT *pt = g ? EC_POINT_new(g) : NULL;
	BIGNUM *d = NULL, *r = BN_secure_new();
	int ok = g && pt && r && priv_scalar(der, der_len, &d) && !BN_is_zero(d) &&
		 BN_cmp(d, EC_GROUP_get0_order(g)) < 0 && BN_bn2binpad(d, x->d, 32) == 32 &&
		 EC_POINT_mul(g, pt, d, NULL, NULL, NULL) && point_out(g, pt, x->p) &&
		 BN_priv_rand_range(r, EC_GROUP_get0_order(g)) && !BN_is_zero(r) &&
		 BN_bn2binpad(r, x->r, 32) == 32 && EC_POINT_mul(g, pt, r, NULL, NULL, NULL) &&
		 point_out(g, pt, x->rpub) && vsm_sm2kx_z(id, id_len, x->p, x->z) == 0;

	BN_clear_free(d);
	BN_clear_free(r);
	EC_POINT_free(pt);
	EC_GROUP_free(g);
	return ok ? 0 : -1;
}

int vsm_sm2kx_derive(const struct vsm_sm2kx *x, const uint8_t p_peer[VSM_SM2_POINT_LEN],
		     const uint8_t r_peer[VSM_SM2_POINT_LEN], const uint8_t za[32],
		     const uint8_t zb[32], uint8_t *key, size_t klen)
{
	EC_GROUP *g = sm2_group();
	BN_CTX *bc = BN_CTX_secure_new();
	EC_POINT *pp = g ? EC_POINT_new(g) : NULL, *rp = g ? EC_POINT_new(g) : NULL;
	BIGNUM *d = BN_secure_new(), *r = BN_secure_new(), *t = BN_secure_new();
	BIGNUM *x1 = BN_new(), *x2 = BN_new();
	uint8_t zin[64 + 64];
	int ok;

	/* oct2point refuses points off the curve; infinity has no 65-byte form. */
	ok = g && bc && pp && rp && d && r && t && x1 && x2 && p_peer[0] == 4 && r_peer[0] == 4 &&
	     EC_POINT_oct2point(g, pp, p_peer, VSM_SM2_POINT_LEN, bc) &&
	     EC_POINT_oct2point(g, rp, r_peer, VSM_SM2_POINT_LEN, bc) && BN_bin2bn(x->d, 32, d) &&
	     BN_bin2bn(x->r, 32, r) && xbar(x->rpub, x1) && xbar(r_peer, x2) &&
	     /* t = (d + x1' * r) mod n */
	     BN_mod_mul(t, x1, r, EC_GROUP_get0_order(g), bc) &&
	     BN_mod_add(t, t, d, EC_GROUP_get0_order(g), bc) &&
	     /* V = t * (P_peer + x2' * R_peer) (h = 1) */
	     EC_POINT_mul(g, rp, NULL, rp, x2, bc) && EC_POINT_add(g, pp, pp, rp, bc) &&
	     EC_POINT_mul(g, pp, NULL, pp, t, bc) && !EC_POINT_is_at_infinity(g, pp);
	if (ok) {
		uint8_t v[VSM_SM2_POINT_LEN];

		ok = point_out(g, pp, v);
		memcpy(zin, v + 1, 64);
		memcpy(zin + 64, za, 32);
		memcpy(zin + 96, zb, 32);
		OPENSSL_cleanse(v, sizeof(v));
	}
	ok = ok && vsm_sm2_kdf(zin, sizeof(zin), key, klen) == 0;
	OPENSSL_cleanse(zin, sizeof(zin));
	BN_clear_free(d);
	BN_clear_free(r);
	BN_clear_free(t);
	BN_free(x1);
	BN_free(x2);
	EC_POINT_clear_free(pp);
	EC_POINT_free(rp);
	BN_CTX_free(bc);
	EC_GROUP_free(g);
	return ok ? 0 : -1;
}
