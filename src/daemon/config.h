/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vsmd configuration: embedded defaults, overridden by an INI file
 * (docs/configuration.md), overridden by the command line.
 */
#ifndef VSM_CONFIG_H
#define VSM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define VSM_TENANT_NAME_MAX 31
#define VSM_CONF_MAX_IDS    64

struct vsm_limits {
	uint32_t max_sessions;
	uint32_t max_inflight;
	uint32_t max_msg;
	uint32_t max_conns;
	uint32_t shm_spin_us; /* shared memory: poll this long after the last request; 0 = never */
	/* QoS (src/daemon/qos.h); 0 = unlimited, burst 0 = a tenth of the rate */
	uint64_t throttle_ops;
	uint64_t throttle_ops_burst;
	uint64_t throttle_bps;
	uint64_t throttle_bps_burst;
};

struct vsm_tenant_conf {
	char name[VSM_TENANT_NAME_MAX + 1];
	uid_t uids[VSM_CONF_MAX_IDS];
	unsigned n_uids;
	uint32_t cids[VSM_CONF_MAX_IDS];
	unsigned n_cids;
	char ivshmem_socket[108];    /* QEMU ivshmem-doorbell server for this tenant; "" = none */
	char vhost_user_socket[108]; /* QEMU cryptodev-vhost-user back-end for this tenant; "" =
					none */
	struct vsm_limits limits;
	unsigned limits_set; /* bit per field of vsm_limits given in this section */
};

/* [keystore]: internal keys and files (src/keystore/). */
struct vsm_keystore_conf {
	bool enabled;
	char path[256];	      /* SQLite database */
	char master_key[256]; /* host master key file (0600), created on first start */
	bool path_set;	      /* given in the config file (then failing to open is fatal) */
	uint32_t max_keys;    /* per tenant; also the highest key index */
	uint32_t max_files;   /* per tenant */
	uint32_t max_file_size;
	uint32_t max_key_objects; /* session keys and agreements held at once, per tenant */
	uint32_t kdf_iterations;  /* PBKDF2-HMAC-SHA256 rounds for key passwords */
};

struct vsm_config {
	unsigned workers; /* 0 = online cores */
	int log_level;
	char unix_socket[108];
	unsigned socket_mode;
	char tcp_listen[256]; /* "" = off */
	char tcp_tenant[VSM_TENANT_NAME_MAX + 1];
	unsigned vsock_port; /* 0 = off */
	bool auto_tenants;
	unsigned drain_timeout_ms;
	char control_socket[108];	    /* "" = off */
	uid_t admin_uids[VSM_CONF_MAX_IDS]; /* besides root */
	unsigned n_admin_uids;
	char metrics_listen[256]; /* "" = off */
	struct vsm_limits limits;
	struct vsm_keystore_conf keystore;
	struct vsm_tenant_conf *tenants;
	unsigned n_tenants;
};

void vsm_config_defaults(struct vsm_config *c);
/*
 * Parse an INI file over the current values. On error returns -1 and writes
 * a message naming the file and line into err.
 */
int vsm_config_load(struct vsm_config *c, const char *path, char *err, size_t errlen);
/* Parse from a string (tests, fuzzing). */
int vsm_config_load_string(struct vsm_config *c, const char *text, char *err, size_t errlen);
/* Fill per-tenant limits left unset from [limits]; check consistency. */
int vsm_config_finish(struct vsm_config *c, char *err, size_t errlen);
void vsm_config_print(const struct vsm_config *c, FILE *f);
void vsm_config_free(struct vsm_config *c);

#endif
