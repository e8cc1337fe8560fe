/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Synchronous calls: submit, then wait for that one id. Asynchronous
 * completions that arrive meanwhile stay queued for vsm_poll(), so these may
 * be mixed freely with outstanding vsm_submit() requests.
 */
#include <errno.h>
#include <string.h>

#include <vsm/vsm.h>

#include "client.h"

/* Send a fixed message and wait; the response goes into out (cap bytes). */
static int call(struct vsm_client *c, uint16_t op, const void *payload, size_t len, void *out,
		size_t cap, size_t *out_len, int discard)
{
	struct vsm_req r = {
		.op = op,
		.payload_len = len,
		.out = out,
		.out_cap = cap,
		.sync = 1,
		.discard = (uint8_t)discard,
	};
	uint8_t *p;
	int rc;

	p = vsm_req_begin(c, &r, &rc);
	if (!p)
		return rc;
	if (len)
		memcpy(p, payload, len);
	return vsm_req_wait(c, vsm_req_commit(c, &r), out_len);
}

int vsm_op_run(vsm_client *c, const struct vsm_op *op, void *out, size_t *out_len)
{
	size_t cap = out_len ? *out_len : 0;
	uint64_t id;
	int rc;

	if (!c || !op)
		return -EINVAL;
	rc = vsm_encode_op(c, op, out, cap, NULL, 1, &id);
	if (rc)
		return rc;
	return vsm_req_wait(c, id, out_len);
}

static int run(vsm_client *c, uint64_t s, int opcode, const void *iv, size_t iv_len, const void *in,
	       size_t in_len, const void *aux, size_t aux_len, void *out, size_t *out_len)
{
	struct vsm_op op = {
		.session = s,
		.op = opcode,
		.iv = iv,
		.iv_len = iv_len,
		.src = in,
		.src_len = in_len,
		.aux = aux,
		.aux_len = aux_len,
	};

	return vsm_op_run(c, &op, out, out_len);
}

int vsm_encrypt(vsm_client *c, uint64_t s, const void *iv, size_t iv_len, const void *in,
		size_t in_len, void *out, size_t *out_len)
{
	return run(c, s, VSM_OP_ENCRYPT, iv, iv_len, in, in_len, NULL, 0, out, out_len);
}

int vsm_decrypt(vsm_client *c, uint64_t s, const void *iv, size_t iv_len, const void *in,
		size_t in_len, void *out, size_t *out_len)
{
	return run(c, s, VSM_OP_DECRYPT, iv, iv_len, in, in_len, NULL, 0, out, out_len);
}

int vsm_digest(vsm_client *c, uint64_t s, const void *in, size_t in_len, void *out, size_t *out_len)
{
	return run(c, s, VSM_OP_DIGEST, NULL, 0, in, in_len, NULL, 0, out, out_len);
}

int vsm_sign(vsm_client *c, uint64_t s, const void *in, size_t in_len, void *sig, size_t *sig_len)
{
	return run(c, s, VSM_OP_SIGN, NULL, 0, in, in_len, NULL, 0, sig, sig_len);
}

int vsm_verify(vsm_client *c, uint64_t s, const void *in, size_t in_len, const void *sig,
	       size_t sig_len)
{
	return run(c, s, VSM_OP_VERIFY, NULL, 0, in, in_len, sig, sig_len, NULL, NULL);
}

static int to_u32(int v, uint32_t *out)
{
	if (v < 0)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int vsm_session_create(vsm_client *c, const struct vsm_session_params *p, uint64_t *handle)
{
	struct vsm_wire_session m = {
		.flags = p ? p->flags : 0,
		.tag_len = p ? p->tag_len : 0,
		/* The API's 0 and -1 both mean "digest length"; the wire has only -1. */
		.salt_len = p && p->salt_len > 0 ? p->salt_len : -1,
		.key = p ? p->key : NULL,
		.aux = p ? p->aux : NULL,
	};
	struct vsm_req r = {
		.op = VSM_MSG_SESSION_CREATE,
		.sync = 1,
	};
	uint8_t resp[VSM_WIRE_SESSION_RESP_LEN];
	size_t resp_len;
	uint8_t *buf;
	int rc;

	if (!c || !p || !handle)
		return -EINVAL;
	if (to_u32(p->service, &m.service) || to_u32(p->alg, &m.alg) ||
	    to_u32(p->padding, &m.padding) || to_u32(p->hash, &m.hash) ||
	    to_u32(p->mgf_hash, &m.mgf_hash) || p->salt_len < -1)
		return -EINVAL;
	if (p->key_len > UINT32_MAX || p->aux_len > UINT32_MAX || (p->key_len && !p->key) ||
	    (p->aux_len && !p->aux))
		return -EINVAL;
	m.key_len = (uint32_t)p->key_len;
	m.aux_len = (uint32_t)p->aux_len;
	r.payload_len = vsm_wire_session_size(&m);
	r.out = resp;
	r.out_cap = sizeof(resp);
	buf = vsm_req_begin(c, &r, &rc);
	if (!buf)
		return rc;
	if (vsm_wire_encode_session(buf, r.payload_len, &m) != r.payload_len) {
		explicit_bzero(buf, r.payload_len);
		return -EINVAL;
	}
	/*
	 * The key is now in the send buffer. A synchronous call adds nothing
	 * after it and vsm_req_wait() writes the buffer out, so the bytes can
	 * be wiped right after. explicit_bzero, not OPENSSL_cleanse: libvsm
	 * does not link libcrypto, so a guest client stays small.
	 */
	rc = vsm_req_wait(c, vsm_req_commit(c, &r), &resp_len);
	/* Over shm the request was wiped when it completed, and its space is reused. */
	if (!c->shm)
		explicit_bzero(buf, r.payload_len);
	if (rc)
		return rc;
	if (vsm_wire_decode_u64(resp, resp_len, handle) != VSM_S_OK || *handle == 0)
		return -EPROTO;
	return 0;
}

int vsm_session_destroy(vsm_client *c, uint64_t handle)
{
	uint8_t req[VSM_WIRE_DESTROY_LEN];
	size_t n;

	if (!c)
		return -EINVAL;
	vsm_wire_encode_u64(req, sizeof(req), handle);
	return call(c, VSM_MSG_SESSION_DESTROY, req, sizeof(req), NULL, 0, &n, 0);
}

int vsm_random(vsm_client *c, void *buf, size_t len)
{
	uint8_t *p = buf;

	if (!c || (len && !buf))
		return -EINVAL;
	/* One response may carry at most max_msg bytes. */
	while (len) {
		size_t chunk = len < c->info.max_msg ? len : c->info.max_msg;
		uint8_t req[VSM_WIRE_RANDOM_LEN];
		size_t got;
		int rc;

		vsm_wire_encode_u32(req, sizeof(req), (uint32_t)chunk);
		rc = call(c, VSM_MSG_RANDOM, req, sizeof(req), p, chunk, &got, 0);
		if (rc)
			return rc;
		if (got != chunk)
			return -EPROTO;
		p += chunk;
		len -= chunk;
	}
	return 0;
}

int vsm_nop(vsm_client *c, const void *buf, size_t len)
{
	size_t got;
	int rc;

	if (!c || (len && !buf))
		return -EINVAL;
	if (c->shm) {
		uint64_t id;

		if (c->dead)
			return c->dead;
		rc = vsm_shm_submit_nop(c, buf, len, NULL, 0, NULL, 1, 1, &id);
		rc = rc ? rc : vsm_req_wait(c, id, &got);
	} else {
		rc = call(c, VSM_MSG_NOP, buf, len, NULL, 0, &got, 1);
	}
	if (rc == 0 && got != len)
		return -EPROTO;
	return rc;
}

int vsm_status(vsm_client *c, struct vsm_wire_status *st)
{
	uint8_t resp[VSM_WIRE_STATUS_RESP_LEN];
	size_t got;
	int rc;

	if (!c || !st)
		return -EINVAL;
	rc = call(c, VSM_MSG_STATUS, NULL, 0, resp, sizeof(resp), &got, 0);
	if (rc)
		return rc;
	if (vsm_wire_decode_status(resp, got, st) != VSM_S_OK)
		return -EPROTO;
	return 0;
}
