/* SPDX-License-Identifier: Apache-2.0 */
#include "daemon/config.h"

#include <errno.h>
#include <stddef.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <vsm/vsm.h>

#include "daemon/control.h"
#include "daemon/metrics.h"

#include "daemon/log.h"
#include "keystore/keystore.h"

void vsm_config_defaults(struct vsm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->workers = 0;
	c->log_level = VSM_LOG_INFO;
	snprintf(c->unix_socket, sizeof(c->unix_socket), "%s", VSM_DEFAULT_SOCKET);
	c->socket_mode = 0666;
	snprintf(c->tcp_tenant, sizeof(c->tcp_tenant), "tcp");
	c->auto_tenants = true;
	c->drain_timeout_ms = 5000;
	snprintf(c->control_socket, sizeof(c->control_socket), "%s", VSM_DEFAULT_CONTROL_SOCKET);
	snprintf(c->metrics_listen, sizeof(c->metrics_listen), "%s", VSM_DEFAULT_METRICS_LISTEN);
	c->limits.max_sessions = 1024;
	c->limits.max_inflight = 256;
	c->limits.max_msg = 1024 * 1024;
	c->limits.max_conns = 64;
	c->limits.shm_spin_us = 50;
	c->keystore.enabled = true;
	snprintf(c->keystore.path, sizeof(c->keystore.path), "%s", VSM_DEFAULT_KEYSTORE);
	snprintf(c->keystore.master_key, sizeof(c->keystore.master_key), "%s",
		 VSM_DEFAULT_MASTER_KEY);
	c->keystore.max_keys = 1024;
	c->keystore.max_files = 64;
	c->keystore.max_file_size = 64 * 1024;
	c->keystore.max_key_objects = 1024;
	c->keystore.kdf_iterations = 100000;
}

struct parse_ctx {
	struct vsm_config *c;
	char *err;
	size_t errlen;
};

static int parse_u32(const char *v, uint32_t min, uint32_t max, uint32_t *out, int base)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(v, &end, base);
	if (errno || end == v || *end || x < min || x > max || v[0] == '-')
		return -1;
	*out = (uint32_t)x;
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "0"))
		*out = false;
	else
		return -1;
	return 0;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > VSM_TENANT_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.'))
			return false;
	}
	return true;
}

/* Comma-separated list of unsigned ints. */
static int parse_list(const char *v, uint32_t *out, unsigned *n, uint32_t max)
{
	char buf[1024];
	if (snprintf(buf, sizeof(buf), "%s", v) >= (int)sizeof(buf))
		return -1;
	char *save = NULL;
	for (char *tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		if (*n >= VSM_CONF_MAX_IDS || parse_u32(tok, 0, max, &out[*n], 10))
			return -1;
		(*n)++;
	}
	return 0;
}

enum {
	LIM_SESSIONS = 1,
	LIM_INFLIGHT = 2,
	LIM_MSG = 4,
	LIM_CONNS = 8,
	LIM_OPS = 16,
	LIM_OPS_BURST = 32,
	LIM_BPS = 64,
	LIM_BPS_BURST = 128,
	LIM_SPIN = 256,
};

static int parse_u64(const char *v, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 10);
	/* Accept k/M/G suffixes (powers of 1000 for rates, as QEMU's throttle does). */
	uint64_t mul = 1;
	if (*end == 'k' || *end == 'K')
		mul = 1000, end++;
	else if (*end == 'M')
		mul = 1000000, end++;
	else if (*end == 'G')
		mul = 1000000000, end++;
	if (errno || end == v || *end || v[0] == '-' || x > UINT64_MAX / mul ||
	    x * mul > (1ull << 50))
		return -1;
	*out = x * mul;
	return 0;
}

/* Returns 1 if the key was a limit (parsed into l), 0 if not a limit, -1 on bad value. */
static int parse_limit(const char *name, const char *v, struct vsm_limits *l, unsigned *set)
{
	if (!strcmp(name, "max_sessions")) {
		*set |= LIM_SESSIONS;
		return parse_u32(v, 1, 1u << 20, &l->max_sessions, 10) ? -1 : 1;
	}
	if (!strcmp(name, "max_inflight")) {
		*set |= LIM_INFLIGHT;
		return parse_u32(v, 1, 65536, &l->max_inflight, 10) ? -1 : 1;
	}
	if (!strcmp(name, "max_msg")) {
		*set |= LIM_MSG;
		return parse_u32(v, 4096, VSM_WIRE_MAX_PAYLOAD, &l->max_msg, 10) ? -1 : 1;
	}
	if (!strcmp(name, "max_conns")) {
		*set |= LIM_CONNS;
		return parse_u32(v, 1, 65536, &l->max_conns, 10) ? -1 : 1;
	}
	if (!strcmp(name, "shm_spin_us")) {
		*set |= LIM_SPIN;
		return parse_u32(v, 0, 1000000, &l->shm_spin_us, 10) ? -1 : 1;
	}
	static const struct {
		const char *name;
		unsigned bit;
		size_t off;
	} q[] = {
		{"throttle_ops", LIM_OPS, offsetof(struct vsm_limits, throttle_ops)},
		{"throttle_ops_burst", LIM_OPS_BURST,
		 offsetof(struct vsm_limits, throttle_ops_burst)},
		{"throttle_bps", LIM_BPS, offsetof(struct vsm_limits, throttle_bps)},
		{"throttle_bps_burst", LIM_BPS_BURST,
		 offsetof(struct vsm_limits, throttle_bps_burst)},
	};
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++)
		if (!strcmp(name, q[i].name)) {
			*set |= q[i].bit;
			return parse_u64(v, (uint64_t *)((char *)l + q[i].off)) ? -1 : 1;
		}
	return 0;
}

static struct vsm_tenant_conf *tenant_get(struct vsm_config *c, const char *name)
{
	for (unsigned i = 0; i < c->n_tenants; i++)
		if (!strcmp(c->tenants[i].name, name))
			return &c->tenants[i];
	struct vsm_tenant_conf *t = realloc(c->tenants, (c->n_tenants + 1) * sizeof(*t));
	if (!t)
		return NULL;
	c->tenants = t;
	t = &c->tenants[c->n_tenants++];
	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	return t;
}

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		snprintf(p->err, p->errlen, __VA_ARGS__);                                          \
		return 0;                                                                          \
	} while (0)

static int handler(void *user, const char *section, const char *name, const char *v)
{
	struct parse_ctx *p = user;
	struct vsm_config *c = p->c;
	uint32_t u;
	unsigned dummy = 0;

	if (!strcmp(section, "vsmd")) {
		if (!strcmp(name, "workers")) {
			if (parse_u32(v, 0, 256, &u, 10))
				FAIL("workers must be 0 (online cores) to 256, not '%s'", v);
			c->workers = u;
		} else if (!strcmp(name, "log_level")) {
			int l = vsm_log_level_parse(v);
			if (l < 0)
				FAIL("log_level must be error, warn, info or debug, not '%s'", v);
			c->log_level = l;
		} else if (!strcmp(name, "unix_socket")) {
			if (strlen(v) >= sizeof(c->unix_socket))
				FAIL("unix_socket path longer than %zu bytes",
				     sizeof(c->unix_socket) - 1);
			snprintf(c->unix_socket, sizeof(c->unix_socket), "%s", v);
		} else if (!strcmp(name, "socket_mode")) {
			if (parse_u32(v, 0, 0777, &u, 8))
				FAIL("socket_mode must be octal, e.g. 0660, not '%s'", v);
			c->socket_mode = u;
		} else if (!strcmp(name, "tcp_listen")) {
			if (strlen(v) >= sizeof(c->tcp_listen))
				FAIL("tcp_listen too long");
			snprintf(c->tcp_listen, sizeof(c->tcp_listen), "%s", v);
		} else if (!strcmp(name, "tcp_tenant")) {
			if (!valid_name(v))
				FAIL("tcp_tenant '%s' is not a valid tenant name", v);
			snprintf(c->tcp_tenant, sizeof(c->tcp_tenant), "%s", v);
		} else if (!strcmp(name, "vsock_port")) {
			if (parse_u32(v, 0, 0xfffffffeu, &u, 10))
				FAIL("vsock_port must be a port number, not '%s'", v);
			c->vsock_port = u;
		} else if (!strcmp(name, "auto_tenants")) {
			if (parse_bool(v, &c->auto_tenants))
				FAIL("auto_tenants must be yes or no, not '%s'", v);
		} else if (!strcmp(name, "drain_timeout_ms")) {
			if (parse_u32(v, 0, 3600000, &u, 10))
				FAIL("drain_timeout_ms must be 0..3600000, not '%s'", v);
			c->drain_timeout_ms = u;
		} else if (!strcmp(name, "control_socket")) {
			if (strlen(v) >= sizeof(c->control_socket))
				FAIL("control_socket path longer than %zu bytes",
				     sizeof(c->control_socket) - 1);
			snprintf(c->control_socket, sizeof(c->control_socket), "%s", v);
		} else if (!strcmp(name, "admin_uids")) {
			uint32_t ids[VSM_CONF_MAX_IDS];
			unsigned n = 0;
			if (parse_list(v, ids, &n, 0xfffffffeu))
				FAIL("admin_uids must be a list of numeric uids");
			c->n_admin_uids = 0;
			for (unsigned i = 0; i < n; i++)
				c->admin_uids[c->n_admin_uids++] = (uid_t)ids[i];
		} else if (!strcmp(name, "metrics_listen")) {
			if (strlen(v) >= sizeof(c->metrics_listen))
				FAIL("metrics_listen too long");
			snprintf(c->metrics_listen, sizeof(c->metrics_listen), "%s", v);
		} else {
			FAIL("unknown key '%s' in [vsmd]", name);
		}
		return 1;
	}
	if (!strcmp(section, "limits")) {
		int r = parse_limit(name, v, &c->limits, &dummy);
		if (r < 0)
			FAIL("bad value '%s' for %s", v, name);
		if (r == 0)
			FAIL("unknown key '%s' in [limits]", name);
		return 1;
	}
	if (!strcmp(section, "keystore")) {
		struct vsm_keystore_conf *k = &c->keystore;
		if (!strcmp(name, "enabled")) {
			if (parse_bool(v, &k->enabled))
				FAIL("enabled must be yes or no, not '%s'", v);
		} else if (!strcmp(name, "path")) {
			if (!v[0] || strlen(v) >= sizeof(k->path))
				FAIL("keystore path must be 1-%zu bytes", sizeof(k->path) - 1);
			snprintf(k->path, sizeof(k->path), "%s", v);
			k->path_set = true;
		} else if (!strcmp(name, "master_key")) {
			if (!v[0] || strlen(v) >= sizeof(k->master_key))
				FAIL("master_key path must be 1-%zu bytes",
				     sizeof(k->master_key) - 1);
			snprintf(k->master_key, sizeof(k->master_key), "%s", v);
			k->path_set = true;
		} else if (!strcmp(name, "max_keys")) {
			if (parse_u32(v, 1, 1000000, &k->max_keys, 10))
				FAIL("max_keys must be 1..1000000, not '%s'", v);
		} else if (!strcmp(name, "max_files")) {
			if (parse_u32(v, 0, 100000, &k->max_files, 10))
				FAIL("max_files must be 0..100000, not '%s'", v);
		} else if (!strcmp(name, "max_file_size")) {
			if (parse_u32(v, 1, 16u << 20, &k->max_file_size, 10))
				FAIL("max_file_size must be 1..16777216 bytes, not '%s'", v);
		} else if (!strcmp(name, "max_key_objects")) {
			if (parse_u32(v, 1, 1000000, &k->max_key_objects, 10))
				FAIL("max_key_objects must be 1..1000000, not '%s'", v);
		} else if (!strcmp(name, "kdf_iterations")) {
			if (parse_u32(v, 1000, 100000000, &k->kdf_iterations, 10))
				FAIL("kdf_iterations must be 1000..100000000, not '%s'", v);
		} else {
			FAIL("unknown key '%s' in [keystore]", name);
		}
		return 1;
	}
	if (!strncmp(section, "tenant ", 7)) {
		const char *tn = section + 7;
		while (*tn == ' ')
			tn++;
		if (!valid_name(tn))
			FAIL("tenant name '%s' must be 1-31 of [A-Za-z0-9._-]", tn);
		struct vsm_tenant_conf *t = tenant_get(c, tn);
		if (!t)
			FAIL("out of memory");
		int r = parse_limit(name, v, &t->limits, &t->limits_set);
		if (r < 0)
			FAIL("bad value '%s' for %s in [tenant %s]", v, name, tn);
		if (r == 1)
			return 1;
		if (!strcmp(name, "uids")) {
			uint32_t ids[VSM_CONF_MAX_IDS];
			unsigned n = 0;
			if (parse_list(v, ids, &n, 0xfffffffeu))
				FAIL("uids must be a list of numeric uids (at most %d)",
				     VSM_CONF_MAX_IDS);
			for (unsigned i = 0; i < n && t->n_uids < VSM_CONF_MAX_IDS; i++)
				t->uids[t->n_uids++] = (uid_t)ids[i];
		} else if (!strcmp(name, "ivshmem_socket")) {
			if (strlen(v) >= sizeof(t->ivshmem_socket))
				FAIL("ivshmem_socket path longer than %zu bytes",
				     sizeof(t->ivshmem_socket) - 1);
			snprintf(t->ivshmem_socket, sizeof(t->ivshmem_socket), "%s", v);
		} else if (!strcmp(name, "vhost_user_socket")) {
			if (strlen(v) >= sizeof(t->vhost_user_socket))
				FAIL("vhost_user_socket path longer than %zu bytes",
				     sizeof(t->vhost_user_socket) - 1);
			snprintf(t->vhost_user_socket, sizeof(t->vhost_user_socket), "%s", v);
		} else if (!strcmp(name, "vsock_cids")) {
			if (parse_list(v, t->cids, &t->n_cids, 0xfffffffeu))
				FAIL("vsock_cids must be a list of numeric CIDs");
		} else {
			FAIL("unknown key '%s' in [tenant %s]", name, tn);
		}
		return 1;
	}
	FAIL("unknown section [%s]", section);
}

static int finish_parse(int r, const char *what, char *err, size_t errlen)
{
	if (r == 0)
		return 0;
	char msg[512];
	snprintf(msg, sizeof(msg), "%s", err);
	if (r == -1)
		snprintf(err, errlen, "%s: cannot open: %s", what, strerror(errno));
	else if (r == -2)
		snprintf(err, errlen, "%s: out of memory", what);
	else if (msg[0])
		snprintf(err, errlen, "%s:%d: %s", what, r, msg);
	else
		snprintf(err, errlen, "%s:%d: syntax error", what, r);
	return -1;
}

int vsm_config_load(struct vsm_config *c, const char *path, char *err, size_t errlen)
{
	struct parse_ctx p = {c, err, errlen};
	err[0] = 0;
	return finish_parse(ini_parse(path, handler, &p), path, err, errlen);
}

int vsm_config_load_string(struct vsm_config *c, const char *text, char *err, size_t errlen)
{
	struct parse_ctx p = {c, err, errlen};
	err[0] = 0;
	return finish_parse(ini_parse_string(text, handler, &p), "<string>", err, errlen);
}

int vsm_config_finish(struct vsm_config *c, char *err, size_t errlen)
{
	for (unsigned i = 0; i < c->n_tenants; i++) {
		struct vsm_tenant_conf *t = &c->tenants[i];
		if (!(t->limits_set & LIM_SESSIONS))
			t->limits.max_sessions = c->limits.max_sessions;
		if (!(t->limits_set & LIM_INFLIGHT))
			t->limits.max_inflight = c->limits.max_inflight;
		if (!(t->limits_set & LIM_MSG))
			t->limits.max_msg = c->limits.max_msg;
		if (!(t->limits_set & LIM_CONNS))
			t->limits.max_conns = c->limits.max_conns;
		if (!(t->limits_set & LIM_SPIN))
			t->limits.shm_spin_us = c->limits.shm_spin_us;
		if (!(t->limits_set & LIM_OPS))
			t->limits.throttle_ops = c->limits.throttle_ops;
		if (!(t->limits_set & LIM_OPS_BURST))
			t->limits.throttle_ops_burst = c->limits.throttle_ops_burst;
		if (!(t->limits_set & LIM_BPS))
			t->limits.throttle_bps = c->limits.throttle_bps;
		if (!(t->limits_set & LIM_BPS_BURST))
			t->limits.throttle_bps_burst = c->limits.throttle_bps_burst;
		/* A uid or CID in two tenants would make identity ambiguous. */
		for (unsigned j = 0; j < i; j++) {
			for (unsigned a = 0; a < t->n_uids; a++)
				for (unsigned b = 0; b < c->tenants[j].n_uids; b++)
					if (t->uids[a] == c->tenants[j].uids[b]) {
						snprintf(err, errlen,
							 "uid %u is in both [tenant %s] and "
							 "[tenant %s]",
							 (unsigned)t->uids[a], c->tenants[j].name,
							 t->name);
						return -1;
					}
			for (unsigned a = 0; a < t->n_cids; a++)
				for (unsigned b = 0; b < c->tenants[j].n_cids; b++)
					if (t->cids[a] == c->tenants[j].cids[b]) {
						snprintf(err, errlen,
							 "vsock CID %u is in both [tenant %s] and "
							 "[tenant %s]",
							 t->cids[a], c->tenants[j].name, t->name);
						return -1;
					}
		}
	}
	/*
	 * Two listeners on one path: the second bind would fail with a
	 * misleading error. Each pair of tenants is looked at once (j > i).
	 */
	static const char *const kind[2] = {"ivshmem_socket", "vhost_user_socket"};
	for (unsigned i = 0; i < c->n_tenants; i++) {
		const struct vsm_tenant_conf *t = &c->tenants[i];
		const char *mine[2] = {t->ivshmem_socket, t->vhost_user_socket};
		for (int a = 0; a < 2; a++) {
			if (!mine[a][0])
				continue;
			char other[96] = "";
			if (!strcmp(mine[a], c->unix_socket))
				snprintf(other, sizeof(other), "[vsmd] unix_socket");
			else if (!strcmp(mine[a], c->control_socket))
				snprintf(other, sizeof(other), "[vsmd] control_socket");
			else if (a == 0 && !strcmp(mine[0], mine[1]))
				snprintf(other, sizeof(other), "its vhost_user_socket");
			for (unsigned j = i + 1; j < c->n_tenants && !other[0]; j++) {
				const struct vsm_tenant_conf *u = &c->tenants[j];
				const char *theirs[2] = {u->ivshmem_socket, u->vhost_user_socket};
				if (!strcmp(mine[a], theirs[a])) {
					snprintf(err, errlen,
						 "%s %s is in both [tenant %s] and [tenant %s]",
						 kind[a], mine[a], t->name, u->name);
					return -1;
				}
				if (!strcmp(mine[a], theirs[!a]))
					snprintf(other, sizeof(other), "the %s of [tenant %s]",
						 kind[!a], u->name);
			}
			if (other[0]) {
				snprintf(err, errlen, "%s %s of [tenant %s] is also %s", kind[a],
					 mine[a], t->name, other);
				return -1;
			}
		}
	}
	if (!c->unix_socket[0] && !c->tcp_listen[0] && !c->vsock_port) {
		snprintf(err, errlen, "no listener: set unix_socket, tcp_listen or vsock_port");
		return -1;
	}
	return 0;
}

static void print_limits(FILE *f, const struct vsm_limits *l)
{
	fprintf(f, "max_sessions = %u\nmax_inflight = %u\nmax_msg = %u\nmax_conns = %u\n",
		l->max_sessions, l->max_inflight, l->max_msg, l->max_conns);
	fprintf(f, "shm_spin_us = %u\n", l->shm_spin_us);
	fprintf(f,
		"throttle_ops = %llu\nthrottle_ops_burst = %llu\nthrottle_bps = %llu\n"
		"throttle_bps_burst = %llu\n",
		(unsigned long long)l->throttle_ops, (unsigned long long)l->throttle_ops_burst,
		(unsigned long long)l->throttle_bps, (unsigned long long)l->throttle_bps_burst);
}

void vsm_config_print(const struct vsm_config *c, FILE *f)
{
	fprintf(f, "[vsmd]\nworkers = %u\nlog_level = %s\nunix_socket = %s\nsocket_mode = %04o\n",
		c->workers, vsm_log_level_name(c->log_level), c->unix_socket, c->socket_mode);
	fprintf(f, "tcp_listen = %s\ntcp_tenant = %s\nvsock_port = %u\nauto_tenants = %s\n",
		c->tcp_listen, c->tcp_tenant, c->vsock_port, c->auto_tenants ? "yes" : "no");
	fprintf(f, "drain_timeout_ms = %u\ncontrol_socket = %s\nadmin_uids =", c->drain_timeout_ms,
		c->control_socket);
	for (unsigned j = 0; j < c->n_admin_uids; j++)
		fprintf(f, "%s %u", j ? "," : "", (unsigned)c->admin_uids[j]);
	fprintf(f, "\nmetrics_listen = %s\n\n[limits]\n", c->metrics_listen);
	print_limits(f, &c->limits);
	const struct vsm_keystore_conf *k = &c->keystore;
	fprintf(f,
		"\n[keystore]\nenabled = %s\npath = %s\nmaster_key = %s\nmax_keys = %u\n"
		"max_files = %u\nmax_file_size = %u\nmax_key_objects = %u\nkdf_iterations = %u\n",
		k->enabled ? "yes" : "no", k->path, k->master_key, k->max_keys, k->max_files,
		k->max_file_size, k->max_key_objects, k->kdf_iterations);
	for (unsigned i = 0; i < c->n_tenants; i++) {
		const struct vsm_tenant_conf *t = &c->tenants[i];
		fprintf(f, "\n[tenant %s]\nuids =", t->name);
		for (unsigned j = 0; j < t->n_uids; j++)
			fprintf(f, "%s %u", j ? "," : "", (unsigned)t->uids[j]);
		fprintf(f, "\nvsock_cids =");
		for (unsigned j = 0; j < t->n_cids; j++)
			fprintf(f, "%s %u", j ? "," : "", t->cids[j]);
		fprintf(f, "\n");
		if (t->ivshmem_socket[0])
			fprintf(f, "ivshmem_socket = %s\n", t->ivshmem_socket);
		if (t->vhost_user_socket[0])
			fprintf(f, "vhost_user_socket = %s\n", t->vhost_user_socket);
		print_limits(f, &t->limits);
	}
}

void vsm_config_free(struct vsm_config *c)
{
	free(c->tenants);
	c->tenants = NULL;
	c->n_tenants = 0;
}
