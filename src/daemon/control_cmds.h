/* SPDX-License-Identifier: Apache-2.0 */
/* Control commands: between the socket server (control.c) and the handlers (control_cmds.c). */
#ifndef VSM_CONTROL_CMDS_H
#define VSM_CONTROL_CMDS_H

#include <jansson.h>
#include <stddef.h>

/* Handle one request line; returns the response object (never NULL). */
json_t *vsm_control_handle(const char *line, size_t len);
/* {"error":{"class":cls,"desc":desc}} */
json_t *vsm_control_error(const char *cls, const char *desc);

#endif
