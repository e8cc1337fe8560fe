/* SPDX-License-Identifier: Apache-2.0 */
#include "shmraw.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "raw.h"

#define IO_TIMEOUT_MS 10000

void vh_shm_hello(int fd, uint32_t features, struct vsm_wire_hello_resp *r)
{
	uint8_t p[VSM_WIRE_HELLO_LEN], f[64], resp[VSM_WIRE_HELLO_RESP_LEN];
	struct vsm_wire_hello m = {
		.min_version = 1, .max_version = VSM_WIRE_VERSION, .features = features};
	struct vsm_wire_hdr h;
	VH_EQ(vsm_wire_encode_hello(p, sizeof(p), &m), VSM_WIRE_HELLO_LEN);
	vh_raw_send(fd, f, vh_frame(f, sizeof(f), VSM_MSG_HELLO, 1, p, sizeof(p)));
	VH_EQ(vh_raw_recv(fd, &h, resp, sizeof(resp), IO_TIMEOUT_MS), 1);
	VH_EQ(h.op, VSM_MSG_HELLO);
	VH_EQ(h.status, VSM_S_OK);
	VH_EQ(vsm_wire_decode_hello_resp(resp, h.len, r), VSM_S_OK);
}

/* Read exactly n bytes, keeping any descriptors that ride along. */
static int recv_fds(int fd, uint8_t *buf, size_t n, int fds[3], int *nfds)
{
	size_t got = 0;
	uint64_t deadline = vh_now_ms() + IO_TIMEOUT_MS;
	while (got < n) {
		uint64_t now = vh_now_ms();
		VH_CHECK(now < deadline, "no response within %d ms", IO_TIMEOUT_MS);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, (int)(deadline - now)) <= 0)
			continue;
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int) * 4)];
		} u;
		struct iovec iov = {buf + got, n - got};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = u.buf,
				    .msg_controllen = sizeof(u.buf)};
		ssize_t r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0 && errno == ECONNRESET && got == 0)
			return 0;
		VH_CHECK(r >= 0, "recvmsg: %s", strerror(errno));
		if (r == 0) {
			VH_CHECK(got == 0, "EOF inside a frame");
			return 0;
		}
		VH_CHECK(!(mh.msg_flags & MSG_CTRUNC), "descriptors truncated");
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			int tmp[4];
			VH_CHECK(k >= 0 && k <= 4 && *nfds + k <= 3, "%d descriptors", *nfds + k);
			memcpy(tmp, CMSG_DATA(c), (size_t)k * sizeof(int));
			for (int i = 0; i < k; i++)
				fds[(*nfds)++] = tmp[i];
		}
		got += (size_t)r;
	}
	return 1;
}

int vh_shm_setup_raw(int fd, uint64_t id, uint32_t entries, uint32_t data_size, uint32_t flags,
		     struct vsm_wire_hdr *h, uint8_t *payload, int fds[3], int *nfds)
{
	uint8_t p[VSM_WIRE_SHM_SETUP_LEN], f[64], hb[VSM_WIRE_HDR_LEN];
	struct vsm_wire_shm_setup m = {entries, data_size, flags};
	VH_EQ(vsm_wire_encode_shm_setup(p, sizeof(p), &m), VSM_WIRE_SHM_SETUP_LEN);
	vh_raw_send(fd, f, vh_frame(f, sizeof(f), VSM_MSG_SHM_SETUP, id, p, sizeof(p)));
	*nfds = 0;
	if (!recv_fds(fd, hb, sizeof(hb), fds, nfds))
		return 0;
	VH_EQ(vsm_wire_decode_hdr(hb, sizeof(hb), h), VSM_S_OK);
	VH_CHECK(h->flags & VSM_HDR_F_RESPONSE, "no RESPONSE flag");
	VH_CHECK(h->len <= VSM_WIRE_SHM_SETUP_LEN, "SHM_SETUP response of %u bytes", h->len);
	if (h->len)
		VH_EQ(recv_fds(fd, payload, h->len, fds, nfds), 1);
	return 1;
}

static void map_region(struct vh_shm *s)
{
	struct stat st;
	VH_CHECK(fstat(s->memfd, &st) == 0, "fstat: %s", strerror(errno));
	s->size = (size_t)st.st_size;
	s->base = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_SHARED, s->memfd, 0);
	VH_CHECK(s->base != MAP_FAILED, "mmap: %s", strerror(errno));
	s->hdr = (struct vsm_shm_hdr *)s->base;
	VH_EQ(s->hdr->magic, VSM_SHM_MAGIC);
	VH_EQ(s->hdr->region_size, s->size);
	VH_CHECK((uint64_t)s->hdr->data_off + s->hdr->data_size <= s->size, "data area outside");
	s->entries = s->hdr->sq_entries;
	s->mask = s->entries - 1;
	s->data_size = s->hdr->data_size;
	s->sq = (struct vsm_shm_sqe *)(s->base + s->hdr->sq_off);
	s->cq = (struct vsm_shm_cqe *)(s->base + s->hdr->cq_off);
	s->data = s->base + s->hdr->data_off;
	s->sq_tail = s->cq_head = 0;
}

void vh_shm_open(struct vh_shm *s, const char *sock, uint32_t entries, uint32_t data_size)
{
	memset(s, 0, sizeof(*s));
	s->sock = vh_raw_connect(sock);
	vh_shm_hello(s->sock, VSM_FEAT__ALL, &s->hello);
	VH_CHECK(s->hello.features & VSM_FEAT_SHM, "FEAT_SHM not negotiated");
	struct vsm_wire_hdr h;
	uint8_t p[VSM_WIRE_SHM_SETUP_LEN];
	int fds[3], n;
	VH_EQ(vh_shm_setup_raw(s->sock, 2, entries, data_size, 0, &h, p, fds, &n), 1);
	VH_EQ(h.status, VSM_S_OK);
	VH_EQ(n, 3);
	s->memfd = fds[0];
	s->sq_efd = fds[1];
	s->cq_efd = fds[2];
	map_region(s);
}

void vh_shm_close(struct vh_shm *s)
{
	if (s->base && s->base != MAP_FAILED)
		munmap(s->base, s->size);
	close(s->memfd);
	close(s->sq_efd);
	close(s->cq_efd);
	close(s->sock);
	memset(s, 0, sizeof(*s));
}

void vh_shm_put(struct vh_shm *s, const struct vsm_shm_sqe *e)
{
	memcpy(&s->sq[s->sq_tail & s->mask], e, sizeof(*e));
	s->sq_tail++;
}

void vh_shm_ring(struct vh_shm *s)
{
	uint64_t one = 1;
	VH_CHECK(write(s->sq_efd, &one, sizeof(one)) == sizeof(one), "doorbell: %s",
		 strerror(errno));
}

void vh_shm_submit(struct vh_shm *s)
{
	__atomic_store_n(&s->hdr->sq_tail, s->sq_tail, __ATOMIC_RELEASE);
	/* Pairs with vsmd's fence between setting NEED_WAKEUP and re-checking sq_tail. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->hdr->vsmd_flags, __ATOMIC_RELAXED) & VSM_SHM_NEED_WAKEUP)
		vh_shm_ring(s);
}

bool vh_shm_closed(struct vh_shm *s)
{
	struct pollfd p = {.fd = s->sock, .events = POLLIN};
	if (poll(&p, 1, 0) <= 0)
		return false;
	char b;
	ssize_t r = recv(s->sock, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return r == 0 || (r < 0 && errno == ECONNRESET);
}

static bool cq_ready(struct vh_shm *s)
{
	return __atomic_load_n(&s->hdr->cq_tail, __ATOMIC_ACQUIRE) != s->cq_head;
}

int vh_shm_reap(struct vh_shm *s, struct vsm_shm_cqe *e, int timeout_ms)
{
	uint64_t deadline = vh_now_ms() + (uint64_t)timeout_ms;
	for (unsigned spin = 0; !cq_ready(s); spin++) {
		if (spin < 1000)
			continue;
		__atomic_store_n(&s->hdr->client_flags, VSM_SHM_NEED_WAKEUP, __ATOMIC_RELAXED);
		/* Pairs with vsmd's fence between publishing cq_tail and reading our flag. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (cq_ready(s))
			break;
		uint64_t now = vh_now_ms();
		if (now >= deadline) {
			__atomic_store_n(&s->hdr->client_flags, 0, __ATOMIC_RELAXED);
			return -ETIMEDOUT;
		}
		if (vh_shm_closed(s)) {
			__atomic_store_n(&s->hdr->client_flags, 0, __ATOMIC_RELAXED);
			/* A completion published just before the close still counts. */
			if (cq_ready(s))
				break;
			return 0;
		}
		struct pollfd p[2] = {{.fd = s->cq_efd, .events = POLLIN},
				      {.fd = s->sock, .events = POLLIN}};
		int wait = (int)(deadline - now);
		poll(p, 2, wait < 50 ? wait : 50);
		uint64_t v;
		while (read(s->cq_efd, &v, sizeof(v)) == sizeof(v))
			;
	}
	__atomic_store_n(&s->hdr->client_flags, 0, __ATOMIC_RELAXED);
	memcpy(e, &s->cq[s->cq_head & s->mask], sizeof(*e));
	s->cq_head++;
	__atomic_store_n(&s->hdr->cq_head, s->cq_head, __ATOMIC_RELEASE);
	/* vsmd may be waiting for room in the CQ: tell it there is some. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->hdr->vsmd_flags, __ATOMIC_RELAXED) & VSM_SHM_NEED_WAKEUP)
		vh_shm_ring(s);
	return 1;
}

uint32_t vh_shm_expect(struct vh_shm *s, uint64_t id, int status, int detail)
{
	struct vsm_shm_cqe e;
	int r = vh_shm_reap(s, &e, IO_TIMEOUT_MS);
	VH_CHECK(r == 1, "no completion (want id %llu): %s", (unsigned long long)id,
		 r == 0 ? "socket closed" : "timeout");
	if (e.id != id || e.status != status || e.detail != detail)
		vh_fail(__FILE__, __LINE__, "completion id %llu %s/%s, want id %llu %s/%s",
			(unsigned long long)e.id, vsm_status_name(e.status),
			vsm_detail_name(e.detail), (unsigned long long)id, vsm_status_name(status),
			vsm_detail_name(detail));
	return e.out_len;
}

void vh_shm_expect_eof(struct vh_shm *s, int timeout_ms)
{
	vh_raw_expect_eof(s->sock, timeout_ms);
}

uint64_t vh_shm_session(struct vh_shm *s, uint32_t req_off, const struct vsm_wire_session *m)
{
	size_t n = vsm_wire_encode_session(s->data + req_off, s->data_size - req_off, m);
	VH_CHECK(n > 0, "session request does not fit");
	uint32_t out = req_off + (uint32_t)n;
	struct vsm_shm_sqe e = {.id = 0x5e55,
				.msg = VSM_MSG_SESSION_CREATE,
				.req_off = req_off,
				.req_len = (uint32_t)n,
				.out_off = out,
				.out_cap = 8};
	vh_shm_put(s, &e);
	vh_shm_submit(s);
	VH_EQ(vh_shm_expect(s, 0x5e55, VSM_S_OK, VSM_D_NONE), 8);
	uint64_t h;
	VH_EQ(vsm_wire_decode_u64(s->data + out, 8, &h), VSM_S_OK);
	VH_CHECK(h != 0, "session handle 0");
	return h;
}

uint32_t vh_shm_put_op(struct vh_shm *s, uint32_t req_off, const struct vsm_wire_op *m)
{
	size_t n = vsm_wire_encode_op(s->data + req_off, s->data_size - req_off, m);
	VH_CHECK(n > 0, "op request does not fit");
	return (uint32_t)n;
}

int vh_tcp_connect(unsigned port)
{
	struct sockaddr_in in = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	VH_CHECK(fd >= 0, "socket: %s", strerror(errno));
	VH_CHECK(connect(fd, (struct sockaddr *)&in, sizeof(in)) == 0, "connect :%u: %s", port,
		 strerror(errno));
	return fd;
}
