/* SPDX-License-Identifier: Apache-2.0 */
#include "daemon/tenant.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/admin.h"
#include "daemon/log.h"
#include "daemon/worker.h"

/*
 * The registry is touched only when a connection comes or goes, so one mutex
 * is enough; nothing on the request path takes it.
 */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vsm_tenant **tenants;
static unsigned n_tenants;
static struct vsm_config *conf;

#define MAX_TENANTS 4096

static __attribute__((unused)) bool tag_used(uint16_t tag)
{
	for (unsigned i = 0; i < n_tenants; i++)
		if (tenants[i]->tag == tag)
			return true;
	return false;
}

/* With reg_lock held. */
static struct vsm_tenant *tenant_new(const char *name, const struct vsm_limits *l)
{
	if (n_tenants >= MAX_TENANTS)
		return NULL;
	struct vsm_tenant *t = calloc(1, sizeof(*t));
	struct vsm_stats *st = calloc(1, sizeof(*st));
	struct vsm_tenant **nt = realloc(tenants, (n_tenants + 1) * sizeof(*nt));
	if (!t || !st || !nt) {
		free(t);
		free(st);
		if (nt)
			tenants = nt;
		return NULL;
	}
	t->stats = st;
	tenants = nt;
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->limits = *l;
	/* Random, nonzero and unique: handles reveal nothing and never collide. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	/* Predictable handles let the fuzzer's seeds reach past session lookup. */
	t->tag = (uint16_t)(n_tenants + 1);
#else
	do {
		if (RAND_bytes((unsigned char *)&t->tag, sizeof(t->tag)) != 1)
			t->tag = (uint16_t)(n_tenants + 1);
	} while (t->tag == 0 || tag_used(t->tag));
#endif
	pthread_mutex_init(&t->lock, NULL);
	t->free_head = UINT32_MAX;
	t->kfree_head = UINT32_MAX;
	struct vsm_qos_conf qc = {l->throttle_ops, l->throttle_ops_burst, l->throttle_bps,
				  l->throttle_bps_burst};
	vsm_qos_init(&t->qos, &qc);
	tenants[n_tenants++] = t;
	log_info("tenant %s: created (max_sessions=%u max_inflight=%u max_msg=%u max_conns=%u)",
		 t->name, l->max_sessions, l->max_inflight, l->max_msg, l->max_conns);
	return t;
}

static struct vsm_tenant *find(const char *name)
{
	for (unsigned i = 0; i < n_tenants; i++)
		if (!strcmp(tenants[i]->name, name))
			return tenants[i];
	return NULL;
}

int vsm_tenants_init(struct vsm_config *c)
{
	conf = c;
	pthread_mutex_lock(&reg_lock);
	for (unsigned i = 0; i < c->n_tenants; i++) {
		if (!tenant_new(c->tenants[i].name, &c->tenants[i].limits)) {
			pthread_mutex_unlock(&reg_lock);
			return -1;
		}
	}
	pthread_mutex_unlock(&reg_lock);
	return 0;
}

void vsm_tenants_fini(void)
{
	pthread_mutex_lock(&reg_lock);
	for (unsigned i = 0; i < n_tenants; i++) {
		struct vsm_tenant *t = tenants[i];
		vsm_session_remove_all(t, false);
		vsm_keyobj_remove_all(t, false);
		free(t->slots);
		free(t->kslots);
		pthread_mutex_destroy(&t->lock);
		vsm_qos_destroy(&t->qos);
		free(t->stats);
		free(t);
	}
	free(tenants);
	tenants = NULL;
	n_tenants = 0;
	pthread_mutex_unlock(&reg_lock);
}

/* With reg_lock held: get or create, then count the connection. */
static struct vsm_tenant *attach(const char *name, bool may_create, const char **why)
{
	struct vsm_tenant *t = find(name);
	if (!t) {
		if (!may_create) {
			*why = "no tenant is configured for this client (auto_tenants = no)";
			return NULL;
		}
		t = tenant_new(name, &conf->limits);
		if (!t) {
			*why = "tenant table full";
			return NULL;
		}
	}
	pthread_mutex_lock(&t->lock);
	if (t->conns >= t->limits.max_conns) {
		pthread_mutex_unlock(&t->lock);
		*why = "tenant has max_conns connections already";
		return NULL;
	}
	t->conns++;
	pthread_mutex_unlock(&t->lock);
	return t;
}

/*
 * The identity maps live in the config, which reload replaces under
 * reg_lock: look up and attach in one critical section.
 */
static struct vsm_tenant *attach_id(bool by_uid, uint32_t id, const char **why)
{
	char name[VSM_TENANT_NAME_MAX + 1];
	bool configured = false;
	pthread_mutex_lock(&reg_lock);
	for (unsigned i = 0; i < conf->n_tenants && !configured; i++) {
		const struct vsm_tenant_conf *tc = &conf->tenants[i];
		unsigned n = by_uid ? tc->n_uids : tc->n_cids;
		for (unsigned j = 0; j < n && !configured; j++)
			if ((by_uid ? (uint32_t)tc->uids[j] : tc->cids[j]) == id) {
				snprintf(name, sizeof(name), "%s", tc->name);
				configured = true;
			}
	}
	if (!configured)
		snprintf(name, sizeof(name), "%s-%u", by_uid ? "uid" : "cid", id);
	struct vsm_tenant *t = attach(name, configured || conf->auto_tenants, why);
	pthread_mutex_unlock(&reg_lock);
	return t;
}

struct vsm_tenant *vsm_tenant_attach_uid(uid_t uid, const char **why)
{
	return attach_id(true, (uint32_t)uid, why);
}

struct vsm_tenant *vsm_tenant_attach_cid(uint32_t cid, const char **why)
{
	return attach_id(false, cid, why);
}

struct vsm_tenant *vsm_tenant_attach_name(const char *name, const char **why)
{
	pthread_mutex_lock(&reg_lock);
	/* A listener names its tenant in the config, so it may always be created. */
	struct vsm_tenant *t = attach(name, true, why);
	pthread_mutex_unlock(&reg_lock);
	return t;
}

void vsm_tenant_detach(struct vsm_tenant *t)
{
	pthread_mutex_lock(&t->lock);
	bool last = --t->conns == 0;
	pthread_mutex_unlock(&t->lock);
	/*
	 * Like a virtio device reset: with no binding left nobody can use the
	 * handles, so free the sessions (and the keys in them) and the key
	 * objects now.
	 */
	if (last) {
		vsm_session_remove_all(t, true);
		vsm_keyobj_remove_all(t, true);
		/* After the fact: a test that waits for this line may rely on it. */
		log_debug("tenant %s: last connection closed, sessions and key objects freed",
			  t->name);
	}
}

int vsm_tenants_snapshot(struct vsm_tenant ***out, size_t *n)
{
	pthread_mutex_lock(&reg_lock);
	struct vsm_tenant **v = malloc((n_tenants ? n_tenants : 1) * sizeof(*v));
	if (v) {
		memcpy(v, tenants, n_tenants * sizeof(*v));
		*n = n_tenants;
	}
	pthread_mutex_unlock(&reg_lock);
	*out = v;
	return v ? 0 : -1;
}

struct vsm_tenant *vsm_tenant_find(const char *name)
{
	pthread_mutex_lock(&reg_lock);
	struct vsm_tenant *t = find(name);
	pthread_mutex_unlock(&reg_lock);
	return t;
}

unsigned vsm_tenant_conns(struct vsm_tenant *t)
{
	pthread_mutex_lock(&t->lock);
	unsigned n = t->conns;
	pthread_mutex_unlock(&t->lock);
	return n;
}

unsigned vsm_tenant_sessions(struct vsm_tenant *t)
{
	pthread_mutex_lock(&t->lock);
	unsigned n = t->n_sessions;
	pthread_mutex_unlock(&t->lock);
	return n;
}

void vsm_tenant_set_qos(struct vsm_tenant *t, const struct vsm_qos_conf *q)
{
	pthread_mutex_lock(&t->lock);
	t->limits.throttle_ops = q->ops_rate;
	t->limits.throttle_ops_burst = q->ops_burst;
	t->limits.throttle_bps = q->bytes_rate;
	t->limits.throttle_bps_burst = q->bytes_burst;
	pthread_mutex_unlock(&t->lock);
	vsm_qos_set(&t->qos, q);
	struct vsm_qos_conf eff;
	vsm_qos_get(&t->qos, &eff); /* with default bursts filled in */
	log_info("tenant %s: qos ops=%llu/s burst %llu, bytes=%llu/s burst %llu (0 = unlimited)",
		 t->name, (unsigned long long)eff.ops_rate, (unsigned long long)eff.ops_burst,
		 (unsigned long long)eff.bytes_rate, (unsigned long long)eff.bytes_burst);
}

void vsm_tenant_disconnect(struct vsm_tenant *t)
{
	atomic_fetch_add(&t->kick_gen, 1);
	vsm_workers_kick();
}

/*
 * Limits are read by workers without a lock, one field at a time; each
 * store is a single aligned word, like the kernel's WRITE_ONCE.
 */
static void set_limits(struct vsm_tenant *t, const struct vsm_limits *l)
{
	pthread_mutex_lock(&t->lock);
	__atomic_store_n(&t->limits.max_sessions, l->max_sessions, __ATOMIC_RELAXED);
	__atomic_store_n(&t->limits.max_inflight, l->max_inflight, __ATOMIC_RELAXED);
	__atomic_store_n(&t->limits.max_msg, l->max_msg, __ATOMIC_RELAXED);
	__atomic_store_n(&t->limits.max_conns, l->max_conns, __ATOMIC_RELAXED);
	bool qos_changed = t->limits.throttle_ops != l->throttle_ops ||
			   t->limits.throttle_ops_burst != l->throttle_ops_burst ||
			   t->limits.throttle_bps != l->throttle_bps ||
			   t->limits.throttle_bps_burst != l->throttle_bps_burst;
	pthread_mutex_unlock(&t->lock);
	if (qos_changed) {
		struct vsm_qos_conf q = {l->throttle_ops, l->throttle_ops_burst, l->throttle_bps,
					 l->throttle_bps_burst};
		vsm_tenant_set_qos(t, &q);
	}
}

void vsm_tenants_reconfigure(struct vsm_config *next)
{
	pthread_mutex_lock(&reg_lock);
	struct vsm_tenant_conf *old = conf->tenants;
	/* Listeners are bound already: keep the running ones' settings. */
	snprintf(next->unix_socket, sizeof(next->unix_socket), "%s", conf->unix_socket);
	snprintf(next->tcp_listen, sizeof(next->tcp_listen), "%s", conf->tcp_listen);
	snprintf(next->tcp_tenant, sizeof(next->tcp_tenant), "%s", conf->tcp_tenant);
	next->vsock_port = conf->vsock_port;
	next->socket_mode = conf->socket_mode;
	next->workers = conf->workers;
	snprintf(next->control_socket, sizeof(next->control_socket), "%s", conf->control_socket);
	snprintf(next->metrics_listen, sizeof(next->metrics_listen), "%s", conf->metrics_listen);
	*conf = *next;
	next->tenants = NULL;
	next->n_tenants = 0;
	for (unsigned i = 0; i < n_tenants; i++) {
		const struct vsm_limits *l = &conf->limits;
		for (unsigned j = 0; j < conf->n_tenants; j++)
			if (!strcmp(conf->tenants[j].name, tenants[i]->name))
				l = &conf->tenants[j].limits;
		set_limits(tenants[i], l);
	}
	for (unsigned j = 0; j < conf->n_tenants; j++)
		if (!find(conf->tenants[j].name))
			tenant_new(conf->tenants[j].name, &conf->tenants[j].limits);
	pthread_mutex_unlock(&reg_lock);
	free(old);
}

bool vsm_admin_is_admin(uid_t uid)
{
	bool yes = false;
	pthread_mutex_lock(&reg_lock);
	for (unsigned i = 0; i < conf->n_admin_uids && !yes; i++)
		yes = conf->admin_uids[i] == uid;
	pthread_mutex_unlock(&reg_lock);
	return yes;
}
