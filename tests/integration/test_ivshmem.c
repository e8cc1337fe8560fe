/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ivshmem: a tenant's region served to QEMU's ivshmem-doorbell device
 * (docs/qemu.md).
 *
 * fake-qemu: no VM. This process plays QEMU: it connects to the tenant's
 * ivshmem socket and reads the int64 messages and descriptors exactly as
 * hw/misc/ivshmem.c does, maps the region, and builds a fake sysfs PCI
 * device (vendor/device/enable files, resource0 = a register page it watches
 * for doorbell writes, resource2 = the region itself). The guest test client
 * (tests/guest/vsm_guest_test.c, the very binary that runs in the VM) then
 * runs its known answers through libvsm's "ivshmem:" transport against it.
 *
 * qemu: the real thing. tests/guest/run-ivshmem.sh boots Debian's kernel
 * under QEMU (TCG) with the client in an initramfs; skipped (77) when QEMU or
 * the kernel cannot be installed.
 *
 * Both check that vsmd counted the tenant's requests (query-tenants on the
 * control socket) exactly as many as the client made.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <vsm/shm.h>

#include "harness.h"

#define TENANT	    "vm1"
#define NO_REG	    0xffffffffu
#define CLIENT_MS   60000u
#define N_KAT_TESTS 9

struct env {
	struct vh_daemon d;
	char dir[64];	/* ivshmem socket and fake sysfs */
	char sock[100]; /* the tenant's ivshmem socket */
};

/* Our own directory (socket, fake sysfs, client output); vh_cleanup knows only its own. */
static char our_dir[64];

static void remove_our_dir(void)
{
	char cmd[96];

	if (!our_dir[0] || getenv("VSM_INTEG_KEEP"))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", our_dir);
	if (system(cmd) == 0)
		our_dir[0] = 0;
}

static void start(struct env *e)
{
	char sections[256];

	snprintf(e->dir, sizeof(e->dir), "/tmp/vsm-ivs-XXXXXX");
	VH_CHECK(mkdtemp(e->dir), "mkdtemp: %s", strerror(errno));
	memcpy(our_dir, e->dir, sizeof(our_dir));
	snprintf(e->sock, sizeof(e->sock), "%s/%s.ivshmem", e->dir, TENANT);
	snprintf(sections, sizeof(sections), "[tenant %s]\nivshmem_socket = %s\n", TENANT, e->sock);
	vh_start(&e->d, &(struct vh_opts){.sections = sections});
	struct stat st;
	VH_CHECK(stat(e->sock, &st) == 0 && S_ISSOCK(st.st_mode), "no ivshmem socket %s", e->sock);
}

static void finish(struct env *e)
{
	vh_stop(&e->d);
	vh_cleanup(&e->d);
	remove_our_dir();
	VH_CHECK(!our_dir[0], "could not remove %s", e->dir);
}

/* ---- vsmd's count of the tenant's requests ---- */

static char *read_line(int fd)
{
	static char buf[65536];
	size_t n = 0;

	while (n < sizeof(buf) - 1) {
		ssize_t r = read(fd, buf + n, 1);
		VH_CHECK(r == 1, "control socket: read %zd: %s", r, strerror(errno));
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = 0;
	return buf;
}

static long long tenant_ops(const struct env *e)
{
	static const char q[] = "{\"execute\":\"query-tenants\"}\n";
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	long long ops = -1;
	json_error_t err;
	size_t i;
	json_t *r, *t;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/control.sock", e->d.dir);
	VH_CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0,
		 "control socket: %s", strerror(errno));
	read_line(fd); /* greeting */
	VH_CHECK(write(fd, q, sizeof(q) - 1) == (ssize_t)sizeof(q) - 1, "control write");
	r = json_loads(read_line(fd), 0, &err);
	VH_CHECK(r, "control: bad JSON: %s", err.text);
	json_array_foreach(json_object_get(r, "return"), i, t)
	{
		if (!strcmp(json_string_value(json_object_get(t, "name")) ?: "", TENANT))
			ops = json_integer_value(json_object_get(t, "ops"));
	}
	json_decref(r);
	close(fd);
	VH_CHECK(ops >= 0, "tenant %s not in query-tenants", TENANT);
	return ops;
}

/* ---- running the guest client ---- */

struct run {
	const char *argv[4];
	const char *envv[4];
	char out[160];
};

static void exec_child(void *arg)
{
	struct run *r = arg;
	int fd = open(r->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(126);
	for (int i = 0; r->envv[i]; i++)
		putenv((char *)r->envv[i]);
	execv(r->argv[0], (char *const *)r->argv);
	_exit(127);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	VH_CHECK(f, "open %s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	VH_CHECK(buf && fread(buf, 1, (size_t)n, f) == (size_t)n, "read %s", path);
	fclose(f);
	return buf;
}

static int run(struct run *r, unsigned timeout_ms, char **out)
{
	int rc = vh_child_wait(vh_fork(exec_child, r), timeout_ms);

	*out = slurp(r->out);
	printf("---- %s (exit %d) ----\n%s", r->argv[0], rc, *out);
	return rc;
}

static unsigned count(const char *s, const char *needle)
{
	unsigned n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* A full, passing run of the client: every test passed; returns its request count. */
static long long check_pass(const char *out)
{
	const char *done = strstr(out, "IVSHMEM-TEST: DONE failures=0 ops=");

	VH_CHECK(!strstr(out, "IVSHMEM-TEST: FAIL"), "a test failed");
	VH_EQ(count(out, "IVSHMEM-TEST: PASS "), N_KAT_TESTS);
	VH_CHECK(done, "no 'DONE failures=0'");
	VH_CHECK(strstr(out, "tenant=" TENANT " "), "client is not in tenant " TENANT);
	return atoll(done + strlen("IVSHMEM-TEST: DONE failures=0 ops="));
}

static const char *guest_test(void)
{
	const char *p = getenv("VSM_GUEST_TEST");

	VH_CHECK(p && *p, "VSM_GUEST_TEST is not set (run through meson)");
	return p;
}

/* ---- fake QEMU ---- */

struct fake {
	int sock;
	int64_t own_id;
	int memfd, vsmd_efd, own_efd;
	size_t size;
	uint8_t *map;
	volatile uint32_t *reg; /* the fake register page, as uint32 words */
	atomic_bool stop;
	atomic_uint kicks, bad_kicks;
	pthread_t thr;
};

/* One message as QEMU reads it: an int64, and a descriptor or -1. */
static int64_t recv_msg(int fd, int *got_fd)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 4)];
	} ctl;
	int64_t v = 0;
	struct iovec iov = {.iov_base = &v, .iov_len = sizeof(v)};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = ctl.b,
			   .msg_controllen = sizeof(ctl.b)};
	struct pollfd p = {.fd = fd, .events = POLLIN};
	ssize_t n;

	VH_CHECK(poll(&p, 1, 10000) == 1, "no ivshmem message within 10 s");
	n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	VH_CHECK(n == (ssize_t)sizeof(v), "ivshmem message: %zd bytes (%s)", n, strerror(errno));
	VH_CHECK(!(m.msg_flags & MSG_CTRUNC), "control data truncated");
	*got_fd = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		VH_CHECK(c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS, "odd cmsg");
		VH_EQ(c->cmsg_len, CMSG_LEN(sizeof(int)));
		VH_EQ(*got_fd, -1); /* QEMU takes one descriptor per message */
		memcpy(got_fd, CMSG_DATA(c), sizeof(int));
	}
	return v;
}

static int connect_sock(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	VH_CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect %s: %s",
		 path, strerror(errno));
	return fd;
}

/* hw/misc/ivshmem.c: ivshmem_recv_setup, then the peers' vectors. */
static void fake_attach(struct fake *f, const char *path)
{
	struct vsm_shm_hdr h;
	struct stat st;
	int fd;

	f->sock = connect_sock(path);
	VH_EQ(recv_msg(f->sock, &fd), 0); /* IVSHMEM_PROTOCOL_VERSION */
	VH_EQ(fd, -1);
	f->own_id = recv_msg(f->sock, &fd);
	VH_EQ(fd, -1);
	VH_CHECK(f->own_id >= 0 && f->own_id <= 0xffff, "own id %lld", (long long)f->own_id);
	VH_EQ(recv_msg(f->sock, &f->memfd), -1);
	VH_CHECK(f->memfd >= 0, "shared memory message without a descriptor");
	VH_CHECK(fstat(f->memfd, &st) == 0, "fstat: %s", strerror(errno));
	f->size = (size_t)st.st_size;
	VH_CHECK(f->size >= VSM_SHM_HDR_SIZE, "region of %zu bytes", f->size);
	f->map = mmap(NULL, f->size, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd, 0);
	VH_CHECK(f->map != MAP_FAILED, "mmap region: %s", strerror(errno));
	memcpy(&h, f->map, sizeof(h));
	VH_EQ(h.magic, VSM_SHM_MAGIC);
	VH_CHECK(h.region_size <= f->size, "region_size %u > %zu", h.region_size, f->size);
	VH_CHECK(!strcmp(h.tenant, TENANT), "header tenant '%.32s'", h.tenant);
	/* vsmd's vector 0, then our own. */
	VH_EQ(recv_msg(f->sock, &f->vsmd_efd), h.vsmd_peer);
	VH_CHECK(f->vsmd_efd >= 0, "vsmd's vector without an eventfd");
	VH_EQ(recv_msg(f->sock, &f->own_efd), f->own_id);
	VH_CHECK(f->own_efd >= 0, "own vector without an eventfd");
	printf("fake qemu: id %lld, region %zu bytes (header says %u), vsmd peer %u\n",
	       (long long)f->own_id, f->size, h.region_size, h.vsmd_peer);
}

static void fake_detach(struct fake *f)
{
	munmap(f->map, f->size);
	close(f->memfd);
	close(f->vsmd_efd);
	close(f->own_efd);
	close(f->sock);
}

/* QEMU's doorbell write handler: value (peer << 16) | vector rings that peer's eventfd. */
static void *doorbell_thread(void *arg)
{
	struct fake *f = arg;
	uint32_t want = ((struct vsm_shm_hdr *)f->map)->vsmd_peer << 16;
	uint64_t one = 1;

	while (!atomic_load(&f->stop)) {
		uint32_t v = __atomic_exchange_n(&f->reg[3], NO_REG, __ATOMIC_SEQ_CST);

		if (v == NO_REG) {
			usleep(50);
			continue;
		}
		if (v != want) {
			atomic_fetch_add(&f->bad_kicks, 1);
			continue;
		}
		atomic_fetch_add(&f->kicks, 1);
		VH_CHECK(write(f->vsmd_efd, &one, sizeof(one)) == sizeof(one), "eventfd write");
	}
	return NULL;
}

static void put_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	VH_CHECK(fp && fputs(text, fp) >= 0 && fclose(fp) == 0, "write %s", path);
}

/* A PCI device directory as sysfs has it, enough for libvsm. */
static void fake_device(const char *sys, const char *addr, const char *device, struct fake *f)
{
	char dir[200], path[256], target[64];
	int fd;

	snprintf(dir, sizeof(dir), "%s/%s", sys, addr);
	VH_CHECK(mkdir(dir, 0755) == 0, "mkdir %s: %s", dir, strerror(errno));
	put_file(dir, "vendor", "0x1af4\n");
	put_file(dir, "device", device);
	if (!f)
		return;
	put_file(dir, "enable", "0\n");
	put_file(dir, "resource", "0x00000000febf1000 0x00000000febf10ff 0x0000000000040200\n");
	snprintf(path, sizeof(path), "%s/resource0", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	VH_CHECK(fd >= 0 && ftruncate(fd, 4096) == 0, "resource0: %s", strerror(errno));
	f->reg = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	VH_CHECK(f->reg != MAP_FAILED, "mmap resource0");
	close(fd);
	f->reg[2] = (uint32_t)f->own_id; /* IVPosition */
	f->reg[3] = NO_REG;
	snprintf(path, sizeof(path), "%s/resource2", dir);
	snprintf(target, sizeof(target), "/proc/%d/fd/%d", (int)getpid(), f->memfd);
	VH_CHECK(symlink(target, path) == 0, "symlink: %s", strerror(errno));
}

static int t_fake_qemu(void)
{
	struct env e;
	struct fake f = {0};
	char sys[128], env_sys[160], *out;
	long long ops = 0;
	int fd;

	start(&e);
	fake_attach(&f, e.sock);

	/* One QEMU per tenant socket: a second one gets no region. */
	fd = connect_sock(e.sock);
	{
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char b[8];
		VH_EQ(poll(&p, 1, 5000), 1);
		VH_EQ(recv(fd, b, sizeof(b), MSG_DONTWAIT), 0);
	}
	close(fd);

	/* A virtio device that is not ivshmem sorts first: auto-detection skips it. */
	snprintf(sys, sizeof(sys), "%s/sys", e.dir);
	VH_CHECK(mkdir(sys, 0755) == 0, "mkdir %s", sys);
	fake_device(sys, "0000:00:03.0", "0x1000\n", NULL);
	fake_device(sys, "0000:00:04.0", "0x1110\n", &f);
	VH_CHECK(pthread_create(&f.thr, NULL, doorbell_thread, &f) == 0, "pthread_create");
	snprintf(env_sys, sizeof(env_sys), "VSM_IVSHMEM_SYSFS=%s", sys);

	struct run r = {.argv = {guest_test(), "ivshmem:", NULL}, .envv = {env_sys, NULL}};
	snprintf(r.out, sizeof(r.out), "%s/client.out", e.dir);
	VH_EQ(run(&r, CLIENT_MS, &out), 0);
	ops += check_pass(out);
	free(out);
	{
		char en[8] = {0};
		char path[200];
		snprintf(path, sizeof(path), "%s/0000:00:04.0/enable", sys);
		int efd = open(path, O_RDONLY | O_CLOEXEC);
		VH_CHECK(efd >= 0 && read(efd, en, sizeof(en) - 1) > 0, "read enable");
		close(efd);
		VH_CHECK(en[0] == '1', "libvsm did not enable the device ('%s')", en);
	}

	/* The region outlives the process: a second client, by address, starts where it ended. */
	r.argv[1] = "ivshmem:00:04.0";
	VH_EQ(run(&r, CLIENT_MS, &out), 0);
	ops += check_pass(out);
	free(out);

	/* One client per region: a held lock on the register file means EBUSY. */
	{
		char path[200];
		snprintf(path, sizeof(path), "%s/0000:00:04.0/resource0", sys);
		int lfd = open(path, O_RDWR | O_CLOEXEC);
		VH_CHECK(lfd >= 0 && flock(lfd, LOCK_EX) == 0, "flock: %s", strerror(errno));
		r.argv[1] = "ivshmem:";
		VH_EQ(run(&r, CLIENT_MS, &out), 1);
		VH_CHECK(strstr(out, "FAIL connect") && strstr(out, "busy"), "want EBUSY");
		free(out);
		close(lfd);
	}
	/* No such device. */
	r.argv[1] = "ivshmem:0000:00:05.0";
	VH_EQ(run(&r, CLIENT_MS, &out), 1);
	VH_CHECK(strstr(out, "FAIL connect"), "connect to a missing device succeeded");
	free(out);

	atomic_store(&f.stop, true);
	pthread_join(f.thr, NULL);
	printf("doorbell: %u kicks, %u bad; vsmd counted %lld ops, the client %lld\n",
	       atomic_load(&f.kicks), atomic_load(&f.bad_kicks), tenant_ops(&e), ops);
	VH_EQ(atomic_load(&f.bad_kicks), 0);
	VH_EQ(tenant_ops(&e), ops);

	/* QEMU goes away: vsmd frees the binding, and the next QEMU gets a fresh region. */
	munmap((void *)f.reg, 4096);
	fake_detach(&f);
	for (int i = 0;; i++) {
		struct fake g = {0};
		int probe = connect_sock(e.sock);
		struct pollfd p = {.fd = probe, .events = POLLIN};
		char b[8];
		VH_EQ(poll(&p, 1, 5000), 1);
		if (recv(probe, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT) == 0) {
			/* still bound: the old connection is being torn down */
			close(probe);
			VH_CHECK(i < 100, "tenant still bound 5 s after QEMU left");
			usleep(50000);
			continue;
		}
		close(probe); /* it was handed a region: let vsmd drop it, then attach for real */
		usleep(100000);
		fake_attach(&g, e.sock);
		fake_detach(&g);
		break;
	}
	finish(&e);
	return 0;
}

/* ---- real QEMU ---- */

static int t_qemu(void)
{
	const char *gdir = getenv("VSM_GUEST_DIR");
	char script[256], cache[300], *out;
	struct env e;
	int rc;

	VH_CHECK(gdir && *gdir, "VSM_GUEST_DIR is not set (run through meson)");
	snprintf(script, sizeof(script), "%s/run-ivshmem.sh", gdir);
	snprintf(cache, sizeof(cache), "VSM_GUEST_CACHE=%s",
		 getenv("VSM_GUEST_CACHE") ?: "/tmp/vsm-guest-cache");
	start(&e);
	char client[300];
	snprintf(client, sizeof(client), "VSM_GUEST_TEST=%s", guest_test());
	struct run r = {.argv = {script, e.sock, NULL}, .envv = {cache, client, NULL}};
	snprintf(r.out, sizeof(r.out), "%s/qemu.out", e.dir);
	rc = run(&r, 220000, &out);
	if (rc == VH_SKIP) {
		printf("SKIP: QEMU or the guest kernel is not available (see above)\n");
		free(out);
		finish(&e);
		return VH_SKIP;
	}
	/* vh_fail cannot remove our directory: do it before failing. */
	if (rc != 0 || !strstr(out, "IVSHMEM-TEST: DONE failures=0"))
		remove_our_dir();
	VH_EQ(rc, 0);
	long long ops = check_pass(out);
	free(out);
	VH_EQ(tenant_ops(&e), ops);
	finish(&e);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct vh_case cases[] = {
		{"fake-qemu", t_fake_qemu, 60},
		{"qemu", t_qemu, 235},
	};

	signal(SIGPIPE, SIG_IGN);
	return vh_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
