/* SPDX-License-Identifier: Apache-2.0 */
#include "raw.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

/* No single write or read in these tests should need longer than this. */
#define IO_TIMEOUT_MS 10000

int vh_raw_connect(const char *sock_path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	VH_CHECK(fd >= 0, "socket: %s", strerror(errno));
	VH_CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect %s: %s", sock_path,
		 strerror(errno));
	return fd;
}

size_t vh_frame(uint8_t *buf, size_t cap, uint16_t op, uint64_t id, const void *payload,
		uint32_t len)
{
	struct vsm_wire_hdr h = {.len = len, .magic = VSM_WIRE_MAGIC, .op = op, .id = id};
	VH_CHECK(cap >= VSM_WIRE_HDR_LEN + (size_t)len, "frame buffer too small");
	VH_EQ(vsm_wire_encode_hdr(buf, cap, &h), VSM_WIRE_HDR_LEN);
	if (len)
		memcpy(buf + VSM_WIRE_HDR_LEN, payload, len);
	return VSM_WIRE_HDR_LEN + len;
}

static int wait_fd(int fd, short ev, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = ev};
	int r;
	do {
		r = poll(&p, 1, timeout_ms);
	} while (r < 0 && errno == EINTR);
	return r;
}

int vh_raw_try_send(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	while (n) {
		if (wait_fd(fd, POLLOUT, IO_TIMEOUT_MS) <= 0)
			return -ETIMEDOUT;
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

void vh_raw_send(int fd, const void *buf, size_t n)
{
	int rc = vh_raw_try_send(fd, buf, n);
	VH_CHECK(rc == 0, "send of %zu bytes: %s", n, strerror(-rc));
}

/* Read exactly n bytes by deadline. Returns n, 0 on EOF at the first byte, -errno. */
static ssize_t read_full(int fd, uint8_t *buf, size_t n, uint64_t deadline)
{
	size_t got = 0;
	while (got < n) {
		uint64_t now = vh_now_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		if (wait_fd(fd, POLLIN, (int)(deadline - now)) <= 0)
			return -ETIMEDOUT;
		ssize_t r = recv(fd, buf + got, n - got, MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return -errno;
		if (r == 0) {
			VH_CHECK(got == 0, "EOF in the middle of a frame (%zu of %zu bytes)", got,
				 n);
			return 0;
		}
		got += (size_t)r;
	}
	return (ssize_t)n;
}

int vh_raw_recv(int fd, struct vsm_wire_hdr *h, uint8_t *buf, size_t cap, int timeout_ms)
{
	uint8_t hb[VSM_WIRE_HDR_LEN];
	uint64_t deadline = vh_now_ms() + (uint64_t)timeout_ms;
	ssize_t r = read_full(fd, hb, sizeof(hb), deadline);
	if (r == 0)
		return 0;
	if (r == -ETIMEDOUT)
		return -ETIMEDOUT;
	VH_CHECK(r > 0, "recv: %s", strerror((int)-r));
	VH_EQ(vsm_wire_decode_hdr(hb, sizeof(hb), h), VSM_S_OK);
	VH_CHECK(h->flags & VSM_HDR_F_RESPONSE, "frame from vsmd without the RESPONSE flag");
	VH_CHECK(h->len <= cap, "response payload of %u bytes, buffer %zu", h->len, cap);
	if (h->len) {
		/* The rest of a frame that has begun must come: no EOF, bounded wait. */
		r = read_full(fd, buf, h->len, vh_now_ms() + IO_TIMEOUT_MS);
		VH_CHECK(r == (ssize_t)h->len, "truncated response payload (%zd of %u)", r, h->len);
	}
	return 1;
}

void vh_raw_expect(int fd, uint16_t op, uint64_t id, int status, int detail)
{
	static uint8_t buf[VSM_WIRE_MAX_PAYLOAD / 16];
	struct vsm_wire_hdr h;
	int r = vh_raw_recv(fd, &h, buf, sizeof(buf), IO_TIMEOUT_MS);
	VH_CHECK(r == 1, "no response (want op %u id %llu): %s", op, (unsigned long long)id,
		 r == 0 ? "EOF" : "timeout");
	if (h.op != op || h.id != id || h.status != status || h.detail != detail)
		vh_fail(__FILE__, __LINE__,
			"response op %u id %llu %s/%s, want op %u id %llu %s/%s", h.op,
			(unsigned long long)h.id, vsm_status_name(h.status),
			vsm_detail_name(h.detail), op, (unsigned long long)id,
			vsm_status_name(status), vsm_detail_name(detail));
}

void vh_raw_expect_eof(int fd, int timeout_ms)
{
	uint8_t b;
	VH_CHECK(wait_fd(fd, POLLIN, timeout_ms) > 0, "vsmd did not close within %d ms",
		 timeout_ms);
	ssize_t r;
	do {
		r = recv(fd, &b, 1, MSG_DONTWAIT);
	} while (r < 0 && errno == EINTR);
	/* ECONNRESET is a close too: vsmd may close with our bytes unread. */
	VH_CHECK(r == 0 || (r < 0 && errno == ECONNRESET), "want EOF, got %zd (%s)", r,
		 r < 0 ? strerror(errno) : "data");
}

void vh_raw_hello(int fd)
{
	uint8_t p[VSM_WIRE_HELLO_LEN], f[64], resp[VSM_WIRE_HELLO_RESP_LEN];
	struct vsm_wire_hello m = {.min_version = 1, .max_version = VSM_WIRE_VERSION};
	struct vsm_wire_hdr h;
	VH_EQ(vsm_wire_encode_hello(p, sizeof(p), &m), VSM_WIRE_HELLO_LEN);
	vh_raw_send(fd, f, vh_frame(f, sizeof(f), VSM_MSG_HELLO, 0, p, sizeof(p)));
	VH_EQ(vh_raw_recv(fd, &h, resp, sizeof(resp), IO_TIMEOUT_MS), 1);
	VH_EQ(h.op, VSM_MSG_HELLO);
	VH_EQ(h.status, VSM_S_OK);
	struct vsm_wire_hello_resp r;
	VH_EQ(vsm_wire_decode_hello_resp(resp, h.len, &r), VSM_S_OK);
	VH_EQ(r.version, VSM_WIRE_VERSION);
}
