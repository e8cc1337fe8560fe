/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers of the libsdf-vsm tests: a vsmd from the integration harness, an
 * SDF device and session on it, and checks that print SDR codes by value.
 */
#ifndef VSM_SDF_TEST_H
#define VSM_SDF_TEST_H

#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "sdf.h"

/* An SDF call that must return want (an SDR_* code). */
#define SDF_EQ(call, want)                                                                         \
	do {                                                                                       \
		int st_rc_ = (call);                                                               \
		if (st_rc_ != (int)(want))                                                         \
			vh_fail(__FILE__, __LINE__, "%s: got 0x%08x, want 0x%08x (%s)", #call,     \
				(unsigned)st_rc_, (unsigned)(want), #want);                        \
	} while (0)
#define SDF_OK(call) SDF_EQ(call, SDR_OK)

struct st_env {
	struct vh_daemon d;
	void *dev;
	void *s;
};

/* vsmd (TCP too when tcp), $VSM_URI pointing at it, device and session open. */
void st_start(struct st_env *e, bool tcp);
/* Close the session and device, stop vsmd. */
void st_stop(struct st_env *e);
/* Open device and session on uri (sets $VSM_URI). */
void st_open(const char *uri, void **dev, void **s);
void st_close(void *dev, void *s);
/* Skip (exit 77 via return) unless vsmd has the keystore. */
bool st_have_keystore(const struct st_env *e);

/* Hex of a fixed length into out; fails the test on bad input. */
void st_hex(const char *hex, uint8_t *out, size_t len);
/* PKCS#8 DER of the SM2 private key d (32 bytes), malloc'ed. */
uint8_t *st_sm2_pkcs8(const uint8_t d[32], size_t *len);
/* Native OpenSSL checks. */
bool st_sm2_verify_native(const ECCrefPublicKey *pub, const uint8_t e[32], const ECCSignature *sig);
void st_sm4_cbc_native(const uint8_t key[16], const uint8_t iv[16], const uint8_t *in, size_t len,
		       uint8_t *out);

#endif
