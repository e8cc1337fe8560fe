/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nginx serving HTTPS with its private keys in vsmd (docs/nginx.md): the vsm
 * provider comes from an openssl.cnf named by OPENSSL_CONF, the keys are
 * key-reference files given to ssl_certificate_key, and the master loads them
 * before it forks two workers, which must reconnect to vsmd on their own.
 * curl (default provider) makes the requests; nginx must stop cleanly.
 *
 * Skips (77) only when nginx is not installed.
 */
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prov.h"

#define REQUESTS 24

/*
 * offload: the keys are ordinary PEM files and every private-key operation
 * prefers vsm (default_properties), which imports the key into a vsmd session.
 */
static void write_openssl_cnf(struct pt *t, bool offload)
{
	char buf[2048];
	int n = snprintf(buf, sizeof(buf),
			 "# written by test_nginx (docs/nginx.md)\n"
			 "openssl_conf = openssl_init\n"
			 "\n"
			 "[openssl_init]\n"
			 "providers = provider_sect\n"
			 "%s"
			 "\n"
			 "[provider_sect]\n"
			 "default = default_sect\n"
			 "vsm = vsm_sect\n"
			 "\n"
			 "[default_sect]\n"
			 "activate = 1\n"
			 "\n"
			 "[vsm_sect]\n"
			 "module = %s/vsm.so\n"
			 "vsm_uri = %s\n"
			 "activate = 1\n"
			 "vsm_key_password = %s\n",
			 offload ? "alg_section = algorithm_sect\n\n[algorithm_sect]\n"
				   "default_properties = ?provider=vsm\n"
				 : "",
			 pt_provider_dir(), t->d.uri, PT_KEY_PW);
	PT_CHECK(n > 0 && (size_t)n < sizeof(buf), "openssl.cnf too long");
	pt_write(t, "openssl.cnf", buf, (size_t)n);
}

static void write_nginx_conf(struct pt *t, unsigned rsa_port, unsigned ec_port, const char *key_ext)
{
	char user[128] = "";
	/* As root, nginx would run its workers as nobody: another vsmd tenant. */
	if (geteuid() == 0) {
		struct passwd *pw = getpwuid(0);
		snprintf(user, sizeof(user), "user %s;\n", pw ? pw->pw_name : "root");
	}
	const char *d = t->dir;
	char buf[4096];
	int n = snprintf(buf, sizeof(buf),
			 "# written by test_nginx (docs/nginx.md)\n"
			 "%s"
			 "daemon off;\n"
			 "master_process on;\n"
			 "worker_processes 2;\n"
			 "pid %s/nginx.pid;\n"
			 "error_log %s/error.log info;\n"
			 "env OPENSSL_CONF;\n"
			 "events { worker_connections 64; }\n"
			 "http {\n"
			 "  access_log %s/access.log;\n"
			 "  client_body_temp_path %s/tmp/body;\n"
			 "  proxy_temp_path %s/tmp/proxy;\n"
			 "  fastcgi_temp_path %s/tmp/fastcgi;\n"
			 "  uwsgi_temp_path %s/tmp/uwsgi;\n"
			 "  scgi_temp_path %s/tmp/scgi;\n"
			 "  keepalive_timeout 0;\n"
			 "  ssl_protocols TLSv1.2 TLSv1.3;\n"
			 "  server {\n"
			 /* reuseport: one socket per worker, so the kernel spreads connections */
			 "    listen 127.0.0.1:%u ssl reuseport;\n"
			 "    ssl_certificate %s/rsa.crt;\n"
			 "    ssl_certificate_key %s/rsa.ref;\n"
			 "    location / { return 200 \"vsm rsa pid=$pid\\n\"; }\n"
			 "  }\n"
			 "  server {\n"
			 "    listen 127.0.0.1:%u ssl reuseport;\n"
			 "    ssl_certificate %s/ec.crt;\n"
			 "    ssl_certificate_key %s/ec.ref;\n"
			 "    location / { return 200 \"vsm ec pid=$pid\\n\"; }\n"
			 "  }\n"
			 "}\n",
			 user, d, d, d, d, d, d, d, d, rsa_port, d, d, ec_port, d, d);
	PT_CHECK(n > 0 && (size_t)n < sizeof(buf), "nginx.conf too long");
	pt_write(t, "nginx.conf", buf, (size_t)n);
}

/* A key in the keystore, its reference file <name>.ref and certificate <name>.crt. */
static void server_key(struct pt *t, const char *name, const char *alg, int type, uint32_t index)
{
	char ref[32], crt[32];
	snprintf(ref, sizeof(ref), "%s.ref", name);
	snprintf(crt, sizeof(crt), "%s.crt", name);
	pt_genkey(t, name, alg);
	pt_import(t, name, VSM_KU_SIGN, index, type, name, NULL);
	pt_write_keyref(t, ref, pt_uri_label(name, NULL));
	PT_OK(t,
	      pt_openssl(t, true, "req", "-x509", "-new", "-key", pt_uri_label(name, NULL), "-subj",
			 "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
			 "-days", "2", "-sha256", "-out", crt, NULL));
}

/* One HTTPS request; returns the worker pid from the body. */
static long request(struct pt *t, const char *crt, unsigned port, const char *kind, bool tls13)
{
	char url[64];
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/", port);
	const char *argv[] = {getenv("VSM_CURL"),
			      "--silent",
			      "--show-error",
			      "--fail",
			      "--max-time",
			      "10",
			      "--cacert",
			      crt,
			      tls13 ? "--tlsv1.3" : "--tlsv1.2",
			      "--tls-max",
			      tls13 ? "1.3" : "1.2",
			      url,
			      NULL};
	PT_OK(t, pt_runv_plain(t, NULL, PT_TIMEOUT_MS, argv));
	char *body = (char *)pt_read(t, "last.out", NULL);
	char want[32];
	snprintf(want, sizeof(want), "vsm %s pid=", kind);
	char *p = strstr(body, want);
	long pid = p ? strtol(p + strlen(want), NULL, 10) : 0;
	free(body);
	PT_CHECK(pid > 0, "unexpected body from %s", url);
	return pid;
}

static bool log_has(struct pt *t, const char *s)
{
	return pt_file_contains(t, "error.log", s);
}

static int run_nginx(bool offload)
{
	const char *nginx = getenv("VSM_NGINX");
	if (!nginx || !*nginx || access(nginx, X_OK) != 0) {
		printf("SKIP: nginx is not installed\n");
		return VH_SKIP;
	}
	const char *curl = getenv("VSM_CURL");
	VH_CHECK(curl && *curl && access(curl, X_OK) == 0, "curl is not installed ($VSM_CURL)");

	struct pt t;
	pt_start(&t);
	server_key(&t, "rsa", "RSA", VSM_KT_RSA, 1);
	server_key(&t, "ec", "P-256", VSM_KT_ECDSA_P256, 2);
	unsigned rsa_port = vh_free_tcp_port(), ec_port = vh_free_tcp_port();
	PT_CHECK(rsa_port != ec_port, "the same free port twice");
	write_openssl_cnf(&t, offload);
	write_nginx_conf(&t, rsa_port, ec_port, offload ? "pem" : "ref");
	PT_CHECK(mkdir(pt_path(&t, "tmp"), 0755) == 0, "mkdir tmp");

	/* nginx reaches vsmd and the keys through openssl.cnf alone. */
	char uri[sizeof(t.d.uri)];
	snprintf(uri, sizeof(uri), "%s", getenv("VSM_URI"));
	unsetenv("VSM_URI");
	unsetenv("VSM_KEY_PASSWORD");
	setenv("OPENSSL_CONF", pt_path(&t, "openssl.cnf"), 1);
	const char *conf = pt_path(&t, "nginx.conf");
	char prefix[80];
	snprintf(prefix, sizeof(prefix), "%s/", t.dir);
	const char *test_argv[] = {nginx, "-t", "-p", prefix, "-c", conf, "-e", "stderr", NULL};
	int rc = pt_runv(&t, NULL, PT_TIMEOUT_MS, test_argv);
	if (rc != 0) {
		pt_show_last(&t);
		PT_CHECK(rc == 0, "nginx -t refused the configuration");
	}
	const char *argv[] = {nginx, "-p", prefix, "-c", conf, "-e", "stderr", NULL};
	uint64_t before = pt_ops(&t);
	pid_t master = pt_spawnv(&t, "nginx.out", argv);
	unsetenv("OPENSSL_CONF");
	setenv("VSM_URI", uri, 1);
	setenv("VSM_KEY_PASSWORD", PT_KEY_PW, 1);
	pt_wait_port(master, rsa_port, 10000);
	pt_wait_port(master, ec_port, 10000);

	long pids[REQUESTS];
	size_t distinct = 0;
	for (int i = 0; i < REQUESTS; i++) {
		bool ec = i % 2, tls13 = (i / 2) % 2;
		long pid = ec ? request(&t, "ec.crt", ec_port, "ec", tls13)
			      : request(&t, "rsa.crt", rsa_port, "rsa", tls13);
		PT_CHECK(pid != master, "the master answered");
		bool seen = false;
		for (size_t j = 0; j < distinct; j++)
			seen |= pids[j] == pid;
		if (!seen)
			pids[distinct++] = pid;
	}
	printf("%d requests answered by %zu workers\n", REQUESTS, distinct);
	/*
	 * With reuseport the kernel hashes each new connection to one of the two
	 * sockets: all 24 on one worker has probability 2^-23.
	 */
	PT_CHECK(distinct == 2, "%zu distinct workers answered", distinct);
	uint64_t n = pt_ops(&t) - before;
	PT_CHECK(n >= REQUESTS, "%d handshakes made only %llu requests in vsmd", REQUESTS,
		 (unsigned long long)n);

	/* Graceful stop: the master waits for its workers and exits 0. */
	PT_CHECK(kill(master, SIGQUIT) == 0, "kill nginx");
	rc = pt_wait(master, 15000);
	if (rc != 0 || log_has(&t, "[alert]") || log_has(&t, "[emerg]") || log_has(&t, "[crit]") ||
	    log_has(&t, "exited on signal")) {
		pt_show_file(&t, "nginx.out", 8192);
		pt_show_file(&t, "error.log", 16384);
		PT_CHECK(false, "nginx exit %d, or its error log has alerts", rc);
	}
	PT_CHECK(log_has(&t, "exit"), "no exit in the error log");
	PT_CHECK(pt_clean_log(&t, "nginx.out") && pt_clean_log(&t, "error.log"),
		 "sanitizer report from nginx");
	pt_finish(&t);
	return 0;
}

static int t_nginx(void)
{
	return run_nginx(false);
}

static int t_nginx_offload(void)
{
	return run_nginx(true);
}

static const struct vh_case cases[] = {
	{"nginx", t_nginx, 120},
	{"nginx-offload", t_nginx_offload, 120},
};

int main(int argc, char **argv)
{
	return vh_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
