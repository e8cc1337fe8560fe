/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the administrator's interfaces (control socket, /metrics) may see
 * and change. Everything here is off the request path: it may take the
 * registry lock, which workers never take.
 */
#ifndef VSM_ADMIN_H
#define VSM_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>

#include "daemon/config.h"
#include "daemon/qos.h"
#include "daemon/tenant.h"

/*
 * Every tenant, in creation order: a malloc'd array the caller frees.
 * Tenants live until vsmd exits, so the pointers stay valid after the
 * registry lock is released. Returns 0, or -1 when out of memory.
 */
int vsm_tenants_snapshot(struct vsm_tenant ***out, size_t *n);
struct vsm_tenant *vsm_tenant_find(const char *name);
/* Live counters of a tenant. */
unsigned vsm_tenant_conns(struct vsm_tenant *t);
unsigned vsm_tenant_sessions(struct vsm_tenant *t);

/* New QoS limits, effective for requests not yet admitted (within 50 ms). */
void vsm_tenant_set_qos(struct vsm_tenant *t, const struct vsm_qos_conf *q);
/* Close every current connection of the tenant (its sessions go with the last). */
void vsm_tenant_disconnect(struct vsm_tenant *t);

struct vsm_session_info {
	uint64_t handle;
	uint32_t service;
	uint32_t alg;
	uint64_t created_ms; /* vsm_now_ms() clock */
};
/* Snapshot of the tenant's sessions into out (at most max); returns the total. */
size_t vsm_tenant_sessions_list(struct vsm_tenant *t, struct vsm_session_info *out, size_t max);

/*
 * Re-read the configuration file vsmd started with and apply what can
 * change live: tenants (new ones are created; uid/CID maps replaced),
 * limits, QoS, auto_tenants, log_level. Listeners and workers need a
 * restart; a change to them is reported in err but is not an error.
 * Returns 0, or -1 with the reason in err (the running config is kept).
 */
int vsm_admin_reload(char *err, size_t errlen);
/* Set by main: the file to reload (NULL: embedded defaults) and the live config. */
void vsm_admin_init(const char *config_path, struct vsm_config *live);
const struct vsm_config *vsm_admin_config(void);
/* Is uid in admin_uids? Reads the live config under the registry lock. */
bool vsm_admin_is_admin(uid_t uid);

/* Daemon-wide: engine use, accumulated by the connections. */
void vsm_engine_use_add(const char *engine, uint64_t busy_ns);
/* i-th engine seen so far; returns -1 past the end. */
int vsm_engine_use_get(unsigned i, const char **engine, uint64_t *ops, uint64_t *busy_ns);

#endif
