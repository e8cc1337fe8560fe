/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GM/T 0006 algorithm identifiers and the SDF size limits, for libsdf-vsm.
 * Values, names and sizes follow GmSSL's sgd.h so that a program written
 * against GmSSL's SDF headers builds unchanged against these.
 */
#ifndef VSM_SDF_SGD_H
#define VSM_SDF_SGD_H

#include <stdint.h>

/* Block cipher modes, or'ed into a cipher id. */
#define SGD_ECB 0x01
#define SGD_CBC 0x02
#define SGD_CFB 0x04
#define SGD_OFB 0x08
#define SGD_MAC 0x10

/* Stream cipher modes. */
#define SGD_EEA3 0x01
#define SGD_EIA3 0x02

/* Block and stream ciphers. */
#define SGD_SM1	  0x00000100
#define SGD_SSF33 0x00000200
#define SGD_SM4	  0x00000400
#define SGD_ZUC	  0x00000800

#define SGD_SM1_ECB   (SGD_SM1 | SGD_ECB)
#define SGD_SM1_CBC   (SGD_SM1 | SGD_CBC)
#define SGD_SM1_CFB   (SGD_SM1 | SGD_CFB)
#define SGD_SM1_OFB   (SGD_SM1 | SGD_OFB)
#define SGD_SM1_MAC   (SGD_SM1 | SGD_MAC)
#define SGD_SSF33_ECB (SGD_SSF33 | SGD_ECB)
#define SGD_SSF33_CBC (SGD_SSF33 | SGD_CBC)
#define SGD_SSF33_CFB (SGD_SSF33 | SGD_CFB)
#define SGD_SSF33_OFB (SGD_SSF33 | SGD_OFB)
#define SGD_SSF33_MAC (SGD_SSF33 | SGD_MAC)
#define SGD_SM4_ECB   (SGD_SM4 | SGD_ECB)
#define SGD_SM4_CBC   (SGD_SM4 | SGD_CBC)
#define SGD_SM4_CFB   (SGD_SM4 | SGD_CFB)
#define SGD_SM4_OFB   (SGD_SM4 | SGD_OFB)
#define SGD_SM4_MAC   (SGD_SM4 | SGD_MAC)
#define SGD_ZUC_EEA3  (SGD_ZUC | SGD_EEA3)
#define SGD_ZUC_EIA3  (SGD_ZUC | SGD_EIA3)
/* GM/T 0018-2023 additions, with the values vendors' headers agree on. */
#define SGD_CTR	    0x20
#define SGD_SM4_CTR (SGD_SM4 | SGD_CTR)
#define SGD_SM4_GCM 0x02000400
#define SGD_SM4_CCM 0x04000400

/* Public key usages. */
#define SGD_PK_SIGN 0x0100
#define SGD_PK_DH   0x0200
#define SGD_PK_ENC  0x0400

/* Public key algorithms. */
#define SGD_RSA	     0x00010000
#define SGD_RSA_SIGN (SGD_RSA | SGD_PK_SIGN)
#define SGD_RSA_ENC  (SGD_RSA | SGD_PK_ENC)
#define SGD_SM2	     0x00020100
#define SGD_SM2_1    0x00020200 /* signature */
#define SGD_SM2_2    0x00020400 /* key exchange */
#define SGD_SM2_3    0x00020800 /* encryption */

/* Hashes. */
#define SGD_SM3	      0x00000001
#define SGD_SHA1      0x00000002
#define SGD_SHA256    0x00000004
#define SGD_HASH_FROM 0x00000008
#define SGD_HASH_TO   0x000000FF
/* Signature schemes. */
#define SGD_SM3_RSA    (SGD_SM3 | SGD_RSA)
#define SGD_SHA1_RSA   (SGD_SHA1 | SGD_RSA)
#define SGD_SHA256_RSA (SGD_SHA256 | SGD_RSA)
#define SGD_SM3_SM2    (SGD_SM3 | SGD_SM2)
#define SGD_SIG_FROM   0x00040000
#define SGD_SIG_TO     0x800000FF

typedef char SGD_CHAR;
typedef char SGD_INT8;
typedef int16_t SGD_INT16;
typedef int32_t SGD_INT32;
typedef int64_t SGD_INT64;
typedef unsigned char SGD_UCHAR;
typedef uint8_t SGD_UINT8;
typedef uint16_t SGD_UINT16;
typedef uint32_t SGD_UINT32;
typedef uint64_t SGD_UINT64;
typedef uint32_t SGD_RV;
typedef void *SGD_OBJ;
typedef int32_t SGD_BOOL;

#define SGD_TRUE  0x00000001
#define SGD_FALSE 0x00000000

/* Structure limits: fixed by the ABI, whatever key sizes vsmd supports. */
#define RSAref_MAX_BITS	 2048
#define RSAref_MAX_LEN	 ((RSAref_MAX_BITS + 7) / 8)
#define RSAref_MAX_PBITS ((RSAref_MAX_BITS + 1) / 2)
#define RSAref_MAX_PLEN	 ((RSAref_MAX_PBITS + 7) / 8)

#define ECCref_MAX_BITS 512
#define ECCref_MAX_LEN	((ECCref_MAX_BITS + 7) / 8)

#endif
