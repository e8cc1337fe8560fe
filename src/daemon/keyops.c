/* SPDX-License-Identifier: Apache-2.0 */
/*
 * KEY request handlers. The frame was decoded (lengths add up, unused
 * fields are zero); each handler checks what its kop's fields mean. Every
 * secret that passes through here (unwrapped keys, session keys, private
 * keys) sits in a buffer that is wiped before the handler returns.
 */
#include "daemon/keyops.h"

#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/keyobj.h"
#include "daemon/sm2kx.h"
#include "keystore/keystore.h"

#define WRAP_MAX 1024 /* largest wrapped session key: RSA-4096 (512), SM2 of 128 bytes (~240) */

static int bad(int *detail, int d)
{
	*detail = d;
	return VSM_S_BADMSG;
}

/* ---- key types ---- */

static bool asym_type(uint32_t type)
{
	return type == VSM_KT_SM2 || type == VSM_KT_RSA || type == VSM_KT_ECDSA_P256 ||
	       type == VSM_KT_ECDSA_P384 || type == VSM_KT_ED25519;
}

/* Can a key of this type sit in a slot of this usage? */
static bool usage_fits(uint32_t usage, uint32_t type)
{
	switch (usage) {
	case VSM_KU_SIGN:
		return asym_type(type);
	case VSM_KU_ENC:
		return type == VSM_KT_SM2 || type == VSM_KT_RSA;
	case VSM_KU_KEK:
		return type == VSM_KT_SM4 || type == VSM_KT_AES;
	default:
		return false;
	}
}

/* Key size for GENERATE: 0 picks the default; 0 returned if bits do not fit the type. */
static uint32_t gen_bits(uint32_t type, uint32_t bits)
{
	switch (type) {
	case VSM_KT_SM2:
	case VSM_KT_ECDSA_P256:
		return bits == 0 || bits == 256 ? 256 : 0;
	case VSM_KT_ECDSA_P384:
		return bits == 0 || bits == 384 ? 384 : 0;
	case VSM_KT_ED25519:
		return bits == 0 || bits == 255 || bits == 256 ? 256 : 0;
	case VSM_KT_RSA:
		if (bits == 0)
			return 2048;
		return bits == 2048 || bits == 3072 || bits == 4096 ? bits : 0;
	case VSM_KT_SM4:
		return bits == 0 || bits == 128 ? 128 : 0;
	case VSM_KT_AES:
		if (bits == 0)
			return 128;
		return bits == 128 || bits == 192 || bits == 256 ? bits : 0;
	default:
		return 0;
	}
}

/* Is len bytes a valid key object of type (and of bits, when nonzero)? */
static bool skey_len_ok(uint32_t type, uint32_t bits, size_t len)
{
	if (bits && (uint64_t)bits != (uint64_t)len * 8)
		return false;
	switch (type) {
	case VSM_KT_SM4:
		return len == 16;
	case VSM_KT_AES:
		return len == 16 || len == 24 || len == 32;
	case VSM_KT_GENERIC:
		return len >= 1 && len <= VSM_KOBJ_KEY_MAX;
	default:
		return false;
	}
}

/* Bytes of a new session key of type/bits; 0 if they do not fit. */
static size_t skey_new_len(uint32_t type, uint32_t bits)
{
	if (bits == 0 && type != VSM_KT_GENERIC)
		bits = 128;
	if (bits == 0 || bits % 8 || !skey_len_ok(type, bits, bits / 8))
		return 0;
	return bits / 8;
}

/* A label: up to VSM_KEY_LABEL_MAX bytes, no NUL (it is a C string inside vsmd). */
static bool label_copy(const struct vsm_wire_key *k, char *dst)
{
	if (k->b_len > VSM_KEY_LABEL_MAX || (k->b_len && memchr(k->b, 0, k->b_len)))
		return false;
	if (k->b_len)
		memcpy(dst, k->b, k->b_len);
	dst[k->b_len] = '\0';
	return true;
}

static bool slot_ok(const struct vsm_wire_key *k)
{
	return k->usage != 0 && k->index != 0;
}

/* ---- asymmetric keys through EVP ---- */

/* OpenSSL 3.0 decodes keys on the SM2 curve as "EC": rebuild them on the SM2 manager. */
static EVP_PKEY *as_sm2(EVP_PKEY *pk)
{
	EVP_PKEY_CTX *kctx = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY *sm2 = NULL;
	char g[32];

	if (!pk || EVP_PKEY_is_a(pk, "SM2") || !EVP_PKEY_is_a(pk, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, g, sizeof(g), NULL) ||
	    strcmp(g, "SM2") != 0)
		return pk;
	if (EVP_PKEY_todata(pk, EVP_PKEY_KEYPAIR, &params) &&
	    (kctx = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL)) &&
	    EVP_PKEY_fromdata_init(kctx) > 0)
		EVP_PKEY_fromdata(kctx, &sm2, EVP_PKEY_KEYPAIR, params);
	EVP_PKEY_CTX_free(kctx);
	OSSL_PARAM_free(params);
	EVP_PKEY_free(pk);
	return sm2;
}

static EVP_PKEY *load_pub(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;

	if (len == 0 || len > LONG_MAX)
		return NULL;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)len);
	if (pk && p != der + len) {
		EVP_PKEY_free(pk);
		return NULL;
	}
	return as_sm2(pk);
}

static EVP_PKEY *load_priv(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;

	if (len == 0 || len > LONG_MAX)
		return NULL;
	return as_sm2(d2i_AutoPrivateKey(NULL, &p, (long)len));
}

/* The wrapping family of a key: SM2 or RSA, else 0. */
static uint32_t pk_family(EVP_PKEY *pk)
{
	if (pk && EVP_PKEY_is_a(pk, "SM2"))
		return VSM_KT_SM2;
	if (pk && EVP_PKEY_is_a(pk, "RSA"))
		return VSM_KT_RSA;
	return 0;
}

/*
 * RSA with PKCS#1 v1.5, SM2 with the GM/T 0009 DER ciphertext (what
 * OpenSSL's SM2 cipher produces).
 */
static int pk_crypt(EVP_PKEY *pk, bool enc, const uint8_t *in, size_t in_len, uint8_t *out,
		    size_t cap, size_t *out_len, int *detail)
{
	EVP_PKEY_CTX *ctx;
	uint8_t *tmp = NULL;
	size_t n = 0, room = 0;
	int ok;

	if (!pk_family(pk))
		return bad(detail, VSM_D_KEY_TYPE);
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	ok = ctx && (enc ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx)) > 0 &&
	     (pk_family(pk) != VSM_KT_RSA ||
	      EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0) &&
	     (enc ? EVP_PKEY_encrypt(ctx, NULL, &n, in, in_len)
		  : EVP_PKEY_decrypt(ctx, NULL, &n, in, in_len)) > 0;
	if (ok && enc && n > cap) {
		EVP_PKEY_CTX_free(ctx);
		*out_len = n;
		*detail = VSM_D_OUTPUT_SPACE;
		return VSM_S_NOSPC;
	}
	/*
	 * Decryption is sized by the modulus, not by the plaintext: decrypt into
	 * a private buffer of that size and copy what fits.
	 */
	if (ok && !enc && n > cap)
		ok = (tmp = OPENSSL_secure_malloc(n)) != NULL;
	room = tmp ? n : cap;
	ok = ok && (enc ? EVP_PKEY_encrypt(ctx, tmp ? tmp : out, &room, in, in_len)
			: EVP_PKEY_decrypt(ctx, tmp ? tmp : out, &room, in, in_len)) > 0;
	EVP_PKEY_CTX_free(ctx);
	if (ok && tmp) {
		if (room > cap) {
			*out_len = room;
			*detail = VSM_D_OUTPUT_SPACE;
			OPENSSL_secure_clear_free(tmp, n);
			return VSM_S_NOSPC;
		}
		memcpy(out, tmp, room);
	}
	if (tmp)
		OPENSSL_secure_clear_free(tmp, n);
	if (!ok) {
		/* Encrypting can fail only on a bad key or an input too long for it. */
		*detail = enc ? VSM_D_BAD_LENGTH : VSM_D_BAD_KEY;
		return VSM_S_BADMSG;
	}
	*out_len = room;
	return VSM_S_OK;
}

/* ---- KEKs: SM4/AES in ECB or CBC, no padding ---- */

static const EVP_CIPHER *kek_cipher(uint32_t kek_type, uint32_t alg, size_t key_len, int *st,
				    int *detail)
{
	const char *name = NULL;
	bool sm4 = alg == VSM_ALG_SM4_ECB || alg == VSM_ALG_SM4_CBC;
	bool aes = alg == VSM_ALG_AES_ECB || alg == VSM_ALG_AES_CBC;
	bool cbc = alg == VSM_ALG_SM4_CBC || alg == VSM_ALG_AES_CBC;

	if (!sm4 && !aes) {
		*detail = VSM_D_BAD_OP;
		*st = VSM_S_NOTSUPP;
		return NULL;
	}
	if ((sm4 && kek_type != VSM_KT_SM4) || (aes && kek_type != VSM_KT_AES)) {
		*st = bad(detail, VSM_D_KEY_TYPE);
		return NULL;
	}
	if (sm4)
		name = cbc ? "SM4-CBC" : "SM4-ECB";
	else if (key_len == 16)
		name = cbc ? "AES-128-CBC" : "AES-128-ECB";
	else if (key_len == 24)
		name = cbc ? "AES-192-CBC" : "AES-192-ECB";
	else if (key_len == 32)
		name = cbc ? "AES-256-CBC" : "AES-256-ECB";
	const EVP_CIPHER *c = name ? EVP_get_cipherbyname(name) : NULL;
	if (!c) {
		*detail = VSM_D_BAD_KEY;
		*st = VSM_S_ERR;
	}
	return c;
}

/* Wrap or unwrap in (a whole number of blocks) with KEK (KEK, index). */
static int kek_crypt(struct vsm_tenant *t, const struct vsm_wire_key *k, bool enc,
		     const uint8_t *in, size_t len, uint8_t *out, size_t cap, int *detail)
{
	struct vsm_key_rec rec;
	uint8_t *kek = NULL;
	size_t kek_len = 0;
	int st, n1 = 0, n2 = 0;

	if (k->a_len)
		return bad(detail, VSM_D_BAD_LENGTH);
	st = vsm_keystore_get(t->name, VSM_KU_KEK, k->index, false, NULL, 0, &rec, &kek, &kek_len,
			      detail);
	if (st != VSM_S_OK)
		return st;
	const EVP_CIPHER *c = kek_cipher(rec.type, k->alg, kek_len, &st, detail);
	if (c) {
		size_t iv_len = (size_t)EVP_CIPHER_get_iv_length(c);
		size_t blk = (size_t)EVP_CIPHER_get_block_size(c);
		EVP_CIPHER_CTX *ctx = NULL;

		if (k->c_len != iv_len || len == 0 || len % blk || len > INT_MAX) {
			st = bad(detail, VSM_D_BAD_LENGTH);
		} else if (cap < len) {
			st = VSM_S_NOSPC;
			*detail = VSM_D_OUTPUT_SPACE;
		} else if (!(ctx = EVP_CIPHER_CTX_new()) ||
			   !EVP_CipherInit_ex(ctx, c, NULL, kek, iv_len ? k->c : NULL, enc) ||
			   !EVP_CIPHER_CTX_set_padding(ctx, 0) ||
			   !EVP_CipherUpdate(ctx, out, &n1, in, (int)len) ||
			   !EVP_CipherFinal_ex(ctx, out + n1, &n2) || (size_t)(n1 + n2) != len) {
			st = VSM_S_ERR;
			*detail = VSM_D_ENGINE;
		}
		EVP_CIPHER_CTX_free(ctx);
	}
	vsm_keystore_secret_free(kek, kek_len);
	return st;
}

/* ---- keystore kops ---- */

static int k_generate(struct vsm_tenant *t, const struct vsm_wire_key *k, int *detail)
{
	struct vsm_key_rec rec = {.usage = k->usage, .index = k->index, .type = k->type};
	uint8_t *sec = NULL, *pub = NULL;
	size_t sec_len = 0, pub_len = 0;
	int st;

	if (!slot_ok(k))
		return bad(detail, VSM_D_RANGE);
	if (!usage_fits(k->usage, k->type))
		return bad(detail, VSM_D_KEY_TYPE);
	rec.bits = gen_bits(k->type, k->bits);
	if (!rec.bits)
		return bad(detail, VSM_D_BAD_LENGTH);
	if (!label_copy(k, rec.label))
		return bad(detail, VSM_D_BAD_LENGTH);
	rec.has_password = k->a_len != 0;
	st = vsm_keygen(k->type, rec.bits, &sec, &sec_len, &pub, &pub_len, detail);
	if (st == VSM_S_OK)
		st = vsm_keystore_put(t->name, &rec, sec, sec_len, pub, pub_len, k->a, k->a_len,
				      detail);
	vsm_keystore_secret_free(sec, sec_len);
	free(pub);
	return st;
}

static int k_import(struct vsm_tenant *t, const struct vsm_wire_key *k, int *detail)
{
	struct vsm_key_rec rec = {.usage = k->usage, .index = k->index, .type = k->type};
	uint8_t *norm = NULL, *pub = NULL;
	size_t norm_len = 0, pub_len = 0;
	int st;

	if (!slot_ok(k))
		return bad(detail, VSM_D_RANGE);
	if (!usage_fits(k->usage, k->type))
		return bad(detail, VSM_D_KEY_TYPE);
	if (!label_copy(k, rec.label) || k->c_len == 0)
		return bad(detail, VSM_D_BAD_LENGTH);
	rec.has_password = k->a_len != 0;
	st = vsm_keyimport_check(k->type, k->c, k->c_len, &rec.bits, &norm, &norm_len, &pub,
				 &pub_len, detail);
	if (st == VSM_S_OK)
		st = vsm_keystore_put(t->name, &rec, norm, norm_len, pub, pub_len, k->a, k->a_len,
				      detail);
	vsm_keystore_secret_free(norm, norm_len);
	free(pub);
	return st;
}

static int k_list(struct vsm_tenant *t, uint8_t *out, size_t cap, size_t *out_len, int *detail)
{
	struct vsm_key_rec *recs = NULL;
	size_t n = 0;
	int st = vsm_keystore_list(t->name, &recs, &n, detail);

	if (st != VSM_S_OK)
		return st;
	if (n > cap / VSM_WIRE_KEY_INFO_LEN) {
		*out_len = n * VSM_WIRE_KEY_INFO_LEN;
		*detail = VSM_D_OUTPUT_SPACE;
		free(recs);
		return VSM_S_NOSPC;
	}
	for (size_t i = 0; i < n; i++) {
		struct vsm_wire_key_info e = {
			.usage = recs[i].usage,
			.index = recs[i].index,
			.type = recs[i].type,
			.bits = recs[i].bits,
			.flags = recs[i].has_password ? VSM_KEYF_PASSWORD : 0,
			.created = recs[i].created > 0 ? (uint64_t)recs[i].created : 0,
		};
		memcpy(e.label, recs[i].label, sizeof(e.label));
		vsm_wire_encode_key_info(out + i * VSM_WIRE_KEY_INFO_LEN, VSM_WIRE_KEY_INFO_LEN,
					 &e);
	}
	*out_len = n * VSM_WIRE_KEY_INFO_LEN;
	free(recs);
	return VSM_S_OK;
}

static int k_public(struct vsm_tenant *t, const struct vsm_wire_key *k, uint8_t *out, size_t cap,
		    size_t *out_len, int *detail)
{
	struct vsm_key_rec rec;
	uint8_t *pub = NULL;
	size_t pub_len = 0;
	int st;

	if (!slot_ok(k))
		return bad(detail, VSM_D_RANGE);
	st = vsm_keystore_get_public(t->name, k->usage, k->index, &rec, &pub, &pub_len, detail);
	if (st != VSM_S_OK)
		return st;
	if (!pub || !asym_type(rec.type)) {
		st = bad(detail, VSM_D_KEY_TYPE);
	} else if (pub_len > cap) {
		*out_len = pub_len;
		*detail = VSM_D_OUTPUT_SPACE;
		st = VSM_S_NOSPC;
	} else {
		memcpy(out, pub, pub_len);
		*out_len = pub_len;
	}
	free(pub);
	return st;
}

/* ---- session keys ---- */

/* Wrap key under what (usage, index, a, alg, c) of an SKEY_GENERATE name. */
static int skey_wrap(struct vsm_tenant *t, const struct vsm_wire_key *k, const uint8_t *key,
		     size_t len, uint8_t *out, size_t cap, size_t *out_len, int *detail)
{
	struct vsm_key_rec rec;
	EVP_PKEY *pk = NULL;
	uint8_t *pub = NULL;
	size_t pub_len = 0;
	int st;

	switch (k->usage) {
	case 0: /* external public key in a */
		if (k->alg || k->c_len)
			return bad(detail, VSM_D_BAD_OP);
		pk = load_pub(k->a, k->a_len);
		if (!pk)
			return bad(detail, VSM_D_BAD_KEY);
		break;
	case VSM_KU_ENC:
		if (k->alg || k->c_len || k->a_len)
			return bad(detail, VSM_D_BAD_OP);
		st = vsm_keystore_get_public(t->name, VSM_KU_ENC, k->index, &rec, &pub, &pub_len,
					     detail);
		if (st != VSM_S_OK)
			return st;
		pk = load_pub(pub, pub_len);
		free(pub);
		if (!pk) {
			*detail = VSM_D_KEYSTORE;
			return VSM_S_ERR;
		}
		break;
	case VSM_KU_KEK:
		st = kek_crypt(t, k, true, key, len, out, cap, detail);
		if (st == VSM_S_OK)
			*out_len = len;
		return st;
	default:
		return bad(detail, VSM_D_KEY_TYPE);
	}
	st = pk_crypt(pk, true, key, len, out, cap, out_len, detail);
	EVP_PKEY_free(pk);
	return st;
}

static int k_skey_generate(struct vsm_tenant *t, const struct vsm_wire_key *k, uint8_t *out,
			   size_t cap, size_t *out_len, int *detail)
{
	struct vsm_keyobj *o;
	size_t len = skey_new_len(k->type, k->bits), wlen = 0;
	uint64_t h;
	int st;

	if (!len)
		return bad(detail, VSM_D_KEY_TYPE);
	if (k->usage && !k->index)
		return bad(detail, VSM_D_RANGE);
	if (cap < 8) {
		*out_len = 8 + WRAP_MAX;
		*detail = VSM_D_OUTPUT_SPACE;
		return VSM_S_NOSPC;
	}
	o = calloc(1, sizeof(*o));
	if (!o) {
		*detail = VSM_D_ENGINE;
		return VSM_S_ERR;
	}
	o->kind = VSM_KOBJ_KEY;
	o->type = k->type;
	o->len = len;
	if (RAND_priv_bytes(o->key, (int)len) != 1) {
		vsm_keyobj_free(o);
		*detail = VSM_D_ENGINE;
		return VSM_S_ERR;
	}
	st = skey_wrap(t, k, o->key, len, out + 8, cap - 8, &wlen, detail);
	if (st != VSM_S_OK) {
		vsm_keyobj_free(o);
		if (st == VSM_S_NOSPC && *detail == VSM_D_OUTPUT_SPACE)
			*out_len = 8 + wlen;
		return st;
	}
	st = vsm_keyobj_add(t, o, &h, detail);
	if (st != VSM_S_OK)
		return st;
	vsm_wire_encode_u64(out, 8, h);
	*out_len = 8 + wlen;
	return VSM_S_OK;
}

static int k_skey_import(struct vsm_tenant *t, const struct vsm_wire_key *k, uint8_t *out,
			 size_t cap, size_t *out_len, int *detail)
{
	struct vsm_keyobj *o = calloc(1, sizeof(*o));
	uint8_t *priv = NULL;
	size_t priv_len = 0, len = 0;
	uint64_t h;
	int st = VSM_S_OK;

	if (!o) {
		*detail = VSM_D_ENGINE;
		return VSM_S_ERR;
	}
	if (k->type != VSM_KT_SM4 && k->type != VSM_KT_AES && k->type != VSM_KT_GENERIC) {
		st = bad(detail, VSM_D_KEY_TYPE);
	} else if (k->usage && !k->index) {
		st = bad(detail, VSM_D_RANGE);
	} else if (cap < 8) {
		*detail = VSM_D_OUTPUT_SPACE;
		*out_len = 8;
		st = VSM_S_NOSPC;
	} else if (k->usage == 0) {
		if (k->a_len || k->alg || k->c_len || k->b_len > sizeof(o->key))
			st = bad(detail, VSM_D_BAD_LENGTH);
		else if (k->b_len)
			memcpy(o->key, k->b, k->b_len);
		len = k->b_len;
	} else if (k->usage == VSM_KU_ENC) {
		EVP_PKEY *pk = NULL;

		if (k->alg || k->c_len)
			st = bad(detail, VSM_D_BAD_OP);
		else
			st = vsm_keystore_get(t->name, VSM_KU_ENC, k->index, true, k->a, k->a_len,
					      NULL, &priv, &priv_len, detail);
		if (st == VSM_S_OK && !(pk = load_priv(priv, priv_len))) {
			*detail = VSM_D_KEYSTORE;
			st = VSM_S_ERR;
		}
		if (st == VSM_S_OK)
			st = pk_crypt(pk, false, k->b, k->b_len, o->key, sizeof(o->key), &len,
				      detail);
		/* A plaintext longer than any key object is a bad wrapping, not a lack of room. */
		if (st == VSM_S_NOSPC)
			st = bad(detail, VSM_D_BAD_KEY);
		EVP_PKEY_free(pk);
		vsm_keystore_secret_free(priv, priv_len);
	} else if (k->usage == VSM_KU_KEK) {
		st = k->b_len > sizeof(o->key) ? bad(detail, VSM_D_BAD_LENGTH)
					       : kek_crypt(t, k, false, k->b, k->b_len, o->key,
							   sizeof(o->key), detail);
		len = k->b_len;
	} else {
		st = bad(detail, VSM_D_KEY_TYPE);
	}
	if (st == VSM_S_OK && !skey_len_ok(k->type, k->bits, len))
		st = bad(detail, VSM_D_BAD_LENGTH);
	if (st != VSM_S_OK) {
		vsm_keyobj_free(o);
		return st;
	}
	o->kind = VSM_KOBJ_KEY;
	o->type = k->type;
	o->len = len;
	st = vsm_keyobj_add(t, o, &h, detail);
	if (st == VSM_S_OK)
		*out_len = vsm_wire_encode_u64(out, cap, h);
	return st;
}

static int k_skey_destroy(struct vsm_tenant *t, const struct vsm_wire_key *k, int *detail)
{
	struct vsm_keyobj *o = vsm_keyobj_take(t, k->handle, VSM_KOBJ_ANY);

	if (!o) {
		*detail = VSM_D_NO_KEY;
		return VSM_S_KEY_REJECTED;
	}
	vsm_keyobj_free(o);
	return VSM_S_OK;
}

/* ---- digital envelope ---- */

static int k_envelope(struct vsm_tenant *t, const struct vsm_wire_key *k, uint8_t *out, size_t cap,
		      size_t *out_len, int *detail)
{
	EVP_PKEY *priv = NULL, *pub = NULL;
	uint8_t *der = NULL, plain[512];
	size_t der_len = 0, plain_len = 0;
	int st;

	if (k->usage != VSM_KU_ENC)
		return bad(detail, VSM_D_KEY_TYPE);
	if (!k->index)
		return bad(detail, VSM_D_RANGE);
	pub = load_pub(k->c, k->c_len);
	if (!pub)
		return bad(detail, VSM_D_BAD_KEY);
	st = vsm_keystore_get(t->name, VSM_KU_ENC, k->index, true, k->a, k->a_len, NULL, &der,
			      &der_len, detail);
	if (st == VSM_S_OK && !(priv = load_priv(der, der_len))) {
		*detail = VSM_D_KEYSTORE;
		st = VSM_S_ERR;
	}
	vsm_keystore_secret_free(der, der_len);
	if (st == VSM_S_OK && pk_family(priv) != pk_family(pub))
		st = bad(detail, VSM_D_KEY_TYPE);
	if (st == VSM_S_OK) {
		st = pk_crypt(priv, false, k->b, k->b_len, plain, sizeof(plain), &plain_len,
			      detail);
		if (st == VSM_S_NOSPC)
			st = bad(detail, VSM_D_BAD_LENGTH);
	}
	if (st == VSM_S_OK)
		st = pk_crypt(pub, true, plain, plain_len, out, cap, out_len, detail);
	OPENSSL_cleanse(plain, sizeof(plain));
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
	return st;
}

/* ---- SM2 key agreement ---- */

/* Key length and type of an agreement's result. */
static int agree_params(const struct vsm_wire_key *k, uint32_t *klen, uint32_t *type, int *detail)
{
	*type = k->type ? k->type : VSM_KT_GENERIC;
	if (*type != VSM_KT_SM4 && *type != VSM_KT_AES && *type != VSM_KT_GENERIC)
		return bad(detail, VSM_D_KEY_TYPE);
	if (k->bits == 0 || k->bits % 8 || !skey_len_ok(*type, k->bits, k->bits / 8))
		return bad(detail, VSM_D_BAD_LENGTH);
	if (k->usage != VSM_KU_ENC)
		return bad(detail, VSM_D_KEY_TYPE);
	if (!k->index)
		return bad(detail, VSM_D_RANGE);
	*klen = k->bits / 8;
	return VSM_S_OK;
}

/* This side's static key (ENC, index) as an agreement state. */
static int agree_side(struct vsm_tenant *t, const struct vsm_wire_key *k, const uint8_t *id,
		      size_t id_len, struct vsm_sm2kx **out, int *detail)
{
	struct vsm_key_rec rec;
	uint8_t *der = NULL;
	size_t der_len = 0;
	int st;

	if (id_len > VSM_SM2_ID_MAX)
		return bad(detail, VSM_D_BAD_LENGTH);
	st = vsm_keystore_get(t->name, VSM_KU_ENC, k->index, true, k->a, k->a_len, &rec, &der,
			      &der_len, detail);
	if (st != VSM_S_OK)
		return st;
	*out = calloc(1, sizeof(**out));
	if (rec.type != VSM_KT_SM2) {
		st = bad(detail, VSM_D_KEY_TYPE);
	} else if (!*out || vsm_sm2kx_init(*out, der, der_len, id, id_len) < 0) {
		*detail = VSM_D_ENGINE;
		st = VSM_S_ERR;
	}
	vsm_keystore_secret_free(der, der_len);
	if (st != VSM_S_OK) {
		vsm_sm2kx_free(*out);
		*out = NULL;
	}
	return st;
}

/* A key object holding the agreed key: its handle into out. */
static int agree_result(struct vsm_tenant *t, const struct vsm_sm2kx *x, const uint8_t *peer,
			const uint8_t *za, const uint8_t *zb, uint8_t *out, int *detail)
{
	struct vsm_keyobj *o = calloc(1, sizeof(*o));
	uint64_t h;
	int st;

	if (!o) {
		*detail = VSM_D_ENGINE;
		return VSM_S_ERR;
	}
	if (vsm_sm2kx_derive(x, peer, peer + VSM_SM2_POINT_LEN, za, zb, o->key, x->klen) < 0) {
		vsm_keyobj_free(o);
		return bad(detail, VSM_D_BAD_KEY); /* a peer point off the curve */
	}
	o->kind = VSM_KOBJ_KEY;
	o->type = x->type;
	o->len = x->klen;
	st = vsm_keyobj_add(t, o, &h, detail);
	if (st == VSM_S_OK)
		vsm_wire_encode_u64(out, 8, h);
	return st;
}

#define AGREE_RESP_LEN (8 + 2 * VSM_SM2_POINT_LEN)

static int k_agree_init(struct vsm_tenant *t, const struct vsm_wire_key *k, uint8_t *out,
			size_t cap, size_t *out_len, int *detail)
{
	struct vsm_sm2kx *x = NULL;
	struct vsm_keyobj *o;
	uint32_t klen, type;
	uint64_t h;
	int st = agree_params(k, &klen, &type, detail);

	if (st != VSM_S_OK)
		return st;
	if (k->c_len)
		return bad(detail, VSM_D_BAD_LENGTH);
	if (cap < AGREE_RESP_LEN) {
		*out_len = AGREE_RESP_LEN;
		*detail = VSM_D_OUTPUT_SPACE;
		return VSM_S_NOSPC;
	}
	st = agree_side(t, k, k->b, k->b_len, &x, detail);
	if (st != VSM_S_OK)
		return st;
	x->klen = klen;
	x->type = type;
	o = calloc(1, sizeof(*o));
	if (!o) {
		vsm_sm2kx_free(x);
		*detail = VSM_D_ENGINE;
		return VSM_S_ERR;
	}
	o->kind = VSM_KOBJ_AGREE;
	o->kx = x;
	memcpy(out + 8, x->p, VSM_SM2_POINT_LEN);
	memcpy(out + 8 + VSM_SM2_POINT_LEN, x->rpub, VSM_SM2_POINT_LEN);
	st = vsm_keyobj_add(t, o, &h, detail);
	if (st != VSM_S_OK)
		return st;
	vsm_wire_encode_u64(out, 8, h);
	*out_len = AGREE_RESP_LEN;
	return VSM_S_OK;
}

static int k_agree_finish(struct vsm_tenant *t, const struct vsm_wire_key *k, uint8_t *out,
			  size_t cap, size_t *out_len, int *detail)
{
	struct vsm_keyobj *o;
	uint8_t zb[32];
	int st;

	if (k->c_len != 2 * VSM_SM2_POINT_LEN || k->b_len > VSM_SM2_ID_MAX)
		return bad(detail, VSM_D_BAD_LENGTH);
	if (cap < 8) {
		*out_len = 8;
		*detail = VSM_D_OUTPUT_SPACE;
		return VSM_S_NOSPC;
	}
	o = vsm_keyobj_take(t, k->handle, VSM_KOBJ_AGREE);
	if (!o) {
		*detail = VSM_D_NO_KEY;
		return VSM_S_KEY_REJECTED;
	}
	if (vsm_sm2kx_z(k->b, k->b_len, k->c, zb) < 0)
		st = bad(detail, VSM_D_BAD_KEY);
	else
		st = agree_result(t, o->kx, k->c, o->kx->z, zb, out, detail);
	vsm_keyobj_free(o);
	if (st == VSM_S_OK)
		*out_len = 8;
	return st;
}

static int k_agree_respond(struct vsm_tenant *t, const struct vsm_wire_key *k, uint8_t *out,
			   size_t cap, size_t *out_len, int *detail)
{
	struct vsm_sm2kx *x = NULL;
	uint32_t klen, type, idb_len;
	uint8_t za[32];
	int st = agree_params(k, &klen, &type, detail);

	if (st != VSM_S_OK)
		return st;
	if (k->c_len != 2 * VSM_SM2_POINT_LEN || k->b_len < 4)
		return bad(detail, VSM_D_BAD_LENGTH);
	if (vsm_wire_decode_u32(k->b, 4, &idb_len) != VSM_S_OK || idb_len > k->b_len - 4)
		return bad(detail, VSM_D_BAD_LENGTH);
	const uint8_t *idb = k->b + 4, *ida = idb + idb_len;
	size_t ida_len = k->b_len - 4 - idb_len;
	if (ida_len > VSM_SM2_ID_MAX)
		return bad(detail, VSM_D_BAD_LENGTH);
	if (cap < AGREE_RESP_LEN) {
		*out_len = AGREE_RESP_LEN;
		*detail = VSM_D_OUTPUT_SPACE;
		return VSM_S_NOSPC;
	}
	if (vsm_sm2kx_z(ida, ida_len, k->c, za) < 0)
		return bad(detail, VSM_D_BAD_KEY);
	st = agree_side(t, k, idb, idb_len, &x, detail);
	if (st != VSM_S_OK)
		return st;
	x->klen = klen;
	x->type = type;
	st = agree_result(t, x, k->c, za, x->z, out, detail);
	if (st == VSM_S_OK) {
		memcpy(out + 8, x->p, VSM_SM2_POINT_LEN);
		memcpy(out + 8 + VSM_SM2_POINT_LEN, x->rpub, VSM_SM2_POINT_LEN);
		*out_len = AGREE_RESP_LEN;
	}
	vsm_sm2kx_free(x);
	return st;
}

/* ---- files ---- */

static int k_file(struct vsm_tenant *t, const struct vsm_wire_key *k, uint8_t *out, size_t cap,
		  size_t *out_len, int *detail)
{
	if (k->b_len == 0 || k->b_len > VSM_FILE_NAME_MAX)
		return bad(detail, VSM_D_BAD_LENGTH);
	switch (k->kop) {
	case VSM_KOP_FILE_CREATE:
		return vsm_keystore_file_create(t->name, k->b, k->b_len, k->bits, detail);
	case VSM_KOP_FILE_READ: {
		if (k->bits > cap) {
			*out_len = k->bits;
			*detail = VSM_D_OUTPUT_SPACE;
			return VSM_S_NOSPC;
		}
		int st = vsm_keystore_file_read(t->name, k->b, k->b_len, k->index, k->bits, out,
						detail);
		if (st == VSM_S_OK)
			*out_len = k->bits;
		return st;
	}
	case VSM_KOP_FILE_WRITE:
		return vsm_keystore_file_write(t->name, k->b, k->b_len, k->index, k->c, k->c_len,
					       detail);
	default:
		return vsm_keystore_file_delete(t->name, k->b, k->b_len, detail);
	}
}

int vsm_keyops_run(struct vsm_tenant *t, const struct vsm_wire_key *k, uint8_t *out, size_t cap,
		   size_t *out_len, int *detail)
{
	*out_len = 0;
	if (!vsm_keystore_enabled()) {
		*detail = VSM_D_KEYSTORE;
		return VSM_S_NOTSUPP;
	}
	switch (k->kop) {
	case VSM_KOP_GENERATE:
		return k_generate(t, k, detail);
	case VSM_KOP_IMPORT:
		return k_import(t, k, detail);
	case VSM_KOP_DELETE:
		if (!slot_ok(k))
			return bad(detail, VSM_D_RANGE);
		return vsm_keystore_delete(t->name, k->usage, k->index, detail);
	case VSM_KOP_LIST:
		return k_list(t, out, cap, out_len, detail);
	case VSM_KOP_PUBLIC:
		return k_public(t, k, out, cap, out_len, detail);
	case VSM_KOP_SET_PASSWORD:
		if (!slot_ok(k))
			return bad(detail, VSM_D_RANGE);
		return vsm_keystore_set_password(t->name, k->usage, k->index, k->a, k->a_len, k->b,
						 k->b_len, detail);
	case VSM_KOP_SKEY_GENERATE:
		return k_skey_generate(t, k, out, cap, out_len, detail);
	case VSM_KOP_SKEY_IMPORT:
		return k_skey_import(t, k, out, cap, out_len, detail);
	case VSM_KOP_SKEY_DESTROY:
		return k_skey_destroy(t, k, detail);
	case VSM_KOP_ENVELOPE:
		return k_envelope(t, k, out, cap, out_len, detail);
	case VSM_KOP_AGREE_INIT:
		return k_agree_init(t, k, out, cap, out_len, detail);
	case VSM_KOP_AGREE_FINISH:
		return k_agree_finish(t, k, out, cap, out_len, detail);
	case VSM_KOP_AGREE_RESPOND:
		return k_agree_respond(t, k, out, cap, out_len, detail);
	case VSM_KOP_FILE_CREATE:
	case VSM_KOP_FILE_READ:
	case VSM_KOP_FILE_WRITE:
	case VSM_KOP_FILE_DELETE:
		return k_file(t, k, out, cap, out_len, detail);
	default:
		return bad(detail, VSM_D_PROTOCOL);
	}
}

/* ---- SESSION_CREATE on keystore keys and key objects ---- */

static uint32_t type_alg(uint32_t type)
{
	switch (type) {
	case VSM_KT_SM2:
		return VSM_ALG_SM2;
	case VSM_KT_RSA:
		return VSM_ALG_RSA;
	case VSM_KT_ECDSA_P256:
	case VSM_KT_ECDSA_P384:
		return VSM_ALG_ECDSA;
	case VSM_KT_ED25519:
		return VSM_ALG_ED25519;
	default:
		return VSM_ALG_NONE;
	}
}

static int internal_session(struct vsm_tenant *t, const struct vsm_wire_session *m,
			    const struct vsm_engine *eng, void **es, uint32_t *sflags, int *detail)
{
	struct vsm_wire_session s = *m;
	struct vsm_key_rec rec;
	uint32_t usage, index, pw_len;
	uint8_t *key = NULL;
	size_t key_len = 0;
	int st;

	if (m->service != VSM_SVC_AKCIPHER)
		return bad(detail, VSM_D_KEY_TYPE);
	if (m->key_len < 12)
		return bad(detail, VSM_D_BAD_LENGTH);
	vsm_wire_decode_u32(m->key, 4, &usage);
	vsm_wire_decode_u32(m->key + 4, 4, &index);
	vsm_wire_decode_u32(m->key + 8, 4, &pw_len);
	if (pw_len != m->key_len - 12)
		return bad(detail, VSM_D_BAD_LENGTH);
	if (usage != VSM_KU_SIGN && usage != VSM_KU_ENC)
		return bad(detail, VSM_D_KEY_TYPE);
	if (!index)
		return bad(detail, VSM_D_RANGE);
	/*
	 * A key without a password is usable by the whole tenant: no password
	 * is needed for it (any given is ignored, as cards do). A key with one
	 * opens public-only unless its password comes along.
	 */
	bool private = pw_len > 0;
	if (!private) {
		st = vsm_keystore_get_public(t->name, usage, index, &rec, &key, &key_len, detail);
		if (st != VSM_S_OK)
			return st;
		private = !rec.has_password;
		if (private) {
			free(key);
			key = NULL;
		} else {
			*sflags |= VSM_SESSION_PUBLIC_ONLY;
		}
	}
	if (private) {
		st = vsm_keystore_get(t->name, usage, index, pw_len > 0, m->key + 12, pw_len, &rec,
				      &key, &key_len, detail);
		if (st != VSM_S_OK)
			return st;
	}
	if (type_alg(rec.type) != m->alg) {
		st = bad(detail, VSM_D_KEY_TYPE);
	} else {
		s.flags &= ~(uint32_t)VSM_SESSF_INTERNAL;
		s.key = key;
		s.key_len = (uint32_t)key_len;
		st = eng->session_new(&s, es, detail);
	}
	if (private)
		vsm_keystore_secret_free(key, key_len);
	else
		free(key);
	return st;
}

static int keyobj_session(struct vsm_tenant *t, const struct vsm_wire_session *m,
			  const struct vsm_engine *eng, void **es, int *detail)
{
	struct vsm_wire_session s = *m;
	uint8_t key[VSM_KOBJ_KEY_MAX];
	size_t len = 0;
	uint32_t type;
	uint64_t h;
	int st;

	if (m->service != VSM_SVC_CIPHER && m->service != VSM_SVC_MAC && m->service != VSM_SVC_AEAD)
		return bad(detail, VSM_D_KEY_TYPE);
	if (vsm_wire_decode_u64(m->key, m->key_len, &h) != VSM_S_OK)
		return bad(detail, VSM_D_BAD_LENGTH);
	st = vsm_keyobj_copy(t, h, key, &len, &type, detail);
	if (st != VSM_S_OK)
		return st;
	s.flags &= ~(uint32_t)VSM_SESSF_KEYOBJ;
	s.key = key;
	s.key_len = (uint32_t)len;
	st = eng->session_new(&s, es, detail);
	OPENSSL_cleanse(key, sizeof(key));
	return st;
}

int vsm_keyops_session(struct vsm_tenant *t, const struct vsm_wire_session *m,
		       const struct vsm_engine *eng, void **es, uint32_t *sflags, int *detail)
{
	if (!vsm_keystore_enabled()) {
		*detail = VSM_D_KEYSTORE;
		return VSM_S_NOTSUPP;
	}
	if ((m->flags & VSM_SESSF_INTERNAL) && (m->flags & VSM_SESSF_KEYOBJ))
		return bad(detail, VSM_D_BAD_OP);
	if (m->flags & VSM_SESSF_INTERNAL)
		return internal_session(t, m, eng, es, sflags, detail);
	return keyobj_session(t, m, eng, es, detail);
}
