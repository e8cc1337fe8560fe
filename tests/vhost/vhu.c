/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The QEMU side of vhost-user and the guest side of the split virtqueues
 * (virtio 1.1 section 2.6), for testing vsmd's back-end from the outside.
 */
#include "vhu.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define VHU_MAX_FDS 8

_Static_assert(VHU_ARENA_BASE + VHU_MAX_VQ / 2 * VHU_ARENA_SIZE <= VHU_REGION_SIZE,
	       "queue arenas must fit in a region");

/* ---- little-endian ---- */

void vhu_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

void vhu_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void vhu_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint16_t vhu_ld16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

uint32_t vhu_ld32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t vhu_ld64(const uint8_t *p)
{
	return (uint64_t)vhu_ld32(p) | (uint64_t)vhu_ld32(p + 4) << 32;
}

/* ---- guest memory ---- */

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Offset of gpa in the memfd, or SIZE_MAX when [gpa, gpa+len) is not inside one region. */
static size_t mem_off(uint64_t gpa, size_t len)
{
	static const uint64_t base[2] = {VHU_R0_GPA, VHU_R1_GPA};
	for (int r = 0; r < 2; r++)
		if (gpa >= base[r] && gpa - base[r] <= VHU_REGION_SIZE &&
		    len <= VHU_REGION_SIZE - (gpa - base[r]))
			return (size_t)r * VHU_REGION_SIZE + (size_t)(gpa - base[r]);
	return SIZE_MAX;
}

uint8_t *vhu_ptr(struct vhu_dev *d, uint64_t gpa, size_t len)
{
	size_t off = mem_off(gpa, len);
	VH_CHECK(off != SIZE_MAX, "gpa 0x%llx+%zu is not guest memory", (unsigned long long)gpa,
		 len);
	return d->mem + off;
}

uint64_t vhu_uva(struct vhu_dev *d, uint64_t gpa)
{
	return (uint64_t)(uintptr_t)vhu_ptr(d, gpa, 0);
}

static void canary(uint8_t *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(0x5a ^ ((seed + i) * 0x9d) ^ ((seed + i) >> 7));
}

static uint32_t canary_seed = 1;

uint64_t vhu_alloc(struct vhu_vq *q, size_t len)
{
	uint64_t at = q->arena_next;
	VH_CHECK(len <= q->arena_end - at, "queue %u arena exhausted (%zu bytes wanted)", q->idx,
		 len);
	q->arena_next = (at + len + 15) & ~15ull;
	canary(vhu_ptr(q->dev, at, len), len,
	       __atomic_add_fetch(&canary_seed, 977, __ATOMIC_RELAXED));
	return at;
}

void vhu_arena_reset(struct vhu_vq *q)
{
	q->arena_next = q->arena;
}

uint64_t vhu_put(struct vhu_vq *q, const void *p, size_t len)
{
	uint64_t at = vhu_alloc(q, len ? len : 1);
	if (len)
		memcpy(vhu_ptr(q->dev, at, len), p, len);
	return at;
}

/* ---- socket ---- */

void vhu_open(struct vhu_dev *d, const char *path)
{
	memset(d, 0, sizeof(*d));
	d->sock = -1;
	for (int i = 0; i < VHU_MAX_VQ; i++) {
		d->vq[i].kick = d->vq[i].call = -1;
		d->vq[i].dev = d;
		d->vq[i].idx = (unsigned)i;
	}
	d->memfd = memfd_create("vhu-guest", MFD_CLOEXEC);
	VH_CHECK(d->memfd >= 0, "memfd_create: %s", strerror(errno));
	VH_CHECK(ftruncate(d->memfd, VHU_MEM_SIZE) == 0, "ftruncate: %s", strerror(errno));
	void *m = mmap(NULL, VHU_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, d->memfd, 0);
	VH_CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
	d->mem = m;
	canary(d->mem, VHU_MEM_SIZE, 0);

	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	VH_CHECK(strlen(path) < sizeof(sa.sun_path), "socket path too long");
	memcpy(sa.sun_path, path, strlen(path) + 1);
	uint64_t deadline = vh_now_ms() + 5000;
	for (;;) {
		d->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		VH_CHECK(d->sock >= 0, "socket: %s", strerror(errno));
		if (connect(d->sock, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		int e = errno;
		close(d->sock);
		d->sock = -1;
		VH_CHECK(vh_now_ms() < deadline, "connect %s: %s", path, strerror(e));
		sleep_ms(10);
	}
}

void vhu_disconnect(struct vhu_dev *d)
{
	if (d->sock >= 0)
		close(d->sock);
	d->sock = -1;
}

void vhu_close(struct vhu_dev *d)
{
	vhu_disconnect(d);
	for (int i = 0; i < VHU_MAX_VQ; i++) {
		if (d->vq[i].kick >= 0)
			close(d->vq[i].kick);
		if (d->vq[i].call >= 0)
			close(d->vq[i].call);
		free(d->vq[i].snap);
		d->vq[i].snap = NULL;
		d->vq[i].kick = d->vq[i].call = -1;
	}
	if (d->mem)
		munmap(d->mem, VHU_MEM_SIZE);
	d->mem = NULL;
	if (d->memfd >= 0)
		close(d->memfd);
	d->memfd = -1;
}

int vhu_send(struct vhu_dev *d, uint32_t req, uint32_t flags, const void *payload, size_t size,
	     const int *fds, size_t nfds)
{
	uint8_t hdr[VHU_HDR_LEN];
	vhu_le32(hdr, req);
	vhu_le32(hdr + 4, flags);
	vhu_le32(hdr + 8, (uint32_t)size);
	struct iovec iov[2] = {{hdr, sizeof(hdr)}, {(void *)payload, size}};
	union {
		char buf[CMSG_SPACE(sizeof(int) * VHU_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = size ? 2 : 1};
	VH_CHECK(nfds <= VHU_MAX_FDS, "too many fds");
	if (nfds) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	size_t total = sizeof(hdr) + size;
	ssize_t n = sendmsg(d->sock, &mh, MSG_NOSIGNAL);
	if (n < 0)
		return -errno;
	/* The rest (no fds) if the kernel took only part of it. */
	size_t done = (size_t)n;
	while (done < total) {
		const uint8_t *p = done < sizeof(hdr) ? hdr + done : (const uint8_t *)payload;
		size_t len = done < sizeof(hdr) ? sizeof(hdr) - done : total - done;
		if (done >= sizeof(hdr))
			p += done - sizeof(hdr);
		ssize_t w = send(d->sock, p, len, MSG_NOSIGNAL);
		if (w < 0)
			return -errno;
		done += (size_t)w;
	}
	return 0;
}

static int read_full(int fd, void *buf, size_t len, uint64_t deadline)
{
	uint8_t *p = buf;
	while (len) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		uint64_t now = vh_now_ms();
		if (now >= deadline)
			return -1;
		int r = poll(&pf, 1, (int)(deadline - now));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		ssize_t n = recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

long vhu_recv(struct vhu_dev *d, uint32_t *req_out, uint32_t *flags_out, void *buf, size_t cap,
	      unsigned timeout_ms)
{
	uint64_t deadline = vh_now_ms() + timeout_ms;
	uint8_t hdr[VHU_HDR_LEN];
	if (d->sock < 0 || read_full(d->sock, hdr, sizeof(hdr), deadline) < 0)
		return -1;
	uint32_t size = vhu_ld32(hdr + 8);
	VH_CHECK(size <= 4096, "reply of %u bytes to request %u", size, vhu_ld32(hdr));
	uint8_t tmp[4096];
	if (size && read_full(d->sock, tmp, size, deadline) < 0)
		return -1;
	memcpy(buf, tmp, size < cap ? size : cap);
	if (req_out)
		*req_out = vhu_ld32(hdr);
	if (flags_out)
		*flags_out = vhu_ld32(hdr + 4);
	return (long)size;
}

uint64_t vhu_get_u64(struct vhu_dev *d, uint32_t req)
{
	VH_EQ(vhu_send(d, req, VHU_FLAG_VERSION, NULL, 0, NULL, 0), 0);
	uint8_t b[8];
	uint32_t rq, fl;
	long n = vhu_recv(d, &rq, &fl, b, sizeof(b), 5000);
	VH_CHECK(n >= 0, "no reply to request %u", req);
	VH_EQ(rq, req);
	VH_EQ(fl, VHU_FLAG_VERSION | VHU_FLAG_REPLY);
	VH_EQ(n, 8);
	return vhu_ld64(b);
}

bool vhu_alive(struct vhu_dev *d)
{
	if (vhu_send(d, VHU_GET_FEATURES, VHU_FLAG_VERSION, NULL, 0, NULL, 0) < 0)
		return false;
	/* Skip replies to earlier requests (REPLY_ACKs) until ours. */
	for (int i = 0; i < 64; i++) {
		uint8_t b[8];
		uint32_t rq;
		long n = vhu_recv(d, &rq, NULL, b, sizeof(b), 3000);
		if (n < 0)
			return false;
		if (rq == VHU_GET_FEATURES && n == 8)
			return true;
	}
	return false;
}

bool vhu_closed_by_peer(struct vhu_dev *d, unsigned timeout_ms)
{
	uint64_t deadline = vh_now_ms() + timeout_ms;
	for (;;) {
		uint64_t now = vh_now_ms();
		if (now >= deadline)
			return false;
		struct pollfd pf = {.fd = d->sock, .events = POLLIN};
		int r = poll(&pf, 1, (int)(deadline - now));
		if (r <= 0)
			continue;
		uint8_t junk[256];
		ssize_t n = recv(d->sock, junk, sizeof(junk), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
	}
}

/* ---- start-up ---- */

uint64_t vhu_default_pf(void)
{
	return 1ull << VHU_PF_MQ | 1ull << VHU_PF_REPLY_ACK | 1ull << VHU_PF_CRYPTO_SESSION |
	       1ull << VHU_PF_VSM_SESSION;
}

void vhu_handshake(struct vhu_dev *d, uint64_t pf)
{
	d->features = vhu_get_u64(d, VHU_GET_FEATURES);
	static const int want[] = {32 /* VERSION_1 */, 28 /* INDIRECT_DESC */, 29 /* EVENT_IDX */,
				   VHU_F_PROTOCOL_FEATURES};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		VH_CHECK(d->features >> want[i] & 1, "GET_FEATURES 0x%llx lacks bit %d",
			 (unsigned long long)d->features, want[i]);
	VH_EQ(vhu_send(d, VHU_SET_OWNER, VHU_FLAG_VERSION, NULL, 0, NULL, 0), 0);
	d->protocol_features = vhu_get_u64(d, VHU_GET_PROTOCOL_FEATURES);
	static const int pwant[] = {VHU_PF_MQ, VHU_PF_REPLY_ACK, VHU_PF_CRYPTO_SESSION,
				    VHU_PF_VSM_SESSION};
	for (size_t i = 0; i < sizeof(pwant) / sizeof(pwant[0]); i++)
		VH_CHECK(d->protocol_features >> pwant[i] & 1,
			 "GET_PROTOCOL_FEATURES 0x%llx lacks bit %d",
			 (unsigned long long)d->protocol_features, pwant[i]);
	uint8_t b[8];
	vhu_le64(b, pf & d->protocol_features);
	VH_EQ(vhu_send(d, VHU_SET_PROTOCOL_FEATURES, VHU_FLAG_VERSION, b, 8, NULL, 0), 0);
	d->queue_num = vhu_get_u64(d, VHU_GET_QUEUE_NUM);
	VH_EQ(d->queue_num, 64);
	/* What QEMU 7.2 really sends, whatever the guest negotiated. */
	vhu_le64(b, 1ull << VHU_F_PROTOCOL_FEATURES);
	VH_EQ(vhu_send(d, VHU_SET_FEATURES, VHU_FLAG_VERSION, b, 8, NULL, 0), 0);
}

void vhu_set_mem_table(struct vhu_dev *d)
{
	uint8_t p[8 + 2 * 32] = {0};
	vhu_le32(p, 2);
	static const uint64_t gpa[2] = {VHU_R0_GPA, VHU_R1_GPA};
	for (int r = 0; r < 2; r++) {
		uint8_t *e = p + 8 + 32 * r;
		vhu_le64(e, gpa[r]);
		vhu_le64(e + 8, VHU_REGION_SIZE);
		vhu_le64(e + 16, vhu_uva(d, gpa[r]));
		vhu_le64(e + 24, (uint64_t)r * VHU_REGION_SIZE);
	}
	int fds[2] = {d->memfd, d->memfd};
	VH_EQ(vhu_send(d, VHU_SET_MEM_TABLE, VHU_FLAG_VERSION, p, sizeof(p), fds, 2), 0);
}

static int vring_state(struct vhu_dev *d, uint32_t req, unsigned idx, uint32_t num)
{
	uint8_t b[8];
	vhu_le32(b, idx);
	vhu_le32(b + 4, num);
	return vhu_send(d, req, VHU_FLAG_VERSION, b, 8, NULL, 0);
}

int vhu_vq_setup_try(struct vhu_dev *d, unsigned idx, uint16_t num, uint16_t base)
{
	VH_CHECK(idx < VHU_MAX_VQ && num >= 1 && num <= 256, "queue %u num %u", idx, num);
	struct vhu_vq *q = &d->vq[idx];
	uint64_t ring = VHU_R0_GPA + (uint64_t)idx * VHU_RING_AREA;
	q->num = num;
	q->desc = ring;
	q->avail = ring + 4096;
	q->used = ring + 8192;
	memset(vhu_ptr(d, ring, VHU_RING_AREA), 0, VHU_RING_AREA);
	vhu_le16(vhu_ptr(d, q->avail + 2, 2), base);
	vhu_le16(vhu_ptr(d, q->used + 2, 2), base);
	q->avail_idx = q->used_seen = base;
	q->next_desc = 0;
	/* Queue i's scratch: region i % 2, after the rings. */
	q->arena = (idx % 2 ? VHU_R1_GPA : VHU_R0_GPA) + VHU_ARENA_BASE +
		   (uint64_t)(idx / 2) * VHU_ARENA_SIZE;
	q->arena_end = q->arena + VHU_ARENA_SIZE;
	q->arena_next = q->arena;
	q->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	q->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	VH_CHECK(q->kick >= 0 && q->call >= 0, "eventfd: %s", strerror(errno));

	/* QEMU 7.2 vhost_virtqueue_start order. */
	uint8_t a[40] = {0};
	vhu_le32(a, idx);
	vhu_le64(a + 8, vhu_uva(d, q->desc));
	vhu_le64(a + 16, vhu_uva(d, q->used));
	vhu_le64(a + 24, vhu_uva(d, q->avail));
	uint8_t kb[8];
	vhu_le64(kb, idx);
	if (vring_state(d, VHU_SET_VRING_NUM, idx, num) < 0 ||
	    vring_state(d, VHU_SET_VRING_BASE, idx, base) < 0 ||
	    vhu_send(d, VHU_SET_VRING_ADDR, VHU_FLAG_VERSION, a, sizeof(a), NULL, 0) < 0 ||
	    vhu_send(d, VHU_SET_VRING_KICK, VHU_FLAG_VERSION, kb, 8, &q->kick, 1) < 0 ||
	    vhu_send(d, VHU_SET_VRING_CALL, VHU_FLAG_VERSION, kb, 8, &q->call, 1) < 0)
		return -1;
	q->ready = true;
	return 0;
}

void vhu_vq_setup(struct vhu_dev *d, unsigned idx, uint16_t num, uint16_t base)
{
	VH_CHECK(vhu_vq_setup_try(d, idx, num, base) == 0, "queue %u setup: connection closed",
		 idx);
}

uint32_t vhu_get_vring_base(struct vhu_dev *d, unsigned idx)
{
	VH_EQ(vring_state(d, VHU_GET_VRING_BASE, idx, 0), 0);
	uint8_t b[8];
	uint32_t rq, fl;
	long n = vhu_recv(d, &rq, &fl, b, sizeof(b), 5000);
	VH_CHECK(n >= 0, "no reply to GET_VRING_BASE");
	VH_EQ(rq, VHU_GET_VRING_BASE);
	VH_EQ(fl, VHU_FLAG_VERSION | VHU_FLAG_REPLY);
	VH_EQ(n, 8);
	VH_EQ(vhu_ld32(b), idx);
	return vhu_ld32(b + 4);
}

void vhu_start(struct vhu_dev *d, const char *path, unsigned nq, uint16_t num)
{
	vhu_open(d, path);
	vhu_handshake(d, vhu_default_pf());
	vhu_set_mem_table(d);
	for (unsigned i = 0; i < nq; i++)
		vhu_vq_setup(d, i, num, 0);
}

/* ---- sessions ---- */

int64_t vhu_sym_session_raw(struct vhu_dev *d, const uint8_t *payload)
{
	VH_EQ(vhu_send(d, VHU_CREATE_CRYPTO_SESSION, VHU_FLAG_VERSION, payload,
		       VHU_CRYPTO_SESSION_LEN, NULL, 0),
	      0);
	uint8_t b[VHU_CRYPTO_SESSION_LEN];
	uint32_t rq, fl;
	long n = vhu_recv(d, &rq, &fl, b, sizeof(b), 5000);
	VH_CHECK(n >= 0, "no reply to CREATE_CRYPTO_SESSION");
	VH_EQ(rq, VHU_CREATE_CRYPTO_SESSION);
	VH_EQ(fl, VHU_FLAG_VERSION | VHU_FLAG_REPLY);
	VH_EQ(n, VHU_CRYPTO_SESSION_LEN);
	return (int64_t)vhu_ld64(b);
}

int64_t vhu_sym_session(struct vhu_dev *d, uint32_t virtio_alg, const void *key, uint32_t key_len,
			uint32_t direction)
{
	uint8_t p[VHU_CRYPTO_SESSION_LEN] = {0};
	VH_CHECK(key_len <= 64, "key too long");
	vhu_le64(p, (uint64_t)-1);
	vhu_le32(p + 8, virtio_alg);
	vhu_le32(p + 12, key_len);
	p[32] = 1; /* VIRTIO_CRYPTO_SYM_OP_CIPHER */
	p[33] = (uint8_t)direction;
	/* QEMU copies two host pointers here: garbage to the back-end. */
	memset(p + 40, 0xee, 16);
	memcpy(p + 56, key, key_len);
	return vhu_sym_session_raw(d, p);
}

int64_t vhu_vsm_session(struct vhu_dev *d, const struct vsm_wire_session *s)
{
	uint8_t buf[4096];
	size_t n = vsm_wire_encode_session(buf, sizeof(buf), s);
	VH_CHECK(n > 0, "session does not encode");
	VH_EQ(vhu_send(d, VHU_VSM_CREATE_SESSION, VHU_FLAG_VERSION, buf, n, NULL, 0), 0);
	uint8_t b[8];
	uint32_t rq, fl;
	long r = vhu_recv(d, &rq, &fl, b, sizeof(b), 5000);
	VH_CHECK(r >= 0, "no reply to VSM_CREATE_SESSION");
	VH_EQ(rq, VHU_VSM_CREATE_SESSION);
	VH_EQ(fl, VHU_FLAG_VERSION | VHU_FLAG_REPLY);
	VH_EQ(r, 8);
	return (int64_t)vhu_ld64(b);
}

void vhu_close_session(struct vhu_dev *d, int64_t id)
{
	uint8_t b[8];
	vhu_le64(b, (uint64_t)id);
	VH_EQ(vhu_send(d, VHU_CLOSE_CRYPTO_SESSION, VHU_FLAG_VERSION, b, 8, NULL, 0), 0);
}

/* ---- virtqueues ---- */

void vhu_desc_write(struct vhu_dev *d, uint64_t table, uint16_t i, uint64_t addr, uint32_t len,
		    uint16_t flags, uint16_t next)
{
	uint8_t *p = vhu_ptr(d, table + 16ull * i, 16);
	vhu_le64(p, addr);
	vhu_le32(p + 8, len);
	vhu_le16(p + 12, flags);
	vhu_le16(p + 14, next);
}

uint16_t vhu_chain(struct vhu_vq *q, const struct vhu_seg *segs, size_t n)
{
	VH_CHECK(n >= 1 && n <= q->num, "chain of %zu on a ring of %u", n, q->num);
	uint16_t head = q->next_desc;
	for (size_t i = 0; i < n; i++) {
		uint16_t cur = (uint16_t)((head + i) % q->num);
		uint16_t nxt = (uint16_t)((head + i + 1) % q->num);
		uint16_t fl = segs[i].flags;
		if (i + 1 < n)
			fl |= VHU_D_NEXT;
		vhu_desc_write(q->dev, q->desc, cur, segs[i].addr, segs[i].len, fl,
			       i + 1 < n ? nxt : 0);
	}
	q->next_desc = (uint16_t)((head + n) % q->num);
	return head;
}

uint16_t vhu_chain_indirect(struct vhu_vq *q, const struct vhu_seg *segs, size_t n)
{
	uint64_t table = vhu_alloc(q, 16 * n);
	for (size_t i = 0; i < n; i++)
		vhu_desc_write(q->dev, table, (uint16_t)i, segs[i].addr, segs[i].len,
			       (uint16_t)(segs[i].flags | (i + 1 < n ? VHU_D_NEXT : 0)),
			       (uint16_t)(i + 1 < n ? i + 1 : 0));
	struct vhu_seg one = {table, (uint32_t)(16 * n), VHU_D_INDIRECT};
	return vhu_chain(q, &one, 1);
}

/* Avail ring entry and used_event; the index is published by publish_commit. */
static void publish_stage(struct vhu_vq *q, uint16_t head)
{
	uint8_t *avail = vhu_ptr(q->dev, q->avail, 4 + 2u * q->num + 2);
	vhu_le16(avail + 4 + 2 * (q->avail_idx % q->num), head);
	/* EVENT_IDX: interrupt me as soon as anything new is used. */
	vhu_le16(avail + 4 + 2u * q->num, q->used_seen);
	q->avail_idx++;
}

static void publish_commit(struct vhu_vq *q)
{
	uint16_t *idx = (uint16_t *)vhu_ptr(q->dev, q->avail + 2, 2);
	__atomic_store_n(idx, q->avail_idx, __ATOMIC_RELEASE);
}

void vhu_kick(struct vhu_vq *q)
{
	uint64_t one = 1;
	VH_CHECK(write(q->kick, &one, 8) == 8, "kick: %s", strerror(errno));
}

void vhu_publish(struct vhu_vq *q, uint16_t head)
{
	publish_stage(q, head);
	publish_commit(q);
	vhu_kick(q);
}

int vhu_wait_used(struct vhu_vq *q, unsigned timeout_ms, uint32_t *id, uint32_t *len)
{
	uint64_t deadline = vh_now_ms() + timeout_ms;
	const uint16_t *uidx = (const uint16_t *)vhu_ptr(q->dev, q->used + 2, 2);
	for (;;) {
		uint16_t u = __atomic_load_n(uidx, __ATOMIC_ACQUIRE);
		if (u != q->used_seen) {
			const uint8_t *e =
				vhu_ptr(q->dev, q->used + 4 + 8u * (q->used_seen % q->num), 8);
			*id = vhu_ld32(e);
			*len = vhu_ld32(e + 4);
			q->used_seen++;
			/* Count a signal that already came (the fd is non-blocking). */
			uint64_t v;
			if (read(q->call, &v, 8) == 8)
				q->calls++;
			return 0;
		}
		if (vh_now_ms() >= deadline)
			return -1;
		struct pollfd pf = {.fd = q->call, .events = POLLIN};
		if (poll(&pf, 1, 10) > 0) {
			uint64_t v;
			if (read(q->call, &v, 8) == 8)
				q->calls++;
		}
	}
}

/* ---- virtio-crypto requests ---- */

void vc_hdr(struct vc_req *r, uint32_t opcode, uint32_t algo, uint64_t session)
{
	memset(r, 0, sizeof(*r));
	vhu_le32(r->hdr, opcode);
	vhu_le32(r->hdr + 4, algo);
	vhu_le64(r->hdr + 8, session);
}

static void add_in(struct vc_req *r, const void *p, uint32_t len)
{
	VH_CHECK(r->nin < 4, "too many pieces");
	if (!len)
		return;
	r->in[r->nin] = p;
	r->in_len[r->nin++] = len;
}

void vc_cipher(struct vc_req *r, uint32_t opcode, uint64_t session, const void *iv, uint32_t iv_len,
	       const void *src, uint32_t src_len, uint32_t dst_len)
{
	vc_hdr(r, opcode, 3 /* AES-CBC; vsmd goes by the session */, session);
	vhu_le32(r->hdr + 24, iv_len);
	vhu_le32(r->hdr + 28, src_len);
	vhu_le32(r->hdr + 32, dst_len);
	vhu_le32(r->hdr + 64, 1); /* op_type VIRTIO_CRYPTO_SYM_OP_CIPHER */
	add_in(r, iv, iv_len);
	add_in(r, src, src_len);
	r->out_cap = r->dst_len = dst_len;
}

void vc_hash(struct vc_req *r, uint32_t opcode, uint64_t session, const void *src, uint32_t src_len,
	     uint32_t result_len)
{
	vc_hdr(r, opcode, 0, session);
	vhu_le32(r->hdr + 24, src_len);
	vhu_le32(r->hdr + 28, result_len);
	add_in(r, src, src_len);
	r->out_cap = r->dst_len = result_len;
}

void vc_aead(struct vc_req *r, uint32_t opcode, uint64_t session, const void *iv, uint32_t iv_len,
	     const void *aad, uint32_t aad_len, const void *src, uint32_t src_len, uint32_t dst_len)
{
	vc_hdr(r, opcode, 1 /* GCM */, session);
	vhu_le32(r->hdr + 24, iv_len);
	vhu_le32(r->hdr + 28, aad_len);
	vhu_le32(r->hdr + 32, src_len);
	vhu_le32(r->hdr + 36, dst_len);
	add_in(r, iv, iv_len);
	add_in(r, aad, aad_len);
	add_in(r, src, src_len);
	r->out_cap = r->dst_len = dst_len;
}

void vc_akcipher(struct vc_req *r, uint32_t opcode, uint64_t session, const void *src,
		 uint32_t src_len, const void *src2, uint32_t dst_len)
{
	vc_hdr(r, opcode, 0, session);
	vhu_le32(r->hdr + 24, src_len);
	vhu_le32(r->hdr + 28, dst_len);
	add_in(r, src, src_len);
	if (src2) {
		add_in(r, src2, dst_len); /* VERIFY: digest is readable, nothing to write */
		r->out_cap = r->dst_len = 0;
	} else {
		r->out_cap = r->dst_len = dst_len;
	}
}

/* Chop [addr, addr+len) into descriptors of at most split bytes. */
static void push(struct vhu_seg *segs, size_t *n, size_t cap, uint64_t addr, uint32_t len,
		 uint16_t flags, uint32_t split)
{
	do {
		uint32_t l = split && len > split ? split : len;
		VH_CHECK(*n < cap, "too many descriptors");
		segs[(*n)++] = (struct vhu_seg){addr, l, flags};
		addr += l;
		len -= l;
	} while (len);
}

/* The parts of guest memory a request on q is checked against. */
static size_t watched(const struct vhu_vq *q, struct vhu_range *out)
{
	/* With other threads' queues busy, only what belongs to q. */
	if (q->dev->shared) {
		out[0] = (struct vhu_range){q->desc, VHU_RING_AREA};
		out[1] = (struct vhu_range){q->arena, VHU_ARENA_SIZE};
	} else {
		out[0] = (struct vhu_range){VHU_R0_GPA, VHU_REGION_SIZE};
		out[1] = (struct vhu_range){VHU_R1_GPA, VHU_REGION_SIZE};
	}
	return 2;
}

static bool in_ranges(uint64_t gpa, const struct vhu_range *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (gpa >= r[i].gpa && gpa - r[i].gpa < r[i].len)
			return true;
	return false;
}

static void check_unchanged(struct vhu_vq *q, const struct vhu_range *ok, size_t nok,
			    const char *what)
{
	const uint8_t *mem = q->dev->mem;
	struct vhu_range w[2];
	size_t nw = watched(q, w);
	for (size_t r = 0; r < nw; r++) {
		size_t off = mem_off(w[r].gpa, w[r].len);
		if (!memcmp(q->snap + off, mem + off, w[r].len))
			continue;
		for (size_t i = 0; i < w[r].len; i++)
			if (q->snap[off + i] != mem[off + i] && !in_ranges(w[r].gpa + i, ok, nok))
				vh_fail(__FILE__, __LINE__,
					"%s: guest memory at gpa 0x%llx changed (0x%02x -> 0x%02x) "
					"outside the request's writable bytes",
					what, (unsigned long long)(w[r].gpa + i), q->snap[off + i],
					mem[off + i]);
	}
}

void vc_run(struct vhu_vq *q, const struct vc_req *r, struct vc_res *res)
{
	struct vhu_dev *d = q->dev;
	enum { MAXSEG = 256 };
	struct vhu_seg segs[MAXSEG];
	size_t n = 0;
	vhu_arena_reset(q);
	uint32_t hl = r->hdr_len ? r->hdr_len : 72;
	push(segs, &n, MAXSEG, vhu_put(q, r->hdr, hl), hl, 0, r->split);
	for (unsigned i = 0; i < r->nin; i++)
		push(segs, &n, MAXSEG, vhu_put(q, r->in[i], r->in_len[i]), r->in_len[i], 0,
		     r->split);
	VH_CHECK(r->out_cap <= sizeof(res->out), "out_cap too large");
	VH_CHECK(r->dst_len <= r->out_cap, "dst_len > out_cap");
	uint64_t dst = 0, status;
	if (r->out_cap) {
		dst = vhu_alloc(q, r->out_cap);
		push(segs, &n, MAXSEG, dst, r->out_cap, VHU_D_WRITE, r->split);
	}
	if (r->status_inline) {
		VH_CHECK(r->out_cap > r->dst_len, "inline status needs room after dst");
		status = dst + r->out_cap - 1;
	} else {
		status = vhu_alloc(q, 1);
		push(segs, &n, MAXSEG, status, 1, VHU_D_WRITE, 0);
	}
	uint16_t head = r->indirect ? vhu_chain_indirect(q, segs, n) : vhu_chain(q, segs, n);
	struct vhu_range ok[] = {{dst, r->dst_len}, {status, 1}};
	uint32_t len;
	VH_CHECK(vhu_run_raw(q, head, ok, 2, 10000, &len) == 0,
		 "no completion within 10 s (queue %u)", q->idx);
	res->used_len = len;
	res->status = *vhu_ptr(d, status, 1);
	if (r->out_cap)
		memcpy(res->out, vhu_ptr(d, dst, r->out_cap), r->out_cap);
}

int vhu_run_raw(struct vhu_vq *q, uint16_t head, const struct vhu_range *ok, size_t nok,
		unsigned timeout_ms, uint32_t *used_len)
{
	struct vhu_dev *d = q->dev;
	publish_stage(q, head);
	if (!q->snap) {
		q->snap = malloc(VHU_MEM_SIZE);
		VH_CHECK(q->snap, "out of memory");
	}
	struct vhu_range w[2];
	size_t nw = watched(q, w);
	for (size_t r = 0; r < nw; r++) {
		size_t off = mem_off(w[r].gpa, w[r].len);
		memcpy(q->snap + off, d->mem + off, w[r].len);
	}
	publish_commit(q);
	vhu_le16(q->snap + mem_off(q->avail + 2, 2), q->avail_idx);
	vhu_kick(q);
	uint32_t id = 0, len = 0;
	int rc = vhu_wait_used(q, timeout_ms, &id, &len);
	if (rc == 0) {
		VH_EQ(id, head);
		*used_len = len;
	}
	/* The used ring is the device's to write; everything else must stay. */
	struct vhu_range all[16];
	VH_CHECK(nok < 15, "too many ranges");
	memcpy(all, ok, nok * sizeof(*ok));
	all[nok] = (struct vhu_range){q->used, 4 + 8u * q->num + 2};
	check_unchanged(q, all, nok + 1, "request");
	return rc;
}

/* ---- vsmd ---- */

void vhu_env_start(struct vhu_env *e, const char *extra)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/vsm-vhu-XXXXXX");
	VH_CHECK(mkdtemp(e->dir), "mkdtemp: %s", strerror(errno));
	/* VHU_SOCKET: test another back-end (e.g. a reference peer) already listening there. */
	const char *other = getenv("VHU_SOCKET");
	snprintf(e->sock, sizeof(e->sock), "%s", other && *other ? other : "");
	if (!e->sock[0])
		snprintf(e->sock, sizeof(e->sock), "%s/vhost.sock", e->dir);
	char sections[512];
	bool ext = other && *other;
	snprintf(sections, sizeof(sections), "[tenant vm1]\n%s%s%s%s",
		 ext ? "" : "vhost_user_socket = ", ext ? "" : e->sock, ext ? "" : "\n",
		 extra ? extra : "");
	struct vh_opts o = {.sections = sections};
	vh_start(&e->d, &o);
}

void vhu_env_stop(struct vhu_env *e)
{
	vh_stop(&e->d);
	vh_cleanup(&e->d);
	if (!getenv("VHU_SOCKET"))
		unlink(e->sock);
	rmdir(e->dir);
}

void vhu_check_serves(const char *path)
{
	static const uint8_t key[16] = {0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
					0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c};
	static const uint8_t pt[16] = {0x6b, 0xc1, 0xbe, 0xe2, 0x2e, 0x40, 0x9f, 0x96,
				       0xe9, 0x3d, 0x7e, 0x11, 0x73, 0x93, 0x17, 0x2a};
	static const uint8_t ct[16] = {0x76, 0x49, 0xab, 0xac, 0x81, 0x19, 0xb2, 0x46,
				       0xce, 0xe9, 0x8e, 0x9b, 0x12, 0xe9, 0x19, 0x7d};
	uint8_t iv[16];
	for (int i = 0; i < 16; i++)
		iv[i] = (uint8_t)i;
	struct vhu_dev d;
	vhu_start(&d, path, 1, 16);
	int64_t s = vhu_sym_session(&d, 3 /* AES-CBC */, key, 16, 1 /* encrypt */);
	VH_CHECK(s >= 0, "fresh device: session refused (%lld)", (long long)s);
	struct vc_req r;
	struct vc_res res;
	vc_cipher(&r, 0 /* CIPHER_ENCRYPT */, (uint64_t)s, iv, 16, pt, 16, 16);
	vc_run(&d.vq[0], &r, &res);
	VH_EQ(res.status, 0);
	VH_MEMEQ(res.out, ct, 16);
	vhu_close_session(&d, s);
	vhu_close(&d);
}
