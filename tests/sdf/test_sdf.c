/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libsdf-vsm against a real vsmd: the standards' vectors (GM/T 0003.5 SM2
 * signature and ciphertext on the recommended curve, SM3, SM4), a round
 * trip through every SDF function, argument errors, persistence across a
 * restart and tenant isolation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sdf_test.h"

/* GM/T 0003.5-2012 / GB/T 32918.5-2017 annexes: recommended curve, ID 1234567812345678. */
#define STD_D	"3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8"
#define STD_X	"09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
#define STD_Y	"CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
#define STD_E	"F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640"
#define STD_R	"F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
#define STD_S	"B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
#define STD_C1X "04EBFC718E8D1798620432268E77FEB6415E2EDE0E073C0F4F640ECD2E149A73"
#define STD_C1Y "E858F9D81E5430A57B36DAAB8F950A3C64E6EE6A63094D99283AFF767E124DF0"
#define STD_C3	"59983C18F809E262923C53AEC295D30383B54E39D609D160AFCB1908D0BD8766"
#define STD_C2	"21886CA989CA9C7D58087307CA93092D651EFA"
#define STD_MSG "message digest"
#define STD_PT	"encryption standard"
#define STD_ID	"1234567812345678"

/* GB/T 32907 example 1 (key = plaintext) and example 2 (1,000,000 encryptions). */
#define SM4_KEY "0123456789ABCDEFFEDCBA9876543210"
#define SM4_CT1 "681EDF34D206965E86B3E94F536E4246"
#define SM4_CT2 "595298C7C6FD271F0402F804C33D3F66"

#define PW	"correct horse"
#define PW_LEN	13u
#define IDX_SM2 1u /* SIGN and ENC SM2 pairs, password PW */
#define IDX_RSA 2u /* SIGN and ENC RSA-2048 pairs, password PW */
#define IDX_KEK 3u /* SM4 KEK */
#define IDX_STD 4u /* the standard's key, imported as SIGN and ENC */
#define IDX_RSP 5u /* SM2 ENC pair of the agreement's responder */

static ECCrefPublicKey std_pub(void)
{
	ECCrefPublicKey k = {.bits = 256};

	st_hex(STD_X, k.x + 32, 32);
	st_hex(STD_Y, k.y + 32, 32);
	return k;
}

static ECCSignature std_sig(void)
{
	ECCSignature s;

	memset(&s, 0, sizeof(s));

	st_hex(STD_R, s.r + 32, 32);
	st_hex(STD_S, s.s + 32, 32);
	return s;
}

/* The standard's ciphertext: the caller frees. */
static ECCCipher *std_cipher(void)
{
	ECCCipher *c = calloc(1, sizeof(*c) + 64);

	VH_CHECK(c, "calloc");
	st_hex(STD_C1X, c->x + 32, 32);
	st_hex(STD_C1Y, c->y + 32, 32);
	st_hex(STD_C3, c->M, 32);
	c->L = 19;
	st_hex(STD_C2, c->C, 19);
	return c;
}

static void import_std_key(const struct st_env *e)
{
	vsm_client *c = vh_connect(e->d.uri);
	uint8_t d[32], *der;
	size_t der_len;

	st_hex(STD_D, d, 32);
	der = st_sm2_pkcs8(d, &der_len);
	VH_OK(vsm_key_import(c, VSM_KU_SIGN, IDX_STD, VSM_KT_SM2, der, der_len, PW, PW_LEN,
			     "std-sign"));
	VH_OK(vsm_key_import(c, VSM_KU_ENC, IDX_STD, VSM_KT_SM2, der, der_len, PW, PW_LEN,
			     "std-enc"));
	OPENSSL_clear_free(der, der_len);
	vsm_close(c);
}

/* ---- vectors ---- */

static int case_vectors(void)
{
	struct st_env e;
	ECCrefPublicKey pub;
	ECCSignature sig;
	ECCrefPrivateKey priv = {.bits = 256};
	ECCCipher *ct;
	uint8_t out[64], want[32], key[16];
	unsigned n;
	void *hk;

	st_start(&e, false);

	/* SM3 of "abc" (GB/T 32905 example 1). */
	SDF_OK(SDF_HashInit(e.s, SGD_SM3, NULL, NULL, 0));
	SDF_OK(SDF_HashUpdate(e.s, (unsigned char *)"abc", 3));
	SDF_OK(SDF_HashFinal(e.s, out, &n));
	VH_EQ(n, 32);
	st_hex("66C7F0F462EEEDD9D1F2D46BDC10E4E24167C4875CF2F7A2297DA02B8F4BA8E0", want, 32);
	VH_MEMEQ(out, want, 32);

	/* e = SM3(Z || M) for the standard's key: HashInit with the public key. */
	pub = std_pub();
	SDF_OK(SDF_HashInit(e.s, SGD_SM3, &pub, (unsigned char *)STD_ID, 16));
	SDF_OK(SDF_HashUpdate(e.s, (unsigned char *)STD_MSG, strlen(STD_MSG)));
	SDF_OK(SDF_HashFinal(e.s, out, &n));
	VH_EQ(n, 32);
	st_hex(STD_E, want, 32);
	VH_MEMEQ(out, want, 32);

	/* The standard's signature verifies; one flipped bit does not. */
	sig = std_sig();
	SDF_OK(SDF_ExternalVerify_ECC(e.s, SGD_SM2_1, &pub, want, 32, &sig));
	sig.s[63] ^= 1;
	SDF_EQ(SDF_ExternalVerify_ECC(e.s, SGD_SM2_1, &pub, want, 32, &sig), SDR_VERIFYERR);
	want[0] ^= 1;
	sig = std_sig();
	SDF_EQ(SDF_ExternalVerify_ECC(e.s, SGD_SM2_1, &pub, want, 32, &sig), SDR_VERIFYERR);

	/* The standard's ciphertext decrypts with its private key. */
	st_hex(STD_D, priv.K + 32, 32);
	ct = std_cipher();
	memset(out, 0, sizeof(out));
	SDF_OK(SDF_ExternalDecrypt_ECC(e.s, SGD_SM2_3, &priv, ct, out, &n));
	VH_EQ(n, strlen(STD_PT));
	VH_MEMEQ(out, STD_PT, n);
	ct->M[0] ^= 1;
	SDF_EQ(SDF_ExternalDecrypt_ECC(e.s, SGD_SM2_3, &priv, ct, out, &n), SDR_ENCDATAERR);
	free(ct);

	/* SM4: GB/T 32907 example 1 through a plaintext session key. */
	st_hex(SM4_KEY, key, 16);
	SDF_OK(SDF_ImportKey(e.s, key, 16, &hk));
	SDF_OK(SDF_Encrypt(e.s, hk, SGD_SM4_ECB, NULL, key, 16, out, &n));
	VH_EQ(n, 16);
	st_hex(SM4_CT1, want, 16);
	VH_MEMEQ(out, want, 16);
	SDF_OK(SDF_Decrypt(e.s, hk, SGD_SM4_ECB, NULL, out, 16, out + 16, &n));
	VH_MEMEQ(out + 16, key, 16);
	SDF_OK(SDF_DestroyKey(e.s, hk));

	/* With the keystore: the same vectors through internal keys. */
	if (st_have_keystore(&e)) {
		import_std_key(&e);
		SDF_OK(SDF_GetPrivateKeyAccessRight(e.s, IDX_STD, (unsigned char *)PW, PW_LEN));
		ct = std_cipher();
		SDF_OK(SDF_InternalDecrypt_ECC(e.s, IDX_STD, SGD_SM2_3, ct, out, &n));
		VH_EQ(n, strlen(STD_PT));
		VH_MEMEQ(out, STD_PT, n);
		free(ct);
		st_hex(STD_E, want, 32);
		sig = std_sig();
		SDF_OK(SDF_InternalVerify_ECC(e.s, IDX_STD, want, 32, &sig));
		SDF_OK(SDF_ExportSignPublicKey_ECC(e.s, IDX_STD, &pub));
		ECCrefPublicKey std = std_pub();
		VH_MEMEQ(&pub, &std, sizeof(pub));
	}
	st_stop(&e);
	return 0;
}

/*
 * GB/T 32907 example 2: 1,000,000 chained encryptions, one round trip
 * each. Too slow for the default run: set VSM_SDF_LONG=1.
 */
static int case_sm4_million(void)
{
	struct st_env e;
	uint8_t key[16], blk[16], want[16];
	unsigned n;
	void *hk;

	if (!getenv("VSM_SDF_LONG")) {
		printf("SKIP: long test, set VSM_SDF_LONG=1\n");
		return VH_SKIP;
	}
	st_start(&e, false);
	st_hex(SM4_KEY, key, 16);
	memcpy(blk, key, 16);
	SDF_OK(SDF_ImportKey(e.s, key, 16, &hk));
	for (int i = 0; i < 1000000; i++)
		SDF_OK(SDF_Encrypt(e.s, hk, SGD_SM4_ECB, NULL, blk, 16, blk, &n));
	st_hex(SM4_CT2, want, 16);
	VH_MEMEQ(blk, want, 16);
	SDF_OK(SDF_DestroyKey(e.s, hk));
	st_stop(&e);
	return 0;
}

/* ---- every function ---- */

static void make_keys(const struct st_env *e)
{
	vsm_client *c = vh_connect(e->d.uri);

	VH_OK(vsm_key_generate(c, VSM_KU_SIGN, IDX_SM2, VSM_KT_SM2, 256, PW, PW_LEN, "sm2-sign"));
	VH_OK(vsm_key_generate(c, VSM_KU_ENC, IDX_SM2, VSM_KT_SM2, 256, PW, PW_LEN, "sm2-enc"));
	VH_OK(vsm_key_generate(c, VSM_KU_SIGN, IDX_RSA, VSM_KT_RSA, 2048, PW, PW_LEN, "rsa-sign"));
	VH_OK(vsm_key_generate(c, VSM_KU_ENC, IDX_RSA, VSM_KT_RSA, 2048, PW, PW_LEN, "rsa-enc"));
	VH_OK(vsm_key_generate(c, VSM_KU_KEK, IDX_KEK, VSM_KT_SM4, 128, NULL, 0, "kek"));
	VH_OK(vsm_key_generate(c, VSM_KU_ENC, IDX_RSP, VSM_KT_SM2, 256, PW, PW_LEN, "responder"));
	vsm_close(c);
}

/* Two session keys are the same key: they encrypt a block alike. */
static void same_key(void *s, void *k1, void *k2)
{
	uint8_t in[16] = "sixteen byte blk", a[16], b[16];
	unsigned n;

	SDF_OK(SDF_Encrypt(s, k1, SGD_SM4_ECB, NULL, in, 16, a, &n));
	SDF_OK(SDF_Encrypt(s, k2, SGD_SM4_ECB, NULL, in, 16, b, &n));
	VH_MEMEQ(a, b, 16);
}

static void roundtrip_device(void *s)
{
	DEVICEINFO di;
	uint8_t r1[300], r2[300];

	SDF_OK(SDF_GetDeviceInfo(s, &di));
	VH_CHECK(di.AsymAlgAbility[0] & SGD_SM2_1, "no SM2 in AsymAlgAbility");
	VH_CHECK(di.SymAlgAbility & SGD_SM4_CBC, "no SM4-CBC in SymAlgAbility");
	VH_CHECK(di.HashAlgAbility & SGD_SM3, "no SM3 in HashAlgAbility");
	VH_CHECK(di.BufferSize > 0, "BufferSize 0");
	SDF_OK(SDF_GenerateRandom(s, sizeof(r1), r1));
	SDF_OK(SDF_GenerateRandom(s, sizeof(r2), r2));
	VH_CHECK(memcmp(r1, r2, sizeof(r1)), "two random strings are equal");
}

static void roundtrip_sm2(void *s)
{
	ECCrefPublicKey spub, epub, xpub, rpub;
	ECCrefPrivateKey xpriv;
	ECCSignature sig;
	ECCCipher *ct = calloc(1, sizeof(*ct) + 256);
	uint8_t e[32], out[256];
	unsigned n;

	VH_CHECK(ct, "calloc");
	SDF_OK(SDF_ExportSignPublicKey_ECC(s, IDX_SM2, &spub));
	SDF_OK(SDF_ExportEncPublicKey_ECC(s, IDX_SM2, &epub));
	VH_CHECK(memcmp(&spub, &epub, sizeof(spub)), "sign and enc keys are equal");

	/* Internal sign, checked by OpenSSL, by SDF internally and externally. */
	SDF_OK(SDF_HashInit(s, SGD_SM3, &spub, (unsigned char *)STD_ID, 16));
	SDF_OK(SDF_HashUpdate(s, (unsigned char *)"hello", 5));
	SDF_OK(SDF_HashFinal(s, e, &n));
	SDF_OK(SDF_InternalSign_ECC(s, IDX_SM2, e, 32, &sig));
	VH_CHECK(st_sm2_verify_native(&spub, e, &sig), "OpenSSL rejects vsmd's signature");
	SDF_OK(SDF_InternalVerify_ECC(s, IDX_SM2, e, 32, &sig));
	SDF_OK(SDF_ExternalVerify_ECC(s, SGD_SM2_1, &spub, e, 32, &sig));

	/* A caller's key pair: external sign and verify, encrypt and decrypt. */
	SDF_OK(SDF_GenerateKeyPair_ECC(s, SGD_SM2_1, 256, &xpub, &xpriv));
	SDF_OK(SDF_ExternalSign_ECC(s, SGD_SM2_1, &xpriv, e, 32, &sig));
	VH_CHECK(st_sm2_verify_native(&xpub, e, &sig), "OpenSSL rejects an external signature");
	SDF_OK(SDF_ExternalVerify_ECC(s, SGD_SM2_1, &xpub, e, 32, &sig));
	SDF_OK(SDF_ExternalEncrypt_ECC(s, SGD_SM2_3, &xpub, (unsigned char *)"secret", 6, ct));
	VH_EQ(ct->L, 6);
	SDF_OK(SDF_ExternalDecrypt_ECC(s, SGD_SM2_3, &xpriv, ct, out, &n));
	VH_EQ(n, 6);
	VH_MEMEQ(out, "secret", 6);

	/* Internal encryption key: public encrypt, private decrypt. */
	SDF_OK(SDF_InternalEncrypt_ECC(s, IDX_SM2, SGD_SM2_3, (unsigned char *)"inside", 6, ct));
	SDF_OK(SDF_InternalDecrypt_ECC(s, IDX_SM2, SGD_SM2_3, ct, out, &n));
	VH_EQ(n, 6);
	VH_MEMEQ(out, "inside", 6);
	SDF_OK(SDF_ExternalEncrypt_ECC(s, SGD_SM2_3, &epub, (unsigned char *)"outside", 7, ct));
	SDF_OK(SDF_InternalDecrypt_ECC(s, IDX_SM2, SGD_SM2_3, ct, out, &n));
	VH_EQ(n, 7);
	VH_MEMEQ(out, "outside", 7);

	/* Session keys wrapped under SM2: internal and external public keys. */
	void *k1, *k2;
	ECCCipher *w = calloc(1, sizeof(*w) + 64), *w2 = calloc(1, sizeof(*w2) + 64);

	VH_CHECK(w && w2, "calloc");
	SDF_OK(SDF_GenerateKeyWithIPK_ECC(s, IDX_SM2, 128, w, &k1));
	VH_EQ(w->L, 16);
	SDF_OK(SDF_ImportKeyWithISK_ECC(s, IDX_SM2, w, &k2));
	same_key(s, k1, k2);
	SDF_OK(SDF_DestroyKey(s, k2));
	/* Re-wrap for the caller's key, which then recovers the same session key. */
	SDF_OK(SDF_ExchangeDigitEnvelopeBaseOnECC(s, IDX_SM2, SGD_SM2_3, &xpub, w, w2));
	VH_EQ(w2->L, 16);
	SDF_OK(SDF_ExternalDecrypt_ECC(s, SGD_SM2_3, &xpriv, w2, out, &n));
	VH_EQ(n, 16);
	SDF_OK(SDF_ImportKey(s, out, 16, &k2));
	same_key(s, k1, k2);
	SDF_OK(SDF_DestroyKey(s, k2));
	SDF_OK(SDF_DestroyKey(s, k1));
	SDF_OK(SDF_GenerateKeyWithEPK_ECC(s, 128, SGD_SM2_3, &xpub, w, &k1));
	SDF_OK(SDF_ExternalDecrypt_ECC(s, SGD_SM2_3, &xpriv, w, out, &n));
	VH_EQ(n, 16);
	SDF_OK(SDF_ImportKey(s, out, 16, &k2));
	same_key(s, k1, k2);
	SDF_OK(SDF_DestroyKey(s, k1));
	SDF_OK(SDF_DestroyKey(s, k2));
	free(w);
	free(w2);

	/* SM2 key agreement: sponsor IDX_SM2, responder IDX_RSP, in one tenant. */
	ECCrefPublicKey spon, spon_tmp, resp, resp_tmp;
	void *agr, *ks, *kr;

	SDF_OK(SDF_GetPrivateKeyAccessRight(s, IDX_RSP, (unsigned char *)PW, PW_LEN));
	SDF_OK(SDF_GenerateAgreementDataWithECC(s, IDX_SM2, 128, (unsigned char *)"sponsor", 7,
						&spon, &spon_tmp, &agr));
	SDF_OK(SDF_ExportEncPublicKey_ECC(s, IDX_SM2, &rpub));
	VH_MEMEQ(&spon, &rpub, sizeof(rpub));
	SDF_OK(SDF_GenerateAgreementDataAndKeyWithECC(s, IDX_RSP, 128, (unsigned char *)"responder",
						      9, (unsigned char *)"sponsor", 7, &spon,
						      &spon_tmp, &resp, &resp_tmp, &kr));
	SDF_OK(SDF_GenerateKeyWithECC(s, (unsigned char *)"responder", 9, &resp, &resp_tmp, agr,
				      &ks));
	same_key(s, ks, kr);
	SDF_OK(SDF_DestroyKey(s, ks));
	SDF_OK(SDF_DestroyKey(s, kr));
	SDF_OK(SDF_ReleasePrivateKeyAccessRight(s, IDX_RSP));
	free(ct);
}

static void roundtrip_rsa(void *s)
{
	RSArefPublicKey spub, epub, xpub;
	RSArefPrivateKey *xpriv = calloc(1, sizeof(*xpriv));
	uint8_t in[256], out[256], back[256], w[256], w2[256];
	unsigned n, wn, w2n;
	void *k1, *k2;

	VH_CHECK(xpriv, "calloc");
	SDF_OK(SDF_ExportSignPublicKey_RSA(s, IDX_RSA, &spub));
	SDF_OK(SDF_ExportEncPublicKey_RSA(s, IDX_RSA, &epub));
	VH_EQ(spub.bits, 2048);
	VH_EQ(epub.bits, 2048);

	/* Raw RSA: private then public (and the external form) gives the input back. */
	memset(in, 0x5a, sizeof(in));
	in[0] = 0x01;
	SDF_OK(SDF_InternalPrivateKeyOperation_RSA(s, IDX_RSA, in, 256, out, &n));
	VH_EQ(n, 256);
	SDF_OK(SDF_InternalPublicKeyOperation_RSA(s, IDX_RSA, out, 256, back, &n));
	VH_MEMEQ(back, in, 256);
	SDF_OK(SDF_ExternalPublicKeyOperation_RSA(s, &spub, out, 256, back, &n));
	VH_MEMEQ(back, in, 256);

	/* A caller's RSA pair, both directions. */
	SDF_OK(SDF_GenerateKeyPair_RSA(s, 2048, &xpub, xpriv));
	VH_EQ(xpub.bits, 2048);
	SDF_OK(SDF_ExternalPrivateKeyOperation_RSA(s, xpriv, in, 256, out, &n));
	SDF_OK(SDF_ExternalPublicKeyOperation_RSA(s, &xpub, out, 256, back, &n));
	VH_MEMEQ(back, in, 256);

	/* Session keys under RSA (PKCS#1 v1.5 wrapping). */
	SDF_OK(SDF_GenerateKeyWithIPK_RSA(s, IDX_RSA, 128, w, &wn, &k1));
	VH_EQ(wn, 256);
	SDF_OK(SDF_ImportKeyWithISK_RSA(s, IDX_RSA, w, wn, &k2));
	same_key(s, k1, k2);
	SDF_OK(SDF_DestroyKey(s, k2));
	SDF_OK(SDF_ExchangeDigitEnvelopeBaseOnRSA(s, IDX_RSA, &xpub, w, wn, w2, &w2n));
	VH_EQ(w2n, 256);
	/* Unwrap by hand: 00 02 PS 00 key. */
	SDF_OK(SDF_ExternalPrivateKeyOperation_RSA(s, xpriv, w2, 256, out, &n));
	VH_CHECK(out[0] == 0 && out[1] == 2 && out[256 - 17] == 0, "not a PKCS#1 v1.5 block");
	SDF_OK(SDF_ImportKey(s, out + 256 - 16, 16, &k2));
	same_key(s, k1, k2);
	SDF_OK(SDF_DestroyKey(s, k1));
	SDF_OK(SDF_DestroyKey(s, k2));
	SDF_OK(SDF_GenerateKeyWithEPK_RSA(s, 128, &xpub, w, &wn, &k1));
	SDF_OK(SDF_ExternalPrivateKeyOperation_RSA(s, xpriv, w, 256, out, &n));
	SDF_OK(SDF_ImportKey(s, out + 256 - 16, 16, &k2));
	same_key(s, k1, k2);
	SDF_OK(SDF_DestroyKey(s, k1));
	SDF_OK(SDF_DestroyKey(s, k2));
	OPENSSL_cleanse(xpriv, sizeof(*xpriv));
	free(xpriv);
}

static void roundtrip_sym(void *s)
{
	uint8_t key[16], iv[16], iv2[16], in[4096], ct[4096], pt[4096], want[4096], mac[64];
	uint8_t w[64];
	unsigned n, m, wn;
	void *k, *k2;

	/* Session keys under the KEK. */
	SDF_OK(SDF_GenerateKeyWithKEK(s, 128, SGD_SM4_ECB, IDX_KEK, w, &wn, &k));
	VH_EQ(wn, 16);
	SDF_OK(SDF_ImportKeyWithKEK(s, SGD_SM4_ECB, IDX_KEK, w, wn, &k2));
	same_key(s, k, k2);
	SDF_OK(SDF_DestroyKey(s, k));
	SDF_OK(SDF_DestroyKey(s, k2));

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 3);
	memset(key, 0x11, 16);
	memset(iv, 0x22, 16);
	SDF_OK(SDF_ImportKey(s, key, 16, &k));

	/* CBC against OpenSSL; the IV comes back chained. */
	st_sm4_cbc_native(key, iv, in, sizeof(in), want);
	memcpy(iv2, iv, 16);
	SDF_OK(SDF_Encrypt(s, k, SGD_SM4_CBC, iv2, in, sizeof(in), ct, &n));
	VH_EQ(n, sizeof(in));
	VH_MEMEQ(ct, want, sizeof(in));
	VH_MEMEQ(iv2, ct + sizeof(in) - 16, 16);
	memcpy(iv2, iv, 16);
	SDF_OK(SDF_Decrypt(s, k, SGD_SM4_CBC, iv2, ct, sizeof(ct), pt, &n));
	VH_MEMEQ(pt, in, sizeof(in));

	/* SM4-MAC = last CBC block. */
	memcpy(iv2, iv, 16);
	SDF_OK(SDF_CalculateMAC(s, k, SGD_SM4_MAC, iv2, in, sizeof(in), mac, &n));
	VH_EQ(n, 16);
	VH_MEMEQ(mac, want + sizeof(in) - 16, 16);

	/* Multi-part in odd pieces equals one shot. */
	SDF_OK(SDF_EncryptInit(s, k, SGD_SM4_CBC, iv, 16));
	SDF_OK(SDF_EncryptUpdate(s, in, 5, ct, &n));
	VH_EQ(n, 0);
	SDF_OK(SDF_EncryptUpdate(s, in + 5, 1000, ct, &m));
	VH_EQ(m, 992); /* whole blocks only: 13 bytes wait */
	SDF_OK(SDF_EncryptUpdate(s, in + 1005, sizeof(in) - 1005, ct + m, &n));
	VH_EQ(m + n, sizeof(in));
	SDF_OK(SDF_EncryptFinal(s, ct + sizeof(in), &n));
	VH_EQ(n, 0);
	VH_MEMEQ(ct, want, sizeof(in));
	SDF_OK(SDF_DecryptInit(s, k, SGD_SM4_CBC, iv, 16));
	SDF_OK(SDF_DecryptUpdate(s, ct, 17, pt, &n));
	SDF_OK(SDF_DecryptUpdate(s, ct + 17, sizeof(ct) - 17, pt + n, &m));
	VH_EQ(n + m, sizeof(in));
	SDF_OK(SDF_DecryptFinal(s, pt, &n));
	VH_MEMEQ(pt, in, sizeof(in));
	SDF_OK(SDF_CalculateMACInit(s, k, SGD_SM4_MAC, iv, 16));
	SDF_OK(SDF_CalculateMACUpdate(s, in, 33));
	SDF_OK(SDF_CalculateMACUpdate(s, in + 33, sizeof(in) - 33));
	SDF_OK(SDF_CalculateMACFinal(s, mac, &n));
	VH_EQ(n, 16);
	VH_MEMEQ(mac, want + sizeof(in) - 16, 16);

	/* HMAC-SM3 against OpenSSL. */
	unsigned wl = 0;

	SDF_OK(SDF_HMACInit(s, k, SGD_SM3));
	SDF_OK(SDF_HMACUpdate(s, in, 100));
	SDF_OK(SDF_HMACUpdate(s, in + 100, sizeof(in) - 100));
	SDF_OK(SDF_HMACFinal(s, mac, &n));
	VH_EQ(n, 32);
	VH_CHECK(HMAC(EVP_sm3(), key, 16, in, sizeof(in), want, &wl), "native HMAC");
	VH_MEMEQ(mac, want, 32);

	/* SM4-GCM: round trip, and a changed tag or AAD is refused. */
	uint8_t nonce[12] = {1, 2, 3}, aad[5] = "head", tag[16];
	unsigned tl = 16;

	SDF_OK(SDF_AuthEnc(s, k, SGD_SM4_GCM, nonce, 12, aad, 5, in, 100, ct, &n, tag, &tl));
	VH_EQ(n, 100);
	VH_EQ(tl, 16);
	SDF_OK(SDF_AuthDec(s, k, SGD_SM4_GCM, nonce, 12, aad, 5, tag, &tl, ct, 100, pt, &n));
	VH_EQ(n, 100);
	VH_MEMEQ(pt, in, 100);
	aad[0] ^= 1;
	SDF_EQ(SDF_AuthDec(s, k, SGD_SM4_GCM, nonce, 12, aad, 5, tag, &tl, ct, 100, pt, &n),
	       SDR_MACERR);
	SDF_OK(SDF_DestroyKey(s, k));

	/* SHA-256 too, hashed over several updates. */
	SDF_OK(SDF_HashInit(s, SGD_SHA256, NULL, NULL, 0));
	for (int i = 0; i < 40; i++)
		SDF_OK(SDF_HashUpdate(s, in, sizeof(in)));
	SDF_OK(SDF_HashFinal(s, mac, &n));
	VH_EQ(n, 32);
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	VH_CHECK(mc && EVP_DigestInit_ex(mc, EVP_sha256(), NULL), "native SHA-256");
	for (int i = 0; i < 40; i++)
		EVP_DigestUpdate(mc, in, sizeof(in));
	EVP_DigestFinal_ex(mc, want, &wl);
	EVP_MD_CTX_free(mc);
	VH_MEMEQ(mac, want, 32);
}

static void roundtrip_files(void *s)
{
	unsigned char name[] = "config.bin";
	uint8_t buf[64] = {0}, want[64] = {0};
	unsigned n = 16;

	SDF_OK(SDF_CreateFile(s, name, 10, 64));
	SDF_OK(SDF_WriteFile(s, name, 10, 8, 5, (unsigned char *)"hello"));
	SDF_OK(SDF_ReadFile(s, name, 10, 0, &n, buf));
	VH_EQ(n, 16);
	memcpy(want + 8, "hello", 5);
	VH_MEMEQ(buf, want, 16);
	SDF_EQ(SDF_CreateFile(s, name, 10, 64), SDR_FILEEXSITS);
	SDF_OK(SDF_DeleteFile(s, name, 10));
	SDF_EQ(SDF_ReadFile(s, name, 10, 0, &n, buf), SDR_FILENOEXIST);
}

static int case_roundtrip(void)
{
	struct st_env e;

	st_start(&e, false);
	if (!st_have_keystore(&e)) {
		st_stop(&e);
		return VH_SKIP;
	}
	make_keys(&e);
	roundtrip_device(e.s);
	SDF_OK(SDF_GetPrivateKeyAccessRight(e.s, IDX_SM2, (unsigned char *)PW, PW_LEN));
	SDF_OK(SDF_GetPrivateKeyAccessRight(e.s, IDX_RSA, (unsigned char *)PW, PW_LEN));
	roundtrip_sm2(e.s);
	roundtrip_rsa(e.s);
	roundtrip_sym(e.s);
	roundtrip_files(e.s);
	SDF_OK(SDF_ReleasePrivateKeyAccessRight(e.s, IDX_SM2));
	SDF_OK(SDF_ReleasePrivateKeyAccessRight(e.s, IDX_RSA));
	st_stop(&e);
	return 0;
}

/* ---- argument errors ---- */

static int case_errors(void)
{
	struct st_env e;
	ECCrefPublicKey pub = std_pub(), bad;
	ECCSignature sig = std_sig();
	uint8_t d32[32] = {0}, buf[64], key[16] = {0};
	unsigned n;
	void *hk, *dev2;

	st_start(&e, false);

	/* Handles. */
	SDF_EQ(SDF_OpenDevice(NULL), SDR_OUTARGERR);
	SDF_EQ(SDF_CloseDevice(NULL), SDR_OPENDEVICE);
	SDF_EQ(SDF_OpenSession(NULL, &hk), SDR_OPENDEVICE);
	SDF_EQ(SDF_OpenSession(e.dev, NULL), SDR_OUTARGERR);
	SDF_EQ(SDF_CloseSession(NULL), SDR_OPENSESSION);
	SDF_EQ(SDF_GenerateRandom(NULL, 16, buf), SDR_OPENSESSION);
	/* A device handle is not a session handle. */
	SDF_EQ(SDF_GenerateRandom(e.dev, 16, buf), SDR_OPENSESSION);

	/* NULL pointers and lengths. */
	SDF_EQ(SDF_GenerateRandom(e.s, 16, NULL), SDR_OUTARGERR);
	SDF_EQ(SDF_GenerateRandom(e.s, 0, buf), SDR_INARGERR);
	SDF_EQ(SDF_GetDeviceInfo(e.s, NULL), SDR_OUTARGERR);
	SDF_EQ(SDF_ExternalVerify_ECC(e.s, SGD_SM2_1, NULL, d32, 32, &sig), SDR_INARGERR);
	SDF_EQ(SDF_ExternalVerify_ECC(e.s, SGD_SM2_1, &pub, d32, 31, &sig), SDR_INARGERR);
	SDF_EQ(SDF_ExternalVerify_ECC(e.s, SGD_SM2_1, &pub, d32, 32, NULL), SDR_INARGERR);
	SDF_EQ(SDF_HashUpdate(e.s, buf, 4), SDR_STEPERR);
	SDF_EQ(SDF_HashFinal(e.s, buf, &n), SDR_STEPERR);
	SDF_OK(SDF_HashInit(e.s, SGD_SM3, NULL, NULL, 0));
	SDF_EQ(SDF_HashUpdate(e.s, NULL, 4), SDR_INARGERR);
	SDF_EQ(SDF_HashFinal(e.s, NULL, &n), SDR_OUTARGERR);
	SDF_OK(SDF_HashFinal(e.s, buf, &n));
	/* A public key that is not on the curve, and a wrong size. */
	bad = pub;
	bad.y[63] ^= 1;
	SDF_EQ(SDF_ExternalVerify_ECC(e.s, SGD_SM2_1, &bad, d32, 32, &sig), SDR_KEYERR);
	bad = pub;
	bad.bits = 512;
	SDF_EQ(SDF_ExternalVerify_ECC(e.s, SGD_SM2_1, &bad, d32, 32, &sig), SDR_KEYERR);

	/* Unsupported algorithms. */
	SDF_EQ(SDF_HashInit(e.s, 0x80, NULL, NULL, 0), SDR_ALGNOTSUPPORT);
	SDF_EQ(SDF_HashInit(e.s, SGD_SHA256, &pub, NULL, 0), SDR_INARGERR);
	SDF_EQ(SDF_ExternalVerify_ECC(e.s, SGD_RSA, &pub, d32, 32, &sig), SDR_ALGNOTSUPPORT);
	SDF_EQ(SDF_ExternalEncrypt_ECC(e.s, SGD_SM2_1, &pub, d32, 4, NULL), SDR_ALGNOTSUPPORT);
	SDF_OK(SDF_ImportKey(e.s, key, 16, &hk));
	SDF_EQ(SDF_Encrypt(e.s, hk, SGD_SM1_ECB, NULL, buf, 16, buf, &n), SDR_ALGNOTSUPPORT);
	SDF_EQ(SDF_Encrypt(e.s, hk, SGD_SSF33_CBC, buf, buf, 16, buf, &n), SDR_ALGNOTSUPPORT);
	SDF_EQ(SDF_Encrypt(e.s, hk, SGD_SM4_OFB, buf, buf, 16, buf, &n), SDR_ALGMODNOTSUPPORT);
	SDF_EQ(SDF_CalculateMAC(e.s, hk, SGD_SM1_MAC, buf, buf, 16, buf, &n), SDR_ALGNOTSUPPORT);
	SDF_EQ(SDF_HMACInit(e.s, hk, SGD_SM4_ECB), SDR_ALGNOTSUPPORT);
	/* Wrong lengths: no padding, CBC needs an IV. */
	SDF_EQ(SDF_Encrypt(e.s, hk, SGD_SM4_ECB, NULL, buf, 15, buf, &n), SDR_INARGERR);
	SDF_EQ(SDF_Encrypt(e.s, hk, SGD_SM4_CBC, NULL, buf, 16, buf, &n), SDR_INARGERR);
	SDF_EQ(SDF_Encrypt(e.s, hk, SGD_SM4_ECB, NULL, NULL, 16, buf, &n), SDR_INARGERR);
	SDF_EQ(SDF_Encrypt(e.s, hk, SGD_SM4_ECB, NULL, buf, 16, NULL, &n), SDR_OUTARGERR);
	SDF_EQ(SDF_ImportKey(e.s, key, 3, &dev2), SDR_INARGERR);
	SDF_EQ(SDF_EncryptUpdate(e.s, buf, 16, buf, &n), SDR_STEPERR);
	/* Key handles: destroyed, foreign, NULL. */
	SDF_OK(SDF_DestroyKey(e.s, hk));
	SDF_EQ(SDF_Encrypt(e.s, hk, SGD_SM4_ECB, NULL, buf, 16, buf, &n), SDR_KEYNOTEXIST);
	SDF_EQ(SDF_DestroyKey(e.s, hk), SDR_KEYNOTEXIST);
	SDF_EQ(SDF_DestroyKey(e.s, NULL), SDR_KEYNOTEXIST);
	SDF_EQ(SDF_DestroyKey(e.s, buf), SDR_KEYNOTEXIST);
	/* Files: name length, zero size. */
	SDF_EQ(SDF_CreateFile(e.s, (unsigned char *)"f", 0, 16), SDR_INARGERR);
	SDF_EQ(SDF_CreateFile(e.s, (unsigned char *)"f", 129, 16), SDR_INARGERR);
	SDF_EQ(SDF_CreateFile(e.s, (unsigned char *)"f", 1, 0), SDR_FILESIZEERR);

	if (st_have_keystore(&e)) {
		vsm_client *c = vh_connect(e.d.uri);
		uint8_t e32[32] = {1};

		VH_OK(vsm_key_generate(c, VSM_KU_SIGN, IDX_SM2, VSM_KT_SM2, 256, PW, PW_LEN, NULL));
		VH_OK(vsm_key_generate(c, VSM_KU_SIGN, IDX_RSA, VSM_KT_RSA, 2048, PW, PW_LEN,
				       NULL));
		VH_OK(vsm_key_generate(c, VSM_KU_SIGN, 6, VSM_KT_SM2, 256, NULL, 0, "no-password"));
		vsm_close(c);
		/*
		 * A key created without a password is the tenant's to use: no
		 * access right is needed, and one given anyway does no harm.
		 */
		SDF_OK(SDF_InternalSign_ECC(e.s, 6, e32, 32, &sig));
		SDF_OK(SDF_GetPrivateKeyAccessRight(e.s, 6, (unsigned char *)"any", 3));
		SDF_OK(SDF_InternalSign_ECC(e.s, 6, e32, 32, &sig));
		/* One with a password is not, until the access right is given. */
		SDF_EQ(SDF_InternalSign_ECC(e.s, IDX_SM2, e32, 32, &sig), SDR_PARDENY);
		/* Bad indexes: zero, empty, past the keystore's range. */
		SDF_EQ(SDF_ExportSignPublicKey_ECC(e.s, 0, &pub), SDR_INARGERR);
		SDF_EQ(SDF_ExportSignPublicKey_ECC(e.s, 77, &pub), SDR_KEYNOTEXIST);
		SDF_EQ(SDF_ExportSignPublicKey_ECC(e.s, 1u << 30, &pub), SDR_INARGERR);
		SDF_EQ(SDF_InternalSign_ECC(e.s, 77, e32, 32, &sig), SDR_KEYNOTEXIST);
		SDF_EQ(SDF_GetPrivateKeyAccessRight(e.s, 77, (unsigned char *)PW, PW_LEN),
		       SDR_KEYNOTEXIST);
		/* Wrong key type for the call. */
		SDF_EQ(SDF_ExportSignPublicKey_ECC(e.s, IDX_RSA, &pub), SDR_KEYTYPEERR);
		SDF_EQ(SDF_InternalSign_ECC(e.s, IDX_RSA, e32, 32, &sig), SDR_KEYTYPEERR);
		/* Passwords: wrong, missing, released. */
		SDF_EQ(SDF_GetPrivateKeyAccessRight(e.s, IDX_SM2, (unsigned char *)"wrong", 5),
		       SDR_PRKRERR);
		SDF_EQ(SDF_GetPrivateKeyAccessRight(e.s, IDX_SM2, NULL, 5), SDR_INARGERR);
		SDF_EQ(SDF_InternalSign_ECC(e.s, IDX_SM2, e32, 32, &sig), SDR_PARDENY);
		SDF_OK(SDF_GetPrivateKeyAccessRight(e.s, IDX_SM2, (unsigned char *)PW, PW_LEN));
		SDF_OK(SDF_InternalSign_ECC(e.s, IDX_SM2, e32, 32, &sig));
		SDF_EQ(SDF_InternalSign_ECC(e.s, IDX_SM2, e32, 33, &sig), SDR_INARGERR);
		SDF_OK(SDF_ReleasePrivateKeyAccessRight(e.s, IDX_SM2));
		SDF_EQ(SDF_InternalSign_ECC(e.s, IDX_SM2, e32, 32, &sig), SDR_PARDENY);
		/* Public operations need no password. */
		SDF_EQ(SDF_InternalVerify_ECC(e.s, IDX_SM2, e32, 32, &sig), SDR_OK);
		/* A missing KEK. */
		SDF_EQ(SDF_GenerateKeyWithKEK(e.s, 128, SGD_SM4_ECB, 9, buf, &n, &hk),
		       SDR_KEYNOTEXIST);
		SDF_EQ(SDF_GenerateKeyWithKEK(e.s, 128, SGD_SM1_ECB, IDX_KEK, buf, &n, &hk),
		       SDR_ALGNOTSUPPORT);
	}
	st_stop(&e);
	return 0;
}

/* ---- persistence and isolation ---- */

static int case_persistence(void)
{
	struct st_env e;
	ECCrefPublicKey before, after;
	ECCSignature sig;
	uint8_t e32[32];
	unsigned char name[] = "keep";
	uint8_t buf[4];
	unsigned n = 4;

	st_start(&e, false);
	if (!st_have_keystore(&e)) {
		st_stop(&e);
		return VH_SKIP;
	}
	make_keys(&e);
	SDF_OK(SDF_GenerateRandom(e.s, 32, e32));
	SDF_OK(SDF_GetPrivateKeyAccessRight(e.s, IDX_SM2, (unsigned char *)PW, PW_LEN));
	SDF_OK(SDF_InternalSign_ECC(e.s, IDX_SM2, e32, 32, &sig));
	SDF_OK(SDF_ExportSignPublicKey_ECC(e.s, IDX_SM2, &before));
	SDF_OK(SDF_CreateFile(e.s, name, 4, 4));
	SDF_OK(SDF_WriteFile(e.s, name, 4, 0, 4, (unsigned char *)"data"));
	st_close(e.dev, e.s);

	vh_stop(&e.d);
	vh_restart(&e.d);
	st_open(e.d.uri, &e.dev, &e.s);
	SDF_OK(SDF_ExportSignPublicKey_ECC(e.s, IDX_SM2, &after));
	VH_MEMEQ(&before, &after, sizeof(before));
	SDF_OK(SDF_InternalVerify_ECC(e.s, IDX_SM2, e32, 32, &sig));
	SDF_EQ(SDF_GetPrivateKeyAccessRight(e.s, IDX_SM2, (unsigned char *)"nope", 4), SDR_PRKRERR);
	SDF_OK(SDF_GetPrivateKeyAccessRight(e.s, IDX_SM2, (unsigned char *)PW, PW_LEN));
	SDF_OK(SDF_InternalSign_ECC(e.s, IDX_SM2, e32, 32, &sig));
	VH_CHECK(st_sm2_verify_native(&after, e32, &sig), "signature after restart");
	SDF_OK(SDF_ReadFile(e.s, name, 4, 0, &n, buf));
	VH_MEMEQ(buf, "data", 4);
	st_stop(&e);
	return 0;
}

/* Unix clients and TCP clients are different tenants. */
static int case_isolation(void)
{
	struct st_env e;
	ECCrefPublicKey pub;
	ECCSignature sig;
	uint8_t e32[32] = {7};
	void *dev_b, *s_b;

	st_start(&e, true);
	if (!st_have_keystore(&e)) {
		st_stop(&e);
		return VH_SKIP;
	}
	make_keys(&e);
	SDF_OK(SDF_ExportSignPublicKey_ECC(e.s, IDX_SM2, &pub));
	SDF_OK(SDF_CreateFile(e.s, (unsigned char *)"mine", 4, 8));

	st_open(e.d.tcp_uri, &dev_b, &s_b);
	SDF_EQ(SDF_ExportSignPublicKey_ECC(s_b, IDX_SM2, &pub), SDR_KEYNOTEXIST);
	SDF_EQ(SDF_GetPrivateKeyAccessRight(s_b, IDX_SM2, (unsigned char *)PW, PW_LEN),
	       SDR_KEYNOTEXIST);
	SDF_EQ(SDF_InternalSign_ECC(s_b, IDX_SM2, e32, 32, &sig), SDR_KEYNOTEXIST);
	SDF_EQ(SDF_DeleteFile(s_b, (unsigned char *)"mine", 4), SDR_FILENOEXIST);
	st_close(dev_b, s_b);

	/* Tenant A still has both. */
	SDF_OK(SDF_ExportSignPublicKey_ECC(e.s, IDX_SM2, &pub));
	SDF_OK(SDF_DeleteFile(e.s, (unsigned char *)"mine", 4));
	st_stop(&e);
	return 0;
}

/* ---- the device address ---- */

static int case_config(void)
{
	struct st_env e;
	char path[256];
	FILE *f;
	void *dev, *s;

	st_start(&e, false);
	st_close(e.dev, e.s);
	/* $VSM_URI unset: the configuration file names the daemon. */
	snprintf(path, sizeof(path), "%s/sdf.conf", e.d.dir);
	f = fopen(path, "w");
	VH_CHECK(f, "open %s", path);
	fprintf(f, "# libsdf-vsm\nuri = %s\n", e.d.uri);
	fclose(f);
	unsetenv("VSM_URI");
	setenv("VSM_SDF_CONF", path, 1);
	SDF_OK(SDF_OpenDevice(&dev));
	SDF_OK(SDF_OpenSession(dev, &s));
	st_close(dev, s);
	/* A named configuration file that does not exist, or no daemon there. */
	setenv("VSM_SDF_CONF", "/nonexistent/sdf.conf", 1);
	SDF_EQ(SDF_OpenDevice(&dev), SDR_OPENDEVICE);
	setenv("VSM_URI", "unix:/nonexistent/vsmd.sock", 1);
	SDF_EQ(SDF_OpenDevice(&dev), SDR_OPENDEVICE);
	vh_stop(&e.d);
	vh_cleanup(&e.d);
	return 0;
}

static const struct vh_case cases[] = {
	{"vectors", case_vectors, 0},	      {"sm4-million", case_sm4_million, 600},
	{"roundtrip", case_roundtrip, 120},   {"errors", case_errors, 0},
	{"persistence", case_persistence, 0}, {"isolation", case_isolation, 0},
	{"config", case_config, 0},
};

int main(int argc, char **argv)
{
	return vh_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
