/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OpenSSL 3 software engine: vtable, init/fini, and dispatch of sessions
 * to the file that owns their service.
 */
#include <limits.h>

#include <openssl/err.h>
#include <openssl/rand.h>

#include "engine/soft.h"

int vsm_soft_engine_err(int *detail)
{
	ERR_clear_error();
	return soft_fail(detail, VSM_S_ERR, VSM_D_ENGINE);
}

static int soft_init(void)
{
	/*
	 * A missing algorithm is not fatal: it is simply not advertised, so a
	 * FIPS-only or trimmed OpenSSL still serves what it has.
	 */
	if (vsm_soft_digest_init() || vsm_soft_cipher_init() || vsm_soft_aead_init() ||
	    vsm_soft_akcipher_init())
		return VSM_S_ERR;
	vsm_soft_sm4gcm_init();
	ERR_clear_error();
	return VSM_S_OK;
}

static void soft_fini(void)
{
	vsm_soft_akcipher_fini();
	vsm_soft_aead_fini();
	vsm_soft_cipher_fini();
	vsm_soft_digest_fini();
}

static void soft_algs(uint8_t *bitmap)
{
	vsm_soft_cipher_algs(bitmap);
	vsm_soft_digest_algs(bitmap);
	vsm_soft_aead_algs(bitmap);
	vsm_soft_sm4gcm_algs(bitmap);
	vsm_soft_akcipher_algs(bitmap);
}

static int soft_session_new(const struct vsm_wire_session *p, void **sess, int *detail)
{
	struct soft_sess *s = NULL;
	int svc = vsm_alg_service((int)p->alg);
	int rc;

	*detail = VSM_D_NONE;
	if (svc < 0 || (uint32_t)svc != p->service)
		return VSM_S_NOTSUPP;
	switch (svc) {
	case VSM_SVC_CIPHER:
		rc = vsm_soft_cipher_new(p, &s, detail);
		break;
	case VSM_SVC_HASH:
		rc = vsm_soft_hash_new(p, &s, detail);
		break;
	case VSM_SVC_MAC:
		rc = vsm_soft_mac_new(p, &s, detail);
		break;
	case VSM_SVC_AEAD:
		if (p->alg == VSM_ALG_SM4_GCM)
			rc = vsm_soft_sm4gcm_new(p, &s, detail);
		else
			rc = vsm_soft_aead_new(p, &s, detail);
		break;
	case VSM_SVC_AKCIPHER:
		rc = vsm_soft_akcipher_new(p, &s, detail);
		break;
	default:
		rc = VSM_S_NOTSUPP;
		break;
	}
	ERR_clear_error();
	if (rc == VSM_S_OK)
		*sess = s;
	return rc;
}

static void soft_session_free(void *sess)
{
	struct soft_sess *s = sess;

	if (s)
		s->free(s);
}

static int soft_op(void *sess, const struct vsm_wire_op *op, uint8_t *out, size_t out_cap,
		   size_t *out_len, int *detail)
{
	struct soft_sess *s = sess;

	*out_len = 0;
	*detail = VSM_D_NONE;
	return s->op(s, op, out, out_cap, out_len, detail);
}

static int soft_random(uint8_t *buf, size_t len)
{
	while (len > 0) {
		int n = len > INT_MAX ? INT_MAX : (int)len;

		if (RAND_bytes(buf, n) != 1) {
			ERR_clear_error();
			return VSM_S_ERR;
		}
		buf += n;
		len -= (size_t)n;
	}
	return VSM_S_OK;
}

const struct vsm_engine vsm_engine_soft = {
	.name = "soft",
	.init = soft_init,
	.fini = soft_fini,
	.algs = soft_algs,
	.session_new = soft_session_new,
	.session_free = soft_session_free,
	.op = soft_op,
	.random = soft_random,
};
