/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Wire codec tests. The layout tests compare against hand-written bytes so
 * that any drift in field order, width or endianness fails here first; the
 * rejection tests start from a valid encoding and break one thing at a time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <vsm/wire.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* ---- header ---- */

static const uint8_t hdr_bytes[24] = {
	0xef, 0xcd, 0xab, 0x00,				/* len 0x00abcdef */
	0x53, 0x56,					/* magic "VS" */
	0x04, 0x00,					/* op OP */
	0x01, 0x00,					/* flags RESPONSE */
	0x02, 0x00,					/* status BADMSG */
	0x06, 0x00,					/* detail BAD_LENGTH */
	0x00, 0x00,					/* reserved */
	0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* id */
};

static const struct vsm_wire_hdr hdr_val = {
	.len = 0x00abcdef,
	.magic = VSM_WIRE_MAGIC,
	.op = VSM_MSG_OP,
	.flags = VSM_HDR_F_RESPONSE,
	.status = VSM_S_BADMSG,
	.detail = VSM_D_BAD_LENGTH,
	.reserved = 0,
	.id = 0x0102030405060708ull,
};

static void test_hdr_layout(void **state)
{
	uint8_t buf[32];
	struct vsm_wire_hdr h;

	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(vsm_wire_encode_hdr(buf, sizeof(buf), &hdr_val), 24);
	assert_memory_equal(buf, hdr_bytes, sizeof(hdr_bytes));
	assert_int_equal(buf[24], 0xaa);

	memset(&h, 0, sizeof(h));
	assert_int_equal(vsm_wire_decode_hdr(hdr_bytes, sizeof(hdr_bytes), &h), VSM_S_OK);
	assert_memory_equal(&h, &hdr_val, sizeof(h));
}

static void test_hdr_request_roundtrip(void **state)
{
	struct vsm_wire_hdr in = {
		.len = 0, .magic = VSM_WIRE_MAGIC, .op = VSM_MSG_HELLO, .id = UINT64_MAX};
	struct vsm_wire_hdr out;
	uint8_t buf[24];

	assert_int_equal(vsm_wire_encode_hdr(buf, sizeof(buf), &in), 24);
	assert_int_equal(vsm_wire_decode_hdr(buf, sizeof(buf), &out), VSM_S_OK);
	assert_int_equal(out.len, 0);
	assert_int_equal(out.op, VSM_MSG_HELLO);
	assert_int_equal(out.flags, 0);
	assert_true(out.id == UINT64_MAX);
}

/* A longer buffer is fine: the header decoder reads only the first 24 bytes. */
static void test_hdr_longer_buffer(void **state)
{
	uint8_t buf[40];
	struct vsm_wire_hdr h;

	memset(buf, 0xff, sizeof(buf));
	memcpy(buf, hdr_bytes, sizeof(hdr_bytes));
	assert_int_equal(vsm_wire_decode_hdr(buf, sizeof(buf), &h), VSM_S_OK);
	assert_int_equal(h.len, 0x00abcdef);
}

static int decode_patched_hdr(size_t off, const uint8_t *val, size_t n, struct vsm_wire_hdr *h)
{
	uint8_t buf[24];

	memcpy(buf, hdr_bytes, sizeof(buf));
	memcpy(buf + off, val, n);
	return vsm_wire_decode_hdr(buf, sizeof(buf), h);
}

static void test_hdr_reject(void **state)
{
	struct vsm_wire_hdr h;
	uint8_t v[4];

	assert_int_equal(vsm_wire_decode_hdr(hdr_bytes, 23, &h), VSM_S_BADMSG);
	assert_int_equal(vsm_wire_decode_hdr(hdr_bytes, 0, &h), VSM_S_BADMSG);

	/* magic, byte-swapped magic */
	put16(v, 0x5654);
	assert_int_equal(decode_patched_hdr(4, v, 2, &h), VSM_S_BADMSG);
	put16(v, 0x5356);
	assert_int_equal(decode_patched_hdr(4, v, 2, &h), VSM_S_BADMSG);

	/* len: the maximum passes, one more does not */
	put32(v, VSM_WIRE_MAX_PAYLOAD);
	assert_int_equal(decode_patched_hdr(0, v, 4, &h), VSM_S_OK);
	put32(v, VSM_WIRE_MAX_PAYLOAD + 1);
	assert_int_equal(decode_patched_hdr(0, v, 4, &h), VSM_S_BADMSG);
	put32(v, UINT32_MAX);
	assert_int_equal(decode_patched_hdr(0, v, 4, &h), VSM_S_BADMSG);

	/* unknown flag bits */
	put16(v, 0x0002);
	assert_int_equal(decode_patched_hdr(8, v, 2, &h), VSM_S_BADMSG);
	put16(v, 0x8000);
	assert_int_equal(decode_patched_hdr(8, v, 2, &h), VSM_S_BADMSG);

	/* status and detail out of range; the last valid value passes */
	put16(v, VSM_S__MAX - 1);
	assert_int_equal(decode_patched_hdr(10, v, 2, &h), VSM_S_OK);
	put16(v, VSM_S__MAX);
	assert_int_equal(decode_patched_hdr(10, v, 2, &h), VSM_S_BADMSG);
	put16(v, VSM_D__MAX - 1);
	assert_int_equal(decode_patched_hdr(12, v, 2, &h), VSM_S_OK);
	put16(v, VSM_D__MAX);
	assert_int_equal(decode_patched_hdr(12, v, 2, &h), VSM_S_BADMSG);

	/* reserved */
	put16(v, 1);
	assert_int_equal(decode_patched_hdr(14, v, 2, &h), VSM_S_BADMSG);
	put16(v, 0x100);
	assert_int_equal(decode_patched_hdr(14, v, 2, &h), VSM_S_BADMSG);
}

/* An unknown message type is a valid header: the daemon answers NOTSUPP. */
static void test_hdr_unknown_op(void **state)
{
	struct vsm_wire_hdr h;
	uint8_t v[2];

	put16(v, 0x7777);
	assert_int_equal(decode_patched_hdr(6, v, 2, &h), VSM_S_OK);
	assert_int_equal(h.op, 0x7777);
}

/* Even a rejected header yields its id, so the error response can echo it. */
static void test_hdr_reject_keeps_id(void **state)
{
	struct vsm_wire_hdr h;
	uint8_t v[2];

	memset(&h, 0, sizeof(h));
	put16(v, 0);
	assert_int_equal(decode_patched_hdr(4, v, 2, &h), VSM_S_BADMSG);
	assert_true(h.id == 0x0102030405060708ull);
}

/* ---- hello ---- */

static void test_hello_roundtrip(void **state)
{
	struct vsm_wire_hello in = {.min_version = 1, .max_version = 3, .features = 0xdeadbeef};
	struct vsm_wire_hello out;
	static const uint8_t want[8] = {0x01, 0x00, 0x03, 0x00, 0xef, 0xbe, 0xad, 0xde};
	uint8_t buf[8];

	assert_int_equal(vsm_wire_encode_hello(buf, sizeof(buf), &in), VSM_WIRE_HELLO_LEN);
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(vsm_wire_decode_hello(buf, sizeof(buf), &out), VSM_S_OK);
	assert_int_equal(out.min_version, 1);
	assert_int_equal(out.max_version, 3);
	assert_int_equal(out.features, 0xdeadbeef);
}

static void test_hello_reject(void **state)
{
	struct vsm_wire_hello in = {.min_version = 1, .max_version = 1};
	struct vsm_wire_hello out;
	uint8_t buf[9] = {0};

	assert_int_equal(vsm_wire_encode_hello(buf, sizeof(buf), &in), 8);
	assert_int_equal(vsm_wire_decode_hello(buf, 7, &out), VSM_S_BADMSG);
	assert_int_equal(vsm_wire_decode_hello(buf, 9, &out), VSM_S_BADMSG);
	assert_int_equal(vsm_wire_decode_hello(buf, 0, &out), VSM_S_BADMSG);

	in.min_version = 2; /* min > max */
	vsm_wire_encode_hello(buf, sizeof(buf), &in);
	assert_int_equal(vsm_wire_decode_hello(buf, 8, &out), VSM_S_BADMSG);

	in.min_version = 0; /* no version 0 */
	vsm_wire_encode_hello(buf, sizeof(buf), &in);
	assert_int_equal(vsm_wire_decode_hello(buf, 8, &out), VSM_S_BADMSG);
}

/* ---- hello response ---- */

static struct vsm_wire_hello_resp sample_hello_resp(void)
{
	struct vsm_wire_hello_resp m;

	memset(&m, 0, sizeof(m));
	m.version = 1;
	m.features = VSM_FEAT_MULTIPART | VSM_FEAT_OUT_OF_ORDER; /* 0x03, as laid out below */
	m.max_msg = 1u << 20;
	m.max_inflight = 256;
	m.max_sessions = 1024;
	for (size_t i = 0; i < sizeof(m.algs); i++)
		m.algs[i] = (uint8_t)(0x11 * (i + 1));
	strcpy(m.tenant, "tenant-a");
	return m;
}

static void test_hello_resp_layout(void **state)
{
	struct vsm_wire_hello_resp in = sample_hello_resp();
	struct vsm_wire_hello_resp out;
	uint8_t buf[VSM_WIRE_HELLO_RESP_LEN];
	static const uint8_t fixed[24] = {
		0x01, 0x00, 0x00, 0x00, /* version, reserved */
		0x03, 0x00, 0x00, 0x00, /* features */
		0x00, 0x00, 0x10, 0x00, /* max_msg */
		0x00, 0x01, 0x00, 0x00, /* max_inflight */
		0x00, 0x04, 0x00, 0x00, /* max_sessions */
		0x00, 0x00, 0x00, 0x00, /* reserved */
	};
	uint8_t tenant[32] = "tenant-a";

	assert_int_equal(VSM_WIRE_HELLO_RESP_LEN, 68);
	assert_int_equal(vsm_wire_encode_hello_resp(buf, sizeof(buf), &in), 68);
	assert_memory_equal(buf, fixed, sizeof(fixed));
	assert_memory_equal(buf + 24, in.algs, 12);
	assert_memory_equal(buf + 36, tenant, 32);

	memset(&out, 0x55, sizeof(out));
	assert_int_equal(vsm_wire_decode_hello_resp(buf, sizeof(buf), &out), VSM_S_OK);
	assert_int_equal(out.version, in.version);
	assert_int_equal(out.features, in.features);
	assert_int_equal(out.max_msg, in.max_msg);
	assert_int_equal(out.max_inflight, in.max_inflight);
	assert_int_equal(out.max_sessions, in.max_sessions);
	assert_memory_equal(out.algs, in.algs, sizeof(in.algs));
	assert_memory_equal(out.tenant, in.tenant, sizeof(in.tenant));
}

/* A full 31-character name fits; an unterminated struct field is cut, not overrun. */
static void test_hello_resp_tenant_edges(void **state)
{
	struct vsm_wire_hello_resp in = sample_hello_resp();
	struct vsm_wire_hello_resp out;
	uint8_t buf[VSM_WIRE_HELLO_RESP_LEN];

	memset(in.tenant, 'x', sizeof(in.tenant));
	assert_int_equal(vsm_wire_encode_hello_resp(buf, sizeof(buf), &in), 68);
	assert_int_equal(buf[67], 0);
	assert_int_equal(vsm_wire_decode_hello_resp(buf, sizeof(buf), &out), VSM_S_OK);
	assert_int_equal(strlen(out.tenant), 31);

	memset(in.tenant, 0, sizeof(in.tenant));
	vsm_wire_encode_hello_resp(buf, sizeof(buf), &in);
	assert_int_equal(vsm_wire_decode_hello_resp(buf, sizeof(buf), &out), VSM_S_OK);
	assert_string_equal(out.tenant, "");
}

static void test_hello_resp_reject(void **state)
{
	struct vsm_wire_hello_resp in = sample_hello_resp();
	struct vsm_wire_hello_resp out;
	uint8_t good[VSM_WIRE_HELLO_RESP_LEN + 1] = {0};
	uint8_t buf[sizeof(good)];

	vsm_wire_encode_hello_resp(good, sizeof(good), &in);
	assert_int_equal(vsm_wire_decode_hello_resp(good, 67, &out), VSM_S_BADMSG);
	assert_int_equal(vsm_wire_decode_hello_resp(good, 69, &out), VSM_S_BADMSG);

	memcpy(buf, good, sizeof(buf));
	buf[2] = 1; /* reserved u16 */
	assert_int_equal(vsm_wire_decode_hello_resp(buf, 68, &out), VSM_S_BADMSG);

	memcpy(buf, good, sizeof(buf));
	buf[23] = 0x80; /* reserved u32 */
	assert_int_equal(vsm_wire_decode_hello_resp(buf, 68, &out), VSM_S_BADMSG);

	memcpy(buf, good, sizeof(buf));
	memset(buf + 36, 'y', 32); /* tenant not terminated */
	assert_int_equal(vsm_wire_decode_hello_resp(buf, 68, &out), VSM_S_BADMSG);

	memcpy(buf, good, sizeof(buf));
	buf[67] = 'z'; /* bytes after the terminator must be zero */
	assert_int_equal(vsm_wire_decode_hello_resp(buf, 68, &out), VSM_S_BADMSG);

	memcpy(buf, good, sizeof(buf));
	buf[0] = 0; /* version 0 */
	assert_int_equal(vsm_wire_decode_hello_resp(buf, 68, &out), VSM_S_BADMSG);
}

/* ---- session create ---- */

static const uint8_t sess_key[5] = {'K', 'E', 'Y', '!', '!'};
static const uint8_t sess_aux[3] = {'u', 'i', 'd'};

static struct vsm_wire_session sample_session(void)
{
	struct vsm_wire_session m = {
		.service = VSM_SVC_AKCIPHER,
		.alg = VSM_ALG_RSA,
		.flags = VSM_SESSF_PREHASHED,
		.padding = VSM_PAD_PSS,
		.hash = VSM_ALG_SHA256,
		.mgf_hash = VSM_ALG_SHA1,
		.tag_len = 0,
		.salt_len = -1,
		.key = sess_key,
		.key_len = sizeof(sess_key),
		.aux = sess_aux,
		.aux_len = sizeof(sess_aux),
	};
	return m;
}

static const uint8_t sess_bytes[48] = {
	0x04, 0x00, 0x00, 0x00, /* service AKCIPHER */
	0x50, 0x00, 0x00, 0x00, /* alg RSA (80) */
	0x01, 0x00, 0x00, 0x00, /* flags PREHASHED */
	0x02, 0x00, 0x00, 0x00, /* padding PSS */
	0x16, 0x00, 0x00, 0x00, /* hash SHA256 (22) */
	0x14, 0x00, 0x00, 0x00, /* mgf_hash SHA1 (20) */
	0x00, 0x00, 0x00, 0x00, /* tag_len */
	0xff, 0xff, 0xff, 0xff, /* salt_len -1 */
	0x05, 0x00, 0x00, 0x00, /* key_len */
	0x03, 0x00, 0x00, 0x00, /* aux_len */
	'K',  'E',  'Y',  '!',	'!', 'u', 'i', 'd',
};

static void test_session_layout(void **state)
{
	struct vsm_wire_session in = sample_session();
	struct vsm_wire_session out;
	uint8_t buf[64];

	assert_int_equal(vsm_wire_session_size(&in), sizeof(sess_bytes));
	assert_int_equal(vsm_wire_encode_session(buf, sizeof(buf), &in), sizeof(sess_bytes));
	assert_memory_equal(buf, sess_bytes, sizeof(sess_bytes));

	assert_int_equal(vsm_wire_decode_session(sess_bytes, sizeof(sess_bytes), &out), VSM_S_OK);
	assert_int_equal(out.service, in.service);
	assert_int_equal(out.alg, in.alg);
	assert_int_equal(out.flags, in.flags);
	assert_int_equal(out.padding, in.padding);
	assert_int_equal(out.hash, in.hash);
	assert_int_equal(out.mgf_hash, in.mgf_hash);
	assert_int_equal(out.tag_len, in.tag_len);
	assert_int_equal(out.salt_len, -1);
	assert_int_equal(out.key_len, 5);
	assert_int_equal(out.aux_len, 3);
	/* Decoded pointers refer into the input, not into a copy. */
	assert_ptr_equal(out.key, sess_bytes + 40);
	assert_ptr_equal(out.aux, sess_bytes + 45);
}

static void test_session_empty_fields(void **state)
{
	struct vsm_wire_session in = {
		.service = VSM_SVC_HASH, .alg = VSM_ALG_SM3, .tag_len = 16, .salt_len = 0x7fffffff};
	struct vsm_wire_session out;
	uint8_t buf[40];

	assert_int_equal(vsm_wire_session_size(&in), 40);
	assert_int_equal(vsm_wire_encode_session(buf, sizeof(buf), &in), 40);
	assert_int_equal(vsm_wire_decode_session(buf, sizeof(buf), &out), VSM_S_OK);
	assert_int_equal(out.alg, VSM_ALG_SM3);
	assert_int_equal(out.tag_len, 16);
	assert_int_equal(out.salt_len, 0x7fffffff);
	assert_int_equal(out.key_len, 0);
	assert_int_equal(out.aux_len, 0);
}

static int decode_patched_session(size_t off, uint32_t v, size_t len)
{
	uint8_t buf[sizeof(sess_bytes) + 1] = {0};
	struct vsm_wire_session out;

	memcpy(buf, sess_bytes, sizeof(sess_bytes));
	put32(buf + off, v);
	return vsm_wire_decode_session(buf, len, &out);
}

static void test_session_reject_lengths(void **state)
{
	struct vsm_wire_session out;
	size_t n = sizeof(sess_bytes);

	assert_int_equal(decode_patched_session(0, VSM_SVC_AKCIPHER, n), VSM_S_OK);
	assert_int_equal(vsm_wire_decode_session(sess_bytes, 39, &out), VSM_S_BADMSG);
	assert_int_equal(vsm_wire_decode_session(sess_bytes, 0, &out), VSM_S_BADMSG);
	/* truncated data, trailing byte */
	assert_int_equal(decode_patched_session(0, VSM_SVC_AKCIPHER, n - 1), VSM_S_BADMSG);
	assert_int_equal(decode_patched_session(0, VSM_SVC_AKCIPHER, n + 1), VSM_S_BADMSG);
	/* each length inflated or deflated by one */
	assert_int_equal(decode_patched_session(32, 6, n), VSM_S_BADMSG);
	assert_int_equal(decode_patched_session(36, 4, n), VSM_S_BADMSG);
	assert_int_equal(decode_patched_session(32, 4, n), VSM_S_BADMSG);
	assert_int_equal(decode_patched_session(36, 2, n), VSM_S_BADMSG);
	/* key_len + aux_len == 8 (mod 2^32): the real data length */
	{
		uint8_t buf[sizeof(sess_bytes)];

		memcpy(buf, sess_bytes, sizeof(buf));
		put32(buf + 32, 0xffffffffu);
		put32(buf + 36, 9);
		assert_int_equal(vsm_wire_decode_session(buf, n, &out), VSM_S_BADMSG);
	}
}

static void test_session_reject_overflow(void **state)
{
	uint8_t buf[40];
	struct vsm_wire_session out;

	/* 40 + key_len + aux_len == 40 (mod 2^32) */
	memcpy(buf, sess_bytes, 40);
	put32(buf + 32, 0xffffffffu);
	put32(buf + 36, 1);
	assert_int_equal(vsm_wire_decode_session(buf, 40, &out), VSM_S_BADMSG);
	put32(buf + 32, 0x80000000u);
	put32(buf + 36, 0x80000000u);
	assert_int_equal(vsm_wire_decode_session(buf, 40, &out), VSM_S_BADMSG);
	/* 40 + key_len == 40 (mod 2^32) */
	put32(buf + 32, 0xffffffd8u);
	put32(buf + 36, 0x28);
	assert_int_equal(vsm_wire_decode_session(buf, 40, &out), VSM_S_BADMSG);
}

static void test_session_reject_enums(void **state)
{
	size_t n = sizeof(sess_bytes);

	/* service */
	assert_int_equal(decode_patched_session(0, VSM_SVC__MAX, n), VSM_S_BADMSG);
	assert_int_equal(decode_patched_session(0, 0xffffffffu, n), VSM_S_BADMSG);
	/* alg: none, gaps, past the end */
	assert_int_equal(decode_patched_session(4, VSM_ALG_NONE, n), VSM_S_BADMSG);
	assert_int_equal(decode_patched_session(4, 9, n), VSM_S_BADMSG);
	assert_int_equal(decode_patched_session(4, 27, n), VSM_S_BADMSG);
	assert_int_equal(decode_patched_session(4, 84, n), VSM_S_BADMSG);
	assert_int_equal(decode_patched_session(4, VSM_ALG__MAX, n), VSM_S_BADMSG);
	assert_int_equal(decode_patched_session(4, 0x80000050u, n), VSM_S_BADMSG);
	/* flags */
	assert_int_equal(decode_patched_session(8, 0x8, n), VSM_S_BADMSG);
	assert_int_equal(decode_patched_session(8, 0x80000000u, n), VSM_S_BADMSG);
	/* padding */
	assert_int_equal(decode_patched_session(12, VSM_PAD_OAEP, n), VSM_S_OK);
	assert_int_equal(decode_patched_session(12, VSM_PAD__MAX, n), VSM_S_BADMSG);
	/* hash, mgf_hash: 0 or a HASH alg only */
	assert_int_equal(decode_patched_session(16, 0, n), VSM_S_OK);
	assert_int_equal(decode_patched_session(16, VSM_ALG_SM3, n), VSM_S_OK);
	assert_int_equal(decode_patched_session(16, VSM_ALG_HMAC_SHA256, n), VSM_S_BADMSG);
	assert_int_equal(decode_patched_session(16, VSM_ALG_AES_ECB, n), VSM_S_BADMSG);
	assert_int_equal(decode_patched_session(16, 27, n), VSM_S_BADMSG);
	assert_int_equal(decode_patched_session(16, 0x100 + VSM_ALG_SHA256, n), VSM_S_BADMSG);
	assert_int_equal(decode_patched_session(20, 0, n), VSM_S_OK);
	assert_int_equal(decode_patched_session(20, VSM_ALG_SHA512, n), VSM_S_OK);
	assert_int_equal(decode_patched_session(20, VSM_ALG_RSA, n), VSM_S_BADMSG);
	assert_int_equal(decode_patched_session(20, 19, n), VSM_S_BADMSG);
}

/* ---- u64 / u32 ---- */

static void test_u64_u32(void **state)
{
	static const uint8_t b64[8] = {0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11};
	static const uint8_t b32[4] = {0x44, 0x33, 0x22, 0x11};
	uint8_t buf[9];
	uint64_t v64;
	uint32_t v32;

	assert_int_equal(vsm_wire_encode_u64(buf, 8, 0x1122334455667788ull), 8);
	assert_memory_equal(buf, b64, 8);
	assert_int_equal(vsm_wire_decode_u64(b64, 8, &v64), VSM_S_OK);
	assert_true(v64 == 0x1122334455667788ull);
	assert_int_equal(vsm_wire_decode_u64(buf, 7, &v64), VSM_S_BADMSG);
	assert_int_equal(vsm_wire_decode_u64(buf, 9, &v64), VSM_S_BADMSG);
	assert_int_equal(vsm_wire_decode_u64(buf, 0, &v64), VSM_S_BADMSG);

	assert_int_equal(vsm_wire_encode_u32(buf, 4, 0x11223344u), 4);
	assert_memory_equal(buf, b32, 4);
	assert_int_equal(vsm_wire_decode_u32(b32, 4, &v32), VSM_S_OK);
	assert_int_equal(v32, 0x11223344u);
	assert_int_equal(vsm_wire_decode_u32(buf, 3, &v32), VSM_S_BADMSG);
	assert_int_equal(vsm_wire_decode_u32(buf, 5, &v32), VSM_S_BADMSG);
	assert_int_equal(vsm_wire_decode_u32(buf, 8, &v32), VSM_S_BADMSG);
}

/* ---- op ---- */

static const uint8_t op_bytes[47] = {
	0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, /* session */
	0x02, 0x00, 0x00, 0x00,				/* op DECRYPT */
	0x01, 0x00, 0x00, 0x00,				/* flags MORE */
	0x00, 0x01, 0x00, 0x00,				/* dst_len 256 */
	0x02, 0x00, 0x00, 0x00,				/* iv_len */
	0x01, 0x00, 0x00, 0x00,				/* aad_len */
	0x03, 0x00, 0x00, 0x00,				/* src_len */
	0x01, 0x00, 0x00, 0x00,				/* aux_len */
	0x00, 0x00, 0x00, 0x00,				/* reserved */
	'i',  'v',  'A',  's',	'r',  'c',  'X',
};

static struct vsm_wire_op sample_op(void)
{
	struct vsm_wire_op m = {
		.session = 0x1122334455667788ull,
		.op = VSM_OP_DECRYPT,
		.flags = VSM_OPF_MORE,
		.dst_len = 256,
		.iv = (const uint8_t *)"iv",
		.iv_len = 2,
		.aad = (const uint8_t *)"A",
		.aad_len = 1,
		.src = (const uint8_t *)"src",
		.src_len = 3,
		.aux = (const uint8_t *)"X",
		.aux_len = 1,
	};
	return m;
}

static void test_op_layout(void **state)
{
	struct vsm_wire_op in = sample_op();
	struct vsm_wire_op out;
	uint8_t buf[64];

	assert_int_equal(vsm_wire_op_size(&in), sizeof(op_bytes));
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(vsm_wire_encode_op(buf, sizeof(buf), &in), sizeof(op_bytes));
	assert_memory_equal(buf, op_bytes, sizeof(op_bytes));
	assert_int_equal(buf[sizeof(op_bytes)], 0xaa);

	assert_int_equal(vsm_wire_decode_op(op_bytes, sizeof(op_bytes), &out), VSM_S_OK);
	assert_true(out.session == in.session);
	assert_int_equal(out.op, VSM_OP_DECRYPT);
	assert_int_equal(out.flags, VSM_OPF_MORE);
	assert_int_equal(out.dst_len, 256);
	assert_int_equal(out.iv_len, 2);
	assert_int_equal(out.aad_len, 1);
	assert_int_equal(out.src_len, 3);
	assert_int_equal(out.aux_len, 1);
	assert_ptr_equal(out.iv, op_bytes + 40);
	assert_ptr_equal(out.aad, op_bytes + 42);
	assert_ptr_equal(out.src, op_bytes + 43);
	assert_ptr_equal(out.aux, op_bytes + 46);
}

static void test_op_roundtrip_all_ops(void **state)
{
	static const uint8_t data[300] = {1, 2, 3};
	struct vsm_wire_op in = {.session = 1, .src = data, .src_len = sizeof(data)};
	struct vsm_wire_op out;
	uint8_t buf[400];

	for (uint32_t op = 1; op < VSM_OP__MAX; op++) {
		in.op = op;
		assert_int_equal(vsm_wire_encode_op(buf, sizeof(buf), &in), 340);
		assert_int_equal(vsm_wire_decode_op(buf, 340, &out), VSM_S_OK);
		assert_int_equal(out.op, op);
		assert_int_equal(out.src_len, 300);
		assert_int_equal(out.iv_len + out.aad_len + out.aux_len, 0);
		assert_memory_equal(out.src, data, sizeof(data));
	}
}

static int decode_patched_op(size_t off, uint32_t v, size_t len)
{
	uint8_t buf[sizeof(op_bytes) + 1] = {0};
	struct vsm_wire_op out;

	memcpy(buf, op_bytes, sizeof(op_bytes));
	put32(buf + off, v);
	return vsm_wire_decode_op(buf, len, &out);
}

static void test_op_reject_lengths(void **state)
{
	struct vsm_wire_op out;
	size_t n = sizeof(op_bytes);

	assert_int_equal(decode_patched_op(8, VSM_OP_DECRYPT, n), VSM_S_OK);
	assert_int_equal(vsm_wire_decode_op(op_bytes, 39, &out), VSM_S_BADMSG);
	assert_int_equal(vsm_wire_decode_op(op_bytes, 0, &out), VSM_S_BADMSG);
	assert_int_equal(decode_patched_op(8, VSM_OP_DECRYPT, n - 1), VSM_S_BADMSG);
	assert_int_equal(decode_patched_op(8, VSM_OP_DECRYPT, n + 1), VSM_S_BADMSG);
	/* each length field inflated by one */
	assert_int_equal(decode_patched_op(20, 3, n), VSM_S_BADMSG);
	assert_int_equal(decode_patched_op(24, 2, n), VSM_S_BADMSG);
	assert_int_equal(decode_patched_op(28, 4, n), VSM_S_BADMSG);
	assert_int_equal(decode_patched_op(32, 2, n), VSM_S_BADMSG);
	/* dst_len is a capacity, not a length of anything present */
	assert_int_equal(decode_patched_op(16, 0xffffffffu, n), VSM_S_OK);
}

static void test_op_reject_overflow(void **state)
{
	uint8_t buf[47];
	struct vsm_wire_op out;

	memcpy(buf, op_bytes, sizeof(buf));
	/* iv + aad + src + aux == 7 (mod 2^32) */
	put32(buf + 20, 0xffffffffu);
	put32(buf + 24, 2);
	put32(buf + 28, 3);
	put32(buf + 32, 3);
	assert_int_equal(vsm_wire_decode_op(buf, 47, &out), VSM_S_BADMSG);
	/* four quarters of 2^32, plus the 7 real bytes */
	put32(buf + 20, 0x40000000u);
	put32(buf + 24, 0x40000000u);
	put32(buf + 28, 0x40000000u);
	put32(buf + 32, 0x40000007u);
	assert_int_equal(vsm_wire_decode_op(buf, 47, &out), VSM_S_BADMSG);
	/* the last field alone wraps 40 + aux */
	put32(buf + 20, 0);
	put32(buf + 24, 0);
	put32(buf + 28, 0);
	put32(buf + 32, 0xffffffdfu); /* 40 + this == 7 (mod 2^32) */
	assert_int_equal(vsm_wire_decode_op(buf, 47, &out), VSM_S_BADMSG);
}

static void test_op_reject_fields(void **state)
{
	size_t n = sizeof(op_bytes);

	assert_int_equal(decode_patched_op(8, 0, n), VSM_S_BADMSG);
	assert_int_equal(decode_patched_op(8, VSM_OP__MAX, n), VSM_S_BADMSG);
	assert_int_equal(decode_patched_op(8, 0x100 + VSM_OP_ENCRYPT, n), VSM_S_BADMSG);
	assert_int_equal(decode_patched_op(12, 0, n), VSM_S_OK);
	assert_int_equal(decode_patched_op(12, 0x2, n), VSM_S_BADMSG);
	assert_int_equal(decode_patched_op(12, 0x80000001u, n), VSM_S_BADMSG);
	assert_int_equal(decode_patched_op(36, 1, n), VSM_S_BADMSG);
	assert_int_equal(decode_patched_op(36, 0x01000000u, n), VSM_S_BADMSG);
}

/* ---- status ---- */

static void test_status_roundtrip(void **state)
{
	struct vsm_wire_status in = {
		.sessions = 1,
		.max_sessions = 2,
		.inflight = 3,
		.max_inflight = 4,
		.max_msg = 5,
		.workers = 6,
		.ops = 0x0102030405060708ull,
		.errors = 9,
		.uptime_ms = UINT64_MAX,
	};
	struct vsm_wire_status out;
	uint8_t buf[VSM_WIRE_STATUS_RESP_LEN];

	strcpy(in.tenant, "vm-17");
	assert_int_equal(VSM_WIRE_STATUS_RESP_LEN, 80);
	assert_int_equal(vsm_wire_encode_status(buf, sizeof(buf), &in), 80);
	assert_memory_equal(buf, "vm-17\0\0\0", 8);
	assert_int_equal(buf[32], 1);
	assert_int_equal(buf[52], 6);
	assert_int_equal(buf[56], 0x08);
	assert_int_equal(buf[63], 0x01);
	assert_int_equal(buf[79], 0xff);

	memset(&out, 0x55, sizeof(out));
	assert_int_equal(vsm_wire_decode_status(buf, sizeof(buf), &out), VSM_S_OK);
	assert_string_equal(out.tenant, "vm-17");
	assert_int_equal(out.sessions, 1);
	assert_int_equal(out.max_sessions, 2);
	assert_int_equal(out.inflight, 3);
	assert_int_equal(out.max_inflight, 4);
	assert_int_equal(out.max_msg, 5);
	assert_int_equal(out.workers, 6);
	assert_true(out.ops == in.ops);
	assert_true(out.errors == 9);
	assert_true(out.uptime_ms == UINT64_MAX);
}

static void test_status_reject(void **state)
{
	struct vsm_wire_status in = {.workers = 1};
	struct vsm_wire_status out;
	uint8_t buf[VSM_WIRE_STATUS_RESP_LEN + 1] = {0};

	strcpy(in.tenant, "t");
	vsm_wire_encode_status(buf, sizeof(buf), &in);
	assert_int_equal(vsm_wire_decode_status(buf, 80, &out), VSM_S_OK);
	assert_int_equal(vsm_wire_decode_status(buf, 79, &out), VSM_S_BADMSG);
	assert_int_equal(vsm_wire_decode_status(buf, 81, &out), VSM_S_BADMSG);
	buf[31] = 'q';
	assert_int_equal(vsm_wire_decode_status(buf, 80, &out), VSM_S_BADMSG);
	memset(buf, 'q', 32);
	assert_int_equal(vsm_wire_decode_status(buf, 80, &out), VSM_S_BADMSG);
}

/* ---- encoders on short buffers ---- */

/* Each encoder either writes the whole message or nothing at all. */
static void test_encode_short(void **state)
{
	struct vsm_wire_hello hello = {.min_version = 1, .max_version = 1};
	struct vsm_wire_hello_resp hr = sample_hello_resp();
	struct vsm_wire_session s = sample_session();
	struct vsm_wire_op op = sample_op();
	struct vsm_wire_status st = {.tenant = "x"};
	uint8_t buf[128], pristine[128];

	memset(pristine, 0xaa, sizeof(pristine));
#define SHORT(call)                                                                                \
	do {                                                                                       \
		memset(buf, 0xaa, sizeof(buf));                                                    \
		assert_int_equal(call, 0);                                                         \
		assert_memory_equal(buf, pristine, sizeof(buf));                                   \
	} while (0)
	SHORT(vsm_wire_encode_hdr(buf, 23, &hdr_val));
	SHORT(vsm_wire_encode_hdr(buf, 0, &hdr_val));
	SHORT(vsm_wire_encode_hello(buf, 7, &hello));
	SHORT(vsm_wire_encode_hello_resp(buf, 67, &hr));
	SHORT(vsm_wire_encode_session(buf, sizeof(sess_bytes) - 1, &s));
	SHORT(vsm_wire_encode_session(buf, 39, &s));
	SHORT(vsm_wire_encode_u64(buf, 7, 1));
	SHORT(vsm_wire_encode_u32(buf, 3, 1));
	SHORT(vsm_wire_encode_op(buf, sizeof(op_bytes) - 1, &op));
	SHORT(vsm_wire_encode_op(buf, 0, &op));
	SHORT(vsm_wire_encode_status(buf, 79, &st));
#undef SHORT
}

/* A message too big to ever be sent has no size and cannot be encoded. */
static void test_size_limits(void **state)
{
	struct vsm_wire_op op = {.op = VSM_OP_ENCRYPT};
	struct vsm_wire_session s = {.alg = VSM_ALG_AES_CBC};
	uint8_t buf[64];

	op.src_len = VSM_WIRE_MAX_PAYLOAD - VSM_WIRE_OP_LEN;
	assert_int_equal(vsm_wire_op_size(&op), VSM_WIRE_MAX_PAYLOAD);
	op.aux_len = 1;
	assert_int_equal(vsm_wire_op_size(&op), 0);
	op.src_len = op.iv_len = op.aad_len = op.aux_len = UINT32_MAX;
	assert_int_equal(vsm_wire_op_size(&op), 0);
	assert_int_equal(vsm_wire_encode_op(buf, SIZE_MAX, &op), 0);

	s.key_len = VSM_WIRE_MAX_PAYLOAD - VSM_WIRE_SESSION_LEN;
	assert_int_equal(vsm_wire_session_size(&s), VSM_WIRE_MAX_PAYLOAD);
	s.aux_len = 1;
	assert_int_equal(vsm_wire_session_size(&s), 0);
	s.key_len = s.aux_len = UINT32_MAX;
	assert_int_equal(vsm_wire_session_size(&s), 0);
	assert_int_equal(vsm_wire_encode_session(buf, SIZE_MAX, &s), 0);
}

/* ---- names ---- */

static void test_names_status_detail(void **state)
{
	static const char *const st[] = {"ok",	    "err",   "badmsg",	    "notsupp",
					 "invsess", "nospc", "key_rejected"};
	static const char *const det[] = {
		"none",	    "protocol",	  "too_big",	  "session_limit", "auth_failed",
		"bad_key",  "bad_length", "output_space", "version",	   "no_hello",
		"shutdown", "engine",	  "bad_op",	  "access_denied", "no_key",
		"exists",   "keystore",	  "no_file",	  "range",	   "key_type",
	};

	assert_int_equal(ARRAY_SIZE(st), VSM_S__MAX);
	for (int i = 0; i < VSM_S__MAX; i++)
		assert_string_equal(vsm_status_name(i), st[i]);
	assert_int_equal(ARRAY_SIZE(det), VSM_D__MAX);
	for (int i = 0; i < VSM_D__MAX; i++)
		assert_string_equal(vsm_detail_name(i), det[i]);
	assert_string_equal(vsm_status_name(VSM_S__MAX), "unknown");
	assert_string_equal(vsm_status_name(-1), "unknown");
	assert_string_equal(vsm_detail_name(VSM_D__MAX), "unknown");
	assert_string_equal(vsm_detail_name(-1), "unknown");
}

static void test_names_service_op(void **state)
{
	static const char *const svc[] = {"cipher", "hash", "mac", "aead", "akcipher"};
	static const char *const ops[] = {"unknown", "encrypt", "decrypt",
					  "sign",    "verify",	"digest"};

	assert_int_equal(ARRAY_SIZE(svc), VSM_SVC__MAX);
	for (int i = 0; i < VSM_SVC__MAX; i++)
		assert_string_equal(vsm_service_name(i), svc[i]);
	assert_string_equal(vsm_service_name(VSM_SVC__MAX), "unknown");
	assert_string_equal(vsm_service_name(-5), "unknown");
	assert_int_equal(ARRAY_SIZE(ops), VSM_OP__MAX);
	for (int i = 0; i < VSM_OP__MAX; i++)
		assert_string_equal(vsm_op_name(i), ops[i]);
	assert_string_equal(vsm_op_name(VSM_OP__MAX), "unknown");
	assert_string_equal(vsm_op_name(-1), "unknown");
}

static const struct {
	int alg;
	const char *name;
	int service;
} alg_table[] = {
	{VSM_ALG_AES_ECB, "aes-ecb", VSM_SVC_CIPHER},
	{VSM_ALG_AES_CBC, "aes-cbc", VSM_SVC_CIPHER},
	{VSM_ALG_AES_CTR, "aes-ctr", VSM_SVC_CIPHER},
	{VSM_ALG_AES_XTS, "aes-xts", VSM_SVC_CIPHER},
	{VSM_ALG_SM4_ECB, "sm4-ecb", VSM_SVC_CIPHER},
	{VSM_ALG_SM4_CBC, "sm4-cbc", VSM_SVC_CIPHER},
	{VSM_ALG_SM4_CTR, "sm4-ctr", VSM_SVC_CIPHER},
	{VSM_ALG_CHACHA20, "chacha20", VSM_SVC_CIPHER},
	{VSM_ALG_SHA1, "sha1", VSM_SVC_HASH},
	{VSM_ALG_SHA224, "sha224", VSM_SVC_HASH},
	{VSM_ALG_SHA256, "sha256", VSM_SVC_HASH},
	{VSM_ALG_SHA384, "sha384", VSM_SVC_HASH},
	{VSM_ALG_SHA512, "sha512", VSM_SVC_HASH},
	{VSM_ALG_SHA3_256, "sha3-256", VSM_SVC_HASH},
	{VSM_ALG_SM3, "sm3", VSM_SVC_HASH},
	{VSM_ALG_HMAC_SHA1, "hmac-sha1", VSM_SVC_MAC},
	{VSM_ALG_HMAC_SHA256, "hmac-sha256", VSM_SVC_MAC},
	{VSM_ALG_HMAC_SHA384, "hmac-sha384", VSM_SVC_MAC},
	{VSM_ALG_HMAC_SHA512, "hmac-sha512", VSM_SVC_MAC},
	{VSM_ALG_HMAC_SM3, "hmac-sm3", VSM_SVC_MAC},
	{VSM_ALG_CMAC_AES, "cmac-aes", VSM_SVC_MAC},
	{VSM_ALG_AES_GCM, "aes-gcm", VSM_SVC_AEAD},
	{VSM_ALG_AES_CCM, "aes-ccm", VSM_SVC_AEAD},
	{VSM_ALG_CHACHA20_POLY1305, "chacha20-poly1305", VSM_SVC_AEAD},
	{VSM_ALG_SM4_GCM, "sm4-gcm", VSM_SVC_AEAD},
	{VSM_ALG_RSA, "rsa", VSM_SVC_AKCIPHER},
	{VSM_ALG_ECDSA, "ecdsa", VSM_SVC_AKCIPHER},
	{VSM_ALG_SM2, "sm2", VSM_SVC_AKCIPHER},
	{VSM_ALG_ED25519, "ed25519", VSM_SVC_AKCIPHER},
};

static void test_names_alg(void **state)
{
	int known = 0;

	for (size_t i = 0; i < ARRAY_SIZE(alg_table); i++) {
		assert_string_equal(vsm_alg_name(alg_table[i].alg), alg_table[i].name);
		assert_int_equal(vsm_alg_service(alg_table[i].alg), alg_table[i].service);
		assert_int_equal(vsm_alg_from_name(alg_table[i].name), alg_table[i].alg);
	}
	/* Every id not in the table is unknown, in both directions. */
	for (int a = -1; a <= VSM_ALG__MAX + 1; a++) {
		if (vsm_alg_service(a) < 0) {
			assert_string_equal(vsm_alg_name(a), "unknown");
			continue;
		}
		known++;
		assert_int_equal(vsm_alg_from_name(vsm_alg_name(a)), a);
	}
	assert_int_equal(known, ARRAY_SIZE(alg_table));
	assert_int_equal(vsm_alg_from_name("unknown"), -1);
	assert_int_equal(vsm_alg_from_name(""), -1);
	assert_int_equal(vsm_alg_from_name("AES-GCM"), -1);
	assert_int_equal(vsm_alg_from_name("aes-gcm "), -1);
	assert_int_equal(vsm_alg_from_name(NULL), -1);
	assert_string_equal(vsm_alg_name(1000), "unknown");
}

/* ---- KEY ---- */

/* SKEY_IMPORT uses every field but the handle; AGREE_FINISH uses the handle. */
static const uint8_t key_bytes[48 + 3 + 2 + 1] = {
	0x08, 0x00, 0x00, 0x00,				/* kop SKEY_IMPORT */
	0x03, 0x00, 0x00, 0x00,				/* usage KEK */
	0x07, 0x01, 0x00, 0x00,				/* index 0x107 */
	0x10, 0x00, 0x00, 0x00,				/* type SM4 */
	0x80, 0x00, 0x00, 0x00,				/* bits 128 */
	0x06, 0x00, 0x00, 0x00,				/* alg SM4_CBC */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* handle */
	0x03, 0x00, 0x00, 0x00,				/* a_len */
	0x02, 0x00, 0x00, 0x00,				/* b_len */
	0x01, 0x00, 0x00, 0x00,				/* c_len */
	0x00, 0x00, 0x00, 0x00,				/* reserved */
	'p',  'w',  'd',				/* a */
	0xb1, 0xb2,					/* b */
	0xc1,						/* c */
};

static void test_key_layout(void **state)
{
	struct vsm_wire_key in = {
		.kop = VSM_KOP_SKEY_IMPORT,
		.usage = VSM_KU_KEK,
		.index = 0x107,
		.type = VSM_KT_SM4,
		.bits = 128,
		.alg = VSM_ALG_SM4_CBC,
		.a = (const uint8_t *)"pwd",
		.a_len = 3,
		.b = (const uint8_t *)"\xb1\xb2",
		.b_len = 2,
		.c = (const uint8_t *)"\xc1",
		.c_len = 1,
	};
	uint8_t buf[64];
	struct vsm_wire_key out;

	assert_int_equal(vsm_wire_key_size(&in), sizeof(key_bytes));
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(vsm_wire_encode_key(buf, sizeof(buf), &in), sizeof(key_bytes));
	assert_memory_equal(buf, key_bytes, sizeof(key_bytes));
	assert_int_equal(buf[sizeof(key_bytes)], 0xaa);
	assert_int_equal(vsm_wire_encode_key(buf, sizeof(key_bytes) - 1, &in), 0);

	assert_int_equal(vsm_wire_decode_key(key_bytes, sizeof(key_bytes), &out), VSM_S_OK);
	assert_int_equal(out.kop, VSM_KOP_SKEY_IMPORT);
	assert_int_equal(out.usage, VSM_KU_KEK);
	assert_int_equal(out.index, 0x107);
	assert_int_equal(out.type, VSM_KT_SM4);
	assert_int_equal(out.bits, 128);
	assert_int_equal(out.alg, VSM_ALG_SM4_CBC);
	assert_true(out.handle == 0);
	assert_int_equal(out.a_len, 3);
	assert_ptr_equal(out.a, key_bytes + 48);
	assert_int_equal(out.b_len, 2);
	assert_ptr_equal(out.b, key_bytes + 51);
	assert_int_equal(out.c_len, 1);
	assert_ptr_equal(out.c, key_bytes + 53);
}

static void test_key_handle_layout(void **state)
{
	struct vsm_wire_key in = {
		.kop = VSM_KOP_SKEY_DESTROY,
		.handle = 0x0102030405060708ull,
	};
	uint8_t buf[48], want[48] = {0x09};
	struct vsm_wire_key out;

	for (int i = 0; i < 8; i++)
		want[24 + i] = (uint8_t)(8 - i);
	assert_int_equal(vsm_wire_encode_key(buf, sizeof(buf), &in), 48);
	assert_memory_equal(buf, want, 48);
	assert_int_equal(vsm_wire_decode_key(buf, 48, &out), VSM_S_OK);
	assert_true(out.handle == 0x0102030405060708ull);
	assert_int_equal(out.a_len + out.b_len + out.c_len, 0);
}

/* Every kop with every field it takes set: encodes, decodes back the same. */
static void test_key_roundtrip_all_kops(void **state)
{
	static const uint32_t kops[] = {
		VSM_KOP_GENERATE,      VSM_KOP_IMPORT,	    VSM_KOP_DELETE,
		VSM_KOP_LIST,	       VSM_KOP_PUBLIC,	    VSM_KOP_SET_PASSWORD,
		VSM_KOP_SKEY_GENERATE, VSM_KOP_SKEY_IMPORT, VSM_KOP_SKEY_DESTROY,
		VSM_KOP_ENVELOPE,      VSM_KOP_AGREE_INIT,  VSM_KOP_AGREE_FINISH,
		VSM_KOP_AGREE_RESPOND, VSM_KOP_FILE_CREATE, VSM_KOP_FILE_READ,
		VSM_KOP_FILE_WRITE,    VSM_KOP_FILE_DELETE,
	};
	uint8_t buf[128];

	for (size_t i = 0; i < ARRAY_SIZE(kops); i++) {
		/* Set one field at a time; the decoder says which ones the kop takes. */
		struct vsm_wire_key in = {.kop = kops[i]}, out;
		size_t n = vsm_wire_encode_key(buf, sizeof(buf), &in);

		assert_int_equal(n, 48);
		assert_int_equal(vsm_wire_decode_key(buf, n, &out), VSM_S_OK);
		assert_int_equal(out.kop, kops[i]);

		in.usage = VSM_KU_ENC;
		in.index = 5;
		in.type = VSM_KT_SM2;
		in.bits = 256;
		in.alg = VSM_ALG_SM4_ECB;
		in.handle = 77;
		in.a = (const uint8_t *)"A";
		in.a_len = 1;
		in.b = (const uint8_t *)"BB";
		in.b_len = 2;
		in.c = (const uint8_t *)"CCC";
		in.c_len = 3;
		n = vsm_wire_encode_key(buf, sizeof(buf), &in);
		assert_int_equal(n, 54);
		/* All fields at once fit no kop: some field is always unused. */
		assert_int_equal(vsm_wire_decode_key(buf, n, &out), VSM_S_BADMSG);
	}
}

static void key_field_case(uint32_t kop, int field, int want_ok)
{
	struct vsm_wire_key in = {.kop = kop}, out;
	uint8_t buf[64];
	size_t n;

	switch (field) {
	case 0:
		in.usage = VSM_KU_SIGN;
		break;
	case 1:
		in.index = 1;
		break;
	case 2:
		in.type = VSM_KT_AES;
		break;
	case 3:
		in.bits = 8;
		break;
	case 4:
		in.alg = VSM_ALG_AES_ECB;
		break;
	case 5:
		in.handle = 1;
		break;
	case 6:
		in.a = (const uint8_t *)"x";
		in.a_len = 1;
		break;
	case 7:
		in.b = (const uint8_t *)"x";
		in.b_len = 1;
		break;
	case 8:
		in.c = (const uint8_t *)"x";
		in.c_len = 1;
		break;
	}
	n = vsm_wire_encode_key(buf, sizeof(buf), &in);
	assert_int_not_equal(n, 0);
	assert_int_equal(vsm_wire_decode_key(buf, n, &out), want_ok ? VSM_S_OK : VSM_S_BADMSG);
}

/* The fields of each kop as wire.h documents them (usage index type bits alg handle a b c). */
static void test_key_fields_per_kop(void **state)
{
	static const struct {
		uint32_t kop;
		const char *uses; /* '1' = the kop takes that field */
	} t[] = {
		{VSM_KOP_GENERATE, "111100110"},      {VSM_KOP_IMPORT, "111000111"},
		{VSM_KOP_DELETE, "110000000"},	      {VSM_KOP_LIST, "000000000"},
		{VSM_KOP_PUBLIC, "110000000"},	      {VSM_KOP_SET_PASSWORD, "110000110"},
		{VSM_KOP_SKEY_GENERATE, "111110101"}, {VSM_KOP_SKEY_IMPORT, "111110111"},
		{VSM_KOP_SKEY_DESTROY, "000001000"},  {VSM_KOP_ENVELOPE, "110000111"},
		{VSM_KOP_AGREE_INIT, "111100110"},    {VSM_KOP_AGREE_FINISH, "000001011"},
		{VSM_KOP_AGREE_RESPOND, "111100111"}, {VSM_KOP_FILE_CREATE, "000100010"},
		{VSM_KOP_FILE_READ, "010100010"},     {VSM_KOP_FILE_WRITE, "010000011"},
		{VSM_KOP_FILE_DELETE, "000000010"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		for (int f = 0; f < 9; f++)
			key_field_case(t[i].kop, f, t[i].uses[f] == '1');
}

static int decode_patched_key(size_t off, uint32_t v)
{
	uint8_t buf[sizeof(key_bytes)];
	struct vsm_wire_key out;

	memcpy(buf, key_bytes, sizeof(buf));
	put32(buf + off, v);
	return vsm_wire_decode_key(buf, sizeof(buf), &out);
}

static void test_key_reject_lengths(void **state)
{
	uint8_t buf[sizeof(key_bytes) + 1];
	struct vsm_wire_key out;

	/* Short of the fixed part, at every length. */
	for (size_t n = 0; n < 48; n++)
		assert_int_equal(vsm_wire_decode_key(key_bytes, n, &out), VSM_S_BADMSG);
	/* One byte missing, one byte extra. */
	assert_int_equal(vsm_wire_decode_key(key_bytes, sizeof(key_bytes) - 1, &out), VSM_S_BADMSG);
	memcpy(buf, key_bytes, sizeof(key_bytes));
	buf[sizeof(key_bytes)] = 0;
	assert_int_equal(vsm_wire_decode_key(buf, sizeof(buf), &out), VSM_S_BADMSG);
	/* Each variable length one too long and one too short. */
	for (size_t off = 32; off <= 40; off += 4) {
		uint32_t v = key_bytes[off];

		assert_int_equal(decode_patched_key(off, v + 1), VSM_S_BADMSG);
		assert_int_equal(decode_patched_key(off, v - 1), VSM_S_BADMSG);
		assert_int_equal(decode_patched_key(off, 0xffffffffu), VSM_S_BADMSG);
	}
	/* Lengths whose 32-bit sum wraps to the real total. */
	memcpy(buf, key_bytes, 48);
	put32(buf + 32, 0xffffffffu);
	put32(buf + 36, 1);
	put32(buf + 40, 0);
	assert_int_equal(vsm_wire_decode_key(buf, 48, &out), VSM_S_BADMSG);
	put32(buf + 32, 0x80000000u);
	put32(buf + 36, 0x80000000u);
	assert_int_equal(vsm_wire_decode_key(buf, 48, &out), VSM_S_BADMSG);
	put32(buf + 32, 0x55555556u);
	put32(buf + 36, 0x55555555u);
	put32(buf + 40, 0x55555555u);
	assert_int_equal(vsm_wire_decode_key(buf, 48, &out), VSM_S_BADMSG);
}

static void test_key_reject_fields(void **state)
{
	assert_int_equal(decode_patched_key(0, 0x08), VSM_S_OK); /* the base case is valid */
	/* reserved */
	assert_int_equal(decode_patched_key(44, 1), VSM_S_BADMSG);
	assert_int_equal(decode_patched_key(44, 0x80000000u), VSM_S_BADMSG);
	/* unknown kops: 0, the gap, past the end */
	assert_int_equal(decode_patched_key(0, 0), VSM_S_BADMSG);
	for (uint32_t k = VSM_KOP_AGREE_RESPOND + 1; k < VSM_KOP_FILE_CREATE; k++)
		assert_int_equal(decode_patched_key(0, k), VSM_S_BADMSG);
	assert_int_equal(decode_patched_key(0, VSM_KOP__MAX), VSM_S_BADMSG);
	assert_int_equal(decode_patched_key(0, 0xffffffffu), VSM_S_BADMSG);
	/* enums past their end */
	assert_int_equal(decode_patched_key(4, VSM_KU__MAX), VSM_S_BADMSG);
	assert_int_equal(decode_patched_key(12, VSM_KT__MAX), VSM_S_BADMSG);
	assert_int_equal(decode_patched_key(20, VSM_ALG__MAX), VSM_S_BADMSG);
	/* a handle where SKEY_IMPORT takes none */
	assert_int_equal(decode_patched_key(28, 1), VSM_S_BADMSG);
}

static const struct vsm_wire_key_info info_val = {
	.usage = VSM_KU_SIGN,
	.index = 3,
	.type = VSM_KT_RSA,
	.bits = 2048,
	.flags = VSM_KEYF_PASSWORD,
	.created = 0x0000000065000001ull,
	.label = "signer",
};

static void test_key_info_layout(void **state)
{
	uint8_t buf[VSM_WIRE_KEY_INFO_LEN + 1], want[VSM_WIRE_KEY_INFO_LEN] = {0};
	struct vsm_wire_key_info out;

	put32(want, VSM_KU_SIGN);
	put32(want + 4, 3);
	put32(want + 8, VSM_KT_RSA);
	put32(want + 12, 2048);
	put32(want + 16, VSM_KEYF_PASSWORD);
	put32(want + 24, 0x65000001u);
	memcpy(want + 32, "signer", 6);
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(VSM_WIRE_KEY_INFO_LEN, 96);
	assert_int_equal(vsm_wire_encode_key_info(buf, sizeof(buf), &info_val), 96);
	assert_memory_equal(buf, want, 96);
	assert_int_equal(buf[96], 0xaa);
	assert_int_equal(vsm_wire_encode_key_info(buf, 95, &info_val), 0);
	assert_int_equal(vsm_wire_decode_key_info(want, 96, &out), VSM_S_OK);
	assert_int_equal(out.usage, VSM_KU_SIGN);
	assert_int_equal(out.index, 3);
	assert_int_equal(out.type, VSM_KT_RSA);
	assert_int_equal(out.bits, 2048);
	assert_int_equal(out.flags, VSM_KEYF_PASSWORD);
	assert_true(out.created == 0x65000001u);
	assert_string_equal(out.label, "signer");
}

static void test_key_info_label_edges(void **state)
{
	struct vsm_wire_key_info in = info_val, out;
	uint8_t buf[VSM_WIRE_KEY_INFO_LEN];

	/* A 64-byte label fills the field with no NUL and still comes back whole. */
	memset(in.label, 'L', VSM_KEY_LABEL_MAX);
	in.label[VSM_KEY_LABEL_MAX] = '\0';
	assert_int_equal(vsm_wire_encode_key_info(buf, sizeof(buf), &in), 96);
	assert_int_equal(buf[95], 'L');
	assert_int_equal(vsm_wire_decode_key_info(buf, sizeof(buf), &out), VSM_S_OK);
	assert_int_equal(strlen(out.label), VSM_KEY_LABEL_MAX);
	/* Empty label. */
	in.label[0] = '\0';
	assert_int_equal(vsm_wire_encode_key_info(buf, sizeof(buf), &in), 96);
	assert_int_equal(vsm_wire_decode_key_info(buf, sizeof(buf), &out), VSM_S_OK);
	assert_string_equal(out.label, "");
	/* Garbage after the terminator makes two encodings of one label. */
	buf[40] = 'x';
	assert_int_equal(vsm_wire_decode_key_info(buf, sizeof(buf), &out), VSM_S_BADMSG);
}

static void test_key_info_reject(void **state)
{
	uint8_t good[VSM_WIRE_KEY_INFO_LEN + 1] = {0}, buf[VSM_WIRE_KEY_INFO_LEN];
	struct vsm_wire_key_info out;
	static const struct {
		size_t off;
		uint32_t v;
	} bad[] = {
		{0, 0},	 {0, VSM_KU__MAX},  {8, 0},  {8, VSM_KT__MAX},
		{16, 2}, {16, 0x80000000u}, {20, 1},
	};

	vsm_wire_encode_key_info(good, sizeof(good), &info_val);
	assert_int_equal(vsm_wire_decode_key_info(good, 96, &out), VSM_S_OK);
	assert_int_equal(vsm_wire_decode_key_info(good, 95, &out), VSM_S_BADMSG);
	assert_int_equal(vsm_wire_decode_key_info(good, 97, &out), VSM_S_BADMSG);
	assert_int_equal(vsm_wire_decode_key_info(good, 0, &out), VSM_S_BADMSG);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memcpy(buf, good, sizeof(buf));
		put32(buf + bad[i].off, bad[i].v);
		assert_int_equal(vsm_wire_decode_key_info(buf, sizeof(buf), &out), VSM_S_BADMSG);
	}
}

/* The KEY message and the keystore session flags are part of the frame grammar. */
static void test_key_hdr_and_session_flags(void **state)
{
	struct vsm_wire_hdr h = {.magic = VSM_WIRE_MAGIC, .op = VSM_MSG_KEY, .len = 48, .id = 9};
	struct vsm_wire_session in = {.service = VSM_SVC_CIPHER, .alg = VSM_ALG_SM4_CBC}, out;
	uint8_t buf[64];

	assert_int_equal(vsm_wire_encode_hdr(buf, sizeof(buf), &h), 24);
	assert_int_equal(vsm_wire_decode_hdr(buf, 24, &h), VSM_S_OK);
	assert_int_equal(h.op, VSM_MSG_KEY);
	for (uint32_t f = 0; f <= VSM_SESSF__ALL; f++) {
		in.flags = f;
		assert_int_equal(vsm_wire_encode_session(buf, sizeof(buf), &in), 40);
		assert_int_equal(vsm_wire_decode_session(buf, 40, &out), VSM_S_OK);
		assert_int_equal(out.flags, f);
	}
	in.flags = VSM_SESSF__ALL + 1;
	vsm_wire_encode_session(buf, sizeof(buf), &in);
	assert_int_equal(vsm_wire_decode_session(buf, 40, &out), VSM_S_BADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hdr_layout),
		cmocka_unit_test(test_hdr_request_roundtrip),
		cmocka_unit_test(test_hdr_longer_buffer),
		cmocka_unit_test(test_hdr_reject),
		cmocka_unit_test(test_hdr_unknown_op),
		cmocka_unit_test(test_hdr_reject_keeps_id),
		cmocka_unit_test(test_hello_roundtrip),
		cmocka_unit_test(test_hello_reject),
		cmocka_unit_test(test_hello_resp_layout),
		cmocka_unit_test(test_hello_resp_tenant_edges),
		cmocka_unit_test(test_hello_resp_reject),
		cmocka_unit_test(test_session_layout),
		cmocka_unit_test(test_session_empty_fields),
		cmocka_unit_test(test_session_reject_lengths),
		cmocka_unit_test(test_session_reject_overflow),
		cmocka_unit_test(test_session_reject_enums),
		cmocka_unit_test(test_u64_u32),
		cmocka_unit_test(test_op_layout),
		cmocka_unit_test(test_op_roundtrip_all_ops),
		cmocka_unit_test(test_op_reject_lengths),
		cmocka_unit_test(test_op_reject_overflow),
		cmocka_unit_test(test_op_reject_fields),
		cmocka_unit_test(test_status_roundtrip),
		cmocka_unit_test(test_status_reject),
		cmocka_unit_test(test_encode_short),
		cmocka_unit_test(test_size_limits),
		cmocka_unit_test(test_names_status_detail),
		cmocka_unit_test(test_names_service_op),
		cmocka_unit_test(test_names_alg),
		cmocka_unit_test(test_key_hdr_and_session_flags),
		cmocka_unit_test(test_key_layout),
		cmocka_unit_test(test_key_handle_layout),
		cmocka_unit_test(test_key_roundtrip_all_kops),
		cmocka_unit_test(test_key_fields_per_kop),
		cmocka_unit_test(test_key_reject_lengths),
		cmocka_unit_test(test_key_reject_fields),
		cmocka_unit_test(test_key_info_layout),
		cmocka_unit_test(test_key_info_label_edges),
		cmocka_unit_test(test_key_info_reject),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
