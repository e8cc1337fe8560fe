/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Split virtqueues. The guest writes the avail ring and the descriptors
 * while we read them, so each index is loaded once into private memory and
 * checked there; the used ring is ours to write, through indices we keep
 * privately (never read back from the guest).
 *
 * Notifications: QEMU 7.2 tells us SET_FEATURES without EVENT_IDX even when
 * the guest negotiated it, so we cannot know which mode the guest is in.
 * Both are served by the same rule: always publish avail_event (it is part
 * of the used ring's memory in either mode), and signal the call fd after
 * adding used entries unless the guest set VRING_AVAIL_F_NO_INTERRUPT (a
 * guest in EVENT_IDX mode never sets it, so it just gets every interrupt).
 */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_ring.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "daemon/log.h"
#include "vhost/device.h"

uint8_t *vsm_vhu_map_gpa(void *mem, uint64_t addr, uint64_t len, uint64_t *avail)
{
	return vsm_vhu_gpa_map(mem, addr, len, avail);
}

void vsm_vhu_vq_reset(struct vsm_vhu_vq *vq)
{
	if (vq->kick >= 0)
		close(vq->kick);
	if (vq->call >= 0)
		close(vq->call);
	if (vq->err >= 0)
		close(vq->err);
	*vq = (struct vsm_vhu_vq){.kick = -1, .call = -1, .err = -1};
}

bool vsm_vhu_vq_map(struct vsm_vhu_dev *d, struct vsm_vhu_vq *vq)
{
	uint64_t n = vq->num;
	if (!n || !vq->addr_set)
		return false;
	/* Sizes include the event fields: we write avail_event whatever was negotiated. */
	vq->desc = vsm_vhu_uva_range(&d->mem, vq->addr.desc, n * VSM_VHU_DESC_LEN);
	vq->avail = vsm_vhu_uva_range(&d->mem, vq->addr.avail, 4 + 2 * n + 2);
	vq->used = vsm_vhu_uva_range(&d->mem, vq->addr.used, 4 + 8 * n + 2);
	/* The ring fields are accessed as aligned u16/u32. */
	if (((uintptr_t)vq->avail & 1) || ((uintptr_t)vq->used & 3) || ((uintptr_t)vq->desc & 15))
		vq->desc = NULL;
	return vq->desc && vq->avail && vq->used;
}

static uint16_t load16(const uint8_t *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_RELAXED));
}

static void store16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)p, htole16(v), __ATOMIC_RELAXED);
}

static void store32(uint8_t *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)(void *)p, htole32(v), __ATOMIC_RELAXED);
}

static void vq_break(struct vsm_vhu_dev *d, unsigned qi, const char *why)
{
	struct vsm_vhu_vq *vq = &d->vq[qi];
	log_warn("vhost-user %s: queue %u stopped: %s", d->name, qi, why);
	vq->broken = true;
	vsm_vhu_dev_watch(d, qi, false);
	vq->started = false;
	if (vq->err >= 0) {
		uint64_t one = 1;
		if (write(vq->err, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_debug("vhost-user %s: err fd: %s", d->name, strerror(errno));
	}
}

void vsm_vhu_vq_process(struct vsm_vhu_dev *d, unsigned qi)
{
	struct vsm_vhu_vq *vq = &d->vq[qi];
	const uint16_t mask = (uint16_t)(vq->num - 1);
	unsigned done = 0;
	while (vq->started && !vq->broken && !atomic_load(&d->stop)) {
		uint16_t avail_idx = load16(vq->avail + 2);
		if (avail_idx == vq->last_avail) {
			/* Publish how far we got, then look again: a request added in between
			 * would otherwise wait for a kick the guest decided not to send. */
			store16(vq->used + 4 + 8 * vq->num, vq->last_avail);
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			if (load16(vq->avail + 2) == vq->last_avail)
				break;
			continue;
		}
		if ((uint16_t)(avail_idx - vq->last_avail) > vq->num) {
			vq_break(d, qi, "avail index moved by more than the ring size");
			break;
		}
		/* Entries before the index are complete once we have seen the index. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		uint16_t head = load16(vq->avail + 4 + 2 * (vq->last_avail & mask));
		const char *why = NULL;
		if (vsm_vhu_chain_walk(vq->desc, vq->num, head, vsm_vhu_map_gpa, &d->mem, &d->chain,
				       &why) < 0) {
			vq_break(d, qi, why);
			break;
		}
		int64_t len = vsm_vhu_crypto_request(d);
		if (len < 0) {
			vq_break(d, qi, "request without room for a status byte");
			break;
		}
		uint8_t *e = vq->used + 4 + 8 * (vq->last_used & mask);
		store32(e, head);
		store32(e + 4, (uint32_t)len);
		vq->last_avail++;
		vq->last_used++;
		/* The entry must be visible before the index that covers it. */
		__atomic_thread_fence(__ATOMIC_RELEASE);
		store16(vq->used + 2, vq->last_used);
		done++;
	}
	if (!done || vq->call < 0)
		return;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (load16(vq->avail) & VRING_AVAIL_F_NO_INTERRUPT)
		return;
	uint64_t one = 1;
	if (write(vq->call, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("vhost-user %s: call fd: %s", d->name, strerror(errno));
}
