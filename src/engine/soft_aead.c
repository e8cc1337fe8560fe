/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AEAD service on OpenSSL: AES-GCM, AES-CCM, ChaCha20-Poly1305 (SM4-GCM is
 * in soft_sm4gcm.c). Encrypt returns ciphertext || tag; decrypt takes
 * ciphertext || tag and returns the plaintext only if the tag verifies.
 *
 * CCM bakes the nonce length and tag length into its keyed state (RFC 3610
 * puts both in the first block's flags), so the tag length is fixed per
 * session and a change of nonce length re-keys; GCM and ChaCha20-Poly1305
 * only reset the IV per request.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "engine/soft.h"

#define AEAD_MAX_TAG 16

static const struct {
	int alg;
	size_t key_len;
	const char *name;
} aead_defs[] = {
	{VSM_ALG_AES_GCM, 16, "AES-128-GCM"},
	{VSM_ALG_AES_GCM, 24, "AES-192-GCM"},
	{VSM_ALG_AES_GCM, 32, "AES-256-GCM"},
	{VSM_ALG_AES_CCM, 16, "AES-128-CCM"},
	{VSM_ALG_AES_CCM, 24, "AES-192-CCM"},
	{VSM_ALG_AES_CCM, 32, "AES-256-CCM"},
	{VSM_ALG_CHACHA20_POLY1305, 32, "ChaCha20-Poly1305"},
};

static EVP_CIPHER *aeads[SOFT_ARRAY_SIZE(aead_defs)];

struct aead_sess {
	struct soft_sess base;
	int alg;
	size_t tag_len;
	EVP_CIPHER_CTX *ctx[2]; /* [0] decrypt, [1] encrypt */
	size_t iv_len[2];	/* nonce length each context is set up for */
	uint8_t key[32];	/* CCM only: re-key when the nonce length changes */
	size_t key_len;
};

int vsm_soft_aead_init(void)
{
	for (size_t i = 0; i < SOFT_ARRAY_SIZE(aead_defs); i++)
		aeads[i] = EVP_CIPHER_fetch(NULL, aead_defs[i].name, NULL);
	return 0;
}

void vsm_soft_aead_fini(void)
{
	for (size_t i = 0; i < SOFT_ARRAY_SIZE(aead_defs); i++) {
		EVP_CIPHER_free(aeads[i]);
		aeads[i] = NULL;
	}
}

void vsm_soft_aead_algs(uint8_t *bitmap)
{
	for (size_t i = 0; i < SOFT_ARRAY_SIZE(aead_defs); i++)
		if (aeads[i])
			soft_set_alg(bitmap, aead_defs[i].alg);
}

static void aead_free(struct soft_sess *base)
{
	struct aead_sess *s = (struct aead_sess *)base;

	EVP_CIPHER_CTX_free(s->ctx[0]);
	EVP_CIPHER_CTX_free(s->ctx[1]);
	OPENSSL_cleanse(s->key, sizeof(s->key));
	free(s);
}

static int iv_len_ok(int alg, size_t n)
{
	switch (alg) {
	case VSM_ALG_AES_GCM:
		return n >= 1 && n <= 128; /* OpenSSL's GCM_IV_MAX_SIZE */
	case VSM_ALG_AES_CCM:
		return n >= 7 && n <= 13; /* RFC 3610 / SP 800-38C */
	default:
		return n == 12; /* RFC 8439 */
	}
}

/* Point ctx at a nonce of length n; CCM must re-key for a new length. */
static int aead_set_iv_len(struct aead_sess *s, int enc, size_t n)
{
	EVP_CIPHER_CTX *ctx = s->ctx[enc];

	if (s->iv_len[enc] == n)
		return 1;
	s->iv_len[enc] = 0;
	if (!EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, (int)n, NULL))
		return 0;
	if (s->alg == VSM_ALG_AES_CCM && !EVP_CipherInit_ex2(ctx, NULL, s->key, NULL, enc, NULL))
		return 0;
	s->iv_len[enc] = n;
	return 1;
}

static int aead_op(struct soft_sess *base, const struct vsm_wire_op *op, uint8_t *out,
		   size_t out_cap, size_t *out_len, int *detail)
{
	static const uint8_t empty[1];
	struct aead_sess *s = (struct aead_sess *)base;
	int enc = op->op == VSM_OP_ENCRYPT;
	int ccm = s->alg == VSM_ALG_AES_CCM;
	uint8_t tag[AEAD_MAX_TAG], scratch[1];
	size_t len, need;
	EVP_CIPHER_CTX *ctx;
	int n = 0;

	if (op->flags & VSM_OPF_MORE || (op->op != VSM_OP_ENCRYPT && op->op != VSM_OP_DECRYPT))
		return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_OP);
	if (!iv_len_ok(s->alg, op->iv_len) || op->aux_len || op->aad_len > INT_MAX ||
	    op->src_len > INT_MAX || (!enc && op->src_len < s->tag_len))
		return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_LENGTH);
	len = enc ? op->src_len : op->src_len - s->tag_len;
	/*
	 * CCM's length field has L = 15 - nonce length bytes: a longer message
	 * cannot be encoded (SP 800-38C A.1). Refuse it here rather than let
	 * OpenSSL fail it as an engine error.
	 */
	if (ccm && op->iv_len > 11 && (uint64_t)len >> (8 * (15 - op->iv_len)) != 0)
		return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_LENGTH);
	need = enc ? len + s->tag_len : len;
	*out_len = need;
	if (out_cap < need)
		return soft_fail(detail, VSM_S_NOSPC, VSM_D_OUTPUT_SPACE);
	*out_len = 0;
	ctx = s->ctx[enc];
	if (!enc)
		memcpy(tag, op->src + len, s->tag_len); /* before any in-place write */

	if (!aead_set_iv_len(s, enc, op->iv_len) ||
	    !EVP_CipherInit_ex2(ctx, NULL, NULL, op->iv, enc, NULL))
		goto fail;
	if (!enc && ccm && !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)s->tag_len, tag))
		goto fail;
	if (ccm && !EVP_CipherUpdate(ctx, NULL, &n, NULL, (int)len))
		goto fail;
	if (op->aad_len && !EVP_CipherUpdate(ctx, NULL, &n, op->aad, (int)op->aad_len))
		goto fail;
	/*
	 * CCM computes the tag inside this update, even for an empty message, and
	 * treats a NULL input as "finish": give it non-NULL pointers.
	 */
	if (len || ccm) {
		if (!EVP_CipherUpdate(ctx, len ? out : scratch, &n, len ? op->src : empty,
				      (int)len)) {
			if (!enc && ccm)
				goto auth;
			goto fail;
		}
	}
	if (!enc && !ccm && !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)s->tag_len, tag))
		goto fail;
	/* CCM decryption already verified the tag in the update above. */
	if (!(ccm && !enc) && !EVP_CipherFinal_ex(ctx, len ? out + len : scratch, &n)) {
		if (!enc)
			goto auth;
		goto fail;
	}
	if (enc && !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, (int)s->tag_len, out + len))
		goto fail;
	*out_len = need;
	return VSM_S_OK;
auth:
	/* Never hand back plaintext that did not authenticate. */
	OPENSSL_cleanse(out, len);
	ERR_clear_error();
	return soft_fail(detail, VSM_S_BADMSG, VSM_D_AUTH_FAILED);
fail:
	OPENSSL_cleanse(out, need);
	return vsm_soft_engine_err(detail);
}

static int tag_len_ok(int alg, size_t t)
{
	switch (alg) {
	case VSM_ALG_AES_GCM:
		return t == 4 || t == 8 || (t >= 12 && t <= 16); /* SP 800-38D 5.2.1.2 */
	case VSM_ALG_AES_CCM:
		return t >= 4 && t <= 16 && t % 2 == 0;
	default:
		return t == 16;
	}
}

static EVP_CIPHER_CTX *aead_ctx(struct aead_sess *s, const EVP_CIPHER *c, int enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	if (!ctx || !EVP_CipherInit_ex2(ctx, c, NULL, NULL, enc, NULL))
		goto fail;
	/* CCM: the tag length must be known before the key goes in. */
	if (s->alg == VSM_ALG_AES_CCM &&
	    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)s->tag_len, NULL))
		goto fail;
	if (!EVP_CipherInit_ex2(ctx, NULL, s->key, NULL, enc, NULL))
		goto fail;
	s->iv_len[enc] = (size_t)EVP_CIPHER_CTX_get_iv_length(ctx);
	return ctx;
fail:
	EVP_CIPHER_CTX_free(ctx);
	return NULL;
}

int vsm_soft_aead_new(const struct vsm_wire_session *p, struct soft_sess **out, int *detail)
{
	const EVP_CIPHER *c = NULL;
	struct aead_sess *s;
	int alg_known = 0;

	for (size_t i = 0; i < SOFT_ARRAY_SIZE(aead_defs); i++) {
		if ((uint32_t)aead_defs[i].alg != p->alg || !aeads[i])
			continue;
		alg_known = 1;
		if (aead_defs[i].key_len == p->key_len)
			c = aeads[i];
	}
	if (!alg_known)
		return VSM_S_NOTSUPP;
	if (!c)
		return soft_fail(detail, VSM_S_KEY_REJECTED, VSM_D_BAD_KEY);
	if (!tag_len_ok((int)p->alg, p->tag_len ? p->tag_len : AEAD_MAX_TAG))
		return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_LENGTH);

	s = calloc(1, sizeof(*s));
	if (!s)
		return soft_fail(detail, VSM_S_ERR, VSM_D_ENGINE);
	s->base.op = aead_op;
	s->base.free = aead_free;
	s->alg = (int)p->alg;
	s->tag_len = p->tag_len ? p->tag_len : AEAD_MAX_TAG;
	memcpy(s->key, p->key, p->key_len);
	s->key_len = p->key_len;
	s->ctx[0] = aead_ctx(s, c, 0);
	s->ctx[1] = aead_ctx(s, c, 1);
	if (!s->ctx[0] || !s->ctx[1]) {
		aead_free(&s->base);
		return vsm_soft_engine_err(detail);
	}
	if (s->alg != VSM_ALG_AES_CCM)
		OPENSSL_cleanse(s->key, sizeof(s->key)); /* only CCM needs it again */
	*out = &s->base;
	return VSM_S_OK;
}
