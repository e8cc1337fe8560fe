/* SPDX-License-Identifier: Apache-2.0 */
#include "daemon/qos.h"

#include <time.h>

uint64_t vsm_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t default_burst(uint64_t rate, uint64_t burst)
{
	if (burst)
		return burst;
	return rate / 10 ? rate / 10 : 1;
}

static void apply(struct vsm_qos *q, const struct vsm_qos_conf *c)
{
	q->conf = *c;
	q->conf.ops_burst = c->ops_rate ? default_burst(c->ops_rate, c->ops_burst) : 0;
	q->conf.bytes_burst = c->bytes_rate ? default_burst(c->bytes_rate, c->bytes_burst) : 0;
	/* Debt under the old limits is forgiven: the new ones apply from now. */
	q->ops_tat = q->bytes_tat = 0;
	atomic_store(&q->limited, c->ops_rate || c->bytes_rate);
	atomic_fetch_add(&q->gen, 1);
}

void vsm_qos_init(struct vsm_qos *q, const struct vsm_qos_conf *c)
{
	pthread_mutex_init(&q->lock, NULL);
	atomic_init(&q->limited, false);
	atomic_init(&q->gen, 0);
	apply(q, c);
}

void vsm_qos_destroy(struct vsm_qos *q)
{
	pthread_mutex_destroy(&q->lock);
}

void vsm_qos_set(struct vsm_qos *q, const struct vsm_qos_conf *c)
{
	pthread_mutex_lock(&q->lock);
	apply(q, c);
	pthread_mutex_unlock(&q->lock);
}

void vsm_qos_get(struct vsm_qos *q, struct vsm_qos_conf *c)
{
	pthread_mutex_lock(&q->lock);
	*c = q->conf;
	pthread_mutex_unlock(&q->lock);
}

/*
 * GCRA for a cost of `cost` units at `rate` units/s with `burst` units of
 * tolerance: the bucket's theoretical arrival time advances by cost/rate per
 * request; a request may run once now >= tat - burst/rate.
 */
static uint64_t gcra(uint64_t *tat, uint64_t cost, uint64_t rate, uint64_t burst, uint64_t now)
{
	/* 128-bit intermediates: cost and burst may be large byte counts. */
	uint64_t inc = (uint64_t)((unsigned __int128)cost * 1000000000u / rate);
	uint64_t tau = (uint64_t)((unsigned __int128)burst * 1000000000u / rate);
	uint64_t base = *tat > now ? *tat : now;
	*tat = base + inc;
	return *tat > tau ? *tat - tau : 0;
}

uint64_t vsm_qos_reserve(struct vsm_qos *q, uint64_t bytes, uint64_t now)
{
	uint64_t at = now;
	pthread_mutex_lock(&q->lock);
	if (q->conf.ops_rate) {
		uint64_t t = gcra(&q->ops_tat, 1, q->conf.ops_rate, q->conf.ops_burst, now);
		if (t > at)
			at = t;
	}
	if (q->conf.bytes_rate && bytes) {
		uint64_t t =
			gcra(&q->bytes_tat, bytes, q->conf.bytes_rate, q->conf.bytes_burst, now);
		if (t > at)
			at = t;
	}
	pthread_mutex_unlock(&q->lock);
	return at;
}
