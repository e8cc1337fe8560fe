/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Keystore commands on the control socket: the administrator provisions a
 * tenant's internal keys (docs/keystore.md). Private keys come in (import)
 * but never go out; only public keys are exported.
 */
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/control_keys.h"
#include "daemon/log.h"
#include "keystore/keystore.h"

/* An imported key as text: PEM or base64 of up to 16 KiB of DER. */
#define KEY_TEXT_MAX 32768u
#define PW_MAX	     1024u

struct err {
	const char **cls;
	char *desc;
	size_t len;
};

static __attribute__((format(printf, 3, 4))) json_t *fail(struct err *e, const char *cls,
							  const char *fmt, ...)
{
	va_list ap;
	*e->cls = cls;
	va_start(ap, fmt);
	vsnprintf(e->desc, e->len, fmt, ap);
	va_end(ap);
	return NULL;
}

static const char *const usage_names[VSM_KU__MAX] = {
	[VSM_KU_SIGN] = "sign", [VSM_KU_ENC] = "enc", [VSM_KU_KEK] = "kek"};

static const char *const type_names[VSM_KT__MAX] = {[VSM_KT_SM2] = "sm2",
						    [VSM_KT_RSA] = "rsa",
						    [VSM_KT_ECDSA_P256] = "ecdsa-p256",
						    [VSM_KT_ECDSA_P384] = "ecdsa-p384",
						    [VSM_KT_ED25519] = "ed25519",
						    [VSM_KT_SM4] = "sm4",
						    [VSM_KT_AES] = "aes"};

static const char *name_of(const char *const *names, size_t n, uint32_t v)
{
	return v < n && names[v] ? names[v] : "?";
}

/* Same rule as tenant names in the configuration. */
static bool valid_tenant(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > VSM_TENANT_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.'))
			return false;
	}
	return true;
}

/* The keystore's status as a control error. */
static json_t *ks_fail(struct err *e, int st, int detail, const char *tenant, uint32_t usage,
		       uint32_t index)
{
	const char *u = name_of(usage_names, VSM_KU__MAX, usage);
	switch (detail) {
	case VSM_D_NO_KEY:
		return fail(e, "KeyNotFound", "tenant %s has no %s key %u", tenant, u, index);
	case VSM_D_EXISTS:
		return fail(e, "KeyExists", "tenant %s already has a %s key %u", tenant, u, index);
	case VSM_D_ACCESS_DENIED:
		return fail(e, "AccessDenied", "wrong password for %s key %u of tenant %s", u,
			    index, tenant);
	case VSM_D_RANGE:
		if (st == VSM_S_NOSPC)
			return fail(e, "InvalidParameter", "tenant %s has max_keys keys already",
				    tenant);
		return fail(e, "InvalidParameter", "'index' must be from 1 to max_keys (%u)",
			    vsm_keystore_conf()->max_keys);
	case VSM_D_KEY_TYPE:
		return fail(e, "InvalidParameter", "the key is not of the type given");
	case VSM_D_BAD_KEY:
		return fail(e, "InvalidParameter", "the key cannot be parsed or is not a valid %s",
			    "key of that type and size");
	case VSM_D_BAD_LENGTH:
		return fail(e, "InvalidParameter", "'bits' is not a size this type has");
	case VSM_D_KEYSTORE:
		if (st == VSM_S_NOTSUPP)
			return fail(e, "KeystoreDisabled", "the keystore is disabled");
		return fail(e, "GenericError", "keystore failure (see vsmd's log)");
	default:
		return fail(e, "GenericError", "keystore: %s/%s", vsm_status_name(st),
			    vsm_detail_name(detail));
	}
}

/* ---- arguments ---- */

struct kargs {
	const char *tenant;
	uint32_t usage, index, type, bits;
	const char *password, *old_password, *label, *key;
};

static int arg_str(json_t *args, const char *k, bool need, size_t max, const char **out,
		   struct err *e)
{
	json_t *v = json_object_get(args, k);
	*out = NULL;
	if (!v) {
		if (need)
			fail(e, "InvalidParameter", "argument '%s' is required", k);
		return need ? -1 : 0;
	}
	if (!json_is_string(v)) {
		fail(e, "InvalidParameter", "'%s' must be a string", k);
		return -1;
	}
	if (json_string_length(v) > max || strlen(json_string_value(v)) != json_string_length(v)) {
		fail(e, "InvalidParameter", "'%s' must be at most %zu bytes, without NUL", k, max);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

static int arg_name(json_t *args, const char *k, const char *const *names, size_t n, uint32_t *out,
		    struct err *e)
{
	const char *s;
	if (arg_str(args, k, true, 32, &s, e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (names[i] && !strcmp(names[i], s)) {
			*out = (uint32_t)i;
			return 0;
		}
	fail(e, "InvalidParameter", "unknown %s '%s'", k, s);
	return -1;
}

static int arg_u32(json_t *args, const char *k, bool need, uint32_t *out, struct err *e)
{
	json_t *v = json_object_get(args, k);
	*out = 0;
	if (!v) {
		if (need)
			fail(e, "InvalidParameter", "argument '%s' is required", k);
		return need ? -1 : 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > (json_int_t)UINT32_MAX) {
		fail(e, "InvalidParameter", "'%s' must be an integer from 0 to 2^32-1", k);
		return -1;
	}
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

enum { A_SLOT = 1, A_TYPE = 2 };

static int parse(json_t *args, unsigned what, struct kargs *a, struct err *e)
{
	memset(a, 0, sizeof(*a));
	if (arg_str(args, "tenant", true, VSM_TENANT_NAME_MAX + 64, &a->tenant, e) < 0)
		return -1;
	if (!valid_tenant(a->tenant)) {
		fail(e, "InvalidParameter",
		     "'tenant' must be 1-%u letters, digits, '-', '_' or '.'", VSM_TENANT_NAME_MAX);
		return -1;
	}
	if ((what & A_SLOT) &&
	    (arg_name(args, "usage", usage_names, VSM_KU__MAX, &a->usage, e) < 0 ||
	     arg_u32(args, "index", true, &a->index, e) < 0))
		return -1;
	if ((what & A_TYPE) && arg_name(args, "type", type_names, VSM_KT__MAX, &a->type, e) < 0)
		return -1;
	if (arg_u32(args, "bits", false, &a->bits, e) < 0 ||
	    arg_str(args, "password", false, PW_MAX, &a->password, e) < 0 ||
	    arg_str(args, "old_password", false, PW_MAX, &a->old_password, e) < 0 ||
	    arg_str(args, "label", false, VSM_KEY_LABEL_MAX, &a->label, e) < 0 ||
	    arg_str(args, "key", false, KEY_TEXT_MAX, &a->key, e) < 0)
		return -1;
	if (what & A_TYPE) {
		bool sym = a->type == VSM_KT_SM4 || a->type == VSM_KT_AES;
		if (sym != (a->usage == VSM_KU_KEK) ||
		    (a->type == VSM_KT_ED25519 && a->usage == VSM_KU_ENC)) {
			fail(e, "InvalidParameter", "a %s key cannot have usage '%s'",
			     type_names[a->type], usage_names[a->usage]);
			return -1;
		}
	}
	if (!vsm_keystore_enabled()) {
		fail(e, "KeystoreDisabled", "the keystore is disabled");
		return -1;
	}
	return 0;
}

static size_t slen(const char *s)
{
	return s ? strlen(s) : 0;
}

static json_t *rec_json(const struct vsm_key_rec *r)
{
	return json_pack("{s:s,s:I,s:s,s:I,s:s,s:b,s:I}", "usage",
			 name_of(usage_names, VSM_KU__MAX, r->usage), "index", (json_int_t)r->index,
			 "type", name_of(type_names, VSM_KT__MAX, r->type), "bits",
			 (json_int_t)r->bits, "label", r->label, "password", r->has_password,
			 "created", (json_int_t)r->created);
}

static json_t *store(const struct kargs *a, uint32_t bits, const uint8_t *secret, size_t sl,
		     const uint8_t *pub, size_t pl, const char *how, struct err *e)
{
	struct vsm_key_rec rec = {
		.usage = a->usage, .index = a->index, .type = a->type, .bits = bits};
	snprintf(rec.label, sizeof(rec.label), "%s", a->label ? a->label : "");
	int detail;
	int st = vsm_keystore_put(a->tenant, &rec, secret, sl, pub, pl,
				  (const uint8_t *)a->password, slen(a->password), &detail);
	if (st)
		return ks_fail(e, st, detail, a->tenant, a->usage, a->index);
	log_info("control: %s %s key %u (%s) for tenant %s", how, usage_names[a->usage], a->index,
		 type_names[a->type], a->tenant);
	/* Read back, so the answer shows what was stored (creation time included). */
	struct vsm_key_rec *recs;
	size_t n;
	if (vsm_keystore_list(a->tenant, &recs, &n, &detail) == VSM_S_OK)
		for (size_t i = 0; i < n; i++)
			if (recs[i].usage == a->usage && recs[i].index == a->index) {
				rec = recs[i];
				break;
			}
	free(recs);
	return rec_json(&rec);
}

/* ---- commands ---- */

json_t *vsm_control_key_create(json_t *args, const char **cls, char *desc, size_t desclen)
{
	struct err e = {cls, desc, desclen};
	struct kargs a;
	if (parse(args, A_SLOT | A_TYPE, &a, &e) < 0)
		return NULL;
	if (a.key)
		return fail(&e, "InvalidParameter", "key-create takes no 'key' (see key-import)");
	uint32_t bits = a.bits ? a.bits : vsm_key_default_bits(a.type);
	if (!bits)
		bits = a.type == VSM_KT_RSA ? 2048 : 256;
	uint8_t *secret, *pub;
	size_t sl, pl;
	int detail;
	int st = vsm_keygen(a.type, bits, &secret, &sl, &pub, &pl, &detail);
	if (st)
		return ks_fail(&e, st, detail, a.tenant, a.usage, a.index);
	json_t *r = store(&a, bits, secret, sl, pub, pl, "created", &e);
	vsm_keystore_secret_free(secret, sl);
	free(pub);
	return r;
}

json_t *vsm_control_key_list(json_t *args, const char **cls, char *desc, size_t desclen)
{
	struct err e = {cls, desc, desclen};
	struct kargs a;
	if (parse(args, 0, &a, &e) < 0)
		return NULL;
	struct vsm_key_rec *recs;
	size_t n;
	int detail;
	int st = vsm_keystore_list(a.tenant, &recs, &n, &detail);
	if (st)
		return ks_fail(&e, st, detail, a.tenant, 0, 0);
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++)
		if (json_array_append_new(arr, rec_json(&recs[i])) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	free(recs);
	return arr;
}

json_t *vsm_control_key_delete(json_t *args, const char **cls, char *desc, size_t desclen)
{
	struct err e = {cls, desc, desclen};
	struct kargs a;
	if (parse(args, A_SLOT, &a, &e) < 0)
		return NULL;
	int detail;
	int st = vsm_keystore_delete(a.tenant, a.usage, a.index, &detail);
	if (st)
		return ks_fail(&e, st, detail, a.tenant, a.usage, a.index);
	log_info("control: deleted %s key %u of tenant %s", usage_names[a.usage], a.index,
		 a.tenant);
	return json_object();
}

json_t *vsm_control_key_set_password(json_t *args, const char **cls, char *desc, size_t desclen)
{
	struct err e = {cls, desc, desclen};
	struct kargs a;
	if (parse(args, A_SLOT, &a, &e) < 0)
		return NULL;
	int detail;
	int st = vsm_keystore_set_password(a.tenant, a.usage, a.index,
					   (const uint8_t *)a.old_password, slen(a.old_password),
					   (const uint8_t *)a.password, slen(a.password), &detail);
	if (st)
		return ks_fail(&e, st, detail, a.tenant, a.usage, a.index);
	log_info("control: %s the password of %s key %u of tenant %s",
		 slen(a.password) ? "set" : "removed", usage_names[a.usage], a.index, a.tenant);
	return json_object();
}

json_t *vsm_control_key_export_public(json_t *args, const char **cls, char *desc, size_t desclen)
{
	struct err e = {cls, desc, desclen};
	struct kargs a;
	if (parse(args, A_SLOT, &a, &e) < 0)
		return NULL;
	uint8_t *pub;
	size_t pl;
	int detail;
	int st = vsm_keystore_get_public(a.tenant, a.usage, a.index, NULL, &pub, &pl, &detail);
	if (st == VSM_S_BADMSG && detail == VSM_D_KEY_TYPE)
		return fail(&e, "InvalidParameter", "a KEK has no public key");
	if (st)
		return ks_fail(&e, st, detail, a.tenant, a.usage, a.index);
	BIO *b = BIO_new(BIO_s_mem());
	char *text = NULL;
	long n = 0;
	if (b && PEM_write_bio(b, "PUBLIC KEY", "", pub, (long)pl) > 0)
		n = BIO_get_mem_data(b, &text);
	json_t *r = n > 0 ? json_pack("{s:s%}", "pem", text, (size_t)n) : NULL;
	BIO_free(b);
	free(pub);
	return r ? r : fail(&e, "GenericError", "out of memory");
}

static int no_password(char *buf, int size, int rw, void *u)
{
	(void)buf;
	(void)size;
	(void)rw;
	(void)u;
	return -1;
}

/* The key argument as bytes: PEM (any private key format OpenSSL reads) or base64. */
static int key_bytes(const char *text, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	size_t tl = strlen(text);
	if (strstr(text, "-----BEGIN")) {
		BIO *b = BIO_new_mem_buf(text, (int)tl);
		EVP_PKEY *pk = b ? PEM_read_bio_PrivateKey(b, NULL, no_password, NULL) : NULL;
		PKCS8_PRIV_KEY_INFO *p8 = pk ? EVP_PKEY2PKCS8(pk) : NULL;
		int n = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, NULL) : -1;
		uint8_t *d = n > 0 ? malloc((size_t)n) : NULL, *w = d;
		int ok = d && i2d_PKCS8_PRIV_KEY_INFO(p8, &w) == n;
		PKCS8_PRIV_KEY_INFO_free(p8);
		EVP_PKEY_free(pk);
		BIO_free(b);
		if (!ok) {
			if (d)
				OPENSSL_clear_free(d, (size_t)n);
			return -1;
		}
		*out = d;
		*len = (size_t)n;
		return 0;
	}
	/* Base64 of n bytes is at least 4n/3 characters; whitespace only adds. */
	size_t cap = tl / 4 * 3 + 3;
	uint8_t *d = malloc(cap + 1);
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	int n1 = 0, n2 = 0;
	int ok = d && ctx && tl > 0;
	if (ok) {
		EVP_DecodeInit(ctx);
		ok = EVP_DecodeUpdate(ctx, d, &n1, (const unsigned char *)text, (int)tl) >= 0 &&
		     EVP_DecodeFinal(ctx, d + n1, &n2) == 1 && n1 + n2 > 0;
	}
	EVP_ENCODE_CTX_free(ctx);
	if (!ok) {
		if (d)
			OPENSSL_clear_free(d, cap + 1);
		return -1;
	}
	*out = d;
	*len = (size_t)n1 + (size_t)n2;
	return 0;
}

json_t *vsm_control_key_import(json_t *args, const char **cls, char *desc, size_t desclen)
{
	struct err e = {cls, desc, desclen};
	struct kargs a;
	if (parse(args, A_SLOT | A_TYPE, &a, &e) < 0)
		return NULL;
	if (!a.key)
		return fail(&e, "InvalidParameter", "argument 'key' is required");
	if (a.bits)
		return fail(&e, "InvalidParameter", "key-import takes the size from the key");
	uint8_t *raw, *norm, *pub;
	size_t rl, nl, pl;
	uint32_t bits;
	int detail;
	if (key_bytes(a.key, &raw, &rl) < 0)
		return fail(&e, "InvalidParameter",
			    "'key' must be a PEM private key (unencrypted) or base64");
	int st = vsm_keyimport_check(a.type, raw, rl, &bits, &norm, &nl, &pub, &pl, &detail);
	vsm_keystore_secret_free(raw, rl);
	if (st)
		return ks_fail(&e, st, detail, a.tenant, a.usage, a.index);
	json_t *r = store(&a, bits, norm, nl, pub, pl, "imported", &e);
	vsm_keystore_secret_free(norm, nl);
	free(pub);
	return r;
}
