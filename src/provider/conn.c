/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Connections to vsmd: one client per thread and process, and the wait for a
 * completion, which pauses an OpenSSL ASYNC job instead of blocking.
 *
 * A vsm_client is not thread-safe, so each thread has its own. After fork the
 * child must not touch the parent's connection (responses would go to
 * whichever process reads first), so a pid change means a new connection.
 *
 * Many jobs on one thread share the thread's client. Whichever job polls
 * reaps every completion that has arrived and marks each one done in its own
 * waiter. A job whose completion another job reaped would wait forever on the
 * socket, which may never become readable again, so jobs do not wait on the
 * socket itself but on an epoll descriptor that holds the socket and an
 * eventfd; the eventfd is kept readable while reaped completions have not yet
 * been claimed by their jobs. ASYNC_WAIT_CTX callers (openssl speed, libssl
 * users) thus see exactly one descriptor per job.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <openssl/async.h>

#include "provider.h"

struct vsm_conn {
	struct vsm_conn *next;
	pid_t pid;
	vsm_client *c;
	int dead;
	int epfd; /* -1 until the first wait inside an ASYNC job */
	int evfd;
	int kicked;
	unsigned unclaimed; /* done, not yet noticed by their job */
};

struct waiter {
	int done;
	int by_other;
	int status;
	size_t out_len;
};

static void conn_close(struct vsm_conn *cn)
{
	vsm_close(cn->c);
	if (cn->epfd >= 0)
		close(cn->epfd);
	if (cn->evfd >= 0)
		close(cn->evfd);
	free(cn);
}

static void unlink_conn(struct vsm_prov *p, struct vsm_conn *cn)
{
	struct vsm_conn **pp;

	pthread_mutex_lock(&p->lock);
	for (pp = &p->conns; *pp; pp = &(*pp)->next)
		if (*pp == cn) {
			*pp = cn->next;
			break;
		}
	pthread_mutex_unlock(&p->lock);
}

/* In a new child: every connection in the list is the parent's. */
static void drop_inherited(struct vsm_prov *p, pid_t self)
{
	struct vsm_conn **pp, *cn;

	pthread_mutex_lock(&p->lock);
	pp = &p->conns;
	while ((cn = *pp)) {
		if (cn->pid != self) {
			*pp = cn->next;
			conn_close(cn);
		} else {
			pp = &cn->next;
		}
	}
	pthread_mutex_unlock(&p->lock);
}

void vsm_conn_free_all(struct vsm_prov *p)
{
	struct vsm_conn *cn;

	pthread_mutex_lock(&p->lock);
	while ((cn = p->conns)) {
		p->conns = cn->next;
		conn_close(cn);
	}
	pthread_mutex_unlock(&p->lock);
	pthread_setspecific(p->tls, NULL);
}

static struct vsm_conn *conn_get(struct vsm_prov *p, int *rc)
{
	struct vsm_conn *cn = pthread_getspecific(p->tls);
	pid_t self = getpid();

	if (cn && cn->pid != self) {
		/* The parent's: drop_inherited below frees it. */
		cn = NULL;
		drop_inherited(p, self);
	}
	if (cn && cn->dead) {
		/* With requests still out, their waiters may be referenced: keep it until teardown.
		 */
		if (vsm_inflight(cn->c) == 0) {
			unlink_conn(p, cn);
			conn_close(cn);
		}
		cn = NULL;
	}
	if (cn)
		return cn;
	cn = calloc(1, sizeof(*cn));
	if (!cn) {
		*rc = -ENOMEM;
		return NULL;
	}
	cn->pid = self;
	cn->epfd = cn->evfd = -1;
	*rc = vsm_connect(p->uri, &cn->c);
	if (*rc) {
		free(cn);
		return NULL;
	}
	pthread_mutex_lock(&p->lock);
	cn->next = p->conns;
	p->conns = cn;
	pthread_mutex_unlock(&p->lock);
	pthread_setspecific(p->tls, cn);
	return cn;
}

vsm_client *vsm_conn_get(struct vsm_prov *p, int *rc)
{
	struct vsm_conn *cn = conn_get(p, rc);

	return cn ? cn->c : NULL;
}

static void kick_sync(struct vsm_conn *cn)
{
	uint64_t v = 1;

	if (cn->evfd < 0)
		return;
	if (cn->unclaimed && !cn->kicked) {
		if (write(cn->evfd, &v, sizeof(v)) == sizeof(v))
			cn->kicked = 1;
	} else if (!cn->unclaimed && cn->kicked) {
		if (read(cn->evfd, &v, sizeof(v)) == sizeof(v))
			cn->kicked = 0;
	}
}

/* Reap what has arrived (waiting up to timeout_ms for the first) and route it. */
static int reap(struct vsm_conn *cn, struct waiter *self, int timeout_ms)
{
	struct vsm_completion done[64];
	int n, i;

	do {
		n = vsm_poll(cn->c, done, 64, timeout_ms);
		if (n < 0) {
			cn->dead = 1;
			return n;
		}
		for (i = 0; i < n; i++) {
			struct waiter *w = done[i].user_data;

			w->status = done[i].status;
			w->out_len = done[i].out_len;
			w->done = 1;
			if (w != self) {
				w->by_other = 1;
				cn->unclaimed++;
			}
		}
		timeout_ms = 0;
	} while (n == 64);
	kick_sync(cn);
	return 0;
}

static int async_setup(struct vsm_conn *cn)
{
	struct epoll_event ev = {.events = EPOLLIN};
	int fd = vsm_fd(cn->c);

	if (cn->epfd >= 0)
		return 0;
	if (fd < 0)
		return fd;
	cn->epfd = epoll_create1(EPOLL_CLOEXEC);
	cn->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (cn->epfd < 0 || cn->evfd < 0)
		goto fail;
	if (epoll_ctl(cn->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ||
	    epoll_ctl(cn->epfd, EPOLL_CTL_ADD, cn->evfd, &ev) < 0)
		goto fail;
	return 0;
fail:
	if (cn->epfd >= 0)
		close(cn->epfd);
	if (cn->evfd >= 0)
		close(cn->evfd);
	cn->epfd = cn->evfd = -1;
	return -errno;
}

static int async_wait(struct vsm_conn *cn, ASYNC_JOB *job, struct waiter *w)
{
	ASYNC_WAIT_CTX *wctx = ASYNC_get_wait_ctx(job);
	OSSL_ASYNC_FD fd = -1;
	void *custom = NULL;
	int rc;

	/* The key is the connection: one descriptor per job, whatever the provider does. */
	if (!ASYNC_WAIT_CTX_get_fd(wctx, cn, &fd, &custom) || fd != cn->epfd) {
		if (fd >= 0)
			ASYNC_WAIT_CTX_clear_fd(wctx, cn);
		if (!ASYNC_WAIT_CTX_set_wait_fd(wctx, cn, cn->epfd, NULL, NULL))
			return -ENOMEM;
	}
	while (!w->done) {
		rc = reap(cn, w, 0);
		if (rc)
			return rc;
		if (w->done)
			break;
		ASYNC_pause_job();
	}
	return 0;
}

int vsm_conn_run(struct vsm_prov *p, const struct vsm_op *op, void *out, size_t *out_len)
{
	struct waiter w = {0};
	struct vsm_conn *cn;
	ASYNC_JOB *job;
	int rc;

	cn = conn_get(p, &rc);
	if (!cn)
		return rc;
	for (;;) {
		rc = vsm_submit(cn->c, op, out, out_len ? *out_len : 0, &w, NULL);
		if (rc != -EBUSY)
			break;
		/* max_inflight reached: some other job's request must finish first. */
		rc = reap(cn, &w, -1);
		if (rc)
			return rc;
	}
	if (rc) {
		if (rc < 0)
			cn->dead = 1;
		return rc;
	}
	job = ASYNC_get_current_job();
	if (job && async_setup(cn) == 0) {
		rc = async_wait(cn, job, &w);
	} else {
		rc = 0;
		while (!w.done && !rc)
			rc = reap(cn, &w, -1);
	}
	if (w.by_other) {
		cn->unclaimed--;
		kick_sync(cn);
	}
	if (rc && !w.done)
		return rc; /* the connection died; libvsm still owns out */
	if (w.status < 0)
		cn->dead = 1;
	if (out_len)
		*out_len = w.out_len;
	return w.status;
}
