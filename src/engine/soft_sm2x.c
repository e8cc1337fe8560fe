/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SM2 helpers. Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA) (GB/T
 * 32918.2 5.5) for any SM2 key: it depends only on the user id and the
 * public key, so a session computes it once and each request hashes
 * e = SM3(Z || M) itself.
 *
 * And signatures on a curve given by explicit parameters, through
 * libgcrypt: OpenSSL 3.0's SM2 key manager only takes the named SM2 curve,
 * but GB/T 32918.2's own worked example uses explicit parameters. Keys on
 * the named curve never come here.
 *
 * Explicit parameters are tenant-chosen arithmetic: a composite p or n, or
 * a generator of small order, can make libgcrypt loop (it retries k until
 * s != 0) or abort. So only curves on an allow-list run here, compared
 * parameter by parameter; everything else is refused at session creation.
 */
#include <stdlib.h>
#include <string.h>

#include <gcrypt.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>

#include "engine/soft.h"

#define SM2X_MAX_FIELD 66 /* bytes; enough for a 521-bit test curve */

/* Explicit curves accepted, big-endian, each parameter the field size long. */
static const struct sm2x_curve {
	const char *name;
	size_t fl;
	uint8_t p[32], a[32], b[32], gx[32], gy[32], n[32], h[32];
} sm2x_curves[] = {
	{
		/* GB/T 32918.2-2016 Annex A.2 / 32918.5 example curve (Fp-256). */
		"GB/T 32918 example",
		32,
		{0x85, 0x42, 0xD6, 0x9E, 0x4C, 0x04, 0x4F, 0x18, 0xE8, 0xB9, 0x24,
		 0x35, 0xBF, 0x6F, 0xF7, 0xDE, 0x45, 0x72, 0x83, 0x91, 0x5C, 0x45,
		 0x51, 0x7D, 0x72, 0x2E, 0xDB, 0x8B, 0x08, 0xF1, 0xDF, 0xC3},
		{0x78, 0x79, 0x68, 0xB4, 0xFA, 0x32, 0xC3, 0xFD, 0x24, 0x17, 0x84,
		 0x2E, 0x73, 0xBB, 0xFE, 0xFF, 0x2F, 0x3C, 0x84, 0x8B, 0x68, 0x31,
		 0xD7, 0xE0, 0xEC, 0x65, 0x22, 0x8B, 0x39, 0x37, 0xE4, 0x98},
		{0x63, 0xE4, 0xC6, 0xD3, 0xB2, 0x3B, 0x0C, 0x84, 0x9C, 0xF8, 0x42,
		 0x41, 0x48, 0x4B, 0xFE, 0x48, 0xF6, 0x1D, 0x59, 0xA5, 0xB1, 0x6B,
		 0xA0, 0x6E, 0x6E, 0x12, 0xD1, 0xDA, 0x27, 0xC5, 0x24, 0x9A},
		{0x42, 0x1D, 0xEB, 0xD6, 0x1B, 0x62, 0xEA, 0xB6, 0x74, 0x64, 0x34,
		 0xEB, 0xC3, 0xCC, 0x31, 0x5E, 0x32, 0x22, 0x0B, 0x3B, 0xAD, 0xD5,
		 0x0B, 0xDC, 0x4C, 0x4E, 0x6C, 0x14, 0x7F, 0xED, 0xD4, 0x3D},
		{0x06, 0x80, 0x51, 0x2B, 0xCB, 0xB4, 0x2C, 0x07, 0xD4, 0x73, 0x49,
		 0xD2, 0x15, 0x3B, 0x70, 0xC4, 0xE5, 0xD7, 0xFD, 0xFC, 0xBF, 0xA3,
		 0x6E, 0xA1, 0xA8, 0x58, 0x41, 0xB9, 0xE4, 0x6E, 0x09, 0xA2},
		{0x85, 0x42, 0xD6, 0x9E, 0x4C, 0x04, 0x4F, 0x18, 0xE8, 0xB9, 0x24,
		 0x35, 0xBF, 0x6F, 0xF7, 0xDD, 0x29, 0x77, 0x20, 0x63, 0x04, 0x85,
		 0x62, 0x8D, 0x5A, 0xE7, 0x4E, 0xE7, 0xC3, 0x2E, 0x79, 0xB7},
		{[31] = 1},
	},
};

static int sm2x_allowed(size_t fl, const uint8_t *p, const uint8_t *a, const uint8_t *b,
			const uint8_t *g, const uint8_t *n, const uint8_t *h)
{
	for (size_t i = 0; i < SOFT_ARRAY_SIZE(sm2x_curves); i++) {
		const struct sm2x_curve *c = &sm2x_curves[i];

		/* Public parameters: plain memcmp is fine. */
		if (c->fl == fl && !memcmp(c->p, p, fl) && !memcmp(c->a, a, fl) &&
		    !memcmp(c->b, b, fl) && g[0] == 0x04 && !memcmp(c->gx, g + 1, fl) &&
		    !memcmp(c->gy, g + 1 + fl, fl) && !memcmp(c->n, n, fl) && !memcmp(c->h, h, fl))
			return 1;
	}
	return 0;
}

struct vsm_soft_sm2x {
	gcry_sexp_t pub;
	gcry_sexp_t priv; /* NULL for a public key */
};

void vsm_soft_sm2x_free(struct vsm_soft_sm2x *x)
{
	if (!x)
		return;
	gcry_sexp_release(x->pub);
	gcry_sexp_release(x->priv); /* gcrypt wipes the MPIs it frees */
	OPENSSL_cleanse(x, sizeof(*x));
	free(x);
}

static int get_bn(EVP_PKEY *pk, const char *name, uint8_t *out, size_t len)
{
	BIGNUM *bn = NULL;
	int ok = EVP_PKEY_get_bn_param(pk, name, &bn) && BN_bn2binpad(bn, out, (int)len) > 0;

	BN_clear_free(bn);
	return ok;
}

int vsm_soft_sm2_z(EVP_PKEY *pk, const uint8_t *id, size_t id_len, uint8_t z[32])
{
	uint8_t a[SM2X_MAX_FIELD], b[SM2X_MAX_FIELD], g[1 + 2 * SM2X_MAX_FIELD];
	uint8_t xy[2 * SM2X_MAX_FIELD], entl[2];
	const EVP_MD *sm3 = vsm_soft_md(VSM_ALG_SM3);
	EVP_MD_CTX *mc = NULL;
	BIGNUM *bp = NULL;
	size_t fl, gl = 0;
	unsigned int zl = 0;
	int ok = 0;

	/* ENTL is a 16-bit count of bits. */
	if (!sm3 || id_len > VSM_SOFT_SM2_MAX_ID ||
	    !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_P, &bp))
		return 0;
	fl = (size_t)BN_num_bytes(bp);
	BN_free(bp);
	if (fl == 0 || fl > SM2X_MAX_FIELD)
		return 0;
	/* The generator must be uncompressed: 04 || x || y. */
	if (!EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_EC_GENERATOR, g, sizeof(g), &gl) ||
	    gl != 1 + 2 * fl || g[0] != 0x04)
		return 0;
	if (!get_bn(pk, OSSL_PKEY_PARAM_EC_A, a, fl) || !get_bn(pk, OSSL_PKEY_PARAM_EC_B, b, fl) ||
	    !get_bn(pk, OSSL_PKEY_PARAM_EC_PUB_X, xy, fl) ||
	    !get_bn(pk, OSSL_PKEY_PARAM_EC_PUB_Y, xy + fl, fl))
		return 0;
	entl[0] = (uint8_t)((id_len * 8) >> 8);
	entl[1] = (uint8_t)(id_len * 8);
	mc = EVP_MD_CTX_new();
	ok = mc && EVP_DigestInit_ex2(mc, sm3, NULL) && EVP_DigestUpdate(mc, entl, 2) &&
	     EVP_DigestUpdate(mc, id, id_len) && EVP_DigestUpdate(mc, a, fl) &&
	     EVP_DigestUpdate(mc, b, fl) && EVP_DigestUpdate(mc, g + 1, 2 * fl) &&
	     EVP_DigestUpdate(mc, xy, 2 * fl) && EVP_DigestFinal_ex(mc, z, &zl) && zl == 32;
	EVP_MD_CTX_free(mc);
	return ok;
}

struct vsm_soft_sm2x *vsm_soft_sm2x_new(EVP_PKEY *pk)
{
	uint8_t p[SM2X_MAX_FIELD], a[SM2X_MAX_FIELD], b[SM2X_MAX_FIELD], n[SM2X_MAX_FIELD];
	uint8_t h[SM2X_MAX_FIELD], d[SM2X_MAX_FIELD] = {0}, g[1 + 2 * SM2X_MAX_FIELD];
	uint8_t q[1 + 2 * SM2X_MAX_FIELD];
	struct vsm_soft_sm2x *x = NULL;
	BIGNUM *bp = NULL;
	size_t fl, gl = 0;
	int have_d;

	if (!EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_P, &bp))
		goto fail;
	fl = (size_t)BN_num_bytes(bp);
	BN_free(bp);
	if (fl == 0 || fl > SM2X_MAX_FIELD)
		goto fail;
	/* The generator must be uncompressed: 04 || x || y. */
	if (!EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_EC_GENERATOR, g, sizeof(g), &gl) ||
	    gl != 1 + 2 * fl || g[0] != 0x04)
		goto fail;
	q[0] = 0x04;
	if (!get_bn(pk, OSSL_PKEY_PARAM_EC_P, p, fl) || !get_bn(pk, OSSL_PKEY_PARAM_EC_A, a, fl) ||
	    !get_bn(pk, OSSL_PKEY_PARAM_EC_B, b, fl) ||
	    !get_bn(pk, OSSL_PKEY_PARAM_EC_ORDER, n, fl) ||
	    !get_bn(pk, OSSL_PKEY_PARAM_EC_COFACTOR, h, fl) ||
	    !get_bn(pk, OSSL_PKEY_PARAM_EC_PUB_X, q + 1, fl) ||
	    !get_bn(pk, OSSL_PKEY_PARAM_EC_PUB_Y, q + 1 + fl, fl))
		goto fail;
	if (!sm2x_allowed(fl, p, a, b, g, n, h))
		goto fail;
	have_d = get_bn(pk, OSSL_PKEY_PARAM_PRIV_KEY, d, fl);

	x = calloc(1, sizeof(*x));
	if (!x)
		goto fail;
	if (gcry_sexp_build(&x->pub, NULL,
			    "(public-key (ecc (p %b)(a %b)(b %b)(g %b)(n %b)(h %b)(q %b)))",
			    (int)fl, p, (int)fl, a, (int)fl, b, (int)gl, g, (int)fl, n, (int)fl, h,
			    (int)(1 + 2 * fl), q))
		goto fail;
	if (have_d &&
	    gcry_sexp_build(&x->priv, NULL,
			    "(private-key (ecc (p %b)(a %b)(b %b)(g %b)(n %b)(h %b)(q %b)(d %b)))",
			    (int)fl, p, (int)fl, a, (int)fl, b, (int)gl, g, (int)fl, n, (int)fl, h,
			    (int)(1 + 2 * fl), q, (int)fl, d))
		goto fail;

	OPENSSL_cleanse(d, sizeof(d));
	return x;
fail:
	OPENSSL_cleanse(d, sizeof(d));
	vsm_soft_sm2x_free(x);
	return NULL;
}

int vsm_soft_sm2x_has_private(const struct vsm_soft_sm2x *x)
{
	return x->priv != NULL;
}

static BIGNUM *sexp_bn(gcry_sexp_t s, const char *tok)
{
	gcry_sexp_t t = gcry_sexp_find_token(s, tok, 0);
	const char *v;
	size_t len = 0;
	BIGNUM *bn = NULL;

	if (t && (v = gcry_sexp_nth_data(t, 1, &len)) != NULL)
		bn = BN_bin2bn((const unsigned char *)v, (int)len, NULL);
	gcry_sexp_release(t);
	return bn;
}

int vsm_soft_sm2x_sign(const struct vsm_soft_sm2x *x, const uint8_t e[32], uint8_t *out, size_t cap,
		       size_t *out_len)
{
	gcry_sexp_t data = NULL, sig = NULL;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *p = out;
	int n, ok = 0;

	if (gcry_sexp_build(&data, NULL, "(data (flags sm2)(hash sm3 %b))", 32, e) ||
	    gcry_pk_sign(&sig, data, x->priv))
		goto out;
	r = sexp_bn(sig, "r");
	s = sexp_bn(sig, "s");
	es = ECDSA_SIG_new();
	if (!r || !s || !es || !ECDSA_SIG_set0(es, r, s))
		goto out;
	r = s = NULL;
	n = i2d_ECDSA_SIG(es, NULL);
	if (n <= 0 || (size_t)n > cap)
		goto out;
	*out_len = (size_t)i2d_ECDSA_SIG(es, &p);
	ok = 1;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	gcry_sexp_release(data);
	gcry_sexp_release(sig);
	return ok;
}

int vsm_soft_sm2x_verify(const struct vsm_soft_sm2x *x, const uint8_t e[32], const uint8_t *sig,
			 size_t sig_len)
{
	uint8_t rb[SM2X_MAX_FIELD], sb[SM2X_MAX_FIELD];
	const unsigned char *p = sig;
	gcry_sexp_t data = NULL, sv = NULL;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sig_len);
	const BIGNUM *r, *s;
	unsigned char *der = NULL;
	int rl, sl, ok = 0;

	/* Strict DER only: the bytes must re-encode to themselves. */
	if (!es || p != sig + sig_len || i2d_ECDSA_SIG(es, &der) != (int)sig_len ||
	    memcmp(der, sig, sig_len) != 0)
		goto out;
	ECDSA_SIG_get0(es, &r, &s);
	rl = BN_num_bytes(r);
	sl = BN_num_bytes(s);
	if (rl <= 0 || sl <= 0 || rl > SM2X_MAX_FIELD || sl > SM2X_MAX_FIELD)
		goto out;
	BN_bn2bin(r, rb);
	BN_bn2bin(s, sb);
	if (gcry_sexp_build(&data, NULL, "(data (flags sm2)(hash sm3 %b))", 32, e) ||
	    gcry_sexp_build(&sv, NULL, "(sig-val (sm2 (r %b)(s %b)))", rl, rb, sl, sb))
		goto out;
	ok = gcry_pk_verify(sv, data, x->pub) == 0;
out:
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	gcry_sexp_release(data);
	gcry_sexp_release(sv);
	return ok;
}
