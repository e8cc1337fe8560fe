/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Wire codec. Every decoder treats its input as hostile: fixed parts are
 * length-checked before they are read, variable lengths are summed in 64 bits
 * (four u32 can overflow 32 bits) and must account for every remaining byte.
 * Integers are loaded byte by byte so the code is endian-neutral and never
 * performs an unaligned access, whatever the buffer's alignment.
 */
#include <string.h>

#include <vsm/wire.h>

static inline uint16_t ld16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t ld32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t ld64(const uint8_t *p)
{
	return (uint64_t)ld32(p) | (uint64_t)ld32(p + 4) << 32;
}

static inline void st16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void st32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void st64(uint8_t *p, uint64_t v)
{
	st32(p, (uint32_t)v);
	st32(p + 4, (uint32_t)(v >> 32));
}

/* memcpy with a NULL source is undefined even for n == 0. */
static inline void put_bytes(uint8_t *dst, const uint8_t *src, uint32_t n)
{
	if (n)
		memcpy(dst, src, n);
}

/*
 * Names are NUL-padded: the string ends within the field and every byte after
 * the terminator is zero, so each name has exactly one encoding.
 */
static int name_ok(const uint8_t *p, size_t n)
{
	const uint8_t *nul = memchr(p, 0, n);

	if (!nul)
		return 0;
	for (; nul < p + n; nul++)
		if (*nul)
			return 0;
	return 1;
}

static void put_name(uint8_t *dst, const char *src, size_t n)
{
	size_t l = strnlen(src, n - 1);

	memcpy(dst, src, l);
	memset(dst + l, 0, n - l);
}

/* An akcipher hash parameter: 0 (default) or a HASH algorithm. */
static int hash_ok(uint32_t h)
{
	return h == VSM_ALG_NONE || (h < VSM_ALG__MAX && vsm_alg_service((int)h) == VSM_SVC_HASH);
}

int vsm_wire_decode_hdr(const uint8_t *buf, size_t len, struct vsm_wire_hdr *h)
{
	if (len < VSM_WIRE_HDR_LEN)
		return VSM_S_BADMSG;
	/* Filled even when invalid, so the caller can echo the id in its error. */
	h->len = ld32(buf);
	h->magic = ld16(buf + 4);
	h->op = ld16(buf + 6);
	h->flags = ld16(buf + 8);
	h->status = ld16(buf + 10);
	h->detail = ld16(buf + 12);
	h->reserved = ld16(buf + 14);
	h->id = ld64(buf + 16);
	/* op is not checked here: dispatch answers an unknown type BADMSG/PROTOCOL and closes. */
	if (h->magic != VSM_WIRE_MAGIC || h->len > VSM_WIRE_MAX_PAYLOAD ||
	    (h->flags & ~VSM_HDR_F_RESPONSE) || h->status >= VSM_S__MAX ||
	    h->detail >= VSM_D__MAX || h->reserved)
		return VSM_S_BADMSG;
	return VSM_S_OK;
}

size_t vsm_wire_encode_hdr(uint8_t *buf, size_t cap, const struct vsm_wire_hdr *h)
{
	if (cap < VSM_WIRE_HDR_LEN)
		return 0;
	st32(buf, h->len);
	st16(buf + 4, h->magic);
	st16(buf + 6, h->op);
	st16(buf + 8, h->flags);
	st16(buf + 10, h->status);
	st16(buf + 12, h->detail);
	st16(buf + 14, h->reserved);
	st64(buf + 16, h->id);
	return VSM_WIRE_HDR_LEN;
}

int vsm_wire_decode_hello(const uint8_t *p, size_t len, struct vsm_wire_hello *m)
{
	if (len != VSM_WIRE_HELLO_LEN)
		return VSM_S_BADMSG;
	m->min_version = ld16(p);
	m->max_version = ld16(p + 2);
	/* Unknown feature bits are allowed: negotiation intersects them away. */
	m->features = ld32(p + 4);
	if (m->min_version == 0 || m->min_version > m->max_version)
		return VSM_S_BADMSG;
	return VSM_S_OK;
}

size_t vsm_wire_encode_hello(uint8_t *buf, size_t cap, const struct vsm_wire_hello *m)
{
	if (cap < VSM_WIRE_HELLO_LEN)
		return 0;
	st16(buf, m->min_version);
	st16(buf + 2, m->max_version);
	st32(buf + 4, m->features);
	return VSM_WIRE_HELLO_LEN;
}

int vsm_wire_decode_hello_resp(const uint8_t *p, size_t len, struct vsm_wire_hello_resp *m)
{
	if (len != VSM_WIRE_HELLO_RESP_LEN)
		return VSM_S_BADMSG;
	if (ld16(p + 2) || ld32(p + 20) || !name_ok(p + 24 + sizeof(m->algs), sizeof(m->tenant)))
		return VSM_S_BADMSG;
	m->version = ld16(p);
	m->features = ld32(p + 4);
	m->max_msg = ld32(p + 8);
	m->max_inflight = ld32(p + 12);
	m->max_sessions = ld32(p + 16);
	memcpy(m->algs, p + 24, sizeof(m->algs));
	memcpy(m->tenant, p + 24 + sizeof(m->algs), sizeof(m->tenant));
	if (m->version == 0)
		return VSM_S_BADMSG;
	return VSM_S_OK;
}

size_t vsm_wire_encode_hello_resp(uint8_t *buf, size_t cap, const struct vsm_wire_hello_resp *m)
{
	if (cap < VSM_WIRE_HELLO_RESP_LEN)
		return 0;
	st16(buf, m->version);
	st16(buf + 2, 0);
	st32(buf + 4, m->features);
	st32(buf + 8, m->max_msg);
	st32(buf + 12, m->max_inflight);
	st32(buf + 16, m->max_sessions);
	st32(buf + 20, 0);
	memcpy(buf + 24, m->algs, sizeof(m->algs));
	put_name(buf + 24 + sizeof(m->algs), m->tenant, sizeof(m->tenant));
	return VSM_WIRE_HELLO_RESP_LEN;
}

int vsm_wire_decode_session(const uint8_t *p, size_t len, struct vsm_wire_session *m)
{
	if (len < VSM_WIRE_SESSION_LEN)
		return VSM_S_BADMSG;
	m->service = ld32(p);
	m->alg = ld32(p + 4);
	m->flags = ld32(p + 8);
	m->padding = ld32(p + 12);
	m->hash = ld32(p + 16);
	m->mgf_hash = ld32(p + 20);
	m->tag_len = ld32(p + 24);
	m->salt_len = (int32_t)ld32(p + 28);
	m->key_len = ld32(p + 32);
	m->aux_len = ld32(p + 36);
	if ((uint64_t)VSM_WIRE_SESSION_LEN + m->key_len + m->aux_len != len)
		return VSM_S_BADMSG;
	/*
	 * Whether alg belongs to service (BADMSG/BAD_OP) and whether the
	 * parameters suit the alg (NOTSUPP) is for the daemon to answer: the
	 * frame itself is valid.
	 */
	if (m->service >= VSM_SVC__MAX || m->alg >= VSM_ALG__MAX ||
	    vsm_alg_service((int)m->alg) < 0 || (m->flags & ~VSM_SESSF__ALL) ||
	    m->padding >= VSM_PAD__MAX || !hash_ok(m->hash) || !hash_ok(m->mgf_hash))
		return VSM_S_BADMSG;
	m->key = p + VSM_WIRE_SESSION_LEN;
	m->aux = m->key + m->key_len;
	return VSM_S_OK;
}

size_t vsm_wire_session_size(const struct vsm_wire_session *m)
{
	uint64_t n = (uint64_t)VSM_WIRE_SESSION_LEN + m->key_len + m->aux_len;

	return n > VSM_WIRE_MAX_PAYLOAD ? 0 : (size_t)n;
}

size_t vsm_wire_encode_session(uint8_t *buf, size_t cap, const struct vsm_wire_session *m)
{
	size_t n = vsm_wire_session_size(m);

	if (n == 0 || cap < n)
		return 0;
	st32(buf, m->service);
	st32(buf + 4, m->alg);
	st32(buf + 8, m->flags);
	st32(buf + 12, m->padding);
	st32(buf + 16, m->hash);
	st32(buf + 20, m->mgf_hash);
	st32(buf + 24, m->tag_len);
	st32(buf + 28, (uint32_t)m->salt_len);
	st32(buf + 32, m->key_len);
	st32(buf + 36, m->aux_len);
	put_bytes(buf + VSM_WIRE_SESSION_LEN, m->key, m->key_len);
	put_bytes(buf + VSM_WIRE_SESSION_LEN + m->key_len, m->aux, m->aux_len);
	return n;
}

int vsm_wire_decode_u64(const uint8_t *p, size_t len, uint64_t *v)
{
	if (len != 8)
		return VSM_S_BADMSG;
	*v = ld64(p);
	return VSM_S_OK;
}

size_t vsm_wire_encode_u64(uint8_t *buf, size_t cap, uint64_t v)
{
	if (cap < 8)
		return 0;
	st64(buf, v);
	return 8;
}

int vsm_wire_decode_u32(const uint8_t *p, size_t len, uint32_t *v)
{
	if (len != 4)
		return VSM_S_BADMSG;
	*v = ld32(p);
	return VSM_S_OK;
}

size_t vsm_wire_encode_u32(uint8_t *buf, size_t cap, uint32_t v)
{
	if (cap < 4)
		return 0;
	st32(buf, v);
	return 4;
}

int vsm_wire_decode_op_parts(const uint8_t *fixed, const uint8_t *data, size_t data_len,
			     struct vsm_wire_op *m)
{
	uint64_t total;

	/* Every field is loaded once into m; only m's copies are checked and used. */
	m->session = ld64(fixed);
	m->op = ld32(fixed + 8);
	m->flags = ld32(fixed + 12);
	m->dst_len = ld32(fixed + 16);
	m->iv_len = ld32(fixed + 20);
	m->aad_len = ld32(fixed + 24);
	m->src_len = ld32(fixed + 28);
	m->aux_len = ld32(fixed + 32);
	total = (uint64_t)m->iv_len + m->aad_len + m->src_len + m->aux_len;
	if (total != data_len || ld32(fixed + 36))
		return VSM_S_BADMSG;
	if (m->op == 0 || m->op >= VSM_OP__MAX || (m->flags & ~VSM_OPF__ALL))
		return VSM_S_BADMSG;
	m->iv = data;
	m->aad = m->iv + m->iv_len;
	m->src = m->aad + m->aad_len;
	m->aux = m->src + m->src_len;
	return VSM_S_OK;
}

int vsm_wire_decode_op(const uint8_t *p, size_t len, struct vsm_wire_op *m)
{
	if (len < VSM_WIRE_OP_LEN)
		return VSM_S_BADMSG;
	return vsm_wire_decode_op_parts(p, p + VSM_WIRE_OP_LEN, len - VSM_WIRE_OP_LEN, m);
}

size_t vsm_wire_op_size(const struct vsm_wire_op *m)
{
	uint64_t n = (uint64_t)VSM_WIRE_OP_LEN + m->iv_len + m->aad_len + m->src_len + m->aux_len;

	return n > VSM_WIRE_MAX_PAYLOAD ? 0 : (size_t)n;
}

size_t vsm_wire_encode_op(uint8_t *buf, size_t cap, const struct vsm_wire_op *m)
{
	size_t n = vsm_wire_op_size(m);
	uint8_t *d;

	if (n == 0 || cap < n)
		return 0;
	st64(buf, m->session);
	st32(buf + 8, m->op);
	st32(buf + 12, m->flags);
	st32(buf + 16, m->dst_len);
	st32(buf + 20, m->iv_len);
	st32(buf + 24, m->aad_len);
	st32(buf + 28, m->src_len);
	st32(buf + 32, m->aux_len);
	st32(buf + 36, 0);
	d = buf + VSM_WIRE_OP_LEN;
	put_bytes(d, m->iv, m->iv_len);
	d += m->iv_len;
	put_bytes(d, m->aad, m->aad_len);
	d += m->aad_len;
	put_bytes(d, m->src, m->src_len);
	d += m->src_len;
	put_bytes(d, m->aux, m->aux_len);
	return n;
}

int vsm_wire_decode_status(const uint8_t *p, size_t len, struct vsm_wire_status *m)
{
	if (len != VSM_WIRE_STATUS_RESP_LEN || !name_ok(p, sizeof(m->tenant)))
		return VSM_S_BADMSG;
	memcpy(m->tenant, p, sizeof(m->tenant));
	m->sessions = ld32(p + 32);
	m->max_sessions = ld32(p + 36);
	m->inflight = ld32(p + 40);
	m->max_inflight = ld32(p + 44);
	m->max_msg = ld32(p + 48);
	m->workers = ld32(p + 52);
	m->ops = ld64(p + 56);
	m->errors = ld64(p + 64);
	m->uptime_ms = ld64(p + 72);
	return VSM_S_OK;
}

size_t vsm_wire_encode_status(uint8_t *buf, size_t cap, const struct vsm_wire_status *m)
{
	if (cap < VSM_WIRE_STATUS_RESP_LEN)
		return 0;
	put_name(buf, m->tenant, sizeof(m->tenant));
	st32(buf + 32, m->sessions);
	st32(buf + 36, m->max_sessions);
	st32(buf + 40, m->inflight);
	st32(buf + 44, m->max_inflight);
	st32(buf + 48, m->max_msg);
	st32(buf + 52, m->workers);
	st64(buf + 56, m->ops);
	st64(buf + 64, m->errors);
	st64(buf + 72, m->uptime_ms);
	return VSM_WIRE_STATUS_RESP_LEN;
}

int vsm_wire_decode_shm_setup(const uint8_t *p, size_t len, struct vsm_wire_shm_setup *m)
{
	if (len != VSM_WIRE_SHM_SETUP_LEN)
		return VSM_S_BADMSG;
	m->entries = ld32(p);
	m->data_size = ld32(p + 4);
	m->flags = ld32(p + 8);
	if (m->flags || ld32(p + 12))
		return VSM_S_BADMSG;
	return VSM_S_OK;
}

size_t vsm_wire_encode_shm_setup(uint8_t *buf, size_t cap, const struct vsm_wire_shm_setup *m)
{
	if (cap < VSM_WIRE_SHM_SETUP_LEN)
		return 0;
	st32(buf, m->entries);
	st32(buf + 4, m->data_size);
	st32(buf + 8, m->flags);
	st32(buf + 12, 0);
	return VSM_WIRE_SHM_SETUP_LEN;
}

/*
 * Which fields each kop uses. Anything else must be zero or empty, so every
 * request has one meaning and a field added later cannot be smuggled in.
 */
#define KF_USAGE  0x001u
#define KF_INDEX  0x002u
#define KF_TYPE	  0x004u
#define KF_BITS	  0x008u
#define KF_ALG	  0x010u
#define KF_HANDLE 0x020u
#define KF_A	  0x040u
#define KF_B	  0x080u
#define KF_C	  0x100u

static const uint16_t kop_fields[VSM_KOP__MAX] = {
	[VSM_KOP_GENERATE] = KF_USAGE | KF_INDEX | KF_TYPE | KF_BITS | KF_A | KF_B,
	[VSM_KOP_IMPORT] = KF_USAGE | KF_INDEX | KF_TYPE | KF_A | KF_B | KF_C,
	[VSM_KOP_DELETE] = KF_USAGE | KF_INDEX,
	[VSM_KOP_LIST] = 0,
	[VSM_KOP_PUBLIC] = KF_USAGE | KF_INDEX,
	[VSM_KOP_SET_PASSWORD] = KF_USAGE | KF_INDEX | KF_A | KF_B,
	[VSM_KOP_SKEY_GENERATE] = KF_USAGE | KF_INDEX | KF_TYPE | KF_BITS | KF_ALG | KF_A | KF_C,
	[VSM_KOP_SKEY_IMPORT] =
		KF_USAGE | KF_INDEX | KF_TYPE | KF_BITS | KF_ALG | KF_A | KF_B | KF_C,
	[VSM_KOP_SKEY_DESTROY] = KF_HANDLE,
	[VSM_KOP_ENVELOPE] = KF_USAGE | KF_INDEX | KF_A | KF_B | KF_C,
	[VSM_KOP_AGREE_INIT] = KF_USAGE | KF_INDEX | KF_TYPE | KF_BITS | KF_A | KF_B,
	[VSM_KOP_AGREE_FINISH] = KF_HANDLE | KF_B | KF_C,
	[VSM_KOP_AGREE_RESPOND] = KF_USAGE | KF_INDEX | KF_TYPE | KF_BITS | KF_A | KF_B | KF_C,
	[VSM_KOP_FILE_CREATE] = KF_BITS | KF_B,
	[VSM_KOP_FILE_READ] = KF_INDEX | KF_BITS | KF_B,
	[VSM_KOP_FILE_WRITE] = KF_INDEX | KF_B | KF_C,
	[VSM_KOP_FILE_DELETE] = KF_B,
};

static int kop_known(uint32_t kop)
{
	return (kop >= VSM_KOP_GENERATE && kop <= VSM_KOP_AGREE_RESPOND) ||
	       (kop >= VSM_KOP_FILE_CREATE && kop < VSM_KOP__MAX);
}

int vsm_wire_decode_key(const uint8_t *p, size_t len, struct vsm_wire_key *m)
{
	uint16_t f;

	if (len < VSM_WIRE_KEY_LEN)
		return VSM_S_BADMSG;
	m->kop = ld32(p);
	m->usage = ld32(p + 4);
	m->index = ld32(p + 8);
	m->type = ld32(p + 12);
	m->bits = ld32(p + 16);
	m->alg = ld32(p + 20);
	m->handle = ld64(p + 24);
	m->a_len = ld32(p + 32);
	m->b_len = ld32(p + 36);
	m->c_len = ld32(p + 40);
	if ((uint64_t)VSM_WIRE_KEY_LEN + m->a_len + m->b_len + m->c_len != len || ld32(p + 44))
		return VSM_S_BADMSG;
	if (!kop_known(m->kop) || m->usage >= VSM_KU__MAX || m->type >= VSM_KT__MAX ||
	    m->alg >= VSM_ALG__MAX)
		return VSM_S_BADMSG;
	f = kop_fields[m->kop];
	if ((!(f & KF_USAGE) && m->usage) || (!(f & KF_INDEX) && m->index) ||
	    (!(f & KF_TYPE) && m->type) || (!(f & KF_BITS) && m->bits) ||
	    (!(f & KF_ALG) && m->alg) || (!(f & KF_HANDLE) && m->handle) ||
	    (!(f & KF_A) && m->a_len) || (!(f & KF_B) && m->b_len) || (!(f & KF_C) && m->c_len))
		return VSM_S_BADMSG;
	m->a = p + VSM_WIRE_KEY_LEN;
	m->b = m->a + m->a_len;
	m->c = m->b + m->b_len;
	return VSM_S_OK;
}

size_t vsm_wire_key_size(const struct vsm_wire_key *m)
{
	uint64_t n = (uint64_t)VSM_WIRE_KEY_LEN + m->a_len + m->b_len + m->c_len;

	return n > VSM_WIRE_MAX_PAYLOAD ? 0 : (size_t)n;
}

size_t vsm_wire_encode_key(uint8_t *buf, size_t cap, const struct vsm_wire_key *m)
{
	size_t n = vsm_wire_key_size(m);
	uint8_t *d;

	if (n == 0 || cap < n)
		return 0;
	st32(buf, m->kop);
	st32(buf + 4, m->usage);
	st32(buf + 8, m->index);
	st32(buf + 12, m->type);
	st32(buf + 16, m->bits);
	st32(buf + 20, m->alg);
	st64(buf + 24, m->handle);
	st32(buf + 32, m->a_len);
	st32(buf + 36, m->b_len);
	st32(buf + 40, m->c_len);
	st32(buf + 44, 0);
	d = buf + VSM_WIRE_KEY_LEN;
	put_bytes(d, m->a, m->a_len);
	d += m->a_len;
	put_bytes(d, m->b, m->b_len);
	d += m->b_len;
	put_bytes(d, m->c, m->c_len);
	return n;
}

/*
 * A label fills its field exactly when it is VSM_KEY_LABEL_MAX bytes long, so
 * unlike tenant names it may lack a NUL; shorter ones are NUL-padded.
 */
static int label_ok(const uint8_t *p, size_t n)
{
	const uint8_t *nul = memchr(p, 0, n);

	for (; nul && nul < p + n; nul++)
		if (*nul)
			return 0;
	return 1;
}

int vsm_wire_decode_key_info(const uint8_t *p, size_t len, struct vsm_wire_key_info *m)
{
	if (len != VSM_WIRE_KEY_INFO_LEN)
		return VSM_S_BADMSG;
	m->usage = ld32(p);
	m->index = ld32(p + 4);
	m->type = ld32(p + 8);
	m->bits = ld32(p + 12);
	m->flags = ld32(p + 16);
	m->created = ld64(p + 24);
	if (m->usage == 0 || m->usage >= VSM_KU__MAX || m->type == 0 || m->type >= VSM_KT__MAX ||
	    (m->flags & ~VSM_KEYF_PASSWORD) || ld32(p + 20) || !label_ok(p + 32, VSM_KEY_LABEL_MAX))
		return VSM_S_BADMSG;
	memcpy(m->label, p + 32, VSM_KEY_LABEL_MAX);
	m->label[VSM_KEY_LABEL_MAX] = '\0';
	return VSM_S_OK;
}

size_t vsm_wire_encode_key_info(uint8_t *buf, size_t cap, const struct vsm_wire_key_info *m)
{
	size_t l = strnlen(m->label, VSM_KEY_LABEL_MAX);

	if (cap < VSM_WIRE_KEY_INFO_LEN)
		return 0;
	st32(buf, m->usage);
	st32(buf + 4, m->index);
	st32(buf + 8, m->type);
	st32(buf + 12, m->bits);
	st32(buf + 16, m->flags);
	st32(buf + 20, 0);
	st64(buf + 24, m->created);
	memcpy(buf + 32, m->label, l);
	memset(buf + 32 + l, 0, VSM_KEY_LABEL_MAX - l);
	return VSM_WIRE_KEY_INFO_LEN;
}
