/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hostile descriptor chains. The guest owns the rings, so every descriptor is
 * an attack: addresses outside memory, lengths that overflow or run past a
 * region, loops, writable before readable, too many, nested indirect tables,
 * short headers, nonsense opcodes and sessions.
 *
 * Each case accepts the two answers the spec allows, a BADMSG-class status
 * byte or a broken queue (no completion), and then always requires: guest
 * memory outside the request's status byte unchanged, the device's control
 * channel and other queue still working, a fresh device served, and a clean
 * vsmd exit.
 */
#include <linux/virtio_crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../integration/ref.h"
#include "vhu.h"

#define R0_END (VHU_R0_GPA + VHU_REGION_SIZE)
#define R1_END (VHU_R1_GPA + VHU_REGION_SIZE)

struct h {
	struct vhu_env e;
	struct vhu_dev d;
	struct vhu_vq *q;
	int64_t s;
	uint8_t iv[16], pt[64];
	uint64_t hdr, iv_gpa, src, dst, status; /* a well-formed request's buffers */
};

static void begin(struct h *h, uint16_t num)
{
	vhu_env_start(&h->e, NULL);
	/* Queue 1 serves end()'s check; the others take hostile requests, one broken at a time. */
	vhu_start(&h->d, h->e.sock, VHU_MAX_VQ, num);
	h->q = &h->d.vq[0];
	uint8_t key[16] = {0x11};
	h->s = vhu_sym_session(&h->d, VIRTIO_CRYPTO_CIPHER_AES_CBC, key, 16,
			       VIRTIO_CRYPTO_OP_ENCRYPT);
	VH_CHECK(h->s >= 0, "session");
	memset(h->iv, 0x22, 16);
	memset(h->pt, 0x33, 64);
	struct vc_req r;
	vc_cipher(&r, VIRTIO_CRYPTO_CIPHER_ENCRYPT, (uint64_t)h->s, h->iv, 16, h->pt, 64, 64);
	h->hdr = vhu_put(h->q, r.hdr, 72);
	h->iv_gpa = vhu_put(h->q, h->iv, 16);
	h->src = vhu_put(h->q, h->pt, 64);
	h->dst = vhu_alloc(h->q, 64);
	h->status = vhu_alloc(h->q, 1);
}

/* A cipher header with other fields, in guest memory. */
static uint64_t hdr_with(struct h *h, uint32_t opcode, uint64_t session, uint32_t iv_len,
			 uint32_t src_len, uint32_t dst_len)
{
	struct vc_req r;
	vc_cipher(&r, opcode, session, h->iv, iv_len, h->pt, src_len, dst_len);
	return vhu_put(h->q, r.hdr, 72);
}

/*
 * Run head on h->q. A broken queue stays broken, so the next hostile request
 * goes to a fresh queue: each one is really read by the back-end, and a late
 * completion cannot be mistaken for the next request's.
 */
static int run(struct h *h, uint16_t head, const struct vhu_range *ok, size_t nok, uint32_t *len)
{
	int rc = vhu_run_raw(h->q, head, ok, nok, 2000, len);
	if (rc < 0) {
		unsigned next = h->q->idx + 1 == 1 ? 2 : h->q->idx + 1;
		VH_CHECK(next < VHU_MAX_VQ, "out of fresh queues");
		h->q = &h->d.vq[next];
	}
	return rc;
}

/*
 * Run head; a completion must carry one of the allowed statuses (0-terminated
 * list, NULL: any) in the status byte at status_gpa (0: none can be written,
 * so none may be).
 */
static void expect(struct h *h, uint16_t head, uint64_t status_gpa, const uint8_t *allowed,
		   const char *what)
{
	struct vhu_range ok[2] = {{status_gpa, status_gpa ? 1 : 0}};
	uint32_t len = 0;
	int rc = run(h, head, ok, 1, &len);
	if (rc < 0) {
		printf("%s: queue broken (no completion)\n", what);
		return;
	}
	if (!status_gpa) {
		printf("%s: completed, used.len %u, no status byte possible\n", what, len);
		VH_EQ(len, 0);
		return;
	}
	uint8_t st = *vhu_ptr(&h->d, status_gpa, 1);
	printf("%s: completed with status %u, used.len %u\n", what, st, len);
	bool found = !allowed;
	for (const uint8_t *a = allowed; a && *a; a++)
		found |= st == *a;
	VH_CHECK(found, "%s: status %u not allowed", what, st);
}

static const uint8_t badmsg[] = {VIRTIO_CRYPTO_BADMSG, 0};

/* Everything that must hold after any hostile request. */
static void end(struct h *h)
{
	VH_CHECK(vhu_alive(&h->d), "the device's vhost-user channel stopped answering");
	/* Queue 1 (region 1 buffers) must still work. */
	uint8_t key[16] = {0x11}, ref[64];
	vh_aes_cbc(key, 16, h->iv, h->pt, 64, ref);
	struct vc_req r;
	struct vc_res res;
	vc_cipher(&r, VIRTIO_CRYPTO_CIPHER_ENCRYPT, (uint64_t)h->s, h->iv, 16, h->pt, 64, 64);
	vc_run(&h->d.vq[1], &r, &res);
	VH_EQ(res.status, VIRTIO_CRYPTO_OK);
	VH_MEMEQ(res.out, ref, 64);
	vhu_close(&h->d);
	vhu_check_serves(h->e.sock);
	vhu_env_stop(&h->e);
}

/* hdr, iv, src (replaced by bad), dst, status: the shape of most cases. */
static uint16_t chain5(struct h *h, struct vhu_seg bad)
{
	struct vhu_seg s[] = {
		{h->hdr, 72, 0},	   {h->iv_gpa, 16, 0},		bad,
		{h->dst, 64, VHU_D_WRITE}, {h->status, 1, VHU_D_WRITE},
	};
	return vhu_chain(h->q, s, 5);
}

static int t_addr_outside(void)
{
	struct h h;
	begin(&h, 64);
	expect(&h, chain5(&h, (struct vhu_seg){0x80000000ull, 64, 0}), h.status, badmsg,
	       "src in the gap between regions");
	expect(&h, chain5(&h, (struct vhu_seg){R1_END + 4096, 64, 0}), h.status, badmsg,
	       "src after the last region");
	end(&h);
	return 0;
}

static int t_addr_overflow(void)
{
	struct h h;
	begin(&h, 64);
	expect(&h, chain5(&h, (struct vhu_seg){0xfffffffffffffff0ull, 64, 0}), h.status, badmsg,
	       "addr + len wraps 64 bits");
	expect(&h, chain5(&h, (struct vhu_seg){h.src, 0xffffffffu, 0}), h.status, badmsg,
	       "len 4 GiB - 1");
	end(&h);
	return 0;
}

static int t_len_past_end(void)
{
	struct h h;
	begin(&h, 64);
	/* The pattern there must be left alone: src straddles the end of region 0. */
	expect(&h, chain5(&h, (struct vhu_seg){R0_END - 16, 64, 0}), h.status, badmsg,
	       "src runs past region 0");
	expect(&h, chain5(&h, (struct vhu_seg){R1_END - 16, 64, 0}), h.status, badmsg,
	       "src runs past region 1 (end of the memfd)");
	end(&h);
	return 0;
}

static int t_write_past_end(void)
{
	struct h h;
	begin(&h, 64);
	/* A writable dst that starts 8 bytes before the end of the memfd. */
	struct vhu_seg s[] = {
		{h.hdr, 72, 0},
		{h.iv_gpa, 16, 0},
		{h.src, 64, 0},
		{R1_END - 8, 64, VHU_D_WRITE},
		{h.status, 1, VHU_D_WRITE},
	};
	expect(&h, vhu_chain(h.q, s, 5), h.status, badmsg, "dst runs past the end of memory");
	/* And as the status descriptor: its last byte is outside memory. */
	s[3] = (struct vhu_seg){h.dst, 64, VHU_D_WRITE};
	s[4] = (struct vhu_seg){R0_END - 4, 8, VHU_D_WRITE};
	expect(&h, vhu_chain(h.q, s, 5), 0, NULL, "status descriptor runs past region 0");
	end(&h);
	return 0;
}

static int t_loop(void)
{
	struct h h;
	begin(&h, 16);
	/* Readable descriptors 0 -> 1 -> 2 -> 1 -> ...: no writable one, ever. */
	vhu_desc_write(&h.d, h.q->desc, 0, h.hdr, 72, VHU_D_NEXT, 1);
	vhu_desc_write(&h.d, h.q->desc, 1, h.iv_gpa, 16, VHU_D_NEXT, 2);
	vhu_desc_write(&h.d, h.q->desc, 2, h.src, 64, VHU_D_NEXT, 1);
	expect(&h, 0, 0, NULL, "readable loop");
	/* A writable descriptor pointing at itself. */
	vhu_desc_write(&h.d, h.q->desc, 3, h.hdr, 72, VHU_D_NEXT, 4);
	vhu_desc_write(&h.d, h.q->desc, 4, h.iv_gpa, 16, VHU_D_NEXT, 5);
	vhu_desc_write(&h.d, h.q->desc, 5, h.src, 64, VHU_D_NEXT, 6);
	vhu_desc_write(&h.d, h.q->desc, 6, h.status, 1, VHU_D_WRITE | VHU_D_NEXT, 6);
	expect(&h, 3, h.status, badmsg, "writable self-loop");
	/* A loop inside an indirect table. */
	uint64_t t = vhu_alloc(h.q, 48);
	vhu_desc_write(&h.d, t, 0, h.hdr, 72, VHU_D_NEXT, 1);
	vhu_desc_write(&h.d, t, 1, h.iv_gpa, 16, VHU_D_NEXT, 2);
	vhu_desc_write(&h.d, t, 2, h.src, 64, VHU_D_NEXT, 0);
	vhu_desc_write(&h.d, h.q->desc, 7, t, 48, VHU_D_INDIRECT, 0);
	expect(&h, 7, 0, NULL, "indirect loop");
	/* next out of the table. */
	vhu_desc_write(&h.d, t, 2, h.src, 64, VHU_D_NEXT, 900);
	vhu_desc_write(&h.d, h.q->desc, 8, t, 48, VHU_D_INDIRECT, 0);
	expect(&h, 8, 0, NULL, "indirect next beyond the table");
	end(&h);
	return 0;
}

static int t_zero_len(void)
{
	struct h h;
	begin(&h, 64);
	uint8_t key[16] = {0x11}, ref[64];
	vh_aes_cbc(key, 16, h.iv, h.pt, 64, ref);
	/* Zero-length descriptors between the pieces: harmless, or BADMSG. */
	struct vhu_seg s[] = {
		{h.hdr, 72, 0},		 {h.iv_gpa, 0, 0},
		{h.iv_gpa, 16, 0},	 {0x80000000ull, 0, 0}, /* zero length, unmapped address */
		{h.src, 64, 0},		 {h.dst, 64, VHU_D_WRITE},
		{h.dst, 0, VHU_D_WRITE}, {h.status, 1, VHU_D_WRITE},
	};
	struct vhu_range ok[2] = {{h.dst, 64}, {h.status, 1}};
	uint32_t len;
	int rc = run(&h, vhu_chain(h.q, s, 8), ok, 2, &len);
	if (rc == 0) {
		uint8_t st = *vhu_ptr(&h.d, h.status, 1);
		printf("zero-length descriptors: status %u used.len %u\n", st, len);
		VH_CHECK(st == VIRTIO_CRYPTO_OK || st == VIRTIO_CRYPTO_BADMSG, "status %u", st);
		if (st == VIRTIO_CRYPTO_OK)
			VH_MEMEQ(vhu_ptr(&h.d, h.dst, 64), ref, 64);
	} else {
		printf("zero-length descriptors: queue broken\n");
	}
	/*
	 * The last writable descriptor has length 0. A back-end that skips
	 * empty descriptors (as in the first request) puts the status in dst's
	 * last byte, and with no room for 64 bytes of output it must be BADMSG;
	 * one that does not, has no place for it and breaks the queue.
	 */
	s[5] = (struct vhu_seg){h.dst, 64, VHU_D_WRITE};
	s[6] = (struct vhu_seg){h.status, 0, VHU_D_WRITE};
	expect(&h, vhu_chain(h.q, s, 7), h.dst + 63, badmsg,
	       "zero-length last writable descriptor");
	end(&h);
	return 0;
}

static int t_write_before_read(void)
{
	struct h h;
	begin(&h, 64);
	struct vhu_seg s[] = {
		{h.hdr, 72, 0}, {h.dst, 64, VHU_D_WRITE},   {h.iv_gpa, 16, 0},
		{h.src, 64, 0}, {h.status, 1, VHU_D_WRITE},
	};
	expect(&h, vhu_chain(h.q, s, 5), h.status, badmsg, "writable before readable");
	/* The header itself writable. */
	struct vhu_seg s2[] = {
		{h.hdr, 72, VHU_D_WRITE},
		{h.status, 1, VHU_D_WRITE},
	};
	struct vhu_range ok[2] = {{h.status, 1}};
	uint32_t len;
	if (run(&h, vhu_chain(h.q, s2, 2), ok, 1, &len) == 0)
		VH_EQ(*vhu_ptr(&h.d, h.status, 1), VIRTIO_CRYPTO_BADMSG);
	end(&h);
	return 0;
}

static int t_too_many(void)
{
	struct h h;
	begin(&h, 16);
	/*
	 * A well-formed request as an indirect table of 1-byte descriptors, 217
	 * on a 16-entry ring. The virtio spec forbids chains longer than the
	 * ring; the vsm spec caps them "e.g. at the ring size". Either answer
	 * is safe: BADMSG, a broken queue, or the right result.
	 */
	enum { BIG = 960, N = 72 + 16 + BIG + 2 };
	static struct vhu_seg s[N];
	size_t n = 0;
	for (uint32_t i = 0; i < 72; i++)
		s[n++] = (struct vhu_seg){h.hdr + i, 1, 0};
	for (uint32_t i = 0; i < 16; i++)
		s[n++] = (struct vhu_seg){h.iv_gpa + i, 1, 0};
	for (uint32_t i = 0; i < 64; i++)
		s[n++] = (struct vhu_seg){h.src + i, 1, 0};
	for (uint32_t i = 0; i < 64; i++)
		s[n++] = (struct vhu_seg){h.dst + i, 1, VHU_D_WRITE};
	s[n++] = (struct vhu_seg){h.status, 1, VHU_D_WRITE};
	uint8_t key[16] = {0x11}, ref[BIG];
	vh_aes_cbc(key, 16, h.iv, h.pt, 64, ref);
	struct vhu_range ok[2] = {{h.dst, 64}, {h.status, 1}};
	uint32_t len;
	if (run(&h, vhu_chain_indirect(h.q, s, n), ok, 2, &len) == 0) {
		uint8_t st = *vhu_ptr(&h.d, h.status, 1);
		printf("217 descriptors on a 16-entry ring: status %u, used.len %u\n", st, len);
		VH_CHECK(st == VIRTIO_CRYPTO_OK || st == VIRTIO_CRYPTO_BADMSG, "status %u", st);
		if (st == VIRTIO_CRYPTO_OK)
			VH_MEMEQ(vhu_ptr(&h.d, h.dst, 64), ref, 64);
	} else {
		printf("217 descriptors on a 16-entry ring: queue broken\n");
	}
	/* 1050 descriptors: over any sane cap (the back-end's is 1024). */
	uint8_t big[BIG];
	memset(big, 0x44, sizeof(big));
	uint64_t src = vhu_put(h.q, big, BIG), dst = vhu_alloc(h.q, BIG);
	uint64_t hdr = hdr_with(&h, VIRTIO_CRYPTO_CIPHER_ENCRYPT, (uint64_t)h.s, 16, BIG, BIG);
	n = 0;
	for (uint32_t i = 0; i < 72; i++)
		s[n++] = (struct vhu_seg){hdr + i, 1, 0};
	for (uint32_t i = 0; i < 16; i++)
		s[n++] = (struct vhu_seg){h.iv_gpa + i, 1, 0};
	for (uint32_t i = 0; i < BIG; i++)
		s[n++] = (struct vhu_seg){src + i, 1, 0};
	s[n++] = (struct vhu_seg){dst, BIG, VHU_D_WRITE};
	s[n++] = (struct vhu_seg){h.status, 1, VHU_D_WRITE};
	VH_EQ(n, N);
	expect(&h, vhu_chain_indirect(h.q, s, n), h.status, badmsg, "indirect chain of 1050");
	/* An indirect table whose length is no multiple of 16, and one of length 0. */
	uint64_t t = vhu_alloc(h.q, 64);
	vhu_desc_write(&h.d, t, 0, h.hdr, 72, 0, 0);
	vhu_desc_write(&h.d, h.q->desc, 5, t, 20, VHU_D_INDIRECT, 0);
	expect(&h, 5, 0, NULL, "indirect table of 20 bytes");
	vhu_desc_write(&h.d, h.q->desc, 6, t, 0, VHU_D_INDIRECT, 0);
	expect(&h, 6, 0, NULL, "indirect table of 0 bytes");
	/* An avail entry naming a descriptor beyond the ring. */
	expect(&h, 500, 0, NULL, "head 500 on a 16-entry ring");
	end(&h);
	return 0;
}

static int t_nested_indirect(void)
{
	struct h h;
	begin(&h, 64);
	uint64_t inner = vhu_alloc(h.q, 32);
	vhu_desc_write(&h.d, inner, 0, h.iv_gpa, 16, VHU_D_NEXT, 1);
	vhu_desc_write(&h.d, inner, 1, h.src, 64, 0, 0);
	struct vhu_seg s[] = {
		{h.hdr, 72, 0},
		{inner, 32, VHU_D_INDIRECT},
		{h.dst, 64, VHU_D_WRITE},
		{h.status, 1, VHU_D_WRITE},
	};
	expect(&h, vhu_chain_indirect(h.q, s, 4), h.status, badmsg, "indirect inside indirect");
	/* INDIRECT together with NEXT on a ring descriptor. */
	uint64_t t = vhu_alloc(h.q, 64);
	vhu_desc_write(&h.d, t, 0, h.hdr, 72, VHU_D_NEXT, 1);
	vhu_desc_write(&h.d, t, 1, h.iv_gpa, 16, VHU_D_NEXT, 2);
	vhu_desc_write(&h.d, t, 2, h.src, 64, 0, 0);
	vhu_desc_write(&h.d, h.q->desc, 40, t, 48, VHU_D_INDIRECT | VHU_D_NEXT, 41);
	vhu_desc_write(&h.d, h.q->desc, 41, h.status, 1, VHU_D_WRITE, 0);
	expect(&h, 40, h.status, badmsg, "INDIRECT|NEXT");
	end(&h);
	return 0;
}

static int t_short_header(void)
{
	struct h h;
	begin(&h, 64);
	struct vhu_seg s[] = {{h.hdr, 40, 0}, {h.status, 1, VHU_D_WRITE}};
	expect(&h, vhu_chain(h.q, s, 2), h.status, badmsg, "40-byte header");
	struct vhu_seg s2[] = {{h.status, 1, VHU_D_WRITE}};
	expect(&h, vhu_chain(h.q, s2, 1), h.status, badmsg, "no readable part at all");
	/* The header is complete but the data is short of iv_len + src_len. */
	struct vhu_seg s3[] = {
		{h.hdr, 72, 0},		  {h.iv_gpa, 16, 0},	      {h.src, 40, 0},
		{h.dst, 64, VHU_D_WRITE}, {h.status, 1, VHU_D_WRITE},
	};
	expect(&h, vhu_chain(h.q, s3, 5), h.status, badmsg, "src 24 bytes short");
	end(&h);
	return 0;
}

static int t_bad_lengths(void)
{
	struct h h;
	begin(&h, 64);
	struct vhu_seg s[] = {
		{0, 72, 0},
		{h.iv_gpa, 16, 0},
		{h.src, 64, 0},
		{h.dst, 64, VHU_D_WRITE},
		{h.status, 1, VHU_D_WRITE},
	};
	static const uint8_t bad_or_nospc[] = {VIRTIO_CRYPTO_BADMSG, VIRTIO_CRYPTO_NOSPC, 0};
	struct {
		uint32_t iv, src, dst;
		const uint8_t *allowed;
		const char *what;
	} c[] = {
		{0xffffffffu, 64, 64, badmsg, "iv_len 4 GiB - 1"},
		{16, 0xfffffff0u, 64, badmsg, "src_len near 4 GiB (sum wraps 32 bits)"},
		{0xfffffff0u, 0x20u, 64, badmsg, "iv_len + src_len wraps"},
		{16, 64, 0xffffffffu, bad_or_nospc, "dst_data_len beyond the writable space"},
		{16, 64, 1000, bad_or_nospc, "dst_data_len 1000, 64 writable"},
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		s[0].addr = hdr_with(&h, VIRTIO_CRYPTO_CIPHER_ENCRYPT, (uint64_t)h.s, c[i].iv,
				     c[i].src, c[i].dst);
		expect(&h, vhu_chain(h.q, s, 5), h.status, c[i].allowed, c[i].what);
	}
	/*
	 * Lengths shorter than the descriptors: the extra readable bytes are
	 * ignored (as QEMU does) or the request is BADMSG; at most dst_data_len
	 * bytes of dst may be written, and only with OK.
	 */
	uint8_t key[16] = {0x11}, ref[16];
	vh_aes_cbc(key, 16, h.iv, h.pt, 16, ref);
	s[0].addr = hdr_with(&h, VIRTIO_CRYPTO_CIPHER_ENCRYPT, (uint64_t)h.s, 16, 16, 16);
	struct vhu_range ok[2] = {{h.dst, 16}, {h.status, 1}};
	uint32_t len;
	if (run(&h, vhu_chain(h.q, s, 5), ok, 2, &len) == 0) {
		uint8_t st = *vhu_ptr(&h.d, h.status, 1);
		printf("lengths shorter than the descriptors: status %u, used.len %u\n", st, len);
		VH_CHECK(st == VIRTIO_CRYPTO_OK || st == VIRTIO_CRYPTO_BADMSG, "status %u", st);
		if (st == VIRTIO_CRYPTO_OK) {
			VH_MEMEQ(vhu_ptr(&h.d, h.dst, 16), ref, 16);
			VH_EQ(len, 17);
		}
	}
	end(&h);
	return 0;
}

static int t_unknown_opcode(void)
{
	struct h h;
	begin(&h, 64);
	static const uint8_t bad_or_notsupp[] = {VIRTIO_CRYPTO_BADMSG, VIRTIO_CRYPTO_NOTSUPP, 0};
	static const uint32_t ops[] = {0x999, 0x002, 0x501, 0xffffffffu, VIRTIO_CRYPTO_HASH};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		struct vhu_seg s[] = {
			{hdr_with(&h, ops[i], (uint64_t)h.s, 16, 64, 64), 72, 0},
			{h.iv_gpa, 16, 0},
			{h.src, 64, 0},
			{h.dst, 64, VHU_D_WRITE},
			{h.status, 1, VHU_D_WRITE},
		};
		char what[64];
		snprintf(what, sizeof(what), "opcode 0x%x", ops[i]);
		/* HASH on a cipher session is a session/op mismatch: BADMSG too. */
		expect(&h, vhu_chain(h.q, s, 5), h.status, bad_or_notsupp, what);
	}
	end(&h);
	return 0;
}

static int t_unknown_session(void)
{
	struct h h;
	begin(&h, 64);
	static const uint8_t invsess[] = {VIRTIO_CRYPTO_INVSESS, 0};
	static const uint64_t ids[] = {4000, 0xffffffffull, 0x100000000ull + 0, 1ull << 63,
				       (uint64_t)-1};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		if (ids[i] == (uint64_t)h.s)
			continue;
		struct vhu_seg s[] = {
			{hdr_with(&h, VIRTIO_CRYPTO_CIPHER_ENCRYPT, ids[i], 16, 64, 64), 72, 0},
			{h.iv_gpa, 16, 0},
			{h.src, 64, 0},
			{h.dst, 64, VHU_D_WRITE},
			{h.status, 1, VHU_D_WRITE},
		};
		char what[64];
		snprintf(what, sizeof(what), "session 0x%llx", (unsigned long long)ids[i]);
		struct vhu_range ok[1] = {{h.status, 1}};
		uint32_t len;
		/* Not a malformed chain: this one must complete, with INVSESS. */
		VH_CHECK(vhu_run_raw(h.q, vhu_chain(h.q, s, 5), ok, 1, 3000, &len) == 0,
			 "%s: no completion", what);
		VH_EQ(*vhu_ptr(&h.d, h.status, 1), invsess[0]);
		VH_EQ(len, 1);
	}
	end(&h);
	return 0;
}

static int t_ring_tricks(void)
{
	struct h h;
	begin(&h, 16);
	/* dst pointing at the descriptor table: it is guest memory; nothing may break. */
	struct vhu_seg s[] = {
		{h.hdr, 72, 0},
		{h.iv_gpa, 16, 0},
		{h.src, 64, 0},
		{h.q->desc + 16 * 8, 64, VHU_D_WRITE},
		{h.status, 1, VHU_D_WRITE},
	};
	struct vhu_range ok[2] = {{h.q->desc + 16 * 8, 64}, {h.status, 1}};
	uint32_t len;
	int rc = run(&h, vhu_chain(h.q, s, 5), ok, 2, &len);
	printf("dst over the descriptor table: %s\n", rc == 0 ? "completed" : "queue broken");
	end(&h);
	return 0;
}

/* ---- the guest rewrites its requests while vsmd reads them ---- */

struct flipper {
	struct h *h;
	uint64_t table; /* indirect table of 5 */
	volatile bool stop;
	unsigned flips;
};

static void *flip(void *arg)
{
	struct flipper *f = arg;
	uint32_t x = 12345;
	uint8_t *hdr = vhu_ptr(&f->h->d, f->h->hdr, 72);
	uint8_t *tab = vhu_ptr(&f->h->d, f->table, 5 * 16);
	while (!f->stop) {
		x = x * 1103515245u + 12345u;
		unsigned what = x >> 28;
		uint32_t v = (x >> 8) & 0x7f;
		/* Lengths and flags only: addresses stay inside queue 0's arena (+127). */
		if (what < 6)
			__atomic_store_n((uint32_t *)(hdr + 24 + 4 * (what % 3)), v,
					 __ATOMIC_RELAXED);
		else if (what < 12)
			__atomic_store_n((uint32_t *)(tab + 16 * (what % 5) + 8), v,
					 __ATOMIC_RELAXED);
		else
			__atomic_xor_fetch(tab + 16 * (what % 5) + 12, VHU_D_WRITE,
					   __ATOMIC_RELAXED);
		f->flips++;
	}
	return NULL;
}

static int t_rewrite_race(void)
{
	struct h h;
	begin(&h, 64);
	struct flipper f = {.h = &h};
	f.table = vhu_alloc(h.q, 5 * 16);
	uint64_t dst = vhu_alloc(h.q, 64 + 128), status = vhu_alloc(h.q, 1 + 128);
	struct vhu_seg s[] = {
		{h.hdr, 72, 0},		{h.iv_gpa, 16, 0},	  {h.src, 64, 0},
		{dst, 64, VHU_D_WRITE}, {status, 1, VHU_D_WRITE},
	};
	pthread_t th;
	VH_EQ(pthread_create(&th, NULL, flip, &f), 0);
	unsigned done = 0, broken = 0;
	for (int i = 0; i < 300 && !broken; i++) {
		/* Re-lay the table each time: the flipper has been at it. */
		for (int k = 0; k < 5; k++)
			vhu_desc_write(&h.d, f.table, (uint16_t)k, s[k].addr, s[k].len,
				       (uint16_t)(s[k].flags | (k < 4 ? VHU_D_NEXT : 0)),
				       (uint16_t)(k + 1));
		struct vhu_seg ind = {f.table, 5 * 16, VHU_D_INDIRECT};
		vhu_publish(h.q, vhu_chain(h.q, &ind, 1));
		uint32_t id, len;
		if (vhu_wait_used(h.q, 2000, &id, &len) < 0)
			broken = 1;
		else
			done++;
	}
	f.stop = true;
	pthread_join(th, NULL);
	printf("%u requests completed under %u rewrites%s\n", done, f.flips,
	       broken ? ", then the queue broke" : "");
	end(&h);
	return 0;
}

static const struct vh_case cases[] = {
	{"addr-outside", t_addr_outside, 0},
	{"addr-overflow", t_addr_overflow, 0},
	{"len-past-end", t_len_past_end, 0},
	{"write-past-end", t_write_past_end, 0},
	{"loop", t_loop, 0},
	{"zero-len", t_zero_len, 0},
	{"write-before-read", t_write_before_read, 0},
	{"too-many", t_too_many, 0},
	{"nested-indirect", t_nested_indirect, 0},
	{"short-header", t_short_header, 0},
	{"bad-lengths", t_bad_lengths, 0},
	{"unknown-opcode", t_unknown_opcode, 0},
	{"unknown-session", t_unknown_session, 0},
	{"ring-tricks", t_ring_tricks, 0},
	{"rewrite-race", t_rewrite_race, 0},
};

int main(int argc, char **argv)
{
	return vh_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
