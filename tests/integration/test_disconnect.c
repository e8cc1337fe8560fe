/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Clients that go away at the worst moment: mid-frame, with responses
 * unread, or killed with requests in flight. vsmd must stay up, serve the
 * next client, return the tenant's in-flight budget, and log no error (the
 * log is checked when vsmd stops).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "raw.h"
#include "ref.h"

#define BIG (60u * 1024u)

static uint8_t frame[VSM_WIRE_HDR_LEN + VSM_WIRE_OP_LEN + BIG];

/* A new client gets correct answers. */
static void serves(const struct vh_daemon *d)
{
	vsm_client *c = vh_connect(d->uri);
	uint64_t h = vh_session(c, VSM_SVC_HASH, VSM_ALG_SHA256, NULL, 0);
	uint8_t out[32], want[32];
	size_t n = sizeof(out);
	VH_OK(vsm_digest(c, h, "abc", 3, out, &n));
	vh_sha256("abc", 3, want);
	VH_EQ(n, 32);
	VH_MEMEQ(out, want, 32);
	VH_OK(vsm_nop(c, "still here", 10));
	vsm_close(c);
}

/*
 * The tenant's in-flight count goes back to 0 once vsmd has noticed the
 * close. Polled (bounded), since the close is noticed asynchronously.
 */
static void inflight_returns_to_zero(const struct vh_daemon *d)
{
	vsm_client *c = vh_connect(d->uri);
	struct vsm_wire_status st;
	uint64_t deadline = vh_now_ms() + 10000;
	for (;;) {
		VH_OK(vsm_status(c, &st));
		if (st.inflight == 0)
			break;
		VH_CHECK(vh_now_ms() < deadline, "tenant in-flight stuck at %u after the close",
			 st.inflight);
		usleep(10000);
	}
	vsm_close(c);
}

/* A raw session over the wire (the raw client must know its handle). */
static uint64_t raw_session(int fd, uint64_t id)
{
	uint8_t p[VSM_WIRE_SESSION_LEN], resp[8];
	struct vsm_wire_session m = {.service = VSM_SVC_HASH, .alg = VSM_ALG_SHA256};
	VH_EQ(vsm_wire_encode_session(p, sizeof(p), &m), sizeof(p));
	vh_raw_send(fd, frame,
		    vh_frame(frame, sizeof(frame), VSM_MSG_SESSION_CREATE, id, p, sizeof(p)));
	struct vsm_wire_hdr h;
	VH_EQ(vh_raw_recv(fd, &h, resp, sizeof(resp), 10000), 1);
	VH_EQ(h.status, VSM_S_OK);
	uint64_t handle;
	VH_EQ(vsm_wire_decode_u64(resp, h.len, &handle), VSM_S_OK);
	return handle;
}

static size_t op_frame(uint64_t session, uint64_t id, uint32_t src_len)
{
	static uint8_t p[VSM_WIRE_OP_LEN + BIG], src[BIG];
	memset(src, 'x', sizeof(src));
	struct vsm_wire_op m = {.session = session,
				.op = VSM_OP_DIGEST,
				.dst_len = 32,
				.src = src,
				.src_len = src_len};
	size_t n = vsm_wire_encode_op(p, sizeof(p), &m);
	VH_CHECK(n > 0, "encode op");
	return vh_frame(frame, sizeof(frame), VSM_MSG_OP, id, p, (uint32_t)n);
}

static int t_half_frame(void)
{
	struct vh_daemon d;
	vh_start(&d, NULL);

	/* HELLO, then a header promising 100 bytes and 30 of them. */
	int fd = vh_raw_connect(d.sock);
	vh_raw_hello(fd);
	vh_frame(frame, sizeof(frame), VSM_MSG_NOP, 1, NULL, 0);
	frame[0] = 100;
	memset(frame + VSM_WIRE_HDR_LEN, 'z', 30);
	vh_raw_send(fd, frame, VSM_WIRE_HDR_LEN + 30);
	close(fd);

	/* Half a header. */
	fd = vh_raw_connect(d.sock);
	vh_raw_hello(fd);
	vh_frame(frame, sizeof(frame), VSM_MSG_NOP, 2, NULL, 0);
	vh_raw_send(fd, frame, 10);
	close(fd);

	/* Half a HELLO. */
	fd = vh_raw_connect(d.sock);
	vh_frame(frame, sizeof(frame), VSM_MSG_HELLO, 0, "\1\0\1\0\0\0\0\0", 8);
	vh_raw_send(fd, frame, VSM_WIRE_HDR_LEN + 3);
	close(fd);

	serves(&d);
	inflight_returns_to_zero(&d);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

/* Send up to n bytes, giving up once the peer has stopped reading for a while. */
static size_t send_until_stalled(int fd, const uint8_t *buf, size_t n)
{
	size_t sent = 0;
	while (sent < n) {
		ssize_t w = send(fd, buf + sent, n - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			sent += (size_t)w;
			continue;
		}
		VH_CHECK(w < 0 && (errno == EAGAIN || errno == EINTR), "send: %s", strerror(errno));
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		if (poll(&p, 1, 300) == 0)
			break; /* vsmd is holding back: that is the point */
	}
	return sent;
}

static int t_unread(void)
{
	struct vh_daemon d;
	vh_start(&d, NULL);

	/* 50 big digests (small answers), then close without reading any. */
	int fd = vh_raw_connect(d.sock);
	vh_raw_hello(fd);
	uint64_t s = raw_session(fd, 1);
	for (unsigned i = 0; i < 50; i++)
		vh_raw_send(fd, frame, op_frame(s, 100 + i, BIG));
	close(fd);

	/* 50 big NOPs (big answers): vsmd fills its send buffer, then we leave. */
	fd = vh_raw_connect(d.sock);
	vh_raw_hello(fd);
	static uint8_t payload[BIG];
	memset(payload, 'n', sizeof(payload));
	unsigned frames = 0;
	for (unsigned i = 0; i < 50; i++) {
		size_t n = vh_frame(frame, sizeof(frame), VSM_MSG_NOP, 200 + i, payload, BIG);
		if (send_until_stalled(fd, frame, n) < n)
			break;
		frames++;
	}
	printf("wrote %u whole 60 KiB NOPs before vsmd held back\n", frames);
	close(fd);

	serves(&d);
	inflight_returns_to_zero(&d);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

struct victim {
	const struct vh_daemon *d;
	int ready[2];
};

static void victim_main(void *arg)
{
	struct victim *v = arg;
	vsm_client *c = vh_connect(v->d->uri);
	uint64_t h = vh_session(c, VSM_SVC_HASH, VSM_ALG_SHA256, NULL, 0);
	static uint8_t src[BIG], out[64][32];
	memset(src, 'k', sizeof(src));
	for (int i = 0; i < 64; i++) {
		struct vsm_op op = {.session = h, .op = VSM_OP_DIGEST, .src = src, .src_len = BIG};
		VH_OK(vsm_submit(c, &op, out[i], sizeof(out[i]), NULL, NULL));
	}
	VH_OK(vsm_flush(c));
	VH_CHECK(write(v->ready[1], "r", 1) == 1, "pipe");
	for (;;)
		pause(); /* killed here, with up to 64 requests in flight */
}

static int t_killed(void)
{
	struct vh_daemon d;
	vh_start(&d, NULL);
	struct victim v = {.d = &d};
	VH_CHECK(pipe(v.ready) == 0, "pipe");
	pid_t pid = vh_fork(victim_main, &v);
	close(v.ready[1]);
	struct pollfd p = {.fd = v.ready[0], .events = POLLIN};
	VH_CHECK(poll(&p, 1, 30000) == 1, "victim never got ready");
	char r;
	VH_CHECK(read(v.ready[0], &r, 1) == 1, "victim died before it was ready");
	VH_EQ(kill(pid, SIGKILL), 0);
	VH_EQ(vh_child_wait(pid, 10000), 128 + SIGKILL);
	close(v.ready[0]);

	serves(&d);
	inflight_returns_to_zero(&d);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

static const struct vh_case cases[] = {
	{"half-frame", t_half_frame, 0},
	{"unread", t_unread, 0},
	{"killed", t_killed, 0},
};

int main(int argc, char **argv)
{
	return vh_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
