/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Error paths against a live vsmd: bad handles, algorithms and keys through
 * libvsm; malformed frames through a raw socket, where the exact status,
 * detail and whether the connection survives are part of the protocol
 * (docs/protocol.md, section 11).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "harness.h"
#include "raw.h"
#include "ref.h"

static uint8_t frame[65536];

static int raw_up(struct vh_daemon *d, const struct vh_opts *o, bool hello)
{
	vh_start(d, o);
	int fd = vh_raw_connect(d->sock);
	if (hello)
		vh_raw_hello(fd);
	return fd;
}

/* Another client of the same tenant still gets served: vsmd is fine. */
static void still_serving(struct vh_daemon *d)
{
	vsm_client *c = vh_connect(d->uri);
	VH_OK(vsm_nop(c, "ping", 4));
	vsm_close(c);
}

static void raw_down(struct vh_daemon *d, int fd)
{
	close(fd);
	still_serving(d);
	vh_stop(d);
	vh_cleanup(d);
}

static int t_unknown_handle(void)
{
	struct vh_daemon d;
	vh_start(&d, NULL);
	vsm_client *c = vh_connect(d.uri);
	uint8_t out[64];
	static const uint64_t bad[] = {0, 1, 0x1234, 0x0001000001000000ull, ~0ull};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = sizeof(out);
		VH_STATUS(c, vsm_digest(c, bad[i], "abc", 3, out, &n), VSM_S_INVSESS, VSM_D_NONE);
		VH_EQ(n, 0);
		VH_STATUS(c, vsm_session_destroy(c, bad[i]), VSM_S_INVSESS, VSM_D_NONE);
	}
	/* INVSESS leaves the connection usable. */
	uint64_t s = vh_session(c, VSM_SVC_HASH, VSM_ALG_SHA256, NULL, 0);
	size_t n = sizeof(out);
	VH_OK(vsm_digest(c, s, "abc", 3, out, &n));
	VH_EQ(n, 32);
	vsm_close(c);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

static int t_stale_handle(void)
{
	struct vh_daemon d;
	vh_start(&d, NULL);
	vsm_client *c = vh_connect(d.uri);
	uint8_t out[64];
	size_t n;
	uint64_t h1 = vh_session(c, VSM_SVC_HASH, VSM_ALG_SHA256, NULL, 0);
	VH_OK(vsm_session_destroy(c, h1));
	n = sizeof(out);
	VH_STATUS(c, vsm_digest(c, h1, "abc", 3, out, &n), VSM_S_INVSESS, VSM_D_NONE);
	VH_STATUS(c, vsm_session_destroy(c, h1), VSM_S_INVSESS, VSM_D_NONE);
	/* The slot is reused with a new generation: the old handle stays dead. */
	uint64_t h2 = vh_session(c, VSM_SVC_HASH, VSM_ALG_SHA256, NULL, 0);
	VH_CHECK(h2 != h1, "a destroyed handle was issued again: %llx", (unsigned long long)h1);
	n = sizeof(out);
	VH_STATUS(c, vsm_digest(c, h1, "abc", 3, out, &n), VSM_S_INVSESS, VSM_D_NONE);
	n = sizeof(out);
	VH_OK(vsm_digest(c, h2, "abc", 3, out, &n));
	/* A handle from another connection of the same tenant works (handles are per tenant). */
	vsm_client *c2 = vh_connect(d.uri);
	n = sizeof(out);
	VH_OK(vsm_digest(c2, h2, "abc", 3, out, &n));
	VH_OK(vsm_session_destroy(c2, h2));
	n = sizeof(out);
	VH_STATUS(c, vsm_digest(c, h2, "abc", 3, out, &n), VSM_S_INVSESS, VSM_D_NONE);
	vsm_close(c2);
	vsm_close(c);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

static int create(vsm_client *c, int svc, int alg, int hash, const void *key, size_t key_len)
{
	struct vsm_session_params p = {
		.service = svc, .alg = alg, .hash = hash, .key = key, .key_len = key_len};
	uint64_t h = 0;
	int rc = vsm_session_create(c, &p, &h);
	VH_CHECK(rc != 0 || h != 0, "success with handle 0");
	return rc;
}

/*
 * What vsmd does with algorithms it cannot run (dispatch.c,
 * do_session_create): an id the decoder does not know is malformed (see
 * alg-unknown); a known id under the wrong service is BADMSG/BAD_OP and the
 * connection stays open; a known id no engine serves is NOTSUPP. The soft
 * engine serves every assigned id on Debian 12's OpenSSL, so the last path
 * is reached through a parameter it does not support instead (SM2 with
 * SHA-256), which is NOTSUPP too; any id the daemon does not advertise is
 * also checked.
 */
static int t_alg_mismatch(void)
{
	struct vh_daemon d;
	vh_start(&d, NULL);
	vsm_client *c = vh_connect(d.uri);
	uint8_t key[16] = {0};

	VH_STATUS(c, create(c, VSM_SVC_HASH, VSM_ALG_AES_GCM, 0, key, 16), VSM_S_BADMSG,
		  VSM_D_BAD_OP);
	VH_STATUS(c, create(c, VSM_SVC_CIPHER, VSM_ALG_SHA256, 0, NULL, 0), VSM_S_BADMSG,
		  VSM_D_BAD_OP);
	VH_STATUS(c, create(c, VSM_SVC_AKCIPHER, VSM_ALG_HMAC_SHA256, 0, key, 16), VSM_S_BADMSG,
		  VSM_D_BAD_OP);
	VH_STATUS(c, create(c, VSM_SVC_AKCIPHER, VSM_ALG_SM2, VSM_ALG_SHA256, key, 16),
		  VSM_S_NOTSUPP, VSM_D_NONE);

	unsigned known = 0, unsupported = 0;
	for (int alg = 1; alg < VSM_ALG__MAX; alg++) {
		int svc = vsm_alg_service(alg);
		if (svc < 0)
			continue;
		known++;
		if (vsm_alg_supported(c, alg))
			continue;
		unsupported++;
		VH_STATUS(c, create(c, svc, alg, 0, key, 16), VSM_S_NOTSUPP, VSM_D_NONE);
	}
	printf("%u known algorithms, %u not advertised by vsmd\n", known, unsupported);
	VH_CHECK(known > 0, "no known algorithms");
	/* None of the above closed the connection. */
	VH_OK(vsm_nop(c, "x", 1));
	struct vsm_wire_status st;
	VH_OK(vsm_status(c, &st));
	VH_EQ(st.sessions, 0);
	vsm_close(c);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

/* An unassigned alg id does not decode: BADMSG/PROTOCOL, and the connection closes. */
static int t_alg_unknown(void)
{
	static const uint32_t ids[] = {9, VSM_ALG__MAX};
	struct vh_daemon d;
	vh_start(&d, NULL);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		VH_CHECK(vsm_alg_service((int)ids[i]) < 0, "alg %u is assigned now", ids[i]);
		int fd = vh_raw_connect(d.sock);
		vh_raw_hello(fd);
		uint8_t key[16] = {0}, p[VSM_WIRE_SESSION_LEN + 16];
		struct vsm_wire_session m = {
			.service = VSM_SVC_CIPHER, .alg = ids[i], .key = key, .key_len = 16};
		VH_EQ(vsm_wire_encode_session(p, sizeof(p), &m), sizeof(p));
		vh_raw_send(
			fd, frame,
			vh_frame(frame, sizeof(frame), VSM_MSG_SESSION_CREATE, 11, p, sizeof(p)));
		vh_raw_expect(fd, VSM_MSG_SESSION_CREATE, 11, VSM_S_BADMSG, VSM_D_PROTOCOL);
		vh_raw_expect_eof(fd, 10000);
		close(fd);
	}
	still_serving(&d);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

static int t_garbage_key(void)
{
	struct vh_daemon d;
	vh_start(&d, NULL);
	vsm_client *c = vh_connect(d.uri);
	static const char junk[] = "this is not a DER key, not even close";
	uint8_t der[] = {0x30, 0x82, 0x01, 0x00, 0x02, 0x01}; /* truncated SEQUENCE */
	VH_STATUS(c, create(c, VSM_SVC_AKCIPHER, VSM_ALG_ECDSA, 0, junk, sizeof(junk)),
		  VSM_S_KEY_REJECTED, VSM_D_BAD_KEY);
	VH_STATUS(c, create(c, VSM_SVC_AKCIPHER, VSM_ALG_RSA, 0, der, sizeof(der)),
		  VSM_S_KEY_REJECTED, VSM_D_BAD_KEY);
	VH_STATUS(c, create(c, VSM_SVC_AKCIPHER, VSM_ALG_ECDSA, 0, NULL, 0), VSM_S_KEY_REJECTED,
		  VSM_D_BAD_KEY);
	/* A valid key of the wrong type: an EC key for an RSA session. */
	EVP_PKEY *k = vh_ec_p256_new();
	size_t len;
	uint8_t *p8 = vh_der_pkcs8(k, &len);
	VH_STATUS(c, create(c, VSM_SVC_AKCIPHER, VSM_ALG_RSA, 0, p8, len), VSM_S_KEY_REJECTED,
		  VSM_D_BAD_KEY);
	/* The same key is fine for ECDSA: the rejections were about the keys. */
	VH_OK(create(c, VSM_SVC_AKCIPHER, VSM_ALG_ECDSA, 0, p8, len));
	OPENSSL_free(p8);
	EVP_PKEY_free(k);
	/* Symmetric: a 17-byte AES key. */
	uint8_t key[17] = {0};
	VH_STATUS(c, create(c, VSM_SVC_CIPHER, VSM_ALG_AES_CBC, 0, key, 17), VSM_S_KEY_REJECTED,
		  VSM_D_BAD_KEY);
	struct vsm_wire_status st;
	VH_OK(vsm_status(c, &st));
	VH_EQ(st.sessions, 1);
	vsm_close(c);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

static int t_bad_magic(void)
{
	struct vh_daemon d;
	int fd = raw_up(&d, NULL, true);
	size_t n = vh_frame(frame, sizeof(frame), VSM_MSG_NOP, 77, "abcd", 4);
	frame[4] = 0x34; /* magic 0x1234 */
	frame[5] = 0x12;
	vh_raw_send(fd, frame, n);
	/* A rejected header's op is not trusted (op 0); its id is echoed (section 11). */
	vh_raw_expect(fd, 0, 77, VSM_S_BADMSG, VSM_D_PROTOCOL);
	vh_raw_expect_eof(fd, 10000);
	VH_CHECK(vh_log_contains(&d, "malformed frame header"), "no log line for the bad frame");
	raw_down(&d, fd);
	return 0;
}

static int t_no_hello(void)
{
	struct vh_daemon d;
	int fd = raw_up(&d, NULL, false);
	vh_raw_send(fd, frame, vh_frame(frame, sizeof(frame), VSM_MSG_NOP, 5, "hi", 2));
	vh_raw_expect(fd, VSM_MSG_NOP, 5, VSM_S_BADMSG, VSM_D_NO_HELLO);
	vh_raw_expect_eof(fd, 10000);
	raw_down(&d, fd);
	return 0;
}

static int t_hello_errors(void)
{
	struct vh_daemon d;
	vh_start(&d, NULL);
	uint8_t p[VSM_WIRE_HELLO_LEN];
	size_t n;

	/* No common version: NOTSUPP/VERSION, closed. */
	int fd = vh_raw_connect(d.sock);
	struct vsm_wire_hello m = {.min_version = VSM_WIRE_VERSION + 1,
				   .max_version = VSM_WIRE_VERSION + 5};
	vsm_wire_encode_hello(p, sizeof(p), &m);
	vh_raw_send(fd, frame, vh_frame(frame, sizeof(frame), VSM_MSG_HELLO, 1, p, sizeof(p)));
	vh_raw_expect(fd, VSM_MSG_HELLO, 1, VSM_S_NOTSUPP, VSM_D_VERSION);
	vh_raw_expect_eof(fd, 10000);
	close(fd);

	/* A second HELLO: BADMSG/PROTOCOL, closed. */
	fd = vh_raw_connect(d.sock);
	vh_raw_hello(fd);
	m = (struct vsm_wire_hello){.min_version = 1, .max_version = VSM_WIRE_VERSION};
	vsm_wire_encode_hello(p, sizeof(p), &m);
	vh_raw_send(fd, frame, vh_frame(frame, sizeof(frame), VSM_MSG_HELLO, 2, p, sizeof(p)));
	vh_raw_expect(fd, VSM_MSG_HELLO, 2, VSM_S_BADMSG, VSM_D_PROTOCOL);
	vh_raw_expect_eof(fd, 10000);
	close(fd);

	/* An unknown message type: BADMSG/PROTOCOL, closed (protocol.md section 11). */
	fd = vh_raw_connect(d.sock);
	vh_raw_hello(fd);
	vh_raw_send(fd, frame, vh_frame(frame, sizeof(frame), 99, 3, NULL, 0));
	vh_raw_expect(fd, 99, 3, VSM_S_BADMSG, VSM_D_PROTOCOL);
	vh_raw_expect_eof(fd, 10000);
	close(fd);

	/* A request carrying a status: BADMSG/PROTOCOL, closed. */
	fd = vh_raw_connect(d.sock);
	vh_raw_hello(fd);
	n = vh_frame(frame, sizeof(frame), VSM_MSG_NOP, 5, NULL, 0);
	frame[10] = VSM_S_ERR;
	vh_raw_send(fd, frame, n);
	vh_raw_expect(fd, VSM_MSG_NOP, 5, VSM_S_BADMSG, VSM_D_PROTOCOL);
	vh_raw_expect_eof(fd, 10000);
	close(fd);

	/* A request carrying the RESPONSE flag: BADMSG/PROTOCOL, closed. */
	fd = vh_raw_connect(d.sock);
	vh_raw_hello(fd);
	n = vh_frame(frame, sizeof(frame), VSM_MSG_NOP, 4, NULL, 0);
	frame[8] = VSM_HDR_F_RESPONSE;
	vh_raw_send(fd, frame, n);
	vh_raw_expect(fd, VSM_MSG_NOP, 4, VSM_S_BADMSG, VSM_D_PROTOCOL);
	vh_raw_expect_eof(fd, 10000);
	raw_down(&d, fd);
	return 0;
}

/*
 * OPF_MORE (multi-part hashing) only after MULTIPART was negotiated: the raw
 * client's HELLO offers no features, so it is BADMSG/BAD_OP, connection open.
 */
static int t_multipart_gate(void)
{
	struct vh_daemon d;
	int fd = raw_up(&d, NULL, true);
	uint8_t p[VSM_WIRE_SESSION_LEN + 64], resp[64];
	struct vsm_wire_session sm = {.service = VSM_SVC_HASH, .alg = VSM_ALG_SHA256};
	VH_EQ(vsm_wire_encode_session(p, sizeof(p), &sm), VSM_WIRE_SESSION_LEN);
	vh_raw_send(
		fd, frame,
		vh_frame(frame, sizeof(frame), VSM_MSG_SESSION_CREATE, 1, p, VSM_WIRE_SESSION_LEN));
	struct vsm_wire_hdr h;
	VH_EQ(vh_raw_recv(fd, &h, resp, sizeof(resp), 10000), 1);
	VH_EQ(h.status, VSM_S_OK);
	uint64_t s;
	VH_EQ(vsm_wire_decode_u64(resp, h.len, &s), VSM_S_OK);

	struct vsm_wire_op m = {.session = s,
				.op = VSM_OP_DIGEST,
				.flags = VSM_OPF_MORE,
				.dst_len = 64,
				.src = (const uint8_t *)"ab",
				.src_len = 2};
	size_t n = vsm_wire_encode_op(p, sizeof(p), &m);
	vh_raw_send(fd, frame, vh_frame(frame, sizeof(frame), VSM_MSG_OP, 2, p, (uint32_t)n));
	vh_raw_expect(fd, VSM_MSG_OP, 2, VSM_S_BADMSG, VSM_D_BAD_OP);
	/* Still open, and the session was not fed "ab": a one-shot "abc" is right. */
	m.flags = 0;
	m.src = (const uint8_t *)"abc";
	m.src_len = 3;
	n = vsm_wire_encode_op(p, sizeof(p), &m);
	vh_raw_send(fd, frame, vh_frame(frame, sizeof(frame), VSM_MSG_OP, 3, p, (uint32_t)n));
	VH_EQ(vh_raw_recv(fd, &h, resp, sizeof(resp), 10000), 1);
	VH_EQ(h.id, 3);
	VH_EQ(h.status, VSM_S_OK);
	VH_EQ(h.len, 32);
	uint8_t want[32];
	vh_sha256("abc", 3, want);
	VH_MEMEQ(resp, want, 32);
	raw_down(&d, fd);
	return 0;
}

/* An OP whose declared lengths exceed its payload. */
static int t_op_lengths(void)
{
	struct vh_daemon d;
	int fd = raw_up(&d, NULL, true);
	uint8_t src[10] = {1, 2, 3}, p[VSM_WIRE_OP_LEN + 10];
	struct vsm_wire_op m = {
		.session = 1, .op = VSM_OP_DIGEST, .dst_len = 64, .src = src, .src_len = 10};
	VH_EQ(vsm_wire_encode_op(p, sizeof(p), &m), sizeof(p));
	p[28] = 20; /* src_len: 20, but only 10 bytes follow */
	vh_raw_send(fd, frame, vh_frame(frame, sizeof(frame), VSM_MSG_OP, 9, p, sizeof(p)));
	vh_raw_expect(fd, VSM_MSG_OP, 9, VSM_S_BADMSG, VSM_D_PROTOCOL);
	vh_raw_expect_eof(fd, 10000);
	raw_down(&d, fd);
	return 0;
}

/* A frame over the tenant's max_msg is refused and skipped; the connection lives on. */
static int t_oversize(void)
{
	struct vh_daemon d;
	struct vh_opts o = {.sections = "[limits]\nmax_msg = 8192\n"};
	int fd = raw_up(&d, &o, true);
	static uint8_t big[10000], resp[8192];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	vh_raw_send(fd, frame, vh_frame(frame, sizeof(frame), VSM_MSG_NOP, 1, big, sizeof(big)));
	vh_raw_expect(fd, VSM_MSG_NOP, 1, VSM_S_NOSPC, VSM_D_TOO_BIG);

	/* The same connection still works: a normal NOP is echoed. */
	vh_raw_send(fd, frame, vh_frame(frame, sizeof(frame), VSM_MSG_NOP, 2, big, 100));
	struct vsm_wire_hdr h;
	VH_EQ(vh_raw_recv(fd, &h, resp, sizeof(resp), 10000), 1);
	VH_EQ(h.op, VSM_MSG_NOP);
	VH_EQ(h.id, 2);
	VH_EQ(h.status, VSM_S_OK);
	VH_EQ(h.len, 100);
	VH_MEMEQ(resp, big, 100);

	/* RANDOM asking for more than max_msg: NOSPC/TOO_BIG, still open. */
	uint8_t p[4];
	vsm_wire_encode_u32(p, sizeof(p), 100000);
	vh_raw_send(fd, frame, vh_frame(frame, sizeof(frame), VSM_MSG_RANDOM, 3, p, 4));
	vh_raw_expect(fd, VSM_MSG_RANDOM, 3, VSM_S_NOSPC, VSM_D_TOO_BIG);
	/* Exactly max_msg is allowed. */
	vh_raw_send(fd, frame, vh_frame(frame, sizeof(frame), VSM_MSG_NOP, 4, big, 8192));
	VH_EQ(vh_raw_recv(fd, &h, resp, sizeof(resp), 10000), 1);
	VH_EQ(h.status, VSM_S_OK);
	VH_EQ(h.len, 8192);
	VH_MEMEQ(resp, big, 8192);

	/* libvsm refuses locally, before sending, what the daemon would refuse. */
	vsm_client *c = vh_connect(d.uri);
	VH_EQ(vsm_info(c)->max_msg, 8192);
	VH_EQ(vsm_nop(c, big, sizeof(big)), -EMSGSIZE);
	VH_OK(vsm_nop(c, big, 8192));
	vsm_close(c);
	raw_down(&d, fd);
	return 0;
}

/*
 * dst_len smaller than the result: NOSPC/OUTPUT_SPACE, and the response
 * carries the size needed, which libvsm returns in *out_len.
 */
static int t_output_space(void)
{
	struct vh_daemon d;
	vh_start(&d, NULL);
	vsm_client *c = vh_connect(d.uri);
	uint8_t out[64];
	uint64_t h = vh_session(c, VSM_SVC_HASH, VSM_ALG_SHA256, NULL, 0);
	size_t n = 16;
	memset(out, 0xee, sizeof(out));
	VH_STATUS(c, vsm_digest(c, h, "abc", 3, out, &n), VSM_S_NOSPC, VSM_D_OUTPUT_SPACE);
	VH_EQ(n, 32);
	VH_EQ(out[0], 0xee); /* nothing written to the caller's buffer */
	n = 0;
	VH_STATUS(c, vsm_digest(c, h, "abc", 3, NULL, &n), VSM_S_NOSPC, VSM_D_OUTPUT_SPACE);
	VH_EQ(n, 32);
	n = 32;
	VH_OK(vsm_digest(c, h, "abc", 3, out, &n));
	VH_EQ(n, 32);

	uint8_t key[16] = {0}, iv[12] = {0}, pt[16] = {0};
	uint64_t g = vh_session(c, VSM_SVC_AEAD, VSM_ALG_AES_GCM, key, sizeof(key));
	n = 31; /* needs 16 + 16-byte tag */
	VH_STATUS(c, vsm_encrypt(c, g, iv, sizeof(iv), pt, sizeof(pt), out, &n), VSM_S_NOSPC,
		  VSM_D_OUTPUT_SPACE);
	VH_EQ(n, 32);
	n = 32;
	VH_OK(vsm_encrypt(c, g, iv, sizeof(iv), pt, sizeof(pt), out, &n));
	VH_EQ(n, 32);
	vsm_close(c);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

static const struct vh_case cases[] = {
	{"unknown-handle", t_unknown_handle, 0},
	{"stale-handle", t_stale_handle, 0},
	{"alg-mismatch", t_alg_mismatch, 0},
	{"alg-unknown", t_alg_unknown, 0},
	{"garbage-key", t_garbage_key, 0},
	{"bad-magic", t_bad_magic, 0},
	{"no-hello", t_no_hello, 0},
	{"hello-errors", t_hello_errors, 0},
	{"multipart-gate", t_multipart_gate, 0},
	{"op-lengths", t_op_lengths, 0},
	{"oversize", t_oversize, 0},
	{"output-space", t_output_space, 0},
};

int main(int argc, char **argv)
{
	return vh_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
