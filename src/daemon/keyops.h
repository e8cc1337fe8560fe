/* SPDX-License-Identifier: Apache-2.0 */
/*
 * VSM_MSG_KEY: one handler per kop (keyops.c) on top of the keystore
 * (src/keystore/keystore.h), plus the keystore side of SESSION_CREATE
 * (VSM_SESSF_INTERNAL and VSM_SESSF_KEYOBJ).
 */
#ifndef VSM_DAEMON_KEYOPS_H
#define VSM_DAEMON_KEYOPS_H

#include <stddef.h>
#include <stdint.h>
#include <vsm/wire.h>

#include "daemon/tenant.h"

/*
 * Run one decoded KEY request; the response payload goes to out (cap
 * bytes). A response that does not fit is NOSPC/OUTPUT_SPACE with *out_len
 * the room it needs.
 */
int vsm_keyops_run(struct vsm_tenant *t, const struct vsm_wire_key *k, uint8_t *out, size_t cap,
		   size_t *out_len, int *detail);

/*
 * The engine session of an INTERNAL or KEYOBJ SESSION_CREATE (m->flags has
 * exactly one of them): the key comes from the keystore or the key object,
 * never from the frame. *sflags gets VSM_SESSION_PUBLIC_ONLY for an
 * internal key opened without a password.
 */
int vsm_keyops_session(struct vsm_tenant *t, const struct vsm_wire_session *m,
		       const struct vsm_engine *eng, void **es, uint32_t *sflags, int *detail);

#endif
