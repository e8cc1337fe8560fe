/* SPDX-License-Identifier: Apache-2.0 */
#include "daemon/dispatch.h"

#include <endian.h>
#include <string.h>
#include <time.h>

#include "daemon/keyops.h"
#include "daemon/log.h"
#include "engine/engine.h"
#include "keystore/keystore.h"

unsigned vsm_dispatch_workers;
uint64_t vsm_dispatch_start_ms;

uint64_t vsm_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static size_t frame(uint8_t *out, size_t cap, uint16_t op, uint64_t id, int status, int detail,
		    size_t payload_len)
{
	struct vsm_wire_hdr h = {
		.len = (uint32_t)payload_len,
		.magic = VSM_WIRE_MAGIC,
		.op = op,
		.flags = VSM_HDR_F_RESPONSE,
		.status = (uint16_t)status,
		.detail = (uint16_t)detail,
		.id = id,
	};
	if (vsm_wire_encode_hdr(out, cap, &h) != VSM_WIRE_HDR_LEN)
		return 0;
	return VSM_WIRE_HDR_LEN + payload_len;
}

size_t vsm_dispatch_out_need(const struct vsm_tenant *t, const struct vsm_wire_hdr *h,
			     const uint8_t *payload)
{
	uint64_t need = 128; /* fixed-size answers: hello, status, handles, errors */
	uint32_t v;
	switch (h->op) {
	case VSM_MSG_OP:
		/* dst_len sits at offset 16; the full decode comes later. */
		if (h->len >= VSM_WIRE_OP_LEN) {
			memcpy(&v, payload + 16, sizeof(v));
			need = le32toh(v);
		}
		break;
	case VSM_MSG_NOP:
		need = h->len;
		break;
	case VSM_MSG_KEY:
		/* Lists, files and wrapped keys: sized only once the request has run. */
		need = t->limits.max_msg;
		break;
	case VSM_MSG_RANDOM:
		if (h->len == VSM_WIRE_RANDOM_LEN) {
			memcpy(&v, payload, sizeof(v));
			need = le32toh(v);
		}
		break;
	}
	if (need < 128)
		need = 128;
	if (need > t->limits.max_msg)
		need = t->limits.max_msg;
	return VSM_WIRE_HDR_LEN + (size_t)need;
}

size_t vsm_dispatch_frame(uint8_t *out, size_t cap, uint16_t op, uint64_t id, int status,
			  int detail, size_t payload_len)
{
	return frame(out, cap, op, id, status, detail, payload_len);
}

size_t vsm_dispatch_error(uint8_t *out, size_t cap, uint16_t op, uint64_t id, int status,
			  int detail)
{
	return frame(out, cap, op, id, status, detail, 0);
}

static int do_hello(struct vsm_tenant *t, struct vsm_proto *ps, const uint8_t *p, uint32_t len,
		    uint8_t *body, size_t cap, size_t *out_len, int *detail, bool *close_after)
{
	struct vsm_wire_hello m;
	if (ps->hello_done || vsm_wire_decode_hello(p, len, &m) != VSM_S_OK) {
		*detail = VSM_D_PROTOCOL;
		*close_after = true;
		return VSM_S_BADMSG;
	}
	if (m.min_version > VSM_WIRE_VERSION || m.max_version < 1 ||
	    m.min_version > m.max_version) {
		*detail = VSM_D_VERSION;
		*close_after = true;
		return VSM_S_NOTSUPP;
	}
	struct vsm_wire_hello_resp r = {0};
	r.version = VSM_WIRE_VERSION;
	r.features = m.features & ps->offer;
	if (!vsm_keystore_enabled())
		r.features &= ~(uint32_t)VSM_FEAT_KEYSTORE;
	r.max_msg = t->limits.max_msg;
	r.max_inflight = t->limits.max_inflight;
	r.max_sessions = t->limits.max_sessions;
	vsm_router_algs(r.algs);
	snprintf(r.tenant, sizeof(r.tenant), "%s", t->name);
	*out_len = vsm_wire_encode_hello_resp(body, cap, &r);
	ps->hello_done = true;
	ps->version = r.version;
	ps->features = r.features;
	return VSM_S_OK;
}

int vsm_core_session_create(struct vsm_tenant *t, const struct vsm_wire_session *m,
			    uint64_t *handle, int *detail)
{
	if (vsm_alg_service((int)m->alg) != (int)m->service) {
		*detail = VSM_D_BAD_OP;
		return VSM_S_BADMSG;
	}
	const struct vsm_engine *eng = vsm_router_get((int)m->alg);
	if (!eng)
		return VSM_S_NOTSUPP;
	void *es = NULL;
	uint32_t sflags = 0;
	int st = m->flags & (VSM_SESSF_INTERNAL | VSM_SESSF_KEYOBJ)
			 ? vsm_keyops_session(t, m, eng, &es, &sflags, detail)
			 : eng->session_new(m, &es, detail);
	if (st != VSM_S_OK)
		return st;
	st = vsm_session_add_flags(t, eng, es, m->service, m->alg, sflags, handle, detail);
	if (st != VSM_S_OK)
		eng->session_free(es);
	return st;
}

static int do_session_create(struct vsm_tenant *t, const uint8_t *p, uint32_t len, uint8_t *body,
			     size_t cap, size_t *out_len, int *detail, int *svc)
{
	struct vsm_wire_session m;
	if (vsm_wire_decode_session(p, len, &m) != VSM_S_OK) {
		*detail = VSM_D_PROTOCOL;
		return VSM_S_BADMSG;
	}
	*svc = (int)m.service;
	uint64_t handle;
	int st = vsm_core_session_create(t, &m, &handle, detail);
	if (st == VSM_S_OK)
		*out_len = vsm_wire_encode_u64(body, cap, handle);
	return st;
}

static int do_session_destroy(struct vsm_tenant *t, const uint8_t *p, uint32_t len, int *detail)
{
	uint64_t handle;
	if (vsm_wire_decode_u64(p, len, &handle) != VSM_S_OK) {
		*detail = VSM_D_PROTOCOL;
		return VSM_S_BADMSG;
	}
	return vsm_session_remove(t, handle);
}

int vsm_core_op(struct vsm_tenant *t, const struct vsm_wire_op *mp, uint8_t *body, size_t cap,
		size_t *out_len, int *detail, struct vsm_req_info *ri)
{
	const struct vsm_wire_op m = *mp;
	ri->kind = (int)m.op - VSM_OP_ENCRYPT + VSM_K_ENCRYPT;
	ri->bytes_in = (uint64_t)m.src_len + m.aad_len;
	struct vsm_session *s = vsm_session_get(t, m.session);
	if (!s)
		return VSM_S_INVSESS;
	ri->svc = (int)s->service;
	ri->engine = s->eng->name;
	/* An internal key opened without its password: public operations only. */
	if ((s->flags & VSM_SESSION_PUBLIC_ONLY) &&
	    (m.op == VSM_OP_SIGN || m.op == VSM_OP_DECRYPT)) {
		vsm_session_put(s);
		*out_len = 0;
		*detail = VSM_D_ACCESS_DENIED;
		return VSM_S_KEY_REJECTED;
	}
	/* The client says how much it can take; we never write more than that. */
	size_t room = m.dst_len < cap ? m.dst_len : cap;
	pthread_mutex_lock(&s->lock);
	int st = s->eng->op(s->es, &m, body, room, out_len, detail);
	pthread_mutex_unlock(&s->lock);
	vsm_session_put(s);
	if (st == VSM_S_OK && *out_len > room) {
		/* An engine bug must not turn into an over-long response. */
		*detail = VSM_D_ENGINE;
		st = VSM_S_ERR;
	}
	if (st != VSM_S_OK && !(st == VSM_S_NOSPC && *detail == VSM_D_OUTPUT_SPACE))
		*out_len = 0;
	return st;
}

static int run_op(struct vsm_tenant *t, const struct vsm_proto *ps, const struct vsm_wire_op *m,
		  uint8_t *body, size_t cap, size_t *out_len, int *detail, struct vsm_req_info *ri)
{
	if ((m->flags & VSM_OPF_MORE) && !(ps->features & VSM_FEAT_MULTIPART)) {
		ri->kind = (int)m->op - VSM_OP_ENCRYPT + VSM_K_ENCRYPT;
		*detail = VSM_D_BAD_OP; /* multi-part was not negotiated */
		return VSM_S_BADMSG;
	}
	int st = vsm_core_op(t, m, body, cap, out_len, detail, ri);
	if (st == VSM_S_NOSPC && *detail == VSM_D_OUTPUT_SPACE) {
		/* Tell the client how much room the result needs. */
		if (*out_len <= UINT32_MAX && cap >= 4) {
			vsm_wire_encode_u32(body, cap, (uint32_t)*out_len);
			*out_len = 4;
		} else {
			*out_len = 0;
		}
	}
	return st;
}

static int do_op(struct vsm_tenant *t, const struct vsm_proto *ps, const uint8_t *p, uint32_t len,
		 uint8_t *body, size_t cap, size_t *out_len, int *detail, struct vsm_req_info *ri)
{
	struct vsm_wire_op m;
	if (vsm_wire_decode_op(p, len, &m) != VSM_S_OK) {
		ri->kind = VSM_K_INVALID;
		*detail = VSM_D_PROTOCOL;
		return VSM_S_BADMSG;
	}
	return run_op(t, ps, &m, body, cap, out_len, detail, ri);
}

static int do_key(struct vsm_tenant *t, const struct vsm_proto *ps, const uint8_t *p, uint32_t len,
		  uint8_t *body, size_t cap, size_t *out_len, int *detail)
{
	struct vsm_wire_key k;
	if (vsm_wire_decode_key(p, len, &k) != VSM_S_OK) {
		*detail = VSM_D_PROTOCOL;
		return VSM_S_BADMSG;
	}
	if (!(ps->features & VSM_FEAT_KEYSTORE)) {
		*detail = VSM_D_KEYSTORE;
		return VSM_S_NOTSUPP;
	}
	int st = vsm_keyops_run(t, &k, body, cap, out_len, detail);
	if (st == VSM_S_NOSPC && *detail == VSM_D_OUTPUT_SPACE) {
		/* As for OP: tell the client how much room the answer needs. */
		if (*out_len <= UINT32_MAX && cap >= 4) {
			vsm_wire_encode_u32(body, cap, (uint32_t)*out_len);
			*out_len = 4;
		} else {
			*out_len = 0;
		}
	}
	return st;
}

static int do_random(const uint8_t *p, uint32_t len, uint8_t *body, size_t cap, size_t *out_len,
		     int *detail)
{
	uint32_t n;
	if (vsm_wire_decode_u32(p, len, &n) != VSM_S_OK) {
		*detail = VSM_D_PROTOCOL;
		return VSM_S_BADMSG;
	}
	if (n > cap) {
		*detail = VSM_D_TOO_BIG;
		return VSM_S_NOSPC;
	}
	const struct vsm_engine *eng = vsm_router_get(VSM_ALG_NONE);
	if (!eng)
		eng = &vsm_engine_soft;
	if (eng->random(body, n) != VSM_S_OK) {
		*detail = VSM_D_ENGINE;
		return VSM_S_ERR;
	}
	*out_len = n;
	return VSM_S_OK;
}

static int do_status(struct vsm_tenant *t, uint32_t len, uint8_t *body, size_t cap, size_t *out_len,
		     int *detail)
{
	if (len != 0) {
		*detail = VSM_D_PROTOCOL;
		return VSM_S_BADMSG;
	}
	struct vsm_wire_status r = {0};
	snprintf(r.tenant, sizeof(r.tenant), "%s", t->name);
	pthread_mutex_lock(&t->lock);
	r.sessions = t->n_sessions;
	pthread_mutex_unlock(&t->lock);
	r.max_sessions = t->limits.max_sessions;
	r.inflight = atomic_load_explicit(&t->inflight, memory_order_relaxed);
	r.max_inflight = t->limits.max_inflight;
	r.max_msg = t->limits.max_msg;
	r.workers = vsm_dispatch_workers;
	r.ops = atomic_load_explicit(&t->ops, memory_order_relaxed);
	r.errors = atomic_load_explicit(&t->errors, memory_order_relaxed);
	r.uptime_ms = vsm_now_ms() - vsm_dispatch_start_ms;
	*out_len = vsm_wire_encode_status(body, cap, &r);
	return VSM_S_OK;
}

static const uint8_t msg_kind[VSM_MSG__MAX] = {
	[VSM_MSG_HELLO] = VSM_K_HELLO,
	[VSM_MSG_SESSION_CREATE] = VSM_K_SESSION_CREATE,
	[VSM_MSG_SESSION_DESTROY] = VSM_K_SESSION_DESTROY,
	[VSM_MSG_OP] = VSM_K_INVALID, /* set from the decoded opcode */
	[VSM_MSG_RANDOM] = VSM_K_RANDOM,
	[VSM_MSG_STATUS] = VSM_K_STATUS,
	[VSM_MSG_NOP] = VSM_K_NOP,
	[VSM_MSG_SHM_SETUP] = VSM_K_SHM_SETUP,
	[VSM_MSG_KEY] = VSM_K_KEY,
};

static void request_init(struct vsm_req_info *ri, uint16_t msg, uint32_t len)
{
	ri->svc = VSM_STAT_SVC_NONE;
	ri->engine = NULL;
	ri->kind = msg > 0 && msg < VSM_MSG__MAX ? msg_kind[msg] : VSM_K_INVALID;
	ri->bytes_in = msg == VSM_MSG_NOP ? len : 0;
}

/* Count the outcome; decides what a failed request may still return. */
static size_t request_done(struct vsm_tenant *t, uint64_t id, uint16_t msg, int st, int detail,
			   size_t out_len, struct vsm_req_info *ri)
{
	if (st != VSM_S_OK) {
		if (!(st == VSM_S_NOSPC && detail == VSM_D_OUTPUT_SPACE))
			out_len = 0;
		atomic_fetch_add_explicit(&t->errors, 1, memory_order_relaxed);
		log_debug("tenant %s: %s id=%llu -> %s/%s", t->name,
			  msg == VSM_MSG_OP ? "op" : "request", (unsigned long long)id,
			  vsm_status_name(st), vsm_detail_name(detail));
	}
	atomic_fetch_add_explicit(&t->ops, 1, memory_order_relaxed);
	ri->status = st;
	ri->bytes_out = out_len;
	return out_len;
}

int vsm_dispatch_shm(struct vsm_tenant *t, struct vsm_proto *ps, uint64_t id, uint16_t msg,
		     const uint8_t *payload, uint32_t len, const struct vsm_wire_op *op,
		     uint8_t *body, size_t cap, size_t *out_len, int *detail,
		     struct vsm_req_info *ri)
{
	int st;
	request_init(ri, msg, len);
	*out_len = 0;
	*detail = VSM_D_NONE;
	if (cap > t->limits.max_msg)
		cap = t->limits.max_msg;
	switch (msg) {
	case VSM_MSG_SESSION_CREATE:
		st = do_session_create(t, payload, len, body, cap, out_len, detail, &ri->svc);
		break;
	case VSM_MSG_SESSION_DESTROY:
		st = do_session_destroy(t, payload, len, detail);
		break;
	case VSM_MSG_OP:
		st = run_op(t, ps, op, body, cap, out_len, detail, ri);
		break;
	case VSM_MSG_RANDOM:
		st = do_random(payload, len, body, cap, out_len, detail);
		break;
	case VSM_MSG_STATUS:
		st = do_status(t, len, body, cap, out_len, detail);
		break;
	case VSM_MSG_KEY:
		st = do_key(t, ps, payload, len, body, cap, out_len, detail);
		break;
	default: /* HELLO, SHM_SETUP and NOP are the transport's own */
		st = VSM_S_BADMSG;
		*detail = VSM_D_PROTOCOL;
		break;
	}
	*out_len = request_done(t, id, msg, st, *detail, *out_len, ri);
	return st;
}

size_t vsm_dispatch(struct vsm_tenant *t, struct vsm_proto *ps, const struct vsm_wire_hdr *h,
		    const uint8_t *payload, uint8_t *out, size_t cap, bool *close_after,
		    struct vsm_req_info *ri)
{
	request_init(ri, h->op, h->len);
	if (cap < VSM_WIRE_HDR_LEN)
		return 0;
	uint8_t *body = out + VSM_WIRE_HDR_LEN;
	size_t room = cap - VSM_WIRE_HDR_LEN;
	if (room > t->limits.max_msg)
		room = t->limits.max_msg;
	size_t out_len = 0;
	int detail = VSM_D_NONE;
	int st;

	*close_after = false;
	if ((h->flags & VSM_HDR_F_RESPONSE) || h->status || h->detail) {
		st = VSM_S_BADMSG;
		detail = VSM_D_PROTOCOL;
		*close_after = true;
	} else if (h->op != VSM_MSG_HELLO && !ps->hello_done) {
		st = VSM_S_BADMSG;
		detail = VSM_D_NO_HELLO;
		*close_after = true;
	} else {
		switch (h->op) {
		case VSM_MSG_HELLO:
			st = do_hello(t, ps, payload, h->len, body, room, &out_len, &detail,
				      close_after);
			break;
		case VSM_MSG_SESSION_CREATE:
			st = do_session_create(t, payload, h->len, body, room, &out_len, &detail,
					       &ri->svc);
			break;
		case VSM_MSG_SESSION_DESTROY:
			st = do_session_destroy(t, payload, h->len, &detail);
			break;
		case VSM_MSG_OP:
			st = do_op(t, ps, payload, h->len, body, room, &out_len, &detail, ri);
			break;
		case VSM_MSG_RANDOM:
			st = do_random(payload, h->len, body, room, &out_len, &detail);
			break;
		case VSM_MSG_STATUS:
			st = do_status(t, h->len, body, room, &out_len, &detail);
			break;
		case VSM_MSG_KEY:
			st = do_key(t, ps, payload, h->len, body, room, &out_len, &detail);
			break;
		case VSM_MSG_NOP:
			/* h->len <= max_msg was checked before the payload was read. */
			if (h->len > room) {
				st = VSM_S_NOSPC;
				detail = VSM_D_TOO_BIG;
				break;
			}
			memcpy(body, payload, h->len);
			out_len = h->len;
			st = VSM_S_OK;
			break;
		default:
			st = VSM_S_BADMSG;
			detail = VSM_D_PROTOCOL;
			*close_after = true;
			break;
		}
	}
	/* A malformed body is a protocol break too: the stream may be desynchronised. */
	if (st == VSM_S_BADMSG && detail == VSM_D_PROTOCOL)
		*close_after = true;
	out_len = request_done(t, h->id, h->op, st, detail, out_len, ri);
	return frame(out, cap, h->op, h->id, st, detail, out_len);
}
