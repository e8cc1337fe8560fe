/* SPDX-License-Identifier: Apache-2.0 */
#include "transport/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/dispatch.h"
#include "daemon/log.h"

int vsm_hostport_split(const char *s, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *colon, *h = s;
	size_t hl;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end || end[1] != ':')
			return -1;
		h = s + 1;
		hl = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -1;
		hl = (size_t)(colon - s);
		if (memchr(s, ':', hl))
			return -1; /* bare IPv6 needs brackets */
	}
	const char *p = colon + 1;
	size_t pl = strlen(p);
	if (hl >= hostlen || pl == 0 || pl >= portlen || strspn(p, "0123456789") != pl)
		return -1;
	memcpy(host, h, hl);
	host[hl] = 0;
	memcpy(port, p, pl + 1);
	return 0;
}

static int mkdir_parent(const char *path)
{
	char dir[108];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

int vsm_listen_unix(struct vsm_listener *l, const char *path, unsigned mode, char *err,
		    size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "unix socket path too long: %s", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	memset(l, 0, sizeof(*l));
	l->kind = VSM_LISTEN_UNIX;
	snprintf(l->desc, sizeof(l->desc), "unix:%s", path);
	if (mkdir_parent(path) < 0) {
		snprintf(err, errlen, "cannot create the directory of %s: %s", path,
			 strerror(errno));
		return -1;
	}
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/*
	 * A leftover socket file from a crashed vsmd is removed; a live vsmd on
	 * the same path is not displaced.
	 */
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			close(l->fd);
			snprintf(err, errlen, "%s: another vsmd is already listening there", path);
			return -1;
		}
		if (probe >= 0)
			close(probe);
		unlink(path);
	}
	if (bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "bind %s: %s", path, strerror(errno));
		close(l->fd);
		return -1;
	}
	snprintf(l->path, sizeof(l->path), "%s", path);
	if (chmod(path, mode) < 0)
		log_warn("chmod %s: %s", path, strerror(errno));
	if (listen(l->fd, 512) < 0) {
		snprintf(err, errlen, "listen %s: %s", path, strerror(errno));
		vsm_listener_close(l);
		return -1;
	}
	return 0;
}

int vsm_listen_tcp(struct vsm_listener *l, const char *hostport, char *err, size_t errlen)
{
	char host[256], port[16];
	memset(l, 0, sizeof(*l));
	l->fd = -1;
	l->kind = VSM_LISTEN_TCP;
	snprintf(l->desc, sizeof(l->desc), "tcp:%s", hostport);
	if (vsm_hostport_split(hostport, host, sizeof(host), port, sizeof(port)) < 0) {
		snprintf(err, errlen, "tcp_listen '%s' is not HOST:PORT or [V6]:PORT", hostport);
		return -1;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res;
	int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "tcp_listen %s: %s", hostport, gai_strerror(rc));
		return -1;
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 512) == 0) {
			l->fd = fd;
			break;
		}
		snprintf(err, errlen, "bind/listen tcp %s: %s", hostport, strerror(errno));
		close(fd);
	}
	freeaddrinfo(res);
	return l->fd >= 0 ? 0 : -1;
}

int vsm_listen_vsock(struct vsm_listener *l, unsigned port, char *err, size_t errlen)
{
	struct sockaddr_vm sa = {
		.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
	memset(l, 0, sizeof(*l));
	l->kind = VSM_LISTEN_VSOCK;
	snprintf(l->desc, sizeof(l->desc), "vsock:any:%u", port);
	l->fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		snprintf(err, errlen, "vsock socket: %s (is the vsock module loaded?)",
			 strerror(errno));
		return -1;
	}
	if (bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l->fd, 512) < 0) {
		snprintf(err, errlen, "vsock port %u: %s", port, strerror(errno));
		close(l->fd);
		l->fd = -1;
		return -1;
	}
	return 0;
}

void vsm_listener_close(struct vsm_listener *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	if (l->path[0]) {
		unlink(l->path);
		l->path[0] = 0;
	}
}

int vsm_listener_accept(struct vsm_listener *l, const struct vsm_config *c, struct vsm_tenant **t,
			char *peer, size_t peerlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return -1;
	const char *why = "unknown";
	*t = NULL;
	snprintf(peer, peerlen, "?");
	switch (l->kind) {
	case VSM_LISTEN_UNIX: {
		struct ucred cred;
		socklen_t cl = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0) {
			why = "SO_PEERCRED failed";
			break;
		}
		snprintf(peer, peerlen, "pid %d uid %u", (int)cred.pid, (unsigned)cred.uid);
		*t = vsm_tenant_attach_uid(cred.uid, &why);
		break;
	}
	case VSM_LISTEN_TCP: {
		char h[NI_MAXHOST], p[NI_MAXSERV];
		if (getnameinfo((struct sockaddr *)&ss, sl, h, sizeof(h), p, sizeof(p),
				NI_NUMERICHOST | NI_NUMERICSERV) == 0)
			snprintf(peer, peerlen, "tcp %s:%s", h, p);
		else
			snprintf(peer, peerlen, "tcp ?");
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		*t = vsm_tenant_attach_name(c->tcp_tenant, &why);
		break;
	}
	case VSM_LISTEN_IVSHMEM:
		/* The socket is the tenant's: whoever reaches it is that VM's QEMU. */
		snprintf(peer, peerlen, "ivshmem %s", l->path);
		*t = vsm_tenant_attach_name(l->tenant, &why);
		if (*t && atomic_exchange(&(*t)->ivshmem_bound, true)) {
			vsm_tenant_detach(*t);
			*t = NULL;
			why = "the tenant's ivshmem region is in use by another QEMU";
		}
		break;
	case VSM_LISTEN_VSOCK: {
		struct sockaddr_vm *vm = (struct sockaddr_vm *)&ss;
		snprintf(peer, peerlen, "vsock cid %u", vm->svm_cid);
		*t = vsm_tenant_attach_cid(vm->svm_cid, &why);
		break;
	}
	}
	if (!*t) {
		/* A client retrying in a loop must not flood the log. */
		static _Atomic uint64_t last_log;
		uint64_t now = vsm_now_ms();
		if (now - last_log >= 1000) {
			last_log = now;
			log_warn("%s: refused %s: %s", l->desc, peer, why);
		}
		close(fd);
		errno = EPERM;
		return -1;
	}
	log_debug("%s: %s connected as tenant %s", l->desc, peer, (*t)->name);
	return fd;
}
