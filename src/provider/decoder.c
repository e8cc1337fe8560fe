/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Decoder for key reference files, so that any program that reads a private
 * key from a PEM file (nginx ssl_certificate_key, openssl -key) can use a
 * keystore key unchanged:
 *
 *   -----BEGIN VSM KEY REFERENCE-----
 *   base64 of DER: VsmKeyReference ::= UTF8String (a vsm: URI)
 *   -----END VSM KEY REFERENCE-----
 *
 * (the bare URI text as the body is accepted too). Any other PEM or DER is
 * left to the other decoders. Three decoders, for the three ways OpenSSL
 * reaches a key file: PEM straight to a key (PEM_read_bio_PrivateKey, nginx),
 * and PEM to DER plus DER to a key (the OSSL_STORE file: loader of the
 * openssl tools).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "provider.h"

#define PEM_NAME "VSM KEY REFERENCE"

static void *dec_newctx(void *provctx)
{
	return provctx;
}

static void dec_freectx(void *ctx)
{
}

static int dec_does_selection(void *provctx, int selection)
{
	return selection == 0 || (selection & OSSL_KEYMGMT_SELECT_KEYPAIR);
}

/* Resolves a URI and hands the key over; 1 without a callback when it is not one. */
static int from_uri(struct vsm_prov *p, const char *uri, OSSL_CALLBACK *data_cb, void *data_cbarg,
		    OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
	struct vsm_keyref ref;
	struct vsm_key *k;
	int ok;

	if (vsm_keyref_parse(uri, &ref))
		return 0;
	if (!ref.have_pw && !p->pin && !getenv("VSM_KEY_PASSWORD") && pw_cb) {
		OSSL_PARAM info[] = {OSSL_PARAM_END};

		if (pw_cb(ref.pw, sizeof(ref.pw), &ref.pw_len, info, pw_cbarg))
			ref.have_pw = 1;
	}
	k = vsm_keyref_load(p, &ref);
	OPENSSL_cleanse(&ref, sizeof(ref));
	if (!k)
		return 0;
	ok = vsm_keyref_object(k, data_cb, data_cbarg);
	vsm_key_free(k);
	return ok;
}

/* DER UTF8String (the file body's encoding) around the URI, or NULL. */
static char *der_uri(const unsigned char *d, size_t n)
{
	size_t len, hdr = 2;
	char *uri;

	if (n < 2 || d[0] != 0x0c)
		return NULL;
	len = d[1];
	if (len == 0x81 && n >= 3) {
		len = d[2];
		hdr = 3;
	} else if (len == 0x82 && n >= 4) {
		len = (size_t)d[2] << 8 | d[3];
		hdr = 4;
	} else if (len & 0x80) {
		return NULL;
	}
	if (len != n - hdr || len > 4096 || memchr(d + hdr, 0, len))
		return NULL;
	uri = OPENSSL_strndup((const char *)d + hdr, len);
	return uri;
}

/* The body of a reference file: DER UTF8String, or (tolerated) the bare URI text. */
static char *body_uri(const unsigned char *d, size_t n)
{
	char *uri = der_uri(d, n);

	if (!uri && n >= 4 && n <= 4096 && !memcmp(d, "vsm:", 4) && !memchr(d, 0, n))
		uri = OPENSSL_strndup((const char *)d, n);
	return uri;
}

/* A reference file's URI, NUL-terminated. Not one: NULL. */
static char *pem_uri(BIO *in)
{
	char *name = NULL, *header = NULL, *uri = NULL;
	unsigned char *data = NULL;
	long len = 0;

	if (PEM_read_bio(in, &name, &header, &data, &len) && !strcmp(name, PEM_NAME) && len > 0)
		uri = body_uri(data, (size_t)len);
	if (data)
		OPENSSL_clear_free(data, (size_t)len);
	OPENSSL_free(name);
	OPENSSL_free(header);
	return uri;
}

static int dec_decode(void *ctx, OSSL_CORE_BIO *cin, int selection, OSSL_CALLBACK *data_cb,
		      void *data_cbarg, OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
	struct vsm_prov *p = ctx;
	BIO *in = BIO_new_from_core_bio(p->libctx, cin);
	char *uri;
	int ok = 1; /* not ours is not an error: the next decoder tries */

	if (!in)
		return 0;
	uri = pem_uri(in);
	if (uri) {
		ok = from_uri(p, uri, data_cb, data_cbarg, pw_cb, pw_cbarg);
		OPENSSL_clear_free(uri, strlen(uri));
	}
	BIO_free(in);
	return ok;
}

/*
 * The openssl tools read key files through the OSSL_STORE file: loader. It
 * passes a PEM type it does not know on whole, as an object, and decodes
 * that again as "DER": so this decoder takes the reference file itself, or
 * the bare URI. Anything else is some other DER and is left alone.
 */
static int dec_der_decode(void *ctx, OSSL_CORE_BIO *cin, int selection, OSSL_CALLBACK *data_cb,
			  void *data_cbarg, OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
	static const char begin[] = "-----BEGIN " PEM_NAME "-----";
	struct vsm_prov *p = ctx;
	BIO *in = BIO_new_from_core_bio(p->libctx, cin), *mem = NULL;
	char buf[8193], *uri = NULL;
	int n, ok = 1;

	if (!in)
		return 0;
	/* The core's BIO hands out what it has: read to the end. */
	for (n = 0; n < (int)sizeof(buf) - 1;) {
		int r = BIO_read(in, buf + n, (int)sizeof(buf) - 1 - n);

		if (r <= 0)
			break;
		n += r;
	}
	if (n > 4 && n < (int)sizeof(buf) - 1) {
		buf[n] = 0;
		uri = body_uri((unsigned char *)buf, (size_t)n);
		if (!uri && strstr(buf, begin) && (mem = BIO_new_mem_buf(buf, n)))
			uri = pem_uri(mem);
	}
	if (uri) {
		ok = from_uri(p, uri, data_cb, data_cbarg, pw_cb, pw_cbarg);
		OPENSSL_clear_free(uri, strlen(uri));
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	BIO_free(mem);
	BIO_free(in);
	return ok;
}

/*
 * PEM to DER for reference files, like OpenSSL's own PEM-to-DER step, which
 * passes on only the PEM types it knows. The OSSL_STORE file: loader (the
 * openssl tools) then hands the DER to the decoder above.
 */
static int dec_pem2der_decode(void *ctx, OSSL_CORE_BIO *cin, int selection, OSSL_CALLBACK *data_cb,
			      void *data_cbarg, OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
	struct vsm_prov *p = ctx;
	BIO *in = BIO_new_from_core_bio(p->libctx, cin);
	unsigned char der[4 + 4096];
	size_t len, n = 0;
	char *uri;
	int ok = 1;

	if (!in)
		return 0;
	uri = pem_uri(in);
	BIO_free(in);
	if (!uri)
		return 1;
	len = strlen(uri);
	der[n++] = 0x0c;
	if (len >= 0x80)
		der[n++] = len > 0xff ? 0x82 : 0x81;
	if (len > 0xff)
		der[n++] = (unsigned char)(len >> 8);
	der[n++] = (unsigned char)len;
	memcpy(der + n, uri, len);
	n += len;
	{
		int type = OSSL_OBJECT_PKEY;
		OSSL_PARAM params[] = {
			OSSL_PARAM_int(OSSL_OBJECT_PARAM_TYPE, &type),
			OSSL_PARAM_octet_string(OSSL_OBJECT_PARAM_DATA, der, n),
			OSSL_PARAM_END,
		};

		ok = data_cb(params, data_cbarg);
	}
	OPENSSL_cleanse(der, sizeof(der));
	OPENSSL_clear_free(uri, len);
	return ok;
}

/* To a key manager of another provider only the public half can go. */
static int dec_export_object(void *ctx, const void *ref, size_t ref_size, OSSL_CALLBACK *cb,
			     void *cbarg)
{
	struct vsm_key *k;
	OSSL_PARAM *params = NULL;
	int ok;

	if (!ref || ref_size != sizeof(k))
		return 0;
	memcpy(&k, ref, sizeof(k));
	if (!k->pub || !EVP_PKEY_todata(k->pub, EVP_PKEY_PUBLIC_KEY, &params))
		return 0;
	ok = cb(params, cbarg);
	OSSL_PARAM_free(params);
	return ok;
}

const OSSL_DISPATCH vsm_pem2der_decoder[] = {
	{OSSL_FUNC_DECODER_NEWCTX, (void (*)(void))dec_newctx},
	{OSSL_FUNC_DECODER_FREECTX, (void (*)(void))dec_freectx},
	{OSSL_FUNC_DECODER_DECODE, (void (*)(void))dec_pem2der_decode},
	{0, NULL},
};

const OSSL_DISPATCH vsm_der_decoder[] = {
	{OSSL_FUNC_DECODER_NEWCTX, (void (*)(void))dec_newctx},
	{OSSL_FUNC_DECODER_FREECTX, (void (*)(void))dec_freectx},
	{OSSL_FUNC_DECODER_DOES_SELECTION, (void (*)(void))dec_does_selection},
	{OSSL_FUNC_DECODER_DECODE, (void (*)(void))dec_der_decode},
	{OSSL_FUNC_DECODER_EXPORT_OBJECT, (void (*)(void))dec_export_object},
	{0, NULL},
};

const OSSL_DISPATCH vsm_pem_decoder[] = {
	{OSSL_FUNC_DECODER_NEWCTX, (void (*)(void))dec_newctx},
	{OSSL_FUNC_DECODER_FREECTX, (void (*)(void))dec_freectx},
	{OSSL_FUNC_DECODER_DOES_SELECTION, (void (*)(void))dec_does_selection},
	{OSSL_FUNC_DECODER_DECODE, (void (*)(void))dec_decode},
	{OSSL_FUNC_DECODER_EXPORT_OBJECT, (void (*)(void))dec_export_object},
	{0, NULL},
};
