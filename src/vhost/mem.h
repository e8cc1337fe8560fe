/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest memory as QEMU's SET_MEM_TABLE describes it: up to 8 regions, each
 * an fd mapped into vsmd. Guest-physical addresses (descriptors) and QEMU
 * user addresses (SET_VRING_ADDR) both translate to host pointers, with the
 * whole [addr, addr + len) checked against the region it starts in.
 */
#ifndef VSM_VHOST_MEM_H
#define VSM_VHOST_MEM_H

#include <stddef.h>
#include <stdint.h>

#define VSM_VHU_MAX_REGIONS 8

struct vsm_vhu_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uva;  /* the same bytes in QEMU's address space */
	uint8_t *host; /* gpa's host address */
	void *map;     /* what munmap gets (NULL: not ours to unmap, e.g. tests) */
	size_t map_len;
};

struct vsm_vhu_mem {
	struct vsm_vhu_region r[VSM_VHU_MAX_REGIONS];
	unsigned n;
};

/* One SET_MEM_TABLE entry as decoded from the message. */
struct vsm_vhu_memreg {
	uint64_t gpa;
	uint64_t size;
	uint64_t uva;
	uint64_t mmap_offset;
};

/*
 * Host pointer of gpa and how many bytes from it lie in the same region
 * (*avail <= len), or NULL if gpa is in no region. Pure.
 */
uint8_t *vsm_vhu_gpa_map(const struct vsm_vhu_mem *m, uint64_t gpa, uint64_t len, uint64_t *avail);
/* Host pointer of [gpa, gpa + len) if it lies in one region, else NULL. Pure. */
uint8_t *vsm_vhu_gpa_range(const struct vsm_vhu_mem *m, uint64_t gpa, uint64_t len);
/* The same for a QEMU user address. Pure. */
uint8_t *vsm_vhu_uva_range(const struct vsm_vhu_mem *m, uint64_t uva, uint64_t len);
/*
 * Check a decoded table (sizes non-zero, no wrap-around, no overlap in gpa);
 * 0 or -1. Pure.
 */
int vsm_vhu_memtab_check(const struct vsm_vhu_memreg *r, unsigned n);
/*
 * Map n regions from fds (which the caller still owns) into m, replacing
 * nothing: m must be empty. On failure m stays empty. 0 or -1 with err.
 */
int vsm_vhu_mem_map(struct vsm_vhu_mem *m, const struct vsm_vhu_memreg *r, const int *fds,
		    unsigned n, char *err, size_t errlen);
void vsm_vhu_mem_unmap(struct vsm_vhu_mem *m);

#endif
