/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RSA and SM2 operations with internal keys (keystore indexes) and external
 * keys (given in the call). SM2 signatures are over e = SM3(Z || M), which
 * the caller passes (SDF_HashInit with a public key computes it); RSA
 * operations are raw (no padding), as GM/T 0018 defines them.
 *
 * Public-key and internal-key sessions are kept for reuse; a session on an
 * external private key lives for one call only.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "sdf_int.h"

/* Room for the DER around C2: two INTEGERs, a 32-byte OCTET STRING, headers. */
#define SM2_DER_OVERHEAD 128u

static const struct vsm_session_params rsa_raw = {
	.service = VSM_SVC_AKCIPHER, .alg = VSM_ALG_RSA, .padding = VSM_PAD_NONE};
static const struct vsm_session_params sm2_pre = {
	.service = VSM_SVC_AKCIPHER, .alg = VSM_ALG_SM2, .flags = VSM_SESSF_PREHASHED};
static const struct vsm_session_params sm2_enc = {.service = VSM_SVC_AKCIPHER, .alg = VSM_ALG_SM2};

/* A session on an external private key: made, used once, destroyed. */
static int private_session(struct sdf_session *s, const struct vsm_session_params *p, uint8_t *der,
			   size_t der_len, uint64_t *h, int ctx)
{
	struct vsm_session_params q = *p;
	int rc;

	q.key = der;
	q.key_len = der_len;
	rc = vsm_session_create(s->c, &q, h);
	OPENSSL_clear_free(der, der_len);
	return vsm_sdf_rc(s, rc, ctx);
}

static int rsa_op(struct sdf_session *s, uint64_t h, int op, const uint8_t *in, unsigned in_len,
		  uint8_t *out, unsigned *out_len, int ctx)
{
	struct vsm_op o = {.session = h, .op = op, .src = in, .src_len = in_len};
	size_t n = in_len;
	int rc = vsm_op_run(s->c, &o, out, &n);

	if (rc)
		return vsm_sdf_rc(s, rc, ctx);
	*out_len = (unsigned)n;
	return SDR_OK;
}

/* Raw RSA takes exactly one modulus-sized block. */
static bool rsa_args_ok(const uint8_t *in, unsigned in_len)
{
	return in && in_len >= 128 && in_len <= RSAref_MAX_LEN;
}

int SDF_ExternalPublicKeyOperation_RSA(void *hSessionHandle, RSArefPublicKey *pucPublicKey,
				       unsigned char *pucDataInput, unsigned int uiInputLength,
				       unsigned char *pucDataOutput, unsigned int *puiOutputLength)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	uint8_t *spki;
	size_t spki_len;
	uint64_t h;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (!pucPublicKey || !rsa_args_ok(pucDataInput, uiInputLength) ||
	    uiInputLength != (pucPublicKey->bits + 7) / 8)
		return SDR_INARGERR;
	if (!pucDataOutput || !puiOutputLength)
		return SDR_OUTARGERR;
	rc = vsm_sdf_rsa_pub_to_spki(pucPublicKey, &spki, &spki_len);
	if (rc)
		return rc;
	rc = vsm_sdf_public(s, &rsa_raw, spki, spki_len, &h, SDF_X_PK);
	if (!rc) {
		rc = rsa_op(s, h, VSM_OP_ENCRYPT, pucDataInput, uiInputLength, pucDataOutput,
			    puiOutputLength, SDF_X_PK);
		if (spki_len > SDF_CACHE_KEY_MAX)
			vsm_session_destroy(s->c, h);
	}
	OPENSSL_free(spki);
	return rc;
}

int SDF_ExternalPrivateKeyOperation_RSA(void *hSessionHandle, RSArefPrivateKey *pucPrivateKey,
					unsigned char *pucDataInput, unsigned int uiInputLength,
					unsigned char *pucDataOutput, unsigned int *puiOutputLength)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	uint8_t *der;
	size_t der_len;
	uint64_t h;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (!pucPrivateKey || !rsa_args_ok(pucDataInput, uiInputLength) ||
	    uiInputLength != (pucPrivateKey->bits + 7) / 8)
		return SDR_INARGERR;
	if (!pucDataOutput || !puiOutputLength)
		return SDR_OUTARGERR;
	rc = vsm_sdf_rsa_priv_to_der(pucPrivateKey, &der, &der_len);
	if (rc)
		return rc;
	rc = private_session(s, &rsa_raw, der, der_len, &h, SDF_X_SK);
	if (rc)
		return rc;
	rc = rsa_op(s, h, VSM_OP_DECRYPT, pucDataInput, uiInputLength, pucDataOutput,
		    puiOutputLength, SDF_X_SK);
	vsm_session_destroy(s->c, h);
	return rc;
}

/* Raw RSA with internal keys uses the index's signing key pair (docs/sdf.md). */
static int internal_rsa(void *hs, unsigned idx, bool priv, const uint8_t *in, unsigned in_len,
			uint8_t *out, unsigned *out_len)
{
	struct sdf_session *s = vsm_sdf_session(hs);
	int ctx = priv ? SDF_X_SK : SDF_X_PK;
	uint64_t h;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (idx == 0 || !rsa_args_ok(in, in_len))
		return SDR_INARGERR;
	if (!out || !out_len)
		return SDR_OUTARGERR;
	rc = vsm_sdf_internal(s, &rsa_raw, VSM_KU_SIGN, idx, priv, &h, ctx);
	if (rc)
		return rc;
	return rsa_op(s, h, priv ? VSM_OP_DECRYPT : VSM_OP_ENCRYPT, in, in_len, out, out_len, ctx);
}

int SDF_InternalPublicKeyOperation_RSA(void *hSessionHandle, unsigned int uiKeyIndex,
				       unsigned char *pucDataInput, unsigned int uiInputLength,
				       unsigned char *pucDataOutput, unsigned int *puiOutputLength)
{
	return internal_rsa(hSessionHandle, uiKeyIndex, false, pucDataInput, uiInputLength,
			    pucDataOutput, puiOutputLength);
}

int SDF_InternalPrivateKeyOperation_RSA(void *hSessionHandle, unsigned int uiKeyIndex,
					unsigned char *pucDataInput, unsigned int uiInputLength,
					unsigned char *pucDataOutput, unsigned int *puiOutputLength)
{
	return internal_rsa(hSessionHandle, uiKeyIndex, true, pucDataInput, uiInputLength,
			    pucDataOutput, puiOutputLength);
}

static int sm2_sign(struct sdf_session *s, uint64_t h, const uint8_t *e, ECCSignature *sig)
{
	uint8_t der[80];
	size_t n = sizeof(der);
	int rc = vsm_sign(s->c, h, e, SDF_SM2_LEN, der, &n);

	if (rc)
		return vsm_sdf_rc(s, rc, SDF_X_SIGN);
	return vsm_sdf_sig_from_der(der, n, sig);
}

static int sm2_verify(struct sdf_session *s, uint64_t h, const uint8_t *e, const ECCSignature *sig)
{
	uint8_t *der;
	size_t n;
	int rc = vsm_sdf_sig_to_der(sig, &der, &n);

	if (rc)
		return rc;
	rc = vsm_verify(s->c, h, e, SDF_SM2_LEN, der, n);
	OPENSSL_free(der);
	return vsm_sdf_rc(s, rc, SDF_X_VERIFY);
}

static bool sign_alg_ok(unsigned alg)
{
	return alg == SGD_SM2_1 || alg == SGD_SM2;
}

static bool enc_alg_ok(unsigned alg)
{
	return alg == SGD_SM2_3 || alg == SGD_SM2;
}

int SDF_ExternalSign_ECC(void *hSessionHandle, unsigned int uiAlgID,
			 ECCrefPrivateKey *pucPrivateKey, unsigned char *pucData,
			 unsigned int uiDataLength, ECCSignature *pucSignature)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	uint8_t *der;
	size_t der_len;
	uint64_t h;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (!sign_alg_ok(uiAlgID))
		return SDR_ALGNOTSUPPORT;
	if (!pucPrivateKey || !pucData || uiDataLength != SDF_SM2_LEN)
		return SDR_INARGERR;
	if (!pucSignature)
		return SDR_OUTARGERR;
	rc = vsm_sdf_ecc_priv_to_der(pucPrivateKey, &der, &der_len);
	if (rc)
		return rc;
	rc = private_session(s, &sm2_pre, der, der_len, &h, SDF_X_SIGN);
	if (rc)
		return rc;
	rc = sm2_sign(s, h, pucData, pucSignature);
	vsm_session_destroy(s->c, h);
	return rc;
}

int SDF_ExternalVerify_ECC(void *hSessionHandle, unsigned int uiAlgID,
			   ECCrefPublicKey *pucPublicKey, unsigned char *pucDataInput,
			   unsigned int uiInputLength, ECCSignature *pucSignature)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	uint8_t *spki;
	size_t spki_len;
	uint64_t h;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (!sign_alg_ok(uiAlgID))
		return SDR_ALGNOTSUPPORT;
	if (!pucPublicKey || !pucDataInput || uiInputLength != SDF_SM2_LEN || !pucSignature)
		return SDR_INARGERR;
	rc = vsm_sdf_ecc_pub_to_spki(pucPublicKey, &spki, &spki_len);
	if (rc)
		return rc;
	rc = vsm_sdf_public(s, &sm2_pre, spki, spki_len, &h, SDF_X_VERIFY);
	OPENSSL_free(spki);
	return rc ? rc : sm2_verify(s, h, pucDataInput, pucSignature);
}

int SDF_InternalSign_ECC(void *hSessionHandle, unsigned int uiISKIndex, unsigned char *pucData,
			 unsigned int uiDataLength, ECCSignature *pucSignature)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	uint64_t h;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (uiISKIndex == 0 || !pucData || uiDataLength != SDF_SM2_LEN)
		return SDR_INARGERR;
	if (!pucSignature)
		return SDR_OUTARGERR;
	rc = vsm_sdf_internal(s, &sm2_pre, VSM_KU_SIGN, uiISKIndex, true, &h, SDF_X_SIGN);
	return rc ? rc : sm2_sign(s, h, pucData, pucSignature);
}

int SDF_InternalVerify_ECC(void *hSessionHandle, unsigned int uiIPKIndex, unsigned char *pucData,
			   unsigned int uiDataLength, ECCSignature *pucSignature)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	uint64_t h;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (uiIPKIndex == 0 || !pucData || uiDataLength != SDF_SM2_LEN || !pucSignature)
		return SDR_INARGERR;
	rc = vsm_sdf_internal(s, &sm2_pre, VSM_KU_SIGN, uiIPKIndex, false, &h, SDF_X_VERIFY);
	return rc ? rc : sm2_verify(s, h, pucData, pucSignature);
}

static int sm2_encrypt(struct sdf_session *s, uint64_t h, const uint8_t *in, unsigned in_len,
		       ECCCipher *out)
{
	size_t cap = (size_t)in_len + SM2_DER_OVERHEAD, n = cap;
	uint8_t *der = malloc(cap);
	int rc;

	if (!der)
		return SDR_NOBUFFER;
	rc = vsm_encrypt(s->c, h, NULL, 0, in, in_len, der, &n);
	rc = rc ? vsm_sdf_rc(s, rc, SDF_X_PK) : vsm_sdf_cipher_from_der(der, n, out);
	free(der);
	return rc;
}

static int sm2_decrypt(struct sdf_session *s, uint64_t h, const ECCCipher *in, uint8_t *out,
		       unsigned *out_len)
{
	uint8_t *der;
	size_t der_len, n = in->L;
	int rc = vsm_sdf_cipher_to_der(in, &der, &der_len);

	if (rc)
		return rc;
	rc = vsm_decrypt(s->c, h, NULL, 0, der, der_len, out, &n);
	OPENSSL_free(der);
	if (rc)
		return vsm_sdf_rc(s, rc, SDF_X_SK);
	*out_len = (unsigned)n;
	return SDR_OK;
}

int SDF_ExternalEncrypt_ECC(void *hSessionHandle, unsigned int uiAlgID,
			    ECCrefPublicKey *pucPublicKey, unsigned char *pucData,
			    unsigned int uiDataLength, ECCCipher *pucEncData)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	uint8_t *spki;
	size_t spki_len;
	uint64_t h;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (!enc_alg_ok(uiAlgID))
		return SDR_ALGNOTSUPPORT;
	if (!pucPublicKey || !pucData || uiDataLength == 0)
		return SDR_INARGERR;
	if (!pucEncData)
		return SDR_OUTARGERR;
	rc = vsm_sdf_ecc_pub_to_spki(pucPublicKey, &spki, &spki_len);
	if (rc)
		return rc;
	rc = vsm_sdf_public(s, &sm2_enc, spki, spki_len, &h, SDF_X_PK);
	OPENSSL_free(spki);
	return rc ? rc : sm2_encrypt(s, h, pucData, uiDataLength, pucEncData);
}

int SDF_ExternalDecrypt_ECC(void *hSessionHandle, unsigned int uiAlgID,
			    ECCrefPrivateKey *pucPrivateKey, ECCCipher *pucEncData,
			    unsigned char *pucData, unsigned int *puiDataLength)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	uint8_t *der;
	size_t der_len;
	uint64_t h;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (!enc_alg_ok(uiAlgID))
		return SDR_ALGNOTSUPPORT;
	if (!pucPrivateKey || !pucEncData || pucEncData->L == 0)
		return SDR_INARGERR;
	if (!pucData || !puiDataLength)
		return SDR_OUTARGERR;
	rc = vsm_sdf_ecc_priv_to_der(pucPrivateKey, &der, &der_len);
	if (rc)
		return rc;
	rc = private_session(s, &sm2_enc, der, der_len, &h, SDF_X_SK);
	if (rc)
		return rc;
	rc = sm2_decrypt(s, h, pucEncData, pucData, puiDataLength);
	vsm_session_destroy(s->c, h);
	return rc;
}

int SDF_InternalEncrypt_ECC(void *hSessionHandle, unsigned int uiIPKIndex, unsigned int uiAlgID,
			    unsigned char *pucData, unsigned int uiDataLength,
			    ECCCipher *pucEncData)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	uint64_t h;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (!enc_alg_ok(uiAlgID))
		return SDR_ALGNOTSUPPORT;
	if (uiIPKIndex == 0 || !pucData || uiDataLength == 0)
		return SDR_INARGERR;
	if (!pucEncData)
		return SDR_OUTARGERR;
	rc = vsm_sdf_internal(s, &sm2_enc, VSM_KU_ENC, uiIPKIndex, false, &h, SDF_X_PK);
	return rc ? rc : sm2_encrypt(s, h, pucData, uiDataLength, pucEncData);
}

int SDF_InternalDecrypt_ECC(void *hSessionHandle, unsigned int uiISKIndex, unsigned int uiAlgID,
			    ECCCipher *pucEncData, unsigned char *pucData,
			    unsigned int *uiDataLength)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	uint64_t h;
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (!enc_alg_ok(uiAlgID))
		return SDR_ALGNOTSUPPORT;
	if (uiISKIndex == 0 || !pucEncData || pucEncData->L == 0)
		return SDR_INARGERR;
	if (!pucData || !uiDataLength)
		return SDR_OUTARGERR;
	rc = vsm_sdf_internal(s, &sm2_enc, VSM_KU_ENC, uiISKIndex, true, &h, SDF_X_SK);
	return rc ? rc : sm2_decrypt(s, h, pucEncData, pucData, uiDataLength);
}
