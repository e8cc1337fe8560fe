/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the vhost-user descriptor-chain walker and its gather/scatter with
 * hostile guest memory. Guest memory is a heap copy of the input (so ASan
 * sees any access past it), described as two regions: gpa [0, A) and, after
 * a hole, gpa [0x100000, 0x100000 + B), where A is half the memory rounded
 * down to 16 bytes. The descriptor table is at gpa 0.
 *
 * Input layout:
 *   bytes 0-1  ring size (LE u16; 0 means 1)
 *   bytes 2-3  head index (LE u16)
 *   then       guest memory (at most 64 KiB)
 *
 * Invariants checked (abort on violation): a walk that succeeds gives at
 * most VSM_VHU_CHAIN_MAX buffers, readable ones first, lengths that add up,
 * each buffer inside guest memory; gather, scatter and put_status then
 * succeed and touch nothing else.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vhost/chain.h"
#include "vhost/device.h"
#include "vhost/mem.h"

#define HOLE_GPA 0x100000u

static int inside(const struct vsm_vhu_mem *m, uint64_t addr, uint64_t len)
{
	while (len) {
		uint64_t avail;
		if (!vsm_vhu_gpa_map(m, addr, len, &avail) || !avail)
			return 0;
		addr += avail;
		len -= avail;
	}
	return 1;
}

static struct vsm_vhu_chain c;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4 + 32 || size > 4 + 65536)
		return 0;
	uint32_t num = (uint32_t)data[0] | (uint32_t)data[1] << 8;
	uint32_t head = (uint32_t)data[2] | (uint32_t)data[3] << 8;
	if (!num)
		num = 1;
	size_t len = size - 4;
	uint8_t *g = malloc(len);
	if (!g)
		return 0;
	memcpy(g, data + 4, len);
	size_t a = (len / 2) & ~(size_t)15;
	struct vsm_vhu_mem m = {.n = 2};
	m.r[0] = (struct vsm_vhu_region){0, a, 0, g, NULL, 0};
	m.r[1] = (struct vsm_vhu_region){HOLE_GPA, len - a, HOLE_GPA, g + a, NULL, 0};
	/* The table the caller maps: as many descriptors as fit in region 0. */
	if ((uint64_t)num * VSM_VHU_DESC_LEN > a)
		num = (uint32_t)(a / VSM_VHU_DESC_LEN);
	const char *why = NULL;
	if (num && vsm_vhu_chain_walk(g, num, head, vsm_vhu_map_gpa, &m, &c, &why) == 0) {
		uint64_t rd = 0, wr = 0;
		if (c.n > VSM_VHU_CHAIN_MAX || c.n_rd > c.n)
			abort();
		for (unsigned i = 0; i < c.n; i++) {
			if (!c.buf[i].len || !inside(&m, c.buf[i].addr, c.buf[i].len))
				abort();
			*(i < c.n_rd ? &rd : &wr) += c.buf[i].len;
		}
		if (rd != c.rd_len || wr != c.wr_len)
			abort();
		uint8_t *buf = malloc(rd + wr + 1);
		if (buf) {
			if (vsm_vhu_chain_gather(&c, vsm_vhu_map_gpa, &m, 0, buf, rd) < 0 ||
			    vsm_vhu_chain_scatter(&c, vsm_vhu_map_gpa, &m, buf, wr < rd ? wr : rd) <
				    0)
				abort();
			if ((vsm_vhu_chain_put_status(&c, vsm_vhu_map_gpa, &m, 2) == 0) != (wr > 0))
				abort();
			free(buf);
		}
	} else if (num && !why) {
		abort(); /* a refusal always says why */
	}
	free(g);
	return 0;
}
