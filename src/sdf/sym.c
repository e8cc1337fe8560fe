/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Symmetric operations on session keys: SDF_Encrypt/Decrypt/CalculateMAC,
 * their GM/T 0018-2023 multi-part forms, HMAC and SM4-GCM.
 *
 * As on a card, there is no padding: ECB, CBC and SM4-MAC take whole
 * blocks. CBC and CTR write the chaining value back into pucIV, so that
 * consecutive calls continue one stream. SM4-MAC is the CBC-MAC of GM/T
 * 0018: the last block of the SM4-CBC encryption, computed by vsmd.
 * Inputs larger than one vsmd message are cut into pieces here.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "sdf_int.h"

#define BLOCK	 16u
#define GCM_TAG	 16u
#define HMAC_MAX 64u

enum { MODE_ECB, MODE_CBC, MODE_CTR, MODE_MAC };

struct mode {
	int alg; /* vsm alg */
	int mode;
};

/* SDR_ALGNOTSUPPORT for another cipher; SDR_ALGMODNOTSUPPORT for an SM4 mode vsmd lacks. */
static int cipher_mode(unsigned sgd, struct mode *m)
{
	switch (sgd) {
	case SGD_SM4_ECB:
		*m = (struct mode){VSM_ALG_SM4_ECB, MODE_ECB};
		return SDR_OK;
	case SGD_SM4_CBC:
		*m = (struct mode){VSM_ALG_SM4_CBC, MODE_CBC};
		return SDR_OK;
	case SGD_SM4_CTR:
		*m = (struct mode){VSM_ALG_SM4_CTR, MODE_CTR};
		return SDR_OK;
	case SGD_SM4_MAC:
		*m = (struct mode){VSM_ALG_SM4_CBC, MODE_MAC};
		return SDR_OK;
	default:
		return (sgd & 0xffffff00u) == SGD_SM4 ? SDR_ALGMODNOTSUPPORT : SDR_ALGNOTSUPPORT;
	}
}

/* The largest whole-block piece that fits one request with its IV. */
static size_t piece_max(const struct sdf_session *s)
{
	const struct vsm_wire_hello_resp *h = vsm_info(s->c);
	size_t max = h && h->max_msg > VSM_WIRE_OP_LEN + 2 * BLOCK ? h->max_msg : 65536;

	return (max - VSM_WIRE_OP_LEN - BLOCK) & ~(size_t)(BLOCK - 1);
}

static void ctr_add(uint8_t iv[BLOCK], size_t blocks)
{
	for (int i = BLOCK - 1; i >= 0 && blocks; i--) {
		blocks += iv[i];
		iv[i] = (uint8_t)blocks;
		blocks >>= 8;
	}
}

/*
 * Run len bytes through a cipher session in pieces, carrying iv (CBC, CTR)
 * from piece to piece and leaving the next chaining value in it.
 */
static int cipher_run(struct sdf_session *s, struct sdf_key *k, const struct mode *m, bool enc,
		      uint8_t *iv, const uint8_t *in, size_t len, uint8_t *out)
{
	struct vsm_session_params p = {.service = VSM_SVC_CIPHER, .alg = m->alg};
	size_t max = piece_max(s), done = 0;
	uint8_t next[BLOCK];
	uint64_t h;
	int rc = vsm_sdf_keyobj(s, &p, k->obj, &h, SDF_X_SYM);

	while (!rc && done < len) {
		size_t n = len - done < max ? len - done : max, got = n;
		bool has_iv = m->mode != MODE_ECB;

		/* Decrypting CBC in place overwrites the block the next piece chains from. */
		if (m->mode != MODE_ECB && !enc && m->mode != MODE_CTR)
			memcpy(next, in + done + n - BLOCK, BLOCK);
		rc = (enc ? vsm_encrypt : vsm_decrypt)(s->c, h, has_iv ? iv : NULL,
						       has_iv ? BLOCK : 0, in + done, n, out + done,
						       &got);
		if (rc)
			return vsm_sdf_rc(s, rc, SDF_X_SYM);
		if (got != n)
			return SDR_SYMOPERR;
		if (m->mode == MODE_CBC || m->mode == MODE_MAC)
			memcpy(iv, enc ? out + done + n - BLOCK : next, BLOCK);
		else if (m->mode == MODE_CTR)
			ctr_add(iv, (n + BLOCK - 1) / BLOCK);
		done += n;
	}
	return rc;
}

static bool len_ok(const struct mode *m, size_t len)
{
	return len > 0 && (m->mode == MODE_CTR || len % BLOCK == 0);
}

static int crypt(void *hs, void *hk, unsigned alg, uint8_t *iv, const uint8_t *in, unsigned len,
		 uint8_t *out, unsigned *out_len, bool enc)
{
	struct sdf_session *s = vsm_sdf_session(hs);
	uint8_t zero[BLOCK] = {0};
	struct sdf_key *k;
	struct mode m;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	k = vsm_sdf_key(s, hk);
	if (!k)
		return SDR_KEYNOTEXIST;
	rc = cipher_mode(alg, &m);
	if (rc || m.mode == MODE_MAC)
		return rc ? rc : SDR_ALGMODNOTSUPPORT;
	if (!in || !len_ok(&m, len) || (m.mode != MODE_ECB && !iv))
		return SDR_INARGERR;
	if (!out || !out_len)
		return SDR_OUTARGERR;
	rc = cipher_run(s, k, &m, enc, iv ? iv : zero, in, len, out);
	if (rc)
		return rc;
	*out_len = len;
	return SDR_OK;
}

int SDF_Encrypt(void *hSessionHandle, void *hKeyHandle, unsigned int uiAlgID, unsigned char *pucIV,
		unsigned char *pucData, unsigned int uiDataLength, unsigned char *pucEncData,
		unsigned int *puiEncDataLength)
{
	return crypt(hSessionHandle, hKeyHandle, uiAlgID, pucIV, pucData, uiDataLength, pucEncData,
		     puiEncDataLength, true);
}

int SDF_Decrypt(void *hSessionHandle, void *hKeyHandle, unsigned int uiAlgID, unsigned char *pucIV,
		unsigned char *pucEncData, unsigned int uiEncDataLength, unsigned char *pucData,
		unsigned int *puiDataLength)
{
	return crypt(hSessionHandle, hKeyHandle, uiAlgID, pucIV, pucEncData, uiEncDataLength,
		     pucData, puiDataLength, false);
}

/* CBC-MAC: encrypt into scratch, keep only the chaining value. */
static int mac_blocks(struct sdf_session *s, struct sdf_key *k, uint8_t iv[BLOCK],
		      const uint8_t *in, size_t len)
{
	static const struct mode m = {VSM_ALG_SM4_CBC, MODE_MAC};
	uint8_t *scratch;
	int rc;

	if (!len)
		return SDR_OK;
	scratch = malloc(len);
	if (!scratch)
		return SDR_NOBUFFER;
	rc = cipher_run(s, k, &m, true, iv, in, len, scratch);
	free(scratch);
	return rc == SDR_SYMOPERR ? SDR_MACERR : rc;
}

int SDF_CalculateMAC(void *hSessionHandle, void *hKeyHandle, unsigned int uiAlgID,
		     unsigned char *pucIV, unsigned char *pucData, unsigned int uiDataLength,
		     unsigned char *pucMAC, unsigned int *puiMACLength)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	uint8_t iv[BLOCK] = {0};
	struct sdf_key *k;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	k = vsm_sdf_key(s, hKeyHandle);
	if (!k)
		return SDR_KEYNOTEXIST;
	if (uiAlgID != SGD_SM4_MAC) {
		struct mode m;

		rc = cipher_mode(uiAlgID, &m);
		return rc ? rc : SDR_ALGMODNOTSUPPORT;
	}
	if (!pucData || uiDataLength == 0 || uiDataLength % BLOCK)
		return SDR_INARGERR;
	if (!pucMAC || !puiMACLength)
		return SDR_OUTARGERR;
	if (pucIV)
		memcpy(iv, pucIV, BLOCK);
	rc = mac_blocks(s, k, iv, pucData, uiDataLength);
	if (rc)
		return rc;
	memcpy(pucMAC, iv, BLOCK);
	if (pucIV)
		memcpy(pucIV, iv, BLOCK);
	*puiMACLength = BLOCK;
	return SDR_OK;
}

/* ---- multi-part (GM/T 0018-2023) ---- */

void vsm_sdf_sym_reset(struct sdf_session *s)
{
	if (s->hmac_active) {
		/* Finish the open MAC chain so the cached session starts clean next time. */
		uint8_t out[HMAC_MAX];
		size_t n = sizeof(out);
		struct vsm_op o = {.session = s->hmac_handle, .op = VSM_OP_DIGEST};

		vsm_op_run(s->c, &o, out, &n);
		OPENSSL_cleanse(out, sizeof(out));
		s->hmac_active = false;
	}
	s->mp_kind = SDF_MP_NONE;
	s->mp_key = NULL;
	OPENSSL_cleanse(s->mp_iv, sizeof(s->mp_iv));
	OPENSSL_cleanse(s->mp_part, sizeof(s->mp_part));
	s->mp_part_len = 0;
}

static int mp_init(void *hs, void *hk, unsigned alg, const uint8_t *iv, unsigned iv_len, int kind)
{
	struct sdf_session *s = vsm_sdf_session(hs);
	struct sdf_key *k;
	struct mode m;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	k = vsm_sdf_key(s, hk);
	if (!k)
		return SDR_KEYNOTEXIST;
	rc = cipher_mode(alg, &m);
	if (rc)
		return rc;
	if ((kind == SDF_MP_MAC) != (m.mode == MODE_MAC))
		return SDR_ALGMODNOTSUPPORT;
	if (m.mode != MODE_ECB && (!iv || iv_len != BLOCK) && !(m.mode == MODE_MAC && !iv))
		return SDR_INARGERR;
	vsm_sdf_sym_reset(s);
	s->mp_kind = kind;
	s->mp_key = k;
	s->mp_alg = m.alg;
	s->mp_mode = m.mode;
	if (iv && m.mode != MODE_ECB)
		memcpy(s->mp_iv, iv, BLOCK);
	return SDR_OK;
}

/*
 * Whole blocks of (held part || in) go through now; the rest waits. CTR
 * keeps a partial block too, so that the counter stays block-aligned.
 */
static int mp_update(void *hs, int kind, const uint8_t *in, unsigned len, uint8_t *out,
		     unsigned *out_len)
{
	struct sdf_session *s = vsm_sdf_session(hs);
	struct mode m;
	size_t total, whole, from_in;
	uint8_t *buf;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (s->mp_kind != kind)
		return SDR_STEPERR;
	if (!in && len)
		return SDR_INARGERR;
	if (kind != SDF_MP_MAC && (!out || !out_len))
		return SDR_OUTARGERR;
	if (!len) {
		if (out_len)
			*out_len = 0;
		return SDR_OK;
	}
	m = (struct mode){s->mp_alg, s->mp_mode};
	total = s->mp_part_len + len;
	whole = total & ~(size_t)(BLOCK - 1);
	if (whole) {
		from_in = whole - s->mp_part_len;
		buf = malloc(whole);
		if (!buf)
			return SDR_NOBUFFER;
		memcpy(buf, s->mp_part, s->mp_part_len);
		memcpy(buf + s->mp_part_len, in, from_in);
		if (kind == SDF_MP_MAC)
			rc = mac_blocks(s, s->mp_key, s->mp_iv, buf, whole);
		else
			rc = cipher_run(s, s->mp_key, &m, kind == SDF_MP_ENC, s->mp_iv, buf, whole,
					out);
		OPENSSL_clear_free(buf, whole);
		if (rc) {
			vsm_sdf_sym_reset(s);
			return rc;
		}
		s->mp_part_len = total - whole;
		memcpy(s->mp_part, in + from_in, s->mp_part_len);
	} else {
		memcpy(s->mp_part + s->mp_part_len, in, len);
		s->mp_part_len = total;
	}
	if (out_len)
		*out_len = (unsigned)whole;
	return SDR_OK;
}

static int mp_final(void *hs, int kind, uint8_t *out, unsigned *out_len)
{
	struct sdf_session *s = vsm_sdf_session(hs);
	struct mode m;
	int rc = SDR_OK;

	if (!s)
		return SDR_OPENSESSION;
	if (s->mp_kind != kind)
		return SDR_STEPERR;
	if (!out_len || (!out && (kind == SDF_MP_MAC || s->mp_part_len)))
		return SDR_OUTARGERR;
	m = (struct mode){s->mp_alg, s->mp_mode};
	if (kind == SDF_MP_MAC) {
		if (s->mp_part_len)
			rc = SDR_INARGERR;
		else {
			memcpy(out, s->mp_iv, BLOCK);
			*out_len = BLOCK;
		}
	} else if (s->mp_part_len) {
		/* Only CTR may end on a partial block: there is no padding. */
		if (m.mode != MODE_CTR)
			rc = SDR_INARGERR;
		else
			rc = cipher_run(s, s->mp_key, &m, kind == SDF_MP_ENC, s->mp_iv, s->mp_part,
					s->mp_part_len, out);
		if (!rc)
			*out_len = (unsigned)s->mp_part_len;
	} else {
		*out_len = 0;
	}
	vsm_sdf_sym_reset(s);
	return rc;
}

int SDF_EncryptInit(void *hSessionHandle, void *hKeyHandle, unsigned int uiAlgID,
		    unsigned char *pucIV, unsigned int uiIVLength)
{
	return mp_init(hSessionHandle, hKeyHandle, uiAlgID, pucIV, uiIVLength, SDF_MP_ENC);
}

int SDF_EncryptUpdate(void *hSessionHandle, unsigned char *pucData, unsigned int uiDataLength,
		      unsigned char *pucEncData, unsigned int *puiEncDataLength)
{
	return mp_update(hSessionHandle, SDF_MP_ENC, pucData, uiDataLength, pucEncData,
			 puiEncDataLength);
}

int SDF_EncryptFinal(void *hSessionHandle, unsigned char *pucLastEncData,
		     unsigned int *puiLastEncDataLength)
{
	return mp_final(hSessionHandle, SDF_MP_ENC, pucLastEncData, puiLastEncDataLength);
}

int SDF_DecryptInit(void *hSessionHandle, void *hKeyHandle, unsigned int uiAlgID,
		    unsigned char *pucIV, unsigned int uiIVLength)
{
	return mp_init(hSessionHandle, hKeyHandle, uiAlgID, pucIV, uiIVLength, SDF_MP_DEC);
}

int SDF_DecryptUpdate(void *hSessionHandle, unsigned char *pucEncData, unsigned int uiEncDataLength,
		      unsigned char *pucData, unsigned int *puiDataLength)
{
	return mp_update(hSessionHandle, SDF_MP_DEC, pucEncData, uiEncDataLength, pucData,
			 puiDataLength);
}

int SDF_DecryptFinal(void *hSessionHandle, unsigned char *pucLastData,
		     unsigned int *puiLastDataLength)
{
	return mp_final(hSessionHandle, SDF_MP_DEC, pucLastData, puiLastDataLength);
}

int SDF_CalculateMACInit(void *hSessionHandle, void *hKeyHandle, unsigned int uiAlgID,
			 unsigned char *pucIV, unsigned int uiIVLength)
{
	return mp_init(hSessionHandle, hKeyHandle, uiAlgID, pucIV, uiIVLength, SDF_MP_MAC);
}

int SDF_CalculateMACUpdate(void *hSessionHandle, unsigned char *pucData, unsigned int uiDataLength)
{
	return mp_update(hSessionHandle, SDF_MP_MAC, pucData, uiDataLength, NULL, NULL);
}

int SDF_CalculateMACFinal(void *hSessionHandle, unsigned char *pucMac, unsigned int *puiMacLength)
{
	return mp_final(hSessionHandle, SDF_MP_MAC, pucMac, puiMacLength);
}

/* ---- HMAC (GM/T 0018-2023): uiAlgID names the hash ---- */

static int hmac_alg(unsigned sgd)
{
	switch (sgd) {
	case SGD_SM3:
		return VSM_ALG_HMAC_SM3;
	case SGD_SHA1:
		return VSM_ALG_HMAC_SHA1;
	case SGD_SHA256:
		return VSM_ALG_HMAC_SHA256;
	default:
		return -1;
	}
}

int SDF_HMACInit(void *hSessionHandle, void *hKeyHandle, unsigned int uiAlgID)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	struct vsm_session_params p = {.service = VSM_SVC_MAC};
	struct sdf_key *k;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	k = vsm_sdf_key(s, hKeyHandle);
	if (!k)
		return SDR_KEYNOTEXIST;
	p.alg = hmac_alg(uiAlgID);
	if (p.alg < 0)
		return SDR_ALGNOTSUPPORT;
	vsm_sdf_sym_reset(s);
	rc = vsm_sdf_keyobj(s, &p, k->obj, &s->hmac_handle, SDF_X_MAC);
	if (rc)
		return rc;
	s->hmac_active = true;
	return SDR_OK;
}

int SDF_HMACUpdate(void *hSessionHandle, unsigned char *pucData, unsigned int uiDataLength)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	struct vsm_op o = {.op = VSM_OP_DIGEST, .flags = VSM_OPF_MORE};
	size_t n = 0, max, done = 0;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (!s->hmac_active)
		return SDR_STEPERR;
	if (!pucData && uiDataLength)
		return SDR_INARGERR;
	max = piece_max(s);
	o.session = s->hmac_handle;
	while (done < uiDataLength) {
		o.src = pucData + done;
		o.src_len = uiDataLength - done < max ? uiDataLength - done : max;
		n = 0;
		rc = vsm_op_run(s->c, &o, NULL, &n);
		if (rc) {
			s->hmac_active = false;
			return vsm_sdf_rc(s, rc, SDF_X_MAC);
		}
		done += o.src_len;
	}
	return SDR_OK;
}

int SDF_HMACFinal(void *hSessionHandle, unsigned char *pucHMac, unsigned int *puiMacLength)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	struct vsm_op o = {.op = VSM_OP_DIGEST};
	uint8_t out[HMAC_MAX];
	size_t n = sizeof(out);
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (!s->hmac_active)
		return SDR_STEPERR;
	if (!pucHMac || !puiMacLength)
		return SDR_OUTARGERR;
	o.session = s->hmac_handle;
	rc = vsm_op_run(s->c, &o, out, &n);
	s->hmac_active = false;
	if (rc)
		return vsm_sdf_rc(s, rc, SDF_X_MAC);
	memcpy(pucHMac, out, n);
	*puiMacLength = (unsigned)n;
	OPENSSL_cleanse(out, sizeof(out));
	return SDR_OK;
}

/* ---- SM4-GCM (GM/T 0018-2023 AuthEnc/AuthDec), 16-byte tags ---- */

static int gcm_session(struct sdf_session *s, void *hk, unsigned alg, uint64_t *h, int ctx)
{
	struct vsm_session_params p = {
		.service = VSM_SVC_AEAD, .alg = VSM_ALG_SM4_GCM, .tag_len = GCM_TAG};
	struct sdf_key *k = vsm_sdf_key(s, hk);

	if (!k)
		return SDR_KEYNOTEXIST;
	if (alg != SGD_SM4_GCM)
		return (alg & 0xffu) == 0 && (alg & SGD_SM4) ? SDR_ALGMODNOTSUPPORT
							     : SDR_ALGNOTSUPPORT;
	return vsm_sdf_keyobj(s, &p, k->obj, h, ctx);
}

int SDF_AuthEnc(void *hSessionHandle, void *hKeyHandle, unsigned int uiAlgID,
		unsigned char *pucStartVar, unsigned int uiStartVarLength, unsigned char *pucAad,
		unsigned int uiAadLength, unsigned char *pucData, unsigned int uiDataLength,
		unsigned char *pucEncData, unsigned int *puiEncDataLength,
		unsigned char *pucAuthData, unsigned int *puiAuthDataLength)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	struct vsm_op o = {.op = VSM_OP_ENCRYPT};
	size_t n = (size_t)uiDataLength + GCM_TAG;
	uint8_t *out;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (!pucStartVar || !uiStartVarLength || (!pucAad && uiAadLength) ||
	    (!pucData && uiDataLength))
		return SDR_INARGERR;
	if ((!pucEncData && uiDataLength) || !puiEncDataLength || !pucAuthData ||
	    !puiAuthDataLength)
		return SDR_OUTARGERR;
	rc = gcm_session(s, hKeyHandle, uiAlgID, &o.session, SDF_X_SYM);
	if (rc)
		return rc;
	out = malloc(n);
	if (!out)
		return SDR_NOBUFFER;
	o.iv = pucStartVar;
	o.iv_len = uiStartVarLength;
	o.aad = pucAad;
	o.aad_len = uiAadLength;
	o.src = pucData;
	o.src_len = uiDataLength;
	rc = vsm_op_run(s->c, &o, out, &n);
	if (!rc && n != (size_t)uiDataLength + GCM_TAG)
		rc = SDR_SYMOPERR;
	else if (!rc) {
		if (uiDataLength)
			memcpy(pucEncData, out, uiDataLength);
		memcpy(pucAuthData, out + uiDataLength, GCM_TAG);
		*puiEncDataLength = uiDataLength;
		*puiAuthDataLength = GCM_TAG;
	} else
		rc = vsm_sdf_rc(s, rc, SDF_X_SYM);
	free(out);
	return rc;
}

int SDF_AuthDec(void *hSessionHandle, void *hKeyHandle, unsigned int uiAlgID,
		unsigned char *pucStartVar, unsigned int uiStartVarLength, unsigned char *pucAad,
		unsigned int uiAadLength, unsigned char *pucAuthData,
		unsigned int *puiAuthDataLength, unsigned char *pucEncData,
		unsigned int uiEncDataLength, unsigned char *pucData, unsigned int *puiDataLength)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	struct vsm_op o = {.op = VSM_OP_DECRYPT};
	size_t in_len = (size_t)uiEncDataLength + GCM_TAG, n = uiEncDataLength;
	uint8_t *in;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (!pucStartVar || !uiStartVarLength || (!pucAad && uiAadLength) || !pucAuthData ||
	    !puiAuthDataLength || *puiAuthDataLength != GCM_TAG || (!pucEncData && uiEncDataLength))
		return SDR_INARGERR;
	if ((!pucData && uiEncDataLength) || !puiDataLength)
		return SDR_OUTARGERR;
	rc = gcm_session(s, hKeyHandle, uiAlgID, &o.session, SDF_X_AEAD_DEC);
	if (rc)
		return rc;
	in = malloc(in_len);
	if (!in)
		return SDR_NOBUFFER;
	if (uiEncDataLength)
		memcpy(in, pucEncData, uiEncDataLength);
	memcpy(in + uiEncDataLength, pucAuthData, GCM_TAG);
	o.iv = pucStartVar;
	o.iv_len = uiStartVarLength;
	o.aad = pucAad;
	o.aad_len = uiAadLength;
	o.src = in;
	o.src_len = in_len;
	rc = vsm_op_run(s->c, &o, pucData, &n);
	free(in);
	if (rc)
		return vsm_sdf_rc(s, rc, SDF_X_AEAD_DEC);
	*puiDataLength = (unsigned)n;
	return SDR_OK;
}
