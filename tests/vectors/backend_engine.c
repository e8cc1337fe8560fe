/* SPDX-License-Identifier: Apache-2.0 */
/* Known-answer backend that calls the software engine's vtable directly. */
#include "engine/engine.h"

#include "backend.h"

static int engine_session_new(void *ctx, const struct vsm_wire_session *p, void **sess, int *detail)
{
	*detail = VSM_D_NONE;
	return vsm_engine_soft.session_new(p, sess, detail);
}

static int engine_op(void *ctx, void *sess, const struct vsm_wire_op *op, uint8_t *out,
		     size_t out_cap, size_t *out_len, int *detail)
{
	*detail = VSM_D_NONE;
	return vsm_engine_soft.op(sess, op, out, out_cap, out_len, detail);
}

static void engine_session_free(void *ctx, void *sess)
{
	vsm_engine_soft.session_free(sess);
}

const struct kat_backend vsm_kat_backend_engine = {
	.name = "engine",
	.session_new = engine_session_new,
	.op = engine_op,
	.session_free = engine_session_free,
};
