/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Child processes for the provider tests: the openssl CLI, s_server, nginx
 * and curl, each under a deadline, with their output kept in the work
 * directory so a failure can show it.
 */
#include "prov.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#define MAX_ARGS 96

static char last_cmd[4096];

/* Background children, killed (with their process groups) before a failure exits. */
static pid_t spawned[8];

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static const char *env_path(const char *name)
{
	const char *p = getenv(name);
	if (!p || !*p) {
		fprintf(stderr, "%s is not set: run through meson test\n", name);
		exit(1);
	}
	return p;
}

const char *pt_openssl_path(void)
{
	return env_path("VSM_OPENSSL");
}

const char *pt_provider_dir(void)
{
	return env_path("VSM_PROVIDER_DIR");
}

const char *pt_path(const struct pt *t, const char *name)
{
	static char ring[16][160];
	static unsigned next;
	char *b = ring[next++ % 16];
	snprintf(b, sizeof(ring[0]), "%s/%s", t->dir, name);
	return b;
}

void pt_kill_spawned(void)
{
	for (size_t i = 0; i < sizeof(spawned) / sizeof(spawned[0]); i++)
		if (spawned[i] > 0) {
			kill(-spawned[i], SIGKILL);
			waitpid(spawned[i], NULL, 0);
			spawned[i] = 0;
		}
}

static void forget(pid_t pid)
{
	for (size_t i = 0; i < sizeof(spawned) / sizeof(spawned[0]); i++)
		if (spawned[i] == pid)
			spawned[i] = 0;
}

void pt_start(struct pt *t)
{
	memset(t, 0, sizeof(*t));
	vh_start(&t->d, NULL);
	t->c = vh_connect(t->d.uri);
	snprintf(t->dir, sizeof(t->dir), "/tmp/vsm-prov-XXXXXX");
	VH_CHECK(mkdtemp(t->dir), "mkdtemp: %s", strerror(errno));
	/* Every openssl, nginx and curl child finds this vsmd through the provider's default. */
	VH_CHECK(setenv("VSM_URI", t->d.uri, 1) == 0, "setenv");
	VH_CHECK(setenv("VSM_KEY_PASSWORD", PT_KEY_PW, 1) == 0, "setenv");
	printf("work dir %s, vsmd %s\n", t->dir, t->d.dir);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void pt_finish(struct pt *t)
{
	pt_kill_spawned();
	vsm_close(t->c);
	t->c = NULL;
	vh_stop(&t->d);
	if (!getenv("VSM_INTEG_KEEP"))
		rm_tree(t->dir);
	vh_cleanup(&t->d);
}

static void record(const char *const *argv)
{
	size_t n = 0;
	last_cmd[0] = 0;
	for (size_t i = 0; argv[i] && n + 2 < sizeof(last_cmd); i++) {
		int w = snprintf(last_cmd + n, sizeof(last_cmd) - n, "%s%s", i ? " " : "", argv[i]);
		if (w < 0)
			break;
		n += (size_t)w;
	}
}

const char *pt_last_cmd(void)
{
	return last_cmd;
}

void pt_show_file(struct pt *t, const char *name, size_t max)
{
	FILE *f = fopen(pt_path(t, name), "r");
	if (!f)
		return;
	char buf[4096];
	size_t n, total = 0;
	fprintf(stderr, "---- %s ----\n", name);
	while (total < max && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
		fwrite(buf, 1, n, stderr);
		total += n;
	}
	fprintf(stderr, "---- end of %s ----\n", name);
	fclose(f);
}

void pt_show_last(struct pt *t)
{
	pt_kill_spawned();
	fprintf(stderr, "$ %s\n", last_cmd);
	pt_show_file(t, "last.out", 2048);
	pt_show_file(t, "last.err", 8192);
}

static pid_t start_child(struct pt *t, const char *in, const char *out, const char *err,
			 const char *const *argv, bool own_group, bool preload)
{
	fflush(NULL);
	pid_t pid = fork();
	VH_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (own_group)
			setpgid(0, 0);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGALRM, SIG_DFL);
		/* An ASan build's module in uninstrumented programs (meson.build). */
		const char *pre = getenv("VSM_PRELOAD");
		if (preload && pre && *pre) {
			setenv("LD_PRELOAD", pre, 1);
			setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
		}
		int i = open(in ? in : "/dev/null", O_RDONLY | O_CLOEXEC);
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int e = err ? open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : o;
		if (i < 0 || o < 0 || e < 0 || dup2(i, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		if (chdir(t->dir) < 0)
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static int wait_deadline(pid_t pid, unsigned timeout_ms, bool *timed_out)
{
	uint64_t deadline = vh_now_ms() + timeout_ms;
	int ws;
	*timed_out = false;
	for (;;) {
		pid_t r = waitpid(pid, &ws, WNOHANG);
		if (r == pid)
			break;
		VH_CHECK(r == 0, "waitpid: %s", strerror(errno));
		if (vh_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			*timed_out = true;
			return -1;
		}
		sleep_ms(2);
	}
	return WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : WEXITSTATUS(ws);
}

static int run(struct pt *t, const char *in, unsigned timeout_ms, const char *const *argv,
	       bool preload)
{
	record(argv);
	pid_t pid = start_child(t, in, pt_path(t, "last.out"), pt_path(t, "last.err"), argv, false,
				preload);
	bool timed_out;
	int rc = wait_deadline(pid, timeout_ms, &timed_out);
	if (timed_out) {
		pt_show_last(t);
		vh_fail(__FILE__, __LINE__, "did not finish within %u ms: %s", timeout_ms,
			last_cmd);
	}
	return rc;
}

int pt_runv(struct pt *t, const char *in, unsigned timeout_ms, const char *const *argv)
{
	return run(t, in, timeout_ms, argv, true);
}

int pt_runv_plain(struct pt *t, const char *in, unsigned timeout_ms, const char *const *argv)
{
	return run(t, in, timeout_ms, argv, false);
}

static int openssl_va(struct pt *t, const char *in, bool prov, const char *sub, va_list ap)
{
	const char *argv[MAX_ARGS];
	size_t n = 0;
	argv[n++] = pt_openssl_path();
	argv[n++] = sub;
	if (prov) {
		argv[n++] = "-provider-path";
		argv[n++] = pt_provider_dir();
		argv[n++] = "-provider";
		argv[n++] = "vsm";
		argv[n++] = "-provider";
		argv[n++] = "default";
	}
	const char *a;
	while ((a = va_arg(ap, const char *)) != NULL) {
		VH_CHECK(n + 1 < MAX_ARGS, "too many arguments");
		argv[n++] = a;
	}
	argv[n] = NULL;
	return pt_runv(t, in, PT_TIMEOUT_MS, argv);
}

int pt_openssl(struct pt *t, bool prov, const char *sub, ...)
{
	va_list ap;
	va_start(ap, sub);
	int rc = openssl_va(t, NULL, prov, sub, ap);
	va_end(ap);
	return rc;
}

int pt_openssl_in(struct pt *t, const char *in, bool prov, const char *sub, ...)
{
	va_list ap;
	va_start(ap, sub);
	int rc = openssl_va(t, in, prov, sub, ap);
	va_end(ap);
	return rc;
}

uint8_t *pt_read(struct pt *t, const char *name, size_t *len)
{
	const char *path = name[0] == '/' ? name : pt_path(t, name);
	FILE *f = fopen(path, "rb");
	PT_CHECK(f, "cannot read %s: %s", path, strerror(errno));
	size_t cap = 4096, n = 0, r;
	uint8_t *buf = malloc(cap);
	PT_CHECK(buf, "out of memory");
	while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += r;
		if (cap - n < 2) {
			cap *= 2;
			buf = realloc(buf, cap);
			PT_CHECK(buf, "out of memory");
		}
	}
	fclose(f);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

void pt_write(struct pt *t, const char *name, const void *data, size_t len)
{
	const char *path = pt_path(t, name);
	FILE *f = fopen(path, "wb");
	PT_CHECK(f, "cannot write %s: %s", path, strerror(errno));
	PT_CHECK(fwrite(data, 1, len, f) == len && fclose(f) == 0, "writing %s", path);
}

bool pt_clean_log(struct pt *t, const char *name)
{
	return !pt_file_contains(t, name, "ERROR: AddressSanitizer") &&
	       !pt_file_contains(t, name, "ERROR: LeakSanitizer") &&
	       !pt_file_contains(t, name, "runtime error:");
}

bool pt_file_contains(struct pt *t, const char *name, const char *s)
{
	uint8_t *b = pt_read(t, name, NULL);
	bool found = strstr((char *)b, s) != NULL;
	free(b);
	return found;
}

bool pt_same_file(struct pt *t, const char *a, const char *b)
{
	size_t na, nb;
	uint8_t *x = pt_read(t, a, &na), *y = pt_read(t, b, &nb);
	bool same = na == nb && memcmp(x, y, na) == 0;
	free(x);
	free(y);
	return same;
}

pid_t pt_spawnv(struct pt *t, const char *log, const char *const *argv)
{
	record(argv);
	printf("$ %s &\n", last_cmd);
	pid_t pid = start_child(t, NULL, pt_path(t, log), NULL, argv, true, true);
	/* Both sides set the group, so a kill right after fork still reaches it. */
	setpgid(pid, pid);
	for (size_t i = 0; i < sizeof(spawned) / sizeof(spawned[0]); i++)
		if (!spawned[i]) {
			spawned[i] = pid;
			return pid;
		}
	pt_kill_spawned();
	vh_fail(__FILE__, __LINE__, "too many background children");
}

void pt_wait_port(pid_t pid, unsigned port, unsigned timeout_ms)
{
	uint64_t deadline = vh_now_ms() + timeout_ms;
	for (;;) {
		int ws;
		if (waitpid(pid, &ws, WNOHANG) == pid) {
			forget(pid);
			pt_kill_spawned();
			vh_fail(__FILE__, __LINE__,
				"%d exited (status 0x%x) before listening on %u", (int)pid, ws,
				port);
		}
		struct sockaddr_in sa = {.sin_family = AF_INET,
					 .sin_port = htons((uint16_t)port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		VH_CHECK(fd >= 0, "socket: %s", strerror(errno));
		bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		close(fd);
		if (ok)
			return;
		if (vh_now_ms() > deadline) {
			pt_kill_spawned();
			vh_fail(__FILE__, __LINE__, "nothing listens on %u after %u ms", port,
				timeout_ms);
		}
		sleep_ms(10);
	}
}

bool pt_wait_log(struct pt *t, pid_t pid, const char *log, const char *s, unsigned timeout_ms)
{
	uint64_t deadline = vh_now_ms() + timeout_ms;
	for (;;) {
		/* The child may not have created its log yet. */
		if (access(pt_path(t, log), F_OK) == 0 && pt_file_contains(t, log, s))
			return true;
		int ws;
		if (waitpid(pid, &ws, WNOHANG) == pid) {
			forget(pid);
			/* It may have written s just before exiting. */
			return access(pt_path(t, log), F_OK) == 0 && pt_file_contains(t, log, s);
		}
		if (vh_now_ms() > deadline)
			return false;
		sleep_ms(10);
	}
}

int pt_wait(pid_t pid, unsigned timeout_ms)
{
	bool timed_out;
	int rc = wait_deadline(pid, timeout_ms, &timed_out);
	forget(pid);
	if (timed_out) {
		kill(-pid, SIGKILL);
		pt_kill_spawned();
		vh_fail(__FILE__, __LINE__, "child %d did not exit within %u ms", (int)pid,
			timeout_ms);
	}
	return rc;
}

/* ---- keys ---- */

void pt_genkey(struct pt *t, const char *name, const char *alg)
{
	char pem[96], pub[96], der[96];
	snprintf(pem, sizeof(pem), "%s.pem", name);
	snprintf(pub, sizeof(pub), "%s.pub.pem", name);
	snprintf(der, sizeof(der), "%s.der", name);
	if (!strcmp(alg, "RSA"))
		PT_OK(t, pt_openssl(t, false, "genpkey", "-algorithm", "RSA", "-pkeyopt",
				    "rsa_keygen_bits:2048", "-out", pem, NULL));
	else if (!strcmp(alg, "P-256") || !strcmp(alg, "P-384"))
		PT_OK(t, pt_openssl(t, false, "genpkey", "-algorithm", "EC", "-pkeyopt",
				    !strcmp(alg, "P-256") ? "ec_paramgen_curve:P-256"
							  : "ec_paramgen_curve:P-384",
				    "-pkeyopt", "ec_param_enc:named_curve", "-out", pem, NULL));
	else
		PT_OK(t, pt_openssl(t, false, "genpkey", "-algorithm", alg, "-out", pem, NULL));
	PT_OK(t, pt_openssl(t, false, "pkey", "-in", pem, "-pubout", "-out", pub, NULL));
	PT_OK(t, pt_openssl(t, false, "pkey", "-in", pem, "-outform", "DER", "-out", der, NULL));
}

static void need_keystore(struct pt *t)
{
	PT_CHECK(vsm_info(t->c)->features & VSM_FEAT_KEYSTORE,
		 "vsmd has no keystore (HELLO features 0x%x)", vsm_info(t->c)->features);
}

void pt_import(struct pt *t, const char *name, int usage, uint32_t index, int type,
	       const char *label, const char *pw)
{
	need_keystore(t);
	if (!pw)
		pw = PT_KEY_PW;
	char der[96];
	snprintf(der, sizeof(der), "%s.der", name);
	size_t len;
	uint8_t *k = pt_read(t, der, &len);
	int rc = vsm_key_import(t->c, usage, index, type, k, len, pw, pw ? strlen(pw) : 0, label);
	OPENSSL_cleanse(k, len);
	free(k);
	PT_CHECK(rc == 0, "vsm_key_import %s (%d, %u): %d (%s, detail %s)", name, usage, index, rc,
		 vsm_strerror(rc), vsm_detail_name(vsm_last_detail(t->c)));
}

void pt_export_pub(struct pt *t, int usage, uint32_t index, const char *name)
{
	need_keystore(t);
	uint8_t der[4096];
	size_t len = sizeof(der);
	int rc = vsm_key_public(t->c, usage, index, der, &len);
	PT_CHECK(rc == 0, "vsm_key_public (%d, %u): %d (%s)", usage, index, rc, vsm_strerror(rc));
	const unsigned char *p = der;
	EVP_PKEY *k = d2i_PUBKEY(NULL, &p, (long)len);
	PT_CHECK(k && p == der + len, "vsm_key_public returned no SPKI DER");
	FILE *f = fopen(pt_path(t, name), "w");
	PT_CHECK(f && PEM_write_PUBKEY(f, k) == 1, "writing %s", name);
	fclose(f);
	EVP_PKEY_free(k);
}

static const char *usage_name(int usage)
{
	return usage == VSM_KU_SIGN ? "sign" : usage == VSM_KU_ENC ? "enc" : "kek";
}

const char *pt_uri_label(const char *label, const char *pw)
{
	static char ring[4][160];
	static unsigned next;
	char *b = ring[next++ % 4];
	if (pw)
		snprintf(b, sizeof(ring[0]), "vsm:label=%s;password=%s", label, pw);
	else
		snprintf(b, sizeof(ring[0]), "vsm:label=%s", label);
	return b;
}

const char *pt_uri_index(int usage, uint32_t index, const char *pw)
{
	static char ring[4][160];
	static unsigned next;
	char *b = ring[next++ % 4];
	if (pw)
		snprintf(b, sizeof(ring[0]), "vsm:index=%u;usage=%s;password=%s", index,
			 usage_name(usage), pw);
	else
		snprintf(b, sizeof(ring[0]), "vsm:index=%u;usage=%s", index, usage_name(usage));
	return b;
}

void pt_write_keyref(struct pt *t, const char *name, const char *uri)
{
	FILE *f = fopen(pt_path(t, name), "w");
	PT_CHECK(f, "cannot write %s", name);
	PT_CHECK(PEM_write(f, "VSM KEY REFERENCE", "", (const unsigned char *)uri,
			   (long)strlen(uri)) > 0,
		 "PEM_write %s", name);
	PT_CHECK(fclose(f) == 0, "writing %s", name);
}

uint64_t pt_ops(struct pt *t)
{
	struct vsm_wire_status st;
	int rc = vsm_status(t->c, &st);
	PT_CHECK(rc == 0, "vsm_status: %d (%s)", rc, vsm_strerror(rc));
	return st.ops;
}
