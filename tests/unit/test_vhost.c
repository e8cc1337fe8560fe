/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pure parts of the vhost-user back-end: guest-memory translation
 * bounds, the descriptor-chain walker, message checks and the QEMU session
 * layout. Guest memory is a plain buffer described as regions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <linux/virtio_crypto.h>
#include <linux/virtio_ring.h>
#include <openssl/evp.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/config.h"
#include "daemon/tenant.h"
#include "engine/engine.h"

#include "vhost/chain.h"
#include "vhost/device.h"
#include "vhost/mem.h"
#include "vhost/vhost_user.h"

#define GUEST 65536u

static uint8_t guest[GUEST];

/*
 * Two regions: gpa [0x10000, 0x18000) at guest[0] and [0x18000, 0x1c000)
 * right after it (adjacent), and gpa [0x40000, 0x44000) at guest[0xc000]
 * (a hole before it). uva = gpa + 0x7f0000000000.
 */
static void mem_init(struct vsm_vhu_mem *m)
{
	memset(m, 0, sizeof(*m));
	memset(guest, 0, sizeof(guest));
	m->r[0] = (struct vsm_vhu_region){0x10000, 0x8000, 0x7f0000010000, guest, NULL, 0};
	m->r[1] = (struct vsm_vhu_region){0x18000, 0x4000, 0x7f0000018000, guest + 0x8000, NULL, 0};
	m->r[2] = (struct vsm_vhu_region){0x40000, 0x4000, 0x7f0000040000, guest + 0xc000, NULL, 0};
	m->n = 3;
}

static uint8_t *host(uint64_t gpa)
{
	if (gpa >= 0x40000)
		return guest + 0xc000 + (gpa - 0x40000);
	return guest + (gpa - 0x10000);
}

static void put_desc(uint8_t *table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	struct vring_desc d = {addr, len, flags, next};
	memcpy(table + 16 * i, &d, sizeof(d));
}

static void test_mem_bounds(void **state)
{
	(void)state;
	struct vsm_vhu_mem m;
	mem_init(&m);
	assert_ptr_equal(vsm_vhu_gpa_range(&m, 0x10000, 0x8000), guest);
	assert_null(vsm_vhu_gpa_range(&m, 0x10000, 0x8001)); /* runs into the next region */
	assert_ptr_equal(vsm_vhu_gpa_range(&m, 0x17fff, 1), guest + 0x7fff);
	assert_null(vsm_vhu_gpa_range(&m, 0xffff, 1));
	assert_null(vsm_vhu_gpa_range(&m, 0x1c000, 1)); /* hole */
	assert_null(vsm_vhu_gpa_range(&m, 0x43fff, 2));
	assert_null(vsm_vhu_gpa_range(&m, UINT64_MAX, 2));
	uint64_t avail;
	assert_ptr_equal(vsm_vhu_gpa_map(&m, 0x17ff0, 0x100, &avail), guest + 0x7ff0);
	assert_int_equal(avail, 0x10);
	assert_ptr_equal(vsm_vhu_uva_range(&m, 0x7f0000040010, 0x10), guest + 0xc010);
	assert_null(vsm_vhu_uva_range(&m, 0x7f0000043ff0, 0x11));
	assert_null(vsm_vhu_uva_range(&m, 0x40000, 1)); /* a gpa is not a uva */
}

static void test_memtab_check(void **state)
{
	(void)state;
	struct vsm_vhu_memreg r[2] = {{0x0, 0x1000, 0x1000, 0}, {0x1000, 0x1000, 0x5000, 0}};
	assert_int_equal(vsm_vhu_memtab_check(r, 2), 0);
	r[1].gpa = 0xfff; /* overlaps the first */
	assert_int_equal(vsm_vhu_memtab_check(r, 2), -1);
	r[1].gpa = UINT64_MAX - 0x10; /* wraps */
	assert_int_equal(vsm_vhu_memtab_check(r, 2), -1);
	r[1].gpa = 0x1000;
	r[1].size = 0;
	assert_int_equal(vsm_vhu_memtab_check(r, 2), -1);
	r[1].size = 0x1000;
	r[1].mmap_offset = UINT64_MAX - 0x100;
	assert_int_equal(vsm_vhu_memtab_check(r, 2), -1);
	assert_int_equal(vsm_vhu_memtab_check(r, VSM_VHU_MAX_REGIONS + 1), -1);
}

static struct vsm_vhu_chain chain;

static int walk(struct vsm_vhu_mem *m, const uint8_t *table, uint32_t num, uint32_t head,
		const char **why)
{
	*why = NULL;
	return vsm_vhu_chain_walk(table, num, head, vsm_vhu_map_gpa, m, &chain, why);
}

static void test_chain_direct(void **state)
{
	(void)state;
	struct vsm_vhu_mem m;
	mem_init(&m);
	uint8_t *table = host(0x10000);
	const char *why;
	/* head 2 -> 0 (readable 72) -> 1 (readable 16) -> 3 (writable 33 across regions) */
	put_desc(table, 2, 0x11000, 72, VRING_DESC_F_NEXT, 0);
	put_desc(table, 0, 0x12000, 16, VRING_DESC_F_NEXT, 1);
	put_desc(table, 1, 0x13000, 0, VRING_DESC_F_NEXT, 3); /* empty: dropped */
	put_desc(table, 3, 0x17ff0, 33, VRING_DESC_F_WRITE, 0);
	assert_int_equal(walk(&m, table, 8, 2, &why), 0);
	assert_int_equal(chain.n, 3);
	assert_int_equal(chain.n_rd, 2);
	assert_int_equal(chain.rd_len, 88);
	assert_int_equal(chain.wr_len, 33);

	memset(host(0x11000), 0xaa, 72);
	memset(host(0x12000), 0xbb, 16);
	uint8_t buf[88];
	assert_int_equal(vsm_vhu_chain_gather(&chain, vsm_vhu_map_gpa, &m, 70, buf, 4), 0);
	assert_memory_equal(buf, "\xaa\xaa\xbb\xbb", 4);
	assert_int_equal(vsm_vhu_chain_gather(&chain, vsm_vhu_map_gpa, &m, 80, buf, 9), -1);

	uint8_t out[32];
	memset(out, 0x5c, sizeof(out));
	assert_int_equal(vsm_vhu_chain_scatter(&chain, vsm_vhu_map_gpa, &m, out, 32), 0);
	assert_int_equal(vsm_vhu_chain_put_status(&chain, vsm_vhu_map_gpa, &m, 7), 0);
	/* 16 bytes before the region boundary, 17 after: the status is the 33rd. */
	assert_int_equal(host(0x17ff0)[0], 0x5c);
	assert_int_equal(host(0x18000)[15], 0x5c);
	assert_int_equal(host(0x18000)[16], 7);
	assert_int_equal(vsm_vhu_chain_scatter(&chain, vsm_vhu_map_gpa, &m, out, 34), -1);
}

static void test_chain_errors(void **state)
{
	(void)state;
	struct vsm_vhu_mem m;
	mem_init(&m);
	uint8_t *table = host(0x10000);
	const char *why;

	put_desc(table, 0, 0x11000, 16, VRING_DESC_F_NEXT, 1);
	put_desc(table, 1, 0x11000, 16, VRING_DESC_F_NEXT, 0); /* loop */
	assert_int_equal(walk(&m, table, 4, 0, &why), -1);
	assert_non_null(why);

	put_desc(table, 1, 0x11000, 16, VRING_DESC_F_NEXT, 4); /* next past the table */
	assert_int_equal(walk(&m, table, 4, 0, &why), -1);
	assert_int_equal(walk(&m, table, 4, 4, &why), -1); /* head past the table */

	put_desc(table, 0, 0x11000, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	put_desc(table, 1, 0x11000, 16, 0, 0); /* readable after writable */
	assert_int_equal(walk(&m, table, 4, 0, &why), -1);

	put_desc(table, 0, 0x1bff0, 0x11, VRING_DESC_F_WRITE, 0); /* runs into the hole */
	assert_int_equal(walk(&m, table, 4, 0, &why), -1);
	put_desc(table, 0, UINT64_MAX - 4, 16, VRING_DESC_F_WRITE, 0); /* wraps */
	assert_int_equal(walk(&m, table, 4, 0, &why), -1);
	put_desc(table, 0, 0x1bff0, 0x10, VRING_DESC_F_WRITE, 0); /* ends at the hole: fine */
	assert_int_equal(walk(&m, table, 4, 0, &why), 0);
	assert_int_equal(chain.wr_len, 16);

	/* A chain as long as the table is fine; the walk stops at num. */
	for (unsigned i = 0; i < 4; i++)
		put_desc(table, i, 0x11000, 1, i < 3 ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	assert_int_equal(walk(&m, table, 4, 0, &why), 0);
	assert_int_equal(chain.n, 4);
	/* No writable byte: the walk succeeds, put_status refuses. */
	assert_int_equal(vsm_vhu_chain_put_status(&chain, vsm_vhu_map_gpa, &m, 0), -1);
}

static void test_chain_indirect(void **state)
{
	(void)state;
	struct vsm_vhu_mem m;
	mem_init(&m);
	uint8_t *table = host(0x10000), *ind = host(0x40000);
	const char *why;
	put_desc(ind, 0, 0x11000, 72, VRING_DESC_F_NEXT, 1);
	put_desc(ind, 1, 0x12000, 16, VRING_DESC_F_NEXT, 2);
	put_desc(ind, 2, 0x13000, 1, VRING_DESC_F_WRITE, 0);
	put_desc(table, 0, 0x40000, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	assert_int_equal(walk(&m, table, 4, 0, &why), 0);
	assert_int_equal(chain.n, 3);
	assert_int_equal(chain.n_rd, 2);
	assert_int_equal(chain.wr_len, 1);

	put_desc(table, 0, 0x40000, 3 * 16 + 1, VRING_DESC_F_INDIRECT, 0); /* not whole entries */
	assert_int_equal(walk(&m, table, 4, 0, &why), -1);
	put_desc(table, 0, 0x43ff0, 32, VRING_DESC_F_INDIRECT, 0); /* table leaves memory */
	assert_int_equal(walk(&m, table, 4, 0, &why), -1);
	put_desc(table, 0, 0x40000, 48, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	assert_int_equal(walk(&m, table, 4, 0, &why), -1);
	put_desc(table, 0, 0x40000, 48, VRING_DESC_F_INDIRECT, 0);
	put_desc(ind, 1, 0x40000, 48, VRING_DESC_F_INDIRECT, 0); /* nested */
	assert_int_equal(walk(&m, table, 4, 0, &why), -1);
	put_desc(ind, 1, 0x12000, 16, VRING_DESC_F_NEXT, 3); /* next past the indirect table */
	assert_int_equal(walk(&m, table, 4, 0, &why), -1);
	put_desc(ind, 1, 0x12000, 16, VRING_DESC_F_NEXT, 0); /* loop inside */
	assert_int_equal(walk(&m, table, 4, 0, &why), -1);
}

static struct vsm_vhu_msg msg;

static int check(uint32_t req, uint32_t flags, uint32_t size, unsigned nfds)
{
	msg.req = req;
	msg.flags = flags;
	msg.size = size;
	msg.nfds = nfds;
	const char *why = NULL;
	int r = vsm_vhu_msg_check(&msg, &why);
	if (r)
		assert_non_null(why);
	return r;
}

static void test_msg_check(void **state)
{
	(void)state;
	memset(&msg, 0, sizeof(msg));
	assert_int_equal(check(VHU_GET_FEATURES, 1, 0, 0), 0);
	assert_int_equal(check(VHU_GET_FEATURES, 1 | VHU_FLAG_NEED_REPLY, 0, 0), 0);
	assert_int_equal(check(VHU_GET_FEATURES, 2, 0, 0), -1);			 /* version */
	assert_int_equal(check(VHU_GET_FEATURES, 1 | VHU_FLAG_REPLY, 0, 0), -1); /* a reply */
	assert_int_equal(check(VHU_GET_FEATURES, 1, 4, 0), -1);
	assert_int_equal(check(VHU_GET_FEATURES, 1, 0, 1), -1); /* stray fd */
	assert_int_equal(check(VHU_SET_FEATURES, 1, 8, 0), 0);
	assert_int_equal(check(VHU_SET_FEATURES, 1, 7, 0), -1);
	assert_int_equal(check(VHU_SET_VRING_ADDR, 1, 40, 0), 0);
	assert_int_equal(check(VHU_SET_VRING_ADDR, 1, 48, 0), -1);
	assert_int_equal(check(VHU_CREATE_CRYPTO_SESSION, 1, VSM_VHU_QEMU_SESSION_LEN, 0), 0);
	assert_int_equal(check(VHU_CREATE_CRYPTO_SESSION, 1, 631, 0), -1);
	assert_int_equal(check(999, 1, 0, 0), -1);
	assert_int_equal(check(VHU_GET_FEATURES, 1, VSM_VHU_MAX_PAYLOAD + 1, 0), -1);

	/* Kick: one fd, unless the no-fd bit is set. */
	uint64_t v = 3;
	memcpy(msg.payload, &v, 8);
	assert_int_equal(check(VHU_SET_VRING_KICK, 1, 8, 1), 0);
	assert_int_equal(check(VHU_SET_VRING_KICK, 1, 8, 0), -1);
	v = 3 | VHU_VRING_NOFD;
	memcpy(msg.payload, &v, 8);
	assert_int_equal(check(VHU_SET_VRING_KICK, 1, 8, 0), 0);
	assert_int_equal(check(VHU_SET_VRING_KICK, 1, 8, 1), -1);

	/* Memory table: 8 + 32 per region, one fd per region. */
	uint32_t n = 2;
	memcpy(msg.payload, &n, 4);
	assert_int_equal(check(VHU_SET_MEM_TABLE, 1, 8 + 64, 2), 0);
	assert_int_equal(check(VHU_SET_MEM_TABLE, 1, 8 + 64, 1), -1);
	assert_int_equal(check(VHU_SET_MEM_TABLE, 1, 8 + 32, 2), -1);
	n = 9;
	memcpy(msg.payload, &n, 4);
	assert_int_equal(check(VHU_SET_MEM_TABLE, 1, 8 + 9 * 32, 8), -1);
}

static void test_msg_memtab(void **state)
{
	(void)state;
	uint8_t p[8 + 64] = {0};
	uint64_t f[8] = {0x0, 0x1000, 0x7000, 0, 0x100000, 0x2000, 0x9000, 0x1000};
	p[0] = 2;
	memcpy(p + 8, f, sizeof(f));
	struct vsm_vhu_memreg r[VSM_VHU_MAX_REGIONS];
	unsigned n = 0;
	assert_int_equal(vsm_vhu_msg_memtab(p, sizeof(p), r, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(r[1].gpa, 0x100000);
	assert_int_equal(r[1].size, 0x2000);
	assert_int_equal(r[1].uva, 0x9000);
	assert_int_equal(r[1].mmap_offset, 0x1000);
	assert_int_equal(vsm_vhu_msg_memtab(p, sizeof(p) - 1, r, &n), -1);
	f[4] = 0x800; /* overlaps region 0 */
	memcpy(p + 8, f, sizeof(f));
	assert_int_equal(vsm_vhu_msg_memtab(p, sizeof(p), r, &n), -1);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void test_qemu_session(void **state)
{
	(void)state;
	uint8_t p[VSM_VHU_QEMU_SESSION_LEN] = {0}, key[VSM_VHU_QEMU_KEY_MAX];
	struct vsm_wire_session s;
	put32(p + 8, 3); /* VIRTIO_CRYPTO_CIPHER_AES_CBC */
	put32(p + 12, 16);
	p[32] = 1; /* VIRTIO_CRYPTO_SYM_OP_CIPHER */
	p[33] = 1;
	memset(p + 56, 0x42, 16);
	assert_int_equal(vsm_vhu_qemu_session_decode(p, sizeof(p), &s, key), VSM_S_OK);
	assert_int_equal(s.service, VSM_SVC_CIPHER);
	assert_int_equal(s.alg, VSM_ALG_AES_CBC);
	assert_int_equal(s.key_len, 16);
	assert_ptr_equal(s.key, key);
	assert_int_equal(key[15], 0x42);

	assert_int_equal(vsm_vhu_qemu_session_decode(p, sizeof(p) - 1, &s, key), VSM_S_BADMSG);
	put32(p + 12, 65);
	assert_int_equal(vsm_vhu_qemu_session_decode(p, sizeof(p), &s, key), VSM_S_BADMSG);
	put32(p + 12, 16);
	put32(p + 8, 5); /* DES-ECB */
	assert_int_equal(vsm_vhu_qemu_session_decode(p, sizeof(p), &s, key), VSM_S_NOTSUPP);
	put32(p + 8, 13); /* AES-XTS */
	assert_int_equal(vsm_vhu_qemu_session_decode(p, sizeof(p), &s, key), VSM_S_OK);
	assert_int_equal(s.alg, VSM_ALG_AES_XTS);
	p[32] = 2; /* algorithm chaining */
	assert_int_equal(vsm_vhu_qemu_session_decode(p, sizeof(p), &s, key), VSM_S_NOTSUPP);
}

static void test_qemu_session_v2(void **state)
{
	(void)state;
	uint8_t p[VSM_VHU_QEMU_SESSION_LEN_V2] = {0}, key[VSM_VHU_QEMU_KEY_MAX];
	struct vsm_wire_session s;
	/* QEMU 8.1+: op_code first; the sym part at the same offsets as before. */
	p[0] = VIRTIO_CRYPTO_CIPHER_CREATE_SESSION;
	put32(p + 8, 4); /* AES-CTR */
	put32(p + 12, 32);
	p[32] = 1;
	memset(p + 56, 0x24, 32);
	assert_int_equal(vsm_vhu_qemu_session_decode(p, sizeof(p), &s, key), VSM_S_OK);
	assert_int_equal(s.alg, VSM_ALG_AES_CTR);
	assert_int_equal(s.key_len, 32);

	memset(p, 0, sizeof(p));
	put32(p, VIRTIO_CRYPTO_AKCIPHER_CREATE_SESSION);
	put32(p + 8, VIRTIO_CRYPTO_AKCIPHER_RSA);
	put32(p + 12, VIRTIO_CRYPTO_AKCIPHER_KEY_TYPE_PRIVATE);
	put32(p + 16, 5);
	put32(p + 32, VIRTIO_CRYPTO_RSA_PKCS1_PADDING);
	put32(p + 36, VIRTIO_CRYPTO_RSA_SHA256);
	memcpy(p + 40, "\x30\x03\x02\x01\x00", 5);
	assert_int_equal(vsm_vhu_qemu_session_decode(p, sizeof(p), &s, key), VSM_S_OK);
	assert_int_equal(s.service, VSM_SVC_AKCIPHER);
	assert_int_equal(s.alg, VSM_ALG_RSA);
	assert_int_equal(s.padding, VSM_PAD_PKCS1);
	assert_int_equal(s.hash, VSM_ALG_SHA256);
	assert_int_equal(s.flags, VSM_SESSF_PREHASHED);
	assert_int_equal(s.key_len, 5);
	assert_memory_equal(key, "\x30\x03\x02\x01\x00", 5);

	put32(p + 16, VSM_VHU_QEMU_KEY_MAX + 1);
	assert_int_equal(vsm_vhu_qemu_session_decode(p, sizeof(p), &s, key), VSM_S_BADMSG);
	put32(p + 16, 5);
	put32(p + 12, 3); /* no such key type */
	assert_int_equal(vsm_vhu_qemu_session_decode(p, sizeof(p), &s, key), VSM_S_BADMSG);
	put32(p + 12, VIRTIO_CRYPTO_AKCIPHER_KEY_TYPE_PUBLIC);
	put32(p + 36, VIRTIO_CRYPTO_RSA_MD5);
	assert_int_equal(vsm_vhu_qemu_session_decode(p, sizeof(p), &s, key), VSM_S_NOTSUPP);
	put32(p + 36, VIRTIO_CRYPTO_RSA_SHA1);
	put32(p + 8, VIRTIO_CRYPTO_AKCIPHER_ECDSA);
	assert_int_equal(vsm_vhu_qemu_session_decode(p, sizeof(p), &s, key), VSM_S_NOTSUPP);
	put32(p, VIRTIO_CRYPTO_HASH_CREATE_SESSION);
	assert_int_equal(vsm_vhu_qemu_session_decode(p, sizeof(p), &s, key), VSM_S_NOTSUPP);

	memset(&msg, 0, sizeof(msg));
	assert_int_equal(check(VHU_CREATE_CRYPTO_SESSION, 1, VSM_VHU_QEMU_SESSION_LEN_V2, 0), 0);
	assert_int_equal(check(VHU_CREATE_CRYPTO_SESSION, 1, VSM_VHU_QEMU_SESSION_LEN_V2 - 8, 0),
			 -1);
}

/* A device on a socketpair, with a tenant, as the device thread runs it. */
struct rig {
	struct vsm_config conf;
	struct vsm_vhu_dev *d;
	int peer;
	int memfd;
	uint8_t *g; /* the guest memory, as the guest sees it */
};

#define RIG_MEM 0x10000u
#define RIG_UVA 0x7f0000000000ull

static int rig_setup(void **state)
{
	struct rig *r = calloc(1, sizeof(*r));
	char err[256];
	int sv[2];
	assert_non_null(r);
	vsm_config_defaults(&r->conf);
	assert_int_equal(vsm_config_load_string(&r->conf,
						"[vsmd]\nlog_level = error\n"
						"[tenant t]\nmax_sessions = 4\nmax_msg = 4096\n",
						err, sizeof(err)),
			 0);
	assert_int_equal(vsm_config_finish(&r->conf, err, sizeof(err)), 0);
	assert_int_equal(vsm_router_init(), 0);
	assert_int_equal(vsm_tenants_init(&r->conf), 0);
	const char *why;
	struct vsm_tenant *t = vsm_tenant_attach_name("t", &why);
	assert_non_null(t);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	r->d = vsm_vhu_dev_new(sv[0], t, "test");
	assert_non_null(r->d);
	r->peer = sv[1];
	r->memfd = memfd_create("guest", MFD_CLOEXEC);
	assert_true(r->memfd >= 0);
	assert_int_equal(ftruncate(r->memfd, RIG_MEM), 0);
	r->g = mmap(NULL, RIG_MEM, PROT_READ | PROT_WRITE, MAP_SHARED, r->memfd, 0);
	assert_true(r->g != MAP_FAILED);
	*state = r;
	return 0;
}

static int rig_teardown(void **state)
{
	struct rig *r = *state;
	vsm_vhu_dev_teardown(r->d);
	vsm_vhu_dev_free(r->d);
	close(r->peer);
	munmap(r->g, RIG_MEM);
	close(r->memfd);
	vsm_tenants_fini();
	vsm_router_fini();
	vsm_config_free(&r->conf);
	free(r);
	return 0;
}

/* Send one message through the device; returns what vsm_vhu_dev_message said. */
static bool rig_send(struct rig *r, uint32_t req, uint32_t flags, const void *p, uint32_t size,
		     int fd)
{
	struct vsm_vhu_msg *m = &r->d->msg;
	m->req = req;
	m->flags = flags;
	m->size = size;
	memcpy(m->payload, p, size);
	m->nfds = 0;
	if (fd >= 0)
		m->fds[m->nfds++] = dup(fd);
	return vsm_vhu_dev_message(r->d, m);
}

/* Read one reply; returns its payload size and copies the payload to out. */
static uint32_t rig_reply(struct rig *r, uint32_t req, uint8_t *out, size_t cap)
{
	uint32_t h[3];
	assert_int_equal(recv(r->peer, h, sizeof(h), MSG_DONTWAIT), sizeof(h));
	assert_int_equal(h[0], req);
	assert_int_equal(h[1], VHU_FLAG_VERSION | VHU_FLAG_REPLY);
	assert_true(h[2] <= cap);
	assert_int_equal(recv(r->peer, out, h[2], MSG_DONTWAIT), (ssize_t)h[2]);
	return h[2];
}

static int64_t get_i64(const uint8_t *p)
{
	int64_t v;
	memcpy(&v, p, 8);
	return v;
}

static void test_device_sessions(void **state)
{
	struct rig *r = *state;
	uint8_t p[VSM_VHU_QEMU_SESSION_LEN_V2] = {0}, out[VSM_VHU_QEMU_SESSION_LEN_V2];
	uint64_t v;

	/* QEMU 7.2 layout, AES-CBC: id 0, echoed at offset 0 in a same-size reply. */
	put32(p + 8, VIRTIO_CRYPTO_CIPHER_AES_CBC);
	put32(p + 12, 16);
	p[32] = VIRTIO_CRYPTO_SYM_OP_CIPHER;
	assert_true(rig_send(r, VHU_CREATE_CRYPTO_SESSION, 1, p, VSM_VHU_QEMU_SESSION_LEN, -1));
	assert_int_equal(rig_reply(r, VHU_CREATE_CRYPTO_SESSION, out, sizeof(out)),
			 VSM_VHU_QEMU_SESSION_LEN);
	assert_int_equal(get_i64(out), 0);
	assert_memory_equal(out + 8, p + 8, 24);

	/* QEMU 8.1 layout: the id goes in the last 8 bytes. */
	v = VIRTIO_CRYPTO_CIPHER_CREATE_SESSION;
	memcpy(p, &v, 8);
	assert_true(rig_send(r, VHU_CREATE_CRYPTO_SESSION, 1, p, sizeof(p), -1));
	assert_int_equal(rig_reply(r, VHU_CREATE_CRYPTO_SESSION, out, sizeof(out)), sizeof(p));
	assert_int_equal(get_i64(out + sizeof(p) - 8), 1);
	assert_int_equal(get_i64(out), VIRTIO_CRYPTO_CIPHER_CREATE_SESSION);

	/* Chaining is refused with a negative id. */
	p[32] = VIRTIO_CRYPTO_SYM_OP_ALGORITHM_CHAINING;
	assert_true(rig_send(r, VHU_CREATE_CRYPTO_SESSION, 1, p, VSM_VHU_QEMU_SESSION_LEN, -1));
	rig_reply(r, VHU_CREATE_CRYPTO_SESSION, out, sizeof(out));
	assert_int_equal(get_i64(out), -(int64_t)VSM_S_NOTSUPP);

	/* Close: no reply unless asked; an unknown id acks failure. */
	v = 0;
	assert_true(rig_send(r, VHU_CLOSE_CRYPTO_SESSION, 1, &v, 8, -1));
	assert_int_equal(recv(r->peer, out, 1, MSG_DONTWAIT), -1);
	assert_true(rig_send(r, VHU_CLOSE_CRYPTO_SESSION, 1 | VHU_FLAG_NEED_REPLY, &v, 8, -1));
	assert_int_equal(rig_reply(r, VHU_CLOSE_CRYPTO_SESSION, out, sizeof(out)), 8);
	assert_int_equal(get_i64(out), 1);

	/* vsm's message needs its protocol feature; with it, any service. */
	uint8_t ws[VSM_WIRE_SESSION_LEN];
	struct vsm_wire_session hs = {.service = VSM_SVC_HASH, .alg = VSM_ALG_SHA256};
	assert_int_equal(vsm_wire_encode_session(ws, sizeof(ws), &hs), sizeof(ws));
	assert_false(rig_send(r, VSM_VHOST_USER_CREATE_SESSION, 1, ws, sizeof(ws), -1));
	v = 1ull << VSM_VHOST_USER_PROTOCOL_F_VSM_SESSION;
	assert_true(rig_send(r, VHU_SET_PROTOCOL_FEATURES, 1, &v, 8, -1));
	assert_true(rig_send(r, VSM_VHOST_USER_CREATE_SESSION, 1, ws, sizeof(ws), -1));
	assert_int_equal(rig_reply(r, VSM_VHOST_USER_CREATE_SESSION, out, sizeof(out)), 8);
	assert_int_equal(get_i64(out), 0); /* the freed slot is reused */
	assert_true(rig_send(r, VSM_VHOST_USER_CREATE_SESSION, 1, ws, sizeof(ws) - 1, -1));
	rig_reply(r, VSM_VHOST_USER_CREATE_SESSION, out, sizeof(out));
	assert_int_equal(get_i64(out), -(int64_t)VSM_S_BADMSG);
	/* max_sessions = 4 per tenant: ids 0, 1 taken; two more, then NOSPC. */
	for (int i = 0; i < 3; i++) {
		assert_true(rig_send(r, VSM_VHOST_USER_CREATE_SESSION, 1, ws, sizeof(ws), -1));
		rig_reply(r, VSM_VHOST_USER_CREATE_SESSION, out, sizeof(out));
		assert_int_equal(get_i64(out), i < 2 ? 2 + i : -(int64_t)VSM_S_NOSPC);
	}
}

/* Ring layout in the rig's guest memory (gpa = offset). */
#define DESC  0x0000u
#define AVAIL 0x0400u
#define USED  0x0800u
#define QNUM  16u

static void rig_start_queue(struct rig *r)
{
	struct {
		uint32_t n, pad;
		uint64_t gpa, size, uva, off;
	} mt = {1, 0, 0, RIG_MEM, RIG_UVA, 0};
	uint32_t st[2] = {0, QNUM};
	uint32_t base[2] = {0, 0};
	struct {
		uint32_t index, flags;
		uint64_t desc, used, avail, log;
	} a = {0, 0, RIG_UVA + DESC, RIG_UVA + USED, RIG_UVA + AVAIL, 0};
	uint64_t q = 0;
	int efd = eventfd(0, EFD_CLOEXEC);
	assert_true(rig_send(r, VHU_SET_MEM_TABLE, 1, &mt, sizeof(mt), r->memfd));
	assert_true(rig_send(r, VHU_SET_VRING_NUM, 1, st, 8, -1));
	assert_true(rig_send(r, VHU_SET_VRING_ADDR, 1, &a, sizeof(a), -1));
	assert_true(rig_send(r, VHU_SET_VRING_BASE, 1, base, 8, -1));
	assert_true(rig_send(r, VHU_SET_VRING_KICK, 1, &q, 8, efd));
	close(efd);
}

static void put_req(struct rig *r, unsigned slot, unsigned first, uint32_t opcode, uint64_t sid,
		    uint32_t src_len, uint32_t dst_len, uint32_t wr_len)
{
	uint8_t *h = r->g + 0x1000 + 0x800 * slot;
	uint64_t hdr = 0x1000 + 0x800 * slot;
	memset(h, 0, 72);
	put32(h, opcode);
	memcpy(h + 8, &sid, 8);
	put32(h + 24, 16);
	put32(h + 28, src_len);
	put32(h + 32, dst_len);
	put32(h + 64, VIRTIO_CRYPTO_SYM_OP_CIPHER);
	memset(h + 0x100, 0x11, 16);	/* iv */
	memset(h + 0x200, 0x22, 0x100); /* src */
	memset(h + 0x400, 0xee, 0x200); /* dst and status */
	uint8_t *t = r->g + DESC;
	put_desc(t, first, hdr, 72, VRING_DESC_F_NEXT, (uint16_t)(first + 1));
	put_desc(t, first + 1, hdr + 0x100, 16, VRING_DESC_F_NEXT, (uint16_t)(first + 2));
	put_desc(t, first + 2, hdr + 0x200, src_len, VRING_DESC_F_NEXT, (uint16_t)(first + 3));
	put_desc(t, first + 3, hdr + 0x400, wr_len, VRING_DESC_F_WRITE, 0);
	uint16_t idx;
	memcpy(&idx, r->g + AVAIL + 2, 2);
	memcpy(r->g + AVAIL + 4 + 2 * (idx % QNUM), &(uint16_t){(uint16_t)first}, 2);
	idx++;
	memcpy(r->g + AVAIL + 2, &idx, 2);
}

static void test_device_ring(void **state)
{
	struct rig *r = *state;
	uint8_t p[VSM_VHU_QEMU_SESSION_LEN] = {0}, out[VSM_VHU_QEMU_SESSION_LEN];
	put32(p + 8, VIRTIO_CRYPTO_CIPHER_AES_CBC);
	put32(p + 12, 16);
	p[32] = VIRTIO_CRYPTO_SYM_OP_CIPHER;
	memset(p + 56, 0x42, 16);
	assert_true(rig_send(r, VHU_CREATE_CRYPTO_SESSION, 1, p, sizeof(p), -1));
	rig_reply(r, VHU_CREATE_CRYPTO_SESSION, out, sizeof(out));
	assert_int_equal(get_i64(out), 0);

	/* 1: 32 bytes into a 48-byte dst + status: only dst_len written. 2: bad session.
	 * 3: no room for the output: BADMSG, status only. */
	put_req(r, 0, 0, VIRTIO_CRYPTO_CIPHER_ENCRYPT, 0, 32, 32, 49);
	put_req(r, 1, 4, VIRTIO_CRYPTO_CIPHER_ENCRYPT, 3, 32, 32, 33);
	put_req(r, 2, 8, VIRTIO_CRYPTO_CIPHER_ENCRYPT, 0, 32, 32, 32);
	rig_start_queue(r); /* requests already waiting are served at start */

	uint8_t key[16], iv[16], src[32], ct[48];
	int n1 = 0, n2 = 0;
	memset(key, 0x42, 16);
	memset(iv, 0x11, 16);
	memset(src, 0x22, 32);
	EVP_CIPHER_CTX *cx = EVP_CIPHER_CTX_new();
	assert_int_equal(EVP_EncryptInit_ex(cx, EVP_aes_128_cbc(), NULL, key, iv), 1);
	EVP_CIPHER_CTX_set_padding(cx, 0);
	assert_int_equal(EVP_EncryptUpdate(cx, ct, &n1, src, 32), 1);
	assert_int_equal(EVP_EncryptFinal_ex(cx, ct + n1, &n2), 1);
	EVP_CIPHER_CTX_free(cx);

	uint8_t *dst = r->g + 0x1000 + 0x400;
	assert_memory_equal(dst, ct, 32);
	for (int i = 32; i < 48; i++)
		assert_int_equal(dst[i], 0xee); /* beyond dst_len: untouched */
	assert_int_equal(dst[48], VIRTIO_CRYPTO_OK);
	assert_int_equal(r->g[0x1800 + 0x400 + 32], VIRTIO_CRYPTO_INVSESS);
	assert_int_equal(r->g[0x1800 + 0x400], 0xee);
	assert_int_equal(r->g[0x2000 + 0x400 + 31], VIRTIO_CRYPTO_BADMSG);
	assert_int_equal(r->g[0x2000 + 0x400], 0xee);

	uint16_t used_idx;
	uint32_t e[2];
	memcpy(&used_idx, r->g + USED + 2, 2);
	assert_int_equal(used_idx, 3);
	memcpy(e, r->g + USED + 4, 8);
	assert_int_equal(e[0], 0);
	assert_int_equal(e[1], 33); /* 32 bytes of output and the status */
	memcpy(e, r->g + USED + 4 + 8, 8);
	assert_int_equal(e[0], 4);
	assert_int_equal(e[1], 1);
	uint16_t avail_event;
	memcpy(&avail_event, r->g + USED + 4 + 8 * QNUM, 2);
	assert_int_equal(avail_event, 3);

	/* A looping chain stops the queue: nothing more is consumed. */
	put_desc(r->g + DESC, 0, 0x1000, 72, VRING_DESC_F_NEXT, 0);
	uint16_t idx = 4;
	memcpy(r->g + AVAIL + 4 + 2 * 3, &(uint16_t){0}, 2);
	memcpy(r->g + AVAIL + 2, &idx, 2);
	vsm_vhu_vq_process(r->d, 0);
	memcpy(&used_idx, r->g + USED + 2, 2);
	assert_int_equal(used_idx, 3);
	assert_true(r->d->vq[0].broken);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mem_bounds),
		cmocka_unit_test(test_memtab_check),
		cmocka_unit_test(test_chain_direct),
		cmocka_unit_test(test_chain_errors),
		cmocka_unit_test(test_chain_indirect),
		cmocka_unit_test(test_msg_check),
		cmocka_unit_test(test_msg_memtab),
		cmocka_unit_test(test_qemu_session),
		cmocka_unit_test(test_qemu_session_v2),
		cmocka_unit_test_setup_teardown(test_device_sessions, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_device_ring, rig_setup, rig_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
