/* SPDX-License-Identifier: Apache-2.0 */
#include "transport/shm.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "daemon/admin.h"
#include "daemon/conn.h"
#include "daemon/dispatch.h"
#include "daemon/log.h"
#include "daemon/qos.h"

#define ALIGN(x, a) (((x) + (a)-1) & ~((size_t)(a)-1))

static void shm_free(struct vsm_shm *s)
{
	if (s->base && s->base != MAP_FAILED)
		munmap(s->base, s->size);
	if (s->memfd >= 0)
		close(s->memfd);
	if (s->sq_efd >= 0)
		close(s->sq_efd);
	if (s->cq_efd >= 0)
		close(s->cq_efd);
	if (s->scratch)
		OPENSSL_clear_free(s->scratch, s->scratch_cap);
	free(s);
}

struct vsm_shm *vsm_shm_create(uint32_t entries, uint32_t data_size, uint32_t max_msg,
			       const char *tenant, const uint8_t *algs, char *err, size_t errlen)
{
	if (!entries)
		entries = VSM_SHM_DEFAULT_ENTRIES;
	bool dflt = !data_size;
	if (entries < VSM_SHM_MIN_ENTRIES || entries > VSM_SHM_MAX_ENTRIES ||
	    (entries & (entries - 1))) {
		snprintf(err, errlen, "ring entries must be a power of two in %u..%u",
			 VSM_SHM_MIN_ENTRIES, VSM_SHM_MAX_ENTRIES);
		return NULL;
	}
	size_t sq_off = VSM_SHM_HDR_SIZE;
	size_t cq_off = ALIGN(sq_off + (size_t)entries * sizeof(struct vsm_shm_sqe), 64);
	size_t data_off = ALIGN(cq_off + (size_t)entries * sizeof(struct vsm_shm_cqe), 4096);
	/*
	 * The whole region is a power of two: QEMU maps it as a PCI BAR, which
	 * must be. The data area takes the slack, so it is at least what was
	 * asked for (the default region is exactly 4 MiB).
	 */
	size_t total = 4096;
	size_t want = dflt ? VSM_SHM_DEFAULT_DATA : data_off + (size_t)data_size;
	while (total < want && total <= VSM_SHM_MAX_REGION)
		total <<= 1;
	if (total <= data_off)
		total <<= 1;
	size_t dsize = total - data_off;
	if (data_off + dsize > VSM_SHM_MAX_REGION) {
		snprintf(err, errlen, "region over %u MiB", VSM_SHM_MAX_REGION >> 20);
		return NULL;
	}

	struct vsm_shm *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->memfd = s->sq_efd = s->cq_efd = -1;
	s->size = data_off + dsize;
	/*
	 * Sealed against resizing: a tenant that could shrink the file would
	 * make vsmd fault (SIGBUS) on pages it still maps.
	 */
	s->memfd = memfd_create("vsm-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (s->memfd < 0 || ftruncate(s->memfd, (off_t)s->size) < 0 ||
	    fcntl(s->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		snprintf(err, errlen, "memfd: %s", strerror(errno));
		shm_free(s);
		return NULL;
	}
	s->base = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_SHARED, s->memfd, 0);
	s->sq_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->cq_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->base == MAP_FAILED || s->sq_efd < 0 || s->cq_efd < 0) {
		snprintf(err, errlen, "mmap/eventfd: %s", strerror(errno));
		shm_free(s);
		return NULL;
	}
	s->hdr = (struct vsm_shm_hdr *)s->base;
	s->sq = (struct vsm_shm_sqe *)(s->base + sq_off);
	s->cq = (struct vsm_shm_cqe *)(s->base + cq_off);
	s->data = s->base + data_off;
	s->data_size = (uint32_t)dsize;
	s->entries = entries;
	s->mask = entries - 1;

	struct vsm_shm_hdr *h = s->hdr;
	h->magic = VSM_SHM_MAGIC;
	h->version = VSM_SHM_VERSION;
	h->hdr_size = VSM_SHM_HDR_SIZE;
	h->region_size = (uint32_t)s->size;
	h->sq_entries = h->cq_entries = entries;
	h->sq_off = (uint32_t)sq_off;
	h->cq_off = (uint32_t)cq_off;
	h->data_off = (uint32_t)data_off;
	h->data_size = s->data_size;
	h->max_msg = max_msg;
	memcpy(h->algs, algs, sizeof(h->algs));
	snprintf(h->tenant, sizeof(h->tenant), "%s", tenant);
	return s;
}

void vsm_shm_destroy(struct vsm_shm *s)
{
	if (s)
		shm_free(s);
}

bool vsm_shm_sleep(struct vsm_shm *s)
{
	__atomic_store_n(&s->hdr->vsmd_flags, VSM_SHM_NEED_WAKEUP, __ATOMIC_RELAXED);
	s->sleeping = true;
	/* Pairs with the client's fence between publishing sq_tail and reading our flag. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	uint32_t tail = __atomic_load_n(&s->hdr->sq_tail, __ATOMIC_ACQUIRE);
	uint32_t cq_head = __atomic_load_n(&s->hdr->cq_head, __ATOMIC_ACQUIRE);
	/*
	 * Sleep when there is nothing to do, or when the client has not reaped
	 * (a full completion ring): it rings the SQ doorbell after reaping if
	 * it sees our flag, so neither case needs the worker to spin.
	 */
	return tail == s->sq_head || s->cq_tail - cq_head >= s->entries;
}

void vsm_shm_doorbell(struct vsm_shm *s)
{
	uint64_t v;
	while (read(s->sq_efd, &v, sizeof(v)) == sizeof(v))
		;
}

static void complete(struct vsm_shm *s, uint64_t id, int status, int detail, uint32_t out_len)
{
	struct vsm_shm_cqe *e = &s->cq[s->cq_tail & s->mask];
	e->id = id;
	e->status = (uint16_t)status;
	e->detail = (uint16_t)detail;
	e->out_len = out_len;
	s->cq_tail++;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/* Private copy of a non-OP payload: keys and parameters must not change under us. */
static const uint8_t *copy_in(struct vsm_shm *s, uint32_t off, uint32_t len)
{
	if (len > s->scratch_cap) {
		uint8_t *p = OPENSSL_clear_realloc(s->scratch, s->scratch_cap, len);
		if (!p)
			return NULL;
		s->scratch = p;
		s->scratch_cap = len;
	}
	if (len)
		memcpy(s->scratch, s->data + off, len);
	return s->scratch;
}

/*
 * One submission, already copied into e. Returns false on a protocol break
 * (its completion says BADMSG/PROTOCOL; the caller disconnects).
 */
static bool run_one(struct vsm_conn *c, struct vsm_shm *s, const struct vsm_shm_sqe *e,
		    const uint8_t *priv, uint64_t qos_wait)
{
	struct vsm_tenant *t = c->t;
	uint64_t t0 = vsm_mono_ns();
	struct vsm_req_info ri = {VSM_STAT_SVC_NONE, VSM_K_INVALID, VSM_S_OK, 0, 0, NULL};
	int st = VSM_S_OK, detail = VSM_D_NONE;
	size_t out_len = 0;
	bool ok = true, dispatched = false;
	uint32_t max_msg = t->limits.max_msg;
	uint32_t out_cap = e->out_cap < max_msg ? e->out_cap : max_msg;
	uint8_t *out = s->data + e->out_off;

	if (e->req_len > max_msg) {
		st = VSM_S_NOSPC;
		detail = VSM_D_TOO_BIG;
	} else if (e->msg == VSM_MSG_NOP) {
		ri.kind = VSM_K_NOP;
		ri.bytes_in = e->req_len;
		if (e->out_off != e->req_off &&
		    overlaps(e->req_off, e->req_len, e->out_off, out_cap)) {
			st = VSM_S_BADMSG;
			detail = VSM_D_BAD_LENGTH;
		} else if (out_cap < e->req_len) {
			st = VSM_S_NOSPC;
			detail = VSM_D_OUTPUT_SPACE;
			if (out_cap >= 4) {
				vsm_wire_encode_u32(out, out_cap, e->req_len);
				out_len = 4;
			}
		} else {
			/* In place (out == req) is the zero-copy null op: nothing to move. */
			if (e->out_off != e->req_off)
				memcpy(out, s->data + e->req_off, e->req_len);
			out_len = e->req_len;
		}
	} else if (e->msg == VSM_MSG_OP) {
		struct vsm_wire_op m;
		uint8_t fixed[VSM_WIRE_OP_LEN];
		if (e->req_len < VSM_WIRE_OP_LEN) {
			st = VSM_S_BADMSG;
			detail = VSM_D_PROTOCOL;
			ok = false;
		} else {
			/* Fixed part copied once; lengths come only from this copy. */
			memcpy(fixed, s->data + e->req_off, sizeof(fixed));
			uint32_t data_off = e->req_off + VSM_WIRE_OP_LEN;
			if (vsm_wire_decode_op_parts(fixed, s->data + data_off,
						     e->req_len - VSM_WIRE_OP_LEN,
						     &m) != VSM_S_OK) {
				st = VSM_S_BADMSG;
				detail = VSM_D_PROTOCOL;
				ok = false;
			} else {
				/* Exactly in place over src is allowed; any other overlap is not.
				 */
				uint64_t src_off = (uint64_t)data_off + m.iv_len + m.aad_len;
				bool in_place = e->out_off == src_off;
				if (!in_place &&
				    overlaps(e->req_off, e->req_len, e->out_off, out_cap)) {
					st = VSM_S_BADMSG;
					detail = VSM_D_BAD_LENGTH;
				} else {
					dispatched = true;
					st = vsm_dispatch_shm(t, &c->ps, e->id, VSM_MSG_OP, NULL, 0,
							      &m, out, out_cap, &out_len, &detail,
							      &ri);
				}
			}
		}
	} else {
		if (overlaps(e->req_off, e->req_len, e->out_off, out_cap)) {
			st = VSM_S_BADMSG;
			detail = VSM_D_BAD_LENGTH;
		} else if (!priv && e->req_len) {
			st = VSM_S_ERR;
			detail = VSM_D_ENGINE;
		} else {
			dispatched = true;
			st = vsm_dispatch_shm(t, &c->ps, e->id, e->msg, priv, e->req_len, NULL, out,
					      out_cap, &out_len, &detail, &ri);
			if (st == VSM_S_BADMSG && detail == VSM_D_PROTOCOL)
				ok = false;
		}
		/* SESSION_CREATE carried a key: it must not linger in the scratch copy. */
		if (priv && e->req_len)
			OPENSSL_cleanse(s->scratch, e->req_len);
	}
	if (!dispatched) {
		/* Answered by the transport itself (NOP, or refused): count it here. */
		if (st != VSM_S_OK && !(st == VSM_S_NOSPC && detail == VSM_D_OUTPUT_SPACE))
			out_len = 0;
		atomic_fetch_add_explicit(&t->ops, 1, memory_order_relaxed);
		if (st != VSM_S_OK)
			atomic_fetch_add_explicit(&t->errors, 1, memory_order_relaxed);
		ri.status = st;
		ri.bytes_out = out_len;
	}
	uint64_t took = vsm_mono_ns() - t0;
	vsm_stats_record(t->stats, &ri, took, qos_wait);
	if (ri.engine)
		vsm_engine_use_add(ri.engine, took);
	complete(s, e->id, st, detail, (uint32_t)out_len);
	return ok;
}

/* A submission the ring protocol does not allow: disconnect material. */
static bool sqe_valid(const struct vsm_shm *s, const struct vsm_shm_sqe *e)
{
	if (e->flags)
		return false;
	for (size_t i = 0; i < sizeof(e->reserved) / sizeof(e->reserved[0]); i++)
		if (e->reserved[i])
			return false;
	switch (e->msg) {
	case VSM_MSG_SESSION_CREATE:
	case VSM_MSG_SESSION_DESTROY:
	case VSM_MSG_OP:
	case VSM_MSG_RANDOM:
	case VSM_MSG_STATUS:
	case VSM_MSG_KEY:
	case VSM_MSG_NOP:
		break;
	default:
		return false;
	}
	return (uint64_t)e->req_off + e->req_len <= s->data_size &&
	       (uint64_t)e->out_off + e->out_cap <= s->data_size;
}

static void publish(struct vsm_shm *s)
{
	__atomic_store_n(&s->hdr->sq_head, s->sq_head, __ATOMIC_RELEASE);
	__atomic_store_n(&s->hdr->cq_tail, s->cq_tail, __ATOMIC_RELEASE);
	/* Pairs with the client's fence between setting its flag and re-checking cq_tail. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->hdr->client_flags, __ATOMIC_RELAXED) & VSM_SHM_NEED_WAKEUP) {
		uint64_t one = 1;
		if (write(s->cq_efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_warn("shm doorbell: %s", strerror(errno));
	}
}

enum vsm_shm_state vsm_shm_process(struct vsm_conn *c, unsigned budget, unsigned *done)
{
	struct vsm_shm *s = c->shm;
	struct vsm_tenant *t = c->t;
	enum vsm_shm_state st = VSM_SHM_IDLE;
	uint32_t produced = s->cq_tail;

	*done = 0;
	if (s->sleeping) {
		__atomic_store_n(&s->hdr->vsmd_flags, 0, __ATOMIC_RELAXED);
		s->sleeping = false;
	}
	uint32_t tail = __atomic_load_n(&s->hdr->sq_tail, __ATOMIC_ACQUIRE);
	uint32_t cq_head = __atomic_load_n(&s->hdr->cq_head, __ATOMIC_ACQUIRE);
	/* Indices moved backwards or past the ring: the tenant broke the protocol. */
	if (tail - s->sq_head > s->entries || s->cq_tail - cq_head > s->entries) {
		log_warn("tenant %s (%s): shm ring indices out of range, disconnecting", t->name,
			 c->peer);
		return VSM_SHM_BROKEN;
	}
	while (s->sq_head != tail) {
		if (budget == 0) {
			st = VSM_SHM_BUDGET;
			break;
		}
		if (s->cq_tail - cq_head >= s->entries) {
			cq_head = __atomic_load_n(&s->hdr->cq_head, __ATOMIC_ACQUIRE);
			if (s->cq_tail - cq_head >= s->entries) {
				st = VSM_SHM_CQ_FULL;
				break;
			}
		}
		/*
		 * The one read of this entry: from here on only the copy counts,
		 * also across a wait for QoS, so what runs is what was charged.
		 */
		struct vsm_shm_sqe e;
		const uint8_t *priv = NULL;
		if (s->held) {
			e = s->held_sqe;
			priv = s->held_priv;
			s->held = false;
			goto copied;
		}
		memcpy(&e, &s->sq[s->sq_head & s->mask], sizeof(e));
		if (!sqe_valid(s, &e)) {
			complete(s, e.id, VSM_S_BADMSG, VSM_D_PROTOCOL, 0);
			s->sq_head++;
			publish(s);
			log_warn("tenant %s (%s): invalid shm descriptor, disconnecting", t->name,
				 c->peer);
			return VSM_SHM_BROKEN;
		}
		/*
		 * Messages other than OP and NOP are copied whole before anything
		 * reads them, QoS included: RANDOM is charged what the copy asks for.
		 */
		if (e.msg != VSM_MSG_OP && e.msg != VSM_MSG_NOP && e.req_len <= t->limits.max_msg)
			priv = copy_in(s, e.req_off, e.req_len);
	copied:;
		uint64_t qos_wait = 0;
		if (vsm_dispatch_metered(e.msg) && (c->qos_at || vsm_qos_limited(&t->qos))) {
			uint64_t cost = e.req_len;
			uint32_t n;
			if (e.msg == VSM_MSG_RANDOM && priv &&
			    vsm_wire_decode_u32(priv, e.req_len, &n) == VSM_S_OK)
				cost += n;
			if (vsm_conn_qos_wait(c, cost, vsm_mono_ns(), &qos_wait)) {
				s->held = true;
				s->held_sqe = e;
				s->held_priv = priv;
				st = VSM_SHM_QOS;
				break;
			}
		}
		bool ok = run_one(c, s, &e, priv, qos_wait);
		s->sq_head++;
		budget--;
		(*done)++;
		if (!ok) {
			publish(s);
			log_warn("tenant %s (%s): malformed shm request, disconnecting", t->name,
				 c->peer);
			return VSM_SHM_BROKEN;
		}
	}
	if (s->cq_tail != produced || *done)
		publish(s);
	return st;
}
