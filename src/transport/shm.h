/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared-memory transport, daemon side: one sealed memfd region per tenant
 * connection (layout in <vsm/shm.h>), and the consumer of its submission
 * ring. The region is set up over the tenant's unix-socket connection
 * (SHM_SETUP) and lives as long as that connection.
 */
#ifndef VSM_SHM_TRANSPORT_H
#define VSM_SHM_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vsm/shm.h>

#define VSM_SHM_DEFAULT_ENTRIES 256u
#define VSM_SHM_DEFAULT_DATA	(4u * 1024u * 1024u)

struct vsm_conn;

struct vsm_shm {
	int memfd;  /* kept until handed over, then closed */
	int sq_efd; /* the client rings us */
	int cq_efd; /* we ring the client */
	uint8_t *base;
	size_t size;
	struct vsm_shm_hdr *hdr;
	struct vsm_shm_sqe *sq;
	struct vsm_shm_cqe *cq;
	uint8_t *data;
	uint32_t data_size;
	uint32_t entries, mask;
	uint32_t sq_head; /* private: what we consumed */
	uint32_t cq_tail; /* private: what we produced */
	bool sleeping;	  /* VSM_SHM_NEED_WAKEUP is set in the header */
	uint8_t *scratch; /* private copy of non-OP payloads */
	size_t scratch_cap;
	/* The head entry, copied, while it waits for its QoS slot. */
	bool held;
	struct vsm_shm_sqe held_sqe;
	const uint8_t *held_priv; /* its payload in scratch, or NULL */
};

/* Why vsm_shm_process stopped. */
enum vsm_shm_state {
	VSM_SHM_IDLE,	 /* submission ring empty */
	VSM_SHM_BUDGET,	 /* used its turn; more entries are ready */
	VSM_SHM_CQ_FULL, /* the client has not reaped: wait for its doorbell */
	VSM_SHM_QOS,	 /* head entry waits for its QoS slot (conn->wake_at) */
	VSM_SHM_BROKEN,	 /* the tenant broke the ring protocol: disconnect */
};

/* entries/data_size 0 = defaults. Returns NULL with err set. */
struct vsm_shm *vsm_shm_create(uint32_t entries, uint32_t data_size, uint32_t max_msg,
			       const char *tenant, const uint8_t *algs, char *err, size_t errlen);
void vsm_shm_destroy(struct vsm_shm *s);

/*
 * Consume up to budget submissions of c's region, completing each on the
 * completion ring; *done counts them. Publishes indices and rings the
 * client's doorbell if it sleeps.
 */
enum vsm_shm_state vsm_shm_process(struct vsm_conn *c, unsigned budget, unsigned *done);

/*
 * About to stop polling: set NEED_WAKEUP and re-check. Returns false if work
 * arrived meanwhile (keep going), true if it is safe to wait for the doorbell.
 */
bool vsm_shm_sleep(struct vsm_shm *s);
/* Drain the SQ doorbell after it fired. */
void vsm_shm_doorbell(struct vsm_shm *s);

#endif
