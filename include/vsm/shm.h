/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vsm shared-memory transport: the layout of a tenant's region.
 *
 * One region per tenant connection, never shared between tenants. It holds a
 * header page, a submission ring (SQ), a completion ring (CQ) and a data
 * area. Requests carry the same payloads as the stream protocol
 * (<vsm/wire.h>), placed in the data area and referenced by offset; vsmd
 * runs the engine on them in place and writes results into the data area.
 *
 * Memory ordering (the whole contract; docs/protocol.md section 12 says it
 * in prose):
 *   producer: write the entry, then store-release the tail;
 *   consumer: load-acquire the tail, read entries up to it, then
 *             store-release the head once it no longer needs them.
 * SQ: the client produces, vsmd consumes. CQ: vsmd produces, the client
 * consumes. Indices are free-running u32 counters; an entry lives at
 * index & (entries - 1).
 *
 * Wake-ups: a side about to sleep sets its NEED_WAKEUP flag, issues a full
 * fence, and re-checks the ring it waits on before sleeping. The other side,
 * after publishing a tail, issues a full fence and rings the doorbell only if
 * the flag is set. So a busy pair never touches the eventfds. vsmd also
 * sleeps when the completion ring is full, so a client that reaps must then
 * (after a full fence) ring the SQ doorbell if vsmd's flag is set. A client
 * that keeps at most sq_entries requests outstanding never fills it.
 *
 * vsmd copies each SQ entry and each fixed-size part of a request into
 * private memory exactly once, and validates that copy. The client may
 * change shared memory at any moment; doing so can only garble its own
 * results.
 */
#ifndef VSM_SHM_H
#define VSM_SHM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VSM_SHM_MAGIC	    0x524d5356u /* "VSMR" little-endian */
#define VSM_SHM_VERSION	    1u
#define VSM_SHM_HDR_SIZE    4096u
#define VSM_SHM_MIN_ENTRIES 8u
#define VSM_SHM_MAX_ENTRIES 4096u
#define VSM_SHM_MAX_REGION  (256u * 1024u * 1024u)

/* Header flags words */
#define VSM_SHM_NEED_WAKEUP 0x1u

/*
 * The header page. Fields up to `info` are written by vsmd before the region
 * is handed over and never change. Each index and flag word that changes
 * lives on its own 64-byte line, so the two sides do not false-share.
 */
struct vsm_shm_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t hdr_size;
	uint32_t region_size;
	uint32_t features;   /* none defined yet */
	uint32_t sq_entries; /* power of two */
	uint32_t cq_entries; /* power of two, == sq_entries */
	uint32_t sq_off;     /* offset of struct vsm_shm_sqe[sq_entries] */
	uint32_t cq_off;     /* offset of struct vsm_shm_cqe[cq_entries] */
	uint32_t data_off;   /* offset of the data area */
	uint32_t data_size;
	uint32_t max_msg;   /* largest request or response payload */
	uint32_t vsmd_peer; /* ivshmem: vsmd's peer id, for the doorbell register */
	uint8_t algs[12];   /* as in the HELLO response */
	char tenant[32];    /* NUL-terminated */
	uint8_t pad0[256 - 92];

	/* Each on its own cache line: */
	uint32_t sq_tail; /* client writes */
	uint8_t pad1[60];
	uint32_t sq_head; /* vsmd writes */
	uint8_t pad2[60];
	uint32_t cq_tail; /* vsmd writes */
	uint8_t pad3[60];
	uint32_t cq_head; /* client writes */
	uint8_t pad4[60];
	uint32_t vsmd_flags; /* vsmd writes: VSM_SHM_NEED_WAKEUP = ring the SQ doorbell */
	uint8_t pad5[60];
	uint32_t client_flags; /* client writes: VSM_SHM_NEED_WAKEUP = ring the CQ doorbell */
	uint8_t pad6[60];
};

/* Submission entry (64 bytes). */
struct vsm_shm_sqe {
	uint64_t id;	  /* echoed in the completion */
	uint16_t msg;	  /* VSM_MSG_SESSION_CREATE ... VSM_MSG_NOP (not HELLO) */
	uint16_t flags;	  /* 0 */
	uint32_t req_off; /* request payload: offset in the data area */
	uint32_t req_len; /* and length (the same bytes the stream protocol sends) */
	uint32_t out_off; /* response payload goes here */
	uint32_t out_cap; /* at most this many bytes */
	uint32_t reserved[9];
};

/* Completion entry (16 bytes). */
struct vsm_shm_cqe {
	uint64_t id;
	uint16_t status;  /* enum vsm_status */
	uint16_t detail;  /* enum vsm_detail */
	uint32_t out_len; /* bytes written at out_off */
};

_Static_assert(sizeof(struct vsm_shm_hdr) == 640, "shm header layout");
_Static_assert(sizeof(struct vsm_shm_sqe) == 64, "sqe layout");
_Static_assert(sizeof(struct vsm_shm_cqe) == 16, "cqe layout");

#ifdef __cplusplus
}
#endif
#endif
