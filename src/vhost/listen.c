/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Listeners for every tenant's vhost_user_socket and the thread that
 * accepts QEMU connections on them. Each connection becomes a device with
 * its own thread; finished devices are joined here, the rest at stop.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/log.h"
#include "transport/stream.h"
#include "vhost/device.h"
#include "vhost/vhost.h"

static struct {
	bool running;
	struct vsm_listener *ls;
	unsigned nl;
	int wake[2];
	pthread_t thread;
	struct vsm_vhu_dev *devs; /* the accept thread's until it is joined */
	unsigned long seq;
} g = {.wake = {-1, -1}};

static void reap(bool all)
{
	for (struct vsm_vhu_dev **pp = &g.devs; *pp;) {
		struct vsm_vhu_dev *d = *pp;
		if (!all && !atomic_load(&d->done)) {
			pp = &d->next;
			continue;
		}
		pthread_join(d->thread, NULL);
		*pp = d->next;
		vsm_vhu_dev_free(d);
	}
}

static void accept_one(struct vsm_listener *l)
{
	int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
			/* Out of fds or memory: do not spin on a listener that stays readable. */
			log_warn("vhost-user %s: accept: %s", l->desc, strerror(errno));
			struct timespec ts = {0, 100000000};
			nanosleep(&ts, NULL);
		}
		return;
	}
	const char *why = NULL;
	struct vsm_tenant *t = vsm_tenant_attach_name(l->tenant, &why);
	if (!t) {
		log_warn("vhost-user %s: connection refused: %s", l->desc, why ? why : "?");
		close(fd);
		return;
	}
	char name[96];
	snprintf(name, sizeof(name), "tenant %s device %lu", t->name, ++g.seq);
	struct vsm_vhu_dev *d = vsm_vhu_dev_new(fd, t, name);
	if (!d || pthread_create(&d->thread, NULL, vsm_vhu_dev_run, d) != 0) {
		log_warn("vhost-user %s: cannot start a device thread", l->desc);
		if (d) {
			close(d->epfd);
			vsm_vhu_dev_free(d); /* closes fd */
		} else {
			close(fd);
		}
		vsm_tenant_detach(t);
		return;
	}
	d->next = g.devs;
	g.devs = d;
}

static void *accept_main(void *arg)
{
	(void)arg;
	struct pollfd *p = calloc(g.nl + 1, sizeof(*p));
	if (!p)
		return NULL;
	for (unsigned i = 0; i < g.nl; i++)
		p[i] = (struct pollfd){.fd = g.ls[i].fd, .events = POLLIN};
	p[g.nl] = (struct pollfd){.fd = g.wake[0], .events = POLLIN};
	for (;;) {
		int n = poll(p, g.nl + 1, 1000);
		if (n < 0 && errno != EINTR)
			break;
		if (p[g.nl].revents)
			break;
		reap(false);
		for (unsigned i = 0; i < g.nl && n > 0; i++)
			if (p[i].revents & POLLIN)
				accept_one(&g.ls[i]);
	}
	free(p);
	return NULL;
}

int vsm_vhost_start(const struct vsm_config *c, char *err, size_t errlen)
{
	unsigned want = 0;
	for (unsigned i = 0; i < c->n_tenants; i++)
		want += c->tenants[i].vhost_user_socket[0] != 0;
	if (!want)
		return 0;
	g.ls = calloc(want, sizeof(*g.ls));
	if (!g.ls || pipe2(g.wake, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "out of resources");
		goto fail;
	}
	for (unsigned i = 0; i < c->n_tenants; i++) {
		const struct vsm_tenant_conf *tc = &c->tenants[i];
		if (!tc->vhost_user_socket[0])
			continue;
		struct vsm_listener *l = &g.ls[g.nl];
		if (vsm_listen_unix(l, tc->vhost_user_socket, c->socket_mode, err, errlen) < 0)
			goto fail;
		g.nl++;
		snprintf(l->tenant, sizeof(l->tenant), "%s", tc->name);
		snprintf(l->desc, sizeof(l->desc), "vhost-user:%s (tenant %s)",
			 tc->vhost_user_socket, tc->name);
		log_info("listening on %s", l->desc);
	}
	if (pthread_create(&g.thread, NULL, accept_main, NULL) != 0) {
		snprintf(err, errlen, "cannot start the accept thread");
		goto fail;
	}
	g.running = true;
	return 0;
fail:
	for (unsigned i = 0; i < g.nl; i++)
		vsm_listener_close(&g.ls[i]);
	free(g.ls);
	g.ls = NULL;
	g.nl = 0;
	for (int i = 0; i < 2; i++)
		if (g.wake[i] >= 0)
			close(g.wake[i]);
	g.wake[0] = g.wake[1] = -1;
	return -1;
}

void vsm_vhost_stop(void)
{
	if (!g.running)
		return;
	char b = 1;
	if (write(g.wake[1], &b, 1) < 0)
		log_warn("vhost-user: cannot wake the accept thread: %s", strerror(errno));
	pthread_join(g.thread, NULL);
	/* A device thread blocked in a read wakes up when its socket is shut down. */
	for (struct vsm_vhu_dev *d = g.devs; d; d = d->next) {
		atomic_store(&d->stop, true);
		shutdown(d->fd, SHUT_RDWR);
	}
	reap(true);
	for (unsigned i = 0; i < g.nl; i++)
		vsm_listener_close(&g.ls[i]);
	free(g.ls);
	g.ls = NULL;
	g.nl = 0;
	close(g.wake[0]);
	close(g.wake[1]);
	g.wake[0] = g.wake[1] = -1;
	g.running = false;
}
