/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-tenant statistics: one cell per service x request kind, each with
 * exact counters and log2 latency histograms. Workers update cells with
 * relaxed atomics; readers (control socket, /metrics) take snapshots that
 * are exact per counter, though not a single instant across counters.
 */
#ifndef VSM_STATS_H
#define VSM_STATS_H

#include <stdatomic.h>
#include <stdint.h>
#include <vsm/wire.h>

/* What a request did, beyond its service: data ops first, then the rest. */
enum vsm_kind {
	VSM_K_ENCRYPT,
	VSM_K_DECRYPT,
	VSM_K_SIGN,
	VSM_K_VERIFY,
	VSM_K_DIGEST,
	VSM_K_HELLO,
	VSM_K_SESSION_CREATE,
	VSM_K_SESSION_DESTROY,
	VSM_K_RANDOM,
	VSM_K_STATUS,
	VSM_K_NOP,
	VSM_K_SHM_SETUP,
	VSM_K_KEY,     /* VSM_MSG_KEY: keystore, key objects, files */
	VSM_K_INVALID, /* malformed or unknown requests */
	VSM_K__MAX
};

/* Service index for requests that belong to no service (HELLO, RANDOM, ...). */
#define VSM_STAT_SVC_NONE VSM_SVC__MAX
#define VSM_STAT_NSVC	  (VSM_SVC__MAX + 1)

/* Bucket i counts durations <= 2^i microseconds; the last is +Inf. */
#define VSM_LAT_BUCKETS 24

struct vsm_hist {
	atomic_ullong bucket[VSM_LAT_BUCKETS];
	atomic_ullong sum_ns;
	atomic_ullong max_ns;
};

struct vsm_stat_cell {
	atomic_ullong ops;
	atomic_ullong bytes_in;
	atomic_ullong bytes_out;
	atomic_ullong status[VSM_S__MAX];
	struct vsm_hist latency;  /* dispatch to response queued */
	struct vsm_hist qos_wait; /* time held back by QoS */
};

struct vsm_stats {
	struct vsm_stat_cell cell[VSM_STAT_NSVC][VSM_K__MAX];
};

/* Facts about one request, filled by dispatch for the caller to record. */
struct vsm_req_info {
	int svc;    /* enum vsm_service or VSM_STAT_SVC_NONE */
	int kind;   /* enum vsm_kind */
	int status; /* enum vsm_status of the response */
	uint64_t bytes_in;
	uint64_t bytes_out;
	const char *engine; /* engine that ran it, or NULL */
};

void vsm_stats_record(struct vsm_stats *s, const struct vsm_req_info *ri, uint64_t latency_ns,
		      uint64_t qos_wait_ns);

const char *vsm_kind_name(int kind);
/* "cipher" ... "akcipher", or "none" for VSM_STAT_SVC_NONE. */
const char *vsm_stat_svc_name(int svc);
/* Upper bound of histogram bucket i in seconds (+Inf for the last). */
double vsm_hist_bound(int i);

/* A plain (non-atomic) copy of a histogram, and quantiles from it. */
struct vsm_hist_snap {
	uint64_t bucket[VSM_LAT_BUCKETS];
	uint64_t count;
	uint64_t sum_ns;
	uint64_t max_ns;
};
void vsm_hist_snapshot(const struct vsm_hist *h, struct vsm_hist_snap *out);
/* Upper bound (seconds) of the bucket holding quantile q; exact max for q = 1. */
double vsm_hist_quantile(const struct vsm_hist_snap *h, double q);

#endif
