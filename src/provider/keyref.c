/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vsm: URIs, which name a keystore key of the caller's tenant, and turning
 * one into a key object (docs/provider.md has the grammar).
 *
 *   vsm:label=web
 *   vsm:index=3;usage=sign;password=secret
 *
 * Attributes are separated by ';', '&' or '?', values may be %-encoded.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include "provider.h"

static int unhex(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* %-decode [s, e) into out (capacity cap, NUL-terminated); the length, or -1. */
static long decode(const char *s, const char *e, char *out, size_t cap)
{
	size_t n = 0;

	while (s < e) {
		int ch = (unsigned char)*s++;

		if (ch == '%') {
			int hi = s < e ? unhex(s[0]) : -1, lo = s + 1 < e ? unhex(s[1]) : -1;

			if (hi < 0 || lo < 0)
				return -1;
			ch = hi << 4 | lo;
			s += 2;
		}
		if (n + 1 >= cap)
			return -1;
		out[n++] = (char)ch;
	}
	out[n] = 0;
	return (long)n;
}

int vsm_keyref_parse(const char *uri, struct vsm_keyref *r)
{
	const char *s, *e, *eq;
	int have_index = 0;
	char val[256];

	memset(r, 0, sizeof(*r));
	if (!uri || strncmp(uri, "vsm:", 4))
		return -1;
	for (s = uri + 4; *s; s = *e ? e + 1 : e) {
		long n;

		e = s + strcspn(s, ";&?");
		if (e == s)
			continue;
		eq = memchr(s, '=', (size_t)(e - s));
		if (!eq)
			goto bad;
		n = decode(eq + 1, e, val, sizeof(val));
		if (n < 0)
			goto bad;
#define IS(k) ((size_t)(eq - s) == strlen(k) && !strncmp(s, k, strlen(k)))
		if (IS("label")) {
			if ((size_t)n > VSM_KEY_LABEL_MAX || !n)
				goto bad;
			memcpy(r->label, val, (size_t)n + 1);
		} else if (IS("index")) {
			char *end;
			unsigned long v = strtoul(val, &end, 10);

			if (!*val || *end || v == 0 || v > UINT32_MAX)
				goto bad;
			r->index = (uint32_t)v;
			have_index = 1;
		} else if (IS("usage")) {
			if (!strcmp(val, "sign"))
				r->usage = VSM_KU_SIGN;
			else if (!strcmp(val, "enc"))
				r->usage = VSM_KU_ENC;
			else
				goto bad;
		} else if (IS("password")) {
			memcpy(r->pw, val, (size_t)n);
			r->pw_len = (size_t)n;
			r->have_pw = 1;
		} else {
			goto bad;
		}
#undef IS
	}
	OPENSSL_cleanse(val, sizeof(val));
	if (have_index == !!r->label[0])
		goto bad; /* exactly one of label and index */
	if (have_index && !r->usage)
		r->usage = VSM_KU_SIGN;
	return 0;
bad:
	OPENSSL_cleanse(val, sizeof(val));
	OPENSSL_cleanse(r, sizeof(*r));
	return -1;
}

struct vsm_key *vsm_keyref_load(struct vsm_prov *p, const struct vsm_keyref *r)
{
	uint8_t der[4096];
	size_t der_len = sizeof(der);
	const char *pw = r->pw;
	size_t pw_len = r->pw_len;
	struct vsm_key *k;
	vsm_client *c;
	int usage = r->usage, rc;
	uint32_t index = r->index;

	c = vsm_conn_get(p, &rc);
	if (!c) {
		vsm_prov_raise(p, rc, "connect");
		return NULL;
	}
	if (r->label[0]) {
		rc = vsm_key_find(c, r->label, &usage, &index);
		if (rc) {
			vsm_prov_raise(p, rc, "key label");
			return NULL;
		}
	}
	rc = vsm_key_public(c, usage, index, der, &der_len);
	if (rc) {
		vsm_prov_raise(p, rc, "public key");
		return NULL;
	}
	if (!r->have_pw) {
		pw = p->pin ? p->pin : getenv("VSM_KEY_PASSWORD");
		pw_len = pw ? strlen(pw) : 0;
	}
	k = vsm_key_new(p, VSM_PK_RSA);
	if (!k)
		return NULL;
	k->usage = usage;
	k->index = index;
	k->pw = OPENSSL_malloc(pw_len + 1);
	if (!k->pw || vsm_key_set_spki(k, der, der_len)) {
		vsm_key_free(k);
		return NULL;
	}
	if (pw_len)
		memcpy(k->pw, pw, pw_len);
	k->pw[pw_len] = 0;
	k->pw_len = pw_len;
	return k;
}

int vsm_keyref_object(struct vsm_key *k, OSSL_CALLBACK *cb, void *cbarg)
{
	const char *name = vsm_prov_kind_name(k->kind);
	int type = OSSL_OBJECT_PKEY;
	OSSL_PARAM params[] = {
		OSSL_PARAM_int(OSSL_OBJECT_PARAM_TYPE, &type),
		OSSL_PARAM_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE, (char *)name, strlen(name)),
		OSSL_PARAM_octet_string(OSSL_OBJECT_PARAM_REFERENCE, &k, sizeof(k)),
		OSSL_PARAM_END,
	};

	return cb(params, cbarg);
}
