/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vsm-bench: the only source of performance figures for vsm. Each case runs
 * natively (in-process OpenSSL 3, libgcrypt for SM4-GCM) and through vsmd in
 * the same run, and the ratio vsm/native is printed next to both. Before a
 * case is timed, one vsmd result is checked against the native one, so a
 * fast wrong answer cannot pass as a figure.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "bench_common.h"

#define MAX_LIST 64
#define MAX_URIS 8

struct opts {
	const char *uris[MAX_URIS]; /* one transport each; none: the default */
	size_t nuris;
	char *derived[MAX_URIS]; /* --transports: built from the socket path */
	const struct bench_case *cases[MAX_LIST];
	size_t ncases;
	size_t sizes[MAX_LIST];
	size_t nsizes;
	unsigned depths[MAX_LIST];
	size_t ndepths;
	unsigned threads;
	double seconds;
	int json, native, vsm, quiet;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vsm-bench [OPTIONS]\n"
		"\n"
		"Measure vsm against in-process OpenSSL: every case runs natively and through\n"
		"vsmd in the same run, and the ratio vsm/native is printed. Each case is checked\n"
		"once (vsmd output against native output) before it is timed.\n"
		"\n"
		"Options:\n"
		"  -u, --uri URI        daemon to measure (default $VSM_URI, else unix:%s)\n"
		"                       unix:PATH | shm:PATH | tcp:HOST:PORT | vsock:CID:PORT | "
		"PATH;\n"
		"                       repeat -u to measure several transports in one run\n"
		"      --transports LIST  comma-separated unix,shm: the same vsmd socket (from\n"
		"                       -u, else the default) through each transport\n"
		"  -a, --alg LIST       comma-separated cases (default: all; see --list)\n"
		"  -s, --size LIST      message sizes in bytes, 64..16384, 'k' = 1024\n"
		"                       (default 4096)\n"
		"  -d, --depth LIST     requests in flight per thread (default 1,32)\n"
		"  -t, --threads N      threads; each has its own vsm_client, and the native\n"
		"                       side uses the same number (default 1)\n"
		"  -T, --time SECONDS   run time per case and side, fractions allowed (default 2)\n"
		"      --json           print a JSON array, one object per row, instead of a "
		"table\n"
		"      --native-only    run only the native side (no daemon needed)\n"
		"      --vsm-only       run only the vsmd side\n"
		"  -q, --quiet          no progress lines on stderr\n"
		"  -l, --list           list the cases and exit\n"
		"  -h, --help           this text\n"
		"\n"
		"Columns: via = transport, ops/s and MB/s (size x ops / 10^6) per side, ratio =\n"
		"vsm ops/s divided by native ops/s, and p50/p99 latency in microseconds (for vsm:\n"
		"from vsm_submit to the vsm_poll that reaped it, so deeper queues trade latency\n"
		"for throughput). The native side is synchronous: its figures do not depend on\n"
		"the depth, and every transport is compared with the same native figure. Over\n"
		"shm the buffers come from vsm_shm_alloc (zero copy) and null runs in place.\n"
		"\n"
		"Examples:\n"
		"  vsm-bench -u unix:/run/vsm/vsmd.sock\n"
		"      every case, 4 KiB messages, depth 1 and 32, 2 s per side\n"
		"  vsm-bench --transports unix,shm -a null,aes-128-gcm -s 64,4k,16k -d 1,64\n"
		"      shared memory and the unix socket side by side\n"
		"  vsm-bench -a null,aes-128-gcm,sm4-cbc -s 64,1k,16k -d 1,8,64 -T 0.5\n"
		"      transport overhead against message size and queue depth\n"
		"  vsm-bench -a rsa2048-sign,sm2-sign -t 4 -d 16\n"
		"      public-key throughput from four threads\n"
		"  vsm-bench -u tcp:10.0.0.7:7300 --json > tcp.json\n"
		"      machine-readable results over TCP\n"
		"  vsm-bench --native-only -a sha256,sm3 -s 16k\n"
		"      the local OpenSSL baseline alone\n",
		VSM_DEFAULT_SOCKET);
}

static void list_cases(void)
{
	for (size_t i = 0; i < bench_ncases; i++)
		printf("%-18s %s\n", bench_cases[i].name, bench_cases[i].desc);
}

static int parse_sizes(char *s, struct opts *o)
{
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(tok, &end, 10);
		if (end == tok || errno || *tok == '-')
			return -1;
		if (*end == 'k' || *end == 'K') {
			v *= 1024;
			end++;
		}
		if (*end || v < 64 || v > 16384 || o->nsizes == MAX_LIST) {
			fprintf(stderr, "vsm-bench: bad size '%s' (64..16384, e.g. 512 or 4k)\n",
				tok);
			return -1;
		}
		o->sizes[o->nsizes++] = v;
	}
	return o->nsizes ? 0 : -1;
}

static int parse_depths(char *s, struct opts *o)
{
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(tok, &end, 10);
		if (end == tok || *end || errno || *tok == '-' || v < 1 || v > 65536 ||
		    o->ndepths == MAX_LIST) {
			fprintf(stderr, "vsm-bench: bad depth '%s' (1..65536)\n", tok);
			return -1;
		}
		o->depths[o->ndepths++] = (unsigned)v;
	}
	return o->ndepths ? 0 : -1;
}

static int parse_cases(char *s, struct opts *o)
{
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		const struct bench_case *bc = bench_case_find(tok);

		if (!bc || o->ncases == MAX_LIST) {
			fprintf(stderr, "vsm-bench: unknown case '%s' (see --list)\n", tok);
			return -1;
		}
		o->cases[o->ncases++] = bc;
	}
	return o->ncases ? 0 : -1;
}

/* --transports unix,shm: each transport to the socket of -u (or the default). */
static int parse_transports(char *list, struct opts *o)
{
	const char *base = o->nuris ? o->uris[0] : getenv("VSM_URI");
	const char *path = VSM_DEFAULT_SOCKET;
	size_t n = 0;

	if (base && *base) {
		const char *colon = strchr(base, ':');

		if (!strncmp(base, "unix:", 5) || !strncmp(base, "shm:", 4))
			path = colon + 1;
		else if (colon)
			goto bad_base;
		else
			path = base;
		if (!*path)
			path = VSM_DEFAULT_SOCKET;
	}
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		char *u;

		if ((strcmp(tok, "unix") && strcmp(tok, "shm")) || n == MAX_URIS) {
			fprintf(stderr, "vsm-bench: bad transport '%s' (unix or shm)\n", tok);
			return -1;
		}
		u = malloc(strlen(tok) + strlen(path) + 2);
		if (!u)
			return -1;
		sprintf(u, "%s:%s", tok, path);
		o->derived[n] = u;
		o->uris[n++] = u;
	}
	o->nuris = n;
	return n ? 0 : -1;
bad_base:
	fprintf(stderr, "vsm-bench: --transports needs a unix socket, not %s\n", base);
	return -1;
}

enum { OPT_JSON = 256, OPT_NATIVE_ONLY, OPT_VSM_ONLY, OPT_TRANSPORTS };

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{"uri", required_argument, NULL, 'u'},
		{"transports", required_argument, NULL, OPT_TRANSPORTS},
		{"alg", required_argument, NULL, 'a'},
		{"size", required_argument, NULL, 's'},
		{"depth", required_argument, NULL, 'd'},
		{"threads", required_argument, NULL, 't'},
		{"time", required_argument, NULL, 'T'},
		{"json", no_argument, NULL, OPT_JSON},
		{"native-only", no_argument, NULL, OPT_NATIVE_ONLY},
		{"vsm-only", no_argument, NULL, OPT_VSM_ONLY},
		{"quiet", no_argument, NULL, 'q'},
		{"list", no_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	char *transports = NULL, *end;
	long l;
	int c;

	while ((c = getopt_long(argc, argv, "u:a:s:d:t:T:qlh", lopts, NULL)) != -1) {
		switch (c) {
		case 'u':
			if (o->nuris == MAX_URIS) {
				fprintf(stderr, "vsm-bench: at most %d -u\n", MAX_URIS);
				return -1;
			}
			o->uris[o->nuris++] = optarg;
			break;
		case OPT_TRANSPORTS:
			transports = optarg;
			break;
		case 'a':
			if (parse_cases(optarg, o))
				return -1;
			break;
		case 's':
			if (parse_sizes(optarg, o))
				return -1;
			break;
		case 'd':
			if (parse_depths(optarg, o))
				return -1;
			break;
		case 't':
			l = strtol(optarg, &end, 10);
			if (end == optarg || *end || l < 1 || l > 1024) {
				fprintf(stderr, "vsm-bench: bad thread count '%s' (1..1024)\n",
					optarg);
				return -1;
			}
			o->threads = (unsigned)l;
			break;
		case 'T':
			o->seconds = strtod(optarg, &end);
			if (end == optarg || *end || !isfinite(o->seconds) || o->seconds < 0.01 ||
			    o->seconds > 3600) {
				fprintf(stderr, "vsm-bench: bad time '%s' (seconds, 0.01..3600)\n",
					optarg);
				return -1;
			}
			break;
		case OPT_JSON:
			o->json = 1;
			break;
		case OPT_NATIVE_ONLY:
			o->vsm = 0;
			break;
		case OPT_VSM_ONLY:
			o->native = 0;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'l':
			list_cases();
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vsm-bench: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (!o->native && !o->vsm) {
		fprintf(stderr, "vsm-bench: --native-only and --vsm-only exclude each other\n");
		return -1;
	}
	if (transports) {
		if (o->nuris > 1) {
			fprintf(stderr, "vsm-bench: --transports takes one -u (the socket)\n");
			return -1;
		}
		if (parse_transports(transports, o))
			return -1;
	}
	if (!o->nuris)
		o->uris[o->nuris++] = NULL;
	return 0;
}

/* "unix", "tcp", "vsock" or "shm", as libvsm reads the URI. */
static const char *transport_of(const char *uri)
{
	if (!uri)
		uri = getenv("VSM_URI");
	if (!uri || !*uri)
		return "unix";
	if (!strncmp(uri, "tcp:", 4))
		return "tcp";
	if (!strncmp(uri, "vsock:", 6))
		return "vsock";
	if (!strncmp(uri, "shm:", 4))
		return "shm";
	return "unix";
}

/* The null case's check: one echo, in place over shm, and the bytes must come back. */
static int check_nop(vsm_client *c, const struct bench_prep *p, char *err, size_t errlen)
{
	struct bench_zc z;
	struct vsm_completion done;
	int rc;

	if (bench_zc_alloc(c, p, &z)) {
		rc = vsm_nop(c, p->msg, p->size);
		if (rc)
			snprintf(err, errlen, "nop: %s", vsm_strerror(rc));
		return rc ? -1 : 0;
	}
	rc = vsm_submit_nop(c, z.src, p->size, z.src, p->size, NULL, NULL);
	if (!rc) {
		rc = vsm_poll(c, &done, 1, -1);
		rc = rc == 1 ? done.status : rc < 0 ? rc : -EPROTO;
	}
	if (rc)
		snprintf(err, errlen, "nop in place: %s", vsm_strerror(rc));
	else if (done.out_len != p->size || memcmp(z.src, p->msg, p->size))
		snprintf(err, errlen, "nop in place: the echo differs from the message");
	bench_zc_free(c, &z);
	return err[0] ? -1 : 0;
}

/*
 * One synchronous request through vsmd, compared with the native result:
 * equal bytes for deterministic cases, a signature that verifies with the
 * native key for sign cases, status OK for verify cases. Over shm it goes
 * through the zero-copy buffers, as the timed requests do.
 */
static int check_case(vsm_client *c, const struct bench_prep *p, char *err, size_t errlen)
{
	struct vsm_session_params sp;
	struct bench_native *n;
	struct bench_zc z = {0};
	uint64_t session = 0;
	struct vsm_op op;
	const uint8_t *nout;
	size_t nlen, out_len = p->out_cap;
	uint8_t *out, *mem;
	int rc = -1, zc;

	if (p->bc->kind == BK_NULL)
		return check_nop(c, p, err, errlen);
	zc = bench_zc_alloc(c, p, &z) == 0;
	mem = zc ? NULL : malloc(p->out_cap ? p->out_cap : 1);
	out = zc ? z.out : mem;
	n = bench_native_new(p, err, errlen);
	if (!out || !n)
		goto done;
	bench_session_params(p, &sp);
	rc = vsm_session_create(c, &sp, &session);
	if (rc) {
		snprintf(err, errlen, "session create: %s (detail %s)", vsm_strerror(rc),
			 rc > 0 ? vsm_detail_name(vsm_last_detail(c)) : "none");
		goto done;
	}
	bench_vsm_op(p, session, &op);
	if (zc)
		bench_zc_op(p, &z, &op);
	rc = vsm_op_run(c, &op, p->out_cap ? out : NULL, &out_len);
	if (rc) {
		snprintf(err, errlen, "operation: %s (detail %s)", vsm_strerror(rc),
			 rc > 0 ? vsm_detail_name(vsm_last_detail(c)) : "none");
		goto done;
	}
	rc = -1;
	if (p->bc->kind == BK_SIGN) {
		if (bench_verify_sig(p, out, out_len))
			snprintf(err, errlen, "vsmd's signature does not verify natively");
		else
			rc = 0;
		goto done;
	}
	if (bench_native_op(n)) {
		snprintf(err, errlen, "native operation failed");
		goto done;
	}
	nout = bench_native_out(n, &nlen);
	if (nlen != out_len || (nlen && memcmp(nout, out, nlen)))
		snprintf(err, errlen, "vsmd output (%zu bytes) differs from native (%zu bytes)",
			 out_len, nlen);
	else
		rc = 0;
done:
	if (session)
		vsm_session_destroy(c, session);
	bench_native_free(n);
	bench_zc_free(c, &z);
	free(mem);
	return rc;
}

struct row {
	const struct bench_case *bc;
	const char *via; /* transport */
	size_t size;
	unsigned depth;
	struct bench_result nat, vsm;
	char note[200];
};

static void fmt(char *buf, size_t len, int ok, double v, int prec)
{
	if (ok)
		snprintf(buf, len, "%.*f", prec, v);
	else
		snprintf(buf, len, "n/a");
}

static void print_header(const struct opts *o, vsm_client *const *cs)
{
	char vias[64] = "";

	for (size_t i = 0; i < o->nuris; i++)
		snprintf(vias + strlen(vias), sizeof(vias) - strlen(vias), "%s%s", i ? ", " : "",
			 transport_of(o->uris[i]));
	printf("vsm-bench %s: transport %s, %u thread%s, %.2f s per case and side, "
	       "machine: %ld CPUs (nproc), %s\n",
	       VSM_BENCH_VERSION, vias, o->threads, o->threads == 1 ? "" : "s", o->seconds,
	       sysconf(_SC_NPROCESSORS_ONLN), OpenSSL_version(OPENSSL_VERSION));
	for (size_t i = 0; i < o->nuris; i++)
		if (cs[i])
			printf("daemon: %s, tenant %s, max_inflight %u, max_msg %u\n",
			       o->uris[i] ? o->uris[i] : "(default)", vsm_info(cs[i])->tenant,
			       vsm_info(cs[i])->max_inflight, vsm_info(cs[i])->max_msg);
	printf("%-18s %6s %5s %-5s %12s %9s %12s %9s %7s %9s %9s %9s %9s\n", "case", "size",
	       "depth", "via", "native op/s", "nat MB/s", "vsm op/s", "vsm MB/s", "ratio",
	       "vsm p50", "vsm p99", "nat p50", "nat p99");
	fflush(stdout);
}

static void print_row(const struct row *r)
{
	char f[10][32];
	double mb = (double)r->size / 1e6;

	fmt(f[0], 32, r->nat.ok, r->nat.ops_per_s, 0);
	fmt(f[1], 32, r->nat.ok, r->nat.ops_per_s * mb, 1);
	fmt(f[2], 32, r->vsm.ok, r->vsm.ops_per_s, 0);
	fmt(f[3], 32, r->vsm.ok, r->vsm.ops_per_s * mb, 1);
	fmt(f[4], 32, r->nat.ok && r->vsm.ok, r->vsm.ops_per_s / r->nat.ops_per_s, 3);
	fmt(f[5], 32, r->vsm.ok, r->vsm.p50_us, 1);
	fmt(f[6], 32, r->vsm.ok, r->vsm.p99_us, 1);
	fmt(f[7], 32, r->nat.ok, r->nat.p50_us, 1);
	fmt(f[8], 32, r->nat.ok, r->nat.p99_us, 1);
	printf("%-18s %6zu %5u %-5s %12s %9s %12s %9s %7s %9s %9s %9s %9s\n", r->bc->name, r->size,
	       r->depth, r->via, f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]);
	if (r->note[0])
		printf("  ^ %s\n", r->note);
	fflush(stdout);
}

static json_t *num_or_null(int ok, double v)
{
	return ok ? json_real(v) : json_null();
}

static json_t *row_json(const struct row *r, unsigned threads)
{
	double mb = (double)r->size / 1e6;
	json_t *j = json_object();

	json_object_set_new(j, "alg", json_string(r->bc->name));
	json_object_set_new(j, "size", json_integer((json_int_t)r->size));
	json_object_set_new(j, "transport", json_string(r->via));
	json_object_set_new(j, "depth", json_integer(r->depth));
	json_object_set_new(j, "threads", json_integer(threads));
	json_object_set_new(j, "native_ops_per_s", num_or_null(r->nat.ok, r->nat.ops_per_s));
	json_object_set_new(j, "native_mb_per_s", num_or_null(r->nat.ok, r->nat.ops_per_s * mb));
	json_object_set_new(j, "vsm_ops_per_s", num_or_null(r->vsm.ok, r->vsm.ops_per_s));
	json_object_set_new(j, "vsm_mb_per_s", num_or_null(r->vsm.ok, r->vsm.ops_per_s * mb));
	json_object_set_new(
		j, "ratio",
		num_or_null(r->nat.ok && r->vsm.ok, r->vsm.ops_per_s / r->nat.ops_per_s));
	json_object_set_new(j, "vsm_p50_us", num_or_null(r->vsm.ok, r->vsm.p50_us));
	json_object_set_new(j, "vsm_p99_us", num_or_null(r->vsm.ok, r->vsm.p99_us));
	json_object_set_new(j, "native_p50_us", num_or_null(r->nat.ok, r->nat.p50_us));
	json_object_set_new(j, "native_p99_us", num_or_null(r->nat.ok, r->nat.p99_us));
	if (r->note[0])
		json_object_set_new(j, "note", json_string(r->note));
	return j;
}

/*
 * Run every depth and transport of one case and size. The native side runs
 * once and every transport's row is set against that same figure; each
 * transport is checked once before any of its depths is timed.
 */
static void run_case(const struct opts *o, vsm_client *const *cs, const struct bench_case *bc,
		     size_t size, unsigned *done, unsigned total, json_t *arr)
{
	struct bench_result nat = {0};
	struct bench_prep p;
	char note[200] = "", tnote[MAX_URIS][200];
	int prepared = 0, vsm_ok[MAX_URIS], nat_done;
	/* Without the vsm side, one row per depth says it all. */
	size_t nt = o->vsm ? o->nuris : 1;

	if (bc->block > 1 && size % bc->block)
		snprintf(note, sizeof(note), "size must be a multiple of %u", bc->block);
	else if (bench_prep_init(&p, bc, size))
		snprintf(note, sizeof(note), "could not prepare inputs (OpenSSL)");
	else
		prepared = 1;
	nat_done = !prepared;
	for (size_t t = 0; t < nt; t++) {
		tnote[t][0] = '\0';
		vsm_ok[t] = prepared && o->vsm;
		if (!vsm_ok[t] || !cs[t])
			continue;
		if (bc->kind != BK_NULL && !vsm_alg_supported(cs[t], bc->alg)) {
			snprintf(tnote[t], sizeof(tnote[t]), "vsmd does not offer %s",
				 vsm_alg_name(bc->alg));
			vsm_ok[t] = 0;
		} else if (check_case(cs[t], &p, tnote[t], sizeof(tnote[t]))) {
			vsm_ok[t] = 0;
		}
	}
	for (size_t d = 0; d < o->ndepths; d++) {
		for (size_t t = 0; t < nt; t++) {
			struct bench_cfg cfg = {
				.uri = o->uris[t], .threads = o->threads, .seconds = o->seconds};
			struct row r = {.bc = bc,
					.via = transport_of(o->uris[t]),
					.size = size,
					.depth = o->depths[d]};

			if (!o->quiet)
				fprintf(stderr, "[%u/%u] %s %zu B depth %u %s ...\n", ++*done,
					total, bc->name, size, r.depth, r.via);
			if (!nat_done && o->native) {
				bench_run_native(&p, &cfg, &nat);
				if (!nat.ok && !note[0])
					snprintf(note, sizeof(note), "native: %s", nat.err);
				nat_done = 1;
			}
			r.nat = nat;
			if (vsm_ok[t]) {
				bench_run_vsm(&p, &cfg, r.depth, &r.vsm);
				if (!r.vsm.ok)
					snprintf(r.note, sizeof(r.note), "vsm: %s", r.vsm.err);
			}
			if (!r.note[0] && tnote[t][0])
				snprintf(r.note, sizeof(r.note), "%.199s", tnote[t]);
			if (!r.note[0] && note[0])
				snprintf(r.note, sizeof(r.note), "%s", note);
			if (arr)
				json_array_append_new(arr, row_json(&r, o->threads));
			else
				print_row(&r);
		}
	}
	if (prepared)
		bench_prep_free(&p);
}

int main(int argc, char **argv)
{
	struct opts o = {.threads = 1, .seconds = 2.0, .native = 1, .vsm = 1};
	vsm_client *cs[MAX_URIS] = {0};
	json_t *arr = NULL;
	unsigned done = 0, total;
	int rc, ret = 0;

	if (parse_args(argc, argv, &o))
		return 2;
	if (!o.ncases)
		for (size_t i = 0; i < bench_ncases && i < MAX_LIST; i++)
			o.cases[o.ncases++] = &bench_cases[i];
	if (!o.nsizes)
		o.sizes[o.nsizes++] = 4096;
	if (!o.ndepths) {
		o.depths[o.ndepths++] = 1;
		o.depths[o.ndepths++] = 32;
	}
	if (bench_native_global_init()) {
		fprintf(stderr, "vsm-bench: libgcrypt initialisation failed\n");
		return 1;
	}
	for (size_t t = 0; o.vsm && t < o.nuris; t++) {
		rc = vsm_connect(o.uris[t], &cs[t]);
		if (rc) {
			fprintf(stderr, "vsm-bench: cannot connect to %s: %s\n",
				o.uris[t] ? o.uris[t] : "the default daemon", vsm_strerror(rc));
			ret = 1;
			goto out;
		}
	}
	if (o.json)
		arr = json_array();
	else
		print_header(&o, cs);
	total = (unsigned)(o.ncases * o.nsizes * o.ndepths * (o.vsm ? o.nuris : 1));
	for (size_t i = 0; i < o.ncases; i++)
		for (size_t s = 0; s < o.nsizes; s++)
			run_case(&o, cs, o.cases[i], o.sizes[s], &done, total, arr);
	if (arr) {
		json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
		putchar('\n');
		json_decref(arr);
	}
out:
	for (size_t t = 0; t < o.nuris; t++) {
		vsm_close(cs[t]);
		free(o.derived[t]);
	}
	return ret;
}
