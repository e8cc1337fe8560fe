/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Asymmetric encryption: RSA (PKCS#1 v1.5, OAEP, raw) and SM2. Encryption is
 * public and runs locally; decryption runs in vsmd.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "provider.h"

#define SSL_PREMASTER 48

/* All-ones when equal / zero, else 0; no branches on secret values. */
static unsigned int constant_time_is_zero(unsigned int a)
{
	return 0u - ((~a & (a - 1)) >> (sizeof(a) * 8 - 1));
}

static unsigned int constant_time_eq(size_t a, size_t b)
{
	return constant_time_is_zero((unsigned int)(a ^ b) | (unsigned int)((a ^ b) >> 16 >> 16));
}

struct ciphctx {
	struct vsm_prov *prov;
	struct vsm_key *key;
	EVP_PKEY_CTX *local; /* encrypt context on the public half */
	int pad;
	int hash;     /* OAEP digest (OpenSSL's default: SHA-1) */
	int mgf_hash; /* 0: same as hash */
	uint8_t label[64];
	size_t label_len;
	unsigned int tls_client; /* RSA_PKCS1_WITH_TLS_PADDING: ClientHello version */
	unsigned int tls_alt;	 /* and the negotiated one (SSL_OP_TLS_ROLLBACK_BUG), or 0 */
};

static void *ac_newctx(void *provctx)
{
	struct ciphctx *c = calloc(1, sizeof(*c));

	if (c)
		c->prov = provctx;
	return c;
}

static void ac_freectx(void *ctx)
{
	struct ciphctx *c = ctx;

	if (!c)
		return;
	EVP_PKEY_CTX_free(c->local);
	vsm_key_free(c->key);
	free(c);
}

static void *ac_dupctx(void *ctx)
{
	struct ciphctx *c = ctx, *d = malloc(sizeof(*d));

	if (!d)
		return NULL;
	*d = *c;
	d->local = NULL;
	if (c->local && !(d->local = EVP_PKEY_CTX_dup(c->local))) {
		free(d);
		return NULL;
	}
	if (d->key)
		__atomic_add_fetch(&d->key->refs, 1, __ATOMIC_ACQ_REL);
	return d;
}

static int parse_params(struct ciphctx *c, const OSSL_PARAM params[])
{
	const OSSL_PARAM *p;
	const char *str;

	if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE))) {
		if (p->data_type == OSSL_PARAM_UTF8_STRING) {
			if (!OSSL_PARAM_get_utf8_string_ptr(p, &str))
				return 0;
			if (!strcmp(str, OSSL_PKEY_RSA_PAD_MODE_PKCSV15))
				c->pad = RSA_PKCS1_PADDING;
			else if (!strcmp(str, OSSL_PKEY_RSA_PAD_MODE_OAEP))
				c->pad = RSA_PKCS1_OAEP_PADDING;
			else if (!strcmp(str, OSSL_PKEY_RSA_PAD_MODE_NONE))
				c->pad = RSA_NO_PADDING;
			else
				return 0;
		} else if (!OSSL_PARAM_get_int(p, &c->pad)) {
			return 0;
		}
	}
	if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST))) {
		if (!OSSL_PARAM_get_utf8_string_ptr(p, &str))
			return 0;
		c->hash = vsm_prov_hash_alg(c->prov->libctx, str);
	}
	if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST))) {
		if (!OSSL_PARAM_get_utf8_string_ptr(p, &str))
			return 0;
		c->mgf_hash = vsm_prov_hash_alg(c->prov->libctx, str);
	}
	if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION)) &&
	    !OSSL_PARAM_get_uint(p, &c->tls_client))
		return 0;
	if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_TLS_NEGOTIATED_VERSION)) &&
	    !OSSL_PARAM_get_uint(p, &c->tls_alt))
		return 0;
	if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL))) {
		void *v = c->label;

		if (!OSSL_PARAM_get_octet_string(p, &v, sizeof(c->label), &c->label_len))
			return 0;
	}
	return 1;
}

static int ac_set_ctx_params(void *ctx, const OSSL_PARAM params[])
{
	struct ciphctx *c = ctx;

	if (!params)
		return 1;
	if (c->local && !EVP_PKEY_CTX_set_params(c->local, params))
		return 0;
	return parse_params(c, params);
}

static int ac_get_ctx_params(void *ctx, OSSL_PARAM params[])
{
	struct ciphctx *c = ctx;

	return c->local ? EVP_PKEY_CTX_get_params(c->local, params) : 1;
}

static const OSSL_PARAM *ac_settable(void *ctx, void *provctx)
{
	static const OSSL_PARAM t[] = {
		OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST, NULL, 0),
		OSSL_PARAM_octet_string(OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_DIGEST, NULL, 0),
		OSSL_PARAM_END,
	};
	return t;
}

static const OSSL_PARAM *ac_gettable(void *ctx, void *provctx)
{
	static const OSSL_PARAM t[] = {
		OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, NULL, 0),
		OSSL_PARAM_END,
	};
	return t;
}

static int init(struct ciphctx *c, void *key, const OSSL_PARAM params[])
{
	struct vsm_key *k = key;

	EVP_PKEY_CTX_free(c->local);
	vsm_key_free(c->key);
	c->local = NULL;
	c->key = NULL;
	if (!k || !k->pub || (k->kind != VSM_PK_RSA && k->kind != VSM_PK_SM2))
		return 0;
	__atomic_add_fetch(&k->refs, 1, __ATOMIC_ACQ_REL);
	c->key = k;
	c->pad = RSA_PKCS1_PADDING;
	c->hash = VSM_ALG_SHA1;
	c->mgf_hash = 0;
	c->label_len = 0;
	c->tls_client = c->tls_alt = 0;
	c->local = EVP_PKEY_CTX_new_from_pkey(c->prov->libctx, k->pub, NULL);
	if (!c->local || EVP_PKEY_encrypt_init(c->local) <= 0)
		return 0;
	return ac_set_ctx_params(c, params);
}

static int ac_init(void *ctx, void *key, const OSSL_PARAM params[])
{
	return init(ctx, key, params);
}

static int ac_encrypt(void *ctx, unsigned char *out, size_t *outlen, size_t outsize,
		      const unsigned char *in, size_t inlen)
{
	struct ciphctx *c = ctx;

	if (!c->local)
		return 0;
	if (out)
		*outlen = outsize;
	return EVP_PKEY_encrypt(c->local, out, outlen, in, inlen) == 1;
}

/*
 * TLS RSA key exchange (RFC 5246 7.4.7.1): a premaster secret of the wrong
 * length or version is replaced by random bytes without telling anyone, in
 * constant time. vsmd's implicit rejection already turned bad padding into a
 * synthetic message, which fails these checks like any other.
 */
static int tls_premaster(const struct ciphctx *c, unsigned char *buf, size_t cap, size_t *n)
{
	unsigned char rnd[SSL_PREMASTER];
	unsigned int good, alt, i;

	if (c->tls_client == 0 || cap < SSL_PREMASTER ||
	    RAND_bytes_ex(c->prov->libctx, rnd, sizeof(rnd), 0) != 1)
		return -EINVAL;
	good = constant_time_eq(*n, SSL_PREMASTER);
	alt = good & constant_time_eq(buf[0], (c->tls_alt >> 8) & 0xff) &
	      constant_time_eq(buf[1], c->tls_alt & 0xff) & ~constant_time_is_zero(c->tls_alt);
	good &= constant_time_eq(buf[0], (c->tls_client >> 8) & 0xff) &
		constant_time_eq(buf[1], c->tls_client & 0xff);
	good |= alt;
	for (i = 0; i < SSL_PREMASTER; i++)
		buf[i] = (unsigned char)((buf[i] & good) | (rnd[i] & ~good));
	OPENSSL_cleanse(rnd, sizeof(rnd));
	*n = SSL_PREMASTER;
	return 0;
}

static int ac_decrypt(void *ctx, unsigned char *out, size_t *outlen, size_t outsize,
		      const unsigned char *in, size_t inlen)
{
	struct ciphctx *c = ctx;
	struct vsm_sess_params sp = {0};
	size_t k, n;
	unsigned char *buf;
	int rc;

	if (!c->key)
		return 0;
	k = c->key->kind == VSM_PK_RSA ? (size_t)EVP_PKEY_get_size(c->key->pub) : inlen;
	if (!out) {
		*outlen = k;
		return 1;
	}
	if (c->key->kind == VSM_PK_RSA) {
		switch (c->pad) {
		case RSA_PKCS1_PADDING:
			sp.padding = VSM_PAD_PKCS1;
			break;
		case RSA_NO_PADDING:
			sp.padding = VSM_PAD_NONE;
			break;
		case RSA_PKCS1_OAEP_PADDING:
			sp.padding = VSM_PAD_OAEP;
			sp.hash = c->hash;
			sp.mgf_hash = c->mgf_hash ? c->mgf_hash : c->hash;
			memcpy(sp.aux, c->label, c->label_len);
			sp.aux_len = c->label_len;
			if (!sp.hash)
				return 0;
			break;
		case RSA_PKCS1_WITH_TLS_PADDING:
			sp.padding = VSM_PAD_PKCS1;
			break;
		default:
			return 0;
		}
	}
	/* vsmd's implicit rejection wants room for any valid message: decrypt aside. */
	buf = OPENSSL_malloc(k ? k : 1);
	if (!buf)
		return 0;
	n = k;
	rc = vsm_key_op(c->key, &sp, VSM_OP_DECRYPT, in, inlen, buf, &n);
	if (!rc && c->key->kind == VSM_PK_RSA && c->pad == RSA_PKCS1_WITH_TLS_PADDING)
		rc = tls_premaster(c, buf, k, &n);
	if (!rc && n > outsize)
		rc = -ENOSPC;
	if (!rc) {
		memcpy(out, buf, n);
		*outlen = n;
	} else {
		vsm_prov_raise(c->prov, rc, "decrypt");
	}
	OPENSSL_clear_free(buf, k ? k : 1);
	return rc == 0;
}

const OSSL_DISPATCH vsm_asym_cipher[] = {
	{OSSL_FUNC_ASYM_CIPHER_NEWCTX, (void (*)(void))ac_newctx},
	{OSSL_FUNC_ASYM_CIPHER_FREECTX, (void (*)(void))ac_freectx},
	{OSSL_FUNC_ASYM_CIPHER_DUPCTX, (void (*)(void))ac_dupctx},
	{OSSL_FUNC_ASYM_CIPHER_ENCRYPT_INIT, (void (*)(void))ac_init},
	{OSSL_FUNC_ASYM_CIPHER_ENCRYPT, (void (*)(void))ac_encrypt},
	{OSSL_FUNC_ASYM_CIPHER_DECRYPT_INIT, (void (*)(void))ac_init},
	{OSSL_FUNC_ASYM_CIPHER_DECRYPT, (void (*)(void))ac_decrypt},
	{OSSL_FUNC_ASYM_CIPHER_SET_CTX_PARAMS, (void (*)(void))ac_set_ctx_params},
	{OSSL_FUNC_ASYM_CIPHER_SETTABLE_CTX_PARAMS, (void (*)(void))ac_settable},
	{OSSL_FUNC_ASYM_CIPHER_GET_CTX_PARAMS, (void (*)(void))ac_get_ctx_params},
	{OSSL_FUNC_ASYM_CIPHER_GETTABLE_CTX_PARAMS, (void (*)(void))ac_gettable},
	{0, NULL},
};
