/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Wycheproof (C2SP testvectors_v1) runner. "valid" must succeed with the
 * exact output, "invalid" must fail, "acceptable" may do either. The
 * exception is RSA PKCS#1 v1.5 decryption, which uses implicit rejection:
 * there "invalid" means "must not return the expected message", and a bad
 * padding must return OK with the synthetic message. A valid
 * vector whose parameters vsm refuses by design (documented in
 * docs/algorithms.md) is counted as skipped with the reason printed.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kat.h"

enum expect { EXP_VALID, EXP_INVALID, EXP_ACCEPTABLE };

struct wp_ctx {
	const struct kat_backend *be;
	struct kat_file *f;
	json_t *group;
	json_t *test;
	int tc;
	enum expect exp;
};

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static struct kat_buf hexf(json_t *o, const char *k)
{
	return kat_hex(str(o, k));
}

static int hash_alg(const char *sha)
{
	static const struct {
		const char *name;
		int alg;
	} m[] = {{"SHA-1", VSM_ALG_SHA1},     {"SHA-224", VSM_ALG_SHA224},
		 {"SHA-256", VSM_ALG_SHA256}, {"SHA-384", VSM_ALG_SHA384},
		 {"SHA-512", VSM_ALG_SHA512}, {"SHA3-256", VSM_ALG_SHA3_256}};

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (strcmp(sha, m[i].name) == 0)
			return m[i].alg;
	return -1;
}

/*
 * Records a result. ok_run: the operation succeeded with the expected
 * output; rejected: vsm refused the parameters up front (session or
 * BAD_LENGTH), which for a valid vector is a documented skip.
 */
static void wp_record(struct wp_ctx *c, int ok_run, int rejected, const char *what)
{
	switch (c->exp) {
	case EXP_VALID:
		if (!ok_run && rejected)
			kat_skip(c->f, "tc %d valid but parameters refused by design: %s", c->tc,
				 what);
		else
			kat_check(c->f, ok_run, "tc %d (valid): %s", c->tc, what);
		break;
	case EXP_INVALID:
		kat_check(c->f, !ok_run, "tc %d (invalid) was accepted: %s", c->tc, what);
		break;
	default:
		kat_check(c->f, 1, "acceptable");
		break;
	}
}

/* --- AEAD: aes_gcm, aes_ccm, chacha20_poly1305 --- */

static void wp_aead(struct wp_ctx *c, uint32_t alg)
{
	const struct kat_backend *be = c->be;
	json_int_t tag_bits = json_integer_value(json_object_get(c->group, "tagSize"));
	struct kat_buf key = hexf(c->test, "key"), iv = hexf(c->test, "iv");
	struct kat_buf aad = hexf(c->test, "aad"), msg = hexf(c->test, "msg");
	struct kat_buf ct = hexf(c->test, "ct"), tag = hexf(c->test, "tag"), full;
	char why[160] = "";
	int st, d, ok = 0, rejected = 0;
	void *s;

	full.n = ct.n + tag.n;
	full.p = malloc(full.n + 1);
	memcpy(full.p, ct.p, ct.n);
	memcpy(full.p + ct.n, tag.p, tag.n);

	s = kat_session(be, VSM_SVC_AEAD, alg, key.p, key.n, (uint32_t)(tag_bits / 8), &st, &d);
	if (!s) {
		rejected = 1;
		snprintf(why, sizeof(why), "session %s/%s", vsm_status_name(st),
			 vsm_detail_name(d));
	} else if (c->exp == EXP_VALID) {
		ok = kat_sym(be, s, &iv, &aad, &msg, &full, why, sizeof(why));
		if (!ok && strstr(why, "bad_length"))
			rejected = 1;
	} else {
		/* An invalid vector must not decrypt. */
		uint8_t *out = malloc(full.n + 1);
		size_t n;

		st = kat_op(be, s, VSM_OP_DECRYPT, 0, &iv, &aad, full.p, full.n, NULL, out,
			    full.n + 1, &n, &d);
		ok = st == VSM_S_OK && n == msg.n && memcmp(out, msg.p, n) == 0;
		snprintf(why, sizeof(why), "decrypt %s/%s", vsm_status_name(st),
			 vsm_detail_name(d));
		free(out);
	}
	wp_record(c, ok, rejected, why);
	if (s)
		be->session_free(be->ctx, s);
	kat_buf_free(&key);
	kat_buf_free(&iv);
	kat_buf_free(&aad);
	kat_buf_free(&msg);
	kat_buf_free(&ct);
	kat_buf_free(&tag);
	kat_buf_free(&full);
}

static void wp_gcm(struct wp_ctx *c)
{
	wp_aead(c, VSM_ALG_AES_GCM);
}

static void wp_ccm(struct wp_ctx *c)
{
	wp_aead(c, VSM_ALG_AES_CCM);
}

static void wp_chachapoly(struct wp_ctx *c)
{
	wp_aead(c, VSM_ALG_CHACHA20_POLY1305);
}

/* --- XTS: the tweak is the iv zero-padded on the right to 16 bytes --- */

static void wp_xts(struct wp_ctx *c)
{
	const struct kat_backend *be = c->be;
	struct kat_buf key = hexf(c->test, "key"), iv0 = hexf(c->test, "iv");
	struct kat_buf msg = hexf(c->test, "msg"), ct = hexf(c->test, "ct");
	struct kat_buf iv = {calloc(1, 16), 16}, none = {NULL, 0};
	char why[160] = "";
	int st, d, ok = 0, rejected = 0;
	void *s;

	memcpy(iv.p, iv0.p, iv0.n > 16 ? 16 : iv0.n);
	s = kat_session(be, VSM_SVC_CIPHER, VSM_ALG_AES_XTS, key.p, key.n, 0, &st, &d);
	if (!s) {
		rejected = 1;
		snprintf(why, sizeof(why),
			 "%zu-byte key: session %s/%s (AES-192-XTS is not in "
			 "IEEE 1619 / SP 800-38E)",
			 key.n, vsm_status_name(st), vsm_detail_name(d));
	} else {
		ok = iv0.n <= 16 && kat_sym(be, s, &iv, &none, &msg, &ct, why, sizeof(why));
	}
	wp_record(c, ok, rejected, why);
	if (s)
		be->session_free(be->ctx, s);
	kat_buf_free(&key);
	kat_buf_free(&iv0);
	kat_buf_free(&iv);
	kat_buf_free(&msg);
	kat_buf_free(&ct);
}

/* --- MAC: aes_cmac, hmac_* --- */

static void wp_mac(struct wp_ctx *c, uint32_t alg, size_t full_len)
{
	const struct kat_backend *be = c->be;
	json_int_t tag_bits = json_integer_value(json_object_get(c->group, "tagSize"));
	struct kat_buf key = hexf(c->test, "key"), msg = hexf(c->test, "msg");
	struct kat_buf tag = hexf(c->test, "tag");
	uint32_t tag_len = (size_t)tag_bits / 8 == full_len ? 0 : (uint32_t)(tag_bits / 8);
	uint8_t out[64];
	char why[160] = "";
	size_t n;
	int st, d, ok = 0, rejected = 0;
	void *s = kat_session(be, VSM_SVC_MAC, alg, key.p, key.n, tag_len, &st, &d);

	if (!s) {
		rejected = 1;
		snprintf(why, sizeof(why), "%zu-byte key: session %s/%s", key.n,
			 vsm_status_name(st), vsm_detail_name(d));
	} else {
		int vst = kat_op(be, s, VSM_OP_VERIFY, 0, NULL, NULL, msg.p, msg.n, &tag, out,
				 sizeof(out), &n, &d);

		st = kat_op(be, s, VSM_OP_DIGEST, 0, NULL, NULL, msg.p, msg.n, NULL, out,
			    sizeof(out), &n, &d);
		if (c->exp == EXP_VALID)
			ok = vst == VSM_S_OK && st == VSM_S_OK && n == tag.n &&
			     memcmp(out, tag.p, n) == 0;
		else
			ok = vst == VSM_S_OK;
		snprintf(why, sizeof(why), "verify %s, digest %s", vsm_status_name(vst),
			 vsm_status_name(st));
	}
	wp_record(c, ok, rejected, why);
	if (s)
		be->session_free(be->ctx, s);
	kat_buf_free(&key);
	kat_buf_free(&msg);
	kat_buf_free(&tag);
}

static void wp_cmac(struct wp_ctx *c)
{
	wp_mac(c, VSM_ALG_CMAC_AES, 16);
}

static void wp_hmac256(struct wp_ctx *c)
{
	wp_mac(c, VSM_ALG_HMAC_SHA256, 32);
}

static void wp_hmac384(struct wp_ctx *c)
{
	wp_mac(c, VSM_ALG_HMAC_SHA384, 48);
}

static void wp_hmacsm3(struct wp_ctx *c)
{
	wp_mac(c, VSM_ALG_HMAC_SM3, 32);
}

/* --- Signatures: one session per group, VERIFY per test --- */

static void *wp_sig_session(struct wp_ctx *c, uint32_t alg, uint32_t pad, int *st, int *d)
{
	struct kat_buf der = hexf(c->group, "publicKeyDer");
	struct vsm_wire_session p = {
		.service = VSM_SVC_AKCIPHER,
		.alg = alg,
		.padding = pad,
		.salt_len = -1,
		.key = der.p,
		.key_len = (uint32_t)der.n,
	};
	const char *sha = str(c->group, "sha");
	void *s = NULL;

	if (*sha)
		p.hash = (uint32_t)hash_alg(sha);
	if (*str(c->group, "mgfSha"))
		p.mgf_hash = (uint32_t)hash_alg(str(c->group, "mgfSha"));
	if (json_object_get(c->group, "sLen"))
		p.salt_len = (int32_t)json_integer_value(json_object_get(c->group, "sLen"));
	*st = c->be->session_new(c->be->ctx, &p, &s, d);
	kat_buf_free(&der);
	return *st == VSM_S_OK ? s : NULL;
}

static void wp_verify(struct wp_ctx *c, void *s)
{
	struct kat_buf msg = hexf(c->test, "msg"), sig = hexf(c->test, "sig");
	uint8_t out[8];
	size_t n;
	int d, st = kat_op(c->be, s, VSM_OP_VERIFY, 0, NULL, NULL, msg.p, msg.n, &sig, out,
			   sizeof(out), &n, &d);
	char why[96];

	snprintf(why, sizeof(why), "verify %s/%s", vsm_status_name(st), vsm_detail_name(d));
	wp_record(c, st == VSM_S_OK, 0, why);
	kat_buf_free(&msg);
	kat_buf_free(&sig);
}

/* --- RSA decryption: PKCS#1 v1.5 and OAEP (the label is per test) --- */

/*
 * Implicit rejection known answers: what OpenSSL 4.0 (implicit rejection
 * on by default since 3.2) returns for these bad-padding vectors of
 * rsa_pkcs1_2048_test.json. The engine must return exactly the same.
 */
static const struct {
	int tc;
	const char *synthetic;
} wp_pkcs1_synthetic[] = {
	{13, "d75104036728321a06ca69cf3dc5ce9ea1598191b97e8692e92a4993881732d108fed29da1fef54f"
	     "57986ccaa860bdd5e5bad1615befea9895362486d3b5ee12bb2802f2fc68fd93f65c13957a14ef6a"
	     "65b885adef29f59243edb265c9fe2555693531abfb871155"},
	{14, "56e46beb8b98c2"},
	{26, "6abda8d070f3ae3e175bb7"},
};

static int has_flag(json_t *test, const char *flag)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(test, "flags"), i, v)
	{
		if (strcmp(json_string_value(v) ? json_string_value(v) : "", flag) == 0)
			return 1;
	}
	return 0;
}

/*
 * PKCS#1 v1.5 "invalid": a padding error must answer OK with a synthetic
 * message (never the expected one, and the known answer where there is
 * one); a publicly invalid ciphertext (wrong length, not below n) may be
 * refused.
 */
static void wp_pkcs1_invalid(struct wp_ctx *c, int st, int d, const uint8_t *out, size_t n,
			     const struct kat_buf *msg)
{
	int is_msg = st == VSM_S_OK && n == msg->n && memcmp(out, msg->p, n) == 0;
	int pad = has_flag(c->test, "InvalidPkcs1Padding");

	kat_check(c->f, !is_msg && (!pad || st == VSM_S_OK),
		  "tc %d (invalid%s): decrypt %s/%s, %zu bytes%s", c->tc, pad ? ", padding" : "",
		  vsm_status_name(st), vsm_detail_name(d), n,
		  is_msg ? ", the expected message" : "");
	for (size_t i = 0; i < sizeof(wp_pkcs1_synthetic) / sizeof(wp_pkcs1_synthetic[0]); i++) {
		struct kat_buf want;

		if (wp_pkcs1_synthetic[i].tc != c->tc)
			continue;
		want = kat_hex(wp_pkcs1_synthetic[i].synthetic);
		kat_check(c->f, st == VSM_S_OK && n == want.n && memcmp(out, want.p, n) == 0,
			  "tc %d: synthetic message differs from OpenSSL 3.2+ implicit rejection",
			  c->tc);
		kat_buf_free(&want);
	}
}

static void wp_rsa_decrypt(struct wp_ctx *c, uint32_t pad)
{
	struct kat_buf der = hexf(c->group, "privateKeyPkcs8"), label = hexf(c->test, "label");
	struct kat_buf msg = hexf(c->test, "msg"), ct = hexf(c->test, "ct");
	struct vsm_wire_session p = {
		.service = VSM_SVC_AKCIPHER,
		.alg = VSM_ALG_RSA,
		.padding = pad,
		.salt_len = -1,
		.key = der.p,
		.key_len = (uint32_t)der.n,
		.aux = label.p,
		.aux_len = (uint32_t)label.n,
	};
	uint8_t out[1024];
	char why[96] = "";
	size_t n = 0;
	int st, d, ok = 0;
	void *s = NULL;

	if (*str(c->group, "sha"))
		p.hash = (uint32_t)hash_alg(str(c->group, "sha"));
	if (*str(c->group, "mgfSha"))
		p.mgf_hash = (uint32_t)hash_alg(str(c->group, "mgfSha"));
	st = c->be->session_new(c->be->ctx, &p, &s, &d);
	if (st == VSM_S_OK) {
		st = kat_op(c->be, s, VSM_OP_DECRYPT, 0, NULL, NULL, ct.p, ct.n, NULL, out,
			    sizeof(out), &n, &d);
		ok = st == VSM_S_OK && n == msg.n && memcmp(out, msg.p, n) == 0;
		c->be->session_free(c->be->ctx, s);
	}
	snprintf(why, sizeof(why), "decrypt %s/%s", vsm_status_name(st), vsm_detail_name(d));
	if (pad == VSM_PAD_PKCS1 && c->exp == EXP_INVALID)
		wp_pkcs1_invalid(c, st, d, out, n, &msg);
	else
		wp_record(c, ok, 0, why);
	kat_buf_free(&der);
	kat_buf_free(&label);
	kat_buf_free(&msg);
	kat_buf_free(&ct);
}

static void wp_oaep(struct wp_ctx *c)
{
	wp_rsa_decrypt(c, VSM_PAD_OAEP);
}

static void wp_pkcs1_dec(struct wp_ctx *c)
{
	wp_rsa_decrypt(c, VSM_PAD_PKCS1);
}

struct wp_file {
	const char *file;
	void (*test)(struct wp_ctx *c); /* per-test runner, or */
	uint32_t sig_alg, sig_pad;	/* signature verification with a group key */
};

static const struct wp_file wp_files[] = {
	{"aes_ccm_test.json", wp_ccm, 0, 0},
	{"aes_cmac_test.json", wp_cmac, 0, 0},
	{"aes_gcm_test.json", wp_gcm, 0, 0},
	{"aes_xts_test.json", wp_xts, 0, 0},
	{"chacha20_poly1305_test.json", wp_chachapoly, 0, 0},
	{"ecdsa_secp256r1_sha256_test.json", NULL, VSM_ALG_ECDSA, 0},
	{"ed25519_test.json", NULL, VSM_ALG_ED25519, 0},
	{"hmac_sha256_test.json", wp_hmac256, 0, 0},
	{"hmac_sha384_test.json", wp_hmac384, 0, 0},
	{"hmac_sm3_test.json", wp_hmacsm3, 0, 0},
	{"rsa_oaep_2048_sha256_mgf1sha256_test.json", wp_oaep, 0, 0},
	{"rsa_pkcs1_2048_test.json", wp_pkcs1_dec, 0, 0},
	{"rsa_pss_2048_sha256_mgf1_32_test.json", NULL, VSM_ALG_RSA, VSM_PAD_PSS},
	{"rsa_signature_2048_sha256_test.json", NULL, VSM_ALG_RSA, VSM_PAD_PKCS1},
};

static unsigned wp_run_file(const struct kat_backend *be, const char *dir, const struct wp_file *w)
{
	char path[4096];
	json_error_t err;
	json_t *root, *groups, *g;
	struct kat_file f;
	size_t gi;

	snprintf(path, sizeof(path), "%s/wycheproof/%s", dir, w->file);
	kat_begin(&f, w->file);
	root = json_load_file(path, 0, &err);
	if (!root) {
		kat_check(&f, 0, "cannot load %s: %s", path, err.text);
		return kat_end(&f);
	}
	groups = json_object_get(root, "testGroups");
	json_array_foreach(groups, gi, g)
	{
		struct wp_ctx c = {.be = be, .f = &f, .group = g};
		json_t *t, *tests = json_object_get(g, "tests");
		void *s = NULL;
		size_t ti;
		int st = VSM_S_OK, d = 0;

		if (!w->test)
			s = wp_sig_session(&c, w->sig_alg, w->sig_pad, &st, &d);
		json_array_foreach(tests, ti, t)
		{
			const char *r = str(t, "result");

			c.test = t;
			c.tc = (int)json_integer_value(json_object_get(t, "tcId"));
			c.exp = strcmp(r, "valid") == 0	    ? EXP_VALID
				: strcmp(r, "invalid") == 0 ? EXP_INVALID
							    : EXP_ACCEPTABLE;
			if (w->test)
				w->test(&c);
			else if (s)
				wp_verify(&c, s);
			else
				/* A public key vsm refuses: nothing under it can verify. */
				wp_record(&c, 0, 1, "group key refused");
		}
		if (s)
			be->session_free(be->ctx, s);
	}
	json_decref(root);
	return kat_end(&f);
}

unsigned vsm_kat_wycheproof(const struct kat_backend *be, const char *vectors_dir)
{
	char path[4096];
	unsigned failed = 0;
	struct dirent *de;
	DIR *dir;

	for (size_t i = 0; i < sizeof(wp_files) / sizeof(wp_files[0]); i++)
		failed += wp_run_file(be, vectors_dir, &wp_files[i]);

	/* Say which files are present but not run, so nothing is silently ignored. */
	snprintf(path, sizeof(path), "%s/wycheproof", vectors_dir);
	dir = opendir(path);
	if (!dir) {
		printf("wycheproof: cannot open %s\n", path);
		return failed + 1;
	}
	while ((de = readdir(dir))) {
		int known = 0;

		if (!strstr(de->d_name, ".json"))
			continue;
		for (size_t i = 0; i < sizeof(wp_files) / sizeof(wp_files[0]); i++)
			known |= strcmp(de->d_name, wp_files[i].file) == 0;
		if (known)
			continue;
		if (strcmp(de->d_name, "aes_kwp_test.json") == 0)
			printf("%s: not run (AES-KWP belongs to the keystore, not an engine "
			       "algorithm)\n",
			       de->d_name);
		else
			printf("%s: not run (no vsm algorithm for it)\n", de->d_name);
	}
	closedir(dir);
	return failed;
}
