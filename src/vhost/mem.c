/* SPDX-License-Identifier: Apache-2.0 */
#include "vhost/mem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

uint8_t *vsm_vhu_gpa_map(const struct vsm_vhu_mem *m, uint64_t gpa, uint64_t len, uint64_t *avail)
{
	for (unsigned i = 0; i < m->n; i++) {
		const struct vsm_vhu_region *r = &m->r[i];
		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		uint64_t off = gpa - r->gpa;
		uint64_t left = r->size - off;
		*avail = len < left ? len : left;
		return r->host + off;
	}
	*avail = 0;
	return NULL;
}

uint8_t *vsm_vhu_gpa_range(const struct vsm_vhu_mem *m, uint64_t gpa, uint64_t len)
{
	uint64_t avail;
	uint8_t *p = vsm_vhu_gpa_map(m, gpa, len, &avail);
	return p && avail == len ? p : NULL;
}

uint8_t *vsm_vhu_uva_range(const struct vsm_vhu_mem *m, uint64_t uva, uint64_t len)
{
	for (unsigned i = 0; i < m->n; i++) {
		const struct vsm_vhu_region *r = &m->r[i];
		if (uva < r->uva || uva - r->uva >= r->size)
			continue;
		uint64_t off = uva - r->uva;
		if (len > r->size - off)
			return NULL;
		return r->host + off;
	}
	return NULL;
}

int vsm_vhu_memtab_check(const struct vsm_vhu_memreg *r, unsigned n)
{
	if (n > VSM_VHU_MAX_REGIONS)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		if (!r[i].size || r[i].gpa + r[i].size < r[i].gpa ||
		    r[i].uva + r[i].size < r[i].uva ||
		    r[i].mmap_offset + r[i].size < r[i].mmap_offset ||
		    r[i].mmap_offset + r[i].size > SIZE_MAX)
			return -1;
		/* Overlapping regions would make a gpa ambiguous. */
		for (unsigned j = 0; j < i; j++)
			if (r[i].gpa < r[j].gpa + r[j].size && r[j].gpa < r[i].gpa + r[i].size)
				return -1;
	}
	return 0;
}

int vsm_vhu_mem_map(struct vsm_vhu_mem *m, const struct vsm_vhu_memreg *r, const int *fds,
		    unsigned n, char *err, size_t errlen)
{
	if (vsm_vhu_memtab_check(r, n) < 0) {
		snprintf(err, errlen, "invalid memory table");
		return -1;
	}
	m->n = 0;
	for (unsigned i = 0; i < n; i++) {
		/* QEMU maps from offset 0 of the fd too; mmap_offset need not be page-aligned. */
		size_t len = (size_t)(r[i].mmap_offset + r[i].size);
		/* Touching a mapping past the end of its file is SIGBUS: refuse it up front.
		 * (A peer that shrinks the file later can still do that; QEMU seals its memfds.) */
		struct stat st;
		if (fstat(fds[i], &st) < 0 || (S_ISREG(st.st_mode) && (uint64_t)st.st_size < len)) {
			snprintf(err, errlen, "region %u (%zu bytes) larger than its file", i, len);
			vsm_vhu_mem_unmap(m);
			return -1;
		}
		void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fds[i], 0);
		if (p == MAP_FAILED) {
			snprintf(err, errlen, "mmap of region %u (%zu bytes): %s", i, len,
				 strerror(errno));
			vsm_vhu_mem_unmap(m);
			return -1;
		}
		m->r[i] = (struct vsm_vhu_region){
			.gpa = r[i].gpa,
			.size = r[i].size,
			.uva = r[i].uva,
			.host = (uint8_t *)p + r[i].mmap_offset,
			.map = p,
			.map_len = len,
		};
		m->n = i + 1;
	}
	return 0;
}

void vsm_vhu_mem_unmap(struct vsm_vhu_mem *m)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->r[i].map)
			munmap(m->r[i].map, m->r[i].map_len);
	memset(m, 0, sizeof(*m));
}
