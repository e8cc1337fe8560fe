/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vsm_keygen and vsm_keyimport_check: every type and size, the forms they
 * produce (PKCS#8 / SPKI DER that OpenSSL reads back as the same key), and
 * imports of the wrong type, size or encoding. VSM_KS_RSA_TIMING=1 prints
 * the median RSA-2048 generation time (never asserted).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "keystore/keystore.h"

static EVP_PKEY *parse_priv(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY *pk = d2i_AutoPrivateKey(NULL, &p, (long)len);
	assert_non_null(pk);
	assert_ptr_equal(p, der + len);
	return pk;
}

/* Sign with the private half, verify with the SPKI: the two belong together. */
static void check_pair(const uint8_t *secret, size_t sl, const uint8_t *pub, size_t pl)
{
	EVP_PKEY *priv = parse_priv(secret, sl);
	const unsigned char *p = pub;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)pl);
	assert_non_null(pk);
	bool raw = EVP_PKEY_is_a(priv, "ED25519");
	/* SM2 signs with SM3 (and the default ID); the others take any digest. */
	const EVP_MD *md = raw ? NULL : EVP_PKEY_is_a(priv, "SM2") ? EVP_sm3() : EVP_sha256();
	static const uint8_t msg[] = "message";
	uint8_t sig[1024];
	size_t sigl = sizeof(sig);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestSignInit(c, NULL, md, NULL, priv), 1);
	assert_int_equal(EVP_DigestSign(c, sig, &sigl, msg, sizeof(msg)), 1);
	EVP_MD_CTX_free(c);
	c = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit(c, NULL, md, NULL, pk), 1);
	assert_int_equal(EVP_DigestVerify(c, sig, sigl, msg, sizeof(msg)), 1);
	EVP_MD_CTX_free(c);
	EVP_PKEY_free(pk);
	EVP_PKEY_free(priv);
}

static void test_generate(void **state)
{
	(void)state;
	static const struct {
		uint32_t type, bits;
		const char *name;
	} asym[] = {{VSM_KT_SM2, 0, "SM2"},	    {VSM_KT_SM2, 256, "SM2"},
		    {VSM_KT_ECDSA_P256, 256, "EC"}, {VSM_KT_ECDSA_P384, 384, "EC"},
		    {VSM_KT_ED25519, 0, "ED25519"}, {VSM_KT_RSA, 2048, "RSA"}};
	for (size_t i = 0; i < sizeof(asym) / sizeof(asym[0]); i++) {
		uint8_t *s, *p;
		size_t sl, pl;
		int detail;
		assert_int_equal(vsm_keygen(asym[i].type, asym[i].bits, &s, &sl, &p, &pl, &detail),
				 VSM_S_OK);
		EVP_PKEY *pk = parse_priv(s, sl);
		assert_true(EVP_PKEY_is_a(pk, asym[i].name));
		if (asym[i].bits)
			assert_int_equal(EVP_PKEY_get_bits(pk), (int)asym[i].bits);
		EVP_PKEY_free(pk);
		check_pair(s, sl, p, pl);
		/* A generated key passes the import check as its own type. */
		uint8_t *n, *np;
		size_t nl, npl;
		uint32_t bits;
		assert_int_equal(vsm_keyimport_check(asym[i].type, s, sl, &bits, &n, &nl, &np, &npl,
						     &detail),
				 VSM_S_OK);
		assert_int_equal(bits, asym[i].bits ? asym[i].bits : 256);
		assert_int_equal(npl, pl);
		assert_memory_equal(np, p, pl);
		vsm_keystore_secret_free(n, nl);
		free(np);
		/* ... and as no other type. */
		uint32_t other =
			asym[i].type == VSM_KT_ECDSA_P256 ? VSM_KT_ECDSA_P384 : VSM_KT_ECDSA_P256;
		assert_int_equal(
			vsm_keyimport_check(other, s, sl, &bits, &n, &nl, &np, &npl, &detail),
			VSM_S_BADMSG);
		assert_int_equal(detail, VSM_D_KEY_TYPE);
		assert_null(n);
		/* Trailing bytes are not a key. */
		uint8_t *longer = malloc(sl + 1);
		memcpy(longer, s, sl);
		longer[sl] = 0;
		assert_int_equal(vsm_keyimport_check(asym[i].type, longer, sl + 1, &bits, &n, &nl,
						     &np, &npl, &detail),
				 VSM_S_KEY_REJECTED);
		assert_int_equal(detail, VSM_D_BAD_KEY);
		free(longer);
		vsm_keystore_secret_free(s, sl);
		free(p);
	}

	static const struct {
		uint32_t type, bits;
	} sym[] = {{VSM_KT_SM4, 0},
		   {VSM_KT_SM4, 128},
		   {VSM_KT_AES, 128},
		   {VSM_KT_AES, 192},
		   {VSM_KT_AES, 256}};
	for (size_t i = 0; i < sizeof(sym) / sizeof(sym[0]); i++) {
		uint8_t *s, *p, *s2, *p2;
		size_t sl, pl, sl2, pl2;
		int detail;
		assert_int_equal(vsm_keygen(sym[i].type, sym[i].bits, &s, &sl, &p, &pl, &detail),
				 VSM_S_OK);
		assert_null(p);
		assert_int_equal(sl * 8, sym[i].bits ? sym[i].bits : 128);
		assert_int_equal(
			vsm_keygen(sym[i].type, sym[i].bits, &s2, &sl2, &p2, &pl2, &detail),
			VSM_S_OK);
		assert_memory_not_equal(s, s2, sl); /* random, not a constant */
		vsm_keystore_secret_free(s, sl);
		vsm_keystore_secret_free(s2, sl2);
	}
}

static void test_generate_rejects(void **state)
{
	(void)state;
	static const struct {
		uint32_t type, bits;
		int st, detail;
	} bad[] = {
		{VSM_KT_RSA, 1024, VSM_S_BADMSG, VSM_D_BAD_LENGTH},
		{VSM_KT_RSA, 0, VSM_S_BADMSG, VSM_D_BAD_LENGTH},
		{VSM_KT_RSA, 2047, VSM_S_BADMSG, VSM_D_BAD_LENGTH},
		{VSM_KT_SM2, 384, VSM_S_BADMSG, VSM_D_BAD_LENGTH},
		{VSM_KT_ECDSA_P384, 256, VSM_S_BADMSG, VSM_D_BAD_LENGTH},
		{VSM_KT_AES, 0, VSM_S_BADMSG, VSM_D_BAD_LENGTH},
		{VSM_KT_AES, 512, VSM_S_BADMSG, VSM_D_BAD_LENGTH},
		{VSM_KT_SM4, 256, VSM_S_BADMSG, VSM_D_BAD_LENGTH},
		{VSM_KT_GENERIC, 256, VSM_S_BADMSG, VSM_D_KEY_TYPE},
		{0, 256, VSM_S_BADMSG, VSM_D_KEY_TYPE},
		{99, 256, VSM_S_BADMSG, VSM_D_KEY_TYPE},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t *s, *p;
		size_t sl, pl;
		int detail;
		assert_int_equal(vsm_keygen(bad[i].type, bad[i].bits, &s, &sl, &p, &pl, &detail),
				 bad[i].st);
		assert_int_equal(detail, bad[i].detail);
		assert_null(s);
		assert_null(p);
	}
}

static void test_import_rejects(void **state)
{
	(void)state;
	uint8_t *n, *p;
	size_t nl, pl;
	uint32_t bits;
	int detail;
	static const uint8_t garbage[] = {0x30, 0x03, 0x02, 0x01, 0x00};
	assert_int_equal(vsm_keyimport_check(VSM_KT_SM2, garbage, sizeof(garbage), &bits, &n, &nl,
					     &p, &pl, &detail),
			 VSM_S_KEY_REJECTED);
	assert_int_equal(detail, VSM_D_BAD_KEY);
	assert_int_equal(
		vsm_keyimport_check(VSM_KT_SM2, garbage, 0, &bits, &n, &nl, &p, &pl, &detail),
		VSM_S_KEY_REJECTED);
	uint8_t k[33] = {0};
	assert_int_equal(vsm_keyimport_check(VSM_KT_SM4, k, 24, &bits, &n, &nl, &p, &pl, &detail),
			 VSM_S_KEY_REJECTED);
	assert_int_equal(vsm_keyimport_check(VSM_KT_AES, k, 33, &bits, &n, &nl, &p, &pl, &detail),
			 VSM_S_KEY_REJECTED);
	assert_int_equal(vsm_keyimport_check(VSM_KT_AES, k, 24, &bits, &n, &nl, &p, &pl, &detail),
			 VSM_S_OK);
	assert_int_equal(bits, 192);
	assert_null(p);
	vsm_keystore_secret_free(n, nl);
	assert_int_equal(
		vsm_keyimport_check(VSM_KT_GENERIC, k, 16, &bits, &n, &nl, &p, &pl, &detail),
		VSM_S_BADMSG);
	assert_int_equal(detail, VSM_D_KEY_TYPE);

	/* An SM2 key is not a P-256 key, nor the other way round. */
	uint8_t *s, *sp;
	size_t sl, spl;
	assert_int_equal(vsm_keygen(VSM_KT_ECDSA_P256, 0, &s, &sl, &sp, &spl, &detail), VSM_S_OK);
	assert_int_equal(vsm_keyimport_check(VSM_KT_SM2, s, sl, &bits, &n, &nl, &p, &pl, &detail),
			 VSM_S_BADMSG);
	assert_int_equal(detail, VSM_D_KEY_TYPE);
	vsm_keystore_secret_free(s, sl);
	free(sp);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Not a test: a measurement for docs/keystore.md, on request. */
static void rsa_timing(void)
{
	double t[11];
	for (int i = 0; i < 11; i++) {
		uint8_t *s, *p;
		size_t sl, pl;
		int detail;
		double t0 = now_s();
		if (vsm_keygen(VSM_KT_RSA, 2048, &s, &sl, &p, &pl, &detail) != VSM_S_OK)
			exit(1);
		t[i] = now_s() - t0;
		vsm_keystore_secret_free(s, sl);
		free(p);
	}
	qsort(t, 11, sizeof(t[0]), cmp_double);
	printf("RSA-2048 vsm_keygen: median %.1f ms, min %.1f ms, max %.1f ms (11 runs)\n",
	       t[5] * 1e3, t[0] * 1e3, t[10] * 1e3);
}

int main(void)
{
	if (getenv("VSM_KS_RSA_TIMING")) {
		rsa_timing();
		return 0;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_generate_rejects),
		cmocka_unit_test(test_import_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
