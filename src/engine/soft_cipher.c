/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CIPHER service: AES ECB/CBC/CTR/XTS, SM4 ECB/CBC/CTR, ChaCha20.
 *
 * A session keys one context per direction at creation: re-keying is the
 * expensive part (AES decryption even needs its own key schedule), so a
 * request only resets the IV with EVP_CipherInit_ex2(ctx, NULL, NULL, iv).
 */
#include <limits.h>
#include <stdlib.h>

#include <openssl/crypto.h>

#include "engine/soft.h"

struct cipher_def {
	int alg;
	size_t key_len;
	const char *name;
	size_t block;	/* input must be a multiple of this (no padding) */
	size_t iv_len;	/* exact IV length a request must carry */
	size_t min_len; /* XTS needs at least one full block */
};

static const struct cipher_def cipher_defs[] = {
	{VSM_ALG_AES_ECB, 16, "AES-128-ECB", 16, 0, 0},
	{VSM_ALG_AES_ECB, 24, "AES-192-ECB", 16, 0, 0},
	{VSM_ALG_AES_ECB, 32, "AES-256-ECB", 16, 0, 0},
	{VSM_ALG_AES_CBC, 16, "AES-128-CBC", 16, 16, 0},
	{VSM_ALG_AES_CBC, 24, "AES-192-CBC", 16, 16, 0},
	{VSM_ALG_AES_CBC, 32, "AES-256-CBC", 16, 16, 0},
	{VSM_ALG_AES_CTR, 16, "AES-128-CTR", 1, 16, 0},
	{VSM_ALG_AES_CTR, 24, "AES-192-CTR", 1, 16, 0},
	{VSM_ALG_AES_CTR, 32, "AES-256-CTR", 1, 16, 0},
	{VSM_ALG_AES_XTS, 32, "AES-128-XTS", 1, 16, 16},
	{VSM_ALG_AES_XTS, 64, "AES-256-XTS", 1, 16, 16},
	{VSM_ALG_SM4_ECB, 16, "SM4-ECB", 16, 0, 0},
	{VSM_ALG_SM4_CBC, 16, "SM4-CBC", 16, 16, 0},
	{VSM_ALG_SM4_CTR, 16, "SM4-CTR", 1, 16, 0},
	{VSM_ALG_CHACHA20, 32, "ChaCha20", 1, 16, 0},
};

static EVP_CIPHER *ciphers[SOFT_ARRAY_SIZE(cipher_defs)];

struct cipher_sess {
	struct soft_sess base;
	const struct cipher_def *def;
	EVP_CIPHER_CTX *enc;
	EVP_CIPHER_CTX *dec;
};

int vsm_soft_cipher_init(void)
{
	for (size_t i = 0; i < SOFT_ARRAY_SIZE(cipher_defs); i++)
		ciphers[i] = EVP_CIPHER_fetch(NULL, cipher_defs[i].name, NULL);
	return 0;
}

void vsm_soft_cipher_fini(void)
{
	for (size_t i = 0; i < SOFT_ARRAY_SIZE(cipher_defs); i++) {
		EVP_CIPHER_free(ciphers[i]);
		ciphers[i] = NULL;
	}
}

void vsm_soft_cipher_algs(uint8_t *bitmap)
{
	for (size_t i = 0; i < SOFT_ARRAY_SIZE(cipher_defs); i++)
		if (ciphers[i])
			soft_set_alg(bitmap, cipher_defs[i].alg);
}

static void cipher_free(struct soft_sess *base)
{
	struct cipher_sess *s = (struct cipher_sess *)base;

	/* EVP_CIPHER_CTX_free cleanses the key schedule. */
	EVP_CIPHER_CTX_free(s->enc);
	EVP_CIPHER_CTX_free(s->dec);
	free(s);
}

static int cipher_op(struct soft_sess *base, const struct vsm_wire_op *op, uint8_t *out,
		     size_t out_cap, size_t *out_len, int *detail)
{
	struct cipher_sess *s = (struct cipher_sess *)base;
	const struct cipher_def *d = s->def;
	EVP_CIPHER_CTX *ctx;
	int n = 0, fin = 0;

	if (op->flags & VSM_OPF_MORE)
		return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_OP);
	if (op->op == VSM_OP_ENCRYPT)
		ctx = s->enc;
	else if (op->op == VSM_OP_DECRYPT)
		ctx = s->dec;
	else
		return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_OP);
	/* aad and aux are not cipher fields and must be empty (protocol section 7). */
	if (op->iv_len != d->iv_len || op->aad_len || op->aux_len || op->src_len % d->block ||
	    op->src_len < d->min_len || op->src_len > INT_MAX)
		return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_LENGTH);
	*out_len = op->src_len;
	if (out_cap < op->src_len)
		return soft_fail(detail, VSM_S_NOSPC, VSM_D_OUTPUT_SPACE);

	if (!EVP_CipherInit_ex2(ctx, NULL, NULL, d->iv_len ? op->iv : NULL, -1, NULL))
		goto fail;
	if (op->src_len && !EVP_CipherUpdate(ctx, out, &n, op->src, (int)op->src_len))
		goto fail;
	if (!EVP_CipherFinal_ex(ctx, out + n, &fin) || (size_t)n + (size_t)fin != op->src_len)
		goto fail;
	return VSM_S_OK;
fail:
	*out_len = 0;
	return vsm_soft_engine_err(detail);
}

static EVP_CIPHER_CTX *cipher_ctx(const EVP_CIPHER *c, const struct cipher_def *d,
				  const uint8_t *key, int enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	if (!ctx || !EVP_CipherInit_ex2(ctx, c, key, NULL, enc, NULL) ||
	    (d->block > 1 && !EVP_CIPHER_CTX_set_padding(ctx, 0))) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int vsm_soft_cipher_new(const struct vsm_wire_session *p, struct soft_sess **out, int *detail)
{
	const struct cipher_def *d = NULL;
	const EVP_CIPHER *c = NULL;
	struct cipher_sess *s;
	int alg_known = 0;

	for (size_t i = 0; i < SOFT_ARRAY_SIZE(cipher_defs); i++) {
		if ((uint32_t)cipher_defs[i].alg != p->alg || !ciphers[i])
			continue;
		alg_known = 1;
		if (cipher_defs[i].key_len == p->key_len) {
			d = &cipher_defs[i];
			c = ciphers[i];
		}
	}
	if (!alg_known)
		return VSM_S_NOTSUPP;
	if (!d)
		return soft_fail(detail, VSM_S_KEY_REJECTED, VSM_D_BAD_KEY);

	s = calloc(1, sizeof(*s));
	if (!s)
		return soft_fail(detail, VSM_S_ERR, VSM_D_ENGINE);
	s->base.op = cipher_op;
	s->base.free = cipher_free;
	s->def = d;
	s->enc = cipher_ctx(c, d, p->key, 1);
	s->dec = cipher_ctx(c, d, p->key, 0);
	if (!s->enc || !s->dec) {
		/* e.g. XTS with two equal key halves */
		cipher_free(&s->base);
		return soft_fail(detail, VSM_S_KEY_REJECTED, VSM_D_BAD_KEY);
	}
	*out = &s->base;
	return VSM_S_OK;
}
