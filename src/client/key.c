/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Keystore calls (VSM_MSG_KEY). Requests carry passwords and key material,
 * so the encoded bytes are wiped once the call is over, as for
 * SESSION_CREATE.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vsm/vsm.h>

#include "client.h"

static int len32(size_t n, uint32_t *out)
{
	if (n > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)n;
	return 0;
}

int vsm_key_call(vsm_client *c, const struct vsm_wire_key *req, void *out, size_t *out_len)
{
	struct vsm_req r = {
		.op = VSM_MSG_KEY,
		.out = out,
		.out_cap = out && out_len ? *out_len : 0,
		.sync = 1,
	};
	size_t got = 0;
	uint8_t *buf;
	int rc;

	if (!c || !req || (req->a_len && !req->a) || (req->b_len && !req->b) ||
	    (req->c_len && !req->c))
		return -EINVAL;
	if (!(c->info.features & VSM_FEAT_KEYSTORE))
		return -ENOTSUP;
	r.payload_len = vsm_wire_key_size(req);
	if (r.payload_len == 0)
		return -EMSGSIZE;
	buf = vsm_req_begin(c, &r, &rc);
	if (!buf)
		return rc;
	if (vsm_wire_encode_key(buf, r.payload_len, req) != r.payload_len) {
		explicit_bzero(buf, r.payload_len);
		return -EINVAL;
	}
	rc = vsm_req_wait(c, vsm_req_commit(c, &r), &got);
	/* See vsm_session_create: the stream's copy is ours to wipe. */
	if (!c->shm)
		explicit_bzero(buf, r.payload_len);
	if (out_len)
		*out_len = got;
	else if (rc == 0 && got)
		return -EPROTO;
	return rc;
}

/* A call whose response must be empty. */
static int call_empty(vsm_client *c, const struct vsm_wire_key *k)
{
	size_t n = 0;
	int rc = vsm_key_call(c, k, NULL, &n);

	return rc == 0 && n ? -EPROTO : rc;
}

static int label_field(const char *label, struct vsm_wire_key *k)
{
	size_t n = label ? strlen(label) : 0;

	if (n > VSM_KEY_LABEL_MAX)
		return -EINVAL;
	k->b = (const uint8_t *)label;
	k->b_len = (uint32_t)n;
	return 0;
}

static int slot_fields(int usage, uint32_t index, struct vsm_wire_key *k)
{
	if (usage <= 0 || usage >= VSM_KU__MAX)
		return -EINVAL;
	k->usage = (uint32_t)usage;
	k->index = index;
	return 0;
}

int vsm_key_generate(vsm_client *c, int usage, uint32_t index, int type, unsigned bits,
		     const void *pw, size_t pw_len, const char *label)
{
	struct vsm_wire_key k = {.kop = VSM_KOP_GENERATE, .bits = bits, .a = pw};

	if (slot_fields(usage, index, &k) || type <= 0 || label_field(label, &k) ||
	    len32(pw_len, &k.a_len))
		return -EINVAL;
	k.type = (uint32_t)type;
	return call_empty(c, &k);
}

int vsm_key_import(vsm_client *c, int usage, uint32_t index, int type, const void *key,
		   size_t key_len, const void *pw, size_t pw_len, const char *label)
{
	struct vsm_wire_key k = {.kop = VSM_KOP_IMPORT, .a = pw, .c = key};

	if (slot_fields(usage, index, &k) || type <= 0 || label_field(label, &k) ||
	    len32(pw_len, &k.a_len) || len32(key_len, &k.c_len))
		return -EINVAL;
	k.type = (uint32_t)type;
	return call_empty(c, &k);
}

int vsm_key_delete(vsm_client *c, int usage, uint32_t index)
{
	struct vsm_wire_key k = {.kop = VSM_KOP_DELETE};

	if (slot_fields(usage, index, &k))
		return -EINVAL;
	return call_empty(c, &k);
}

int vsm_key_public(vsm_client *c, int usage, uint32_t index, void *der, size_t *der_len)
{
	struct vsm_wire_key k = {.kop = VSM_KOP_PUBLIC};

	if (slot_fields(usage, index, &k) || !der || !der_len)
		return -EINVAL;
	return vsm_key_call(c, &k, der, der_len);
}

int vsm_key_set_password(vsm_client *c, int usage, uint32_t index, const void *old_pw,
			 size_t old_len, const void *new_pw, size_t new_len)
{
	struct vsm_wire_key k = {.kop = VSM_KOP_SET_PASSWORD, .a = old_pw, .b = new_pw};

	if (slot_fields(usage, index, &k) || len32(old_len, &k.a_len) || len32(new_len, &k.b_len))
		return -EINVAL;
	return call_empty(c, &k);
}

int vsm_key_list(vsm_client *c, struct vsm_wire_key_info *out, size_t max, size_t *n)
{
	struct vsm_wire_key k = {.kop = VSM_KOP_LIST};
	size_t cap, got, i;
	uint8_t *buf;
	int rc;

	if (!c || !n || (max && !out))
		return -EINVAL;
	/* The list is as long as the tenant's keystore: take the largest response. */
	cap = c->info.max_msg;
	buf = malloc(cap ? cap : 1);
	if (!buf)
		return -ENOMEM;
	got = cap;
	rc = vsm_key_call(c, &k, buf, &got);
	if (rc == 0 && got % VSM_WIRE_KEY_INFO_LEN)
		rc = -EPROTO;
	for (i = 0; rc == 0 && i < got / VSM_WIRE_KEY_INFO_LEN && i < max; i++)
		if (vsm_wire_decode_key_info(buf + i * VSM_WIRE_KEY_INFO_LEN, VSM_WIRE_KEY_INFO_LEN,
					     &out[i]) != VSM_S_OK)
			rc = -EPROTO;
	if (rc == 0)
		*n = got / VSM_WIRE_KEY_INFO_LEN;
	free(buf);
	return rc;
}

int vsm_key_find(vsm_client *c, const char *label, int *usage, uint32_t *index)
{
	struct vsm_wire_key_info *v;
	size_t n = 0, max;
	int rc;

	if (!c || !label || !usage || !index || strlen(label) > VSM_KEY_LABEL_MAX)
		return -EINVAL;
	max = c->info.max_msg / VSM_WIRE_KEY_INFO_LEN;
	v = calloc(max ? max : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	rc = vsm_key_list(c, v, max, &n);
	if (rc == 0) {
		rc = VSM_S_KEY_REJECTED;
		c->last_detail = VSM_D_NO_KEY;
		for (size_t i = 0; i < n && i < max; i++) {
			if (!strcmp(v[i].label, label)) {
				*usage = (int)v[i].usage;
				*index = v[i].index;
				c->last_detail = VSM_D_NONE;
				rc = 0;
				break;
			}
		}
	}
	free(v);
	return rc;
}

static int session_flags(vsm_client *c, const struct vsm_session_params *p, unsigned flag,
			 const uint8_t *key, size_t key_len, uint64_t *handle)
{
	struct vsm_session_params q;

	if (!c || !p || !handle)
		return -EINVAL;
	q = *p;
	q.flags |= flag;
	q.key = key;
	q.key_len = key_len;
	return vsm_session_create(c, &q, handle);
}

int vsm_session_create_internal(vsm_client *c, const struct vsm_session_params *p, int usage,
				uint32_t index, const void *pw, size_t pw_len, uint64_t *handle)
{
	uint8_t *key;
	size_t n;
	int rc;

	if (usage <= 0 || usage >= VSM_KU__MAX || (pw_len && !pw) || pw_len > UINT32_MAX - 12)
		return -EINVAL;
	n = 12 + pw_len;
	key = malloc(n);
	if (!key)
		return -ENOMEM;
	vsm_wire_encode_u32(key, 4, (uint32_t)usage);
	vsm_wire_encode_u32(key + 4, 4, index);
	vsm_wire_encode_u32(key + 8, 4, (uint32_t)pw_len);
	if (pw_len)
		memcpy(key + 12, pw, pw_len);
	rc = session_flags(c, p, VSM_SESSF_INTERNAL, key, n, handle);
	explicit_bzero(key, n);
	free(key);
	return rc;
}

int vsm_session_create_keyobj(vsm_client *c, const struct vsm_session_params *p, uint64_t keyobj,
			      uint64_t *handle)
{
	uint8_t key[8];

	vsm_wire_encode_u64(key, sizeof(key), keyobj);
	return session_flags(c, p, VSM_SESSF_KEYOBJ, key, sizeof(key), handle);
}
