/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The native side of vsm-bench: the same operation in-process, written the
 * way a careful application would write it, so the ratio is fair. Algorithms
 * are fetched once (struct bench_prep); each thread keeps its own contexts
 * and re-initialises them per operation instead of allocating new ones.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gcrypt.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "bench_common.h"

struct bench_native {
	const struct bench_prep *p;
	EVP_CIPHER_CTX *cctx;
	EVP_MD_CTX *mctx;
	EVP_MD_CTX *tmpl; /* sign/verify context initialised once, copied per op */
	EVP_MAC_CTX *mac;
	gcry_cipher_hd_t gh;
	int have_gh;
	uint8_t *out;
	size_t out_len;
};

int bench_native_global_init(void)
{
	if (!gcry_check_version(GCRYPT_VERSION))
		return -1;
	gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	return 0;
}

static int init_pkey(struct bench_native *n, char *err, size_t errlen)
{
	const struct bench_prep *p = n->p;
	int sign = p->bc->kind == BK_SIGN;

	n->tmpl = EVP_MD_CTX_new();
	n->mctx = EVP_MD_CTX_new();
	if (!n->tmpl || !n->mctx)
		return -1;
	if (bench_pkey_init(p, n->tmpl, sign)) {
		snprintf(err, errlen, "EVP_Digest%sInit_ex failed", sign ? "Sign" : "Verify");
		return -1;
	}
	/* Prove the copied-context path signs correctly before timing it. */
	if (sign && (bench_native_op(n) || bench_verify_sig(p, n->out, n->out_len))) {
		snprintf(err, errlen, "native signature does not verify");
		return -1;
	}
	return 0;
}

static int init_gcrypt(struct bench_native *n, char *err, size_t errlen)
{
	const struct bench_prep *p = n->p;
	gcry_error_t e;

	e = gcry_cipher_open(&n->gh, GCRY_CIPHER_SM4, GCRY_CIPHER_MODE_GCM, 0);
	if (e) {
		snprintf(err, errlen, "libgcrypt SM4-GCM: %s", gcry_strerror(e));
		return -1;
	}
	n->have_gh = 1;
	e = gcry_cipher_setkey(n->gh, p->key, p->bc->key_len);
	if (e) {
		snprintf(err, errlen, "libgcrypt setkey: %s", gcry_strerror(e));
		return -1;
	}
	return 0;
}

struct bench_native *bench_native_new(const struct bench_prep *p, char *err, size_t errlen)
{
	struct bench_native *n = calloc(1, sizeof(*n));
	OSSL_PARAM params[2] = {OSSL_PARAM_END, OSSL_PARAM_END};
	int rc = -1;

	snprintf(err, errlen, "out of memory");
	if (!n)
		return NULL;
	n->p = p;
	n->out = malloc(p->out_cap ? p->out_cap : 1);
	if (!n->out)
		goto out;
	switch (p->bc->kind) {
	case BK_NULL:
		rc = 0;
		break;
	case BK_CIPHER:
	case BK_AEAD:
		if (p->bc->gcrypt) {
			rc = init_gcrypt(n, err, errlen);
			break;
		}
		n->cctx = EVP_CIPHER_CTX_new();
		rc = n->cctx && EVP_EncryptInit_ex2(n->cctx, p->cipher, p->key, p->iv, NULL) == 1 &&
				     EVP_CIPHER_CTX_set_padding(n->cctx, 0) == 1
			     ? 0
			     : -1;
		if (rc)
			snprintf(err, errlen, "EVP_EncryptInit_ex2(%s) failed", p->bc->ossl);
		break;
	case BK_HASH:
		n->mctx = EVP_MD_CTX_new();
		rc = n->mctx ? 0 : -1;
		break;
	case BK_MAC:
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
							     (char *)p->bc->ossl, 0);
		n->mac = EVP_MAC_CTX_new(p->mac);
		rc = n->mac && EVP_MAC_init(n->mac, p->key, p->bc->key_len, params) == 1 ? 0 : -1;
		if (rc)
			snprintf(err, errlen, "HMAC-%s init failed", p->bc->ossl);
		break;
	case BK_SIGN:
	case BK_VERIFY:
		rc = init_pkey(n, err, errlen);
		break;
	}
out:
	if (rc) {
		bench_native_free(n);
		return NULL;
	}
	err[0] = '\0';
	return n;
}

static int op_cipher(struct bench_native *n)
{
	const struct bench_prep *p = n->p;
	int l1, l2;

	/* A NULL cipher and key keep the expanded key; only the IV is reset. */
	if (EVP_EncryptInit_ex2(n->cctx, NULL, NULL, p->iv, NULL) != 1 ||
	    EVP_EncryptUpdate(n->cctx, n->out, &l1, p->msg, (int)p->size) != 1 ||
	    EVP_EncryptFinal_ex(n->cctx, n->out + l1, &l2) != 1)
		return -1;
	n->out_len = (size_t)l1 + (size_t)l2;
	if (p->bc->kind == BK_AEAD) {
		if (EVP_CIPHER_CTX_ctrl(n->cctx, EVP_CTRL_AEAD_GET_TAG, BENCH_TAG_LEN,
					n->out + n->out_len) != 1)
			return -1;
		n->out_len += BENCH_TAG_LEN;
	}
	return 0;
}

static int op_gcrypt(struct bench_native *n)
{
	const struct bench_prep *p = n->p;

	if (gcry_cipher_reset(n->gh) || gcry_cipher_setiv(n->gh, p->iv, p->bc->iv_len) ||
	    gcry_cipher_final(n->gh) ||
	    gcry_cipher_encrypt(n->gh, n->out, p->size, p->msg, p->size) ||
	    gcry_cipher_gettag(n->gh, n->out + p->size, BENCH_TAG_LEN))
		return -1;
	n->out_len = p->size + BENCH_TAG_LEN;
	return 0;
}

static int op_sign(struct bench_native *n)
{
	const struct bench_prep *p = n->p;
	size_t len = p->out_cap;

	/* Copying an initialised context is what EVP offers for reuse. */
	if (EVP_MD_CTX_copy_ex(n->mctx, n->tmpl) != 1)
		return -1;
	if (p->bc->kind == BK_VERIFY) {
		n->out_len = 0;
		return EVP_DigestVerify(n->mctx, p->sig, p->sig_len, p->msg, p->size) == 1 ? 0 : -1;
	}
	if (EVP_DigestSign(n->mctx, n->out, &len, p->msg, p->size) != 1)
		return -1;
	n->out_len = len;
	return 0;
}

int bench_native_op(struct bench_native *n)
{
	const struct bench_prep *p = n->p;
	unsigned int mdlen;
	size_t maclen;

	switch (p->bc->kind) {
	case BK_NULL:
		memcpy(n->out, p->msg, p->size);
		n->out_len = p->size;
		return 0;
	case BK_CIPHER:
	case BK_AEAD:
		return p->bc->gcrypt ? op_gcrypt(n) : op_cipher(n);
	case BK_HASH:
		if (EVP_DigestInit_ex2(n->mctx, p->md, NULL) != 1 ||
		    EVP_DigestUpdate(n->mctx, p->msg, p->size) != 1 ||
		    EVP_DigestFinal_ex(n->mctx, n->out, &mdlen) != 1)
			return -1;
		n->out_len = mdlen;
		return 0;
	case BK_MAC:
		/* A NULL key re-initialises with the key already set. */
		if (EVP_MAC_init(n->mac, NULL, 0, NULL) != 1 ||
		    EVP_MAC_update(n->mac, p->msg, p->size) != 1 ||
		    EVP_MAC_final(n->mac, n->out, &maclen, p->out_cap) != 1)
			return -1;
		n->out_len = maclen;
		return 0;
	case BK_SIGN:
	case BK_VERIFY:
		return op_sign(n);
	}
	return -1;
}

const uint8_t *bench_native_out(const struct bench_native *n, size_t *len)
{
	*len = n->out_len;
	return n->out;
}

void bench_native_free(struct bench_native *n)
{
	if (!n)
		return;
	EVP_CIPHER_CTX_free(n->cctx);
	EVP_MD_CTX_free(n->mctx);
	EVP_MD_CTX_free(n->tmpl);
	EVP_MAC_CTX_free(n->mac);
	if (n->have_gh)
		gcry_cipher_close(n->gh);
	free(n->out);
	free(n);
}
