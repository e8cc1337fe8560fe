/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control socket (docs/control.md) and vsmctl, against a real vsmd:
 * every command's effect as seen through the protocol and through libvsm,
 * the error classes, the administrator check, and framing limits.
 */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define READ_TIMEOUT_MS 10000
#define NONADMIN_UID	10009

/* A vsmd and its control socket (the harness puts it in the daemon's directory). */
struct env {
	struct vh_daemon d;
	char csock[108];
};

static void env_start(struct env *e, const char *sections)
{
	static char keys[64];
	snprintf(keys, sizeof(keys), "admin_uids = %u", (unsigned)getuid());
	struct vh_opts o = {.vsmd_keys = keys, .sections = sections};
	vh_start(&e->d, &o);
	snprintf(e->csock, sizeof(e->csock), "%s/control.sock", e->d.dir);
	/* vsmd opens the control socket just after the one vh_start waits for. */
	uint64_t deadline = vh_now_ms() + 5000;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", e->csock);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		VH_CHECK(fd >= 0, "socket: %s", strerror(errno));
		int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
		if (rc == 0)
			break;
		VH_CHECK(vh_now_ms() < deadline, "control socket %s: %s", e->csock,
			 strerror(errno));
		usleep(2000);
	}
}

static void env_stop(struct env *e)
{
	vh_stop(&e->d);
	/* vsmd removes its socket on the way out. */
	VH_CHECK(access(e->csock, F_OK) != 0, "%s left behind", e->csock);
	vh_cleanup(&e->d);
}

/* "[tenant alice]" for our own uid, so libvsm clients of this process are alice. */
static const char *alice_section(unsigned max_sessions)
{
	static char s[128];
	snprintf(s, sizeof(s), "[tenant alice]\nuids = %u\nmax_sessions = %u\n", (unsigned)getuid(),
		 max_sessions);
	return s;
}

/* ---- a control connection ---- */

struct conn {
	int fd;
	char buf[256 * 1024];
	size_t len;
};

static int raw_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	VH_CHECK(fd >= 0, "socket: %s", strerror(errno));
	VH_CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect %s: %s", path,
		 strerror(errno));
	return fd;
}

/*
 * Next line without its newline (caller frees), or NULL at EOF; *err gets
 * the errno of a failed read (0 for a clean EOF).
 */
static char *read_line(struct conn *c, int *err)
{
	*err = 0;
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			size_t n = (size_t)(nl - c->buf);
			char *line = strndup(c->buf, n);
			VH_CHECK(line, "out of memory");
			memmove(c->buf, nl + 1, c->len - n - 1);
			c->len -= n + 1;
			return line;
		}
		VH_CHECK(c->len < sizeof(c->buf), "response line longer than %zu", sizeof(c->buf));
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		int pr = poll(&p, 1, READ_TIMEOUT_MS);
		VH_CHECK(pr == 1, "no answer within %d ms", READ_TIMEOUT_MS);
		ssize_t r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			*err = r < 0 ? errno : 0;
			VH_CHECK(c->len == 0, "connection ended inside a line");
			return NULL;
		}
		c->len += (size_t)r;
	}
}

static json_t *read_json(struct conn *c)
{
	int err;
	char *line = read_line(c, &err);
	VH_CHECK(line, "connection closed (%s)", err ? strerror(err) : "EOF");
	json_error_t jerr;
	json_t *v = json_loads(line, 0, &jerr);
	VH_CHECK(json_is_object(v), "not a JSON object: '%s' (%s)", line, jerr.text);
	free(line);
	return v;
}

static void send_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		VH_CHECK(w > 0, "send: %s", strerror(errno));
		p += w;
		n -= (size_t)w;
	}
}

static struct conn *ctl_open(struct env *e)
{
	struct conn *c = calloc(1, sizeof(*c));
	VH_CHECK(c, "out of memory");
	c->fd = raw_connect(e->csock);
	json_t *g = read_json(c);
	json_t *vsm = json_object_get(g, "vsm");
	VH_CHECK(json_is_object(vsm), "greeting lacks 'vsm'");
	VH_EQ(json_integer_value(json_object_get(vsm, "protocol")), 1);
	json_decref(g);
	return c;
}

static void ctl_close(struct conn *c)
{
	close(c->fd);
	free(c);
}

/* Send one line (newline added), return the parsed response. */
static json_t *ctl_line(struct conn *c, const char *line)
{
	send_all(c->fd, line, strlen(line));
	send_all(c->fd, "\n", 1);
	return read_json(c);
}

/* Run a command that must succeed; returns its "return" value (owned). */
static json_t *ok(struct conn *c, const char *line)
{
	json_t *r = ctl_line(c, line);
	json_t *ret = json_object_get(r, "return");
	if (!ret) {
		char *s = json_dumps(r, JSON_COMPACT);
		vh_fail(__FILE__, __LINE__, "%s: got %s", line, s ? s : "?");
	}
	json_incref(ret);
	json_decref(r);
	return ret;
}

/* A command that must fail with error class cls. */
static void fails(struct conn *c, const char *line, const char *cls)
{
	json_t *r = ctl_line(c, line);
	const char *got = json_string_value(json_object_get(json_object_get(r, "error"), "class"));
	const char *desc = json_string_value(json_object_get(json_object_get(r, "error"), "desc"));
	if (!got || strcmp(got, cls)) {
		char *s = json_dumps(r, JSON_COMPACT);
		vh_fail(__FILE__, __LINE__, "%s: want error %s, got %s", line, cls, s ? s : "?");
	}
	VH_CHECK(desc && *desc, "%s: error without desc", line);
	VH_CHECK(!json_object_get(r, "return"), "error and return in one response");
	json_decref(r);
}

static json_t *find_by(json_t *arr, const char *key, const char *val)
{
	size_t i;
	json_t *x;
	json_array_foreach(arr, i, x)
	{
		const char *s = json_string_value(json_object_get(x, key));
		if (s && !strcmp(s, val))
			return x;
	}
	return NULL;
}

static long long geti(json_t *o, const char *path)
{
	/* "a.b.c" */
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", path);
	json_t *v = o;
	for (char *save, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
		v = json_object_get(v, k);
	VH_CHECK(json_is_integer(v), "%s is not an integer", path);
	return json_integer_value(v);
}

/* The tenant's entry in query-tenants (owned). */
static json_t *tenant(struct conn *c, const char *name)
{
	json_t *all = ok(c, "{\"execute\":\"query-tenants\"}");
	VH_CHECK(json_is_array(all), "query-tenants returned no array");
	json_t *t = find_by(all, "name", name);
	VH_CHECK(t, "tenant %s not in query-tenants", name);
	json_incref(t);
	json_decref(all);
	return t;
}

/*
 * Wait (up to 2 s) until the tenant has want connections: the harness's
 * start-up probe may still be counted for a moment after vsmd is ready.
 */
static void settle(struct conn *c, const char *name, int64_t want)
{
	for (int i = 0; i < 200; i++) {
		json_t *t = tenant(c, name);
		int64_t n = geti(t, "conns");
		json_decref(t);
		if (n == want)
			return;
		usleep(10000);
	}
}

static uint64_t sha256_session(vsm_client *cl)
{
	return vh_session(cl, VSM_SVC_HASH, VSM_ALG_SHA256, NULL, 0);
}

static uint64_t gcm_session(vsm_client *cl)
{
	static const unsigned char key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
	return vh_session(cl, VSM_SVC_AEAD, VSM_ALG_AES_GCM, key, sizeof(key));
}

/* ---- cases ---- */

static int t_greeting(void)
{
	struct env e;
	env_start(&e, NULL);
	struct stat st;
	VH_CHECK(lstat(e.csock, &st) == 0, "stat %s: %s", e.csock, strerror(errno));
	VH_CHECK(S_ISSOCK(st.st_mode), "not a socket");
	VH_EQ(st.st_mode & 07777, 0600);

	struct conn c = {.fd = raw_connect(e.csock)};
	int err;
	char *g = read_line(&c, &err);
	char want[128];
	snprintf(want, sizeof(want), "{\"vsm\":{\"version\":\"%s\",\"protocol\":1}}",
		 getenv("VSM_VERSION") ? getenv("VSM_VERSION") : "?");
	VH_CHECK(g && !strcmp(g, want), "greeting '%s', want '%s'", g ? g : "(none)", want);
	free(g);

	/* query-version agrees, and any JSON id comes back as it went. */
	json_t *r = ctl_line(&c, "{\"execute\":\"query-version\",\"id\":{\"n\":[1,\"x\"]}}");
	json_t *id = json_pack("{s:[i,s]}", "n", 1, "x");
	VH_CHECK(json_equal(json_object_get(r, "id"), id), "id not echoed");
	json_t *ret = json_object_get(r, "return");
	VH_CHECK(!strcmp(json_string_value(json_object_get(ret, "version")), getenv("VSM_VERSION")),
		 "version differs from the greeting");
	VH_EQ(geti(ret, "protocol"), 1);
	json_decref(id);
	json_decref(r);
	close(c.fd);
	env_stop(&e);
	return 0;
}

static int t_query_tenants(void)
{
	struct env e;
	env_start(&e, alice_section(7));
	struct conn *c = ctl_open(&e);
	settle(c, "alice", 0);
	json_t *t = tenant(c, "alice");
	VH_EQ(geti(t, "conns"), 0);
	json_decref(t);

	vsm_client *cl = vh_connect(e.d.uri);
	sha256_session(cl);
	t = tenant(c, "alice");
	VH_EQ(geti(t, "conns"), 1);
	VH_EQ(geti(t, "sessions"), 1);
	/* inflight drops just after the response is sent: racy to compare, just present. */
	VH_CHECK(geti(t, "inflight") >= 0, "inflight");
	VH_EQ(geti(t, "errors"), 0);
	VH_CHECK(geti(t, "ops") >= 2, "hello and session_create not counted");
	VH_EQ(geti(t, "limits.max_sessions"), 7);
	VH_EQ(geti(t, "limits.max_inflight"), 256);
	VH_EQ(geti(t, "limits.max_msg"), 1048576);
	VH_CHECK(geti(t, "limits.max_conns") > 0, "max_conns");
	VH_EQ(geti(t, "qos.ops_rate"), 0);
	VH_EQ(geti(t, "qos.bytes_rate"), 0);
	json_decref(t);

	vsm_close(cl);
	ctl_close(c);
	env_stop(&e);
	return 0;
}

static void expect_qos(struct conn *c, long long ops, long long ob, long long bytes, long long bb)
{
	json_t *t = tenant(c, "alice");
	VH_EQ(geti(t, "qos.ops_rate"), ops);
	VH_EQ(geti(t, "qos.ops_burst"), ob);
	VH_EQ(geti(t, "qos.bytes_rate"), bytes);
	VH_EQ(geti(t, "qos.bytes_burst"), bb);
	json_decref(t);
}

static int t_set_qos(void)
{
	struct env e;
	env_start(&e, alice_section(16));
	struct conn *c = ctl_open(&e);

	json_t *r = ok(c, "{\"execute\":\"set-qos\",\"arguments\":{\"tenant\":\"alice\","
			  "\"ops_rate\":1000,\"bytes_rate\":5000000,\"bytes_burst\":65536}}");
	VH_CHECK(json_is_object(r) && json_object_size(r) == 0, "set-qos returns {}");
	json_decref(r);
	/* Burst 0 shows as its effective value, a tenth of the rate. */
	expect_qos(c, 1000, 100, 5000000, 65536);

	/* Omitted fields keep their values. */
	json_decref(ok(c, "{\"execute\":\"set-qos\",\"arguments\":{\"tenant\":\"alice\","
			  "\"ops_burst\":7}}"));
	expect_qos(c, 1000, 7, 5000000, 65536);

	/* Out of range or mistyped: refused, nothing changes. */
	static const char *const bad[] = {
		"\"ops_rate\":-1",  "\"ops_rate\":1125899906842625", "\"ops_rate\":\"5\"",
		"\"ops_rate\":1.5", "\"bytes_burst\":true",	     "\"bytes_rate\":null",
		"\"ops\":5"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char line[256];
		snprintf(line, sizeof(line),
			 "{\"execute\":\"set-qos\",\"arguments\":{\"tenant\":\"alice\",%s}}",
			 bad[i]);
		fails(c, line, "InvalidParameter");
	}
	expect_qos(c, 1000, 7, 5000000, 65536);

	/* 2^50 is the largest value taken; 0 lifts the limit. */
	json_decref(ok(c, "{\"execute\":\"set-qos\",\"arguments\":{\"tenant\":\"alice\","
			  "\"ops_rate\":0,\"bytes_rate\":1125899906842624}}"));
	expect_qos(c, 0, 0, 1125899906842624LL, 65536);

	fails(c, "{\"execute\":\"set-qos\",\"arguments\":{\"ops_rate\":1}}", "InvalidParameter");
	fails(c, "{\"execute\":\"set-qos\",\"arguments\":{\"tenant\":\"bob\",\"ops_rate\":1}}",
	      "TenantNotFound");

	/* The limited tenant still gets served. */
	vsm_client *cl = vh_connect(e.d.uri);
	VH_OK(vsm_nop(cl, "x", 1));
	vsm_close(cl);

	ctl_close(c);
	env_stop(&e);
	return 0;
}

static int t_list_sessions(void)
{
	struct env e;
	env_start(&e, alice_section(16));
	struct conn *c = ctl_open(&e);
	json_t *l = ok(c, "{\"execute\":\"list-sessions\",\"arguments\":{\"tenant\":\"alice\"}}");
	VH_EQ(json_array_size(l), 0);
	json_decref(l);

	vsm_client *cl = vh_connect(e.d.uri);
	uint64_t h1 = sha256_session(cl);
	uint64_t h2 = gcm_session(cl);
	l = ok(c, "{\"execute\":\"list-sessions\",\"arguments\":{\"tenant\":\"alice\"}}");
	VH_EQ(json_array_size(l), 2);
	char hs[24];
	snprintf(hs, sizeof(hs), "0x%016llx", (unsigned long long)h1);
	json_t *s = find_by(l, "handle", hs);
	VH_CHECK(s, "session %s not listed", hs);
	VH_CHECK(!strcmp(json_string_value(json_object_get(s, "service")), "hash"), "service");
	VH_CHECK(!strcmp(json_string_value(json_object_get(s, "alg")), "sha256"), "alg");
	double age = json_number_value(json_object_get(s, "age_seconds"));
	VH_CHECK(json_is_number(json_object_get(s, "age_seconds")) && age >= 0, "age_seconds");
	snprintf(hs, sizeof(hs), "0x%016llx", (unsigned long long)h2);
	s = find_by(l, "handle", hs);
	VH_CHECK(s, "session %s not listed", hs);
	VH_CHECK(!strcmp(json_string_value(json_object_get(s, "service")), "aead"), "service");
	VH_CHECK(!strcmp(json_string_value(json_object_get(s, "alg")), "aes-gcm"), "alg");
	json_decref(l);

	VH_OK(vsm_session_destroy(cl, h1));
	l = ok(c, "{\"execute\":\"list-sessions\",\"arguments\":{\"tenant\":\"alice\"}}");
	VH_EQ(json_array_size(l), 1);
	json_decref(l);

	vsm_close(cl);
	ctl_close(c);
	env_stop(&e);
	return 0;
}

static int t_disconnect(void)
{
	struct env e;
	env_start(&e, alice_section(16));
	struct conn *c = ctl_open(&e);
	vsm_client *cl = vh_connect(e.d.uri);
	sha256_session(cl);
	VH_OK(vsm_nop(cl, "ping", 4));
	settle(c, "alice", 1);

	json_t *r =
		ok(c, "{\"execute\":\"disconnect-tenant\",\"arguments\":{\"tenant\":\"alice\"}}");
	VH_EQ(geti(r, "connections"), 1);
	json_decref(r);
	json_t *t = tenant(c, "alice");
	VH_EQ(geti(t, "conns"), 0);
	json_decref(t);

	int rc = vsm_nop(cl, "ping", 4);
	VH_CHECK(rc < 0, "call after disconnect-tenant returned %d (%s), want a negative errno", rc,
		 vsm_strerror(rc));
	vsm_close(cl);

	/* The tenant may come back. */
	cl = vh_connect(e.d.uri);
	VH_OK(vsm_nop(cl, "ping", 4));
	vsm_close(cl);
	ctl_close(c);
	env_stop(&e);
	return 0;
}

static void rewrite(const char *path, const char *from, const char *to)
{
	FILE *f = fopen(path, "r");
	VH_CHECK(f, "open %s", path);
	char buf[4096];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *at = strstr(buf, from);
	VH_CHECK(at, "'%s' not in %s", from, path);
	f = fopen(path, "w");
	VH_CHECK(f, "write %s", path);
	fwrite(buf, 1, (size_t)(at - buf), f);
	fputs(to, f);
	fputs(at + strlen(from), f);
	VH_CHECK(fclose(f) == 0, "write %s", path);
}

static int t_reload(void)
{
	struct env e;
	env_start(&e, alice_section(7));
	struct conn *c = ctl_open(&e);
	json_t *t = tenant(c, "alice");
	VH_EQ(geti(t, "limits.max_sessions"), 7);
	json_decref(t);

	rewrite(e.d.conf, "max_sessions = 7", "max_sessions = 9");
	json_t *r = ok(c, "{\"execute\":\"reload-config\"}");
	VH_CHECK(json_is_string(json_object_get(r, "note")), "reload-config returns a note");
	json_decref(r);
	t = tenant(c, "alice");
	VH_EQ(geti(t, "limits.max_sessions"), 9);
	json_decref(t);

	/* A broken file is reported and the running configuration kept. */
	rewrite(e.d.conf, "max_sessions = 9", "max_sessions = 11\nno_such_key = 1");
	fails(c, "{\"execute\":\"reload-config\"}", "GenericError");
	t = tenant(c, "alice");
	VH_EQ(geti(t, "limits.max_sessions"), 9);
	json_decref(t);
	fails(c, "{\"execute\":\"reload-config\",\"arguments\":{\"file\":\"/etc/passwd\"}}",
	      "InvalidParameter");

	ctl_close(c);
	env_stop(&e);
	return 0;
}

static json_t *cell(json_t *tenant_stats, const char *svc, const char *op)
{
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(tenant_stats, "stats"), i, x)
	{
		if (!strcmp(json_string_value(json_object_get(x, "service")), svc) &&
		    !strcmp(json_string_value(json_object_get(x, "op")), op))
			return x;
	}
	vh_fail(__FILE__, __LINE__, "no %s/%s cell", svc, op);
}

static void check_exact(json_t *x, long long ops)
{
	static const char *const st[] = {"err",	    "badmsg", "notsupp",
					 "invsess", "nospc",  "key_rejected"};
	VH_EQ(geti(x, "ops"), ops);
	VH_EQ(geti(x, "status.ok"), ops);
	for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		char k[32];
		snprintf(k, sizeof(k), "status.%s", st[i]);
		VH_EQ(geti(x, k), 0);
	}
	VH_EQ(geti(x, "latency.count"), ops);
	json_t *lat = json_object_get(x, "latency");
	double p50 = json_number_value(json_object_get(lat, "p50"));
	double p99 = json_number_value(json_object_get(lat, "p99"));
	double max = json_number_value(json_object_get(lat, "max"));
	VH_CHECK(p50 > 0 && p50 <= p99 && p99 <= max, "quantiles %g %g %g", p50, p99, max);
	VH_EQ(geti(x, "qos_wait.count"), 0);
}

static int t_query_stats(void)
{
	struct env e;
	env_start(&e, alice_section(16));
	struct conn *c = ctl_open(&e);
	vsm_client *cl = vh_connect(e.d.uri);
	uint64_t hs = sha256_session(cl);
	uint64_t hg = gcm_session(cl);
	unsigned char in[100] = {0}, out[256], iv[12] = {0};
	for (int i = 0; i < 37; i++) {
		size_t n = sizeof(out);
		VH_OK(vsm_digest(cl, hs, in, sizeof(in), out, &n));
		VH_EQ(n, 32);
	}
	for (int i = 0; i < 5; i++) {
		size_t n = sizeof(out);
		iv[0] = (unsigned char)i;
		VH_OK(vsm_encrypt(cl, hg, iv, sizeof(iv), in, 64, out, &n));
	}

	json_t *r = ok(c, "{\"execute\":\"query-stats\",\"arguments\":{\"tenant\":\"alice\"}}");
	VH_CHECK(json_is_number(json_object_get(r, "uptime_seconds")), "uptime_seconds");
	json_t *ts = json_object_get(r, "tenants");
	VH_EQ(json_array_size(ts), 1);
	json_t *a = json_array_get(ts, 0);
	VH_CHECK(!strcmp(json_string_value(json_object_get(a, "name")), "alice"), "name");
	VH_CHECK(geti(a, "inflight") >= 0, "inflight");

	json_t *d = cell(a, "hash", "digest");
	check_exact(d, 37);
	VH_EQ(geti(d, "bytes_in"), 37 * 100);
	VH_EQ(geti(d, "bytes_out"), 37 * 32);
	json_t *g = cell(a, "aead", "encrypt");
	check_exact(g, 5);
	VH_EQ(geti(g, "bytes_in"), 5 * 64);
	VH_EQ(geti(cell(a, "hash", "session_create"), "ops"), 1);
	VH_EQ(geti(cell(a, "aead", "session_create"), "ops"), 1);
	/* Only cells that saw requests. */
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(a, "stats"), i, x)
	{
		VH_CHECK(geti(x, "ops") > 0, "cell with ops 0");
	}

	VH_EQ(json_array_size(json_object_get(r, "workers")), 2);
	json_t *eng = json_array_get(json_object_get(r, "engines"), 0);
	VH_CHECK(eng && geti(eng, "ops") >= 42, "engine ops");
	json_decref(r);

	/* Without a tenant: all of them, alice included. */
	r = ok(c, "{\"execute\":\"query-stats\"}");
	VH_CHECK(find_by(json_object_get(r, "tenants"), "name", "alice"), "alice missing");
	json_decref(r);
	fails(c, "{\"execute\":\"query-stats\",\"arguments\":{\"tenant\":5}}", "InvalidParameter");
	fails(c, "{\"execute\":\"query-stats\",\"arguments\":{\"tenant\":\"zed\"}}",
	      "TenantNotFound");

	vsm_close(cl);
	ctl_close(c);
	env_stop(&e);
	return 0;
}

static int t_errors(void)
{
	struct env e;
	env_start(&e, alice_section(16));
	struct conn *c = ctl_open(&e);

	/* Not JSON, then the same connection still works. */
	fails(c, "{\"execute\": nope", "ParseError");
	json_decref(ok(c, "{\"execute\":\"query-version\"}"));
	fails(c, "[\"query-version\"]", "ParseError");
	fails(c, "{\"execute\":\"query-version\"} trailing", "ParseError");
	fails(c, "{\"execute\":\"query-version\",\"execute\":\"query-tenants\"}", "ParseError");

	fails(c, "{\"execute\":\"format-disk\"}", "CommandNotFound");
	fails(c, "{\"execute\":5}", "InvalidParameter");
	fails(c, "{\"arguments\":{}}", "InvalidParameter");
	fails(c, "{\"execute\":\"query-tenants\",\"arguments\":[]}", "InvalidParameter");
	fails(c, "{\"execute\":\"query-tenants\",\"bogus\":1}", "InvalidParameter");
	fails(c, "{\"execute\":\"list-sessions\"}", "InvalidParameter");
	fails(c, "{\"execute\":\"disconnect-tenant\",\"arguments\":{}}", "InvalidParameter");
	fails(c, "{\"execute\":\"list-sessions\",\"arguments\":{\"tenant\":[\"alice\"]}}",
	      "InvalidParameter");
	fails(c, "{\"execute\":\"disconnect-tenant\",\"arguments\":{\"tenant\":\"ghost\"}}",
	      "TenantNotFound");
	fails(c,
	      "{\"execute\":\"list-sessions\",\"arguments\":{\"tenant\":\"alice-but-much-"
	      "longer-than-any-tenant-name-can-be\"}}",
	      "TenantNotFound");

	/* Errors echo the id too; blank lines get no answer. */
	send_all(c->fd, "\n  \r\n", 5);
	json_t *r = ctl_line(c, "{\"execute\":\"nope\",\"id\":42}");
	VH_EQ(json_integer_value(json_object_get(r, "id")), 42);
	json_decref(r);

	/* Two requests in one write: two answers, in order. */
	const char two[] = "{\"execute\":\"query-version\",\"id\":1}\n"
			   "{\"execute\":\"query-version\",\"id\":2}\n";
	send_all(c->fd, two, sizeof(two) - 1);
	r = read_json(c);
	VH_EQ(json_integer_value(json_object_get(r, "id")), 1);
	json_decref(r);
	r = read_json(c);
	VH_EQ(json_integer_value(json_object_get(r, "id")), 2);
	json_decref(r);

	/* A NUL inside the line is not JSON. */
	send_all(c->fd, "{\"execute\":\0\"x\"}\n", 17);
	r = read_json(c);
	VH_CHECK(!strcmp(json_string_value(json_object_get(json_object_get(r, "error"), "class")),
			 "ParseError"),
		 "NUL");
	json_decref(r);

	ctl_close(c);
	env_stop(&e);
	return 0;
}

static void nonadmin_child(void *arg)
{
	const char *path = arg;
	VH_CHECK(setresgid(NONADMIN_UID, NONADMIN_UID, NONADMIN_UID) == 0, "setresgid: %s",
		 strerror(errno));
	VH_CHECK(setresuid(NONADMIN_UID, NONADMIN_UID, NONADMIN_UID) == 0, "setresuid: %s",
		 strerror(errno));
	struct conn *c = calloc(1, sizeof(*c));
	VH_CHECK(c, "out of memory");
	c->fd = raw_connect(path);
	json_t *r = read_json(c);
	const char *cls = json_string_value(json_object_get(json_object_get(r, "error"), "class"));
	VH_CHECK(cls && !strcmp(cls, "PermissionDenied"), "want PermissionDenied, got %s",
		 cls ? cls : "no error");
	VH_CHECK(!json_object_get(r, "vsm"), "greeting sent to a non-admin");
	json_decref(r);
	int err;
	char *more = read_line(c, &err);
	VH_CHECK(!more && err == 0, "want EOF after PermissionDenied, got %s",
		 more ? more : strerror(err));
	ctl_close(c);
}

static int t_nonadmin(void)
{
	if (geteuid() != 0) {
		printf("not root: cannot act as another uid\n");
		return VH_SKIP;
	}
	struct env e;
	env_start(&e, NULL);
	/* Open the file mode so the uid check in vsmd is what stops the peer. */
	VH_CHECK(chmod(e.csock, 0666) == 0, "chmod: %s", strerror(errno));
	pid_t pid = vh_fork(nonadmin_child, e.csock);
	VH_EQ(vh_child_wait(pid, 20000), 0);
	VH_CHECK(vh_log_contains(&e.d, "refused uid 10009"), "refusal not logged");
	/* The administrator is still served. */
	struct conn *c = ctl_open(&e);
	json_decref(ok(c, "{\"execute\":\"query-version\"}"));
	ctl_close(c);
	env_stop(&e);
	return 0;
}

static int t_long_line(void)
{
	struct env e;
	env_start(&e, NULL);
	struct conn *c = ctl_open(&e);
	/* Exactly the limit is still a request (an invalid one). */
	size_t max = 64 * 1024;
	char *big = malloc(max + 5000);
	VH_CHECK(big, "out of memory");
	memset(big, ' ', max);
	memcpy(big + max - 30, "{\"execute\":\"query-version\"}", 27);
	big[max] = '\n';
	send_all(c->fd, big, max + 1);
	json_t *r = read_json(c);
	VH_CHECK(json_object_get(r, "return"), "a 65536-byte line is allowed");
	json_decref(r);

	/* One byte more, no newline: ParseError, then the connection ends. */
	memset(big, 'a', max + 5000);
	send_all(c->fd, big, max + 5000);
	r = read_json(c);
	const char *cls = json_string_value(json_object_get(json_object_get(r, "error"), "class"));
	VH_CHECK(cls && !strcmp(cls, "ParseError"), "want ParseError");
	json_decref(r);
	int err;
	char *more = read_line(c, &err);
	/* Unread bytes may turn the close into a reset: both end the connection. */
	VH_CHECK(!more && (err == 0 || err == ECONNRESET), "connection not closed: %s",
		 more ? more : strerror(err));
	free(big);
	ctl_close(c);

	c = ctl_open(&e);
	json_decref(ok(c, "{\"execute\":\"query-version\"}"));
	ctl_close(c);
	env_stop(&e);
	return 0;
}

/* ---- vsmctl ---- */

static const char *vsmctl_path(void)
{
	const char *p = getenv("VSMCTL");
	VH_CHECK(p && *p, "VSMCTL is not set");
	return p;
}

/* Run a shell command line; returns its exit status and stdout (caller frees). */
static int run(const char *cmdline, char **out)
{
	FILE *f = popen(cmdline, "r");
	VH_CHECK(f, "popen: %s", strerror(errno));
	size_t cap = 65536, len = 0, n;
	char *buf = malloc(cap);
	VH_CHECK(buf, "out of memory");
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 2) {
			cap *= 2;
			buf = realloc(buf, cap);
			VH_CHECK(buf, "out of memory");
		}
	}
	buf[len] = 0;
	int ws = pclose(f);
	VH_CHECK(ws != -1 && WIFEXITED(ws), "%s did not exit normally", cmdline);
	if (out)
		*out = buf;
	else
		free(buf);
	return WEXITSTATUS(ws);
}

static int t_vsmctl_json(void)
{
	struct env e;
	env_start(&e, alice_section(16));
	vsm_client *cl = vh_connect(e.d.uri);
	struct conn *sc = ctl_open(&e);
	settle(sc, "alice", 1);
	ctl_close(sc);
	char cmd[512], *out;
	snprintf(cmd, sizeof(cmd), "%s -S %s --json tenants", vsmctl_path(), e.csock);
	VH_EQ(run(cmd, &out), 0);
	json_error_t jerr;
	json_t *v = json_loads(out, 0, &jerr);
	VH_CHECK(json_is_array(v), "vsmctl --json tenants: not a JSON array: %s (%s)", out,
		 jerr.text);
	json_t *a = find_by(v, "name", "alice");
	VH_CHECK(a, "alice missing");
	VH_EQ(geti(a, "conns"), 1);
	json_decref(v);
	free(out);

	/* The table names the tenant too. */
	snprintf(cmd, sizeof(cmd), "%s -S %s tenants", vsmctl_path(), e.csock);
	VH_EQ(run(cmd, &out), 0);
	VH_CHECK(strstr(out, "TENANT") && strstr(out, "\nalice "), "table: %s", out);
	free(out);

	snprintf(cmd, sizeof(cmd), "%s -S %s --json stats alice", vsmctl_path(), e.csock);
	VH_EQ(run(cmd, &out), 0);
	v = json_loads(out, 0, &jerr);
	VH_CHECK(json_is_object(v) && json_array_size(json_object_get(v, "tenants")) == 1,
		 "vsmctl --json stats alice: %s", out);
	json_decref(v);
	free(out);

	vsm_close(cl);
	env_stop(&e);
	return 0;
}

static int t_vsmctl_set_qos(void)
{
	struct env e;
	env_start(&e, alice_section(16));
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "%s -S %s set-qos alice --ops 2k --bps 1M --bps-burst=64k",
		 vsmctl_path(), e.csock);
	VH_EQ(run(cmd, NULL), 0);
	struct conn *c = ctl_open(&e);
	expect_qos(c, 2000, 200, 1000000, 64000);
	ctl_close(c);

	/* Command errors exit 1, an unreachable vsmd 2. */
	snprintf(cmd, sizeof(cmd), "%s -S %s set-qos ghost --ops 1 2>/dev/null", vsmctl_path(),
		 e.csock);
	VH_EQ(run(cmd, NULL), 1);
	snprintf(cmd, sizeof(cmd), "%s -S %s set-qos alice --ops -5 2>/dev/null", vsmctl_path(),
		 e.csock);
	VH_EQ(run(cmd, NULL), 1);
	snprintf(cmd, sizeof(cmd), "%s -S %s/nothing-here tenants 2>/dev/null", vsmctl_path(),
		 e.d.dir);
	VH_EQ(run(cmd, NULL), 2);
	env_stop(&e);
	return 0;
}

static int t_vsmctl_help(void)
{
	char cmd[512], *out;
	snprintf(cmd, sizeof(cmd), "%s --help", vsmctl_path());
	VH_EQ(run(cmd, &out), 0);
	VH_CHECK(strstr(out, "Usage: vsmctl") && strstr(out, "set-qos") && strstr(out, "Examples:"),
		 "help text: %s", out);
	free(out);
	snprintf(cmd, sizeof(cmd), "%s frobnicate 2>/dev/null", vsmctl_path());
	VH_EQ(run(cmd, NULL), 1);
	return 0;
}

static const struct vh_case cases[] = {
	{"greeting", t_greeting, 30},	    {"query-tenants", t_query_tenants, 30},
	{"set-qos", t_set_qos, 30},	    {"list-sessions", t_list_sessions, 30},
	{"disconnect", t_disconnect, 30},   {"reload", t_reload, 30},
	{"query-stats", t_query_stats, 30}, {"errors", t_errors, 30},
	{"nonadmin", t_nonadmin, 30},	    {"long-line", t_long_line, 30},
	{"vsmctl-json", t_vsmctl_json, 30}, {"vsmctl-set-qos", t_vsmctl_set_qos, 30},
	{"vsmctl-help", t_vsmctl_help, 30},
};

int main(int argc, char **argv)
{
	return vh_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
