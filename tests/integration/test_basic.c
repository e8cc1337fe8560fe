/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One session of each service through libvsm over the unix socket, checked
 * against published vectors and local OpenSSL; plus RANDOM, NOP and STATUS.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "harness.h"
#include "ref.h"

static vsm_client *up(struct vh_daemon *d, const struct vh_opts *o)
{
	vh_start(d, o);
	return vh_connect(d->uri);
}

static void down(struct vh_daemon *d, vsm_client *c)
{
	vsm_close(c);
	vh_stop(d);
	vh_cleanup(d);
}

/* NIST SP 800-38A F.2.1/F.2.2, CBC-AES128, all four blocks. */
static int t_cipher(void)
{
	struct vh_daemon d;
	vsm_client *c = up(&d, NULL);
	uint8_t key[16], iv[16], pt[64], ct[64], out[64], back[64], ref[64];
	vh_unhex("2b7e151628aed2a6abf7158809cf4f3c", key, sizeof(key));
	vh_unhex("000102030405060708090a0b0c0d0e0f", iv, sizeof(iv));
	vh_unhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
		 "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
		 pt, sizeof(pt));
	vh_unhex("7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
		 "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7",
		 ct, sizeof(ct));
	vh_aes_cbc(key, sizeof(key), iv, pt, sizeof(pt), ref);
	VH_MEMEQ(ref, ct, sizeof(ct));

	VH_CHECK(vsm_alg_supported(c, VSM_ALG_AES_CBC), "aes-cbc not advertised in HELLO");
	uint64_t s = vh_session(c, VSM_SVC_CIPHER, VSM_ALG_AES_CBC, key, sizeof(key));
	size_t n = sizeof(out);
	VH_OK(vsm_encrypt(c, s, iv, sizeof(iv), pt, sizeof(pt), out, &n));
	VH_EQ(n, sizeof(ct));
	VH_MEMEQ(out, ct, sizeof(ct));
	n = sizeof(back);
	VH_OK(vsm_decrypt(c, s, iv, sizeof(iv), out, sizeof(out), back, &n));
	VH_EQ(n, sizeof(pt));
	VH_MEMEQ(back, pt, sizeof(pt));
	VH_OK(vsm_session_destroy(c, s));
	down(&d, c);
	return 0;
}

static int t_hash(void)
{
	struct vh_daemon d;
	vsm_client *c = up(&d, NULL);
	uint8_t want[32], out[64];
	vh_unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want,
		 sizeof(want));
	uint64_t s = vh_session(c, VSM_SVC_HASH, VSM_ALG_SHA256, NULL, 0);
	size_t n = sizeof(out);
	VH_OK(vsm_digest(c, s, "abc", 3, out, &n));
	VH_EQ(n, 32);
	VH_MEMEQ(out, want, 32);
	/* The session is reusable: a second digest gives the same answer. */
	n = sizeof(out);
	VH_OK(vsm_digest(c, s, "abc", 3, out, &n));
	VH_EQ(n, 32);
	VH_MEMEQ(out, want, 32);
	down(&d, c);
	return 0;
}

/* Multi-part hashing (MULTIPART is negotiated by libvsm): "a", "b", then "c". */
static int t_hash_multipart(void)
{
	struct vh_daemon d;
	vsm_client *c = up(&d, NULL);
	VH_CHECK(vsm_info(c)->features & VSM_FEAT_MULTIPART, "MULTIPART not negotiated");
	uint8_t want[32], out[32];
	vh_unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want,
		 sizeof(want));
	uint64_t s = vh_session(c, VSM_SVC_HASH, VSM_ALG_SHA256, NULL, 0);
	static const char *const parts[] = {"a", "b", "c"};
	for (int i = 0; i < 3; i++) {
		struct vsm_op op = {.session = s,
				    .op = VSM_OP_DIGEST,
				    .flags = i < 2 ? VSM_OPF_MORE : 0,
				    .src = parts[i],
				    .src_len = 1};
		size_t n = sizeof(out);
		VH_OK(vsm_op_run(c, &op, out, &n));
		VH_EQ(n, i < 2 ? 0 : 32);
	}
	VH_MEMEQ(out, want, 32);
	down(&d, c);
	return 0;
}

/* RFC 4231 test case 2. */
static int t_hmac(void)
{
	struct vh_daemon d;
	vsm_client *c = up(&d, NULL);
	static const char data[] = "what do ya want for nothing?";
	uint8_t want[32], out[32];
	vh_unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", want,
		 sizeof(want));
	uint64_t s = vh_session(c, VSM_SVC_MAC, VSM_ALG_HMAC_SHA256, "Jefe", 4);
	size_t n = sizeof(out);
	VH_OK(vsm_digest(c, s, data, strlen(data), out, &n));
	VH_EQ(n, 32);
	VH_MEMEQ(out, want, 32);
	/* VERIFY compares in vsmd: the right MAC passes, a flipped bit does not. */
	VH_OK(vsm_verify(c, s, data, strlen(data), want, sizeof(want)));
	want[31] ^= 1;
	VH_STATUS(c, vsm_verify(c, s, data, strlen(data), want, sizeof(want)), VSM_S_BADMSG,
		  VSM_D_AUTH_FAILED);
	down(&d, c);
	return 0;
}

/* McGrew & Viega GCM test case 4 (AES-128, 60-byte plaintext, 20-byte AAD). */
static int t_aead(void)
{
	struct vh_daemon d;
	vsm_client *c = up(&d, NULL);
	uint8_t key[16], iv[12], aad[20], pt[60], want[76], ref[76], out[128], back[128];
	vh_unhex("feffe9928665731c6d6a8f9467308308", key, sizeof(key));
	vh_unhex("cafebabefacedbaddecaf888", iv, sizeof(iv));
	vh_unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2", aad, sizeof(aad));
	vh_unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
		 "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
		 pt, sizeof(pt));
	vh_unhex("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
		 "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"
		 "5bc94fbc3221a5db94fae95ae7121a47",
		 want, sizeof(want));
	vh_aes_gcm(key, sizeof(key), iv, aad, sizeof(aad), pt, sizeof(pt), ref);
	VH_MEMEQ(ref, want, sizeof(want));

	uint64_t s = vh_session(c, VSM_SVC_AEAD, VSM_ALG_AES_GCM, key, sizeof(key));
	struct vsm_op op = {.session = s,
			    .op = VSM_OP_ENCRYPT,
			    .iv = iv,
			    .iv_len = sizeof(iv),
			    .aad = aad,
			    .aad_len = sizeof(aad),
			    .src = pt,
			    .src_len = sizeof(pt)};
	size_t n = sizeof(out);
	VH_OK(vsm_op_run(c, &op, out, &n));
	VH_EQ(n, sizeof(want));
	VH_MEMEQ(out, want, sizeof(want));

	op.op = VSM_OP_DECRYPT;
	op.src = out;
	op.src_len = sizeof(want);
	n = sizeof(back);
	VH_OK(vsm_op_run(c, &op, back, &n));
	VH_EQ(n, sizeof(pt));
	VH_MEMEQ(back, pt, sizeof(pt));

	/* A flipped tag bit, then a flipped AAD bit: both fail authentication. */
	out[sizeof(want) - 1] ^= 0x80;
	n = sizeof(back);
	VH_STATUS(c, vsm_op_run(c, &op, back, &n), VSM_S_BADMSG, VSM_D_AUTH_FAILED);
	VH_EQ(n, 0);
	out[sizeof(want) - 1] ^= 0x80;
	aad[0] ^= 1;
	n = sizeof(back);
	VH_STATUS(c, vsm_op_run(c, &op, back, &n), VSM_S_BADMSG, VSM_D_AUTH_FAILED);
	aad[0] ^= 1;
	/* And the untouched message still decrypts on the same session. */
	n = sizeof(back);
	VH_OK(vsm_op_run(c, &op, back, &n));
	VH_MEMEQ(back, pt, sizeof(pt));
	down(&d, c);
	return 0;
}

/* ECDSA P-256: key made here, signed in vsmd, verified here and in vsmd. */
static int t_akcipher(void)
{
	struct vh_daemon d;
	vsm_client *c = up(&d, NULL);
	static const char msg[] = "integration test message for ECDSA";
	EVP_PKEY *k = vh_ec_p256_new();
	size_t priv_len, pub_len;
	uint8_t *priv = vh_der_pkcs8(k, &priv_len);
	uint8_t *pub = vh_der_spki(k, &pub_len);
	uint8_t sig[160];

	struct vsm_session_params p = {.service = VSM_SVC_AKCIPHER,
				       .alg = VSM_ALG_ECDSA,
				       .key = priv,
				       .key_len = priv_len,
				       .hash = VSM_ALG_SHA256};
	uint64_t ss = 0, vs = 0;
	VH_OK(vsm_session_create(c, &p, &ss));
	p.key = pub;
	p.key_len = pub_len;
	VH_OK(vsm_session_create(c, &p, &vs));

	size_t n = sizeof(sig);
	VH_OK(vsm_sign(c, ss, msg, strlen(msg), sig, &n));
	VH_CHECK(n > 8 && n <= 72, "ECDSA P-256 DER signature of %zu bytes", n);
	VH_CHECK(vh_verify_sha256(k, msg, strlen(msg), sig, n),
		 "OpenSSL rejects the signature vsmd made");
	VH_OK(vsm_verify(c, vs, msg, strlen(msg), sig, n));
	/* The signing session holds the private key, so it can verify too. */
	VH_OK(vsm_verify(c, ss, msg, strlen(msg), sig, n));
	VH_STATUS(c, vsm_verify(c, vs, msg, strlen(msg) - 1, sig, n), VSM_S_BADMSG,
		  VSM_D_AUTH_FAILED);
	/* A public key cannot sign. */
	size_t m = sizeof(sig);
	int rc = vsm_sign(c, vs, msg, strlen(msg), sig, &m);
	VH_CHECK(rc > 0, "sign with a public key: %d (%s)", rc, vsm_strerror(rc));

	OPENSSL_free(priv);
	OPENSSL_free(pub);
	EVP_PKEY_free(k);
	down(&d, c);
	return 0;
}

static int t_random(void)
{
	struct vh_daemon d;
	vsm_client *c = up(&d, NULL);
	static uint8_t a[5000], b[5000], zero[5000];
	/* vsm_random fails with -EPROTO unless exactly the asked length comes back. */
	VH_OK(vsm_random(c, a, sizeof(a)));
	VH_OK(vsm_random(c, b, sizeof(b)));
	VH_CHECK(memcmp(a, b, sizeof(a)) != 0, "two RANDOM calls gave the same 5000 bytes");
	VH_CHECK(memcmp(a, zero, sizeof(a)) != 0, "RANDOM gave zeros");
	uint8_t s1[32], s2[32];
	VH_OK(vsm_random(c, s1, sizeof(s1)));
	VH_OK(vsm_random(c, s2, sizeof(s2)));
	VH_CHECK(memcmp(s1, s2, sizeof(s1)) != 0, "two 32-byte RANDOM calls agree");
	VH_OK(vsm_random(c, s1, 1));
	down(&d, c);
	return 0;
}

static int t_nop(void)
{
	struct vh_daemon d;
	vsm_client *c = up(&d, NULL);
	static uint8_t in[4096], out[4096];
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 3);
	VH_OK(vsm_nop(c, NULL, 0));
	VH_OK(vsm_nop(c, in, sizeof(in)));
	/* vsm_nop only checks the length; the async form returns the bytes. */
	uint64_t id = 0;
	int tag = 42;
	VH_OK(vsm_submit_nop(c, in, sizeof(in), out, sizeof(out), &tag, &id));
	struct vsm_completion done;
	VH_EQ(vsm_poll(c, &done, 1, 10000), 1);
	VH_EQ(done.status, 0);
	VH_EQ(done.id, id);
	VH_CHECK(done.user_data == &tag, "user_data not echoed");
	VH_EQ(done.out_len, sizeof(in));
	VH_MEMEQ(out, in, sizeof(in));
	down(&d, c);
	return 0;
}

static int t_status(void)
{
	struct vh_daemon d;
	struct vh_opts o = {.sections = "[limits]\nmax_sessions = 100\nmax_inflight = 32\n"
					"max_msg = 65536\n"};
	vsm_client *c = up(&d, &o);
	char tenant[32];
	snprintf(tenant, sizeof(tenant), "uid-%u", (unsigned)geteuid());

	const struct vsm_wire_hello_resp *info = vsm_info(c);
	VH_CHECK(!strcmp(info->tenant, tenant), "HELLO tenant '%s', want '%s'", info->tenant,
		 tenant);
	VH_EQ(info->max_sessions, 100);
	VH_EQ(info->max_inflight, 32);
	VH_EQ(info->max_msg, 65536);

	struct vsm_wire_status st;
	VH_OK(vsm_status(c, &st));
	VH_CHECK(!strcmp(st.tenant, tenant), "STATUS tenant '%s', want '%s'", st.tenant, tenant);
	VH_EQ(st.sessions, 0);
	VH_EQ(st.max_sessions, 100);
	VH_EQ(st.max_inflight, 32);
	VH_EQ(st.max_msg, 65536);
	VH_EQ(st.workers, 2);
	VH_EQ(st.errors, 0);
	/* HELLO and this STATUS so far; STATUS counts itself after it reads the counter. */
	VH_CHECK(st.ops >= 1, "ops %llu", (unsigned long long)st.ops);
	uint64_t ops0 = st.ops;

	uint64_t a = vh_session(c, VSM_SVC_HASH, VSM_ALG_SHA256, NULL, 0);
	vh_session(c, VSM_SVC_HASH, VSM_ALG_SM3, NULL, 0);
	VH_STATUS(c, vsm_session_destroy(c, 12345), VSM_S_INVSESS, VSM_D_NONE);
	VH_OK(vsm_status(c, &st));
	VH_EQ(st.sessions, 2);
	VH_EQ(st.errors, 1);
	/* Previous STATUS, two creates, one failed destroy. */
	VH_EQ(st.ops, ops0 + 4);
	VH_OK(vsm_session_destroy(c, a));
	VH_OK(vsm_status(c, &st));
	VH_EQ(st.sessions, 1);
	down(&d, c);
	return 0;
}

static const struct vh_case cases[] = {
	{"cipher", t_cipher, 0}, {"hash", t_hash, 0}, {"hash-multipart", t_hash_multipart, 0},
	{"hmac", t_hmac, 0},	 {"aead", t_aead, 0}, {"akcipher", t_akcipher, 0},
	{"random", t_random, 0}, {"nop", t_nop, 0},   {"status", t_status, 0},
};

int main(int argc, char **argv)
{
	return vh_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
