/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host master key: 32 random bytes in a file only vsmd's user can read.
 * It wraps every tenant's storage key, so the database without it reveals
 * nothing, and losing it loses every key: back it up (docs/keystore.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/log.h"
#include "keystore/internal.h"

int ks_master_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 || errno != ENOENT;
}

static int read_all(int fd, uint8_t *buf, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = read(fd, buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/* The new file's directory entry must be durable too, or a crash could lose the key. */
static void sync_dir(const char *path)
{
	char copy[512];
	snprintf(copy, sizeof(copy), "%s", path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* 1 created, 0 someone else created it first, -1 error. */
static int create(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return 0;
		snprintf(err, errlen, "cannot create master key %s: %s", path, strerror(errno));
		return -1;
	}
	uint8_t key[KS_KEY_LEN];
	int ok = RAND_priv_bytes(key, sizeof(key)) == 1 && write_all(fd, key, sizeof(key)) == 0 &&
		 fsync(fd) == 0;
	OPENSSL_cleanse(key, sizeof(key));
	int saved = errno;
	close(fd);
	if (!ok) {
		/* A short or unsynced file would be refused next time; start over then. */
		unlink(path);
		snprintf(err, errlen, "cannot write master key %s: %s", path, strerror(saved));
		return -1;
	}
	sync_dir(path);
	log_info("created master key %s", path);
	return 1;
}

int ks_master_load(const char *path, bool may_create, uint8_t key[KS_KEY_LEN], char *err,
		   size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && may_create) {
		if (create(path, err, errlen) < 0)
			return -1;
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		snprintf(err, errlen, "cannot open master key %s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	int rc = -1;
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "cannot stat master key %s: %s", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "master key %s is not a regular file", path);
	} else if (st.st_mode & 077) {
		snprintf(err, errlen,
			 "master key %s has mode %04o: group and others must have no access "
			 "(chmod 600 %s)",
			 path, (unsigned)(st.st_mode & 07777), path);
	} else if (st.st_size != KS_KEY_LEN) {
		snprintf(err, errlen, "master key %s is %lld bytes, not %u: damaged or not a key",
			 path, (long long)st.st_size, KS_KEY_LEN);
	} else if (read_all(fd, key, KS_KEY_LEN) < 0) {
		snprintf(err, errlen, "cannot read master key %s", path);
	} else {
		rc = 0;
	}
	close(fd);
	if (rc)
		OPENSSL_cleanse(key, KS_KEY_LEN);
	return rc;
}
