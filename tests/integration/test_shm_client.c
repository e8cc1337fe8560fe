/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libvsm over the shared-memory transport ("shm:PATH"): every service, the
 * copied and the zero-copy paths, the asynchronous API at depth, and a vsmd
 * that goes away under outstanding requests. Results are checked against
 * OpenSSL computed here.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "harness.h"
#include "ref.h"

static char shm_uri[160];

static vsm_client *up(struct vh_daemon *d, const struct vh_opts *o)
{
	vh_start(d, o);
	snprintf(shm_uri, sizeof(shm_uri), "shm:%s", d->sock);
	return vh_connect(shm_uri);
}

static void down(struct vh_daemon *d, vsm_client *c)
{
	vsm_close(c);
	vh_stop(d);
	vh_cleanup(d);
}

static void aes_ctr(const uint8_t key[16], const uint8_t iv[16], const uint8_t *in, size_t len,
		    uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0;

	VH_CHECK(ctx && EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), NULL, key, iv) == 1 &&
			 EVP_EncryptUpdate(ctx, out, &n, in, (int)len) == 1 && (size_t)n == len,
		 "OpenSSL AES-CTR");
	EVP_CIPHER_CTX_free(ctx);
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed);
}

static int t_connect(void)
{
	struct vh_daemon d;
	vsm_client *c = up(&d, NULL);
	vsm_client *u = vh_connect(d.uri);
	char tenant[32];

	/* Region limits: max_inflight is capped by the ring, HELLO's tenant is ours. */
	snprintf(tenant, sizeof(tenant), "uid-%u", (unsigned)geteuid());
	VH_CHECK(!strcmp(vsm_info(c)->tenant, tenant), "tenant '%s'", vsm_info(c)->tenant);
	VH_CHECK(vsm_info(c)->max_inflight <= 256, "max_inflight %u over the default ring",
		 vsm_info(c)->max_inflight);
	VH_CHECK(vsm_info(c)->features & VSM_FEAT_SHM, "features %#x", vsm_info(c)->features);
	/* Zero copy exists only over shm. */
	VH_CHECK(vsm_shm_alloc(u, 64) == NULL, "vsm_shm_alloc on a unix client");
	vsm_shm_free(u, (void *)tenant); /* a no-op, not a crash */
	void *p = vsm_shm_alloc(c, 64);
	VH_CHECK(p != NULL, "vsm_shm_alloc(64) on a shm client");
	VH_CHECK(((uintptr_t)p & 63) == 0, "buffer %p not 64-byte aligned", p);
	VH_CHECK(vsm_shm_alloc(c, 0) == NULL, "vsm_shm_alloc(0)");
	VH_CHECK(vsm_shm_alloc(c, (size_t)1 << 30) == NULL, "vsm_shm_alloc(1 GiB)");
	vsm_shm_free(c, p);
	vsm_close(u);
	down(&d, c);
	return 0;
}

static int t_cipher(void)
{
	struct vh_daemon d;
	vsm_client *c = up(&d, NULL);
	static const uint8_t key[16] = "0123456789abcdef", iv[16] = "fedcba9876543210";
	static uint8_t pt[200 * 1024], ct[sizeof(pt)], want[sizeof(pt)], back[sizeof(pt)];
	uint64_t s = vh_session(c, VSM_SVC_CIPHER, VSM_ALG_AES_CBC, key, sizeof(key));

	/* One block, one chunk, and 200 KiB: a request over many chunks of the data area. */
	static const size_t lens[] = {16, 4096, sizeof(pt)};
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t len = lens[i], n = sizeof(ct), m = sizeof(back);
		fill(pt, len, (unsigned)i);
		vh_aes_cbc(key, sizeof(key), iv, pt, len, want);
		VH_OK(vsm_encrypt(c, s, iv, sizeof(iv), pt, len, ct, &n));
		VH_EQ(n, len);
		VH_MEMEQ(ct, want, len);
		VH_OK(vsm_decrypt(c, s, iv, sizeof(iv), ct, n, back, &m));
		VH_EQ(m, len);
		VH_MEMEQ(back, pt, len);
	}
	VH_OK(vsm_session_destroy(c, s));
	uint8_t x[16];
	size_t n = sizeof(x);
	VH_STATUS(c, vsm_encrypt(c, s, iv, sizeof(iv), pt, 16, x, &n), VSM_S_INVSESS, VSM_D_NONE);
	down(&d, c);
	return 0;
}

static int t_hash(void)
{
	struct vh_daemon d;
	vsm_client *c = up(&d, NULL);
	uint8_t want[32], out[64];
	size_t n = sizeof(out);
	uint64_t s = vh_session(c, VSM_SVC_HASH, VSM_ALG_SHA256, NULL, 0);

	/* FIPS 180-2 "abc". */
	vh_unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want,
		 sizeof(want));
	VH_OK(vsm_digest(c, s, "abc", 3, out, &n));
	VH_EQ(n, 32);
	VH_MEMEQ(out, want, 32);

	/* Too little room: the daemon says how much it needs. */
	n = 16;
	VH_STATUS(c, vsm_digest(c, s, "abc", 3, out, &n), VSM_S_NOSPC, VSM_D_OUTPUT_SPACE);
	VH_CHECK(n == 0 || n == 32, "needed size %zu", n);
	down(&d, c);
	return 0;
}

static int t_hmac(void)
{
	struct vh_daemon d;
	vsm_client *c = up(&d, NULL);
	static const uint8_t key[20] = "a MAC key, 20 bytes";
	static const char msg[] = "message authenticated over shared memory";
	uint8_t want[32], out[32];
	unsigned wn = 0;
	size_t n = sizeof(out);
	uint64_t s = vh_session(c, VSM_SVC_MAC, VSM_ALG_HMAC_SHA256, key, sizeof(key));

	VH_CHECK(HMAC(EVP_sha256(), key, sizeof(key), (const uint8_t *)msg, strlen(msg), want, &wn),
		 "HMAC");
	VH_OK(vsm_digest(c, s, msg, strlen(msg), out, &n));
	VH_EQ(n, 32);
	VH_MEMEQ(out, want, 32);
	VH_OK(vsm_verify(c, s, msg, strlen(msg), want, 32));
	want[5] ^= 1;
	VH_STATUS(c, vsm_verify(c, s, msg, strlen(msg), want, 32), VSM_S_BADMSG, VSM_D_AUTH_FAILED);
	down(&d, c);
	return 0;
}

static int t_aead(void)
{
	struct vh_daemon d;
	vsm_client *c = up(&d, NULL);
	static const uint8_t key[16] = "0123456789abcdef", iv[12] = "unique nonce";
	static const char aad[] = "header", msg[] = "attack at dawn, over shared memory";
	uint8_t want[sizeof(msg) + 16], ct[sizeof(msg) + 16], pt[sizeof(msg)];
	size_t len = strlen(msg), n = sizeof(ct), m = sizeof(pt);
	uint64_t s = vh_session(c, VSM_SVC_AEAD, VSM_ALG_AES_GCM, key, sizeof(key));
	struct vsm_op op = {.session = s,
			    .op = VSM_OP_ENCRYPT,
			    .iv = iv,
			    .iv_len = sizeof(iv),
			    .aad = aad,
			    .aad_len = strlen(aad),
			    .src = msg,
			    .src_len = len};

	vh_aes_gcm(key, sizeof(key), iv, aad, strlen(aad), msg, len, want);
	VH_OK(vsm_op_run(c, &op, ct, &n));
	VH_EQ(n, len + 16);
	VH_MEMEQ(ct, want, n);
	op.op = VSM_OP_DECRYPT;
	op.src = ct;
	op.src_len = n;
	VH_OK(vsm_op_run(c, &op, pt, &m));
	VH_EQ(m, len);
	VH_MEMEQ(pt, msg, len);
	/* A tampered tag: refused, and nothing comes back. */
	ct[n - 1] ^= 0x80;
	m = sizeof(pt);
	VH_STATUS(c, vsm_op_run(c, &op, pt, &m), VSM_S_BADMSG, VSM_D_AUTH_FAILED);
	down(&d, c);
	return 0;
}

static int t_ecdsa(void)
{
	struct vh_daemon d;
	vsm_client *c = up(&d, NULL);
	static const char msg[] = "ECDSA over shared memory";
	EVP_PKEY *k = vh_ec_p256_new();
	size_t priv_len, pub_len, n = 160;
	uint8_t *priv = vh_der_pkcs8(k, &priv_len), *pub = vh_der_spki(k, &pub_len), sig[160];
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
	VH_OK(vsm_sign(c, ss, msg, strlen(msg), sig, &n));
	VH_CHECK(n > 8 && n <= 72, "ECDSA P-256 DER signature of %zu bytes", n);
	VH_CHECK(vh_verify_sha256(k, msg, strlen(msg), sig, n), "OpenSSL rejects vsmd's signature");
	VH_OK(vsm_verify(c, vs, msg, strlen(msg), sig, n));
	VH_STATUS(c, vsm_verify(c, vs, msg, strlen(msg) - 1, sig, n), VSM_S_BADMSG,
		  VSM_D_AUTH_FAILED);

	/* Zero copy: message and signature side by side in the region. */
	uint8_t *buf = vsm_shm_alloc(c, strlen(msg) + n);
	VH_CHECK(buf, "vsm_shm_alloc");
	memcpy(buf, msg, strlen(msg));
	memcpy(buf + strlen(msg), sig, n);
	VH_OK(vsm_verify(c, vs, buf, strlen(msg), buf + strlen(msg), n));
	buf[0] ^= 1;
	VH_STATUS(c, vsm_verify(c, vs, buf, strlen(msg), buf + strlen(msg), n), VSM_S_BADMSG,
		  VSM_D_AUTH_FAILED);
	vsm_shm_free(c, buf);

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
	static uint8_t a[100000], b[sizeof(a)], zero[sizeof(a)];

	VH_OK(vsm_random(c, a, sizeof(a)));
	VH_OK(vsm_random(c, b, sizeof(b)));
	VH_CHECK(memcmp(a, b, sizeof(a)) != 0, "two RANDOM calls agree");
	VH_CHECK(memcmp(a + sizeof(a) - 64, zero, 64) != 0, "RANDOM's tail is zeros");
	uint8_t s1[32], s2[32];
	VH_OK(vsm_random(c, s1, sizeof(s1)));
	VH_OK(vsm_random(c, s2, sizeof(s2)));
	VH_CHECK(memcmp(s1, s2, sizeof(s1)) != 0, "two 32-byte RANDOM calls agree");
	down(&d, c);
	return 0;
}

static int t_nop(void)
{
	struct vh_daemon d;
	vsm_client *c = up(&d, NULL);
	static uint8_t in[4096], out[4096];
	struct vsm_completion done;

	fill(in, sizeof(in), 3);
	/* Copied: from and to ordinary memory. */
	VH_OK(vsm_nop(c, in, sizeof(in)));
	VH_OK(vsm_submit_nop(c, in, sizeof(in), out, sizeof(out), (void *)1, NULL));
	VH_EQ(vsm_poll(c, &done, 1, 5000), 1);
	VH_EQ(done.status, 0);
	VH_EQ(done.out_len, sizeof(in));
	VH_MEMEQ(out, in, sizeof(in));
	/* Too small a buffer: NOSPC with the size needed. */
	VH_OK(vsm_submit_nop(c, in, sizeof(in), out, 100, NULL, NULL));
	VH_EQ(vsm_poll(c, &done, 1, 5000), 1);
	VH_EQ(done.status, VSM_S_NOSPC);
	VH_EQ(done.detail, VSM_D_OUTPUT_SPACE);
	VH_EQ(done.out_len, sizeof(in));

	/* In place in the region: the bytes stay, and the length comes back. */
	uint8_t *buf = vsm_shm_alloc(c, sizeof(in)), *other = vsm_shm_alloc(c, sizeof(in));
	VH_CHECK(buf && other, "vsm_shm_alloc");
	memcpy(buf, in, sizeof(in));
	VH_OK(vsm_submit_nop(c, buf, sizeof(in), buf, sizeof(in), (void *)2, NULL));
	VH_EQ(vsm_poll(c, &done, 1, 5000), 1);
	VH_EQ(done.status, 0);
	VH_EQ(done.out_len, sizeof(in));
	VH_MEMEQ(buf, in, sizeof(in));
	VH_OK(vsm_nop(c, buf, sizeof(in)));
	/* Region to region, and region to ordinary memory. */
	memset(other, 0, sizeof(in));
	VH_OK(vsm_submit_nop(c, buf, sizeof(in), other, sizeof(in), NULL, NULL));
	VH_EQ(vsm_poll(c, &done, 1, 5000), 1);
	VH_EQ(done.status, 0);
	VH_MEMEQ(other, in, sizeof(in));
	memset(out, 0, sizeof(out));
	VH_OK(vsm_submit_nop(c, buf, sizeof(in), out, sizeof(out), NULL, NULL));
	VH_EQ(vsm_poll(c, &done, 1, 5000), 1);
	VH_EQ(done.status, 0);
	VH_MEMEQ(out, in, sizeof(in));
	vsm_shm_free(c, buf);
	vsm_shm_free(c, other);
	VH_OK(vsm_nop(c, NULL, 0));
	down(&d, c);
	return 0;
}

static int t_status(void)
{
	struct vh_daemon d;
	struct vh_opts o = {.sections = "[limits]\nmax_inflight = 32\nmax_msg = 65536\n"};
	vsm_client *c = up(&d, &o);
	struct vsm_wire_status st;

	VH_EQ(vsm_info(c)->max_inflight, 32);
	VH_EQ(vsm_info(c)->max_msg, 65536);
	VH_OK(vsm_status(c, &st));
	VH_CHECK(!strcmp(st.tenant, vsm_info(c)->tenant), "STATUS tenant '%s'", st.tenant);
	VH_EQ(st.max_inflight, 32);
	VH_EQ(st.max_msg, 65536);
	VH_EQ(st.errors, 0);
	uint64_t ops = st.ops;
	VH_OK(vsm_nop(c, "x", 1));
	VH_OK(vsm_status(c, &st));
	VH_CHECK(st.ops >= ops + 2, "ops %llu after %llu", (unsigned long long)st.ops,
		 (unsigned long long)ops);
	/* Over max_msg: refused locally, the connection stays up. */
	static uint8_t big[65536 + 1];
	VH_EQ(vsm_nop(c, big, sizeof(big)), -EMSGSIZE);
	VH_OK(vsm_nop(c, big, 1000));
	down(&d, c);
	return 0;
}

#define NREQ  1000
#define DEPTH 64

struct req {
	uint8_t msg[64];
	size_t msg_len;
	uint8_t iv[12];
	uint8_t out[128];
	uint8_t want[128];
	size_t want_len;
	bool done;
};

static struct req reqs[NREQ];

static int t_async(void)
{
	struct vh_daemon d;
	vsm_client *c = up(&d, NULL);
	static const uint8_t key[16] = "0123456789abcdef", mkey[20] = "a MAC key, 20 bytes";
	uint64_t hs = vh_session(c, VSM_SVC_HASH, VSM_ALG_SHA256, NULL, 0);
	uint64_t gs = vh_session(c, VSM_SVC_AEAD, VSM_ALG_AES_GCM, key, sizeof(key));
	uint64_t ms = vh_session(c, VSM_SVC_MAC, VSM_ALG_HMAC_SHA256, mkey, sizeof(mkey));

	for (unsigned i = 0; i < NREQ; i++) {
		struct req *r = &reqs[i];
		unsigned n = 0;
		r->msg_len = (size_t)snprintf((char *)r->msg, sizeof(r->msg), "shm request %u", i);
		memcpy(r->iv, &i, sizeof(i));
		switch (i % 4) {
		case 0:
			vh_sha256(r->msg, r->msg_len, r->want);
			r->want_len = 32;
			break;
		case 1:
			vh_aes_gcm(key, sizeof(key), r->iv, NULL, 0, r->msg, r->msg_len, r->want);
			r->want_len = r->msg_len + 16;
			break;
		case 2:
			VH_CHECK(HMAC(EVP_sha256(), mkey, sizeof(mkey), r->msg, r->msg_len, r->want,
				      &n),
				 "HMAC");
			r->want_len = n;
			break;
		default:
			memcpy(r->want, r->msg, r->msg_len);
			r->want_len = r->msg_len;
			break;
		}
	}

	unsigned submitted = 0, completed = 0, max_seen = 0;
	struct vsm_completion done[DEPTH];
	while (completed < NREQ) {
		while (submitted < NREQ && vsm_inflight(c) < DEPTH) {
			struct req *r = &reqs[submitted];
			void *ud = (void *)(uintptr_t)submitted;
			if (submitted % 4 == 3) {
				VH_OK(vsm_submit_nop(c, r->msg, r->msg_len, r->out, sizeof(r->out),
						     ud, NULL));
			} else {
				struct vsm_op op = {.src = r->msg, .src_len = r->msg_len};
				if (submitted % 4 == 0) {
					op.session = hs;
					op.op = VSM_OP_DIGEST;
				} else if (submitted % 4 == 1) {
					op.session = gs;
					op.op = VSM_OP_ENCRYPT;
					op.iv = r->iv;
					op.iv_len = sizeof(r->iv);
				} else {
					op.session = ms;
					op.op = VSM_OP_DIGEST;
				}
				VH_OK(vsm_submit(c, &op, r->out, sizeof(r->out), ud, NULL));
			}
			submitted++;
		}
		if (vsm_inflight(c) > max_seen)
			max_seen = vsm_inflight(c);
		/* A synchronous call in between must not take the others' completions. */
		if (submitted == NREQ / 2)
			VH_OK(vsm_nop(c, "sync", 4));
		int n = vsm_poll(c, done, DEPTH, 10000);
		VH_CHECK(n > 0, "vsm_poll: %d (%s)", n, n < 0 ? vsm_strerror(n) : "timeout");
		for (int k = 0; k < n; k++) {
			unsigned i = (unsigned)(uintptr_t)done[k].user_data;
			struct req *r = &reqs[i];
			VH_CHECK(i < NREQ && !r->done, "completion %u twice or unknown", i);
			VH_EQ(done[k].status, 0);
			VH_EQ(done[k].out_len, r->want_len);
			VH_MEMEQ(r->out, r->want, r->want_len);
			r->done = true;
			completed++;
		}
	}
	VH_EQ(max_seen, DEPTH);
	VH_EQ(vsm_inflight(c), 0);
	struct vsm_completion none;
	VH_EQ(vsm_poll(c, &none, 1, 0), 0);
	down(&d, c);
	return 0;
}

/* The zero-copy path: buffers from vsm_shm_alloc, AES-CTR and SHA-256 in the region. */
static int t_zero_copy(void)
{
	struct vh_daemon d;
	vsm_client *c = up(&d, NULL);
	static const uint8_t key[16] = "0123456789abcdef", iv[16] = "counter block 00";
	static uint8_t pt[16384], want[sizeof(pt)];
	uint64_t s = vh_session(c, VSM_SVC_CIPHER, VSM_ALG_AES_CTR, key, sizeof(key));
	uint64_t hs = vh_session(c, VSM_SVC_HASH, VSM_ALG_SHA256, NULL, 0);
	uint8_t *buf = vsm_shm_alloc(c, sizeof(pt)), *ct = vsm_shm_alloc(c, sizeof(pt));
	uint8_t *dg = vsm_shm_alloc(c, 32);
	size_t n;

	VH_CHECK(buf && ct && dg, "vsm_shm_alloc");
	fill(pt, sizeof(pt), 9);
	aes_ctr(key, iv, pt, sizeof(pt), want);

	/* In place: out == src. */
	memcpy(buf, pt, sizeof(pt));
	n = sizeof(pt);
	VH_OK(vsm_encrypt(c, s, iv, sizeof(iv), buf, sizeof(pt), buf, &n));
	VH_EQ(n, sizeof(pt));
	VH_MEMEQ(buf, want, sizeof(pt));
	n = sizeof(pt);
	VH_OK(vsm_decrypt(c, s, iv, sizeof(iv), buf, sizeof(pt), buf, &n));
	VH_MEMEQ(buf, pt, sizeof(pt));

	/* Region to region, with a part of the buffer as src. */
	n = sizeof(pt);
	VH_OK(vsm_encrypt(c, s, iv, sizeof(iv), buf, 1000, ct, &n));
	VH_EQ(n, 1000);
	VH_MEMEQ(ct, want, 1000);
	VH_MEMEQ(buf, pt, sizeof(pt)); /* src untouched */

	/* src in the region, not at a buffer's start: copied, and still right. */
	n = sizeof(pt);
	VH_OK(vsm_encrypt(c, s, iv, sizeof(iv), buf + 16, 64, ct, &n));
	aes_ctr(key, iv, pt + 16, 64, want);
	VH_MEMEQ(ct, want, 64);
	VH_MEMEQ(buf, pt, sizeof(pt)); /* the bytes before src were not used as headroom */

	/* Digest straight into the region. */
	uint8_t ref[32];
	vh_sha256(pt, sizeof(pt), ref);
	n = 32;
	VH_OK(vsm_digest(c, hs, buf, sizeof(pt), dg, &n));
	VH_EQ(n, 32);
	VH_MEMEQ(dg, ref, 32);

	/* The same buffer twice in flight: the second is copied, both are right. */
	struct vsm_completion done[2];
	struct vsm_op op = {.session = hs, .op = VSM_OP_DIGEST, .src = buf, .src_len = 4096};
	uint8_t d2[32];
	vh_sha256(pt, 4096, ref);
	VH_OK(vsm_submit(c, &op, dg, 32, (void *)1, NULL));
	VH_OK(vsm_submit(c, &op, d2, 32, (void *)2, NULL));
	int got = 0;
	while (got < 2) {
		int k = vsm_poll(c, done + got, 2 - got, 5000);
		VH_CHECK(k > 0, "vsm_poll: %d", k);
		got += k;
	}
	VH_EQ(done[0].status, 0);
	VH_EQ(done[1].status, 0);
	VH_MEMEQ(dg, ref, 32);
	VH_MEMEQ(d2, ref, 32);

	/* Freed while in use: the free waits for the completion. */
	VH_OK(vsm_submit(c, &op, dg, 32, NULL, NULL));
	vsm_shm_free(c, buf);
	VH_EQ(vsm_poll(c, done, 1, 5000), 1);
	VH_EQ(done[0].status, 0);
	VH_MEMEQ(dg, ref, 32);

	/* The whole area can be taken and given back. */
	static void *blocks[4096];
	unsigned nb = 0;
	while (nb < 4096 && (blocks[nb] = vsm_shm_alloc(c, 65536 - 256)) != NULL)
		nb++;
	VH_CHECK(nb > 8, "only %u blocks of 64 KiB", nb);
	while (nb < 4096 && (blocks[nb] = vsm_shm_alloc(c, 1)) != NULL)
		nb++;
	/* Nothing left for a copied request: refused locally, not a hang. */
	n = sizeof(pt);
	VH_EQ(vsm_encrypt(c, s, iv, sizeof(iv), pt, 4096, want, &n), -ENOMEM);
	VH_EQ(vsm_inflight(c), 0);
	/* Zero-copy requests need no space of their own. */
	VH_OK(vsm_digest(c, hs, ct, 4096, dg, &(size_t){32}));
	for (unsigned i = 0; i < nb; i++)
		vsm_shm_free(c, blocks[i]);
	n = sizeof(pt);
	VH_OK(vsm_encrypt(c, s, iv, sizeof(iv), pt, sizeof(pt), ct, &n));
	aes_ctr(key, iv, pt, sizeof(pt), want);
	VH_MEMEQ(ct, want, sizeof(pt));
	vsm_shm_free(c, ct);
	vsm_shm_free(c, dg);
	down(&d, c);
	return 0;
}

/* vsmd dies with requests outstanding: they fail, nothing hangs. */
/*
 * A forked child that closes the client it inherited (as the OpenSSL
 * provider does after fork) must leave the region alone: it is still the
 * parent's, with data in it.
 */
static int t_fork_close(void)
{
	struct vh_daemon d;
	vsm_client *c = up(&d, NULL);
	static const uint8_t key[16] = "0123456789abcdef", iv[16] = "counter block 00";
	uint8_t pt[4096], want[sizeof(pt)];
	uint64_t s = vh_session(c, VSM_SVC_CIPHER, VSM_ALG_AES_CTR, key, sizeof(key));
	uint8_t *buf = vsm_shm_alloc(c, sizeof(pt));
	size_t n = sizeof(pt);

	VH_CHECK(buf, "vsm_shm_alloc");
	fill(pt, sizeof(pt), 5);
	aes_ctr(key, iv, pt, sizeof(pt), want);
	memcpy(buf, pt, sizeof(pt));
	pid_t pid = fork();
	VH_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		vsm_close(c);
		_exit(0);
	}
	VH_EQ(vh_child_wait(pid, 10000), 0);
	VH_MEMEQ(buf, pt, sizeof(pt));
	VH_OK(vsm_encrypt(c, s, iv, sizeof(iv), buf, sizeof(pt), buf, &n));
	VH_MEMEQ(buf, want, sizeof(pt));
	down(&d, c);
	return 0;
}

static int t_daemon_gone(void)
{
	struct vh_daemon d;
	vsm_client *c = up(&d, NULL);
	uint8_t out[64];
	struct vsm_completion done[8];

	VH_OK(vsm_nop(c, "alive", 5));
	kill(d.pid, SIGKILL);
	waitpid(d.pid, NULL, 0);
	d.pid = 0;
	for (int i = 0; i < 8; i++) {
		int rc = vsm_submit_nop(c, "x", 1, out, sizeof(out), NULL, NULL);
		if (rc) {
			VH_CHECK(rc < 0, "submit after vsmd died: %d", rc);
			break;
		}
	}
	uint64_t t0 = vh_now_ms();
	int n = 1;
	while (n > 0 && vh_now_ms() - t0 < 10000) {
		n = vsm_poll(c, done, 8, 2000);
		for (int k = 0; k < n; k++)
			VH_CHECK(done[k].status < 0, "request after vsmd died: status %d",
				 done[k].status);
	}
	VH_CHECK(n < 0, "vsm_poll after vsmd died: %d", n);
	VH_EQ(vsm_inflight(c), 0);
	VH_CHECK(vsm_nop(c, "x", 1) < 0, "a call on a dead connection succeeded");
	vsm_close(c);
	vh_cleanup(&d);
	return 0;
}

static const struct vh_case cases[] = {
	{"connect", t_connect, 0},
	{"cipher", t_cipher, 0},
	{"hash", t_hash, 0},
	{"hmac", t_hmac, 0},
	{"aead", t_aead, 0},
	{"ecdsa", t_ecdsa, 0},
	{"random", t_random, 0},
	{"nop", t_nop, 0},
	{"status", t_status, 0},
	{"async", t_async, 0},
	{"zero-copy", t_zero_copy, 0},
	{"daemon-gone", t_daemon_gone, 0},
	{"fork-close", t_fork_close, 0},
};

int main(int argc, char **argv)
{
	return vh_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
