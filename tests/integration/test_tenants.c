/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Multi-tenant isolation. vsmd maps a unix-socket peer's uid to a tenant,
 * so each tenant here is a child process that switched to that uid; that
 * needs root (CI runs as root), otherwise every case is skipped.
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "harness.h"
#include "ref.h"

#define UID_ALICE 10001
#define UID_BOB	  10002
#define UID_CAROL 10003

#define TENANTS                                                                                    \
	"[tenant alice]\nuids = 10001\n%s\n"                                                       \
	"[tenant bob]\nuids = 10002\n"                                                             \
	"[tenant carol]\nuids = 10003\n"

/* Child-side timeouts: generous, they only catch hangs. */
#define PIPE_TIMEOUT_MS	 30000
#define CHILD_TIMEOUT_MS 90000

static bool need_root(void)
{
	if (geteuid() == 0)
		return true;
	printf("SKIP: tenant tests switch uids and need root\n");
	return false;
}

static void start(struct vh_daemon *d, const char *alice_extra)
{
	static char sections[512];
	snprintf(sections, sizeof(sections), TENANTS, alice_extra);
	struct vh_opts o = {.sections = sections};
	vh_start(d, &o);
}

static void become(uid_t uid)
{
	VH_CHECK(setgroups(0, NULL) == 0, "setgroups: %s", strerror(errno));
	VH_CHECK(setresgid(uid, uid, uid) == 0, "setresgid: %s", strerror(errno));
	VH_CHECK(setresuid(uid, uid, uid) == 0, "setresuid: %s", strerror(errno));
	VH_EQ(geteuid(), uid);
}

static void pipe_write(int fd, const void *buf, size_t n)
{
	VH_CHECK(write(fd, buf, n) == (ssize_t)n, "pipe write: %s", strerror(errno));
}

static void pipe_read(int fd, void *buf, size_t n)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	VH_CHECK(poll(&p, 1, PIPE_TIMEOUT_MS) == 1, "nothing on the pipe within %d ms",
		 PIPE_TIMEOUT_MS);
	ssize_t r = read(fd, buf, n);
	VH_CHECK(r == (ssize_t)n, "pipe read %zd of %zu (peer died?)", r, n);
}

static vsm_client *connect_as(const struct vh_daemon *d, const char *tenant)
{
	vsm_client *c = vh_connect(d->uri);
	VH_CHECK(!strcmp(vsm_info(c)->tenant, tenant), "HELLO tenant '%s', want '%s'",
		 vsm_info(c)->tenant, tenant);
	return c;
}

/* ---- isolation ---- */

struct iso {
	const struct vh_daemon *d;
	int to_parent[2], from_parent[2];
	uint64_t alice_handle;
};

static void alice_holds_session(void *arg)
{
	struct iso *x = arg;
	become(UID_ALICE);
	vsm_client *c = connect_as(x->d, "alice");
	uint64_t h = vh_session(c, VSM_SVC_HASH, VSM_ALG_SHA256, NULL, 0);
	uint8_t out[32];
	size_t n = sizeof(out);
	VH_OK(vsm_digest(c, h, "abc", 3, out, &n));
	pipe_write(x->to_parent[1], &h, sizeof(h));
	char go;
	pipe_read(x->from_parent[0], &go, 1);
	/* Bob's and root's attempts did not touch it. */
	n = sizeof(out);
	VH_OK(vsm_digest(c, h, "abc", 3, out, &n));
	struct vsm_wire_status st;
	VH_OK(vsm_status(c, &st));
	VH_CHECK(!strcmp(st.tenant, "alice"), "tenant %s", st.tenant);
	VH_EQ(st.sessions, 1);
	vsm_close(c);
}

static void bob_tries_alice_handle(void *arg)
{
	struct iso *x = arg;
	become(UID_BOB);
	vsm_client *c = connect_as(x->d, "bob");
	struct vsm_wire_status st;
	VH_OK(vsm_status(c, &st));
	VH_CHECK(!strcmp(st.tenant, "bob"), "STATUS tenant '%s', want 'bob'", st.tenant);
	VH_EQ(st.sessions, 0);
	uint8_t out[32];
	size_t n = sizeof(out);
	VH_STATUS(c, vsm_digest(c, x->alice_handle, "abc", 3, out, &n), VSM_S_INVSESS, VSM_D_NONE);
	VH_STATUS(c, vsm_session_destroy(c, x->alice_handle), VSM_S_INVSESS, VSM_D_NONE);
	/* Bob's own session works and is a different handle. */
	uint64_t h = vh_session(c, VSM_SVC_HASH, VSM_ALG_SHA256, NULL, 0);
	VH_CHECK(h != x->alice_handle, "bob got alice's handle value");
	n = sizeof(out);
	VH_OK(vsm_digest(c, h, "abc", 3, out, &n));
	VH_OK(vsm_status(c, &st));
	VH_EQ(st.sessions, 1);
	vsm_close(c);
}

static int t_isolation(void)
{
	if (!need_root())
		return VH_SKIP;
	struct vh_daemon d;
	start(&d, "");
	struct iso x = {.d = &d};
	VH_CHECK(pipe(x.to_parent) == 0 && pipe(x.from_parent) == 0, "pipe");
	pid_t alice = vh_fork(alice_holds_session, &x);
	close(x.to_parent[1]);
	close(x.from_parent[0]);
	pipe_read(x.to_parent[0], &x.alice_handle, sizeof(x.alice_handle));

	pid_t bob = vh_fork(bob_tries_alice_handle, &x);
	VH_EQ(vh_child_wait(bob, CHILD_TIMEOUT_MS), 0);

	/* Root is a third tenant (uid-0): alice's handle is foreign to it too. */
	vsm_client *c = connect_as(&d, "uid-0");
	uint8_t out[32];
	size_t n = sizeof(out);
	VH_STATUS(c, vsm_digest(c, x.alice_handle, "abc", 3, out, &n), VSM_S_INVSESS, VSM_D_NONE);
	VH_STATUS(c, vsm_session_destroy(c, x.alice_handle), VSM_S_INVSESS, VSM_D_NONE);
	vsm_close(c);

	pipe_write(x.from_parent[1], "g", 1);
	VH_EQ(vh_child_wait(alice, CHILD_TIMEOUT_MS), 0);
	close(x.to_parent[0]);
	close(x.from_parent[1]);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

/* ---- concurrent tenants ---- */

#define THREADS 4
#define OPS	500

struct worker {
	const struct vh_daemon *d;
	const char *tenant;
	unsigned seed;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	vsm_client *c = connect_as(w->d, w->tenant);
	uint8_t key[16];
	VH_CHECK(RAND_bytes(key, sizeof(key)) == 1, "RAND_bytes");
	EVP_PKEY *k = vh_ec_p256_new();
	size_t der_len;
	uint8_t *der = vh_der_pkcs8(k, &der_len);
	uint64_t hs = vh_session(c, VSM_SVC_HASH, VSM_ALG_SHA256, NULL, 0);
	uint64_t gs = vh_session(c, VSM_SVC_AEAD, VSM_ALG_AES_GCM, key, sizeof(key));
	struct vsm_session_params p = {
		.service = VSM_SVC_AKCIPHER, .alg = VSM_ALG_ECDSA, .key = der, .key_len = der_len};
	uint64_t es = 0;
	VH_OK(vsm_session_create(c, &p, &es));

	for (unsigned i = 0; i < OPS; i++) {
		char msg[96];
		int len = snprintf(msg, sizeof(msg), "%s thread %u op %u: some bytes to work on",
				   w->tenant, w->seed, i);
		uint8_t out[160], want[160], iv[12] = {0};
		size_t n = sizeof(out);
		switch (i % 3) {
		case 0:
			VH_OK(vsm_digest(c, hs, msg, (size_t)len, out, &n));
			vh_sha256(msg, (size_t)len, want);
			VH_EQ(n, 32);
			VH_MEMEQ(out, want, 32);
			break;
		case 1:
			memcpy(iv, &i, sizeof(i));
			VH_OK(vsm_encrypt(c, gs, iv, sizeof(iv), msg, (size_t)len, out, &n));
			vh_aes_gcm(key, sizeof(key), iv, NULL, 0, msg, (size_t)len, want);
			VH_EQ(n, (size_t)len + 16);
			VH_MEMEQ(out, want, n);
			if (i % 4 == 1) {
				uint8_t back[160];
				size_t m = sizeof(back);
				VH_OK(vsm_decrypt(c, gs, iv, sizeof(iv), out, n, back, &m));
				VH_EQ(m, (size_t)len);
				VH_MEMEQ(back, msg, m);
			}
			break;
		default:
			VH_OK(vsm_sign(c, es, msg, (size_t)len, out, &n));
			VH_CHECK(vh_verify_sha256(k, msg, (size_t)len, out, n),
				 "%s: vsmd's ECDSA signature does not verify", w->tenant);
			break;
		}
	}
	OPENSSL_free(der);
	EVP_PKEY_free(k);
	vsm_close(c);
	return NULL;
}

static void tenant_load(void *arg)
{
	const struct worker *tmpl = arg;
	uid_t uid = !strcmp(tmpl->tenant, "alice") ? UID_ALICE
		    : !strcmp(tmpl->tenant, "bob") ? UID_BOB
						   : UID_CAROL;
	become(uid);
	/* Held open so the tenant keeps its sessions while the workers come and go. */
	vsm_client *mon = connect_as(tmpl->d, tmpl->tenant);
	pthread_t th[THREADS];
	struct worker w[THREADS];
	for (unsigned i = 0; i < THREADS; i++) {
		w[i] = *tmpl;
		w[i].seed = i;
		VH_CHECK(pthread_create(&th[i], NULL, worker_main, &w[i]) == 0, "pthread_create");
	}
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	struct vsm_wire_status st;
	VH_OK(vsm_status(mon, &st));
	VH_CHECK(!strcmp(st.tenant, tmpl->tenant), "tenant %s", st.tenant);
	VH_EQ(st.sessions, THREADS * 3);
	VH_EQ(st.errors, 0);
	VH_CHECK(st.ops >= THREADS * (OPS + 4), "ops %llu", (unsigned long long)st.ops);
	vsm_close(mon);
}

static int t_concurrent(void)
{
	if (!need_root())
		return VH_SKIP;
	struct vh_daemon d;
	start(&d, "");
	static const char *const names[] = {"alice", "bob", "carol"};
	struct worker tmpl[3];
	pid_t pid[3];
	for (int i = 0; i < 3; i++) {
		tmpl[i] = (struct worker){.d = &d, .tenant = names[i]};
		pid[i] = vh_fork(tenant_load, &tmpl[i]);
	}
	for (int i = 0; i < 3; i++) {
		int rc = vh_child_wait(pid[i], CHILD_TIMEOUT_MS);
		VH_CHECK(rc == 0, "tenant %s child exited %d", names[i], rc);
	}
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

/* ---- per-tenant session limit ---- */

struct lim {
	const struct vh_daemon *d;
	int to_parent[2], from_parent[2];
};

static void alice_fills_up(void *arg)
{
	struct lim *x = arg;
	become(UID_ALICE);
	vsm_client *c = connect_as(x->d, "alice");
	VH_EQ(vsm_info(c)->max_sessions, 3);
	uint64_t h[3];
	for (int i = 0; i < 3; i++)
		h[i] = vh_session(c, VSM_SVC_HASH, VSM_ALG_SHA256, NULL, 0);
	struct vsm_session_params p = {.service = VSM_SVC_HASH, .alg = VSM_ALG_SHA256};
	uint64_t extra = 0;
	VH_STATUS(c, vsm_session_create(c, &p, &extra), VSM_S_NOSPC, VSM_D_SESSION_LIMIT);
	struct vsm_wire_status st;
	VH_OK(vsm_status(c, &st));
	VH_EQ(st.sessions, 3);
	VH_EQ(st.max_sessions, 3);
	pipe_write(x->to_parent[1], "f", 1);
	char go;
	pipe_read(x->from_parent[0], &go, 1);
	/* Still full after bob's burst; freeing one makes room for exactly one. */
	VH_STATUS(c, vsm_session_create(c, &p, &extra), VSM_S_NOSPC, VSM_D_SESSION_LIMIT);
	VH_OK(vsm_session_destroy(c, h[1]));
	VH_OK(vsm_session_create(c, &p, &extra));
	VH_STATUS(c, vsm_session_create(c, &p, &extra), VSM_S_NOSPC, VSM_D_SESSION_LIMIT);
	vsm_close(c);
}

static void bob_not_limited(void *arg)
{
	struct lim *x = arg;
	become(UID_BOB);
	vsm_client *c = connect_as(x->d, "bob");
	VH_EQ(vsm_info(c)->max_sessions, 1024);
	for (int i = 0; i < 10; i++)
		vh_session(c, VSM_SVC_HASH, VSM_ALG_SHA256, NULL, 0);
	struct vsm_wire_status st;
	VH_OK(vsm_status(c, &st));
	VH_EQ(st.sessions, 10);
	vsm_close(c);
}

static int t_session_limit(void)
{
	if (!need_root())
		return VH_SKIP;
	struct vh_daemon d;
	start(&d, "max_sessions = 3");
	struct lim x = {.d = &d};
	VH_CHECK(pipe(x.to_parent) == 0 && pipe(x.from_parent) == 0, "pipe");
	pid_t alice = vh_fork(alice_fills_up, &x);
	close(x.to_parent[1]);
	close(x.from_parent[0]);
	char full;
	pipe_read(x.to_parent[0], &full, 1);
	pid_t bob = vh_fork(bob_not_limited, &x);
	VH_EQ(vh_child_wait(bob, CHILD_TIMEOUT_MS), 0);
	pipe_write(x.from_parent[1], "g", 1);
	VH_EQ(vh_child_wait(alice, CHILD_TIMEOUT_MS), 0);
	close(x.to_parent[0]);
	close(x.from_parent[1]);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

static const struct vh_case cases[] = {
	{"isolation", t_isolation, 0},
	{"concurrent", t_concurrent, 100},
	{"session-limit", t_session_limit, 0},
};

int main(int argc, char **argv)
{
	return vh_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
