/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-tenant session table. A handle is tag:16 | generation:24 | slot:24.
 * The tenant tag makes another tenant's handle miss even when the slot and
 * generation happen to match one of ours; the generation makes a destroyed
 * handle miss after its slot is reused. Either way: INVSESS.
 */
#include <stdlib.h>

#include "daemon/admin.h"
#include "daemon/dispatch.h"
#include "daemon/tenant.h"

#define SLOT_BITS 24
#define GEN_MASK  0xffffffu
#define NONE	  UINT32_MAX

static uint64_t make_handle(const struct vsm_tenant *t, uint32_t slot, uint32_t gen)
{
	return (uint64_t)t->tag << 48 | (uint64_t)(gen & GEN_MASK) << SLOT_BITS | slot;
}

static void session_free(struct vsm_session *s)
{
	s->eng->session_free(s->es);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void vsm_session_put(struct vsm_session *s)
{
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
		session_free(s);
}

static int grow(struct vsm_tenant *t)
{
	uint32_t n = t->n_slots ? t->n_slots * 2 : 16;
	if (n > t->limits.max_sessions)
		n = t->limits.max_sessions;
	if (n <= t->n_slots)
		return -1;
	struct vsm_sess_slot *s = realloc(t->slots, n * sizeof(*s));
	if (!s)
		return -1;
	for (uint32_t i = t->n_slots; i < n; i++) {
		s[i].s = NULL;
		s[i].gen = 1;
		s[i].next_free = i + 1 < n ? i + 1 : t->free_head;
	}
	t->free_head = t->n_slots;
	t->slots = s;
	t->n_slots = n;
	return 0;
}

int vsm_session_add(struct vsm_tenant *t, const struct vsm_engine *eng, void *es, uint32_t service,
		    uint32_t alg, uint64_t *handle, int *detail)
{
	return vsm_session_add_flags(t, eng, es, service, alg, 0, handle, detail);
}

int vsm_session_add_flags(struct vsm_tenant *t, const struct vsm_engine *eng, void *es,
			  uint32_t service, uint32_t alg, uint32_t flags, uint64_t *handle,
			  int *detail)
{
	struct vsm_session *s = calloc(1, sizeof(*s));
	if (!s) {
		*detail = VSM_D_ENGINE;
		return VSM_S_ERR;
	}
	pthread_mutex_init(&s->lock, NULL);
	atomic_init(&s->refs, 1);
	s->eng = eng;
	s->es = es;
	s->service = service;
	s->alg = alg;
	s->flags = flags;
	s->created_ms = vsm_now_ms();

	pthread_mutex_lock(&t->lock);
	if (t->n_sessions >= t->limits.max_sessions || (t->free_head == NONE && grow(t) < 0)) {
		pthread_mutex_unlock(&t->lock);
		pthread_mutex_destroy(&s->lock);
		free(s);
		*detail = VSM_D_SESSION_LIMIT;
		return VSM_S_NOSPC;
	}
	uint32_t slot = t->free_head;
	t->free_head = t->slots[slot].next_free;
	t->slots[slot].s = s;
	t->n_sessions++;
	*handle = make_handle(t, slot, t->slots[slot].gen);
	pthread_mutex_unlock(&t->lock);
	return VSM_S_OK;
}

/* Called with t->lock held. Returns the slot index or NONE. */
static uint32_t lookup(struct vsm_tenant *t, uint64_t handle)
{
	uint32_t slot = handle & ((1u << SLOT_BITS) - 1);
	uint32_t gen = (handle >> SLOT_BITS) & GEN_MASK;
	if ((uint16_t)(handle >> 48) != t->tag || slot >= t->n_slots || !t->slots[slot].s ||
	    (t->slots[slot].gen & GEN_MASK) != gen)
		return NONE;
	return slot;
}

struct vsm_session *vsm_session_get(struct vsm_tenant *t, uint64_t handle)
{
	struct vsm_session *s = NULL;
	pthread_mutex_lock(&t->lock);
	uint32_t slot = lookup(t, handle);
	if (slot != NONE) {
		s = t->slots[slot].s;
		atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	}
	pthread_mutex_unlock(&t->lock);
	return s;
}

/* With t->lock held: unlink the slot; the caller drops the table's reference. */
static struct vsm_session *unlink_slot(struct vsm_tenant *t, uint32_t slot)
{
	struct vsm_session *s = t->slots[slot].s;
	t->slots[slot].s = NULL;
	/* Skip generation 0 so a zeroed handle can never match. */
	t->slots[slot].gen = ((t->slots[slot].gen + 1) & GEN_MASK) ?: 1;
	t->slots[slot].next_free = t->free_head;
	t->free_head = slot;
	t->n_sessions--;
	return s;
}

int vsm_session_remove(struct vsm_tenant *t, uint64_t handle)
{
	pthread_mutex_lock(&t->lock);
	uint32_t slot = lookup(t, handle);
	struct vsm_session *s = slot != NONE ? unlink_slot(t, slot) : NULL;
	pthread_mutex_unlock(&t->lock);
	if (!s)
		return VSM_S_INVSESS;
	vsm_session_put(s); /* in-flight ops hold their own reference */
	return VSM_S_OK;
}

void vsm_session_remove_all(struct vsm_tenant *t, bool only_if_idle)
{
	/* Freeing under the lock is fine: engines never call back into the table. */
	pthread_mutex_lock(&t->lock);
	/* A new connection may have attached since the last one left. */
	if (!only_if_idle || t->conns == 0)
		for (uint32_t i = 0; i < t->n_slots; i++)
			if (t->slots[i].s)
				vsm_session_put(unlink_slot(t, i));
	pthread_mutex_unlock(&t->lock);
}

size_t vsm_tenant_sessions_list(struct vsm_tenant *t, struct vsm_session_info *out, size_t max)
{
	size_t n = 0;
	pthread_mutex_lock(&t->lock);
	for (uint32_t i = 0; i < t->n_slots; i++) {
		struct vsm_session *s = t->slots[i].s;
		if (!s)
			continue;
		if (n < max) {
			out[n].handle = make_handle(t, i, t->slots[i].gen);
			out[n].service = s->service;
			out[n].alg = s->alg;
			out[n].created_ms = s->created_ms;
		}
		n++;
	}
	pthread_mutex_unlock(&t->lock);
	return n;
}
