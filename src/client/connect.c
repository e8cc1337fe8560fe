/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Connection set-up: socket, HELLO, and the per-connection buffers, which are
 * all allocated here once so that requests never allocate.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <vsm/vsm.h>

#include "client.h"

/* A daemon that accepts but never answers HELLO must not hang the caller. */
#define HELLO_TIMEOUT_MS 10000
/* More slots than this would only cost memory; the daemon limit still holds. */
#define MAX_SLOTS 65536u
/* Batching wants some room even when the daemon's max_msg is small. */
#define MIN_BUF (64u * 1024u)

int64_t vsm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for fd to be ready for events before deadline (CLOCK_MONOTONIC ms). */
int vsm_conn_wait(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = events};
		int64_t left = deadline - vsm_now_ms();
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

/*
 * connect() on a socket we then switch to non-blocking. An interrupted
 * connect keeps going in the background, so finish it with poll + SO_ERROR
 * rather than calling connect again.
 */
static int connect_fd(int fd, const struct sockaddr *sa, socklen_t len)
{
	int err = 0;
	socklen_t elen = sizeof(err);

	if (connect(fd, sa, len) == 0)
		return 0;
	if (errno != EINTR && errno != EINPROGRESS)
		return -errno;
	if (vsm_conn_wait(fd, POLLOUT, vsm_now_ms() + HELLO_TIMEOUT_MS) < 0)
		return -ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		return -errno;
	return err ? -err : 0;
}

static int open_tcp(const struct vsm_uri *u)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV,
	};
	struct addrinfo *res, *ai;
	char port[8];
	int rc = -EHOSTUNREACH, fd = -1, one = 1;

	snprintf(port, sizeof(port), "%u", u->port);
	rc = getaddrinfo(u->host, port, &hints, &res);
	if (rc)
		return rc == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
	rc = -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			rc = -errno;
			continue;
		}
		rc = connect_fd(fd, ai->ai_addr, ai->ai_addrlen);
		if (rc == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return rc;
	/* Requests are small and latency-bound; batching is done by libvsm itself. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static int open_socket(const struct vsm_uri *u)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, rc;

	if (u->kind == VSM_URI_TCP)
		return open_tcp(u);
	rc = vsm_uri_sockaddr(u, &ss, &len);
	if (rc)
		return rc;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect_fd(fd, (struct sockaddr *)&ss, len);
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

int vsm_conn_xfer(int fd, uint8_t *buf, size_t len, int out, int64_t deadline)
{
	while (len) {
		ssize_t n = out ? send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT)
				: recv(fd, buf, len, MSG_DONTWAIT);
		int rc;

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		rc = vsm_conn_wait(fd, out ? POLLOUT : POLLIN, deadline);
		if (rc)
			return rc;
	}
	return 0;
}

static int hello(struct vsm_client *c, int shm)
{
	struct vsm_wire_hello m = {
		.min_version = 1,
		.max_version = VSM_WIRE_VERSION,
		/* A stream client does not ask for SHM_SETUP it will not use. */
		.features = shm ? VSM_FEAT__ALL : VSM_FEAT__ALL & ~VSM_FEAT_SHM,
	};
	struct vsm_wire_hdr h = {
		.len = VSM_WIRE_HELLO_LEN,
		.magic = VSM_WIRE_MAGIC,
		.op = VSM_MSG_HELLO,
	};
	uint8_t buf[VSM_WIRE_HDR_LEN + VSM_WIRE_HELLO_RESP_LEN];
	int64_t deadline = vsm_now_ms() + HELLO_TIMEOUT_MS;
	struct vsm_wire_hello_resp *in = &c->info;
	int rc;

	vsm_wire_encode_hdr(buf, sizeof(buf), &h);
	vsm_wire_encode_hello(buf + VSM_WIRE_HDR_LEN, sizeof(buf) - VSM_WIRE_HDR_LEN, &m);
	rc = vsm_conn_xfer(c->fd, buf, VSM_WIRE_HDR_LEN + VSM_WIRE_HELLO_LEN, 1, deadline);
	if (!rc)
		rc = vsm_conn_xfer(c->fd, buf, VSM_WIRE_HDR_LEN, 0, deadline);
	if (rc)
		return rc;
	if (vsm_wire_decode_hdr(buf, VSM_WIRE_HDR_LEN, &h) != VSM_S_OK ||
	    h.flags != VSM_HDR_F_RESPONSE || h.op != VSM_MSG_HELLO || h.id != 0 ||
	    h.len > VSM_WIRE_HELLO_RESP_LEN)
		return -EPROTO;
	rc = vsm_conn_xfer(c->fd, buf + VSM_WIRE_HDR_LEN, h.len, 0, deadline);
	if (rc)
		return rc;
	if (h.status != VSM_S_OK) {
		c->last_detail = h.detail;
		return h.status;
	}
	if (vsm_wire_decode_hello_resp(buf + VSM_WIRE_HDR_LEN, h.len, in) != VSM_S_OK)
		return -EPROTO;
	/* Limits we cannot honour mean the daemon is not one we understand. */
	if (in->version < 1 || in->version > VSM_WIRE_VERSION || in->max_inflight == 0 ||
	    in->max_msg < VSM_WIRE_STATUS_RESP_LEN || in->max_msg > VSM_WIRE_MAX_PAYLOAD ||
	    in->tenant[sizeof(in->tenant) - 1] != '\0')
		return -EPROTO;
	return 0;
}

static int setup_buffers(struct vsm_client *c)
{
	size_t buf = VSM_WIRE_HDR_LEN + (size_t)c->info.max_msg;

	if (buf < MIN_BUF)
		buf = MIN_BUF;
	c->nslots = c->info.max_inflight < MAX_SLOTS ? c->info.max_inflight : MAX_SLOTS;
	c->slots = calloc(c->nslots, sizeof(*c->slots));
	c->doneq = calloc(c->nslots, sizeof(*c->doneq));
	c->next_id = 1;
	/* Over shm, requests and responses live in the region. */
	if (c->shm)
		return c->slots && c->doneq ? 0 : -ENOMEM;
	c->sbuf = malloc(buf);
	c->rbuf = malloc(buf);
	if (!c->slots || !c->doneq || !c->sbuf || !c->rbuf)
		return -ENOMEM;
	c->scap = c->rcap = buf;
	return 0;
}

/* A socket, HELLO and, for shm:, the region. */
static int connect_socket(struct vsm_client *c, const struct vsm_uri *u)
{
	int shm = u->kind == VSM_URI_SHM, rc;

	c->fd = open_socket(u);
	if (c->fd < 0)
		return c->fd;
	rc = fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) < 0 ? -errno : 0;
	if (!rc)
		rc = hello(c, shm);
	if (!rc && shm)
		rc = vsm_shm_attach(c);
	return rc ? rc : setup_buffers(c);
}

/* No socket in a VM: the device's region header stands in for HELLO. */
static int connect_ivshmem(struct vsm_client *c, const struct vsm_uri *u)
{
	int rc = vsm_ivshmem_attach(c, u->path);

	if (!rc)
		rc = setup_buffers(c);
	return rc ? rc : vsm_ivshmem_probe(c);
}

int vsm_connect(const char *uri, vsm_client **out)
{
	struct vsm_client *c;
	struct vsm_uri *u;
	int rc;

	if (!out)
		return -EINVAL;
	*out = NULL;
	u = malloc(sizeof(*u));
	c = calloc(1, sizeof(*c));
	rc = u && c ? vsm_uri_parse(uri, u) : -ENOMEM;
	if (c)
		c->fd = -1;
	if (!rc)
		rc = u->kind == VSM_URI_IVSHMEM ? connect_ivshmem(c, u) : connect_socket(c, u);
	free(u);
	if (rc) {
		vsm_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

void vsm_close(vsm_client *c)
{
	if (!c)
		return;
	vsm_shm_detach(c);
	if (c->fd >= 0)
		close(c->fd);
	free(c->slots);
	free(c->doneq);
	if (c->sbuf)
		explicit_bzero(c->sbuf, c->scap);
	free(c->sbuf);
	/* Responses may hold decrypted plaintext or random key material. */
	if (c->rbuf)
		explicit_bzero(c->rbuf, c->rcap);
	free(c->rbuf);
	free(c);
}

const struct vsm_wire_hello_resp *vsm_info(const vsm_client *c)
{
	return c ? &c->info : NULL;
}

int vsm_alg_supported(const vsm_client *c, int alg)
{
	if (!c || alg <= 0 || alg >= VSM_ALG__MAX)
		return 0;
	return (c->info.algs[alg / 8] >> (alg % 8)) & 1;
}

int vsm_last_detail(const vsm_client *c)
{
	return c ? c->last_detail : 0;
}
