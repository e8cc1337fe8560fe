/* SPDX-License-Identifier: Apache-2.0 */
/*
 * In-flight back-pressure. The tenant may have max_inflight = 8 responses
 * outstanding; a client that writes 200 large NOPs without reading must be
 * held back (vsmd stops reading it), and once it reads, every response
 * arrives, in order, intact.
 *
 * The flooding connection stops either at the tenant's in-flight limit or at
 * its own send-buffer limit (256 KiB queued), whichever comes first. The
 * in-flight limit is per tenant, checked before every frame of every
 * connection of the tenant (conn.c, vsm_conn_process): while the flood sits
 * at it, a second connection of the same tenant is held back too, even for
 * HELLO and STATUS, and is answered once the first client drains. The test
 * accepts an early answer (only if it reports inflight <= 8) and prints
 * which happened.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "raw.h"

#define NOPS	 200
#define NOP_LEN	 (60u * 1024u)
#define INFLIGHT 8

struct flood {
	int fd;
	atomic_size_t sent;
};

static uint8_t pattern(unsigned id, size_t k)
{
	return (uint8_t)(id * 31 + k);
}

static void *writer(void *arg)
{
	struct flood *f = arg;
	static uint8_t buf[VSM_WIRE_HDR_LEN + NOP_LEN], payload[NOP_LEN];
	for (unsigned id = 1; id <= NOPS; id++) {
		for (size_t k = 0; k < NOP_LEN; k++)
			payload[k] = pattern(id, k);
		size_t n = vh_frame(buf, sizeof(buf), VSM_MSG_NOP, id, payload, NOP_LEN);
		/* Blocks (bounded) while vsmd holds us back; the reader unblocks it. */
		for (size_t off = 0; off < n;) {
			size_t chunk = n - off < 8192 ? n - off : 8192;
			vh_raw_send(f->fd, buf + off, chunk);
			off += chunk;
			atomic_fetch_add(&f->sent, chunk);
		}
	}
	return NULL;
}

static void status_payload(const uint8_t *p, uint32_t len, struct vsm_wire_status *st)
{
	VH_EQ(vsm_wire_decode_status(p, len, st), VSM_S_OK);
	VH_CHECK(st->inflight <= INFLIGHT, "STATUS reports %u in flight, limit %u", st->inflight,
		 INFLIGHT);
	VH_EQ(st->max_inflight, INFLIGHT);
}

static int t_inflight(void)
{
	struct vh_daemon d;
	struct vh_opts o = {.sections = "[limits]\nmax_inflight = 8\n"};
	vh_start(&d, &o);
	struct flood f = {.fd = vh_raw_connect(d.sock)};
	vh_raw_hello(f.fd);

	pthread_t th;
	VH_CHECK(pthread_create(&th, NULL, writer, &f) == 0, "pthread_create");
	/* Wait until the writer stops making progress: vsmd is holding it back. */
	size_t last = (size_t)-1;
	for (int quiet = 0; quiet < 6;) {
		usleep(50000);
		size_t now = atomic_load(&f.sent);
		quiet = now == last ? quiet + 1 : 0;
		last = now;
	}
	VH_CHECK(last < (size_t)NOPS * NOP_LEN, "vsmd read all %u NOPs with none answered", NOPS);
	printf("writer held back after %zu of %zu bytes\n", last,
	       (size_t)NOPS * (VSM_WIRE_HDR_LEN + NOP_LEN));

	/* Second connection, same tenant: HELLO and STATUS in one write. */
	int b = vh_raw_connect(d.sock);
	uint8_t req[2 * VSM_WIRE_HDR_LEN + VSM_WIRE_HELLO_LEN], hello[VSM_WIRE_HELLO_LEN];
	struct vsm_wire_hello hm = {.min_version = 1, .max_version = VSM_WIRE_VERSION};
	vsm_wire_encode_hello(hello, sizeof(hello), &hm);
	size_t rn = vh_frame(req, sizeof(req), VSM_MSG_HELLO, 0, hello, sizeof(hello));
	rn += vh_frame(req + rn, sizeof(req) - rn, VSM_MSG_STATUS, 1, NULL, 0);
	vh_raw_send(b, req, rn);
	uint8_t resp[256];
	struct vsm_wire_hdr h;
	struct vsm_wire_status st;
	int r = vh_raw_recv(b, &h, resp, sizeof(resp), 500);
	bool held = r == -ETIMEDOUT;
	if (!held) {
		VH_EQ(r, 1);
		VH_EQ(h.op, VSM_MSG_HELLO);
		VH_EQ(h.status, VSM_S_OK);
		VH_EQ(vh_raw_recv(b, &h, resp, sizeof(resp), 10000), 1);
		VH_EQ(h.op, VSM_MSG_STATUS);
		VH_EQ(h.status, VSM_S_OK);
		status_payload(resp, h.len, &st);
	}
	printf("second connection of the tenant %s while the first sat at max_inflight\n",
	       held ? "was held back" : "was answered");

	/* Now read: all 200 responses, in order, with their payloads intact. */
	static uint8_t body[NOP_LEN];
	for (unsigned id = 1; id <= NOPS; id++) {
		VH_EQ(vh_raw_recv(f.fd, &h, body, sizeof(body), 10000), 1);
		VH_EQ(h.op, VSM_MSG_NOP);
		VH_EQ(h.id, id);
		VH_EQ(h.status, VSM_S_OK);
		VH_EQ(h.len, NOP_LEN);
		for (size_t k = 0; k < NOP_LEN; k++)
			if (body[k] != pattern(id, k))
				vh_fail(__FILE__, __LINE__, "NOP %u: byte %zu differs", id, k);
	}
	pthread_join(th, NULL);

	if (held) {
		/* Held, not lost: both answers arrive once the flood drained. */
		VH_EQ(vh_raw_recv(b, &h, resp, sizeof(resp), 10000), 1);
		VH_EQ(h.op, VSM_MSG_HELLO);
		VH_EQ(h.status, VSM_S_OK);
		VH_EQ(vh_raw_recv(b, &h, resp, sizeof(resp), 10000), 1);
		VH_EQ(h.op, VSM_MSG_STATUS);
		VH_EQ(h.status, VSM_S_OK);
		status_payload(resp, h.len, &st);
	}
	/*
	 * All 200 answers were read, so nothing of the tenant is outstanding.
	 * vsmd settles its count just after the send() whose bytes we have
	 * read, on another worker thread: poll (bounded) until it has.
	 */
	uint64_t deadline = vh_now_ms() + 10000;
	for (uint64_t id = 2;; id++) {
		vh_raw_send(b, req, vh_frame(req, sizeof(req), VSM_MSG_STATUS, id, NULL, 0));
		VH_EQ(vh_raw_recv(b, &h, resp, sizeof(resp), 10000), 1);
		VH_EQ(h.id, id);
		status_payload(resp, h.len, &st);
		if (st.inflight == 0)
			break;
		VH_CHECK(vh_now_ms() < deadline, "tenant in-flight stuck at %u", st.inflight);
		usleep(10000);
	}
	VH_EQ(st.errors, 0);

	close(b);
	close(f.fd);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

static const struct vh_case cases[] = {
	{"inflight", t_inflight, 0},
};

int main(int argc, char **argv)
{
	return vh_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
