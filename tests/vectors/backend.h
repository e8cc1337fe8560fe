/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The known-answer runner talks to "something that runs vsm operations"
 * through this interface, so the very same vectors check the engine
 * in-process (backend_engine.c) and a live vsmd over libvsm.
 */
#ifndef VSM_KAT_BACKEND_H
#define VSM_KAT_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include <vsm/wire.h>

struct kat_backend {
	const char *name;
	void *ctx;
	/*
	 * Nonzero when requests cross the wire to a vsmd: the daemon decodes
	 * and checks the frame before the engine sees it (so some malformed
	 * sessions get the protocol's answer, not the engine's), and every
	 * request is a round trip (so very long chains are shortened).
	 */
	int remote;
	/* Returns VSM_S_*; on failure *detail holds a VSM_D_* code. */
	int (*session_new)(void *ctx, const struct vsm_wire_session *p, void **sess, int *detail);
	/* Same contract as vsm_engine.op: on NOSPC *out_len is the size needed. */
	int (*op)(void *ctx, void *sess, const struct vsm_wire_op *op, uint8_t *out, size_t out_cap,
		  size_t *out_len, int *detail);
	void (*session_free)(void *ctx, void *sess);
};

/*
 * Runs every vector set (built-in NIST/RFC/GB/T vectors, Wycheproof files
 * under vectors_dir/wycheproof, key formats, error paths), printing
 * "name: N tests, N passed, N failed, N skipped" per set. Returns the
 * number of failed tests.
 */
unsigned vsm_kat_run_all(const struct kat_backend *be, const char *vectors_dir);

/* The in-process backend over vsm_engine_soft (caller runs init/fini). */
extern const struct kat_backend vsm_kat_backend_engine;

#endif
