/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control socket (docs/control.md): one thread polls the listening
 * socket and up to MAX_CLIENTS administrator connections, each speaking
 * newline-framed JSON in the manner of QEMU's QMP. Commands run here, off
 * the request path, through the admin API (admin.h), which never takes a
 * lock a worker holds for long. This file is the I/O; control_cmds.c runs
 * the commands.
 */
#include "daemon/control.h"
#include "daemon/control_cmds.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/admin.h"
#include "daemon/log.h"

/* Implemented in control_cmds.c: one request line in, one response object out. */

#define MAX_CLIENTS 16
/* Longest request line, newline excluded. */
#define LINE_MAX_BYTES (64 * 1024)
#define IN_CAP	       (LINE_MAX_BYTES + 1)

struct client {
	int fd;
	char *in; /* IN_CAP bytes */
	size_t in_len;
	char *out; /* one pending response line; the next waits until it is sent */
	size_t out_len, out_off;
	bool eof;     /* peer sent all it will send */
	bool closing; /* close once out is sent */
};

static struct {
	bool started;
	int lfd, wake;
	pthread_t thread;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	struct client cl[MAX_CLIENTS];
	unsigned n;
} srv = {.lfd = -1, .wake = -1};

static void client_free(struct client *c)
{
	close(c->fd);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Takes ownership of v. Any failure leaves a fixed error line instead. */
static void queue_json(struct client *c, json_t *v)
{
	static const char fallback[] =
		"{\"error\":{\"class\":\"GenericError\",\"desc\":\"out of memory\"}}\n";
	char *s = v ? json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
	json_decref(v);
	size_t n = s ? strlen(s) : 0;
	char *line = s ? realloc(s, n + 2) : NULL;
	if (!line) {
		free(s);
		line = strdup(fallback);
		if (!line) {
			c->closing = true;
			return;
		}
		n = strlen(line);
	} else {
		line[n++] = '\n';
		line[n] = 0;
	}
	free(c->out);
	c->out = line;
	c->out_len = n;
	c->out_off = 0;
}

/* Returns false when the connection is dead. */
static bool flush(struct client *c)
{
	while (c->out && c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK;
		}
		c->out_off += (size_t)w;
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	return true;
}

/* Answer the complete lines in c->in, one at a time, as fast as the peer reads. */
static bool serve(struct client *c)
{
	for (;;) {
		if (!flush(c))
			return false;
		if (c->out)
			return true; /* wait for POLLOUT */
		if (c->closing)
			return false;
		char *nl = memchr(c->in, '\n', c->in_len);
		size_t n;
		if (nl) {
			n = (size_t)(nl - c->in);
		} else if (c->in_len == IN_CAP) {
			/* Resynchronising inside an unbounded line is guesswork: hang up. */
			queue_json(c, vsm_control_error("ParseError",
							"request line longer than 65536 bytes"));
			c->closing = true;
			continue;
		} else if (c->eof && c->in_len) {
			n = c->in_len; /* last line without its newline */
		} else {
			return !c->eof;
		}
		/* Blank lines (and a stray \r) are not requests: QMP ignores them too. */
		bool blank = true;
		for (size_t i = 0; i < n && blank; i++)
			blank = c->in[i] == ' ' || c->in[i] == '\t' || c->in[i] == '\r';
		if (!blank)
			queue_json(c, vsm_control_handle(c->in, n));
		size_t used = n < c->in_len ? n + 1 : n;
		memmove(c->in, c->in + used, c->in_len - used);
		c->in_len -= used;
	}
}

static bool do_read(struct client *c)
{
	while (c->in_len < IN_CAP) {
		ssize_t r = recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, MSG_DONTWAIT);
		if (r > 0) {
			c->in_len += (size_t)r;
			/* A complete line is enough to start; the rest can wait. */
			if (memchr(c->in + c->in_len - (size_t)r, '\n', (size_t)r))
				break;
			continue;
		}
		if (r == 0) {
			c->eof = true;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		return false;
	}
	return serve(c);
}

static bool is_admin(uid_t uid)
{
	return uid == 0 || vsm_admin_is_admin(uid);
}

/*
 * Refuse with one line and hang up. The socket is new, so its send buffer is
 * empty and the short line goes out whole.
 */
static void refuse(int fd, const char *cls, const char *desc)
{
	json_t *e = vsm_control_error(cls, desc);
	char *s = e ? json_dumps(e, JSON_COMPACT) : NULL;
	json_decref(e);
	if (s) {
		size_t n = strlen(s);
		s[n] = '\n'; /* overwrites the terminator; length is tracked */
		ssize_t w = send(fd, s, n + 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)w;
		free(s);
	}
	close(fd);
}

static void do_accept(void)
{
	for (;;) {
		int fd = accept4(srv.lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("control socket: accept: %s", strerror(errno));
			return;
		}
		struct ucred cr;
		socklen_t len = sizeof(cr);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || len != sizeof(cr)) {
			close(fd);
			continue;
		}
		if (!is_admin(cr.uid)) {
			log_warn("control socket: refused uid %u (not root, not in admin_uids)",
				 (unsigned)cr.uid);
			refuse(fd, "PermissionDenied",
			       "the control socket is for root and the uids in admin_uids");
			continue;
		}
		if (srv.n == MAX_CLIENTS) {
			refuse(fd, "GenericError", "too many control connections");
			continue;
		}
		struct client *c = &srv.cl[srv.n];
		c->fd = fd;
		c->in = malloc(IN_CAP);
		if (!c->in) {
			client_free(c);
			continue;
		}
		srv.n++;
		log_debug("control socket: uid %u connected", (unsigned)cr.uid);
		queue_json(c, json_pack("{s:{s:s,s:i}}", "vsm", "version", VSM_VERSION, "protocol",
					1));
		if (!serve(c)) {
			client_free(c);
			srv.n--;
		}
	}
}

static void *control_thread(void *arg)
{
	(void)arg;
	struct pollfd pfd[MAX_CLIENTS + 2];
	for (;;) {
		pfd[0] = (struct pollfd){.fd = srv.wake, .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = srv.lfd, .events = POLLIN};
		for (unsigned i = 0; i < srv.n; i++) {
			struct client *c = &srv.cl[i];
			short ev = c->out ? POLLOUT : POLLIN;
			pfd[i + 2] = (struct pollfd){.fd = c->fd, .events = ev};
		}
		unsigned n = srv.n;
		if (poll(pfd, n + 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("control socket: poll: %s", strerror(errno));
			break;
		}
		if (pfd[0].revents)
			break;
		/* Walk backwards: a closed client is replaced by the last one. */
		for (unsigned i = n; i-- > 0;) {
			struct client *c = &srv.cl[i];
			short re = pfd[i + 2].revents;
			if (!re)
				continue;
			bool alive;
			if (re & POLLNVAL)
				alive = false;
			else if (c->out)
				alive = serve(
					c); /* POLLOUT, or POLLERR/POLLHUP that send will report */
			else
				alive = do_read(c);
			if (!alive) {
				client_free(c);
				srv.n--;
				if (i != srv.n) {
					srv.cl[i] = srv.cl[srv.n];
					srv.cl[srv.n].fd = -1;
					srv.cl[srv.n].in = srv.cl[srv.n].out = NULL;
				}
			}
		}
		if (pfd[1].revents)
			do_accept();
	}
	return NULL;
}

/* Is somebody serving path? Used to tell a stale socket from a live one. */
static bool socket_live(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool live = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ||
		    (errno != ECONNREFUSED && errno != ENOENT);
	close(fd);
	return live;
}

static int make_parent(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(srv.path)];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

int vsm_control_start(const struct vsm_config *c, char *err, size_t errlen)
{
	if (!c->control_socket[0] || srv.started)
		return 0;
	const char *path = c->control_socket;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	if (make_parent(path, err, errlen) < 0)
		return -1;

	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket", path);
			return -1;
		}
		if (socket_live(path)) {
			snprintf(err, errlen, "%s is in use (is another vsmd running?)", path);
			return -1;
		}
		/* Left behind by a vsmd that did not exit cleanly. */
		unlink(path);
	}

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/*
	 * The mode is set after bind, so for a moment the socket may be open to
	 * more users; SO_PEERCRED on accept is the real check, the mode a fence.
	 */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "bind %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	/* Non-root admin_uids must be able to connect; SO_PEERCRED still decides. */
	mode_t mode = 0600;
	for (unsigned i = 0; i < c->n_admin_uids; i++)
		if (c->admin_uids[i] != 0)
			mode = 0666;
	if (chmod(path, mode) < 0 || listen(fd, MAX_CLIENTS) < 0 || stat(path, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(path);
		close(fd);
		return -1;
	}
	srv.dev = st.st_dev;
	srv.ino = st.st_ino;
	srv.wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (srv.wake < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		unlink(path);
		close(fd);
		return -1;
	}
	srv.lfd = fd;
	snprintf(srv.path, sizeof(srv.path), "%s", path);
	for (unsigned i = 0; i < MAX_CLIENTS; i++)
		srv.cl[i].fd = -1;
	int rc = pthread_create(&srv.thread, NULL, control_thread, NULL);
	if (rc) {
		snprintf(err, errlen, "cannot start the control thread: %s", strerror(rc));
		unlink(path);
		close(fd);
		close(srv.wake);
		srv.lfd = srv.wake = -1;
		return -1;
	}
	srv.started = true;
	log_info("control socket on %s", path);
	return 0;
}

void vsm_control_stop(void)
{
	if (!srv.started)
		return;
	uint64_t one = 1;
	ssize_t w = write(srv.wake, &one, sizeof(one));
	(void)w;
	pthread_join(srv.thread, NULL);
	for (unsigned i = 0; i < srv.n; i++)
		client_free(&srv.cl[i]);
	srv.n = 0;
	close(srv.lfd);
	close(srv.wake);
	srv.lfd = srv.wake = -1;
	/* Only our own socket: another vsmd may have replaced it since. */
	struct stat st;
	if (lstat(srv.path, &st) == 0 && st.st_dev == srv.dev && st.st_ino == srv.ino)
		unlink(srv.path);
	srv.started = false;
}
