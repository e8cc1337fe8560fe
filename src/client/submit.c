/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Request submission and completion: the asynchronous API, and the
 * submit-then-wait primitive the synchronous calls are built on.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <vsm/vsm.h>

#include "client.h"

uint8_t *vsm_req_begin(struct vsm_client *c, const struct vsm_req *r, int *rc)
{
	if (c->dead) {
		*rc = c->dead;
		return NULL;
	}
	if (c->shm)
		return vsm_shm_begin(c, r, rc);
	if (r->payload_len > c->info.max_msg) {
		*rc = -EMSGSIZE;
		return NULL;
	}
	if (c->inflight >= c->nslots) {
		*rc = -EBUSY;
		return NULL;
	}
	if (c->scap - c->slen < VSM_WIRE_HDR_LEN + r->payload_len) {
		*rc = vsm_io_flush(c, 1);
		if (*rc < 0)
			return NULL;
	}
	return c->sbuf + c->slen + VSM_WIRE_HDR_LEN;
}

uint64_t vsm_req_commit(struct vsm_client *c, const struct vsm_req *r)
{
	struct vsm_wire_hdr h = {
		.len = (uint32_t)r->payload_len,
		.magic = VSM_WIRE_MAGIC,
		.op = r->op,
	};
	struct vsm_slot *s;

	if (c->shm)
		return vsm_shm_commit(c, r);
	s = vsm_slot_claim(c, r);
	h.id = s->id;
	vsm_wire_encode_hdr(c->sbuf + c->slen, VSM_WIRE_HDR_LEN, &h);
	c->slen += VSM_WIRE_HDR_LEN + r->payload_len;
	return h.id;
}

struct vsm_slot *vsm_slot_claim(struct vsm_client *c, const struct vsm_req *r)
{
	/* inflight < nslots (checked in begin), so a free slot is at most nslots ids away. */
	while (c->slots[c->next_id % c->nslots].state != VSM_SLOT_FREE)
		c->next_id++;
	uint64_t id = c->next_id++;
	struct vsm_slot *s = &c->slots[id % c->nslots];
	*s = (struct vsm_slot){
		.id = id,
		.out = r->out,
		.out_cap = r->out_cap,
		.user_data = r->user_data,
		.op = r->op,
		.state = VSM_SLOT_WAIT,
		.sync = r->sync,
		.discard = r->discard,
	};
	c->inflight++;
	return s;
}

int vsm_req_wait(struct vsm_client *c, uint64_t id, size_t *out_len)
{
	struct vsm_slot *s = &c->slots[id % c->nslots];
	int rc;

	vsm_io_flush(c, 1);
	while (s->state == VSM_SLOT_WAIT)
		vsm_io_read(c, -1);
	rc = s->status;
	if (out_len)
		*out_len = s->out_len;
	if (rc > 0)
		c->last_detail = s->detail;
	s->state = VSM_SLOT_FREE;
	c->inflight--;
	return rc;
}

static int len32(size_t n, const void *p, uint32_t *out)
{
	if (n > UINT32_MAX || (n && !p))
		return -EINVAL;
	*out = (uint32_t)n;
	return 0;
}

int vsm_encode_op(struct vsm_client *c, const struct vsm_op *op, void *out, size_t out_cap,
		  void *user_data, uint8_t sync, uint64_t *id)
{
	struct vsm_wire_op m = {
		.session = op->session,
		.op = (uint32_t)op->op,
		.flags = op->flags,
		.dst_len = out_cap > UINT32_MAX ? UINT32_MAX : (uint32_t)out_cap,
		.iv = op->iv,
		.aad = op->aad,
		.src = op->src,
		.aux = op->aux,
	};
	struct vsm_req r = {
		.op = VSM_MSG_OP,
		.out = out,
		.out_cap = out_cap,
		.user_data = user_data,
		.sync = sync,
	};
	uint8_t *p;
	int rc;

	if (op->op <= 0 || (out_cap && !out))
		return -EINVAL;
	if (len32(op->iv_len, op->iv, &m.iv_len) || len32(op->aad_len, op->aad, &m.aad_len) ||
	    len32(op->src_len, op->src, &m.src_len) || len32(op->aux_len, op->aux, &m.aux_len))
		return -EINVAL;
	if (c->dead)
		return c->dead;
	if (c->shm)
		return vsm_shm_encode_op(c, &m, out, out_cap, user_data, sync, id);
	r.payload_len = vsm_wire_op_size(&m);
	p = vsm_req_begin(c, &r, &rc);
	if (!p)
		return rc;
	if (vsm_wire_encode_op(p, r.payload_len, &m) != r.payload_len)
		return -EINVAL;
	*id = vsm_req_commit(c, &r);
	return 0;
}

int vsm_submit(vsm_client *c, const struct vsm_op *op, void *out, size_t out_cap, void *user_data,
	       uint64_t *id)
{
	uint64_t tmp;

	if (!c || !op)
		return -EINVAL;
	return vsm_encode_op(c, op, out, out_cap, user_data, 0, id ? id : &tmp);
}

int vsm_submit_nop(vsm_client *c, const void *buf, size_t len, void *out, size_t out_cap,
		   void *user_data, uint64_t *id)
{
	struct vsm_req r = {
		.op = VSM_MSG_NOP,
		.payload_len = len,
		.out = out,
		.out_cap = out_cap,
		.user_data = user_data,
	};
	uint64_t nid;
	uint8_t *p;
	int rc;

	if (!c || (len && !buf) || (out_cap && !out))
		return -EINVAL;
	if (c->shm) {
		if (c->dead)
			return c->dead;
		return vsm_shm_submit_nop(c, buf, len, out, out_cap, user_data, 0, 0,
					  id ? id : &nid);
	}
	p = vsm_req_begin(c, &r, &rc);
	if (!p)
		return rc;
	if (len)
		memcpy(p, buf, len);
	nid = vsm_req_commit(c, &r);
	if (id)
		*id = nid;
	return 0;
}

int vsm_flush(vsm_client *c)
{
	if (!c)
		return -EINVAL;
	return vsm_io_flush(c, 1);
}

static int reap(struct vsm_client *c, struct vsm_completion *done, int max)
{
	int n = 0;

	while (n < max && c->done_count) {
		struct vsm_slot *s = &c->slots[c->doneq[c->done_head]];

		c->done_head = (c->done_head + 1) % c->nslots;
		c->done_count--;
		done[n++] = (struct vsm_completion){
			.id = s->id,
			.user_data = s->user_data,
			.status = s->status,
			.detail = s->detail,
			.out_len = s->out_len,
		};
		if (s->status > 0)
			c->last_detail = s->detail;
		s->state = VSM_SLOT_FREE;
		c->inflight--;
	}
	return n;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int vsm_poll(vsm_client *c, struct vsm_completion *done, int max, int timeout_ms)
{
	int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
	int n;

	if (!c || !done || max <= 0)
		return -EINVAL;
	vsm_io_flush(c, 1);
	vsm_io_read(c, 0);
	for (;;) {
		int wait = -1;

		n = reap(c, done, max);
		if (n > 0)
			return n;
		if (c->dead)
			return c->dead;
		/* Nothing outstanding: waiting would never end. */
		if (c->inflight == 0 || timeout_ms == 0)
			return 0;
		if (timeout_ms > 0) {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return 0;
			wait = left > INT32_MAX ? INT32_MAX : (int)left;
		}
		vsm_io_read(c, wait);
	}
}

unsigned vsm_inflight(const vsm_client *c)
{
	return c ? c->inflight : 0;
}

int vsm_fd(const vsm_client *c)
{
	if (!c)
		return -EINVAL;
	if (c->shm || c->fd < 0)
		return -ENOTSUP;
	return c->fd;
}
