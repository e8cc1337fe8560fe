/* SPDX-License-Identifier: Apache-2.0 */
/*
 * "shm:": a region for a local client. SHM_SETUP on vsmd's unix socket hands
 * over the region (a sealed memfd) and two doorbell eventfds; the ring itself
 * is shm.c's. The socket carries nothing afterwards: it only tells each side
 * that the other is gone, so every wait here watches it too.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vsm/shm.h>
#include <vsm/vsm.h>

#include "client.h"
#include "shm_ring.h"

#define SETUP_TIMEOUT_MS 10000
#define MAX_FDS		 8

struct shm_local {
	struct vsm_shm ring; /* first: the ring code knows only this */
	int sq_efd, cq_efd;
};

static struct shm_local *local_of(struct vsm_client *c)
{
	return (struct shm_local *)c->shm;
}

/* ---- the port ---- */

static int local_kick(struct vsm_client *c)
{
	uint64_t one = 1;

	while (write(local_of(c)->sq_efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is saturated, so vsmd is woken anyway. */
		if (errno == EAGAIN)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* The socket carries nothing after SHM_SETUP: readable means closed or broken. */
static void check_socket(struct vsm_client *c)
{
	uint8_t b;
	ssize_t n = recv(c->fd, &b, 1, MSG_DONTWAIT);

	if (n == 0)
		vsm_io_kill(c, -ECONNRESET);
	else if (n > 0)
		vsm_io_kill(c, -EPROTO);
	else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		vsm_io_kill(c, -errno);
}

/* Sleep on the CQ doorbell (and the socket, which closes if vsmd goes away). */
static void sleep_cq(struct vsm_client *c, int timeout_ms)
{
	struct shm_local *l = local_of(c);
	struct pollfd pfd[2] = {
		{.fd = l->cq_efd, .events = POLLIN},
		{.fd = c->fd, .events = POLLIN},
	};
	uint64_t v;
	int r;

	r = poll(pfd, 2, timeout_ms);
	if (r < 0) {
		if (errno != EINTR)
			vsm_io_kill(c, -errno);
		return;
	}
	/* Only after POLLIN: vsmd chose the eventfd's flags, it may be blocking. */
	if (pfd[0].revents & POLLIN)
		while (read(l->cq_efd, &v, sizeof(v)) < 0 && errno == EINTR)
			;
	if (pfd[1].revents)
		check_socket(c);
}

static void local_wait_cq(struct vsm_client *c, int timeout_ms)
{
	struct vsm_shm *s = c->shm;

	__atomic_store_n(&s->hdr->client_flags, VSM_SHM_NEED_WAKEUP, __ATOMIC_RELAXED);
	/* Pairs with vsmd's fence between publishing cq_tail and reading the flag. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vsm_shm_cq_ready(s))
		sleep_cq(c, timeout_ms);
	__atomic_store_n(&s->hdr->client_flags, 0, __ATOMIC_RELAXED);
}

static void local_pause(struct vsm_client *c)
{
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};

	if (poll(&pfd, 1, 1) > 0)
		check_socket(c);
}

static void local_destroy(struct vsm_shm *s)
{
	struct shm_local *l = (struct shm_local *)s;

	if (l->sq_efd >= 0)
		close(l->sq_efd);
	if (l->cq_efd >= 0)
		close(l->cq_efd);
	free(l);
}

static const struct vsm_shm_port local_port = {
	.kick = local_kick,
	.wait_cq = local_wait_cq,
	.pause = local_pause,
	.destroy = local_destroy,
};

/* ---- set-up ---- */

static void close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/*
 * Receive exactly len bytes, keeping every descriptor that comes along: vsmd
 * may attach them to any byte of the response. Beyond MAX_FDS they are
 * closed at once.
 */
static int recv_fds(int fd, uint8_t *buf, size_t len, int *fds, int *nfds, int64_t deadline)
{
	while (len) {
		union {
			struct cmsghdr h;
			char b[CMSG_SPACE(sizeof(int) * MAX_FDS)];
		} ctl;
		struct iovec iov = {.iov_base = buf, .iov_len = len};
		struct msghdr msg = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = ctl.b,
			.msg_controllen = sizeof(ctl.b),
		};
		ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		int rc;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			rc = vsm_conn_wait(fd, POLLIN, deadline);
			if (rc)
				return rc;
			continue;
		}
		if (n < 0)
			return -errno;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
			size_t k;

			if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
				continue;
			k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < k; i++) {
				int got;

				memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				if (*nfds < MAX_FDS)
					fds[(*nfds)++] = got;
				else
					close(got);
			}
		}
		if (msg.msg_flags & MSG_CTRUNC)
			return -EPROTO;
		if (n == 0)
			return -ECONNRESET;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int setup_exchange(struct vsm_client *c, struct vsm_wire_shm_setup *m, int *fds, int *nfds)
{
	struct vsm_wire_hdr h = {
		.len = VSM_WIRE_SHM_SETUP_LEN,
		.magic = VSM_WIRE_MAGIC,
		.op = VSM_MSG_SHM_SETUP,
	};
	uint8_t buf[VSM_WIRE_HDR_LEN + VSM_WIRE_SHM_SETUP_LEN];
	int64_t deadline = vsm_now_ms() + SETUP_TIMEOUT_MS;
	int rc;

	vsm_wire_encode_hdr(buf, sizeof(buf), &h);
	vsm_wire_encode_shm_setup(buf + VSM_WIRE_HDR_LEN, VSM_WIRE_SHM_SETUP_LEN, m);
	rc = vsm_conn_xfer(c->fd, buf, sizeof(buf), 1, deadline);
	if (!rc)
		rc = recv_fds(c->fd, buf, VSM_WIRE_HDR_LEN, fds, nfds, deadline);
	if (rc)
		return rc;
	if (vsm_wire_decode_hdr(buf, VSM_WIRE_HDR_LEN, &h) != VSM_S_OK ||
	    h.flags != VSM_HDR_F_RESPONSE || h.op != VSM_MSG_SHM_SETUP || h.id != 0 ||
	    h.len > VSM_WIRE_SHM_SETUP_LEN)
		return -EPROTO;
	rc = recv_fds(c->fd, buf + VSM_WIRE_HDR_LEN, h.len, fds, nfds, deadline);
	if (rc)
		return rc;
	if (h.status != VSM_S_OK) {
		c->last_detail = h.detail;
		return h.status;
	}
	if (vsm_wire_decode_shm_setup(buf + VSM_WIRE_HDR_LEN, h.len, m) != VSM_S_OK || *nfds != 3)
		return -EPROTO;
	return 0;
}

static int map_region(struct vsm_shm *s, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size < (off_t)VSM_SHM_HDR_SIZE || st.st_size > (off_t)VSM_SHM_MAX_REGION)
		return -EPROTO;
	s->map_len = (size_t)st.st_size;
	s->map = mmap(NULL, s->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (s->map == MAP_FAILED) {
		s->map = NULL;
		return -errno;
	}
	return 0;
}

int vsm_shm_attach(struct vsm_client *c)
{
	struct vsm_wire_shm_setup m = {0};
	struct vsm_shm_want w = {.exact_size = 1};
	struct shm_local *l;
	int fds[MAX_FDS], nfds = 0, rc;

	if (!(c->info.features & VSM_FEAT_SHM))
		return -EOPNOTSUPP;
	/* 0 or unset: vsmd's defaults. */
	if (vsm_shm_env_u32("VSM_SHM_ENTRIES", VSM_SHM_MAX_ENTRIES, 0, &m.entries) ||
	    vsm_shm_env_u32("VSM_SHM_DATA_SIZE", VSM_SHM_MAX_REGION, 1, &m.data_size))
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->ring.port = &local_port;
	l->sq_efd = l->cq_efd = -1;
	c->shm = &l->ring;
	rc = setup_exchange(c, &m, fds, &nfds);
	if (rc) {
		close_fds(fds, nfds);
		return rc;
	}
	l->sq_efd = fds[1];
	l->cq_efd = fds[2];
	rc = map_region(&l->ring, fds[0]);
	close(fds[0]); /* the mapping keeps the region */
	w.entries = m.entries;
	w.data_size = m.data_size;
	return rc ? rc : vsm_shm_ring_init(c, &l->ring, &w, 0);
}
