/* SPDX-License-Identifier: Apache-2.0 */
/*
 * URI grammar:
 *   unix:PATH          a unix stream socket
 *   tcp:HOST[:PORT]    HOST is a name, an IPv4 address or [IPv6]; port 7300
 *   vsock:CID[:PORT]   CID is decimal, "host" (2) or "local" (1); port 7300
 *   shm:[PATH]         vsmd's unix socket (default VSM_DEFAULT_SOCKET), over
 *                      which a shared-memory region is set up
 *   ivshmem:[PCIADDR]  inside a VM: the region is QEMU's ivshmem-doorbell
 *                      device at PCIADDR (DDDD:BB:DD.F, or BB:DD.F in domain
 *                      0000), by default the first one found
 *   PATH               anything without a scheme is a unix socket path
 * A word of letters before the first ':' is a scheme, so "foo:bar" is an
 * unknown scheme (-EINVAL) rather than a relative path; write "./foo:bar".
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <linux/vm_sockets.h>

#include <vsm/vsm.h>

#include "uri.h"

/* Decimal only: no sign, no spaces, no leading "0x"; at most max. */
static int parse_u32(const char *s, size_t n, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 10)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int host_name_ok(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (!isalnum(ch) && ch != '.' && ch != '-' && ch != '_')
			return 0;
	}
	return 1;
}

static int parse_tcp(const char *s, struct vsm_uri *u)
{
	const char *host, *port;
	size_t hlen;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		struct in6_addr a6;

		if (!end)
			return -EINVAL;
		host = s + 1;
		hlen = (size_t)(end - host);
		if (hlen >= VSM_URI_HOST_MAX)
			return -ENAMETOOLONG;
		memcpy(u->host, host, hlen);
		u->host[hlen] = '\0';
		if (inet_pton(AF_INET6, u->host, &a6) != 1)
			return -EINVAL;
		if (end[1] == '\0')
			port = NULL;
		else if (end[1] == ':')
			port = end + 2;
		else
			return -EINVAL;
	} else {
		const char *colon = strchr(s, ':');

		host = s;
		hlen = colon ? (size_t)(colon - s) : strlen(s);
		/* An IPv6 address must be bracketed, else its port is ambiguous. */
		if (colon && strchr(colon + 1, ':'))
			return -EINVAL;
		if (!host_name_ok(host, hlen))
			return -EINVAL;
		if (hlen >= VSM_URI_HOST_MAX)
			return -ENAMETOOLONG;
		memcpy(u->host, host, hlen);
		u->host[hlen] = '\0';
		port = colon ? colon + 1 : NULL;
	}
	u->kind = VSM_URI_TCP;
	if (!port) {
		u->port = VSM_DEFAULT_TCP_PORT;
		return 0;
	}
	if (parse_u32(port, strlen(port), 65535, &u->port) || u->port == 0)
		return -EINVAL;
	return 0;
}

static int parse_vsock(const char *s, struct vsm_uri *u)
{
	const char *colon = strchr(s, ':');
	size_t clen = colon ? (size_t)(colon - s) : strlen(s);

	if (clen == 4 && !memcmp(s, "host", 4))
		u->cid = VMADDR_CID_HOST;
	else if (clen == 5 && !memcmp(s, "local", 5))
		u->cid = VMADDR_CID_LOCAL;
	/* VMADDR_CID_ANY (-1U) is a wildcard for bind, not an address to connect to. */
	else if (parse_u32(s, clen, VMADDR_CID_ANY - 1, &u->cid))
		return -EINVAL;
	u->kind = VSM_URI_VSOCK;
	if (!colon) {
		u->port = VSM_DEFAULT_VSOCK_PORT;
		return 0;
	}
	if (parse_u32(colon + 1, strlen(colon + 1), VMADDR_PORT_ANY - 1, &u->port))
		return -EINVAL;
	return 0;
}

static int parse_path(const char *s, struct vsm_uri *u)
{
	size_t n = strlen(s);

	if (n == 0)
		return -EINVAL;
	if (n >= VSM_URI_PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(u->path, s, n + 1);
	u->kind = VSM_URI_UNIX;
	return 0;
}

static int is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/*
 * A PCI address as sysfs names it, so that it can only ever name a directory
 * under /sys/bus/pci/devices, never a path elsewhere. Kept in lower case.
 */
static int parse_pci(const char *s, struct vsm_uri *u)
{
	size_t n = strlen(s), off = 0;

	u->kind = VSM_URI_IVSHMEM;
	if (n == 0)
		return 0;
	if (n == 7) {
		memcpy(u->path, "0000:", 5);
		off = 5;
	} else if (n != 12 || !is_hex(s, 4) || s[4] != ':') {
		return -EINVAL;
	}
	s += n - 7;
	if (!is_hex(s, 2) || s[2] != ':' || !is_hex(s + 3, 2) || s[5] != '.' || s[6] < '0' ||
	    s[6] > '7')
		return -EINVAL;
	memcpy(u->path + off, s - (n - 7), n + 1);
	for (size_t i = 0; u->path[i]; i++)
		u->path[i] = (char)tolower((unsigned char)u->path[i]);
	return 0;
}

int vsm_uri_parse(const char *uri, struct vsm_uri *u)
{
	const char *colon;
	size_t slen;

	memset(u, 0, sizeof(*u));
	if (!uri) {
		uri = getenv("VSM_URI");
		if (!uri || !*uri)
			uri = "unix:" VSM_DEFAULT_SOCKET;
	}
	colon = strchr(uri, ':');
	slen = colon ? (size_t)(colon - uri) : 0;
	for (size_t i = 0; i < slen; i++)
		if (!isalpha((unsigned char)uri[i]))
			return parse_path(uri, u);
	if (slen == 0)
		return colon == uri ? -EINVAL : parse_path(uri, u);
	if (slen == 4 && !memcmp(uri, "unix", 4))
		return parse_path(colon + 1, u);
	if (slen == 3 && !memcmp(uri, "tcp", 3))
		return parse_tcp(colon + 1, u);
	if (slen == 5 && !memcmp(uri, "vsock", 5))
		return parse_vsock(colon + 1, u);
	if (slen == 3 && !memcmp(uri, "shm", 3)) {
		int rc = parse_path(colon[1] ? colon + 1 : VSM_DEFAULT_SOCKET, u);

		if (rc == 0)
			u->kind = VSM_URI_SHM;
		return rc;
	}
	if (slen == 7 && !memcmp(uri, "ivshmem", 7)) {
		int rc = parse_pci(colon + 1, u);

		if (rc)
			memset(u, 0, sizeof(*u));
		return rc;
	}
	return -EINVAL;
}

int vsm_uri_sockaddr(const struct vsm_uri *u, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (u->kind == VSM_URI_UNIX || u->kind == VSM_URI_SHM) {
		struct sockaddr_un *sun = (struct sockaddr_un *)ss;
		size_t n = strlen(u->path);

		/* sun_path must keep its terminating NUL for portable consumers. */
		if (n >= sizeof(sun->sun_path))
			return -ENAMETOOLONG;
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, u->path, n + 1);
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
		return 0;
	}
	if (u->kind == VSM_URI_VSOCK) {
		struct sockaddr_vm *svm = (struct sockaddr_vm *)ss;

		svm->svm_family = AF_VSOCK;
		svm->svm_cid = u->cid;
		svm->svm_port = u->port;
		*len = sizeof(*svm);
		return 0;
	}
	return -EINVAL;
}

const char *vsm_uri_scheme(const struct vsm_uri *u)
{
	switch (u->kind) {
	case VSM_URI_UNIX:
		return "unix";
	case VSM_URI_TCP:
		return "tcp";
	case VSM_URI_VSOCK:
		return "vsock";
	case VSM_URI_SHM:
		return "shm";
	case VSM_URI_IVSHMEM:
		return "ivshmem";
	}
	return "?";
}
