/* SPDX-License-Identifier: Apache-2.0 */
#include "vhost/chain.h"

#include <endian.h>
#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <string.h>

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* One read of the guest's copy: the checks below all see the same values. */
static struct desc desc_load(const uint8_t *table, uint32_t i)
{
	struct vring_desc raw;
	memcpy(&raw, table + (uint64_t)i * VSM_VHU_DESC_LEN, sizeof(raw));
	return (struct desc){le64toh(raw.addr), le32toh(raw.len), le16toh(raw.flags),
			     le16toh(raw.next)};
}

static bool mapped(vsm_vhu_map_fn map, void *ctx, uint64_t addr, uint64_t len)
{
	if (addr + len < addr)
		return false;
	while (len) {
		uint64_t avail;
		if (!map(ctx, addr, len, &avail) || !avail)
			return false;
		addr += avail;
		len -= avail;
	}
	return true;
}

static int add_buf(struct vsm_vhu_chain *c, const struct desc *d, const char **why)
{
	bool wr = d->flags & VRING_DESC_F_WRITE;
	if (!wr && c->n > c->n_rd) {
		*why = "readable descriptor after a writable one";
		return -1;
	}
	if (!d->len)
		return 0;
	if (c->n >= VSM_VHU_CHAIN_MAX) {
		*why = "chain too long";
		return -1;
	}
	c->buf[c->n++] = (struct vsm_vhu_buf){d->addr, d->len};
	if (wr) {
		c->wr_len += d->len;
	} else {
		c->n_rd++;
		c->rd_len += d->len;
	}
	return 0;
}

int vsm_vhu_chain_walk(const uint8_t *table, uint32_t num, uint32_t head, vsm_vhu_map_fn map,
		       void *ctx, struct vsm_vhu_chain *c, const char **why)
{
	c->n = c->n_rd = 0;
	c->rd_len = c->wr_len = 0;
	bool indirect = false;
	uint32_t i = head;
	/* Every descriptor visited counts, dropped or not: that is what ends a loop. */
	unsigned steps = 0;
	for (;;) {
		if (i >= num) {
			*why = "descriptor index out of range";
			return -1;
		}
		if (++steps > num) {
			*why = "descriptor chain loops";
			return -1;
		}
		struct desc d = desc_load(table, i);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (indirect) {
				*why = "indirect descriptor inside an indirect table";
				return -1;
			}
			if (d.flags & VRING_DESC_F_NEXT) {
				*why = "indirect descriptor with NEXT";
				return -1;
			}
			if (!d.len || d.len % VSM_VHU_DESC_LEN ||
			    d.len / VSM_VHU_DESC_LEN > VSM_VHU_CHAIN_MAX) {
				*why = "bad indirect table length";
				return -1;
			}
			uint64_t avail;
			const uint8_t *t = map(ctx, d.addr, d.len, &avail);
			if (!t || avail != d.len) {
				*why = "indirect table not mapped in one region";
				return -1;
			}
			table = t;
			num = d.len / VSM_VHU_DESC_LEN;
			indirect = true;
			i = 0;
			steps = 0;
			continue;
		}
		if (!mapped(map, ctx, d.addr, d.len)) {
			*why = "buffer outside guest memory";
			return -1;
		}
		if (add_buf(c, &d, why) < 0)
			return -1;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

int vsm_vhu_chain_gather(const struct vsm_vhu_chain *c, vsm_vhu_map_fn map, void *ctx, uint64_t off,
			 uint8_t *dst, uint64_t len)
{
	if (off > c->rd_len || len > c->rd_len - off)
		return -1;
	for (unsigned k = 0; k < c->n_rd && len; k++) {
		if (off >= c->buf[k].len) {
			off -= c->buf[k].len;
			continue;
		}
		uint64_t addr = c->buf[k].addr + off;
		uint64_t blen = c->buf[k].len - off;
		off = 0;
		uint64_t left = blen < len ? blen : len;
		len -= left;
		while (left) {
			uint64_t avail;
			const uint8_t *p = map(ctx, addr, left, &avail);
			if (!p || !avail)
				return -1;
			memcpy(dst, p, avail);
			dst += avail;
			addr += avail;
			left -= avail;
		}
	}
	return 0;
}

int vsm_vhu_chain_scatter(const struct vsm_vhu_chain *c, vsm_vhu_map_fn map, void *ctx,
			  const uint8_t *src, uint64_t len)
{
	if (len > c->wr_len)
		return -1;
	for (unsigned k = c->n_rd; k < c->n && len; k++) {
		uint64_t addr = c->buf[k].addr;
		uint64_t left = c->buf[k].len < len ? c->buf[k].len : len;
		len -= left;
		while (left) {
			uint64_t avail;
			uint8_t *p = map(ctx, addr, left, &avail);
			if (!p || !avail)
				return -1;
			memcpy(p, src, avail);
			src += avail;
			addr += avail;
			left -= avail;
		}
	}
	return 0;
}

int vsm_vhu_chain_put_status(const struct vsm_vhu_chain *c, vsm_vhu_map_fn map, void *ctx,
			     uint8_t status)
{
	if (!c->wr_len || c->n <= c->n_rd)
		return -1;
	const struct vsm_vhu_buf *b = &c->buf[c->n - 1];
	uint64_t avail;
	uint8_t *p = map(ctx, b->addr + b->len - 1, 1, &avail);
	if (!p || avail != 1)
		return -1;
	*p = status;
	return 0;
}
