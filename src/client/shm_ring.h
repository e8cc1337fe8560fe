/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ring half of libvsm's shared-memory transport (shm.c), shared by the
 * two ways a region reaches a client:
 *   shm:      a memfd handed over vsmd's unix socket (shm_setup.c), with
 *             eventfd doorbells;
 *   ivshmem:  QEMU's ivshmem-doorbell BAR2 inside a VM (ivshmem.c), rung
 *             through the BAR0 doorbell register, completions polled.
 * Both speak exactly <vsm/shm.h>. They differ only in how the region is
 * obtained, how vsmd is rung and how a waiting client sleeps: a port says
 * which. A transport embeds struct vsm_shm first in its own state.
 */
#ifndef VSM_CLIENT_SHM_RING_H
#define VSM_CLIENT_SHM_RING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <vsm/shm.h>

#include "client.h"

struct vsm_shm;

struct vsm_shm_port {
	/* Ring vsmd's SQ doorbell (vsmd said NEED_WAKEUP). 0 or -errno. */
	int (*kick)(struct vsm_client *c);
	/*
	 * The spin budget ran out with the CQ empty: return when it is not,
	 * after timeout_ms (-1: never), or when the connection died.
	 */
	void (*wait_cq)(struct vsm_client *c, int timeout_ms);
	/* The SQ is full: wait a little for vsmd, noticing a vsmd that went away. */
	void (*pause)(struct vsm_client *c);
	/* Free the transport's state (s is its first member); the region is unmapped. */
	void (*destroy)(struct vsm_shm *s);
};

/* Where the next request goes: decided in begin, used by commit. */
struct vsm_shm_pend {
	int32_t block;
	uint32_t chunk, nchunks;
	uint32_t req_off, req_len;
	uint32_t out_off, out_cap;
	uint8_t copy_out, wipe;
};

struct vsm_shm {
	const struct vsm_shm_port *port;
	uint8_t *map; /* set by the transport; munmap'ed on detach */
	size_t map_len;
	pid_t owner; /* the process that set it up; a forked child must not write to it */
	struct vsm_shm_hdr *hdr;
	struct vsm_shm_sqe *sq;
	const struct vsm_shm_cqe *cq;
	uint8_t *data;
	uint32_t data_size;
	uint32_t entries, mask;

	uint32_t sq_tail; /* next SQ entry to fill */
	uint32_t sq_pub;  /* tail as last published */
	uint32_t cq_head;
	uint32_t pending; /* requests written and not completed */
	uint64_t spin_ns;

	uint32_t chunk; /* bytes */
	uint32_t nchunks;
	uint32_t cursor;
	uint64_t *used;	   /* bitmap of chunks */
	uint32_t *blk_len; /* at a block's first chunk: its length in chunks */
	uint8_t *blk_kind; /* at a block's first chunk: BLK_* */

	struct vsm_shm_pend pend;
};

/* What the transport knows about the region before its header is read. */
struct vsm_shm_want {
	uint32_t entries;   /* ring entries asked for; 0: any */
	uint32_t data_size; /* data-area bytes asked for; 0: any */
	uint8_t exact_size; /* region_size must be the mapping's size (else at most) */
	uint8_t from_hdr;   /* no HELLO: c->info comes from the header */
};

/*
 * Validate the header of s->map (one private copy), lay the rings out, and
 * set up the allocator. With from_hdr, c->info is filled from the header;
 * otherwise the header must repeat HELLO's tenant and algorithms. Returns 0,
 * -EPROTO for a region that does not pass, -ENOMEM or -EINVAL (environment).
 * The rings must be empty unless resume is set: then vsm_shm_settle follows.
 */
VSM_HIDDEN int vsm_shm_ring_init(struct vsm_client *c, struct vsm_shm *s,
				 const struct vsm_shm_want *w, int resume);
/*
 * A region that outlives its clients (an ivshmem BAR lives as long as the
 * VM) may hold requests of one that died: wait up to timeout_ms until vsmd
 * has answered each (one CQ entry per SQ entry), dropping the answers, then
 * start from there. 0, -ETIMEDOUT or -EPROTO.
 */
VSM_HIDDEN int vsm_shm_settle(struct vsm_client *c, int timeout_ms);

/* $name as a decimal number up to max (k/m suffixes when suffix is set). */
VSM_HIDDEN int vsm_shm_env_u32(const char *name, uint32_t max, int suffix, uint32_t *out);
VSM_HIDDEN uint64_t vsm_shm_now_ns(void);

static inline int vsm_shm_cq_ready(const struct vsm_shm *s)
{
	return __atomic_load_n(&s->hdr->cq_tail, __ATOMIC_ACQUIRE) != s->cq_head;
}

#endif
