/* SPDX-License-Identifier: Apache-2.0 */
#include "daemon/worker.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/log.h"
#include "transport/shm.h"

/* Frames one connection may handle per turn before the next one goes. */
#define TURN_BUDGET 32
#define MAX_EVENTS  64
/* Ring entries a shared-memory connection may complete per turn. */
#define SHM_TURN_BUDGET 64
/* Tags an epoll pointer as "the SQ doorbell of this connection" (conns are aligned). */
#define SHM_TAG 1u
/* How often a connection held back by its tenant's in-flight limit retries. */
#define INFLIGHT_RETRY_NS 2000000ull
/*
 * Longest sleep while a connection waits for QoS: a live limit change is
 * picked up within this (the control socket promises 100 ms).
 */
#define QOS_RECHECK_MS 50

struct vsm_worker {
	unsigned id;
	pthread_t thread;
	int epfd;
	int wakefd;
	atomic_uint nconns;
	atomic_bool draining;
	atomic_bool kick; /* some tenant was disconnected: close its connections */
	atomic_ullong busy_ns;
	unsigned drain_timeout_ms;

	pthread_mutex_t inbox_lock; /* the only cross-thread hand-off: new connections */
	struct vsm_conn *inbox;

	struct vsm_conn *conns; /* all connections, doubly linked */
	struct vsm_conn *active_head, *active_tail;
	unsigned blocked;
};

static struct vsm_worker *workers;
static unsigned n_workers;

unsigned vsm_workers_count(void)
{
	return n_workers;
}

static void activate(struct vsm_worker *w, struct vsm_conn *c)
{
	if (c->active)
		return;
	c->active = true;
	c->next_active = NULL;
	if (w->active_tail)
		w->active_tail->next_active = c;
	else
		w->active_head = c;
	w->active_tail = c;
}

static void conn_close(struct vsm_worker *w, struct vsm_conn *c, const char *why)
{
	log_debug("tenant %s (%s): connection closed: %s", c->t->name, c->peer, why);
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	if (c->shm_watched)
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->shm->sq_efd, NULL);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->blocked)
		w->blocked--;
	atomic_fetch_sub(&w->nconns, 1);
	vsm_conn_free(c);
}

/* Returns false if the connection is dead. */
static bool do_read(struct vsm_conn *c)
{
	while (c->readable && !c->eof) {
		size_t room = vsm_conn_rx_space(c);
		if (!room)
			return true; /* full: process first, keep the readiness */
		ssize_t n = recv(c->fd, c->rx + c->rx_len, room, 0);
		if (n > 0) {
			c->rx_len += (size_t)n;
			continue;
		}
		if (n == 0) {
			c->eof = true;
			return true;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			c->readable = false;
			return true;
		}
		return false;
	}
	return true;
}

/* Send with descriptors attached (SCM_RIGHTS): the shared-memory handover. */
static ssize_t send_fds(struct vsm_conn *c)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 3)];
	} u;
	struct iovec iov = {c->tx + c->tx_off, c->tx_len - c->tx_off};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	size_t fl = sizeof(int) * c->n_pass_fds;
	memset(&u, 0, sizeof(u));
	mh.msg_control = u.buf;
	mh.msg_controllen = CMSG_SPACE(fl);
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(fl);
	memcpy(CMSG_DATA(cm), c->pass_fds, fl);
	ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n > 0) {
		c->n_pass_fds = 0;
		/* The client has the region now; our mapping keeps it alive. */
		if (c->shm && c->shm->memfd >= 0) {
			close(c->shm->memfd);
			c->shm->memfd = -1;
		}
	}
	return n;
}

static bool do_write(struct vsm_conn *c)
{
	while (c->writable && vsm_conn_tx_pending(c)) {
		ssize_t n = c->n_pass_fds ? send_fds(c)
					  : send(c->fd, c->tx + c->tx_off, c->tx_len - c->tx_off,
						 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			vsm_conn_sent(c, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->writable = false;
			return true;
		}
		return false;
	}
	return true;
}

/*
 * One turn of a connection. Returns true if it should stay on the active
 * list (it has more work it can do right now).
 */
static bool service(struct vsm_worker *w, struct vsm_conn *c, bool *closed)
{
	*closed = false;
	if (!do_read(c)) {
		conn_close(w, c, "read error");
		*closed = true;
		return false;
	}
	enum vsm_conn_state st = vsm_conn_process(c, TURN_BUDGET);
	if (!do_write(c)) {
		conn_close(w, c, "peer gone");
		*closed = true;
		return false;
	}
	if (st == VSM_CONN_NOMEM) {
		log_err("tenant %s (%s): out of memory, closing", c->t->name, c->peer);
		conn_close(w, c, "out of memory");
		*closed = true;
		return false;
	}
	if (c->closing && !vsm_conn_tx_pending(c)) {
		conn_close(w, c, "protocol violation");
		*closed = true;
		return false;
	}
	if (c->eof && st == VSM_CONN_IDLE && !vsm_conn_tx_pending(c)) {
		conn_close(w, c, "peer closed");
		*closed = true;
		return false;
	}
	bool more_shm = false;
	if (c->shm && !c->closing && !c->n_pass_fds) {
		/* The handover went out: from now on the ring is live. */
		if (!c->shm_watched) {
			struct epoll_event ev = {.events = EPOLLIN,
						 .data.ptr = (void *)((uintptr_t)c | SHM_TAG)};
			if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->shm->sq_efd, &ev) < 0) {
				conn_close(w, c, "epoll (shm)");
				*closed = true;
				return false;
			}
			c->shm_watched = true;
			c->shm_last_work = vsm_mono_ns();
		}
		unsigned done;
		enum vsm_shm_state ss = vsm_shm_process(c, SHM_TURN_BUDGET, &done);
		uint64_t now = vsm_mono_ns();
		if (ss == VSM_SHM_BROKEN) {
			conn_close(w, c, "shm protocol violation");
			*closed = true;
			return false;
		}
		if (done)
			c->shm_last_work = now;
		if (ss == VSM_SHM_QOS) {
			if (st == VSM_CONN_IDLE)
				st = VSM_CONN_QOS;
		} else if (ss == VSM_SHM_BUDGET) {
			more_shm = true;
		} else if (now - c->shm_last_work < (uint64_t)c->t->limits.shm_spin_us * 1000) {
			/*
			 * Adaptive polling: a busy tenant keeps the worker's attention.
			 * Idle polls yield, so on a host with fewer cores than spinners
			 * the client still gets the CPU it needs to submit.
			 */
			more_shm = true;
			if (!done)
				sched_yield();
		} else {
			more_shm = !vsm_shm_sleep(c->shm);
		}
	}
	bool blocked = st == VSM_CONN_INFLIGHT || st == VSM_CONN_QOS;
	if (st == VSM_CONN_INFLIGHT)
		c->wake_at = vsm_mono_ns() + INFLIGHT_RETRY_NS;
	if (blocked != c->blocked)
		w->blocked += blocked ? 1u : -1u;
	c->blocked = blocked;
	if (blocked)
		return false;
	/* More frames to run, or unread input and room to read it. */
	return more_shm || st == VSM_CONN_BUDGET || (st == VSM_CONN_TX_FULL && c->writable) ||
	       (c->readable && !c->eof && vsm_conn_rx_space(c) > 0);
}

static void take_inbox(struct vsm_worker *w)
{
	pthread_mutex_lock(&w->inbox_lock);
	struct vsm_conn *list = w->inbox;
	w->inbox = NULL;
	pthread_mutex_unlock(&w->inbox_lock);
	while (list) {
		struct vsm_conn *c = list;
		list = c->next;
		c->w = w;
		c->prev = NULL;
		c->next = w->conns;
		if (w->conns)
			w->conns->prev = c;
		w->conns = c;
		struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
					 .data.ptr = c};
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
			log_err("epoll_ctl: %s", strerror(errno));
			conn_close(w, c, "epoll");
			continue;
		}
		/* Bytes may have arrived before we watched the socket. */
		c->readable = c->writable = true;
		activate(w, c);
	}
}

/* Run every active connection once, round robin. */
static void run_active(struct vsm_worker *w)
{
	struct vsm_conn *list = w->active_head;
	w->active_head = w->active_tail = NULL;
	while (list) {
		struct vsm_conn *c = list;
		list = c->next_active;
		c->active = false;
		bool closed;
		if (service(w, c, &closed) && !closed)
			activate(w, c);
	}
}

/* Wake the held-back connections whose time has come or whose tenant's QoS changed. */
static void retry_blocked(struct vsm_worker *w)
{
	uint64_t now = vsm_mono_ns();
	for (struct vsm_conn *c = w->conns; c; c = c->next) {
		if (!c->blocked)
			continue;
		bool changed =
			c->qos_at &&
			c->qos_gen != atomic_load_explicit(&c->t->qos.gen, memory_order_relaxed);
		if (c->wake_at <= now || changed)
			activate(w, c);
	}
}

/* Time until the earliest held-back connection is due, capped. */
static struct timespec blocked_timeout(struct vsm_worker *w)
{
	uint64_t now = vsm_mono_ns(), next = UINT64_MAX;
	for (struct vsm_conn *c = w->conns; c; c = c->next)
		if (c->blocked && c->wake_at < next)
			next = c->wake_at;
	uint64_t ns = next <= now ? 0 : next - now;
	if (ns > QOS_RECHECK_MS * 1000000ull)
		ns = QOS_RECHECK_MS * 1000000ull;
	return (struct timespec){.tv_sec = (time_t)(ns / 1000000000u),
				 .tv_nsec = (long)(ns % 1000000000u)};
}

static void close_kicked(struct vsm_worker *w)
{
	for (struct vsm_conn *c = w->conns, *next; c; c = next) {
		next = c->next;
		if (c->kick_gen != atomic_load(&c->t->kick_gen)) {
			if (c->active) {
				/* Unlink from the active list before freeing. */
				struct vsm_conn **pp = &w->active_head, *prev = NULL;
				while (*pp && *pp != c)
					prev = *pp, pp = &(*pp)->next_active;
				if (*pp)
					*pp = c->next_active;
				if (w->active_tail == c)
					w->active_tail = prev;
			}
			log_info("tenant %s (%s): disconnected by the administrator", c->t->name,
				 c->peer);
			conn_close(w, c, "disconnected by the administrator");
		}
	}
}

/*
 * Drain: answer what has been received, flush, close. New bytes are not
 * read: a request the daemon never saw is not lost, it was never sent.
 */
static void drain(struct vsm_worker *w)
{
	uint64_t deadline = vsm_now_ms() + w->drain_timeout_ms;
	take_inbox(w);
	for (;;) {
		bool busy = false;
		for (struct vsm_conn *c = w->conns, *next; c; c = next) {
			next = c->next;
			c->readable = false;
			enum vsm_conn_state st = vsm_conn_process(c, UINT32_MAX);
			c->writable = true;
			if (!do_write(c)) {
				conn_close(w, c, "peer gone during drain");
				continue;
			}
			if (vsm_conn_tx_pending(c) || st == VSM_CONN_TX_FULL ||
			    st == VSM_CONN_INFLIGHT || st == VSM_CONN_BUDGET || st == VSM_CONN_QOS)
				busy = true;
			else
				conn_close(w, c, "drained");
		}
		if (!busy || vsm_now_ms() >= deadline)
			break;
		struct epoll_event evs[MAX_EVENTS];
		epoll_wait(w->epfd, evs, MAX_EVENTS, 10);
	}
	/*
	 * Out of time: whatever is still queued (held by QoS, or behind a peer
	 * that does not read) is answered ERR/SHUTDOWN rather than dropped.
	 */
	while (w->conns) {
		struct vsm_conn *c = w->conns;
		size_t n = vsm_conn_refuse(c, VSM_S_ERR, VSM_D_SHUTDOWN);
		c->writable = true;
		do_write(c);
		if (n)
			log_info("tenant %s (%s): %zu requests refused at shutdown", c->t->name,
				 c->peer, n);
		conn_close(w, c, "drain timeout");
	}
}

static void *worker_main(void *arg)
{
	struct vsm_worker *w = arg;
	struct epoll_event evs[MAX_EVENTS];

	for (;;) {
		/*
		 * epoll_pwait2 takes a timespec: QoS slots at 10k requests/s are
		 * 100 us apart, and millisecond sleeps would smear them.
		 */
		struct timespec ts = {0, 0}, *timeout = NULL;
		if (w->active_head)
			timeout = &ts;
		else if (w->blocked) {
			ts = blocked_timeout(w);
			timeout = &ts;
		}
		int n = epoll_pwait2(w->epfd, evs, MAX_EVENTS, timeout, NULL);
		if (n < 0 && errno != EINTR) {
			log_err("worker %u: epoll_wait: %s", w->id, strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL) {
				uint64_t v;
				if (read(w->wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					log_warn("worker %u: eventfd: %s", w->id, strerror(errno));
				continue;
			}
			if ((uintptr_t)evs[i].data.ptr & SHM_TAG) {
				struct vsm_conn *sc =
					(void *)((uintptr_t)evs[i].data.ptr & ~(uintptr_t)SHM_TAG);
				vsm_shm_doorbell(sc->shm);
				activate(w, sc);
				continue;
			}
			struct vsm_conn *c = evs[i].data.ptr;
			if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
				c->readable = true;
			if (evs[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
				c->writable = true;
			activate(w, c);
		}
		if (atomic_load(&w->draining))
			break;
		uint64_t t0 = vsm_mono_ns();
		take_inbox(w);
		if (atomic_exchange(&w->kick, false))
			close_kicked(w);
		if (w->blocked)
			retry_blocked(w);
		run_active(w);
		atomic_fetch_add_explicit(&w->busy_ns, vsm_mono_ns() - t0, memory_order_relaxed);
	}
	drain(w);
	return NULL;
}

int vsm_workers_start(unsigned n)
{
	workers = calloc(n, sizeof(*workers));
	if (!workers)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		struct vsm_worker *w = &workers[i];
		w->id = i;
		pthread_mutex_init(&w->inbox_lock, NULL);
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (w->epfd < 0 || w->wakefd < 0)
			return -1;
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wakefd, &ev) < 0)
			return -1;
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
			return -1;
		n_workers = i + 1;
	}
	return 0;
}

static void wake(struct vsm_worker *w)
{
	uint64_t one = 1;
	if (write(w->wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("worker %u: wake: %s", w->id, strerror(errno));
}

int vsm_workers_adopt(struct vsm_conn *c)
{
	struct vsm_worker *best = NULL;
	for (unsigned i = 0; i < n_workers; i++)
		if (!best || atomic_load(&workers[i].nconns) < atomic_load(&best->nconns))
			best = &workers[i];
	if (!best)
		return -1;
	atomic_fetch_add(&best->nconns, 1);
	pthread_mutex_lock(&best->inbox_lock);
	c->next = best->inbox;
	best->inbox = c;
	pthread_mutex_unlock(&best->inbox_lock);
	wake(best);
	return 0;
}

void vsm_workers_drain(unsigned timeout_ms)
{
	for (unsigned i = 0; i < n_workers; i++) {
		workers[i].drain_timeout_ms = timeout_ms;
		atomic_store(&workers[i].draining, true);
		wake(&workers[i]);
	}
	for (unsigned i = 0; i < n_workers; i++) {
		pthread_join(workers[i].thread, NULL);
		close(workers[i].epfd);
		close(workers[i].wakefd);
		pthread_mutex_destroy(&workers[i].inbox_lock);
	}
	free(workers);
	workers = NULL;
	n_workers = 0;
}

void vsm_workers_kick(void)
{
	for (unsigned i = 0; i < n_workers; i++) {
		atomic_store(&workers[i].kick, true);
		wake(&workers[i]);
	}
}

int vsm_workers_stat(unsigned i, uint64_t *busy_ns, unsigned *conns)
{
	if (i >= n_workers)
		return -1;
	*busy_ns = atomic_load_explicit(&workers[i].busy_ns, memory_order_relaxed);
	*conns = atomic_load_explicit(&workers[i].nconns, memory_order_relaxed);
	return 0;
}
