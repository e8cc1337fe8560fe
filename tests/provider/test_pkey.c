/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vsm provider through the openssl CLI: pkeyutl sign, verify, encrypt
 * and decrypt with keystore keys (vsm: URIs) and with the application's own
 * PEM keys offloaded through -propquery, certificates made by req -x509, the
 * key-reference PEM file, and openssl speed with async jobs.
 *
 * Every result made through vsmd is checked by the default provider alone,
 * with the public key from the keystore (vsm_key_public) or from the key the
 * test generated itself. Deterministic schemes (RSA PKCS#1 v1.5, Ed25519)
 * must also give exactly the bytes the default provider gives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prov.h"

static const char data[] = "The quick brown fox jumps over the lazy vsm card.\n";

/* data.txt and its SHA-256 digest data.sha256 (the input of pkeyutl -sign without -rawin). */
static void write_data(struct pt *t)
{
	pt_write(t, "data.txt", data, sizeof(data) - 1);
	pt_write(t, "other.txt", "something else\n", 15);
	PT_OK(t, pt_openssl(t, false, "dgst", "-sha256", "-binary", "-out", "data.sha256",
			    "data.txt", NULL));
	PT_OK(t, pt_openssl(t, false, "dgst", "-sha256", "-binary", "-out", "other.sha256",
			    "other.txt", NULL));
}

static void want_verified(struct pt *t)
{
	PT_CHECK(pt_file_contains(t, "last.out", "Signature Verified Successfully"),
		 "no 'Signature Verified Successfully' from: %s", pt_last_cmd());
}

/*
 * The keystore's copy of the public key is the one the test generated
 * (an SPKI PEM file is canonical, so the files are equal).
 */
static void check_public(struct pt *t, int usage, uint32_t index, const char *name)
{
	char want[96];
	snprintf(want, sizeof(want), "%s.pub.pem", name);
	pt_export_pub(t, usage, index, "exported.pub.pem");
	PT_CHECK(pt_same_file(t, "exported.pub.pem", want), "vsm_key_public of (%d, %u) is not %s",
		 usage, index, want);
}

/* Requests the last command made in vsmd: at least a session and an operation. */
static void want_offloaded(struct pt *t, uint64_t before, const char *what)
{
	uint64_t after = pt_ops(t);
	/* +1 for our own STATUS; a provider that did the work locally adds nothing. */
	PT_CHECK(after >= before + 3, "%s: vsmd completed %llu requests, not the work", what,
		 (unsigned long long)(after - before));
}

/* ---- provider loads ---- */

static int t_load(void)
{
	struct pt t;
	pt_start(&t);
	PT_OK(&t, pt_openssl(&t, true, "list", "-providers", NULL));
	PT_CHECK(pt_file_contains(&t, "last.out", "  vsm\n"), "vsm not listed");
	PT_CHECK(pt_file_contains(&t, "last.out", "status: active"), "no active provider");
	/* The algorithms the issue asks for, each offered by vsm. */
	PT_OK(&t, pt_openssl(&t, true, "list", "-signature-algorithms", NULL));
	PT_CHECK(pt_file_contains(&t, "last.out", "@ vsm"), "no signature algorithm from vsm");
	PT_OK(&t, pt_openssl(&t, true, "list", "-key-managers", NULL));
	PT_CHECK(pt_file_contains(&t, "last.out", "@ vsm"), "no key manager from vsm");
	PT_OK(&t, pt_openssl(&t, true, "list", "-asymcipher-algorithms", NULL));
	PT_CHECK(pt_file_contains(&t, "last.out", "@ vsm"), "no asym cipher from vsm");
	pt_finish(&t);
	return 0;
}

/* ---- keystore keys: RSA ---- */

static int t_rsa_pkcs1(void)
{
	struct pt t;
	pt_start(&t);
	write_data(&t);
	pt_genkey(&t, "rsa", "RSA");
	pt_import(&t, "rsa", VSM_KU_SIGN, 1, VSM_KT_RSA, "rsa-sign", NULL);
	check_public(&t, VSM_KU_SIGN, 1, "rsa");
	const char *uri = pt_uri_label("rsa-sign", NULL);

	uint64_t before = pt_ops(&t);
	PT_OK(&t, pt_openssl(&t, true, "pkeyutl", "-sign", "-inkey", uri, "-in", "data.sha256",
			     "-pkeyopt", "digest:sha256", "-out", "sig", NULL));
	want_offloaded(&t, before, "RSA sign");
	/* PKCS#1 v1.5 is deterministic: the very bytes of the default provider. */
	PT_OK(&t, pt_openssl(&t, false, "pkeyutl", "-sign", "-inkey", "rsa.pem", "-in",
			     "data.sha256", "-pkeyopt", "digest:sha256", "-out", "sig.want", NULL));
	PT_CHECK(pt_same_file(&t, "sig", "sig.want"), "RSA PKCS#1 v1.5 signatures differ");
	PT_OK(&t, pt_openssl(&t, false, "pkeyutl", "-verify", "-pubin", "-inkey",
			     "exported.pub.pem", "-in", "data.sha256", "-sigfile", "sig",
			     "-pkeyopt", "digest:sha256", NULL));
	want_verified(&t);
	PT_OK(&t, pt_openssl(&t, false, "dgst", "-sha256", "-verify", "rsa.pub.pem", "-signature",
			     "sig", "data.txt", NULL));
	PT_CHECK(pt_file_contains(&t, "last.out", "Verified OK"), "dgst -verify");
	PT_FAILS(&t, pt_openssl(&t, false, "dgst", "-sha256", "-verify", "rsa.pub.pem",
				"-signature", "sig", "other.txt", NULL));

	/* Verification with the vsm key runs too (public operation), and rejects. */
	PT_OK(&t, pt_openssl(&t, true, "pkeyutl", "-verify", "-inkey", uri, "-in", "data.sha256",
			     "-sigfile", "sig", "-pkeyopt", "digest:sha256", NULL));
	want_verified(&t);
	PT_FAILS(&t,
		 pt_openssl(&t, true, "pkeyutl", "-verify", "-inkey", uri, "-in", "other.sha256",
			    "-sigfile", "sig", "-pkeyopt", "digest:sha256", NULL));

	/* The same key by usage and index. */
	PT_OK(&t,
	      pt_openssl(&t, true, "pkeyutl", "-sign", "-inkey", pt_uri_index(VSM_KU_SIGN, 1, NULL),
			 "-in", "data.sha256", "-pkeyopt", "digest:sha256", "-out", "sig2", NULL));
	PT_CHECK(pt_same_file(&t, "sig2", "sig.want"), "by index: signatures differ");
	/* A label nobody has fails cleanly. */
	PT_FAILS(&t, pt_openssl(&t, true, "pkeyutl", "-sign", "-inkey",
				pt_uri_label("no-such-key", NULL), "-in", "data.sha256", "-out",
				"sig3", NULL));
	pt_finish(&t);
	return 0;
}

static int t_rsa_pss(void)
{
	struct pt t;
	pt_start(&t);
	write_data(&t);
	pt_genkey(&t, "rsa", "RSA");
	pt_import(&t, "rsa", VSM_KU_SIGN, 1, VSM_KT_RSA, "rsa-sign", NULL);
	check_public(&t, VSM_KU_SIGN, 1, "rsa");
	const char *uri = pt_uri_label("rsa-sign", NULL);
	uint64_t before = pt_ops(&t);
	PT_OK(&t, pt_openssl(&t, true, "pkeyutl", "-sign", "-inkey", uri, "-in", "data.sha256",
			     "-pkeyopt", "digest:sha256", "-pkeyopt", "rsa_padding_mode:pss",
			     "-pkeyopt", "rsa_pss_saltlen:32", "-out", "sig", NULL));
	want_offloaded(&t, before, "RSA-PSS sign");
	PT_OK(&t, pt_openssl(&t, false, "pkeyutl", "-verify", "-pubin", "-inkey",
			     "exported.pub.pem", "-in", "data.sha256", "-sigfile", "sig",
			     "-pkeyopt", "digest:sha256", "-pkeyopt", "rsa_padding_mode:pss",
			     "-pkeyopt", "rsa_pss_saltlen:32", NULL));
	want_verified(&t);
	/* A PSS signature is not a PKCS#1 v1.5 one, nor one over other data. */
	PT_FAILS(&t, pt_openssl(&t, false, "pkeyutl", "-verify", "-pubin", "-inkey",
				"exported.pub.pem", "-in", "data.sha256", "-sigfile", "sig",
				"-pkeyopt", "digest:sha256", NULL));
	PT_FAILS(&t,
		 pt_openssl(&t, false, "pkeyutl", "-verify", "-pubin", "-inkey", "exported.pub.pem",
			    "-in", "other.sha256", "-sigfile", "sig", "-pkeyopt", "digest:sha256",
			    "-pkeyopt", "rsa_padding_mode:pss", NULL));
	/* dgst -sigopt: a whole-message PSS signature, salt = digest length. */
	PT_OK(&t, pt_openssl(&t, true, "dgst", "-sha256", "-sign", uri, "-sigopt",
			     "rsa_padding_mode:pss", "-out", "sig.dgst", "data.txt", NULL));
	PT_OK(&t, pt_openssl(&t, false, "dgst", "-sha256", "-verify", "rsa.pub.pem", "-sigopt",
			     "rsa_padding_mode:pss", "-signature", "sig.dgst", "data.txt", NULL));
	PT_CHECK(pt_file_contains(&t, "last.out", "Verified OK"), "dgst -verify PSS");
	pt_finish(&t);
	return 0;
}

/* RSA encryption keys: OAEP and PKCS#1 v1.5, both directions. */
static int t_rsa_enc(void)
{
	struct pt t;
	pt_start(&t);
	write_data(&t);
	pt_genkey(&t, "rsa", "RSA");
	pt_import(&t, "rsa", VSM_KU_ENC, 1, VSM_KT_RSA, "rsa-enc", NULL);
	check_public(&t, VSM_KU_ENC, 1, "rsa");
	const char *uri = pt_uri_label("rsa-enc", NULL);
	static const char *const pads[][6] = {
		{"-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt",
		 "rsa_mgf1_md:sha256"},
		{"-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha1", "-pkeyopt",
		 "rsa_mgf1_md:sha1"},
		{"-pkeyopt", "rsa_padding_mode:pkcs1", "-pkeyopt", "rsa_padding_mode:pkcs1",
		 "-pkeyopt", "rsa_padding_mode:pkcs1"},
	};
	for (size_t i = 0; i < sizeof(pads) / sizeof(pads[0]); i++) {
		const char *const *p = pads[i];
		printf("padding %s %s\n", p[1], p[3]);
		/* default provider encrypts to the exported key, vsmd decrypts */
		PT_OK(&t, pt_openssl(&t, false, "pkeyutl", "-encrypt", "-pubin", "-inkey",
				     "exported.pub.pem", "-in", "data.txt", "-out", "ct", p[0],
				     p[1], p[2], p[3], p[4], p[5], NULL));
		uint64_t before = pt_ops(&t);
		PT_OK(&t, pt_openssl(&t, true, "pkeyutl", "-decrypt", "-inkey", uri, "-in", "ct",
				     "-out", "pt", p[0], p[1], p[2], p[3], p[4], p[5], NULL));
		want_offloaded(&t, before, "RSA decrypt");
		PT_CHECK(pt_same_file(&t, "pt", "data.txt"), "decrypted text differs");
		/* the provider encrypts (locally: public), the default provider decrypts */
		PT_OK(&t,
		      pt_openssl(&t, true, "pkeyutl", "-encrypt", "-inkey", uri, "-in", "data.txt",
				 "-out", "ct2", p[0], p[1], p[2], p[3], p[4], p[5], NULL));
		PT_OK(&t,
		      pt_openssl(&t, false, "pkeyutl", "-decrypt", "-inkey", "rsa.pem", "-in",
				 "ct2", "-out", "pt2", p[0], p[1], p[2], p[3], p[4], p[5], NULL));
		PT_CHECK(pt_same_file(&t, "pt2", "data.txt"), "default provider decrypted garbage");
	}
	/* A tampered OAEP ciphertext is refused, not decrypted into garbage. */
	PT_OK(&t, pt_openssl(&t, false, "pkeyutl", "-encrypt", "-pubin", "-inkey",
			     "exported.pub.pem", "-in", "data.txt", "-out", "ct", "-pkeyopt",
			     "rsa_padding_mode:oaep", NULL));
	size_t n;
	uint8_t *ct = pt_read(&t, "ct", &n);
	ct[n / 2] ^= 1;
	pt_write(&t, "ct.bad", ct, n);
	free(ct);
	PT_FAILS(&t, pt_openssl(&t, true, "pkeyutl", "-decrypt", "-inkey", uri, "-in", "ct.bad",
				"-out", "pt.bad", "-pkeyopt", "rsa_padding_mode:oaep", NULL));
	pt_finish(&t);
	return 0;
}

/* ---- keystore keys: ECDSA, SM2, Ed25519 ---- */

static int t_ecdsa_p256(void)
{
	struct pt t;
	pt_start(&t);
	write_data(&t);
	pt_genkey(&t, "ec", "P-256");
	pt_import(&t, "ec", VSM_KU_SIGN, 2, VSM_KT_ECDSA_P256, "ec-sign", NULL);
	check_public(&t, VSM_KU_SIGN, 2, "ec");
	const char *uri = pt_uri_label("ec-sign", NULL);
	uint64_t before = pt_ops(&t);
	PT_OK(&t, pt_openssl(&t, true, "pkeyutl", "-sign", "-inkey", uri, "-in", "data.sha256",
			     "-out", "sig", NULL));
	want_offloaded(&t, before, "ECDSA sign");
	PT_OK(&t, pt_openssl(&t, false, "pkeyutl", "-verify", "-pubin", "-inkey",
			     "exported.pub.pem", "-in", "data.sha256", "-sigfile", "sig", NULL));
	want_verified(&t);
	PT_FAILS(&t,
		 pt_openssl(&t, false, "pkeyutl", "-verify", "-pubin", "-inkey", "exported.pub.pem",
			    "-in", "other.sha256", "-sigfile", "sig", NULL));
	/* whole-message signing (EVP_DigestSign) */
	PT_OK(&t, pt_openssl(&t, true, "dgst", "-sha256", "-sign", uri, "-out", "sig.dgst",
			     "data.txt", NULL));
	PT_OK(&t, pt_openssl(&t, false, "dgst", "-sha256", "-verify", "ec.pub.pem", "-signature",
			     "sig.dgst", "data.txt", NULL));
	PT_CHECK(pt_file_contains(&t, "last.out", "Verified OK"), "dgst -verify ECDSA");
	/* a signature from the default provider verifies with the vsm key */
	PT_OK(&t, pt_openssl(&t, false, "pkeyutl", "-sign", "-inkey", "ec.pem", "-in",
			     "data.sha256", "-out", "sig.def", NULL));
	PT_OK(&t, pt_openssl(&t, true, "pkeyutl", "-verify", "-inkey", uri, "-in", "data.sha256",
			     "-sigfile", "sig.def", NULL));
	want_verified(&t);
	pt_finish(&t);
	return 0;
}

static int t_sm2(void)
{
	struct pt t;
	pt_start(&t);
	write_data(&t);
	pt_genkey(&t, "sm2s", "SM2");
	pt_genkey(&t, "sm2e", "SM2");
	pt_import(&t, "sm2s", VSM_KU_SIGN, 3, VSM_KT_SM2, "sm2-sign", NULL);
	pt_import(&t, "sm2e", VSM_KU_ENC, 3, VSM_KT_SM2, "sm2-enc", NULL);
	check_public(&t, VSM_KU_SIGN, 3, "sm2s");
	const char *su = pt_uri_label("sm2-sign", NULL), *eu = pt_uri_label("sm2-enc", NULL);

	/* SM3 with Z over the default user id, on both sides. */
	uint64_t before = pt_ops(&t);
	PT_OK(&t, pt_openssl(&t, true, "pkeyutl", "-sign", "-inkey", su, "-rawin", "-digest", "sm3",
			     "-in", "data.txt", "-out", "sig", NULL));
	want_offloaded(&t, before, "SM2 sign");
	PT_OK(&t,
	      pt_openssl(&t, false, "pkeyutl", "-verify", "-pubin", "-inkey", "exported.pub.pem",
			 "-rawin", "-digest", "sm3", "-in", "data.txt", "-sigfile", "sig", NULL));
	want_verified(&t);
	PT_FAILS(&t, pt_openssl(&t, false, "pkeyutl", "-verify", "-pubin", "-inkey",
				"exported.pub.pem", "-rawin", "-digest", "sm3", "-in", "other.txt",
				"-sigfile", "sig", NULL));
	/* An explicit user id must be the one signed over. */
	PT_OK(&t, pt_openssl(&t, true, "pkeyutl", "-sign", "-inkey", su, "-rawin", "-digest", "sm3",
			     "-pkeyopt", "distid:alice@example", "-in", "data.txt", "-out",
			     "sig.id", NULL));
	PT_OK(&t,
	      pt_openssl(&t, false, "pkeyutl", "-verify", "-pubin", "-inkey", "exported.pub.pem",
			 "-rawin", "-digest", "sm3", "-pkeyopt", "distid:alice@example", "-in",
			 "data.txt", "-sigfile", "sig.id", NULL));
	want_verified(&t);
	PT_FAILS(&t,
		 pt_openssl(&t, false, "pkeyutl", "-verify", "-pubin", "-inkey", "exported.pub.pem",
			    "-rawin", "-digest", "sm3", "-pkeyopt", "distid:bob@example", "-in",
			    "data.txt", "-sigfile", "sig.id", NULL));

	/* SM2 encryption: default provider encrypts, vsmd decrypts, and back. */
	pt_export_pub(&t, VSM_KU_ENC, 3, "enc.pub.pem");
	PT_CHECK(pt_same_file(&t, "enc.pub.pem", "sm2e.pub.pem"), "SM2 encryption public key");
	PT_OK(&t, pt_openssl(&t, false, "pkeyutl", "-encrypt", "-pubin", "-inkey", "enc.pub.pem",
			     "-in", "data.txt", "-out", "ct", NULL));
	before = pt_ops(&t);
	PT_OK(&t, pt_openssl(&t, true, "pkeyutl", "-decrypt", "-inkey", eu, "-in", "ct", "-out",
			     "pt", NULL));
	want_offloaded(&t, before, "SM2 decrypt");
	PT_CHECK(pt_same_file(&t, "pt", "data.txt"), "SM2 decryption differs");
	PT_OK(&t, pt_openssl(&t, true, "pkeyutl", "-encrypt", "-inkey", eu, "-in", "data.txt",
			     "-out", "ct2", NULL));
	PT_OK(&t, pt_openssl(&t, false, "pkeyutl", "-decrypt", "-inkey", "sm2e.pem", "-in", "ct2",
			     "-out", "pt2", NULL));
	PT_CHECK(pt_same_file(&t, "pt2", "data.txt"), "SM2 encryption by the provider");
	pt_finish(&t);
	return 0;
}

static int t_ed25519(void)
{
	struct pt t;
	pt_start(&t);
	write_data(&t);
	pt_genkey(&t, "ed", "ED25519");
	pt_import(&t, "ed", VSM_KU_SIGN, 4, VSM_KT_ED25519, "ed-sign", NULL);
	check_public(&t, VSM_KU_SIGN, 4, "ed");
	const char *uri = pt_uri_label("ed-sign", NULL);
	uint64_t before = pt_ops(&t);
	PT_OK(&t, pt_openssl(&t, true, "pkeyutl", "-sign", "-inkey", uri, "-rawin", "-in",
			     "data.txt", "-out", "sig", NULL));
	want_offloaded(&t, before, "Ed25519 sign");
	/* Ed25519 is deterministic. */
	PT_OK(&t, pt_openssl(&t, false, "pkeyutl", "-sign", "-inkey", "ed.pem", "-rawin", "-in",
			     "data.txt", "-out", "sig.want", NULL));
	PT_CHECK(pt_same_file(&t, "sig", "sig.want"), "Ed25519 signatures differ");
	PT_OK(&t,
	      pt_openssl(&t, false, "pkeyutl", "-verify", "-pubin", "-inkey", "exported.pub.pem",
			 "-rawin", "-in", "data.txt", "-sigfile", "sig", NULL));
	want_verified(&t);
	PT_FAILS(&t,
		 pt_openssl(&t, false, "pkeyutl", "-verify", "-pubin", "-inkey", "exported.pub.pem",
			    "-rawin", "-in", "other.txt", "-sigfile", "sig", NULL));
	pt_finish(&t);
	return 0;
}

/*
 * A key vsmd generated: nobody has its private half. It has a password,
 * which the URI must carry; the public key the provider exports
 * (openssl pkey -pubout) is the keystore's.
 */
static int t_generated(void)
{
	struct pt t;
	pt_start(&t);
	write_data(&t);
	/* Only the URI may give the password here. */
	unsetenv("VSM_KEY_PASSWORD");
	PT_CHECK(vsm_info(t.c)->features & VSM_FEAT_KEYSTORE, "vsmd has no keystore");
	int rc = vsm_key_generate(t.c, VSM_KU_SIGN, 7, VSM_KT_ECDSA_P256, 256, "s3cret", 6,
				  "gen-ec");
	PT_CHECK(rc == 0, "vsm_key_generate: %d (%s)", rc, vsm_strerror(rc));
	pt_export_pub(&t, VSM_KU_SIGN, 7, "gen.pub.pem");

	const char *uri = pt_uri_label("gen-ec", "s3cret");
	PT_OK(&t, pt_openssl(&t, true, "pkeyutl", "-sign", "-inkey", uri, "-in", "data.sha256",
			     "-out", "sig", NULL));
	PT_OK(&t, pt_openssl(&t, false, "pkeyutl", "-verify", "-pubin", "-inkey", "gen.pub.pem",
			     "-in", "data.sha256", "-sigfile", "sig", NULL));
	want_verified(&t);
	PT_OK(&t, pt_openssl(&t, true, "pkeyutl", "-sign", "-inkey",
			     pt_uri_index(VSM_KU_SIGN, 7, "s3cret"), "-in", "data.sha256", "-out",
			     "sig2", NULL));
	PT_OK(&t, pt_openssl(&t, false, "pkeyutl", "-verify", "-pubin", "-inkey", "gen.pub.pem",
			     "-in", "data.sha256", "-sigfile", "sig2", NULL));
	want_verified(&t);

	/* Without the password, or with a wrong one, there is no signature. */
	PT_FAILS(&t,
		 pt_openssl(&t, true, "pkeyutl", "-sign", "-inkey", pt_uri_label("gen-ec", NULL),
			    "-in", "data.sha256", "-out", "sig3", NULL));
	PT_FAILS(&t,
		 pt_openssl(&t, true, "pkeyutl", "-sign", "-inkey", pt_uri_label("gen-ec", "wrong"),
			    "-in", "data.sha256", "-out", "sig4", NULL));

	/* Keymgmt exports the public half to the default provider's encoders. */
	PT_OK(&t,
	      pt_openssl(&t, true, "pkey", "-in", uri, "-pubout", "-out", "prov.pub.pem", NULL));
	PT_CHECK(pt_same_file(&t, "prov.pub.pem", "gen.pub.pem"),
		 "openssl pkey -pubout of the vsm key is not the keystore's public key");
	/* ... and never the private half. */
	PT_FAILS(&t, pt_openssl(&t, true, "pkey", "-in", uri, "-out", "priv.pem", NULL));
	pt_finish(&t);
	return 0;
}

/* A keystore key without a password signs with none given anywhere. */
static int t_no_password(void)
{
	struct pt t;
	pt_start(&t);
	write_data(&t);
	unsetenv("VSM_KEY_PASSWORD");
	pt_genkey(&t, "ec", "P-256");
	pt_import(&t, "ec", VSM_KU_SIGN, 9, VSM_KT_ECDSA_P256, "open-ec", "");
	uint64_t before = pt_ops(&t);
	PT_OK(&t, pt_openssl(&t, true, "pkeyutl", "-sign", "-inkey", pt_uri_label("open-ec", NULL),
			     "-in", "data.sha256", "-out", "sig", NULL));
	want_offloaded(&t, before, "sign without a password");
	PT_OK(&t, pt_openssl(&t, false, "pkeyutl", "-verify", "-pubin", "-inkey", "ec.pub.pem",
			     "-in", "data.sha256", "-sigfile", "sig", NULL));
	want_verified(&t);
	pt_finish(&t);
	return 0;
}

/* ---- the application's own keys, offloaded with -propquery ?provider=vsm ---- */

static int t_imported(void)
{
	struct pt t;
	pt_start(&t);
	write_data(&t);
	pt_genkey(&t, "rsa", "RSA");
	pt_genkey(&t, "ec", "P-256");
	pt_genkey(&t, "ec384", "P-384");
	pt_genkey(&t, "sm2", "SM2");
	pt_genkey(&t, "ed", "ED25519");
	const char *pq = "?provider=vsm";

	/* RSA PKCS#1 v1.5: bytes equal to the default provider's */
	uint64_t before = pt_ops(&t);
	PT_OK(&t,
	      pt_openssl(&t, true, "pkeyutl", "-propquery", pq, "-sign", "-inkey", "rsa.pem", "-in",
			 "data.sha256", "-pkeyopt", "digest:sha256", "-out", "sig", NULL));
	want_offloaded(&t, before, "imported RSA sign");
	PT_OK(&t, pt_openssl(&t, false, "pkeyutl", "-sign", "-inkey", "rsa.pem", "-in",
			     "data.sha256", "-pkeyopt", "digest:sha256", "-out", "sig.want", NULL));
	PT_CHECK(pt_same_file(&t, "sig", "sig.want"), "imported RSA: signatures differ");

	/* RSA-PSS */
	PT_OK(&t, pt_openssl(&t, true, "pkeyutl", "-propquery", pq, "-sign", "-inkey", "rsa.pem",
			     "-in", "data.sha256", "-pkeyopt", "digest:sha256", "-pkeyopt",
			     "rsa_padding_mode:pss", "-out", "sig.pss", NULL));
	PT_OK(&t, pt_openssl(&t, false, "pkeyutl", "-verify", "-pubin", "-inkey", "rsa.pub.pem",
			     "-in", "data.sha256", "-sigfile", "sig.pss", "-pkeyopt",
			     "digest:sha256", "-pkeyopt", "rsa_padding_mode:pss", NULL));
	want_verified(&t);

	/* RSA-OAEP decryption */
	PT_OK(&t,
	      pt_openssl(&t, false, "pkeyutl", "-encrypt", "-pubin", "-inkey", "rsa.pub.pem", "-in",
			 "data.txt", "-out", "ct", "-pkeyopt", "rsa_padding_mode:oaep", NULL));
	before = pt_ops(&t);
	PT_OK(&t, pt_openssl(&t, true, "pkeyutl", "-propquery", pq, "-decrypt", "-inkey", "rsa.pem",
			     "-in", "ct", "-out", "pt", "-pkeyopt", "rsa_padding_mode:oaep", NULL));
	want_offloaded(&t, before, "imported RSA decrypt");
	PT_CHECK(pt_same_file(&t, "pt", "data.txt"), "imported RSA-OAEP decryption");

	/* ECDSA P-256 and P-384 */
	static const char *const ecs[] = {"ec", "ec384"};
	for (size_t i = 0; i < 2; i++) {
		char pem[32], pub[32];
		snprintf(pem, sizeof(pem), "%s.pem", ecs[i]);
		snprintf(pub, sizeof(pub), "%s.pub.pem", ecs[i]);
		before = pt_ops(&t);
		PT_OK(&t, pt_openssl(&t, true, "pkeyutl", "-propquery", pq, "-sign", "-inkey", pem,
				     "-in", "data.sha256", "-out", "sig.ec", NULL));
		want_offloaded(&t, before, "imported ECDSA sign");
		PT_OK(&t, pt_openssl(&t, false, "pkeyutl", "-verify", "-pubin", "-inkey", pub,
				     "-in", "data.sha256", "-sigfile", "sig.ec", NULL));
		want_verified(&t);
	}

	/* SM2 */
	before = pt_ops(&t);
	PT_OK(&t,
	      pt_openssl(&t, true, "pkeyutl", "-propquery", pq, "-sign", "-inkey", "sm2.pem",
			 "-rawin", "-digest", "sm3", "-in", "data.txt", "-out", "sig.sm2", NULL));
	want_offloaded(&t, before, "imported SM2 sign");
	PT_OK(&t, pt_openssl(&t, false, "pkeyutl", "-verify", "-pubin", "-inkey", "sm2.pub.pem",
			     "-rawin", "-digest", "sm3", "-in", "data.txt", "-sigfile", "sig.sm2",
			     NULL));
	want_verified(&t);

	/* Ed25519: deterministic */
	before = pt_ops(&t);
	PT_OK(&t, pt_openssl(&t, true, "pkeyutl", "-propquery", pq, "-sign", "-inkey", "ed.pem",
			     "-rawin", "-in", "data.txt", "-out", "sig.ed", NULL));
	want_offloaded(&t, before, "imported Ed25519 sign");
	PT_OK(&t, pt_openssl(&t, false, "pkeyutl", "-sign", "-inkey", "ed.pem", "-rawin", "-in",
			     "data.txt", "-out", "sig.ed.want", NULL));
	PT_CHECK(pt_same_file(&t, "sig.ed", "sig.ed.want"), "imported Ed25519 differs");
	pt_finish(&t);
	return 0;
}

/* ---- certificates ---- */

struct certcase {
	const char *alg, *name;
	int type;
	const char *const *extra; /* req options for the algorithm */
};

static int t_req_x509(void)
{
	static const char *const sha256[] = {"-sha256", NULL};
	static const char *const sm3[] = {"-sm3", "-sigopt", "distid:1234567812345678", NULL};
	static const char *const none[] = {NULL};
	static const struct certcase cases[] = {
		{"RSA", "rsa", VSM_KT_RSA, sha256},
		{"P-256", "ec", VSM_KT_ECDSA_P256, sha256},
		{"SM2", "sm2", VSM_KT_SM2, sm3},
		{"ED25519", "ed", VSM_KT_ED25519, none},
	};
	struct pt t;
	pt_start(&t);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct certcase *c = &cases[i];
		char label[32], pub[32], crt[32], subj[64];
		snprintf(label, sizeof(label), "%s-cert", c->name);
		snprintf(pub, sizeof(pub), "%s.pub.pem", c->name);
		snprintf(crt, sizeof(crt), "%s.crt", c->name);
		snprintf(subj, sizeof(subj), "/CN=vsm %s test", c->name);
		printf("certificate for %s\n", c->alg);
		pt_genkey(&t, c->name, c->alg);
		pt_import(&t, c->name, VSM_KU_SIGN, (uint32_t)(10 + i), c->type, label, NULL);
		const char *argv[24];
		size_t n = 0;
		argv[n++] = pt_openssl_path();
		argv[n++] = "req";
		argv[n++] = "-provider-path";
		argv[n++] = pt_provider_dir();
		argv[n++] = "-provider";
		argv[n++] = "vsm";
		argv[n++] = "-provider";
		argv[n++] = "default";
		argv[n++] = "-x509";
		argv[n++] = "-new";
		argv[n++] = "-key";
		argv[n++] = pt_uri_label(label, NULL);
		argv[n++] = "-subj";
		argv[n++] = subj;
		argv[n++] = "-days";
		argv[n++] = "2";
		argv[n++] = "-out";
		argv[n++] = crt;
		for (const char *const *e = c->extra; *e; e++)
			argv[n++] = *e;
		argv[n] = NULL;
		uint64_t before = pt_ops(&t);
		PT_OK(&t, pt_runv(&t, NULL, PT_TIMEOUT_MS, argv));
		want_offloaded(&t, before, "req -x509");

		/* The certificate carries the key's public half and verifies (self-signed). */
		PT_OK(&t, pt_openssl(&t, false, "x509", "-in", crt, "-noout", "-pubkey", "-out",
				     "cert.pub.pem", NULL));
		PT_CHECK(pt_same_file(&t, "cert.pub.pem", pub), "%s: certificate key", c->alg);
		PT_OK(&t, pt_openssl(&t, false, "x509", "-in", crt, "-noout", "-text", NULL));
		PT_CHECK(pt_file_contains(&t, "last.out", subj + 4), "%s: subject", c->alg);
		if (c->type == VSM_KT_SM2) {
			/* the id the certificate was signed with (GM/T 0009's default) */
			PT_CHECK(pt_file_contains(&t, "last.out", "SM2-with-SM3"), "SM2 cert alg");
			PT_OK(&t, pt_openssl(&t, false, "verify", "-vfyopt",
					     "distid:1234567812345678", "-CAfile", crt, crt, NULL));
		} else {
			PT_OK(&t, pt_openssl(&t, false, "verify", "-CAfile", crt, crt, NULL));
		}
		PT_CHECK(pt_file_contains(&t, "last.out", ": OK"), "%s: openssl verify", c->alg);
	}
	pt_finish(&t);
	return 0;
}

/* ---- the key-reference PEM file ---- */

static int t_keyref_file(void)
{
	struct pt t;
	pt_start(&t);
	write_data(&t);
	pt_genkey(&t, "ec", "P-256");
	pt_import(&t, "ec", VSM_KU_SIGN, 2, VSM_KT_ECDSA_P256, "ref-ec", NULL);
	pt_write_keyref(&t, "ec.ref", pt_uri_label("ref-ec", NULL));
	PT_CHECK(pt_file_contains(&t, "ec.ref", "-----BEGIN VSM KEY REFERENCE-----"),
		 "key reference file header");

	/* pkeyutl -inkey FILE */
	uint64_t before = pt_ops(&t);
	PT_OK(&t, pt_openssl(&t, true, "pkeyutl", "-sign", "-inkey", "ec.ref", "-in", "data.sha256",
			     "-out", "sig", NULL));
	want_offloaded(&t, before, "sign with a key reference file");
	PT_OK(&t, pt_openssl(&t, false, "pkeyutl", "-verify", "-pubin", "-inkey", "ec.pub.pem",
			     "-in", "data.sha256", "-sigfile", "sig", NULL));
	want_verified(&t);
	/* dgst -sign FILE, req -key FILE, x509 -signkey FILE */
	PT_OK(&t, pt_openssl(&t, true, "dgst", "-sha256", "-sign", "ec.ref", "-out", "sig.dgst",
			     "data.txt", NULL));
	PT_OK(&t, pt_openssl(&t, false, "dgst", "-sha256", "-verify", "ec.pub.pem", "-signature",
			     "sig.dgst", "data.txt", NULL));
	PT_CHECK(pt_file_contains(&t, "last.out", "Verified OK"), "dgst -verify");
	PT_OK(&t, pt_openssl(&t, true, "req", "-x509", "-new", "-key", "ec.ref", "-subj",
			     "/CN=by reference", "-days", "2", "-sha256", "-out", "ref.crt", NULL));
	PT_OK(&t, pt_openssl(&t, false, "verify", "-CAfile", "ref.crt", "ref.crt", NULL));
	PT_CHECK(pt_file_contains(&t, "last.out", ": OK"), "openssl verify");
	PT_OK(&t, pt_openssl(&t, false, "x509", "-in", "ref.crt", "-noout", "-pubkey", "-out",
			     "cert.pub.pem", NULL));
	PT_CHECK(pt_same_file(&t, "cert.pub.pem", "ec.pub.pem"), "certificate key");
	/* pkey reads it and shows the public half only */
	PT_OK(&t, pt_openssl(&t, true, "pkey", "-in", "ec.ref", "-pubout", "-out", "ref.pub.pem",
			     NULL));
	PT_CHECK(pt_same_file(&t, "ref.pub.pem", "ec.pub.pem"), "pkey -pubout of the reference");

	/* Without the provider the file is no key at all. */
	PT_FAILS(&t, pt_openssl(&t, false, "pkeyutl", "-sign", "-inkey", "ec.ref", "-in",
				"data.sha256", "-out", "sig2", NULL));
	/* A reference to a key the tenant does not have fails. */
	pt_write_keyref(&t, "none.ref", pt_uri_label("nobody-has-this", NULL));
	PT_FAILS(&t, pt_openssl(&t, true, "pkeyutl", "-sign", "-inkey", "none.ref", "-in",
				"data.sha256", "-out", "sig3", NULL));
	pt_finish(&t);
	return 0;
}

/* ---- openssl speed with async jobs ---- */

static int t_speed_async(void)
{
	struct pt t;
	pt_start(&t);
	uint64_t before = pt_ops(&t);
	const char *argv[] = {pt_openssl_path(), "speed",
			      "-provider-path",	 pt_provider_dir(),
			      "-provider",	 "vsm",
			      "-provider",	 "default",
			      "-propquery",	 "?provider=vsm",
			      "-async_jobs",	 "8",
			      "-seconds",	 "1",
			      "rsa2048",	 NULL};
	PT_OK(&t, pt_runv(&t, NULL, 60000, argv));
	PT_CHECK(pt_file_contains(&t, "last.out", "rsa 2048 bits"), "no rsa 2048 result line");
	/* Each of the 8 jobs signed through vsmd at least once (no rate is asserted). */
	uint64_t n = pt_ops(&t) - before;
	printf("vsmd completed %llu requests\n", (unsigned long long)n);
	PT_CHECK(n >= 8, "speed did not sign through vsmd (%llu requests)", (unsigned long long)n);
	/* OpenSSL errors print ":error:", sanitizer reports "ERROR:". */
	PT_CHECK(!pt_file_contains(&t, "last.err", ":error:") &&
			 !pt_file_contains(&t, "last.err", "ERROR:"),
		 "speed reported errors");
	pt_finish(&t);
	return 0;
}

static const struct vh_case cases[] = {
	{"load", t_load, 60},
	{"rsa-pkcs1", t_rsa_pkcs1, 120},
	{"rsa-pss", t_rsa_pss, 120},
	{"rsa-enc", t_rsa_enc, 120},
	{"ecdsa-p256", t_ecdsa_p256, 120},
	{"sm2", t_sm2, 120},
	{"ed25519", t_ed25519, 120},
	{"generated", t_generated, 120},
	{"no-password", t_no_password, 120},
	{"imported", t_imported, 120},
	{"req-x509", t_req_x509, 120},
	{"keyref-file", t_keyref_file, 120},
	{"speed-async", t_speed_async, 120},
};

int main(int argc, char **argv)
{
	return vh_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
