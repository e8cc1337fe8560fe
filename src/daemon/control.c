/* SPDX-License-Identifier: Apache-2.0 */
#include "daemon/control.h"

/* Placeholder until the control socket lands. */
int vsm_control_start(const struct vsm_config *c, char *err, size_t errlen)
{
	return 0;
}

void vsm_control_stop(void)
{
}
