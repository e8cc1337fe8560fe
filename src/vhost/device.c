/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device thread: one epoll set over the vhost-user socket and the kick
 * eventfds of the started queues. Messages and requests are handled in
 * this one thread, so the memory table never changes under a request.
 */
#include "vhost/device.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/log.h"

#define SOCK_TAG	 UINT64_MAX
#define MAX_DEV_SESSIONS 65536u

struct vsm_vhu_dev *vsm_vhu_dev_new(int fd, struct vsm_tenant *t, const char *name)
{
	struct vsm_vhu_dev *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->fd = fd;
	d->t = t;
	d->kick_gen = atomic_load(&t->kick_gen);
	snprintf(d->name, sizeof(d->name), "%s", name);
	for (unsigned i = 0; i < VSM_VHU_MAX_QUEUES; i++)
		d->vq[i] = (struct vsm_vhu_vq){.kick = -1, .call = -1, .err = -1};
	d->n_sess = t->limits.max_sessions;
	if (d->n_sess > MAX_DEV_SESSIONS)
		d->n_sess = MAX_DEV_SESSIONS;
	if (!d->n_sess)
		d->n_sess = 1;
	d->sess = calloc(d->n_sess, sizeof(*d->sess));
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = SOCK_TAG};
	if (!d->sess || d->epfd < 0 || epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		if (d->epfd >= 0)
			close(d->epfd);
		free(d->sess);
		free(d);
		return NULL;
	}
	return d;
}

void vsm_vhu_dev_free(struct vsm_vhu_dev *d)
{
	close(d->fd);
	free(d->sess);
	free(d);
}

void vsm_vhu_dev_watch(struct vsm_vhu_dev *d, unsigned qi, bool on)
{
	struct vsm_vhu_vq *vq = &d->vq[qi];
	if (vq->kick < 0)
		return;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = qi};
	if (epoll_ctl(d->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, vq->kick, &ev) < 0 && on) {
		log_warn("vhost-user %s: queue %u: kick fd: %s", d->name, qi, strerror(errno));
		vq->started = false;
	}
}

/* Read exactly len bytes (the peer sends whole messages; a short one is a broken peer). */
static int read_full(int fd, uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = recv(fd, p, len, MSG_WAITALL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void close_fds(struct vsm_vhu_msg *m)
{
	for (unsigned i = 0; i < m->nfds; i++)
		if (m->fds[i] >= 0)
			close(m->fds[i]);
	m->nfds = 0;
}

/* 1: a message; 0: the peer closed; -1: broken. Descriptors arrive with the header. */
static int read_msg(struct vsm_vhu_dev *d, struct vsm_vhu_msg *m, const char **why)
{
	uint8_t hdr[VSM_VHU_HDR_LEN];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(VSM_VHU_MAX_FDS * sizeof(int))];
	} u;
	struct iovec iov = {hdr, sizeof(hdr)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	ssize_t n;
	do
		n = recvmsg(d->fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n == 0 ? 0 : -1;
	m->nfds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (m->nfds < VSM_VHU_MAX_FDS)
				m->fds[m->nfds++] = fd;
			else
				close(fd);
		}
	}
	*why = "more than 8 descriptors";
	if (!(mh.msg_flags & MSG_CTRUNC)) {
		*why = "message cut short";
		if (!read_full(d->fd, hdr + n, sizeof(hdr) - (size_t)n))
			*why = NULL;
	}
	if (*why) {
		close_fds(m);
		return -1;
	}
	m->req = vsm_vhu_u32(hdr);
	m->flags = vsm_vhu_u32(hdr + 4);
	m->size = vsm_vhu_u32(hdr + 8);
	*why = m->size > VSM_VHU_MAX_PAYLOAD ? "message too big" : "message cut short";
	if (m->size > VSM_VHU_MAX_PAYLOAD || read_full(d->fd, m->payload, m->size)) {
		close_fds(m);
		return -1;
	}
	return 1;
}

/* Descriptors QEMU gives us must never block this thread. */
static void fds_nonblock(struct vsm_vhu_msg *m)
{
	if (m->req != VHU_SET_VRING_KICK && m->req != VHU_SET_VRING_CALL &&
	    m->req != VHU_SET_VRING_ERR)
		return;
	for (unsigned i = 0; i < m->nfds; i++) {
		int fl = fcntl(m->fds[i], F_GETFL);
		if (fl >= 0)
			fcntl(m->fds[i], F_SETFL, fl | O_NONBLOCK);
	}
}

bool vsm_vhu_dev_message(struct vsm_vhu_dev *d, struct vsm_vhu_msg *m)
{
	const char *why = NULL;
	bool ok = vsm_vhu_msg_check(m, &why) == 0;
	if (!ok)
		log_warn("vhost-user %s: request 0x%x (size %u, %u fds): %s", d->name, m->req,
			 m->size, m->nfds, why);
	if (ok) {
		fds_nonblock(m);
		ok = vsm_vhu_handle(d, m) == 0;
		if (!ok)
			log_warn("vhost-user %s: request %u failed, disconnecting", d->name,
				 m->req);
	}
	close_fds(m);
	/* Session messages carry keys. */
	OPENSSL_cleanse(m->payload, m->size);
	return ok;
}

/* false: disconnect. */
static bool on_socket(struct vsm_vhu_dev *d)
{
	const char *why = NULL;
	int r = read_msg(d, &d->msg, &why);
	if (r < 0)
		log_warn("vhost-user %s: %s", d->name, why ? why : strerror(errno));
	return r > 0 && vsm_vhu_dev_message(d, &d->msg);
}

static void on_kick(struct vsm_vhu_dev *d, unsigned qi)
{
	if (qi >= VSM_VHU_MAX_QUEUES || !d->vq[qi].started)
		return;
	struct vsm_vhu_vq *vq = &d->vq[qi];
	/*
	 * One read: it empties an ordinary eventfd. Reading until EAGAIN would let
	 * QEMU keep this thread here for good (an EFD_SEMAPHORE eventfd at 2^64 - 2,
	 * a pipe it keeps filling), deaf to its socket and to stop; whatever is left
	 * just wakes epoll again.
	 */
	uint64_t v;
	if (read(vq->kick, &v, sizeof(v)) < 0 && errno != EAGAIN && errno != EINTR)
		log_debug("vhost-user %s: queue %u: kick fd: %s", d->name, qi, strerror(errno));
	vsm_vhu_vq_process(d, qi);
}

unsigned vsm_vhu_dev_teardown(struct vsm_vhu_dev *d)
{
	unsigned sessions = 0;
	for (uint32_t i = 0; i < d->n_sess; i++)
		sessions += d->sess[i] != 0;
	vsm_vhu_session_close_all(d);
	for (unsigned i = 0; i < VSM_VHU_MAX_QUEUES; i++) {
		if (d->vq[i].started)
			vsm_vhu_dev_watch(d, i, false);
		vsm_vhu_vq_reset(&d->vq[i]);
	}
	vsm_vhu_mem_unmap(&d->mem);
	close(d->epfd);
	d->epfd = -1;
	/* Closed when the thread is joined, so a concurrent stop never shuts down a reused fd. */
	shutdown(d->fd, SHUT_RDWR);
	vsm_tenant_detach(d->t);
	return sessions;
}

void *vsm_vhu_dev_run(void *arg)
{
	struct vsm_vhu_dev *d = arg;
	log_info("vhost-user %s: connected", d->name);
	const char *why = "disconnected";
	while (!atomic_load(&d->stop)) {
		struct epoll_event ev[16];
		int n = epoll_wait(d->epfd, ev, 16, 1000);
		if (n < 0 && errno != EINTR) {
			why = "epoll failed";
			break;
		}
		if (atomic_load(&d->t->kick_gen) != d->kick_gen) {
			why = "disconnected by the operator";
			break;
		}
		bool stop = false;
		for (int i = 0; i < n && !stop; i++) {
			if (ev[i].data.u64 == SOCK_TAG)
				stop = !on_socket(d);
			else
				on_kick(d, (unsigned)ev[i].data.u64);
		}
		if (stop)
			break;
	}
	if (atomic_load(&d->stop))
		why = "vsmd stopping";
	unsigned sessions = vsm_vhu_dev_teardown(d);
	log_info("vhost-user %s: %s (%u sessions closed)", d->name, why, sessions);
	atomic_store(&d->done, true);
	return NULL;
}
