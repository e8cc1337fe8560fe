/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the vsmd configuration parser: any text must parse or fail cleanly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	struct vsm_config c;
	char err[512];
	vsm_config_defaults(&c);
	if (vsm_config_load_string(&c, text, err, sizeof(err)) == 0 &&
	    vsm_config_finish(&c, err, sizeof(err)) == 0) {
		for (unsigned i = 0; i < c.n_tenants; i++)
			if (c.tenants[i].limits.max_msg == 0 || !c.tenants[i].name[0])
				abort();
	}
	vsm_config_free(&c);
	free(text);
	return 0;
}
