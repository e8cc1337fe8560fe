/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ring of libvsm's shared-memory transport: every request is an SQ entry
 * that points at its payload in the region's data area, and every response a
 * CQ entry. The memory ordering is the one written down in <vsm/shm.h>; each
 * atomic below says which half of that contract it is. How the region was
 * obtained, how vsmd is rung and how a waiting client sleeps belong to the
 * transport (shm_setup.c for "shm:", ivshmem.c for "ivshmem:"), reached
 * through s->port.
 *
 * vsmd is trusted less than fully: the header is validated once from a
 * private copy, a CQ entry is copied out before it is looked at, and no value
 * read from the region is used as an offset without a bounds check. The
 * worst a broken vsmd can do is garble this client's results.
 *
 * The data area is the client's. It is cut into equal chunks (data_size /
 * entries, at least 512 bytes) handed out in contiguous runs by a next-fit
 * bitmap: a request that must be copied takes one run for its payload and
 * its output, freed when its completion arrives; vsm_shm_alloc takes a run
 * for good. Requests complete in any order, so runs are freed in any order,
 * but a run is never split: the area cannot fragment below whole chunks.
 * A vsm_shm_alloc block starts with HEADROOM private bytes, where libvsm
 * writes the fixed part of an OP (and its iv and aad) right before a src
 * that the application placed in the block, which is what lets the payload
 * stay contiguous, as the protocol wants, without copying src.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <vsm/shm.h>
#include <vsm/vsm.h>

#include "client.h"
#include "shm_ring.h"

#define HEADROOM	256u /* fixed part (40) + iv + aad of a zero-copy OP */
#define MIN_CHUNK	512u
#define MIN_DATA	4096u
#define DEFAULT_SPIN_US 50u

enum { BLK_REQ = 1, BLK_USER = 2 };
#define BLK_BUSY       0x10u /* a request uses the block's headroom */
#define BLK_FREE_LATER 0x20u /* vsm_shm_free came while busy */

/* ---- small helpers ---- */

uint64_t vsm_shm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static size_t align64(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

/* Is [p, p + len) inside the data area? len may be 0 (p must still be inside). */
static int in_data(const struct vsm_shm *s, const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)s->data;

	return p && a >= lo && a - lo <= s->data_size && len <= s->data_size - (a - lo);
}

static uint32_t off_of(const struct vsm_shm *s, const void *p)
{
	return (uint32_t)((const uint8_t *)p - s->data);
}

/*
 * $name as a decimal number up to max, with an optional k or m suffix when
 * suffix is set; *out is left alone when the variable is unset or empty.
 */
int vsm_shm_env_u32(const char *name, uint32_t max, int suffix, uint32_t *out)
{
	const char *v = getenv(name);
	unsigned long long n;
	char *end;

	if (!v || !*v)
		return 0;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (end == v || errno || *v < '0' || *v > '9')
		return -EINVAL;
	if (suffix && (*end == 'k' || *end == 'K')) {
		n *= 1024;
		end++;
	} else if (suffix && (*end == 'm' || *end == 'M')) {
		n *= 1024 * 1024;
		end++;
	}
	if (*end || n > max)
		return -EINVAL;
	*out = (uint32_t)n;
	return 0;
}

/* ---- the chunk allocator ---- */

static int chunk_used(const struct vsm_shm *s, uint32_t i)
{
	return (s->used[i / 64] >> (i % 64)) & 1;
}

static void chunks_mark(struct vsm_shm *s, uint32_t first, uint32_t n, int used)
{
	for (uint32_t i = first; i < first + n; i++) {
		if (used)
			s->used[i / 64] |= 1ull << (i % 64);
		else
			s->used[i / 64] &= ~(1ull << (i % 64));
	}
}

/*
 * Next fit: start where the last run ended, so that in-flight requests, which
 * mostly complete in order, walk the area like a ring buffer. A run never
 * wraps around the end.
 */
static int chunks_alloc(struct vsm_shm *s, uint32_t n, uint8_t kind, uint32_t *first)
{
	uint32_t run = 0;

	if (n == 0 || n > s->nchunks)
		return -1;
	for (uint32_t k = 0; k < s->nchunks + n; k++) {
		uint32_t i = (s->cursor + k) % s->nchunks;

		if (i == 0)
			run = 0;
		if (chunk_used(s, i)) {
			run = 0;
			continue;
		}
		if (++run < n)
			continue;
		*first = i + 1 - n;
		chunks_mark(s, *first, n, 1);
		s->blk_len[*first] = n;
		s->blk_kind[*first] = kind;
		s->cursor = (i + 1) % s->nchunks;
		return 0;
	}
	return -1;
}

static void chunks_free(struct vsm_shm *s, uint32_t first)
{
	chunks_mark(s, first, s->blk_len[first], 0);
	s->blk_len[first] = 0;
	s->blk_kind[first] = 0;
}

static uint32_t chunks_for(const struct vsm_shm *s, size_t bytes)
{
	return (uint32_t)((bytes + s->chunk - 1) / s->chunk);
}

/* The vsm_shm_alloc block p is the user area of, or -1. */
static int32_t user_block(const struct vsm_shm *s, const void *p)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)s->data;
	uint32_t i;

	if (!p || a < lo + HEADROOM || a - lo >= s->data_size)
		return -1;
	if ((a - lo - HEADROOM) % s->chunk)
		return -1;
	i = (uint32_t)((a - lo - HEADROOM) / s->chunk);
	if (i >= s->nchunks || (s->blk_kind[i] & 0x0f) != BLK_USER)
		return -1;
	return (int32_t)i;
}

static size_t user_cap(const struct vsm_shm *s, int32_t b)
{
	return (size_t)s->blk_len[b] * s->chunk - HEADROOM;
}

void *vsm_shm_alloc(vsm_client *c, size_t len)
{
	struct vsm_shm *s = c ? c->shm : NULL;
	uint32_t first;

	if (!s || len == 0 || len > s->data_size) {
		errno = EINVAL;
		return NULL;
	}
	if (chunks_alloc(s, chunks_for(s, HEADROOM + len), BLK_USER, &first)) {
		errno = ENOMEM;
		return NULL;
	}
	return s->data + (size_t)first * s->chunk + HEADROOM;
}

void vsm_shm_free(vsm_client *c, void *p)
{
	struct vsm_shm *s = c ? c->shm : NULL;
	int32_t b;

	if (!s || (b = user_block(s, p)) < 0)
		return;
	if (s->blk_kind[b] & BLK_BUSY)
		s->blk_kind[b] |= BLK_FREE_LATER;
	else
		chunks_free(s, (uint32_t)b);
}

/* ---- set-up ---- */

static int range_ok(uint64_t off, uint64_t len, uint64_t lo, uint64_t size)
{
	return off >= lo && off <= size && len <= size - off;
}

static int disjoint(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a + alen <= b || b + blen <= a;
}

/* Validate a private copy of the header against the mapping and what was asked. */
static int check_hdr(const struct vsm_client *c, const struct vsm_shm_hdr *h, size_t map_len,
		     const struct vsm_shm_want *w)
{
	uint64_t e = h->sq_entries, sq_len = e * sizeof(struct vsm_shm_sqe),
		 cq_len = e * sizeof(struct vsm_shm_cqe), size = h->region_size;

	if (h->magic != VSM_SHM_MAGIC || h->version != VSM_SHM_VERSION)
		return -EPROTO;
	/* A PCI BAR is a power of two: the region may be smaller than its mapping. */
	if (w->exact_size ? size != map_len : size > map_len)
		return -EPROTO;
	if (h->hdr_size < sizeof(*h) || h->hdr_size > size)
		return -EPROTO;
	if (e < VSM_SHM_MIN_ENTRIES || e > VSM_SHM_MAX_ENTRIES || (e & (e - 1)) ||
	    h->cq_entries != e || (w->entries && e != w->entries) ||
	    (w->data_size && h->data_size != w->data_size))
		return -EPROTO;
	/* 8-byte alignment: the entries hold u64 ids, read and written in place. */
	if ((h->sq_off | h->cq_off | h->data_off) % 8)
		return -EPROTO;
	if (!range_ok(h->sq_off, sq_len, h->hdr_size, size) ||
	    !range_ok(h->cq_off, cq_len, h->hdr_size, size) ||
	    !range_ok(h->data_off, h->data_size, h->hdr_size, size) ||
	    !disjoint(h->sq_off, sq_len, h->cq_off, cq_len) ||
	    !disjoint(h->sq_off, sq_len, h->data_off, h->data_size) ||
	    !disjoint(h->cq_off, cq_len, h->data_off, h->data_size))
		return -EPROTO;
	if (h->data_size < MIN_DATA || h->max_msg < VSM_WIRE_STATUS_RESP_LEN ||
	    h->max_msg > VSM_WIRE_MAX_PAYLOAD)
		return -EPROTO;
	if (w->from_hdr)
		return h->tenant[0] && memchr(h->tenant, 0, sizeof(h->tenant)) ? 0 : -EPROTO;
	/* The header repeats HELLO: a region of another tenant is not ours. */
	if (memcmp(h->algs, c->info.algs, sizeof(h->algs)) ||
	    memcmp(h->tenant, c->info.tenant, sizeof(h->tenant)))
		return -EPROTO;
	return 0;
}

/* Without HELLO, the header is what the client knows of vsmd. */
static void info_from_hdr(struct vsm_client *c, const struct vsm_shm_hdr *h)
{
	struct vsm_wire_hello_resp *in = &c->info;

	memset(in, 0, sizeof(*in));
	in->version = VSM_WIRE_VERSION;
	/* vsmd answers KEY with NOTSUPP/KEYSTORE when it has no keystore. */
	in->features = VSM_FEAT_MULTIPART | VSM_FEAT_OUT_OF_ORDER | VSM_FEAT_KEYSTORE;
	in->max_msg = h->max_msg;
	in->max_inflight = h->sq_entries;
	memcpy(in->algs, h->algs, sizeof(in->algs));
	memcpy(in->tenant, h->tenant, sizeof(in->tenant));
}

static int setup_alloc(struct vsm_shm *s)
{
	uint32_t chunk = (s->data_size / s->entries) & ~63u;

	s->owner = getpid();
	s->chunk = chunk < MIN_CHUNK ? MIN_CHUNK : chunk;
	s->nchunks = s->data_size / s->chunk;
	s->used = calloc((s->nchunks + 63) / 64, sizeof(*s->used));
	s->blk_len = calloc(s->nchunks, sizeof(*s->blk_len));
	s->blk_kind = calloc(s->nchunks, sizeof(*s->blk_kind));
	return s->used && s->blk_len && s->blk_kind ? 0 : -ENOMEM;
}

int vsm_shm_ring_init(struct vsm_client *c, struct vsm_shm *s, const struct vsm_shm_want *w,
		      int resume)
{
	struct vsm_shm_hdr h;
	uint32_t sq_head, cq_tail, spin_us = DEFAULT_SPIN_US;

	if (vsm_shm_env_u32("VSM_SHM_SPIN_US", 1000000, 0, &spin_us))
		return -EINVAL;
	s->spin_ns = (uint64_t)spin_us * 1000;
	if (s->map_len < VSM_SHM_HDR_SIZE)
		return -EPROTO;
	s->hdr = (struct vsm_shm_hdr *)s->map;
	/* One fetch of the constant part; every check and use is on the copy. */
	memcpy(&h, s->map, sizeof(h));
	if (check_hdr(c, &h, s->map_len, w))
		return -EPROTO;
	if (w->from_hdr)
		info_from_hdr(c, &h);
	s->entries = h.sq_entries;
	s->mask = h.sq_entries - 1;
	s->sq = (struct vsm_shm_sqe *)(s->map + h.sq_off);
	s->cq = (const struct vsm_shm_cqe *)(s->map + h.cq_off);
	s->data = s->map + h.data_off;
	s->data_size = h.data_size;
	if (h.max_msg < c->info.max_msg)
		c->info.max_msg = h.max_msg;
	if (s->entries < c->info.max_inflight)
		c->info.max_inflight = s->entries;

	/* A fresh region has both rings empty; start from wherever vsmd put them. */
	s->sq_tail = s->sq_pub = __atomic_load_n(&s->hdr->sq_tail, __ATOMIC_RELAXED);
	sq_head = __atomic_load_n(&s->hdr->sq_head, __ATOMIC_ACQUIRE);
	s->cq_head = __atomic_load_n(&s->hdr->cq_head, __ATOMIC_RELAXED);
	cq_tail = __atomic_load_n(&s->hdr->cq_tail, __ATOMIC_ACQUIRE);
	if (!resume && (sq_head != s->sq_tail || cq_tail != s->cq_head))
		return -EPROTO;
	return setup_alloc(s);
}

int vsm_shm_settle(struct vsm_client *c, int timeout_ms)
{
	struct vsm_shm *s = c->shm;
	uint64_t end = vsm_shm_now_ns() + (uint64_t)timeout_ms * 1000000u;
	uint32_t sq_tail = __atomic_load_n(&s->hdr->sq_tail, __ATOMIC_RELAXED);

	/* Whatever the last client left: nobody sleeps on this side now. */
	__atomic_store_n(&s->hdr->client_flags, 0, __ATOMIC_RELAXED);
	for (;;) {
		uint32_t cq_tail = __atomic_load_n(&s->hdr->cq_tail, __ATOMIC_ACQUIRE);
		int rc;

		if (sq_tail - cq_tail > s->entries)
			return -EPROTO;
		/* Drop the answers: vsmd may be asleep on a full CQ. */
		__atomic_store_n(&s->hdr->cq_head, cq_tail, __ATOMIC_RELEASE);
		if (cq_tail == sq_tail)
			break;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(&s->hdr->vsmd_flags, __ATOMIC_RELAXED) & VSM_SHM_NEED_WAKEUP) {
			rc = s->port->kick(c);
			if (rc)
				return rc;
		}
		if (vsm_shm_now_ns() > end)
			return -ETIMEDOUT;
		s->port->pause(c);
	}
	/* Every entry answered means every entry consumed. */
	if (__atomic_load_n(&s->hdr->sq_head, __ATOMIC_ACQUIRE) != sq_tail)
		return -EPROTO;
	s->sq_tail = s->sq_pub = sq_tail;
	s->cq_head = sq_tail;
	return 0;
}

void vsm_shm_detach(struct vsm_client *c)
{
	struct vsm_shm *s = c->shm;

	if (!s)
		return;
	if (s->map) {
		/*
		 * Results (plaintext, random bytes) and keys passed through here.
		 * Not in a forked child closing what it inherited: the region is
		 * still its parent's, with requests in flight.
		 */
		if (s->data && s->owner == getpid())
			explicit_bzero(s->data, s->data_size);
		munmap(s->map, s->map_len);
	}
	free(s->used);
	free(s->blk_len);
	free(s->blk_kind);
	c->shm = NULL;
	s->port->destroy(s);
}

/* ---- submission ---- */

int vsm_shm_flush(struct vsm_client *c)
{
	struct vsm_shm *s = c->shm;
	int rc;

	if (c->dead)
		return c->dead;
	if (s->sq_tail == s->sq_pub)
		return 0;
	/* Entries and their data are written; publish them. */
	__atomic_store_n(&s->hdr->sq_tail, s->sq_tail, __ATOMIC_RELEASE);
	s->sq_pub = s->sq_tail;
	/* Pairs with vsmd's fence between setting NEED_WAKEUP and re-checking the SQ. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->hdr->vsmd_flags, __ATOMIC_RELAXED) & VSM_SHM_NEED_WAKEUP) {
		rc = s->port->kick(c);
		if (rc) {
			vsm_io_kill(c, rc);
			return c->dead;
		}
	}
	return 0;
}

/*
 * Room in the SQ. Completions free their slots before vsmd necessarily moves
 * sq_head, so a full SQ can outlive a free slot for a moment: wait for it,
 * in a way that notices a dead vsmd where the transport can.
 */
static int wait_sq_room(struct vsm_client *c)
{
	struct vsm_shm *s = c->shm;

	for (;;) {
		uint32_t head = __atomic_load_n(&s->hdr->sq_head, __ATOMIC_ACQUIRE);
		uint32_t used = s->sq_tail - head;

		if (used > s->entries) {
			vsm_io_kill(c, -EPROTO);
			return c->dead;
		}
		if (used < s->entries)
			return 0;
		if (vsm_shm_flush(c))
			return c->dead;
		s->port->pause(c);
		if (c->dead)
			return c->dead;
	}
}

/*
 * A slot, SQ room and `need` bytes of the data area (0: none). Space is freed
 * by completions, so while requests are outstanding this waits for them, as
 * a stream client waits for its send buffer to drain.
 */
static int reserve(struct vsm_client *c, size_t need, struct vsm_shm_pend *p)
{
	struct vsm_shm *s = c->shm;
	uint32_t n = chunks_for(s, need);
	int rc;

	if (c->dead)
		return c->dead;
	if (c->inflight >= c->nslots)
		return -EBUSY;
	if (n > s->nchunks)
		return -EMSGSIZE;
	rc = wait_sq_room(c);
	if (rc)
		return rc;
	p->nchunks = n;
	while (n && chunks_alloc(s, n, BLK_REQ, &p->chunk)) {
		if (s->pending == 0)
			return -ENOMEM; /* vsm_shm_alloc buffers hold the rest */
		vsm_shm_flush(c);
		vsm_shm_read(c, -1);
		if (c->dead)
			return c->dead;
	}
	return 0;
}

static void write_sqe(struct vsm_shm *s, uint64_t id, uint16_t msg, const struct vsm_shm_pend *p)
{
	struct vsm_shm_sqe e = {
		.id = id,
		.msg = msg,
		.req_off = p->req_off,
		.req_len = p->req_len,
		.out_off = p->out_off,
		.out_cap = p->out_cap,
	};

	memcpy(&s->sq[s->sq_tail & s->mask], &e, sizeof(e));
	s->sq_tail++;
	s->pending++;
}

/* The slot of a new request, as vsm_req_commit fills it, plus the shm part. */
static uint64_t commit(struct vsm_client *c, const struct vsm_req *r, const struct vsm_shm_pend *p)
{
	struct vsm_slot *sl;
	uint64_t id;

	sl = vsm_slot_claim(c, r);
	id = sl->id;
	sl->copy_out = p->copy_out;
	sl->wipe = p->wipe;
	sl->block = p->block;
	sl->chunk = p->chunk;
	sl->nchunks = p->nchunks;
	sl->req_off = p->req_off;
	sl->req_len = p->req_len;
	sl->out_off = p->out_off;
	sl->out_room = p->out_cap;
	if (p->block >= 0)
		c->shm->blk_kind[p->block] |= BLK_BUSY;
	write_sqe(c->shm, id, r->op, p);
	return id;
}

/* Output space a copied response gets: what the caller offers, within max_msg. */
static uint32_t out_space(const struct vsm_client *c, size_t cap)
{
	return cap > c->info.max_msg ? c->info.max_msg : (uint32_t)cap;
}

uint8_t *vsm_shm_begin(struct vsm_client *c, const struct vsm_req *r, int *rc)
{
	struct vsm_shm *s = c->shm;
	struct vsm_shm_pend *p = &s->pend;
	uint32_t cap = out_space(c, r->out_cap);

	if (r->payload_len > c->info.max_msg) {
		*rc = -EMSGSIZE;
		return NULL;
	}
	/* At least 4 bytes: room for the size vsmd reports with OUTPUT_SPACE. */
	if (cap < 4)
		cap = 4;
	*p = (struct vsm_shm_pend){.block = -1};
	*rc = reserve(c, align64(r->payload_len) + cap, p);
	if (*rc)
		return NULL;
	p->req_off = p->chunk * s->chunk;
	p->req_len = (uint32_t)r->payload_len;
	p->out_off = p->req_off + (uint32_t)align64(r->payload_len);
	p->out_cap = cap;
	p->copy_out = r->out_cap != 0;
	/* Keys and passwords must not linger in memory vsmd and the client share. */
	p->wipe = r->op == VSM_MSG_SESSION_CREATE || r->op == VSM_MSG_KEY;
	return s->data + p->req_off;
}

uint64_t vsm_shm_commit(struct vsm_client *c, const struct vsm_req *r)
{
	return commit(c, r, &c->shm->pend);
}

/* The fixed 40 bytes of an OP, through the codec's own integer encoders. */
static void put_op_fixed(uint8_t *b, const struct vsm_wire_op *m)
{
	vsm_wire_encode_u64(b, 8, m->session);
	vsm_wire_encode_u32(b + 8, 4, m->op);
	vsm_wire_encode_u32(b + 12, 4, m->flags);
	vsm_wire_encode_u32(b + 16, 4, m->dst_len);
	vsm_wire_encode_u32(b + 20, 4, m->iv_len);
	vsm_wire_encode_u32(b + 24, 4, m->aad_len);
	vsm_wire_encode_u32(b + 28, 4, m->src_len);
	vsm_wire_encode_u32(b + 32, 4, m->aux_len);
	vsm_wire_encode_u32(b + 36, 4, 0);
}

/*
 * The block whose headroom can carry this OP's prefix, so that src stays
 * where it is: src starts a vsm_shm_alloc block not in use by another
 * request, the prefix fits the headroom, and aux is empty or already follows
 * src (writing it there would overwrite the application's bytes).
 */
static int32_t zero_copy_block(const struct vsm_shm *s, const struct vsm_wire_op *m)
{
	int32_t b = user_block(s, m->src);

	if (b < 0 || (s->blk_kind[b] & BLK_BUSY))
		return -1;
	if ((size_t)VSM_WIRE_OP_LEN + m->iv_len + m->aad_len > HEADROOM)
		return -1;
	if ((size_t)m->src_len + m->aux_len > user_cap(s, b))
		return -1;
	if (m->aux_len && m->aux != m->src + m->src_len)
		return -1;
	return b;
}

int vsm_shm_encode_op(struct vsm_client *c, const struct vsm_wire_op *op, void *out, size_t out_cap,
		      void *user_data, uint8_t sync, uint64_t *id)
{
	struct vsm_shm *s = c->shm;
	struct vsm_shm_pend *p = &s->pend;
	struct vsm_wire_op m = *op;
	struct vsm_req r = {
		.op = VSM_MSG_OP,
		.out = out,
		.out_cap = out_cap,
		.user_data = user_data,
		.sync = sync,
	};
	size_t len = vsm_wire_op_size(&m), need = 0;
	int out_zc = out_cap && in_data(s, out, out_cap);
	uint32_t cap = out_zc ? (uint32_t)out_cap : out_space(c, out_cap);
	int32_t b;
	int rc;

	if (len == 0 || len > c->info.max_msg)
		return -EMSGSIZE;
	m.dst_len = cap;
	b = out_zc || !out_cap ? zero_copy_block(s, &m) : -1;
	*p = (struct vsm_shm_pend){.block = b};
	if (b < 0)
		need += align64(len);
	if (!out_zc && out_cap)
		need += cap < 4 ? 4 : cap;
	rc = reserve(c, need, p);
	if (rc)
		return rc;
	if (b >= 0) {
		uint8_t *src = (uint8_t *)m.src, *pre = src - m.aad_len - m.iv_len;

		/* memmove: the application may have put iv or aad in the region too. */
		if (m.aad_len)
			memmove(src - m.aad_len, m.aad, m.aad_len);
		if (m.iv_len)
			memmove(pre, m.iv, m.iv_len);
		put_op_fixed(pre - VSM_WIRE_OP_LEN, &m);
		p->req_off = off_of(s, pre - VSM_WIRE_OP_LEN);
	} else {
		p->req_off = p->chunk * s->chunk;
		vsm_wire_encode_op(s->data + p->req_off, len, &m);
	}
	p->req_len = (uint32_t)len;
	if (out_zc) {
		p->out_off = off_of(s, out);
		p->out_cap = cap;
	} else {
		/* After the payload when it was copied; else the run holds only the output. */
		p->out_off = p->chunk * s->chunk + (b < 0 ? (uint32_t)align64(len) : 0);
		p->out_cap = out_cap ? (cap < 4 ? 4 : cap) : 0;
		p->copy_out = out_cap != 0;
		if (!out_cap)
			p->out_off = p->req_off;
	}
	*id = commit(c, &r, p);
	return 0;
}

int vsm_shm_submit_nop(struct vsm_client *c, const void *buf, size_t len, void *out, size_t out_cap,
		       void *user_data, uint8_t sync, uint8_t discard, uint64_t *id)
{
	struct vsm_shm *s = c->shm;
	struct vsm_shm_pend *p = &s->pend;
	struct vsm_req r = {
		.op = VSM_MSG_NOP,
		.payload_len = len,
		.out = out,
		.out_cap = out_cap,
		.user_data = user_data,
		.sync = sync,
		.discard = discard,
	};
	int buf_zc = len && in_data(s, buf, len);
	int out_zc = !discard && out_cap && in_data(s, out, out_cap);
	/* An echo never needs more room than the request. */
	uint32_t cap = out_space(c, out_cap < len ? out_cap : len);
	size_t need = 0;
	int rc;

	if (len > c->info.max_msg)
		return -EMSGSIZE;
	*p = (struct vsm_shm_pend){.block = -1};
	if (!buf_zc)
		need = align64(len);
	else if (!discard && !out_zc && out_cap)
		need = cap; /* in the region, result wanted outside it */
	rc = reserve(c, need, p);
	if (rc)
		return rc;
	p->req_off = buf_zc ? off_of(s, buf) : p->chunk * s->chunk;
	p->req_len = (uint32_t)len;
	if (!buf_zc && len)
		memcpy(s->data + p->req_off, buf, len);
	if (discard) {
		/* Echoed onto itself: nobody copies anything. */
		p->out_off = p->req_off;
		p->out_cap = (uint32_t)len;
	} else if (out_zc) {
		p->out_off = off_of(s, out);
		p->out_cap = (uint32_t)out_cap;
	} else if (!buf_zc) {
		p->out_off = p->req_off;
		p->out_cap = cap;
		p->copy_out = out_cap != 0;
	} else {
		p->out_off = p->chunk * s->chunk;
		p->out_cap = cap;
		p->copy_out = out_cap != 0;
		if (!out_cap)
			p->out_off = p->req_off;
	}
	*id = commit(c, &r, p);
	return 0;
}

/* ---- completion ---- */

void vsm_shm_release(struct vsm_client *c, struct vsm_slot *sl)
{
	struct vsm_shm *s = c->shm;

	if (sl->wipe && sl->req_len)
		explicit_bzero(s->data + sl->req_off, sl->req_len);
	if (sl->nchunks) {
		chunks_free(s, sl->chunk);
		sl->nchunks = 0;
	}
	if (sl->block >= 0) {
		uint8_t *k = &s->blk_kind[sl->block];

		*k &= (uint8_t)~BLK_BUSY;
		if (*k & BLK_FREE_LATER)
			chunks_free(s, (uint32_t)sl->block);
		sl->block = -1;
	}
	s->pending--;
}

static uint32_t ld32le(const uint8_t *p)
{
	uint32_t v = 0;

	vsm_wire_decode_u32(p, 4, &v);
	return v;
}

/* One completion, already copied out of the ring. Returns 0 or -EPROTO. */
static int complete(struct vsm_client *c, const struct vsm_shm_cqe *e)
{
	struct vsm_shm *s = c->shm;
	struct vsm_slot *sl = &c->slots[e->id % c->nslots];

	if (sl->state != VSM_SLOT_WAIT || sl->id != e->id)
		return -EPROTO;
	sl->status = e->status;
	sl->detail = e->detail;
	sl->out_len = e->out_len;
	if (e->status == VSM_S_NOSPC && e->detail == VSM_D_OUTPUT_SPACE) {
		/* vsmd tells how much room the result needs, in the output space. */
		sl->out_len =
			e->out_len == 4 && sl->out_room >= 4 ? ld32le(s->data + sl->out_off) : 0;
	} else if (e->out_len > sl->out_room) {
		return -EPROTO; /* vsmd wrote past what it was offered */
	} else if (sl->discard) {
		/* only the length is wanted */
	} else if (e->out_len > sl->out_cap) {
		/* Offered room rounds up to 4 bytes; the caller's buffer does not. */
		sl->status = VSM_S_NOSPC;
		sl->detail = VSM_D_OUTPUT_SPACE;
	} else if (sl->copy_out && e->out_len) {
		memcpy(sl->out, s->data + sl->out_off, e->out_len);
	}
	vsm_shm_release(c, sl);
	sl->state = VSM_SLOT_DONE;
	if (!sl->sync)
		c->doneq[(c->done_head + c->done_count++) % c->nslots] = (uint32_t)(sl - c->slots);
	return 0;
}

/* Reap every completion vsmd has published. Returns how many, or c->dead. */
static int reap(struct vsm_client *c)
{
	struct vsm_shm *s = c->shm;
	uint32_t tail = __atomic_load_n(&s->hdr->cq_tail, __ATOMIC_ACQUIRE);
	int n = 0;

	if (c->dead)
		return c->dead;
	if (tail - s->cq_head > s->entries) {
		vsm_io_kill(c, -EPROTO);
		return c->dead;
	}
	while (s->cq_head != tail) {
		struct vsm_shm_cqe e;

		memcpy(&e, &s->cq[s->cq_head & s->mask], sizeof(e));
		s->cq_head++;
		if (complete(c, &e)) {
			vsm_io_kill(c, -EPROTO);
			return c->dead;
		}
		n++;
	}
	/* The entries are copied out: vsmd may reuse them. */
	if (n)
		__atomic_store_n(&s->hdr->cq_head, s->cq_head, __ATOMIC_RELEASE);
	return n;
}

int vsm_shm_read(struct vsm_client *c, int timeout_ms)
{
	struct vsm_shm *s = c->shm;
	uint64_t spin = s->spin_ns;
	int n;

	n = reap(c);
	if (n || timeout_ms == 0)
		return n;
	if (timeout_ms > 0 && spin > (uint64_t)timeout_ms * 1000000u)
		spin = (uint64_t)timeout_ms * 1000000u;
	if (spin) {
		uint64_t end = vsm_shm_now_ns() + spin;

		/*
		 * Yield between rounds: when vsmd's worker shares our CPU (more
		 * busy threads than CPUs), spinning would only delay the
		 * completion we wait for by a whole spin budget.
		 */
		do {
			for (int i = 0; i < 64; i++) {
				if (vsm_shm_cq_ready(s))
					return reap(c);
				cpu_relax();
			}
			sched_yield();
		} while (vsm_shm_now_ns() < end);
	}
	s->port->wait_cq(c, timeout_ms);
	if (c->dead)
		return c->dead;
	return reap(c);
}
