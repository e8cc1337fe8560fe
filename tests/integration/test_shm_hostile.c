/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shared-memory transport against a hostile tenant (docs/protocol.md,
 * section 12): the handshake, every way a tenant can break the ring
 * protocol, descriptors rewritten under vsmd's feet, a flood past the
 * rings, other tenants' service while one misbehaves, isolation between
 * tenants' regions, and shutdown with a live region. A raw client
 * (shmraw.c) plays the tenant, so it can do what libvsm never would.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "harness.h"
#include "raw.h"
#include "ref.h"
#include "shmraw.h"

#define EOF_MS 10000

static uint8_t frame[4096];

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void put_nop(struct vh_shm *s, uint64_t id, uint32_t req_off, uint32_t len, uint32_t out_off,
		    uint32_t out_cap)
{
	struct vsm_shm_sqe e = {.id = id,
				.msg = VSM_MSG_NOP,
				.req_off = req_off,
				.req_len = len,
				.out_off = out_off,
				.out_cap = out_cap};
	vh_shm_put(s, &e);
}

/* NOP of len patterned bytes at 0, echoed to 32 KiB; checks the echo. */
static void nop_roundtrip(struct vh_shm *s, uint64_t id, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		s->data[i] = (uint8_t)(i * 7 + id);
	put_nop(s, id, 0, len, 32768, len);
	vh_shm_submit(s);
	VH_EQ(vh_shm_expect(s, id, VSM_S_OK, VSM_D_NONE), len);
	VH_MEMEQ(s->data + 32768, s->data, len);
}

/* SHA-256 of msg over the ring with session h; returns the CQE status. */
static int ring_digest(struct vh_shm *s, uint64_t id, uint64_t h, const void *msg, uint32_t len,
		       uint8_t out[32])
{
	struct vsm_wire_op m = {
		.session = h, .op = VSM_OP_DIGEST, .dst_len = 32, .src = msg, .src_len = len};
	uint32_t n = vh_shm_put_op(s, 65536, &m);
	struct vsm_shm_sqe e = {.id = id,
				.msg = VSM_MSG_OP,
				.req_off = 65536,
				.req_len = n,
				.out_off = 65536 + n,
				.out_cap = 32};
	vh_shm_put(s, &e);
	vh_shm_submit(s);
	struct vsm_shm_cqe c;
	VH_EQ(vh_shm_reap(s, &c, EOF_MS), 1);
	VH_EQ(c.id, id);
	if (c.status == VSM_S_OK) {
		VH_EQ(c.out_len, 32);
		memcpy(out, s->data + 65536 + n, 32);
	}
	return c.status;
}

static uint64_t sha256_session(struct vh_shm *s)
{
	struct vsm_wire_session m = {.service = VSM_SVC_HASH, .alg = VSM_ALG_SHA256};
	return vh_shm_session(s, 4096, &m);
}

/* A fresh shared-memory client is served: NOP echo and a correct digest. */
static void still_serving(const struct vh_daemon *d)
{
	struct vh_shm s;
	vh_shm_open(&s, d->sock, 16, 1 << 20);
	nop_roundtrip(&s, 1, 300);
	uint64_t h = sha256_session(&s);
	uint8_t got[32], want[32];
	VH_EQ(ring_digest(&s, 2, h, "abc", 3, got), VSM_S_OK);
	vh_sha256("abc", 3, want);
	VH_MEMEQ(got, want, 32);
	vh_shm_close(&s);
}

/* Wait until vsmd has consumed the SQ up to sq_tail. */
static void wait_consumed(struct vh_shm *s, uint32_t head)
{
	uint64_t deadline = vh_now_ms() + EOF_MS;
	while (__atomic_load_n(&s->hdr->sq_head, __ATOMIC_ACQUIRE) != head) {
		VH_CHECK(vh_now_ms() < deadline, "vsmd did not consume the SQ (head %u, want %u)",
			 s->hdr->sq_head, head);
		sleep_ms(1);
	}
}

/* ---- 1. handshake ---- */

static int t_handshake(void)
{
	struct vh_daemon d;
	vh_start(&d, NULL);
	int fd = vh_raw_connect(d.sock);
	struct vsm_wire_hello_resp hr;
	vh_shm_hello(fd, VSM_FEAT__ALL, &hr);
	VH_CHECK(hr.features & VSM_FEAT_SHM, "unix socket HELLO lacks FEAT_SHM (features %#x)",
		 hr.features);

	struct vsm_wire_hdr h;
	uint8_t p[VSM_WIRE_SHM_SETUP_LEN];
	int fds[3], n;
	VH_EQ(vh_shm_setup_raw(fd, 42, 32, 256 * 1024, 0, &h, p, fds, &n), 1);
	VH_EQ(h.op, VSM_MSG_SHM_SETUP);
	VH_EQ(h.id, 42);
	VH_EQ(h.status, VSM_S_OK);
	VH_EQ(h.detail, VSM_D_NONE);
	VH_EQ(h.len, VSM_WIRE_SHM_SETUP_LEN);
	VH_EQ(n, 3);
	struct vsm_wire_shm_setup r;
	VH_EQ(vsm_wire_decode_shm_setup(p, h.len, &r), VSM_S_OK);
	VH_EQ(r.entries, 32);
	/* At least what was asked; the region is a power of two (it is a PCI BAR for QEMU). */
	VH_CHECK(r.data_size >= 256 * 1024, "data_size %u < asked", r.data_size);

	/* fds[0] is a memfd, fds[1] and fds[2] eventfds. */
	struct stat st;
	VH_CHECK(fstat(fds[0], &st) == 0, "fstat: %s", strerror(errno));
	VH_CHECK((st.st_size & (st.st_size - 1)) == 0, "region size %lld not a power of two",
		 (long long)st.st_size);
	VH_CHECK(S_ISREG(st.st_mode), "region fd is not a regular file");
	char link[64], target[128];
	for (int i = 1; i < 3; i++) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fds[i]);
		ssize_t k = readlink(link, target, sizeof(target) - 1);
		VH_CHECK(k > 0, "readlink: %s", strerror(errno));
		target[k] = 0;
		VH_CHECK(strstr(target, "eventfd"), "fd %d is %s, want an eventfd", i, target);
	}
	uint8_t *base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fds[0], 0);
	VH_CHECK(base != MAP_FAILED, "mmap: %s", strerror(errno));
	const struct vsm_shm_hdr *H = (const void *)base;
	VH_EQ(H->magic, VSM_SHM_MAGIC);
	VH_EQ(H->version, VSM_SHM_VERSION);
	VH_EQ(H->hdr_size, VSM_SHM_HDR_SIZE);
	VH_EQ(H->region_size, st.st_size);
	VH_EQ(H->features, 0);
	VH_EQ(H->sq_entries, 32);
	VH_EQ(H->cq_entries, 32);
	VH_EQ(H->sq_off, VSM_SHM_HDR_SIZE);
	VH_CHECK(H->cq_off >= H->sq_off + 32 * sizeof(struct vsm_shm_sqe) && H->cq_off % 64 == 0,
		 "cq_off %u", H->cq_off);
	VH_CHECK(H->data_off >= H->cq_off + 32 * sizeof(struct vsm_shm_cqe) &&
			 H->data_off % 4096 == 0,
		 "data_off %u", H->data_off);
	VH_EQ(H->data_size, r.data_size);
	VH_EQ((uint64_t)H->data_off + H->data_size, H->region_size);
	VH_EQ(H->max_msg, hr.max_msg);
	VH_MEMEQ(H->algs, hr.algs, sizeof(H->algs));
	VH_CHECK(!strcmp(H->tenant, hr.tenant) && H->tenant[0], "region tenant '%.32s', HELLO '%s'",
		 H->tenant, hr.tenant);
	VH_EQ(H->sq_tail, 0);
	VH_EQ(H->sq_head, 0);
	VH_EQ(H->cq_tail, 0);
	VH_EQ(H->cq_head, 0);
	VH_EQ(H->client_flags, 0);
	munmap(base, (size_t)st.st_size);
	for (int i = 0; i < 3; i++)
		close(fds[i]);

	/* The stream keeps working beside the region. */
	vh_raw_send(fd, frame, vh_frame(frame, sizeof(frame), VSM_MSG_NOP, 7, "ping", 4));
	vh_raw_expect(fd, VSM_MSG_NOP, 7, VSM_S_OK, VSM_D_NONE);
	close(fd);

	/* Defaults: entries 0 and data_size 0 take the daemon's. */
	fd = vh_raw_connect(d.sock);
	vh_shm_hello(fd, VSM_FEAT_SHM, &hr);
	VH_EQ(vh_shm_setup_raw(fd, 1, 0, 0, 0, &h, p, fds, &n), 1);
	VH_EQ(h.status, VSM_S_OK);
	VH_EQ(n, 3);
	VH_EQ(vsm_wire_decode_shm_setup(p, h.len, &r), VSM_S_OK);
	VH_CHECK(r.entries >= VSM_SHM_MIN_ENTRIES && (r.entries & (r.entries - 1)) == 0,
		 "default entries %u", r.entries);
	VH_CHECK(r.data_size > 0 && r.data_size % 4096 == 0, "default data_size %u", r.data_size);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	close(fd);

	/* A HELLO that did not offer FEAT_SHM: SHM_SETUP is NOTSUPP, no fds, stays open. */
	fd = vh_raw_connect(d.sock);
	vh_shm_hello(fd, VSM_FEAT_MULTIPART, &hr);
	VH_CHECK(!(hr.features & VSM_FEAT_SHM), "FEAT_SHM granted without being offered");
	VH_EQ(vh_shm_setup_raw(fd, 3, 0, 0, 0, &h, p, fds, &n), 1);
	VH_EQ(h.status, VSM_S_NOTSUPP);
	VH_EQ(h.len, 0);
	VH_EQ(n, 0);
	vh_raw_send(fd, frame, vh_frame(frame, sizeof(frame), VSM_MSG_NOP, 4, "x", 1));
	vh_raw_expect(fd, VSM_MSG_NOP, 4, VSM_S_OK, VSM_D_NONE);
	close(fd);

	still_serving(&d);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

static int t_sealed(void)
{
	struct vh_daemon d;
	vh_start(&d, NULL);
	struct vh_shm s;
	vh_shm_open(&s, d.sock, 16, 64 * 1024);
	int seals = fcntl(s.memfd, F_GET_SEALS);
	VH_CHECK(seals >= 0, "F_GET_SEALS: %s", strerror(errno));
	VH_EQ(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
	      F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	/* Shrinking would make vsmd fault on pages it maps; growing is refused too. */
	VH_CHECK(ftruncate(s.memfd, 4096) < 0 && errno == EPERM, "shrink: %s", strerror(errno));
	VH_CHECK(ftruncate(s.memfd, (off_t)s.size * 2) < 0 && errno == EPERM, "grow: %s",
		 strerror(errno));
	VH_CHECK(fcntl(s.memfd, F_ADD_SEALS, F_SEAL_WRITE) < 0 && errno == EPERM,
		 "more seals could be added");
	struct stat st;
	VH_CHECK(fstat(s.memfd, &st) == 0, "fstat");
	VH_EQ(st.st_size, s.size);
	/* Still usable after the attempts. */
	nop_roundtrip(&s, 9, 1000);
	vh_shm_close(&s);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

/*
 * STATUS, whose request has no payload, as the first non-OP request of a
 * fresh ring: the transport's private copy of an empty payload must not
 * trip the sanitizers (the vsmd log is checked at stop).
 */
static int t_status_first(void)
{
	struct vh_daemon d;
	vh_start(&d, NULL);
	struct vh_shm s;
	vh_shm_open(&s, d.sock, 16, 64 * 1024);
	struct vsm_shm_sqe e = {.id = 8,
				.msg = VSM_MSG_STATUS,
				.out_off = 4096,
				.out_cap = VSM_WIRE_STATUS_RESP_LEN};
	vh_shm_put(&s, &e);
	vh_shm_submit(&s);
	VH_EQ(vh_shm_expect(&s, 8, VSM_S_OK, VSM_D_NONE), VSM_WIRE_STATUS_RESP_LEN);
	struct vsm_wire_status ws;
	VH_EQ(vsm_wire_decode_status(s.data + 4096, VSM_WIRE_STATUS_RESP_LEN, &ws), VSM_S_OK);
	VH_CHECK(!strcmp(ws.tenant, s.hello.tenant), "STATUS tenant '%s'", ws.tenant);
	VH_EQ(ws.sessions, 0);
	vh_shm_close(&s);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

static int t_setup_errors(void)
{
	struct vh_daemon d;
	vh_start(&d, NULL);
	struct vsm_wire_hdr h;
	uint8_t p[VSM_WIRE_SHM_SETUP_LEN];
	int fds[3], n;

	/* Before HELLO: BADMSG/NO_HELLO and closed. */
	int fd = vh_raw_connect(d.sock);
	VH_EQ(vh_shm_setup_raw(fd, 5, 0, 0, 0, &h, p, fds, &n), 1);
	VH_EQ(h.op, VSM_MSG_SHM_SETUP);
	VH_EQ(h.id, 5);
	VH_EQ(h.status, VSM_S_BADMSG);
	VH_EQ(h.detail, VSM_D_NO_HELLO);
	VH_EQ(n, 0);
	vh_raw_expect_eof(fd, EOF_MS);
	close(fd);

	/* A second SHM_SETUP: BADMSG/BAD_OP, no fds, the first region keeps working. */
	struct vh_shm s;
	vh_shm_open(&s, d.sock, 16, 64 * 1024);
	VH_EQ(vh_shm_setup_raw(s.sock, 6, 16, 64 * 1024, 0, &h, p, fds, &n), 1);
	VH_EQ(h.status, VSM_S_BADMSG);
	VH_EQ(h.detail, VSM_D_BAD_OP);
	VH_EQ(h.len, 0);
	VH_EQ(n, 0);
	nop_roundtrip(&s, 1, 100);
	vh_raw_send(s.sock, frame, vh_frame(frame, sizeof(frame), VSM_MSG_NOP, 8, "y", 1));
	vh_raw_expect(s.sock, VSM_MSG_NOP, 8, VSM_S_OK, VSM_D_NONE);
	vh_shm_close(&s);

	/* Entries not a power of two, or out of range; a region over the limit: NOTSUPP. */
	static const uint32_t bad[][2] = {
		{100, 0}, {3, 0}, {4, 0}, {VSM_SHM_MAX_ENTRIES * 2, 0}, {16, VSM_SHM_MAX_REGION}};
	fd = vh_raw_connect(d.sock);
	struct vsm_wire_hello_resp hr;
	vh_shm_hello(fd, VSM_FEAT__ALL, &hr);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		VH_EQ(vh_shm_setup_raw(fd, 10 + i, bad[i][0], bad[i][1], 0, &h, p, fds, &n), 1);
		VH_EQ(h.id, 10 + i);
		VH_EQ(h.status, VSM_S_NOTSUPP);
		VH_EQ(h.len, 0);
		VH_EQ(n, 0);
	}
	/* Refusals leave no region behind: a valid request still succeeds. */
	VH_EQ(vh_shm_setup_raw(fd, 20, 8, 4096, 0, &h, p, fds, &n), 1);
	VH_EQ(h.status, VSM_S_OK);
	VH_EQ(n, 3);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	close(fd);

	/* Nonzero flags do not decode: BADMSG/PROTOCOL and closed. */
	fd = vh_raw_connect(d.sock);
	vh_shm_hello(fd, VSM_FEAT__ALL, &hr);
	VH_EQ(vh_shm_setup_raw(fd, 30, 16, 0, 1, &h, p, fds, &n), 1);
	VH_EQ(h.status, VSM_S_BADMSG);
	VH_EQ(h.detail, VSM_D_PROTOCOL);
	VH_EQ(n, 0);
	vh_raw_expect_eof(fd, EOF_MS);
	close(fd);

	still_serving(&d);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

static int t_tcp(void)
{
	struct vh_daemon d;
	struct vh_opts o = {.tcp = true};
	vh_start(&d, &o);
	int fd = vh_tcp_connect(d.tcp_port);
	struct vsm_wire_hello_resp hr;
	vh_shm_hello(fd, VSM_FEAT__ALL, &hr);
	VH_CHECK(!(hr.features & VSM_FEAT_SHM), "TCP HELLO advertises FEAT_SHM (%#x)", hr.features);
	struct vsm_wire_hdr h;
	uint8_t p[VSM_WIRE_SHM_SETUP_LEN];
	int fds[3], n;
	VH_EQ(vh_shm_setup_raw(fd, 3, 0, 0, 0, &h, p, fds, &n), 1);
	VH_EQ(h.status, VSM_S_NOTSUPP);
	VH_EQ(h.detail, VSM_D_NONE);
	VH_EQ(h.len, 0);
	VH_EQ(n, 0);
	vh_raw_send(fd, frame, vh_frame(frame, sizeof(frame), VSM_MSG_NOP, 4, "tcp", 3));
	vh_raw_expect(fd, VSM_MSG_NOP, 4, VSM_S_OK, VSM_D_NONE);
	close(fd);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

/* ---- 2. hostile sequences ---- */

enum hostile {
	H_TAIL_BACK,
	H_TAIL_BEYOND,
	H_CQ_BEYOND,
	H_REQ_OUTSIDE,
	H_REQ_WRAP,
	H_OUT_OUTSIDE,
	H_OUT_WRAP,
	H_FLAGS,
	H_RESERVED,
	H_MSG_HELLO,
	H_MSG_SETUP,
	H_MSG_99,
	H_MSG_0,
	H_OP_SHORT,
	H_OP_MALFORMED,
	H_CREATE_MALFORMED,
	H_STATUS_MALFORMED,
	H_FLOOD_CLOSE,
	H_OVERLAP_CLOSE,
	H_GARBAGE_FRAME,
	H__MAX
};

/* An SQE vsmd must refuse: one BADMSG/PROTOCOL completion, then the close. */
static void refused(struct vh_shm *s, const struct vsm_shm_sqe *e)
{
	vh_shm_put(s, e);
	vh_shm_submit(s);
	vh_shm_expect(s, e->id, VSM_S_BADMSG, VSM_D_PROTOCOL);
	vh_shm_expect_eof(s, EOF_MS);
	/* Nothing after the violation is taken. */
	VH_EQ(__atomic_load_n(&s->hdr->cq_tail, __ATOMIC_ACQUIRE), s->cq_head);
}

/*
 * One hostile connection of kind k, with its expected outcome checked. Used
 * alone by the cases below and in a loop by the noisy tenant of t_tenants.
 */
static void hostile(const char *sock, enum hostile k)
{
	struct vh_shm s;
	vh_shm_open(&s, sock, 8, 64 * 1024);
	struct vsm_shm_sqe e = {.id = 77,
				.msg = VSM_MSG_NOP,
				.req_off = 0,
				.req_len = 16,
				.out_off = 1024,
				.out_cap = 16};
	switch (k) {
	case H_TAIL_BACK:
		for (uint64_t i = 1; i <= 3; i++)
			nop_roundtrip(&s, i, 64);
		__atomic_store_n(&s.hdr->sq_tail, s.sq_tail - 2, __ATOMIC_RELEASE);
		vh_shm_ring(&s);
		vh_shm_expect_eof(&s, EOF_MS);
		break;
	case H_TAIL_BEYOND:
		for (uint32_t i = 0; i <= s.entries; i++)
			vh_shm_put(&s, &e);
		VH_EQ(s.sq_tail, s.entries + 1);
		vh_shm_submit(&s);
		vh_shm_ring(&s);
		vh_shm_expect_eof(&s, EOF_MS);
		/* No entry of an out-of-range batch was taken. */
		VH_EQ(s.hdr->cq_tail, 0);
		VH_EQ(s.hdr->sq_head, 0);
		break;
	case H_CQ_BEYOND:
		nop_roundtrip(&s, 1, 64);
		nop_roundtrip(&s, 2, 64);
		__atomic_store_n(&s.hdr->cq_head, s.cq_head + 3, __ATOMIC_RELEASE);
		vh_shm_ring(&s);
		vh_shm_expect_eof(&s, EOF_MS);
		break;
	case H_REQ_OUTSIDE:
		e.req_off = s.data_size - 10;
		e.req_len = 20;
		refused(&s, &e);
		break;
	case H_REQ_WRAP:
		e.req_off = 0xfffffff0u;
		e.req_len = 0x20;
		refused(&s, &e);
		break;
	case H_OUT_OUTSIDE:
		e.out_off = s.data_size;
		e.out_cap = 1;
		refused(&s, &e);
		break;
	case H_OUT_WRAP:
		e.out_off = 0xffffffffu;
		e.out_cap = 2;
		refused(&s, &e);
		break;
	case H_FLAGS:
		e.flags = 0x8000;
		refused(&s, &e);
		break;
	case H_RESERVED:
		e.reserved[8] = 1;
		refused(&s, &e);
		break;
	case H_MSG_HELLO:
		e.msg = VSM_MSG_HELLO;
		e.req_len = VSM_WIRE_HELLO_LEN;
		refused(&s, &e);
		break;
	case H_MSG_SETUP:
		e.msg = VSM_MSG_SHM_SETUP;
		e.req_len = VSM_WIRE_SHM_SETUP_LEN;
		refused(&s, &e);
		break;
	case H_MSG_99:
		e.msg = 99;
		refused(&s, &e);
		break;
	case H_MSG_0:
		e.msg = 0;
		refused(&s, &e);
		break;
	case H_OP_SHORT:
		e.msg = VSM_MSG_OP;
		e.req_len = VSM_WIRE_OP_LEN - 1;
		refused(&s, &e);
		break;
	case H_OP_MALFORMED: {
		struct vsm_wire_op m = {.session = 1,
					.op = VSM_OP_DIGEST,
					.dst_len = 32,
					.src = (const uint8_t *)"0123456789",
					.src_len = 10};
		e.msg = VSM_MSG_OP;
		e.req_len = vh_shm_put_op(&s, 0, &m);
		s.data[28] = 11; /* src_len 11, but 10 bytes follow */
		refused(&s, &e);
		break;
	}
	case H_CREATE_MALFORMED: {
		uint8_t key[16] = {0};
		/* alg 9 is unassigned: the payload does not decode. */
		struct vsm_wire_session m = {
			.service = VSM_SVC_CIPHER, .alg = 9, .key = key, .key_len = 16};
		e.msg = VSM_MSG_SESSION_CREATE;
		e.req_len = (uint32_t)vsm_wire_encode_session(s.data, 4096, &m);
		e.out_cap = 8;
		refused(&s, &e);
		break;
	}
	case H_STATUS_MALFORMED:
		e.msg = VSM_MSG_STATUS; /* STATUS carries no payload */
		e.req_len = 4;
		e.out_cap = 128;
		refused(&s, &e);
		break;
	case H_FLOOD_CLOSE:
		/* Fill both rings and walk away without reaping. */
		for (uint32_t i = 0; i < s.entries; i++)
			put_nop(&s, i, i * 64, 16, 4096 + i * 64, 16);
		vh_shm_submit(&s);
		wait_consumed(&s, s.entries);
		for (uint32_t i = 0; i < s.entries; i++)
			put_nop(&s, 100 + i, i * 64, 16, 4096 + i * 64, 16);
		vh_shm_submit(&s);
		break;
	case H_OVERLAP_CLOSE:
		put_nop(&s, 5, 0, 256, 128, 256);
		vh_shm_submit(&s);
		vh_shm_expect(&s, 5, VSM_S_BADMSG, VSM_D_BAD_LENGTH);
		break;
	case H_GARBAGE_FRAME: {
		/* The stream side of the same connection: a bad magic closes it. */
		size_t n = vh_frame(frame, sizeof(frame), VSM_MSG_NOP, 3, "abcd", 4);
		frame[4] = 0x34;
		vh_raw_send(s.sock, frame, n);
		vh_raw_expect(s.sock, 0, 3, VSM_S_BADMSG, VSM_D_PROTOCOL);
		vh_shm_expect_eof(&s, EOF_MS);
		break;
	}
	case H__MAX:
		break;
	}
	vh_shm_close(&s);
}

static int run_hostile(const enum hostile *kinds, size_t n, const char *log_line)
{
	struct vh_daemon d;
	vh_start(&d, NULL);
	for (size_t i = 0; i < n; i++) {
		hostile(d.sock, kinds[i]);
		still_serving(&d);
	}
	if (log_line)
		VH_CHECK(vh_log_contains(&d, log_line), "no log line '%s'", log_line);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

#define RUN_HOSTILE(log, ...)                                                                      \
	do {                                                                                       \
		static const enum hostile k_[] = {__VA_ARGS__};                                    \
		return run_hostile(k_, sizeof(k_) / sizeof(k_[0]), log);                           \
	} while (0)

static int t_tail_backwards(void)
{
	RUN_HOSTILE("shm ring indices out of range", H_TAIL_BACK);
}

static int t_tail_beyond(void)
{
	RUN_HOSTILE("shm ring indices out of range", H_TAIL_BEYOND);
}

static int t_cq_head_beyond(void)
{
	RUN_HOSTILE("shm ring indices out of range", H_CQ_BEYOND);
}

static int t_req_outside(void)
{
	RUN_HOSTILE("invalid shm descriptor", H_REQ_OUTSIDE, H_REQ_WRAP);
}

static int t_out_outside(void)
{
	RUN_HOSTILE("invalid shm descriptor", H_OUT_OUTSIDE, H_OUT_WRAP);
}

static int t_sqe_flags(void)
{
	RUN_HOSTILE("invalid shm descriptor", H_FLAGS, H_RESERVED);
}

static int t_unknown_msg(void)
{
	RUN_HOSTILE("invalid shm descriptor", H_MSG_HELLO, H_MSG_SETUP, H_MSG_99, H_MSG_0);
}

static int t_op_short(void)
{
	RUN_HOSTILE("malformed shm request", H_OP_SHORT, H_OP_MALFORMED, H_CREATE_MALFORMED,
		    H_STATUS_MALFORMED);
}

/* Overlapping input and output that is not exactly in place: BAD_LENGTH, stays open. */
static int t_overlap(void)
{
	struct vh_daemon d;
	vh_start(&d, NULL);
	struct vh_shm s;
	vh_shm_open(&s, d.sock, 16, 1 << 20);
	uint64_t h = sha256_session(&s);

	/* NOP: output starting inside the input, and input starting inside the output. */
	put_nop(&s, 1, 0, 256, 128, 256);
	put_nop(&s, 2, 1000, 256, 900, 256);
	/* OP digest at 8192: out over the fixed part, one past src, over src's tail. */
	uint8_t msg[256];
	memset(msg, 'm', sizeof(msg));
	struct vsm_wire_op m = {
		.session = h, .op = VSM_OP_DIGEST, .dst_len = 32, .src = msg, .src_len = 256};
	uint32_t n = vh_shm_put_op(&s, 8192, &m);
	uint32_t src = 8192 + VSM_WIRE_OP_LEN;
	const uint32_t outs[] = {8192, src + 1, 8192 + n - 8};
	for (size_t i = 0; i < 3; i++) {
		struct vsm_shm_sqe e = {.id = 10 + i,
					.msg = VSM_MSG_OP,
					.req_off = 8192,
					.req_len = n,
					.out_off = outs[i],
					.out_cap = 32};
		vh_shm_put(&s, &e);
	}
	/* SESSION_CREATE and RANDOM whose output covers their request. */
	struct vsm_wire_session sm = {.service = VSM_SVC_HASH, .alg = VSM_ALG_SHA256};
	uint32_t sl = (uint32_t)vsm_wire_encode_session(s.data + 16384, 4096, &sm);
	struct vsm_shm_sqe c = {.id = 20,
				.msg = VSM_MSG_SESSION_CREATE,
				.req_off = 16384,
				.req_len = sl,
				.out_off = 16384 + sl - 4,
				.out_cap = 8};
	vh_shm_put(&s, &c);
	vsm_wire_encode_u32(s.data + 20480, 4, 16);
	struct vsm_shm_sqe r = {.id = 21,
				.msg = VSM_MSG_RANDOM,
				.req_off = 20480,
				.req_len = 4,
				.out_off = 20480,
				.out_cap = 16};
	vh_shm_put(&s, &r);
	vh_shm_submit(&s);
	static const uint64_t ids[] = {1, 2, 10, 11, 12, 20, 21};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		VH_EQ(vh_shm_expect(&s, ids[i], VSM_S_BADMSG, VSM_D_BAD_LENGTH), 0);

	/* Still open: the same digest with a separate output is right... */
	uint8_t got[32], want[32];
	VH_EQ(ring_digest(&s, 30, h, msg, 256, got), VSM_S_OK);
	vh_sha256(msg, 256, want);
	VH_MEMEQ(got, want, 32);
	/* ...and the refused SESSION_CREATE made no session. */
	struct vsm_shm_sqe st = {.id = 31,
				 .msg = VSM_MSG_STATUS,
				 .out_off = 24576,
				 .out_cap = VSM_WIRE_STATUS_RESP_LEN};
	vh_shm_put(&s, &st);
	vh_shm_submit(&s);
	VH_EQ(vh_shm_expect(&s, 31, VSM_S_OK, VSM_D_NONE), VSM_WIRE_STATUS_RESP_LEN);
	struct vsm_wire_status ws;
	VH_EQ(vsm_wire_decode_status(s.data + 24576, VSM_WIRE_STATUS_RESP_LEN, &ws), VSM_S_OK);
	VH_EQ(ws.sessions, 1);
	VH_CHECK(!vh_shm_closed(&s), "vsmd closed the connection");
	vh_shm_close(&s);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

static void aes_ctr_ref(const uint8_t key[16], const uint8_t iv[16], const uint8_t *in, size_t len,
			uint8_t *out)
{
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	int l1 = 0, l2 = 0;
	VH_CHECK(x && EVP_EncryptInit_ex(x, EVP_aes_128_ctr(), NULL, key, iv) == 1 &&
			 EVP_EncryptUpdate(x, out, &l1, in, (int)len) == 1 &&
			 EVP_EncryptFinal_ex(x, out + l1, &l2) == 1 && (size_t)(l1 + l2) == len,
		 "OpenSSL AES-CTR");
	EVP_CIPHER_CTX_free(x);
}

/* Exactly in place (out_off == offset of src) is allowed and gives the right answer. */
static int t_in_place(void)
{
	struct vh_daemon d;
	vh_start(&d, NULL);
	struct vh_shm s;
	vh_shm_open(&s, d.sock, 16, 1 << 20);
	uint8_t key[16], iv[16], pt[1000], want[1016];
	RAND_bytes(key, sizeof(key));
	RAND_bytes(iv, sizeof(iv));
	RAND_bytes(pt, sizeof(pt));
	struct vsm_wire_session sm = {
		.service = VSM_SVC_CIPHER, .alg = VSM_ALG_AES_CTR, .key = key, .key_len = 16};
	uint64_t h = vh_shm_session(&s, 0, &sm);

	for (int dir = VSM_OP_ENCRYPT; dir <= VSM_OP_DECRYPT; dir++) {
		/* Encrypt pt, then decrypt the ciphertext back, both in place. */
		const uint8_t *in = dir == VSM_OP_ENCRYPT ? pt : want;
		uint8_t inbuf[1000];
		memcpy(inbuf, in, sizeof(inbuf));
		struct vsm_wire_op m = {.session = h,
					.op = (uint32_t)dir,
					.dst_len = 1000,
					.iv = iv,
					.iv_len = 16,
					.src = inbuf,
					.src_len = 1000};
		uint32_t n = vh_shm_put_op(&s, 8192, &m);
		uint32_t src = 8192 + VSM_WIRE_OP_LEN + 16;
		struct vsm_shm_sqe e = {.id = (uint64_t)dir,
					.msg = VSM_MSG_OP,
					.req_off = 8192,
					.req_len = n,
					.out_off = src,
					.out_cap = 1000};
		vh_shm_put(&s, &e);
		vh_shm_submit(&s);
		VH_EQ(vh_shm_expect(&s, (uint64_t)dir, VSM_S_OK, VSM_D_NONE), 1000);
		if (dir == VSM_OP_ENCRYPT) {
			aes_ctr_ref(key, iv, pt, sizeof(pt), want);
			VH_MEMEQ(s.data + src, want, 1000);
		} else {
			VH_MEMEQ(s.data + src, pt, 1000);
		}
	}

	/* AES-GCM in place: ct || tag runs 16 bytes past the request's end. */
	uint8_t aad[7] = "header", gct[1016];
	struct vsm_wire_session gm = {.service = VSM_SVC_AEAD,
				      .alg = VSM_ALG_AES_GCM,
				      .key = key,
				      .key_len = 16,
				      .tag_len = 16};
	uint64_t g = vh_shm_session(&s, 0, &gm);
	struct vsm_wire_op m = {.session = g,
				.op = VSM_OP_ENCRYPT,
				.dst_len = 1016,
				.iv = iv,
				.iv_len = 12,
				.aad = aad,
				.aad_len = sizeof(aad),
				.src = pt,
				.src_len = 1000};
	uint32_t n = vh_shm_put_op(&s, 8192, &m);
	uint32_t src = 8192 + VSM_WIRE_OP_LEN + 12 + sizeof(aad);
	struct vsm_shm_sqe e = {.id = 5,
				.msg = VSM_MSG_OP,
				.req_off = 8192,
				.req_len = n,
				.out_off = src,
				.out_cap = 1016};
	vh_shm_put(&s, &e);
	vh_shm_submit(&s);
	VH_EQ(vh_shm_expect(&s, 5, VSM_S_OK, VSM_D_NONE), 1016);
	vh_aes_gcm(key, 16, iv, aad, sizeof(aad), pt, sizeof(pt), gct);
	VH_MEMEQ(s.data + src, gct, 1016);

	/* NOP in place (out_off == req_off): the zero-copy null op leaves the bytes. */
	for (int i = 0; i < 512; i++)
		s.data[65536 + i] = (uint8_t)(i ^ 0x5a);
	put_nop(&s, 6, 65536, 512, 65536, 512);
	vh_shm_submit(&s);
	VH_EQ(vh_shm_expect(&s, 6, VSM_S_OK, VSM_D_NONE), 512);
	for (int i = 0; i < 512; i++)
		VH_EQ(s.data[65536 + i], (uint8_t)(i ^ 0x5a));
	vh_shm_close(&s);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

/* req_len over max_msg: NOSPC/TOO_BIG, and the connection stays. */
static int t_too_big(void)
{
	struct vh_daemon d;
	struct vh_opts o = {.sections = "[limits]\nmax_msg = 8192\n"};
	vh_start(&d, &o);
	struct vh_shm s;
	vh_shm_open(&s, d.sock, 16, 1 << 20);
	VH_EQ(s.hello.max_msg, 8192);
	VH_EQ(s.hdr->max_msg, 8192);
	for (uint32_t i = 0; i < 8193; i++)
		s.data[i] = (uint8_t)i;
	put_nop(&s, 1, 0, 8193, 65536, 16384);
	struct vsm_shm_sqe e = {.id = 2,
				.msg = VSM_MSG_OP,
				.req_off = 0,
				.req_len = 8193,
				.out_off = 65536,
				.out_cap = 64};
	vh_shm_put(&s, &e);
	vh_shm_submit(&s);
	VH_EQ(vh_shm_expect(&s, 1, VSM_S_NOSPC, VSM_D_TOO_BIG), 0);
	VH_EQ(vh_shm_expect(&s, 2, VSM_S_NOSPC, VSM_D_TOO_BIG), 0);
	/* RANDOM asking for more than max_msg. */
	vsm_wire_encode_u32(s.data + 32768, 4, 100000);
	struct vsm_shm_sqe r = {.id = 3,
				.msg = VSM_MSG_RANDOM,
				.req_off = 32768,
				.req_len = 4,
				.out_off = 131072,
				.out_cap = 200000};
	vh_shm_put(&s, &r);
	vh_shm_submit(&s);
	VH_EQ(vh_shm_expect(&s, 3, VSM_S_NOSPC, VSM_D_TOO_BIG), 0);
	/* Exactly max_msg is fine; an out_cap beyond max_msg is simply capped. */
	put_nop(&s, 4, 0, 8192, 65536, 512 * 1024);
	vh_shm_submit(&s);
	VH_EQ(vh_shm_expect(&s, 4, VSM_S_OK, VSM_D_NONE), 8192);
	VH_MEMEQ(s.data + 65536, s.data, 8192);
	VH_CHECK(!vh_shm_closed(&s), "vsmd closed the connection");
	vh_shm_close(&s);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

static long proc_cpu_ticks(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	unsigned long ut = 0, st = 0;
	/* Fields after the command: state ... utime (14) stime (15). */
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (long)(ut + st);
}

/* More submissions than the rings hold, nothing reaped: vsmd stops at CQ full, loses nothing. */
static int t_flood(void)
{
	struct vh_daemon d;
	vh_start(&d, NULL);
	struct vh_shm s;
	vh_shm_open(&s, d.sock, 8, 64 * 1024);
	const uint32_t E = s.entries, total = 3 * E;
	VH_EQ(E, 8);
	/* Each NOP echoes its own 16 bytes to its own place. */
	for (uint32_t i = 0; i < total; i++)
		for (uint32_t j = 0; j < 16; j++)
			s.data[i * 64 + j] = (uint8_t)(i * 31 + j);
	uint32_t sent = 0;
	for (; sent < E; sent++)
		put_nop(&s, 1000 + sent, sent * 64, 16, 16384 + sent * 64, 16);
	vh_shm_submit(&s);
	wait_consumed(&s, E);
	/* The SQ is free again, the CQ is full: a second ring's worth waits in the SQ. */
	for (; sent < 2 * E; sent++)
		put_nop(&s, 1000 + sent, sent * 64, 16, 16384 + sent * 64, 16);
	vh_shm_submit(&s);
	vh_shm_ring(&s);
	long c0 = proc_cpu_ticks(d.pid);
	sleep_ms(300);
	long c1 = proc_cpu_ticks(d.pid);
	/* Information only (timings never gate tests): does vsmd idle while the CQ is full? */
	printf("vsmd cpu while the CQ is full and unreaped: %ld ticks in 300 ms (%ld ticks = 1 s "
	       "of one core)\n",
	       c1 - c0, sysconf(_SC_CLK_TCK));
	VH_EQ(__atomic_load_n(&s.hdr->cq_tail, __ATOMIC_ACQUIRE), E);
	VH_EQ(__atomic_load_n(&s.hdr->sq_head, __ATOMIC_ACQUIRE), E);
	/* Reap one at a time while submitting the third batch into the space it frees. */
	uint32_t got = 0;
	while (got < total) {
		struct vsm_shm_cqe c;
		VH_EQ(vh_shm_reap(&s, &c, EOF_MS), 1);
		VH_EQ(c.id, 1000 + got);
		VH_EQ(c.status, VSM_S_OK);
		VH_EQ(c.out_len, 16);
		VH_MEMEQ(s.data + 16384 + got * 64, s.data + got * 64, 16);
		got++;
		/* Never more completions outstanding than the CQ holds. */
		VH_CHECK(__atomic_load_n(&s.hdr->cq_tail, __ATOMIC_ACQUIRE) - s.cq_head <= E,
			 "CQ overrun");
		if (sent < total &&
		    s.sq_tail - __atomic_load_n(&s.hdr->sq_head, __ATOMIC_ACQUIRE) < E) {
			put_nop(&s, 1000 + sent, sent * 64, 16, 16384 + sent * 64, 16);
			sent++;
			vh_shm_submit(&s);
		}
	}
	VH_EQ(sent, total);
	VH_EQ(s.hdr->cq_tail, total);
	VH_EQ(s.hdr->sq_head, total);
	vh_shm_close(&s);
	/* Leaving with both rings full is just a disconnect. */
	hostile(d.sock, H_FLOOD_CLOSE);
	still_serving(&d);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

/* ---- descriptors rewritten while vsmd reads them ---- */

#define RACE_SLOT 1024u
#define RACE_SRC  256u
#define RACE_OUT  512u

struct flipper {
	struct vh_shm *s;
	atomic_bool stop;
	bool hostile; /* also flips what must disconnect */
	uint64_t handle;
	unsigned long flips;
};

static void flip32(uint32_t *p, uint32_t a, uint32_t b)
{
	uint32_t v = __atomic_load_n(p, __ATOMIC_RELAXED);
	__atomic_store_n(p, v == a ? b : a, __ATOMIC_RELAXED);
}

static void flip16(uint16_t *p, uint16_t a, uint16_t b)
{
	uint16_t v = __atomic_load_n(p, __ATOMIC_RELAXED);
	__atomic_store_n(p, v == a ? b : a, __ATOMIC_RELAXED);
}

static void *flip_main(void *arg)
{
	struct flipper *f = arg;
	struct vh_shm *s = f->s;
	unsigned k = 0;
	while (!atomic_load_explicit(&f->stop, memory_order_relaxed)) {
		for (uint32_t i = 0; i < s->entries; i++, k++) {
			struct vsm_shm_sqe *e = &s->sq[i];
			uint8_t *op = s->data + i * RACE_SLOT;
			uint32_t base = i * RACE_SLOT;
			switch (k % (f->hostile ? 11 : 7)) {
			case 0:
				flip16(&e->msg, VSM_MSG_OP, VSM_MSG_NOP);
				break;
			case 1: /* output over the request: BAD_LENGTH */
				flip32(&e->out_off, base + RACE_OUT, base + 200);
				break;
			case 2:
				flip32(&e->out_cap, 64, 8);
				break;
			case 3: /* dst_len: OUTPUT_SPACE */
				flip32((uint32_t *)(op + 16), 32, 8);
				break;
			case 4: { /* aad_len/src_len together: the sum still adds up */
				uint64_t *p = (uint64_t *)(op + 24);
				uint64_t a = (uint64_t)RACE_SRC << 32,
					 b = 16 | (uint64_t)(RACE_SRC - 16) << 32;
				uint64_t v = __atomic_load_n(p, __ATOMIC_RELAXED);
				__atomic_store_n(p, v == a ? b : a, __ATOMIC_RELAXED);
				break;
			}
			case 5: /* opcode: BAD_OP */
				flip32((uint32_t *)(op + 8), VSM_OP_DIGEST, VSM_OP_ENCRYPT);
				break;
			case 6: /* session handle's low word: INVSESS */
				flip32((uint32_t *)op, (uint32_t)f->handle,
				       (uint32_t)f->handle ^ 0x7777);
				break;
			case 7:
				flip16(&e->flags, 0, 1);
				break;
			case 8:
				flip32(&e->req_len, VSM_WIRE_OP_LEN + RACE_SRC,
				       VSM_WIRE_OP_LEN + RACE_SRC + 1);
				break;
			case 9: /* src_len past the payload: malformed */
				flip32((uint32_t *)(op + 28), RACE_SRC, RACE_SRC + 1000);
				break;
			case 10:
				flip16(&e->msg, VSM_MSG_OP, 99);
				break;
			}
			f->flips++;
		}
	}
	return NULL;
}

static void race_put(struct vh_shm *s, uint64_t id)
{
	uint32_t i = s->sq_tail & s->mask, base = i * RACE_SLOT;
	struct vsm_shm_sqe *e = &s->sq[i];
	__atomic_store_n(&e->id, id, __ATOMIC_RELAXED);
	__atomic_store_n(&e->msg, VSM_MSG_OP, __ATOMIC_RELAXED);
	__atomic_store_n(&e->flags, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&e->req_off, base, __ATOMIC_RELAXED);
	__atomic_store_n(&e->req_len, VSM_WIRE_OP_LEN + RACE_SRC, __ATOMIC_RELAXED);
	__atomic_store_n(&e->out_off, base + RACE_OUT, __ATOMIC_RELAXED);
	__atomic_store_n(&e->out_cap, 64, __ATOMIC_RELAXED);
	s->sq_tail++;
}

/*
 * A second thread keeps flipping SQE fields and the OP's fixed part while
 * requests flow. vsmd must not crash or answer with an invalid status;
 * completions come back in order with their ids; once the connection is
 * gone (a flip vsmd must disconnect for), a fresh client is served.
 */
static int t_rewrite_race(void)
{
	struct vh_daemon d;
	vh_start(&d, NULL);
	unsigned long total = 0, flips = 0, closed = 0, counts[VSM_S__MAX] = {0};
	uint64_t end = vh_now_ms() + 3000;
	for (unsigned round = 0; round < 40 && vh_now_ms() < end; round++) {
		struct vh_shm s;
		vh_shm_open(&s, d.sock, 64, 1 << 20);
		uint64_t h = sha256_session(&s);
		uint8_t msg[RACE_SRC];
		memset(msg, 'r', sizeof(msg));
		for (uint32_t i = 0; i < s.entries; i++) {
			struct vsm_wire_op m = {.session = h,
						.op = VSM_OP_DIGEST,
						.dst_len = 32,
						.src = msg,
						.src_len = RACE_SRC};
			VH_EQ(vh_shm_put_op(&s, i * RACE_SLOT, &m), VSM_WIRE_OP_LEN + RACE_SRC);
		}
		struct flipper f = {.s = &s, .hostile = round % 2 == 1, .handle = h};
		pthread_t th;
		VH_CHECK(pthread_create(&th, NULL, flip_main, &f) == 0, "pthread_create");
		uint64_t next_id = 1, want_id = 1;
		bool gone = false;
		while (!gone && next_id <= 3000) {
			while (s.sq_tail - s.cq_head < s.entries && next_id <= 3000)
				race_put(&s, next_id++);
			vh_shm_submit(&s);
			while (s.cq_head != s.sq_tail) {
				struct vsm_shm_cqe c;
				int r = vh_shm_reap(&s, &c, EOF_MS);
				VH_CHECK(r >= 0, "no completion and no close within %d ms", EOF_MS);
				if (r == 0) {
					gone = true;
					break;
				}
				VH_EQ(c.id, want_id);
				want_id++;
				VH_CHECK(c.status < VSM_S__MAX, "status %u", c.status);
				VH_CHECK(c.detail < VSM_D__MAX, "detail %u", c.detail);
				VH_CHECK(c.out_len <= 64, "out_len %u over every out_cap offered",
					 c.out_len);
				counts[c.status]++;
				total++;
				if (c.status == VSM_S_BADMSG && c.detail == VSM_D_PROTOCOL) {
					/* A protocol break is the last completion. */
					vh_shm_expect_eof(&s, EOF_MS);
					gone = true;
					break;
				}
			}
		}
		atomic_store(&f.stop, true);
		pthread_join(th, NULL);
		flips += f.flips;
		closed += gone;
		vh_shm_close(&s);
	}
	printf("race: %lu completions (ok %lu, badmsg %lu, invsess %lu, nospc %lu), %lu flips, "
	       "%lu connections closed by vsmd\n",
	       total, counts[VSM_S_OK], counts[VSM_S_BADMSG], counts[VSM_S_INVSESS],
	       counts[VSM_S_NOSPC], flips, closed);
	VH_CHECK(total > 0, "no completions at all");
	still_serving(&d);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

/* ---- 3. and 4.: tenants ---- */

#define UID_A	    10201
#define UID_B	    10202
#define TWO_TENANTS "[tenant a]\nuids = 10201\n[tenant b]\nuids = 10202\n"

static bool need_root(void)
{
	if (geteuid() == 0)
		return true;
	printf("SKIP: tenant tests switch uids and need root\n");
	return false;
}

static void become(uid_t uid)
{
	VH_CHECK(setgroups(0, NULL) == 0, "setgroups: %s", strerror(errno));
	VH_CHECK(setresgid(uid, uid, uid) == 0, "setresgid: %s", strerror(errno));
	VH_CHECK(setresuid(uid, uid, uid) == 0, "setresuid: %s", strerror(errno));
	VH_EQ(geteuid(), uid);
}

static void pipe_write(int fd, const void *buf, size_t n)
{
	VH_CHECK(write(fd, buf, n) == (ssize_t)n, "pipe write: %s", strerror(errno));
}

static void pipe_read(int fd, void *buf, size_t n)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	VH_CHECK(poll(&p, 1, 30000) == 1, "nothing on the pipe within 30 s");
	VH_CHECK(read(fd, buf, n) == (ssize_t)n, "pipe read (peer died?)");
}

struct tenant_arg {
	const struct vh_daemon *d;
	int to_child[2], from_child[2];
};

struct b_result {
	unsigned long ops_alone, ms_alone, ops_noisy, ms_noisy;
};

/* B's workload for ms milliseconds: NOP echoes and SHA-256 digests, each checked. */
static unsigned long b_work(struct vh_shm *s, uint64_t h, unsigned ms, uint64_t *id)
{
	unsigned long ops = 0;
	uint64_t end = vh_now_ms() + ms;
	uint8_t msg[256], got[32], want[32];
	while (vh_now_ms() < end) {
		(*id)++;
		nop_roundtrip(s, *id, 128);
		for (size_t i = 0; i < sizeof(msg); i++)
			msg[i] = (uint8_t)(*id + i);
		VH_EQ(ring_digest(s, ++*id, h, msg, sizeof(msg), got), VSM_S_OK);
		vh_sha256(msg, sizeof(msg), want);
		VH_MEMEQ(got, want, 32);
		ops += 2;
	}
	return ops;
}

static void tenant_b(void *arg)
{
	struct tenant_arg *a = arg;
	become(UID_B);
	struct vh_shm s;
	vh_shm_open(&s, a->d->sock, 64, 1 << 20);
	VH_CHECK(!strcmp(s.hello.tenant, "b"), "tenant '%s'", s.hello.tenant);
	uint64_t h = sha256_session(&s), id = 100;
	struct b_result r = {0};
	uint64_t t0 = vh_now_ms();
	r.ops_alone = b_work(&s, h, 1000, &id);
	r.ms_alone = vh_now_ms() - t0;
	char go;
	pipe_write(a->from_child[1], "r", 1);
	pipe_read(a->to_child[0], &go, 1);
	t0 = vh_now_ms();
	r.ops_noisy = b_work(&s, h, 2000, &id);
	r.ms_noisy = vh_now_ms() - t0;
	VH_CHECK(!vh_shm_closed(&s), "vsmd closed tenant b's connection");
	pipe_write(a->from_child[1], &r, sizeof(r));
	vh_shm_close(&s);
}

static void tenant_a_noisy(void *arg)
{
	struct tenant_arg *a = arg;
	become(UID_A);
	unsigned long n = 0;
	uint64_t end = vh_now_ms() + 2500;
	while (vh_now_ms() < end)
		hostile(a->d->sock, (enum hostile)(n++ % H__MAX));
	pipe_write(a->from_child[1], &n, sizeof(n));
}

/*
 * While tenant a runs every hostile sequence in a loop, tenant b keeps
 * completing NOPs and digests over its own region, every one correct.
 */
static int t_tenants(void)
{
	if (!need_root())
		return VH_SKIP;
	struct vh_daemon d;
	struct vh_opts o = {.sections = TWO_TENANTS};
	vh_start(&d, &o);
	struct tenant_arg ab = {.d = &d}, aa = {.d = &d};
	VH_CHECK(pipe(ab.to_child) == 0 && pipe(ab.from_child) == 0 && pipe(aa.to_child) == 0 &&
			 pipe(aa.from_child) == 0,
		 "pipe");
	pid_t pb = vh_fork(tenant_b, &ab);
	char c;
	pipe_read(ab.from_child[0], &c, 1); /* b measured alone */
	pid_t pa = vh_fork(tenant_a_noisy, &aa);
	sleep_ms(100);
	pipe_write(ab.to_child[1], "g", 1);
	struct b_result r;
	unsigned long a_rounds = 0;
	pipe_read(ab.from_child[0], &r, sizeof(r));
	pipe_read(aa.from_child[0], &a_rounds, sizeof(a_rounds));
	VH_EQ(vh_child_wait(pb, 30000), 0);
	VH_EQ(vh_child_wait(pa, 30000), 0);
	double alone = r.ms_alone ? r.ops_alone * 1000.0 / r.ms_alone : 0;
	double noisy = r.ms_noisy ? r.ops_noisy * 1000.0 / r.ms_noisy : 0;
	/*
	 * The issue asks that b stay within 5% of its throughput alone. It is
	 * printed, never asserted: timings do not gate tests (machine load
	 * decides them, not vsmd).
	 */
	printf("tenant b alone: %lu ops in %lu ms = %.0f ops/s\n", r.ops_alone, r.ms_alone, alone);
	printf("tenant b with a hostile: %lu ops in %lu ms = %.0f ops/s (%.1f%% of alone); "
	       "a ran %lu hostile connections\n",
	       r.ops_noisy, r.ms_noisy, noisy, alone > 0 ? 100.0 * noisy / alone : 0.0, a_rounds);
	VH_CHECK(r.ops_alone > 0, "tenant b made no progress alone");
	VH_CHECK(r.ops_noisy > 0, "tenant b made no progress beside the hostile tenant");
	VH_CHECK(a_rounds > 0, "the hostile tenant did nothing");
	still_serving(&d);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

struct iso_info {
	uint64_t handle;
	uint64_t dev, ino;
};

static void iso_a(void *arg)
{
	struct tenant_arg *a = arg;
	become(UID_A);
	struct vh_shm s;
	vh_shm_open(&s, a->d->sock, 16, 1 << 20);
	VH_CHECK(!strcmp(s.hdr->tenant, "a"), "region tenant '%.32s'", s.hdr->tenant);
	struct stat st;
	VH_CHECK(fstat(s.memfd, &st) == 0, "fstat");
	struct iso_info in = {sha256_session(&s), st.st_dev, st.st_ino};
	pipe_write(a->from_child[1], &in, sizeof(in));
	char c;
	pipe_read(a->to_child[0], &c, 1);
	/* b's attempts left a's session alone. */
	uint8_t got[32], want[32];
	VH_EQ(ring_digest(&s, 9, in.handle, "abc", 3, got), VSM_S_OK);
	vh_sha256("abc", 3, want);
	VH_MEMEQ(got, want, 32);
	vh_shm_close(&s);
}

static void iso_b(void *arg)
{
	struct tenant_arg *a = arg;
	become(UID_B);
	struct iso_info in;
	pipe_read(a->to_child[0], &in, sizeof(in));
	struct vh_shm s;
	vh_shm_open(&s, a->d->sock, 16, 1 << 20);
	VH_CHECK(!strcmp(s.hdr->tenant, "b"), "region tenant '%.32s'", s.hdr->tenant);
	struct stat st;
	VH_CHECK(fstat(s.memfd, &st) == 0, "fstat");
	VH_CHECK(st.st_dev != in.dev || st.st_ino != in.ino,
		 "tenants a and b share one memfd (inode %llu)", (unsigned long long)st.st_ino);
	uint8_t got[32];
	VH_EQ(ring_digest(&s, 1, in.handle, "abc", 3, got), VSM_S_INVSESS);
	/* Nor destroy it. */
	vsm_wire_encode_u64(s.data, 8, in.handle);
	struct vsm_shm_sqe e = {.id = 2,
				.msg = VSM_MSG_SESSION_DESTROY,
				.req_len = 8,
				.out_off = 4096,
				.out_cap = 0};
	vh_shm_put(&s, &e);
	vh_shm_submit(&s);
	vh_shm_expect(&s, 2, VSM_S_INVSESS, VSM_D_NONE);
	/* b's own session works, and its handle is not a's. */
	uint64_t mine = sha256_session(&s);
	VH_CHECK(mine != in.handle, "b got a's handle value");
	VH_EQ(ring_digest(&s, 3, mine, "abc", 3, got), VSM_S_OK);
	vh_shm_close(&s);
}

static int t_isolation(void)
{
	if (!need_root())
		return VH_SKIP;
	struct vh_daemon d;
	struct vh_opts o = {.sections = TWO_TENANTS};
	vh_start(&d, &o);
	struct tenant_arg aa = {.d = &d}, ab = {.d = &d};
	VH_CHECK(pipe(ab.to_child) == 0 && pipe(ab.from_child) == 0 && pipe(aa.to_child) == 0 &&
			 pipe(aa.from_child) == 0,
		 "pipe");
	pid_t pa = vh_fork(iso_a, &aa);
	struct iso_info in;
	pipe_read(aa.from_child[0], &in, sizeof(in));
	pid_t pb = vh_fork(iso_b, &ab);
	pipe_write(ab.to_child[1], &in, sizeof(in));
	VH_EQ(vh_child_wait(pb, 30000), 0);
	pipe_write(aa.to_child[1], "d", 1);
	VH_EQ(vh_child_wait(pa, 30000), 0);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

/* ---- 5. shutdown with a live region ---- */

static int t_shutdown(void)
{
	struct vh_daemon d;
	vh_start(&d, NULL);
	struct vh_shm s;
	vh_shm_open(&s, d.sock, 8, 64 * 1024);
	nop_roundtrip(&s, 1, 1000);
	/* Leave work behind: a full CQ and a full SQ. */
	for (uint32_t i = 0; i < s.entries; i++)
		put_nop(&s, 10 + i, 0, 16, 8192, 16);
	vh_shm_submit(&s);
	wait_consumed(&s, s.sq_tail);
	for (uint32_t i = 0; i < s.entries; i++)
		put_nop(&s, 20 + i, 0, 16, 8192, 16);
	vh_shm_submit(&s);
	memset(s.data + 16384, 0xc3, 4096);

	uint64_t t0 = vh_now_ms();
	VH_CHECK(kill(d.pid, SIGTERM) == 0, "kill: %s", strerror(errno));
	vh_wait_stopped(&d); /* exit status 0, clean log */
	printf("vsmd exited %llu ms after SIGTERM (drain_timeout_ms 5000)\n",
	       (unsigned long long)(vh_now_ms() - t0));
	vh_shm_expect_eof(&s, EOF_MS);
	/* Our mapping outlives vsmd: every page reads and writes without SIGBUS. */
	for (size_t off = 0; off < s.size; off += 4096) {
		volatile uint8_t *p = s.base + off;
		uint8_t v = *p;
		*p = v;
	}
	VH_EQ(s.hdr->magic, VSM_SHM_MAGIC);
	for (int i = 0; i < 4096; i++)
		VH_EQ(s.data[16384 + i], 0xc3);
	vh_shm_close(&s);
	vh_cleanup(&d);
	return 0;
}

static const struct vh_case cases[] = {
	{"handshake", t_handshake, 0},
	{"sealed", t_sealed, 0},
	{"status-first", t_status_first, 0},
	{"setup-errors", t_setup_errors, 0},
	{"tcp", t_tcp, 0},
	{"tail-backwards", t_tail_backwards, 0},
	{"tail-beyond", t_tail_beyond, 0},
	{"cq-head-beyond", t_cq_head_beyond, 0},
	{"req-outside", t_req_outside, 0},
	{"out-outside", t_out_outside, 0},
	{"sqe-flags", t_sqe_flags, 0},
	{"unknown-msg", t_unknown_msg, 0},
	{"op-malformed", t_op_short, 0},
	{"overlap", t_overlap, 0},
	{"in-place", t_in_place, 0},
	{"rewrite-race", t_rewrite_race, 90},
	{"flood", t_flood, 0},
	{"too-big", t_too_big, 0},
	{"tenants", t_tenants, 90},
	{"isolation", t_isolation, 0},
	{"shutdown", t_shutdown, 0},
};

int main(int argc, char **argv)
{
	return vh_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
