/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Client URIs, parsed and turned into socket addresses by pure code (no I/O),
 * so every form, including vsock which cannot loop back on most build hosts,
 * is covered by unit tests. Only TCP host names need the resolver, and that
 * happens at connect time.
 */
#ifndef VSM_CLIENT_URI_H
#define VSM_CLIENT_URI_H

#include <stdint.h>
#include <sys/socket.h>

#define VSM_HIDDEN __attribute__((visibility("hidden")))

enum vsm_uri_kind {
	VSM_URI_UNIX = 1,
	VSM_URI_TCP,
	VSM_URI_VSOCK,
	VSM_URI_SHM,	 /* vsmd's unix socket, then a shared-memory region */
	VSM_URI_IVSHMEM, /* inside a VM: a QEMU ivshmem-doorbell PCI device */
};

#define VSM_URI_PATH_MAX 4096
#define VSM_URI_HOST_MAX 256

struct vsm_uri {
	enum vsm_uri_kind kind;
	char path[VSM_URI_PATH_MAX]; /* unix, shm; ivshmem: PCI address or "" (the first) */
	char host[VSM_URI_HOST_MAX]; /* tcp: name or address, without [] */
	uint32_t port;		     /* tcp (1..65535), vsock */
	uint32_t cid;		     /* vsock */
};

/*
 * Parse uri (NULL: $VSM_URI, else unix:VSM_DEFAULT_SOCKET). Returns 0,
 * -EINVAL for anything malformed, -ENAMETOOLONG for a path or host that does
 * not fit.
 */
VSM_HIDDEN int vsm_uri_parse(const char *uri, struct vsm_uri *u);

/*
 * Socket address of a unix, shm or vsock URI. Returns 0, -ENAMETOOLONG for a
 * unix path longer than sun_path holds, or -EINVAL for a TCP URI (those go
 * through getaddrinfo).
 */
VSM_HIDDEN int vsm_uri_sockaddr(const struct vsm_uri *u, struct sockaddr_storage *ss,
				socklen_t *len);

/* The scheme of a parsed URI: "unix", "tcp", "vsock", "shm" or "ivshmem". */
VSM_HIDDEN const char *vsm_uri_scheme(const struct vsm_uri *u);

#endif
