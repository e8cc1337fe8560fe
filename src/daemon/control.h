/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control socket: JSON commands for the administrator (docs/control.md),
 * served on its own thread, never on a worker.
 */
#ifndef VSM_CONTROL_H
#define VSM_CONTROL_H

#include "daemon/config.h"

#define VSM_DEFAULT_CONTROL_SOCKET "/run/vsm/vsmd-control.sock"

/* Start serving c->control_socket (no-op if empty). Returns -1 with err set on failure. */
int vsm_control_start(const struct vsm_config *c, char *err, size_t errlen);
void vsm_control_stop(void);

#endif
