/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vsm-bench cases and their inputs. Keys are generated in-process at start;
 * vsmd receives the same key as DER in the session, so both sides run the
 * same operation on the same key and message.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "bench_common.h"

#define SYM(n, d, k, a, kl, ivl, blk, o)                                                           \
	{                                                                                          \
		.name = n, .desc = d, .kind = k, .alg = a, .key_len = kl, .iv_len = ivl,           \
		.block = blk, .ossl = o                                                            \
	}
#define PK(n, d, k, a, h, pk, o)                                                                   \
	{                                                                                          \
		.name = n, .desc = d, .kind = k, .alg = a, .hash = h, .pkey = pk, .ossl = o        \
	}

const struct bench_case bench_cases[] = {
	{.name = "null", .desc = "NOP echo of size bytes (transport alone); native: memcpy"},
	SYM("aes-128-gcm", "AES-128-GCM encrypt, 12-byte IV, 16-byte tag", BK_AEAD, VSM_ALG_AES_GCM,
	    16, 12, 1, "AES-128-GCM"),
	SYM("aes-256-gcm", "AES-256-GCM encrypt, 12-byte IV, 16-byte tag", BK_AEAD, VSM_ALG_AES_GCM,
	    32, 12, 1, "AES-256-GCM"),
	SYM("aes-128-cbc", "AES-128-CBC encrypt, no padding", BK_CIPHER, VSM_ALG_AES_CBC, 16, 16,
	    16, "AES-128-CBC"),
	SYM("aes-128-ctr", "AES-128-CTR encrypt", BK_CIPHER, VSM_ALG_AES_CTR, 16, 16, 1,
	    "AES-128-CTR"),
	SYM("sm4-cbc", "SM4-CBC encrypt, no padding", BK_CIPHER, VSM_ALG_SM4_CBC, 16, 16, 16,
	    "SM4-CBC"),
	SYM("sm4-ctr", "SM4-CTR encrypt", BK_CIPHER, VSM_ALG_SM4_CTR, 16, 16, 1, "SM4-CTR"),
	{.name = "sm4-gcm",
	 .desc = "SM4-GCM encrypt, 12-byte IV, 16-byte tag; native: libgcrypt",
	 .kind = BK_AEAD,
	 .alg = VSM_ALG_SM4_GCM,
	 .key_len = 16,
	 .iv_len = 12,
	 .block = 1,
	 .gcrypt = 1},
	SYM("chacha20-poly1305", "ChaCha20-Poly1305 encrypt, 12-byte nonce", BK_AEAD,
	    VSM_ALG_CHACHA20_POLY1305, 32, 12, 1, "ChaCha20-Poly1305"),
	SYM("sha256", "SHA-256 digest", BK_HASH, VSM_ALG_SHA256, 0, 0, 1, "SHA256"),
	SYM("sha512", "SHA-512 digest", BK_HASH, VSM_ALG_SHA512, 0, 0, 1, "SHA512"),
	SYM("sm3", "SM3 digest", BK_HASH, VSM_ALG_SM3, 0, 0, 1, "SM3"),
	SYM("hmac-sha256", "HMAC-SHA256, 32-byte key", BK_MAC, VSM_ALG_HMAC_SHA256, 32, 0, 1,
	    "SHA256"),
	SYM("hmac-sm3", "HMAC-SM3, 32-byte key", BK_MAC, VSM_ALG_HMAC_SM3, 32, 0, 1, "SM3"),
	PK("rsa2048-sign", "RSA-2048 PKCS#1 v1.5 sign, SHA-256 of the message", BK_SIGN,
	   VSM_ALG_RSA, VSM_ALG_SHA256, BP_RSA2048, "SHA256"),
	PK("rsa2048-verify", "RSA-2048 PKCS#1 v1.5 verify, SHA-256 of the message", BK_VERIFY,
	   VSM_ALG_RSA, VSM_ALG_SHA256, BP_RSA2048, "SHA256"),
	PK("ecdsa-p256-sign", "ECDSA P-256 sign, SHA-256 of the message", BK_SIGN, VSM_ALG_ECDSA,
	   VSM_ALG_SHA256, BP_P256, "SHA256"),
	PK("ecdsa-p384-sign", "ECDSA P-384 sign, SHA-384 of the message", BK_SIGN, VSM_ALG_ECDSA,
	   VSM_ALG_SHA384, BP_P384, "SHA384"),
	PK("sm2-sign", "SM2 sign, SM3(Z || M) with the default user id", BK_SIGN, VSM_ALG_SM2,
	   VSM_ALG_SM3, BP_SM2, "SM3"),
	PK("sm2-verify", "SM2 verify, SM3(Z || M) with the default user id", BK_VERIFY, VSM_ALG_SM2,
	   VSM_ALG_SM3, BP_SM2, "SM3"),
	PK("ed25519-sign", "Ed25519 sign (PureEdDSA over the message)", BK_SIGN, VSM_ALG_ED25519, 0,
	   BP_ED25519, NULL),
};

const size_t bench_ncases = sizeof(bench_cases) / sizeof(bench_cases[0]);

const struct bench_case *bench_case_find(const char *name)
{
	for (size_t i = 0; i < bench_ncases; i++)
		if (!strcmp(bench_cases[i].name, name))
			return &bench_cases[i];
	return NULL;
}

static EVP_PKEY *keygen(enum bench_pkey t)
{
	switch (t) {
	case BP_RSA2048:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	case BP_P256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	case BP_P384:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	case BP_SM2:
		return EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	case BP_ED25519:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	case BP_NONE:
		break;
	}
	return NULL;
}

static int export_private(struct bench_prep *p)
{
	OSSL_ENCODER_CTX *ectx;
	unsigned char *der = NULL;
	size_t len = 0;
	int ok;

	ectx = OSSL_ENCODER_CTX_new_for_pkey(p->pkey, EVP_PKEY_KEYPAIR, "DER", "PrivateKeyInfo",
					     NULL);
	if (!ectx)
		return -1;
	ok = OSSL_ENCODER_CTX_get_num_encoders(ectx) > 0 && OSSL_ENCODER_to_data(ectx, &der, &len);
	OSSL_ENCODER_CTX_free(ectx);
	if (!ok)
		return -1;
	p->der = der;
	p->der_len = len;
	return 0;
}

static int export_public(struct bench_prep *p)
{
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(p->pkey, &der);

	if (len <= 0)
		return -1;
	p->der = der;
	p->der_len = (size_t)len;
	return 0;
}

/* SM2's default distinguishing id (GM/T 0009), which vsmd also defaults to. */
static const char sm2_id[] = "1234567812345678";

int bench_pkey_init(const struct bench_prep *p, EVP_MD_CTX *ctx, int sign)
{
	EVP_PKEY_CTX *pctx = NULL;
	int ok;

	if (sign)
		ok = EVP_DigestSignInit_ex(ctx, &pctx, p->bc->ossl, NULL, NULL, p->pkey, NULL);
	else
		ok = EVP_DigestVerifyInit_ex(ctx, &pctx, p->bc->ossl, NULL, NULL, p->pkey, NULL);
	/* OpenSSL 3.0 rejects the id as an init parameter; it must be set after. */
	if (ok == 1 && p->bc->pkey == BP_SM2)
		ok = EVP_PKEY_CTX_set1_id(pctx, sm2_id, strlen(sm2_id));
	return ok == 1 ? 0 : -1;
}

static int sign_once(struct bench_prep *p)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t len = sizeof(p->sig);
	int ok;

	if (!ctx)
		return -1;
	ok = !bench_pkey_init(p, ctx, 1) && EVP_DigestSign(ctx, p->sig, &len, p->msg, p->size) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -1;
	p->sig_len = len;
	return 0;
}

int bench_prep_init(struct bench_prep *p, const struct bench_case *bc, size_t size)
{
	memset(p, 0, sizeof(*p));
	p->bc = bc;
	p->size = size;
	p->msg = OPENSSL_malloc(size);
	if (!p->msg || RAND_bytes(p->msg, (int)size) != 1 || RAND_bytes(p->key, 32) != 1 ||
	    RAND_bytes(p->iv, 16) != 1)
		goto fail;
	switch (bc->kind) {
	case BK_NULL:
		p->out_cap = size;
		break;
	case BK_CIPHER:
	case BK_AEAD:
		if (bc->ossl && !(p->cipher = EVP_CIPHER_fetch(NULL, bc->ossl, NULL)))
			goto fail;
		p->out_cap = size + (bc->kind == BK_AEAD ? BENCH_TAG_LEN : 0);
		break;
	case BK_HASH:
		if (!(p->md = EVP_MD_fetch(NULL, bc->ossl, NULL)))
			goto fail;
		p->out_cap = EVP_MAX_MD_SIZE;
		break;
	case BK_MAC:
		if (!(p->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)))
			goto fail;
		p->out_cap = EVP_MAX_MD_SIZE;
		break;
	case BK_SIGN:
	case BK_VERIFY:
		if (!(p->pkey = keygen(bc->pkey)))
			goto fail;
		if (bc->kind == BK_VERIFY ? sign_once(p) || export_public(p) : export_private(p))
			goto fail;
		p->out_cap = bc->kind == BK_SIGN ? BENCH_SIG_MAX : 0;
		break;
	}
	return 0;
fail:
	bench_prep_free(p);
	return -1;
}

void bench_prep_free(struct bench_prep *p)
{
	OPENSSL_free(p->msg);
	if (p->der)
		OPENSSL_clear_free(p->der, p->der_len);
	EVP_PKEY_free(p->pkey);
	EVP_CIPHER_free((EVP_CIPHER *)p->cipher);
	EVP_MD_free((EVP_MD *)p->md);
	EVP_MAC_free(p->mac);
	OPENSSL_cleanse(p->key, sizeof(p->key));
	memset(p, 0, sizeof(*p));
}

void bench_session_params(const struct bench_prep *p, struct vsm_session_params *sp)
{
	const struct bench_case *bc = p->bc;

	memset(sp, 0, sizeof(*sp));
	sp->alg = bc->alg;
	switch (bc->kind) {
	case BK_NULL:
		break;
	case BK_CIPHER:
		sp->service = VSM_SVC_CIPHER;
		break;
	case BK_AEAD:
		sp->service = VSM_SVC_AEAD;
		sp->tag_len = BENCH_TAG_LEN;
		break;
	case BK_HASH:
		sp->service = VSM_SVC_HASH;
		break;
	case BK_MAC:
		sp->service = VSM_SVC_MAC;
		break;
	case BK_SIGN:
	case BK_VERIFY:
		sp->service = VSM_SVC_AKCIPHER;
		sp->hash = bc->hash;
		sp->padding = bc->pkey == BP_RSA2048 ? VSM_PAD_PKCS1 : VSM_PAD_NONE;
		sp->key = p->der;
		sp->key_len = p->der_len;
		return;
	}
	if (bc->key_len) {
		sp->key = p->key;
		sp->key_len = bc->key_len;
	}
}

void bench_vsm_op(const struct bench_prep *p, uint64_t session, struct vsm_op *op)
{
	memset(op, 0, sizeof(*op));
	op->session = session;
	op->src = p->msg;
	op->src_len = p->size;
	switch (p->bc->kind) {
	case BK_NULL:
		break;
	case BK_CIPHER:
	case BK_AEAD:
		op->op = VSM_OP_ENCRYPT;
		op->iv = p->iv;
		op->iv_len = p->bc->iv_len;
		break;
	case BK_HASH:
	case BK_MAC:
		op->op = VSM_OP_DIGEST;
		break;
	case BK_SIGN:
		op->op = VSM_OP_SIGN;
		break;
	case BK_VERIFY:
		op->op = VSM_OP_VERIFY;
		op->aux = p->sig;
		op->aux_len = p->sig_len;
		break;
	}
}

int bench_verify_sig(const struct bench_prep *p, const uint8_t *sig, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (!ctx)
		return -1;
	ok = !bench_pkey_init(p, ctx, 0) && EVP_DigestVerify(ctx, sig, len, p->msg, p->size) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}
