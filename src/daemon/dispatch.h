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

/* Requests QoS charges: the data path, not the control messages. */
static inline bool vsm_dispatch_metered(uint16_t op)
{
	return op == VSM_MSG_OP || op == VSM_MSG_NOP || op == VSM_MSG_RANDOM;
}

/* A response frame with no payload (errors the caller detects itself). */
size_t vsm_dispatch_error(uint8_t *out, size_t cap, uint16_t op, uint64_t id, int status,
			  int detail);

uint64_t vsm_now_ms(void);

#endif
