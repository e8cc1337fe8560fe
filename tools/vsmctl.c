/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vsmctl: the administrator's command line for a running vsmd. It speaks the
 * control protocol (docs/control.md) over vsmd's control socket: one JSON
 * request line, one JSON response line.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SOCKET	 "/run/vsm/vsmd-control.sock"
#define ANSWER_TIMEOUT_S 30
/* Replies are one line; a query-stats of thousands of tenants is still far below this. */
#define MAX_REPLY (256u << 20)

/* Exit codes: 1 the command failed, 2 vsmd could not be reached. */
#define EXIT_FAIL    1
#define EXIT_CONNECT 2

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vsmctl [-S SOCKET] [--json] COMMAND [ARGS]\n"
		"\n"
		"Administer a running vsmd through its control socket (root or a uid in\n"
		"admin_uids). Commands:\n"
		"  tenants                      tenants with connections, sessions, limits, QoS\n"
		"  stats [TENANT]               per service and operation: ops, bytes, errors,\n"
		"                               latency and QoS wait; then workers and engines\n"
		"  set-qos TENANT [--ops N] [--ops-burst N] [--bps N] [--bps-burst N]\n"
		"                               change a tenant's rate limits now (0 = unlimited\n"
		"                               or default burst; omitted ones are kept;\n"
		"                               k, M, G = 10^3, 10^6, 10^9)\n"
		"  sessions TENANT              the tenant's open sessions\n"
		"  disconnect TENANT            close every connection of the tenant\n"
		"  reload                       re-read vsmd's configuration file\n"
		"  version                      vsmd's version\n"
		"  raw JSON                     send one request object, print the response\n"
		"  key create --tenant T --usage U --index N --type TYPE [--bits N]\n"
		"             [--password PW] [--label L]\n"
		"                               generate an internal key in vsmd's keystore\n"
		"  key import --tenant T --usage U --index N --type TYPE --file PATH\n"
		"             [--password PW] [--label L]\n"
		"                               store a private key (PEM or DER; raw bytes\n"
		"                               for a KEK)\n"
		"  key list --tenant T          the tenant's keys (never the secrets)\n"
		"  key delete --tenant T --usage U --index N\n"
		"  key set-password --tenant T --usage U --index N [--old-password PW]\n"
		"             [--password PW]   change (or, with no --password, remove) it\n"
		"  key export-public --tenant T --usage U --index N\n"
		"                               print the public key as PEM\n"
		"      U: sign, enc or kek. TYPE: sm2, rsa, ecdsa-p256, ecdsa-p384, ed25519\n"
		"      (sign/enc), sm4, aes (kek). N: 1..max_keys. --bits: rsa 2048/3072/4096,\n"
		"      aes 128/192/256.\n"
		"\n"
		"Options:\n"
		"  -S, --socket PATH  control socket (default $VSM_CONTROL_SOCKET, else\n"
		"                     " DEFAULT_SOCKET ")\n"
		"      --json         print the result as JSON instead of a table\n"
		"  -h, --help         this text\n"
		"\n"
		"Exit status: 0 success, 1 the command failed, 2 vsmd could not be reached.\n"
		"\n"
		"Examples:\n"
		"  vsmctl tenants\n"
		"  vsmctl stats alice\n"
		"  vsmctl set-qos alice --ops 5k --bps 100M     # 5000 ops/s, 100 MB/s\n"
		"  vsmctl set-qos alice --ops 0                 # no ops limit\n"
		"  vsmctl --json stats | jq '.tenants[].name'\n"
		"  vsmctl -S /tmp/vsmd-control.sock sessions uid-1000\n"
		"  vsmctl raw '{\"execute\":\"query-version\"}'\n"
		"  vsmctl key create --tenant alice --usage sign --index 1 --type sm2 --password "
		"s3cret\n"
		"  vsmctl key export-public --tenant alice --usage sign --index 1 > "
		"alice-sign1.pem\n"
		"  vsmctl key import --tenant alice --usage kek --index 1 --type sm4 --file "
		"kek.bin\n");
}

static __attribute__((noreturn, format(printf, 2, 3))) void die(int code, const char *fmt, ...)
{
	va_list ap;
	fputs("vsmctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

/* ---- talking to vsmd ---- */

struct ctl {
	const char *path;
	int fd;
	FILE *in;
};

static void ctl_connect(struct ctl *c, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	c->path = path;
	if (strlen(path) >= sizeof(sa.sun_path))
		die(EXIT_CONNECT, "%s: socket path too long", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die(EXIT_CONNECT, "socket: %s", strerror(errno));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die(EXIT_CONNECT,
		    "cannot connect to %s: %s\n"
		    "  Is vsmd running with this control_socket? Use -S PATH or\n"
		    "  $VSM_CONTROL_SOCKET for another one. The socket is mode 0600:\n"
		    "  run vsmctl as root or as a uid listed in admin_uids.",
		    path, strerror(errno));
	struct timeval tv = {.tv_sec = ANSWER_TIMEOUT_S};
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	c->in = fdopen(c->fd, "r");
	if (!c->in)
		die(EXIT_FAIL, "fdopen: %s", strerror(errno));
}

/* One response line, parsed; exits if there is none. */
static json_t *ctl_read(struct ctl *c)
{
	char *line = NULL;
	size_t cap = 0;
	errno = 0;
	ssize_t n = getline(&line, &cap, c->in);
	if (n < 0) {
		free(line);
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			die(EXIT_FAIL, "no answer from vsmd within %d s", ANSWER_TIMEOUT_S);
		if (errno)
			die(EXIT_FAIL, "reading from %s: %s", c->path, strerror(errno));
		die(EXIT_FAIL, "vsmd closed the control connection");
	}
	if ((size_t)n > MAX_REPLY)
		die(EXIT_FAIL, "reply longer than %u bytes", MAX_REPLY);
	json_error_t jerr;
	json_t *v = json_loadb(line, (size_t)n, 0, &jerr);
	free(line);
	if (!json_is_object(v))
		die(EXIT_FAIL, "vsmd sent something that is not a JSON object: %s",
		    v ? "wrong type" : jerr.text);
	return v;
}

static void ctl_send(struct ctl *c, json_t *req)
{
	char *s = json_dumps(req, JSON_COMPACT);
	if (!s)
		die(EXIT_FAIL, "out of memory");
	size_t n = strlen(s), off = 0;
	s[n] = '\n'; /* the terminator's byte, sent as the line end */
	n++;
	while (off < n) {
		ssize_t w = send(c->fd, s + off, n - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die(EXIT_FAIL, "writing to %s: %s", c->path, strerror(errno));
		off += (size_t)w;
	}
	free(s);
}

static const char *error_desc(json_t *resp, const char **cls)
{
	json_t *e = json_object_get(resp, "error");
	const char *d = json_string_value(json_object_get(e, "desc"));
	*cls = json_string_value(json_object_get(e, "class"));
	if (!*cls)
		*cls = "?";
	return d ? d : "unknown error";
}

/* Read and check the greeting: is this a vsmd, and will it talk to us? */
static void ctl_hello(struct ctl *c)
{
	json_t *g = ctl_read(c);
	if (json_object_get(g, "error")) {
		const char *cls, *d = error_desc(g, &cls);
		die(EXIT_CONNECT, "%s: %s (%s)", c->path, d, cls);
	}
	if (!json_is_object(json_object_get(g, "vsm")))
		die(EXIT_CONNECT, "%s does not look like a vsmd control socket", c->path);
	json_decref(g);
}

/* Run a command; returns its "return" value (owned) or exits with its error. */
static json_t *ctl_run(struct ctl *c, const char *cmd, json_t *args)
{
	json_t *req = json_pack("{s:s,s:o,s:i}", "execute", cmd, "arguments",
				args ? args : json_object(), "id", 1);
	if (!req)
		die(EXIT_FAIL, "out of memory");
	ctl_send(c, req);
	json_decref(req);
	json_t *resp = ctl_read(c);
	if (json_object_get(resp, "error")) {
		const char *cls, *d = error_desc(resp, &cls);
		die(EXIT_FAIL, "%s", d);
	}
	json_t *ret = json_object_get(resp, "return");
	if (!ret)
		die(EXIT_FAIL, "vsmd's answer has neither return nor error");
	json_incref(ret);
	json_decref(resp);
	return ret;
}

/* ---- reading results ---- */

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "?";
}

static long long jint(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static double jnum(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

/* ---- tables ---- */

struct table {
	unsigned ncol;
	const char *const *head;
	const char *align; /* 'l' or 'r' per column */
	char **cell;	   /* row-major */
	size_t n, cap;
};

static __attribute__((format(printf, 2, 3))) void cell(struct table *t, const char *fmt, ...)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->cell = realloc(t->cell, t->cap * sizeof(*t->cell));
		if (!t->cell)
			die(EXIT_FAIL, "out of memory");
	}
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&t->cell[t->n], fmt, ap) < 0)
		die(EXIT_FAIL, "out of memory");
	va_end(ap);
	t->n++;
}

static void table_print(struct table *t)
{
	size_t w[32] = {0};
	for (unsigned j = 0; j < t->ncol; j++)
		w[j] = strlen(t->head[j]);
	for (size_t i = 0; i < t->n; i++) {
		size_t l = strlen(t->cell[i]);
		if (l > w[i % t->ncol])
			w[i % t->ncol] = l;
	}
	for (size_t i = 0; i < t->ncol + t->n; i++) {
		unsigned j = (unsigned)(i % t->ncol);
		const char *s = i < t->ncol ? t->head[i] : t->cell[i - t->ncol];
		bool last = j == t->ncol - 1;
		if (t->align[j] == 'r')
			printf("%*s", (int)w[j], s);
		else
			printf("%-*s", last ? 0 : (int)w[j], s);
		fputs(last ? "\n" : "  ", stdout);
	}
	for (size_t i = 0; i < t->n; i++)
		free(t->cell[i]);
	free(t->cell);
	t->cell = NULL;
	t->n = t->cap = 0;
}

/* QoS values: 0 means unlimited. */
static void cell_limit(struct table *t, long long v)
{
	if (v)
		cell(t, "%lld", v);
	else
		cell(t, "-");
}

/* ---- commands ---- */

static void show_tenants(json_t *ret)
{
	static const char *const head[] = {
		"TENANT",   "CONNS",   "SESSIONS", "INFLIGHT",	"OPS",	   "ERRORS",	 "MAX_SESS",
		"MAX_INFL", "MAX_MSG", "OPS/S",	   "OPS_BURST", "BYTES/S", "BYTES_BURST"};
	struct table t = {13, head, "lrrrrrrrrrrrr", NULL, 0, 0};
	size_t i;
	json_t *x;
	json_array_foreach(ret, i, x)
	{
		json_t *l = json_object_get(x, "limits"), *q = json_object_get(x, "qos");
		cell(&t, "%s", jstr(x, "name"));
		cell(&t, "%lld", jint(x, "conns"));
		cell(&t, "%lld", jint(x, "sessions"));
		cell(&t, "%lld", jint(x, "inflight"));
		cell(&t, "%lld", jint(x, "ops"));
		cell(&t, "%lld", jint(x, "errors"));
		cell(&t, "%lld", jint(l, "max_sessions"));
		cell(&t, "%lld", jint(l, "max_inflight"));
		cell(&t, "%lld", jint(l, "max_msg"));
		cell_limit(&t, jint(q, "ops_rate"));
		cell_limit(&t, jint(q, "ops_burst"));
		cell_limit(&t, jint(q, "bytes_rate"));
		cell_limit(&t, jint(q, "bytes_burst"));
	}
	table_print(&t);
}

static void show_stats(json_t *ret)
{
	static const char *const head[] = {"TENANT", "SERVICE",	       "OP",	 "OPS",
					   "MB_IN",  "MB_OUT",	       "ERRORS", "P50_MS",
					   "P99_MS", "QOS_WAIT_P99_MS"};
	struct table t = {10, head, "lllrrrrrrr", NULL, 0, 0};
	printf("uptime %.1f s\n\n", jnum(ret, "uptime_seconds"));
	size_t i, j;
	json_t *tn, *c;
	json_array_foreach(json_object_get(ret, "tenants"), i, tn)
	{
		json_array_foreach(json_object_get(tn, "stats"), j, c)
		{
			json_t *lat = json_object_get(c, "latency");
			json_t *qw = json_object_get(c, "qos_wait");
			long long ops = jint(c, "ops");
			long long ok = jint(json_object_get(c, "status"), "ok");
			cell(&t, "%s", jstr(tn, "name"));
			cell(&t, "%s", jstr(c, "service"));
			cell(&t, "%s", jstr(c, "op"));
			cell(&t, "%lld", ops);
			cell(&t, "%.3f", (double)jint(c, "bytes_in") / 1e6);
			cell(&t, "%.3f", (double)jint(c, "bytes_out") / 1e6);
			cell(&t, "%lld", ops - ok);
			cell(&t, "%.3f", jnum(lat, "p50") * 1e3);
			cell(&t, "%.3f", jnum(lat, "p99") * 1e3);
			if (jint(qw, "count"))
				cell(&t, "%.3f", jnum(qw, "p99") * 1e3);
			else
				cell(&t, "-");
		}
	}
	if (t.n)
		table_print(&t);
	else
		printf("no requests yet\n");

	static const char *const whead[] = {"WORKER", "BUSY_S", "CONNS"};
	struct table w = {3, whead, "rrr", NULL, 0, 0};
	json_array_foreach(json_object_get(ret, "workers"), i, c)
	{
		cell(&w, "%lld", jint(c, "id"));
		cell(&w, "%.3f", jnum(c, "busy_seconds"));
		cell(&w, "%lld", jint(c, "conns"));
	}
	putchar('\n');
	table_print(&w);

	static const char *const ehead[] = {"ENGINE", "OPS", "BUSY_S"};
	struct table e = {3, ehead, "lrr", NULL, 0, 0};
	json_array_foreach(json_object_get(ret, "engines"), i, c)
	{
		cell(&e, "%s", jstr(c, "name"));
		cell(&e, "%lld", jint(c, "ops"));
		cell(&e, "%.3f", jnum(c, "busy_seconds"));
	}
	if (e.n) {
		putchar('\n');
		table_print(&e);
	}
}

static void show_sessions(json_t *ret)
{
	static const char *const head[] = {"HANDLE", "SERVICE", "ALG", "AGE_S"};
	struct table t = {4, head, "lllr", NULL, 0, 0};
	size_t i;
	json_t *x;
	json_array_foreach(ret, i, x)
	{
		cell(&t, "%s", jstr(x, "handle"));
		cell(&t, "%s", jstr(x, "service"));
		cell(&t, "%s", jstr(x, "alg"));
		cell(&t, "%.1f", jnum(x, "age_seconds"));
	}
	if (t.n)
		table_print(&t);
	else
		printf("no sessions\n");
}

/* "5k" = 5000, "100M" = 10^8, "1G" = 10^9. */
static json_t *quantity(const char *opt, const char *s)
{
	char *end;
	errno = 0;
	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		die(EXIT_FAIL, "%s needs a non-negative number", opt);
	unsigned long long v = strtoull(s, &end, 10);
	unsigned long long mult = 1;
	if (end != s && *end && !end[1]) {
		mult = *end == 'k' || *end == 'K' ? 1000ull
		       : *end == 'M'		  ? 1000000ull
		       : *end == 'G'		  ? 1000000000ull
						  : 0;
		if (mult)
			end++;
	}
	if (errno || end == s || *end || !mult)
		die(EXIT_FAIL, "%s: '%s' is not a number (k, M, G suffixes allowed)", opt, s);
	if (v > (1ull << 50) / mult)
		die(EXIT_FAIL, "%s: %s is larger than 2^50", opt, s);
	return json_integer((json_int_t)(v * mult));
}

static json_t *set_qos_args(int argc, char **argv)
{
	static const struct {
		const char *opt, *key;
	} map[] = {{"--ops", "ops_rate"},
		   {"--ops-burst", "ops_burst"},
		   {"--bps", "bytes_rate"},
		   {"--bps-burst", "bytes_burst"}};
	if (argc < 1)
		die(EXIT_FAIL, "set-qos needs a tenant (see vsmctl --help)");
	json_t *args = json_pack("{s:s}", "tenant", argv[0]);
	if (!args)
		die(EXIT_FAIL, "tenant name is not valid UTF-8");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		size_t k;
		for (k = 0; k < sizeof(map) / sizeof(map[0]); k++) {
			size_t l = strlen(map[k].opt);
			if (!strncmp(a, map[k].opt, l) && (a[l] == 0 || a[l] == '=')) {
				val = a[l] == '=' ? a + l + 1 : (i + 1 < argc ? argv[++i] : NULL);
				break;
			}
		}
		if (k == sizeof(map) / sizeof(map[0]))
			die(EXIT_FAIL, "set-qos: unknown option '%s' (see vsmctl --help)", a);
		json_object_set_new(args, map[k].key, quantity(map[k].opt, val));
	}
	if (json_object_size(args) == 1)
		die(EXIT_FAIL,
		    "set-qos: give at least one of --ops, --ops-burst, --bps, --bps-burst");
	return args;
}

static json_t *tenant_arg(const char *cmd, int argc, char **argv, bool optional)
{
	if (argc > 1 || (!optional && argc < 1))
		die(EXIT_FAIL, "usage: vsmctl %s %s", cmd, optional ? "[TENANT]" : "TENANT");
	if (argc == 0)
		return NULL;
	json_t *a = json_pack("{s:s}", "tenant", argv[0]);
	if (!a)
		die(EXIT_FAIL, "tenant name is not valid UTF-8");
	return a;
}

static void no_args(const char *cmd, int argc)
{
	if (argc)
		die(EXIT_FAIL, "%s takes no arguments", cmd);
}

static int raw(struct ctl *c, int argc, char **argv)
{
	if (argc != 1)
		die(EXIT_FAIL, "usage: vsmctl raw '{\"execute\":\"...\"}'");
	json_error_t jerr;
	json_t *req = json_loads(argv[0], 0, &jerr);
	if (!json_is_object(req))
		die(EXIT_FAIL, "raw: the argument must be a JSON object%s%s", req ? "" : ": ",
		    req ? "" : jerr.text);
	ctl_send(c, req);
	json_decref(req);
	json_t *resp = ctl_read(c);
	char *s = json_dumps(resp, JSON_COMPACT | JSON_REAL_PRECISION(9));
	if (!s)
		die(EXIT_FAIL, "out of memory");
	puts(s);
	free(s);
	int rc = json_object_get(resp, "error") ? EXIT_FAIL : 0;
	json_decref(resp);
	return rc;
}

/* ---- keys ---- */

/* Binary key files travel as base64 (vsmctl links no crypto library). */
static char *base64(const unsigned char *p, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
	if (!out)
		die(EXIT_FAIL, "out of memory");
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? tab[v & 63] : '=';
	}
	*o = 0;
	return out;
}

/* A key file as the "key" argument: PEM text as is, anything else base64. */
static json_t *key_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die(EXIT_FAIL, "%s: %s", path, strerror(errno));
	unsigned char buf[16385];
	size_t n = fread(buf, 1, sizeof(buf), f);
	bool err = ferror(f);
	fclose(f);
	if (err || n == 0)
		die(EXIT_FAIL, "%s: cannot read, or empty", path);
	if (n == sizeof(buf))
		die(EXIT_FAIL, "%s: larger than 16 KiB, not a key", path);
	json_t *v;
	if (memmem(buf, n, "-----BEGIN", 10)) {
		v = json_stringn((const char *)buf, n);
	} else {
		char *b = base64(buf, n);
		v = json_string(b);
		free(b);
	}
	memset(buf, 0, sizeof(buf));
	if (!v)
		die(EXIT_FAIL, "%s: not a PEM text file", path);
	return v;
}

static const char *const key_subs[] = {"create", "import",	 "list",
				       "delete", "set-password", "export-public"};

static json_t *key_args(const char *sub, int argc, char **argv)
{
	static const struct {
		const char *opt, *key;
		bool number;
	} map[] = {{"--tenant", "tenant", false},
		   {"--usage", "usage", false},
		   {"--index", "index", true},
		   {"--type", "type", false},
		   {"--bits", "bits", true},
		   {"--password", "password", false},
		   {"--old-password", "old_password", false},
		   {"--label", "label", false},
		   {"--file", "key", false}};
	json_t *args = json_object();
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		size_t k;
		for (k = 0; k < sizeof(map) / sizeof(map[0]); k++) {
			size_t l = strlen(map[k].opt);
			if (!strncmp(a, map[k].opt, l) && (a[l] == 0 || a[l] == '=')) {
				val = a[l] == '=' ? a + l + 1 : (i + 1 < argc ? argv[++i] : NULL);
				break;
			}
		}
		if (k == sizeof(map) / sizeof(map[0]))
			die(EXIT_FAIL, "key %s: unknown option '%s' (see vsmctl --help)", sub, a);
		if (!val)
			die(EXIT_FAIL, "key %s: %s needs a value", sub, map[k].opt);
		json_t *v;
		if (map[k].number) {
			char *end;
			errno = 0;
			unsigned long long n = strtoull(val, &end, 10);
			if (errno || end == val || *end || *val == '-' || n > UINT32_MAX)
				die(EXIT_FAIL, "%s: '%s' is not a number", map[k].opt, val);
			v = json_integer((json_int_t)n);
		} else if (!strcmp(map[k].key, "key")) {
			v = key_file(val);
		} else {
			v = json_string(val);
			if (!v)
				die(EXIT_FAIL, "%s: not valid UTF-8", map[k].opt);
		}
		json_object_set_new(args, map[k].key, v);
	}
	if (!json_object_get(args, "tenant"))
		die(EXIT_FAIL, "key %s needs --tenant (see vsmctl --help)", sub);
	bool import = !strcmp(sub, "import");
	if (import != (json_object_get(args, "key") != NULL))
		die(EXIT_FAIL, import ? "key import needs --file" : "only key import takes --file");
	return args;
}

static void show_keys(json_t *ret)
{
	static const char *const head[] = {"USAGE",    "INDEX",	  "TYPE", "BITS",
					   "PASSWORD", "CREATED", "LABEL"};
	struct table t = {7, head, "lrlrlll", NULL, 0, 0};
	size_t i;
	json_t *x;
	json_array_foreach(ret, i, x)
	{
		time_t c = (time_t)jint(x, "created");
		struct tm tm;
		char when[32] = "?";
		if (gmtime_r(&c, &tm))
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		cell(&t, "%s", jstr(x, "usage"));
		cell(&t, "%lld", jint(x, "index"));
		cell(&t, "%s", jstr(x, "type"));
		cell(&t, "%lld", jint(x, "bits"));
		cell(&t, "%s", json_is_true(json_object_get(x, "password")) ? "yes" : "no");
		cell(&t, "%s", when);
		cell(&t, "%s", jstr(x, "label"));
	}
	if (t.n)
		table_print(&t);
	else
		printf("no keys\n");
}

/* Human output of a key command that succeeded. */
static void show_key_result(const char *sub, json_t *a, json_t *ret)
{
	const char *tn = jstr(a, "tenant");
	if (!strcmp(sub, "list")) {
		show_keys(ret);
	} else if (!strcmp(sub, "export-public")) {
		fputs(jstr(ret, "pem"), stdout);
	} else if (!strcmp(sub, "create") || !strcmp(sub, "import")) {
		printf("%s %s key %lld of tenant %s: %s, %lld bits%s\n",
		       sub[0] == 'c' ? "created" : "imported", jstr(ret, "usage"),
		       jint(ret, "index"), tn, jstr(ret, "type"), jint(ret, "bits"),
		       json_is_true(json_object_get(ret, "password")) ? ", password set" : "");
	} else if (!strcmp(sub, "delete")) {
		printf("deleted %s key %lld of tenant %s\n", jstr(a, "usage"), jint(a, "index"),
		       tn);
	} else {
		const char *pw = json_string_value(json_object_get(a, "password"));
		printf("%s the password of %s key %lld of tenant %s\n",
		       pw && *pw ? "changed" : "removed", jstr(a, "usage"), jint(a, "index"), tn);
	}
}

static int key_command(struct ctl *c, const char *sub, json_t *a, bool as_json)
{
	char wire[32];
	snprintf(wire, sizeof(wire), "key-%s", sub);
	json_incref(a);
	json_t *ret = ctl_run(c, wire, a);
	if (as_json) {
		char *s = json_dumps(ret, JSON_INDENT(2) | JSON_ENCODE_ANY);
		if (!s)
			die(EXIT_FAIL, "out of memory");
		puts(s);
		free(s);
	} else {
		show_key_result(sub, a, ret);
	}
	json_decref(ret);
	json_decref(a);
	fclose(c->in);
	return fflush(stdout) ? EXIT_FAIL : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 'S'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *path = getenv("VSM_CONTROL_SOCKET");
	bool as_json = false;
	int o;
	if (!path || !*path)
		path = DEFAULT_SOCKET;
	/* '+': options end at the command, whose own options follow it. */
	while ((o = getopt_long(argc, argv, "+S:h", opts, NULL)) != -1) {
		switch (o) {
		case 'S':
			path = optarg;
			break;
		case 'j':
			as_json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_FAIL;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_FAIL;
	}
	const char *cmd = argv[optind];
	char **args = argv + optind + 1;
	/* --json also works after the command ("vsmctl stats --json"). */
	int nargs = 0;
	for (int i = optind + 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			as_json = true;
		else
			args[nargs++] = argv[i];
	}

	/* Check the command line before bothering vsmd. */
	const char *wire;
	json_t *a = NULL;
	void (*show)(json_t *) = NULL;
	if (!strcmp(cmd, "tenants")) {
		no_args(cmd, nargs);
		wire = "query-tenants";
		show = show_tenants;
	} else if (!strcmp(cmd, "stats")) {
		a = tenant_arg(cmd, nargs, args, true);
		wire = "query-stats";
		show = show_stats;
	} else if (!strcmp(cmd, "set-qos")) {
		a = set_qos_args(nargs, args);
		wire = "set-qos";
	} else if (!strcmp(cmd, "sessions")) {
		a = tenant_arg(cmd, nargs, args, false);
		wire = "list-sessions";
		show = show_sessions;
	} else if (!strcmp(cmd, "disconnect")) {
		a = tenant_arg(cmd, nargs, args, false);
		wire = "disconnect-tenant";
	} else if (!strcmp(cmd, "reload")) {
		no_args(cmd, nargs);
		wire = "reload-config";
	} else if (!strcmp(cmd, "version")) {
		no_args(cmd, nargs);
		wire = "query-version";
	} else if (!strcmp(cmd, "raw")) {
		wire = NULL;
	} else if (!strcmp(cmd, "key")) {
		size_t k = 0;
		while (nargs >= 1 && k < sizeof(key_subs) / sizeof(key_subs[0]) &&
		       strcmp(key_subs[k], args[0]))
			k++;
		if (nargs < 1 || k == sizeof(key_subs) / sizeof(key_subs[0]))
			die(EXIT_FAIL, "usage: vsmctl key create|import|list|delete|set-password|"
				       "export-public --tenant NAME ... (see vsmctl --help)");
		a = key_args(key_subs[k], nargs - 1, args + 1);
		struct ctl c;
		ctl_connect(&c, path);
		ctl_hello(&c);
		return key_command(&c, key_subs[k], a, as_json);
	} else {
		die(EXIT_FAIL, "unknown command '%s' (see vsmctl --help)", cmd);
	}

	struct ctl c;
	ctl_connect(&c, path);
	ctl_hello(&c);
	if (!wire)
		return raw(&c, nargs, args);

	json_t *ret = ctl_run(&c, wire, a);
	if (as_json) {
		char *s =
			json_dumps(ret, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_REAL_PRECISION(9));
		if (!s)
			die(EXIT_FAIL, "out of memory");
		puts(s);
		free(s);
	} else if (show) {
		show(ret);
	} else if (!strcmp(cmd, "disconnect")) {
		long long n = jint(ret, "connections");
		printf("tenant %s: closed %lld connection%s\n", args[0], n, n == 1 ? "" : "s");
	} else if (!strcmp(cmd, "reload")) {
		printf("%s\n", jstr(ret, "note"));
	} else if (!strcmp(cmd, "version")) {
		printf("vsmd %s (control protocol %lld)\n", jstr(ret, "version"),
		       jint(ret, "protocol"));
	}
	json_decref(ret);
	fclose(c.in);
	return fflush(stdout) ? EXIT_FAIL : 0;
}
