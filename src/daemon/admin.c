/* SPDX-License-Identifier: Apache-2.0 */
#include "daemon/admin.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "daemon/log.h"

static const char *config_path;
static struct vsm_config *live;
static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;

void vsm_admin_init(const char *path, struct vsm_config *c)
{
	config_path = path;
	live = c;
}

const struct vsm_config *vsm_admin_config(void)
{
	return live;
}

int vsm_admin_reload(char *err, size_t errlen)
{
	struct vsm_config next;
	err[0] = 0;
	pthread_mutex_lock(&reload_lock);
	vsm_config_defaults(&next);
	next.log_level = live->log_level;
	if ((config_path && vsm_config_load(&next, config_path, err, errlen) < 0) ||
	    vsm_config_finish(&next, err, errlen) < 0) {
		vsm_config_free(&next);
		pthread_mutex_unlock(&reload_lock);
		log_warn("reload: %s; keeping the running configuration", err);
		return -1;
	}
	char note[256] = "";
	if (strcmp(next.unix_socket, live->unix_socket) ||
	    strcmp(next.tcp_listen, live->tcp_listen) || next.vsock_port != live->vsock_port ||
	    next.workers != live->workers || next.socket_mode != live->socket_mode ||
	    strcmp(next.control_socket, live->control_socket) ||
	    strcmp(next.metrics_listen, live->metrics_listen))
		snprintf(note, sizeof(note),
			 "listener, control, metrics or worker settings changed: they take "
			 "effect on restart");
	vsm_log_level = next.log_level;
	vsm_tenants_reconfigure(&next);
	vsm_config_free(&next);
	pthread_mutex_unlock(&reload_lock);
	snprintf(err, errlen, "%s", note);
	log_info("reloaded %s%s%s", config_path ? config_path : "embedded defaults",
		 note[0] ? "; " : "", note);
	return 0;
}

#define MAX_ENGINES 8

static struct {
	_Atomic(const char *) name;
	atomic_ullong ops;
	atomic_ullong busy_ns;
} engines[MAX_ENGINES];

void vsm_engine_use_add(const char *engine, uint64_t busy_ns)
{
	for (unsigned i = 0; i < MAX_ENGINES; i++) {
		const char *n = atomic_load_explicit(&engines[i].name, memory_order_acquire);
		if (!n) {
			/* Claim the slot; if another worker beat us, see whose it is. */
			const char *expect = NULL;
			if (!atomic_compare_exchange_strong(&engines[i].name, &expect, engine))
				n = expect;
			else
				n = engine;
		}
		if (n == engine) {
			atomic_fetch_add_explicit(&engines[i].ops, 1, memory_order_relaxed);
			atomic_fetch_add_explicit(&engines[i].busy_ns, busy_ns,
						  memory_order_relaxed);
			return;
		}
	}
}

int vsm_engine_use_get(unsigned i, const char **engine, uint64_t *ops, uint64_t *busy_ns)
{
	if (i >= MAX_ENGINES)
		return -1;
	const char *n = atomic_load_explicit(&engines[i].name, memory_order_acquire);
	if (!n)
		return -1;
	*engine = n;
	*ops = atomic_load_explicit(&engines[i].ops, memory_order_relaxed);
	*busy_ns = atomic_load_explicit(&engines[i].busy_ns, memory_order_relaxed);
	return 0;
}
