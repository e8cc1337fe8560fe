/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Request dispatch: one decoded request frame in, one response frame out.
 * No I/O, so the same code serves every transport and the fuzzer.
 */
#ifndef VSM_DISPATCH_H
#define VSM_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vsm/wire.h>

#include "daemon/stats.h"
#include "daemon/tenant.h"

struct vsm_proto {
	uint32_t offer; /* features this transport can give (HELLO intersects) */
	bool hello_done;
	uint16_t version;
	uint32_t features;
};

/* Set once at start-up; reported in STATUS. */
extern unsigned vsm_dispatch_workers;
extern uint64_t vsm_dispatch_start_ms;

/*
 * Room the response to this request can need, header included, never more
 * than the header plus the tenant's max_msg. payload holds h->len bytes in
 * private memory. The caller must offer at least this much at out.
 */
size_t vsm_dispatch_out_need(const struct vsm_tenant *t, const struct vsm_wire_hdr *h,
			     const uint8_t *payload);

/*
 * Handle one request (h already decoded; payload holds h->len bytes in
 * private memory). Writes the whole response frame to out and returns its
 * length. Sets *close_after when the connection must be closed once the
 * response is sent (protocol violations).
 */
size_t vsm_dispatch(struct vsm_tenant *t, struct vsm_proto *ps, const struct vsm_wire_hdr *h,
		    const uint8_t *payload, uint8_t *out, size_t cap, bool *close_after,
		    struct vsm_req_info *ri);

/*
 * The shared-memory transport's entry: payload is private memory (for OP
 * only the data part may be shared; op is the decoded private copy of its
 * fixed part). Writes the response payload to body (cap bytes), counts the
 * request, and returns its status. HELLO, SHM_SETUP and NOP belong to the
 * transport and are refused here.
 */
int vsm_dispatch_shm(struct vsm_tenant *t, struct vsm_proto *ps, uint64_t id, uint16_t msg,
		     const uint8_t *payload, uint32_t len, const struct vsm_wire_op *op,
		     uint8_t *body, size_t cap, size_t *out_len, int *detail,
		     struct vsm_req_info *ri);

/*
 * The core of SESSION_CREATE and OP for callers that do not speak the wire
 * protocol (the vhost-user back-end): the same engines, session table and
 * limits. vsm_core_op fills ri's svc, kind, bytes_in and engine; it never
 * writes more than min(op->dst_len, cap) bytes to out; on NOSPC/OUTPUT_SPACE
 * *out_len is the room needed. VSM_OPF_MORE is the caller's to allow.
 */
int vsm_core_session_create(struct vsm_tenant *t, const struct vsm_wire_session *m,
			    uint64_t *handle, int *detail);
int vsm_core_op(struct vsm_tenant *t, const struct vsm_wire_op *op, uint8_t *out, size_t cap,
		size_t *out_len, int *detail, struct vsm_req_info *ri);

/* Requests QoS charges: the data path, not the control messages. */
static inline bool vsm_dispatch_metered(uint16_t op)
{
	return op == VSM_MSG_OP || op == VSM_MSG_NOP || op == VSM_MSG_RANDOM;
}

/* Header for a response of payload_len bytes already at out + VSM_WIRE_HDR_LEN. */
size_t vsm_dispatch_frame(uint8_t *out, size_t cap, uint16_t op, uint64_t id, int status,
			  int detail, size_t payload_len);

/* A response frame with no payload (errors the caller detects itself). */
size_t vsm_dispatch_error(uint8_t *out, size_t cap, uint16_t op, uint64_t id, int status,
			  int detail);

uint64_t vsm_now_ms(void);

#endif
