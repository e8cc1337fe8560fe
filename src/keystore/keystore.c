/* SPDX-License-Identifier: Apache-2.0 */
/* Placeholder until the keystore lands: always disabled. */
#include "keystore/keystore.h"

int vsm_keystore_open(const struct vsm_keystore_conf *kc, char *err, size_t errlen)
{
	(void)kc;
	(void)err;
	(void)errlen;
	return 0;
}

void vsm_keystore_close(void)
{
}

bool vsm_keystore_enabled(void)
{
	return false;
}
