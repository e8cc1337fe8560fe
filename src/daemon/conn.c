/* SPDX-License-Identifier: Apache-2.0 */
#include "daemon/conn.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include "daemon/admin.h"
#include "daemon/log.h"
#include "daemon/qos.h"
#include "transport/shm.h"

#define RX_INITIAL (64u * 1024u)
#define TX_INITIAL (64u * 1024u)
/* Stop taking requests while this much output waits for the peer to read. */
#define TX_HIGH (256u * 1024u)
/* Buffers grown past this go back to their initial size once idle. */
#define SHRINK_ABOVE (256u * 1024u)
/*
 * A turn also ends after this much work, so a tenant pipelining expensive
 * operations (RSA-4096 signatures) holds the worker for one of them, not 32.
 */
#define TURN_NS 1000000u

struct vsm_conn *vsm_conn_new(int fd, struct vsm_tenant *t, const char *peer)
{
	struct vsm_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->rx = malloc(RX_INITIAL);
	c->tx = malloc(TX_INITIAL);
	if (!c->rx || !c->tx) {
		free(c->rx);
		free(c->tx);
		free(c);
		return NULL;
	}
	c->rx_cap = RX_INITIAL;
	c->tx_cap = TX_INITIAL;
	c->fd = fd;
	c->t = t;
	/* Shared memory needs fd passing: the unix listener turns it on. */
	c->ps.offer = VSM_FEAT__ALL & ~VSM_FEAT_SHM;
	c->kick_gen = atomic_load(&t->kick_gen);
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	return c;
}

static void settle_inflight(struct vsm_conn *c)
{
	if (c->unsent) {
		atomic_fetch_sub_explicit(&c->t->inflight, c->unsent, memory_order_relaxed);
		c->unsent = 0;
	}
}

void vsm_conn_free(struct vsm_conn *c)
{
	settle_inflight(c);
	vsm_shm_destroy(c->shm);
	if (c->is_ivshmem)
		atomic_store(&c->t->ivshmem_bound, false);
	/* Close first: once the count says the tenant is gone, so is the socket. */
	if (c->fd >= 0)
		close(c->fd);
	vsm_tenant_detach(c->t);
	/* Request and response bytes may hold plaintext or keys in transit. */
	OPENSSL_cleanse(c->rx, c->rx_cap);
	OPENSSL_cleanse(c->tx, c->tx_cap);
	free(c->rx);
	free(c->tx);
	free(c);
}

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap;
	while (n < need)
		n *= 2;
	/* The old block may hold keys or plaintext: clear_realloc wipes it. */
	uint8_t *p = OPENSSL_clear_realloc(*buf, *cap, n);
	if (!p)
		return -1;
	*buf = p;
	*cap = n;
	return 0;
}

size_t vsm_conn_rx_space(struct vsm_conn *c)
{
	/* Reading more than one maximal frame ahead only buffers the tenant's backlog. */
	size_t limit = VSM_WIRE_HDR_LEN + (size_t)c->t->limits.max_msg;
	if (limit < RX_INITIAL)
		limit = RX_INITIAL;
	if (c->rx_len >= limit)
		return 0;
	if (c->rx_len == c->rx_cap && grow(&c->rx, &c->rx_cap, c->rx_cap * 2) < 0)
		return 0;
	size_t cap = c->rx_cap < limit ? c->rx_cap : limit;
	return cap - c->rx_len;
}

/* Give an idle, oversized buffer back: one big request should not pin megabytes. */
static void shrink(uint8_t **buf, size_t *cap, size_t to)
{
	if (*cap <= SHRINK_ABOVE)
		return;
	uint8_t *p = OPENSSL_clear_realloc(*buf, *cap, to);
	if (p) {
		*buf = p;
		*cap = to;
	}
}

void vsm_conn_sent(struct vsm_conn *c, size_t n)
{
	c->tx_off += n;
	if (c->tx_off == c->tx_len) {
		c->tx_off = c->tx_len = 0;
		settle_inflight(c);
		shrink(&c->tx, &c->tx_cap, TX_INITIAL);
	}
}

/* Queue a response frame (already written at tx + tx_len, n bytes). */
static void queued(struct vsm_conn *c, size_t n)
{
	c->tx_len += n;
	c->unsent++;
	atomic_fetch_add_explicit(&c->t->inflight, 1, memory_order_relaxed);
}

static void record_invalid(struct vsm_tenant *t, int status)
{
	struct vsm_req_info ri = {VSM_STAT_SVC_NONE, VSM_K_INVALID, status, 0, 0, NULL};
	vsm_stats_record(t->stats, &ri, 0, 0);
}

/*
 * QoS for the frame at the head of rx. Returns true if it must wait (until
 * c->wake_at). A reservation made under older limits is made again.
 */
/*
 * Bytes QoS charges for a request: its payload, and for RANDOM the bytes it
 * asks for, or throttle_bps could be dodged by asking vsmd to send data.
 */
static uint64_t qos_cost(const struct vsm_wire_hdr *h, const uint8_t *payload)
{
	uint32_t n;
	if (h->op == VSM_MSG_RANDOM && vsm_wire_decode_u32(payload, h->len, &n) == VSM_S_OK)
		return (uint64_t)h->len + n;
	return h->len;
}

bool vsm_conn_qos_wait(struct vsm_conn *c, uint64_t len, uint64_t now, uint64_t *waited)
{
	struct vsm_qos *q = &c->t->qos;
	if (!vsm_qos_limited(q)) {
		/* Limits were lifted while it waited. */
		*waited = c->qos_at ? now - c->qos_since : 0;
		c->qos_at = 0;
		return false;
	}
	unsigned gen = atomic_load_explicit(&q->gen, memory_order_relaxed);
	if (!c->qos_at || c->qos_gen != gen) {
		if (!c->qos_at)
			c->qos_since = now;
		/*
		 * A frame that was already queued behind the previous one arrived
		 * no later than that one's slot: schedule it from there, or every
		 * late wake-up of the worker would be lost throughput.
		 */
		uint64_t arrival = c->qos_prev_at && c->qos_prev_at < now ? c->qos_prev_at : now;
		c->qos_at = vsm_qos_reserve(q, len, arrival);
		c->qos_gen = gen;
	}
	if (now < c->qos_at) {
		c->wake_at = c->qos_at;
		return true;
	}
	*waited = now - c->qos_since;
	c->qos_prev_at = c->qos_at;
	c->qos_at = 0;
	return false;
}

/*
 * SHM_SETUP: make this connection's region and hand it over. It is the one
 * request that does I/O beyond bytes (three descriptors go with the
 * response), so the connection handles it rather than dispatch.
 */
static size_t shm_setup(struct vsm_conn *c, const struct vsm_wire_hdr *h, const uint8_t *p,
			uint8_t *out, size_t cap, bool *close_after, struct vsm_req_info *ri)
{
	struct vsm_tenant *t = c->t;
	struct vsm_wire_shm_setup m;
	int st = VSM_S_OK, detail = VSM_D_NONE;
	size_t len = 0;

	*ri = (struct vsm_req_info){VSM_STAT_SVC_NONE, VSM_K_SHM_SETUP, VSM_S_OK, 0, 0, NULL};
	*close_after = false;
	if (!c->ps.hello_done) {
		st = VSM_S_BADMSG;
		detail = VSM_D_NO_HELLO;
		*close_after = true;
	} else if (vsm_wire_decode_shm_setup(p, h->len, &m) != VSM_S_OK) {
		st = VSM_S_BADMSG;
		detail = VSM_D_PROTOCOL;
		*close_after = true;
	} else if (!(c->ps.features & VSM_FEAT_SHM)) {
		st = VSM_S_NOTSUPP; /* not a unix socket, or not negotiated */
	} else if (c->shm) {
		st = VSM_S_BADMSG; /* one region per connection */
		detail = VSM_D_BAD_OP;
	} else {
		char err[160];
		uint8_t algs[VSM_ALG__MAX / 8];
		vsm_router_algs(algs);
		c->shm = vsm_shm_create(m.entries, m.data_size, t->limits.max_msg, t->name, algs,
					err, sizeof(err));
		if (!c->shm) {
			log_warn("tenant %s (%s): shm setup refused: %s", t->name, c->peer, err);
			st = VSM_S_NOTSUPP;
		} else {
			struct vsm_wire_shm_setup r = {c->shm->entries, c->shm->data_size, 0};
			len = vsm_wire_encode_shm_setup(out + VSM_WIRE_HDR_LEN,
							cap - VSM_WIRE_HDR_LEN, &r);
			c->pass_fds[0] = c->shm->memfd;
			c->pass_fds[1] = c->shm->sq_efd;
			c->pass_fds[2] = c->shm->cq_efd;
			c->n_pass_fds = 3;
			log_info("tenant %s (%s): shared memory: %u entries, %u KiB data", t->name,
				 c->peer, r.entries, r.data_size >> 10);
		}
	}
	atomic_fetch_add_explicit(&t->ops, 1, memory_order_relaxed);
	if (st != VSM_S_OK)
		atomic_fetch_add_explicit(&t->errors, 1, memory_order_relaxed);
	ri->status = st;
	ri->bytes_out = len;
	return vsm_dispatch_frame(out, cap, h->op, h->id, st, detail, len);
}

enum vsm_conn_state vsm_conn_process(struct vsm_conn *c, unsigned budget)
{
	struct vsm_tenant *t = c->t;
	size_t off = 0;
	uint64_t spent = 0;
	enum vsm_conn_state st = VSM_CONN_IDLE;

	while (!c->closing) {
		if (c->discard) {
			size_t n = c->rx_len - off < c->discard ? c->rx_len - off : c->discard;
			off += n;
			c->discard -= n;
			if (c->discard)
				break;
			continue;
		}
		size_t avail = c->rx_len - off;
		if (avail < VSM_WIRE_HDR_LEN)
			break;
		if (budget == 0 || spent >= TURN_NS) {
			st = VSM_CONN_BUDGET;
			break;
		}
		if (c->tx_len - c->tx_off >= TX_HIGH) {
			st = VSM_CONN_TX_FULL;
			break;
		}
		if (atomic_load_explicit(&t->inflight, memory_order_relaxed) >=
		    t->limits.max_inflight) {
			st = VSM_CONN_INFLIGHT;
			break;
		}
		/* Output goes straight after what is queued: compact first. */
		if (c->tx_off && c->tx_off == c->tx_len)
			c->tx_off = c->tx_len = 0;
		/* Room for any error response; a payload-bearing one grows below. */
		if (grow(&c->tx, &c->tx_cap, c->tx_len + 128) < 0) {
			st = VSM_CONN_NOMEM;
			break;
		}
		uint8_t *out = c->tx + c->tx_len;
		size_t cap = c->tx_cap - c->tx_len;

		/* rx is private memory: decoding from it cannot race with the peer. */
		const uint8_t *p = c->rx + off;
		struct vsm_wire_hdr h;
		if (vsm_wire_decode_hdr(p, avail, &h) != VSM_S_OK) {
			/* h is filled even when rejected: echo the id to help debugging. */
			queued(c,
			       vsm_dispatch_error(out, cap, 0, h.id, VSM_S_BADMSG, VSM_D_PROTOCOL));
			record_invalid(t, VSM_S_BADMSG);
			log_warn("tenant %s (%s): malformed frame header, closing", t->name,
				 c->peer);
			c->closing = true;
			st = VSM_CONN_CLOSE;
			break;
		}
		if (h.len > t->limits.max_msg) {
			queued(c, vsm_dispatch_error(out, cap, h.op, h.id, VSM_S_NOSPC,
						     VSM_D_TOO_BIG));
			atomic_fetch_add_explicit(&t->errors, 1, memory_order_relaxed);
			atomic_fetch_add_explicit(&t->ops, 1, memory_order_relaxed);
			record_invalid(t, VSM_S_NOSPC);
			log_debug("tenant %s: frame of %u bytes over max_msg %u, discarded",
				  t->name, h.len, t->limits.max_msg);
			off += VSM_WIRE_HDR_LEN;
			c->discard = h.len;
			budget--;
			continue;
		}
		if (avail - VSM_WIRE_HDR_LEN < h.len)
			break; /* rest of the frame not here yet */
		uint64_t now = 0, qos_wait = 0;
		if (vsm_dispatch_metered(h.op) && (c->qos_at || vsm_qos_limited(&t->qos))) {
			now = vsm_mono_ns();
			if (vsm_conn_qos_wait(c, qos_cost(&h, p + VSM_WIRE_HDR_LEN), now,
					      &qos_wait)) {
				st = VSM_CONN_QOS;
				break;
			}
		}
		size_t need = vsm_dispatch_out_need(t, &h, p + VSM_WIRE_HDR_LEN);
		if (grow(&c->tx, &c->tx_cap, c->tx_len + need) < 0) {
			st = VSM_CONN_NOMEM;
			break;
		}
		out = c->tx + c->tx_len;
		cap = c->tx_cap - c->tx_len;
		bool close_after = false;
		struct vsm_req_info ri;
		if (!now)
			now = vsm_mono_ns();
		size_t n = h.op == VSM_MSG_SHM_SETUP
				   ? shm_setup(c, &h, p + VSM_WIRE_HDR_LEN, out, cap, &close_after,
					       &ri)
				   : vsm_dispatch(t, &c->ps, &h, p + VSM_WIRE_HDR_LEN, out, cap,
						  &close_after, &ri);
		uint64_t took = vsm_mono_ns() - now;
		spent += took;
		vsm_stats_record(t->stats, &ri, took, qos_wait);
		if (ri.engine)
			vsm_engine_use_add(ri.engine, took);
		off += VSM_WIRE_HDR_LEN + h.len;
		budget--;
		if (n)
			queued(c, n);
		if (close_after) {
			log_warn("tenant %s (%s): protocol violation (op %u), closing", t->name,
				 c->peer, h.op);
			c->closing = true;
			st = VSM_CONN_CLOSE;
			break;
		}
	}
	if (c->closing)
		st = VSM_CONN_CLOSE;
	if (off) {
		/* Wipe consumed requests: they may carry keys and plaintext. */
		memmove(c->rx, c->rx + off, c->rx_len - off);
		OPENSSL_cleanse(c->rx + c->rx_len - off, off);
		c->rx_len -= off;
	}
	if (c->rx_len == 0) {
		c->qos_prev_at = 0; /* the next frame is a new arrival */
		shrink(&c->rx, &c->rx_cap, RX_INITIAL);
	}
	return st;
}

size_t vsm_conn_refuse(struct vsm_conn *c, int status, int detail)
{
	size_t off = 0, n = 0;
	while (c->rx_len - off >= VSM_WIRE_HDR_LEN) {
		struct vsm_wire_hdr h;
		if (vsm_wire_decode_hdr(c->rx + off, c->rx_len - off, &h) != VSM_S_OK ||
		    c->rx_len - off - VSM_WIRE_HDR_LEN < h.len ||
		    grow(&c->tx, &c->tx_cap, c->tx_len + VSM_WIRE_HDR_LEN) < 0)
			break;
		queued(c, vsm_dispatch_error(c->tx + c->tx_len, c->tx_cap - c->tx_len, h.op, h.id,
					     status, detail));
		off += VSM_WIRE_HDR_LEN + h.len;
		n++;
	}
	OPENSSL_cleanse(c->rx, c->rx_len);
	c->rx_len = 0;
	return n;
}
