/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest test client: runs inside a VM (statically linked, no OpenSSL
 * there) and checks vsmd's answers over "ivshmem:" against known answers
 * compiled in. It works over any libvsm URI, so the same binary also runs on
 * the host (tests/integration/test_ivshmem.c points it at a fake device).
 *
 * Output, one line each, parsed by tests/guest/run-ivshmem.sh:
 *   IVSHMEM-TEST: PASS <name>
 *   IVSHMEM-TEST: FAIL <name>: <why>
 *   IVSHMEM-TEST: DONE failures=<n> ops=<requests completed>
 * Usage: vsm-guest-test [URI]   (default "ivshmem:")
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vsm/vsm.h>

#include "kat_keys.h"

#define TAG "IVSHMEM-TEST: "

static vsm_client *c;
static unsigned failures;
static unsigned long ops; /* requests that reached vsmd and completed */

/* Check one thing; on failure say what and return from the test. */
#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf(TAG "FAIL %s: ", name);                                             \
			printf(__VA_ARGS__);                                                       \
			printf("\n");                                                              \
			failures++;                                                                \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define OK(call)                                                                                   \
	do {                                                                                       \
		int rc_ = (call);                                                                  \
		ops++;                                                                             \
		CHECK(rc_ == 0, "%s: %d (%s) detail %s", #call, rc_, vsm_strerror(rc_),            \
		      vsm_detail_name(vsm_last_detail(c)));                                        \
	} while (0)

static void pass(const char *name)
{
	printf(TAG "PASS %s\n", name);
}

/* Hex into bytes; the vectors below are literal, so a bad one is a bug here. */
static size_t unhex(const char *h, unsigned char *out)
{
	size_t n = strlen(h) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			abort();
		out[i] = (unsigned char)v;
	}
	return n;
}

static uint64_t session(int service, int alg, const void *key, size_t key_len, int *rc)
{
	struct vsm_session_params p = {
		.service = service,
		.alg = alg,
		.key = key,
		.key_len = key_len,
		.padding = service == VSM_SVC_AKCIPHER && alg == VSM_ALG_RSA ? VSM_PAD_PKCS1 : 0,
	};
	uint64_t h = 0;

	*rc = vsm_session_create(c, &p, &h);
	ops++;
	return h;
}

/* McGrew-Viega GCM test case 3 (AES-128, 64-byte plaintext, no AAD). */
static void test_aes_gcm(void)
{
	const char *name = "aes-gcm";
	unsigned char key[16], iv[12], pt[64], want[80], out[80], back[64];
	size_t n = sizeof(out), m = sizeof(back);
	uint64_t s;
	int rc;

	unhex("feffe9928665731c6d6a8f9467308308", key);
	unhex("cafebabefacedbaddecaf888", iv);
	unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
	      pt);
	unhex("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
	      "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985"
	      "4d5c2af327cd64a62cf35abd2ba6fab4",
	      want);
	s = session(VSM_SVC_AEAD, VSM_ALG_AES_GCM, key, sizeof(key), &rc);
	CHECK(rc == 0, "session: %s", vsm_strerror(rc));
	OK(vsm_encrypt(c, s, iv, sizeof(iv), pt, sizeof(pt), out, &n));
	CHECK(n == sizeof(want) && !memcmp(out, want, n), "ciphertext+tag differ (%zu bytes)", n);
	OK(vsm_decrypt(c, s, iv, sizeof(iv), out, n, back, &m));
	CHECK(m == sizeof(pt) && !memcmp(back, pt, m), "decryption differs");
	out[70] ^= 1;
	m = sizeof(back);
	rc = vsm_decrypt(c, s, iv, sizeof(iv), out, n, back, &m);
	ops++;
	CHECK(rc == VSM_S_BADMSG && vsm_last_detail(c) == VSM_D_AUTH_FAILED, "forged tag: %d (%s)",
	      rc, vsm_strerror(rc));
	OK(vsm_session_destroy(c, s));
	pass(name);
}

/*
 * SM4-CBC, GB/T 32907 appendix A key and plaintext as block 1 (with a zero
 * IV, its ciphertext is the standard's 681edf34...), then a second block.
 * In place, in a vsm_shm_alloc buffer: the zero-copy path.
 */
static void test_sm4_cbc(void)
{
	const char *name = "sm4-cbc";
	unsigned char key[16], iv[16] = {0}, pt[32], want[32], out[32];
	size_t n = sizeof(out);
	unsigned char *buf;
	uint64_t s;
	int rc;

	unhex("0123456789abcdeffedcba9876543210", key);
	unhex("0123456789abcdeffedcba9876543210000102030405060708090a0b0c0d0e0f", pt);
	unhex("681edf34d206965e86b3e94f536e42464634601ffa985e4e057248fda5bca385", want);
	s = session(VSM_SVC_CIPHER, VSM_ALG_SM4_CBC, key, sizeof(key), &rc);
	CHECK(rc == 0, "session: %s", vsm_strerror(rc));
	OK(vsm_encrypt(c, s, iv, sizeof(iv), pt, sizeof(pt), out, &n));
	CHECK(n == 32 && !memcmp(out, want, 32), "ciphertext differs");
	buf = vsm_shm_alloc(c, sizeof(pt));
	CHECK(buf, "vsm_shm_alloc: NULL");
	memcpy(buf, want, sizeof(want));
	n = sizeof(want);
	OK(vsm_decrypt(c, s, iv, sizeof(iv), buf, sizeof(want), buf, &n));
	CHECK(n == 32 && !memcmp(buf, pt, 32), "in-place decryption differs");
	vsm_shm_free(c, buf);
	OK(vsm_session_destroy(c, s));
	pass(name);
}

static void test_digest(const char *name, int alg, const char *want_hex)
{
	unsigned char want[32], out[32];
	size_t n = sizeof(out);
	uint64_t s;
	int rc;

	unhex(want_hex, want);
	s = session(VSM_SVC_HASH, alg, NULL, 0, &rc);
	CHECK(rc == 0, "session: %s", vsm_strerror(rc));
	OK(vsm_digest(c, s, "abc", 3, out, &n));
	CHECK(n == 32 && !memcmp(out, want, 32), "digest differs");
	OK(vsm_session_destroy(c, s));
	pass(name);
}

/* RFC 4231 test case 2. */
static void test_hmac(void)
{
	const char *name = "hmac-sha256";
	static const char data[] = "what do ya want for nothing?";
	unsigned char want[32], out[32];
	size_t n = sizeof(out);
	uint64_t s;
	int rc;

	unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", want);
	s = session(VSM_SVC_MAC, VSM_ALG_HMAC_SHA256, "Jefe", 4, &rc);
	CHECK(rc == 0, "session: %s", vsm_strerror(rc));
	OK(vsm_digest(c, s, data, strlen(data), out, &n));
	CHECK(n == 32 && !memcmp(out, want, 32), "mac differs");
	OK(vsm_verify(c, s, data, strlen(data), want, sizeof(want)));
	OK(vsm_session_destroy(c, s));
	pass(name);
}

/* PKCS#1 v1.5 is deterministic: the signature host OpenSSL made is the answer. */
static void test_rsa(void)
{
	const char *name = "rsa2048-sign";
	unsigned char sig[256];
	size_t n = sizeof(sig);
	uint64_t s, p;
	int rc;

	s = session(VSM_SVC_AKCIPHER, VSM_ALG_RSA, kat_rsa_priv, sizeof(kat_rsa_priv), &rc);
	CHECK(rc == 0, "private session: %s", vsm_strerror(rc));
	OK(vsm_sign(c, s, kat_msg, strlen(kat_msg), sig, &n));
	CHECK(n == sizeof(kat_rsa_sig) && !memcmp(sig, kat_rsa_sig, n), "signature differs");
	p = session(VSM_SVC_AKCIPHER, VSM_ALG_RSA, kat_rsa_pub, sizeof(kat_rsa_pub), &rc);
	CHECK(rc == 0, "public session: %s", vsm_strerror(rc));
	OK(vsm_verify(c, p, kat_msg, strlen(kat_msg), kat_rsa_sig, sizeof(kat_rsa_sig)));
	OK(vsm_session_destroy(c, s));
	OK(vsm_session_destroy(c, p));
	pass(name);
}

/*
 * SM2 signatures are randomised: sign, then verify ours and host OpenSSL's
 * on a public-key session; a changed message must not verify.
 */
static void test_sm2(void)
{
	const char *name = "sm2-sign";
	size_t len = strlen(kat_msg), n;
	unsigned char sig[80];
	uint64_t s, p;
	int rc;

	s = session(VSM_SVC_AKCIPHER, VSM_ALG_SM2, kat_sm2_priv, sizeof(kat_sm2_priv), &rc);
	CHECK(rc == 0, "private session: %s", vsm_strerror(rc));
	p = session(VSM_SVC_AKCIPHER, VSM_ALG_SM2, kat_sm2_pub, sizeof(kat_sm2_pub), &rc);
	CHECK(rc == 0, "public session: %s", vsm_strerror(rc));
	n = sizeof(sig);
	OK(vsm_sign(c, s, kat_msg, len, sig, &n));
	CHECK(n >= 8 && n <= 72 && sig[0] == 0x30, "not a DER signature (%zu bytes)", n);
	OK(vsm_verify(c, p, kat_msg, len, sig, n));
	OK(vsm_verify(c, p, kat_msg, len, kat_sm2_sig, sizeof(kat_sm2_sig)));
	rc = vsm_verify(c, p, kat_msg, len - 1, kat_sm2_sig, sizeof(kat_sm2_sig));
	ops++;
	CHECK(rc == VSM_S_BADMSG && vsm_last_detail(c) == VSM_D_AUTH_FAILED,
	      "changed message verified: %d (%s)", rc, vsm_strerror(rc));
	OK(vsm_session_destroy(c, s));
	OK(vsm_session_destroy(c, p));
	pass(name);
}

static void test_random_nop_status(void)
{
	const char *name = "random-nop-status";
	unsigned char a[64] = {0}, b[64] = {0}, zero[64] = {0};
	struct vsm_wire_status st;

	OK(vsm_random(c, a, sizeof(a)));
	OK(vsm_random(c, b, sizeof(b)));
	CHECK(memcmp(a, zero, 64) && memcmp(a, b, 64), "random bytes repeat or are zero");
	OK(vsm_nop(c, a, sizeof(a)));
	OK(vsm_status(c, &st));
	CHECK(!strcmp(st.tenant, vsm_info(c)->tenant), "STATUS tenant '%s'", st.tenant);
	CHECK(st.ops > 0, "STATUS counts no ops");
	pass(name);
}

/* Several requests in flight, reaped by vsm_poll. */
static void test_async(void)
{
	const char *name = "async";
	enum { N = 16 };
	unsigned char want[32], out[N][32];
	struct vsm_completion done[N];
	unsigned got = 0;
	uint64_t s;
	int rc;

	unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want);
	s = session(VSM_SVC_HASH, VSM_ALG_SHA256, NULL, 0, &rc);
	CHECK(rc == 0, "session: %s", vsm_strerror(rc));
	for (uintptr_t i = 0; i < N; i++) {
		struct vsm_op op = {.session = s, .op = VSM_OP_DIGEST, .src = "abc", .src_len = 3};

		rc = vsm_submit(c, &op, out[i], 32, (void *)i, NULL);
		CHECK(rc == 0, "submit %u: %s", (unsigned)i, vsm_strerror(rc));
	}
	while (got < N) {
		int k = vsm_poll(c, done, N, 10000);

		CHECK(k > 0, "poll: %d (%s) after %u", k, vsm_strerror(k), got);
		for (int j = 0; j < k; j++) {
			uintptr_t i = (uintptr_t)done[j].user_data;

			ops++;
			CHECK(done[j].status == 0 && done[j].out_len == 32 && i < N &&
				      !memcmp(out[i], want, 32),
			      "request %u: status %d len %zu", (unsigned)i, done[j].status,
			      done[j].out_len);
		}
		got += (unsigned)k;
	}
	OK(vsm_session_destroy(c, s));
	pass(name);
}

int main(int argc, char **argv)
{
	const char *uri = argc > 1 ? argv[1] : "ivshmem:";
	const struct vsm_wire_hello_resp *in;
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	rc = vsm_connect(uri, &c);
	if (rc) {
		printf(TAG "FAIL connect %s: %d (%s)\n" TAG "DONE failures=1 ops=0\n", uri, rc,
		       vsm_strerror(rc));
		return 1;
	}
	in = vsm_info(c);
	printf(TAG "connected %s tenant=%s max_msg=%u max_inflight=%u max_sessions=%u\n", uri,
	       in->tenant, in->max_msg, in->max_inflight, in->max_sessions);
	if (!strncmp(uri, "ivshmem:", 8))
		ops++; /* the STATUS an ivshmem connect sends */
	test_aes_gcm();
	test_sm4_cbc();
	test_digest("sha256", VSM_ALG_SHA256,
		    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	test_digest("sm3", VSM_ALG_SM3,
		    "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
	test_hmac();
	test_rsa();
	test_sm2();
	test_random_nop_status();
	test_async();
	vsm_close(c);
	printf(TAG "DONE failures=%u ops=%lu\n", failures, ops);
	return failures != 0;
}
