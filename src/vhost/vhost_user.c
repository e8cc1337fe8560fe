/* SPDX-License-Identifier: Apache-2.0 */
#include "vhost/vhost_user.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/log.h"
#include "vhost/device.h"

uint64_t vsm_vhu_u64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

uint32_t vsm_vhu_u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

int vsm_vhu_msg_check(const struct vsm_vhu_msg *m, const char **why)
{
	if ((m->flags & VHU_FLAG_VERSION_M) != VHU_FLAG_VERSION || (m->flags & VHU_FLAG_REPLY)) {
		*why = "bad flags";
		return -1;
	}
	if (m->size > VSM_VHU_MAX_PAYLOAD || m->nfds > VSM_VHU_MAX_FDS) {
		*why = "message too big";
		return -1;
	}
	uint32_t size = 0; /* what the request must carry; UINT32_MAX: checked below */
	unsigned fds = 0;
	switch (m->req) {
	case VHU_GET_FEATURES:
	case VHU_GET_PROTOCOL_FEATURES:
	case VHU_GET_QUEUE_NUM:
	case VHU_SET_OWNER:
	case VHU_RESET_OWNER:
	case VHU_RESET_DEVICE:
		/* QEMU sends the GETs with no payload, some peers with a zero u64. */
		if (m->size != 0 && m->size != 8) {
			*why = "bad payload size";
			return -1;
		}
		size = m->size;
		break;
	case VHU_SET_FEATURES:
	case VHU_SET_PROTOCOL_FEATURES:
	case VHU_CLOSE_CRYPTO_SESSION:
	case VHU_SET_VRING_NUM:
	case VHU_SET_VRING_BASE:
	case VHU_GET_VRING_BASE:
	case VHU_SET_VRING_ENABLE:
		size = 8;
		break;
	case VHU_SET_VRING_ADDR:
		size = 40;
		break;
	case VHU_SET_VRING_KICK:
	case VHU_SET_VRING_CALL:
	case VHU_SET_VRING_ERR:
		size = 8;
		if (m->size == 8)
			fds = (vsm_vhu_u64(m->payload) & VHU_VRING_NOFD) ? 0 : 1;
		break;
	case VHU_SET_MEM_TABLE:
		if (m->size < 8) {
			*why = "bad payload size";
			return -1;
		}
		fds = vsm_vhu_u32(m->payload);
		if (fds > VSM_VHU_MAX_REGIONS) {
			*why = "too many memory regions";
			return -1;
		}
		size = 8 + 32 * fds;
		break;
	case VHU_CREATE_CRYPTO_SESSION:
		/* The layout is told apart by its size. */
		size = m->size == VSM_VHU_QEMU_SESSION_LEN_V2 ? VSM_VHU_QEMU_SESSION_LEN_V2
							      : VSM_VHU_QEMU_SESSION_LEN;
		break;
	case VSM_VHOST_USER_CREATE_SESSION:
		size = m->size; /* the vsm wire decoder checks it exactly */
		break;
	default:
		*why = "unknown request";
		return -1;
	}
	if (m->size != size) {
		*why = "bad payload size";
		return -1;
	}
	if (m->nfds != fds) {
		*why = "wrong number of descriptors";
		return -1;
	}
	return 0;
}

int vsm_vhu_msg_memtab(const uint8_t *p, uint32_t size, struct vsm_vhu_memreg *r, unsigned *n)
{
	if (size < 8)
		return -1;
	uint32_t k = vsm_vhu_u32(p);
	if (k > VSM_VHU_MAX_REGIONS || size != 8 + 32 * k)
		return -1;
	for (uint32_t i = 0; i < k; i++) {
		const uint8_t *q = p + 8 + 32 * i;
		r[i].gpa = vsm_vhu_u64(q);
		r[i].size = vsm_vhu_u64(q + 8);
		r[i].uva = vsm_vhu_u64(q + 16);
		r[i].mmap_offset = vsm_vhu_u64(q + 24);
	}
	*n = k;
	return vsm_vhu_memtab_check(r, k);
}

void vsm_vhu_msg_vring_addr(const uint8_t *p, struct vsm_vhu_vring_addr *a)
{
	a->index = vsm_vhu_u32(p);
	a->flags = vsm_vhu_u32(p + 4);
	a->desc = vsm_vhu_u64(p + 8);
	a->used = vsm_vhu_u64(p + 16);
	a->avail = vsm_vhu_u64(p + 24);
	a->log = vsm_vhu_u64(p + 32);
}

static int send_reply(struct vsm_vhu_dev *d, uint32_t req, const void *payload, uint32_t size)
{
	uint8_t buf[VSM_VHU_HDR_LEN + VSM_VHU_QEMU_SESSION_LEN_V2];
	if (size > sizeof(buf) - VSM_VHU_HDR_LEN)
		return -1;
	uint32_t h[3] = {htole32(req), htole32(VHU_FLAG_VERSION | VHU_FLAG_REPLY), htole32(size)};
	memcpy(buf, h, sizeof(h));
	memcpy(buf + VSM_VHU_HDR_LEN, payload, size);
	size_t len = VSM_VHU_HDR_LEN + size, off = 0;
	while (off < len) {
		ssize_t n = send(d->fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

static int reply_u64(struct vsm_vhu_dev *d, uint32_t req, uint64_t v)
{
	v = htole64(v);
	return send_reply(d, req, &v, sizeof(v));
}

static int take_fd(struct vsm_vhu_msg *m)
{
	if (!m->nfds)
		return -1;
	int fd = m->fds[0];
	m->fds[0] = -1;
	return fd;
}

static void set_fd(int *slot, int fd)
{
	if (*slot >= 0)
		close(*slot);
	*slot = fd;
}

static void queue_stop(struct vsm_vhu_dev *d, unsigned qi)
{
	struct vsm_vhu_vq *vq = &d->vq[qi];
	if (vq->started)
		vsm_vhu_dev_watch(d, qi, false);
	vq->started = false;
}

static int set_mem_table(struct vsm_vhu_dev *d, struct vsm_vhu_msg *m)
{
	struct vsm_vhu_memreg r[VSM_VHU_MAX_REGIONS];
	unsigned n;
	char err[160];
	if (vsm_vhu_msg_memtab(m->payload, m->size, r, &n) < 0) {
		log_warn("vhost-user %s: invalid memory table", d->name);
		return -1;
	}
	vsm_vhu_mem_unmap(&d->mem);
	if (vsm_vhu_mem_map(&d->mem, r, m->fds, n, err, sizeof(err)) < 0) {
		log_warn("vhost-user %s: %s", d->name, err);
		return -1;
	}
	/* Rings that were running keep running on the new mapping, if it still holds them. */
	for (unsigned i = 0; i < VSM_VHU_MAX_QUEUES; i++) {
		struct vsm_vhu_vq *vq = &d->vq[i];
		vq->desc = vq->avail = vq->used = NULL;
		if (vq->started && !vsm_vhu_vq_map(d, vq)) {
			log_warn("vhost-user %s: queue %u not in the new memory table", d->name, i);
			queue_stop(d, i);
		}
	}
	return 0;
}

static struct vsm_vhu_vq *vq_of(struct vsm_vhu_dev *d, uint32_t index)
{
	if (index >= VSM_VHU_MAX_QUEUES) {
		log_warn("vhost-user %s: queue %u out of range", d->name, index);
		return NULL;
	}
	return &d->vq[index];
}

static int vring_fd(struct vsm_vhu_dev *d, struct vsm_vhu_msg *m)
{
	uint64_t v = vsm_vhu_u64(m->payload);
	if (v & ~(uint64_t)(VHU_VRING_IDX_MASK | VHU_VRING_NOFD))
		return -1;
	unsigned qi = (unsigned)(v & VHU_VRING_IDX_MASK);
	struct vsm_vhu_vq *vq = vq_of(d, qi);
	if (!vq)
		return -1;
	int fd = take_fd(m);
	if (m->req == VHU_SET_VRING_CALL) {
		set_fd(&vq->call, fd);
	} else if (m->req == VHU_SET_VRING_ERR) {
		set_fd(&vq->err, fd);
	} else {
		queue_stop(d, qi);
		set_fd(&vq->kick, fd);
		if (fd < 0)
			return 0; /* polling mode is not offered: the queue just stays idle */
		if (!vq->num || !vq->addr_set || !vsm_vhu_vq_map(d, vq)) {
			log_warn("vhost-user %s: queue %u kicked before its ring is usable",
				 d->name, qi);
			return -1;
		}
		vq->broken = false;
		vq->started = true;
		vsm_vhu_dev_watch(d, qi, true);
		/* Requests may already be waiting (a reconnect, or a kick before the fd). */
		vsm_vhu_vq_process(d, qi);
	}
	return 0;
}

/* Returns -1 to disconnect, else 0 (ok) or 1 (failed; for REPLY_ACK). */
static int dispatch(struct vsm_vhu_dev *d, struct vsm_vhu_msg *m, bool *replied)
{
	const uint8_t *p = m->payload;
	struct vsm_vhu_vq *vq;
	*replied = false;
	switch (m->req) {
	case VHU_GET_FEATURES:
		*replied = true;
		return reply_u64(d, m->req, VHU_FEATURES);
	case VHU_SET_FEATURES: {
		uint64_t f = vsm_vhu_u64(p);
		if (f & ~VHU_FEATURES) {
			log_warn("vhost-user %s: features 0x%llx not offered", d->name,
				 (unsigned long long)f);
			return -1;
		}
		d->features = f;
		return 0;
	}
	case VHU_GET_PROTOCOL_FEATURES:
		*replied = true;
		return reply_u64(d, m->req, VHU_PROTOCOL_FEATURES);
	case VHU_SET_PROTOCOL_FEATURES:
		d->protocol = vsm_vhu_u64(p) & VHU_PROTOCOL_FEATURES;
		return 0;
	case VHU_GET_QUEUE_NUM:
		*replied = true;
		return reply_u64(d, m->req, VSM_VHU_MAX_QUEUES);
	case VHU_SET_OWNER:
		return 0;
	case VHU_RESET_OWNER:
	case VHU_RESET_DEVICE:
		for (unsigned i = 0; i < VSM_VHU_MAX_QUEUES; i++) {
			queue_stop(d, i);
			vsm_vhu_vq_reset(&d->vq[i]);
		}
		return 0;
	case VHU_SET_MEM_TABLE:
		return set_mem_table(d, m);
	case VHU_SET_VRING_NUM: {
		uint32_t num = vsm_vhu_u32(p + 4);
		if (!(vq = vq_of(d, vsm_vhu_u32(p))))
			return -1;
		/* Split rings: a power of two (the ring index arithmetic relies on it). */
		if (!num || num > VSM_VHU_MAX_RING || (num & (num - 1))) {
			log_warn("vhost-user %s: ring size %u", d->name, num);
			return -1;
		}
		queue_stop(d, (unsigned)(vq - d->vq));
		vq->num = num;
		return 0;
	}
	case VHU_SET_VRING_ADDR: {
		struct vsm_vhu_vring_addr a;
		vsm_vhu_msg_vring_addr(p, &a);
		if (!(vq = vq_of(d, a.index)))
			return -1;
		vq->addr = a;
		vq->addr_set = true;
		vq->desc = vq->avail = vq->used = NULL;
		if (vq->started && !vsm_vhu_vq_map(d, vq)) {
			queue_stop(d, a.index);
			return 1;
		}
		return 0;
	}
	case VHU_SET_VRING_BASE: {
		uint32_t base = vsm_vhu_u32(p + 4);
		if (!(vq = vq_of(d, vsm_vhu_u32(p))) || base > 0xffff)
			return -1;
		vq->last_avail = vq->last_used = (uint16_t)base;
		return 0;
	}
	case VHU_GET_VRING_BASE: {
		uint32_t qi = vsm_vhu_u32(p);
		if (!(vq = vq_of(d, qi)))
			return -1;
		queue_stop(d, qi);
		set_fd(&vq->kick, -1);
		uint32_t r[2] = {htole32(qi), htole32(vq->last_avail)};
		*replied = true;
		return send_reply(d, m->req, r, sizeof(r));
	}
	case VHU_SET_VRING_KICK:
	case VHU_SET_VRING_CALL:
	case VHU_SET_VRING_ERR:
		return vring_fd(d, m);
	case VHU_SET_VRING_ENABLE: {
		uint32_t qi = vsm_vhu_u32(p), on = vsm_vhu_u32(p + 4);
		if (!(vq = vq_of(d, qi)) || on > 1)
			return -1;
		/* Queues start on their kick fd already; disabling stops one. */
		if (!on)
			queue_stop(d, qi);
		else if (!vq->started && vq->kick >= 0 && vsm_vhu_vq_map(d, vq)) {
			vq->started = true;
			vsm_vhu_dev_watch(d, qi, true);
		}
		return 0;
	}
	case VHU_CREATE_CRYPTO_SESSION:
	case VSM_VHOST_USER_CREATE_SESSION: {
		bool vsm = m->req == VSM_VHOST_USER_CREATE_SESSION;
		if (vsm && !(d->protocol & (1ull << VSM_VHOST_USER_PROTOCOL_F_VSM_SESSION))) {
			log_warn("vhost-user %s: vsm session message without its protocol feature",
				 d->name);
			return -1;
		}
		int64_t id = vsm_vhu_session_create(d, vsm, p, m->size);
		uint64_t le = htole64((uint64_t)id);
		*replied = true;
		if (vsm)
			return send_reply(d, m->req, &le, sizeof(le));
		/* QEMU wants its request back with the id filled in. */
		memcpy(m->payload + (m->size == VSM_VHU_QEMU_SESSION_LEN ? 0 : m->size - 8), &le,
		       sizeof(le));
		return send_reply(d, m->req, m->payload, m->size);
	}
	case VHU_CLOSE_CRYPTO_SESSION:
		return vsm_vhu_session_close(d, vsm_vhu_u64(p)) == 0 ? 0 : 1;
	}
	return -1;
}

int vsm_vhu_handle(struct vsm_vhu_dev *d, struct vsm_vhu_msg *m)
{
	bool replied;
	int r = dispatch(d, m, &replied);
	if (r < 0)
		return -1;
	if ((m->flags & VHU_FLAG_NEED_REPLY) && !replied)
		return reply_u64(d, m->req, (uint64_t)r);
	return 0;
}
