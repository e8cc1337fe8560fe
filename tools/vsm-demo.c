/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vsm-demo: a few tenants doing real work through libvsm, then one tenant
 * trying to use another tenant's session.
 *
 * Each tenant is a child process. As root, child N switches to uid 20000+N
 * before it connects, so vsmd sees a different peer uid (SO_PEERCRED) and
 * puts each child in its own tenant "uid-20000+N". Without root every child
 * has our uid, so they are one tenant and the isolation check cannot run.
 *
 * Results computed by vsmd are checked against published test vectors or
 * against OpenSSL in this process, so a check can fail.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <vsm/vsm.h>

#define UID_BASE    20000
#define MAX_TENANTS 16
/* A child that has not finished by then is stuck; SIGALRM ends it. */
#define CHILD_TIMEOUT_S 60

enum isolation { ISO_NONE, ISO_OK, ISO_FAIL, ISO_SAME_TENANT };

/* What a child tells the parent when it is done (one atomic pipe write). */
struct verdict {
	int idx;
	unsigned checks;
	unsigned failed;
	int isolation;
};

struct demo {
	const char *uri;
	int idx; /* 1-based tenant number */
	bool distinct;
	FILE *out;
	vsm_client *c;
	int handle_fd; /* tenant 1 writes, tenant 2 reads: a session handle */
	int done_fd;   /* tenant 2 writes, tenant 1 reads: "I have tried it" */
	struct verdict v;
};

static void vreport(struct demo *d, bool ok, const char *fmt, va_list ap)
{
	d->v.checks++;
	if (!ok)
		d->v.failed++;
	fprintf(d->out, "  [%s] ", ok ? " ok " : "FAIL");
	vfprintf(d->out, fmt, ap);
	fputc('\n', d->out);
}

/* A result worth showing: printed either way. */
static bool check(struct demo *d, bool ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(d, ok, fmt, ap);
	va_end(ap);
	return ok;
}

/* A set-up step (session create, key generation): printed only if it fails. */
static bool need(struct demo *d, bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return true;
	va_start(ap, fmt);
	vreport(d, ok, fmt, ap);
	va_end(ap);
	return ok;
}

/* "ok", "invsess/none", "Connection refused", ...; two may be live at once. */
static const char *why(vsm_client *c, int rc)
{
	static char buf[2][96];
	static int k;
	char *b = buf[k++ & 1];

	if (rc == 0)
		return "ok";
	if (rc > 0)
		snprintf(b, sizeof(buf[0]), "%s/%s", vsm_status_name(rc),
			 vsm_detail_name(c ? vsm_last_detail(c) : 0));
	else
		snprintf(b, sizeof(buf[0]), "%s", vsm_strerror(rc));
	return b;
}

static const char *hex(const uint8_t *p, size_t n)
{
	static char buf[2][2 * 64 + 4];
	static int k;
	char *b = buf[k++ & 1];
	size_t shown = n > 64 ? 64 : n;

	for (size_t i = 0; i < shown; i++)
		snprintf(b + 2 * i, 3, "%02x", p[i]);
	if (shown < n)
		strcpy(b + 2 * shown, "...");
	return b;
}

static bool hex_is(const uint8_t *p, size_t n, const char *want)
{
	return strlen(want) == 2 * n && strcmp(hex(p, n), want) == 0;
}

/* The same cipher in this process, to show vsmd computes the standard thing. */
static bool local_encrypt(const char *name, bool aead, const uint8_t *key, const uint8_t *iv,
			  const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t n,
			  uint8_t *out, size_t *out_len)
{
	EVP_CIPHER *ciph = EVP_CIPHER_fetch(NULL, name, NULL);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int l1 = 0, l2 = 0, tmp;
	bool ok = ciph && ctx && EVP_EncryptInit_ex2(ctx, ciph, key, iv, NULL) &&
		  EVP_CIPHER_CTX_set_padding(ctx, 0) &&
		  (!aad_len || EVP_EncryptUpdate(ctx, NULL, &tmp, aad, (int)aad_len)) &&
		  EVP_EncryptUpdate(ctx, out, &l1, in, (int)n) &&
		  EVP_EncryptFinal_ex(ctx, out + l1, &l2) &&
		  (!aead || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, out + l1 + l2));
	*out_len = (size_t)(l1 + l2) + (aead ? 16 : 0);
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(ciph);
	return ok;
}

static void demo_aes_gcm(struct demo *d)
{
	static const uint8_t aad[] = "header: not secret, but bound to the ciphertext";
	char msg[80];
	uint8_t key[32], iv[12], ct[128], pt[128], ref[128];
	size_t n, ct_len = sizeof(ct), pt_len = sizeof(pt), ref_len;
	uint64_t s;
	int rc;

	n = (size_t)snprintf(msg, sizeof(msg), "tenant %d: attack at dawn", d->idx);
	/* The key and nonce come from the card's own random generator. */
	rc = vsm_random(d->c, key, sizeof(key));
	if (rc == 0)
		rc = vsm_random(d->c, iv, sizeof(iv));
	if (!need(d, rc == 0, "AES-256-GCM: key and nonce from vsmd's RNG: %s", why(d->c, rc)))
		return;
	struct vsm_session_params p = {
		.service = VSM_SVC_AEAD,
		.alg = VSM_ALG_AES_GCM,
		.key = key,
		.key_len = sizeof(key),
	};
	rc = vsm_session_create(d->c, &p, &s);
	if (!need(d, rc == 0, "AES-256-GCM: session create: %s", why(d->c, rc)))
		goto out;

	struct vsm_op op = {
		.session = s,
		.op = VSM_OP_ENCRYPT,
		.iv = iv,
		.iv_len = sizeof(iv),
		.aad = aad,
		.aad_len = sizeof(aad) - 1,
		.src = msg,
		.src_len = n,
	};
	rc = vsm_op_run(d->c, &op, ct, &ct_len);
	bool same = local_encrypt("AES-256-GCM", true, key, iv, aad, sizeof(aad) - 1,
				  (const uint8_t *)msg, n, ref, &ref_len) &&
		    rc == 0 && ref_len == ct_len && memcmp(ref, ct, ct_len) == 0;
	check(d, rc == 0 && ct_len == n + 16 && same,
	      "AES-256-GCM (key from vsmd RNG) encrypt \"%s\" -> %zu bytes, = OpenSSL: %s", msg,
	      ct_len,
	      rc     ? why(d->c, rc)
	      : same ? "yes"
		     : "NO");

	op.op = VSM_OP_DECRYPT;
	op.src = ct;
	op.src_len = ct_len;
	rc = vsm_op_run(d->c, &op, pt, &pt_len);
	check(d, rc == 0 && pt_len == n && memcmp(pt, msg, n) == 0,
	      "AES-256-GCM decrypt: round trip %s", rc ? why(d->c, rc) : "matches");

	ct[0] ^= 1;
	pt_len = sizeof(pt);
	rc = vsm_op_run(d->c, &op, pt, &pt_len);
	check(d, rc == VSM_S_BADMSG && vsm_last_detail(d->c) == VSM_D_AUTH_FAILED,
	      "AES-256-GCM decrypt of a tampered ciphertext is refused: %s", why(d->c, rc));
	rc = vsm_session_destroy(d->c, s);
	need(d, rc == 0, "AES-256-GCM: session destroy: %s", why(d->c, rc));
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(pt, sizeof(pt));
}

static void demo_sm4_cbc(struct demo *d)
{
	uint8_t key[16], iv[16], msg[32], ct[64], pt[64], ref[64];
	size_t ct_len = sizeof(ct), pt_len = sizeof(pt), ref_len;
	uint64_t s;
	int rc;

	/* CBC carries no padding in vsm: the input is whole 16-byte blocks. */
	memset(msg, 0, sizeof(msg));
	snprintf((char *)msg, sizeof(msg), "SM4 block data, tenant %d", d->idx);
	rc = vsm_random(d->c, key, sizeof(key));
	if (rc == 0)
		rc = vsm_random(d->c, iv, sizeof(iv));
	if (!need(d, rc == 0, "SM4-CBC: key and IV from vsmd's RNG: %s", why(d->c, rc)))
		return;
	struct vsm_session_params p = {
		.service = VSM_SVC_CIPHER,
		.alg = VSM_ALG_SM4_CBC,
		.key = key,
		.key_len = sizeof(key),
	};
	rc = vsm_session_create(d->c, &p, &s);
	if (!need(d, rc == 0, "SM4-CBC: session create: %s", why(d->c, rc)))
		goto out;
	rc = vsm_encrypt(d->c, s, iv, sizeof(iv), msg, sizeof(msg), ct, &ct_len);
	bool same = local_encrypt("SM4-CBC", false, key, iv, NULL, 0, msg, sizeof(msg), ref,
				  &ref_len) &&
		    rc == 0 && ref_len == ct_len && memcmp(ref, ct, ct_len) == 0;
	check(d, rc == 0 && ct_len == sizeof(msg) && same,
	      "SM4-CBC (key from vsmd RNG) encrypt 2 blocks -> %s..., = OpenSSL: %s", hex(ct, 8),
	      rc     ? why(d->c, rc)
	      : same ? "yes"
		     : "NO");
	rc = vsm_decrypt(d->c, s, iv, sizeof(iv), ct, ct_len, pt, &pt_len);
	check(d, rc == 0 && pt_len == sizeof(msg) && memcmp(pt, msg, sizeof(msg)) == 0,
	      "SM4-CBC decrypt: round trip %s", rc ? why(d->c, rc) : "matches");
	vsm_session_destroy(d->c, s);
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(pt, sizeof(pt));
}

static void demo_digest(struct demo *d, const char *name, int service, int alg, const void *key,
			size_t key_len, const char *in, const char *want)
{
	struct vsm_session_params p = {
		.service = service,
		.alg = alg,
		.key = key,
		.key_len = key_len,
	};
	uint8_t md[64];
	size_t md_len = sizeof(md);
	uint64_t s;
	int rc;

	rc = vsm_session_create(d->c, &p, &s);
	if (!need(d, rc == 0, "%s: session create: %s", name, why(d->c, rc)))
		return;
	rc = vsm_digest(d->c, s, in, strlen(in), md, &md_len);
	check(d, rc == 0 && hex_is(md, md_len, want), "%s(\"%s\") = %s%s", name, in,
	      rc ? why(d->c, rc) : hex(md, md_len),
	      rc == 0 && hex_is(md, md_len, want) ? " (standard vector)" : " WRONG");
	if (service == VSM_SVC_MAC && rc == 0) {
		rc = vsm_verify(d->c, s, in, strlen(in), md, md_len);
		check(d, rc == 0, "%s verify of the right MAC: %s", name, why(d->c, rc));
		md[md_len - 1] ^= 1;
		rc = vsm_verify(d->c, s, in, strlen(in), md, md_len);
		check(d, rc == VSM_S_BADMSG, "%s verify of a wrong MAC is refused: %s", name,
		      why(d->c, rc));
	}
	vsm_session_destroy(d->c, s);
}

/* Key pair made here with OpenSSL, handed to vsmd as DER (PKCS#8 and SPKI). */
static EVP_PKEY *keygen(bool sm2, uint8_t **priv, size_t *priv_len, uint8_t **pub, size_t *pub_len)
{
	EVP_PKEY *k = sm2 ? EVP_PKEY_Q_keygen(NULL, NULL, "SM2")
			  : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	OSSL_ENCODER_CTX *e;
	int n;

	*priv = *pub = NULL;
	if (!k)
		return NULL;
	e = OSSL_ENCODER_CTX_new_for_pkey(k, EVP_PKEY_KEYPAIR, "DER", "PrivateKeyInfo", NULL);
	if (!e || !OSSL_ENCODER_to_data(e, priv, priv_len) || (n = i2d_PUBKEY(k, pub)) <= 0) {
		OSSL_ENCODER_CTX_free(e);
		EVP_PKEY_free(k);
		OPENSSL_clear_free(*priv, *priv_len);
		OPENSSL_free(*pub);
		*priv = *pub = NULL;
		return NULL;
	}
	*pub_len = (size_t)n;
	OSSL_ENCODER_CTX_free(e);
	return k;
}

static bool local_verify(EVP_PKEY *k, bool sm2, const void *msg, size_t n, const uint8_t *sig,
			 size_t sig_len)
{
	static const char sm2_id[] = "1234567812345678";
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = sm2 ? EVP_PKEY_CTX_new(k, NULL) : NULL;
	bool ok = m && (!sm2 || pc);

	if (ok && sm2) {
		/* SM2 hashes Z(user id, public key) first; vsmd uses the default id. */
		ok = EVP_PKEY_CTX_set1_id(pc, sm2_id, sizeof(sm2_id) - 1) > 0;
		EVP_MD_CTX_set_pkey_ctx(m, pc);
	}
	ok = ok && EVP_DigestVerifyInit(m, NULL, sm2 ? EVP_sm3() : EVP_sha256(), NULL, k) == 1 &&
	     EVP_DigestVerify(m, sig, sig_len, msg, n) == 1;
	EVP_MD_CTX_free(m);
	EVP_PKEY_CTX_free(pc);
	return ok;
}

static void demo_sign(struct demo *d, bool sm2)
{
	const char *name = sm2 ? "SM2" : "ECDSA P-256";
	char msg[64];
	uint8_t *priv, *pub, sig[160];
	size_t priv_len = 0, pub_len = 0, sig_len = sizeof(sig), n;
	uint64_t ss = 0, sv = 0;
	int rc;

	n = (size_t)snprintf(msg, sizeof(msg), "contract signed by tenant %d", d->idx);
	EVP_PKEY *k = keygen(sm2, &priv, &priv_len, &pub, &pub_len);
	if (!need(d, k != NULL, "%s: key pair generated locally with OpenSSL", name))
		return;
	struct vsm_session_params p = {
		.service = VSM_SVC_AKCIPHER,
		.alg = sm2 ? VSM_ALG_SM2 : VSM_ALG_ECDSA,
		.key = priv,
		.key_len = priv_len,
	};
	rc = vsm_session_create(d->c, &p, &ss);
	need(d, rc == 0, "%s: signing session from a %zu-byte PKCS#8 key: %s", name, priv_len,
	     why(d->c, rc));
	p.key = pub;
	p.key_len = pub_len;
	int rv = vsm_session_create(d->c, &p, &sv);
	need(d, rv == 0, "%s: verifying session from a %zu-byte public key: %s", name, pub_len,
	     why(d->c, rv));
	if (rc || rv)
		goto out;

	rc = vsm_sign(d->c, ss, msg, n, sig, &sig_len);
	if (!check(d, rc == 0, "%s sign \"%s\" (PKCS#8 key from OpenSSL): %zu-byte sig %s", name,
		   msg, rc ? 0 : sig_len, why(d->c, rc)))
		goto out;
	rc = vsm_verify(d->c, sv, msg, n, sig, sig_len);
	check(d, rc == 0, "%s verify by vsmd: %s", name, why(d->c, rc));
	check(d, local_verify(k, sm2, msg, n, sig, sig_len), "%s verify by OpenSSL: %s", name,
	      local_verify(k, sm2, msg, n, sig, sig_len) ? "ok" : "REJECTED");
	msg[0] ^= 0x20;
	rc = vsm_verify(d->c, sv, msg, n, sig, sig_len);
	check(d, rc == VSM_S_BADMSG && vsm_last_detail(d->c) == VSM_D_AUTH_FAILED,
	      "%s verify of an altered message is refused: %s", name, why(d->c, rc));
out:
	if (ss)
		vsm_session_destroy(d->c, ss);
	if (sv)
		vsm_session_destroy(d->c, sv);
	OPENSSL_clear_free(priv, priv_len);
	OPENSSL_free(pub);
	EVP_PKEY_free(k);
}

/*
 * A key that never leaves vsmd: generated in the tenant's keystore slot
 * (SIGN, 1), used by index with its password, checked by OpenSSL with the
 * exported public key. Every tenant uses index 1: each has its own.
 */
static void demo_keystore(struct demo *d)
{
	static const char pw[] = "demo password";
	char msg[64];
	uint8_t pub[512], sig[160];
	size_t pub_len = sizeof(pub), sig_len = sizeof(sig), n;
	uint64_t s = 0;
	int rc;

	if (!(vsm_info(d->c)->features & VSM_FEAT_KEYSTORE)) {
		fprintf(d->out, "  [skip] keystore: disabled in this vsmd (docs/keystore.md)\n");
		return;
	}
	/* A previous demo run left its key: start from an empty slot. */
	rc = vsm_key_delete(d->c, VSM_KU_SIGN, 1);
	if (!need(d, rc == 0 || vsm_last_detail(d->c) == VSM_D_NO_KEY,
		  "keystore: emptying slot (sign, 1): %s", why(d->c, rc)))
		return;
	rc = vsm_key_generate(d->c, VSM_KU_SIGN, 1, VSM_KT_SM2, 256, pw, sizeof(pw) - 1,
			      "demo-key");
	if (!need(d, rc == 0, "keystore: SM2 key generated inside vsmd at (sign, 1): %s",
		  why(d->c, rc)))
		return;
	rc = vsm_key_public(d->c, VSM_KU_SIGN, 1, pub, &pub_len);
	const uint8_t *pp = pub;
	EVP_PKEY *k = rc == 0 ? d2i_PUBKEY(NULL, &pp, (long)pub_len) : NULL;
	if (!need(d, k != NULL, "keystore: public key exported (%zu-byte SPKI): %s",
		  rc ? 0 : pub_len, why(d->c, rc)))
		return;

	struct vsm_session_params p = {.service = VSM_SVC_AKCIPHER, .alg = VSM_ALG_SM2};
	rc = vsm_session_create_internal(d->c, &p, VSM_KU_SIGN, 1, "wrong", 5, &s);
	check(d, rc == VSM_S_KEY_REJECTED && vsm_last_detail(d->c) == VSM_D_ACCESS_DENIED,
	      "keystore: wrong password refused: %s", why(d->c, rc));
	s = 0;
	rc = vsm_session_create_internal(d->c, &p, VSM_KU_SIGN, 1, pw, sizeof(pw) - 1, &s);
	if (need(d, rc == 0, "keystore: session on key index 1 with its password: %s",
		 why(d->c, rc))) {
		n = (size_t)snprintf(msg, sizeof(msg), "signed in vsmd for tenant %d", d->idx);
		rc = vsm_sign(d->c, s, msg, n, sig, &sig_len);
		bool ok = rc == 0 && local_verify(k, true, msg, n, sig, sig_len);
		check(d, ok, "keystore: SM2 signature by index verified by OpenSSL: %s",
		      rc   ? why(d->c, rc)
		      : ok ? "ok"
			   : "REJECTED");
		vsm_session_destroy(d->c, s);
	}
	EVP_PKEY_free(k);
}

static void demo_random(struct demo *d)
{
	uint8_t a[32], b[32], zero[32] = {0};
	int rc = vsm_random(d->c, a, sizeof(a));

	if (rc == 0)
		rc = vsm_random(d->c, b, sizeof(b));
	check(d, rc == 0 && memcmp(a, zero, sizeof(a)) && memcmp(a, b, sizeof(a)),
	      "random: 32 bytes %s (two draws differ)", rc ? why(d->c, rc) : hex(a, 16));
}

/* A destroyed handle must not come back to life. */
static void demo_stale(struct demo *d)
{
	struct vsm_session_params p = {.service = VSM_SVC_HASH, .alg = VSM_ALG_SHA256};
	uint8_t md[32];
	size_t md_len = sizeof(md);
	uint64_t s;
	int rc = vsm_session_create(d->c, &p, &s);

	if (rc == 0)
		rc = vsm_session_destroy(d->c, s);
	if (!need(d, rc == 0, "stale handle: create + destroy: %s", why(d->c, rc)))
		return;
	rc = vsm_digest(d->c, s, "abc", 3, md, &md_len);
	check(d, rc == VSM_S_INVSESS, "stale handle: use after destroy -> %s", why(d->c, rc));
}

static void demo_status(struct demo *d)
{
	struct vsm_wire_status st;
	int rc = vsm_status(d->c, &st);

	check(d, rc == 0, "status: tenant %.32s, %u/%u sessions, %llu ops, %llu errors: %s",
	      rc ? "?" : st.tenant, rc ? 0 : st.sessions, rc ? 0 : st.max_sessions,
	      rc ? 0ull : (unsigned long long)st.ops, rc ? 0ull : (unsigned long long)st.errors,
	      why(d->c, rc));
}

/* Tenant 1: offer a live session handle to tenant 2, keep it alive meanwhile. */
static void isolation_owner(struct demo *d)
{
	struct vsm_session_params p = {
		.service = VSM_SVC_MAC,
		.alg = VSM_ALG_HMAC_SHA256,
		.key = "tenant 1 only",
		.key_len = 13,
	};
	uint8_t mac[32];
	size_t mac_len = sizeof(mac);
	uint64_t s = 0;
	char done;
	int rc = vsm_session_create(d->c, &p, &s);

	check(d, rc == 0, "isolation: session %#llx handed to tenant 2: %s", (unsigned long long)s,
	      why(d->c, rc));
	if (rc)
		s = 0; /* tenant 2 reports that nothing came */
	if (write(d->handle_fd, &s, sizeof(s)) != sizeof(s))
		check(d, false, "isolation: cannot write to tenant 2: %s", strerror(errno));
	/* Our connection stays open: the session stays live while tenant 2 tries it. */
	if (read(d->done_fd, &done, 1) != 1)
		check(d, false, "isolation: tenant 2 never reported back");
	if (!s)
		return;
	rc = vsm_digest(d->c, s, "x", 1, mac, &mac_len);
	check(d, rc == 0, "isolation: the session still works for its owner: %s", why(d->c, rc));
}

/* Tenant 2: try tenant 1's handle. */
static void isolation_intruder(struct demo *d)
{
	uint8_t mac[32];
	size_t mac_len = sizeof(mac);
	uint64_t s = 0;
	ssize_t n = read(d->handle_fd, &s, sizeof(s));
	int rc, rd;

	if (!check(d, n == sizeof(s) && s != 0, "isolation: got tenant 1's session handle %#llx",
		   (unsigned long long)s)) {
		d->v.isolation = ISO_FAIL;
		goto out;
	}
	rc = vsm_digest(d->c, s, "x", 1, mac, &mac_len);
	if (d->distinct) {
		rd = vsm_session_destroy(d->c, s);
		bool ok = rc == VSM_S_INVSESS && rd == VSM_S_INVSESS;
		check(d, rc == VSM_S_INVSESS, "isolation: using tenant 1's handle -> %s",
		      why(d->c, rc));
		check(d, rd == VSM_S_INVSESS, "isolation: destroying tenant 1's handle -> %s",
		      why(d->c, rd));
		d->v.isolation = ok ? ISO_OK : ISO_FAIL;
	} else {
		/* Same tenant on another connection: handles belong to the tenant. */
		check(d, rc == 0, "same tenant, other connection: the handle works (%s)",
		      why(d->c, rc));
		d->v.isolation = ISO_SAME_TENANT;
	}
out:
	if (write(d->done_fd, "", 1) != 1)
		check(d, false, "isolation: cannot tell tenant 1: %s", strerror(errno));
}

static int become_tenant(struct demo *d)
{
	uid_t uid = (uid_t)(UID_BASE + d->idx);

	/* Group first: once the uid is dropped we may no longer change it. */
	if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		check(d, false, "switch to uid/gid %u: %s", (unsigned)uid, strerror(errno));
		return -1;
	}
	return 0;
}

static void run_tenant(struct demo *d)
{
	static const char sha256_abc[] =
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	static const char sm3_abc[] =
		"66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0";
	/* RFC 4231 test case 2. */
	static const char hmac_tc2[] =
		"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
	int rc;

	if (d->distinct && become_tenant(d) < 0)
		goto out;
	rc = vsm_connect(d->uri, &d->c);
	if (!check(d, rc == 0, "connect as uid %u: %s", (unsigned)getuid(), why(NULL, rc)))
		goto out;
	const struct vsm_wire_hello_resp *h = vsm_info(d->c);
	fprintf(d->out,
		"  vsmd says: tenant \"%.32s\", protocol v%u, max_sessions %u, max_inflight %u, "
		"max_msg %u\n",
		h->tenant, h->version, h->max_sessions, h->max_inflight, h->max_msg);

	demo_aes_gcm(d);
	demo_sm4_cbc(d);
	demo_digest(d, "SHA-256", VSM_SVC_HASH, VSM_ALG_SHA256, NULL, 0, "abc", sha256_abc);
	demo_digest(d, "SM3", VSM_SVC_HASH, VSM_ALG_SM3, NULL, 0, "abc", sm3_abc);
	demo_digest(d, "HMAC-SHA256", VSM_SVC_MAC, VSM_ALG_HMAC_SHA256, "Jefe", 4,
		    "what do ya want for nothing?", hmac_tc2);
	demo_sign(d, false);
	demo_sign(d, true);
	demo_keystore(d);
	demo_random(d);
	demo_stale(d);
	if (d->idx == 1 && d->handle_fd >= 0)
		isolation_owner(d);
	if (d->idx == 2)
		isolation_intruder(d);
	demo_status(d);
out:
	/* The other side of the isolation check must never wait for us forever. */
	if (d->idx == 2 && !d->c)
		(void)!write(d->done_fd, "", 1);
	vsm_close(d->c);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vsm-demo [-u URI] [-n TENANTS]\n"
		"\n"
		"Runs TENANTS (default 3, 1..%d) client processes against vsmd. Each does\n"
		"AES-256-GCM, SM4-CBC, SHA-256, SM3, HMAC-SHA256, ECDSA P-256 and SM2\n"
		"sign/verify and random bytes, checked against standard vectors and\n"
		"OpenSSL. Tenant 2 then tries tenant 1's session handle, which must fail\n"
		"with invsess. As root, tenant N runs as uid %d+N so that vsmd sees\n"
		"distinct tenants; otherwise all share one tenant and isolation is skipped.\n"
		"\n"
		"  -u URI       unix:PATH, tcp:HOST:PORT or vsock:CID:PORT\n"
		"               (default $VSM_URI, else unix:" VSM_DEFAULT_SOCKET ")\n"
		"  -n TENANTS   number of tenant processes\n"
		"  -h           this text\n"
		"\n"
		"Exit status: 0 if every check passed, 1 if any failed, 2 on bad usage.\n",
		MAX_TENANTS, UID_BASE);
}

/* Copy everything a child wrote, in tenant order, so reports do not interleave. */
static void relay(int fd)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			fwrite(buf, 1, (size_t)n, stdout);
	close(fd);
}

int main(int argc, char **argv)
{
	const char *uri = NULL;
	int n = 3, o;
	int out[MAX_TENANTS][2], verdicts[2], handle[2] = {-1, -1}, done[2] = {-1, -1};
	pid_t pid[MAX_TENANTS];

	while ((o = getopt(argc, argv, "u:n:h")) != -1) {
		switch (o) {
		case 'u':
			uri = optarg;
			break;
		case 'n': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || end == optarg || v < 1 || v > MAX_TENANTS) {
				fprintf(stderr, "vsm-demo: -n needs 1..%d\n", MAX_TENANTS);
				return 2;
			}
			n = (int)v;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}

	bool distinct = geteuid() == 0;
	const char *env = getenv("VSM_URI");
	printf("vsm-demo: %d tenant%s against %s\n", n, n > 1 ? "s" : "",
	       uri   ? uri
	       : env ? env
		     : "unix:" VSM_DEFAULT_SOCKET);
	if (distinct)
		printf("running as root: tenant N switches to uid/gid %d+N before connecting,\n"
		       "so vsmd identifies each one separately (SO_PEERCRED)\n",
		       UID_BASE);
	else
		printf("not root: every process has uid %u, so vsmd sees ONE tenant and the\n"
		       "isolation check is skipped (run as root to see distinct tenants)\n",
		       (unsigned)getuid());
	fflush(stdout);

	if (pipe(verdicts) < 0 || (n >= 2 && (pipe(handle) < 0 || pipe(done) < 0))) {
		perror("vsm-demo: pipe");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		if (pipe(out[i]) < 0) {
			perror("vsm-demo: pipe");
			return 1;
		}
		pid[i] = fork();
		if (pid[i] < 0) {
			perror("vsm-demo: fork");
			return 1;
		}
		if (pid[i] == 0) {
			struct demo d = {
				.uri = uri,
				.idx = i + 1,
				.distinct = distinct,
				.handle_fd = -1,
				.done_fd = -1,
				.v = {.idx = i + 1},
			};
			/* A peer tenant that gave up must not kill us through its pipe. */
			signal(SIGPIPE, SIG_IGN);
			alarm(CHILD_TIMEOUT_S);
			close(out[i][0]);
			close(verdicts[0]);
			d.out = fdopen(out[i][1], "w");
			if (!d.out)
				_exit(1);
			if (i == 0 && n >= 2) {
				d.handle_fd = handle[1];
				d.done_fd = done[0];
				close(handle[0]);
				close(done[1]);
			} else if (i == 1) {
				d.handle_fd = handle[0];
				d.done_fd = done[1];
				close(handle[1]);
				close(done[0]);
			} else if (n >= 2) {
				close(handle[0]);
				close(handle[1]);
				close(done[0]);
				close(done[1]);
			}
			run_tenant(&d);
			fclose(d.out);
			if (write(verdicts[1], &d.v, sizeof(d.v)) != sizeof(d.v))
				_exit(1);
			_exit(d.v.failed ? 1 : 0);
		}
		close(out[i][1]);
	}
	close(verdicts[1]);
	if (n >= 2) {
		close(handle[0]);
		close(handle[1]);
		close(done[0]);
		close(done[1]);
	}

	for (int i = 0; i < n; i++) {
		printf("\n== tenant %d%s ==\n", i + 1,
		       i == 0 && n >= 2 ? " (owns the session tenant 2 will try)"
		       : i == 1		? " (tries tenant 1's session)"
					: "");
		fflush(stdout);
		relay(out[i][0]);
		fflush(stdout);
	}

	unsigned checks = 0, failed = 0, died = 0, got = 0;
	int isolation = ISO_NONE;
	struct verdict v;
	while (read(verdicts[0], &v, sizeof(v)) == sizeof(v)) {
		got++;
		checks += v.checks;
		failed += v.failed;
		if (v.idx == 2)
			isolation = v.isolation;
	}
	for (int i = 0; i < n; i++) {
		int st;
		if (waitpid(pid[i], &st, 0) < 0 || !WIFEXITED(st) || (WEXITSTATUS(st) && !failed)) {
			died++;
			if (WIFSIGNALED(st))
				printf("tenant %d died: %s\n", i + 1, strsignal(WTERMSIG(st)));
		}
	}
	if (got < (unsigned)n && !died)
		died = (unsigned)n - got;

	printf("\nsummary: %d tenant%s, %u checks, %u failed%s\n", n, n > 1 ? "s" : "", checks,
	       failed, died ? ", some tenant processes did not finish" : "");
	switch (isolation) {
	case ISO_OK:
		printf("isolation: OK (foreign handle -> invsess)\n");
		break;
	case ISO_FAIL:
		printf("isolation: FAILED (tenant 2 could reach tenant 1's session)\n");
		break;
	case ISO_SAME_TENANT:
		printf("isolation: SKIPPED (one tenant; run as root for distinct tenants)\n");
		break;
	default:
		printf("isolation: %s\n", n >= 2 ? "NOT RUN (a tenant failed before the check)"
						 : "not checked (needs -n 2 or more)");
	}
	return failed || died || isolation == ISO_FAIL ? 1 : 0;
}
