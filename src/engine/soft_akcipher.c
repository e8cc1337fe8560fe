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
 * RSA PKCS#1 v1.5 decryption uses implicit rejection (rsa_pkcs1_decrypt):
 * OpenSSL 3.0's own padding check is a Bleichenbacher oracle.
 *
 * What still allocates per request is inside OpenSSL 3.0 (bignum and EC
 * arithmetic, EVP_DigestInit_ex2, HMAC, Ed25519's internal SHA-512): see
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
#include <openssl/sha.h>

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
	EVP_MAC_CTX *ir_mac;		/* RSA PKCS#1 decrypt: HMAC-SHA256 for implicit rejection */
	uint8_t ir_dhash[SHA256_DIGEST_LENGTH]; /* SHA-256 of d, the HMAC key of the KDK */
};

static EVP_MAC *hmac;

int vsm_soft_akcipher_init(void)
{
	/* PKCS#1 v1.5 private-key sessions need it (implicit rejection); they fail without. */
	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	return 0;
}

void vsm_soft_akcipher_fini(void)
{
	EVP_MAC_free(hmac);
	hmac = NULL;
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
	EVP_MAC_CTX_free(s->ir_mac);
	OPENSSL_cleanse(s->ir_dhash, sizeof(s->ir_dhash));
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
		/* PKCS#1 v1.5 decryption checks its padding itself (rsa_pkcs1_decrypt). */
		int pad = opc == VSM_OP_DECRYPT && s->pad == VSM_PAD_PKCS1 ? RSA_NO_PADDING
									   : rsa_pad(s->pad);

		ok = EVP_PKEY_CTX_set_rsa_padding(c, pad) > 0;
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

/*
 * Constant-time helpers in OpenSSL's formulation (include/internal/constant_time.h,
 * which OpenSSL does not install). Masks are all ones (true) or all zeros.
 * The empty asm keeps the compiler from turning a select back into a branch.
 */
static inline unsigned ct_barrier(unsigned a)
{
	__asm__("" : "+r"(a));
	return a;
}

static inline unsigned ct_msb(unsigned a)
{
	return 0u - (a >> (sizeof(a) * 8 - 1));
}

static inline unsigned ct_is_zero(unsigned a)
{
	return ct_msb(~a & (a - 1));
}

static inline unsigned ct_eq(unsigned a, unsigned b)
{
	return ct_is_zero(a ^ b);
}

static inline unsigned ct_lt(unsigned a, unsigned b)
{
	return ct_msb(a ^ ((a ^ b) | ((a - b) ^ b)));
}

static inline unsigned ct_ge(unsigned a, unsigned b)
{
	return ~ct_lt(a, b);
}

static inline unsigned ct_select(unsigned mask, unsigned a, unsigned b)
{
	mask = ct_barrier(mask);
	return (mask & a) | (~mask & b);
}

/*
 * Implicit rejection for RSA PKCS#1 v1.5 decryption, as specified by
 * draft-irtf-cfrg-rsa-guidance and implemented by OpenSSL 3.2+
 * (ossl_rsa_padding_check_PKCS1_type_2, ossl_rsa_prf): the same derivation,
 * so a move to OpenSSL's own code later gives the same answers and does not
 * itself become an oracle.
 *
 *   KDK   = HMAC-SHA256(key = SHA-256(d as k big-endian bytes), C)
 *   PRF(label, L bits) = HMAC-SHA256(KDK, i_be16 || label || L_be16), i = 0, 1, ...
 *   synthetic message  = PRF("message", 8k)
 *   synthetic length   = the last of 128 16-bit PRF("length", 2048) values,
 *                        masked to the bit width of k - 10, that is < k - 10
 *
 * A ciphertext whose padding is bad, or whose message does not fit dst_len,
 * decrypts to the last "synthetic length" bytes of the synthetic message:
 * deterministic for (key, ciphertext), unpredictable without d. The status
 * is OK either way, so nothing a client sees depends on padding validity.
 */
#define IR_LEN_TRIES 128

static int ir_prf(EVP_MAC_CTX *m, const uint8_t kdk[SHA256_DIGEST_LENGTH], const char *label,
		  uint8_t *out, size_t len)
{
	uint8_t blk[SHA256_DIGEST_LENGTH], be[2], bits[2];
	size_t bl = 0;
	int ok = 1;

	/* The draft counts the output in bits, in 16 bits: k <= 1024 bytes fits. */
	bits[0] = (uint8_t)((len * 8) >> 8);
	bits[1] = (uint8_t)(len * 8);
	for (size_t pos = 0, i = 0; ok && pos < len; pos += sizeof(blk), i++) {
		be[0] = (uint8_t)(i >> 8);
		be[1] = (uint8_t)i;
		ok = EVP_MAC_init(m, kdk, SHA256_DIGEST_LENGTH, NULL) && EVP_MAC_update(m, be, 2) &&
		     EVP_MAC_update(m, (const uint8_t *)label, strlen(label)) &&
		     EVP_MAC_update(m, bits, 2) && EVP_MAC_final(m, blk, &bl, sizeof(blk)) &&
		     bl == sizeof(blk);
		if (ok)
			memcpy(out + pos, blk, len - pos < bl ? len - pos : bl);
	}
	OPENSSL_cleanse(blk, sizeof(blk));
	return ok;
}

static int rsa_pkcs1_decrypt(struct ak_sess *s, const struct vsm_wire_op *op, uint8_t *out,
			     size_t out_cap, size_t *out_len, int *detail)
{
	uint8_t em[RSA_MAX_BITS / 8], syn[RSA_MAX_BITS / 8], kdk[SHA256_DIGEST_LENGTH];
	uint8_t lens[IR_LEN_TRIES * 2];
	size_t k = s->max_out, n = sizeof(em), kl = 0, i, j;
	unsigned tlen, max_sep, mask, syn_len = 0, good, found = 0, zero_index = 0, msg_index;
	EVP_PKEY_CTX *c = ak_ctx(s, VSM_OP_DECRYPT);
	int rc = VSM_S_OK;

	/* The caller checked src_len == k; k is at most RSA_MAX_BITS / 8. */
	if (!c || k > sizeof(em) || k < 11 || !s->ir_mac)
		return vsm_soft_engine_err(detail);
	/*
	 * Raw RSA (blinded by OpenSSL). It fails only for a ciphertext not below
	 * the modulus, which anyone can check without the key: no oracle.
	 */
	if (EVP_PKEY_decrypt(c, em, &n, op->src, op->src_len) <= 0 || n != k) {
		ERR_clear_error();
		OPENSSL_cleanse(em, sizeof(em));
		return soft_fail(detail, VSM_S_BADMSG, VSM_D_AUTH_FAILED);
	}
	/* KDK over the ciphertext, before out (which may alias src) is written. */
	if (!EVP_MAC_init(s->ir_mac, s->ir_dhash, sizeof(s->ir_dhash), NULL) ||
	    !EVP_MAC_update(s->ir_mac, op->src, op->src_len) ||
	    !EVP_MAC_final(s->ir_mac, kdk, &kl, sizeof(kdk)) || kl != sizeof(kdk) ||
	    !ir_prf(s->ir_mac, kdk, "message", syn, k) ||
	    !ir_prf(s->ir_mac, kdk, "length", lens, sizeof(lens))) {
		rc = vsm_soft_engine_err(detail);
		goto out;
	}

	/*
	 * Synthetic length: 128 tries avoid both the bias and the timing of a
	 * modular reduction; all 128 failing (2^-128) leaves 0.
	 */
	mask = max_sep = (unsigned)k - 2 - 8;
	mask |= mask >> 1;
	mask |= mask >> 2;
	mask |= mask >> 4;
	mask |= mask >> 8;
	for (i = 0; i < sizeof(lens); i += 2) {
		unsigned cand = ((unsigned)lens[i] << 8 | lens[i + 1]) & mask;

		syn_len = ct_select(ct_lt(cand, max_sep), cand, syn_len);
	}

	/* EM = 00 || 02 || PS (>= 8 non-zero bytes) || 00 || M, checked without branches. */
	good = ct_is_zero(em[0]) & ct_eq(em[1], 2);
	for (i = 2; i < k; i++) {
		unsigned eq0 = ct_is_zero(em[i]);

		zero_index = ct_select(~found & eq0, (unsigned)i, zero_index);
		found |= eq0;
	}
	/* No separator leaves zero_index 0, which fails this too. */
	good &= ct_ge(zero_index, 2 + 8);
	msg_index = zero_index + 1;
	/*
	 * A real message that does not fit dst_len is rejected the same way:
	 * NOSPC only for valid padding would be the oracle again.
	 */
	tlen = out_cap < k ? (unsigned)out_cap : (unsigned)k;
	good &= ct_ge(tlen, (unsigned)k - msg_index);
	msg_index = ct_select(good, msg_index, (unsigned)k - syn_len);

	/*
	 * msg_index now only says how long the answer is, which the client sees
	 * anyway; read both buffers at every index so the cache does not tell
	 * which one was taken.
	 */
	for (i = msg_index, j = 0; i < k && j < tlen; i++, j++)
		out[j] = (uint8_t)ct_select(good, em[i], syn[i]);
	*out_len = j;
out:
	OPENSSL_cleanse(em, sizeof(em));
	OPENSSL_cleanse(syn, sizeof(syn));
	OPENSSL_cleanse(kdk, sizeof(kdk));
	OPENSSL_cleanse(lens, sizeof(lens));
	return rc;
}

static int ak_decrypt(struct ak_sess *s, const struct vsm_wire_op *op, uint8_t *out, size_t out_cap,
		      size_t *out_len, int *detail)
{
	uint8_t tmp[RSA_MAX_BITS / 8];
	uint8_t *buf = out;
	size_t bound = 0, n;
	EVP_PKEY_CTX *c;
	int rc = VSM_S_OK;

	if (s->alg == VSM_ALG_RSA && op->src_len != s->max_out)
		return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_LENGTH);
	if (op->src_len == 0)
		return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_LENGTH);
	if (s->alg == VSM_ALG_RSA && s->pad == VSM_PAD_PKCS1)
		return rsa_pkcs1_decrypt(s, op, out, out_cap, out_len, detail);
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

	/* Encryption on explicit curves is not implemented (libgcrypt's SM2 is C1C3C2 raw). */
	if (op->op != VSM_OP_SIGN && op->op != VSM_OP_VERIFY)
		return VSM_S_NOTSUPP;
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

	if (op->flags & VSM_OPF_MORE || op->op >= VSM_OP__MAX || !op_allowed(s, (int)op->op))
		return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_OP);
	/* A public-key session has nothing to sign or decrypt with (protocol 7.4). */
	if (!s->has_priv && (op->op == VSM_OP_SIGN || op->op == VSM_OP_DECRYPT))
		return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_OP);
	/* Fields the opcode does not use must be empty (protocol section 7). */
	if (op->iv_len || op->aad_len || (op->op != VSM_OP_VERIFY && op->aux_len))
		return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_LENGTH);
	if (s->x)
		return sm2x_op(s, op, out, out_cap, out_len, detail);
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
	/* Other negative salt lengths are reserved (protocol 7.4). */
	if (p->salt_len < -1)
		return VSM_S_NOTSUPP;
	s->salt_len = p->salt_len == -1 ? RSA_PSS_SALTLEN_DIGEST : p->salt_len;
	return VSM_S_OK;
}

/*
 * GB/T 32918.1 6.1-6.2 key checks: the public point on the curve and of
 * order n, the key pair consistent, and 1 <= d <= n-2. d = n-1 is a valid
 * EC key but not an SM2 one: signing needs (1 + d)^-1 mod n, and libgcrypt
 * would retry that forever.
 */
static int sm2_key_ok(EVP_PKEY *pk, int priv)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	BIGNUM *n = NULL, *d = NULL;
	int ok = c && EVP_PKEY_public_check(c) == 1;

	/* The range check on d is done once, at creation: a timing leak here says only "in range".
	 */
	if (ok && priv)
		ok = EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_ORDER, &n) &&
		     EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &d) && BN_sub_word(n, 2) &&
		     !BN_is_negative(d) && !BN_is_zero(d) && BN_cmp(d, n) <= 0 &&
		     EVP_PKEY_pairwise_check(c) == 1;
	BN_free(n);
	BN_clear_free(d);
	EVP_PKEY_CTX_free(c);
	return ok;
}

/*
 * Implicit rejection's per-key part: the HMAC context and SHA-256(d), d as k
 * big-endian bytes (see rsa_pkcs1_decrypt).
 */
static int rsa_ir_setup(struct ak_sess *s)
{
	uint8_t buf[RSA_MAX_BITS / 8];
	OSSL_PARAM params[2];
	BIGNUM *d = NULL;
	int ok;

	if (!hmac)
		return 0;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA2-256", 0);
	params[1] = OSSL_PARAM_construct_end();
	s->ir_mac = EVP_MAC_CTX_new(hmac);
	ok = s->ir_mac && EVP_MAC_CTX_set_params(s->ir_mac, params) && s->max_out <= sizeof(buf) &&
	     EVP_PKEY_get_bn_param(s->pkey, OSSL_PKEY_PARAM_RSA_D, &d) &&
	     BN_bn2binpad(d, buf, (int)s->max_out) == (int)s->max_out &&
	     SHA256(buf, s->max_out, s->ir_dhash) != NULL;
	BN_clear_free(d);
	OPENSSL_cleanse(buf, sizeof(buf));
	return ok;
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

	/* ENTL counts the user id's bits in 16 bits. */
	if (s->alg == VSM_ALG_SM2 && aux_len > VSM_SOFT_SM2_MAX_ID) {
		ak_free(&s->base);
		return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_LENGTH);
	}
	rc = ak_params(s, p);
	if (rc != VSM_S_OK) {
		ak_free(&s->base);
		return soft_fail(detail, rc, VSM_D_NONE);
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
	if (!s->pkey && !s->x) {
		EVP_PKEY_free(raw);
		ak_free(&s->base);
		ERR_clear_error();
		return soft_fail(detail, VSM_S_KEY_REJECTED, VSM_D_BAD_KEY);
	}

	if (s->alg == VSM_ALG_SM2 && !sm2_key_ok(s->x ? raw : s->pkey, s->has_priv)) {
		EVP_PKEY_free(raw);
		ak_free(&s->base);
		ERR_clear_error();
		return soft_fail(detail, VSM_S_KEY_REJECTED, VSM_D_BAD_KEY);
	}
	EVP_PKEY_free(raw);

	s->mctx = EVP_MD_CTX_new();
	if (!s->mctx || s->max_out == 0) {
		ak_free(&s->base);
		return vsm_soft_engine_err(detail);
	}
	if (s->alg == VSM_ALG_RSA && s->pad == VSM_PAD_PKCS1 && s->has_priv && !rsa_ir_setup(s)) {
		ak_free(&s->base);
		return vsm_soft_engine_err(detail);
	}
	*out = &s->base;
	return VSM_S_OK;
}
