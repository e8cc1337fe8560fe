/* SPDX-License-Identifier: Apache-2.0 */
#include "backend_vsm.h"

#include <stdint.h>
#include <stdio.h>

#include "harness.h"

static vsm_client *conn(struct vsm_kat_vsmd *x)
{
	if (!x->c)
		x->c = vh_connect(x->uri);
	return x->c;
}

/*
 * Map a libvsm result to the backend contract. A protocol error makes vsmd
 * close the connection after its answer, and a local error means libvsm
 * did not get an answer at all: either way, start a fresh connection for
 * the next request. A local error is reported as ERR/ENGINE, which no
 * vector expects, so it shows up as a failure.
 */
static int result(struct vsm_kat_vsmd *x, int rc, int *detail, const char *what)
{
	if (rc == 0)
		return VSM_S_OK;
	if (rc > 0) {
		*detail = vsm_last_detail(x->c);
		if (*detail == VSM_D_PROTOCOL || *detail == VSM_D_NO_HELLO) {
			vsm_close(x->c);
			x->c = NULL;
			x->reconnects++;
		}
		return rc;
	}
	fprintf(stderr, "backend vsmd: %s: local error %d (%s)\n", what, rc, vsm_strerror(rc));
	x->local_errors++;
	vsm_close(x->c);
	x->c = NULL;
	x->reconnects++;
	*detail = VSM_D_ENGINE;
	return VSM_S_ERR;
}

static int vsmd_session_new(void *ctx, const struct vsm_wire_session *p, void **sess, int *detail)
{
	struct vsm_kat_vsmd *x = ctx;
	struct vsm_session_params sp = {
		.service = (int)p->service,
		.alg = (int)p->alg,
		.key = p->key,
		.key_len = p->key_len,
		.padding = (int)p->padding,
		.hash = (int)p->hash,
		.mgf_hash = (int)p->mgf_hash,
		/* libvsm cannot say "salt 0": its 0 means digest length, like -1. */
		.salt_len = p->salt_len,
		.tag_len = p->tag_len,
		.flags = p->flags,
		.aux = p->aux,
		.aux_len = p->aux_len,
	};
	uint64_t h = 0;

	*detail = VSM_D_NONE;
	*sess = NULL;
	int st = result(x, vsm_session_create(conn(x), &sp, &h), detail, "session_create");
	if (st == VSM_S_OK)
		*sess = (void *)(uintptr_t)h;
	return st;
}

static int vsmd_op(void *ctx, void *sess, const struct vsm_wire_op *op, uint8_t *out,
		   size_t out_cap, size_t *out_len, int *detail)
{
	struct vsm_kat_vsmd *x = ctx;
	struct vsm_op o = {
		.session = (uint64_t)(uintptr_t)sess,
		.op = (int)op->op,
		.flags = op->flags,
		.iv = op->iv,
		.iv_len = op->iv_len,
		.aad = op->aad,
		.aad_len = op->aad_len,
		.src = op->src,
		.src_len = op->src_len,
		.aux = op->aux,
		.aux_len = op->aux_len,
	};

	*detail = VSM_D_NONE;
	/* libvsm offers the daemon exactly out_cap bytes (dst_len). */
	*out_len = out_cap;
	int st = result(x, vsm_op_run(conn(x), &o, out, out_len), detail, "op");
	if (st != VSM_S_OK && !(st == VSM_S_NOSPC && *detail == VSM_D_OUTPUT_SPACE))
		*out_len = 0;
	return st;
}

static void vsmd_session_free(void *ctx, void *sess)
{
	struct vsm_kat_vsmd *x = ctx;
	int detail;
	int st = result(x, vsm_session_destroy(conn(x), (uint64_t)(uintptr_t)sess), &detail,
			"session_destroy");
	VH_CHECK(st == VSM_S_OK, "destroying a session the runner created: %s/%s",
		 vsm_status_name(st), vsm_detail_name(detail));
}

void vsm_kat_backend_vsmd(struct kat_backend *be, struct vsm_kat_vsmd *x, const char *uri)
{
	*x = (struct vsm_kat_vsmd){.uri = uri};
	x->anchor = vh_connect(uri);
	conn(x);
	*be = (struct kat_backend){
		.name = "vsmd",
		.ctx = x,
		.remote = 1,
		.session_new = vsmd_session_new,
		.op = vsmd_op,
		.session_free = vsmd_session_free,
	};
}

void vsm_kat_backend_vsmd_close(struct vsm_kat_vsmd *x)
{
	vsm_close(x->c);
	vsm_close(x->anchor);
	x->c = x->anchor = NULL;
}
