/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration test harness: runs a real vsmd in a private temporary
 * directory and talks to it over its sockets, through libvsm or raw frames.
 *
 * Checks never return on failure: they print where and why, kill every
 * vsmd this process started, print its log, remove its directory and exit
 * 1. That keeps test code linear and guarantees cleanup on every path.
 */
#ifndef VSM_INTEG_HARNESS_H
#define VSM_INTEG_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <vsm/vsm.h>

/* meson treats this exit code as "skipped" */
#define VH_SKIP 77

struct vh_opts {
	const char *vsmd_keys; /* extra lines for [vsmd] */
	const char *sections;  /* [limits], [tenant ...] sections, verbatim */
	bool tcp;	       /* also listen on 127.0.0.1:<free port> */
	unsigned workers;      /* 0: 2 */
};

struct vh_daemon {
	char dir[64];
	char sock[100]; /* fits sun_path */
	char conf[128];
	char log[128];
	char uri[160];	  /* "unix:<sock>" */
	char tcp_uri[64]; /* "tcp:127.0.0.1:<port>" when opts.tcp */
	unsigned tcp_port;
	unsigned runs; /* how many times it was started (log file suffix) */
	pid_t pid;     /* 0 when not running */
	struct vh_opts o;
};

/* Start vsmd in a fresh directory and wait until it accepts connections. */
void vh_start(struct vh_daemon *d, const struct vh_opts *o);
/* Start it again with the same directory, config and socket path. */
void vh_restart(struct vh_daemon *d);
/*
 * SIGTERM, then require exit status 0 and a log free of errors and
 * sanitizer reports. The directory stays (vh_cleanup removes it).
 */
void vh_stop(struct vh_daemon *d);
/* The same checks, for a vsmd the test signalled itself (kill(d->pid, SIGTERM)). */
void vh_wait_stopped(struct vh_daemon *d);
/* Stop if running, then remove the directory. */
void vh_cleanup(struct vh_daemon *d);
/* Does the current log contain s? */
bool vh_log_contains(const struct vh_daemon *d, const char *s);

/* libvsm connection that must succeed. */
vsm_client *vh_connect(const char *uri);
/* A session of service/alg with a raw key (may be NULL/0); must succeed. */
uint64_t vh_session(vsm_client *c, int service, int alg, const void *key, size_t key_len);

/* Path of the vsmd executable ($VSMD). */
const char *vh_vsmd_path(void);

/* ---- checks ---- */

__attribute__((noreturn, format(printf, 3, 4))) void vh_fail(const char *file, int line,
							     const char *fmt, ...);

#define VH_CHECK(cond, fmt, ...)                                                                   \
	do {                                                                                       \
		if (!(cond))                                                                       \
			vh_fail(__FILE__, __LINE__, "check failed: %s: " fmt, #cond,               \
				##__VA_ARGS__);                                                    \
	} while (0)

/* Integer equality, printing both sides. */
#define VH_EQ(a, b)                                                                                \
	do {                                                                                       \
		long long vh_a_ = (long long)(a), vh_b_ = (long long)(b);                          \
		if (vh_a_ != vh_b_)                                                                \
			vh_fail(__FILE__, __LINE__, "%s == %s: got %lld, want %lld", #a, #b,       \
				vh_a_, vh_b_);                                                     \
	} while (0)

/* A libvsm call that must succeed; prints vsm_strerror otherwise. */
#define VH_OK(call)                                                                                \
	do {                                                                                       \
		int vh_rc_ = (call);                                                               \
		if (vh_rc_ != 0)                                                                   \
			vh_fail(__FILE__, __LINE__, "%s: %d (%s)", #call, vh_rc_,                  \
				vsm_strerror(vh_rc_));                                             \
	} while (0)

/* A libvsm call that must return status st with detail det (on client c). */
#define VH_STATUS(c, call, st, det)                                                                \
	do {                                                                                       \
		int vh_rc_ = (call);                                                               \
		if (vh_rc_ != (st) || vsm_last_detail(c) != (det))                                 \
			vh_fail(__FILE__, __LINE__, "%s: got %d/%s (%s), want %s/%s", #call,       \
				vh_rc_, vsm_detail_name(vsm_last_detail(c)), vsm_strerror(vh_rc_), \
				vsm_status_name(st), vsm_detail_name(det));                        \
	} while (0)

#define VH_MEMEQ(a, b, n)                                                                          \
	do {                                                                                       \
		if (memcmp((a), (b), (n)) != 0)                                                    \
			vh_fail(__FILE__, __LINE__, "%s and %s differ (%zu bytes)", #a, #b,        \
				(size_t)(n));                                                      \
	} while (0)

/* ---- test programs ---- */

struct vh_case {
	const char *name;
	/* 0 pass, VH_SKIP skipped; failures exit through vh_fail. */
	int (*fn)(void);
	unsigned timeout_s; /* 0: 60 */
};

/*
 * main() of every test program: argv[1] names one case (meson registers
 * each case as its own test); with no argument every case runs.
 */
int vh_main(int argc, char **argv, const struct vh_case *cases, size_t n);

/* Run fn(arg) in a child process; returns its wait status via vh_child_wait. */
pid_t vh_fork(void (*fn)(void *arg), void *arg);
/* Wait for a child up to timeout_ms; kill it and fail on timeout. Returns its exit code. */
int vh_child_wait(pid_t pid, unsigned timeout_ms);

uint64_t vh_now_ms(void);
/* A TCP port on 127.0.0.1 that was free a moment ago. */
unsigned vh_free_tcp_port(void);

#endif
