/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HASH and MAC services. Both keep their running state in the session so a
 * client can feed an input larger than one message: requests with
 * VSM_OPF_MORE absorb, the next request without it finishes, and the
 * context is then ready for the next message without being reallocated.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include "engine/soft.h"

static const struct {
	int alg;
	const char *name;
} md_defs[] = {
	{VSM_ALG_SHA1, "SHA1"},	      {VSM_ALG_SHA224, "SHA2-224"}, {VSM_ALG_SHA256, "SHA2-256"},
	{VSM_ALG_SHA384, "SHA2-384"}, {VSM_ALG_SHA512, "SHA2-512"}, {VSM_ALG_SHA3_256, "SHA3-256"},
	{VSM_ALG_SM3, "SM3"},
};

static EVP_MD *mds[SOFT_ARRAY_SIZE(md_defs)];

/* HMAC algs name their digest; CMAC names its cipher by key length. */
static const struct {
	int alg;
	int md_alg;
} hmac_defs[] = {
	{VSM_ALG_HMAC_SHA1, VSM_ALG_SHA1},     {VSM_ALG_HMAC_SHA256, VSM_ALG_SHA256},
	{VSM_ALG_HMAC_SHA384, VSM_ALG_SHA384}, {VSM_ALG_HMAC_SHA512, VSM_ALG_SHA512},
	{VSM_ALG_HMAC_SM3, VSM_ALG_SM3},
};

static EVP_MAC *hmac;
static EVP_MAC *cmac;

int vsm_soft_digest_init(void)
{
	for (size_t i = 0; i < SOFT_ARRAY_SIZE(md_defs); i++)
		mds[i] = EVP_MD_fetch(NULL, md_defs[i].name, NULL);
	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	cmac = EVP_MAC_fetch(NULL, "CMAC", NULL);
	return 0;
}

void vsm_soft_digest_fini(void)
{
	for (size_t i = 0; i < SOFT_ARRAY_SIZE(md_defs); i++) {
		EVP_MD_free(mds[i]);
		mds[i] = NULL;
	}
	EVP_MAC_free(hmac);
	EVP_MAC_free(cmac);
	hmac = cmac = NULL;
}

const EVP_MD *vsm_soft_md(int alg)
{
	for (size_t i = 0; i < SOFT_ARRAY_SIZE(md_defs); i++)
		if (md_defs[i].alg == alg)
			return mds[i];
	return NULL;
}

static const char *md_name(int alg)
{
	for (size_t i = 0; i < SOFT_ARRAY_SIZE(md_defs); i++)
		if (md_defs[i].alg == alg)
			return md_defs[i].name;
	return NULL;
}

static int hmac_md_alg(uint32_t alg)
{
	for (size_t i = 0; i < SOFT_ARRAY_SIZE(hmac_defs); i++)
		if ((uint32_t)hmac_defs[i].alg == alg)
			return hmac_defs[i].md_alg;
	return 0;
}

void vsm_soft_digest_algs(uint8_t *bitmap)
{
	for (size_t i = 0; i < SOFT_ARRAY_SIZE(md_defs); i++)
		if (mds[i])
			soft_set_alg(bitmap, md_defs[i].alg);
	for (size_t i = 0; i < SOFT_ARRAY_SIZE(hmac_defs); i++)
		if (hmac && vsm_soft_md(hmac_defs[i].md_alg))
			soft_set_alg(bitmap, hmac_defs[i].alg);
	if (cmac)
		soft_set_alg(bitmap, VSM_ALG_CMAC_AES);
}

/* --- HASH --- */

struct hash_sess {
	struct soft_sess base;
	EVP_MD_CTX *ctx;
	size_t len;
	int busy; /* a MORE chain is open */
};

static void hash_free(struct soft_sess *base)
{
	struct hash_sess *s = (struct hash_sess *)base;

	EVP_MD_CTX_free(s->ctx);
	free(s);
}

static int hash_op(struct soft_sess *base, const struct vsm_wire_op *op, uint8_t *out,
		   size_t out_cap, size_t *out_len, int *detail)
{
	struct hash_sess *s = (struct hash_sess *)base;
	int more = op->flags & VSM_OPF_MORE;
	unsigned int n = 0;

	if (op->op != VSM_OP_DIGEST)
		return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_OP);
	/* Only src is a hash field; the others must be empty (protocol section 7). */
	if (op->iv_len || op->aad_len || op->aux_len)
		return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_LENGTH);
	/* Refuse before absorbing, so the client can retry with a larger buffer. */
	if (!more && out_cap < s->len) {
		*out_len = s->len;
		return soft_fail(detail, VSM_S_NOSPC, VSM_D_OUTPUT_SPACE);
	}
	if (!s->busy) {
		/* NULL type: restart with the session's digest, keeping the provider context. */
		if (!EVP_DigestInit_ex2(s->ctx, NULL, NULL))
			goto fail;
		s->busy = 1;
	}
	if (op->src_len && !EVP_DigestUpdate(s->ctx, op->src, op->src_len))
		goto fail;
	if (more)
		return VSM_S_OK;
	s->busy = 0;
	if (!EVP_DigestFinal_ex(s->ctx, out, &n))
		goto fail;
	*out_len = n;
	return VSM_S_OK;
fail:
	s->busy = 0;
	return vsm_soft_engine_err(detail);
}

int vsm_soft_hash_new(const struct vsm_wire_session *p, struct soft_sess **out, int *detail)
{
	const EVP_MD *md = vsm_soft_md((int)p->alg);
	struct hash_sess *s;

	if (!md)
		return VSM_S_NOTSUPP;
	s = calloc(1, sizeof(*s));
	if (!s)
		return soft_fail(detail, VSM_S_ERR, VSM_D_ENGINE);
	s->base.op = hash_op;
	s->base.free = hash_free;
	s->len = (size_t)EVP_MD_get_size(md);
	s->ctx = EVP_MD_CTX_new();
	if (!s->ctx || !EVP_DigestInit_ex2(s->ctx, md, NULL)) {
		hash_free(&s->base);
		return vsm_soft_engine_err(detail);
	}
	*out = &s->base;
	return VSM_S_OK;
}

/* --- MAC --- */

struct mac_sess {
	struct soft_sess base;
	EVP_MAC_CTX *ctx;
	size_t mac_len; /* full output of the primitive */
	size_t tag_len; /* what the client gets / must present: mac_len or truncated */
	int busy;
};

static void mac_free(struct soft_sess *base)
{
	struct mac_sess *s = (struct mac_sess *)base;

	/* Frees (and cleanses) the keyed HMAC/CMAC state. */
	EVP_MAC_CTX_free(s->ctx);
	free(s);
}

static int mac_op(struct soft_sess *base, const struct vsm_wire_op *op, uint8_t *out,
		  size_t out_cap, size_t *out_len, int *detail)
{
	struct mac_sess *s = (struct mac_sess *)base;
	int more = op->flags & VSM_OPF_MORE;
	uint8_t mac[EVP_MAX_MD_SIZE];
	size_t n = 0;
	int rc;

	if (op->op != VSM_OP_DIGEST && op->op != VSM_OP_VERIFY)
		return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_OP);
	/* src, and for VERIFY aux; the others must be empty (protocol section 7). */
	if (op->iv_len || op->aad_len || (op->op == VSM_OP_DIGEST && op->aux_len))
		return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_LENGTH);
	if (!more && op->op == VSM_OP_DIGEST && out_cap < s->tag_len) {
		*out_len = s->tag_len;
		return soft_fail(detail, VSM_S_NOSPC, VSM_D_OUTPUT_SPACE);
	}
	if (!s->busy) {
		/* NULL key: restart with the key installed at session creation. */
		if (!EVP_MAC_init(s->ctx, NULL, 0, NULL))
			goto fail;
		s->busy = 1;
	}
	if (op->src_len && !EVP_MAC_update(s->ctx, op->src, op->src_len))
		goto fail;
	if (more)
		return VSM_S_OK;
	s->busy = 0;
	if (!EVP_MAC_final(s->ctx, mac, &n, sizeof(mac)) || n != s->mac_len)
		goto fail;
	if (op->op == VSM_OP_DIGEST) {
		memcpy(out, mac, s->tag_len);
		*out_len = s->tag_len;
		rc = VSM_S_OK;
	} else if (op->aux_len != s->tag_len || CRYPTO_memcmp(mac, op->aux, s->tag_len) != 0) {
		rc = soft_fail(detail, VSM_S_BADMSG, VSM_D_AUTH_FAILED);
	} else {
		rc = VSM_S_OK;
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
fail:
	s->busy = 0;
	OPENSSL_cleanse(mac, sizeof(mac));
	return vsm_soft_engine_err(detail);
}

int vsm_soft_mac_new(const struct vsm_wire_session *p, struct soft_sess **out, int *detail)
{
	static const uint8_t empty_key[1];
	OSSL_PARAM params[2];
	struct mac_sess *s;
	EVP_MAC *mac;
	const char *sub;

	if (p->alg == VSM_ALG_CMAC_AES) {
		mac = cmac;
		switch (p->key_len) {
		case 16:
			sub = "AES-128-CBC";
			break;
		case 24:
			sub = "AES-192-CBC";
			break;
		case 32:
			sub = "AES-256-CBC";
			break;
		default:
			return mac ? soft_fail(detail, VSM_S_KEY_REJECTED, VSM_D_BAD_KEY)
				   : VSM_S_NOTSUPP;
		}
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)sub, 0);
	} else {
		int md_alg = hmac_md_alg(p->alg);

		mac = hmac;
		sub = md_name(md_alg);
		if (!sub || !vsm_soft_md(md_alg))
			return VSM_S_NOTSUPP;
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)sub, 0);
	}
	if (!mac)
		return VSM_S_NOTSUPP;
	params[1] = OSSL_PARAM_construct_end();

	s = calloc(1, sizeof(*s));
	if (!s)
		return soft_fail(detail, VSM_S_ERR, VSM_D_ENGINE);
	s->base.op = mac_op;
	s->base.free = mac_free;
	s->ctx = EVP_MAC_CTX_new(mac);
	/* An empty HMAC key is legal; EVP_MAC_init wants a non-NULL pointer for it. */
	if (!s->ctx || !EVP_MAC_init(s->ctx, p->key_len ? p->key : empty_key, p->key_len, params)) {
		mac_free(&s->base);
		return vsm_soft_engine_err(detail);
	}
	s->mac_len = EVP_MAC_CTX_get_mac_size(s->ctx);
	if (s->mac_len == 0 || s->mac_len > EVP_MAX_MD_SIZE) {
		mac_free(&s->base);
		return vsm_soft_engine_err(detail);
	}
	/* tag_len truncates the MAC (RFC 2104 section 5); 0 means the full length. */
	s->tag_len = p->tag_len ? p->tag_len : s->mac_len;
	if (s->tag_len < 4 || s->tag_len > s->mac_len) {
		mac_free(&s->base);
		return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_LENGTH);
	}
	*out = &s->base;
	return VSM_S_OK;
}
