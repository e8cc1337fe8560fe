/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AKCIPHER service: RSA (raw, PKCS#1 v1.5, PSS, OAEP), ECDSA on P-256/P-384,
 * SM2 (GB/T 32918 signatures and encryption) and Ed25519.
 *
 * Keys arrive as DER in any of the usual containers (PKCS#1, SEC1, PKCS#8,
 * SubjectPublicKeyInfo); OSSL_DECODER works out which. An EVP_PKEY_CTX is
 * set up once per operation type on first use and reused afterwards.
 *
 * Sign/verify hash the message with the session hash unless the session is
 * PREHASHED, then sign or verify the digest with that reused EVP_PKEY_CTX.
 * For SM2 the digest is e = SM3(Z || M): Z depends only on the user id and
 * the public key, so it is computed once per session (EVP_DigestSignInit
 * would recompute it, and allocate, on every request). SM2 keys with
 * explicit curve parameters, which OpenSSL 3.0's SM2 key manager refuses,
 * go to soft_sm2x.c.
 *
 * Ed25519 is pure EdDSA, reachable only through the one-shot EVP_DigestSign:
 * its EVP_MD_CTX is set up with the key once and re-armed per request with
 * a NULL key, which reuses the provider context.
 *
 * What still allocates per request is inside OpenSSL 3.0 (bignum and EC
 * arithmetic, EVP_DigestInit_ex2, Ed25519's internal SHA-512): see
 * docs/algorithms.md, "Per-request allocations".
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include "engine/soft.h"

/* RSA moduli accepted, in bits; see docs/algorithms.md. */
#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192

/* GB/T 32918.2 / GM/T 0009 default user id. */
static const char sm2_default_id[] = "1234567812345678";

struct ak_sess {
	struct soft_sess base;
	int alg;
	int pad;
	int prehashed;
	int has_priv;
	EVP_PKEY *pkey;
	const EVP_MD *md;     /* sign/verify hash, OAEP hash */
	const EVP_MD *mgf_md; /* PSS/OAEP MGF1 hash */
	int salt_len;
	uint8_t *aux; /* SM2 user id or OAEP label (copied) */
	size_t aux_len;
	size_t max_out;			/* EVP_PKEY_get_size: signature/ciphertext bound */
	EVP_PKEY_CTX *ctx[VSM_OP__MAX]; /* per opcode, set up on first use */
	EVP_MD_CTX *mctx;		/* message hashing */
	EVP_MD_CTX *ed[2];		/* Ed25519 [0] verify, [1] sign; keyed on first use */
	uint8_t z[32];			/* SM2: Z from the user id and the public key */
	struct vsm_soft_sm2x *x;	/* SM2 on an explicit-parameter curve */
};

int vsm_soft_akcipher_init(void)
{
	return 0;
}

void vsm_soft_akcipher_fini(void)
{
}

void vsm_soft_akcipher_algs(uint8_t *bitmap)
{
	soft_set_alg(bitmap, VSM_ALG_RSA);
	soft_set_alg(bitmap, VSM_ALG_ECDSA);
	soft_set_alg(bitmap, VSM_ALG_SM2);
	soft_set_alg(bitmap, VSM_ALG_ED25519);
}

static void ak_free(struct soft_sess *base)
{
	struct ak_sess *s = (struct ak_sess *)base;

	for (size_t i = 0; i < SOFT_ARRAY_SIZE(s->ctx); i++)
		EVP_PKEY_CTX_free(s->ctx[i]);
	EVP_MD_CTX_free(s->mctx);
	EVP_MD_CTX_free(s->ed[0]);
	EVP_MD_CTX_free(s->ed[1]);
	EVP_PKEY_free(s->pkey); /* private key material is cleared by OpenSSL */
	vsm_soft_sm2x_free(s->x);
	OPENSSL_clear_free(s->aux, s->aux_len);
	free(s);
}

/*
 * The key type is passed as a hint: without it a PKCS#1 RSAPublicKey (a
 * SEQUENCE of two INTEGERs) is also a valid DH parameter structure.
 */
static EVP_PKEY *decode_der(const uint8_t *der, size_t len, const char *keytype)
{
	const unsigned char *p = der;
	size_t left = len;
	EVP_PKEY *pkey = NULL;
	OSSL_DECODER_CTX *dctx;

	if (len == 0)
		return NULL;
	dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", NULL, keytype, 0, NULL, NULL);
	if (!dctx)
		return NULL;
	if (!OSSL_DECODER_from_data(dctx, &p, &left) || left != 0) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	OSSL_DECODER_CTX_free(dctx);
	return pkey;
}

static const char *key_type_hint(int alg)
{
	switch (alg) {
	case VSM_ALG_RSA:
		return "RSA";
	case VSM_ALG_ED25519:
		return "ED25519";
	default:
		return "EC"; /* SM2 keys too: OpenSSL 3.0 decodes most of them as EC */
	}
}

static int has_private(EVP_PKEY *pkey)
{
	BIGNUM *bn = NULL;
	size_t n = 0;

	if (EVP_PKEY_is_a(pkey, "ED25519"))
		return EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, NULL, 0,
						       &n) &&
		       n > 0;
	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &bn) ||
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_D, &bn)) {
		BN_clear_free(bn);
		return 1;
	}
	return 0;
}

static int group_name(EVP_PKEY *pkey, char *buf, size_t cap)
{
	return EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, buf, cap, NULL);
}

/*
 * OpenSSL 3.0 may decode a key on the SM2 curve as plain "EC", and a key
 * with explicit curve parameters (the GB/T 32918 example curve) always is.
 * Rebuild it on the SM2 key manager so that SM2, never ECDSA, runs on it.
 */
static EVP_PKEY *to_sm2(EVP_PKEY *pkey)
{
	EVP_PKEY_CTX *kctx = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY *sm2 = NULL;
	char g[64];

	if (EVP_PKEY_is_a(pkey, "SM2")) {
		EVP_PKEY_up_ref(pkey);
		return pkey;
	}
	if (!EVP_PKEY_is_a(pkey, "EC"))
		return NULL;
	/* A named curve must be the SM2 one; explicit parameters are taken as given. */
	if (group_name(pkey, g, sizeof(g)) && strcmp(g, "SM2") != 0)
		return NULL;
	if (EVP_PKEY_todata(pkey, EVP_PKEY_KEYPAIR, &params) &&
	    (kctx = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL)) &&
	    EVP_PKEY_fromdata_init(kctx) > 0)
		EVP_PKEY_fromdata(kctx, &sm2, EVP_PKEY_KEYPAIR, params);
	EVP_PKEY_CTX_free(kctx);
	OSSL_PARAM_free(params); /* clears the secure part holding the private key */
	return sm2;
}

/* Returns the key to use for alg (a new reference), or NULL if it does not fit. */
static EVP_PKEY *key_for_alg(EVP_PKEY *pkey, int alg)
{
	char g[64];
	int bits;

	switch (alg) {
	case VSM_ALG_RSA:
		if (!EVP_PKEY_is_a(pkey, "RSA"))
			return NULL;
		bits = EVP_PKEY_get_bits(pkey);
		if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS)
			return NULL;
		break;
	case VSM_ALG_ECDSA:
		if (!EVP_PKEY_is_a(pkey, "EC") || !group_name(pkey, g, sizeof(g)))
			return NULL;
		if (strcmp(g, "prime256v1") != 0 && strcmp(g, "P-256") != 0 &&
		    strcmp(g, "secp384r1") != 0 && strcmp(g, "P-384") != 0)
			return NULL;
		break;
	case VSM_ALG_SM2:
		return to_sm2(pkey);
	case VSM_ALG_ED25519:
		if (!EVP_PKEY_is_a(pkey, "ED25519"))
			return NULL;
		break;
	default:
		return NULL;
	}
	EVP_PKEY_up_ref(pkey);
	return pkey;
}

static int rsa_pad(int pad)
{
	switch (pad) {
	case VSM_PAD_PKCS1:
		return RSA_PKCS1_PADDING;
	case VSM_PAD_PSS:
		return RSA_PKCS1_PSS_PADDING;
	case VSM_PAD_OAEP:
		return RSA_PKCS1_OAEP_PADDING;
	default:
		return RSA_NO_PADDING;
	}
}

/* Which (alg, padding) pairs allow an opcode. */
static int op_allowed(const struct ak_sess *s, int opc)
{
	int sig = opc == VSM_OP_SIGN || opc == VSM_OP_VERIFY;
	int cip = opc == VSM_OP_ENCRYPT || opc == VSM_OP_DECRYPT;

	switch (s->alg) {
	case VSM_ALG_RSA:
		if (sig)
			return s->pad == VSM_PAD_PKCS1 || s->pad == VSM_PAD_PSS;
		return cip && s->pad != VSM_PAD_PSS;
	case VSM_ALG_SM2:
		return sig || cip;
	default:
		return sig;
	}
}

static EVP_PKEY_CTX *ak_ctx(struct ak_sess *s, int opc)
{
	EVP_PKEY_CTX *c = s->ctx[opc];
	int ok;

	if (c)
		return c;
	c = EVP_PKEY_CTX_new_from_pkey(NULL, s->pkey, NULL);
	if (!c)
		return NULL;
	switch (opc) {
	case VSM_OP_SIGN:
		ok = EVP_PKEY_sign_init(c) > 0;
		break;
	case VSM_OP_VERIFY:
		ok = EVP_PKEY_verify_init(c) > 0;
		break;
	case VSM_OP_ENCRYPT:
		ok = EVP_PKEY_encrypt_init(c) > 0;
		break;
	default:
		ok = EVP_PKEY_decrypt_init(c) > 0;
		break;
	}
	if (ok && s->alg == VSM_ALG_RSA) {
		ok = EVP_PKEY_CTX_set_rsa_padding(c, rsa_pad(s->pad)) > 0;
		if (ok && (opc == VSM_OP_SIGN || opc == VSM_OP_VERIFY))
			ok = EVP_PKEY_CTX_set_signature_md(c, s->md) > 0;
		if (ok && s->pad == VSM_PAD_PSS)
			ok = EVP_PKEY_CTX_set_rsa_pss_saltlen(c, s->salt_len) > 0 &&
			     EVP_PKEY_CTX_set_rsa_mgf1_md(c, s->mgf_md) > 0;
		if (ok && s->pad == VSM_PAD_OAEP) {
			ok = EVP_PKEY_CTX_set_rsa_oaep_md(c, s->md) > 0 &&
			     EVP_PKEY_CTX_set_rsa_mgf1_md(c, s->mgf_md) > 0;
			if (ok && s->aux_len) {
				/* set0 takes ownership of the copy. */
				void *label = OPENSSL_memdup(s->aux, s->aux_len);

				ok = label && EVP_PKEY_CTX_set0_rsa_oaep_label(c, label,
									       (int)s->aux_len) > 0;
				if (!ok)
					OPENSSL_free(label);
			}
		}
	} else if (ok && s->alg == VSM_ALG_ECDSA) {
		ok = EVP_PKEY_CTX_set_signature_md(c, s->md) > 0;
	}
	if (!ok) {
		EVP_PKEY_CTX_free(c);
		return NULL;
	}
	s->ctx[opc] = c;
	return c;
}

/*
 * What the signature primitive consumes: the message digest (for SM2, e =
 * SM3(Z || M)), computed here unless the client already did (then its
 * length must match the hash).
 */
static int ak_tbs(struct ak_sess *s, const struct vsm_wire_op *op, uint8_t *dg, size_t *dg_len,
		  const uint8_t **tbs, int *detail)
{
	unsigned int n = 0;

	if (s->prehashed) {
		if (op->src_len != (size_t)EVP_MD_get_size(s->md))
			return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_LENGTH);
		*tbs = op->src;
		*dg_len = op->src_len;
		return VSM_S_OK;
	}
	if (!EVP_DigestInit_ex2(s->mctx, s->md, NULL) ||
	    (s->alg == VSM_ALG_SM2 && !EVP_DigestUpdate(s->mctx, s->z, sizeof(s->z))) ||
	    !EVP_DigestUpdate(s->mctx, op->src, op->src_len) ||
	    !EVP_DigestFinal_ex(s->mctx, dg, &n))
		return vsm_soft_engine_err(detail);
	*tbs = dg;
	*dg_len = n;
	return VSM_S_OK;
}

/*
 * Ed25519's EVP_MD_CTX for one direction, ready for one EVP_DigestSign or
 * EVP_DigestVerify. The first call keys it; later calls pass a NULL key,
 * which re-arms the existing provider context instead of building a new
 * EVP_PKEY_CTX. If this OpenSSL cannot re-arm, key it again.
 */
static EVP_MD_CTX *ed_ctx(struct ak_sess *s, int sign)
{
	EVP_MD_CTX *m = s->ed[sign];
	int ok;

	if (m) {
		ok = sign ? EVP_DigestSignInit_ex(m, NULL, NULL, NULL, NULL, NULL, NULL)
			  : EVP_DigestVerifyInit_ex(m, NULL, NULL, NULL, NULL, NULL, NULL);
		if (ok > 0)
			return m;
		ERR_clear_error();
	} else {
		m = s->ed[sign] = EVP_MD_CTX_new();
		if (!m)
			return NULL;
	}
	ok = sign ? EVP_DigestSignInit_ex(m, NULL, NULL, NULL, NULL, s->pkey, NULL)
		  : EVP_DigestVerifyInit_ex(m, NULL, NULL, NULL, NULL, s->pkey, NULL);
	return ok > 0 ? m : NULL;
}

static int ak_sign(struct ak_sess *s, const struct vsm_wire_op *op, uint8_t *out, size_t out_cap,
		   size_t *out_len, int *detail)
{
	uint8_t dg[EVP_MAX_MD_SIZE];
	const uint8_t *tbs;
	size_t tbs_len, n = out_cap;
	EVP_PKEY_CTX *c;
	int rc;

	if (!s->has_priv)
		return soft_fail(detail, VSM_S_KEY_REJECTED, VSM_D_BAD_KEY);
	if (out_cap < s->max_out) {
		*out_len = s->max_out;
		return soft_fail(detail, VSM_S_NOSPC, VSM_D_OUTPUT_SPACE);
	}
	if (s->alg == VSM_ALG_ED25519) {
		EVP_MD_CTX *m = ed_ctx(s, 1);

		if (!m || EVP_DigestSign(m, out, &n, op->src, op->src_len) <= 0)
			return vsm_soft_engine_err(detail);
		*out_len = n;
		return VSM_S_OK;
	}
	rc = ak_tbs(s, op, dg, &tbs_len, &tbs, detail);
	if (rc != VSM_S_OK)
		return rc;
	c = ak_ctx(s, VSM_OP_SIGN);
	if (!c || EVP_PKEY_sign(c, out, &n, tbs, tbs_len) <= 0)
		return vsm_soft_engine_err(detail);
	*out_len = n;
	return VSM_S_OK;
}

static int ak_verify(struct ak_sess *s, const struct vsm_wire_op *op, int *detail)
{
	uint8_t dg[EVP_MAX_MD_SIZE];
	const uint8_t *tbs;
	size_t tbs_len;
	EVP_PKEY_CTX *c;
	int rc;

	if (s->alg == VSM_ALG_ED25519) {
		EVP_MD_CTX *m = ed_ctx(s, 0);

		if (!m)
			return vsm_soft_engine_err(detail);
		rc = EVP_DigestVerify(m, op->aux, op->aux_len, op->src, op->src_len);
	} else {
		rc = ak_tbs(s, op, dg, &tbs_len, &tbs, detail);
		if (rc != VSM_S_OK)
			return rc;
		c = ak_ctx(s, VSM_OP_VERIFY);
		if (!c)
			return vsm_soft_engine_err(detail);
		rc = EVP_PKEY_verify(c, op->aux, op->aux_len, tbs, tbs_len);
	}
	if (rc == 1)
		return VSM_S_OK;
	/* Malformed and wrong signatures look the same to the client. */
	ERR_clear_error();
	return soft_fail(detail, VSM_S_BADMSG, VSM_D_AUTH_FAILED);
}

/* Largest plaintext RSA can take with the session padding. */
static size_t rsa_max_in(const struct ak_sess *s)
{
	size_t k = s->max_out, h = (size_t)EVP_MD_get_size(s->md);

	switch (s->pad) {
	case VSM_PAD_PKCS1:
		return k > 11 ? k - 11 : 0;
	case VSM_PAD_OAEP:
		return k > 2 * h + 2 ? k - 2 * h - 2 : 0;
	default:
		return k;
	}
}

static int ak_encrypt(struct ak_sess *s, const struct vsm_wire_op *op, uint8_t *out, size_t out_cap,
		      size_t *out_len, int *detail)
{
	EVP_PKEY_CTX *c;
	size_t need = 0;

	if (s->alg == VSM_ALG_RSA) {
		if (op->src_len > rsa_max_in(s) ||
		    (s->pad == VSM_PAD_NONE && op->src_len != s->max_out))
			return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_LENGTH);
	} else if (op->src_len == 0) {
		return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_LENGTH);
	}
	c = ak_ctx(s, VSM_OP_ENCRYPT);
	if (!c || EVP_PKEY_encrypt(c, NULL, &need, op->src, op->src_len) <= 0)
		return vsm_soft_engine_err(detail);
	if (out_cap < need) {
		*out_len = need;
		return soft_fail(detail, VSM_S_NOSPC, VSM_D_OUTPUT_SPACE);
	}
	need = out_cap;
	if (EVP_PKEY_encrypt(c, out, &need, op->src, op->src_len) <= 0) {
		/* Raw RSA refuses an input not below the modulus. */
		if (s->pad == VSM_PAD_NONE && s->alg == VSM_ALG_RSA) {
			ERR_clear_error();
			return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_LENGTH);
		}
		return vsm_soft_engine_err(detail);
	}
	*out_len = need;
	return VSM_S_OK;
}

static int ak_decrypt(struct ak_sess *s, const struct vsm_wire_op *op, uint8_t *out, size_t out_cap,
		      size_t *out_len, int *detail)
{
	uint8_t tmp[RSA_MAX_BITS / 8];
	uint8_t *buf = out;
	size_t bound = 0, n;
	EVP_PKEY_CTX *c;
	int rc = VSM_S_OK;

	if (!s->has_priv)
		return soft_fail(detail, VSM_S_KEY_REJECTED, VSM_D_BAD_KEY);
	if (s->alg == VSM_ALG_RSA && op->src_len != s->max_out)
		return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_LENGTH);
	if (op->src_len == 0)
		return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_LENGTH);
	c = ak_ctx(s, VSM_OP_DECRYPT);
	if (!c || EVP_PKEY_decrypt(c, NULL, &bound, op->src, op->src_len) <= 0) {
		/* SM2 sizes its answer by parsing the ciphertext. */
		ERR_clear_error();
		return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_LENGTH);
	}
	if (out_cap < bound) {
		/*
		 * RSA's bound is the modulus size and the plaintext is usually
		 * shorter: a client that offered room for the real plaintext only
		 * still gets it, through a stack buffer wiped after use. SM2's
		 * bound is the plaintext length itself (C2 of the ciphertext), so
		 * a smaller buffer can never do.
		 */
		if (s->alg != VSM_ALG_RSA || bound > sizeof(tmp)) {
			*out_len = bound;
			return soft_fail(detail, VSM_S_NOSPC, VSM_D_OUTPUT_SPACE);
		}
		buf = tmp;
	}
	n = bound;
	if (EVP_PKEY_decrypt(c, buf, &n, op->src, op->src_len) <= 0) {
		ERR_clear_error();
		rc = soft_fail(detail, VSM_S_BADMSG, VSM_D_AUTH_FAILED);
		n = 0;
	} else if (buf == tmp && n > out_cap) {
		rc = soft_fail(detail, VSM_S_NOSPC, VSM_D_OUTPUT_SPACE);
	} else if (buf == tmp) {
		memcpy(out, tmp, n);
	}
	*out_len = n;
	if (buf == tmp)
		OPENSSL_cleanse(tmp, bound);
	return rc;
}

/* SM2 on an explicit curve: e is computed here, libgcrypt signs or verifies it. */
static int sm2x_op(struct ak_sess *s, const struct vsm_wire_op *op, uint8_t *out, size_t out_cap,
		   size_t *out_len, int *detail)
{
	uint8_t dg[EVP_MAX_MD_SIZE];
	const uint8_t *e;
	size_t e_len;
	int rc;

	if (op->op != VSM_OP_SIGN && op->op != VSM_OP_VERIFY)
		return VSM_S_NOTSUPP;
	if (op->op == VSM_OP_SIGN && !s->has_priv)
		return soft_fail(detail, VSM_S_KEY_REJECTED, VSM_D_BAD_KEY);
	if (op->op == VSM_OP_SIGN && out_cap < s->max_out) {
		*out_len = s->max_out;
		return soft_fail(detail, VSM_S_NOSPC, VSM_D_OUTPUT_SPACE);
	}
	rc = ak_tbs(s, op, dg, &e_len, &e, detail);
	if (rc != VSM_S_OK)
		return rc;
	if (op->op == VSM_OP_VERIFY)
		return vsm_soft_sm2x_verify(s->x, e, op->aux, op->aux_len)
			       ? VSM_S_OK
			       : soft_fail(detail, VSM_S_BADMSG, VSM_D_AUTH_FAILED);
	if (!vsm_soft_sm2x_sign(s->x, e, out, out_cap, out_len))
		return soft_fail(detail, VSM_S_ERR, VSM_D_ENGINE);
	return VSM_S_OK;
}

static int ak_op(struct soft_sess *base, const struct vsm_wire_op *op, uint8_t *out, size_t out_cap,
		 size_t *out_len, int *detail)
{
	struct ak_sess *s = (struct ak_sess *)base;

	if (s->x && !(op->flags & VSM_OPF_MORE))
		return sm2x_op(s, op, out, out_cap, out_len, detail);

	if (op->flags & VSM_OPF_MORE || op->op >= VSM_OP__MAX || !op_allowed(s, (int)op->op))
		return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_OP);
	switch (op->op) {
	case VSM_OP_SIGN:
		return ak_sign(s, op, out, out_cap, out_len, detail);
	case VSM_OP_VERIFY:
		return ak_verify(s, op, detail);
	case VSM_OP_ENCRYPT:
		return ak_encrypt(s, op, out, out_cap, out_len, detail);
	default:
		return ak_decrypt(s, op, out, out_cap, out_len, detail);
	}
}

/* Session hash parameters: 0 means the algorithm default. */
static int ak_params(struct ak_sess *s, const struct vsm_wire_session *p)
{
	int def = s->alg == VSM_ALG_SM2 ? VSM_ALG_SM3 : VSM_ALG_SHA256;
	int h = p->hash ? (int)p->hash : def;
	int m = p->mgf_hash ? (int)p->mgf_hash : h;

	/* SM2 is defined with SM3 only. */
	if (s->alg == VSM_ALG_SM2 && h != VSM_ALG_SM3)
		return VSM_S_NOTSUPP;
	/* Ed25519 hashes internally (pure EdDSA): nothing to pre-hash. */
	if (s->alg == VSM_ALG_ED25519 && s->prehashed)
		return VSM_S_NOTSUPP;
	s->md = vsm_soft_md(h);
	s->mgf_md = vsm_soft_md(m);
	if (!s->md || !s->mgf_md)
		return VSM_S_NOTSUPP;
	if (p->salt_len < -1)
		return VSM_S_BADMSG;
	s->salt_len = p->salt_len == -1 ? RSA_PSS_SALTLEN_DIGEST : p->salt_len;
	return VSM_S_OK;
}

int vsm_soft_akcipher_new(const struct vsm_wire_session *p, struct soft_sess **out, int *detail)
{
	struct ak_sess *s;
	EVP_PKEY *raw;
	const void *aux = p->aux;
	size_t aux_len = p->aux_len;
	char g[64];
	int rc;

	if (p->alg != VSM_ALG_RSA && p->alg != VSM_ALG_ECDSA && p->alg != VSM_ALG_SM2 &&
	    p->alg != VSM_ALG_ED25519)
		return VSM_S_NOTSUPP;
	s = calloc(1, sizeof(*s));
	if (!s)
		return soft_fail(detail, VSM_S_ERR, VSM_D_ENGINE);
	s->base.op = ak_op;
	s->base.free = ak_free;
	s->alg = (int)p->alg;
	s->pad = (int)p->padding;
	s->prehashed = (p->flags & VSM_SESSF_PREHASHED) != 0;

	rc = ak_params(s, p);
	if (rc != VSM_S_OK) {
		ak_free(&s->base);
		return soft_fail(detail, rc, rc == VSM_S_BADMSG ? VSM_D_BAD_LENGTH : VSM_D_NONE);
	}
	if (s->alg == VSM_ALG_SM2 && aux_len == 0) {
		aux = sm2_default_id;
		aux_len = sizeof(sm2_default_id) - 1;
	}
	if (aux_len) {
		s->aux = OPENSSL_memdup(aux, aux_len);
		if (!s->aux) {
			ak_free(&s->base);
			return soft_fail(detail, VSM_S_ERR, VSM_D_ENGINE);
		}
		s->aux_len = aux_len;
	}
	raw = decode_der(p->key, p->key_len, key_type_hint(s->alg));
	if (!raw && s->alg == VSM_ALG_SM2)
		raw = decode_der(p->key, p->key_len, "SM2");
	s->pkey = raw ? key_for_alg(raw, s->alg) : NULL;
	if (!s->pkey && raw && s->alg == VSM_ALG_SM2 && EVP_PKEY_is_a(raw, "EC") &&
	    !group_name(raw, g, sizeof(g))) {
		/* Explicit curve parameters: OpenSSL 3.0 cannot run SM2 on them. */
		s->x = vsm_soft_sm2x_new(raw);
		if (s->x) {
			s->has_priv = vsm_soft_sm2x_has_private(s->x);
			s->max_out = (size_t)EVP_PKEY_get_size(raw);
		}
	} else if (s->pkey) {
		s->has_priv = has_private(s->pkey);
		s->max_out = (size_t)EVP_PKEY_get_size(s->pkey);
	}
	if (s->alg == VSM_ALG_SM2 && (s->pkey || s->x) &&
	    !vsm_soft_sm2_z(s->x ? raw : s->pkey, s->aux, s->aux_len, s->z)) {
		EVP_PKEY_free(raw);
		ak_free(&s->base);
		ERR_clear_error();
		if (aux_len > VSM_SOFT_SM2_MAX_ID)
			return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_LENGTH);
		return soft_fail(detail, VSM_S_KEY_REJECTED, VSM_D_BAD_KEY);
	}
	EVP_PKEY_free(raw);
	if (!s->pkey && !s->x) {
		ak_free(&s->base);
		ERR_clear_error();
		return soft_fail(detail, VSM_S_KEY_REJECTED, VSM_D_BAD_KEY);
	}

	s->mctx = EVP_MD_CTX_new();
	if (!s->mctx || s->max_out == 0) {
		ak_free(&s->base);
		return vsm_soft_engine_err(detail);
	}
	*out = &s->base;
	return VSM_S_OK;
}
