/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The provider's entry point: configuration, the algorithm tables, and the
 * small mappings between OpenSSL and vsm names that every operation needs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/provider.h>

#include "provider.h"

static const OSSL_ALGORITHM keymgmt_algs[] = {
	{"RSA:rsaEncryption:1.2.840.113549.1.1.1", VSM_PROV_PROPS, vsm_rsa_keymgmt,
	 "vsm RSA (private key in vsmd)"},
	{"EC:id-ecPublicKey:1.2.840.10045.2.1", VSM_PROV_PROPS, vsm_ec_keymgmt,
	 "vsm EC P-256/P-384 (private key in vsmd)"},
	{"SM2:1.2.156.10197.1.301", VSM_PROV_PROPS, vsm_sm2_keymgmt,
	 "vsm SM2 (private key in vsmd)"},
	{"ED25519:1.3.101.112", VSM_PROV_PROPS, vsm_ed25519_keymgmt,
	 "vsm Ed25519 (private key in vsmd)"},
	{NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM signature_algs[] = {
	{"RSA:rsaEncryption:1.2.840.113549.1.1.1", VSM_PROV_PROPS, vsm_signature, NULL},
	{"ECDSA", VSM_PROV_PROPS, vsm_signature, NULL},
	{"SM2:1.2.156.10197.1.301", VSM_PROV_PROPS, vsm_signature, NULL},
	{"ED25519:1.3.101.112", VSM_PROV_PROPS, vsm_ed25519_signature, NULL},
	{NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM asym_cipher_algs[] = {
	{"RSA:rsaEncryption:1.2.840.113549.1.1.1", VSM_PROV_PROPS, vsm_asym_cipher, NULL},
	{"SM2:1.2.156.10197.1.301", VSM_PROV_PROPS, vsm_asym_cipher, NULL},
	{NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM store_algs[] = {
	{"vsm", VSM_PROV_PROPS, vsm_store, "vsm: URIs of keystore keys"},
	{NULL, NULL, NULL, NULL},
};

/*
 * One decoder per key type: OpenSSL picks decoders by the type they yield,
 * and which type a reference file holds is known only once it is resolved.
 */
static const OSSL_ALGORITHM decoder_algs[] = {
	{"RSA:rsaEncryption:1.2.840.113549.1.1.1", VSM_PROV_PROPS ",input=pem", vsm_pem_decoder,
	 NULL},
	{"EC:id-ecPublicKey:1.2.840.10045.2.1", VSM_PROV_PROPS ",input=pem", vsm_pem_decoder, NULL},
	{"SM2:1.2.156.10197.1.301", VSM_PROV_PROPS ",input=pem", vsm_pem_decoder, NULL},
	{"ED25519:1.3.101.112", VSM_PROV_PROPS ",input=pem", vsm_pem_decoder, NULL},
	{"RSA:rsaEncryption:1.2.840.113549.1.1.1", VSM_PROV_PROPS ",input=der", vsm_der_decoder,
	 NULL},
	{"EC:id-ecPublicKey:1.2.840.10045.2.1", VSM_PROV_PROPS ",input=der", vsm_der_decoder, NULL},
	{"SM2:1.2.156.10197.1.301", VSM_PROV_PROPS ",input=der", vsm_der_decoder, NULL},
	{"ED25519:1.3.101.112", VSM_PROV_PROPS ",input=der", vsm_der_decoder, NULL},
	{"DER", VSM_PROV_PROPS ",input=pem", vsm_pem2der_decoder, NULL},
	{NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM *query(void *provctx, int id, int *no_cache)
{
	*no_cache = 0;
	switch (id) {
	case OSSL_OP_KEYMGMT:
		return keymgmt_algs;
	case OSSL_OP_SIGNATURE:
		return signature_algs;
	case OSSL_OP_ASYM_CIPHER:
		return asym_cipher_algs;
	case OSSL_OP_STORE:
		return store_algs;
	case OSSL_OP_DECODER:
		return decoder_algs;
	}
	return NULL;
}

static const OSSL_PARAM *gettable_params(void *provctx)
{
	static const OSSL_PARAM p[] = {
		OSSL_PARAM_DEFN(OSSL_PROV_PARAM_NAME, OSSL_PARAM_UTF8_PTR, NULL, 0),
		OSSL_PARAM_DEFN(OSSL_PROV_PARAM_VERSION, OSSL_PARAM_UTF8_PTR, NULL, 0),
		OSSL_PARAM_DEFN(OSSL_PROV_PARAM_STATUS, OSSL_PARAM_INTEGER, NULL, 0),
		OSSL_PARAM_END,
	};
	return p;
}

static int get_params(void *provctx, OSSL_PARAM params[])
{
	OSSL_PARAM *p;

	p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME);
	if (p && !OSSL_PARAM_set_utf8_ptr(p, "vsm: virtual cryptographic card"))
		return 0;
	p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION);
	if (p && !OSSL_PARAM_set_utf8_ptr(p, VSM_VERSION))
		return 0;
	p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS);
	if (p && !OSSL_PARAM_set_int(p, 1))
		return 0;
	return 1;
}

/*
 * libssl uses a TLS group only if the provider that declares it also serves
 * the fetch of the group's key type. Once vsm is loaded, a fetch of "EC" may
 * well find vsm's key manager, so vsm declares the NIST groups too, or
 * ECDHE on them (and every TLS 1.2 ECDSA certificate on their curves) would
 * vanish. Ephemeral keys stay ordinary keys: they are exported for ECDH.
 */
#define TLS_GROUP(name, internal, id, bits)                                                        \
	{                                                                                          \
		OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_NAME, name, sizeof(name)),        \
			OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_NAME_INTERNAL, internal,  \
					       sizeof(internal)),                                  \
			OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_ALG, "EC", sizeof("EC")), \
			OSSL_PARAM_uint(OSSL_CAPABILITY_TLS_GROUP_ID, &group_ids[id]),             \
			OSSL_PARAM_uint(OSSL_CAPABILITY_TLS_GROUP_SECURITY_BITS,                   \
					&group_bits[bits]),                                        \
			OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MIN_TLS, &tls_versions[0]),       \
			OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MAX_TLS, &tls_versions[1]),       \
			OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MIN_DTLS, &tls_versions[2]),      \
			OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MAX_DTLS, &tls_versions[3]),      \
			OSSL_PARAM_END                                                             \
	}

static unsigned int group_ids[] = {23, 24, 25};
static unsigned int group_bits[] = {128, 192, 256};
/* TLS 1.0 .. any, DTLS 1.0 .. any (the default provider's ranges). */
static int tls_versions[] = {0x0301, 0, 0xFEFF, 0};

static const OSSL_PARAM tls_groups[][10] = {
	TLS_GROUP("secp256r1", "prime256v1", 0, 0), TLS_GROUP("P-256", "prime256v1", 0, 0),
	TLS_GROUP("secp384r1", "secp384r1", 1, 1),  TLS_GROUP("P-384", "secp384r1", 1, 1),
	TLS_GROUP("secp521r1", "secp521r1", 2, 2),  TLS_GROUP("P-521", "secp521r1", 2, 2),
};

static int get_capabilities(void *provctx, const char *capability, OSSL_CALLBACK *cb, void *arg)
{
	size_t i;

	if (strcasecmp(capability, "TLS-GROUP"))
		return 0;
	for (i = 0; i < sizeof(tls_groups) / sizeof(tls_groups[0]); i++)
		if (!cb(tls_groups[i], arg))
			return 0;
	return 1;
}

static void prov_free(struct vsm_prov *p)
{
	if (!p)
		return;
	vsm_conn_free_all(p);
	pthread_key_delete(p->tls);
	pthread_mutex_destroy(&p->lock);
	OSSL_PROVIDER_unload(p->deflt);
	OSSL_LIB_CTX_free(p->libctx);
	free(p->uri);
	if (p->pin) {
		OPENSSL_cleanse(p->pin, strlen(p->pin));
		free(p->pin);
	}
	free(p);
}

static void teardown(void *provctx)
{
	prov_free(provctx);
}

static const OSSL_DISPATCH prov_dispatch[] = {
	{OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))teardown},
	{OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, (void (*)(void))gettable_params},
	{OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))get_params},
	{OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))query},
	{OSSL_FUNC_PROVIDER_GET_CAPABILITIES, (void (*)(void))get_capabilities},
	{0, NULL},
};

/* The provider's section in openssl.cnf: vsm_uri and vsm_key_password. */
static int read_config(struct vsm_prov *p, const OSSL_DISPATCH *in)
{
	OSSL_FUNC_core_get_params_fn *get = NULL;
	char *uri = NULL, *pin = NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_ptr("vsm_uri", &uri, 0),
		OSSL_PARAM_utf8_ptr("vsm_key_password", &pin, 0),
		OSSL_PARAM_END,
	};

	for (; in->function_id; in++)
		if (in->function_id == OSSL_FUNC_CORE_GET_PARAMS)
			get = OSSL_FUNC_core_get_params(in);
	if (!get || !get(p->handle, params))
		return 0;
	if (uri && *uri && !(p->uri = strdup(uri)))
		return -1;
	if (pin && *pin && !(p->pin = strdup(pin)))
		return -1;
	return 0;
}

int OSSL_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
		       const OSSL_DISPATCH **out, void **provctx)
{
	struct vsm_prov *p = calloc(1, sizeof(*p));

	if (!p)
		return 0;
	p->handle = handle;
	pthread_mutex_init(&p->lock, NULL);
	/* A destructor would run after the provider may be gone; teardown closes instead. */
	if (pthread_key_create(&p->tls, NULL)) {
		pthread_mutex_destroy(&p->lock);
		free(p);
		return 0;
	}
	/* From the core's dispatch so that BIOs the core hands us work here. */
	p->libctx = OSSL_LIB_CTX_new_from_dispatch(handle, in);
	if (!p->libctx || read_config(p, in) < 0)
		goto fail;
	p->deflt = OSSL_PROVIDER_load(p->libctx, "default");
	if (!p->deflt)
		goto fail;
	*out = prov_dispatch;
	*provctx = p;
	return 1;
fail:
	prov_free(p);
	return 0;
}

const char *vsm_prov_kind_name(int kind)
{
	switch (kind) {
	case VSM_PK_RSA:
		return "RSA";
	case VSM_PK_EC:
		return "EC";
	case VSM_PK_SM2:
		return "SM2";
	case VSM_PK_ED25519:
		return "ED25519";
	}
	return NULL;
}

int vsm_prov_alg(int kind)
{
	switch (kind) {
	case VSM_PK_RSA:
		return VSM_ALG_RSA;
	case VSM_PK_EC:
		return VSM_ALG_ECDSA;
	case VSM_PK_SM2:
		return VSM_ALG_SM2;
	case VSM_PK_ED25519:
		return VSM_ALG_ED25519;
	}
	return VSM_ALG_NONE;
}

static const struct {
	const char *name;
	int alg;
	size_t len;
} hashes[] = {
	{"SHA1", VSM_ALG_SHA1, 20},	{"SHA224", VSM_ALG_SHA224, 28},
	{"SHA256", VSM_ALG_SHA256, 32}, {"SHA384", VSM_ALG_SHA384, 48},
	{"SHA512", VSM_ALG_SHA512, 64}, {"SHA3-256", VSM_ALG_SHA3_256, 32},
	{"SM3", VSM_ALG_SM3, 32},
};

int vsm_prov_hash_alg(OSSL_LIB_CTX *lc, const char *mdname)
{
	EVP_MD *md;
	size_t i;
	int alg = 0;

	if (!mdname)
		return 0;
	/* Aliases ("SHA2-256", "sha256", OIDs) resolve through a fetch. */
	md = EVP_MD_fetch(lc, mdname, NULL);
	for (i = 0; md && i < sizeof(hashes) / sizeof(hashes[0]); i++)
		if (EVP_MD_is_a(md, hashes[i].name))
			alg = hashes[i].alg;
	EVP_MD_free(md);
	return alg;
}

/* A digest handed to sign() without a digest name: its length picks the hash. */
int vsm_prov_hash_by_len(size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
		if (hashes[i].len == len)
			return hashes[i].alg;
	return 0;
}

void vsm_prov_raise(struct vsm_prov *p, int rc, const char *what)
{
	ERR_raise_data(ERR_LIB_PROV, ERR_R_OPERATION_FAIL, "vsm: %s: %s", what, vsm_strerror(rc));
}
