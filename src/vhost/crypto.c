/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-crypto on the vsm core: sessions from QEMU's CREATE_CRYPTO_SESSION
 * (or vsm's own message) become vsm sessions of the device's tenant, and
 * each data-queue request becomes one vsm_core_op. The request's fixed part
 * and its input are gathered into private memory before anything is
 * decided, so the guest cannot change them under us; output goes back only
 * to the writable part of the chain and never beyond dst_data_len.
 */
#include <endian.h>
#include <linux/virtio_crypto.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/dispatch.h"
#include "daemon/log.h"
#include "daemon/qos.h"
#include "daemon/stats.h"
#include "vhost/device.h"

#define REQ_LEN sizeof(struct virtio_crypto_op_data_req) /* 72 */

static uint32_t u32_at(const uint8_t *p, size_t off)
{
	uint32_t v;
	memcpy(&v, p + off, sizeof(v));
	return le32toh(v);
}

static int cipher_alg(uint32_t virtio_alg)
{
	switch (virtio_alg) {
	case VIRTIO_CRYPTO_CIPHER_AES_ECB:
		return VSM_ALG_AES_ECB;
	case VIRTIO_CRYPTO_CIPHER_AES_CBC:
		return VSM_ALG_AES_CBC;
	case VIRTIO_CRYPTO_CIPHER_AES_CTR:
		return VSM_ALG_AES_CTR;
	case VIRTIO_CRYPTO_CIPHER_AES_XTS:
		return VSM_ALG_AES_XTS;
	default:
		return -1;
	}
}

/* Sym session info, at 8 in both layouts: the fields QEMU copies from the guest. */
static int decode_sym(const uint8_t *p, struct vsm_wire_session *s, uint8_t *key)
{
	/* u32 cipher_alg, key_len, hash_alg, hash_result_len, auth_key_len, add_len; u8
	 * op_type, direction, hash_mode, chain_order; 4 pad, 2 pointers; key[64] at 56. */
	uint32_t alg = u32_at(p, 8), key_len = u32_at(p, 12);
	uint8_t op_type = p[32];
	if (op_type != VIRTIO_CRYPTO_SYM_OP_CIPHER)
		return VSM_S_NOTSUPP; /* algorithm chaining: no vsm service does cipher + hash */
	int a = cipher_alg(alg);
	if (a < 0)
		return VSM_S_NOTSUPP;
	if (key_len > 64)
		return VSM_S_BADMSG;
	memcpy(key, p + 56, key_len);
	*s = (struct vsm_wire_session){
		.service = VSM_SVC_CIPHER,
		.alg = (uint32_t)a,
		.key = key,
		.key_len = key_len,
	};
	return VSM_S_OK;
}

static int rsa_hash(uint32_t virtio_hash)
{
	switch (virtio_hash) {
	case VIRTIO_CRYPTO_RSA_NO_HASH:
		return 0;
	case VIRTIO_CRYPTO_RSA_SHA1:
		return VSM_ALG_SHA1;
	case VIRTIO_CRYPTO_RSA_SHA224:
		return VSM_ALG_SHA224;
	case VIRTIO_CRYPTO_RSA_SHA256:
		return VSM_ALG_SHA256;
	case VIRTIO_CRYPTO_RSA_SHA384:
		return VSM_ALG_SHA384;
	case VIRTIO_CRYPTO_RSA_SHA512:
		return VSM_ALG_SHA512;
	default:
		return -1;
	}
}

/* Asym session info (QEMU 8.1+), at 8: u32 algo, keytype, keylen, 4 pad, key pointer,
 * u32 padding_algo, hash_algo; key[1024] at 40. The key is DER (PKCS#1 for RSA). */
static int decode_asym(const uint8_t *p, struct vsm_wire_session *s, uint8_t *key)
{
	uint32_t algo = u32_at(p, 8), keytype = u32_at(p, 12), key_len = u32_at(p, 16);
	uint32_t padding = u32_at(p, 32);
	int hash = rsa_hash(u32_at(p, 36));
	if (algo != VIRTIO_CRYPTO_AKCIPHER_RSA)
		return VSM_S_NOTSUPP;
	if (key_len > VSM_VHU_QEMU_KEY_MAX || !key_len ||
	    (keytype != VIRTIO_CRYPTO_AKCIPHER_KEY_TYPE_PUBLIC &&
	     keytype != VIRTIO_CRYPTO_AKCIPHER_KEY_TYPE_PRIVATE))
		return VSM_S_BADMSG;
	if (hash < 0 || (padding != VIRTIO_CRYPTO_RSA_RAW_PADDING &&
			 padding != VIRTIO_CRYPTO_RSA_PKCS1_PADDING))
		return VSM_S_NOTSUPP;
	memcpy(key, p + 40, key_len);
	*s = (struct vsm_wire_session){
		.service = VSM_SVC_AKCIPHER,
		.alg = VSM_ALG_RSA,
		/* virtio-crypto signs and verifies digests the guest computed */
		.flags = VSM_SESSF_PREHASHED,
		.padding =
			padding == VIRTIO_CRYPTO_RSA_PKCS1_PADDING ? VSM_PAD_PKCS1 : VSM_PAD_NONE,
		.hash = (uint32_t)hash,
		.salt_len = -1,
		.key = key,
		.key_len = key_len,
	};
	return VSM_S_OK;
}

int vsm_vhu_qemu_session_decode(const uint8_t *p, size_t len, struct vsm_wire_session *s,
				uint8_t key[VSM_VHU_QEMU_KEY_MAX])
{
	if (len == VSM_VHU_QEMU_SESSION_LEN)
		return decode_sym(p, s, key);
	if (len != VSM_VHU_QEMU_SESSION_LEN_V2)
		return VSM_S_BADMSG;
	uint64_t op_code;
	memcpy(&op_code, p, sizeof(op_code));
	switch (le64toh(op_code)) {
	case VIRTIO_CRYPTO_CIPHER_CREATE_SESSION:
		return decode_sym(p, s, key);
	case VIRTIO_CRYPTO_AKCIPHER_CREATE_SESSION:
		return decode_asym(p, s, key);
	default:
		return VSM_S_NOTSUPP;
	}
}

int64_t vsm_vhu_session_create(struct vsm_vhu_dev *d, bool vsm_layout, const uint8_t *p, size_t len)
{
	struct vsm_wire_session s;
	uint8_t key[VSM_VHU_QEMU_KEY_MAX];
	int st, detail = VSM_D_NONE;
	if (vsm_layout)
		st = vsm_wire_decode_session(p, len, &s);
	else
		st = vsm_vhu_qemu_session_decode(p, len, &s, key);
	bool decoded = st == VSM_S_OK;
	uint32_t id = 0;
	if (st == VSM_S_OK) {
		while (id < d->n_sess && d->sess[id])
			id++;
		if (id == d->n_sess) {
			st = VSM_S_NOSPC;
			detail = VSM_D_SESSION_LIMIT;
		}
	}
	uint64_t handle = 0;
	if (st == VSM_S_OK)
		st = vsm_core_session_create(d->t, &s, &handle, &detail);
	OPENSSL_cleanse(key, sizeof(key));
	struct vsm_req_info ri = {
		.svc = decoded && s.service < VSM_SVC__MAX ? (int)s.service : VSM_STAT_SVC_NONE,
		.kind = VSM_K_SESSION_CREATE,
		.status = st,
	};
	vsm_stats_record(d->t->stats, &ri, 0, 0);
	atomic_fetch_add_explicit(&d->t->ops, 1, memory_order_relaxed);
	if (st != VSM_S_OK) {
		atomic_fetch_add_explicit(&d->t->errors, 1, memory_order_relaxed);
		log_debug("vhost-user %s: session create -> %s/%s", d->name, vsm_status_name(st),
			  vsm_detail_name(detail));
		return -(int64_t)st;
	}
	d->sess[id] = handle;
	return id;
}

int vsm_vhu_session_close(struct vsm_vhu_dev *d, uint64_t id)
{
	if (id >= d->n_sess || !d->sess[id])
		return -1;
	vsm_session_remove(d->t, d->sess[id]);
	d->sess[id] = 0;
	return 0;
}

void vsm_vhu_session_close_all(struct vsm_vhu_dev *d)
{
	for (uint32_t i = 0; i < d->n_sess; i++)
		vsm_vhu_session_close(d, i);
}

/* The request as vsm sees it, with the lengths the guest gave. */
struct req {
	uint32_t opcode;
	uint64_t sid;
	int vsm_op;
	uint32_t iv_len, aad_len, src_len, dst_len;
	bool verify; /* akcipher VERIFY: dst_len bytes of digest are readable, not writable */
};

static int parse_req(const uint8_t *h, struct req *r)
{
	uint64_t sid;
	memcpy(&sid, h + 8, sizeof(sid));
	*r = (struct req){.opcode = u32_at(h, 0), .sid = le64toh(sid)};
	const size_t para = 24; /* the per-service union follows the 24-byte header */
	switch (r->opcode) {
	case VIRTIO_CRYPTO_CIPHER_ENCRYPT:
	case VIRTIO_CRYPTO_CIPHER_DECRYPT:
		if (u32_at(h, para + 40) != VIRTIO_CRYPTO_SYM_OP_CIPHER)
			return VSM_S_NOTSUPP;
		r->vsm_op =
			r->opcode == VIRTIO_CRYPTO_CIPHER_ENCRYPT ? VSM_OP_ENCRYPT : VSM_OP_DECRYPT;
		r->iv_len = u32_at(h, para);
		r->src_len = u32_at(h, para + 4);
		r->dst_len = u32_at(h, para + 8);
		return VSM_S_OK;
	case VIRTIO_CRYPTO_HASH:
	case VIRTIO_CRYPTO_MAC:
		r->vsm_op = VSM_OP_DIGEST;
		r->src_len = u32_at(h, para);
		r->dst_len = u32_at(h, para + 4);
		return VSM_S_OK;
	case VIRTIO_CRYPTO_AEAD_ENCRYPT:
	case VIRTIO_CRYPTO_AEAD_DECRYPT:
		r->vsm_op =
			r->opcode == VIRTIO_CRYPTO_AEAD_ENCRYPT ? VSM_OP_ENCRYPT : VSM_OP_DECRYPT;
		r->iv_len = u32_at(h, para);
		r->aad_len = u32_at(h, para + 4);
		r->src_len = u32_at(h, para + 8);
		r->dst_len = u32_at(h, para + 12);
		return VSM_S_OK;
	case VIRTIO_CRYPTO_AKCIPHER_ENCRYPT:
	case VIRTIO_CRYPTO_AKCIPHER_DECRYPT:
	case VIRTIO_CRYPTO_AKCIPHER_SIGN:
	case VIRTIO_CRYPTO_AKCIPHER_VERIFY:
		r->vsm_op = VSM_OP_ENCRYPT + (int)(r->opcode - VIRTIO_CRYPTO_AKCIPHER_ENCRYPT);
		r->src_len = u32_at(h, para);
		r->dst_len = u32_at(h, para + 4);
		r->verify = r->opcode == VIRTIO_CRYPTO_AKCIPHER_VERIFY;
		return VSM_S_OK;
	default:
		return VSM_S_NOTSUPP;
	}
}

/* Hold the request back until the tenant's QoS lets it run (this device only). */
static uint64_t qos_wait(struct vsm_vhu_dev *d, uint64_t bytes)
{
	struct vsm_tenant *t = d->t;
	if (!vsm_qos_limited(&t->qos))
		return 0;
	uint64_t now = vsm_mono_ns(), at = vsm_qos_reserve(&t->qos, bytes, now), start = now;
	/* In slices, so that a stopping daemon is not held up by a slow tenant. */
	while (at > now && !atomic_load(&d->stop)) {
		uint64_t ns = at - now < 100000000u ? at - now : 100000000u;
		struct timespec ts = {0, (long)ns};
		nanosleep(&ts, NULL);
		now = vsm_mono_ns();
	}
	return now - start;
}

static int run(struct vsm_vhu_dev *d, const struct req *r, uint8_t *in, uint8_t *out,
	       size_t *out_len, int *detail, struct vsm_req_info *ri)
{
	if (r->sid >= d->n_sess || !d->sess[r->sid])
		return VSM_S_INVSESS;
	struct vsm_wire_op op = {
		.session = d->sess[r->sid],
		.op = (uint32_t)r->vsm_op,
		.dst_len = r->verify ? 0 : r->dst_len,
		.iv = in,
		.iv_len = r->iv_len,
		.aad = in + r->iv_len,
		.aad_len = r->aad_len,
		.src = in + r->iv_len + r->aad_len,
		.src_len = r->src_len,
	};
	if (r->verify) {
		/* Linux sends signature || digest; vsm verifies src against aux. */
		op.aux = op.src;
		op.aux_len = r->src_len;
		op.src = in + r->src_len;
		op.src_len = r->dst_len;
	}
	return vsm_core_op(d->t, &op, out, r->verify ? 0 : r->dst_len, out_len, detail, ri);
}

int64_t vsm_vhu_crypto_request(struct vsm_vhu_dev *d)
{
	const struct vsm_vhu_chain *c = &d->chain;
	struct vsm_tenant *t = d->t;
	if (!c->wr_len)
		return -1;
	uint64_t t0 = vsm_mono_ns(), waited = 0;
	struct vsm_req_info ri = {.svc = VSM_STAT_SVC_NONE, .kind = VSM_K_INVALID};
	uint8_t h[REQ_LEN];
	uint8_t *in = NULL, *out = NULL;
	uint64_t in_len = 0;
	size_t out_len = 0;
	int detail = VSM_D_NONE, st;
	struct req r = {0};

	if (c->rd_len < REQ_LEN ||
	    vsm_vhu_chain_gather(c, vsm_vhu_map_gpa, &d->mem, 0, h, REQ_LEN)) {
		st = VSM_S_BADMSG;
		goto done;
	}
	st = parse_req(h, &r);
	if (st != VSM_S_OK)
		goto done;
	ri.kind = r.vsm_op - VSM_OP_ENCRYPT + VSM_K_ENCRYPT;
	in_len = (uint64_t)r.iv_len + r.aad_len + r.src_len + (r.verify ? r.dst_len : 0);
	uint64_t out_need = r.verify ? 0 : r.dst_len;
	/*
	 * At least the bytes the lengths announce, and room for the output and the
	 * status. Linux hands over its scatterlists whole, so they may be longer than
	 * the data: the surplus is neither read nor written.
	 */
	if (c->rd_len < REQ_LEN + in_len || c->wr_len < out_need + 1) {
		st = VSM_S_BADMSG;
		detail = VSM_D_BAD_LENGTH;
		goto done;
	}
	if (in_len > t->limits.max_msg || out_need > t->limits.max_msg) {
		st = VSM_S_NOSPC;
		detail = VSM_D_TOO_BIG;
		goto done;
	}
	in = malloc(in_len ? in_len : 1);
	out = malloc(out_need ? out_need : 1);
	if (!in || !out) {
		st = VSM_S_ERR;
		goto done;
	}
	if (vsm_vhu_chain_gather(c, vsm_vhu_map_gpa, &d->mem, REQ_LEN, in, in_len)) {
		st = VSM_S_BADMSG;
		goto done;
	}
	waited = qos_wait(d, in_len);
	st = run(d, &r, in, out, &out_len, &detail, &ri);
	if (st != VSM_S_OK || out_len > out_need)
		out_len = 0;
	if (out_len && vsm_vhu_chain_scatter(c, vsm_vhu_map_gpa, &d->mem, out, out_len) < 0) {
		out_len = 0;
		st = VSM_S_ERR;
	}
done:
	if (in) {
		OPENSSL_cleanse(in, in_len);
		free(in);
	}
	if (out) {
		OPENSSL_cleanse(out, r.verify ? 0 : r.dst_len);
		free(out);
	}
	if (vsm_vhu_chain_put_status(c, vsm_vhu_map_gpa, &d->mem, (uint8_t)st) < 0)
		return -1;
	ri.status = st;
	ri.bytes_out = out_len;
	if (ri.kind != VSM_K_INVALID && !ri.bytes_in)
		ri.bytes_in = in_len;
	vsm_stats_record(t->stats, &ri, vsm_mono_ns() - t0, waited);
	atomic_fetch_add_explicit(&t->ops, 1, memory_order_relaxed);
	if (st != VSM_S_OK) {
		atomic_fetch_add_explicit(&t->errors, 1, memory_order_relaxed);
		log_debug("vhost-user %s: op 0x%x session %llu -> %s/%s", d->name, r.opcode,
			  (unsigned long long)r.sid, vsm_status_name(st), vsm_detail_name(detail));
	}
	return (int64_t)out_len + 1;
}
