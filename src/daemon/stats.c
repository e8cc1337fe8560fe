/* SPDX-License-Identifier: Apache-2.0 */
#include "daemon/stats.h"

#include <math.h>

static const char *const kind_names[VSM_K__MAX] = {
	[VSM_K_ENCRYPT] = "encrypt",
	[VSM_K_DECRYPT] = "decrypt",
	[VSM_K_SIGN] = "sign",
	[VSM_K_VERIFY] = "verify",
	[VSM_K_DIGEST] = "digest",
	[VSM_K_HELLO] = "hello",
	[VSM_K_SESSION_CREATE] = "session_create",
	[VSM_K_SESSION_DESTROY] = "session_destroy",
	[VSM_K_RANDOM] = "random",
	[VSM_K_STATUS] = "status",
	[VSM_K_NOP] = "nop",
	[VSM_K_SHM_SETUP] = "shm_setup",
	[VSM_K_KEY] = "key",
	[VSM_K_INVALID] = "invalid",
};

const char *vsm_kind_name(int kind)
{
	return kind >= 0 && kind < VSM_K__MAX ? kind_names[kind] : "unknown";
}

const char *vsm_stat_svc_name(int svc)
{
	return svc == VSM_STAT_SVC_NONE ? "none" : vsm_service_name(svc);
}

double vsm_hist_bound(int i)
{
	return i >= VSM_LAT_BUCKETS - 1 ? INFINITY : ldexp(1e-6, i);
}

static void hist_add(struct vsm_hist *h, uint64_t ns)
{
	uint64_t us = (ns + 999) / 1000;
	int i = 0;
	/* Smallest i with us <= 2^i. */
	while (i < VSM_LAT_BUCKETS - 1 && us > (1ull << i))
		i++;
	atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
	unsigned long long m = atomic_load_explicit(&h->max_ns, memory_order_relaxed);
	while (ns > m && !atomic_compare_exchange_weak_explicit(
				 &h->max_ns, &m, ns, memory_order_relaxed, memory_order_relaxed))
		;
}

void vsm_stats_record(struct vsm_stats *s, const struct vsm_req_info *ri, uint64_t latency_ns,
		      uint64_t qos_wait_ns)
{
	int status = ri->status;
	int svc = ri->svc >= 0 && ri->svc < VSM_STAT_NSVC ? ri->svc : VSM_STAT_SVC_NONE;
	int kind = ri->kind >= 0 && ri->kind < VSM_K__MAX ? ri->kind : VSM_K_INVALID;
	struct vsm_stat_cell *c = &s->cell[svc][kind];
	atomic_fetch_add_explicit(&c->ops, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->bytes_in, ri->bytes_in, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->bytes_out, ri->bytes_out, memory_order_relaxed);
	if (status >= 0 && status < VSM_S__MAX)
		atomic_fetch_add_explicit(&c->status[status], 1, memory_order_relaxed);
	hist_add(&c->latency, latency_ns);
	if (qos_wait_ns)
		hist_add(&c->qos_wait, qos_wait_ns);
}

void vsm_hist_snapshot(const struct vsm_hist *h, struct vsm_hist_snap *out)
{
	out->count = 0;
	for (int i = 0; i < VSM_LAT_BUCKETS; i++) {
		out->bucket[i] = atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
		out->count += out->bucket[i];
	}
	out->sum_ns = atomic_load_explicit(&h->sum_ns, memory_order_relaxed);
	out->max_ns = atomic_load_explicit(&h->max_ns, memory_order_relaxed);
}

double vsm_hist_quantile(const struct vsm_hist_snap *h, double q)
{
	if (h->count == 0)
		return 0;
	if (q >= 1)
		return (double)h->max_ns / 1e9;
	uint64_t rank = (uint64_t)ceil(q * (double)h->count);
	uint64_t seen = 0;
	for (int i = 0; i < VSM_LAT_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= rank) {
			/* A bucket's bound can exceed the largest value seen. */
			double b = vsm_hist_bound(i), m = (double)h->max_ns / 1e9;
			return b < m ? b : m;
		}
	}
	return (double)h->max_ns / 1e9;
}
