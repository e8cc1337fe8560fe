/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Control commands for the keystore (docs/keystore.md): key-create, key-list,
 * key-delete, key-set-password, key-export-public, key-import. Each returns
 * its result, or NULL with an error class and description filled in.
 */
#ifndef VSM_CONTROL_KEYS_H
#define VSM_CONTROL_KEYS_H

#include <jansson.h>
#include <stddef.h>

typedef json_t *vsm_control_key_fn(json_t *args, const char **cls, char *desc, size_t desclen);

vsm_control_key_fn vsm_control_key_create, vsm_control_key_list, vsm_control_key_delete,
	vsm_control_key_set_password, vsm_control_key_export_public, vsm_control_key_import;

#endif
