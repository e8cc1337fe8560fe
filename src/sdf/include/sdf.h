/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libsdf-vsm: the GM/T 0018 SDF API (2012, plus the 2023 multi-part, HMAC
 * and authenticated-encryption calls) on a vsm virtual card.
 *
 * Types, field order, sizes, constants and prototypes match GmSSL's sdf.h,
 * so a program written against that header compiles and links unchanged.
 * docs/sdf.md describes the device, sessions, key indexes, passwords and how
 * daemon errors become SDR_* codes.
 */
#ifndef VSM_SDF_SDF_H
#define VSM_SDF_SDF_H

#include <stdio.h>

#include "sgd.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma pack(1)
typedef struct DeviceInfo_st {
	unsigned char IssuerName[40];
	unsigned char DeviceName[16];
	unsigned char DeviceSerial[16]; /* date (8) || batch (3) || serial (5) */
	unsigned int DeviceVersion;
	unsigned int StandardVersion;
	unsigned int AsymAlgAbility[2]; /* [0]: algorithms, [1]: modulus sizes */
	unsigned int SymAlgAbility;
	unsigned int HashAlgAbility;
	unsigned int BufferSize;
} DEVICEINFO;

/* Big-endian integers, right-aligned in their fields. */
typedef struct RSArefPublicKey_st {
	unsigned int bits;
	unsigned char m[RSAref_MAX_LEN];
	unsigned char e[RSAref_MAX_LEN];
} RSArefPublicKey;

typedef struct RSArefPrivateKey_st {
	unsigned int bits;
	unsigned char m[RSAref_MAX_LEN];
	unsigned char e[RSAref_MAX_LEN];
	unsigned char d[RSAref_MAX_LEN];
	unsigned char prime[2][RSAref_MAX_PLEN];
	unsigned char pexp[2][RSAref_MAX_PLEN];
	unsigned char coef[RSAref_MAX_PLEN];
} RSArefPrivateKey;

/* 256-bit values sit in the last 32 bytes of each 64-byte field. */
typedef struct ECCrefPublicKey_st {
	unsigned int bits;
	unsigned char x[ECCref_MAX_LEN];
	unsigned char y[ECCref_MAX_LEN];
} ECCrefPublicKey;

typedef struct ECCrefPrivateKey_st {
	unsigned int bits;
	unsigned char K[ECCref_MAX_LEN];
} ECCrefPrivateKey;

/* SM2 ciphertext: C1 = (x, y), M = C3 (the SM3 check value), C2 = C[0..L). */
typedef struct ECCCipher_st {
	unsigned char x[ECCref_MAX_LEN];
	unsigned char y[ECCref_MAX_LEN];
	unsigned char M[32];
	unsigned int L;
	unsigned char C[1]; /* the caller allocates L bytes here */
} ECCCipher;

typedef struct ECCSignature_st {
	unsigned char r[ECCref_MAX_LEN];
	unsigned char s[ECCref_MAX_LEN];
} ECCSignature;

typedef struct SDF_ENVELOPEDKEYBLOB {
	unsigned long Version;
	unsigned long ulSymmAlgID;
	ECCCipher ECCCipehrBlob;
	ECCrefPublicKey PubKey;
	unsigned char cbEncryptedPrivKey[64];
} EnvelopedKeyBlob, *PEnvelopedKeyBlob;
#pragma pack()

/* Device management. */
int SDF_OpenDevice(void **phDeviceHandle);
int SDF_CloseDevice(void *hDeviceHandle);
int SDF_OpenSession(void *hDeviceHandle, void **phSessionHandle);
int SDF_CloseSession(void *hSessionHandle);
int SDF_GetDeviceInfo(void *hSessionHandle, DEVICEINFO *pstDeviceInfo);
int SDF_GenerateRandom(void *hSessionHandle, unsigned int uiLength, unsigned char *pucRandom);
int SDF_GetPrivateKeyAccessRight(void *hSessionHandle, unsigned int uiKeyIndex,
				 unsigned char *pucPassword, unsigned int uiPwdLength);
int SDF_ReleasePrivateKeyAccessRight(void *hSessionHandle, unsigned int uiKeyIndex);

/* Key management. */
int SDF_ExportSignPublicKey_RSA(void *hSessionHandle, unsigned int uiKeyIndex,
				RSArefPublicKey *pucPublicKey);
int SDF_ExportEncPublicKey_RSA(void *hSessionHandle, unsigned int uiKeyIndex,
			       RSArefPublicKey *pucPublicKey);
int SDF_GenerateKeyPair_RSA(void *hSessionHandle, unsigned int uiKeyBits,
			    RSArefPublicKey *pucPublicKey, RSArefPrivateKey *pucPrivateKey);
int SDF_GenerateKeyWithIPK_RSA(void *hSessionHandle, unsigned int uiIPKIndex,
			       unsigned int uiKeyBits, unsigned char *pucKey,
			       unsigned int *puiKeyLength, void **phKeyHandle);
int SDF_GenerateKeyWithEPK_RSA(void *hSessionHandle, unsigned int uiKeyBits,
			       RSArefPublicKey *pucPublicKey, unsigned char *pucKey,
			       unsigned int *puiKeyLength, void **phKeyHandle);
int SDF_ImportKeyWithISK_RSA(void *hSessionHandle, unsigned int uiISKIndex, unsigned char *pucKey,
			     unsigned int uiKeyLength, void **phKeyHandle);
int SDF_ExchangeDigitEnvelopeBaseOnRSA(void *hSessionHandle, unsigned int uiKeyIndex,
				       RSArefPublicKey *pucPublicKey, unsigned char *pucDEInput,
				       unsigned int uiDELength, unsigned char *pucDEOutput,
				       unsigned int *puiDELength);
int SDF_ExportSignPublicKey_ECC(void *hSessionHandle, unsigned int uiKeyIndex,
				ECCrefPublicKey *pucPublicKey);
int SDF_ExportEncPublicKey_ECC(void *hSessionHandle, unsigned int uiKeyIndex,
			       ECCrefPublicKey *pucPublicKey);
int SDF_GenerateKeyPair_ECC(void *hSessionHandle, unsigned int uiAlgID, unsigned int uiKeyBits,
			    ECCrefPublicKey *pucPublicKey, ECCrefPrivateKey *pucPrivateKey);
int SDF_GenerateKeyWithIPK_ECC(void *hSessionHandle, unsigned int uiIPKIndex,
			       unsigned int uiKeyBits, ECCCipher *pucKey, void **phKeyHandle);
int SDF_GenerateKeyWithEPK_ECC(void *hSessionHandle, unsigned int uiKeyBits, unsigned int uiAlgID,
			       ECCrefPublicKey *pucPublicKey, ECCCipher *pucKey,
			       void **phKeyHandle);
int SDF_ImportKeyWithISK_ECC(void *hSessionHandle, unsigned int uiISKIndex, ECCCipher *pucKey,
			     void **phKeyHandle);
int SDF_GenerateAgreementDataWithECC(void *hSessionHandle, unsigned int uiISKIndex,
				     unsigned int uiKeyBits, unsigned char *pucSponsorID,
				     unsigned int uiSponsorIDLength,
				     ECCrefPublicKey *pucSponsorPublicKey,
				     ECCrefPublicKey *pucSponsorTmpPublicKey,
				     void **phAgreementHandle);
int SDF_GenerateKeyWithECC(void *hSessionHandle, unsigned char *pucResponseID,
			   unsigned int uiResponseIDLength, ECCrefPublicKey *pucResponsePublicKey,
			   ECCrefPublicKey *pucResponseTmpPublicKey, void *hAgreementHandle,
			   void **phKeyHandle);
int SDF_GenerateAgreementDataAndKeyWithECC(
	void *hSessionHandle, unsigned int uiISKIndex, unsigned int uiKeyBits,
	unsigned char *pucResponseID, unsigned int uiResponseIDLength, unsigned char *pucSponsorID,
	unsigned int uiSponsorIDLength, ECCrefPublicKey *pucSponsorPublicKey,
	ECCrefPublicKey *pucSponsorTmpPublicKey, ECCrefPublicKey *pucResponsePublicKey,
	ECCrefPublicKey *pucResponseTmpPublicKey, void **phKeyHandle);
int SDF_ExchangeDigitEnvelopeBaseOnECC(void *hSessionHandle, unsigned int uiKeyIndex,
				       unsigned int uiAlgID, ECCrefPublicKey *pucPublicKey,
				       ECCCipher *pucEncDataIn, ECCCipher *pucEncDataOut);
int SDF_GenerateKeyWithKEK(void *hSessionHandle, unsigned int uiKeyBits, unsigned int uiAlgID,
			   unsigned int uiKEKIndex, unsigned char *pucKey,
			   unsigned int *puiKeyLength, void **phKeyHandle);
int SDF_ImportKeyWithKEK(void *hSessionHandle, unsigned int uiAlgID, unsigned int uiKEKIndex,
			 unsigned char *pucKey, unsigned int uiKeyLength, void **phKeyHandle);
/* GM/T 0018-2023: a plaintext session key. */
int SDF_ImportKey(void *hSessionHandle, unsigned char *pucKey, unsigned int uiKeyLength,
		  void **phKeyHandle);
int SDF_DestroyKey(void *hSessionHandle, void *hKeyHandle);

/* Asymmetric operations. */
int SDF_ExternalPublicKeyOperation_RSA(void *hSessionHandle, RSArefPublicKey *pucPublicKey,
				       unsigned char *pucDataInput, unsigned int uiInputLength,
				       unsigned char *pucDataOutput, unsigned int *puiOutputLength);
int SDF_ExternalPrivateKeyOperation_RSA(void *hSessionHandle, RSArefPrivateKey *pucPrivateKey,
					unsigned char *pucDataInput, unsigned int uiInputLength,
					unsigned char *pucDataOutput,
					unsigned int *puiOutputLength);
int SDF_InternalPublicKeyOperation_RSA(void *hSessionHandle, unsigned int uiKeyIndex,
				       unsigned char *pucDataInput, unsigned int uiInputLength,
				       unsigned char *pucDataOutput, unsigned int *puiOutputLength);
int SDF_InternalPrivateKeyOperation_RSA(void *hSessionHandle, unsigned int uiKeyIndex,
					unsigned char *pucDataInput, unsigned int uiInputLength,
					unsigned char *pucDataOutput,
					unsigned int *puiOutputLength);
int SDF_ExternalSign_ECC(void *hSessionHandle, unsigned int uiAlgID,
			 ECCrefPrivateKey *pucPrivateKey, unsigned char *pucData,
			 unsigned int uiDataLength, ECCSignature *pucSignature);
int SDF_ExternalVerify_ECC(void *hSessionHandle, unsigned int uiAlgID,
			   ECCrefPublicKey *pucPublicKey, unsigned char *pucDataInput,
			   unsigned int uiInputLength, ECCSignature *pucSignature);
/* pucData is e = SM3(Z || M), 32 bytes (SDF_HashInit with a public key computes it). */
int SDF_InternalSign_ECC(void *hSessionHandle, unsigned int uiISKIndex, unsigned char *pucData,
			 unsigned int uiDataLength, ECCSignature *pucSignature);
int SDF_InternalVerify_ECC(void *hSessionHandle, unsigned int uiIPKIndex, unsigned char *pucData,
			   unsigned int uiDataLength, ECCSignature *pucSignature);
int SDF_ExternalEncrypt_ECC(void *hSessionHandle, unsigned int uiAlgID,
			    ECCrefPublicKey *pucPublicKey, unsigned char *pucData,
			    unsigned int uiDataLength, ECCCipher *pucEncData);
int SDF_ExternalDecrypt_ECC(void *hSessionHandle, unsigned int uiAlgID,
			    ECCrefPrivateKey *pucPrivateKey, ECCCipher *pucEncData,
			    unsigned char *pucData, unsigned int *puiDataLength);
int SDF_InternalEncrypt_ECC(void *hSessionHandle, unsigned int uiIPKIndex, unsigned int uiAlgID,
			    unsigned char *pucData, unsigned int uiDataLength,
			    ECCCipher *pucEncData);
int SDF_InternalDecrypt_ECC(void *hSessionHandle, unsigned int uiISKIndex, unsigned int uiAlgID,
			    ECCCipher *pucEncData, unsigned char *pucData,
			    unsigned int *uiDataLength);

/* Symmetric operations. No padding: lengths are multiples of the block. */
int SDF_Encrypt(void *hSessionHandle, void *hKeyHandle, unsigned int uiAlgID, unsigned char *pucIV,
		unsigned char *pucData, unsigned int uiDataLength, unsigned char *pucEncData,
		unsigned int *puiEncDataLength);
int SDF_Decrypt(void *hSessionHandle, void *hKeyHandle, unsigned int uiAlgID, unsigned char *pucIV,
		unsigned char *pucEncData, unsigned int uiEncDataLength, unsigned char *pucData,
		unsigned int *puiDataLength);
int SDF_CalculateMAC(void *hSessionHandle, void *hKeyHandle, unsigned int uiAlgID,
		     unsigned char *pucIV, unsigned char *pucData, unsigned int uiDataLength,
		     unsigned char *pucMAC, unsigned int *puiMACLength);

/* GM/T 0018-2023 multi-part and authenticated operations. */
int SDF_EncryptInit(void *hSessionHandle, void *hKeyHandle, unsigned int uiAlgID,
		    unsigned char *pucIV, unsigned int uiIVLength);
int SDF_EncryptUpdate(void *hSessionHandle, unsigned char *pucData, unsigned int uiDataLength,
		      unsigned char *pucEncData, unsigned int *puiEncDataLength);
int SDF_EncryptFinal(void *hSessionHandle, unsigned char *pucLastEncData,
		     unsigned int *puiLastEncDataLength);
int SDF_DecryptInit(void *hSessionHandle, void *hKeyHandle, unsigned int uiAlgID,
		    unsigned char *pucIV, unsigned int uiIVLength);
int SDF_DecryptUpdate(void *hSessionHandle, unsigned char *pucEncData, unsigned int uiEncDataLength,
		      unsigned char *pucData, unsigned int *puiDataLength);
int SDF_DecryptFinal(void *hSessionHandle, unsigned char *pucLastData,
		     unsigned int *puiLastDataLength);
int SDF_CalculateMACInit(void *hSessionHandle, void *hKeyHandle, unsigned int uiAlgID,
			 unsigned char *pucIV, unsigned int uiIVLength);
int SDF_CalculateMACUpdate(void *hSessionHandle, unsigned char *pucData, unsigned int uiDataLength);
int SDF_CalculateMACFinal(void *hSessionHandle, unsigned char *pucMac, unsigned int *puiMacLength);
int SDF_HMACInit(void *hSessionHandle, void *hKeyHandle, unsigned int uiAlgID);
int SDF_HMACUpdate(void *hSessionHandle, unsigned char *pucData, unsigned int uiDataLength);
int SDF_HMACFinal(void *hSessionHandle, unsigned char *pucHMac, unsigned int *puiMacLength);
int SDF_AuthEnc(void *hSessionHandle, void *hKeyHandle, unsigned int uiAlgID,
		unsigned char *pucStartVar, unsigned int uiStartVarLength, unsigned char *pucAad,
		unsigned int uiAadLength, unsigned char *pucData, unsigned int uiDataLength,
		unsigned char *pucEncData, unsigned int *puiEncDataLength,
		unsigned char *pucAuthData, unsigned int *puiAuthDataLength);
int SDF_AuthDec(void *hSessionHandle, void *hKeyHandle, unsigned int uiAlgID,
		unsigned char *pucStartVar, unsigned int uiStartVarLength, unsigned char *pucAad,
		unsigned int uiAadLength, unsigned char *pucAuthData,
		unsigned int *puiAuthDataLength, unsigned char *pucEncData,
		unsigned int uiEncDataLength, unsigned char *pucData, unsigned int *puiDataLength);

/* Hash. With SGD_SM3, a public key and an ID, the SM2 Z value is hashed first. */
int SDF_HashInit(void *hSessionHandle, unsigned int uiAlgID, ECCrefPublicKey *pucPublicKey,
		 unsigned char *pucID, unsigned int uiIDLength);
int SDF_HashUpdate(void *hSessionHandle, unsigned char *pucData, unsigned int uiDataLength);
int SDF_HashFinal(void *hSessionHandle, unsigned char *pucHash, unsigned int *puiHashLength);

/* Files (names up to 128 bytes). */
int SDF_CreateFile(void *hSessionHandle, unsigned char *pucFileName, unsigned int uiNameLen,
		   unsigned int uiFileSize);
int SDF_ReadFile(void *hSessionHandle, unsigned char *pucFileName, unsigned int uiNameLen,
		 unsigned int uiOffset, unsigned int *puiReadLength, unsigned char *pucBuffer);
int SDF_WriteFile(void *hSessionHandle, unsigned char *pucFileName, unsigned int uiNameLen,
		  unsigned int uiOffset, unsigned int uiWriteLength, unsigned char *pucBuffer);
int SDF_DeleteFile(void *hSessionHandle, unsigned char *pucFileName, unsigned int uiNameLen);

#define SDR_OK		     0x0
#define SDR_BASE	     0x01000000
#define SDR_UNKNOWERR	     (SDR_BASE + 0x00000001)
#define SDR_NOTSUPPORT	     (SDR_BASE + 0x00000002)
#define SDR_COMMFAIL	     (SDR_BASE + 0x00000003)
#define SDR_HARDFAIL	     (SDR_BASE + 0x00000004)
#define SDR_OPENDEVICE	     (SDR_BASE + 0x00000005)
#define SDR_OPENSESSION	     (SDR_BASE + 0x00000006)
#define SDR_PARDENY	     (SDR_BASE + 0x00000007)
#define SDR_KEYNOTEXIST	     (SDR_BASE + 0x00000008)
#define SDR_ALGNOTSUPPORT    (SDR_BASE + 0x00000009)
#define SDR_ALGMODNOTSUPPORT (SDR_BASE + 0x0000000A)
#define SDR_PKOPERR	     (SDR_BASE + 0x0000000B)
#define SDR_SKOPERR	     (SDR_BASE + 0x0000000C)
#define SDR_SIGNERR	     (SDR_BASE + 0x0000000D)
#define SDR_VERIFYERR	     (SDR_BASE + 0x0000000E)
#define SDR_SYMOPERR	     (SDR_BASE + 0x0000000F)
#define SDR_STEPERR	     (SDR_BASE + 0x00000010)
#define SDR_FILESIZEERR	     (SDR_BASE + 0x00000011)
#define SDR_FILENOEXIST	     (SDR_BASE + 0x00000012)
#define SDR_FILEOFSERR	     (SDR_BASE + 0x00000013)
#define SDR_KEYTYPEERR	     (SDR_BASE + 0x00000014)
#define SDR_KEYERR	     (SDR_BASE + 0x00000015)
#define SDR_ENCDATAERR	     (SDR_BASE + 0x00000016)
#define SDR_RANDERR	     (SDR_BASE + 0x00000017)
#define SDR_PRKRERR	     (SDR_BASE + 0x00000018)
#define SDR_MACERR	     (SDR_BASE + 0x00000019)
#define SDR_FILEEXSITS	     (SDR_BASE + 0x0000001A)
#define SDR_FILEWERR	     (SDR_BASE + 0x0000001B)
#define SDR_NOBUFFER	     (SDR_BASE + 0x0000001C)
#define SDR_INARGERR	     (SDR_BASE + 0x0000001D)
#define SDR_OUTARGERR	     (SDR_BASE + 0x0000001E)

#ifdef __cplusplus
}
#endif
#endif
