/* SPDX-License-Identifier: Apache-2.0 */
/* The vsmd command line: --help, --version, --check-config, bad options. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

struct run {
	char dir[64];
	char out[4096];
	char err[4096];
};

static void slurp(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	VH_CHECK(f, "open %s: %s", path, strerror(errno));
	size_t n = fread(buf, 1, cap - 1, f);
	buf[n] = 0;
	fclose(f);
	unlink(path);
}

/* Run vsmd with args (NULL-terminated); returns its exit code. */
static int run_vsmd(struct run *r, const char *const *args)
{
	char out[96], err[96];
	snprintf(out, sizeof(out), "%s/stdout", r->dir);
	snprintf(err, sizeof(err), "%s/stderr", r->dir);
	const char *argv[16] = {"vsmd"};
	int n = 1;
	for (; args[n - 1] && n < 15; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	pid_t pid = fork();
	VH_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(127);
		execv(vh_vsmd_path(), (char *const *)argv);
		_exit(127);
	}
	int rc = vh_child_wait(pid, 10000);
	slurp(out, r->out, sizeof(r->out));
	slurp(err, r->err, sizeof(r->err));
	return rc;
}

static void setup(struct run *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "/tmp/vsm-cli-XXXXXX");
	VH_CHECK(mkdtemp(r->dir), "mkdtemp");
}

static const char *write_conf(struct run *r, const char *text)
{
	static char path[96];
	snprintf(path, sizeof(path), "%s/vsmd.conf", r->dir);
	FILE *f = fopen(path, "w");
	VH_CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0, "write %s", path);
	return path;
}

static void teardown(struct run *r)
{
	char path[96];
	snprintf(path, sizeof(path), "%s/vsmd.conf", r->dir);
	unlink(path);
	VH_CHECK(rmdir(r->dir) == 0, "rmdir %s: %s", r->dir, strerror(errno));
}

static int t_help(void)
{
	struct run r;
	setup(&r);
	VH_EQ(run_vsmd(&r, (const char *[]){"--help", NULL}), 0);
	VH_CHECK(strstr(r.out, "--config"), "--help does not mention --config:\n%s", r.out);
	VH_CHECK(strstr(r.out, "--check-config"), "--help lacks --check-config");
	VH_CHECK(strstr(r.out, "Usage"), "--help lacks a usage line");
	VH_EQ(run_vsmd(&r, (const char *[]){"-h", NULL}), 0);
	VH_CHECK(strstr(r.out, "--config"), "-h does not mention --config");
	teardown(&r);
	return 0;
}

static int t_version(void)
{
	struct run r;
	setup(&r);
	VH_EQ(run_vsmd(&r, (const char *[]){"--version", NULL}), 0);
	VH_CHECK(!strncmp(r.out, "vsmd ", 5), "--version printed '%s'", r.out);
	const char *v = getenv("VSM_VERSION");
	VH_CHECK(v && strstr(r.out, v), "--version '%s' lacks the project version '%s'", r.out,
		 v ? v : "(unset)");
	teardown(&r);
	return 0;
}

static int t_check_valid(void)
{
	struct run r;
	setup(&r);
	const char *conf = write_conf(&r, "[vsmd]\n"
					  "workers = 3\n"
					  "unix_socket = /tmp/vsm-cli-never-bound.sock\n"
					  "[limits]\n"
					  "max_inflight = 77\n"
					  "[tenant alice]\n"
					  "uids = 10001, 10002\n"
					  "max_sessions = 5\n");
	VH_EQ(run_vsmd(&r, (const char *[]){"-c", conf, "--check-config", NULL}), 0);
	VH_CHECK(strstr(r.out, "valid"), "--check-config output lacks 'valid':\n%s", r.out);
	/* It prints the effective settings, tenant limits filled in from [limits]. */
	VH_CHECK(strstr(r.out, "workers = 3"), "effective settings lack workers:\n%s", r.out);
	VH_CHECK(strstr(r.out, "[tenant alice]"), "effective settings lack the tenant");
	VH_CHECK(strstr(r.out, "max_sessions = 5"), "tenant limit missing");
	VH_CHECK(strstr(r.out, "max_inflight = 77"), "inherited limit missing");
	/* It did not start a daemon. */
	VH_CHECK(access("/tmp/vsm-cli-never-bound.sock", F_OK) != 0, "--check-config bound");
	teardown(&r);
	return 0;
}

static int t_check_unknown_key(void)
{
	struct run r;
	setup(&r);
	const char *conf = write_conf(&r, "[vsmd]\n"
					  "workers = 2\n"
					  "frobnicate = yes\n");
	VH_EQ(run_vsmd(&r, (const char *[]){"-c", conf, "--check-config", NULL}), 1);
	VH_CHECK(strstr(r.err, conf), "message does not name the file:\n%s", r.err);
	VH_CHECK(strstr(r.err, ":3:"), "message does not name line 3:\n%s", r.err);
	VH_CHECK(strstr(r.err, "frobnicate"), "message does not name the key:\n%s", r.err);
	VH_CHECK(!strstr(r.out, "valid"), "an invalid file reported valid");

	/* In a tenant section, and without --check-config (vsmd refuses to start). */
	conf = write_conf(&r, "[vsmd]\n"
			      "unix_socket = /tmp/vsm-cli-never-bound.sock\n"
			      "\n"
			      "[tenant bob]\n"
			      "uids = 5\n"
			      "colour = blue\n");
	VH_EQ(run_vsmd(&r, (const char *[]){"-c", conf, NULL}), 1);
	VH_CHECK(strstr(r.err, conf) && strstr(r.err, ":6:") && strstr(r.err, "colour"),
		 "message lacks file, line 6 or key:\n%s", r.err);
	VH_CHECK(access("/tmp/vsm-cli-never-bound.sock", F_OK) != 0, "invalid config bound");
	teardown(&r);
	return 0;
}

static int t_bad_input(void)
{
	struct run r;
	setup(&r);
	const char *conf = write_conf(&r, "[limits]\nmax_inflight = lots\n");
	VH_EQ(run_vsmd(&r, (const char *[]){"-c", conf, "--check-config", NULL}), 1);
	VH_CHECK(strstr(r.err, ":2:") && strstr(r.err, "lots"), "bad value message:\n%s", r.err);
	VH_EQ(run_vsmd(&r, (const char *[]){"--no-such-option", NULL}), 2);
	VH_EQ(run_vsmd(&r, (const char *[]){"-w", "many", NULL}), 2);
	VH_EQ(run_vsmd(&r,
		       (const char *[]){"-c", "/nonexistent/vsmd.conf", "--check-config", NULL}),
	      1);
	VH_CHECK(strstr(r.err, "/nonexistent/vsmd.conf"), "missing-file message:\n%s", r.err);
	teardown(&r);
	return 0;
}

static const struct vh_case cases[] = {
	{"help", t_help, 0},
	{"version", t_version, 0},
	{"check-config-valid", t_check_valid, 0},
	{"check-config-unknown-key", t_check_unknown_key, 0},
	{"bad-input", t_bad_input, 0},
};

int main(int argc, char **argv)
{
	return vh_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
