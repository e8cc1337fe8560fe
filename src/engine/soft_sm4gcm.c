/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SM4-GCM (RFC 8998) through libgcrypt: OpenSSL 3.0 has SM4 but not its GCM
 * mode. Same conventions as soft_aead.c: encrypt returns ciphertext || tag,
 * decrypt wipes its output unless the tag verifies.
 */
#include <stdlib.h>
#include <string.h>

#include <gcrypt.h>
#include <openssl/crypto.h>

#include "engine/soft.h"

#define SM4GCM_TAG 16

static int gcrypt_ready;

struct sm4gcm_sess {
	struct soft_sess base;
	gcry_cipher_hd_t h;
	size_t tag_len;
};

int vsm_soft_sm4gcm_init(void)
{
	/* Another library in the process may have initialised gcrypt already. */
	if (!gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
		if (!gcry_check_version(GCRYPT_VERSION))
			return -1;
		/* Keys live in ordinary memory wiped on free, as on the OpenSSL side. */
		gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
		gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	}
	gcrypt_ready = gcry_cipher_algo_info(GCRY_CIPHER_SM4, GCRYCTL_TEST_ALGO, NULL, NULL) == 0;
	return gcrypt_ready ? 0 : -1;
}

void vsm_soft_sm4gcm_algs(uint8_t *bitmap)
{
	if (gcrypt_ready)
		soft_set_alg(bitmap, VSM_ALG_SM4_GCM);
}

static void sm4gcm_free(struct soft_sess *base)
{
	struct sm4gcm_sess *s = (struct sm4gcm_sess *)base;

	/* gcry_cipher_close wipes the key schedule. */
	gcry_cipher_close(s->h);
	free(s);
}

static int sm4gcm_op(struct soft_sess *base, const struct vsm_wire_op *op, uint8_t *out,
		     size_t out_cap, size_t *out_len, int *detail)
{
	struct sm4gcm_sess *s = (struct sm4gcm_sess *)base;
	int enc = op->op == VSM_OP_ENCRYPT;
	uint8_t tag[SM4GCM_TAG];
	size_t len, need;
	gcry_error_t err;

	if (op->flags & VSM_OPF_MORE || (op->op != VSM_OP_ENCRYPT && op->op != VSM_OP_DECRYPT))
		return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_OP);
	if (op->iv_len < 1 || op->iv_len > 128 || op->aux_len || (!enc && op->src_len < s->tag_len))
		return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_LENGTH);
	len = enc ? op->src_len : op->src_len - s->tag_len;
	need = enc ? len + s->tag_len : len;
	*out_len = need;
	if (out_cap < need)
		return soft_fail(detail, VSM_S_NOSPC, VSM_D_OUTPUT_SPACE);
	*out_len = 0;
	if (!enc)
		memcpy(tag, op->src + len, s->tag_len);

	if (gcry_cipher_reset(s->h) || gcry_cipher_setiv(s->h, op->iv, op->iv_len))
		goto fail;
	if (op->aad_len && gcry_cipher_authenticate(s->h, op->aad, op->aad_len))
		goto fail;
	if (len) {
		/* gcrypt spells in-place as a NULL input. */
		const void *in = op->src == out ? NULL : op->src;
		size_t in_len = in ? len : 0;

		err = enc ? gcry_cipher_encrypt(s->h, out, len, in, in_len)
			  : gcry_cipher_decrypt(s->h, out, len, in, in_len);
		if (err)
			goto fail;
	}
	if (enc) {
		if (gcry_cipher_gettag(s->h, tag, sizeof(tag)))
			goto fail;
		memcpy(out + len, tag, s->tag_len);
	} else if (gcry_cipher_checktag(s->h, tag, s->tag_len)) {
		OPENSSL_cleanse(out, len);
		return soft_fail(detail, VSM_S_BADMSG, VSM_D_AUTH_FAILED);
	}
	*out_len = need;
	return VSM_S_OK;
fail:
	OPENSSL_cleanse(out, need);
	return soft_fail(detail, VSM_S_ERR, VSM_D_ENGINE);
}

int vsm_soft_sm4gcm_new(const struct vsm_wire_session *p, struct soft_sess **out, int *detail)
{
	struct sm4gcm_sess *s;
	size_t t = p->tag_len ? p->tag_len : SM4GCM_TAG;

	if (!gcrypt_ready)
		return VSM_S_NOTSUPP;
	if (p->key_len != 16)
		return soft_fail(detail, VSM_S_KEY_REJECTED, VSM_D_BAD_KEY);
	/* The tag lengths SP 800-38D allows, which are also the ones gcrypt checks. */
	if (!(t == 4 || t == 8 || (t >= 12 && t <= 16)))
		return soft_fail(detail, VSM_S_BADMSG, VSM_D_BAD_LENGTH);
	s = calloc(1, sizeof(*s));
	if (!s)
		return soft_fail(detail, VSM_S_ERR, VSM_D_ENGINE);
	s->base.op = sm4gcm_op;
	s->base.free = sm4gcm_free;
	s->tag_len = t;
	if (gcry_cipher_open(&s->h, GCRY_CIPHER_SM4, GCRY_CIPHER_MODE_GCM, 0)) {
		free(s);
		return soft_fail(detail, VSM_S_ERR, VSM_D_ENGINE);
	}
	if (gcry_cipher_setkey(s->h, p->key, p->key_len)) {
		sm4gcm_free(&s->base);
		return soft_fail(detail, VSM_S_KEY_REJECTED, VSM_D_BAD_KEY);
	}
	*out = &s->base;
	return VSM_S_OK;
}
