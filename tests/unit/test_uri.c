/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libvsm URI parsing and socket addresses. vsock cannot loop back on most
 * build hosts, so this is where its addressing is checked.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <linux/vm_sockets.h>

#include <cmocka.h>

#include <vsm/vsm.h>

#include "client/uri.h"

static struct vsm_uri u;

static void test_unix(void **state)
{
	assert_int_equal(vsm_uri_parse("unix:/run/x.sock", &u), 0);
	assert_int_equal(u.kind, VSM_URI_UNIX);
	assert_string_equal(u.path, "/run/x.sock");
	assert_string_equal(vsm_uri_scheme(&u), "unix");

	/* A colon inside a path is part of the path. */
	assert_int_equal(vsm_uri_parse("unix:/tmp/a:b", &u), 0);
	assert_string_equal(u.path, "/tmp/a:b");

	assert_int_equal(vsm_uri_parse("unix:", &u), -EINVAL);
}

static void test_bare_path(void **state)
{
	assert_int_equal(vsm_uri_parse("/tmp/vsm.sock", &u), 0);
	assert_int_equal(u.kind, VSM_URI_UNIX);
	assert_string_equal(u.path, "/tmp/vsm.sock");

	assert_int_equal(vsm_uri_parse("vsm.sock", &u), 0);
	assert_string_equal(u.path, "vsm.sock");

	assert_int_equal(vsm_uri_parse("./foo:bar", &u), 0);
	assert_string_equal(u.path, "./foo:bar");

	assert_int_equal(vsm_uri_parse("", &u), -EINVAL);
	assert_int_equal(vsm_uri_parse(":x", &u), -EINVAL);
}

static void test_default_and_env(void **state)
{
	unsetenv("VSM_URI");
	assert_int_equal(vsm_uri_parse(NULL, &u), 0);
	assert_int_equal(u.kind, VSM_URI_UNIX);
	assert_string_equal(u.path, VSM_DEFAULT_SOCKET);

	setenv("VSM_URI", "tcp:10.0.0.5:7400", 1);
	assert_int_equal(vsm_uri_parse(NULL, &u), 0);
	assert_int_equal(u.kind, VSM_URI_TCP);
	assert_string_equal(u.host, "10.0.0.5");
	assert_int_equal(u.port, 7400);

	/* An empty $VSM_URI is the same as none. */
	setenv("VSM_URI", "", 1);
	assert_int_equal(vsm_uri_parse(NULL, &u), 0);
	assert_string_equal(u.path, VSM_DEFAULT_SOCKET);

	setenv("VSM_URI", "http://x", 1);
	assert_int_equal(vsm_uri_parse(NULL, &u), -EINVAL);
	unsetenv("VSM_URI");
}

static void test_tcp(void **state)
{
	assert_int_equal(vsm_uri_parse("tcp:vsm.example.org:443", &u), 0);
	assert_string_equal(u.host, "vsm.example.org");
	assert_int_equal(u.port, 443);
	assert_string_equal(vsm_uri_scheme(&u), "tcp");

	assert_int_equal(vsm_uri_parse("tcp:127.0.0.1:65535", &u), 0);
	assert_string_equal(u.host, "127.0.0.1");
	assert_int_equal(u.port, 65535);

	assert_int_equal(vsm_uri_parse("tcp:[::1]:7300", &u), 0);
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 7300);

	assert_int_equal(vsm_uri_parse("tcp:[2001:db8::5]", &u), 0);
	assert_string_equal(u.host, "2001:db8::5");
	assert_int_equal(u.port, VSM_DEFAULT_TCP_PORT);

	assert_int_equal(vsm_uri_parse("tcp:localhost", &u), 0);
	assert_int_equal(u.port, VSM_DEFAULT_TCP_PORT);
}

static void test_tcp_bad(void **state)
{
	static const char *const bad[] = {
		"tcp:",
		"tcp::80",
		"tcp:host:",
		"tcp:host:0",
		"tcp:host:65536",
		"tcp:host:-1",
		"tcp:host:+80",
		"tcp:host:80x",
		"tcp:host:0x50",
		"tcp:::1:80",
		"tcp:[::1",
		"tcp:[::1]80",
		"tcp:[]:80",
		"tcp:[nothex]:1",
		"tcp:ho st:80",
		"tcp:host/x:80",
		"tcp:host: 80",
		"tcp:[::1]:",
		"tcp:1.2.3.4:99999999999",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = vsm_uri_parse(bad[i], &u);

		if (rc != -EINVAL)
			fail_msg("%s: expected -EINVAL, got %d", bad[i], rc);
	}
}

static void test_vsock(void **state)
{
	assert_int_equal(vsm_uri_parse("vsock:3:7300", &u), 0);
	assert_int_equal(u.kind, VSM_URI_VSOCK);
	assert_int_equal(u.cid, 3);
	assert_int_equal(u.port, 7300);
	assert_string_equal(vsm_uri_scheme(&u), "vsock");

	assert_int_equal(vsm_uri_parse("vsock:host:1024", &u), 0);
	assert_int_equal(u.cid, VMADDR_CID_HOST);
	assert_int_equal(u.cid, 2);

	assert_int_equal(vsm_uri_parse("vsock:local:5", &u), 0);
	assert_int_equal(u.cid, 1);

	assert_int_equal(vsm_uri_parse("vsock:4294967294", &u), 0);
	assert_int_equal(u.cid, 4294967294u);
	assert_int_equal(u.port, VSM_DEFAULT_VSOCK_PORT);

	/* The wildcards are for bind(), not connect(). */
	assert_int_equal(vsm_uri_parse("vsock:4294967295:1", &u), -EINVAL);
	assert_int_equal(vsm_uri_parse("vsock:3:4294967295", &u), -EINVAL);
	assert_int_equal(vsm_uri_parse("vsock:", &u), -EINVAL);
	assert_int_equal(vsm_uri_parse("vsock:guest:1", &u), -EINVAL);
	assert_int_equal(vsm_uri_parse("vsock:-3:1", &u), -EINVAL);
	assert_int_equal(vsm_uri_parse("vsock:3:", &u), -EINVAL);
	assert_int_equal(vsm_uri_parse("vsock:3:1:2", &u), -EINVAL);
}

static void test_shm(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
	socklen_t len = 0;

	assert_int_equal(vsm_uri_parse("shm:/run/x.sock", &u), 0);
	assert_int_equal(u.kind, VSM_URI_SHM);
	assert_string_equal(u.path, "/run/x.sock");
	assert_string_equal(vsm_uri_scheme(&u), "shm");

	/* The region is set up over vsmd's unix socket, so the address is AF_UNIX. */
	assert_int_equal(vsm_uri_sockaddr(&u, &ss, &len), 0);
	assert_int_equal(sun->sun_family, AF_UNIX);
	assert_string_equal(sun->sun_path, "/run/x.sock");
	assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + strlen("/run/x.sock") + 1);

	/* "shm:" alone is the default socket. */
	assert_int_equal(vsm_uri_parse("shm:", &u), 0);
	assert_int_equal(u.kind, VSM_URI_SHM);
	assert_string_equal(u.path, VSM_DEFAULT_SOCKET);

	assert_int_equal(vsm_uri_parse("shm:rel/a:b", &u), 0);
	assert_int_equal(u.kind, VSM_URI_SHM);
	assert_string_equal(u.path, "rel/a:b");

	setenv("VSM_URI", "shm:/tmp/s.sock", 1);
	assert_int_equal(vsm_uri_parse(NULL, &u), 0);
	assert_int_equal(u.kind, VSM_URI_SHM);
	assert_string_equal(u.path, "/tmp/s.sock");
	unsetenv("VSM_URI");

	/* Without the colon it is a relative path, not the scheme. */
	assert_int_equal(vsm_uri_parse("shm", &u), 0);
	assert_int_equal(u.kind, VSM_URI_UNIX);
	assert_string_equal(u.path, "shm");

	assert_int_equal(vsm_uri_parse("SHM:/x", &u), -EINVAL);
	assert_int_equal(vsm_uri_parse("shmem:/x", &u), -EINVAL);
}

static void test_ivshmem(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;

	/* Alone: the first ivshmem device with a vsm region. */
	assert_int_equal(vsm_uri_parse("ivshmem:", &u), 0);
	assert_int_equal(u.kind, VSM_URI_IVSHMEM);
	assert_string_equal(u.path, "");
	assert_string_equal(vsm_uri_scheme(&u), "ivshmem");
	/* No socket at all. */
	assert_int_equal(vsm_uri_sockaddr(&u, &ss, &len), -EINVAL);

	assert_int_equal(vsm_uri_parse("ivshmem:0000:00:04.0", &u), 0);
	assert_int_equal(u.kind, VSM_URI_IVSHMEM);
	assert_string_equal(u.path, "0000:00:04.0");
	/* Short form: domain 0000; hex kept in sysfs's lower case. */
	assert_int_equal(vsm_uri_parse("ivshmem:0A:1f.7", &u), 0);
	assert_string_equal(u.path, "0000:0a:1f.7");
	assert_int_equal(vsm_uri_parse("ivshmem:10000:00:04.0", &u), -EINVAL);

	/* Only an address: never a path that could leave /sys/bus/pci/devices. */
	assert_int_equal(vsm_uri_parse("ivshmem:../../../dev/mem", &u), -EINVAL);
	assert_int_equal(vsm_uri_parse("ivshmem:0000:00:04.0/", &u), -EINVAL);
	assert_int_equal(vsm_uri_parse("ivshmem:0000:00:04.8", &u), -EINVAL);
	assert_int_equal(vsm_uri_parse("ivshmem:0000:00:4.0", &u), -EINVAL);
	assert_int_equal(vsm_uri_parse("ivshmem:00:04", &u), -EINVAL);
	assert_int_equal(vsm_uri_parse("ivshmem:0000-00:04.0", &u), -EINVAL);
	assert_int_equal(vsm_uri_parse("ivshmem:g000:00:04.0", &u), -EINVAL);
	assert_int_equal(u.kind, 0);

	setenv("VSM_URI", "ivshmem:", 1);
	assert_int_equal(vsm_uri_parse(NULL, &u), 0);
	assert_int_equal(u.kind, VSM_URI_IVSHMEM);
	unsetenv("VSM_URI");
}

static void test_shm_long_path(void **state)
{
	char *p = malloc(VSM_URI_PATH_MAX + 8);

	assert_non_null(p);
	memcpy(p, "shm:/", 5);
	memset(p + 5, 'a', VSM_URI_PATH_MAX);
	p[VSM_URI_PATH_MAX + 5] = '\0';
	assert_int_equal(vsm_uri_parse(p, &u), -ENAMETOOLONG);
	free(p);
}

static void test_unknown_scheme(void **state)
{
	assert_int_equal(vsm_uri_parse("foo:bar", &u), -EINVAL);
	assert_int_equal(vsm_uri_parse("UNIX:/x", &u), -EINVAL);
	assert_int_equal(vsm_uri_parse("udp:host:1", &u), -EINVAL);
}

static void test_sockaddr_unix(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
	char path[sizeof(sun->sun_path) + 1];
	socklen_t len = 0;

	assert_int_equal(vsm_uri_parse("unix:/run/vsm/vsmd.sock", &u), 0);
	assert_int_equal(vsm_uri_sockaddr(&u, &ss, &len), 0);
	assert_int_equal(sun->sun_family, AF_UNIX);
	assert_string_equal(sun->sun_path, "/run/vsm/vsmd.sock");
	assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + strlen(sun->sun_path) + 1);

	/* The longest path that still leaves room for the NUL fits... */
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[sizeof(sun->sun_path) - 1] = '\0';
	assert_int_equal(vsm_uri_parse(path, &u), 0);
	assert_int_equal(vsm_uri_sockaddr(&u, &ss, &len), 0);
	assert_int_equal(len, sizeof(struct sockaddr_un));

	/* ...one more byte does not. */
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[sizeof(sun->sun_path)] = '\0';
	assert_int_equal(vsm_uri_parse(path, &u), 0);
	assert_int_equal(vsm_uri_sockaddr(&u, &ss, &len), -ENAMETOOLONG);
}

static void test_long_path(void **state)
{
	char *p = malloc(VSM_URI_PATH_MAX + 8);

	assert_non_null(p);
	memset(p, 'a', VSM_URI_PATH_MAX + 7);
	p[0] = '/';
	p[VSM_URI_PATH_MAX + 7] = '\0';
	assert_int_equal(vsm_uri_parse(p, &u), -ENAMETOOLONG);
	free(p);
}

static void test_sockaddr_vsock(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_vm *svm = (struct sockaddr_vm *)&ss;
	socklen_t len = 0;

	assert_int_equal(vsm_uri_parse("vsock:host:7301", &u), 0);
	assert_int_equal(vsm_uri_sockaddr(&u, &ss, &len), 0);
	assert_int_equal(len, sizeof(struct sockaddr_vm));
	assert_int_equal(svm->svm_family, AF_VSOCK);
	assert_int_equal(svm->svm_cid, 2);
	assert_int_equal(svm->svm_port, 7301);
	assert_int_equal(svm->svm_reserved1, 0);

	assert_int_equal(vsm_uri_parse("tcp:127.0.0.1:1", &u), 0);
	assert_int_equal(vsm_uri_sockaddr(&u, &ss, &len), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unix),
		cmocka_unit_test(test_bare_path),
		cmocka_unit_test(test_default_and_env),
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_tcp_bad),
		cmocka_unit_test(test_vsock),
		cmocka_unit_test(test_shm),
		cmocka_unit_test(test_ivshmem),
		cmocka_unit_test(test_shm_long_path),
		cmocka_unit_test(test_unknown_scheme),
		cmocka_unit_test(test_sockaddr_unix),
		cmocka_unit_test(test_long_path),
		cmocka_unit_test(test_sockaddr_vsock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
