/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vsmd lifecycle for the integration tests, the failure path that cleans up
 * after them, and the per-case runner.
 *
 * The failure path also runs from the SIGALRM watchdog, so it only uses
 * async-signal-safe calls (kill, waitpid, open, read, write, unlink).
 */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How long vsmd may take to accept connections, and to exit on SIGTERM. */
#define START_TIMEOUT_MS 5000
#define STOP_TIMEOUT_MS	 15000
#define MAX_DAEMONS	 4

static struct vh_daemon *daemons[MAX_DAEMONS];
static pid_t owner_pid;
static atomic_flag failing = ATOMIC_FLAG_INIT;
static const char *current_case = "?";

uint64_t vh_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

const char *vh_vsmd_path(void)
{
	const char *p = getenv("VSMD");
	if (!p || !*p) {
		fprintf(stderr, "VSMD is not set: run through meson test, or set VSMD=<path>\n");
		exit(1);
	}
	if (access(p, X_OK) != 0) {
		fprintf(stderr, "VSMD=%s: %s (was vsmd built?)\n", p, strerror(errno));
		exit(1);
	}
	return p;
}

/* ---- async-signal-safe cleanup ---- */

static void say(const char *s)
{
	size_t n = strlen(s);
	while (n) {
		ssize_t w = write(2, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void log_path(const struct vh_daemon *d, unsigned run, char *buf, size_t cap)
{
	/* snprintf is not async-signal-safe; this is all we need of it. */
	size_t n = strlen(d->log);
	if (n + 4 > cap)
		n = cap - 4;
	memcpy(buf, d->log, n);
	buf[n++] = '.';
	buf[n++] = (char)('0' + run % 10);
	buf[n] = 0;
}

static void dump_log(const struct vh_daemon *d)
{
	for (unsigned r = 1; r <= d->runs; r++) {
		char path[160];
		char buf[4096];
		log_path(d, r, path, sizeof(path));
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		say("---- ");
		say(path);
		say(" ----\n");
		ssize_t n;
		while ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
			buf[n] = 0;
			say(buf);
		}
		close(fd);
		say("---- end of log ----\n");
	}
}

static void remove_dir(struct vh_daemon *d)
{
	if (!d->dir[0] || getenv("VSM_INTEG_KEEP"))
		return;
	/*
	 * Everything a test leaves in its directory goes: config, logs,
	 * sockets, the keystore with its WAL files, certificates. One level
	 * deep is all the harness and the tests create.
	 */
	DIR *dp = opendir(d->dir);
	if (dp) {
		struct dirent *e;
		while ((e = readdir(dp)) != NULL) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			unlinkat(dirfd(dp), e->d_name, 0);
		}
		closedir(dp);
	}
	rmdir(d->dir);
	d->dir[0] = 0;
}

static void kill_all(void)
{
	for (int i = 0; i < MAX_DAEMONS; i++) {
		struct vh_daemon *d = daemons[i];
		if (!d)
			continue;
		if (d->pid > 0) {
			kill(d->pid, SIGKILL);
			waitpid(d->pid, NULL, 0);
			d->pid = 0;
		}
		dump_log(d);
		remove_dir(d);
		daemons[i] = NULL;
	}
}

static void on_alarm(int sig)
{
	(void)sig;
	if (atomic_flag_test_and_set(&failing))
		for (;;)
			pause();
	say("FAIL: case '");
	say(current_case);
	say("' timed out (watchdog)\n");
	kill_all();
	_exit(1);
}

void vh_fail(const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fflush(stdout);
	if (getpid() != owner_pid) {
		/* A client child: the parent sees the exit code and cleans up. */
		fprintf(stderr, "FAIL (child %d) %s:%d: %s\n", (int)getpid(), file, line, msg);
		_exit(1);
	}
	if (atomic_flag_test_and_set(&failing))
		for (;;)
			pause(); /* another thread is already failing; it will _exit */
	fprintf(stderr, "FAIL [%s] %s:%d: %s\n", current_case, file, line, msg);
	kill_all();
	_exit(1);
}

/* ---- vsmd lifecycle ---- */

static void track(struct vh_daemon *d)
{
	for (int i = 0; i < MAX_DAEMONS; i++)
		if (daemons[i] == d)
			return;
	for (int i = 0; i < MAX_DAEMONS; i++)
		if (!daemons[i]) {
			daemons[i] = d;
			return;
		}
	vh_fail(__FILE__, __LINE__, "more than %d daemons in one test", MAX_DAEMONS);
}

unsigned vh_free_tcp_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	VH_CHECK(fd >= 0, "socket: %s", strerror(errno));
	VH_CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind: %s", strerror(errno));
	VH_CHECK(getsockname(fd, (struct sockaddr *)&sa, &len) == 0, "getsockname");
	close(fd);
	return ntohs(sa.sin_port);
}

static void write_config(struct vh_daemon *d)
{
	FILE *f = fopen(d->conf, "w");
	VH_CHECK(f, "cannot write %s: %s", d->conf, strerror(errno));
	fprintf(f,
		"# written by the vsm integration harness\n"
		"[vsmd]\n"
		"workers = %u\n"
		"log_level = info\n"
		"unix_socket = %s\n"
		"socket_mode = 0666\n"
		"drain_timeout_ms = 5000\n"
		/* Private control socket, no /metrics: tests run many vsmd side by side. */
		"control_socket = %s/control.sock\n"
		"metrics_listen =\n",
		d->o.workers ? d->o.workers : 2, d->sock, d->dir);
	if (d->o.tcp)
		fprintf(f, "tcp_listen = 127.0.0.1:%u\n", d->tcp_port);
	if (d->o.vsmd_keys)
		fprintf(f, "%s\n", d->o.vsmd_keys);
	if (d->o.sections)
		fprintf(f, "\n%s\n", d->o.sections);
	/*
	 * Never the system keystore: each daemon keeps its keys in its own
	 * directory (kept across vh_restart), with a cheap KDF for speed.
	 */
	if (!d->o.sections || !strstr(d->o.sections, "[keystore]"))
		fprintf(f,
			"\n[keystore]\npath = %s/keystore.db\nmaster_key = %s/master.key\n"
			"kdf_iterations = 1000\n",
			d->dir, d->dir);
	VH_CHECK(fclose(f) == 0, "writing %s", d->conf);
}

static bool can_connect(const struct vh_daemon *d)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d->sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	VH_CHECK(fd >= 0, "socket: %s", strerror(errno));
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	if (!ok || !d->o.tcp)
		return ok;
	struct sockaddr_in in = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)d->tcp_port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	VH_CHECK(fd >= 0, "socket: %s", strerror(errno));
	ok = connect(fd, (struct sockaddr *)&in, sizeof(in)) == 0;
	close(fd);
	return ok;
}

static void launch(struct vh_daemon *d)
{
	char log[160];
	d->runs++;
	VH_CHECK(d->runs < 10, "too many restarts");
	log_path(d, d->runs, log, sizeof(log));
	const char *vsmd = vh_vsmd_path();
	fflush(NULL);
	pid_t pid = fork();
	VH_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* vsmd must not outlive a test that crashes. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execl(vsmd, "vsmd", "-c", d->conf, (char *)NULL);
		_exit(127);
	}
	d->pid = pid;
	uint64_t deadline = vh_now_ms() + START_TIMEOUT_MS;
	for (;;) {
		int ws;
		if (waitpid(pid, &ws, WNOHANG) == pid) {
			d->pid = 0;
			vh_fail(__FILE__, __LINE__, "vsmd exited during start-up (status 0x%x)",
				ws);
		}
		/*
		 * The main socket accepts (into its backlog) before the per-tenant
		 * ivshmem and vhost-user sockets exist: "ready" comes after all.
		 */
		/* One probe, once it can only succeed: each is a connection vsmd counts. */
		if (vh_log_contains(d, " ready: ") && can_connect(d))
			break;
		if (vh_now_ms() > deadline)
			vh_fail(__FILE__, __LINE__, "vsmd did not accept connections within %d ms",
				START_TIMEOUT_MS);
		sleep_ms(5);
	}
}

void vh_start(struct vh_daemon *d, const struct vh_opts *o)
{
	memset(d, 0, sizeof(*d));
	if (o)
		d->o = *o;
	snprintf(d->dir, sizeof(d->dir), "/tmp/vsm-integ-XXXXXX");
	VH_CHECK(mkdtemp(d->dir), "mkdtemp: %s", strerror(errno));
	track(d);
	/* Clients in other uids (tenant tests) must reach the socket. */
	VH_CHECK(chmod(d->dir, 0755) == 0, "chmod %s: %s", d->dir, strerror(errno));
	snprintf(d->sock, sizeof(d->sock), "%s/vsmd.sock", d->dir);
	snprintf(d->conf, sizeof(d->conf), "%s/vsmd.conf", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/vsmd.log", d->dir);
	snprintf(d->uri, sizeof(d->uri), "unix:%s", d->sock);
	if (d->o.tcp) {
		d->tcp_port = vh_free_tcp_port();
		snprintf(d->tcp_uri, sizeof(d->tcp_uri), "tcp:127.0.0.1:%u", d->tcp_port);
	}
	write_config(d);
	launch(d);
}

void vh_restart(struct vh_daemon *d)
{
	VH_CHECK(d->pid == 0, "vsmd is still running");
	track(d);
	launch(d);
}

static char *read_log(const struct vh_daemon *d)
{
	char path[160];
	log_path(d, d->runs, path, sizeof(path));
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	VH_CHECK(buf, "out of memory");
	size_t n;
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 2) {
			cap *= 2;
			buf = realloc(buf, cap);
			VH_CHECK(buf, "out of memory");
		}
	}
	fclose(f);
	buf[len] = 0;
	return buf;
}

bool vh_log_contains(const struct vh_daemon *d, const char *s)
{
	char *log = read_log(d);
	bool found = log && strstr(log, s);
	free(log);
	return found;
}

void vh_stop(struct vh_daemon *d)
{
	VH_CHECK(d->pid > 0, "vsmd is not running");
	VH_CHECK(kill(d->pid, SIGTERM) == 0, "kill: %s", strerror(errno));
	vh_wait_stopped(d);
}

void vh_wait_stopped(struct vh_daemon *d)
{
	VH_CHECK(d->pid > 0, "vsmd is not running");
	uint64_t deadline = vh_now_ms() + STOP_TIMEOUT_MS;
	int ws = 0;
	for (;;) {
		pid_t r = waitpid(d->pid, &ws, WNOHANG);
		if (r == d->pid)
			break;
		VH_CHECK(r == 0, "waitpid: %s", strerror(errno));
		if (vh_now_ms() > deadline)
			vh_fail(__FILE__, __LINE__, "vsmd did not exit within %d ms of SIGTERM",
				STOP_TIMEOUT_MS);
		sleep_ms(5);
	}
	d->pid = 0;
	if (!WIFEXITED(ws))
		vh_fail(__FILE__, __LINE__, "vsmd died of signal %d", WTERMSIG(ws));
	if (WEXITSTATUS(ws) != 0)
		vh_fail(__FILE__, __LINE__, "vsmd exited with status %d", WEXITSTATUS(ws));
	char *log = read_log(d);
	VH_CHECK(log, "no vsmd log");
	/*
	 * vsmd logs errors as "vsmd error"; ASan/UBSan/LSan reports contain
	 * "ERROR:", "runtime error" or "Sanitizer". None may appear.
	 */
	static const char *const bad[] = {"vsmd error", "ERROR", "runtime error", "Sanitizer"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strstr(log, bad[i])) {
			free(log);
			vh_fail(__FILE__, __LINE__, "vsmd log contains '%s'", bad[i]);
		}
	bool ok = strstr(log, "ready") && strstr(log, "stopped");
	free(log);
	VH_CHECK(ok, "vsmd log lacks 'ready' or 'stopped'");
}

void vh_cleanup(struct vh_daemon *d)
{
	if (d->pid > 0)
		vh_stop(d);
	remove_dir(d);
	for (int i = 0; i < MAX_DAEMONS; i++)
		if (daemons[i] == d)
			daemons[i] = NULL;
}

vsm_client *vh_connect(const char *uri)
{
	vsm_client *c = NULL;
	int rc = vsm_connect(uri, &c);
	VH_CHECK(rc == 0 && c, "vsm_connect(%s): %d (%s)", uri, rc, vsm_strerror(rc));
	return c;
}

uint64_t vh_session(vsm_client *c, int service, int alg, const void *key, size_t key_len)
{
	struct vsm_session_params p = {
		.service = service, .alg = alg, .key = key, .key_len = key_len};
	uint64_t h = 0;
	int rc = vsm_session_create(c, &p, &h);
	VH_CHECK(rc == 0, "session %s: %d (%s, detail %s)", vsm_alg_name(alg), rc, vsm_strerror(rc),
		 vsm_detail_name(vsm_last_detail(c)));
	VH_CHECK(h != 0, "session handle 0");
	return h;
}

/* ---- child processes ---- */

pid_t vh_fork(void (*fn)(void *arg), void *arg)
{
	fflush(NULL);
	pid_t pid = fork();
	VH_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fn(arg);
		fflush(NULL);
		_exit(0);
	}
	return pid;
}

int vh_child_wait(pid_t pid, unsigned timeout_ms)
{
	uint64_t deadline = vh_now_ms() + timeout_ms;
	int ws;
	for (;;) {
		pid_t r = waitpid(pid, &ws, WNOHANG);
		if (r == pid)
			break;
		VH_CHECK(r == 0, "waitpid: %s", strerror(errno));
		if (vh_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			vh_fail(__FILE__, __LINE__, "child %d did not finish within %u ms",
				(int)pid, timeout_ms);
		}
		sleep_ms(5);
	}
	if (WIFSIGNALED(ws))
		return 128 + WTERMSIG(ws);
	return WEXITSTATUS(ws);
}

/* ---- runner ---- */

static int run_case(const struct vh_case *c)
{
	current_case = c->name;
	printf("== %s\n", c->name);
	fflush(stdout);
	alarm(c->timeout_s ? c->timeout_s : 60);
	int rc = c->fn();
	alarm(0);
	for (int i = 0; i < MAX_DAEMONS; i++)
		if (daemons[i]) {
			/* The struct may be gone with the case's stack frame: do not touch it. */
			fprintf(stderr, "FAIL [%s]: case returned without vh_cleanup()\n", c->name);
			exit(1);
		}
	printf("== %s: %s\n", c->name, rc == VH_SKIP ? "SKIP" : "ok");
	fflush(stdout);
	return rc;
}

int vh_main(int argc, char **argv, const struct vh_case *cases, size_t n)
{
	owner_pid = getpid();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 2) {
		fprintf(stderr, "usage: %s [CASE]\n", argv[0]);
		return 2;
	}
	int ran = 0, skipped = 0;
	for (size_t i = 0; i < n; i++) {
		if (argc == 2 && strcmp(argv[1], cases[i].name))
			continue;
		ran++;
		if (run_case(&cases[i]) == VH_SKIP)
			skipped++;
	}
	if (!ran) {
		fprintf(stderr, "%s: no case named '%s'; cases:", argv[0], argv[1]);
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, " %s", cases[i].name);
		fprintf(stderr, "\n");
		return 2;
	}
	return skipped == ran ? VH_SKIP : 0;
}
