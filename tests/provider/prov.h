/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers for the provider tests: a vsmd with a keystore, a private work
 * directory, and the openssl CLI (or nginx, curl) run as child processes with
 * the vsm provider loaded, each under a deadline.
 *
 * Paths come from meson (tests/provider/meson.build): $VSM_OPENSSL, $VSM_PROVIDER_DIR,
 * $VSM_NGINX, $VSM_CURL; $VSMD as for every integration test.
 */
#ifndef VSM_PROV_TEST_H
#define VSM_PROV_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "harness.h"

/* A child that runs longer than this is killed and the case fails. */
#define PT_TIMEOUT_MS 20000

struct pt {
	struct vh_daemon d;
	vsm_client *c; /* the test's own connection, for the keystore and STATUS */
	char dir[64];  /* work directory for keys, certificates, outputs */
};

/* Start vsmd (keystore in its directory), make the work dir, export VSM_URI. */
void pt_start(struct pt *t);
/* Stop vsmd (its log must be clean) and remove the work dir. */
void pt_finish(struct pt *t);

/* "<dir>/<name>" in a static ring of buffers (enough for one command line). */
const char *pt_path(const struct pt *t, const char *name);

/*
 * Run argv (NULL-terminated) with stdin from in (NULL: /dev/null), stdout and
 * stderr into <dir>/last.out and <dir>/last.err. Returns the exit code, or
 * 128 + signal. The child is killed after timeout_ms and the case fails.
 */
int pt_runv(struct pt *t, const char *in, unsigned timeout_ms, const char *const *argv);
/* The same without $VSM_PRELOAD, for programs that never load the provider (curl hangs under it).
 */
int pt_runv_plain(struct pt *t, const char *in, unsigned timeout_ms, const char *const *argv);

/*
 * openssl SUBCOMMAND [provider options] args... NULL. With prov the options
 * are -provider-path $VSM_PROVIDER_DIR -provider vsm -provider default.
 */
int pt_openssl(struct pt *t, bool prov, const char *sub, ...) __attribute__((sentinel));
int pt_openssl_in(struct pt *t, const char *in, bool prov, const char *sub, ...)
	__attribute__((sentinel));

/* The last command line, and its captured output, for failure messages. */
const char *pt_last_cmd(void);
/* Print the last command and its stderr to stderr (before vh_fail). */
void pt_show_last(struct pt *t);
/* Print up to max bytes of a work-dir file to stderr. */
void pt_show_file(struct pt *t, const char *name, size_t max);

/* Kill every background child (and its process group): call before failing. */
void pt_kill_spawned(void);

/* VH_CHECK that first kills the background children (nginx workers outlive their master). */
#define PT_CHECK(cond, fmt, ...)                                                                   \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			pt_kill_spawned();                                                         \
			vh_fail(__FILE__, __LINE__, "check failed: %s: " fmt, #cond,               \
				##__VA_ARGS__);                                                    \
		}                                                                                  \
	} while (0)

/* The last command must have exited 0. */
#define PT_OK(t, call)                                                                             \
	do {                                                                                       \
		int pt_rc_ = (call);                                                               \
		if (pt_rc_ != 0) {                                                                 \
			pt_show_last(t);                                                           \
			vh_fail(__FILE__, __LINE__, "exit %d: %s", pt_rc_, pt_last_cmd());         \
		}                                                                                  \
	} while (0)

/* The last command must have failed (exit != 0, no signal). */
#define PT_FAILS(t, call)                                                                          \
	do {                                                                                       \
		int pt_rc_ = (call);                                                               \
		if (pt_rc_ == 0 || pt_rc_ >= 128) {                                                \
			pt_show_last(t);                                                           \
			vh_fail(__FILE__, __LINE__, "want failure, got exit %d: %s", pt_rc_,       \
				pt_last_cmd());                                                    \
		}                                                                                  \
	} while (0)

/* Does file name (in the work dir; "last.out", "last.err") contain s? */
bool pt_file_contains(struct pt *t, const char *name, const char *s);
/* No sanitizer report (ASan, LSan, UBSan) in a work-dir file. */
bool pt_clean_log(struct pt *t, const char *name);
/* Whole file into a malloc'd buffer (NUL-terminated); fails the case if unreadable. */
uint8_t *pt_read(struct pt *t, const char *name, size_t *len);
void pt_write(struct pt *t, const char *name, const void *data, size_t len);
bool pt_same_file(struct pt *t, const char *a, const char *b);

/*
 * A background child (s_server, nginx) with stdout+stderr into log (a work
 * dir name). It dies with the test process (PR_SET_PDEATHSIG).
 */
pid_t pt_spawnv(struct pt *t, const char *log, const char *const *argv);
/* Wait up to timeout_ms for 127.0.0.1:port to accept; fails the case if pid exits first. */
void pt_wait_port(pid_t pid, unsigned port, unsigned timeout_ms);
/*
 * Wait up to timeout_ms for the log (a work dir name) of background child pid
 * to contain s. False if pid exits first or the time runs out.
 */
bool pt_wait_log(struct pt *t, pid_t pid, const char *log, const char *s, unsigned timeout_ms);
/* Exit code of pid within timeout_ms (killed and failed otherwise). */
int pt_wait(pid_t pid, unsigned timeout_ms);

/* Path of the openssl binary. */
const char *pt_openssl_path(void);
const char *pt_provider_dir(void);

/* ---- keys ---- */

/*
 * A fresh private key made by the default provider (genpkey) into <name>.pem,
 * with its public key in <name>.pub.pem and PKCS#8 DER in <name>.der. alg:
 * "RSA" (2048 bits), "P-256", "P-384", "SM2", "ED25519".
 */
void pt_genkey(struct pt *t, const char *name, const char *alg);
/*
 * The password of the keystore keys the tests import. pt_start exports it as
 * VSM_KEY_PASSWORD, so vsm: URIs and key-reference files need not carry it:
 * vsmd runs private operations only for a session given the key's password.
 */
#define PT_KEY_PW "vsm test password"

/* Import <name>.der into vsmd's keystore at (usage, index) with a label and password (NULL:
 * PT_KEY_PW). */
void pt_import(struct pt *t, const char *name, int usage, uint32_t index, int type,
	       const char *label, const char *pw);
/* Write the keystore key's public key (vsm_key_public) as PEM to <name>. */
void pt_export_pub(struct pt *t, int usage, uint32_t index, const char *name);

/*
 * The vsm: URI of a keystore key by label or by usage/index, with the password
 * (NULL: none) as documented in docs/provider.md.
 */
const char *pt_uri_label(const char *label, const char *pw);
const char *pt_uri_index(int usage, uint32_t index, const char *pw);

/* A "VSM KEY REFERENCE" PEM file for uri, in the format of docs/provider.md. */
void pt_write_keyref(struct pt *t, const char *name, const char *uri);

/* Requests vsmd completed for this tenant so far (STATUS). */
uint64_t pt_ops(struct pt *t);

#endif
