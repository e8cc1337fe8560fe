/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The keystore through libvsm (VSM_MSG_KEY, VSM_SESSF_INTERNAL/KEYOBJ):
 * every key type generated, imported, listed and used by index; answers
 * checked with OpenSSL against the exported public keys or against keys the
 * test made itself. The SM2 key agreement is checked against a local
 * implementation that first has to reproduce the GB/T 32918.3 A.2 example.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "harness.h"
#include "ref.h"

#define PW     "s3cret-pw"
#define PW2    "other-pw"
#define LEN(s) (sizeof(s) - 1)

static const char sm2_id[] = "1234567812345678"; /* vsmd's default SM2 user id */

static vsm_client *start(struct vh_daemon *d, bool tcp)
{
	struct vh_opts o = {.tcp = tcp};
	vh_start(d, &o);
	vsm_client *c = vh_connect(d->uri);
	VH_CHECK(vsm_info(c)->features & VSM_FEAT_KEYSTORE, "HELLO does not offer the keystore");
	return c;
}

/* OpenSSL 3.0 decodes SM2-curve keys as "EC"; rebuild them as SM2 keys. */
static EVP_PKEY *to_sm2(EVP_PKEY *pk)
{
	char g[32];
	if (!EVP_PKEY_is_a(pk, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, g, sizeof(g), NULL) ||
	    strcmp(g, "SM2"))
		return pk;
	OSSL_PARAM *params = NULL;
	EVP_PKEY *sm2 = NULL;
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL);
	VH_CHECK(EVP_PKEY_todata(pk, EVP_PKEY_KEYPAIR, &params) && kc &&
			 EVP_PKEY_fromdata_init(kc) > 0 &&
			 EVP_PKEY_fromdata(kc, &sm2, EVP_PKEY_KEYPAIR, params) > 0,
		 "SM2 key conversion");
	EVP_PKEY_CTX_free(kc);
	OSSL_PARAM_free(params);
	EVP_PKEY_free(pk);
	return sm2;
}

static EVP_PKEY *pub_of(vsm_client *c, int usage, uint32_t index)
{
	uint8_t der[2048];
	size_t n = sizeof(der);
	VH_OK(vsm_key_public(c, usage, index, der, &n));
	const unsigned char *p = der;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)n);
	VH_CHECK(pk && p == der + n, "vsmd's SPKI does not parse");
	return to_sm2(pk);
}

static EVP_PKEY *new_key(int type)
{
	EVP_PKEY *k = NULL;
	switch (type) {
	case VSM_KT_SM2:
		k = to_sm2(EVP_EC_gen("SM2"));
		break;
	case VSM_KT_RSA:
		k = vh_rsa_new(2048);
		break;
	case VSM_KT_ECDSA_P256:
		k = vh_ec_p256_new();
		break;
	case VSM_KT_ECDSA_P384:
		k = EVP_EC_gen("P-384");
		break;
	case VSM_KT_ED25519:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	}
	VH_CHECK(k, "key generation for type %d", type);
	return k;
}

/* Verify with OpenSSL: SM2 (SM3, default id), RSA PKCS#1 / ECDSA with SHA-256, Ed25519. */
static bool ossl_verify(EVP_PKEY *pk, int type, const void *msg, size_t len, const uint8_t *sig,
			size_t sig_len)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	const char *md = type == VSM_KT_SM2 ? "SM3" : type == VSM_KT_ED25519 ? NULL : "SHA256";
	bool ok;
	if (type == VSM_KT_SM2) {
		pc = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
		VH_CHECK(pc && EVP_PKEY_CTX_set1_id(pc, sm2_id, LEN(sm2_id)) > 0, "SM2 id");
		EVP_MD_CTX_set_pkey_ctx(m, pc);
	}
	ok = EVP_DigestVerifyInit_ex(m, NULL, md, NULL, NULL, pk, NULL) > 0 &&
	     EVP_DigestVerify(m, sig, sig_len, msg, len) == 1;
	EVP_MD_CTX_free(m);
	EVP_PKEY_CTX_free(pc);
	return ok;
}

static size_t ossl_encrypt(EVP_PKEY *pk, const void *in, size_t len, uint8_t *out, size_t cap)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	size_t n = cap;
	VH_CHECK(pc && EVP_PKEY_encrypt_init(pc) > 0, "encrypt init");
	if (EVP_PKEY_is_a(pk, "RSA"))
		VH_CHECK(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) > 0, "padding");
	VH_CHECK(EVP_PKEY_encrypt(pc, out, &n, in, len) > 0, "EVP_PKEY_encrypt");
	EVP_PKEY_CTX_free(pc);
	return n;
}

static size_t ossl_decrypt(EVP_PKEY *pk, const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	size_t n = cap;
	VH_CHECK(pc && EVP_PKEY_decrypt_init(pc) > 0, "decrypt init");
	if (EVP_PKEY_is_a(pk, "RSA"))
		VH_CHECK(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) > 0, "padding");
	VH_CHECK(EVP_PKEY_decrypt(pc, out, &n, in, len) > 0, "EVP_PKEY_decrypt");
	EVP_PKEY_CTX_free(pc);
	return n;
}

/* One block cipher pass without padding (SM4/AES, ECB/CBC). */
static void ossl_cipher(const EVP_CIPHER *ci, bool enc, const uint8_t *key, const uint8_t *iv,
			const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	int n1 = 0, n2 = 0;
	VH_CHECK(x && EVP_CipherInit_ex(x, ci, NULL, key, iv, enc) &&
			 EVP_CIPHER_CTX_set_padding(x, 0) &&
			 EVP_CipherUpdate(x, out, &n1, in, (int)len) &&
			 EVP_CipherFinal_ex(x, out + n1, &n2) && (size_t)(n1 + n2) == len,
		 "local cipher");
	EVP_CIPHER_CTX_free(x);
}

struct akparams {
	int type;
	int alg;
	int padding;
};

static const struct akparams sign_types[] = {
	{VSM_KT_SM2, VSM_ALG_SM2, 0},	       {VSM_KT_RSA, VSM_ALG_RSA, VSM_PAD_PKCS1},
	{VSM_KT_ECDSA_P256, VSM_ALG_ECDSA, 0}, {VSM_KT_ECDSA_P384, VSM_ALG_ECDSA, 0},
	{VSM_KT_ED25519, VSM_ALG_ED25519, 0},
};
#define N_SIGN (sizeof(sign_types) / sizeof(sign_types[0]))

static struct vsm_session_params ak(const struct akparams *a)
{
	struct vsm_session_params p = {
		.service = VSM_SVC_AKCIPHER, .alg = a->alg, .padding = a->padding};
	return p;
}

/* Sign by index with the password; verify with OpenSSL on the exported key. */
static void sign_check(vsm_client *c, uint32_t index, const struct akparams *a, const char *pw)
{
	static const char msg[] = "signed inside vsmd";
	struct vsm_session_params p = ak(a);
	uint64_t s;
	uint8_t sig[1024];
	size_t n = sizeof(sig);
	VH_OK(vsm_session_create_internal(c, &p, VSM_KU_SIGN, index, pw, strlen(pw), &s));
	VH_OK(vsm_sign(c, s, msg, LEN(msg), sig, &n));
	VH_OK(vsm_verify(c, s, msg, LEN(msg), sig, n));
	EVP_PKEY *pk = pub_of(c, VSM_KU_SIGN, index);
	VH_CHECK(ossl_verify(pk, a->type, msg, LEN(msg), sig, n), "OpenSSL rejects type %d's sig",
		 a->type);
	VH_CHECK(!ossl_verify(pk, a->type, msg, LEN(msg) - 1, sig, n), "verify of another message");
	EVP_PKEY_free(pk);
	VH_OK(vsm_session_destroy(c, s));
}

/* ---- generate, list, public, delete ---- */

static int t_generate(void)
{
	struct vh_daemon d;
	vsm_client *c = start(&d, false);
	char label[32];

	for (size_t i = 0; i < N_SIGN; i++) {
		snprintf(label, sizeof(label), "sign-%zu", i);
		VH_OK(vsm_key_generate(c, VSM_KU_SIGN, (uint32_t)i + 1, sign_types[i].type, 0, PW,
				       LEN(PW), label));
		sign_check(c, (uint32_t)i + 1, &sign_types[i], PW);
	}
	VH_OK(vsm_key_generate(c, VSM_KU_ENC, 1, VSM_KT_SM2, 256, PW, LEN(PW), "enc-sm2"));
	VH_OK(vsm_key_generate(c, VSM_KU_ENC, 2, VSM_KT_RSA, 3072, NULL, 0, NULL));
	VH_OK(vsm_key_generate(c, VSM_KU_KEK, 1, VSM_KT_SM4, 128, NULL, 0, "kek"));
	VH_OK(vsm_key_generate(c, VSM_KU_KEK, 2, VSM_KT_AES, 256, NULL, 0, NULL));

	struct vsm_wire_key_info l[16];
	size_t n = 0;
	VH_OK(vsm_key_list(c, l, 16, &n));
	VH_EQ(n, N_SIGN + 4);
	/* By usage, then index. */
	VH_EQ(l[0].usage, VSM_KU_SIGN);
	VH_EQ(l[0].index, 1);
	VH_EQ(l[0].type, VSM_KT_SM2);
	VH_EQ(l[0].bits, 256);
	VH_EQ(l[0].flags, VSM_KEYF_PASSWORD);
	VH_CHECK(!strcmp(l[0].label, "sign-0"), "label '%s'", l[0].label);
	VH_CHECK(l[0].created > 1600000000, "created %llu", (unsigned long long)l[0].created);
	VH_EQ(l[1].type, VSM_KT_RSA);
	VH_EQ(l[1].bits, 2048);
	VH_EQ(l[3].bits, 384);
	VH_EQ(l[N_SIGN].usage, VSM_KU_ENC);
	VH_EQ(l[N_SIGN + 1].type, VSM_KT_RSA);
	VH_EQ(l[N_SIGN + 1].bits, 3072);
	VH_EQ(l[N_SIGN + 1].flags, 0);
	VH_CHECK(!strcmp(l[N_SIGN + 1].label, ""), "empty label");
	VH_EQ(l[N_SIGN + 2].usage, VSM_KU_KEK);
	VH_EQ(l[N_SIGN + 3].bits, 256);
	/* A short buffer still gets the count. */
	VH_OK(vsm_key_list(c, l, 2, &n));
	VH_EQ(n, N_SIGN + 4);

	int usage = 0;
	uint32_t index = 0;
	VH_OK(vsm_key_find(c, "enc-sm2", &usage, &index));
	VH_EQ(usage, VSM_KU_ENC);
	VH_EQ(index, 1);
	VH_STATUS(c, vsm_key_find(c, "nope", &usage, &index), VSM_S_KEY_REJECTED, VSM_D_NO_KEY);

	/* Errors: slot taken, index 0, usage/type mismatch, bad size, KEK has no public key. */
	VH_STATUS(c, vsm_key_generate(c, VSM_KU_SIGN, 1, VSM_KT_SM2, 0, NULL, 0, NULL), VSM_S_ERR,
		  VSM_D_EXISTS);
	VH_STATUS(c, vsm_key_generate(c, VSM_KU_SIGN, 0, VSM_KT_SM2, 0, NULL, 0, NULL),
		  VSM_S_BADMSG, VSM_D_RANGE);
	VH_STATUS(c, vsm_key_generate(c, VSM_KU_ENC, 9, VSM_KT_ED25519, 0, NULL, 0, NULL),
		  VSM_S_BADMSG, VSM_D_KEY_TYPE);
	VH_STATUS(c, vsm_key_generate(c, VSM_KU_KEK, 9, VSM_KT_RSA, 2048, NULL, 0, NULL),
		  VSM_S_BADMSG, VSM_D_KEY_TYPE);
	VH_STATUS(c, vsm_key_generate(c, VSM_KU_SIGN, 9, VSM_KT_RSA, 1000, NULL, 0, NULL),
		  VSM_S_BADMSG, VSM_D_BAD_LENGTH);
	uint8_t der[512];
	size_t dl = sizeof(der);
	VH_STATUS(c, vsm_key_public(c, VSM_KU_KEK, 1, der, &dl), VSM_S_BADMSG, VSM_D_KEY_TYPE);
	dl = sizeof(der);
	VH_STATUS(c, vsm_key_public(c, VSM_KU_SIGN, 77, der, &dl), VSM_S_KEY_REJECTED,
		  VSM_D_NO_KEY);

	VH_OK(vsm_key_delete(c, VSM_KU_SIGN, 2));
	dl = sizeof(der);
	VH_STATUS(c, vsm_key_public(c, VSM_KU_SIGN, 2, der, &dl), VSM_S_KEY_REJECTED, VSM_D_NO_KEY);
	VH_STATUS(c, vsm_key_delete(c, VSM_KU_SIGN, 2), VSM_S_KEY_REJECTED, VSM_D_NO_KEY);
	VH_OK(vsm_key_list(c, l, 16, &n));
	VH_EQ(n, N_SIGN + 3);
	/* The slot is free again. */
	VH_OK(vsm_key_generate(c, VSM_KU_SIGN, 2, VSM_KT_ECDSA_P256, 0, NULL, 0, NULL));
	vsm_close(c);
	vh_cleanup(&d);
	return 0;
}

/* ---- import ---- */

static int t_import(void)
{
	struct vh_daemon d;
	vsm_client *c = start(&d, false);

	for (size_t i = 0; i < N_SIGN; i++) {
		EVP_PKEY *k = new_key(sign_types[i].type);
		size_t n, sn;
		uint8_t *der = vh_der_pkcs8(k, &n), *spki = vh_der_spki(k, &sn);
		VH_OK(vsm_key_import(c, VSM_KU_SIGN, 10 + (uint32_t)i, sign_types[i].type, der, n,
				     PW, LEN(PW), "imported"));
		/* The public key vsmd derived is the one we hold. */
		uint8_t got[2048];
		size_t gl = sizeof(got);
		VH_OK(vsm_key_public(c, VSM_KU_SIGN, 10 + (uint32_t)i, got, &gl));
		EVP_PKEY *gk = pub_of(c, VSM_KU_SIGN, 10 + (uint32_t)i);
		VH_EQ(EVP_PKEY_eq(gk, k), 1);
		EVP_PKEY_free(gk);
		sign_check(c, 10 + (uint32_t)i, &sign_types[i], PW);
		/* A key of another type is refused. */
		int other = sign_types[(i + 1) % N_SIGN].type;
		VH_CHECK(vsm_key_import(c, VSM_KU_SIGN, 30, other, der, n, NULL, 0, NULL) ==
				 VSM_S_BADMSG,
			 "type %d imported as %d", sign_types[i].type, other);
		OPENSSL_free(der);
		OPENSSL_free(spki);
		EVP_PKEY_free(k);
	}
	static const uint8_t kek[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	VH_OK(vsm_key_import(c, VSM_KU_KEK, 1, VSM_KT_SM4, kek, sizeof(kek), NULL, 0, NULL));
	VH_STATUS(c, vsm_key_import(c, VSM_KU_KEK, 2, VSM_KT_SM4, kek, 15, NULL, 0, NULL),
		  VSM_S_KEY_REJECTED, VSM_D_BAD_KEY);
	VH_STATUS(c, vsm_key_import(c, VSM_KU_KEK, 2, VSM_KT_AES, "garbage", 0, NULL, 0, NULL),
		  VSM_S_BADMSG, VSM_D_BAD_LENGTH);
	/* A label longer than 64 bytes is refused before it leaves libvsm. */
	char longlabel[80];
	memset(longlabel, 'x', sizeof(longlabel) - 1);
	longlabel[sizeof(longlabel) - 1] = '\0';
	VH_EQ(vsm_key_import(c, VSM_KU_KEK, 3, VSM_KT_SM4, kek, 16, NULL, 0, longlabel), -EINVAL);
	vsm_close(c);
	vh_cleanup(&d);
	return 0;
}

/* ---- private operations and passwords ---- */

static int t_access(void)
{
	struct vh_daemon d;
	vsm_client *c = start(&d, false);
	static const char msg[] = "hello";
	uint8_t sig[512];
	size_t n;
	uint64_t s;

	VH_OK(vsm_key_generate(c, VSM_KU_SIGN, 1, VSM_KT_SM2, 0, PW, LEN(PW), NULL));
	struct vsm_session_params p = ak(&sign_types[0]);

	/* Wrong password: the session is refused. */
	VH_STATUS(c, vsm_session_create_internal(c, &p, VSM_KU_SIGN, 1, PW2, LEN(PW2), &s),
		  VSM_S_KEY_REJECTED, VSM_D_ACCESS_DENIED);
	/* Missing key, wrong alg for the key. */
	VH_STATUS(c, vsm_session_create_internal(c, &p, VSM_KU_SIGN, 2, PW, LEN(PW), &s),
		  VSM_S_KEY_REJECTED, VSM_D_NO_KEY);
	struct vsm_session_params pr = ak(&sign_types[1]);
	VH_STATUS(c, vsm_session_create_internal(c, &pr, VSM_KU_SIGN, 1, PW, LEN(PW), &s),
		  VSM_S_BADMSG, VSM_D_KEY_TYPE);

	/* No password: verify works, sign is denied. */
	VH_OK(vsm_session_create_internal(c, &p, VSM_KU_SIGN, 1, NULL, 0, &s));
	n = sizeof(sig);
	VH_STATUS(c, vsm_sign(c, s, msg, LEN(msg), sig, &n), VSM_S_KEY_REJECTED,
		  VSM_D_ACCESS_DENIED);
	uint64_t sp;
	VH_OK(vsm_session_create_internal(c, &p, VSM_KU_SIGN, 1, PW, LEN(PW), &sp));
	n = sizeof(sig);
	VH_OK(vsm_sign(c, sp, msg, LEN(msg), sig, &n));
	VH_OK(vsm_verify(c, s, msg, LEN(msg), sig, n));
	VH_STATUS(c, vsm_verify(c, s, msg, LEN(msg) - 1, sig, n), VSM_S_BADMSG, VSM_D_AUTH_FAILED);

	/* Change the password: the old one stops working, the new one works. */
	VH_STATUS(c, vsm_key_set_password(c, VSM_KU_SIGN, 1, PW2, LEN(PW2), PW2, LEN(PW2)),
		  VSM_S_KEY_REJECTED, VSM_D_ACCESS_DENIED);
	VH_OK(vsm_key_set_password(c, VSM_KU_SIGN, 1, PW, LEN(PW), PW2, LEN(PW2)));
	VH_STATUS(c, vsm_session_create_internal(c, &p, VSM_KU_SIGN, 1, PW, LEN(PW), &s),
		  VSM_S_KEY_REJECTED, VSM_D_ACCESS_DENIED);
	sign_check(c, 1, &sign_types[0], PW2);
	/* The session opened before keeps its key. */
	n = sizeof(sig);
	VH_OK(vsm_sign(c, sp, msg, LEN(msg), sig, &n));

	/* Decrypt by index: SM2 and RSA, ciphertexts made by OpenSSL from the exported key. */
	VH_OK(vsm_key_generate(c, VSM_KU_ENC, 1, VSM_KT_SM2, 0, PW, LEN(PW), NULL));
	VH_OK(vsm_key_generate(c, VSM_KU_ENC, 2, VSM_KT_RSA, 2048, PW, LEN(PW), NULL));
	static const struct akparams enc[] = {{VSM_KT_SM2, VSM_ALG_SM2, 0},
					      {VSM_KT_RSA, VSM_ALG_RSA, VSM_PAD_PKCS1}};
	for (uint32_t i = 0; i < 2; i++) {
		static const char pt[] = "a secret for the card";
		uint8_t ct[512], out[512];
		EVP_PKEY *pk = pub_of(c, VSM_KU_ENC, i + 1);
		size_t cl = ossl_encrypt(pk, pt, LEN(pt), ct, sizeof(ct)), ol = sizeof(out);
		struct vsm_session_params pe = ak(&enc[i]);
		uint64_t se, sn;
		VH_OK(vsm_session_create_internal(c, &pe, VSM_KU_ENC, i + 1, PW, LEN(PW), &se));
		VH_OK(vsm_decrypt(c, se, NULL, 0, ct, cl, out, &ol));
		VH_EQ(ol, LEN(pt));
		VH_MEMEQ(out, pt, ol);
		/* Without the password: encrypt yes, decrypt no. */
		VH_OK(vsm_session_create_internal(c, &pe, VSM_KU_ENC, i + 1, NULL, 0, &sn));
		ol = sizeof(out);
		VH_STATUS(c, vsm_decrypt(c, sn, NULL, 0, ct, cl, out, &ol), VSM_S_KEY_REJECTED,
			  VSM_D_ACCESS_DENIED);
		ol = sizeof(out);
		VH_OK(vsm_encrypt(c, sn, NULL, 0, pt, LEN(pt), ct, &ol));
		size_t l2 = sizeof(out);
		VH_OK(vsm_decrypt(c, se, NULL, 0, ct, ol, out, &l2));
		VH_MEMEQ(out, pt, LEN(pt));
		EVP_PKEY_free(pk);
	}
	/* Removing the password (empty new one). */
	VH_OK(vsm_key_set_password(c, VSM_KU_ENC, 1, PW, LEN(PW), NULL, 0));
	struct vsm_wire_key_info l[8];
	size_t nl;
	VH_OK(vsm_key_list(c, l, 8, &nl));
	VH_EQ(nl, 3);
	VH_EQ(l[1].flags, 0);
	VH_EQ(l[2].flags, VSM_KEYF_PASSWORD);
	vsm_close(c);
	vh_cleanup(&d);
	return 0;
}

/* ---- isolation ---- */

static int t_isolation(void)
{
	struct vh_daemon d;
	vsm_client *a = start(&d, true);
	vsm_client *b = vh_connect(d.tcp_uri);
	VH_CHECK(strcmp(vsm_info(a)->tenant, vsm_info(b)->tenant) != 0, "two tenants");
	uint8_t der[512];
	size_t n = sizeof(der);
	uint64_t s;

	VH_OK(vsm_key_generate(a, VSM_KU_SIGN, 1, VSM_KT_SM2, 0, PW, LEN(PW), "a-key"));
	VH_STATUS(b, vsm_key_public(b, VSM_KU_SIGN, 1, der, &n), VSM_S_KEY_REJECTED, VSM_D_NO_KEY);
	struct vsm_session_params p = ak(&sign_types[0]);
	VH_STATUS(b, vsm_session_create_internal(b, &p, VSM_KU_SIGN, 1, PW, LEN(PW), &s),
		  VSM_S_KEY_REJECTED, VSM_D_NO_KEY);
	VH_STATUS(b, vsm_key_delete(b, VSM_KU_SIGN, 1), VSM_S_KEY_REJECTED, VSM_D_NO_KEY);
	struct vsm_wire_key_info l[4];
	size_t nl = 9;
	VH_OK(vsm_key_list(b, l, 4, &nl));
	VH_EQ(nl, 0);
	/* B's own slot 1 is independent of A's. */
	VH_OK(vsm_key_generate(b, VSM_KU_SIGN, 1, VSM_KT_ECDSA_P256, 0, NULL, 0, "b-key"));
	VH_OK(vsm_key_list(a, l, 4, &nl));
	VH_EQ(nl, 1);
	VH_CHECK(!strcmp(l[0].label, "a-key"), "A sees '%s'", l[0].label);
	/* A's key object is not B's. */
	struct vsm_wire_key k = {.kop = VSM_KOP_SKEY_IMPORT, .type = VSM_KT_SM4};
	uint8_t key[16] = {0}, h[8];
	k.b = key;
	k.b_len = 16;
	n = sizeof(h);
	VH_OK(vsm_key_call(a, &k, h, &n));
	uint64_t ko;
	vsm_wire_decode_u64(h, 8, &ko);
	struct vsm_session_params pc = {.service = VSM_SVC_CIPHER, .alg = VSM_ALG_SM4_ECB};
	VH_STATUS(b, vsm_session_create_keyobj(b, &pc, ko, &s), VSM_S_KEY_REJECTED, VSM_D_NO_KEY);
	struct vsm_wire_key del = {.kop = VSM_KOP_SKEY_DESTROY, .handle = ko};
	VH_STATUS(b, vsm_key_call(b, &del, NULL, NULL), VSM_S_KEY_REJECTED, VSM_D_NO_KEY);
	VH_OK(vsm_session_create_keyobj(a, &pc, ko, &s));
	vsm_close(a);
	vsm_close(b);
	vh_cleanup(&d);
	return 0;
}

/* ---- many threads and two tenants at once ---- */

#define CONC_THREADS 8
#define CONC_KEYS    12

struct conc_arg {
	const char *uri;
	unsigned id;
};

/*
 * Each thread creates keys in its own index range, signs with every one,
 * deletes every other one, and checks the list holds exactly what it kept:
 * parallel keystore transactions from many connections of two tenants.
 */
static void *conc_thread(void *argp)
{
	const struct conc_arg *arg = argp;
	vsm_client *c = vh_connect(arg->uri);
	uint32_t base = 1 + arg->id / 2 * 100; /* threads of one tenant share no index */

	for (uint32_t i = 0; i < CONC_KEYS; i++) {
		const struct akparams *a = &sign_types[i % 2 ? 2 : 0]; /* ECDSA P-256, SM2 */
		VH_OK(vsm_key_generate(c, VSM_KU_SIGN, base + i, (int)a->type, 0, PW, LEN(PW),
				       NULL));
		sign_check(c, base + i, a, PW);
		if (i % 2)
			VH_OK(vsm_key_delete(c, VSM_KU_SIGN, base + i));
	}
	for (uint32_t i = 0; i < CONC_KEYS; i++) {
		uint8_t der[512];
		size_t n = sizeof(der);
		if (i % 2)
			VH_STATUS(c, vsm_key_public(c, VSM_KU_SIGN, base + i, der, &n),
				  VSM_S_KEY_REJECTED, VSM_D_NO_KEY);
		else
			VH_OK(vsm_key_public(c, VSM_KU_SIGN, base + i, der, &n));
	}
	vsm_close(c);
	return NULL;
}

static int t_concurrent(void)
{
	struct vh_daemon d;
	vsm_client *a = start(&d, true);
	pthread_t th[CONC_THREADS];
	struct conc_arg args[CONC_THREADS];

	for (unsigned i = 0; i < CONC_THREADS; i++) {
		/* Even threads are the unix tenant, odd ones the TCP tenant. */
		args[i] = (struct conc_arg){.uri = i % 2 ? d.tcp_uri : d.uri, .id = i};
		VH_CHECK(pthread_create(&th[i], NULL, conc_thread, &args[i]) == 0, "thread");
	}
	for (unsigned i = 0; i < CONC_THREADS; i++)
		pthread_join(th[i], NULL);

	/* Each tenant holds exactly the keys its threads kept, nothing of the other's. */
	vsm_client *b = vh_connect(d.tcp_uri);
	vsm_client *cl[2] = {a, b};
	for (int t = 0; t < 2; t++) {
		struct vsm_wire_key_info l[64];
		size_t n = 0;
		VH_OK(vsm_key_list(cl[t], l, 64, &n));
		VH_EQ(n, (size_t)(CONC_THREADS / 2 * CONC_KEYS / 2));
		for (size_t k = 0; k < n && k < 64; k++)
			VH_CHECK(l[k].index % 2 == 1, "tenant %d lists a deleted index %u", t,
				 l[k].index);
	}
	/* And they are all still there, and usable, after a restart. */
	vsm_close(a);
	vsm_close(b);
	vh_stop(&d);
	vh_restart(&d);
	a = vh_connect(d.uri);
	sign_check(a, 1, &sign_types[0], PW);
	vsm_close(a);
	vh_cleanup(&d);
	return 0;
}

/* ---- persistence ---- */

static int t_persistence(void)
{
	struct vh_daemon d;
	vsm_client *c = start(&d, false);
	uint8_t before[512], after[512];
	size_t nb = sizeof(before), na = sizeof(after);

	VH_OK(vsm_key_generate(c, VSM_KU_SIGN, 3, VSM_KT_ECDSA_P256, 0, PW, LEN(PW), "keep"));
	VH_OK(vsm_key_public(c, VSM_KU_SIGN, 3, before, &nb));
	vsm_close(c);
	vh_stop(&d);
	vh_restart(&d);
	c = vh_connect(d.uri);
	VH_OK(vsm_key_public(c, VSM_KU_SIGN, 3, after, &na));
	VH_EQ(na, nb);
	VH_MEMEQ(after, before, nb);
	sign_check(c, 3, &sign_types[2], PW);
	int usage;
	uint32_t index;
	VH_OK(vsm_key_find(c, "keep", &usage, &index));
	VH_EQ(index, 3);
	vsm_close(c);
	vh_cleanup(&d);
	return 0;
}

/* ---- session keys (key objects) ---- */

static uint64_t handle_of(const uint8_t *p)
{
	uint64_t h = 0;
	VH_EQ(vsm_wire_decode_u64(p, 8, &h), VSM_S_OK);
	VH_CHECK(h != 0, "zero handle");
	return h;
}

/* SKEY_GENERATE: returns the key object, the wrapped key in w. */
static uint64_t skey_gen(vsm_client *c, struct vsm_wire_key *k, uint8_t *w, size_t *wl)
{
	uint8_t out[1100];
	size_t n = sizeof(out);
	k->kop = VSM_KOP_SKEY_GENERATE;
	VH_OK(vsm_key_call(c, k, out, &n));
	VH_CHECK(n > 8 && n - 8 <= *wl, "SKEY_GENERATE answered %zu bytes", n);
	memcpy(w, out + 8, n - 8);
	*wl = n - 8;
	return handle_of(out);
}

static uint64_t skey_import(vsm_client *c, struct vsm_wire_key *k)
{
	uint8_t out[8];
	size_t n = sizeof(out);
	k->kop = VSM_KOP_SKEY_IMPORT;
	VH_OK(vsm_key_call(c, k, out, &n));
	VH_EQ(n, 8);
	return handle_of(out);
}

static const uint8_t iv16[16] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
				 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf};
static const char data64[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/* SM4-CBC of data64 under key object h, through vsmd. */
static void keyobj_sm4cbc(vsm_client *c, uint64_t h, uint8_t out[64])
{
	struct vsm_session_params p = {.service = VSM_SVC_CIPHER, .alg = VSM_ALG_SM4_CBC};
	uint64_t s;
	size_t n = 64;
	VH_OK(vsm_session_create_keyobj(c, &p, h, &s));
	VH_OK(vsm_encrypt(c, s, iv16, 16, data64, 64, out, &n));
	VH_EQ(n, 64);
	VH_OK(vsm_session_destroy(c, s));
}

/* The key object must be exactly key: vsmd's SM4-CBC equals OpenSSL's. */
static void keyobj_is(vsm_client *c, uint64_t h, const uint8_t key[16])
{
	uint8_t a[64], b[64];
	keyobj_sm4cbc(c, h, a);
	ossl_cipher(EVP_sm4_cbc(), true, key, iv16, (const uint8_t *)data64, 64, b);
	VH_MEMEQ(a, b, 64);
}

static int t_session_keys(void)
{
	struct vh_daemon d;
	vsm_client *c = start(&d, false);
	uint8_t w[1024], key[512];
	size_t wl, kl;

	/* Under external public keys: OpenSSL unwraps with the private half. */
	for (int type = VSM_KT_SM2; type <= VSM_KT_RSA; type++) {
		EVP_PKEY *ext = new_key(type);
		size_t sl;
		uint8_t *spki = vh_der_spki(ext, &sl);
		struct vsm_wire_key k = {
			.type = VSM_KT_SM4, .bits = 128, .a = spki, .a_len = (uint32_t)sl};
		wl = sizeof(w);
		uint64_t h = skey_gen(c, &k, w, &wl);
		kl = ossl_decrypt(ext, w, wl, key, sizeof(key));
		VH_EQ(kl, 16);
		keyobj_is(c, h, key);
		OPENSSL_free(spki);
		EVP_PKEY_free(ext);
	}

	/* Under internal ENC keys, then imported back with the private key. */
	VH_OK(vsm_key_generate(c, VSM_KU_ENC, 1, VSM_KT_SM2, 0, PW, LEN(PW), NULL));
	VH_OK(vsm_key_generate(c, VSM_KU_ENC, 2, VSM_KT_RSA, 2048, PW, LEN(PW), NULL));
	for (uint32_t i = 1; i <= 2; i++) {
		struct vsm_wire_key k = {.usage = VSM_KU_ENC, .index = i, .type = VSM_KT_SM4};
		wl = sizeof(w);
		uint64_t h1 = skey_gen(c, &k, w, &wl);
		/* The exported public key's private half is inside vsmd: import decrypts. */
		struct vsm_wire_key im = {.usage = VSM_KU_ENC,
					  .index = i,
					  .type = VSM_KT_SM4,
					  .a = (const uint8_t *)PW,
					  .a_len = LEN(PW),
					  .b = w,
					  .b_len = (uint32_t)wl};
		uint64_t h2 = skey_import(c, &im);
		VH_CHECK(h1 != h2, "two key objects");
		uint8_t a[64], b[64];
		keyobj_sm4cbc(c, h1, a);
		keyobj_sm4cbc(c, h2, b);
		VH_MEMEQ(a, b, 64);
		/* Wrong password, and a mangled wrapping. */
		im.a = (const uint8_t *)PW2;
		im.a_len = LEN(PW2);
		im.kop = VSM_KOP_SKEY_IMPORT;
		uint8_t o[8];
		size_t on = sizeof(o);
		VH_STATUS(c, vsm_key_call(c, &im, o, &on), VSM_S_KEY_REJECTED, VSM_D_ACCESS_DENIED);
		im.a = (const uint8_t *)PW;
		im.a_len = LEN(PW);
		w[wl / 2] ^= 1;
		on = sizeof(o);
		VH_CHECK(vsm_key_call(c, &im, o, &on) == VSM_S_BADMSG, "mangled wrapping accepted");
	}

	/* Under a KEK: SM4-ECB, SM4-CBC with an IV, AES-256-CBC; OpenSSL unwraps. */
	static const uint8_t sm4kek[16] = "kek-kek-kek-kek";
	static const uint8_t aeskek[32] = "0123456789abcdef0123456789abcde";
	VH_OK(vsm_key_import(c, VSM_KU_KEK, 1, VSM_KT_SM4, sm4kek, 16, NULL, 0, NULL));
	VH_OK(vsm_key_import(c, VSM_KU_KEK, 2, VSM_KT_AES, aeskek, 32, NULL, 0, NULL));
	struct {
		uint32_t index, alg;
		const EVP_CIPHER *ci;
		const uint8_t *kek;
		bool iv;
	} keks[] = {
		{1, VSM_ALG_SM4_ECB, EVP_sm4_ecb(), sm4kek, false},
		{1, VSM_ALG_SM4_CBC, EVP_sm4_cbc(), sm4kek, true},
		{2, VSM_ALG_AES_CBC, EVP_aes_256_cbc(), aeskek, true},
	};
	for (size_t i = 0; i < 3; i++) {
		struct vsm_wire_key k = {.usage = VSM_KU_KEK,
					 .index = keks[i].index,
					 .type = VSM_KT_SM4,
					 .alg = keks[i].alg};
		if (keks[i].iv) {
			k.c = iv16;
			k.c_len = 16;
		}
		wl = sizeof(w);
		uint64_t h = skey_gen(c, &k, w, &wl);
		VH_EQ(wl, 16);
		ossl_cipher(keks[i].ci, false, keks[i].kek, keks[i].iv ? iv16 : NULL, w, 16, key);
		keyobj_is(c, h, key);
		/* And a key wrapped here imports under the same KEK. */
		static const uint8_t mine[16] = "my own sm4 key!";
		ossl_cipher(keks[i].ci, true, keks[i].kek, keks[i].iv ? iv16 : NULL, mine, 16, w);
		struct vsm_wire_key im = k;
		im.b = w;
		im.b_len = 16;
		im.bits = 128;
		keyobj_is(c, skey_import(c, &im), mine);
	}
	/* Wrong KEK family, missing IV, unsupported mode, SIGN usage. */
	struct vsm_wire_key bad = {.kop = VSM_KOP_SKEY_GENERATE,
				   .usage = VSM_KU_KEK,
				   .index = 1,
				   .type = VSM_KT_SM4,
				   .alg = VSM_ALG_AES_ECB};
	uint8_t o[1100];
	size_t on = sizeof(o);
	VH_STATUS(c, vsm_key_call(c, &bad, o, &on), VSM_S_BADMSG, VSM_D_KEY_TYPE);
	bad.alg = VSM_ALG_SM4_CBC;
	on = sizeof(o);
	VH_STATUS(c, vsm_key_call(c, &bad, o, &on), VSM_S_BADMSG, VSM_D_BAD_LENGTH);
	bad.alg = VSM_ALG_SM4_CTR;
	on = sizeof(o);
	VH_CHECK(vsm_key_call(c, &bad, o, &on) == VSM_S_NOTSUPP, "SM4-CTR wrapping");
	bad.usage = VSM_KU_SIGN;
	bad.alg = 0;
	on = sizeof(o);
	VH_STATUS(c, vsm_key_call(c, &bad, o, &on), VSM_S_BADMSG, VSM_D_KEY_TYPE);
	bad.usage = VSM_KU_KEK;
	bad.index = 9;
	bad.alg = VSM_ALG_SM4_ECB;
	on = sizeof(o);
	VH_STATUS(c, vsm_key_call(c, &bad, o, &on), VSM_S_KEY_REJECTED, VSM_D_NO_KEY);

	/* Plain import (usage 0), AES and HMAC key objects, destroy. */
	static const uint8_t plain[16] = "plain sm4 key..";
	struct vsm_wire_key pk = {.type = VSM_KT_SM4, .b = plain, .b_len = 16};
	uint64_t hp = skey_import(c, &pk);
	keyobj_is(c, hp, plain);
	struct vsm_wire_key hk = {
		.type = VSM_KT_GENERIC, .b = (const uint8_t *)"hmac-key", .b_len = 8};
	uint64_t hh = skey_import(c, &hk);
	struct vsm_session_params mp = {.service = VSM_SVC_MAC, .alg = VSM_ALG_HMAC_SHA256};
	uint64_t ms;
	uint8_t mac[32], ref[32];
	size_t ml = sizeof(mac);
	unsigned rl = 32;
	VH_OK(vsm_session_create_keyobj(c, &mp, hh, &ms));
	VH_OK(vsm_digest(c, ms, data64, 64, mac, &ml));
	HMAC(EVP_sha256(), "hmac-key", 8, (const uint8_t *)data64, 64, ref, &rl);
	VH_EQ(ml, 32);
	VH_MEMEQ(mac, ref, 32);
	/* A key object cannot be an akcipher key. */
	struct vsm_session_params ap = {.service = VSM_SVC_AKCIPHER, .alg = VSM_ALG_SM2};
	uint64_t s;
	VH_STATUS(c, vsm_session_create_keyobj(c, &ap, hp, &s), VSM_S_BADMSG, VSM_D_KEY_TYPE);
	/* Sessions copy the key: destroying the object leaves them working. */
	struct vsm_session_params cp = {.service = VSM_SVC_CIPHER, .alg = VSM_ALG_SM4_CBC};
	VH_OK(vsm_session_create_keyobj(c, &cp, hp, &s));
	struct vsm_wire_key del = {.kop = VSM_KOP_SKEY_DESTROY, .handle = hp};
	VH_OK(vsm_key_call(c, &del, NULL, NULL));
	VH_STATUS(c, vsm_key_call(c, &del, NULL, NULL), VSM_S_KEY_REJECTED, VSM_D_NO_KEY);
	uint64_t s2;
	VH_STATUS(c, vsm_session_create_keyobj(c, &cp, hp, &s2), VSM_S_KEY_REJECTED, VSM_D_NO_KEY);
	uint8_t ct[64], rct[64];
	size_t cl = sizeof(ct);
	VH_OK(vsm_encrypt(c, s, iv16, 16, data64, 64, ct, &cl));
	ossl_cipher(EVP_sm4_cbc(), true, plain, iv16, (const uint8_t *)data64, 64, rct);
	VH_MEMEQ(ct, rct, 64);
	/* Wrong sizes. */
	pk.b_len = 15;
	pk.kop = VSM_KOP_SKEY_IMPORT;
	on = sizeof(o);
	VH_STATUS(c, vsm_key_call(c, &pk, o, &on), VSM_S_BADMSG, VSM_D_BAD_LENGTH);
	struct vsm_wire_key g = {.kop = VSM_KOP_SKEY_GENERATE,
				 .type = VSM_KT_AES,
				 .bits = 100,
				 .usage = VSM_KU_ENC,
				 .index = 1};
	on = sizeof(o);
	VH_STATUS(c, vsm_key_call(c, &g, o, &on), VSM_S_BADMSG, VSM_D_KEY_TYPE);
	vsm_close(c);
	vh_cleanup(&d);
	return 0;
}

/* ---- digital envelope ---- */

static int t_envelope(void)
{
	struct vh_daemon d;
	vsm_client *c = start(&d, false);

	VH_OK(vsm_key_generate(c, VSM_KU_ENC, 1, VSM_KT_SM2, 0, PW, LEN(PW), NULL));
	VH_OK(vsm_key_generate(c, VSM_KU_ENC, 2, VSM_KT_RSA, 2048, PW, LEN(PW), NULL));
	for (uint32_t i = 1; i <= 2; i++) {
		int type = i == 1 ? VSM_KT_SM2 : VSM_KT_RSA;
		static const char secret[] = "enveloped session key 0123456789";
		EVP_PKEY *in = pub_of(c, VSM_KU_ENC, i), *ext = new_key(type);
		uint8_t ct[512], out[600], pt[512];
		size_t cl = ossl_encrypt(in, secret, LEN(secret), ct, sizeof(ct)), sl;
		uint8_t *spki = vh_der_spki(ext, &sl);
		struct vsm_wire_key k = {.kop = VSM_KOP_ENVELOPE,
					 .usage = VSM_KU_ENC,
					 .index = i,
					 .a = (const uint8_t *)PW,
					 .a_len = LEN(PW),
					 .b = ct,
					 .b_len = (uint32_t)cl,
					 .c = spki,
					 .c_len = (uint32_t)sl};
		size_t ol = sizeof(out);
		VH_OK(vsm_key_call(c, &k, out, &ol));
		size_t pl = ossl_decrypt(ext, out, ol, pt, sizeof(pt));
		VH_EQ(pl, LEN(secret));
		VH_MEMEQ(pt, secret, pl);
		/* Wrong password; an external key of the other family. */
		k.a = (const uint8_t *)PW2;
		k.a_len = LEN(PW2);
		ol = sizeof(out);
		VH_STATUS(c, vsm_key_call(c, &k, out, &ol), VSM_S_KEY_REJECTED,
			  VSM_D_ACCESS_DENIED);
		EVP_PKEY *other = new_key(type == VSM_KT_SM2 ? VSM_KT_RSA : VSM_KT_SM2);
		size_t ol2;
		uint8_t *ospki = vh_der_spki(other, &ol2);
		k.a = (const uint8_t *)PW;
		k.a_len = LEN(PW);
		k.c = ospki;
		k.c_len = (uint32_t)ol2;
		ol = sizeof(out);
		VH_STATUS(c, vsm_key_call(c, &k, out, &ol), VSM_S_BADMSG, VSM_D_KEY_TYPE);
		OPENSSL_free(ospki);
		OPENSSL_free(spki);
		EVP_PKEY_free(other);
		EVP_PKEY_free(ext);
		EVP_PKEY_free(in);
	}
	vsm_close(c);
	vh_cleanup(&d);
	return 0;
}

/* ---- SM2 key agreement ---- */

/*
 * A local GB/T 32918.3 implementation: t = d + x1' r, V = t (P' + x2' R'),
 * K = KDF(xV || yV || ZA || ZB). It must reproduce the standard's own
 * example before it is trusted to judge vsmd.
 */
static void bn_hex(BIGNUM **b, const char *hex)
{
	VH_CHECK(BN_hex2bn(b, hex), "hex %s", hex);
}

static void xbar(BIGNUM *out, const EC_GROUP *g, const EC_POINT *r)
{
	VH_CHECK(EC_POINT_get_affine_coordinates(g, r, out, NULL, NULL), "affine");
	VH_CHECK(BN_mask_bits(out, 127) && BN_set_bit(out, 127), "xbar");
}

static void z_of(const EC_GROUP *g, const char *id, const EC_POINT *p, uint8_t z[32])
{
	BIGNUM *a = BN_new(), *b = BN_new(), *x = BN_new(), *y = BN_new();
	uint8_t buf[32];
	size_t il = strlen(id);
	uint8_t entl[2] = {(uint8_t)(il * 8 >> 8), (uint8_t)(il * 8)};
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	VH_CHECK(EVP_DigestInit_ex(m, EVP_sm3(), NULL) && EC_GROUP_get_curve(g, NULL, a, b, NULL),
		 "Z init");
	EVP_DigestUpdate(m, entl, 2);
	EVP_DigestUpdate(m, id, il);
	BIGNUM *v[2] = {a, b};
	for (int i = 0; i < 2; i++) {
		BN_bn2binpad(v[i], buf, 32);
		EVP_DigestUpdate(m, buf, 32);
	}
	const EC_POINT *pts[2] = {EC_GROUP_get0_generator(g), p};
	for (int i = 0; i < 2; i++) {
		VH_CHECK(EC_POINT_get_affine_coordinates(g, pts[i], x, y, NULL), "Z point");
		BN_bn2binpad(x, buf, 32);
		EVP_DigestUpdate(m, buf, 32);
		BN_bn2binpad(y, buf, 32);
		EVP_DigestUpdate(m, buf, 32);
	}
	EVP_DigestFinal_ex(m, z, NULL);
	EVP_MD_CTX_free(m);
	BN_free(a);
	BN_free(b);
	BN_free(x);
	BN_free(y);
}

static void kdf_sm3(const uint8_t *in, size_t len, uint8_t *out, size_t out_len)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	uint8_t h[32];
	for (uint32_t ct = 1; out_len; ct++) {
		uint8_t cb[4] = {(uint8_t)(ct >> 24), (uint8_t)(ct >> 16), (uint8_t)(ct >> 8),
				 (uint8_t)ct};
		EVP_DigestInit_ex(m, EVP_sm3(), NULL);
		EVP_DigestUpdate(m, in, len);
		EVP_DigestUpdate(m, cb, 4);
		EVP_DigestFinal_ex(m, h, NULL);
		size_t n = out_len < 32 ? out_len : 32;
		memcpy(out, h, n);
		out += n;
		out_len -= n;
	}
	EVP_MD_CTX_free(m);
}

/* One side's key: d, r its static and ephemeral scalars; P', R' the peer's points. */
static void kx_local(const EC_GROUP *g, const BIGNUM *d, const BIGNUM *r, const EC_POINT *pp,
		     const EC_POINT *rp, const uint8_t za[32], const uint8_t zb[32], uint8_t *key,
		     size_t klen)
{
	BN_CTX *bc = BN_CTX_new();
	EC_POINT *own = EC_POINT_new(g), *v = EC_POINT_new(g);
	BIGNUM *x1 = BN_new(), *x2 = BN_new(), *t = BN_new(), *xv = BN_new(), *yv = BN_new();
	uint8_t zin[128];
	VH_CHECK(EC_POINT_mul(g, own, r, NULL, NULL, bc), "R = rG");
	xbar(x1, g, own);
	xbar(x2, g, rp);
	VH_CHECK(BN_mod_mul(t, x1, r, EC_GROUP_get0_order(g), bc) &&
			 BN_mod_add(t, t, d, EC_GROUP_get0_order(g), bc) &&
			 EC_POINT_mul(g, v, NULL, rp, x2, bc) && EC_POINT_add(g, v, v, pp, bc) &&
			 EC_POINT_mul(g, v, NULL, v, t, bc) &&
			 EC_POINT_get_affine_coordinates(g, v, xv, yv, bc),
		 "V");
	BN_bn2binpad(xv, zin, 32);
	BN_bn2binpad(yv, zin + 32, 32);
	memcpy(zin + 64, za, 32);
	memcpy(zin + 96, zb, 32);
	kdf_sm3(zin, sizeof(zin), key, klen);
	BN_free(x1);
	BN_free(x2);
	BN_free(t);
	BN_free(xv);
	BN_free(yv);
	EC_POINT_free(own);
	EC_POINT_free(v);
	BN_CTX_free(bc);
}

static EC_POINT *point_of(const EC_GROUP *g, const uint8_t *oct)
{
	EC_POINT *p = EC_POINT_new(g);
	VH_CHECK(EC_POINT_oct2point(g, p, oct, 65, NULL), "point off the curve");
	return p;
}

/* GB/T 32918.3-2016 Annex A.2 (the example curve): K = 55B0AC62... for klen = 128. */
static void kx_standard_example(void)
{
	BIGNUM *p = NULL, *a = NULL, *b = NULL, *gx = NULL, *gy = NULL, *n = NULL, *da = NULL,
	       *db = NULL, *ra = NULL, *rb = NULL;
	bn_hex(&p, "8542D69E4C044F18E8B92435BF6FF7DE457283915C45517D722EDB8B08F1DFC3");
	bn_hex(&a, "787968B4FA32C3FD2417842E73BBFEFF2F3C848B6831D7E0EC65228B3937E498");
	bn_hex(&b, "63E4C6D3B23B0C849CF84241484BFE48F61D59A5B16BA06E6E12D1DA27C5249A");
	bn_hex(&gx, "421DEBD61B62EAB6746434EBC3CC315E32220B3BADD50BDC4C4E6C147FEDD43D");
	bn_hex(&gy, "0680512BCBB42C07D47349D2153B70C4E5D7FDFCBFA36EA1A85841B9E46E09A2");
	bn_hex(&n, "8542D69E4C044F18E8B92435BF6FF7DD297720630485628D5AE74EE7C32E79B7");
	bn_hex(&da, "6FCBA2EF9AE0AB902BC3BDE3FF915D44BA4CC78F88E2F8E7F8996D3B8CCEEDEE");
	bn_hex(&db, "5E35D7D3F3C54DBAC72E61819E730B019A84208CA3A35E4C2E353DFCCB2A3B53");
	bn_hex(&ra, "83A2C9C8B96E5AF70BD480B472409A9A327257F1EBB73F5B073354B248668563");
	bn_hex(&rb, "33FE21940342161C55619C4A0C060293D543C80AF19748CE176D83477DE71C80");
	EC_GROUP *g = EC_GROUP_new_curve_GFp(p, a, b, NULL);
	EC_POINT *gen = EC_POINT_new(g);
	VH_CHECK(EC_POINT_set_affine_coordinates(g, gen, gx, gy, NULL) &&
			 EC_GROUP_set_generator(g, gen, n, BN_value_one()),
		 "example curve");
	EC_POINT *pa = EC_POINT_new(g), *pb = EC_POINT_new(g), *ra_p = EC_POINT_new(g),
		 *rb_p = EC_POINT_new(g);
	EC_POINT_mul(g, pa, da, NULL, NULL, NULL);
	EC_POINT_mul(g, pb, db, NULL, NULL, NULL);
	EC_POINT_mul(g, ra_p, ra, NULL, NULL, NULL);
	EC_POINT_mul(g, rb_p, rb, NULL, NULL, NULL);
	uint8_t za[32], zb[32], ka[16], kb[16], want[16], wza[32];
	z_of(g, "ALICE123@YAHOO.COM", pa, za);
	z_of(g, "BILL456@YAHOO.COM", pb, zb);
	vh_unhex("E4D1D0C3CA4C7F11BC8FF8CB3F4C02A78F108FA098E51A668487240F75E20F31", wza, 32);
	VH_MEMEQ(za, wza, 32);
	kx_local(g, da, ra, pb, rb_p, za, zb, ka, 16);
	kx_local(g, db, rb, pa, ra_p, za, zb, kb, 16);
	vh_unhex("55B0AC62A6B927BA23703832C853DED4", want, 16);
	VH_MEMEQ(ka, want, 16);
	VH_MEMEQ(kb, want, 16);
	BIGNUM *bns[] = {p, a, b, gx, gy, n, da, db, ra, rb};
	for (size_t i = 0; i < sizeof(bns) / sizeof(bns[0]); i++)
		BN_free(bns[i]);
	EC_POINT_free(gen);
	EC_POINT_free(pa);
	EC_POINT_free(pb);
	EC_POINT_free(ra_p);
	EC_POINT_free(rb_p);
	EC_GROUP_free(g);
}

/* SM4-ECB of one block under key object h, to compare agreed keys. */
static void keyobj_ecb(vsm_client *c, uint64_t h, uint8_t out[16])
{
	struct vsm_session_params p = {.service = VSM_SVC_CIPHER, .alg = VSM_ALG_SM4_ECB};
	uint64_t s;
	size_t n = 16;
	VH_OK(vsm_session_create_keyobj(c, &p, h, &s));
	VH_OK(vsm_encrypt(c, s, NULL, 0, data64, 16, out, &n));
	VH_OK(vsm_session_destroy(c, s));
}

static void pub_point(EVP_PKEY *k, uint8_t out[65])
{
	size_t n = 0;
	VH_CHECK(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, out, 65, &n) &&
			 n == 65,
		 "uncompressed public key");
}

static int t_agreement(void)
{
	kx_standard_example();

	struct vh_daemon d;
	vsm_client *c = start(&d, false);
	static const char ida[] = "sponsor@vsm", idb[] = "responder@vsm";

	VH_OK(vsm_key_generate(c, VSM_KU_ENC, 1, VSM_KT_SM2, 0, PW, LEN(PW), NULL));
	VH_OK(vsm_key_generate(c, VSM_KU_ENC, 2, VSM_KT_SM2, 0, PW2, LEN(PW2), NULL));

	/* vsmd on both sides. */
	uint8_t init[8 + 130], resp[8 + 130], fin[8];
	size_t il = sizeof(init), rl = sizeof(resp), fl = sizeof(fin);
	struct vsm_wire_key ki = {.kop = VSM_KOP_AGREE_INIT,
				  .usage = VSM_KU_ENC,
				  .index = 1,
				  .bits = 128,
				  .type = VSM_KT_SM4,
				  .a = (const uint8_t *)PW,
				  .a_len = LEN(PW),
				  .b = (const uint8_t *)ida,
				  .b_len = LEN(ida)};
	VH_OK(vsm_key_call(c, &ki, init, &il));
	VH_EQ(il, sizeof(init));
	uint64_t agree = handle_of(init);
	uint8_t rb_ids[4 + sizeof(ida) + sizeof(idb)];
	vsm_wire_encode_u32(rb_ids, 4, LEN(idb));
	memcpy(rb_ids + 4, idb, LEN(idb));
	memcpy(rb_ids + 4 + LEN(idb), ida, LEN(ida));
	struct vsm_wire_key kr = {.kop = VSM_KOP_AGREE_RESPOND,
				  .usage = VSM_KU_ENC,
				  .index = 2,
				  .bits = 128,
				  .type = VSM_KT_SM4,
				  .a = (const uint8_t *)PW2,
				  .a_len = LEN(PW2),
				  .b = rb_ids,
				  .b_len = (uint32_t)(4 + LEN(idb) + LEN(ida)),
				  .c = init + 8,
				  .c_len = 130};
	VH_OK(vsm_key_call(c, &kr, resp, &rl));
	VH_EQ(rl, sizeof(resp));
	struct vsm_wire_key kf = {.kop = VSM_KOP_AGREE_FINISH,
				  .handle = agree,
				  .b = (const uint8_t *)idb,
				  .b_len = LEN(idb),
				  .c = resp + 8,
				  .c_len = 130};
	VH_OK(vsm_key_call(c, &kf, fin, &fl));
	VH_EQ(fl, 8);
	uint8_t ea[16], eb[16];
	keyobj_ecb(c, handle_of(fin), ea);
	keyobj_ecb(c, handle_of(resp), eb);
	VH_MEMEQ(ea, eb, 16);
	/* The agreement was consumed. */
	fl = sizeof(fin);
	VH_STATUS(c, vsm_key_call(c, &kf, fin, &fl), VSM_S_KEY_REJECTED, VSM_D_NO_KEY);
	/* The static keys vsmd reported are the exported ones. */
	EVP_PKEY *pa = pub_of(c, VSM_KU_ENC, 1);
	uint8_t pa_oct[65];
	pub_point(pa, pa_oct);
	VH_MEMEQ(init + 8, pa_oct, 65);

	/* The test's implementation plays the responder against vsmd's sponsor. */
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_sm2);
	EVP_PKEY *mine = new_key(VSM_KT_SM2);
	BIGNUM *dm = NULL, *rm = BN_new();
	VH_CHECK(EVP_PKEY_get_bn_param(mine, OSSL_PKEY_PARAM_PRIV_KEY, &dm), "d");
	VH_CHECK(BN_rand_range(rm, EC_GROUP_get0_order(g)), "r");
	EC_POINT *rmp = EC_POINT_new(g);
	EC_POINT_mul(g, rmp, rm, NULL, NULL, NULL);
	uint8_t peer[130];
	pub_point(mine, peer);
	VH_EQ(EC_POINT_point2oct(g, rmp, POINT_CONVERSION_UNCOMPRESSED, peer + 65, 65, NULL), 65);
	il = sizeof(init);
	VH_OK(vsm_key_call(c, &ki, init, &il));
	EC_POINT *p_sp = point_of(g, init + 8), *r_sp = point_of(g, init + 8 + 65);
	uint8_t za[32], zb[32], key[16];
	z_of(g, ida, p_sp, za);
	EC_POINT *p_me = point_of(g, peer);
	z_of(g, idb, p_me, zb);
	kx_local(g, dm, rm, p_sp, r_sp, za, zb, key, 16);
	kf.handle = handle_of(init);
	kf.c = peer;
	fl = sizeof(fin);
	VH_OK(vsm_key_call(c, &kf, fin, &fl));
	uint8_t ref[16];
	keyobj_ecb(c, handle_of(fin), ea);
	ossl_cipher(EVP_sm4_ecb(), true, key, NULL, (const uint8_t *)data64, 16, ref);
	VH_MEMEQ(ea, ref, 16);

	/* ... and the sponsor against vsmd's responder. */
	vsm_wire_encode_u32(rb_ids, 4, LEN(idb));
	kr.c = peer;
	rl = sizeof(resp);
	VH_OK(vsm_key_call(c, &kr, resp, &rl));
	EC_POINT *p_rs = point_of(g, resp + 8), *r_rs = point_of(g, resp + 8 + 65);
	z_of(g, ida, p_me, za);
	z_of(g, idb, p_rs, zb);
	kx_local(g, dm, rm, p_rs, r_rs, za, zb, key, 16);
	keyobj_ecb(c, handle_of(resp), eb);
	ossl_cipher(EVP_sm4_ecb(), true, key, NULL, (const uint8_t *)data64, 16, ref);
	VH_MEMEQ(eb, ref, 16);

	/* Errors: wrong password, not an SM2 key, a point off the curve, bad lengths. */
	il = sizeof(init);
	ki.a = (const uint8_t *)PW2;
	VH_STATUS(c, vsm_key_call(c, &ki, init, &il), VSM_S_KEY_REJECTED, VSM_D_ACCESS_DENIED);
	ki.a = (const uint8_t *)PW;
	ki.bits = 100;
	il = sizeof(init);
	VH_STATUS(c, vsm_key_call(c, &ki, init, &il), VSM_S_BADMSG, VSM_D_BAD_LENGTH);
	ki.bits = 128;
	VH_OK(vsm_key_generate(c, VSM_KU_ENC, 3, VSM_KT_RSA, 2048, PW, LEN(PW), NULL));
	ki.index = 3;
	il = sizeof(init);
	VH_STATUS(c, vsm_key_call(c, &ki, init, &il), VSM_S_BADMSG, VSM_D_KEY_TYPE);
	ki.index = 1;
	il = sizeof(init);
	VH_OK(vsm_key_call(c, &ki, init, &il));
	peer[64] ^= 1;
	kf.handle = handle_of(init);
	fl = sizeof(fin);
	VH_STATUS(c, vsm_key_call(c, &kf, fin, &fl), VSM_S_BADMSG, VSM_D_BAD_KEY);
	kr.b_len = 3;
	rl = sizeof(resp);
	VH_STATUS(c, vsm_key_call(c, &kr, resp, &rl), VSM_S_BADMSG, VSM_D_BAD_LENGTH);

	BN_free(dm);
	BN_free(rm);
	EC_POINT_free(rmp);
	EC_POINT_free(p_sp);
	EC_POINT_free(r_sp);
	EC_POINT_free(p_me);
	EC_POINT_free(p_rs);
	EC_POINT_free(r_rs);
	EC_GROUP_free(g);
	EVP_PKEY_free(mine);
	EVP_PKEY_free(pa);
	vsm_close(c);
	vh_cleanup(&d);
	return 0;
}

/* ---- files ---- */

static int file_call(vsm_client *c, uint32_t kop, const char *name, uint32_t index, uint32_t bits,
		     const void *data, size_t dlen, void *out, size_t *out_len)
{
	struct vsm_wire_key k = {.kop = kop,
				 .index = index,
				 .bits = bits,
				 .b = (const uint8_t *)name,
				 .b_len = (uint32_t)strlen(name),
				 .c = data,
				 .c_len = (uint32_t)dlen};
	size_t n = 0;
	return vsm_key_call(c, &k, out, out ? out_len : &n);
}

static int t_files(void)
{
	struct vh_daemon d;
	vsm_client *c = start(&d, false);
	uint8_t buf[256];
	size_t n;

	VH_OK(file_call(c, VSM_KOP_FILE_CREATE, "cert.der", 0, 100, NULL, 0, NULL, NULL));
	VH_STATUS(c, file_call(c, VSM_KOP_FILE_CREATE, "cert.der", 0, 10, NULL, 0, NULL, NULL),
		  VSM_S_ERR, VSM_D_EXISTS);
	n = sizeof(buf);
	VH_OK(file_call(c, VSM_KOP_FILE_READ, "cert.der", 0, 100, NULL, 0, buf, &n));
	VH_EQ(n, 100);
	for (size_t i = 0; i < 100; i++)
		VH_EQ(buf[i], 0);
	VH_OK(file_call(c, VSM_KOP_FILE_WRITE, "cert.der", 90, 0, "0123456789", 10, NULL, NULL));
	n = sizeof(buf);
	VH_OK(file_call(c, VSM_KOP_FILE_READ, "cert.der", 88, 12, NULL, 0, buf, &n));
	VH_EQ(n, 12);
	VH_MEMEQ(buf, "\0\0000123456789", 12);
	/* Past the end, either way. */
	VH_STATUS(c,
		  file_call(c, VSM_KOP_FILE_WRITE, "cert.der", 91, 0, "0123456789", 10, NULL, NULL),
		  VSM_S_BADMSG, VSM_D_RANGE);
	n = sizeof(buf);
	VH_STATUS(c, file_call(c, VSM_KOP_FILE_READ, "cert.der", 100, 1, NULL, 0, buf, &n),
		  VSM_S_BADMSG, VSM_D_RANGE);
	n = sizeof(buf);
	VH_STATUS(c, file_call(c, VSM_KOP_FILE_READ, "cert.der", 0xffffffffu, 2, NULL, 0, buf, &n),
		  VSM_S_BADMSG, VSM_D_RANGE);
	n = sizeof(buf);
	VH_STATUS(c, file_call(c, VSM_KOP_FILE_READ, "nope", 0, 1, NULL, 0, buf, &n), VSM_S_ERR,
		  VSM_D_NO_FILE);
	/* A read larger than the caller's buffer says how much room it needs. */
	n = 10;
	VH_STATUS(c, file_call(c, VSM_KOP_FILE_READ, "cert.der", 0, 100, NULL, 0, buf, &n),
		  VSM_S_NOSPC, VSM_D_OUTPUT_SPACE);
	VH_OK(file_call(c, VSM_KOP_FILE_DELETE, "cert.der", 0, 0, NULL, 0, NULL, NULL));
	VH_STATUS(c, file_call(c, VSM_KOP_FILE_DELETE, "cert.der", 0, 0, NULL, 0, NULL, NULL),
		  VSM_S_ERR, VSM_D_NO_FILE);
	VH_STATUS(c, file_call(c, VSM_KOP_FILE_CREATE, "", 0, 10, NULL, 0, NULL, NULL),
		  VSM_S_BADMSG, VSM_D_BAD_LENGTH);
	vsm_close(c);
	vh_cleanup(&d);
	return 0;
}

/* ---- keystore off ---- */

static int t_disabled(void)
{
	struct vh_daemon d;
	struct vh_opts o = {.sections = "[keystore]\nenabled = no\n"};
	vh_start(&d, &o);
	vsm_client *c = vh_connect(d.uri);
	VH_EQ(vsm_info(c)->features & VSM_FEAT_KEYSTORE, 0);
	VH_EQ(vsm_key_generate(c, VSM_KU_SIGN, 1, VSM_KT_SM2, 0, NULL, 0, NULL), -ENOTSUP);
	struct vsm_session_params p = ak(&sign_types[0]);
	uint64_t s;
	VH_STATUS(c, vsm_session_create_internal(c, &p, VSM_KU_SIGN, 1, NULL, 0, &s), VSM_S_NOTSUPP,
		  VSM_D_KEYSTORE);
	vsm_close(c);
	vh_cleanup(&d);
	return 0;
}

/* ---- key-object lifetime and limit ---- */

static uint64_t plain_keyobj(vsm_client *c, uint8_t fill)
{
	uint8_t key[16];
	memset(key, fill, sizeof(key));
	struct vsm_wire_key k = {.type = VSM_KT_SM4, .b = key, .b_len = 16};
	return skey_import(c, &k);
}

/* Occurrences of s in the current run's vsmd log. */
static unsigned log_count(const struct vh_daemon *d, const char *s)
{
	char path[160];
	snprintf(path, sizeof(path), "%s.%u", d->log, d->runs % 10);
	FILE *f = fopen(path, "r");
	VH_CHECK(f, "%s: %s", path, strerror(errno));
	unsigned n = 0;
	char buf[1024];
	while (fgets(buf, sizeof(buf), f))
		n += strstr(buf, s) != NULL;
	fclose(f);
	return n;
}

static int t_keyobj_lifetime(void)
{
	struct vh_daemon d;
	struct vh_opts o = {.vsmd_keys = "log_level = debug"};
	vh_start(&d, &o);
	vsm_client *c1 = vh_connect(d.uri), *c2 = vh_connect(d.uri);
	uint8_t key[16];
	memset(key, 7, sizeof(key));

	/* Handles belong to the tenant: usable from its other connection. */
	uint64_t h = plain_keyobj(c1, 7);
	keyobj_is(c2, h, key);
	vsm_close(c1);
	keyobj_is(c2, h, key);

	/* The default limit, 1024 objects at once; destroying one makes room. */
	uint64_t last = 0;
	for (int i = 1; i < 1024; i++)
		last = plain_keyobj(c2, (uint8_t)i);
	struct vsm_wire_key k = {
		.kop = VSM_KOP_SKEY_IMPORT, .type = VSM_KT_SM4, .b = key, .b_len = 16};
	uint8_t out[8];
	size_t n = sizeof(out);
	VH_STATUS(c2, vsm_key_call(c2, &k, out, &n), VSM_S_NOSPC, VSM_D_RANGE);
	struct vsm_wire_key del = {.kop = VSM_KOP_SKEY_DESTROY, .handle = last};
	VH_OK(vsm_key_call(c2, &del, NULL, NULL));
	n = sizeof(out);
	VH_OK(vsm_key_call(c2, &k, out, &n));

	/*
	 * The last connection gone, the objects go too. vh_start's probe connection
	 * may have logged this line already: wait for one more, or c3 could attach
	 * before vsmd has seen c2 close and keep the objects alive.
	 */
	char line[128];
	snprintf(line, sizeof(line), "tenant %s: last connection closed", vsm_info(c2)->tenant);
	unsigned seen = log_count(&d, line);
	vsm_close(c2);
	uint64_t deadline = vh_now_ms() + 20000;
	while (log_count(&d, line) <= seen) {
		VH_CHECK(vh_now_ms() < deadline, "vsmd did not see the connection close");
		usleep(10000);
	}
	vsm_client *c3 = vh_connect(d.uri);
	struct vsm_session_params p = {.service = VSM_SVC_CIPHER, .alg = VSM_ALG_SM4_ECB};
	uint64_t s;
	VH_STATUS(c3, vsm_session_create_keyobj(c3, &p, h, &s), VSM_S_KEY_REJECTED, VSM_D_NO_KEY);
	/* A key-object handle is not a session handle, nor the other way round. */
	uint64_t h3 = plain_keyobj(c3, 3);
	uint8_t blk[16];
	size_t bl = sizeof(blk);
	VH_EQ(vsm_encrypt(c3, h3, NULL, 0, data64, 16, blk, &bl), VSM_S_INVSESS);
	VH_OK(vsm_session_create_keyobj(c3, &p, h3, &s));
	del.handle = s;
	VH_STATUS(c3, vsm_key_call(c3, &del, NULL, NULL), VSM_S_KEY_REJECTED, VSM_D_NO_KEY);
	vsm_close(c3);
	vh_cleanup(&d);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct vh_case cases[] = {
		{"generate", t_generate, 0},
		{"import", t_import, 0},
		{"access", t_access, 0},
		{"isolation", t_isolation, 0},
		{"persistence", t_persistence, 0},
		{"session-keys", t_session_keys, 0},
		{"envelope", t_envelope, 0},
		{"agreement", t_agreement, 0},
		{"files", t_files, 0},
		{"keyobj-lifetime", t_keyobj_lifetime, 0},
		{"disabled", t_disabled, 0},
		{"concurrent", t_concurrent, 0},
	};
	return vh_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
