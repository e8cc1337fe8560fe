/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prometheus /metrics: a known workload through libvsm, then a scrape over
 * a plain HTTP/1.0 socket, parsed line by line, with exact values.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "harness.h"

/* ---- HTTP ---- */

struct http_resp {
	int status;
	char ctype[128];
	char *body; /* NUL-terminated; free() it */
	size_t body_len;
};

static int http_connect(unsigned port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	VH_CHECK(fd >= 0, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	struct timeval tv = {.tv_sec = 10};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* vsmd starts /metrics just after its unix socket: allow it a moment. */
static void http_req(unsigned port, const char *method, const char *path, struct http_resp *r)
{
	int fd;
	uint64_t deadline = vh_now_ms() + 5000;
	while ((fd = http_connect(port)) < 0 && errno == ECONNREFUSED && vh_now_ms() < deadline)
		usleep(10000);
	VH_CHECK(fd >= 0, "connect 127.0.0.1:%u: %s", port, strerror(errno));
	char req[256];
	int n = snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: 127.0.0.1:%u\r\n\r\n", method,
			 path, port);
	VH_CHECK(write(fd, req, (size_t)n) == n, "write: %s", strerror(errno));
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	VH_CHECK(buf, "out of memory");
	for (;;) {
		if (cap - len < 4096) {
			cap *= 2;
			buf = realloc(buf, cap);
			VH_CHECK(buf, "out of memory");
		}
		ssize_t got = read(fd, buf + len, cap - len - 1);
		VH_CHECK(got >= 0, "read: %s", strerror(errno));
		if (got == 0)
			break;
		len += (size_t)got;
	}
	close(fd);
	buf[len] = 0;

	memset(r, 0, sizeof(*r));
	VH_CHECK(sscanf(buf, "HTTP/1.%*d %d", &r->status) == 1, "bad status line: %.80s", buf);
	char *end = strstr(buf, "\r\n\r\n");
	VH_CHECK(end, "no end of headers");
	*end = 0;
	for (char *h = strstr(buf, "\r\n"); h; h = strstr(h + 2, "\r\n")) {
		if (!strncasecmp(h + 2, "Content-Type:", 13)) {
			const char *v = h + 2 + 13;
			v += strspn(v, " ");
			snprintf(r->ctype, sizeof(r->ctype), "%.*s", (int)strcspn(v, "\r"), v);
		}
	}
	r->body_len = len - (size_t)(end + 4 - buf);
	r->body = malloc(r->body_len + 1);
	VH_CHECK(r->body, "out of memory");
	memcpy(r->body, end + 4, r->body_len + 1);
	free(buf);
}

/* ---- the exposition format ---- */

struct sample {
	char *key; /* name{labels} as written */
	double v;
};

struct scrape {
	struct sample *s;
	size_t n;
	char *text; /* cut into samples by parse() */
	size_t len;
};

static bool name_char(char ch, bool first)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == ':' ||
	       (!first && ch >= '0' && ch <= '9');
}

/* Length of a metric name at p (0: none). */
static size_t name_len(const char *p)
{
	size_t n = 0;
	while (name_char(p[n], n == 0))
		n++;
	return n;
}

/* Length of {labels} at p, checking label syntax and escapes; p[0] must be '{'. */
static size_t labels_len(const char *p, unsigned line)
{
	size_t i = 1;
	for (;;) {
		if (p[i] == '}')
			return i + 1;
		size_t n = name_len(p + i);
		VH_CHECK(n > 0, "line %u: label name expected at '%.20s'", line, p + i);
		i += n;
		VH_CHECK(p[i] == '=' && p[i + 1] == '"', "line %u: =\" expected", line);
		i += 2;
		while (p[i] != '"') {
			VH_CHECK(p[i] && p[i] != '\n', "line %u: unterminated label value", line);
			if (p[i] == '\\') {
				VH_CHECK(p[i + 1] == '\\' || p[i + 1] == '"' || p[i + 1] == 'n',
					 "line %u: bad escape", line);
				i++;
			}
			i++;
		}
		i++;
		if (p[i] == ',')
			i++;
		else
			VH_CHECK(p[i] == '}', "line %u: , or } expected", line);
	}
}

struct family {
	char name[96];
	char type[16];
	bool help, done;
};

static struct family *family_of(struct family *f, size_t nf, const char *name, size_t len)
{
	for (size_t i = 0; i < nf; i++)
		if (strlen(f[i].name) == len && !memcmp(f[i].name, name, len))
			return &f[i];
	return NULL;
}

/*
 * Parse and validate: every line is a comment or `name{labels} value`; each
 * family has HELP and TYPE before its samples, and its samples are contiguous.
 */
static void parse(char *text, struct scrape *out)
{
	static struct family fam[64];
	size_t nf = 0, cap = 1024;
	struct family *cur = NULL;
	out->text = text;
	out->n = 0;
	out->s = malloc(cap * sizeof(*out->s));
	VH_CHECK(out->s, "out of memory");
	size_t tl = strlen(text);
	VH_CHECK(tl > 0 && text[tl - 1] == '\n', "exposition does not end with a newline");
	unsigned line = 0;
	for (char *p = text; *p; line++) {
		char *eol = strchr(p, '\n');
		*eol = 0;
		if (p[0] == '#') {
			char kw[8], name[96], rest[64];
			VH_CHECK(sscanf(p, "# %7s %95s %63s", kw, name, rest) == 3,
				 "line %u: bad comment '%s'", line, p);
			struct family *f = family_of(fam, nf, name, strlen(name));
			if (!f) {
				VH_CHECK(nf < 64, "too many families");
				f = &fam[nf++];
				memset(f, 0, sizeof(*f));
				snprintf(f->name, sizeof(f->name), "%s", name);
			}
			VH_CHECK(!f->done, "line %u: family %s is split", line, name);
			if (cur && cur != f)
				cur->done = true;
			cur = f;
			if (!strcmp(kw, "HELP")) {
				f->help = true;
			} else {
				VH_CHECK(!strcmp(kw, "TYPE"), "line %u: unknown comment %s", line,
					 kw);
				VH_CHECK(!strcmp(rest, "counter") || !strcmp(rest, "gauge") ||
						 !strcmp(rest, "histogram"),
					 "line %u: type %s", line, rest);
				snprintf(f->type, sizeof(f->type), "%.15s", rest);
			}
		} else {
			size_t n = name_len(p);
			VH_CHECK(n > 0, "line %u: no metric name in '%s'", line, p);
			/* A histogram's series carry suffixes on the family name. */
			struct family *f = family_of(fam, nf, p, n);
			static const char *const sfx[] = {"_bucket", "_sum", "_count"};
			for (int i = 0; !f && i < 3; i++) {
				size_t sl = strlen(sfx[i]);
				if (n > sl && !memcmp(p + n - sl, sfx[i], sl)) {
					f = family_of(fam, nf, p, n - sl);
					if (f && strcmp(f->type, "histogram"))
						f = NULL;
				}
			}
			VH_CHECK(f && f->help && f->type[0],
				 "line %u: sample '%.*s' without HELP/TYPE", line, (int)n, p);
			VH_CHECK(f == cur, "line %u: sample of %s outside its family", line,
				 f->name);
			size_t k = n;
			if (p[k] == '{')
				k += labels_len(p + k, line);
			VH_CHECK(p[k] == ' ', "line %u: space expected after '%.*s'", line, (int)k,
				 p);
			p[k] = 0;
			char *end;
			double v = strtod(p + k + 1, &end);
			VH_CHECK(end != p + k + 1 && *end == 0, "line %u: bad value '%s'", line,
				 p + k + 1);
			if (out->n == cap) {
				cap *= 2;
				out->s = realloc(out->s, cap * sizeof(*out->s));
				VH_CHECK(out->s, "out of memory");
			}
			out->s[out->n++] = (struct sample){p, v};
		}
		p = eol + 1;
	}
}

static const struct sample *find(const struct scrape *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->s[i].key, key))
			return &s->s[i];
	return NULL;
}

__attribute__((format(printf, 2, 3))) static double value(const struct scrape *s, const char *fmt,
							  ...)
{
	char key[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(key, sizeof(key), fmt, ap);
	va_end(ap);
	const struct sample *x = find(s, key);
	VH_CHECK(x, "no sample %s", key);
	return x->v;
}

static size_t count_prefix(const struct scrape *s, const char *prefix)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		n += !strncmp(s->s[i].key, prefix, strlen(prefix));
	return n;
}

/*
 * A histogram series: cumulative buckets in increasing le, the last +Inf and
 * equal to _count. Returns _count.
 */
static double check_hist(const struct scrape *s, const char *fam, const char *labels)
{
	char prefix[256];
	snprintf(prefix, sizeof(prefix), "%s_bucket{%s,le=\"", fam, labels);
	double last_le = -1, last_v = -1;
	bool inf = false;
	unsigned n = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (strncmp(s->s[i].key, prefix, strlen(prefix)))
			continue;
		VH_CHECK(!inf, "%s: bucket after le=\"+Inf\"", prefix);
		const char *le = s->s[i].key + strlen(prefix);
		double b = strncmp(le, "+Inf\"", 5) ? strtod(le, NULL) : INFINITY;
		inf = isinf(b);
		VH_CHECK(b > last_le, "%s: le not increasing at %s", prefix, le);
		VH_CHECK(s->s[i].v >= last_v, "%s: buckets not cumulative at %s", prefix, le);
		last_le = b;
		last_v = s->s[i].v;
		n++;
	}
	VH_CHECK(inf, "%s: no le=\"+Inf\" bucket", prefix);
	VH_EQ(n, 24);
	double count = value(s, "%s_count{%s}", fam, labels);
	VH_CHECK(count == last_v, "%s: +Inf bucket %g != _count %g", fam, last_v, count);
	double sum = value(s, "%s_sum{%s}", fam, labels);
	VH_CHECK(sum >= 0 && (count == 0) == (sum == 0), "%s{%s}: _sum %g with _count %g", fam,
		 labels, sum, count);
	return count;
}

static void scrape(unsigned port, struct scrape *s)
{
	struct http_resp r;
	http_req(port, "GET", "/metrics", &r);
	VH_EQ(r.status, 200);
	VH_CHECK(!strncmp(r.ctype, "text/plain; version=0.0.4", 25), "Content-Type '%s'", r.ctype);
	VH_EQ(strlen(r.body), r.body_len);
	parse(r.body, s);
	s->len = r.body_len;
}

static void scrape_free(struct scrape *s)
{
	free(s->s);
	free(s->text);
}

static char *metrics_keys(unsigned port)
{
	static char keys[64];
	snprintf(keys, sizeof(keys), "metrics_listen = 127.0.0.1:%u", port);
	return keys;
}

/* ---- cases ---- */

static void wait_ready(const struct vh_daemon *d)
{
	uint64_t deadline = vh_now_ms() + 5000;
	while (!vh_log_contains(d, "ready")) {
		VH_CHECK(vh_now_ms() < deadline, "vsmd never logged 'ready'");
		usleep(10000);
	}
}

#define N_DIGEST  25
#define N_INVSESS 3
#define N_GCM	  10
#define N_NOP	  4

static int t_exact(void)
{
	struct vh_daemon d;
	unsigned port = vh_free_tcp_port();
	struct vh_opts o = {.vsmd_keys = metrics_keys(port)};
	vh_start(&d, &o);
	wait_ready(&d);
	VH_CHECK(vh_log_contains(&d, "/metrics"), "no metrics line in the log");
	vsm_client *c = vh_connect(d.uri);
	const char *tn = vsm_info(c)->tenant;

	static const uint8_t key[16] = "0123456789abcdef";
	uint64_t hs = vh_session(c, VSM_SVC_HASH, VSM_ALG_SHA256, NULL, 0);
	uint64_t gs = vh_session(c, VSM_SVC_AEAD, VSM_ALG_AES_GCM, key, sizeof(key));
	uint8_t out[256], in[100] = {0};
	for (int i = 0; i < N_DIGEST; i++) {
		size_t ol = sizeof(out);
		VH_OK(vsm_digest(c, hs, "abc", 3, out, &ol));
		VH_EQ(ol, 32);
	}
	for (int i = 0; i < N_INVSESS; i++) {
		size_t ol = sizeof(out);
		VH_STATUS(c, vsm_digest(c, hs ^ 0x10000, "abc", 3, out, &ol), VSM_S_INVSESS,
			  VSM_D_NONE);
	}
	static const uint8_t iv[12] = "twelve bytes";
	for (int i = 0; i < N_GCM; i++) {
		struct vsm_op op = {.session = gs,
				    .op = VSM_OP_ENCRYPT,
				    .iv = iv,
				    .iv_len = sizeof(iv),
				    .aad = "twenty bytes of aad!",
				    .aad_len = 20,
				    .src = in,
				    .src_len = sizeof(in)};
		size_t ol = sizeof(out);
		VH_OK(vsm_op_run(c, &op, out, &ol));
		VH_EQ(ol, sizeof(in) + 16);
	}
	for (int i = 0; i < N_NOP; i++)
		VH_OK(vsm_nop(c, in, sizeof(in)));

	struct scrape s;
	scrape(port, &s);
	printf("scrape: %zu samples, %zu bytes\n", s.n, s.len);
#define T "tenant=\"%s\""
	VH_EQ(value(&s, "vsm_build_info{version=\"%s\"}", getenv("VSM_VERSION")), 1);
	VH_CHECK(value(&s, "vsm_uptime_seconds") >= 0, "uptime");
	VH_EQ(value(&s, "vsm_ops_total{" T ",service=\"hash\",op=\"digest\",status=\"ok\"}", tn),
	      N_DIGEST);
	VH_EQ(value(&s, "vsm_ops_total{" T ",service=\"none\",op=\"digest\",status=\"invsess\"}",
		    tn),
	      N_INVSESS);
	VH_EQ(value(&s, "vsm_ops_total{" T ",service=\"aead\",op=\"encrypt\",status=\"ok\"}", tn),
	      N_GCM);
	VH_EQ(value(&s, "vsm_ops_total{" T ",service=\"none\",op=\"nop\",status=\"ok\"}", tn),
	      N_NOP);
	VH_EQ(value(&s, "vsm_ops_total{" T ",service=\"hash\",op=\"session_create\",status=\"ok\"}",
		    tn),
	      1);
	VH_EQ(value(&s, "vsm_ops_total{" T ",service=\"aead\",op=\"session_create\",status=\"ok\"}",
		    tn),
	      1);
	VH_EQ(value(&s, "vsm_ops_total{" T ",service=\"none\",op=\"hello\",status=\"ok\"}", tn), 1);
	/* Only nonzero counters are exported; nothing else happened. */
	char prefix[128];
	snprintf(prefix, sizeof(prefix), "vsm_ops_total{" T ",", tn);
	VH_EQ(count_prefix(&s, prefix), 7);

	VH_EQ(value(&s, "vsm_bytes_total{" T ",service=\"hash\",op=\"digest\",direction=\"in\"}",
		    tn),
	      3 * N_DIGEST);
	VH_EQ(value(&s, "vsm_bytes_total{" T ",service=\"hash\",op=\"digest\",direction=\"out\"}",
		    tn),
	      32 * N_DIGEST);
	VH_EQ(value(&s, "vsm_bytes_total{" T ",service=\"aead\",op=\"encrypt\",direction=\"in\"}",
		    tn),
	      (100 + 20) * N_GCM);
	VH_EQ(value(&s, "vsm_bytes_total{" T ",service=\"aead\",op=\"encrypt\",direction=\"out\"}",
		    tn),
	      (100 + 16) * N_GCM);
	VH_EQ(value(&s, "vsm_bytes_total{" T ",service=\"none\",op=\"nop\",direction=\"in\"}", tn),
	      100 * N_NOP);
	VH_EQ(value(&s, "vsm_bytes_total{" T ",service=\"none\",op=\"nop\",direction=\"out\"}", tn),
	      100 * N_NOP);

	char labels[128];
	snprintf(labels, sizeof(labels), T ",service=\"hash\",op=\"digest\"", tn);
	VH_EQ(check_hist(&s, "vsm_op_duration_seconds", labels), N_DIGEST);
	snprintf(labels, sizeof(labels), T ",service=\"none\",op=\"digest\"", tn);
	VH_EQ(check_hist(&s, "vsm_op_duration_seconds", labels), N_INVSESS);
	snprintf(labels, sizeof(labels), T ",service=\"aead\",op=\"encrypt\"", tn);
	VH_EQ(check_hist(&s, "vsm_op_duration_seconds", labels), N_GCM);
	/* Nobody was throttled: no QoS wait series at all. */
	VH_EQ(count_prefix(&s, "vsm_qos_wait_seconds"), 0);

	VH_EQ(value(&s, "vsm_inflight{" T "}", tn), 0);
	VH_EQ(value(&s, "vsm_sessions{" T "}", tn), 2);
	VH_EQ(value(&s, "vsm_connections{" T "}", tn), 1);
	VH_EQ(value(&s, "vsm_qos_ops_limit{" T "}", tn), 0);
	VH_EQ(value(&s, "vsm_qos_bytes_limit{" T "}", tn), 0);
	VH_EQ(value(&s, "vsm_qos_throttled_total{" T "}", tn), 0);
#undef T
	/* The harness runs two workers. */
	VH_EQ(count_prefix(&s, "vsm_worker_busy_seconds_total{worker="), 2);
	VH_CHECK(value(&s, "vsm_worker_busy_seconds_total{worker=\"0\"}") >= 0, "busy");
	/* Every operation that reached an engine: digests and encryptions. */
	double eng = 0;
	for (size_t i = 0; i < s.n; i++)
		if (!strncmp(s.s[i].key, "vsm_engine_ops_total{", 21))
			eng += s.s[i].v;
	VH_EQ(eng, N_DIGEST + N_GCM);
	VH_CHECK(count_prefix(&s, "vsm_engine_busy_seconds_total{engine=") ==
			 count_prefix(&s, "vsm_engine_ops_total{engine="),
		 "engine families differ");
	scrape_free(&s);

	/* A second connection and a closed session show in the gauges. */
	vsm_client *c2 = vh_connect(d.uri);
	VH_OK(vsm_session_destroy(c, gs));
	scrape(port, &s);
	VH_EQ(value(&s, "vsm_sessions{tenant=\"%s\"}", tn), 1);
	VH_EQ(value(&s, "vsm_connections{tenant=\"%s\"}", tn), 2);
	scrape_free(&s);
	vsm_close(c2);
	vsm_close(c);
	vh_cleanup(&d);
	return 0;
}

static int t_paths(void)
{
	struct vh_daemon d;
	unsigned port = vh_free_tcp_port();
	struct vh_opts o = {.vsmd_keys = metrics_keys(port)};
	vh_start(&d, &o);
	struct http_resp r;
	http_req(port, "GET", "/nope", &r);
	VH_EQ(r.status, 404);
	free(r.body);
	http_req(port, "GET", "/metrics/x", &r);
	VH_EQ(r.status, 404);
	free(r.body);
	http_req(port, "GET", "/", &r);
	VH_EQ(r.status, 200);
	VH_CHECK(strstr(r.body, "/metrics"), "/ does not point to /metrics: %s", r.body);
	free(r.body);
	http_req(port, "POST", "/metrics", &r);
	VH_EQ(r.status, 405);
	free(r.body);
	http_req(port, "HEAD", "/metrics", &r);
	VH_EQ(r.status, 200);
	VH_EQ(r.body_len, 0);
	free(r.body);
	vh_cleanup(&d);

	/* metrics_listen = "" turns it off: nothing listens on the port. */
	o.vsmd_keys = "metrics_listen =";
	vh_start(&d, &o);
	wait_ready(&d);
	VH_CHECK(!vh_log_contains(&d, "/metrics"), "metrics started although off");
	vsm_client *c = vh_connect(d.uri);
	VH_OK(vsm_nop(c, "x", 1));
	vsm_close(c);
	int fd = http_connect(port);
	VH_CHECK(fd < 0 && errno == ECONNREFUSED, "port %u answers with metrics off (%s)", port,
		 fd < 0 ? strerror(errno) : "connected");
	vh_cleanup(&d);
	return 0;
}

/*
 * Many tenants: the exposition grows past any fixed buffer, and every
 * tenant is in it. Tenants are uids, so this needs root.
 */
#define N_TENANTS 150

static void one_tenant(void *arg)
{
	const char *uri = arg;
	vsm_client *c = vh_connect(uri);
	uint64_t hs = vh_session(c, VSM_SVC_HASH, VSM_ALG_SHA256, NULL, 0);
	uint8_t out[32];
	size_t ol = sizeof(out);
	VH_OK(vsm_digest(c, hs, "abc", 3, out, &ol));
	VH_OK(vsm_nop(c, "abc", 3));
	vsm_close(c);
}

static void as_uid(void *arg)
{
	void **a = arg;
	uid_t uid = (uid_t)(uintptr_t)a[0];
	VH_CHECK(setresuid(uid, uid, uid) == 0, "setresuid(%u): %s", (unsigned)uid,
		 strerror(errno));
	one_tenant(a[1]);
}

static int t_many_tenants(void)
{
	if (geteuid() != 0) {
		printf("needs root (tenants are uids)\n");
		return VH_SKIP;
	}
	struct vh_daemon d;
	unsigned port = vh_free_tcp_port();
	struct vh_opts o = {.vsmd_keys = metrics_keys(port)};
	vh_start(&d, &o);
	for (unsigned i = 0; i < N_TENANTS; i++) {
		void *a[2] = {(void *)(uintptr_t)(20000 + i), d.uri};
		VH_EQ(vh_child_wait(vh_fork(as_uid, a), 10000), 0);
	}
	/* The last connections may still be closing: wait for their gauges to settle. */
	struct scrape s;
	uint64_t deadline = vh_now_ms() + 5000;
	for (;;) {
		scrape(port, &s);
		double conns = 0;
		for (size_t i = 0; i < s.n; i++)
			if (!strncmp(s.s[i].key, "vsm_connections{", 16))
				conns += s.s[i].v;
		if (conns == 0)
			break;
		VH_CHECK(vh_now_ms() < deadline, "%g connections still open", conns);
		scrape_free(&s);
		usleep(20000);
	}
	size_t len = s.len;
	printf("%u tenants: %zu samples, %zu bytes\n", N_TENANTS, s.n, len);
	VH_CHECK(len > 256 * 1024, "only %zu bytes for %u tenants", len, N_TENANTS);
	for (unsigned i = 0; i < N_TENANTS; i++) {
		const char *t = "tenant=\"uid-%u\"";
		char lab[64];
		snprintf(lab, sizeof(lab), t, 20000 + i);
		VH_EQ(value(&s, "vsm_ops_total{%s,service=\"hash\",op=\"digest\",status=\"ok\"}",
			    lab),
		      1);
		VH_EQ(value(&s, "vsm_connections{%s}", lab), 0);
		VH_EQ(value(&s, "vsm_sessions{%s}", lab), 0);
		char labels[96];
		snprintf(labels, sizeof(labels), "%s,service=\"none\",op=\"nop\"", lab);
		VH_EQ(check_hist(&s, "vsm_op_duration_seconds", labels), 1);
	}
	/* The last family made it to the end. */
	VH_CHECK(count_prefix(&s, "vsm_engine_busy_seconds_total{") > 0, "truncated");
	scrape_free(&s);
	vh_cleanup(&d);
	return 0;
}

static const struct vh_case cases[] = {
	{"exact", t_exact, 60},
	{"paths", t_paths, 60},
	{"many-tenants", t_many_tenants, 120},
};

int main(int argc, char **argv)
{
	return vh_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
