/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-tenant QoS: an operations bucket and a bytes bucket, each a token
 * bucket with a burst, implemented as GCRA (virtual scheduling). A request
 * reserves its place when it reaches the head of its connection and gets
 * the time at which it may run; reservations are taken in arrival order, so
 * waiting requests form the tenant's FIFO. Nothing is dropped, nothing runs
 * before its time.
 */
#ifndef VSM_QOS_H
#define VSM_QOS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct vsm_qos_conf {
	uint64_t ops_rate;    /* requests per second; 0 = unlimited */
	uint64_t ops_burst;   /* requests that may run back to back; 0 = rate / 10, at least 1 */
	uint64_t bytes_rate;  /* payload bytes per second; 0 = unlimited */
	uint64_t bytes_burst; /* 0 = rate / 10, at least 1 */
};

struct vsm_qos {
	pthread_mutex_t lock;
	struct vsm_qos_conf conf;
	uint64_t ops_tat, bytes_tat; /* theoretical arrival times, monotonic ns */
	atomic_bool limited;	     /* any rate set: lets unlimited tenants skip the lock */
	atomic_uint gen;	     /* bumped by every change; stale reservations are redone */
};

void vsm_qos_init(struct vsm_qos *q, const struct vsm_qos_conf *c);
void vsm_qos_destroy(struct vsm_qos *q);
/* Apply new limits now; waiting requests are re-scheduled under them. */
void vsm_qos_set(struct vsm_qos *q, const struct vsm_qos_conf *c);
void vsm_qos_get(struct vsm_qos *q, struct vsm_qos_conf *c);

static inline bool vsm_qos_limited(struct vsm_qos *q)
{
	return atomic_load_explicit(&q->limited, memory_order_relaxed);
}

/*
 * Reserve capacity for one request of `bytes` payload bytes arriving at
 * now (monotonic ns). Returns when it may run (<= now: at once).
 */
uint64_t vsm_qos_reserve(struct vsm_qos *q, uint64_t bytes, uint64_t now);

uint64_t vsm_mono_ns(void);

#endif
