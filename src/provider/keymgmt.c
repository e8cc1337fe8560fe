/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key management for RSA, EC (P-256, P-384), SM2 and Ed25519: one generic
 * implementation, instantiated per key type.
 *
 * A key is its public half (an EVP_PKEY of the provider's private library
 * context, which answers every parameter query and runs public operations)
 * plus a way to reach the private half in vsmd: a keystore slot, or, for a
 * key the application imported, its DER, which becomes the key of vsmd
 * sessions. Only public components are ever exported.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/x509.h>

#include "provider.h"

struct vsm_key *vsm_key_new(struct vsm_prov *p, int kind)
{
	struct vsm_key *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->prov = p;
	k->kind = kind;
	k->refs = 1;
	pthread_mutex_init(&k->lock, NULL);
	return k;
}

void vsm_key_free(struct vsm_key *k)
{
	vsm_client *c;
	pid_t self;
	int i, rc;

	if (!k || __atomic_sub_fetch(&k->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	self = getpid();
	c = k->nsess ? vsm_conn_get(k->prov, &rc) : NULL;
	for (i = 0; c && i < k->nsess; i++)
		if (k->sess[i].pid == self)
			vsm_session_destroy(c, k->sess[i].handle);
	EVP_PKEY_free(k->pub);
	OPENSSL_clear_free(k->der, k->der_len);
	if (k->pw)
		OPENSSL_clear_free(k->pw, k->pw_len + 1);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

static int kind_of(EVP_PKEY *pk, int *kind)
{
	char group[64];

	if (EVP_PKEY_is_a(pk, "RSA")) {
		*kind = VSM_PK_RSA;
		return 0;
	}
	if (EVP_PKEY_is_a(pk, "ED25519")) {
		*kind = VSM_PK_ED25519;
		return 0;
	}
	if (!EVP_PKEY_is_a(pk, "EC") && !EVP_PKEY_is_a(pk, "SM2"))
		return -1;
	if (!EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					    NULL))
		return -1;
	if (!strcmp(group, "SM2")) {
		*kind = VSM_PK_SM2;
		return 0;
	}
	/*
	 * Any curve: once vsm is loaded, OpenSSL may pick its key manager for
	 * any EC key (an ECDH peer key, say). vsmd's ECDSA refuses curves other
	 * than P-256 and P-384 when a session is made.
	 */
	*kind = VSM_PK_EC;
	return 0;
}

/* Public half under the key manager of kind (SM2 SPKI may decode as "EC"). */
static EVP_PKEY *public_of(struct vsm_prov *p, const char *name, const OSSL_PARAM *params)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(p->libctx, name, NULL);
	EVP_PKEY *pk = NULL;

	if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, (OSSL_PARAM *)params) <= 0)
		pk = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

int vsm_key_set_spki(struct vsm_key *k, const uint8_t *der, size_t len)
{
	const unsigned char *q = der;
	OSSL_PARAM *params = NULL;
	EVP_PKEY *tmp;
	int kind;

	if (len > LONG_MAX)
		return -1;
	tmp = d2i_PUBKEY_ex(NULL, &q, (long)len, k->prov->libctx, NULL);
	if (!tmp || q != der + len || kind_of(tmp, &kind) ||
	    !EVP_PKEY_todata(tmp, EVP_PKEY_PUBLIC_KEY, &params)) {
		EVP_PKEY_free(tmp);
		return -1;
	}
	EVP_PKEY_free(tmp);
	EVP_PKEY_free(k->pub);
	k->pub = public_of(k->prov, vsm_prov_kind_name(kind), params);
	OSSL_PARAM_free(params);
	if (!k->pub)
		return -1;
	k->kind = kind;
	return 0;
}

static int sp_eq(const struct vsm_sess_params *a, const struct vsm_sess_params *b)
{
	return a->padding == b->padding && a->hash == b->hash && a->mgf_hash == b->mgf_hash &&
	       a->salt_len == b->salt_len && a->flags == b->flags && a->aux_len == b->aux_len &&
	       !memcmp(a->aux, b->aux, a->aux_len);
}

static int session_create(struct vsm_key *k, const struct vsm_sess_params *sp, uint64_t *h)
{
	struct vsm_session_params vp = {
		.service = VSM_SVC_AKCIPHER,
		.alg = vsm_prov_alg(k->kind),
		.padding = sp->padding,
		.hash = sp->hash,
		.mgf_hash = sp->mgf_hash,
		.salt_len = sp->salt_len,
		.flags = sp->flags,
		.aux = sp->aux_len ? sp->aux : NULL,
		.aux_len = sp->aux_len,
	};
	vsm_client *c;
	int rc;

	c = vsm_conn_get(k->prov, &rc);
	if (!c)
		return rc;
	if (k->usage)
		return vsm_session_create_internal(c, &vp, k->usage, k->index, k->pw, k->pw_len, h);
	if (!k->der)
		return -EACCES; /* a public key has no private operations */
	vp.key = k->der;
	vp.key_len = k->der_len;
	return vsm_session_create(c, &vp, h);
}

/* *cached = 0: the caller destroys the session after one use. */
static int key_session(struct vsm_key *k, const struct vsm_sess_params *sp, uint64_t *h,
		       int *cached)
{
	pid_t self = getpid();
	int i, rc, slot = -1;

	pthread_mutex_lock(&k->lock);
	for (i = 0; i < k->nsess; i++)
		if (k->sess[i].pid == self && sp_eq(&k->sess[i].p, sp)) {
			*h = k->sess[i].handle;
			*cached = 1;
			pthread_mutex_unlock(&k->lock);
			return 0;
		}
	pthread_mutex_unlock(&k->lock);

	rc = session_create(k, sp, h);
	if (rc)
		return rc;

	pthread_mutex_lock(&k->lock);
	/* A parent's session is not ours to destroy, but its slot is ours to reuse. */
	for (i = 0; i < k->nsess && slot < 0; i++)
		if (k->sess[i].pid != self)
			slot = i;
	if (slot < 0 && k->nsess < VSM_KEY_SESSIONS)
		slot = k->nsess++;
	*cached = slot >= 0;
	if (slot >= 0) {
		k->sess[slot].p = *sp;
		k->sess[slot].pid = self;
		k->sess[slot].handle = *h;
	}
	pthread_mutex_unlock(&k->lock);
	return 0;
}

static void forget_session(struct vsm_key *k, uint64_t h)
{
	int i;

	pthread_mutex_lock(&k->lock);
	for (i = 0; i < k->nsess; i++)
		if (k->sess[i].handle == h && k->sess[i].pid == getpid()) {
			k->sess[i] = k->sess[--k->nsess];
			break;
		}
	pthread_mutex_unlock(&k->lock);
}

int vsm_key_op(struct vsm_key *k, const struct vsm_sess_params *sp, int opcode, const void *src,
	       size_t src_len, void *out, size_t *out_len)
{
	size_t cap = out_len ? *out_len : 0;
	int attempt, rc = 0, cached;
	uint64_t h;

	if (sp->aux_len > sizeof(sp->aux))
		return -EINVAL;
	for (attempt = 0; attempt < 2; attempt++) {
		struct vsm_op op = {
			.op = opcode,
			.src = src,
			.src_len = src_len,
		};

		rc = key_session(k, sp, &h, &cached);
		if (rc)
			return rc;
		op.session = h;
		if (out_len)
			*out_len = cap;
		rc = vsm_conn_run(k->prov, &op, out, out_len);
		if (!cached) {
			vsm_client *c = vsm_conn_get(k->prov, &rc);

			if (c)
				vsm_session_destroy(c, h);
		}
		/* Sessions die with the tenant's last connection: make a new one, once. */
		if (rc == VSM_S_INVSESS && cached) {
			forget_session(k, h);
			continue;
		}
		break;
	}
	return rc;
}

/* ---- the OSSL_FUNC_keymgmt_* functions ---- */

static void km_free(void *kd)
{
	vsm_key_free(kd);
}

static int km_has(const void *kd, int selection)
{
	const struct vsm_key *k = kd;

	if (!k)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) && !k->der && !k->usage)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) && k->params_only)
		return 0;
	if ((selection & (OSSL_KEYMGMT_SELECT_PUBLIC_KEY | OSSL_KEYMGMT_SELECT_ALL_PARAMETERS)) &&
	    !k->pub)
		return 0;
	return 1;
}

static int km_match(const void *a, const void *b, int selection)
{
	const struct vsm_key *x = a, *y = b;

	if (!x->pub || !y->pub)
		return 0;
	if (selection & OSSL_KEYMGMT_SELECT_KEYPAIR)
		return EVP_PKEY_eq(x->pub, y->pub) == 1;
	return EVP_PKEY_parameters_eq(x->pub, y->pub) == 1;
}

static const char *private_param(int kind)
{
	return kind == VSM_PK_RSA ? OSSL_PKEY_PARAM_RSA_D : OSSL_PKEY_PARAM_PRIV_KEY;
}

static int km_import(void *kd, int selection, const OSSL_PARAM params[])
{
	struct vsm_key *k = kd;
	const char *name = vsm_prov_kind_name(k->kind);
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *full = NULL;
	unsigned char *der = NULL;
	int kind, len, ok = 0;

	if (!k || k->pub || !(selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY))
		return 0;
	k->pub = public_of(k->prov, name, params);
	if (!k->pub || kind_of(k->pub, &kind))
		goto out;
	if (kind != k->kind) {
		/* An "EC" key on the SM2 curve: rebuild it as SM2. */
		EVP_PKEY_free(k->pub);
		k->kind = kind;
		name = vsm_prov_kind_name(kind);
		k->pub = public_of(k->prov, name, params);
		if (!k->pub)
			goto out;
	}
	if (!(selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) ||
	    !OSSL_PARAM_locate_const(params, private_param(k->kind))) {
		ok = 1;
		goto out;
	}
	ctx = EVP_PKEY_CTX_new_from_name(k->prov->libctx, name, NULL);
	if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &full, EVP_PKEY_KEYPAIR, (OSSL_PARAM *)params) <= 0)
		goto out;
	len = i2d_PrivateKey(full, &der);
	if (len <= 0)
		goto out;
	k->der = der;
	k->der_len = (size_t)len;
	ok = 1;
out:
	EVP_PKEY_free(full);
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		EVP_PKEY_free(k->pub);
		k->pub = NULL;
	}
	return ok;
}

static int km_export(void *kd, int selection, OSSL_CALLBACK *cb, void *cbarg)
{
	struct vsm_key *k = kd;
	const unsigned char *q;
	OSSL_PARAM *params = NULL;
	EVP_PKEY *src;
	int ok;

	if (!k || !k->pub)
		return 0;
	/*
	 * A keystore key's private half never leaves vsmd. Asked for it, fail
	 * rather than export the public half: OpenSSL would take that for the
	 * whole key and run the private operation elsewhere, without a key.
	 * The key material of an application's own key (or one generated here,
	 * such as an ephemeral ECDH key) was the application's to begin with.
	 */
	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) && k->usage)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) && k->der) {
		q = k->der;
		src = d2i_PrivateKey_ex(EVP_PKEY_get_base_id(k->pub), NULL, &q, (long)k->der_len,
					k->prov->libctx, NULL);
		if (!src)
			return 0;
	} else {
		selection &= EVP_PKEY_PUBLIC_KEY;
		src = k->pub;
		EVP_PKEY_up_ref(src);
	}
	ok = selection && EVP_PKEY_todata(src, selection, &params) && cb(params, cbarg);
	OSSL_PARAM_free(params);
	EVP_PKEY_free(src);
	return ok;
}

static int km_get_params(void *kd, OSSL_PARAM params[])
{
	struct vsm_key *k = kd;

	return k && k->pub && EVP_PKEY_get_params(k->pub, params);
}

static const OSSL_PARAM *gettable(struct vsm_prov *p, int kind)
{
	EVP_KEYMGMT *km = EVP_KEYMGMT_fetch(p->libctx, vsm_prov_kind_name(kind), NULL);
	const OSSL_PARAM *t = km ? EVP_KEYMGMT_gettable_params(km) : NULL;

	/* The default provider's tables are static: they outlive the method. */
	EVP_KEYMGMT_free(km);
	return t;
}

static void *km_load(const void *ref, size_t ref_size)
{
	struct vsm_key *k;

	if (!ref || ref_size != sizeof(k))
		return NULL;
	memcpy(&k, ref, sizeof(k));
	__atomic_add_fetch(&k->refs, 1, __ATOMIC_ACQ_REL);
	return k;
}

static void *km_dup(const void *kd, int selection)
{
	struct vsm_key *k = (struct vsm_key *)kd;

	/* Keys never change once made, so a copy can be the same object. */
	__atomic_add_fetch(&k->refs, 1, __ATOMIC_ACQ_REL);
	return k;
}

/*
 * Generation makes an ordinary software key (in the default provider) and
 * imports it: the key is then offloaded like any key the application has.
 * This is what openssl speed and genpkey need; keystore keys are generated
 * in vsmd (vsmctl / vsm_key_generate) instead.
 */
struct genctx {
	struct vsm_prov *prov;
	int kind;
	int selection;
	EVP_PKEY_CTX *ctx;
};

static void *gen_init(struct vsm_prov *p, int kind, int selection, const OSSL_PARAM params[])
{
	struct genctx *g;

	if (!(selection & (OSSL_KEYMGMT_SELECT_KEYPAIR | OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS)))
		return NULL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->prov = p;
	g->kind = kind;
	g->selection = selection;
	g->ctx = EVP_PKEY_CTX_new_from_name(p->libctx, vsm_prov_kind_name(kind), NULL);
	if (!g->ctx ||
	    ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) ? EVP_PKEY_keygen_init(g->ctx)
						       : EVP_PKEY_paramgen_init(g->ctx)) <= 0 ||
	    (params && !EVP_PKEY_CTX_set_params(g->ctx, params))) {
		EVP_PKEY_CTX_free(g->ctx);
		free(g);
		return NULL;
	}
	return g;
}

static int gen_set_params(void *gctx, const OSSL_PARAM params[])
{
	struct genctx *g = gctx;

	return EVP_PKEY_CTX_set_params(g->ctx, params);
}

static const OSSL_PARAM *gen_settable(void *gctx, void *provctx)
{
	struct genctx *g = gctx;

	return g ? EVP_PKEY_CTX_settable_params(g->ctx) : NULL;
}

static int import_cb(const OSSL_PARAM params[], void *arg)
{
	return km_import(arg, OSSL_KEYMGMT_SELECT_ALL, params);
}

static void *gen(void *gctx, OSSL_CALLBACK *cb, void *cbarg)
{
	struct genctx *g = gctx;
	struct vsm_key *k;
	EVP_PKEY *pk = NULL;
	int ok;

	if (EVP_PKEY_generate(g->ctx, &pk) <= 0)
		return NULL;
	k = vsm_key_new(g->prov, g->kind);
	if (k && !(g->selection & OSSL_KEYMGMT_SELECT_KEYPAIR)) {
		/* Domain parameters only (EC paramgen): a template for keygen. */
		k->pub = pk;
		k->params_only = 1;
		return k;
	}
	ok = k && EVP_PKEY_export(pk, EVP_PKEY_KEYPAIR, import_cb, k);
	EVP_PKEY_free(pk);
	if (!ok) {
		vsm_key_free(k);
		return NULL;
	}
	return k;
}

static int gen_set_template(void *gctx, void *templ)
{
	struct genctx *g = gctx;
	struct vsm_key *t = templ;
	OSSL_PARAM *params = NULL;
	int ok;

	if (!t || !t->pub || !EVP_PKEY_todata(t->pub, EVP_PKEY_KEY_PARAMETERS, &params))
		return 0;
	ok = EVP_PKEY_CTX_set_params(g->ctx, params);
	OSSL_PARAM_free(params);
	return ok;
}

static void gen_cleanup(void *gctx)
{
	struct genctx *g = gctx;

	if (!g)
		return;
	EVP_PKEY_CTX_free(g->ctx);
	free(g);
}

static const char *ec_operation_name(int id)
{
	return id == OSSL_OP_SIGNATURE ? "ECDSA" : NULL;
}

static const OSSL_PARAM rsa_params[] = {
	OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
	OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
	OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_D, NULL, 0),
	OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_FACTOR1, NULL, 0),
	OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_FACTOR2, NULL, 0),
	OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_EXPONENT1, NULL, 0),
	OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_EXPONENT2, NULL, 0),
	OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_COEFFICIENT1, NULL, 0),
	OSSL_PARAM_END,
};

static const OSSL_PARAM ec_params[] = {
	OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
	OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, NULL, 0),
	OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, NULL, 0),
	OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
	OSSL_PARAM_BN(OSSL_PKEY_PARAM_PRIV_KEY, NULL, 0),
	OSSL_PARAM_END,
};

static const OSSL_PARAM ed_params[] = {
	OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
	OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, NULL, 0),
	OSSL_PARAM_END,
};

/* Informational only: OpenSSL imports and exports through EVP_PKEY_todata/fromdata lists. */
static const OSSL_PARAM *types(const OSSL_PARAM *t, int selection)
{
	static const OSSL_PARAM none[] = {OSSL_PARAM_END};

	return selection & EVP_PKEY_KEYPAIR ? t : none;
}

#define KEYMGMT(pfx, KIND, TYPES, ...)                                                             \
	static void *pfx##_new(void *provctx)                                                      \
	{                                                                                          \
		return vsm_key_new(provctx, KIND);                                                 \
	}                                                                                          \
	static const OSSL_PARAM *pfx##_gettable(void *provctx)                                     \
	{                                                                                          \
		return gettable(provctx, KIND);                                                    \
	}                                                                                          \
	static void *pfx##_gen_init(void *provctx, int selection, const OSSL_PARAM params[])       \
	{                                                                                          \
		return gen_init(provctx, KIND, selection, params);                                 \
	}                                                                                          \
	static const OSSL_PARAM *pfx##_types(int selection)                                        \
	{                                                                                          \
		return types(TYPES, selection);                                                    \
	}                                                                                          \
	const OSSL_DISPATCH vsm_##pfx##_keymgmt[] = {                                              \
		{OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))pfx##_new},                                \
		{OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))km_free},                                 \
		{OSSL_FUNC_KEYMGMT_LOAD, (void (*)(void))km_load},                                 \
		{OSSL_FUNC_KEYMGMT_DUP, (void (*)(void))km_dup},                                   \
		{OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))km_has},                                   \
		{OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))km_match},                               \
		{OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))km_import},                             \
		{OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))pfx##_types},                     \
		{OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void))km_export},                             \
		{OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))pfx##_types},                     \
		{OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))km_get_params},                     \
		{OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))pfx##_gettable},               \
		{OSSL_FUNC_KEYMGMT_GEN_INIT, (void (*)(void))pfx##_gen_init},                      \
		{OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, (void (*)(void))gen_set_params},                \
		{OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, (void (*)(void))gen_settable},             \
		{OSSL_FUNC_KEYMGMT_GEN, (void (*)(void))gen},                                      \
		{OSSL_FUNC_KEYMGMT_GEN_SET_TEMPLATE, (void (*)(void))gen_set_template},            \
		{OSSL_FUNC_KEYMGMT_GEN_CLEANUP, (void (*)(void))gen_cleanup},                      \
		__VA_ARGS__{0, NULL},                                                              \
	}

KEYMGMT(rsa, VSM_PK_RSA, rsa_params, );
KEYMGMT(ec, VSM_PK_EC, ec_params,
	{OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))ec_operation_name}, );
KEYMGMT(sm2, VSM_PK_SM2, ec_params, );
KEYMGMT(ed25519, VSM_PK_ED25519, ed_params, );
