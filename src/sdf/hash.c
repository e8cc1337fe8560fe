/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SDF_HashInit/Update/Final on a vsmd hash session. Updates are held here
 * up to SDF_HASH_BUF bytes and sent with VSM_OPF_MORE only when that fills,
 * so a small message costs one round trip at HashFinal. With a public key
 * (SM3 only), HashInit first has vsmd compute the SM2 Z value of that key
 * and ID, and the hash then runs over Z || M: the e that
 * SDF_InternalSign_ECC signs.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "sdf_int.h"

#define SM2_DEFAULT_ID "1234567812345678"
#define HASH_MAX       64u

static int hash_alg(unsigned sgd)
{
	switch (sgd) {
	case SGD_SM3:
		return VSM_ALG_SM3;
	case SGD_SHA1:
		return VSM_ALG_SHA1;
	case SGD_SHA256:
		return VSM_ALG_SHA256;
	default:
		return -1;
	}
}

/* One request: absorb (more) or finish into out. */
static int hash_send(struct sdf_session *s, const uint8_t *p, size_t len, bool more, uint8_t *out,
		     size_t *out_len)
{
	struct vsm_op o = {.session = s->hash_handle,
			   .op = VSM_OP_DIGEST,
			   .flags = more ? VSM_OPF_MORE : 0,
			   .src = p,
			   .src_len = len};
	size_t none = 0;
	int rc = vsm_op_run(s->c, &o, more ? NULL : out, more ? &none : out_len);

	s->hash_open = more && rc == 0;
	return rc;
}

void vsm_sdf_hash_reset(struct sdf_session *s)
{
	if (s->hash_open) {
		uint8_t out[HASH_MAX];
		size_t n = sizeof(out);

		hash_send(s, NULL, 0, false, out, &n);
	}
	s->hash_active = false;
	/* Bytes sent earlier were wiped as they went; only the held tail is left. */
	if (s->hash_buf)
		OPENSSL_cleanse(s->hash_buf, s->hash_len);
	s->hash_len = 0;
}

void vsm_sdf_hash_close(struct sdf_session *s)
{
	vsm_sdf_hash_reset(s);
	if (s->hash_alg)
		vsm_session_destroy(s->c, s->hash_handle);
	s->hash_alg = 0;
	free(s->hash_buf);
	s->hash_buf = NULL;
}

static int hash_fail(struct sdf_session *s, int rc)
{
	int sdr = vsm_sdf_rc(s, rc, SDF_X_GENERIC);

	vsm_sdf_hash_reset(s);
	return sdr;
}

int SDF_HashInit(void *hSessionHandle, unsigned int uiAlgID, ECCrefPublicKey *pucPublicKey,
		 unsigned char *pucID, unsigned int uiIDLength)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	int alg = hash_alg(uiAlgID);
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (alg < 0)
		return SDR_ALGNOTSUPPORT;
	if (pucPublicKey && alg != VSM_ALG_SM3)
		return SDR_INARGERR;
	if (!pucID && uiIDLength)
		return SDR_INARGERR;
	vsm_sdf_hash_reset(s);
	if (s->hash_alg != alg) {
		struct vsm_session_params p = {.service = VSM_SVC_HASH, .alg = alg};

		if (s->hash_alg)
			vsm_session_destroy(s->c, s->hash_handle);
		s->hash_alg = 0;
		rc = vsm_session_create(s->c, &p, &s->hash_handle);
		if (rc)
			return vsm_sdf_rc(s, rc, SDF_X_GENERIC);
		s->hash_alg = alg;
	}
	if (!s->hash_buf) {
		s->hash_buf = malloc(SDF_HASH_BUF);
		if (!s->hash_buf)
			return SDR_NOBUFFER;
	}
	if (pucPublicKey) {
		const uint8_t *id = pucID ? pucID : (const uint8_t *)SM2_DEFAULT_ID;
		size_t id_len = pucID ? uiIDLength : strlen(SM2_DEFAULT_ID);
		size_t zin_len, z_len = SDF_SM2_LEN;
		uint8_t *zin;

		rc = vsm_sdf_z_input(pucPublicKey, id, id_len, &zin, &zin_len);
		if (rc)
			return rc == SDR_KEYERR ? SDR_INARGERR : rc;
		rc = hash_send(s, zin, zin_len, false, s->hash_buf, &z_len);
		free(zin);
		if (rc)
			return hash_fail(s, rc);
		s->hash_len = z_len;
	}
	s->hash_active = true;
	return SDR_OK;
}

/* What one request can carry, and so what the buffer holds at most. */
static size_t hash_limit(const struct sdf_session *s)
{
	const struct vsm_wire_hello_resp *h = vsm_info(s->c);
	size_t max = h && h->max_msg > VSM_WIRE_OP_LEN + 64 ? h->max_msg - VSM_WIRE_OP_LEN
							    : SDF_HASH_BUF;

	return max < SDF_HASH_BUF ? max : SDF_HASH_BUF;
}

int SDF_HashUpdate(void *hSessionHandle, unsigned char *pucData, unsigned int uiDataLength)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	size_t max;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (!s->hash_active)
		return SDR_STEPERR;
	if (!pucData && uiDataLength)
		return SDR_INARGERR;
	max = hash_limit(s);
	/* Top the buffer up, send it when full and more follows, hold the tail. */
	while (uiDataLength) {
		size_t n = max - s->hash_len;

		if (n > uiDataLength)
			n = uiDataLength;
		memcpy(s->hash_buf + s->hash_len, pucData, n);
		s->hash_len += n;
		pucData += n;
		uiDataLength -= (unsigned)n;
		if (!uiDataLength)
			break;
		rc = hash_send(s, s->hash_buf, s->hash_len, true, NULL, NULL);
		if (rc)
			return hash_fail(s, rc);
		OPENSSL_cleanse(s->hash_buf, s->hash_len);
		s->hash_len = 0;
	}
	return SDR_OK;
}

int SDF_HashFinal(void *hSessionHandle, unsigned char *pucHash, unsigned int *puiHashLength)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	uint8_t out[HASH_MAX];
	size_t n = sizeof(out);
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (!s->hash_active)
		return SDR_STEPERR;
	if (!pucHash || !puiHashLength)
		return SDR_OUTARGERR;
	rc = hash_send(s, s->hash_buf, s->hash_len, false, out, &n);
	if (rc)
		return hash_fail(s, rc);
	memcpy(pucHash, out, n);
	*puiHashLength = (unsigned)n;
	vsm_sdf_hash_reset(s);
	return SDR_OK;
}
