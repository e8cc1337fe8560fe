/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key objects: secrets vsmd holds for a tenant between KEY requests (session
 * keys from VSM_KOP_SKEY_*, SM2 agreements in progress). They live in a
 * per-tenant table with handles built like session handles, so another
 * tenant's or a stale handle misses; they are wiped when destroyed and when
 * the tenant's last connection closes.
 */
#ifndef VSM_DAEMON_KEYOBJ_H
#define VSM_DAEMON_KEYOBJ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vsm_tenant;
struct vsm_sm2kx;

enum vsm_kobj_kind {
	VSM_KOBJ_ANY = 0, /* only as a lookup filter */
	VSM_KOBJ_KEY = 1,
	VSM_KOBJ_AGREE = 2,
};

#define VSM_KOBJ_KEY_MAX 128u /* bytes: VSM_KT_GENERIC's 1024 bits */

struct vsm_keyobj {
	int kind;
	uint32_t type; /* KEY: enum vsm_key_type */
	size_t len;
	uint8_t key[VSM_KOBJ_KEY_MAX];
	struct vsm_sm2kx *kx; /* AGREE */
};

struct vsm_kobj_slot {
	struct vsm_keyobj *o; /* NULL when free */
	uint32_t gen;
	uint32_t next_free;
};

/* Takes o (freed on failure). NOSPC/RANGE at the tenant's max_key_objects. */
int vsm_keyobj_add(struct vsm_tenant *t, struct vsm_keyobj *o, uint64_t *handle, int *detail);
/* Copy a KEY object's bytes (cap >= VSM_KOBJ_KEY_MAX). KEY_REJECTED/NO_KEY if none. */
int vsm_keyobj_copy(struct vsm_tenant *t, uint64_t handle, uint8_t *key, size_t *len,
		    uint32_t *type, int *detail);
/* Unlink and hand over an object of this kind (or any); NULL if none. */
struct vsm_keyobj *vsm_keyobj_take(struct vsm_tenant *t, uint64_t handle, int kind);
void vsm_keyobj_free(struct vsm_keyobj *o);
/* only_if_idle: do nothing if a connection is attached. */
void vsm_keyobj_remove_all(struct vsm_tenant *t, bool only_if_idle);
unsigned vsm_keyobj_count(struct vsm_tenant *t);

#endif
