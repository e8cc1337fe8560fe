/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the wire decoders.
 *
 * The first input byte selects what the rest is fed to (see enum target);
 * FRAME decodes a header and then its payload as the daemon or the client
 * would, by op and direction. Besides crashes and sanitizer reports, it checks
 * one property: the decoders accept only canonical encodings, so re-encoding
 * an accepted message must give back exactly the input bytes, and those must
 * decode to the same values. Any mismatch aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vsm/wire.h>

enum target {
	T_HDR,
	T_HELLO,
	T_HELLO_RESP,
	T_SESSION,
	T_U64,
	T_U32,
	T_OP,
	T_STATUS,
	T_FRAME,
	T_KEY,
	T_KEY_INFO,
	T__MAX
};

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

/* The encoder must refuse a buffer one byte short and write exactly p otherwise. */
#define CHECK_REENCODE(enc, p, n, m)                                                               \
	do {                                                                                       \
		uint8_t *b_ = malloc((n) ? (n) : 1);                                               \
		CHECK(b_);                                                                         \
		CHECK(enc(b_, (n)-1, m) == 0);                                                     \
		CHECK(enc(b_, (n), m) == (n));                                                     \
		CHECK(memcmp(b_, p, n) == 0);                                                      \
		free(b_);                                                                          \
	} while (0)

static void hdr(const uint8_t *p, size_t n)
{
	struct vsm_wire_hdr h, h2;
	uint8_t b[VSM_WIRE_HDR_LEN];

	if (vsm_wire_decode_hdr(p, n, &h) != VSM_S_OK)
		return;
	CHECK(h.magic == VSM_WIRE_MAGIC && h.len <= VSM_WIRE_MAX_PAYLOAD);
	CHECK(vsm_wire_encode_hdr(b, sizeof(b), &h) == VSM_WIRE_HDR_LEN);
	CHECK(memcmp(b, p, sizeof(b)) == 0);
	CHECK(vsm_wire_decode_hdr(b, sizeof(b), &h2) == VSM_S_OK);
	CHECK(memcmp(&h, &h2, sizeof(h)) == 0);
}

static void hello(const uint8_t *p, size_t n)
{
	struct vsm_wire_hello m, m2;

	if (vsm_wire_decode_hello(p, n, &m) != VSM_S_OK)
		return;
	CHECK(m.min_version >= 1 && m.min_version <= m.max_version);
	CHECK_REENCODE(vsm_wire_encode_hello, p, n, &m);
	CHECK(vsm_wire_decode_hello(p, n, &m2) == VSM_S_OK);
	CHECK(m.min_version == m2.min_version && m.max_version == m2.max_version &&
	      m.features == m2.features);
}

static void hello_resp(const uint8_t *p, size_t n)
{
	struct vsm_wire_hello_resp m, m2;

	if (vsm_wire_decode_hello_resp(p, n, &m) != VSM_S_OK)
		return;
	CHECK(memchr(m.tenant, 0, sizeof(m.tenant)));
	CHECK_REENCODE(vsm_wire_encode_hello_resp, p, n, &m);
	CHECK(vsm_wire_decode_hello_resp(p, n, &m2) == VSM_S_OK);
	CHECK(m.version == m2.version && m.features == m2.features && m.max_msg == m2.max_msg &&
	      m.max_inflight == m2.max_inflight && m.max_sessions == m2.max_sessions);
	CHECK(!memcmp(m.algs, m2.algs, sizeof(m.algs)) &&
	      !memcmp(m.tenant, m2.tenant, sizeof(m.tenant)));
}

/* Touch every byte a decoded field claims, so ASan sees any overrun. */
static uint8_t sum(const uint8_t *p, uint32_t n)
{
	uint8_t s = 0;

	for (uint32_t i = 0; i < n; i++)
		s ^= p[i];
	return s;
}

static void session(const uint8_t *p, size_t n)
{
	struct vsm_wire_session m, m2;
	uint8_t *b;

	if (vsm_wire_decode_session(p, n, &m) != VSM_S_OK)
		return;
	CHECK(vsm_alg_service((int)m.alg) >= 0 && m.service < VSM_SVC__MAX);
	CHECK(vsm_wire_session_size(&m) == n);
	CHECK(m.key >= p && m.key + m.key_len <= m.aux && m.aux + m.aux_len == p + n);
	(void)(sum(m.key, m.key_len) ^ sum(m.aux, m.aux_len));
	CHECK_REENCODE(vsm_wire_encode_session, p, n, &m);

	/* Decode a separate copy so pointer equality cannot hide a data mismatch. */
	b = malloc(n);
	CHECK(b);
	memcpy(b, p, n);
	CHECK(vsm_wire_decode_session(b, n, &m2) == VSM_S_OK);
	CHECK(m.service == m2.service && m.alg == m2.alg && m.flags == m2.flags &&
	      m.padding == m2.padding && m.hash == m2.hash && m.mgf_hash == m2.mgf_hash &&
	      m.tag_len == m2.tag_len && m.salt_len == m2.salt_len && m.key_len == m2.key_len &&
	      m.aux_len == m2.aux_len);
	CHECK(m2.key == b + VSM_WIRE_SESSION_LEN);
	CHECK(!memcmp(m.key, m2.key, m.key_len) && !memcmp(m.aux, m2.aux, m.aux_len));
	free(b);
}

static void u64(const uint8_t *p, size_t n)
{
	uint64_t v;

	if (vsm_wire_decode_u64(p, n, &v) != VSM_S_OK)
		return;
	CHECK(n == 8);
	CHECK_REENCODE(vsm_wire_encode_u64, p, n, v);
}

static void u32(const uint8_t *p, size_t n)
{
	uint32_t v;

	if (vsm_wire_decode_u32(p, n, &v) != VSM_S_OK)
		return;
	CHECK(n == 4);
	CHECK_REENCODE(vsm_wire_encode_u32, p, n, v);
}

static void op(const uint8_t *p, size_t n)
{
	struct vsm_wire_op m, m2;
	uint8_t *b;

	if (vsm_wire_decode_op(p, n, &m) != VSM_S_OK)
		return;
	CHECK(m.op >= 1 && m.op < VSM_OP__MAX && !(m.flags & ~VSM_OPF__ALL));
	CHECK(vsm_wire_op_size(&m) == n);
	CHECK(m.iv == p + VSM_WIRE_OP_LEN && m.iv + m.iv_len == m.aad &&
	      m.aad + m.aad_len == m.src && m.src + m.src_len == m.aux &&
	      m.aux + m.aux_len == p + n);
	(void)(sum(m.iv, m.iv_len) ^ sum(m.aad, m.aad_len) ^ sum(m.src, m.src_len) ^
	       sum(m.aux, m.aux_len));
	CHECK_REENCODE(vsm_wire_encode_op, p, n, &m);

	b = malloc(n);
	CHECK(b);
	memcpy(b, p, n);
	CHECK(vsm_wire_decode_op(b, n, &m2) == VSM_S_OK);
	CHECK(m.session == m2.session && m.op == m2.op && m.flags == m2.flags &&
	      m.dst_len == m2.dst_len && m.iv_len == m2.iv_len && m.aad_len == m2.aad_len &&
	      m.src_len == m2.src_len && m.aux_len == m2.aux_len);
	CHECK(!memcmp(m.iv, m2.iv, m.iv_len) && !memcmp(m.aad, m2.aad, m.aad_len) &&
	      !memcmp(m.src, m2.src, m.src_len) && !memcmp(m.aux, m2.aux, m.aux_len));
	free(b);
}

static void status(const uint8_t *p, size_t n)
{
	struct vsm_wire_status m, m2;

	if (vsm_wire_decode_status(p, n, &m) != VSM_S_OK)
		return;
	CHECK(memchr(m.tenant, 0, sizeof(m.tenant)));
	CHECK_REENCODE(vsm_wire_encode_status, p, n, &m);
	CHECK(vsm_wire_decode_status(p, n, &m2) == VSM_S_OK);
	CHECK(!memcmp(m.tenant, m2.tenant, sizeof(m.tenant)) && m.sessions == m2.sessions &&
	      m.max_sessions == m2.max_sessions && m.inflight == m2.inflight &&
	      m.max_inflight == m2.max_inflight && m.max_msg == m2.max_msg &&
	      m.workers == m2.workers && m.ops == m2.ops && m.errors == m2.errors &&
	      m.uptime_ms == m2.uptime_ms);
}

static void key(const uint8_t *p, size_t n)
{
	struct vsm_wire_key m, m2;
	uint8_t *b;

	if (vsm_wire_decode_key(p, n, &m) != VSM_S_OK)
		return;
	CHECK(m.kop >= 1 && m.kop < VSM_KOP__MAX);
	CHECK(vsm_wire_key_size(&m) == n);
	CHECK(m.a == p + VSM_WIRE_KEY_LEN && m.a + m.a_len == m.b && m.b + m.b_len == m.c &&
	      m.c + m.c_len == p + n);
	(void)(sum(m.a, m.a_len) ^ sum(m.b, m.b_len) ^ sum(m.c, m.c_len));
	CHECK_REENCODE(vsm_wire_encode_key, p, n, &m);

	b = malloc(n);
	CHECK(b);
	memcpy(b, p, n);
	CHECK(vsm_wire_decode_key(b, n, &m2) == VSM_S_OK);
	CHECK(m.kop == m2.kop && m.usage == m2.usage && m.index == m2.index && m.type == m2.type &&
	      m.bits == m2.bits && m.alg == m2.alg && m.handle == m2.handle &&
	      m.a_len == m2.a_len && m.b_len == m2.b_len && m.c_len == m2.c_len);
	CHECK(!memcmp(m.a, m2.a, m.a_len) && !memcmp(m.b, m2.b, m.b_len) &&
	      !memcmp(m.c, m2.c, m.c_len));
	free(b);
}

static void key_info(const uint8_t *p, size_t n)
{
	struct vsm_wire_key_info m;
	uint8_t b[VSM_WIRE_KEY_INFO_LEN];

	if (vsm_wire_decode_key_info(p, n, &m) != VSM_S_OK)
		return;
	CHECK(n >= VSM_WIRE_KEY_INFO_LEN);
	CHECK(memchr(m.label, 0, sizeof(m.label)));
	CHECK(vsm_wire_encode_key_info(b, sizeof(b), &m) == VSM_WIRE_KEY_INFO_LEN);
	struct vsm_wire_key_info m2;
	CHECK(vsm_wire_decode_key_info(b, sizeof(b), &m2) == VSM_S_OK);
	CHECK(m.usage == m2.usage && m.index == m2.index && m.type == m2.type &&
	      m.bits == m2.bits && m.flags == m2.flags && m.created == m2.created &&
	      !strcmp(m.label, m2.label));
}

/* A whole frame, dispatched the way vsmd (requests) and libvsm (responses) do. */
static void frame(const uint8_t *p, size_t n)
{
	struct vsm_wire_hdr h;
	const uint8_t *pl = p + VSM_WIRE_HDR_LEN;
	int resp;

	if (vsm_wire_decode_hdr(p, n, &h) != VSM_S_OK || h.len != n - VSM_WIRE_HDR_LEN)
		return;
	hdr(p, n);
	resp = h.flags & VSM_HDR_F_RESPONSE;
	/* Error responses carry no payload to decode. */
	if (resp && h.status != VSM_S_OK)
		return;
	switch (h.op) {
	case VSM_MSG_HELLO:
		resp ? hello_resp(pl, h.len) : hello(pl, h.len);
		break;
	case VSM_MSG_SESSION_CREATE:
		resp ? u64(pl, h.len) : session(pl, h.len);
		break;
	case VSM_MSG_SESSION_DESTROY:
		if (!resp)
			u64(pl, h.len);
		break;
	case VSM_MSG_OP:
		if (!resp)
			op(pl, h.len);
		break;
	case VSM_MSG_RANDOM:
		if (!resp)
			u32(pl, h.len);
		break;
	case VSM_MSG_STATUS:
		if (resp)
			status(pl, h.len);
		break;
	case VSM_MSG_KEY:
		if (!resp)
			key(pl, h.len);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	data++;
	size--;
	switch (data[-1] % T__MAX) {
	case T_HDR:
		hdr(data, size);
		break;
	case T_HELLO:
		hello(data, size);
		break;
	case T_HELLO_RESP:
		hello_resp(data, size);
		break;
	case T_SESSION:
		session(data, size);
		break;
	case T_U64:
		u64(data, size);
		break;
	case T_U32:
		u32(data, size);
		break;
	case T_OP:
		op(data, size);
		break;
	case T_STATUS:
		status(data, size);
		break;
	case T_FRAME:
		frame(data, size);
		break;
	case T_KEY:
		key(data, size);
		break;
	case T_KEY_INFO:
		key_info(data, size);
		break;
	}
	return 0;
}
