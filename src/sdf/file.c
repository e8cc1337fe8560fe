/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SDF files: small per-tenant files kept by vsmd's keystore. Reads and
 * writes larger than one message are split here.
 */
#include <string.h>

#include "sdf_int.h"

static bool name_ok(const unsigned char *name, unsigned len)
{
	return name && len > 0 && len <= VSM_FILE_NAME_MAX;
}

/* Room for the data of one FILE_READ/FILE_WRITE besides the name. */
static size_t file_piece(const struct sdf_session *s)
{
	const struct vsm_wire_hello_resp *h = vsm_info(s->c);
	size_t over = VSM_WIRE_KEY_LEN + VSM_FILE_NAME_MAX;

	return h && h->max_msg > over + 4096 ? h->max_msg - over : 4096;
}

static int file_call(struct sdf_session *s, struct vsm_wire_key *req, const unsigned char *name,
		     unsigned name_len, void *out, size_t *out_len)
{
	int rc;

	req->b = name;
	req->b_len = name_len;
	rc = vsm_key_call(s->c, req, out, out_len);
	return vsm_sdf_rc(s, rc, SDF_X_FILE);
}

int SDF_CreateFile(void *hSessionHandle, unsigned char *pucFileName, unsigned int uiNameLen,
		   unsigned int uiFileSize)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	struct vsm_wire_key req = {.kop = VSM_KOP_FILE_CREATE, .bits = uiFileSize};
	int rc;

	if (!s)
		return SDR_OPENSESSION;
	if (!name_ok(pucFileName, uiNameLen))
		return SDR_INARGERR;
	if (uiFileSize == 0)
		return SDR_FILESIZEERR;
	rc = file_call(s, &req, pucFileName, uiNameLen, NULL, NULL);
	/* The keystore's size limit: the SDF code for a size that is not allowed. */
	return rc == SDR_FILEOFSERR ? SDR_FILESIZEERR : rc;
}

int SDF_ReadFile(void *hSessionHandle, unsigned char *pucFileName, unsigned int uiNameLen,
		 unsigned int uiOffset, unsigned int *puiReadLength, unsigned char *pucBuffer)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	size_t want, done = 0, piece;

	if (!s)
		return SDR_OPENSESSION;
	if (!name_ok(pucFileName, uiNameLen) || !puiReadLength)
		return SDR_INARGERR;
	if (!pucBuffer && *puiReadLength)
		return SDR_OUTARGERR;
	want = *puiReadLength;
	piece = file_piece(s);
	while (done < want) {
		struct vsm_wire_key req = {.kop = VSM_KOP_FILE_READ};
		size_t n = want - done < piece ? want - done : piece, got = n;
		int rc;

		if ((size_t)uiOffset + done > UINT32_MAX)
			return SDR_FILEOFSERR;
		req.index = (uint32_t)(uiOffset + done);
		req.bits = (uint32_t)n;
		rc = file_call(s, &req, pucFileName, uiNameLen, pucBuffer + done, &got);
		if (rc)
			return rc;
		done += got;
		/* A short read is the end of the file. */
		if (got < n)
			break;
	}
	*puiReadLength = (unsigned)done;
	return SDR_OK;
}

int SDF_WriteFile(void *hSessionHandle, unsigned char *pucFileName, unsigned int uiNameLen,
		  unsigned int uiOffset, unsigned int uiWriteLength, unsigned char *pucBuffer)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	size_t done = 0, piece;

	if (!s)
		return SDR_OPENSESSION;
	if (!name_ok(pucFileName, uiNameLen) || (!pucBuffer && uiWriteLength) || !uiWriteLength)
		return SDR_INARGERR;
	piece = file_piece(s);
	while (done < uiWriteLength) {
		struct vsm_wire_key req = {.kop = VSM_KOP_FILE_WRITE};
		size_t n = uiWriteLength - done < piece ? uiWriteLength - done : piece;
		int rc;

		if ((size_t)uiOffset + done > UINT32_MAX)
			return SDR_FILEOFSERR;
		req.index = (uint32_t)(uiOffset + done);
		req.c = pucBuffer + done;
		req.c_len = (uint32_t)n;
		rc = file_call(s, &req, pucFileName, uiNameLen, NULL, NULL);
		if (rc)
			return rc;
		done += n;
	}
	return SDR_OK;
}

int SDF_DeleteFile(void *hSessionHandle, unsigned char *pucFileName, unsigned int uiNameLen)
{
	struct sdf_session *s = vsm_sdf_session(hSessionHandle);
	struct vsm_wire_key req = {.kop = VSM_KOP_FILE_DELETE};

	if (!s)
		return SDR_OPENSESSION;
	if (!name_ok(pucFileName, uiNameLen))
		return SDR_INARGERR;
	return file_call(s, &req, pucFileName, uiNameLen, NULL, NULL);
}
