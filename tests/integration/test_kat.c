/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kat-vsmd: every known-answer vector of tests/vectors (NIST/RFC, GB/T,
 * Wycheproof, key formats, error statuses) through a live vsmd over libvsm.
 * Zero mismatches required.
 */
#include <stdio.h>
#include <stdlib.h>

#include "backend_vsm.h"
#include "harness.h"

static int t_all(void)
{
	const char *dir = getenv("VSM_VECTORS_DIR");
	VH_CHECK(dir && *dir, "VSM_VECTORS_DIR is not set");
	struct vh_daemon d;
	/* Vectors create many sessions and some large inputs. */
	struct vh_opts o = {.sections = "[limits]\nmax_sessions = 65536\nmax_msg = 4194304\n"};
	vh_start(&d, &o);
	struct kat_backend be;
	struct vsm_kat_vsmd x;
	vsm_kat_backend_vsmd(&be, &x, d.uri);
	unsigned failed = vsm_kat_run_all(&be, dir);
	printf("kat-vsmd: %u failed, %u reconnects after protocol errors, %u local errors\n",
	       failed, x.reconnects, x.local_errors);
	/* Every session the runner made, it destroyed: none may be left behind. */
	struct vsm_wire_status st;
	VH_OK(vsm_status(x.anchor, &st));
	VH_EQ(st.sessions, 0);
	vsm_kat_backend_vsmd_close(&x);
	vh_stop(&d);
	vh_cleanup(&d);
	VH_EQ(failed, 0);
	return 0;
}

static const struct vh_case cases[] = {
	{"all", t_all, 280},
};

int main(int argc, char **argv)
{
	return vh_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
