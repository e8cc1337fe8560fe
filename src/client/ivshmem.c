/* SPDX-License-Identifier: Apache-2.0 */
/*
 * "ivshmem:": libvsm inside a VM whose QEMU has an ivshmem-doorbell device
 * connected to a tenant's ivshmem socket on vsmd (docs/qemu.md). BAR2 of the
 * device is the tenant's region, exactly <vsm/shm.h>; BAR0 holds the
 * registers (0 IntrMask, 4 IntrStatus, 8 IVPosition, 12 Doorbell). Both are
 * reached through sysfs, so no kernel driver is needed: the device is only
 * enabled (memory decoding on) through its "enable" attribute.
 *
 * Requests go through shm.c's ring. vsmd is rung by writing
 * (vsmd_peer << 16) | 0 to the doorbell register, which QEMU turns into a
 * write to vsmd's eventfd. The other direction would be an MSI-X interrupt,
 * which a process cannot take without a driver, so completions are polled:
 * spin, then sched_yield, then sleeps growing to 1 ms. The client never sets
 * NEED_WAKEUP, so vsmd never spends a doorbell on it.
 *
 * There is no socket, hence no HELLO: the region header carries the tenant,
 * max_msg and the algorithms, and a STATUS request at connect time gives the
 * rest and proves that vsmd serves the region. A vsmd that goes away later
 * cannot be noticed from here: waits without a timeout then last forever.
 *
 * The region outlives processes (it lives as long as the VM), so a client
 * takes an exclusive flock on the device's register file, and a new client
 * first lets vsmd finish whatever a dead predecessor left in the rings.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <vsm/shm.h>
#include <vsm/vsm.h>

#include "client.h"
#include "shm_ring.h"

#define PCI_DEVICES	   "/sys/bus/pci/devices"
#define IVSHMEM_VENDOR	   0x1af4u
#define IVSHMEM_DEVICE	   0x1110u
#define REG_DOORBELL	   12u
#define REGS_MIN	   16u
#define CONNECT_TIMEOUT_MS 10000
#define YIELDS		   64
#define SLEEP_MIN_NS	   1000L
#define SLEEP_MAX_NS	   1000000L
#define PAUSE_NS	   50000L

struct ivshmem {
	struct vsm_shm ring; /* first: the ring code knows only this */
	uint8_t *regs_map;
	size_t regs_len;
	volatile uint32_t *doorbell;
	uint32_t ring_val; /* written to the doorbell to ring vsmd */
	int lock_fd;	   /* the register file, flock'ed */
};

static struct ivshmem *ivs_of(struct vsm_client *c)
{
	return (struct ivshmem *)c->shm;
}

/* ---- the port ---- */

static int ivs_kick(struct vsm_client *c)
{
	/* One 32-bit MMIO store; shm.c's fence already ordered the tail before it. */
	*ivs_of(c)->doorbell = ivs_of(c)->ring_val;
	return 0;
}

static void sleep_ns(long ns)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = ns};

	nanosleep(&ts, NULL);
}

static void ivs_wait_cq(struct vsm_client *c, int timeout_ms)
{
	struct vsm_shm *s = c->shm;
	uint64_t end =
		timeout_ms < 0 ? UINT64_MAX : vsm_shm_now_ns() + (uint64_t)timeout_ms * 1000000u;
	long ns = SLEEP_MIN_NS;
	int yields = 0;

	while (!vsm_shm_cq_ready(s) && vsm_shm_now_ns() < end) {
		if (yields < YIELDS) {
			yields++;
			sched_yield();
			continue;
		}
		sleep_ns(ns);
		ns = ns * 2 > SLEEP_MAX_NS ? SLEEP_MAX_NS : ns * 2;
	}
}

static void ivs_pause(struct vsm_client *c)
{
	sleep_ns(PAUSE_NS);
}

static void ivs_destroy(struct vsm_shm *s)
{
	struct ivshmem *v = (struct ivshmem *)s;

	if (v->regs_map)
		munmap(v->regs_map, v->regs_len);
	if (v->lock_fd >= 0)
		close(v->lock_fd); /* drops the flock */
	free(v);
}

static const struct vsm_shm_port ivshmem_port = {
	.kick = ivs_kick,
	.wait_cq = ivs_wait_cq,
	.pause = ivs_pause,
	.destroy = ivs_destroy,
};

/* ---- sysfs ---- */

/* The devices directory; tests point it at a fake one. */
static const char *pci_root(void)
{
	const char *r = secure_getenv("VSM_IVSHMEM_SYSFS");

	return r && *r ? r : PCI_DEVICES;
}

static int dev_path(char *buf, size_t cap, const char *dev, const char *attr)
{
	int n = snprintf(buf, cap, "%s/%s/%s", pci_root(), dev, attr);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* The first line of a small attribute file. */
static int read_attr(const char *dev, const char *attr, char *buf, size_t cap)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd, rc = dev_path(path, sizeof(path), dev, attr);

	if (rc)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap - 1);
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc)
		return rc;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int is_ivshmem(const char *dev)
{
	char v[32], d[32];

	return !read_attr(dev, "vendor", v, sizeof(v)) && !read_attr(dev, "device", d, sizeof(d)) &&
	       strtoul(v, NULL, 16) == IVSHMEM_VENDOR && strtoul(d, NULL, 16) == IVSHMEM_DEVICE;
}

/*
 * Memory decoding must be on for the BARs to answer. Firmware usually turns
 * it on; without a driver the kernel does not, so do what a driver's
 * pci_enable_device would, through sysfs (root only).
 */
static int enable(const char *dev)
{
	char path[PATH_MAX], v[16];
	int fd, rc = read_attr(dev, "enable", v, sizeof(v));

	if (rc || strcmp(v, "0"))
		return rc;
	rc = dev_path(path, sizeof(path), dev, "enable");
	if (rc)
		return rc;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = write(fd, "1", 1) == 1 ? 0 : -errno;
	close(fd);
	return rc;
}

/*
 * Where BAR0 starts inside its page: sysfs maps whole pages, and a BAR
 * smaller than a page need not start on one.
 */
static size_t bar0_page_off(const char *dev)
{
	char line[128];
	unsigned long long start;

	if (read_attr(dev, "resource", line, sizeof(line)) || sscanf(line, "%llx", &start) != 1)
		return 0;
	return (size_t)(start & (unsigned long long)(sysconf(_SC_PAGESIZE) - 1));
}

static int open_attr(const char *dev, const char *attr, int flags)
{
	char path[PATH_MAX];
	int fd, rc = dev_path(path, sizeof(path), dev, attr);

	if (rc)
		return rc;
	fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int map_regs(struct ivshmem *v, const char *dev)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), off = bar0_page_off(dev);
	struct stat st;

	v->lock_fd = open_attr(dev, "resource0", O_RDWR);
	if (v->lock_fd < 0)
		return v->lock_fd;
	/* One client per region: two would corrupt each other's rings. */
	if (flock(v->lock_fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EBUSY : -errno;
	if (fstat(v->lock_fd, &st) < 0)
		return -errno;
	if (st.st_size < (off_t)REGS_MIN)
		return -ENODEV;
	v->regs_len = (off + REGS_MIN + page - 1) & ~(page - 1);
	v->regs_map = mmap(NULL, v->regs_len, PROT_READ | PROT_WRITE, MAP_SHARED, v->lock_fd, 0);
	if (v->regs_map == MAP_FAILED) {
		v->regs_map = NULL;
		return -errno;
	}
	v->doorbell = (volatile uint32_t *)(v->regs_map + off + REG_DOORBELL);
	return 0;
}

/* BAR2, the region: a power of two at least as large as the region itself. */
static int map_region(struct vsm_shm *s, const char *dev)
{
	struct stat st;
	int fd = open_attr(dev, "resource2", O_RDWR), rc = 0;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (st.st_size < (off_t)VSM_SHM_HDR_SIZE || st.st_size > (off_t)VSM_SHM_MAX_REGION)
		rc = -EPROTO;
	if (!rc) {
		s->map_len = (size_t)st.st_size;
		s->map = mmap(NULL, s->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (s->map == MAP_FAILED) {
			s->map = NULL;
			rc = -errno;
		}
	}
	close(fd); /* the mapping keeps the BAR */
	return rc;
}

static int attach_dev(struct vsm_client *c, const char *dev)
{
	struct vsm_shm_want w = {.from_hdr = 1};
	struct ivshmem *v = calloc(1, sizeof(*v));
	uint32_t peer;
	int rc;

	if (!v)
		return -ENOMEM;
	v->ring.port = &ivshmem_port;
	v->lock_fd = -1;
	c->shm = &v->ring;
	rc = enable(dev);
	if (!rc)
		rc = map_regs(v, dev);
	if (!rc)
		rc = map_region(&v->ring, dev);
	if (!rc)
		rc = vsm_shm_ring_init(c, &v->ring, &w, 1);
	if (rc)
		return rc;
	/* Read once; QEMU peer ids are 16 bits. */
	peer = __atomic_load_n(&v->ring.hdr->vsmd_peer, __ATOMIC_RELAXED);
	if (peer > 0xffff)
		return -EPROTO;
	v->ring_val = peer << 16; /* vector 0 */
	return vsm_shm_settle(c, CONNECT_TIMEOUT_MS);
}

static int skip_dot(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

int vsm_ivshmem_attach(struct vsm_client *c, const char *addr)
{
	struct dirent **ents;
	int n, rc = -ENODEV;

	if (*addr)
		return is_ivshmem(addr) ? attach_dev(c, addr) : -ENODEV;
	/* The first device in address order whose region is vsm's. */
	n = scandir(pci_root(), &ents, skip_dot, alphasort);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		if (rc && is_ivshmem(ents[i]->d_name)) {
			vsm_shm_detach(c);
			rc = attach_dev(c, ents[i]->d_name);
		}
		free(ents[i]);
	}
	free(ents);
	return rc;
}

int vsm_ivshmem_probe(struct vsm_client *c)
{
	uint8_t resp[VSM_WIRE_STATUS_RESP_LEN];
	struct vsm_req r = {
		.op = VSM_MSG_STATUS,
		.out = resp,
		.out_cap = sizeof(resp),
		.sync = 1,
	};
	int64_t deadline = vsm_now_ms() + CONNECT_TIMEOUT_MS;
	struct vsm_wire_status st;
	struct vsm_slot *sl;
	int rc;

	if (!vsm_req_begin(c, &r, &rc))
		return rc;
	sl = &c->slots[vsm_req_commit(c, &r) % c->nslots];
	vsm_shm_flush(c);
	while (sl->state == VSM_SLOT_WAIT && !c->dead) {
		int64_t left = deadline - vsm_now_ms();

		if (left <= 0)
			return -ETIMEDOUT; /* vsmd is not serving the region */
		vsm_shm_read(c, (int)left);
	}
	rc = sl->status;
	sl->state = VSM_SLOT_FREE;
	c->inflight--;
	if (rc)
		return rc;
	if (vsm_wire_decode_status(resp, sl->out_len, &st) != VSM_S_OK ||
	    memcmp(st.tenant, c->info.tenant, sizeof(st.tenant)))
		return -EPROTO;
	c->info.max_sessions = st.max_sessions;
	/* Nothing is outstanding, so the slot table may shrink to the tenant's limit. */
	if (st.max_inflight && st.max_inflight < c->nslots)
		c->nslots = c->info.max_inflight = st.max_inflight;
	return 0;
}
