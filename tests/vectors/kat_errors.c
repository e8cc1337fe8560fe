/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key formats (PKCS#1, SEC1, PKCS#8, SPKI DER accepted; garbage refused) and
 * the error statuses a client relies on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/encoder.h>
#include <openssl/evp.h>

#include "kat.h"

static void *ak_session(const struct kat_backend *be, uint32_t alg, uint32_t pad,
			const struct kat_buf *key, int *st, int *d)
{
	struct vsm_wire_session p = {
		.service = VSM_SVC_AKCIPHER,
		.alg = alg,
		.padding = pad,
		.salt_len = -1,
		.key = key->p,
		.key_len = (uint32_t)key->n,
	};
	void *s = NULL;

	*d = VSM_D_NONE;
	*st = be->session_new(be->ctx, &p, &s, d);
	return *st == VSM_S_OK ? s : NULL;
}

/* Sign with one key encoding, verify with another: both must be accepted and agree. */
static void sign_verify(const struct kat_backend *be, struct kat_file *f, const char *what,
			uint32_t alg, uint32_t pad, const struct kat_buf *priv,
			const struct kat_buf *pub)
{
	static const uint8_t msg[] = "key format test";
	uint8_t sig[1024];
	struct kat_buf sb = {sig, 0};
	int st, d, vst = -1;
	void *s = ak_session(be, alg, pad, priv, &st, &d);
	void *v = ak_session(be, alg, pad, pub, &st, &d);

	if (s && v) {
		st = kat_op(be, s, VSM_OP_SIGN, 0, NULL, NULL, msg, sizeof(msg), NULL, sig,
			    sizeof(sig), &sb.n, &d);
		if (st == VSM_S_OK)
			vst = kat_op(be, v, VSM_OP_VERIFY, 0, NULL, NULL, msg, sizeof(msg), &sb,
				     sig, sizeof(sig), &sb.n, &d);
	}
	kat_check(f, s && v && st == VSM_S_OK && vst == VSM_S_OK, "%s (%s, %s, sign %s, verify %s)",
		  what, s ? "priv ok" : "priv refused", v ? "pub ok" : "pub refused",
		  vsm_status_name(st), vsm_status_name(vst));
	if (s)
		be->session_free(be->ctx, s);
	if (v)
		be->session_free(be->ctx, v);
}

static void expect_rejected(const struct kat_backend *be, struct kat_file *f, const char *what,
			    uint32_t alg, const struct kat_buf *key)
{
	int st, d;
	void *s = ak_session(be, alg, VSM_PAD_PKCS1, key, &st, &d);

	kat_check(f, !s && st == VSM_S_KEY_REJECTED && d == VSM_D_BAD_KEY, "%s: %s/%s", what,
		  vsm_status_name(st), vsm_detail_name(d));
	if (s)
		be->session_free(be->ctx, s);
}

/*
 * RSA PKCS#1 v1.5 decryption with implicit rejection: a valid ciphertext
 * decrypts; a tampered one answers OK with a synthetic message, the same
 * for the same ciphertext and different for another; a dst_len too small
 * for the real message is no NOSPC (which would only happen for good
 * padding) but a synthetic message too.
 */
static void pkcs1_implicit_rejection(const struct kat_backend *be, struct kat_file *f,
				     const struct kat_buf *priv, const struct kat_buf *pub)
{
	static const uint8_t msg[48] = "a 48-byte premaster secret, as in TLS 1.2 RSA..";
	uint8_t ct[256], bad[256], o1[256], o2[256], o3[256];
	size_t n = 0, n1 = 0, n2 = 0, n3 = 0;
	int st, st1, st2, st3, d;
	void *e = ak_session(be, VSM_ALG_RSA, VSM_PAD_PKCS1, pub, &st, &d);
	void *s = ak_session(be, VSM_ALG_RSA, VSM_PAD_PKCS1, priv, &st, &d);

	kat_check(f, e && s, "PKCS#1 v1.5 sessions");
	if (!e || !s)
		goto out;
	st = kat_op(be, e, VSM_OP_ENCRYPT, 0, NULL, NULL, msg, sizeof(msg), NULL, ct, sizeof(ct),
		    &n, &d);
	kat_check(f, st == VSM_S_OK && n == 256, "PKCS#1 v1.5 encrypt");
	st = kat_op(be, s, VSM_OP_DECRYPT, 0, NULL, NULL, ct, 256, NULL, o1, sizeof(o1), &n1, &d);
	kat_check(f, st == VSM_S_OK && n1 == sizeof(msg) && memcmp(o1, msg, n1) == 0,
		  "PKCS#1 v1.5 valid ciphertext decrypts: %s/%s", vsm_status_name(st),
		  vsm_detail_name(d));

	/* Almost surely breaks the padding (the plaintext is pseudo-random). */
	memcpy(bad, ct, sizeof(bad));
	bad[255] ^= 0x01;
	st1 = kat_op(be, s, VSM_OP_DECRYPT, 0, NULL, NULL, bad, 256, NULL, o1, sizeof(o1), &n1, &d);
	st2 = kat_op(be, s, VSM_OP_DECRYPT, 0, NULL, NULL, bad, 256, NULL, o2, sizeof(o2), &n2, &d);
	kat_check(f, st1 == VSM_S_OK && st2 == VSM_S_OK,
		  "tampered ciphertext answers OK (implicit rejection): %s/%s",
		  vsm_status_name(st1), vsm_detail_name(d));
	kat_check(f, st1 == VSM_S_OK && n1 == n2 && memcmp(o1, o2, n1) == 0 && n1 <= 256 - 11,
		  "same tampered ciphertext, same synthetic message (%zu bytes)", n1);
	kat_check(f, !(n1 == sizeof(msg) && memcmp(o1, msg, n1) == 0),
		  "synthetic message is not the real one");
	bad[255] ^= 0x03;
	st3 = kat_op(be, s, VSM_OP_DECRYPT, 0, NULL, NULL, bad, 256, NULL, o3, sizeof(o3), &n3, &d);
	kat_check(f, st3 == VSM_S_OK && (n3 != n1 || memcmp(o3, o1, n1) != 0),
		  "another tampered ciphertext, another synthetic message");

	/* Room for 47 bytes: the real 48-byte message is rejected implicitly too. */
	st = kat_op(be, s, VSM_OP_DECRYPT, 0, NULL, NULL, ct, 256, NULL, o1, sizeof(msg) - 1, &n1,
		    &d);
	kat_check(f, st == VSM_S_OK && n1 < sizeof(msg) && memcmp(o1, msg, n1 ? n1 : 1) != 0,
		  "dst_len below the message: %s/%s, %zu bytes of synthetic message",
		  vsm_status_name(st), vsm_detail_name(d), n1);
out:
	if (e)
		be->session_free(be->ctx, e);
	if (s)
		be->session_free(be->ctx, s);
}

unsigned vsm_kat_keyformats(const struct kat_backend *be)
{
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *ec384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY *k224 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-224");
	EVP_PKEY *rsa1k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	struct kat_buf rsa_p1 = kat_der(rsa, EVP_PKEY_KEYPAIR, "type-specific");
	struct kat_buf rsa_p1pub = {NULL, 0};
	struct kat_buf rsa_p8 = kat_der(rsa, EVP_PKEY_KEYPAIR, "PrivateKeyInfo");
	struct kat_buf rsa_spki = kat_der(rsa, EVP_PKEY_PUBLIC_KEY, "SubjectPublicKeyInfo");
	struct kat_buf ec_sec1 = kat_der(ec, EVP_PKEY_KEYPAIR, "type-specific");
	struct kat_buf ec_p8 = kat_der(ec, EVP_PKEY_KEYPAIR, "PrivateKeyInfo");
	struct kat_buf ec_spki = kat_der(ec, EVP_PKEY_PUBLIC_KEY, "SubjectPublicKeyInfo");
	struct kat_buf ec384_p8 = kat_der(ec384, EVP_PKEY_KEYPAIR, "PrivateKeyInfo");
	struct kat_buf ec384_spki = kat_der(ec384, EVP_PKEY_PUBLIC_KEY, "SubjectPublicKeyInfo");
	struct kat_buf p224 = kat_der(k224, EVP_PKEY_KEYPAIR, "PrivateKeyInfo");
	struct kat_buf r1k = kat_der(rsa1k, EVP_PKEY_KEYPAIR, "PrivateKeyInfo");
	struct kat_buf garbage = kat_hex("3082010a0282010100deadbeef"), trunc, trail;
	struct kat_file f;
	uint8_t out[512];
	size_t n;
	int st, d;
	void *s;

	kat_begin(&f, "keyformats");
	/* i2d_PublicKey writes the PKCS#1 RSAPublicKey structure for RSA. */
	rsa_p1pub.n = (size_t)i2d_PublicKey(rsa, &rsa_p1pub.p);
	sign_verify(be, &f, "RSA PKCS#1 RSAPrivateKey signs, PKCS#1 RSAPublicKey verifies",
		    VSM_ALG_RSA, VSM_PAD_PKCS1, &rsa_p1, &rsa_p1pub);
	sign_verify(be, &f, "RSA PKCS#8 signs (PSS), SPKI verifies", VSM_ALG_RSA, VSM_PAD_PSS,
		    &rsa_p8, &rsa_spki);
	sign_verify(be, &f, "EC SEC1 ECPrivateKey signs, SPKI verifies", VSM_ALG_ECDSA, 0, &ec_sec1,
		    &ec_spki);
	sign_verify(be, &f, "EC PKCS#8 signs, SPKI verifies", VSM_ALG_ECDSA, 0, &ec_p8, &ec_spki);
	sign_verify(be, &f, "P-384 PKCS#8 signs, SPKI verifies", VSM_ALG_ECDSA, 0, &ec384_p8,
		    &ec384_spki);

	expect_rejected(be, &f, "garbage DER", VSM_ALG_RSA, &garbage);
	trunc.p = rsa_p8.p;
	trunc.n = rsa_p8.n - 1;
	expect_rejected(be, &f, "truncated PKCS#8", VSM_ALG_RSA, &trunc);
	trail.n = rsa_spki.n + 1;
	trail.p = malloc(trail.n);
	memcpy(trail.p, rsa_spki.p, rsa_spki.n);
	trail.p[rsa_spki.n] = 0;
	expect_rejected(be, &f, "SPKI with a trailing byte", VSM_ALG_RSA, &trail);
	expect_rejected(be, &f, "empty key", VSM_ALG_ECDSA, &(struct kat_buf){NULL, 0});
	expect_rejected(be, &f, "EC key on an RSA session", VSM_ALG_RSA, &ec_p8);
	expect_rejected(be, &f, "RSA key on an ECDSA session", VSM_ALG_ECDSA, &rsa_p8);
	expect_rejected(be, &f, "P-256 key on an SM2 session", VSM_ALG_SM2, &ec_p8);
	expect_rejected(be, &f, "P-224 key on an ECDSA session", VSM_ALG_ECDSA, &p224);
	expect_rejected(be, &f, "RSA-1024 key", VSM_ALG_RSA, &r1k);

	/*
	 * A public key cannot sign or decrypt: protocol 7.4 makes that
	 * BADMSG/BAD_OP (the key is fine, the operation is not for this session).
	 */
	s = ak_session(be, VSM_ALG_RSA, VSM_PAD_PKCS1, &rsa_spki, &st, &d);
	st = s ? kat_op(be, s, VSM_OP_SIGN, 0, NULL, NULL, out, 32, NULL, out, sizeof(out), &n, &d)
	       : -1;
	kat_check(&f, st == VSM_S_BADMSG && d == VSM_D_BAD_OP, "SIGN with a public key: %s/%s",
		  vsm_status_name(st), vsm_detail_name(d));
	memset(out, 0, 256);
	st = s ? kat_op(be, s, VSM_OP_DECRYPT, 0, NULL, NULL, out, 256, NULL, out, sizeof(out), &n,
			&d)
	       : -1;
	kat_check(&f, st == VSM_S_BADMSG && d == VSM_D_BAD_OP, "DECRYPT with a public key: %s/%s",
		  vsm_status_name(st), vsm_detail_name(d));
	if (s)
		be->session_free(be->ctx, s);

	/*
	 * salt_len below -1 is reserved: NOTSUPP (protocol 7.4). libvsm refuses
	 * it before sending, so only the in-process engine sees it.
	 */
	if (be->remote) {
		kat_skip(&f, "PSS salt_len -2: libvsm refuses it locally (-EINVAL)");
	} else {
		struct vsm_wire_session p = {
			.service = VSM_SVC_AKCIPHER,
			.alg = VSM_ALG_RSA,
			.padding = VSM_PAD_PSS,
			.salt_len = -2,
			.key = rsa_p8.p,
			.key_len = (uint32_t)rsa_p8.n,
		};

		s = NULL;
		st = be->session_new(be->ctx, &p, &s, &d);
		kat_check(&f, st == VSM_S_NOTSUPP, "PSS salt_len -2: %s/%s", vsm_status_name(st),
			  vsm_detail_name(d));
		if (st == VSM_S_OK)
			be->session_free(be->ctx, s);
	}

	/* Fields an opcode does not use must be empty (protocol section 7). */
	s = ak_session(be, VSM_ALG_RSA, VSM_PAD_PKCS1, &rsa_p8, &st, &d);
	{
		struct kat_buf x = {out, 4};

		st = s ? kat_op(be, s, VSM_OP_SIGN, 0, &x, NULL, out, 32, NULL, out, sizeof(out),
				&n, &d)
		       : -1;
		kat_check(&f, st == VSM_S_BADMSG && d == VSM_D_BAD_LENGTH, "SIGN with an iv: %s/%s",
			  vsm_status_name(st), vsm_detail_name(d));
		st = s ? kat_op(be, s, VSM_OP_SIGN, 0, NULL, NULL, out, 32, &x, out, sizeof(out),
				&n, &d)
		       : -1;
		kat_check(&f, st == VSM_S_BADMSG && d == VSM_D_BAD_LENGTH, "SIGN with aux: %s/%s",
			  vsm_status_name(st), vsm_detail_name(d));
	}
	if (s)
		be->session_free(be->ctx, s);

	pkcs1_implicit_rejection(be, &f, &rsa_p8, &rsa_spki);

	/* RSA encrypt/decrypt round trips with each padding. */
	for (uint32_t pad = VSM_PAD_NONE; pad <= VSM_PAD_OAEP; pad++) {
		void *e, *dd;
		uint8_t msg[256], back[256];
		size_t m = 0, len = pad == VSM_PAD_NONE ? 256 : 32;

		if (pad == VSM_PAD_PSS)
			continue;
		memset(msg, 0x11, sizeof(msg));
		msg[0] = 0; /* raw RSA input must be below the modulus */
		e = ak_session(be, VSM_ALG_RSA, pad, &rsa_spki, &st, &d);
		dd = ak_session(be, VSM_ALG_RSA, pad, &rsa_p8, &st, &d);
		st = e ? kat_op(be, e, VSM_OP_ENCRYPT, 0, NULL, NULL, msg, len, NULL, out,
				sizeof(out), &n, &d)
		       : -1;
		if (st == VSM_S_OK && dd)
			st = kat_op(be, dd, VSM_OP_DECRYPT, 0, NULL, NULL, out, n, NULL, back,
				    sizeof(back), &m, &d);
		kat_check(&f, st == VSM_S_OK && m == len && memcmp(back, msg, len) == 0,
			  "RSA encrypt/decrypt round trip, padding %u", pad);
		if (e)
			be->session_free(be->ctx, e);
		if (dd)
			be->session_free(be->ctx, dd);
	}

	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(ec384);
	EVP_PKEY_free(k224);
	EVP_PKEY_free(rsa1k);
	OPENSSL_free(rsa_p1.p);
	OPENSSL_free(rsa_p1pub.p);
	OPENSSL_free(rsa_p8.p);
	OPENSSL_free(rsa_spki.p);
	OPENSSL_free(ec_sec1.p);
	OPENSSL_free(ec_p8.p);
	OPENSSL_free(ec_spki.p);
	OPENSSL_free(ec384_p8.p);
	OPENSSL_free(ec384_spki.p);
	OPENSSL_free(p224.p);
	OPENSSL_free(r1k.p);
	kat_buf_free(&garbage);
	kat_buf_free(&trail);
	return kat_end(&f);
}

static int run(const struct kat_backend *be, void *s, uint32_t opc, uint32_t flags,
	       const char *iv_hex, const uint8_t *src, size_t len, size_t cap, size_t *n, int *d)
{
	struct kat_buf iv = kat_hex(iv_hex);
	uint8_t out[256];
	int st;

	if (!s)
		return -1;
	st = kat_op(be, s, opc, flags, &iv, NULL, src, len, NULL, out, cap, n, d);
	kat_buf_free(&iv);
	return st;
}

unsigned vsm_kat_errors(const struct kat_backend *be)
{
	static const uint8_t key[32] = {1, 2, 3}, data[64] = {4, 5, 6};
	struct kat_file f;
	size_t n;
	int st, d;
	void *cbc, *sha, *gcm, *hm, *s;

	kat_begin(&f, "errors");
	cbc = kat_session(be, VSM_SVC_CIPHER, VSM_ALG_AES_CBC, key, 16, 0, &st, &d);
	kat_check(&f, cbc != NULL, "AES-CBC session");
	st = run(be, cbc, VSM_OP_ENCRYPT, 0, "0001020304050607", data, 32, 256, &n, &d);
	kat_check(&f, st == VSM_S_BADMSG && d == VSM_D_BAD_LENGTH, "8-byte IV: %s/%s",
		  vsm_status_name(st), vsm_detail_name(d));
	st = run(be, cbc, VSM_OP_ENCRYPT, 0, "000102030405060708090a0b0c0d0e0f", data, 15, 256, &n,
		 &d);
	kat_check(&f, st == VSM_S_BADMSG && d == VSM_D_BAD_LENGTH, "15-byte CBC input");
	st = run(be, cbc, VSM_OP_ENCRYPT, 0, "000102030405060708090a0b0c0d0e0f", data, 32, 16, &n,
		 &d);
	kat_check(&f, st == VSM_S_NOSPC && d == VSM_D_OUTPUT_SPACE && n == 32,
		  "short output: %s, needed %zu", vsm_status_name(st), n);
	st = run(be, cbc, VSM_OP_SIGN, 0, "", data, 32, 256, &n, &d);
	kat_check(&f, st == VSM_S_BADMSG && d == VSM_D_BAD_OP, "SIGN on a cipher session");
	st = run(be, cbc, VSM_OP_ENCRYPT, VSM_OPF_MORE, "000102030405060708090a0b0c0d0e0f", data,
		 32, 256, &n, &d);
	kat_check(&f, st == VSM_S_BADMSG && d == VSM_D_BAD_OP, "MORE on a cipher session");

	sha = kat_session(be, VSM_SVC_HASH, VSM_ALG_SHA256, NULL, 0, 0, &st, &d);
	st = run(be, sha, VSM_OP_ENCRYPT, 0, "", data, 3, 256, &n, &d);
	kat_check(&f, st == VSM_S_BADMSG && d == VSM_D_BAD_OP, "ENCRYPT on a hash session");
	st = run(be, sha, VSM_OP_DIGEST, 0, "", data, 3, 31, &n, &d);
	kat_check(&f, st == VSM_S_NOSPC && n == 32, "hash into 31 bytes: needed %zu", n);

	gcm = kat_session(be, VSM_SVC_AEAD, VSM_ALG_AES_GCM, key, 16, 0, &st, &d);
	{
		struct kat_buf iv = kat_hex("000102030405060708090a0b");
		uint8_t ct[64 + 16], pt[64];

		st = kat_op(be, gcm, VSM_OP_ENCRYPT, 0, &iv, NULL, data, 64, NULL, ct, 64, &n, &d);
		kat_check(&f, st == VSM_S_NOSPC && n == 80, "GCM short output: needed %zu", n);
		st = kat_op(be, gcm, VSM_OP_ENCRYPT, 0, &iv, NULL, data, 64, NULL, ct, sizeof(ct),
			    &n, &d);
		ct[70] ^= 1;
		memset(pt, 0, sizeof(pt));
		st = kat_op(be, gcm, VSM_OP_DECRYPT, 0, &iv, NULL, ct, sizeof(ct), NULL, pt,
			    sizeof(pt), &n, &d);
		kat_check(&f, st == VSM_S_BADMSG && d == VSM_D_AUTH_FAILED && n == 0,
			  "GCM wrong tag: %s/%s", vsm_status_name(st), vsm_detail_name(d));
		kat_check(&f, memcmp(pt, data, 64) != 0, "no plaintext released on a wrong tag");
		st = kat_op(be, gcm, VSM_OP_DECRYPT, 0, &iv, NULL, ct, 15, NULL, pt, sizeof(pt), &n,
			    &d);
		kat_check(&f, st == VSM_S_BADMSG && d == VSM_D_BAD_LENGTH,
			  "GCM input shorter than the tag");
		kat_buf_free(&iv);
	}
	/* GCM tags: 4, 8, 12..16 bytes (SP 800-38D 5.2.1.2; protocol 7.3). */
	for (uint32_t t = 1; t <= 17; t++) {
		int allowed = t == 4 || t == 8 || (t >= 12 && t <= 16);

		s = kat_session(be, VSM_SVC_AEAD, VSM_ALG_AES_GCM, key, 16, t, &st, &d);
		kat_check(&f,
			  allowed ? s != NULL : !s && st == VSM_S_BADMSG && d == VSM_D_BAD_LENGTH,
			  "GCM tag_len %u: %s/%s", t, vsm_status_name(st), vsm_detail_name(d));
		if (s)
			be->session_free(be->ctx, s);
	}
	s = kat_session(be, VSM_SVC_AEAD, VSM_ALG_AES_CCM, key, 16, 5, &st, &d);
	kat_check(&f, !s && st == VSM_S_BADMSG, "CCM odd tag_len");

	/* A 13-byte CCM nonce leaves L = 2: at most 65535 bytes of message. */
	s = kat_session(be, VSM_SVC_AEAD, VSM_ALG_AES_CCM, key, 16, 16, &st, &d);
	{
		struct kat_buf iv = kat_hex("0102030405060708090a0b0c0d");
		size_t big = 65536;
		uint8_t *buf = calloc(1, big + 16);

		st = kat_op(be, s, VSM_OP_ENCRYPT, 0, &iv, NULL, buf, big, NULL, buf, big + 16, &n,
			    &d);
		kat_check(&f, st == VSM_S_BADMSG && d == VSM_D_BAD_LENGTH,
			  "CCM 65536 bytes with L = 2: %s/%s", vsm_status_name(st),
			  vsm_detail_name(d));
		st = kat_op(be, s, VSM_OP_DECRYPT, 0, &iv, NULL, buf, big + 16, NULL, buf, big, &n,
			    &d);
		kat_check(&f, st == VSM_S_BADMSG && d == VSM_D_BAD_LENGTH,
			  "CCM decrypt of 65536 bytes with L = 2: %s/%s", vsm_status_name(st),
			  vsm_detail_name(d));
		st = kat_op(be, s, VSM_OP_ENCRYPT, 0, &iv, NULL, buf, big - 1, NULL, buf, big + 16,
			    &n, &d);
		kat_check(&f, st == VSM_S_OK && n == big - 1 + 16, "CCM 65535 bytes with L = 2: %s",
			  vsm_status_name(st));
		free(buf);
		kat_buf_free(&iv);
	}
	if (s)
		be->session_free(be->ctx, s);

	/* CCM: one session, two nonce lengths (the re-key path), both round trip. */
	s = kat_session(be, VSM_SVC_AEAD, VSM_ALG_AES_CCM, key, 16, 8, &st, &d);
	for (int i = 0; s && i < 3; i++) {
		struct kat_buf iv =
			kat_hex(i == 1 ? "0102030405060708090a0b0c0d" : "00010203040506");
		struct kat_buf pt = {(uint8_t *)data, 40}, ct;
		uint8_t c[64];
		char why[128];

		st = kat_op(be, s, VSM_OP_ENCRYPT, 0, &iv, NULL, data, 40, NULL, c, sizeof(c), &n,
			    &d);
		ct.p = c;
		ct.n = n;
		kat_check(&f,
			  st == VSM_S_OK && n == 48 &&
				  kat_sym(be, s, &iv, NULL, &pt, &ct, why, sizeof(why)),
			  "CCM nonce length %zu round trip", iv.n);
		kat_buf_free(&iv);
	}
	if (s)
		be->session_free(be->ctx, s);

	hm = kat_session(be, VSM_SVC_MAC, VSM_ALG_HMAC_SHA256, key, 32, 0, &st, &d);
	{
		struct kat_buf tag = {(uint8_t *)data, 31};
		uint8_t o[64];

		st = kat_op(be, hm, VSM_OP_VERIFY, 0, NULL, NULL, data, 10, &tag, o, sizeof(o), &n,
			    &d);
		kat_check(&f, st == VSM_S_BADMSG && d == VSM_D_AUTH_FAILED,
			  "HMAC verify with a 31-byte tag");
	}
	s = kat_session(be, VSM_SVC_CIPHER, VSM_ALG_AES_CBC, key, 17, 0, &st, &d);
	kat_check(&f, !s && st == VSM_S_KEY_REJECTED, "17-byte AES key");
	s = kat_session(be, VSM_SVC_CIPHER, VSM_ALG_AES_XTS, (const uint8_t[32]){0}, 32, 0, &st,
			&d);
	kat_check(&f, !s && st == VSM_S_KEY_REJECTED, "XTS key with equal halves");
	if (s)
		be->session_free(be->ctx, s);
	/*
	 * The engine says NOTSUPP; through vsmd the frame decoder answers first,
	 * as protocol 6.2/11 say: an unassigned id is malformed (BADMSG/PROTOCOL),
	 * a service mismatch is BADMSG/BAD_OP.
	 */
	s = kat_session(be, VSM_SVC_CIPHER, 9, key, 16, 0, &st, &d);
	kat_check(&f,
		  !s && (be->remote ? st == VSM_S_BADMSG && d == VSM_D_PROTOCOL
				    : st == VSM_S_NOTSUPP),
		  "unassigned alg id: %s/%s", vsm_status_name(st), vsm_detail_name(d));
	s = kat_session(be, VSM_SVC_HASH, VSM_ALG_AES_CBC, key, 16, 0, &st, &d);
	kat_check(
		&f,
		!s && (be->remote ? st == VSM_S_BADMSG && d == VSM_D_BAD_OP : st == VSM_S_NOTSUPP),
		"alg under the wrong service: %s/%s", vsm_status_name(st), vsm_detail_name(d));

	/* Fields a service does not use must be empty (protocol section 7). */
	{
		struct kat_buf x = kat_hex("00010203"),
			       iv16 = kat_hex("000102030405060708090a0b0c0d0e0f"),
			       iv12 = kat_hex("000102030405060708090a0b");
		uint8_t o[128];
		const struct {
			const char *what;
			void *sess;
			uint32_t opc;
			const struct kat_buf *iv, *aad, *aux;
		} stray[] = {
			{"HASH with an iv", sha, VSM_OP_DIGEST, &x, NULL, NULL},
			{"HASH with aad", sha, VSM_OP_DIGEST, NULL, &x, NULL},
			{"HASH with aux", sha, VSM_OP_DIGEST, NULL, NULL, &x},
			{"MAC DIGEST with an iv", hm, VSM_OP_DIGEST, &x, NULL, NULL},
			{"MAC DIGEST with aad", hm, VSM_OP_DIGEST, NULL, &x, NULL},
			{"MAC DIGEST with aux", hm, VSM_OP_DIGEST, NULL, NULL, &x},
			{"MAC VERIFY with aad", hm, VSM_OP_VERIFY, NULL, &x, &x},
			{"CIPHER with aad", cbc, VSM_OP_ENCRYPT, &iv16, &x, NULL},
			{"CIPHER with aux", cbc, VSM_OP_ENCRYPT, &iv16, NULL, &x},
			{"AEAD with aux", gcm, VSM_OP_ENCRYPT, &iv12, NULL, &x},
		};

		for (size_t i = 0; i < sizeof(stray) / sizeof(stray[0]); i++) {
			st = stray[i].sess ? kat_op(be, stray[i].sess, stray[i].opc, 0, stray[i].iv,
						    stray[i].aad, data, 32, stray[i].aux, o,
						    sizeof(o), &n, &d)
					   : -1;
			kat_check(&f, st == VSM_S_BADMSG && d == VSM_D_BAD_LENGTH, "%s: %s/%s",
				  stray[i].what, vsm_status_name(st), vsm_detail_name(d));
		}
		kat_buf_free(&x);
		kat_buf_free(&iv16);
		kat_buf_free(&iv12);
	}

	if (cbc)
		be->session_free(be->ctx, cbc);
	if (sha)
		be->session_free(be->ctx, sha);
	if (gcm)
		be->session_free(be->ctx, gcm);
	if (hm)
		be->session_free(be->ctx, hm);
	return kat_end(&f);
}
