/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user virtio-crypto back-end: QEMU's `-object cryptodev-vhost-user`
 * connects to a tenant's vhost_user_socket, and the guest's unmodified
 * virtio_crypto driver runs its requests on vsmd's engines through the same
 * core as every other transport (sessions, limits, QoS, statistics).
 *
 * Each device (one QEMU connection) is served by its own thread, which owns
 * the vhost-user socket, the mapped guest memory and the data queues; the
 * guest's requests never cross threads. docs/vhost-user.md describes what is
 * implemented, the QEMU-version matrix and the vsm extension for sessions
 * QEMU 7.2 cannot forward.
 */
#ifndef VSM_VHOST_H
#define VSM_VHOST_H

#include <stddef.h>

#include "daemon/config.h"

/*
 * Listen on every configured tenant's vhost_user_socket (mode
 * c->socket_mode) and serve QEMU connections until vsm_vhost_stop. Returns
 * 0, or -1 with a message in err (a socket that cannot be bound is fatal,
 * like any configured listener).
 */
int vsm_vhost_start(const struct vsm_config *c, char *err, size_t errlen);
/* Close the listeners, disconnect every device and join their threads. */
void vsm_vhost_stop(void);

#endif
