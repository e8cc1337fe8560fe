/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Known-answer backend over libvsm: the vectors of tests/vectors run through
 * a live vsmd, over the wire, instead of calling the engine in-process.
 */
#ifndef VSM_INTEG_BACKEND_VSM_H
#define VSM_INTEG_BACKEND_VSM_H

#include <vsm/vsm.h>

#include "backend.h"

struct vsm_kat_vsmd {
	const char *uri;
	/*
	 * Held open for the whole run: sessions belong to the tenant and live
	 * while it has a connection, so the working connection can be replaced
	 * (vsmd closes it after a malformed request) without losing them.
	 */
	vsm_client *anchor;
	vsm_client *c;
	unsigned reconnects;
	unsigned local_errors; /* libvsm refused or the connection broke */
};

/* Connect and fill *be to run over x. */
void vsm_kat_backend_vsmd(struct kat_backend *be, struct vsm_kat_vsmd *x, const char *uri);
void vsm_kat_backend_vsmd_close(struct vsm_kat_vsmd *x);

#endif
