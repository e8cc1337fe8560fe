/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vsmd statuses and libvsm errors to SDR_* codes. The status says what kind
 * of failure it was; the detail and the call being made pick the SDR code
 * an SDF application expects (docs/sdf.md has the table).
 */
#include <errno.h>

#include "sdf_int.h"

static int local_error(int rc)
{
	switch (-rc) {
	case ENOTSUP:
		return SDR_NOTSUPPORT;
	case ENOMEM:
		return SDR_NOBUFFER;
	case EINVAL:
	case EMSGSIZE:
		return SDR_INARGERR;
	case ENOSPC:
		return SDR_NOBUFFER;
	default:
		/* Every other local failure is the connection to vsmd. */
		return SDR_COMMFAIL;
	}
}

static int op_error(int ctx)
{
	switch (ctx) {
	case SDF_X_PK:
		return SDR_PKOPERR;
	case SDF_X_SK:
		return SDR_SKOPERR;
	case SDF_X_SIGN:
		return SDR_SIGNERR;
	case SDF_X_VERIFY:
		return SDR_VERIFYERR;
	case SDF_X_SYM:
	case SDF_X_AEAD_DEC:
		return SDR_SYMOPERR;
	case SDF_X_MAC:
		return SDR_MACERR;
	case SDF_X_RAND:
		return SDR_RANDERR;
	case SDF_X_FILE:
		return SDR_FILEWERR;
	case SDF_X_ACCESS:
		return SDR_PRKRERR;
	default:
		return SDR_UNKNOWERR;
	}
}

int vsm_sdf_rc(const struct sdf_session *s, int rc, int ctx)
{
	int detail;

	if (rc == 0)
		return SDR_OK;
	if (rc < 0)
		return local_error(rc);
	detail = s ? vsm_last_detail(s->c) : VSM_D_NONE;

	switch (detail) {
	case VSM_D_NO_KEY:
		return SDR_KEYNOTEXIST;
	case VSM_D_ACCESS_DENIED:
		return ctx == SDF_X_ACCESS ? SDR_PRKRERR : SDR_PARDENY;
	case VSM_D_KEY_TYPE:
		return SDR_KEYTYPEERR;
	case VSM_D_BAD_KEY:
		return SDR_KEYERR;
	case VSM_D_NO_FILE:
		return SDR_FILENOEXIST;
	case VSM_D_EXISTS:
		return ctx == SDF_X_FILE ? SDR_FILEEXSITS : SDR_KEYERR;
	case VSM_D_RANGE:
		return ctx == SDF_X_FILE ? SDR_FILEOFSERR : SDR_INARGERR;
	case VSM_D_KEYSTORE:
		return SDR_NOTSUPPORT;
	case VSM_D_AUTH_FAILED:
		if (ctx == SDF_X_MAC || ctx == SDF_X_AEAD_DEC)
			return SDR_MACERR;
		/* An SM2 ciphertext whose C3 does not match. */
		if (ctx == SDF_X_SK)
			return SDR_ENCDATAERR;
		return SDR_VERIFYERR;
	case VSM_D_BAD_LENGTH:
		return ctx == SDF_X_SK ? SDR_ENCDATAERR : SDR_INARGERR;
	case VSM_D_OUTPUT_SPACE:
	case VSM_D_SESSION_LIMIT:
	case VSM_D_TOO_BIG:
		return SDR_NOBUFFER;
	case VSM_D_SHUTDOWN:
	case VSM_D_PROTOCOL:
		return SDR_COMMFAIL;
	default:
		break;
	}

	switch (rc) {
	case VSM_S_NOTSUPP:
		return SDR_ALGNOTSUPPORT;
	case VSM_S_KEY_REJECTED:
		return SDR_KEYERR;
	case VSM_S_NOSPC:
		return SDR_NOBUFFER;
	case VSM_S_INVSESS:
		return SDR_UNKNOWERR;
	case VSM_S_BADMSG:
		/* A private-key op refusing its input: a ciphertext that is not one. */
		if (ctx == SDF_X_SK)
			return SDR_ENCDATAERR;
		if (ctx == SDF_X_VERIFY)
			return SDR_VERIFYERR;
		return SDR_INARGERR;
	default:
		return op_error(ctx);
	}
}
