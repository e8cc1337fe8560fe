/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Descriptor chains of a split virtqueue, walked without trusting anything:
 * each descriptor is copied out of guest memory once, every index is checked
 * against its table, every buffer must be mapped (it may cross regions only
 * where both sides are mapped), one level of indirection at most, readable
 * buffers before writable ones, and at most VSM_VHU_CHAIN_MAX buffers, which
 * also ends loops. Pure: memory is reached only through the map callback.
 */
#ifndef VSM_VHOST_CHAIN_H
#define VSM_VHOST_CHAIN_H

#include <stdint.h>

#define VSM_VHU_CHAIN_MAX 1024u
#define VSM_VHU_DESC_LEN  16u

/* The host pointer of addr and how many of len bytes follow it contiguously; NULL: unmapped. */
typedef uint8_t *(*vsm_vhu_map_fn)(void *ctx, uint64_t addr, uint64_t len, uint64_t *avail);

struct vsm_vhu_buf {
	uint64_t addr;
	uint32_t len;
};

struct vsm_vhu_chain {
	unsigned n;    /* buffers in buf (zero-length descriptors are dropped) */
	unsigned n_rd; /* the first n_rd are device-readable, the rest writable */
	uint64_t rd_len, wr_len;
	struct vsm_vhu_buf buf[VSM_VHU_CHAIN_MAX];
};

/*
 * Walk the chain starting at head of the descriptor table (num entries at
 * table, which the caller has mapped). 0, or -1 with a reason in *why.
 */
int vsm_vhu_chain_walk(const uint8_t *table, uint32_t num, uint32_t head, vsm_vhu_map_fn map,
		       void *ctx, struct vsm_vhu_chain *c, const char **why);
/* Copy len readable bytes from offset off to dst (off + len <= rd_len). 0 or -1. */
int vsm_vhu_chain_gather(const struct vsm_vhu_chain *c, vsm_vhu_map_fn map, void *ctx, uint64_t off,
			 uint8_t *dst, uint64_t len);
/* Write len bytes to the start of the writable part (len <= wr_len). 0 or -1. */
int vsm_vhu_chain_scatter(const struct vsm_vhu_chain *c, vsm_vhu_map_fn map, void *ctx,
			  const uint8_t *src, uint64_t len);
/* Write the last byte of the last writable buffer (wr_len >= 1). 0 or -1. */
int vsm_vhu_chain_put_status(const struct vsm_vhu_chain *c, vsm_vhu_map_fn map, void *ctx,
			     uint8_t status);

#endif
