/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The engine vtable. An engine owns algorithm implementations; vsmd routes
 * each algorithm to one engine (src/engine/router.c). Engines see only
 * decoded, length-checked requests (struct vsm_wire_*); they still check
 * algorithm-specific lengths (IV size, key size, tag size) themselves.
 *
 * Threading: init/fini run once, single-threaded. session_new, session_free
 * and random may run on any worker concurrently. op on one session is never
 * called concurrently (the daemon holds the session's lock), so an engine may
 * keep and reuse contexts in its session state without locking.
 *
 * Status contract: return VSM_S_* and set *detail to a VSM_D_* code when not
 * OK. Key material an engine copies must be wiped (OPENSSL_cleanse) when the
 * session is freed.
 */
#ifndef VSM_ENGINE_H
#define VSM_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <vsm/wire.h>

struct vsm_engine {
	const char *name;
	int (*init)(void);
	void (*fini)(void);
	/* Set bit n of bitmap (VSM_ALG__MAX/8 bytes) for each supported alg. */
	void (*algs)(uint8_t *bitmap);
	int (*session_new)(const struct vsm_wire_session *p, void **sess, int *detail);
	void (*session_free)(void *sess);
	/*
	 * Run op, writing at most out_cap bytes to out and the result length to
	 * *out_len. If out_cap is too small: VSM_S_NOSPC, VSM_D_OUTPUT_SPACE,
	 * and *out_len set to the size needed. VERIFY (and AEAD decrypt) that
	 * fails authentication: VSM_S_BADMSG, VSM_D_AUTH_FAILED.
	 */
	int (*op)(void *sess, const struct vsm_wire_op *op, uint8_t *out, size_t out_cap,
		  size_t *out_len, int *detail);
	int (*random)(uint8_t *buf, size_t len);
};

/* OpenSSL 3 software engine (SM4-GCM through libgcrypt: OpenSSL 3.0 lacks it). */
extern const struct vsm_engine vsm_engine_soft;

/* Router: which engine serves an algorithm. NULL if none. */
int vsm_router_init(void);
void vsm_router_fini(void);
const struct vsm_engine *vsm_router_get(int alg);
void vsm_router_algs(uint8_t *bitmap);

#endif
