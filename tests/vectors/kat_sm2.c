/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SM2 (GB/T 32918): the standard's own signature example on its test curve,
 * fed through the engine as an explicit-parameters public key; and
 * sign/verify/encrypt/decrypt round trips on the recommended curve, checked
 * against OpenSSL directly and against e = SM3(Z || M) computed here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "kat.h"

/* GB/T 32918.2 Annex A example curve and key (also OpenSSL test/sm2_internal_test.c). */
static const char *const ex_p = "8542D69E4C044F18E8B92435BF6FF7DE457283915C45517D722EDB8B08F1DFC3";
static const char *const ex_a = "787968B4FA32C3FD2417842E73BBFEFF2F3C848B6831D7E0EC65228B3937E498";
static const char *const ex_b = "63E4C6D3B23B0C849CF84241484BFE48F61D59A5B16BA06E6E12D1DA27C5249A";
static const char *const ex_gx = "421DEBD61B62EAB6746434EBC3CC315E32220B3BADD50BDC4C4E6C147FEDD43D";
static const char *const ex_gy = "0680512BCBB42C07D47349D2153B70C4E5D7FDFCBFA36EA1A85841B9E46E09A2";
static const char *const ex_n = "8542D69E4C044F18E8B92435BF6FF7DD297720630485628D5AE74EE7C32E79B7";
static const char *const ex_xa = "0AE4C7798AA0F119471BEE11825BE46202BB79E2A5844495E97C04FF4DF2548A";
static const char *const ex_ya = "7C0240F88F1CD4E16352A73C17B7F16F07353E53A176D684A9FE0C6BB798E857";
static const char *const ex_d = "128B2FA8BD433C6C068C8D803DFF79792A519A55171B1B650C23661D15897263";
static const char *const ex_r = "40F1EC59F793D9F49E09DCEF49130D4194F79FB1EED2CAA55BACDB49C4E755D1";
static const char *const ex_s = "6FC6DAC32C5D5CF10C77DFB20F7C2EB667A457872FB09EC56327A67EC7DEEBE7";
static const char *const ex_za = "F4A38489E32B45B6F876E3AC2168CA392362DC8F23459C1D1146FC3DBFB7BC9A";
static const char *const ex_e = "B524F552CD82B8B028476E005C377FB19A87E6FC682D48BB5D42E3D9B9EFFE76";

/* The longest SM2 user id (ENTL is a 16-bit count of bits). */
#define SM2_MAX_ID 8191

/* GB/T 32918.5 recommended curve. */
static const char *const rc_a = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC";
static const char *const rc_b = "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93";
static const char *const rc_gx = "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7";
static const char *const rc_gy = "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0";

/* Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA), GB/T 32918.2 5.5. */
static void sm2_z(const char *id, const char *a, const char *b, const char *gx, const char *gy,
		  const uint8_t *xy, uint8_t z[32])
{
	const char *hex[4] = {a, b, gx, gy};
	size_t idl = strlen(id);
	uint8_t entl[2] = {(uint8_t)((idl * 8) >> 8), (uint8_t)(idl * 8)};
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int n;

	EVP_DigestInit_ex(c, EVP_sm3(), NULL);
	EVP_DigestUpdate(c, entl, 2);
	EVP_DigestUpdate(c, id, idl);
	for (int i = 0; i < 4; i++) {
		struct kat_buf v = kat_hex(hex[i]);

		EVP_DigestUpdate(c, v.p, v.n);
		kat_buf_free(&v);
	}
	EVP_DigestUpdate(c, xy, 64);
	EVP_DigestFinal_ex(c, z, &n);
	EVP_MD_CTX_free(c);
}

static void sm3_zm(const uint8_t z[32], const void *m, size_t len, uint8_t e[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int n;

	EVP_DigestInit_ex(c, EVP_sm3(), NULL);
	EVP_DigestUpdate(c, z, 32);
	EVP_DigestUpdate(c, m, len);
	EVP_DigestFinal_ex(c, e, &n);
	EVP_MD_CTX_free(c);
}

static BIGNUM *bn(const char *hex)
{
	BIGNUM *b = NULL;

	BN_hex2bn(&b, hex);
	return b;
}

/*
 * The example key with explicit curve parameters: SubjectPublicKeyInfo, or
 * with_priv PKCS#8 PrivateKeyInfo.
 */
static struct kat_buf example_key(int with_priv)
{
	char gen[2 + 4 * 64 + 1], pub[2 + 4 * 64 + 1];
	struct kat_buf g, q, der = {NULL, 0};
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *p = bn(ex_p), *a = bn(ex_a), *b = bn(ex_b), *n = bn(ex_n), *h = bn("1"),
	       *d = bn(ex_d);
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *pk = NULL;
	OSSL_PARAM *params;

	snprintf(gen, sizeof(gen), "04%s%s", ex_gx, ex_gy);
	snprintf(pub, sizeof(pub), "04%s%s", ex_xa, ex_ya);
	g = kat_hex(gen);
	q = kat_hex(pub);
	OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_EC_FIELD_TYPE, SN_X9_62_prime_field,
					0);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_EC_P, p);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_EC_A, a);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_EC_B, b);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_EC_ORDER, n);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_EC_COFACTOR, h);
	OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_EC_GENERATOR, g.p, g.n);
	OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, q.p, q.n);
	if (with_priv)
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d);
	params = OSSL_PARAM_BLD_to_param(bld);
	if (params && c && EVP_PKEY_fromdata_init(c) > 0 &&
	    EVP_PKEY_fromdata(c, &pk, with_priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) >
		    0)
		der = with_priv ? kat_der(pk, EVP_PKEY_KEYPAIR, "PrivateKeyInfo")
				: kat_der(pk, EVP_PKEY_PUBLIC_KEY, "SubjectPublicKeyInfo");
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(c);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(p);
	BN_free(a);
	BN_free(b);
	BN_free(n);
	BN_free(h);
	BN_clear_free(d);
	kat_buf_free(&g);
	kat_buf_free(&q);
	return der;
}

static void *sm2_session(const struct kat_backend *be, const struct kat_buf *key, const char *id,
			 uint32_t flags, int *st, int *d)
{
	struct vsm_wire_session p = {
		.service = VSM_SVC_AKCIPHER,
		.alg = VSM_ALG_SM2,
		.flags = flags,
		.salt_len = -1,
		.key = key->p,
		.key_len = (uint32_t)key->n,
		.aux = (const uint8_t *)id,
		.aux_len = id ? (uint32_t)strlen(id) : 0,
	};
	void *s = NULL;

	*st = be->session_new(be->ctx, &p, &s, d);
	return *st == VSM_S_OK ? s : NULL;
}

static int verify(const struct kat_backend *be, void *s, const void *m, size_t len,
		  const struct kat_buf *sig, int *d)
{
	uint8_t o[8];
	size_t n;

	if (!s)
		return -1;
	return kat_op(be, s, VSM_OP_VERIFY, 0, NULL, NULL, m, len, sig, o, sizeof(o), &n, d);
}

static void gbt_example(const struct kat_backend *be, struct kat_file *f)
{
	const char *id = "ALICE123@YAHOO.COM", *msg = "message digest";
	struct kat_buf spki = example_key(0), pkcs8 = example_key(1), za = kat_hex(ex_za),
		       e_std = kat_hex(ex_e);
	struct kat_buf sig, xy, ebuf;
	char sighex[8 + 64 + 4 + 64 + 1], xyhex[129];
	uint8_t z[32], e[32];
	int st, d;
	void *s, *sp;

	snprintf(sighex, sizeof(sighex), "30440220%s0220%s", ex_r, ex_s);
	snprintf(xyhex, sizeof(xyhex), "%s%s", ex_xa, ex_ya);
	sig = kat_hex(sighex);
	xy = kat_hex(xyhex);

	kat_check(f, spki.n > 0, "explicit-parameter SPKI built");
	s = sm2_session(be, &spki, id, 0, &st, &d);
	kat_check(f, s != NULL, "explicit-parameter SM2 key accepted: %s/%s", vsm_status_name(st),
		  vsm_detail_name(d));
	st = verify(be, s, msg, strlen(msg), &sig, &d);
	kat_check(f, st == VSM_S_OK, "GB/T 32918.2 A.2 signature verifies (message mode): %s",
		  vsm_status_name(st));
	sig.p[40] ^= 0x01;
	st = verify(be, s, msg, strlen(msg), &sig, &d);
	kat_check(f, st == VSM_S_BADMSG && d == VSM_D_AUTH_FAILED, "modified r rejected");
	sig.p[40] ^= 0x01;
	if (s)
		be->session_free(be->ctx, s);

	/* The same signature under the default id must fail: Z depends on the id. */
	s = sm2_session(be, &spki, NULL, 0, &st, &d);
	st = verify(be, s, msg, strlen(msg), &sig, &d);
	kat_check(f, st == VSM_S_BADMSG, "default user id gives a different Z");
	if (s)
		be->session_free(be->ctx, s);

	/* Z and e as printed in the standard, then PREHASHED verify of e. */
	sm2_z(id, ex_a, ex_b, ex_gx, ex_gy, xy.p, z);
	kat_check(f, memcmp(z, za.p, 32) == 0, "Z_A matches the standard");
	sm3_zm(z, msg, strlen(msg), e);
	kat_check(f, memcmp(e, e_std.p, 32) == 0, "e matches the standard");
	sp = sm2_session(be, &spki, id, VSM_SESSF_PREHASHED, &st, &d);
	ebuf.p = e;
	ebuf.n = 32;
	st = verify(be, sp, e, 32, &sig, &d);
	kat_check(f, st == VSM_S_OK, "PREHASHED verify of e: %s", vsm_status_name(st));
	st = verify(be, sp, e, 31, &sig, &d);
	kat_check(f, st == VSM_S_BADMSG && d == VSM_D_BAD_LENGTH, "PREHASHED e of 31 bytes");
	(void)ebuf;
	if (sp)
		be->session_free(be->ctx, sp);

	/* Sign on the example curve with its private key (random k), verify with the public key. */
	s = sm2_session(be, &pkcs8, id, 0, &st, &d);
	sp = sm2_session(be, &spki, id, 0, &st, &d);
	kat_check(f, s && sp, "explicit-parameter PKCS#8 private key accepted");
	if (s && sp) {
		uint8_t sb[160];
		struct kat_buf mine = {sb, 0};

		st = kat_op(be, s, VSM_OP_SIGN, 0, NULL, NULL, (const uint8_t *)msg, strlen(msg),
			    NULL, sb, sizeof(sb), &mine.n, &d);
		kat_check(f,
			  st == VSM_S_OK && verify(be, sp, msg, strlen(msg), &mine, &d) == VSM_S_OK,
			  "sign on the example curve verifies");
	}
	if (s)
		be->session_free(be->ctx, s);
	if (sp)
		be->session_free(be->ctx, sp);
	OPENSSL_free(pkcs8.p);
	OPENSSL_free(spki.p);
	kat_buf_free(&za);
	kat_buf_free(&e_std);
	kat_buf_free(&sig);
	kat_buf_free(&xy);
}

/* OpenSSL's own SM2 verification, independent of the engine. */
static int openssl_sm2_verify(EVP_PKEY *pk, const void *m, size_t len, const struct kat_buf *sig)
{
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	int ok = EVP_DigestVerifyInit(mc, &pc, EVP_sm3(), NULL, pk) > 0 &&
		 EVP_PKEY_CTX_set1_id(pc, "1234567812345678", 16) > 0 &&
		 EVP_DigestVerify(mc, sig->p, sig->n, m, len) == 1;

	EVP_MD_CTX_free(mc);
	return ok;
}

static void roundtrip(const struct kat_backend *be, struct kat_file *f)
{
	static const char msg[] = "vsm sm2 round trip";
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	struct kat_buf priv = kat_der(pk, EVP_PKEY_KEYPAIR, "PrivateKeyInfo");
	struct kat_buf pub = kat_der(pk, EVP_PKEY_PUBLIC_KEY, "SubjectPublicKeyInfo");
	struct kat_buf sig = {malloc(160), 0}, sig2 = {malloc(160), 0};
	uint8_t xy[65], z[32], e[32], ct[256], pt[64];
	size_t xyl = 0, n;
	int st, d;
	void *ss = sm2_session(be, &priv, NULL, 0, &st, &d);
	void *sv = sm2_session(be, &pub, NULL, 0, &st, &d);
	void *ssp = sm2_session(be, &priv, NULL, VSM_SESSF_PREHASHED, &st, &d);
	void *svp = sm2_session(be, &pub, NULL, VSM_SESSF_PREHASHED, &st, &d);

	kat_check(f, ss && sv && ssp && svp, "recommended-curve SM2 sessions (PKCS#8, SPKI)");
	if (!ss || !sv || !ssp || !svp)
		goto out;

	st = kat_op(be, ss, VSM_OP_SIGN, 0, NULL, NULL, (const uint8_t *)msg, strlen(msg), NULL,
		    sig.p, 160, &sig.n, &d);
	kat_check(f, st == VSM_S_OK, "sign (message mode)");
	kat_check(f, verify(be, sv, msg, strlen(msg), &sig, &d) == VSM_S_OK,
		  "verify (message mode)");
	kat_check(f, openssl_sm2_verify(pk, msg, strlen(msg), &sig),
		  "OpenSSL EVP_DigestVerify accepts the engine's signature");

	/* e = SM3(Z || M) computed here must verify the message-mode signature. */
	EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, xy, sizeof(xy), &xyl);
	sm2_z("1234567812345678", rc_a, rc_b, rc_gx, rc_gy, xy + 1, z);
	sm3_zm(z, msg, strlen(msg), e);
	kat_check(f, xyl == 65 && verify(be, svp, e, 32, &sig, &d) == VSM_S_OK,
		  "PREHASHED verify of e = SM3(Z||M) matches message mode");
	st = kat_op(be, ssp, VSM_OP_SIGN, 0, NULL, NULL, e, 32, NULL, sig2.p, 160, &sig2.n, &d);
	kat_check(f, st == VSM_S_OK && verify(be, sv, msg, strlen(msg), &sig2, &d) == VSM_S_OK,
		  "PREHASHED sign of e verifies in message mode");
	kat_check(f, verify(be, sv, "other", 5, &sig, &d) == VSM_S_BADMSG,
		  "signature over another message rejected");

	st = kat_op(be, sv, VSM_OP_ENCRYPT, 0, NULL, NULL, (const uint8_t *)msg, strlen(msg), NULL,
		    ct, sizeof(ct), &n, &d);
	kat_check(f, st == VSM_S_OK && n > strlen(msg) + 96, "encrypt with the public key");
	if (st == VSM_S_OK) {
		size_t m;
		EVP_PKEY_CTX *dc = EVP_PKEY_CTX_new(pk, NULL);
		size_t ol = sizeof(pt);

		st = kat_op(be, ss, VSM_OP_DECRYPT, 0, NULL, NULL, ct, n, NULL, pt, sizeof(pt), &m,
			    &d);
		kat_check(f, st == VSM_S_OK && m == strlen(msg) && memcmp(pt, msg, m) == 0,
			  "decrypt round trip");
		/* The ciphertext is OpenSSL's ASN.1 C1C3C2 form: OpenSSL decrypts it. */
		kat_check(f,
			  dc && EVP_PKEY_decrypt_init(dc) > 0 &&
				  EVP_PKEY_decrypt(dc, pt, &ol, ct, n) > 0 && ol == strlen(msg) &&
				  memcmp(pt, msg, ol) == 0,
			  "OpenSSL decrypts the engine's ciphertext");
		EVP_PKEY_CTX_free(dc);
		ct[n - 1] ^= 1;
		st = kat_op(be, ss, VSM_OP_DECRYPT, 0, NULL, NULL, ct, n, NULL, pt, sizeof(pt), &m,
			    &d);
		kat_check(f, st == VSM_S_BADMSG, "tampered ciphertext rejected");
		st = kat_op(be, sv, VSM_OP_DECRYPT, 0, NULL, NULL, ct, n, NULL, pt, sizeof(pt), &m,
			    &d);
		/* Protocol 7.4: the key is fine, the operation is not for this session. */
		kat_check(f, st == VSM_S_BADMSG && d == VSM_D_BAD_OP,
			  "decrypt with a public key: %s/%s", vsm_status_name(st),
			  vsm_detail_name(d));
		ct[n - 1] ^= 1;
		st = kat_op(be, ss, VSM_OP_DECRYPT, 0, NULL, NULL, ct, n, NULL, pt, strlen(msg) - 1,
			    &m, &d);
		kat_check(f, st == VSM_S_NOSPC && d == VSM_D_OUTPUT_SPACE && m == strlen(msg),
			  "decrypt into one byte too few: %s/%s, needed %zu", vsm_status_name(st),
			  vsm_detail_name(d), m);
	}
out:
	if (ss)
		be->session_free(be->ctx, ss);
	if (sv)
		be->session_free(be->ctx, sv);
	if (ssp)
		be->session_free(be->ctx, ssp);
	if (svp)
		be->session_free(be->ctx, svp);
	EVP_PKEY_free(pk);
	OPENSSL_free(priv.p);
	OPENSSL_free(pub.p);
	kat_buf_free(&sig);
	kat_buf_free(&sig2);
}

/*
 * PKCS#8 DER of the key (d, d * G) on grp: with explicit curve parameters,
 * or (explicit == 0) naming the SM2 curve.
 */
static struct kat_buf curve_key(const EC_GROUP *grp, int explicit_params, const BIGNUM *d)
{
	struct kat_buf der = {NULL, 0};
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BN_CTX *bc = BN_CTX_new();
	BIGNUM *p = BN_new(), *a = BN_new(), *b = BN_new(), *h = BN_new();
	EC_POINT *q = EC_POINT_new(grp);
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, explicit_params ? "EC" : "SM2", NULL);
	EVP_PKEY *pk = NULL;
	OSSL_PARAM *params = NULL;
	uint8_t gb[65], qb[65];

	if (!EC_GROUP_get_curve(grp, p, a, b, bc) || !BN_set_word(h, 1) ||
	    !EC_POINT_mul(grp, q, NULL, EC_GROUP_get0_generator(grp), d, bc) ||
	    EC_POINT_point2oct(grp, EC_GROUP_get0_generator(grp), POINT_CONVERSION_UNCOMPRESSED, gb,
			       sizeof(gb), bc) != sizeof(gb) ||
	    EC_POINT_point2oct(grp, q, POINT_CONVERSION_UNCOMPRESSED, qb, sizeof(qb), bc) !=
		    sizeof(qb))
		goto out;
	if (explicit_params) {
		OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_EC_FIELD_TYPE,
						SN_X9_62_prime_field, 0);
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_EC_P, p);
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_EC_A, a);
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_EC_B, b);
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_EC_ORDER, EC_GROUP_get0_order(grp));
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_EC_COFACTOR, h);
		OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_EC_GENERATOR, gb, sizeof(gb));
	} else {
		OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "SM2", 0);
	}
	OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, qb, sizeof(qb));
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d);
	params = OSSL_PARAM_BLD_to_param(bld);
	if (params && c && EVP_PKEY_fromdata_init(c) > 0 &&
	    EVP_PKEY_fromdata(c, &pk, EVP_PKEY_KEYPAIR, params) > 0)
		der = kat_der(pk, EVP_PKEY_KEYPAIR, "PrivateKeyInfo");
out:
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(c);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EC_POINT_free(q);
	BN_free(p);
	BN_free(a);
	BN_free(b);
	BN_free(h);
	BN_CTX_free(bc);
	return der;
}

/* The GB/T 32918.2 example curve as an EC_GROUP. */
static EC_GROUP *example_group(void)
{
	BIGNUM *p = bn(ex_p), *a = bn(ex_a), *b = bn(ex_b), *n = bn(ex_n), *h = bn("1");
	EC_GROUP *g = EC_GROUP_new_curve_GFp(p, a, b, NULL);
	EC_POINT *gen = g ? EC_POINT_new(g) : NULL;
	BIGNUM *gx = bn(ex_gx), *gy = bn(ex_gy);

	if (!gen || !EC_POINT_set_affine_coordinates(g, gen, gx, gy, NULL) ||
	    !EC_GROUP_set_generator(g, gen, n, h)) {
		EC_GROUP_free(g);
		g = NULL;
	}
	EC_POINT_free(gen);
	BN_free(p);
	BN_free(a);
	BN_free(b);
	BN_free(n);
	BN_free(h);
	BN_free(gx);
	BN_free(gy);
	return g;
}

/*
 * The security review's reproduction: explicit parameters run on libgcrypt,
 * whose SM2 signing loops forever when 1 + d has no inverse mod n (d = n-1),
 * and tenant-chosen curves can do worse. Only the allow-listed GB/T example
 * curve is taken, and 1 <= d <= n-2 on any SM2 key. Sessions are only
 * created, never used: a regression must fail here, not hang.
 */
static void bad_keys(const struct kat_backend *be, struct kat_file *f)
{
	EC_GROUP *sm2 = EC_GROUP_new_by_curve_name(NID_sm2), *ex = example_group();
	EC_GROUP *g2 = NULL;
	EC_POINT *two_g = NULL;
	BIGNUM *two = BN_new(), *nm1 = NULL, *nm2 = NULL, *dex = bn(ex_d);
	const struct {
		const char *what;
		EC_GROUP **grp;
		int explicit_params;
		BIGNUM **d;
		int ok;
	} cases[] = {
		{"SM2 curve with generator 2G (explicit), d = n-1", &g2, 1, &nm1, 0},
		{"SM2 curve with generator 2G (explicit), ordinary d", &g2, 1, &dex, 0},
		{"named SM2 curve, d = n-1", &sm2, 0, &nm1, 0},
		{"named SM2 curve, d = n-2", &sm2, 0, &nm2, 1},
		{"GB/T example curve (explicit), d = n-1", &ex, 1, &nm1, 0},
	};
	char id[SM2_MAX_ID + 2];
	int st, d;
	void *s;

	/* The SM2 curve with generator 2G: same p, a, b, n; not a curve anyone named. */
	BN_set_word(two, 2);
	two_g = EC_POINT_new(sm2);
	EC_POINT_mul(sm2, two_g, NULL, EC_GROUP_get0_generator(sm2), two, NULL);
	{
		BIGNUM *p = BN_new(), *a = BN_new(), *b = BN_new(), *h = BN_new();

		EC_GROUP_get_curve(sm2, p, a, b, NULL);
		BN_set_word(h, 1);
		g2 = EC_GROUP_new_curve_GFp(p, a, b, NULL);
		EC_GROUP_set_generator(g2, two_g, EC_GROUP_get0_order(sm2), h);
		BN_free(p);
		BN_free(a);
		BN_free(b);
		BN_free(h);
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const EC_GROUP *grp = *cases[i].grp;
		struct kat_buf key;

		BN_free(nm1);
		BN_free(nm2);
		nm1 = BN_dup(EC_GROUP_get0_order(grp));
		nm2 = BN_dup(nm1);
		BN_sub_word(nm1, 1);
		BN_sub_word(nm2, 2);
		key = curve_key(grp, cases[i].explicit_params, *cases[i].d);
		kat_check(f, key.n > 0, "%s: key built", cases[i].what);
		s = sm2_session(be, &key, NULL, 0, &st, &d);
		if (cases[i].ok) {
			static const char m[] = "boundary key";
			uint8_t sig[160];
			struct kat_buf sb = {sig, 0};
			void *v = NULL;

			if (s)
				st = kat_op(be, s, VSM_OP_SIGN, 0, NULL, NULL, (const uint8_t *)m,
					    sizeof(m), NULL, sig, sizeof(sig), &sb.n, &d);
			v = s ? sm2_session(be, &key, NULL, 0, &st, &d) : NULL;
			kat_check(f, s && v && verify(be, v, m, sizeof(m), &sb, &d) == VSM_S_OK,
				  "%s: accepted, signs and verifies", cases[i].what);
			if (v)
				be->session_free(be->ctx, v);
		} else {
			kat_check(f, !s && st == VSM_S_KEY_REJECTED && d == VSM_D_BAD_KEY,
				  "%s: %s/%s, expected key_rejected/bad_key", cases[i].what,
				  vsm_status_name(st), vsm_detail_name(d));
		}
		if (s)
			be->session_free(be->ctx, s);
		OPENSSL_free(key.p);
	}

	/* ENTL is 16 bits of bit count: 8191 bytes is the longest user id. */
	{
		EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
		struct kat_buf pub = kat_der(pk, EVP_PKEY_PUBLIC_KEY, "SubjectPublicKeyInfo");

		memset(id, 'a', sizeof(id));
		id[SM2_MAX_ID + 1] = 0;
		s = sm2_session(be, &pub, id, 0, &st, &d);
		kat_check(f, !s && st == VSM_S_BADMSG && d == VSM_D_BAD_LENGTH,
			  "8192-byte user id: %s/%s", vsm_status_name(st), vsm_detail_name(d));
		if (s)
			be->session_free(be->ctx, s);
		id[SM2_MAX_ID] = 0;
		s = sm2_session(be, &pub, id, 0, &st, &d);
		kat_check(f, s != NULL, "8191-byte user id accepted: %s", vsm_status_name(st));
		if (s)
			be->session_free(be->ctx, s);
		EVP_PKEY_free(pk);
		OPENSSL_free(pub.p);
	}
	BN_free(two);
	BN_free(nm1);
	BN_free(nm2);
	BN_free(dex);
	EC_POINT_free(two_g);
	EC_GROUP_free(g2);
	EC_GROUP_free(sm2);
	EC_GROUP_free(ex);
}

unsigned vsm_kat_sm2(const struct kat_backend *be)
{
	struct kat_file f;

	kat_begin(&f, "sm2 (GB/T 32918.2 example, recommended-curve round trips, key checks)");
	gbt_example(be, &f);
	roundtrip(be, &f);
	bad_keys(be, &f);
	return kat_end(&f);
}
