/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SM2 key agreement (GB/T 32918.3-2016, section 6.1) on the recommended
 * curve, without the optional confirmation hashes S1/S2/SA/SB: the KEY
 * protocol carries none. Points travel as 04 || x || y (65 bytes).
 */
#ifndef VSM_DAEMON_SM2KX_H
#define VSM_DAEMON_SM2KX_H

#include <stddef.h>
#include <stdint.h>

#define VSM_SM2_POINT_LEN 65u
#define VSM_SM2_ID_MAX	  8191u /* ENTL is 16 bits of bit length */

/* One side's state between AGREE_INIT and AGREE_FINISH. */
struct vsm_sm2kx {
	uint8_t d[32];			 /* static private key */
	uint8_t r[32];			 /* ephemeral private key */
	uint8_t p[VSM_SM2_POINT_LEN];	 /* static public key */
	uint8_t rpub[VSM_SM2_POINT_LEN]; /* ephemeral public key */
	uint8_t z[32];			 /* Z of this side's ID and static key */
	uint32_t klen;			 /* bytes of key to derive */
	uint32_t type;			 /* key-object type of the result */
};

/*
 * A side from its static key (PKCS#8 or SEC1 DER on the SM2 curve) and ID:
 * fills d, p and z, and draws a fresh ephemeral pair r, rpub. 0 or -1.
 */
int vsm_sm2kx_init(struct vsm_sm2kx *x, const uint8_t *der, size_t der_len, const uint8_t *id,
		   size_t id_len);
/* Z = SM3(ENTL || ID || a || b || xG || yG || xP || yP); 0 or -1 (bad point, ID too long). */
int vsm_sm2kx_z(const uint8_t *id, size_t id_len, const uint8_t pub[VSM_SM2_POINT_LEN],
		uint8_t z[32]);
/*
 * The shared key: t = d + x1' * r, point = t * (P_peer + x2' * R_peer),
 * key = KDF(x || y || ZA || ZB, klen), where ZA is the sponsor's Z and ZB
 * the responder's (sponsor: za = own z; responder: zb = own z). -1 if a
 * peer point is not on the curve or the point is at infinity.
 */
int vsm_sm2kx_derive(const struct vsm_sm2kx *x, const uint8_t p_peer[VSM_SM2_POINT_LEN],
		     const uint8_t r_peer[VSM_SM2_POINT_LEN], const uint8_t za[32],
		     const uint8_t zb[32], uint8_t *key, size_t klen);
/* GM/T 0003 KDF (ANSI X9.63 with SM3). */
int vsm_sm2_kdf(const uint8_t *z, size_t z_len, uint8_t *out, size_t out_len);
void vsm_sm2kx_free(struct vsm_sm2kx *x);

#endif
