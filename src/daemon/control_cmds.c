/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Control commands (docs/control.md): one request line in, one response
 * object out. Every field of the request is checked before use; nothing
 * here does I/O, so the socket thread in control.c stays a plain loop.
 */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/admin.h"
#include "daemon/control_cmds.h"
#include "daemon/control_keys.h"
#include "daemon/dispatch.h"
#include "daemon/log.h"
#include "daemon/stats.h"
#include "daemon/tenant.h"
#include "daemon/worker.h"

#define CONTROL_PROTOCOL 1
/* Largest rate or burst set-qos takes: far beyond any real link, far from overflow. */
#define QOS_MAX (1ull << 50)
/* How long disconnect-tenant waits for the workers to close the connections. */
#define DISCONNECT_WAIT_MS 1000

struct cerr {
	const char *cls;
	char desc[256];
};

static __attribute__((format(printf, 3, 4))) json_t *fail(struct cerr *e, const char *cls,
							  const char *fmt, ...)
{
	va_list ap;
	e->cls = cls;
	va_start(ap, fmt);
	vsnprintf(e->desc, sizeof(e->desc), fmt, ap);
	va_end(ap);
	return NULL;
}

/* A JSON string of s; bytes that are not printable ASCII become '?'. */
static json_t *jstr(const char *s)
{
	json_t *v = json_string(s);
	if (v)
		return v;
	char *c = strdup(s);
	if (!c)
		return NULL;
	for (char *p = c; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	v = json_string(c);
	free(c);
	return v;
}

static json_int_t jint(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v;
}

static json_t *jsec(uint64_t ns)
{
	return json_real((double)ns / 1e9);
}

json_t *vsm_control_error(const char *cls, const char *desc)
{
	char d[256];
	snprintf(d, sizeof(d), "%s", desc);
	/* Parser messages quote the input, which may be anything. */
	for (char *p = d; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	return json_pack("{s:{s:s,s:s}}", "error", "class", cls, "desc", d);
}

/* Names from the request go into messages only when short. */
static const char *shown(const char *s)
{
	return strlen(s) <= 64 ? s : "(a long name)";
}

/* ---- arguments ---- */

/* 0 and *t = NULL when absent, 0 and the tenant, or -1 with e set. */
static int arg_tenant(json_t *args, struct vsm_tenant **t, struct cerr *e)
{
	*t = NULL;
	json_t *v = json_object_get(args, "tenant");
	if (!v)
		return 0;
	if (!json_is_string(v)) {
		fail(e, "InvalidParameter", "'tenant' must be a string");
		return -1;
	}
	const char *name = json_string_value(v);
	if (strlen(name) <= VSM_TENANT_NAME_MAX)
		*t = vsm_tenant_find(name);
	if (!*t) {
		fail(e, "TenantNotFound", "no tenant named '%s'", shown(name));
		return -1;
	}
	return 0;
}

static struct vsm_tenant *need_tenant(json_t *args, struct cerr *e)
{
	struct vsm_tenant *t;
	if (arg_tenant(args, &t, e) < 0)
		return NULL;
	if (!t)
		fail(e, "InvalidParameter", "argument 'tenant' is required");
	return t;
}

/* Leaves *out alone when the argument is absent. */
static int arg_qos(json_t *args, const char *key, uint64_t *out, struct cerr *e)
{
	json_t *v = json_object_get(args, key);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > QOS_MAX) {
		fail(e, "InvalidParameter", "'%s' must be an integer from 0 to 2^50", key);
		return -1;
	}
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* ---- tenants ---- */

struct tlist {
	struct vsm_tenant **v;
	size_t n;
};

static int all_tenants(struct tlist *l, struct cerr *e)
{
	if (vsm_tenants_snapshot(&l->v, &l->n) < 0) {
		fail(e, "GenericError", "out of memory");
		return -1;
	}
	return 0;
}

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

static json_t *tenant_json(struct vsm_tenant *t)
{
	struct vsm_qos_conf q;
	vsm_qos_get(&t->qos, &q);
	return json_pack("{s:o,s:I,s:I,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I,s:I}}",
			 "name", jstr(t->name), "conns", (json_int_t)vsm_tenant_conns(t),
			 "sessions", (json_int_t)vsm_tenant_sessions(t), "inflight",
			 (json_int_t)atomic_load_explicit(&t->inflight, memory_order_relaxed),
			 "ops", jint(atomic_load_explicit(&t->ops, memory_order_relaxed)), "errors",
			 jint(atomic_load_explicit(&t->errors, memory_order_relaxed)), "limits",
			 "max_sessions", (json_int_t)LOAD(t->limits.max_sessions), "max_inflight",
			 (json_int_t)LOAD(t->limits.max_inflight), "max_msg",
			 (json_int_t)LOAD(t->limits.max_msg), "max_conns",
			 (json_int_t)LOAD(t->limits.max_conns), "qos", "ops_rate", jint(q.ops_rate),
			 "ops_burst", jint(q.ops_burst), "bytes_rate", jint(q.bytes_rate),
			 "bytes_burst", jint(q.bytes_burst));
}

static json_t *cmd_query_tenants(json_t *args, struct cerr *e)
{
	(void)args;
	struct tlist l;
	if (all_tenants(&l, e) < 0)
		return NULL;
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < l.n; i++)
		if (json_array_append_new(arr, tenant_json(l.v[i])) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	free(l.v);
	return arr;
}

/* ---- statistics ---- */

static json_t *hist_json(const struct vsm_hist *h)
{
	struct vsm_hist_snap s;
	vsm_hist_snapshot(h, &s);
	return json_pack("{s:I,s:o,s:f,s:f,s:f,s:o}", "count", jint(s.count), "sum_seconds",
			 jsec(s.sum_ns), "p50", vsm_hist_quantile(&s, 0.50), "p90",
			 vsm_hist_quantile(&s, 0.90), "p99", vsm_hist_quantile(&s, 0.99), "max",
			 jsec(s.max_ns));
}

static json_t *cell_json(int svc, int kind, const struct vsm_stat_cell *c, uint64_t ops)
{
	json_t *status = json_object();
	for (int s = 0; status && s < VSM_S__MAX; s++) {
		uint64_t n = atomic_load_explicit(&c->status[s], memory_order_relaxed);
		if (json_object_set_new(status, vsm_status_name(s), json_integer(jint(n))) < 0) {
			json_decref(status);
			status = NULL;
		}
	}
	return json_pack(
		"{s:s,s:s,s:I,s:I,s:I,s:o,s:o,s:o}", "service", vsm_stat_svc_name(svc), "op",
		vsm_kind_name(kind), "ops", jint(ops), "bytes_in",
		jint(atomic_load_explicit(&c->bytes_in, memory_order_relaxed)), "bytes_out",
		jint(atomic_load_explicit(&c->bytes_out, memory_order_relaxed)), "status", status,
		"latency", hist_json(&c->latency), "qos_wait", hist_json(&c->qos_wait));
}

static json_t *tenant_stats_json(struct vsm_tenant *t)
{
	json_t *cells = json_array();
	for (int svc = 0; cells && svc < VSM_STAT_NSVC; svc++)
		for (int k = 0; cells && k < VSM_K__MAX; k++) {
			const struct vsm_stat_cell *c = &t->stats->cell[svc][k];
			uint64_t ops = atomic_load_explicit(&c->ops, memory_order_relaxed);
			if (!ops)
				continue;
			if (json_array_append_new(cells, cell_json(svc, k, c, ops)) < 0) {
				json_decref(cells);
				cells = NULL;
			}
		}
	return json_pack("{s:o,s:I,s:o}", "name", jstr(t->name), "inflight",
			 (json_int_t)atomic_load_explicit(&t->inflight, memory_order_relaxed),
			 "stats", cells);
}

static json_t *workers_json(void)
{
	json_t *arr = json_array();
	unsigned n = vsm_workers_count();
	for (unsigned i = 0; arr && i < n; i++) {
		uint64_t busy;
		unsigned conns;
		if (vsm_workers_stat(i, &busy, &conns) < 0)
			break;
		if (json_array_append_new(arr, json_pack("{s:I,s:o,s:I}", "id", (json_int_t)i,
							 "busy_seconds", jsec(busy), "conns",
							 (json_int_t)conns)) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return arr;
}

static json_t *engines_json(void)
{
	json_t *arr = json_array();
	const char *name;
	uint64_t ops, busy;
	for (unsigned i = 0; arr && vsm_engine_use_get(i, &name, &ops, &busy) == 0; i++)
		if (json_array_append_new(arr, json_pack("{s:o,s:I,s:o}", "name", jstr(name), "ops",
							 jint(ops), "busy_seconds", jsec(busy))) <
		    0) {
			json_decref(arr);
			arr = NULL;
		}
	return arr;
}

static json_t *cmd_query_stats(json_t *args, struct cerr *e)
{
	struct vsm_tenant *one;
	if (arg_tenant(args, &one, e) < 0)
		return NULL;
	struct tlist l = {0};
	if (one) {
		l.v = malloc(sizeof(*l.v));
		if (!l.v)
			return fail(e, "GenericError", "out of memory");
		l.v[l.n++] = one;
	} else if (all_tenants(&l, e) < 0) {
		return NULL;
	}
	json_t *tenants = json_array();
	for (size_t i = 0; tenants && i < l.n; i++)
		if (json_array_append_new(tenants, tenant_stats_json(l.v[i])) < 0) {
			json_decref(tenants);
			tenants = NULL;
		}
	free(l.v);
	uint64_t now = vsm_now_ms();
	uint64_t up = now > vsm_dispatch_start_ms ? now - vsm_dispatch_start_ms : 0;
	return json_pack("{s:f,s:o,s:o,s:o}", "uptime_seconds", (double)up / 1e3, "tenants",
			 tenants, "workers", workers_json(), "engines", engines_json());
}

/* ---- changes ---- */

static json_t *cmd_set_qos(json_t *args, struct cerr *e)
{
	struct vsm_tenant *t = need_tenant(args, e);
	if (!t)
		return NULL;
	/* Start from what was set (burst 0 = a tenth of the rate), not the effective burst. */
	struct vsm_qos_conf q;
	pthread_mutex_lock(&t->lock);
	q.ops_rate = t->limits.throttle_ops;
	q.ops_burst = t->limits.throttle_ops_burst;
	q.bytes_rate = t->limits.throttle_bps;
	q.bytes_burst = t->limits.throttle_bps_burst;
	pthread_mutex_unlock(&t->lock);
	if (arg_qos(args, "ops_rate", &q.ops_rate, e) < 0 ||
	    arg_qos(args, "ops_burst", &q.ops_burst, e) < 0 ||
	    arg_qos(args, "bytes_rate", &q.bytes_rate, e) < 0 ||
	    arg_qos(args, "bytes_burst", &q.bytes_burst, e) < 0)
		return NULL;
	vsm_tenant_set_qos(t, &q);
	return json_object();
}

static json_t *cmd_list_sessions(json_t *args, struct cerr *e)
{
	struct vsm_tenant *t = need_tenant(args, e);
	if (!t)
		return NULL;
	/* Sessions may come while we allocate: take what fits, they are a snapshot anyway. */
	size_t cap = vsm_tenant_sessions_list(t, NULL, 0) + 64;
	struct vsm_session_info *s = calloc(cap, sizeof(*s));
	if (!s)
		return fail(e, "GenericError", "out of memory");
	size_t n = vsm_tenant_sessions_list(t, s, cap);
	if (n > cap)
		n = cap;
	uint64_t now = vsm_now_ms();
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++) {
		char h[24];
		snprintf(h, sizeof(h), "0x%016llx", (unsigned long long)s[i].handle);
		uint64_t age = now > s[i].created_ms ? now - s[i].created_ms : 0;
		if (json_array_append_new(arr,
					  json_pack("{s:s,s:s,s:s,s:f}", "handle", h, "service",
						    vsm_service_name((int)s[i].service), "alg",
						    vsm_alg_name((int)s[i].alg), "age_seconds",
						    (double)age / 1e3)) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	free(s);
	return arr;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)ms * 1000000};
	nanosleep(&ts, NULL);
}

static json_t *cmd_disconnect_tenant(json_t *args, struct cerr *e)
{
	struct vsm_tenant *t = need_tenant(args, e);
	if (!t)
		return NULL;
	unsigned n = vsm_tenant_conns(t);
	log_info("control: disconnecting tenant %s (%u connections)", t->name, n);
	vsm_tenant_disconnect(t);
	/*
	 * The workers close the connections on their own loops; wait for them,
	 * so that once the answer is out the tenant is gone. Connections
	 * that arrive meanwhile are not kicked, hence the bound.
	 */
	uint64_t deadline = vsm_now_ms() + DISCONNECT_WAIT_MS;
	while (vsm_tenant_conns(t) > 0 && vsm_now_ms() < deadline)
		sleep_ms(2);
	return json_pack("{s:I}", "connections", (json_int_t)n);
}

static json_t *cmd_reload_config(json_t *args, struct cerr *e)
{
	(void)args;
	char err[512];
	if (vsm_admin_reload(err, sizeof(err)) < 0)
		return fail(e, "GenericError", "%s", err);
	return json_pack("{s:s}", "note", err[0] ? err : "configuration reloaded");
}

static json_t *cmd_query_version(json_t *args, struct cerr *e)
{
	(void)args;
	(void)e;
	return json_pack("{s:s,s:i}", "version", VSM_VERSION, "protocol", CONTROL_PROTOCOL);
}

/* ---- keystore (control_keys.c) ---- */

#define KEY_CMD(fn)                                                                                \
	static json_t *cmd_##fn(json_t *args, struct cerr *e)                                      \
	{                                                                                          \
		return vsm_control_##fn(args, &e->cls, e->desc, sizeof(e->desc));                  \
	}
KEY_CMD(key_create)
KEY_CMD(key_list)
KEY_CMD(key_delete)
KEY_CMD(key_set_password)
KEY_CMD(key_export_public)
KEY_CMD(key_import)

/* ---- requests ---- */

static const struct command {
	const char *name;
	const char *args[8]; /* the arguments it takes; any other is an error */
	json_t *(*run)(json_t *args, struct cerr *e);
} commands[] = {
	{"query-tenants", {NULL}, cmd_query_tenants},
	{"query-stats", {"tenant"}, cmd_query_stats},
	{"set-qos", {"tenant", "ops_rate", "ops_burst", "bytes_rate", "bytes_burst"}, cmd_set_qos},
	{"list-sessions", {"tenant"}, cmd_list_sessions},
	{"disconnect-tenant", {"tenant"}, cmd_disconnect_tenant},
	{"reload-config", {NULL}, cmd_reload_config},
	{"query-version", {NULL}, cmd_query_version},
	{"key-create",
	 {"tenant", "usage", "index", "type", "bits", "password", "label"},
	 cmd_key_create},
	{"key-list", {"tenant"}, cmd_key_list},
	{"key-delete", {"tenant", "usage", "index"}, cmd_key_delete},
	{"key-set-password",
	 {"tenant", "usage", "index", "old_password", "password"},
	 cmd_key_set_password},
	{"key-export-public", {"tenant", "usage", "index"}, cmd_key_export_public},
	{"key-import",
	 {"tenant", "usage", "index", "type", "password", "label", "key"},
	 cmd_key_import},
};

static bool listed(const char *const *names, size_t n, const char *key)
{
	for (size_t i = 0; i < n && names[i]; i++)
		if (!strcmp(names[i], key))
			return true;
	return false;
}

static json_t *execute(json_t *req, struct cerr *e)
{
	static const char *const top[] = {"execute", "arguments", "id"};
	const char *key;
	json_t *v;
	json_object_foreach(req, key, v)
	{
		if (!listed(top, 3, key))
			return fail(e, "InvalidParameter", "unknown member '%s' in the request",
				    shown(key));
	}
	json_t *ex = json_object_get(req, "execute");
	if (!json_is_string(ex))
		return fail(e, "InvalidParameter", "the request needs \"execute\": \"<command>\"");
	json_t *args = json_object_get(req, "arguments");
	if (args && !json_is_object(args))
		return fail(e, "InvalidParameter", "\"arguments\" must be an object");
	const char *name = json_string_value(ex);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *c = &commands[i];
		if (strcmp(c->name, name))
			continue;
		json_t *empty = NULL;
		if (!args)
			args = empty = json_object();
		if (!args)
			return fail(e, "GenericError", "out of memory");
		json_t *ret = NULL;
		bool ok = true;
		json_object_foreach(args, key, v)
		{
			if (!listed(c->args, sizeof(c->args) / sizeof(c->args[0]), key)) {
				fail(e, "InvalidParameter", "%s takes no argument '%s'", c->name,
				     shown(key));
				ok = false;
				break;
			}
		}
		if (ok)
			ret = c->run(args, e);
		json_decref(empty);
		return ret;
	}
	return fail(e, "CommandNotFound", "no command '%s' (see docs/control.md)", shown(name));
}

json_t *vsm_control_handle(const char *line, size_t len)
{
	json_error_t jerr;
	json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req) {
		char d[200];
		snprintf(d, sizeof(d), "not JSON: %s", jerr.text);
		return vsm_control_error("ParseError", d);
	}
	if (!json_is_object(req)) {
		json_decref(req);
		return vsm_control_error("ParseError", "a request is a JSON object");
	}
	struct cerr e = {0};
	json_t *ret = execute(req, &e);
	json_t *resp;
	if (ret)
		resp = json_pack("{s:o}", "return", ret);
	else
		resp = vsm_control_error(e.cls ? e.cls : "GenericError",
					 e.cls ? e.desc : "out of memory");
	json_t *id = json_object_get(req, "id");
	if (resp && id && json_object_set(resp, "id", id) < 0) {
		json_decref(resp);
		resp = NULL;
	}
	json_decref(req);
	return resp;
}
