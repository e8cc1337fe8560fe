/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Crash safety: a real vsmd creates keys for a control-socket client (as
 * vsmctl does) and is killed with SIGKILL at a random moment, again and
 * again (VSM_CRASH_LOOPS, default 100). After every restart each key whose
 * creation was acknowledged must be listed and its public key exported;
 * keys that were in flight may exist or not, but if they exist they work
 * too. When vsmd offers VSM_FEAT_KEYSTORE over the data socket, one
 * acknowledged key per round also signs through libvsm (an internal-key
 * session) and OpenSSL verifies the signature with the exported key.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
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

#include <vsm/vsm.h>

#define MAX_KEYS	  20000
#define START_TIMEOUT_MS  10000
#define KILL_MAX_DELAY_US 30000

struct daemon {
	char dir[64], conf[128], log[128], sock[128], ctl[128], uri[140];
	pid_t pid;
};

static struct daemon d;
static char tenant[40];

/* 0 never created, 1 acknowledged, 2 in flight when vsmd died (may or may not exist). */
static uint8_t state[MAX_KEYS + 1];
static bool checked[MAX_KEYS + 1];
static bool with_pw[MAX_KEYS + 1];
static bool sign_checks;
static unsigned signs_done;

static void cleanup(void)
{
	static const char *const files[] = {"vsmd.conf",       "vsmd.log",    "vsmd.sock",
					    "control.sock",    "keystore.db", "keystore.db-wal",
					    "keystore.db-shm", "master.key"};
	if (d.pid > 0) {
		kill(d.pid, SIGKILL);
		waitpid(d.pid, NULL, 0);
		d.pid = 0;
	}
	if (!d.dir[0] || getenv("VSM_CRASH_KEEP"))
		return;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char p[192];
		snprintf(p, sizeof(p), "%s/%s", d.dir, files[i]);
		unlink(p);
	}
	rmdir(d.dir);
}

static __attribute__((noreturn, format(printf, 2, 3))) void fail(int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "FAIL test_crash.c:%d: ", line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "tail -n 30 %s >&2", d.log);
	if (system(cmd) < 0)
		perror("system");
	cleanup();
	exit(1);
}

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fail(__LINE__, __VA_ARGS__);                                               \
	} while (0)

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_us(unsigned us)
{
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};
	nanosleep(&ts, NULL);
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	close(fd);
	return -1;
}

static void write_config(void)
{
	FILE *f = fopen(d.conf, "w");
	CHECK(f, "%s: %s", d.conf, strerror(errno));
	fprintf(f,
		"[vsmd]\nworkers = 1\nlog_level = info\nunix_socket = %s\nsocket_mode = 0600\n"
		"control_socket = %s\nmetrics_listen =\n",
		d.sock, d.ctl);
	if (getuid() != 0)
		fprintf(f, "admin_uids = %u\n", (unsigned)getuid());
	fprintf(f,
		"\n[keystore]\npath = %s/keystore.db\nmaster_key = %s/master.key\n"
		"kdf_iterations = 1000\nmax_keys = %u\n",
		d.dir, d.dir, MAX_KEYS);
	CHECK(fclose(f) == 0, "writing %s", d.conf);
}

static void start(void)
{
	const char *vsmd = getenv("VSMD");
	CHECK(vsmd && *vsmd, "VSMD is not set: run through meson test");
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(d.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execl(vsmd, "vsmd", "-c", d.conf, (char *)NULL);
		_exit(127);
	}
	d.pid = pid;
	uint64_t deadline = now_ms() + START_TIMEOUT_MS;
	for (;;) {
		int ws;
		if (waitpid(pid, &ws, WNOHANG) == pid) {
			d.pid = 0;
			fail(__LINE__, "vsmd exited during start-up (status 0x%x)", ws);
		}
		int a = unix_connect(d.ctl), b = a >= 0 ? unix_connect(d.sock) : -1;
		if (a >= 0)
			close(a);
		if (b >= 0) {
			close(b);
			return;
		}
		CHECK(now_ms() < deadline, "vsmd did not start within %d ms", START_TIMEOUT_MS);
		sleep_us(2000);
	}
}

/* ---- control socket ---- */

struct ctl {
	int fd;
	FILE *in;
};

static void ctl_open(struct ctl *c)
{
	c->fd = unix_connect(d.ctl);
	CHECK(c->fd >= 0, "cannot connect to %s", d.ctl);
	c->in = fdopen(c->fd, "r");
	CHECK(c->in, "fdopen");
	char *line = NULL;
	size_t cap = 0;
	CHECK(getline(&line, &cap, c->in) > 0 && strstr(line, "\"vsm\""), "no greeting");
	free(line);
}

static void ctl_close(struct ctl *c)
{
	fclose(c->in);
}

/* The response, or NULL when the connection broke (vsmd died). */
static json_t *ctl_call(struct ctl *c, json_t *req)
{
	char *s = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	CHECK(s, "json_dumps");
	size_t n = strlen(s);
	s[n++] = '\n';
	bool ok = send(c->fd, s, n, MSG_NOSIGNAL) == (ssize_t)n;
	free(s);
	if (!ok)
		return NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t got = getline(&line, &cap, c->in);
	json_t *resp = got > 0 ? json_loadb(line, (size_t)got, 0, NULL) : NULL;
	free(line);
	return resp;
}

static json_t *ctl_ok(struct ctl *c, json_t *req, const char *what)
{
	json_t *resp = ctl_call(c, req);
	CHECK(resp, "%s: no answer", what);
	json_t *ret = json_object_get(resp, "return");
	CHECK(ret, "%s: %s", what,
	      json_string_value(json_object_get(json_object_get(resp, "error"), "desc")));
	json_incref(ret);
	json_decref(resp);
	return ret;
}

static const char *type_of(unsigned i)
{
	return i % 2 ? "sm2" : "ecdsa-p256";
}

/* ---- checks ---- */

static EVP_PKEY *export_public(struct ctl *c, unsigned i)
{
	json_t *ret =
		ctl_ok(c,
		       json_pack("{s:s,s:{s:s,s:s,s:i}}", "execute", "key-export-public",
				 "arguments", "tenant", tenant, "usage", "sign", "index", (int)i),
		       "key-export-public");
	const char *pem = json_string_value(json_object_get(ret, "pem"));
	CHECK(pem, "no pem in the answer");
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pk = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	BIO_free(b);
	json_decref(ret);
	CHECK(pk, "key %u: the exported PEM does not parse", i);
	CHECK(EVP_PKEY_is_a(pk, i % 2 ? "SM2" : "EC"), "key %u: wrong key type", i);
	return pk;
}

/* Sign through vsmd with the internal key, verify here with its exported public key. */
static void sign_check(unsigned i, EVP_PKEY *pk)
{
	vsm_client *c;
	CHECK(vsm_connect(d.uri, &c) == 0, "vsm_connect %s", d.uri);
	if (!(vsm_info(c)->features & VSM_FEAT_KEYSTORE)) {
		vsm_close(c);
		return;
	}
	sign_checks = true;
	struct vsm_session_params p = {.service = VSM_SVC_AKCIPHER, .alg = VSM_ALG_ECDSA};
	uint64_t h;
	int rc = vsm_session_create_internal(c, &p, VSM_KU_SIGN, i, with_pw[i] ? "pw" : NULL,
					     with_pw[i] ? 2 : 0, &h);
	CHECK(rc == 0, "internal session on key %u: %s (%s)", i, vsm_strerror(rc),
	      vsm_detail_name(vsm_last_detail(c)));
	static const char msg[] = "crash-test message";
	uint8_t sig[256];
	size_t sl = sizeof(sig);
	rc = vsm_sign(c, h, msg, sizeof(msg), sig, &sl);
	CHECK(rc == 0, "sign with key %u: %s (%s)", i, vsm_strerror(rc),
	      vsm_detail_name(vsm_last_detail(c)));
	vsm_close(c);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	CHECK(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
		      EVP_DigestVerify(md, sig, sl, (const uint8_t *)msg, sizeof(msg)) == 1,
	      "key %u: vsmd's signature does not verify", i);
	EVP_MD_CTX_free(md);
	signs_done++;
}

/* Every acknowledged key is listed; those not checked yet export (and sign). */
static void verify(struct ctl *c, unsigned next, bool all)
{
	json_t *list = ctl_ok(
		c, json_pack("{s:s,s:{s:s}}", "execute", "key-list", "arguments", "tenant", tenant),
		"key-list");
	static bool listed[MAX_KEYS + 1];
	memset(listed, 0, sizeof(listed));
	size_t k;
	json_t *x;
	json_array_foreach(list, k, x)
	{
		json_int_t i = json_integer_value(json_object_get(x, "index"));
		CHECK(i >= 1 && i < next && state[i], "key %lld was never requested", (long long)i);
		CHECK(!strcmp(json_string_value(json_object_get(x, "type")), type_of((unsigned)i)),
		      "key %lld has the wrong type", (long long)i);
		listed[i] = true;
	}
	json_decref(list);
	unsigned signer = 0;
	for (unsigned i = 1; i < next; i++) {
		if (state[i] == 1)
			CHECK(listed[i], "acknowledged key %u is missing after a crash", i);
		if (!listed[i] || (checked[i] && !all))
			continue;
		EVP_PKEY *pk = export_public(c, i);
		if (i % 2 == 0 && (!signer || all))
			sign_check(i, pk);
		signer = i;
		EVP_PKEY_free(pk);
		checked[i] = true;
	}
}

/* ---- the crash loop ---- */

struct killer {
	pid_t pid;
	unsigned delay_us;
};

static void *kill_later(void *arg)
{
	struct killer *k = arg;
	sleep_us(k->delay_us);
	kill(k->pid, SIGKILL);
	return NULL;
}

/* Create keys until vsmd dies under us; returns the next free index. */
static unsigned create_until_killed(struct ctl *c, unsigned next)
{
	for (;;) {
		CHECK(next <= MAX_KEYS, "out of key indexes: lower VSM_CRASH_LOOPS");
		unsigned i = next++;
		/* ECDSA keys get a password (private use needs one), SM2 keys none. */
		with_pw[i] = i % 2 == 0;
		json_t *args = json_pack("{s:s,s:s,s:i,s:s}", "tenant", tenant, "usage", "sign",
					 "index", (int)i, "type", type_of(i));
		if (with_pw[i])
			json_object_set_new(args, "password", json_string("pw"));
		state[i] = 2;
		json_t *resp = ctl_call(
			c, json_pack("{s:s,s:o}", "execute", "key-create", "arguments", args));
		if (!resp)
			return next;
		CHECK(json_object_get(resp, "return"), "key-create %u: %s", i,
		      json_string_value(json_object_get(json_object_get(resp, "error"), "desc")));
		state[i] = 1;
		json_decref(resp);
	}
}

int main(void)
{
	const char *env = getenv("VSM_CRASH_LOOPS");
	unsigned loops = env ? (unsigned)strtoul(env, NULL, 10) : 100;
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	srand(seed);
	snprintf(d.dir, sizeof(d.dir), "/tmp/vsm-crash-XXXXXX");
	CHECK(mkdtemp(d.dir), "mkdtemp: %s", strerror(errno));
	snprintf(d.conf, sizeof(d.conf), "%s/vsmd.conf", d.dir);
	snprintf(d.log, sizeof(d.log), "%s/vsmd.log", d.dir);
	snprintf(d.sock, sizeof(d.sock), "%s/vsmd.sock", d.dir);
	snprintf(d.ctl, sizeof(d.ctl), "%s/control.sock", d.dir);
	snprintf(d.uri, sizeof(d.uri), "unix:%s", d.sock);
	snprintf(tenant, sizeof(tenant), "uid-%u", (unsigned)getuid());
	write_config();
	signal(SIGPIPE, SIG_IGN);

	unsigned next = 1, acked = 0;
	for (unsigned round = 0; round < loops; round++) {
		struct ctl c;
		start();
		ctl_open(&c);
		verify(&c, next, false);
		/* Let a few keys through first now and then, then die at any moment. */
		struct killer k = {d.pid, (unsigned)rand() % KILL_MAX_DELAY_US};
		pthread_t th;
		CHECK(pthread_create(&th, NULL, kill_later, &k) == 0, "pthread_create");
		next = create_until_killed(&c, next);
		pthread_join(th, NULL);
		int ws;
		CHECK(waitpid(d.pid, &ws, 0) == d.pid, "waitpid");
		CHECK(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL, "vsmd ended by itself: 0x%x", ws);
		d.pid = 0;
		ctl_close(&c);
	}
	struct ctl c;
	start();
	ctl_open(&c);
	verify(&c, next, true);
	ctl_close(&c);
	for (unsigned i = 1; i < next; i++)
		acked += state[i] == 1;
	kill(d.pid, SIGTERM);
	int ws;
	CHECK(waitpid(d.pid, &ws, 0) == d.pid && WIFEXITED(ws) && WEXITSTATUS(ws) == 0,
	      "vsmd did not exit cleanly after SIGTERM: 0x%x", ws);
	d.pid = 0;
	printf("%u crashes, %u keys requested, %u acknowledged, all present and exported; "
	       "%s (seed %u)\n",
	       loops, next - 1, acked,
	       sign_checks ? "signatures through vsmd verified"
			   : "no VSM_FEAT_KEYSTORE yet: sign check skipped",
	       seed);
	if (sign_checks)
		printf("%u signatures verified\n", signs_done);
	cleanup();
	return 0;
}
