/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OSSL_STORE for vsm: URIs: `openssl pkeyutl -inkey vsm:label=web`,
 * OSSL_STORE_open("vsm:index=3;usage=sign"). One URI yields one key.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/crypto.h>
#include <openssl/store.h>

#include "provider.h"

struct storectx {
	struct vsm_prov *prov;
	struct vsm_keyref ref;
	int done;
};

static void *st_open(void *provctx, const char *uri)
{
	struct storectx *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->prov = provctx;
	if (vsm_keyref_parse(uri, &s->ref)) {
		OPENSSL_cleanse(s, sizeof(*s));
		free(s);
		return NULL;
	}
	return s;
}

static int st_set_ctx_params(void *ctx, const OSSL_PARAM params[])
{
	return 1;
}

static const OSSL_PARAM *st_settable(void *provctx)
{
	static const OSSL_PARAM t[] = {OSSL_PARAM_END};

	return t;
}

static int st_load(void *ctx, OSSL_CALLBACK *object_cb, void *object_cbarg,
		   OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
	struct storectx *s = ctx;
	struct vsm_key *k;
	int ok;

	s->done = 1;
	/* No password in the URI, the config or the environment: ask the application. */
	if (!s->ref.have_pw && !s->prov->pin && !getenv("VSM_KEY_PASSWORD") && pw_cb) {
		OSSL_PARAM info[] = {OSSL_PARAM_END};

		if (pw_cb(s->ref.pw, sizeof(s->ref.pw), &s->ref.pw_len, info, pw_cbarg))
			s->ref.have_pw = 1;
	}
	k = vsm_keyref_load(s->prov, &s->ref);
	if (!k)
		return 0;
	ok = vsm_keyref_object(k, object_cb, object_cbarg);
	vsm_key_free(k);
	return ok;
}

static int st_eof(void *ctx)
{
	struct storectx *s = ctx;

	return s->done;
}

static int st_close(void *ctx)
{
	struct storectx *s = ctx;

	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
	return 1;
}

const OSSL_DISPATCH vsm_store[] = {
	{OSSL_FUNC_STORE_OPEN, (void (*)(void))st_open},
	{OSSL_FUNC_STORE_SETTABLE_CTX_PARAMS, (void (*)(void))st_settable},
	{OSSL_FUNC_STORE_SET_CTX_PARAMS, (void (*)(void))st_set_ctx_params},
	{OSSL_FUNC_STORE_LOAD, (void (*)(void))st_load},
	{OSSL_FUNC_STORE_EOF, (void (*)(void))st_eof},
	{OSSL_FUNC_STORE_CLOSE, (void (*)(void))st_close},
	{0, NULL},
};
