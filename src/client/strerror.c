/* SPDX-License-Identifier: Apache-2.0 */
/* Text for libvsm return values: daemon statuses by name, local errors by errno. */
#include <string.h>

#include <vsm/vsm.h>

static const char *const status_text[VSM_S__MAX] = {
	[VSM_S_OK] = "ok: success",
	[VSM_S_ERR] = "err: the operation failed in the daemon or engine",
	[VSM_S_BADMSG] = "badmsg: malformed request, or a tag/signature that did not verify",
	[VSM_S_NOTSUPP] = "notsupp: algorithm or operation not supported",
	[VSM_S_INVSESS] = "invsess: unknown, stale or foreign session handle",
	[VSM_S_NOSPC] = "nospc: a limit was hit (output buffer, message size, sessions)",
	[VSM_S_KEY_REJECTED] = "key_rejected: the key could not be used",
};

const char *vsm_strerror(int rc)
{
	const char *s;

	if (rc >= 0)
		return rc < VSM_S__MAX ? status_text[rc] : "unknown vsm status";
	/* strerrordesc_np, unlike strerror, is thread-safe. */
	s = strerrordesc_np(-rc);
	return s ? s : "unknown error";
}
