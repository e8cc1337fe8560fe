/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stream transports: unix socket, TCP and AF_VSOCK listeners. They share
 * the framing (src/daemon/conn.c); they differ only in how a connection's
 * tenant is established: SO_PEERCRED uid, the configured TCP tenant, or the
 * peer's vsock CID.
 */
#ifndef VSM_STREAM_H
#define VSM_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/config.h"
#include "daemon/tenant.h"

enum vsm_listener_kind { VSM_LISTEN_UNIX, VSM_LISTEN_TCP, VSM_LISTEN_VSOCK, VSM_LISTEN_IVSHMEM };

struct vsm_listener {
	int fd;
	enum vsm_listener_kind kind;
	char desc[160];			      /* "unix:/run/vsm/vsmd.sock" etc., for logs */
	char path[108];			      /* unix: unlinked on close */
	char tenant[VSM_TENANT_NAME_MAX + 1]; /* ivshmem: the one tenant this socket serves */
};

int vsm_listen_unix(struct vsm_listener *l, const char *path, unsigned mode, char *err,
		    size_t errlen);
int vsm_listen_tcp(struct vsm_listener *l, const char *hostport, char *err, size_t errlen);
int vsm_listen_vsock(struct vsm_listener *l, unsigned port, char *err, size_t errlen);
void vsm_listener_close(struct vsm_listener *l);

/*
 * Accept one connection and attach it to its tenant. Returns the
 * non-blocking fd, or -1 (EAGAIN, or refused: logged).
 */
int vsm_listener_accept(struct vsm_listener *l, const struct vsm_config *c, struct vsm_tenant **t,
			char *peer, size_t peerlen);

/*
 * Split "HOST:PORT", "[V6]:PORT" or ":PORT" (any address). Pure; returns -1
 * on a malformed string.
 */
int vsm_hostport_split(const char *s, char *host, size_t hostlen, char *port, size_t portlen);

#endif
