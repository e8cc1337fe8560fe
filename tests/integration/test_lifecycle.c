/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon going away under its clients: a restart on the same socket
 * path, and SIGTERM while signatures are still being computed (drain).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rsa.h>

#include "harness.h"
#include "ref.h"

static int t_restart(void)
{
	struct vh_daemon d;
	vh_start(&d, NULL);
	vsm_client *c = vh_connect(d.uri);
	uint64_t h = vh_session(c, VSM_SVC_HASH, VSM_ALG_SHA256, NULL, 0);
	uint8_t out[32];
	size_t n = sizeof(out);
	VH_OK(vsm_digest(c, h, "abc", 3, out, &n));

	vh_stop(&d);
	/* The old connection is gone: a local error, not a crash or a daemon status. */
	n = sizeof(out);
	int rc = vsm_digest(c, h, "abc", 3, out, &n);
	VH_CHECK(rc < 0, "call on a connection to a stopped vsmd returned %d (%s)", rc,
		 vsm_strerror(rc));
	printf("call after SIGTERM: %d (%s)\n", rc, vsm_strerror(rc));
	VH_CHECK(vsm_nop(c, "x", 1) < 0, "the dead connection came back");

	vh_restart(&d);
	vsm_client *c2 = vh_connect(d.uri);
	/* Sessions did not survive the restart. (No session exists yet to collide with.) */
	n = sizeof(out);
	VH_STATUS(c2, vsm_digest(c2, h, "abc", 3, out, &n), VSM_S_INVSESS, VSM_D_NONE);
	uint64_t h2 = vh_session(c2, VSM_SVC_HASH, VSM_ALG_SHA256, NULL, 0);
	n = sizeof(out);
	VH_OK(vsm_digest(c2, h2, "abc", 3, out, &n));
	VH_EQ(n, 32);
	/* Still dead: libvsm does not reconnect behind the caller's back. */
	VH_CHECK(vsm_nop(c, "x", 1) < 0, "the old connection works after the restart");
	vsm_close(c);
	vsm_close(c2);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

#define NSIGN	200
#define MSG_LEN 8192

/*
 * SIGTERM while 200 RSA-2048 signatures are queued. vsmd finishes what it
 * has read and closes; what it never read fails with a connection error.
 * Every completion is one or the other (or ERR/SHUTDOWN, which the protocol
 * allows), and every OK carries the right signature.
 */
static int t_drain(void)
{
	struct vh_daemon d;
	vh_start(&d, NULL);
	vsm_client *c = vh_connect(d.uri);
	EVP_PKEY *k = vh_rsa_new(2048);
	size_t der_len;
	uint8_t *der = vh_der_pkcs8(k, &der_len);
	struct vsm_session_params p = {.service = VSM_SVC_AKCIPHER,
				       .alg = VSM_ALG_RSA,
				       .padding = VSM_PAD_PKCS1,
				       .hash = VSM_ALG_SHA256,
				       .key = der,
				       .key_len = der_len};
	uint64_t s = 0;
	VH_OK(vsm_session_create(c, &p, &s));

	static uint8_t msg[NSIGN][MSG_LEN], sig[NSIGN][256], want[NSIGN][256];
	static bool seen[NSIGN];
	for (unsigned i = 0; i < NSIGN; i++) {
		memset(msg[i], (int)i, MSG_LEN);
		memcpy(msg[i], &i, sizeof(i));
		VH_EQ(vh_rsa_sign_sha256(k, msg[i], MSG_LEN, want[i], sizeof(want[i])), 256);
	}
	for (unsigned i = 0; i < NSIGN; i++) {
		struct vsm_op op = {
			.session = s, .op = VSM_OP_SIGN, .src = msg[i], .src_len = MSG_LEN};
		VH_OK(vsm_submit(c, &op, sig[i], sizeof(sig[i]), (void *)(uintptr_t)i, NULL));
	}
	VH_OK(vsm_flush(c));
	VH_EQ(kill(d.pid, SIGTERM), 0);

	unsigned ok = 0, lost = 0, shutdown = 0, got = 0;
	while (got < NSIGN) {
		struct vsm_completion done[64];
		int n = vsm_poll(c, done, 64, 20000);
		VH_CHECK(n > 0, "vsm_poll: %d (%s) with %u of %u reaped", n, vsm_strerror(n), got,
			 NSIGN);
		for (int j = 0; j < n; j++) {
			uintptr_t i = (uintptr_t)done[j].user_data;
			VH_CHECK(i < NSIGN && !seen[i], "bad or repeated completion %zu",
				 (size_t)i);
			seen[i] = true;
			got++;
			if (done[j].status == 0) {
				VH_EQ(done[j].out_len, 256);
				VH_MEMEQ(sig[i], want[i], 256);
				ok++;
			} else if (done[j].status < 0) {
				lost++;
			} else if (done[j].status == VSM_S_ERR &&
				   done[j].detail == VSM_D_SHUTDOWN) {
				shutdown++;
			} else {
				vh_fail(__FILE__, __LINE__,
					"request %zu: status %s/%s during drain", (size_t)i,
					vsm_status_name(done[j].status),
					vsm_detail_name(done[j].detail));
			}
		}
	}
	printf("drain: %u signed, %u refused (shutdown), %u lost with the connection\n", ok,
	       shutdown, lost);
	VH_EQ(vsm_inflight(c), 0);
	/* Exit 0, within drain_timeout_ms (5 s) plus the harness's margin. */
	vh_wait_stopped(&d);
	OPENSSL_free(der);
	EVP_PKEY_free(k);
	vsm_close(c);
	vh_cleanup(&d);
	return 0;
}

static const struct vh_case cases[] = {
	{"restart", t_restart, 0},
	{"drain", t_drain, 0},
};

int main(int argc, char **argv)
{
	return vh_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
