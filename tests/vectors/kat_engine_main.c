/* SPDX-License-Identifier: Apache-2.0 */
/* kat-engine: every known-answer vector straight through vsm_engine_soft. */
#include <stdio.h>

#include "engine/engine.h"

#include "backend.h"

int main(int argc, char **argv)
{
	unsigned failed;

	if (argc != 2) {
		fprintf(stderr, "usage: %s VECTORS_DIR\n", argv[0]);
		return 2;
	}
	if (vsm_engine_soft.init() != VSM_S_OK) {
		fprintf(stderr, "engine init failed\n");
		return 1;
	}
	failed = vsm_kat_run_all(&vsm_kat_backend_engine, argv[1]);
	vsm_engine_soft.fini();
	printf("kat-engine: %u failed\n", failed);
	return failed ? 1 : 0;
}
