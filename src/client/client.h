/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private state of a libvsm connection.
 *
 * Requests live in a table of max_inflight slots allocated at connect time, so
 * the request path never allocates. Ids increase; a request's slot is
 * id % nslots, and submit skips ids whose slot is still busy, so a response
 * id maps to its slot in O(1) and a stale or forged id is caught by comparing
 * the id stored in the slot.
 *
 * A completion is reaped by exactly one party: a synchronous call waiting for
 * its own id, or vsm_poll() for asynchronous ones. Asynchronous completions
 * that arrive while a synchronous call waits are queued on doneq (a ring of
 * slot indices, also of nslots entries) for the next vsm_poll().
 *
 * The same table serves both transports. On a stream the request bytes go
 * through sbuf/rbuf; over shared memory (shm.c, local or ivshmem) they sit in
 * the region's data area, and a slot also records the data-area space its
 * request holds.
 */
#ifndef VSM_CLIENT_CLIENT_H
#define VSM_CLIENT_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <vsm/vsm.h>

#include "uri.h"

enum vsm_slot_state {
	VSM_SLOT_FREE = 0,
	VSM_SLOT_WAIT, /* sent or queued, no response yet */
	VSM_SLOT_DONE, /* response in; not reaped yet */
};

struct vsm_slot {
	uint64_t id;
	void *out;
	size_t out_cap;
	void *user_data;
	size_t out_len;
	int status; /* vsm status, or -errno when the connection died */
	int detail;
	uint16_t op; /* message type: the response must echo it */
	uint8_t state;
	uint8_t sync;	 /* reaped by the synchronous caller, not vsm_poll */
	uint8_t discard; /* payload is not wanted, only its length */

	/* shm only */
	uint8_t copy_out; /* copy the result from out_off to out on completion */
	uint8_t wipe;	  /* wipe the request bytes on completion (they hold a key) */
	int32_t block;	  /* vsm_shm_alloc block whose headroom the request uses, or -1 */
	uint32_t chunk;	  /* first data-area chunk the request holds */
	uint32_t nchunks; /* 0: none */
	uint32_t req_off; /* request payload in the data area */
	uint32_t req_len;
	uint32_t out_off;  /* where vsmd writes the response */
	uint32_t out_room; /* out_cap as offered in the SQE */
};

struct vsm_shm;

struct vsm_client {
	int fd;	  /* -1 for ivshmem, which has no socket */
	int dead; /* 0, or the -errno that ended the connection */
	int last_detail;
	struct vsm_wire_hello_resp info;

	uint64_t next_id;
	struct vsm_slot *slots;
	uint32_t nslots;
	uint32_t inflight; /* slots not FREE */
	uint32_t *doneq;   /* ring of slot indices completed for vsm_poll */
	uint32_t done_head;
	uint32_t done_count;

	uint8_t *sbuf; /* encoded requests not yet written: [soff, slen) */
	size_t scap;
	size_t slen;
	size_t soff;

	uint8_t *rbuf; /* received bytes not yet decoded: [rhead, rhead + rlen) */
	size_t rcap;
	size_t rhead;
	size_t rlen;

	struct vsm_shm *shm; /* NULL: a stream connection */
};

/* io.c */
/* Write the send buffer; with wait, until empty (reading responses meanwhile). */
VSM_HIDDEN int vsm_io_flush(struct vsm_client *c, int wait);
/*
 * Wait up to timeout_ms (-1 forever, 0 not at all) for the socket to become
 * readable, then read and dispatch every complete response. Returns the
 * number of responses dispatched, or c->dead.
 */
VSM_HIDDEN int vsm_io_read(struct vsm_client *c, int timeout_ms);
/* The connection is unusable: fail every outstanding request with err. */
VSM_HIDDEN void vsm_io_kill(struct vsm_client *c, int err);

/*
 * submit.c: reserve a slot and sbuf space for one request of payload_len
 * bytes; returns a pointer to the payload to fill in, or NULL with *rc set.
 * Commit with vsm_req_commit once the payload is written.
 */
struct vsm_req {
	uint16_t op;
	size_t payload_len;
	void *out;
	size_t out_cap;
	void *user_data;
	uint8_t sync;
	uint8_t discard;
};
VSM_HIDDEN uint8_t *vsm_req_begin(struct vsm_client *c, const struct vsm_req *r, int *rc);
VSM_HIDDEN uint64_t vsm_req_commit(struct vsm_client *c, const struct vsm_req *r);
/* Take the next free request slot for r and count it in flight (any transport). */
VSM_HIDDEN struct vsm_slot *vsm_slot_claim(struct vsm_client *c, const struct vsm_req *r);
/* Wait for a sync request to complete, release its slot, return its status. */
VSM_HIDDEN int vsm_req_wait(struct vsm_client *c, uint64_t id, size_t *out_len);
VSM_HIDDEN int vsm_encode_op(struct vsm_client *c, const struct vsm_op *op, void *out,
			     size_t out_cap, void *user_data, uint8_t sync, uint64_t *id);

/* connect.c: send or receive exactly len bytes on a non-blocking socket by deadline. */
VSM_HIDDEN int vsm_conn_xfer(int fd, uint8_t *buf, size_t len, int out, int64_t deadline);
VSM_HIDDEN int vsm_conn_wait(int fd, short events, int64_t deadline);
VSM_HIDDEN int64_t vsm_now_ms(void);

/*
 * shm.c: the shared-memory transport. attach runs SHM_SETUP on a connection
 * that has finished HELLO and maps the region; the others are the shm forms
 * of the stream functions above, which call them when c->shm is set.
 */
VSM_HIDDEN int vsm_shm_attach(struct vsm_client *c);
VSM_HIDDEN void vsm_shm_detach(struct vsm_client *c);
VSM_HIDDEN int vsm_shm_flush(struct vsm_client *c);
VSM_HIDDEN int vsm_shm_read(struct vsm_client *c, int timeout_ms);
/* Give back what a request still holds (connection died). */
VSM_HIDDEN void vsm_shm_release(struct vsm_client *c, struct vsm_slot *s);
VSM_HIDDEN uint8_t *vsm_shm_begin(struct vsm_client *c, const struct vsm_req *r, int *rc);
VSM_HIDDEN uint64_t vsm_shm_commit(struct vsm_client *c, const struct vsm_req *r);
VSM_HIDDEN int vsm_shm_encode_op(struct vsm_client *c, const struct vsm_wire_op *m, void *out,
				 size_t out_cap, void *user_data, uint8_t sync, uint64_t *id);
VSM_HIDDEN int vsm_shm_submit_nop(struct vsm_client *c, const void *buf, size_t len, void *out,
				  size_t out_cap, void *user_data, uint8_t sync, uint8_t discard,
				  uint64_t *id);

/*
 * ivshmem.c: the same ring on a QEMU ivshmem-doorbell device, from inside
 * the VM. attach maps the device at PCI address addr ("" = the first that
 * holds a vsm region) and fills c->info from the region header; there is no
 * socket (c->fd is -1). probe, once the slots exist, asks vsmd for STATUS,
 * which proves it is serving the region and gives the tenant's limits.
 */
VSM_HIDDEN int vsm_ivshmem_attach(struct vsm_client *c, const char *addr);
VSM_HIDDEN int vsm_ivshmem_probe(struct vsm_client *c);

#endif
