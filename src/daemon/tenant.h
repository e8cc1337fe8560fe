/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tenants: one VM, container or process group sharing vsmd. Identity comes
 * from the transport (uid, vsock CID, listener), never from a message. Each
 * tenant has its own session table, limits and counters.
 */
#ifndef VSM_TENANT_H
#define VSM_TENANT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/config.h"
#include "daemon/qos.h"
#include "daemon/stats.h"
#include "daemon/keyobj.h"
#include "engine/engine.h"

/* vsm_session.flags */
#define VSM_SESSION_PUBLIC_ONLY 0x1u /* internal key opened without its password */

struct vsm_session {
	pthread_mutex_t lock; /* serialises engine ops on this session */
	atomic_uint refs;
	const struct vsm_engine *eng;
	void *es; /* engine session state */
	uint32_t service;
	uint32_t alg;
	uint32_t flags; /* VSM_SESSION_* */
	uint64_t created_ms;
};

struct vsm_sess_slot {
	struct vsm_session *s; /* NULL when free */
	uint32_t gen;	       /* bumped on every free; stale handles miss */
	uint32_t next_free;
};

struct vsm_tenant {
	char name[VSM_TENANT_NAME_MAX + 1];
	uint16_t tag; /* in every handle; distinct per tenant, so foreign handles miss */
	struct vsm_limits limits;

	pthread_mutex_t lock; /* protects the session table and conns */
	struct vsm_sess_slot *slots;
	uint32_t n_slots;
	uint32_t n_sessions;
	uint32_t free_head; /* UINT32_MAX: none */
	unsigned conns;

	/* Key objects (keyobj.c), under lock too. */
	struct vsm_kobj_slot *kslots;
	uint32_t n_kslots;
	uint32_t n_kobjs;
	uint32_t kfree_head; /* UINT32_MAX: none */

	atomic_uint inflight;
	atomic_ullong ops;
	atomic_ullong errors;

	atomic_bool ivshmem_bound; /* a QEMU holds the tenant's ivshmem region */
	atomic_uint kick_gen;	   /* bumped to disconnect all current connections */
	struct vsm_qos qos;
	struct vsm_stats *stats;
};

/* c must stay valid; vsm_tenants_reconfigure may rewrite it under the registry lock. */
int vsm_tenants_init(struct vsm_config *c);
/*
 * Apply a new configuration: create tenants it adds, update limits and QoS
 * of all, and take over its identity maps and defaults (listener settings
 * of the running config are kept). Frees the replaced tenant list. Called
 * off the request path.
 */
void vsm_tenants_reconfigure(struct vsm_config *next);
void vsm_tenants_fini(void);

/*
 * Attach a new connection to the tenant for this identity, creating an auto
 * tenant if the config allows. Returns NULL and a reason when refused.
 */
struct vsm_tenant *vsm_tenant_attach_uid(uid_t uid, const char **why);
struct vsm_tenant *vsm_tenant_attach_cid(uint32_t cid, const char **why);
struct vsm_tenant *vsm_tenant_attach_name(const char *name, const char **why);
/* When the last connection goes, the tenant's sessions and key objects go with it. */
void vsm_tenant_detach(struct vsm_tenant *t);

/* Session table. */
int vsm_session_add(struct vsm_tenant *t, const struct vsm_engine *eng, void *es, uint32_t service,
		    uint32_t alg, uint64_t *handle, int *detail);
/* The same, with VSM_SESSION_* flags set before the handle is visible. */
int vsm_session_add_flags(struct vsm_tenant *t, const struct vsm_engine *eng, void *es,
			  uint32_t service, uint32_t alg, uint32_t flags, uint64_t *handle,
			  int *detail);
struct vsm_session *vsm_session_get(struct vsm_tenant *t, uint64_t handle);
void vsm_session_put(struct vsm_session *s);
int vsm_session_remove(struct vsm_tenant *t, uint64_t handle);
/* only_if_idle: do nothing if a connection is attached (checked under the lock). */
void vsm_session_remove_all(struct vsm_tenant *t, bool only_if_idle);

#endif
