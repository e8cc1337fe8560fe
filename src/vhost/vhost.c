/* SPDX-License-Identifier: Apache-2.0 */
/* Placeholder until the vhost-user back-end lands. */
#include "vhost/vhost.h"

int vsm_vhost_start(const struct vsm_config *c, char *err, size_t errlen)
{
	(void)c;
	(void)err;
	(void)errlen;
	return 0;
}

void vsm_vhost_stop(void)
{
}
