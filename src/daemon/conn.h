/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A stream connection: receive buffer -> frames -> dispatch -> send buffer.
 * vsm_conn_process() does no I/O; the worker moves bytes in and out. That
 * keeps the framing logic testable and fuzzable on its own.
 */
#ifndef VSM_CONN_H
#define VSM_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/dispatch.h"

struct vsm_worker;

struct vsm_conn {
	int fd;
	struct vsm_tenant *t;
	struct vsm_worker *w;
	struct vsm_proto ps;
	char peer[64];

	uint8_t *rx;
	size_t rx_len, rx_cap;
	uint8_t *tx;
	size_t tx_off, tx_len, tx_cap; /* bytes [tx_off, tx_len) are unsent */
	uint64_t discard;	       /* payload bytes of an oversize frame still to drop */
	unsigned unsent;	       /* responses in tx, counted in t->inflight */

	bool readable, writable; /* edge-triggered readiness we have not used up */
	bool eof;		 /* peer shut down its sending side */
	bool closing;		 /* protocol break: send what is queued, then close */
	bool blocked;		 /* held back by in-flight limit or QoS until wake_at */
	uint64_t wake_at;	 /* monotonic ns */
	uint64_t qos_at;	 /* head frame's QoS reservation: may run then; 0 = none */
	uint64_t qos_since;	 /* when the head frame started waiting for QoS */
	uint64_t qos_prev_at;	 /* slot of the frame that passed last, while more are queued */
	unsigned qos_gen;
	unsigned kick_gen;
	/* tenant kick_gen at accept; a change closes us */ /* QoS generation the
							       reservation was made under */
	bool active;					    /* on the worker's active list */
	struct vsm_conn *next_active;

	/* Shared-memory binding (SHM_SETUP on a unix-socket connection). */
	bool is_unix;
	bool is_ivshmem; /* releases the tenant's ivshmem binding when freed */
	struct vsm_shm *shm;
	bool shm_watched;	/* its SQ doorbell is in the worker's epoll */
	uint64_t shm_last_work; /* for adaptive polling */
	int pass_fds[3];	/* to send with the next bytes (SCM_RIGHTS) */
	unsigned n_pass_fds;
	struct vsm_conn *prev, *next; /* all connections of the worker */
};

/* Why vsm_conn_process stopped. */
enum vsm_conn_state {
	VSM_CONN_IDLE,	   /* no complete frame buffered */
	VSM_CONN_BUDGET,   /* used its turn; more frames are ready */
	VSM_CONN_TX_FULL,  /* send buffer high: wait until it drains */
	VSM_CONN_INFLIGHT, /* tenant at max_inflight: retry shortly */
	VSM_CONN_QOS,	   /* head frame waits for its QoS time (c->wake_at) */
	VSM_CONN_CLOSE,	   /* protocol break: flush and close */
	VSM_CONN_NOMEM,	   /* could not grow a buffer: close */
};

struct vsm_conn *vsm_conn_new(int fd, struct vsm_tenant *t, const char *peer);
/* Detaches from the tenant (returning its in-flight count) and frees. */
void vsm_conn_free(struct vsm_conn *c);

/*
 * Make room for at least want more bytes at rx + rx_len (bounded by the
 * tenant's max frame). Returns free space, 0 if the buffer is full.
 */
size_t vsm_conn_rx_space(struct vsm_conn *c);

/* Handle up to budget complete frames from rx into tx. */
enum vsm_conn_state vsm_conn_process(struct vsm_conn *c, unsigned budget);

/*
 * Answer every complete request still in rx with status/detail instead of
 * running it (drain deadline). Returns how many were answered.
 */
size_t vsm_conn_refuse(struct vsm_conn *c, int status, int detail);

/*
 * QoS for the request at the head of this connection (stream or ring),
 * costing `cost` bytes. Returns true if it must wait until c->wake_at;
 * otherwise *waited is how long it was held back.
 */
bool vsm_conn_qos_wait(struct vsm_conn *c, uint64_t cost, uint64_t now, uint64_t *waited);

/* Call after sending n bytes of tx. */
void vsm_conn_sent(struct vsm_conn *c, size_t n);

static inline bool vsm_conn_tx_pending(const struct vsm_conn *c)
{
	return c->tx_len > c->tx_off;
}

#endif
