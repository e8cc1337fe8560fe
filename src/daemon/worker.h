/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Workers: each owns a set of connections and runs them to completion on
 * its own epoll loop, so no request crosses threads. Connections are spread
 * over workers when accepted; within a worker, connections take turns with
 * a per-turn budget so one busy tenant cannot starve the others.
 */
#ifndef VSM_WORKER_H
#define VSM_WORKER_H

#include "daemon/conn.h"

int vsm_workers_start(unsigned n);
/* Hand an accepted connection to the least-loaded worker. */
int vsm_workers_adopt(struct vsm_conn *c);
/*
 * Stop: every worker finishes the requests it has already received, sends
 * the responses (up to timeout_ms), closes its connections and exits.
 */
void vsm_workers_drain(unsigned timeout_ms);
unsigned vsm_workers_count(void);
/* Close every connection whose tenant's kick_gen moved (disconnect-tenant). */
void vsm_workers_kick(void);
/* Time worker i spent working (not waiting), and its connection count. */
int vsm_workers_stat(unsigned i, uint64_t *busy_ns, unsigned *conns);

#endif
