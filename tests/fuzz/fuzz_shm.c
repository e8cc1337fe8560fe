/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the shared-memory ring consumer (vsm_shm_process) with arbitrary
 * region contents: ring indices, submission entries and data area all come
 * from the input, as a hostile tenant would write them. The region is the
 * real sealed memfd of vsm_shm_create, remapped between two PROT_NONE guard
 * pages, so any read or write outside it faults under ASan.
 *
 * Input layout:
 *   byte 0     control: bit 0 reap the CQ when vsmd reports it full;
 *              bits 1-2 starting index (0, 2^32 - 8, 2^31 - 4, 5);
 *              bit 3 scribble over the header's constant fields;
 *              bit 4 the client asks for CQ doorbells (client_flags);
 *              bit 5 let vsmd go to sleep when idle, then poll once more
 *   byte 1     sq_tail - start, as int8 (negative: moved backwards)
 *   byte 2     cq_head - start, as int8
 *   then       16 SQ entries of 64 bytes (missing bytes are 0)
 *   then       the data area from offset 0 (56 KiB at most)
 *
 * Invariants checked (abort on violation): every completion has a valid
 * status and detail and an out_len within the tenant's max_msg; vsmd
 * completes exactly the entries it consumes; it never has more completions
 * outstanding than the CQ holds; its private and published indices agree.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "daemon/config.h"
#include "daemon/conn.h"
#include "daemon/log.h"
#include "engine/engine.h"
#include "transport/shm.h"

#define ENTRIES 16u
/* With 16 entries the rings end at 8 KiB: the region is exactly 64 KiB (a power of two). */
#define DATA	(56u * 1024u)
#define MAX_MSG (16u * 1024u)
#define PAGE	4096u
#define ROUNDS	64
#define BUDGET	8

static struct vsm_config conf;
static struct vsm_shm *shm;
static uint8_t hdr_copy[256]; /* the header's constant part, as vsm_shm_create wrote it */

static void remap_guarded(struct vsm_shm *s)
{
	uint8_t *r = mmap(NULL, s->size + 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED)
		abort();
	uint8_t *b = mmap(r + PAGE, s->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			  s->memfd, 0);
	if (b != r + PAGE)
		abort();
	size_t sq = (size_t)((uint8_t *)s->sq - s->base), cq = (size_t)((uint8_t *)s->cq - s->base),
	       data = (size_t)(s->data - s->base);
	munmap(s->base, s->size);
	s->base = b;
	s->hdr = (struct vsm_shm_hdr *)b;
	s->sq = (struct vsm_shm_sqe *)(b + sq);
	s->cq = (struct vsm_shm_cqe *)(b + cq);
	s->data = b + data;
}

static void init_once(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	char err[256];
	vsm_log_level = -1;
	vsm_config_defaults(&conf);
	if (vsm_config_load_string(&conf, "[tenant fuzz]\nmax_msg = 16384\nmax_sessions = 8\n", err,
				   sizeof(err)) ||
	    vsm_config_finish(&conf, err, sizeof(err)) || vsm_router_init())
		abort();
	uint8_t algs[VSM_ALG__MAX / 8];
	vsm_router_algs(algs);
	shm = vsm_shm_create(ENTRIES, DATA, MAX_MSG, "fuzz", algs, err, sizeof(err));
	if (!shm || shm->entries != ENTRIES || shm->data_size < DATA)
		abort();
	remap_guarded(shm);
	memcpy(hdr_copy, shm->base, sizeof(hdr_copy));
}

static void drain(int fd)
{
	uint64_t v;
	while (read(fd, &v, sizeof(v)) == sizeof(v))
		;
}

/* Completions [from, to) must be well-formed. */
static void check_cqes(const struct vsm_shm *s, uint32_t from, uint32_t to)
{
	for (uint32_t i = from; i != to; i++) {
		const struct vsm_shm_cqe *e = &s->cq[i & s->mask];
		if (e->status >= VSM_S__MAX || e->detail >= VSM_D__MAX || e->out_len > MAX_MSG ||
		    e->out_len > s->data_size)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	init_once();
	if (size < 3)
		return 0;
	uint8_t ctl = in[0];
	static const uint32_t starts[4] = {0, 0xfffffff8u, 0x7ffffffcu, 5};
	uint32_t start = starts[(ctl >> 1) & 3];

	/* A fresh registry per input: the first session is always handle (1<<48)|(1<<24). */
	if (vsm_tenants_init(&conf))
		abort();
	const char *why;
	struct vsm_tenant *t = vsm_tenant_attach_name("fuzz", &why);
	if (!t)
		abort();
	struct vsm_conn *c = vsm_conn_new(-1, t, "fuzz");
	if (!c)
		abort();
	c->ps.hello_done = true;
	c->ps.version = 1;
	c->ps.features = VSM_FEAT__ALL;
	c->is_unix = true;

	/* The region as a tenant left it. */
	struct vsm_shm *s = shm;
	memset(s->base, 0, s->size);
	memcpy(s->base, hdr_copy, sizeof(hdr_copy));
	if (ctl & 8)
		memset(s->base, 0xa5, offsetof(struct vsm_shm_hdr, sq_tail));
	s->sq_head = s->cq_tail = start;
	s->sleeping = false;
	s->held = false;
	/* Nothing of the previous input may carry over: the scratch starts unallocated. */
	OPENSSL_clear_free(s->scratch, s->scratch_cap);
	s->scratch = NULL;
	s->scratch_cap = 0;
	s->hdr->sq_head = s->hdr->cq_tail = start;
	s->hdr->sq_tail = start + (uint32_t)(int32_t)(int8_t)in[1];
	s->hdr->cq_head = start + (uint32_t)(int32_t)(int8_t)in[2];
	s->hdr->client_flags = ctl & 16 ? VSM_SHM_NEED_WAKEUP : 0;
	in += 3;
	size -= 3;
	size_t n = size < ENTRIES * sizeof(struct vsm_shm_sqe)
			   ? size
			   : ENTRIES * sizeof(struct vsm_shm_sqe);
	memcpy(s->sq, in, n);
	in += n;
	size -= n;
	memcpy(s->data, in, size < s->data_size ? size : s->data_size);

	c->shm = s;
	bool slept = false;
	for (int round = 0; round < ROUNDS; round++) {
		uint32_t head0 = s->sq_head, tail0 = s->cq_tail;
		unsigned done;
		enum vsm_shm_state st = vsm_shm_process(c, BUDGET, &done);
		if (done > BUDGET)
			abort();
		/* One completion per consumed entry, and the indices published. */
		if (s->sq_head - head0 != s->cq_tail - tail0 || s->sq_head - head0 < done ||
		    s->hdr->sq_head != s->sq_head || s->hdr->cq_tail != s->cq_tail)
			abort();
		check_cqes(s, tail0, s->cq_tail);
		if (st == VSM_SHM_BROKEN)
			break;
		/* The consumer never overruns the completions the client has not reaped. */
		if (s->cq_tail - s->hdr->cq_head > s->entries)
			abort();
		if (st == VSM_SHM_CQ_FULL) {
			if (!(ctl & 1))
				break;
			s->hdr->cq_head = s->cq_tail; /* reap everything */
		} else if (st == VSM_SHM_IDLE) {
			if (!(ctl & 32) || slept)
				break;
			slept = true;
			if (!vsm_shm_sleep(s))
				abort(); /* idle, so nothing arrived meanwhile */
			if (s->hdr->vsmd_flags != VSM_SHM_NEED_WAKEUP)
				abort();
			vsm_shm_doorbell(s);
		} else if (st != VSM_SHM_BUDGET) {
			abort(); /* QOS: the fuzz tenant has no limits */
		}
	}
	drain(s->cq_efd);
	c->shm = NULL;
	vsm_conn_free(c);
	vsm_tenants_fini();
	return 0;
}
