/* SPDX-License-Identifier: Apache-2.0 */
#include "daemon/metrics.h"

/* Placeholder until /metrics lands. */
int vsm_metrics_start(const struct vsm_config *c, char *err, size_t errlen)
{
	return 0;
}

void vsm_metrics_stop(void)
{
}
