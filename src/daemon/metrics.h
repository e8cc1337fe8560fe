/* SPDX-License-Identifier: Apache-2.0 */
/* Prometheus /metrics over HTTP (libmicrohttpd), docs/metrics.md. */
#ifndef VSM_METRICS_H
#define VSM_METRICS_H

#include <stddef.h>

#include "daemon/config.h"

#define VSM_DEFAULT_METRICS_LISTEN "127.0.0.1:9330"

/* Start serving c->metrics_listen (no-op if empty). Returns -1 with err set on failure. */
int vsm_metrics_start(const struct vsm_config *c, char *err, size_t errlen);
void vsm_metrics_stop(void);

#endif
