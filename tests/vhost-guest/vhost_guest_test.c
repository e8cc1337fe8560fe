/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vhost-user guest test program: runs inside a VM whose virtio-crypto
 * device is served by vsmd (QEMU -object cryptodev-vhost-user), statically
 * linked, no OpenSSL there. It uses only the guest kernel's unmodified
 * virtio_crypto driver, through AF_ALG, so everything it checks went
 * guest kernel -> virtqueue -> vsmd -> engine and back.
 *
 *   check DIR   /proc/crypto lists cbc(aes) as virtio_crypto_aes_cbc with its
 *               self-test passed; then, on every online CPU at once (one
 *               process pinned to each), AES-CBC with 16/24/32-byte keys on
 *               64 B and 64 KiB must give the ciphertexts the host's OpenSSL
 *               computed (DIR/key-K, DIR/iv, DIR/pt-N, DIR/ct-K-N, made by
 *               build-initramfs.sh) and decrypt back, and each request must
 *               raise the device's interrupt count (no software fallback).
 *   bench       AES-256-CBC 4 KiB and 64 KiB through the device, and through
 *               the kernel's generic C code for comparison.
 *
 * Output, one line each, parsed by run-vhost-guest.sh:
 *   VHOST-GUEST: PASS <name>
 *   VHOST-GUEST: FAIL <name>: <why>
 *   VHOST-GUEST: BENCH <driver> <bytes> B: <ops/s> ops/s <MiB/s> MiB/s
 *   VHOST-GUEST: DONE failures=<n> device_ops=<cipher requests the device completed>
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_alg.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SOL_ALG
#define SOL_ALG 279
#endif

#define TAG		 "VHOST-GUEST: "
#define DRIVER		 "virtio_crypto_aes_cbc"
#define SOFT_DRIVER	 "cbc(aes-generic)"
#define VIRTIO_ID_CRYPTO 20
#define IV_LEN		 16
#define MAX_LEN		 65536
#define REGISTER_WAIT_S	 30

static unsigned failures;
static char crypto_dev[32]; /* "virtioN": the name its interrupts carry */

__attribute__((format(printf, 2, 3))) static void fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf(TAG "FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failures++;
}

static void pass(const char *name)
{
	printf(TAG "PASS %s\n", name);
}

static size_t slurp(const char *dir, const char *file, unsigned char *buf, size_t cap)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		printf(TAG "FAIL read %s: %s\n", path, strerror(errno));
		exit(2);
	}
	n = read(fd, buf, cap);
	close(fd);
	if (n <= 0) {
		printf(TAG "FAIL read %s: %s\n", path, n < 0 ? strerror(errno) : "empty");
		exit(2);
	}
	return (size_t)n;
}

/* ---- the device and its interrupts ---- */

/* The virtio device whose id is crypto's, e.g. "virtio0". */
static int find_crypto_dev(void)
{
	for (int i = 0; i < 16; i++) {
		char path[64], id[16] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/sys/bus/virtio/devices/virtio%d/device", i);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(id, sizeof(id), f) && strtol(id, NULL, 0) == VIRTIO_ID_CRYPTO)
			snprintf(crypto_dev, sizeof(crypto_dev), "virtio%d", i);
		fclose(f);
		if (crypto_dev[0])
			return 0;
	}
	return -1;
}

/* Is this /proc/interrupts handler name one of the device's request interrupts? */
static bool is_request_irq(const char *name)
{
	size_t n = strlen(crypto_dev);

	if (strncmp(name, crypto_dev, n))
		return false;
	/*
	 * "virtioN": the one INTx line (vectors=0). With MSI-X, "virtioN-dataq.K"
	 * (a vector per queue) or "virtioN-virtqueues" (one for all queues, when
	 * the device has fewer vectors than queues + 1, as with the default 2).
	 */
	return !name[n] || !strncmp(name + n, "-dataq", 6) || !strcmp(name + n, "-virtqueues");
}

/*
 * Interrupts taken for the crypto device's data queues, summed over CPUs.
 * A line is "IRQ: count per CPU, chip, type, handler names" where a shared
 * line lists several names separated by ", ".
 */
static long device_irqs(void)
{
	char line[1024];
	long sum = 0;
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':'), *tok, *save;
		long count = 0;
		bool ours = false;

		if (!p)
			continue;
		for (p++;;) {
			char *e;
			long v = strtol(p, &e, 10);

			if (e == p)
				break;
			count += v;
			p = e;
		}
		for (tok = strtok_r(p, " ,\n", &save); tok; tok = strtok_r(NULL, " ,\n", &save))
			ours = ours || is_request_irq(tok);
		if (ours)
			sum += count;
	}
	fclose(f);
	return sum;
}

/* ---- /proc/crypto ---- */

struct alg_entry {
	char name[64], driver[64], selftest[32];
};

static void field(const char *line, const char *key, char *out, size_t cap)
{
	size_t k = strlen(key);
	const char *v;

	if (strncmp(line, key, k) || (line[k] != ' ' && line[k] != ':'))
		return;
	v = strchr(line, ':');
	if (!v)
		return;
	v += 1 + strspn(v + 1, " ");
	snprintf(out, cap, "%.*s", (int)strcspn(v, "\n"), v);
}

/* The /proc/crypto entry of driver, if registered. */
static int find_alg(const char *driver, struct alg_entry *out)
{
	struct alg_entry e = {0};
	char line[256];
	int found = -1;
	FILE *f = fopen("/proc/crypto", "r");

	if (!f)
		return -1;
	while (found < 0) {
		char *l = fgets(line, sizeof(line), f);

		if (!l || line[0] == '\n') {
			if (!strcmp(e.driver, driver)) {
				*out = e;
				found = 0;
			}
			memset(&e, 0, sizeof(e));
			if (!l)
				break;
			continue;
		}
		field(line, "name", e.name, sizeof(e.name));
		field(line, "driver", e.driver, sizeof(e.driver));
		field(line, "selftest", e.selftest, sizeof(e.selftest));
	}
	fclose(f);
	return found;
}

/*
 * The driver registers its algorithms once the device is ready. The kernel
 * then runs its self-tests on them asynchronously; a bind() waits for them
 * and fails with ELIBBAD if they failed (the entry then stays "unknown").
 */
static void check_registered(void)
{
	const char *name = "proc-crypto";
	struct sockaddr_alg sa = {
		.salg_family = AF_ALG, .salg_type = "skcipher", .salg_name = DRIVER};
	struct alg_entry e = {0};
	int fd, rc;

	for (int i = 0; i < REGISTER_WAIT_S * 10 && find_alg(DRIVER, &e) < 0; i++)
		usleep(100 * 1000);
	if (!e.driver[0]) {
		fail(name, "no %s in /proc/crypto after %d s", DRIVER, REGISTER_WAIT_S);
		return;
	}
	if (strcmp(e.name, "cbc(aes)")) {
		fail(name, "%s implements '%s', not cbc(aes)", DRIVER, e.name);
		return;
	}
	fd = socket(AF_ALG, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	rc = fd < 0 ? -errno : bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	if (fd >= 0)
		close(fd);
	if (rc < 0) {
		fail(name, "bind(%s): %s%s", DRIVER, strerror(-rc),
		     rc == -ELIBBAD ? " (the kernel's self-test of the device failed)" : "");
		return;
	}
	if (find_alg(DRIVER, &e) < 0 || strcmp(e.selftest, "passed")) {
		fail(name, "%s selftest: '%s'", DRIVER, e.selftest);
		return;
	}
	pass(name);
}

/* ---- AF_ALG ---- */

struct alg {
	int tfm, op;
};

static int alg_open(struct alg *a, const char *driver, const void *key, size_t key_len,
		    const char *name)
{
	struct sockaddr_alg sa = {.salg_family = AF_ALG, .salg_type = "skcipher"};

	snprintf((char *)sa.salg_name, sizeof(sa.salg_name), "%s", driver);
	a->op = -1;
	a->tfm = socket(AF_ALG, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (a->tfm < 0) {
		fail(name, "socket(AF_ALG): %s", strerror(errno));
		return -1;
	}
	/* ELIBBAD here means the kernel's self-test of the driver failed. */
	if (bind(a->tfm, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fail(name, "bind(%s): %s%s", driver, strerror(errno),
		     errno == ELIBBAD ? " (driver failed its self-test)" : "");
		goto err;
	}
	/* setkey: the driver creates the device's encrypt and decrypt sessions. */
	if (setsockopt(a->tfm, SOL_ALG, ALG_SET_KEY, key, key_len) < 0) {
		fail(name, "ALG_SET_KEY (%zu bytes): %s", key_len, strerror(errno));
		goto err;
	}
	a->op = accept4(a->tfm, NULL, 0, SOCK_CLOEXEC);
	if (a->op < 0) {
		fail(name, "accept: %s", strerror(errno));
		goto err;
	}
	return 0;
err:
	close(a->tfm);
	return -1;
}

static void alg_close(struct alg *a)
{
	close(a->op);
	close(a->tfm);
}

/* One request: in (len bytes) under iv, result into out. */
static int alg_run(struct alg *a, int dir, const unsigned char *iv, const unsigned char *in,
		   size_t len, unsigned char *out)
{
	union {
		char buf[CMSG_SPACE(sizeof(uint32_t)) +
			 CMSG_SPACE(sizeof(struct af_alg_iv) + IV_LEN)];
		struct cmsghdr align;
	} c = {0};
	struct iovec iov = {.iov_base = (void *)in, .iov_len = len};
	struct msghdr m = {.msg_control = c.buf,
			   .msg_controllen = sizeof(c.buf),
			   .msg_iov = &iov,
			   .msg_iovlen = 1};
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	struct af_alg_iv *aiv;
	uint32_t op = (uint32_t)dir;
	size_t got = 0;

	h->cmsg_level = SOL_ALG;
	h->cmsg_type = ALG_SET_OP;
	h->cmsg_len = CMSG_LEN(sizeof(op));
	memcpy(CMSG_DATA(h), &op, sizeof(op));
	h = CMSG_NXTHDR(&m, h);
	h->cmsg_level = SOL_ALG;
	h->cmsg_type = ALG_SET_IV;
	h->cmsg_len = CMSG_LEN(sizeof(*aiv) + IV_LEN);
	aiv = (struct af_alg_iv *)CMSG_DATA(h);
	aiv->ivlen = IV_LEN;
	memcpy(aiv->iv, iv, IV_LEN);

	if (sendmsg(a->op, &m, 0) != (ssize_t)len)
		return -errno ?: -EIO;
	while (got < len) {
		ssize_t n = read(a->op, out + got, len - got);

		if (n <= 0)
			return n ? -errno : -EIO;
		got += (size_t)n;
	}
	return 0;
}

/* ---- check ---- */

static unsigned char *pt, *ct, *expect, *back;
static unsigned device_ops; /* requests the device completed successfully */

/* One key size and length through driver: encrypt, compare, decrypt, compare. */
static void check_vector(const char *dir, const char *driver, size_t key_len, size_t len,
			 unsigned cpu)
{
	unsigned char key[32], iv[IV_LEN];
	char name[96], file[32];
	struct alg a;
	bool device = !strcmp(driver, DRIVER);
	long irq0;
	int rc;

	snprintf(name, sizeof(name), "aes-%zu-cbc-%zuB[%s,cpu%u]", key_len * 8, len, driver, cpu);
	snprintf(file, sizeof(file), "key-%zu", key_len);
	if (slurp(dir, file, key, sizeof(key)) != key_len ||
	    slurp(dir, "iv", iv, IV_LEN) != IV_LEN) {
		fail(name, "bad key or iv file");
		return;
	}
	snprintf(file, sizeof(file), "pt-%zu", len);
	if (slurp(dir, file, pt, MAX_LEN) != len) {
		fail(name, "bad %s", file);
		return;
	}
	snprintf(file, sizeof(file), "ct-%zu-%zu", key_len, len);
	if (slurp(dir, file, expect, MAX_LEN) != len) {
		fail(name, "bad %s", file);
		return;
	}
	if (alg_open(&a, driver, key, key_len, name) < 0)
		return;

	irq0 = device_irqs();
	rc = alg_run(&a, ALG_OP_ENCRYPT, iv, pt, len, ct);
	if (rc < 0) {
		fail(name, "encrypt: %s", strerror(-rc));
		goto out;
	}
	device_ops += device;
	if (device && device_irqs() <= irq0) {
		fail(name, "encrypt: no interrupt from %s (software fallback?)", crypto_dev);
		goto out;
	}
	if (memcmp(ct, expect, len)) {
		fail(name, "ciphertext differs from the host's OpenSSL");
		goto out;
	}
	irq0 = device_irqs();
	rc = alg_run(&a, ALG_OP_DECRYPT, iv, expect, len, back);
	if (rc < 0) {
		fail(name, "decrypt: %s", strerror(-rc));
		goto out;
	}
	device_ops += device;
	if (device && device_irqs() <= irq0) {
		fail(name, "decrypt: no interrupt from %s (software fallback?)", crypto_dev);
		goto out;
	}
	if (memcmp(back, pt, len)) {
		fail(name, "decrypted text differs from the plaintext");
		goto out;
	}
	pass(name);
out:
	alg_close(&a);
}

static void check_cpu(const char *dir, unsigned cpu)
{
	static const size_t keys[] = {16, 24, 32}, lens[] = {64, MAX_LEN};

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
			check_vector(dir, DRIVER, keys[k], lens[l], cpu);
}

/*
 * One process per online CPU, pinned there, all at once: with several CPUs
 * the device sees requests from several of them in flight together. A child
 * reports its failures and device requests through a pipe.
 */
static void check_all_cpus(const char *dir)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	int p[2];

	if (n < 1)
		n = 1;
	if (pipe(p) < 0) {
		fail("pipe", "%s", strerror(errno));
		return;
	}
	for (long cpu = 0; cpu < n; cpu++) {
		pid_t pid = fork();

		if (pid < 0) {
			fail("fork", "%s", strerror(errno));
			break;
		}
		if (pid == 0) {
			cpu_set_t set;
			unsigned r[2];

			close(p[0]);
			failures = device_ops = 0;
			CPU_ZERO(&set);
			CPU_SET((int)cpu, &set);
			if (sched_setaffinity(0, sizeof(set), &set) < 0)
				fail("affinity", "cpu %ld: %s", cpu, strerror(errno));
			check_cpu(dir, (unsigned)cpu);
			r[0] = failures;
			r[1] = device_ops;
			_exit(write(p[1], r, sizeof(r)) == sizeof(r) ? 0 : 1);
		}
	}
	close(p[1]);
	for (long i = 0; i < n; i++) {
		unsigned r[2];

		if (read(p[0], r, sizeof(r)) != sizeof(r)) {
			fail("child", "a test process died");
			break;
		}
		failures += r[0];
		device_ops += r[1];
	}
	close(p[0]);
	while (wait(NULL) > 0)
		;
}

static int cmd_check(const char *dir)
{
	pt = malloc(MAX_LEN);
	ct = malloc(MAX_LEN);
	expect = malloc(MAX_LEN);
	back = malloc(MAX_LEN);
	if (!pt || !ct || !expect || !back)
		return 2;
	if (find_crypto_dev() < 0) {
		fail("device", "no virtio device with id %d (crypto)", VIRTIO_ID_CRYPTO);
	} else {
		printf(TAG "device %s\n", crypto_dev);
		check_registered();
		/* The vectors themselves, through the kernel's own C code. */
		check_vector(dir, SOFT_DRIVER, 32, 64, 0);
		fflush(stdout);
		check_all_cpus(dir);
	}
	printf(TAG "DONE failures=%u device_ops=%u\n", failures, device_ops);
	return failures ? 1 : 0;
}

/* ---- bench ---- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench(const char *driver, size_t len, double seconds)
{
	static const unsigned char key[32] = {1}, iv[IV_LEN] = {2};
	unsigned long n = 0;
	double t0, dt = 0;
	struct alg a;

	if (alg_open(&a, driver, key, sizeof(key), "bench") < 0)
		return;
	t0 = now();
	while (dt < seconds) {
		int rc = alg_run(&a, ALG_OP_ENCRYPT, iv, pt, len, ct);

		if (rc < 0) {
			fail("bench", "%s: %s", driver, strerror(-rc));
			alg_close(&a);
			return;
		}
		n++;
		dt = now() - t0;
	}
	printf(TAG "BENCH %s %zu B: %.0f ops/s %.2f MiB/s (%lu ops in %.2f s)\n", driver, len,
	       (double)n / dt, (double)n * (double)len / dt / 1048576.0, n, dt);
	alg_close(&a);
}

static int cmd_bench(void)
{
	pt = calloc(1, MAX_LEN);
	ct = malloc(MAX_LEN);
	if (!pt || !ct || find_crypto_dev() < 0)
		return 2;
	check_registered();
	for (int i = 0; i < 2; i++) {
		const char *driver = i ? SOFT_DRIVER : DRIVER;

		bench(driver, 4096, 3.0);
		bench(driver, MAX_LEN, 3.0);
	}
	printf(TAG "DONE failures=%u device_ops=0\n", failures);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "check"))
		return cmd_check(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "bench"))
		return cmd_bench();
	fprintf(stderr, "usage: vsm-vhost-guest-test check DIR | bench\n");
	return 2;
}
