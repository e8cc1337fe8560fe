/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prometheus /metrics (text exposition format 0.0.4) over libmicrohttpd.
 * One internal polling thread serves one scrape at a time: a scrape only
 * reads atomics and takes the registry lock briefly, never a worker's path.
 */
#include "daemon/metrics.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/admin.h"
#include "daemon/dispatch.h"
#include "daemon/log.h"
#include "daemon/stats.h"
#include "daemon/tenant.h"
#include "daemon/worker.h"
#include "transport/stream.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
/* Scrapers are few; anything beyond this is not a scraper. */
#define MAX_CONNS      16
#define CONN_TIMEOUT_S 10

static struct MHD_Daemon *mhd;

/* ---- a growable text buffer ---- */

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void reserve(struct buf *b, size_t more)
{
	if (b->oom || b->len + more + 1 <= b->cap)
		return;
	size_t n = b->cap ? b->cap : 16384;
	while (n < b->len + more + 1)
		n *= 2;
	char *p = realloc(b->p, n);
	if (!p) {
		b->oom = true;
		return;
	}
	b->p = p;
	b->cap = n;
}

__attribute__((format(printf, 2, 3))) static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	reserve(b, (size_t)n);
	if (b->oom)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* A label value, escaped as the exposition format requires: \\, \" and \n. */
static void put_label(struct buf *b, const char *s)
{
	reserve(b, 2 * strlen(s));
	if (b->oom)
		return;
	for (; *s; s++) {
		if (*s == '\\' || *s == '"') {
			b->p[b->len++] = '\\';
			b->p[b->len++] = *s;
		} else if (*s == '\n') {
			b->p[b->len++] = '\\';
			b->p[b->len++] = 'n';
		} else {
			b->p[b->len++] = *s;
		}
	}
	b->p[b->len] = 0;
}

static void family(struct buf *b, const char *name, const char *type, const char *help)
{
	put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{tenant="..." — the caller closes the label set. */
static void open_series(struct buf *b, const char *name, const char *suffix,
			const struct vsm_tenant *t)
{
	put(b, "%s%s{tenant=\"", name, suffix);
	put_label(b, t->name);
	put(b, "\"");
}

/* ---- the tenants, copied out of the registry ---- */

struct tenant_list {
	struct vsm_tenant **t;
	size_t n;
	bool oom;
};

/* ---- families ---- */

static void ops_total(struct buf *b, const struct tenant_list *tl)
{
	family(b, "vsm_ops_total", "counter", "Requests completed, by response status.");
	for (size_t i = 0; i < tl->n; i++)
		for (int s = 0; s < VSM_STAT_NSVC; s++)
			for (int k = 0; k < VSM_K__MAX; k++) {
				struct vsm_stat_cell *c = &tl->t[i]->stats->cell[s][k];
				for (int st = 0; st < VSM_S__MAX; st++) {
					unsigned long long v = atomic_load_explicit(
						&c->status[st], memory_order_relaxed);
					if (!v)
						continue;
					open_series(b, "vsm_ops_total", "", tl->t[i]);
					put(b, ",service=\"%s\",op=\"%s\",status=\"%s\"} %llu\n",
					    vsm_stat_svc_name(s), vsm_kind_name(k),
					    vsm_status_name(st), v);
				}
			}
}

static void bytes_total(struct buf *b, const struct tenant_list *tl)
{
	family(b, "vsm_bytes_total", "counter",
	       "Data bytes: in = source and AAD of operations (NOP: its payload), out = response "
	       "payload.");
	for (size_t i = 0; i < tl->n; i++)
		for (int s = 0; s < VSM_STAT_NSVC; s++)
			for (int k = 0; k < VSM_K__MAX; k++) {
				struct vsm_stat_cell *c = &tl->t[i]->stats->cell[s][k];
				if (!atomic_load_explicit(&c->ops, memory_order_relaxed))
					continue;
				unsigned long long v[2] = {
					atomic_load_explicit(&c->bytes_in, memory_order_relaxed),
					atomic_load_explicit(&c->bytes_out, memory_order_relaxed)};
				static const char *const dir[2] = {"in", "out"};
				for (int d = 0; d < 2; d++) {
					open_series(b, "vsm_bytes_total", "", tl->t[i]);
					put(b, ",service=\"%s\",op=\"%s\",direction=\"%s\"} %llu\n",
					    vsm_stat_svc_name(s), vsm_kind_name(k), dir[d], v[d]);
				}
			}
}

static void histogram_series(struct buf *b, const char *name, const struct vsm_tenant *t, int svc,
			     int kind, const struct vsm_hist_snap *h)
{
	uint64_t cum = 0;
	for (int i = 0; i < VSM_LAT_BUCKETS; i++) {
		cum += h->bucket[i];
		open_series(b, name, "_bucket", t);
		put(b, ",service=\"%s\",op=\"%s\",le=\"", vsm_stat_svc_name(svc),
		    vsm_kind_name(kind));
		if (i == VSM_LAT_BUCKETS - 1)
			put(b, "+Inf");
		else
			put(b, "%.9g", vsm_hist_bound(i));
		put(b, "\"} %llu\n", (unsigned long long)cum);
	}
	open_series(b, name, "_sum", t);
	put(b, ",service=\"%s\",op=\"%s\"} %.9f\n", vsm_stat_svc_name(svc), vsm_kind_name(kind),
	    (double)h->sum_ns / 1e9);
	open_series(b, name, "_count", t);
	put(b, ",service=\"%s\",op=\"%s\"} %llu\n", vsm_stat_svc_name(svc), vsm_kind_name(kind),
	    (unsigned long long)h->count);
}

static void histograms(struct buf *b, const struct tenant_list *tl, bool qos)
{
	const char *name = qos ? "vsm_qos_wait_seconds" : "vsm_op_duration_seconds";
	family(b, name, "histogram",
	       qos ? "Time requests were held back by QoS (only requests that waited)."
		   : "Time from dispatch to response queued.");
	for (size_t i = 0; i < tl->n; i++)
		for (int s = 0; s < VSM_STAT_NSVC; s++)
			for (int k = 0; k < VSM_K__MAX; k++) {
				struct vsm_stat_cell *c = &tl->t[i]->stats->cell[s][k];
				struct vsm_hist_snap h;
				vsm_hist_snapshot(qos ? &c->qos_wait : &c->latency, &h);
				if (h.count)
					histogram_series(b, name, tl->t[i], s, k, &h);
			}
}

static uint64_t throttled(const struct vsm_tenant *t)
{
	uint64_t n = 0;
	for (int s = 0; s < VSM_STAT_NSVC; s++)
		for (int k = 0; k < VSM_K__MAX; k++) {
			const struct vsm_hist *h = &t->stats->cell[s][k].qos_wait;
			for (int i = 0; i < VSM_LAT_BUCKETS; i++)
				n += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
		}
	return n;
}

static void tenant_gauges(struct buf *b, const struct tenant_list *tl)
{
	family(b, "vsm_inflight", "gauge", "Requests taken and not yet answered.");
	for (size_t i = 0; i < tl->n; i++) {
		open_series(b, "vsm_inflight", "", tl->t[i]);
		put(b, "} %u\n", atomic_load_explicit(&tl->t[i]->inflight, memory_order_relaxed));
	}
	family(b, "vsm_sessions", "gauge", "Open sessions.");
	for (size_t i = 0; i < tl->n; i++) {
		open_series(b, "vsm_sessions", "", tl->t[i]);
		put(b, "} %u\n", vsm_tenant_sessions(tl->t[i]));
	}
	family(b, "vsm_connections", "gauge", "Open connections.");
	for (size_t i = 0; i < tl->n; i++) {
		open_series(b, "vsm_connections", "", tl->t[i]);
		put(b, "} %u\n", vsm_tenant_conns(tl->t[i]));
	}

	struct vsm_qos_conf *q = calloc(tl->n ? tl->n : 1, sizeof(*q));
	if (!q) {
		b->oom = true;
		return;
	}
	for (size_t i = 0; i < tl->n; i++)
		vsm_qos_get(&tl->t[i]->qos, &q[i]);
	family(b, "vsm_qos_ops_limit", "gauge",
	       "QoS limit in requests per second (0 = unlimited).");
	for (size_t i = 0; i < tl->n; i++) {
		open_series(b, "vsm_qos_ops_limit", "", tl->t[i]);
		put(b, "} %llu\n", (unsigned long long)q[i].ops_rate);
	}
	family(b, "vsm_qos_bytes_limit", "gauge",
	       "QoS limit in payload bytes per second (0 = unlimited).");
	for (size_t i = 0; i < tl->n; i++) {
		open_series(b, "vsm_qos_bytes_limit", "", tl->t[i]);
		put(b, "} %llu\n", (unsigned long long)q[i].bytes_rate);
	}
	free(q);
	family(b, "vsm_qos_throttled_total", "counter", "Requests that had to wait for QoS.");
	for (size_t i = 0; i < tl->n; i++) {
		open_series(b, "vsm_qos_throttled_total", "", tl->t[i]);
		put(b, "} %llu\n", (unsigned long long)throttled(tl->t[i]));
	}
}

static void daemon_metrics(struct buf *b)
{
	family(b, "vsm_worker_busy_seconds_total", "counter",
	       "Time a worker thread spent working rather than waiting.");
	uint64_t busy;
	unsigned conns;
	for (unsigned i = 0; vsm_workers_stat(i, &busy, &conns) == 0; i++)
		put(b, "vsm_worker_busy_seconds_total{worker=\"%u\"} %.9f\n", i,
		    (double)busy / 1e9);

	const char *name;
	uint64_t ops;
	family(b, "vsm_engine_ops_total", "counter", "Operations run by each crypto engine.");
	for (unsigned i = 0; vsm_engine_use_get(i, &name, &ops, &busy) == 0; i++) {
		put(b, "vsm_engine_ops_total{engine=\"");
		put_label(b, name);
		put(b, "\"} %llu\n", (unsigned long long)ops);
	}
	family(b, "vsm_engine_busy_seconds_total", "counter",
	       "Time spent in each crypto engine's operations.");
	for (unsigned i = 0; vsm_engine_use_get(i, &name, &ops, &busy) == 0; i++) {
		put(b, "vsm_engine_busy_seconds_total{engine=\"");
		put_label(b, name);
		put(b, "\"} %.9f\n", (double)busy / 1e9);
	}
}

/* The whole exposition; NULL when out of memory. */
static char *render(size_t *len)
{
	struct buf b = {0};
	struct tenant_list tl = {0};
	tl.oom = vsm_tenants_snapshot(&tl.t, &tl.n) < 0;

	family(&b, "vsm_build_info", "gauge", "Always 1; the version is a label.");
	put(&b, "vsm_build_info{version=\"%s\"} 1\n", VSM_VERSION);
	family(&b, "vsm_uptime_seconds", "gauge", "Seconds since vsmd started serving.");
	put(&b, "vsm_uptime_seconds %.3f\n",
	    (double)(vsm_now_ms() - vsm_dispatch_start_ms) / 1000.0);
	if (!tl.oom) {
		ops_total(&b, &tl);
		bytes_total(&b, &tl);
		histograms(&b, &tl, false);
		histograms(&b, &tl, true);
		tenant_gauges(&b, &tl);
	}
	daemon_metrics(&b);
	free(tl.t);
	if (b.oom || tl.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/* ---- HTTP ---- */

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code, const char *type,
			     char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	enum MHD_Result ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

#define TEXT(s) (char *)(s), sizeof(s) - 1, MHD_RESPMEM_PERSISTENT

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_len, void **req_cls)
{
	(void)cls;
	(void)version;
	(void)upload;
	(void)upload_len;
	(void)req_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
			     TEXT("only GET is served here\n"));
	if (!strcmp(url, "/metrics")) {
		size_t len;
		char *body = render(&len);
		if (!body)
			return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain",
				     TEXT("out of memory\n"));
		return reply(conn, MHD_HTTP_OK, CONTENT_TYPE, body, len, MHD_RESPMEM_MUST_FREE);
	}
	if (!strcmp(url, "/"))
		return reply(conn, MHD_HTTP_OK, "text/html; charset=utf-8",
			     TEXT("<html><head><title>vsmd</title></head><body>"
				  "<h1>vsmd</h1><p><a href=\"/metrics\">/metrics</a></p>"
				  "</body></html>\n"));
	return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", TEXT("not found; try /metrics\n"));
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[256];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	if (n && msg[n - 1] == '\n')
		msg[n - 1] = 0;
	log_warn("metrics: %s", msg);
}

int vsm_metrics_start(const struct vsm_config *c, char *err, size_t errlen)
{
	if (!c->metrics_listen[0])
		return 0;
	char host[256], port[16];
	if (vsm_hostport_split(c->metrics_listen, host, sizeof(host), port, sizeof(port)) < 0) {
		snprintf(err, errlen, "metrics_listen '%s' is not HOST:PORT", c->metrics_listen);
		return -1;
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai;
	int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "metrics_listen '%s': %s", c->metrics_listen,
			 gai_strerror(rc));
		return -1;
	}
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* The port argument is ignored when MHD_OPTION_SOCK_ADDR is given. */
	/* The logger goes first, or MHD reports through its own before it is set. */
	mhd = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S, MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!mhd) {
		snprintf(err, errlen, "cannot serve /metrics on %s (address in use?)",
			 c->metrics_listen);
		return -1;
	}
	log_info("metrics on http://%s/metrics", c->metrics_listen);
	return 0;
}

void vsm_metrics_stop(void)
{
	if (mhd) {
		MHD_stop_daemon(mhd);
		mhd = NULL;
	}
}
