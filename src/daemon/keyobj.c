/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-tenant key-object table. Handles are tag:16 | 1:1 | gen:23 | slot:24:
 * the set bit 47 keeps a key-object handle from ever naming a session of the
 * same slot and generation, and the other way round. Objects are small and
 * every use copies or unlinks under the tenant lock, so no reference counts.
 */
#include "daemon/keyobj.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/sm2kx.h"
#include "daemon/tenant.h"
#include "keystore/keystore.h"

#define SLOT_BITS 24
#define GEN_MASK  0x7fffffu
#define KOBJ_BIT  (1ull << 47)
#define NONE	  UINT32_MAX

static uint64_t make_handle(const struct vsm_tenant *t, uint32_t slot, uint32_t gen)
{
	return (uint64_t)t->tag << 48 | KOBJ_BIT | (uint64_t)(gen & GEN_MASK) << SLOT_BITS | slot;
}

static uint32_t limit(void)
{
	const struct vsm_keystore_conf *kc = vsm_keystore_conf();

	return kc && kc->max_key_objects ? kc->max_key_objects : 1024;
}

void vsm_keyobj_free(struct vsm_keyobj *o)
{
	if (!o)
		return;
	vsm_sm2kx_free(o->kx);
	OPENSSL_cleanse(o, sizeof(*o));
	free(o);
}

/* With t->lock held. */
static int grow(struct vsm_tenant *t, uint32_t max)
{
	uint32_t n = t->n_kslots ? t->n_kslots * 2 : 8;

	if (n > max)
		n = max;
	if (n <= t->n_kslots)
		return -1;
	struct vsm_kobj_slot *s = realloc(t->kslots, n * sizeof(*s));
	if (!s)
		return -1;
	for (uint32_t i = t->n_kslots; i < n; i++) {
		s[i].o = NULL;
		s[i].gen = 1;
		s[i].next_free = i + 1 < n ? i + 1 : t->kfree_head;
	}
	t->kfree_head = t->n_kslots;
	t->kslots = s;
	t->n_kslots = n;
	return 0;
}

int vsm_keyobj_add(struct vsm_tenant *t, struct vsm_keyobj *o, uint64_t *handle, int *detail)
{
	uint32_t max = limit();

	pthread_mutex_lock(&t->lock);
	if (t->n_kobjs >= max || (t->kfree_head == NONE && grow(t, max) < 0)) {
		pthread_mutex_unlock(&t->lock);
		vsm_keyobj_free(o);
		*detail = VSM_D_RANGE;
		return VSM_S_NOSPC;
	}
	uint32_t slot = t->kfree_head;
	t->kfree_head = t->kslots[slot].next_free;
	t->kslots[slot].o = o;
	t->n_kobjs++;
	*handle = make_handle(t, slot, t->kslots[slot].gen);
	pthread_mutex_unlock(&t->lock);
	return VSM_S_OK;
}

/* With t->lock held. */
static uint32_t lookup(struct vsm_tenant *t, uint64_t handle, int kind)
{
	uint32_t slot = handle & ((1u << SLOT_BITS) - 1);
	uint32_t gen = (handle >> SLOT_BITS) & GEN_MASK;

	if ((uint16_t)(handle >> 48) != t->tag || !(handle & KOBJ_BIT) || slot >= t->n_kslots ||
	    !t->kslots[slot].o || (t->kslots[slot].gen & GEN_MASK) != gen)
		return NONE;
	if (kind != VSM_KOBJ_ANY && t->kslots[slot].o->kind != kind)
		return NONE;
	return slot;
}

int vsm_keyobj_copy(struct vsm_tenant *t, uint64_t handle, uint8_t *key, size_t *len,
		    uint32_t *type, int *detail)
{
	pthread_mutex_lock(&t->lock);
	uint32_t slot = lookup(t, handle, VSM_KOBJ_KEY);
	if (slot != NONE) {
		const struct vsm_keyobj *o = t->kslots[slot].o;
		memcpy(key, o->key, o->len);
		*len = o->len;
		*type = o->type;
	}
	pthread_mutex_unlock(&t->lock);
	if (slot == NONE) {
		*detail = VSM_D_NO_KEY;
		return VSM_S_KEY_REJECTED;
	}
	return VSM_S_OK;
}

/* With t->lock held. */
static struct vsm_keyobj *unlink_slot(struct vsm_tenant *t, uint32_t slot)
{
	struct vsm_keyobj *o = t->kslots[slot].o;

	t->kslots[slot].o = NULL;
	t->kslots[slot].gen = ((t->kslots[slot].gen + 1) & GEN_MASK) ?: 1;
	t->kslots[slot].next_free = t->kfree_head;
	t->kfree_head = slot;
	t->n_kobjs--;
	return o;
}

struct vsm_keyobj *vsm_keyobj_take(struct vsm_tenant *t, uint64_t handle, int kind)
{
	pthread_mutex_lock(&t->lock);
	uint32_t slot = lookup(t, handle, kind);
	struct vsm_keyobj *o = slot != NONE ? unlink_slot(t, slot) : NULL;
	pthread_mutex_unlock(&t->lock);
	return o;
}

void vsm_keyobj_remove_all(struct vsm_tenant *t, bool only_if_idle)
{
	pthread_mutex_lock(&t->lock);
	if (!only_if_idle || t->conns == 0)
		for (uint32_t i = 0; i < t->n_kslots; i++)
			if (t->kslots[i].o)
				vsm_keyobj_free(unlink_slot(t, i));
	pthread_mutex_unlock(&t->lock);
}

unsigned vsm_keyobj_count(struct vsm_tenant *t)
{
	pthread_mutex_lock(&t->lock);
	unsigned n = t->n_kobjs;
	pthread_mutex_unlock(&t->lock);
	return n;
}
