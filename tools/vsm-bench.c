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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "bench_common.h"
#include "sdf.h"

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
	int sdf;	    /* --sdf: the GM/T 0018 cases through libsdf-vsm */
	unsigned sdf_index; /* keystore slot the SDF signing key is imported into */
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
		"      --sdf            instead of the cases above, measure the SDF API\n"
		"                       (libsdf-vsm, GM/T 0018) against native OpenSSL: SM2\n"
		"                       internal sign and external verify of e = SM3(Z || M)\n"
		"                       for a 64-byte M, SM4-CBC and SM3 of -s bytes; one\n"
		"                       thread, one call at a time (via = sdf). Needs the\n"
		"                       keystore: the signing key is imported for the run\n"
		"      --sdf-index N    keystore index for that key (default 1000; must be free)\n"
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

enum { OPT_JSON = 256, OPT_NATIVE_ONLY, OPT_VSM_ONLY, OPT_TRANSPORTS, OPT_SDF, OPT_SDF_INDEX };

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
		{"sdf", no_argument, NULL, OPT_SDF},
		{"sdf-index", required_argument, NULL, OPT_SDF_INDEX},
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
		case OPT_SDF:
			o->sdf = 1;
			break;
		case OPT_SDF_INDEX:
			l = strtol(optarg, &end, 10);
			if (end == optarg || *end || l < 1 || l > 1000000) {
				fprintf(stderr, "vsm-bench: bad --sdf-index '%s'\n", optarg);
				return -1;
			}
			o->sdf_index = (unsigned)l;
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
	if (o->sdf && (o->nuris > 1 || o->threads > 1 || !o->vsm || o->ncases)) {
		fprintf(stderr,
			"vsm-bench: --sdf takes one -u, one thread, no -a and no --native-only\n");
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

/*
 * --sdf: the SDF API's own calls, timed one at a time in this thread, with
 * the native figures of the matching cases above. The SM2 key is the native
 * case's key, imported into the keystore for the run and deleted after.
 */
#define SDF_PW	    "vsm-bench"
#define SDF_SM2_MSG 64

struct sdf_bench {
	const struct bench_prep *p;
	void *s;
	void *key; /* SM4 session key */
	unsigned index;
	ECCrefPublicKey pub;
	ECCSignature sig;
	uint8_t e[32]; /* SM3(Z || M) */
	uint8_t *out;
};

static int sdf_op(struct sdf_bench *b)
{
	const struct bench_prep *p = b->p;
	uint8_t iv[16];
	unsigned n;
	int rc;

	switch (p->bc->kind) {
	case BK_SIGN:
		return SDF_InternalSign_ECC(b->s, b->index, b->e, 32, &b->sig);
	case BK_VERIFY:
		return SDF_ExternalVerify_ECC(b->s, SGD_SM2_1, &b->pub, b->e, 32, &b->sig);
	case BK_CIPHER:
		/* SDF_Encrypt chains the IV: every call starts from the same one. */
		memcpy(iv, p->iv, 16);
		return SDF_Encrypt(b->s, b->key, SGD_SM4_CBC, iv, p->msg, (unsigned)p->size, b->out,
				   &n);
	default:
		rc = SDF_HashInit(b->s, SGD_SM3, NULL, NULL, 0);
		if (!rc)
			rc = SDF_HashUpdate(b->s, p->msg, (unsigned)p->size);
		return rc ? rc : SDF_HashFinal(b->s, b->out, &n);
	}
}

static int sdf_pub_of(EVP_PKEY *pk, ECCrefPublicKey *pub)
{
	BIGNUM *x = NULL, *y = NULL;
	int ok;

	memset(pub, 0, sizeof(*pub));
	pub->bits = 256;
	ok = EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
	     EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1 &&
	     BN_bn2binpad(x, pub->x + 32, 32) == 32 && BN_bn2binpad(y, pub->y + 32, 32) == 32;
	BN_free(x);
	BN_free(y);
	return ok ? 0 : -1;
}

/* Set up the SDF side of a case and check one result against the native side. */
static int sdf_prepare(struct sdf_bench *b, const char *uri, char *err, size_t errlen)
{
	const struct bench_prep *p = b->p;
	struct bench_native *n = NULL;
	const uint8_t *nout;
	size_t nlen;
	unsigned len;
	int rc = 0;

	b->out = malloc(p->size + 64);
	if (!b->out)
		return -1;
	if (p->bc->kind == BK_SIGN || p->bc->kind == BK_VERIFY) {
		if (sdf_pub_of(p->pkey, &b->pub))
			return snprintf(err, errlen, "SM2 public key"), -1;
		rc = SDF_HashInit(b->s, SGD_SM3, &b->pub, (unsigned char *)"1234567812345678", 16);
		if (!rc)
			rc = SDF_HashUpdate(b->s, p->msg, (unsigned)p->size);
		if (!rc)
			rc = SDF_HashFinal(b->s, b->e, &len);
	}
	if (!rc && p->bc->kind == BK_SIGN) {
		vsm_client *c;

		rc = vsm_connect(uri, &c);
		if (rc)
			return snprintf(err, errlen, "connect: %s", vsm_strerror(rc)), -1;
		rc = vsm_key_import(c, VSM_KU_SIGN, b->index, VSM_KT_SM2, p->der, p->der_len,
				    SDF_PW, strlen(SDF_PW), "vsm-bench");
		vsm_close(c);
		if (rc)
			return snprintf(err, errlen,
					"importing the key at index %u: %s (try --sdf-index)",
					b->index, vsm_strerror(rc)),
			       -1;
		rc = SDF_GetPrivateKeyAccessRight(b->s, b->index, (unsigned char *)SDF_PW,
						  strlen(SDF_PW));
	}
	if (!rc && p->bc->kind == BK_VERIFY) {
		const unsigned char *q = p->sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)p->sig_len);

		if (!es)
			return snprintf(err, errlen, "native signature"), -1;
		memset(&b->sig, 0, sizeof(b->sig));
		BN_bn2binpad(ECDSA_SIG_get0_r(es), b->sig.r + 32, 32);
		BN_bn2binpad(ECDSA_SIG_get0_s(es), b->sig.s + 32, 32);
		ECDSA_SIG_free(es);
	}
	if (!rc && p->bc->kind == BK_CIPHER)
		rc = SDF_ImportKey(b->s, (unsigned char *)p->key, 16, &b->key);
	if (!rc)
		rc = sdf_op(b);
	if (rc)
		return snprintf(err, errlen, "SDF error 0x%08x", (unsigned)rc), -1;

	/* The check: a signature OpenSSL accepts, or the native bytes. */
	if (p->bc->kind == BK_SIGN) {
		ECDSA_SIG *es = ECDSA_SIG_new();
		unsigned char *der = NULL;
		int dl;

		ECDSA_SIG_set0(es, BN_bin2bn(b->sig.r, 64, NULL), BN_bin2bn(b->sig.s, 64, NULL));
		dl = i2d_ECDSA_SIG(es, &der);
		rc = dl > 0 ? bench_verify_sig(p, der, (size_t)dl) : -1;
		OPENSSL_free(der);
		ECDSA_SIG_free(es);
		if (rc)
			snprintf(err, errlen, "the SDF signature does not verify natively");
		return rc;
	}
	if (p->bc->kind == BK_VERIFY)
		return 0;
	n = bench_native_new(p, err, errlen);
	if (!n || bench_native_op(n)) {
		bench_native_free(n);
		return -1;
	}
	nout = bench_native_out(n, &nlen);
	rc = nlen <= p->size + 64 && !memcmp(nout, b->out, nlen) ? 0 : -1;
	if (rc)
		snprintf(err, errlen, "SDF output differs from native");
	bench_native_free(n);
	return rc;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void sdf_time(struct sdf_bench *b, double seconds, struct bench_result *r)
{
	size_t cap = 1u << 20, n = 0;
	double *lat = malloc(cap * sizeof(*lat)), start = now_us(), end = start + seconds * 1e6, t;
	int rc = 0;

	if (!lat) {
		snprintf(r->err, sizeof(r->err), "out of memory");
		return;
	}
	for (t = start; t < end && !rc; n++) {
		double t0 = t;

		rc = sdf_op(b);
		t = now_us();
		if (n < cap)
			lat[n] = t - t0;
	}
	if (rc) {
		snprintf(r->err, sizeof(r->err), "SDF error 0x%08x", (unsigned)rc);
	} else {
		size_t m = n < cap ? n : cap;

		qsort(lat, m, sizeof(*lat), cmp_double);
		r->ok = 1;
		r->ops = n;
		r->ops_per_s = (double)n / ((t - start) / 1e6);
		r->p50_us = lat[m / 2];
		r->p99_us = lat[m * 99 / 100];
	}
	free(lat);
}

static void sdf_cleanup(struct sdf_bench *b, const char *uri)
{
	vsm_client *c;

	if (b->key)
		SDF_DestroyKey(b->s, b->key);
	if (b->p->bc->kind == BK_SIGN && vsm_connect(uri, &c) == 0) {
		SDF_ReleasePrivateKeyAccessRight(b->s, b->index);
		vsm_key_delete(c, VSM_KU_SIGN, b->index);
		vsm_close(c);
	}
	free(b->out);
}

static int run_sdf(const struct opts *o, json_t *arr)
{
	static const char *const names[] = {"sm2-sign", "sm2-verify", "sm4-cbc", "sm3"};
	const char *uri = o->uris[0];
	void *dev = NULL, *s = NULL;
	int rc;

	/* libsdf-vsm finds its daemon through $VSM_URI. */
	if (uri && setenv("VSM_URI", uri, 1))
		return 1;
	rc = SDF_OpenDevice(&dev);
	if (!rc)
		rc = SDF_OpenSession(dev, &s);
	if (rc) {
		fprintf(stderr, "vsm-bench: SDF device: error 0x%08x\n", (unsigned)rc);
		if (dev)
			SDF_CloseDevice(dev);
		return 1;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct bench_case *bc = bench_case_find(names[i]);
		bool pk = bc->kind == BK_SIGN || bc->kind == BK_VERIFY;

		for (size_t z = 0; z < (pk ? 1 : o->nsizes); z++) {
			struct bench_cfg cfg = {.uri = uri, .threads = 1, .seconds = o->seconds};
			struct row r = {.bc = bc, .via = "sdf", .depth = 1};
			struct bench_prep p;
			struct sdf_bench b = {.p = &p, .s = s, .index = o->sdf_index};

			r.size = pk ? SDF_SM2_MSG : o->sizes[z];
			if (bc->block > 1 && r.size % bc->block) {
				snprintf(r.note, sizeof(r.note), "size must be a multiple of %u",
					 bc->block);
			} else if (bench_prep_init(&p, bc, r.size)) {
				snprintf(r.note, sizeof(r.note),
					 "could not prepare inputs (OpenSSL)");
			} else {
				if (!o->quiet)
					fprintf(stderr, "[sdf] %s %zu B ...\n", bc->name, r.size);
				bench_run_native(&p, &cfg, &r.nat);
				if (sdf_prepare(&b, uri, r.note, sizeof(r.note)) == 0)
					sdf_time(&b, o->seconds, &r.vsm);
				if (!r.vsm.ok && !r.note[0])
					snprintf(r.note, sizeof(r.note), "sdf: %s", r.vsm.err);
				sdf_cleanup(&b, uri);
				bench_prep_free(&p);
			}
			if (arr)
				json_array_append_new(arr, row_json(&r, 1));
			else
				print_row(&r);
		}
	}
	SDF_CloseSession(s);
	SDF_CloseDevice(dev);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {.threads = 1, .seconds = 2.0, .native = 1, .vsm = 1, .sdf_index = 1000};
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
	if (o.sdf) {
		ret = run_sdf(&o, arr);
		goto print;
	}
	total = (unsigned)(o.ncases * o.nsizes * o.ndepths * (o.vsm ? o.nuris : 1));
	for (size_t i = 0; i < o.ncases; i++)
		for (size_t s = 0; s < o.nsizes; s++)
			run_case(&o, cs, o.cases[i], o.sizes[s], &done, total, arr);
print:
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
