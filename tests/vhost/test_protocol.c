/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A hostile or broken QEMU on the vhost-user socket: truncated and oversized
 * messages, bad memory tables, rings outside memory, kicks before there is
 * memory, unknown requests, stray fds, disconnects in the middle of work.
 * Whatever the back-end answers, vsmd must stay up, serve a fresh device and
 * exit cleanly (vh_stop checks the exit status and the log for sanitizer
 * reports and errors).
 */
#include <dirent.h>
#include <errno.h>
#include <linux/virtio_crypto.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../integration/ref.h"
#include "vhu.h"

/* A raw connection: guest memory exists but nothing was negotiated. */
static void raw(struct vhu_dev *d, const struct vhu_env *e)
{
	vhu_open(d, e->sock);
}

static void finish(struct vhu_env *e)
{
	vhu_check_serves(e->sock);
	vhu_env_stop(e);
}

static int t_truncated_header(void)
{
	struct vhu_env e;
	vhu_env_start(&e, NULL);
	for (size_t cut = 1; cut < VHU_HDR_LEN; cut += 5) {
		struct vhu_dev d;
		raw(&d, &e);
		uint8_t hdr[VHU_HDR_LEN] = {VHU_GET_FEATURES, 0, 0, 0, VHU_FLAG_VERSION};
		VH_EQ(send(d.sock, hdr, cut, MSG_NOSIGNAL), (ssize_t)cut);
		vhu_close(&d);
	}
	finish(&e);
	return 0;
}

static int t_short_payload(void)
{
	struct vhu_env e;
	vhu_env_start(&e, NULL);
	/* The header promises more than ever comes; then the peer goes away. */
	struct vhu_dev d;
	raw(&d, &e);
	uint8_t msg[VHU_HDR_LEN + 4];
	vhu_le32(msg, VHU_SET_FEATURES);
	vhu_le32(msg + 4, VHU_FLAG_VERSION);
	vhu_le32(msg + 8, 8);
	VH_EQ(send(d.sock, msg, sizeof(msg), MSG_NOSIGNAL), (ssize_t)sizeof(msg));
	vhu_close(&d);

	/* Complete messages whose payload is too short for their type. */
	static const uint32_t reqs[] = {
		VHU_SET_FEATURES,	  VHU_SET_PROTOCOL_FEATURES, VHU_SET_VRING_NUM,
		VHU_SET_VRING_ADDR,	  VHU_SET_VRING_BASE,	     VHU_GET_VRING_BASE,
		VHU_SET_VRING_KICK,	  VHU_SET_MEM_TABLE,	     VHU_CREATE_CRYPTO_SESSION,
		VHU_CLOSE_CRYPTO_SESSION, VHU_VSM_CREATE_SESSION};
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		vhu_open(&d, e.sock);
		vhu_handshake(&d, vhu_default_pf());
		uint8_t p[4] = {1, 0, 0, 0};
		VH_EQ(vhu_send(&d, reqs[i], VHU_FLAG_VERSION, p, sizeof(p), NULL, 0), 0);
		/* Either the back-end drops the connection or it keeps answering. */
		bool alive = vhu_alive(&d);
		printf("request %u with a 4-byte payload: connection %s\n", reqs[i],
		       alive ? "kept" : "closed");
		vhu_close(&d);
	}
	finish(&e);
	return 0;
}

static int t_huge_size(void)
{
	struct vhu_env e;
	vhu_env_start(&e, NULL);
	static const uint32_t sizes[] = {4097, 0x10000, 0x7fffffff, 0xffffffff};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct vhu_dev d;
		raw(&d, &e);
		uint8_t msg[VHU_HDR_LEN + 64] = {0};
		vhu_le32(msg, VHU_SET_MEM_TABLE);
		vhu_le32(msg + 4, VHU_FLAG_VERSION);
		vhu_le32(msg + 8, sizes[i]);
		VH_EQ(send(d.sock, msg, sizeof(msg), MSG_NOSIGNAL), (ssize_t)sizeof(msg));
		/* No vhost-user message is that large: the back-end should hang up, not wait. */
		bool closed = vhu_closed_by_peer(&d, 2000);
		printf("size %u: %s\n", sizes[i], closed ? "closed" : "still open");
		vhu_close(&d);
	}
	finish(&e);
	return 0;
}

/* SET_MEM_TABLE with nregions entries (payload holds max(n, 1) entries unless told). */
static void mem_table(struct vhu_dev *d, uint32_t nregions, uint32_t entries, const int *fds,
		      size_t nfds, uint64_t size, uint64_t offset)
{
	uint8_t p[8 + 16 * 32] = {0};
	vhu_le32(p, nregions);
	for (uint32_t r = 0; r < entries && r < 16; r++) {
		uint8_t *en = p + 8 + 32 * r;
		vhu_le64(en, (uint64_t)r << 30);
		vhu_le64(en + 8, size);
		vhu_le64(en + 16, 0x7f0000000000ull + ((uint64_t)r << 30));
		vhu_le64(en + 24, offset);
	}
	vhu_send(d, VHU_SET_MEM_TABLE, VHU_FLAG_VERSION, p, 8 + 32 * (size_t)entries, fds, nfds);
}

/* After a bad table: queue 0 with rings in our memory, kicked; must not crash. */
static void poke_queue(struct vhu_dev *d)
{
	if (vhu_vq_setup_try(d, 0, 16, 0) < 0) {
		printf("  connection closed during queue setup\n");
		return;
	}
	struct vhu_vq *q = &d->vq[0];
	uint64_t hdr = vhu_alloc(q, 72);
	uint64_t st = vhu_alloc(q, 1);
	struct vhu_seg s[] = {{hdr, 72, 0}, {st, 1, VHU_D_WRITE}};
	vhu_publish(q, vhu_chain(q, s, 2));
	uint32_t id, len;
	int rc = vhu_wait_used(q, 500, &id, &len);
	printf("  request after a bad memory table: %s\n", rc == 0 ? "completed" : "ignored");
}

static int t_mem_table(void)
{
	struct vhu_env e;
	vhu_env_start(&e, NULL);
	struct {
		uint32_t n, entries;
		size_t nfds;
		uint64_t size, offset;
		const char *what;
	} c[] = {
		{0, 0, 0, VHU_REGION_SIZE, 0, "0 regions"},
		{9, 9, 8, VHU_REGION_SIZE, 0, "9 regions, 8 fds"},
		{16, 16, 8, VHU_REGION_SIZE, 0, "16 regions"},
		{0xffffffffu, 1, 1, VHU_REGION_SIZE, 0, "nregions 2^32-1"},
		{2, 2, 1, VHU_REGION_SIZE, 0, "2 regions, 1 fd"},
		{1, 1, 3, VHU_REGION_SIZE, 0, "1 region, 3 fds"},
		{1, 1, 0, VHU_REGION_SIZE, 0, "1 region, no fd"},
		{1, 1, 1, 0, 0, "region of size 0"},
		{1, 1, 1, 2 * VHU_MEM_SIZE, 0, "region larger than the file"},
		{1, 1, 1, VHU_REGION_SIZE, VHU_MEM_SIZE - 4096, "offset + size past the file"},
		{1, 1, 1, ~0ull - 4096, 8192, "size + offset wraps"},
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct vhu_dev d;
		raw(&d, &e);
		vhu_handshake(&d, vhu_default_pf());
		int fds[8];
		for (size_t f = 0; f < 8; f++)
			fds[f] = d.memfd;
		printf("%s\n", c[i].what);
		mem_table(&d, c[i].n, c[i].entries, fds, c[i].nfds, c[i].size, c[i].offset);
		if (vhu_alive(&d))
			poke_queue(&d);
		vhu_close(&d);
	}
	/* A table whose regions cover our rings but extend past the end of the memfd. */
	struct vhu_dev d;
	raw(&d, &e);
	vhu_handshake(&d, vhu_default_pf());
	uint8_t p[8 + 32] = {0};
	vhu_le32(p, 1);
	vhu_le64(p + 8, 0);
	vhu_le64(p + 16, 4 * VHU_MEM_SIZE);
	vhu_le64(p + 24, vhu_uva(&d, 0));
	VH_EQ(vhu_send(&d, VHU_SET_MEM_TABLE, VHU_FLAG_VERSION, p, sizeof(p), &d.memfd, 1), 0);
	if (vhu_alive(&d) && vhu_vq_setup_try(&d, 0, 16, 0) == 0) {
		struct vhu_vq *q = &d.vq[0];
		/* The header lies beyond the file: touching it would be SIGBUS. */
		struct vhu_seg s[] = {{2 * VHU_MEM_SIZE, 72, 0}, {vhu_alloc(q, 1), 1, VHU_D_WRITE}};
		vhu_publish(q, vhu_chain(q, s, 2));
		uint32_t id, len;
		vhu_wait_used(q, 500, &id, &len);
	}
	vhu_close(&d);
	/* A file descriptor that cannot be mapped. */
	raw(&d, &e);
	vhu_handshake(&d, vhu_default_pf());
	int efd = eventfd(0, EFD_CLOEXEC);
	mem_table(&d, 1, 1, &efd, 1, VHU_REGION_SIZE, 0);
	close(efd);
	if (vhu_alive(&d))
		poke_queue(&d);
	vhu_close(&d);
	finish(&e);
	return 0;
}

static int t_vring_addr(void)
{
	struct vhu_env e;
	vhu_env_start(&e, NULL);
	struct {
		uint64_t desc, used, avail;
		const char *what;
	} c[] = {
		{0x1000, 0x2000, 0x3000, "addresses in no region"},
		{~0ull - 8, ~0ull - 8, ~0ull - 8, "addresses at the top of the address space"},
		{0, 0, 0, "null addresses"},
		{1, 1, 1, "misaligned addresses in no region"},
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct vhu_dev d;
		vhu_start(&d, e.sock, 0, 16);
		printf("%s\n", c[i].what);
		uint8_t b[8];
		vhu_le32(b, 0);
		vhu_le32(b + 4, 256);
		VH_EQ(vhu_send(&d, VHU_SET_VRING_NUM, VHU_FLAG_VERSION, b, 8, NULL, 0), 0);
		uint8_t a[40] = {0};
		vhu_le64(a + 8, c[i].desc);
		vhu_le64(a + 16, c[i].used);
		vhu_le64(a + 24, c[i].avail);
		VH_EQ(vhu_send(&d, VHU_SET_VRING_ADDR, VHU_FLAG_VERSION, a, sizeof(a), NULL, 0), 0);
		int k = eventfd(0, EFD_CLOEXEC);
		vhu_le64(b, 0);
		VH_EQ(vhu_send(&d, VHU_SET_VRING_KICK, VHU_FLAG_VERSION, b, 8, &k, 1), 0);
		uint64_t one = 1;
		VH_EQ(write(k, &one, 8), 8);
		vhu_alive(&d);
		close(k);
		vhu_close(&d);
	}
	/* A 256-entry descriptor table that starts 1 KiB before the end of region 0. */
	struct vhu_dev d;
	vhu_start(&d, e.sock, 0, 16);
	uint8_t b[8], a[40] = {0};
	vhu_le32(b, 0);
	vhu_le32(b + 4, 256);
	VH_EQ(vhu_send(&d, VHU_SET_VRING_NUM, VHU_FLAG_VERSION, b, 8, NULL, 0), 0);
	vhu_le64(a + 8, vhu_uva(&d, VHU_REGION_SIZE - 1024));
	vhu_le64(a + 16, vhu_uva(&d, 8192));
	vhu_le64(a + 24, vhu_uva(&d, 4096));
	VH_EQ(vhu_send(&d, VHU_SET_VRING_ADDR, VHU_FLAG_VERSION, a, sizeof(a), NULL, 0), 0);
	vhu_le16(vhu_ptr(&d, 4096 + 2, 2), 1);
	vhu_le16(vhu_ptr(&d, 4096 + 4, 2), 255); /* the head in the part past the region */
	int k = eventfd(0, EFD_CLOEXEC);
	vhu_le64(b, 0);
	VH_EQ(vhu_send(&d, VHU_SET_VRING_KICK, VHU_FLAG_VERSION, b, 8, &k, 1), 0);
	uint64_t one = 1;
	VH_EQ(write(k, &one, 8), 8);
	vhu_alive(&d);
	close(k);
	vhu_close(&d);
	finish(&e);
	return 0;
}

static int t_vring_state(void)
{
	struct vhu_env e;
	vhu_env_start(&e, NULL);
	struct vhu_dev d;
	vhu_start(&d, e.sock, 0, 16);
	static const uint32_t nums[] = {0, 3, 1000, 32769, 65536, 0xffffffffu};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		uint8_t b[8];
		vhu_le32(b, 0);
		vhu_le32(b + 4, nums[i]);
		vhu_send(&d, VHU_SET_VRING_NUM, VHU_FLAG_VERSION, b, 8, NULL, 0);
	}
	/* Queue indexes beyond GET_QUEUE_NUM in every per-queue message. */
	static const uint32_t idx[] = {64, 255, 0x1ff, 0xffffffffu};
	for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
		uint8_t b[8];
		vhu_le32(b, idx[i]);
		vhu_le32(b + 4, 16);
		vhu_send(&d, VHU_SET_VRING_NUM, VHU_FLAG_VERSION, b, 8, NULL, 0);
		vhu_send(&d, VHU_SET_VRING_BASE, VHU_FLAG_VERSION, b, 8, NULL, 0);
		uint8_t a[40] = {0};
		vhu_le32(a, idx[i]);
		vhu_send(&d, VHU_SET_VRING_ADDR, VHU_FLAG_VERSION, a, sizeof(a), NULL, 0);
		int k = eventfd(0, EFD_CLOEXEC);
		uint8_t f[8];
		vhu_le64(f, idx[i]);
		vhu_send(&d, VHU_SET_VRING_KICK, VHU_FLAG_VERSION, f, 8, &k, 1);
		vhu_send(&d, VHU_SET_VRING_CALL, VHU_FLAG_VERSION, f, 8, &k, 1);
		close(k);
		vhu_send(&d, VHU_GET_VRING_BASE, VHU_FLAG_VERSION, b, 8, NULL, 0);
	}
	printf("device %s after bad queue numbers and indexes\n",
	       vhu_alive(&d) ? "answers" : "closed");
	vhu_close(&d);
	finish(&e);
	return 0;
}

static int t_kick_before_mem(void)
{
	struct vhu_env e;
	vhu_env_start(&e, NULL);
	struct vhu_dev d;
	vhu_open(&d, e.sock);
	vhu_handshake(&d, vhu_default_pf());
	/* KICK and CALL for queue 0 before there is any memory or ring address. */
	uint8_t b[8];
	vhu_le32(b, 0);
	vhu_le32(b + 4, 16);
	VH_EQ(vhu_send(&d, VHU_SET_VRING_NUM, VHU_FLAG_VERSION, b, 8, NULL, 0), 0);
	int k = eventfd(0, EFD_CLOEXEC);
	vhu_le64(b, 0);
	VH_EQ(vhu_send(&d, VHU_SET_VRING_KICK, VHU_FLAG_VERSION, b, 8, &k, 1), 0);
	uint64_t one = 1;
	for (int i = 0; i < 5; i++)
		VH_EQ(write(k, &one, 8), 8);
	/* A kick fd that is not an eventfd at all, and none (NOFD). */
	int sv[2];
	VH_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	vhu_send(&d, VHU_SET_VRING_KICK, VHU_FLAG_VERSION, b, 8, &sv[0], 1);
	VH_EQ(write(sv[1], "kick kick", 9), 9);
	vhu_le64(b, VHU_VRING_NOFD);
	vhu_send(&d, VHU_SET_VRING_KICK, VHU_FLAG_VERSION, b, 8, NULL, 0);
	close(k);
	close(sv[0]);
	close(sv[1]);
	/*
	 * The back-end may keep the connection or drop it; either way the
	 * proper sequence must then work (on a new connection if dropped).
	 */
	if (!vhu_alive(&d)) {
		printf("connection closed after an early kick\n");
		vhu_close(&d);
		vhu_open(&d, e.sock);
		vhu_handshake(&d, vhu_default_pf());
	} else {
		printf("connection kept after an early kick\n");
	}
	vhu_set_mem_table(&d);
	vhu_vq_setup(&d, 0, 16, 0);
	uint8_t key[16] = {1}, iv[16] = {2}, pt[32] = {3}, ref[32];
	vh_aes_cbc(key, 16, iv, pt, 32, ref);
	int64_t s = vhu_sym_session(&d, VIRTIO_CRYPTO_CIPHER_AES_CBC, key, 16,
				    VIRTIO_CRYPTO_OP_ENCRYPT);
	struct vc_req r;
	struct vc_res res;
	vc_cipher(&r, VIRTIO_CRYPTO_CIPHER_ENCRYPT, (uint64_t)s, iv, 16, pt, 32, 32);
	vc_run(&d.vq[0], &r, &res);
	VH_EQ(res.status, VIRTIO_CRYPTO_OK);
	VH_MEMEQ(res.out, ref, 32);
	vhu_close(&d);
	finish(&e);
	return 0;
}

static int t_unknown_request(void)
{
	struct vhu_env e;
	vhu_env_start(&e, NULL);
	struct vhu_dev d;
	vhu_open(&d, e.sock);
	/* Without protocol bit 62, 0x5601 is an unknown request: never a session. */
	vhu_handshake(&d, vhu_default_pf() & ~(1ull << VHU_PF_VSM_SESSION));
	uint8_t buf[256];
	struct vsm_wire_session s = {.service = VSM_SVC_HASH, .alg = VSM_ALG_SHA256};
	size_t n = vsm_wire_encode_session(buf, sizeof(buf), &s);
	VH_EQ(vhu_send(&d, VHU_VSM_CREATE_SESSION, VHU_FLAG_VERSION, buf, n, NULL, 0), 0);
	uint32_t rq;
	long got = vhu_recv(&d, &rq, NULL, buf, sizeof(buf), 1000);
	if (got >= 0 && rq == VHU_VSM_CREATE_SESSION)
		VH_CHECK(got != 8 || (int64_t)vhu_ld64(buf) < 0,
			 "0x5601 created session %lld without bit 62", (long long)vhu_ld64(buf));
	vhu_close(&d);
	/* Requests no back-end knows, with payloads and fds. */
	vhu_open(&d, e.sock);
	vhu_handshake(&d, vhu_default_pf());
	static const uint32_t reqs[] = {0, 99, 0x5600, 0x5602, 0xffffffffu};
	int efd = eventfd(0, EFD_CLOEXEC);
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
		vhu_send(&d, reqs[i], VHU_FLAG_VERSION, "0123456789abcdef", 16, &efd, 1);
	close(efd);
	printf("device %s after unknown requests\n", vhu_alive(&d) ? "answers" : "closed");
	vhu_close(&d);
	finish(&e);
	return 0;
}

static int t_session_abuse(void)
{
	struct vhu_env e;
	vhu_env_start(&e, "max_sessions = 8\n");
	struct vhu_dev d;
	vhu_start(&d, e.sock, 0, 16);
	uint8_t p[VHU_CRYPTO_SESSION_LEN] = {0};
	/* key_len larger than the 64-byte key field. */
	vhu_le32(p + 8, VIRTIO_CRYPTO_CIPHER_AES_CBC);
	vhu_le32(p + 12, 1000);
	p[32] = 1;
	p[33] = 1;
	VH_CHECK(vhu_sym_session_raw(&d, p) < 0, "key_len 1000 accepted");
	vhu_le32(p + 12, 0xffffffffu);
	VH_CHECK(vhu_sym_session_raw(&d, p) < 0, "key_len 2^32-1 accepted");
	/* Unknown op_type, and an unknown cipher algorithm. */
	vhu_le32(p + 12, 16);
	p[32] = 9;
	VH_CHECK(vhu_sym_session_raw(&d, p) < 0, "op_type 9 accepted");
	p[32] = 1;
	vhu_le32(p + 8, 0x7777);
	VH_CHECK(vhu_sym_session_raw(&d, p) < 0, "cipher_alg 0x7777 accepted");
	/* 0x5601 payloads that do not decode. */
	uint8_t junk[40] = {0xff, 0xff, 0xff, 0xff};
	VH_EQ(vhu_send(&d, VHU_VSM_CREATE_SESSION, VHU_FLAG_VERSION, junk, sizeof(junk), NULL, 0),
	      0);
	uint8_t b[8];
	uint32_t rq;
	long n = vhu_recv(&d, &rq, NULL, b, 8, 3000);
	VH_CHECK(n == 8 && rq == VHU_VSM_CREATE_SESSION && (int64_t)vhu_ld64(b) < 0,
		 "undecodable 0x5601: reply %ld", n);
	uint8_t buf[64];
	struct vsm_wire_session s = {.service = VSM_SVC_CIPHER, .alg = VSM_ALG_AES_CBC};
	uint8_t key[16] = {0};
	s.key = key;
	s.key_len = 16;
	size_t len = vsm_wire_encode_session(buf, sizeof(buf), &s);
	/* key_len says 16, the payload stops 8 bytes short. */
	VH_EQ(vhu_send(&d, VHU_VSM_CREATE_SESSION, VHU_FLAG_VERSION, buf, len - 8, NULL, 0), 0);
	n = vhu_recv(&d, &rq, NULL, b, 8, 3000);
	VH_CHECK(n == 8 && rq == VHU_VSM_CREATE_SESSION && (int64_t)vhu_ld64(b) < 0,
		 "truncated 0x5601: reply %ld", n);
	/* The session table fills up at the tenant's max_sessions, and then refuses. */
	int64_t last = 0;
	int made = 0;
	for (int i = 0; i < 40; i++) {
		last = vhu_sym_session(&d, VIRTIO_CRYPTO_CIPHER_AES_CBC, key, 16, 1);
		if (last < 0)
			break;
		made++;
	}
	VH_EQ(made, 8);
	VH_CHECK(last < 0, "session beyond max_sessions accepted");
	VH_CHECK(vhu_alive(&d), "device closed");
	vhu_close(&d);
	finish(&e);
	return 0;
}

/* Open file descriptors of a process (to see that stray fds are closed). */
static int count_fds(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *dir = opendir(path);
	if (!dir)
		return -1;
	int n = 0;
	while (readdir(dir))
		n++;
	closedir(dir);
	return n;
}

static int t_fd_flood(void)
{
	struct vhu_env e;
	vhu_env_start(&e, NULL);
	struct vhu_dev d;
	vhu_start(&d, e.sock, 0, 16);
	VH_CHECK(vhu_alive(&d), "device");
	int before = count_fds(e.d.pid);
	int fds[8];
	for (int i = 0; i < 8; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	/*
	 * fds on messages that take none: the back-end must close them (or the
	 * connection, which closes them too).
	 */
	bool open = true;
	for (int i = 0; i < 50 && open; i++) {
		vhu_send(&d, VHU_GET_FEATURES, VHU_FLAG_VERSION, NULL, 0, fds, 8);
		uint8_t b[8];
		open = vhu_recv(&d, NULL, NULL, b, 8, 3000) == 8;
		uint8_t s[8];
		vhu_le32(s, 0);
		vhu_le32(s + 4, 16);
		if (open)
			vhu_send(&d, VHU_SET_VRING_NUM, VHU_FLAG_VERSION, s, 8, fds, 8);
	}
	open = open && vhu_alive(&d);
	printf("connection %s after fds on GET_FEATURES / SET_VRING_NUM\n",
	       open ? "kept" : "closed");
	if (!open)
		usleep(200 * 1000);
	int after = count_fds(e.d.pid);
	printf("vsmd fds: %d before, %d after 800 stray fds\n", before, after);
	if (before > 0)
		VH_CHECK(after - before < 20, "vsmd keeps stray fds: %d -> %d", before, after);
	for (int i = 0; i < 8; i++)
		close(fds[i]);
	vhu_close(&d);
	finish(&e);
	return 0;
}

static int t_disconnect(void)
{
	struct vhu_env e;
	vhu_env_start(&e, NULL);
	uint8_t key[16] = {5}, iv[16] = {6}, pt[2048] = {7};
	for (int round = 0; round < 10; round++) {
		struct vhu_dev d;
		vhu_start(&d, e.sock, 2, 64);
		int64_t s = vhu_sym_session(&d, VIRTIO_CRYPTO_CIPHER_AES_CBC, key, 16,
					    VIRTIO_CRYPTO_OP_ENCRYPT);
		VH_CHECK(s >= 0, "session");
		/* Fill both rings, kick, and hang up while vsmd works on them. */
		for (unsigned qi = 0; qi < 2; qi++) {
			struct vhu_vq *q = &d.vq[qi];
			struct vc_req r;
			vc_cipher(&r, VIRTIO_CRYPTO_CIPHER_ENCRYPT, (uint64_t)s, iv, 16, pt,
				  sizeof(pt), sizeof(pt));
			uint64_t hdr = vhu_put(q, r.hdr, 72), ivg = vhu_put(q, iv, 16);
			uint64_t src = vhu_put(q, pt, sizeof(pt));
			/* 12 chains of 5: 60 of the ring's 64 descriptors. */
			for (int i = 0; i < 12; i++) {
				struct vhu_seg sg[] = {
					{hdr, 72, 0},
					{ivg, 16, 0},
					{src, sizeof(pt), 0},
					{vhu_alloc(q, sizeof(pt)), sizeof(pt), VHU_D_WRITE},
					{vhu_alloc(q, 1), 1, VHU_D_WRITE},
				};
				vhu_publish(q, vhu_chain(q, sg, 5));
			}
		}
		if (round % 2)
			usleep(1000);
		/* The memory goes away too, as when QEMU dies. */
		vhu_close(&d);
	}
	/* A QEMU that connects and leaves without a word, and one that stops after SET_OWNER. */
	struct vhu_dev d;
	vhu_open(&d, e.sock);
	vhu_close(&d);
	vhu_open(&d, e.sock);
	vhu_get_u64(&d, VHU_GET_FEATURES);
	vhu_send(&d, VHU_SET_OWNER, VHU_FLAG_VERSION, NULL, 0, NULL, 0);
	vhu_close(&d);
	finish(&e);
	return 0;
}

static int t_reconnect(void)
{
	struct vhu_env e;
	vhu_env_start(&e, NULL);
	uint8_t key[16] = {5}, iv[16] = {6}, pt[32] = {7}, ref[32];
	vh_aes_cbc(key, 16, iv, pt, 32, ref);
	int64_t old = -1;
	for (int round = 0; round < 3; round++) {
		struct vhu_dev d;
		vhu_start(&d, e.sock, 1, 16);
		struct vc_req r;
		struct vc_res res;
		if (old >= 0) {
			/* The previous connection's session went with it. */
			vc_cipher(&r, VIRTIO_CRYPTO_CIPHER_ENCRYPT, (uint64_t)old, iv, 16, pt, 32,
				  32);
			r.dst_len = 0;
			vc_run(&d.vq[0], &r, &res);
			VH_EQ(res.status, VIRTIO_CRYPTO_INVSESS);
		}
		int64_t s = vhu_sym_session(&d, VIRTIO_CRYPTO_CIPHER_AES_CBC, key, 16,
					    VIRTIO_CRYPTO_OP_ENCRYPT);
		VH_CHECK(s >= 0, "session");
		vc_cipher(&r, VIRTIO_CRYPTO_CIPHER_ENCRYPT, (uint64_t)s, iv, 16, pt, 32, 32);
		vc_run(&d.vq[0], &r, &res);
		VH_EQ(res.status, VIRTIO_CRYPTO_OK);
		VH_MEMEQ(res.out, ref, 32);
		VH_EQ(vhu_get_vring_base(&d, 0), old >= 0 ? 2 : 1);
		old = s;
		vhu_close(&d);
	}
	finish(&e);
	return 0;
}

static int t_stop_busy(void)
{
	/* SIGTERM while a device is connected and busy: vsmd must still exit cleanly. */
	struct vhu_env e;
	vhu_env_start(&e, NULL);
	struct vhu_dev d;
	vhu_start(&d, e.sock, 1, 64);
	uint8_t key[16] = {5}, iv[16] = {6}, pt[1024] = {7};
	int64_t s = vhu_sym_session(&d, VIRTIO_CRYPTO_CIPHER_AES_CBC, key, 16,
				    VIRTIO_CRYPTO_OP_ENCRYPT);
	struct vhu_vq *q = &d.vq[0];
	struct vc_req r;
	vc_cipher(&r, VIRTIO_CRYPTO_CIPHER_ENCRYPT, (uint64_t)s, iv, 16, pt, sizeof(pt),
		  sizeof(pt));
	uint64_t hdr = vhu_put(q, r.hdr, 72), ivg = vhu_put(q, iv, 16);
	uint64_t src = vhu_put(q, pt, sizeof(pt));
	for (int i = 0; i < 12; i++) {
		struct vhu_seg sg[] = {
			{hdr, 72, 0},
			{ivg, 16, 0},
			{src, sizeof(pt), 0},
			{vhu_alloc(q, sizeof(pt)), sizeof(pt), VHU_D_WRITE},
			{vhu_alloc(q, 1), 1, VHU_D_WRITE},
		};
		vhu_publish(q, vhu_chain(q, sg, 5));
	}
	vhu_env_stop(&e);
	vhu_close(&d);
	return 0;
}

static int t_kick_semaphore(void)
{
	/*
	 * A kick fd that never reads empty: an EFD_SEMAPHORE eventfd gives one
	 * 8-byte read per unit of its counter. Draining it would keep the device
	 * thread reading for days, deaf to its socket and to SIGTERM.
	 */
	struct vhu_env e;
	vhu_env_start(&e, NULL);
	struct vhu_dev d;
	vhu_start(&d, e.sock, 1, 16);
	struct vhu_vq *q = &d.vq[0];
	uint8_t key[16] = {5}, iv[16] = {6}, pt[32] = {7}, ref[32];
	vh_aes_cbc(key, 16, iv, pt, 32, ref);
	int64_t s = vhu_sym_session(&d, VIRTIO_CRYPTO_CIPHER_AES_CBC, key, 16,
				    VIRTIO_CRYPTO_OP_ENCRYPT);
	VH_CHECK(s >= 0, "session");
	int k = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE);
	VH_CHECK(k >= 0, "eventfd: %s", strerror(errno));
	uint8_t b[8];
	vhu_le64(b, 0);
	VH_EQ(vhu_send(&d, VHU_SET_VRING_KICK, VHU_FLAG_VERSION, b, 8, &k, 1), 0);
	close(q->kick);
	q->kick = k;
	uint64_t lots = 1ull << 40;
	VH_EQ(write(k, &lots, 8), 8);
	VH_CHECK(vhu_alive(&d), "the device stopped answering its socket after the kick");
	/* The queue still serves: each wake-up runs it. */
	struct vc_req r;
	struct vc_res res;
	vc_cipher(&r, VIRTIO_CRYPTO_CIPHER_ENCRYPT, (uint64_t)s, iv, 16, pt, 32, 32);
	vc_run(q, &r, &res);
	VH_EQ(res.status, VIRTIO_CRYPTO_OK);
	VH_MEMEQ(res.out, ref, 32);
	VH_CHECK(vhu_alive(&d), "the device stopped answering its socket");
	/* SIGTERM with the fd still readable: vsmd must exit cleanly (vh_stop checks). */
	vhu_env_stop(&e);
	vhu_close(&d);
	return 0;
}

static const struct vh_case cases[] = {
	{"truncated-header", t_truncated_header, 0},
	{"short-payload", t_short_payload, 0},
	{"huge-size", t_huge_size, 0},
	{"mem-table", t_mem_table, 0},
	{"vring-addr", t_vring_addr, 0},
	{"vring-state", t_vring_state, 0},
	{"kick-before-mem", t_kick_before_mem, 0},
	{"unknown-request", t_unknown_request, 0},
	{"session-abuse", t_session_abuse, 0},
	{"fd-flood", t_fd_flood, 0},
	{"disconnect", t_disconnect, 0},
	{"reconnect", t_reconnect, 0},
	{"stop-busy", t_stop_busy, 0},
	{"kick-semaphore", t_kick_semaphore, 0},
};

int main(int argc, char **argv)
{
	return vh_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
