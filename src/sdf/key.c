/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key management: public keys of internal key pairs, key pairs for the
 * caller, session keys (key objects in vsmd, wrapped for export under an
 * internal or external public key or a KEK), digital envelopes and SM2 key
 * agreement. A key handle is an sdf_key of its session, checked against the
 * session's list before use.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "sdf_int.h"

#define SKEY_MAX_BITS 1024u
#define POINT_LEN     65u

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

struct sdf_key *vsm_sdf_key(struct sdf_session *s, void *h)
{
	for (struct sdf_key *k = s->keys; k; k = k->next)
		if (k == h && k->magic == SDF_KEY_MAGIC)
			return k;
	return NULL;
}

static int key_new(struct sdf_session *s, uint64_t obj, unsigned bits, void **out)
{
	struct sdf_key *k = calloc(1, sizeof(*k));

	if (!k) {
		struct vsm_wire_key req = {.kop = VSM_KOP_SKEY_DESTROY, .handle = obj};

		vsm_key_call(s->c, &req, NULL, NULL);
		return SDR_NOBUFFER;
	}
	k->magic = SDF_KEY_MAGIC;
	k->obj = obj;
	k->bits = bits;
	k->next = s->keys;
	s->keys = k;
	*out = k;
	return SDR_OK;
}

static void key_unlink(struct sdf_session *s, struct sdf_key *k)
{
	for (struct sdf_key **pp = &s->keys; *pp; pp = &(*pp)->next)
		if (*pp == k) {
			*pp = k->next;
			break;
		}
	k->magic = 0;
	free(k);
}

void vsm_sdf_keys_free(struct sdf_session *s)
{
	while (s->keys) {
		struct vsm_wire_key req = {.kop = VSM_KOP_SKEY_DESTROY, .handle = s->keys->obj};

		vsm_key_call(s->c, &req, NULL, NULL);
		key_unlink(s, s->keys);
	}
	while (s->agreements) {
		struct sdf_agreement *a = s->agreements;
		/* An agreement never finished: vsmd holds it like a key object. */
		struct vsm_wire_key req = {.kop = VSM_KOP_SKEY_DESTROY, .handle = a->handle};

		vsm_key_call(s->c, &req, NULL, NULL);
		s->agreements = a->next;
		a->magic = 0;
		free(a);
	}
}

/* Session keys: SM4 for 128 bits, AES for 192/256, otherwise a generic secret. */
static int skey_type(unsigned bits)
{
	if (bits == 128)
		return VSM_KT_SM4;
	if (bits == 192 || bits == 256)
		return VSM_KT_AES;
	return VSM_KT_GENERIC;
}

static bool skey_bits_ok(unsigned bits)
{
	return bits >= 64 && bits <= SKEY_MAX_BITS && bits % 8 == 0;
}

/* The password of an index's access right, if any, as the "a" field. */
static void with_password(const struct sdf_session *s, uint32_t index, struct vsm_wire_key *req)
{
	const struct sdf_right *r = vsm_sdf_right(s, index);

	if (r) {
		req->a = r->pw;
		req->a_len = (uint32_t)r->pw_len;
	}
}

/*
 * SKEY_GENERATE: a new key object, handed back wrapped as req says. Returns
 * the wrapped bytes in a malloc'ed *out.
 */
static int skey_generate(struct sdf_session *s, struct vsm_wire_key *req, uint8_t **out,
			 size_t *out_len, void **ph)
{
	size_t cap = 8 + 4096, n = cap;
	uint8_t *buf = malloc(cap);
	int rc;

	if (!buf)
		return SDR_NOBUFFER;
	req->kop = VSM_KOP_SKEY_GENERATE;
	req->type = (uint32_t)skey_type(req->bits);
	rc = vsm_key_call(s->c, req, buf, &n);
	if (rc) {
		free(buf);
		return vsm_sdf_rc(s, rc, SDF_X_KEY);
	}
	if (n < 8 + 1) {
		free(buf);
		return SDR_COMMFAIL;
	}
	rc = key_new(s, get_u64(buf), req->bits, ph);
	if (rc) {
		free(buf);
		return rc;
	}
	memmove(buf, buf + 8, n - 8);
	*out = buf;
	*out_len = n - 8;
	return SDR_OK;
}

/* SKEY_IMPORT or AGREE_FINISH: a response that starts with a key-object handle. */
static int keyobj_call(struct sdf_session *s, struct vsm_wire_key *req, unsigned bits,
		       uint8_t *extra, size_t extra_len, void **ph)
{
	uint8_t buf[8 + 2 * POINT_LEN];
	size_t n = 8 + extra_len;
	int rc = vsm_key_call(s->c, req, buf, &n);

	if (rc)
		return vsm_sdf_rc(s, rc, SDF_X_KEY);
	if (n != 8 + extra_len)
		return SDR_COMMFAIL;
	if (extra_len)
		memcpy(extra, buf + 8, extra_len);
	return key_new(s, get_u64(buf), bits, ph);
}

static int export_public(void *hs, int usage, unsigned idx, ECCrefPublicKey *ecc,
			 RSArefPublicKey *rsa)
{
	struct sdf_session *s = vsm_sdf_session(hs);
	uint8_t der[2048];
	size_t n = sizeof(der);
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (!ecc && !rsa)
		return SDR_OUTARGERR;
	if (idx == 0)
		return SDR_INARGERR;
	rc = vsm_key_public(s->c, usage, idx, der, &n);
	if (rc)
		return vsm_sdf_rc(s, rc, SDF_X_KEY);
	return ecc ? vsm_sdf_spki_to_ecc_pub(der, n, ecc) : vsm_sdf_spki_to_rsa_pub(der, n, rsa);
}

int SDF_ExportSignPublicKey_RSA(void *hSessionHandle, unsigned int uiKeyIndex,
				RSArefPublicKey *pucPublicKey)
{
	return export_public(hSessionHandle, VSM_KU_SIGN, uiKeyIndex, NULL, pucPublicKey);
}

int SDF_ExportEncPublicKey_RSA(void *hSessionHandle, unsigned int uiKeyIndex,
			       RSArefPublicKey *pucPublicKey)
{
	return export_public(hSessionHandle, VSM_KU_ENC, uiKeyIndex, NULL, pucPublicKey);
}

int SDF_ExportSignPublicKey_ECC(void *hSessionHandle, unsigned int uiKeyIndex,
				ECCrefPublicKey *pucPublicKey)
{
	return export_public(hSessionHandle, VSM_KU_SIGN, uiKeyIndex, pucPublicKey, NULL);
}

int SDF_ExportEncPublicKey_ECC(void *hSessionHandle, unsigned int uiKeyIndex,
			       ECCrefPublicKey *pucPublicKey)
{
	return export_public(hSessionHandle, VSM_KU_ENC, uiKeyIndex, pucPublicKey, NULL);
}

int SDF_GenerateKeyPair_RSA(void *hSessionHandle, unsigned int uiKeyBits,
			    RSArefPublicKey *pucPublicKey, RSArefPrivateKey *pucPrivateKey)
{
	if (!vsm_sdf_session(hSessionHandle))
		return SDR_OPENSESSION;
	if (!pucPublicKey || !pucPrivateKey)
		return SDR_OUTARGERR;
	return vsm_sdf_gen_rsa(uiKeyBits, pucPublicKey, pucPrivateKey);
}

int SDF_GenerateKeyPair_ECC(void *hSessionHandle, unsigned int uiAlgID, unsigned int uiKeyBits,
			    ECCrefPublicKey *pucPublicKey, ECCrefPrivateKey *pucPrivateKey)
{
	if (!vsm_sdf_session(hSessionHandle))
		return SDR_OPENSESSION;
	if (uiAlgID != SGD_SM2 && uiAlgID != SGD_SM2_1 && uiAlgID != SGD_SM2_2 &&
	    uiAlgID != SGD_SM2_3)
		return SDR_ALGNOTSUPPORT;
	if (uiKeyBits != SDF_SM2_BITS)
		return SDR_INARGERR;
	if (!pucPublicKey || !pucPrivateKey)
		return SDR_OUTARGERR;
	return vsm_sdf_gen_sm2(pucPublicKey, pucPrivateKey);
}

int SDF_GenerateKeyWithIPK_RSA(void *hSessionHandle, unsigned int uiIPKIndex,
			       unsigned int uiKeyBits, unsigned char *pucKey,
			       unsigned int *puiKeyLength, void **phKeyHandle)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	struct vsm_wire_key req = {.usage = VSM_KU_ENC, .index = uiIPKIndex, .bits = uiKeyBits};
	uint8_t *w;
	size_t n;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (uiIPKIndex == 0 || !skey_bits_ok(uiKeyBits))
		return SDR_INARGERR;
	if (!pucKey || !puiKeyLength || !phKeyHandle)
		return SDR_OUTARGERR;
	rc = skey_generate(s, &req, &w, &n, phKeyHandle);
	if (rc)
		return rc;
	memcpy(pucKey, w, n);
	*puiKeyLength = (unsigned)n;
	free(w);
	return SDR_OK;
}

int SDF_GenerateKeyWithEPK_RSA(void *hSessionHandle, unsigned int uiKeyBits,
			       RSArefPublicKey *pucPublicKey, unsigned char *pucKey,
			       unsigned int *puiKeyLength, void **phKeyHandle)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	struct vsm_wire_key req = {.bits = uiKeyBits};
	uint8_t *spki, *w;
	size_t spki_len, n;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (!pucPublicKey || !skey_bits_ok(uiKeyBits))
		return SDR_INARGERR;
	if (!pucKey || !puiKeyLength || !phKeyHandle)
		return SDR_OUTARGERR;
	rc = vsm_sdf_rsa_pub_to_spki(pucPublicKey, &spki, &spki_len);
	if (rc)
		return rc;
	req.a = spki;
	req.a_len = (uint32_t)spki_len;
	rc = skey_generate(s, &req, &w, &n, phKeyHandle);
	OPENSSL_free(spki);
	if (rc)
		return rc;
	memcpy(pucKey, w, n);
	*puiKeyLength = (unsigned)n;
	free(w);
	return SDR_OK;
}

/* The length of an unwrapped key is known only to vsmd: a generic key of any size. */
static int import_wrapped(struct sdf_session *s, struct vsm_wire_key *req, const uint8_t *w,
			  size_t w_len, void **ph)
{
	req->kop = VSM_KOP_SKEY_IMPORT;
	req->type = VSM_KT_GENERIC;
	req->bits = 0;
	req->b = w;
	req->b_len = (uint32_t)w_len;
	return keyobj_call(s, req, 0, NULL, 0, ph);
}

int SDF_ImportKeyWithISK_RSA(void *hSessionHandle, unsigned int uiISKIndex, unsigned char *pucKey,
			     unsigned int uiKeyLength, void **phKeyHandle)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	struct vsm_wire_key req = {.usage = VSM_KU_ENC, .index = uiISKIndex};

	if (!s)
		return SDR_OPENSESSION;
	if (uiISKIndex == 0 || !pucKey || uiKeyLength == 0)
		return SDR_INARGERR;
	if (!phKeyHandle)
		return SDR_OUTARGERR;
	with_password(s, uiISKIndex, &req);
	return import_wrapped(s, &req, pucKey, uiKeyLength, phKeyHandle);
}

int SDF_GenerateKeyWithIPK_ECC(void *hSessionHandle, unsigned int uiIPKIndex,
			       unsigned int uiKeyBits, ECCCipher *pucKey, void **phKeyHandle)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	struct vsm_wire_key req = {.usage = VSM_KU_ENC, .index = uiIPKIndex, .bits = uiKeyBits};
	uint8_t *w;
	size_t n;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (uiIPKIndex == 0 || !skey_bits_ok(uiKeyBits))
		return SDR_INARGERR;
	if (!pucKey || !phKeyHandle)
		return SDR_OUTARGERR;
	rc = skey_generate(s, &req, &w, &n, phKeyHandle);
	if (rc)
		return rc;
	rc = vsm_sdf_cipher_from_der(w, n, pucKey);
	free(w);
	if (rc) {
		SDF_DestroyKey(s, *phKeyHandle);
		*phKeyHandle = NULL;
	}
	return rc;
}

int SDF_GenerateKeyWithEPK_ECC(void *hSessionHandle, unsigned int uiKeyBits, unsigned int uiAlgID,
			       ECCrefPublicKey *pucPublicKey, ECCCipher *pucKey, void **phKeyHandle)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	struct vsm_wire_key req = {.bits = uiKeyBits};
	uint8_t *spki, *w;
	size_t spki_len, n;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (uiAlgID != SGD_SM2_3 && uiAlgID != SGD_SM2)
		return SDR_ALGNOTSUPPORT;
	if (!pucPublicKey || !skey_bits_ok(uiKeyBits))
		return SDR_INARGERR;
	if (!pucKey || !phKeyHandle)
		return SDR_OUTARGERR;
	rc = vsm_sdf_ecc_pub_to_spki(pucPublicKey, &spki, &spki_len);
	if (rc)
		return rc;
	req.a = spki;
	req.a_len = (uint32_t)spki_len;
	rc = skey_generate(s, &req, &w, &n, phKeyHandle);
	OPENSSL_free(spki);
	if (rc)
		return rc;
	rc = vsm_sdf_cipher_from_der(w, n, pucKey);
	free(w);
	if (rc) {
		SDF_DestroyKey(s, *phKeyHandle);
		*phKeyHandle = NULL;
	}
	return rc;
}

int SDF_ImportKeyWithISK_ECC(void *hSessionHandle, unsigned int uiISKIndex, ECCCipher *pucKey,
			     void **phKeyHandle)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	struct vsm_wire_key req = {.usage = VSM_KU_ENC, .index = uiISKIndex};
	uint8_t *der;
	size_t n;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (uiISKIndex == 0 || !pucKey)
		return SDR_INARGERR;
	if (!phKeyHandle)
		return SDR_OUTARGERR;
	rc = vsm_sdf_cipher_to_der(pucKey, &der, &n);
	if (rc)
		return rc;
	with_password(s, uiISKIndex, &req);
	rc = import_wrapped(s, &req, der, n, phKeyHandle);
	OPENSSL_free(der);
	return rc;
}

int SDF_ExchangeDigitEnvelopeBaseOnRSA(void *hSessionHandle, unsigned int uiKeyIndex,
				       RSArefPublicKey *pucPublicKey, unsigned char *pucDEInput,
				       unsigned int uiDELength, unsigned char *pucDEOutput,
				       unsigned int *puiDELength)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	struct vsm_wire_key req = {
		.kop = VSM_KOP_ENVELOPE, .usage = VSM_KU_ENC, .index = uiKeyIndex};
	uint8_t *spki;
	size_t spki_len, n = RSAref_MAX_LEN;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (uiKeyIndex == 0 || !pucPublicKey || !pucDEInput || uiDELength == 0)
		return SDR_INARGERR;
	if (!pucDEOutput || !puiDELength)
		return SDR_OUTARGERR;
	rc = vsm_sdf_rsa_pub_to_spki(pucPublicKey, &spki, &spki_len);
	if (rc)
		return rc;
	with_password(s, uiKeyIndex, &req);
	req.b = pucDEInput;
	req.b_len = uiDELength;
	req.c = spki;
	req.c_len = (uint32_t)spki_len;
	rc = vsm_key_call(s->c, &req, pucDEOutput, &n);
	OPENSSL_free(spki);
	if (rc)
		return vsm_sdf_rc(s, rc, SDF_X_SK);
	*puiDELength = (unsigned)n;
	return SDR_OK;
}

int SDF_ExchangeDigitEnvelopeBaseOnECC(void *hSessionHandle, unsigned int uiKeyIndex,
				       unsigned int uiAlgID, ECCrefPublicKey *pucPublicKey,
				       ECCCipher *pucEncDataIn, ECCCipher *pucEncDataOut)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	struct vsm_wire_key req = {
		.kop = VSM_KOP_ENVELOPE, .usage = VSM_KU_ENC, .index = uiKeyIndex};
	uint8_t *spki = NULL, *in = NULL, *out = NULL;
	size_t spki_len, in_len, n;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (uiAlgID != SGD_SM2_3 && uiAlgID != SGD_SM2)
		return SDR_ALGNOTSUPPORT;
	if (uiKeyIndex == 0 || !pucPublicKey || !pucEncDataIn)
		return SDR_INARGERR;
	if (!pucEncDataOut)
		return SDR_OUTARGERR;
	rc = vsm_sdf_ecc_pub_to_spki(pucPublicKey, &spki, &spki_len);
	if (!rc)
		rc = vsm_sdf_cipher_to_der(pucEncDataIn, &in, &in_len);
	if (rc)
		goto out;
	/* Same plaintext, new C1: the DER grows by at most a few bytes. */
	n = in_len + 16;
	out = malloc(n);
	if (!out) {
		rc = SDR_NOBUFFER;
		goto out;
	}
	with_password(s, uiKeyIndex, &req);
	req.b = in;
	req.b_len = (uint32_t)in_len;
	req.c = spki;
	req.c_len = (uint32_t)spki_len;
	rc = vsm_key_call(s->c, &req, out, &n);
	rc = rc ? vsm_sdf_rc(s, rc, SDF_X_SK) : vsm_sdf_cipher_from_der(out, n, pucEncDataOut);
out:
	if (out)
		OPENSSL_clear_free(out, in_len + 16);
	OPENSSL_free(in);
	OPENSSL_free(spki);
	return rc;
}

/* KEK modes: SM4-ECB, or SM4-CBC with a zero IV (the SDF call has no IV). */
static int kek_alg(unsigned sgd, struct vsm_wire_key *req)
{
	static const uint8_t zero_iv[16];

	switch (sgd) {
	case SGD_SM4_ECB:
		req->alg = VSM_ALG_SM4_ECB;
		return SDR_OK;
	case SGD_SM4_CBC:
		req->alg = VSM_ALG_SM4_CBC;
		req->c = zero_iv;
		req->c_len = sizeof(zero_iv);
		return SDR_OK;
	default:
		return SDR_ALGNOTSUPPORT;
	}
}

int SDF_GenerateKeyWithKEK(void *hSessionHandle, unsigned int uiKeyBits, unsigned int uiAlgID,
			   unsigned int uiKEKIndex, unsigned char *pucKey,
			   unsigned int *puiKeyLength, void **phKeyHandle)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	struct vsm_wire_key req = {.usage = VSM_KU_KEK, .index = uiKEKIndex, .bits = uiKeyBits};
	uint8_t *w;
	size_t n;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	rc = kek_alg(uiAlgID, &req);
	if (rc)
		return rc;
	if (uiKEKIndex == 0 || !skey_bits_ok(uiKeyBits))
		return SDR_INARGERR;
	if (!pucKey || !puiKeyLength || !phKeyHandle)
		return SDR_OUTARGERR;
	rc = skey_generate(s, &req, &w, &n, phKeyHandle);
	if (rc)
		return rc;
	memcpy(pucKey, w, n);
	*puiKeyLength = (unsigned)n;
	free(w);
	return SDR_OK;
}

int SDF_ImportKeyWithKEK(void *hSessionHandle, unsigned int uiAlgID, unsigned int uiKEKIndex,
			 unsigned char *pucKey, unsigned int uiKeyLength, void **phKeyHandle)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	struct vsm_wire_key req = {.usage = VSM_KU_KEK, .index = uiKEKIndex};
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	rc = kek_alg(uiAlgID, &req);
	if (rc)
		return rc;
	if (uiKEKIndex == 0 || !pucKey || uiKeyLength == 0 || uiKeyLength % 16)
		return SDR_INARGERR;
	if (!phKeyHandle)
		return SDR_OUTARGERR;
	return import_wrapped(s, &req, pucKey, uiKeyLength, phKeyHandle);
}

int SDF_ImportKey(void *hSessionHandle, unsigned char *pucKey, unsigned int uiKeyLength,
		  void **phKeyHandle)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	struct vsm_wire_key req = {.kop = VSM_KOP_SKEY_IMPORT};

	if (!s)
		return SDR_OPENSESSION;
	if (!pucKey || !skey_bits_ok(uiKeyLength * 8u) || uiKeyLength > SKEY_MAX_BITS / 8)
		return SDR_INARGERR;
	if (!phKeyHandle)
		return SDR_OUTARGERR;
	req.bits = uiKeyLength * 8u;
	req.type = (uint32_t)skey_type(req.bits);
	req.b = pucKey;
	req.b_len = uiKeyLength;
	return keyobj_call(s, &req, req.bits, NULL, 0, phKeyHandle);
}

int SDF_DestroyKey(void *hSessionHandle, void *hKeyHandle)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	struct vsm_wire_key req = {.kop = VSM_KOP_SKEY_DESTROY};
	struct sdf_key *k;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	k = vsm_sdf_key(s, hKeyHandle);
	if (!k)
		return SDR_KEYNOTEXIST;
	if (s->mp_key == k)
		vsm_sdf_sym_reset(s);
	vsm_sdf_forget_keyobj(s, k->obj);
	req.handle = k->obj;
	rc = vsm_key_call(s->c, &req, NULL, NULL);
	key_unlink(s, k);
	return vsm_sdf_rc(s, rc, SDF_X_KEY);
}

/* ---- SM2 key agreement (GB/T 32918.3) ---- */

static struct sdf_agreement *agreement(struct sdf_session *s, void *h, bool unlink)
{
	for (struct sdf_agreement **pp = &s->agreements; *pp; pp = &(*pp)->next)
		if (*pp == h && (*pp)->magic == SDF_AGR_MAGIC) {
			struct sdf_agreement *a = *pp;

			if (unlink)
				*pp = a->next;
			return a;
		}
	return NULL;
}

int SDF_GenerateAgreementDataWithECC(void *hSessionHandle, unsigned int uiISKIndex,
				     unsigned int uiKeyBits, unsigned char *pucSponsorID,
				     unsigned int uiSponsorIDLength,
				     ECCrefPublicKey *pucSponsorPublicKey,
				     ECCrefPublicKey *pucSponsorTmpPublicKey,
				     void **phAgreementHandle)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	struct vsm_wire_key req = {.kop = VSM_KOP_AGREE_INIT,
				   .usage = VSM_KU_ENC,
				   .index = uiISKIndex,
				   .bits = uiKeyBits};
	uint8_t buf[8 + 2 * POINT_LEN];
	size_t n = sizeof(buf);
	struct sdf_agreement *a;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (uiISKIndex == 0 || !skey_bits_ok(uiKeyBits) || !pucSponsorID || !uiSponsorIDLength)
		return SDR_INARGERR;
	if (!pucSponsorPublicKey || !pucSponsorTmpPublicKey || !phAgreementHandle)
		return SDR_OUTARGERR;
	a = calloc(1, sizeof(*a));
	if (!a)
		return SDR_NOBUFFER;
	with_password(s, uiISKIndex, &req);
	req.b = pucSponsorID;
	req.b_len = uiSponsorIDLength;
	rc = vsm_key_call(s->c, &req, buf, &n);
	if (rc || n != sizeof(buf)) {
		free(a);
		return rc ? vsm_sdf_rc(s, rc, SDF_X_KEY) : SDR_COMMFAIL;
	}
	vsm_sdf_point_to_ecc_pub(buf + 8, pucSponsorPublicKey);
	vsm_sdf_point_to_ecc_pub(buf + 8 + POINT_LEN, pucSponsorTmpPublicKey);
	a->magic = SDF_AGR_MAGIC;
	a->handle = get_u64(buf);
	a->next = s->agreements;
	s->agreements = a;
	*phAgreementHandle = a;
	return SDR_OK;
}

int SDF_GenerateKeyWithECC(void *hSessionHandle, unsigned char *pucResponseID,
			   unsigned int uiResponseIDLength, ECCrefPublicKey *pucResponsePublicKey,
			   ECCrefPublicKey *pucResponseTmpPublicKey, void *hAgreementHandle,
			   void **phKeyHandle)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	struct vsm_wire_key req = {.kop = VSM_KOP_AGREE_FINISH};
	uint8_t pts[2 * POINT_LEN];
	struct sdf_agreement *a;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (!pucResponseID || !uiResponseIDLength || !pucResponsePublicKey ||
	    !pucResponseTmpPublicKey)
		return SDR_INARGERR;
	if (!phKeyHandle)
		return SDR_OUTARGERR;
	if (vsm_sdf_ecc_pub_to_point(pucResponsePublicKey, pts) ||
	    vsm_sdf_ecc_pub_to_point(pucResponseTmpPublicKey, pts + POINT_LEN))
		return SDR_KEYERR;
	a = agreement(s, hAgreementHandle, true);
	if (!a)
		return SDR_KEYNOTEXIST;
	req.handle = a->handle;
	req.b = pucResponseID;
	req.b_len = uiResponseIDLength;
	req.c = pts;
	req.c_len = sizeof(pts);
	a->magic = 0;
	free(a);
	/* The daemon consumed the agreement whatever the outcome. */
	rc = keyobj_call(s, &req, 0, NULL, 0, phKeyHandle);
	return rc;
}

int SDF_GenerateAgreementDataAndKeyWithECC(
	void *hSessionHandle, unsigned int uiISKIndex, unsigned int uiKeyBits,
	unsigned char *pucResponseID, unsigned int uiResponseIDLength, unsigned char *pucSponsorID,
	unsigned int uiSponsorIDLength, ECCrefPublicKey *pucSponsorPublicKey,
	ECCrefPublicKey *pucSponsorTmpPublicKey, ECCrefPublicKey *pucResponsePublicKey,
	ECCrefPublicKey *pucResponseTmpPublicKey, void **phKeyHandle)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	struct vsm_wire_key req = {.kop = VSM_KOP_AGREE_RESPOND,
				   .usage = VSM_KU_ENC,
				   .index = uiISKIndex,
				   .bits = uiKeyBits};
	uint8_t pts[2 * POINT_LEN], out[2 * POINT_LEN], *ids;
	size_t ids_len;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (uiISKIndex == 0 || !skey_bits_ok(uiKeyBits) || !pucResponseID || !uiResponseIDLength ||
	    !pucSponsorID || !uiSponsorIDLength || !pucSponsorPublicKey ||
	    !pucSponsorTmpPublicKey || uiResponseIDLength > 8191 || uiSponsorIDLength > 8191)
		return SDR_INARGERR;
	if (!pucResponsePublicKey || !pucResponseTmpPublicKey || !phKeyHandle)
		return SDR_OUTARGERR;
	if (vsm_sdf_ecc_pub_to_point(pucSponsorPublicKey, pts) ||
	    vsm_sdf_ecc_pub_to_point(pucSponsorTmpPublicKey, pts + POINT_LEN))
		return SDR_KEYERR;
	ids_len = 4 + (size_t)uiResponseIDLength + uiSponsorIDLength;
	ids = malloc(ids_len);
	if (!ids)
		return SDR_NOBUFFER;
	put_u32(ids, uiResponseIDLength);
	memcpy(ids + 4, pucResponseID, uiResponseIDLength);
	memcpy(ids + 4 + uiResponseIDLength, pucSponsorID, uiSponsorIDLength);
	with_password(s, uiISKIndex, &req);
	req.b = ids;
	req.b_len = (uint32_t)ids_len;
	req.c = pts;
	req.c_len = sizeof(pts);
	rc = keyobj_call(s, &req, uiKeyBits, out, sizeof(out), phKeyHandle);
	free(ids);
	if (rc)
		return rc;
	vsm_sdf_point_to_ecc_pub(out, pucResponsePublicKey);
	vsm_sdf_point_to_ecc_pub(out + POINT_LEN, pucResponseTmpPublicKey);
	return SDR_OK;
}
