/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the keystore tests: a keystore in a fresh temporary directory. */
#ifndef VSM_KS_TEST_H
#define VSM_KS_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/config.h"
#include "keystore/keystore.h"

struct ks_env {
	char dir[64];
	char db[128];
	char master[128];
	struct vsm_keystore_conf kc;
};

static inline void ks_env_init(struct ks_env *e)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/vsm-ks-XXXXXX");
	if (!mkdtemp(e->dir)) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(e->db, sizeof(e->db), "%s/keystore.db", e->dir);
	snprintf(e->master, sizeof(e->master), "%s/master.key", e->dir);
	e->kc.enabled = true;
	snprintf(e->kc.path, sizeof(e->kc.path), "%s", e->db);
	snprintf(e->kc.master_key, sizeof(e->kc.master_key), "%s", e->master);
	e->kc.path_set = true;
	e->kc.max_keys = 64;
	e->kc.max_files = 8;
	e->kc.max_file_size = 4096;
	e->kc.max_key_objects = 64;
	e->kc.kdf_iterations = 1000;
}

static inline void ks_env_cleanup(struct ks_env *e)
{
	static const char *const suffix[] = {"/keystore.db", "/keystore.db-wal", "/keystore.db-shm",
					     "/master.key", "/master.key.bak"};
	char p[192];
	vsm_keystore_close();
	if (getenv("VSM_KS_KEEP"))
		return;
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", e->dir, suffix[i]);
		unlink(p);
	}
	rmdir(e->dir);
}

#endif
