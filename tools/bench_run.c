/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Running one side of a case: N threads set up (connection, session,
 * contexts), meet at a barrier, run for the configured time, and record each
 * request's latency into a preallocated array. At depth D a vsm thread keeps
 * D requests in flight; latency is measured from vsm_submit to the
 * vsm_poll that reaped it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_common.h"

/*
 * Samples kept per thread. Beyond this, reservoir sampling keeps a uniform
 * sample of the whole run, so percentiles of a long run stay unbiased.
 */
#define LAT_CAP (1u << 20)

struct worker {
	pthread_t tid;
	const struct bench_prep *p;
	const struct bench_cfg *cfg;
	unsigned depth;
	int vsm;
	struct gate *gate;

	uint32_t *lat; /* nanoseconds; a single request over 4 s saturates */
	size_t lat_n;
	uint64_t seen;
	uint64_t rng;

	uint64_t ops;
	uint64_t t_start;
	uint64_t t_end;
	int failed;
	char err[160];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void record(struct worker *w, uint64_t ns)
{
	uint32_t v = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;

	w->seen++;
	if (w->lat_n < LAT_CAP) {
		w->lat[w->lat_n++] = v;
		return;
	}
	/* xorshift64: cheap, and statistical quality is plenty here. */
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	if (w->rng % w->seen < LAT_CAP)
		w->lat[w->rng % LAT_CAP] = v;
}

static void fail(struct worker *w, const char *what, int rc, int detail)
{
	w->failed = 1;
	if (detail)
		snprintf(w->err, sizeof(w->err), "%s: %s (detail %s)", what, vsm_strerror(rc),
			 vsm_detail_name(detail));
	else
		snprintf(w->err, sizeof(w->err), "%s: %s", what, vsm_strerror(rc));
}

/*
 * Start line: every thread reports ready (set up, or failed), then the main
 * thread says go or abort. Unlike a barrier, this copes with a thread that
 * could not be created.
 */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned ready;
	int phase; /* 0 wait, 1 go, -1 abort */
};

static int start_together(struct worker *w)
{
	struct gate *g = w->gate;
	int go;

	pthread_mutex_lock(&g->lock);
	g->ready++;
	pthread_cond_broadcast(&g->cond);
	while (g->phase == 0)
		pthread_cond_wait(&g->cond, &g->lock);
	go = g->phase == 1;
	pthread_mutex_unlock(&g->lock);
	return go && !w->failed;
}

static void native_loop(struct worker *w)
{
	struct bench_native *n = bench_native_new(w->p, w->err, sizeof(w->err));
	uint64_t t, t2, end;

	if (!n)
		w->failed = 1;
	if (!start_together(w))
		goto out;
	t = w->t_start = now_ns();
	end = t + (uint64_t)(w->cfg->seconds * 1e9);
	while (t < end) {
		if (bench_native_op(n)) {
			w->failed = 1;
			snprintf(w->err, sizeof(w->err), "native operation failed");
			break;
		}
		t2 = now_ns();
		record(w, t2 - t);
		w->ops++;
		t = t2;
	}
	w->t_end = t;
out:
	bench_native_free(n);
}

int bench_zc_alloc(vsm_client *c, const struct bench_prep *p, struct bench_zc *z)
{
	size_t in = p->size + (p->bc->kind == BK_VERIFY ? p->sig_len : 0);
	size_t at = (in + 63) & ~(size_t)63;

	z->src = z->out = NULL;
	if (p->bc->kind == BK_NULL)
		at = 0;
	z->src = vsm_shm_alloc(c, at + (p->bc->kind == BK_NULL ? in : p->out_cap) + 1);
	if (!z->src)
		return -1;
	memcpy(z->src, p->msg, p->size);
	if (p->bc->kind == BK_VERIFY)
		memcpy(z->src + p->size, p->sig, p->sig_len);
	z->out = z->src + at;
	return 0;
}

void bench_zc_free(vsm_client *c, struct bench_zc *z)
{
	if (z->src)
		vsm_shm_free(c, z->src);
	z->src = z->out = NULL;
}

void bench_zc_op(const struct bench_prep *p, const struct bench_zc *z, struct vsm_op *op)
{
	op->src = z->src;
	if (p->bc->kind == BK_VERIFY)
		op->aux = z->src + p->size;
}

struct vsm_state {
	vsm_client *c;
	uint64_t session;
	struct bench_zc *zc; /* per in-flight request, over shm; NULL on a stream */
	uint8_t *outs;
	uint64_t *t0;
	unsigned *freeidx;
	struct vsm_completion *comps;
};

static int vsm_setup(struct worker *w, struct vsm_state *s)
{
	const struct bench_prep *p = w->p;
	struct vsm_session_params sp;
	void *probe;
	int rc;

	rc = vsm_connect(w->cfg->uri, &s->c);
	if (rc) {
		fail(w, "connect", rc, 0);
		return -1;
	}
	if (w->depth > vsm_info(s->c)->max_inflight) {
		w->failed = 1;
		snprintf(w->err, sizeof(w->err), "depth %u exceeds the tenant's max_inflight %u",
			 w->depth, vsm_info(s->c)->max_inflight);
		return -1;
	}
	if (p->bc->kind != BK_NULL) {
		bench_session_params(p, &sp);
		rc = vsm_session_create(s->c, &sp, &s->session);
		if (rc) {
			fail(w, "session create", rc, vsm_last_detail(s->c));
			return -1;
		}
	}
	s->outs = malloc(w->depth * (p->out_cap ? p->out_cap : 1));
	s->t0 = calloc(w->depth, sizeof(*s->t0));
	s->freeidx = calloc(w->depth, sizeof(*s->freeidx));
	s->comps = calloc(w->depth, sizeof(*s->comps));
	if (!s->outs || !s->t0 || !s->freeidx || !s->comps) {
		fail(w, "setup", -ENOMEM, 0);
		return -1;
	}
	/* Over shm every request gets its own buffers in the region: zero copy. */
	probe = vsm_shm_alloc(s->c, 1);
	if (!probe)
		return 0;
	vsm_shm_free(s->c, probe);
	s->zc = calloc(w->depth, sizeof(*s->zc));
	if (!s->zc) {
		fail(w, "setup", -ENOMEM, 0);
		return -1;
	}
	for (unsigned i = 0; i < w->depth; i++) {
		if (bench_zc_alloc(s->c, p, &s->zc[i])) {
			w->failed = 1;
			snprintf(w->err, sizeof(w->err),
				 "shm data area too small for depth %u (VSM_SHM_DATA_SIZE)",
				 w->depth);
			return -1;
		}
	}
	return 0;
}

static void vsm_teardown(struct vsm_state *s, unsigned depth)
{
	/* Buffers first: destroying the session needs room in the region. */
	for (unsigned i = 0; s->zc && i < depth; i++)
		bench_zc_free(s->c, &s->zc[i]);
	free(s->zc);
	if (s->c && s->session)
		vsm_session_destroy(s->c, s->session);
	vsm_close(s->c);
	free(s->outs);
	free(s->t0);
	free(s->freeidx);
	free(s->comps);
}

static void vsm_loop(struct worker *w)
{
	const struct bench_prep *p = w->p;
	struct vsm_state s = {0};
	struct vsm_op op;
	unsigned nfree = w->depth;
	uint64_t t, end;

	if (vsm_setup(w, &s))
		w->failed = 1;
	if (!start_together(w))
		goto out;
	bench_vsm_op(p, s.session, &op);
	for (unsigned i = 0; i < w->depth; i++)
		s.freeidx[i] = i;
	t = w->t_start = now_ns();
	end = t + (uint64_t)(w->cfg->seconds * 1e9);
	for (;;) {
		int n, rc = 0;

		while (t < end && nfree) {
			unsigned i = s.freeidx[--nfree];
			uint8_t *out = s.outs + (size_t)i * p->out_cap;
			void *ud = (void *)(uintptr_t)i;

			s.t0[i] = t;
			if (s.zc) {
				out = s.zc[i].out;
				bench_zc_op(p, &s.zc[i], &op);
			}
			if (p->bc->kind == BK_NULL)
				rc = vsm_submit_nop(s.c, s.zc ? s.zc[i].src : p->msg, p->size, out,
						    p->out_cap, ud, NULL);
			else
				rc = vsm_submit(s.c, &op, p->out_cap ? out : NULL, p->out_cap, ud,
						NULL);
			if (rc) {
				fail(w, "submit", rc, 0);
				goto out;
			}
		}
		if (nfree == w->depth)
			break;
		n = vsm_poll(s.c, s.comps, (int)w->depth, -1);
		if (n < 0) {
			fail(w, "poll", n, 0);
			goto out;
		}
		t = now_ns();
		for (int k = 0; k < n; k++) {
			unsigned i = (unsigned)(uintptr_t)s.comps[k].user_data;

			if (s.comps[k].status) {
				fail(w, "request", s.comps[k].status, s.comps[k].detail);
				goto out;
			}
			record(w, t - s.t0[i]);
			s.freeidx[nfree++] = i;
			w->ops++;
		}
		w->t_end = t;
	}
out:
	vsm_teardown(&s, w->depth);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	if (w->vsm)
		vsm_loop(w);
	else
		native_loop(w);
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static void run(const struct bench_prep *p, const struct bench_cfg *cfg, unsigned depth, int vsm,
		struct bench_result *r)
{
	struct gate gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
	struct worker *ws = calloc(cfg->threads, sizeof(*ws));
	uint64_t t0 = UINT64_MAX, t1 = 0;
	uint32_t *all = NULL;
	size_t nall = 0;
	unsigned started = 0;
	int ok = 1;

	memset(r, 0, sizeof(*r));
	if (!ws) {
		snprintf(r->err, sizeof(r->err), "out of memory");
		return;
	}
	for (unsigned i = 0; i < cfg->threads; i++) {
		struct worker *w = &ws[i];

		*w = (struct worker){.p = p,
				     .cfg = cfg,
				     .depth = depth,
				     .vsm = vsm,
				     .gate = &gate,
				     .rng = 0x9e3779b97f4a7c15ull * (i + 1)};
		w->lat = malloc(LAT_CAP * sizeof(*w->lat));
		if (!w->lat) {
			ok = 0;
			break;
		}
		/* Fault the pages in now, not while measuring. */
		memset(w->lat, 0, LAT_CAP * sizeof(*w->lat));
	}
	for (unsigned i = 0; ok && i < cfg->threads; i++) {
		if (pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]))
			ok = 0;
		else
			started++;
	}
	if (!ok)
		snprintf(r->err, sizeof(r->err), "could not start %u threads", cfg->threads);

	pthread_mutex_lock(&gate.lock);
	while (gate.ready < started)
		pthread_cond_wait(&gate.cond, &gate.lock);
	for (unsigned i = 0; i < started; i++)
		if (ws[i].failed)
			ok = 0;
	gate.phase = ok ? 1 : -1;
	pthread_cond_broadcast(&gate.cond);
	pthread_mutex_unlock(&gate.lock);

	for (unsigned i = 0; i < started; i++)
		pthread_join(ws[i].tid, NULL);
	for (unsigned i = 0; i < started; i++) {
		if (ws[i].failed && !r->err[0])
			snprintf(r->err, sizeof(r->err), "%s", ws[i].err);
		nall += ws[i].lat_n;
	}
	if (!ok || r->err[0])
		goto out;
	all = malloc((nall ? nall : 1) * sizeof(*all));
	if (!all) {
		snprintf(r->err, sizeof(r->err), "out of memory");
		goto out;
	}
	nall = 0;
	for (unsigned i = 0; i < cfg->threads; i++) {
		memcpy(all + nall, ws[i].lat, ws[i].lat_n * sizeof(*all));
		nall += ws[i].lat_n;
		r->ops += ws[i].ops;
		t0 = ws[i].t_start < t0 ? ws[i].t_start : t0;
		t1 = ws[i].t_end > t1 ? ws[i].t_end : t1;
	}
	if (!nall || t1 <= t0) {
		snprintf(r->err, sizeof(r->err), "no operation completed");
		goto out;
	}
	qsort(all, nall, sizeof(*all), cmp_u32);
	r->ok = 1;
	r->ops_per_s = (double)r->ops / ((double)(t1 - t0) / 1e9);
	r->p50_us = all[nall / 2] / 1e3;
	r->p99_us = all[nall * 99 / 100] / 1e3;
out:
	for (unsigned i = 0; i < cfg->threads; i++)
		free(ws[i].lat);
	free(all);
	free(ws);
}

void bench_run_native(const struct bench_prep *p, const struct bench_cfg *cfg,
		      struct bench_result *r)
{
	run(p, cfg, 1, 0, r);
}

void bench_run_vsm(const struct bench_prep *p, const struct bench_cfg *cfg, unsigned depth,
		   struct bench_result *r)
{
	run(p, cfg, depth, 1, r);
}
