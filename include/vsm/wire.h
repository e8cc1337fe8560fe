/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vsm wire protocol, version 1.
 *
 * Every message is a 24-byte header followed by `len` payload bytes. All
 * integers are little-endian. The stream transports (unix, TCP, vsock) send
 * frames back to back; the shared-memory transport carries the same payloads
 * in ring descriptors. docs/protocol.md is the normative description; this
 * header and src/wire/ must agree with it.
 *
 * The decoder is pure (no I/O, no allocation) and treats every byte as
 * hostile: each length is checked against what is actually present before
 * anything is pointed at. Decoded structs point into the caller's buffer, so
 * the caller must have copied the bytes out of any shared memory first.
 */
#ifndef VSM_WIRE_H
#define VSM_WIRE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VSM_WIRE_MAGIC	 0x5653u /* "VS" as a little-endian u16 */
#define VSM_WIRE_VERSION 1u
#define VSM_WIRE_HDR_LEN 24u
/* No frame may claim more than this, whatever a tenant's limit says. */
#define VSM_WIRE_MAX_PAYLOAD (64u * 1024u * 1024u)

/* Message types (hdr.op). */
enum vsm_msg {
	VSM_MSG_HELLO = 1,
	VSM_MSG_SESSION_CREATE = 2,
	VSM_MSG_SESSION_DESTROY = 3,
	VSM_MSG_OP = 4,
	VSM_MSG_RANDOM = 5,
	VSM_MSG_STATUS = 6,
	VSM_MSG_NOP = 7,       /* null operation: measures the transport alone */
	VSM_MSG_SHM_SETUP = 8, /* switch to a shared-memory region (<vsm/shm.h>) */
	VSM_MSG_KEY = 9,       /* keystore, key objects, files: struct vsm_wire_key */
	VSM_MSG__MAX
};

/* hdr.flags */
#define VSM_HDR_F_RESPONSE 0x0001u

/*
 * Status codes. The values are exactly the virtio-crypto status codes so
 * that the vhost-user back-end and libsdf-vsm map them 1:1.
 */
enum vsm_status {
	VSM_S_OK = 0,
	VSM_S_ERR = 1,
	VSM_S_BADMSG = 2,
	VSM_S_NOTSUPP = 3,
	VSM_S_INVSESS = 4,
	VSM_S_NOSPC = 5,
	VSM_S_KEY_REJECTED = 6,
	VSM_S__MAX
};

/*
 * Detail codes refine a status without breaking the 1:1 mapping: a client
 * that only understands virtio-crypto statuses can ignore them.
 */
enum vsm_detail {
	VSM_D_NONE = 0,
	VSM_D_PROTOCOL = 1,	  /* malformed frame; connection will close */
	VSM_D_TOO_BIG = 2,	  /* payload over the tenant's max message size */
	VSM_D_SESSION_LIMIT = 3,  /* tenant has max_sessions sessions already */
	VSM_D_AUTH_FAILED = 4,	  /* AEAD tag or signature did not verify */
	VSM_D_BAD_KEY = 5,	  /* key material could not be parsed/used */
	VSM_D_BAD_LENGTH = 6,	  /* iv/tag/input length wrong for the algorithm */
	VSM_D_OUTPUT_SPACE = 7,	  /* dst_len smaller than the result */
	VSM_D_VERSION = 8,	  /* no common protocol version */
	VSM_D_NO_HELLO = 9,	  /* request before HELLO */
	VSM_D_SHUTDOWN = 10,	  /* daemon is draining */
	VSM_D_ENGINE = 11,	  /* engine failed internally */
	VSM_D_BAD_OP = 12,	  /* operation not valid for this session */
	VSM_D_ACCESS_DENIED = 13, /* wrong key password, or a private op without one */
	VSM_D_NO_KEY = 14,	  /* no key at that usage/index, or no such key object */
	VSM_D_EXISTS = 15,	  /* key slot or file already in use */
	VSM_D_KEYSTORE = 16,	  /* keystore disabled or its storage failed */
	VSM_D_NO_FILE = 17,	  /* no such file */
	VSM_D_RANGE = 18,	  /* file offset/length, key index or count out of range */
	VSM_D_KEY_TYPE = 19,	  /* key type/usage does not fit the operation */
	VSM_D__MAX
};

/* Services: the virtio-crypto service numbers. */
enum vsm_service {
	VSM_SVC_CIPHER = 0,
	VSM_SVC_HASH = 1,
	VSM_SVC_MAC = 2,
	VSM_SVC_AEAD = 3,
	VSM_SVC_AKCIPHER = 4,
	VSM_SVC__MAX
};

/*
 * Algorithms. Key size is taken from the key, so AES-128/192/256 share one
 * id. Numbers are part of the protocol: append, never renumber.
 */
enum vsm_alg {
	VSM_ALG_NONE = 0,
	/* CIPHER */
	VSM_ALG_AES_ECB = 1,
	VSM_ALG_AES_CBC = 2,
	VSM_ALG_AES_CTR = 3,
	VSM_ALG_AES_XTS = 4, /* key is both halves: 32 or 64 bytes */
	VSM_ALG_SM4_ECB = 5,
	VSM_ALG_SM4_CBC = 6,
	VSM_ALG_SM4_CTR = 7,
	VSM_ALG_CHACHA20 = 8, /* iv is 16 bytes: 32-bit LE counter || nonce */
	/* HASH */
	VSM_ALG_SHA1 = 20,
	VSM_ALG_SHA224 = 21,
	VSM_ALG_SHA256 = 22,
	VSM_ALG_SHA384 = 23,
	VSM_ALG_SHA512 = 24,
	VSM_ALG_SHA3_256 = 25,
	VSM_ALG_SM3 = 26,
	/* MAC */
	VSM_ALG_HMAC_SHA1 = 40,
	VSM_ALG_HMAC_SHA256 = 41,
	VSM_ALG_HMAC_SHA384 = 42,
	VSM_ALG_HMAC_SHA512 = 43,
	VSM_ALG_HMAC_SM3 = 44,
	VSM_ALG_CMAC_AES = 45,
	/* AEAD */
	VSM_ALG_AES_GCM = 60,
	VSM_ALG_AES_CCM = 61,
	VSM_ALG_CHACHA20_POLY1305 = 62,
	VSM_ALG_SM4_GCM = 63,
	/* AKCIPHER */
	VSM_ALG_RSA = 80,
	VSM_ALG_ECDSA = 81, /* curve comes from the key: P-256 or P-384 */
	VSM_ALG_SM2 = 82,
	VSM_ALG_ED25519 = 83,
	VSM_ALG__MAX = 96
};

/* Per-request operation (vsm_wire_op.op). */
enum vsm_opcode {
	VSM_OP_ENCRYPT = 1, /* CIPHER, AEAD, AKCIPHER */
	VSM_OP_DECRYPT = 2, /* CIPHER, AEAD, AKCIPHER */
	VSM_OP_SIGN = 3,    /* AKCIPHER */
	VSM_OP_VERIFY = 4,  /* AKCIPHER; MAC (compare against aux in constant time) */
	VSM_OP_DIGEST = 5,  /* HASH, MAC: compute */
	VSM_OP__MAX
};

/* vsm_wire_op.flags */
/*
 * HASH/MAC only: absorb src and keep the state in the session; the next
 * request without the flag finishes. This is how inputs larger than one
 * message are hashed.
 */
#define VSM_OPF_MORE 0x0001u
#define VSM_OPF__ALL 0x0001u

/* AKCIPHER padding (vsm_wire_session.padding) */
enum vsm_padding {
	VSM_PAD_NONE = 0, /* RSA raw; ignored for EC/SM2/Ed25519 */
	VSM_PAD_PKCS1 = 1,
	VSM_PAD_PSS = 2,
	VSM_PAD_OAEP = 3,
	VSM_PAD__MAX
};

/* Hash used by akcipher sessions (vsm_wire_session.hash): a HASH alg id. */

/* vsm_wire_session.flags */
/*
 * AKCIPHER sign/verify: src is already the digest (RSA, ECDSA) or already e
 * = SM3(Z || M) (SM2). Without it, src is the message and vsmd hashes it
 * (and for SM2 computes Z from the user id in aux).
 */
#define VSM_SESSF_PREHASHED 0x0001u
/*
 * AKCIPHER: the key is a keystore key, not key material. key is 12 bytes +
 * password: u32 usage (enum vsm_key_usage), u32 index, u32 pw_len, then
 * pw_len password bytes. With the key's password the session may run every
 * op; without (pw_len 0) only the public ones (ENCRYPT, VERIFY), and SIGN or
 * DECRYPT get KEY_REJECTED/ACCESS_DENIED. A key stored without a password
 * needs none: its sessions may run every op. A wrong password fails the
 * SESSION_CREATE with KEY_REJECTED/ACCESS_DENIED; a missing key with
 * KEY_REJECTED/NO_KEY. alg must match the key's type.
 */
#define VSM_SESSF_INTERNAL 0x0002u
/*
 * CIPHER, MAC, AEAD: the key is a key object held by vsmd (VSM_KOP_SKEY_*):
 * key is 8 bytes, the u64 key-object handle. The session copies the key, so
 * destroying the key object later does not affect it.
 */
#define VSM_SESSF_KEYOBJ 0x0004u
#define VSM_SESSF__ALL	 0x0007u

/* HELLO feature bits */
#define VSM_FEAT_MULTIPART    0x0001u /* VSM_OPF_MORE supported */
#define VSM_FEAT_OUT_OF_ORDER 0x0002u /* completions may be reordered */
#define VSM_FEAT_SHM	      0x0004u /* SHM_SETUP available (unix socket only) */
#define VSM_FEAT_KEYSTORE     0x0008u /* VSM_MSG_KEY and VSM_SESSF_INTERNAL/KEYOBJ available */
#define VSM_FEAT__ALL	      0x000fu

/* Decoded forms. Pointers refer into the buffer given to the decoder. */

struct vsm_wire_hdr {
	uint32_t len; /* payload bytes after the header */
	uint16_t magic;
	uint16_t op; /* enum vsm_msg */
	uint16_t flags;
	uint16_t status; /* enum vsm_status; 0 in requests */
	uint16_t detail; /* enum vsm_detail; 0 in requests */
	uint16_t reserved;
	uint64_t id; /* request id, echoed in the response */
};

struct vsm_wire_hello {
	uint16_t min_version;
	uint16_t max_version;
	uint32_t features;
};

struct vsm_wire_hello_resp {
	uint16_t version;
	uint32_t features;
	uint32_t max_msg;      /* largest payload the daemon accepts */
	uint32_t max_inflight; /* requests the client may have outstanding */
	uint32_t max_sessions;
	uint8_t algs[VSM_ALG__MAX / 8]; /* bit n set: alg n is supported */
	char tenant[32];		/* NUL-terminated tenant name */
};

struct vsm_wire_session {
	uint32_t service;  /* enum vsm_service */
	uint32_t alg;	   /* enum vsm_alg */
	uint32_t flags;	   /* VSM_SESSF_* */
	uint32_t padding;  /* enum vsm_padding (AKCIPHER) */
	uint32_t hash;	   /* hash alg for AKCIPHER/OAEP/PSS; 0 = default */
	uint32_t mgf_hash; /* OAEP/PSS MGF1 hash; 0 = same as hash */
	uint32_t tag_len;  /* AEAD tag, or MAC truncation; 0 = default */
	int32_t salt_len;  /* PSS salt length; -1 = digest length */
	const uint8_t *key;
	uint32_t key_len;
	const uint8_t *aux; /* SM2 user id, or OAEP label */
	uint32_t aux_len;
};

struct vsm_wire_op {
	uint64_t session;
	uint32_t op;	  /* enum vsm_opcode */
	uint32_t flags;	  /* VSM_OPF_* */
	uint32_t dst_len; /* output capacity the client offers */
	const uint8_t *iv;
	uint32_t iv_len;
	const uint8_t *aad;
	uint32_t aad_len;
	const uint8_t *src;
	uint32_t src_len;
	const uint8_t *aux; /* VERIFY: the signature or MAC to check */
	uint32_t aux_len;
};

struct vsm_wire_status {
	char tenant[32];
	uint32_t sessions;
	uint32_t max_sessions;
	uint32_t inflight;
	uint32_t max_inflight;
	uint32_t max_msg;
	uint32_t workers;
	uint64_t ops;	    /* requests completed for this tenant */
	uint64_t errors;    /* of which status != OK */
	uint64_t uptime_ms; /* daemon uptime */
};

/*
 * SHM_SETUP request and response (16 bytes each). The request asks for ring
 * entries and data-area size (0: daemon default); the response gives what
 * was made, and carries three descriptors with SCM_RIGHTS: the region
 * (memfd), the SQ doorbell (client -> vsmd eventfd) and the CQ doorbell
 * (vsmd -> client eventfd).
 */
struct vsm_wire_shm_setup {
	uint32_t entries;
	uint32_t data_size;
	uint32_t flags; /* 0 */
};

/*
 * Keystore (VSM_MSG_KEY). Each tenant has its own namespace of internal keys,
 * addressed like a card's key slots by (usage, index), index 1..max_keys.
 * A slot holds one key; SM2/RSA cards keep a signing and an encryption pair
 * under the same index, which here are (SIGN, i) and (ENC, i).
 */
enum vsm_key_usage {
	VSM_KU_SIGN = 1, /* asymmetric signing key pair */
	VSM_KU_ENC = 2,	 /* asymmetric encryption key pair */
	VSM_KU_KEK = 3,	 /* symmetric key-encryption key */
	VSM_KU__MAX
};

enum vsm_key_type {
	VSM_KT_SM2 = 1,
	VSM_KT_RSA = 2, /* bits: 1024..4096 (generation: 2048, 3072, 4096) */
	VSM_KT_ECDSA_P256 = 3,
	VSM_KT_ECDSA_P384 = 4,
	VSM_KT_ED25519 = 5,
	VSM_KT_SM4 = 16,     /* KEK or key object; 128 bits */
	VSM_KT_AES = 17,     /* KEK or key object; 128, 192, 256 bits */
	VSM_KT_GENERIC = 18, /* key object for HMAC: any length up to 1024 bits */
	VSM_KT__MAX
};

/* Largest label and file name, in bytes (no NUL on the wire). */
#define VSM_KEY_LABEL_MAX 64u
#define VSM_FILE_NAME_MAX 128u

/*
 * Key operations (vsm_wire_key.kop). "a", "b", "c" are the three variable
 * fields. Unused fields must be zero/empty or the request is BADMSG/PROTOCOL.
 * Private keys travel as DER (PKCS#8, or the formats of docs/protocol.md
 * section 7.4), public keys as DER SubjectPublicKeyInfo, KEKs as raw bytes.
 */
enum vsm_kop {
	/* usage, index, type, bits; a = password, b = label. Response: empty. */
	VSM_KOP_GENERATE = 1,
	/* usage, index, type (bits 0: taken from the key); a = password, b = label, c = key. */
	VSM_KOP_IMPORT = 2,
	/* usage, index. Response: empty. */
	VSM_KOP_DELETE = 3,
	/* no fields. Response: n x VSM_WIRE_KEY_INFO_LEN entries, by usage then index. */
	VSM_KOP_LIST = 4,
	/* usage, index. Response: SPKI DER of an asymmetric key. */
	VSM_KOP_PUBLIC = 5,
	/* usage, index; a = old password, b = new password. Response: empty. */
	VSM_KOP_SET_PASSWORD = 6,
	/*
	 * New random session key held by vsmd (a key object), returned wrapped.
	 * type, bits: the new key. Wrapped under (usage, index) = (ENC, i): that
	 * internal public key; usage 0 and a = SPKI DER: that external public
	 * key; (KEK, i) and alg = VSM_ALG_SM4_ECB/AES_ECB/... : that KEK, with
	 * c = IV if the mode takes one. RSA wraps with PKCS#1 v1.5, SM2 gives
	 * the GM/T 0009 DER ciphertext. Response: u64 handle, then the wrapped key.
	 */
	VSM_KOP_SKEY_GENERATE = 7,
	/*
	 * Import a session key as a key object. (ENC, i) with a = password:
	 * unwrap with that internal private key; (KEK, i) and alg (+ c's IV as
	 * above): unwrap with the KEK; usage 0: plain key. type, bits: the key;
	 * b = the wrapped (or plain) key. Response: u64 handle.
	 */
	VSM_KOP_SKEY_IMPORT = 8,
	/* handle. Response: empty. */
	VSM_KOP_SKEY_DESTROY = 9,
	/*
	 * Digital envelope exchange: decrypt b with internal key (ENC, index)
	 * (a = password) and re-encrypt the plaintext under the external public
	 * key c (SPKI DER), same algorithm family. Response: the new ciphertext.
	 */
	VSM_KOP_ENVELOPE = 10,
	/*
	 * SM2 key agreement (GB/T 32918.3). AGREE_INIT, sponsor side: (ENC, i)
	 * with a = password, bits = session key length, type = the agreed
	 * key's type (0: GENERIC), b = sponsor ID.
	 * Response: u64 agreement handle, then the sponsor's static and
	 * ephemeral public keys (65 bytes each, 04||x||y).
	 */
	VSM_KOP_AGREE_INIT = 11,
	/*
	 * AGREE_FINISH, sponsor side: handle = the agreement, b = responder ID,
	 * c = responder static || ephemeral public key (65 + 65). Response: u64
	 * key-object handle. The agreement handle is consumed.
	 */
	VSM_KOP_AGREE_FINISH = 12,
	/*
	 * AGREE_RESPOND, responder side in one step: (ENC, i) with a =
	 * password, bits, type as for AGREE_INIT, b = u32 responder-ID length || responder ID ||
	 * sponsor ID, c = sponsor static || ephemeral public key. Response: u64 key-object handle,
	 * then the responder's static and ephemeral public keys (65 + 65).
	 */
	VSM_KOP_AGREE_RESPOND = 13,
	/* Small per-tenant files. b = name. */
	VSM_KOP_FILE_CREATE = 20, /* bits = size; created zero-filled */
	VSM_KOP_FILE_READ = 21,	  /* index = offset, bits = length. Response: the bytes */
	VSM_KOP_FILE_WRITE = 22,  /* index = offset, c = data */
	VSM_KOP_FILE_DELETE = 23,
	VSM_KOP__MAX
};

struct vsm_wire_key {
	uint32_t kop;	 /* enum vsm_kop */
	uint32_t usage;	 /* enum vsm_key_usage, or 0 */
	uint32_t index;	 /* key slot (or file offset) */
	uint32_t type;	 /* enum vsm_key_type */
	uint32_t bits;	 /* key size (or file size/length) */
	uint32_t alg;	 /* enum vsm_alg where a kop takes one, else 0 */
	uint64_t handle; /* key object or agreement, where a kop takes one */
	const uint8_t *a;
	uint32_t a_len;
	const uint8_t *b;
	uint32_t b_len;
	const uint8_t *c;
	uint32_t c_len;
};

/* One VSM_KOP_LIST entry, as decoded. */
struct vsm_wire_key_info {
	uint32_t usage;
	uint32_t index;
	uint32_t type;
	uint32_t bits;
	uint32_t flags;			   /* VSM_KEYF_* */
	uint64_t created;		   /* unix time, seconds */
	char label[VSM_KEY_LABEL_MAX + 1]; /* NUL-terminated */
};
#define VSM_KEYF_PASSWORD 0x0001u /* private-key use needs a password */

/* Fixed payload sizes (bytes before any variable data). */
#define VSM_WIRE_HELLO_LEN	  8u
#define VSM_WIRE_HELLO_RESP_LEN	  (24u + VSM_ALG__MAX / 8 + 32u)
#define VSM_WIRE_SESSION_LEN	  40u
#define VSM_WIRE_SESSION_RESP_LEN 8u
#define VSM_WIRE_DESTROY_LEN	  8u
#define VSM_WIRE_OP_LEN		  40u
#define VSM_WIRE_RANDOM_LEN	  4u
#define VSM_WIRE_STATUS_RESP_LEN  (32u + 24u + 24u)
#define VSM_WIRE_SHM_SETUP_LEN	  16u
/* kop usage index type bits alg (6 x u32), handle (u64), a_len b_len c_len, u32 reserved */
#define VSM_WIRE_KEY_LEN 48u
/* usage index type bits flags reserved (6 x u32), u64 created, label[64] (NUL-padded) */
#define VSM_WIRE_KEY_INFO_LEN (32u + VSM_KEY_LABEL_MAX)

/*
 * Decoding. Each returns VSM_S_OK, or VSM_S_BADMSG when the bytes are not a
 * valid message of that type (any length that does not add up exactly, an
 * unknown enum value, a reserved bit set).
 */
/* When len >= VSM_WIRE_HDR_LEN, *h is filled even if BADMSG is returned, so
 * the caller can echo h->id in its error response. */
int vsm_wire_decode_hdr(const uint8_t *buf, size_t len, struct vsm_wire_hdr *h);
int vsm_wire_decode_hello(const uint8_t *p, size_t len, struct vsm_wire_hello *m);
int vsm_wire_decode_hello_resp(const uint8_t *p, size_t len, struct vsm_wire_hello_resp *m);
int vsm_wire_decode_session(const uint8_t *p, size_t len, struct vsm_wire_session *m);
int vsm_wire_decode_u64(const uint8_t *p, size_t len, uint64_t *v); /* destroy, session resp */
int vsm_wire_decode_u32(const uint8_t *p, size_t len, uint32_t *v); /* random */
int vsm_wire_decode_op(const uint8_t *p, size_t len, struct vsm_wire_op *m);
/*
 * The same, with the 40-byte fixed part and the variable data apart: the
 * shared-memory transport decodes a private copy of the fixed part while the
 * data stays in place.
 */
int vsm_wire_decode_op_parts(const uint8_t *fixed, const uint8_t *data, size_t data_len,
			     struct vsm_wire_op *m);
int vsm_wire_decode_shm_setup(const uint8_t *p, size_t len, struct vsm_wire_shm_setup *m);
int vsm_wire_decode_status(const uint8_t *p, size_t len, struct vsm_wire_status *m);
int vsm_wire_decode_key(const uint8_t *p, size_t len, struct vsm_wire_key *m);
/* One list entry; p must hold VSM_WIRE_KEY_INFO_LEN bytes. */
int vsm_wire_decode_key_info(const uint8_t *p, size_t len, struct vsm_wire_key_info *m);

/*
 * Encoding. Each writes into buf (capacity cap) and returns the number of
 * bytes written, or 0 if cap is too small. Encoders of variable messages
 * copy the data the struct points at.
 */
size_t vsm_wire_encode_hdr(uint8_t *buf, size_t cap, const struct vsm_wire_hdr *h);
size_t vsm_wire_encode_hello(uint8_t *buf, size_t cap, const struct vsm_wire_hello *m);
size_t vsm_wire_encode_hello_resp(uint8_t *buf, size_t cap, const struct vsm_wire_hello_resp *m);
size_t vsm_wire_encode_session(uint8_t *buf, size_t cap, const struct vsm_wire_session *m);
size_t vsm_wire_encode_u64(uint8_t *buf, size_t cap, uint64_t v);
size_t vsm_wire_encode_u32(uint8_t *buf, size_t cap, uint32_t v);
size_t vsm_wire_encode_op(uint8_t *buf, size_t cap, const struct vsm_wire_op *m);
size_t vsm_wire_encode_status(uint8_t *buf, size_t cap, const struct vsm_wire_status *m);
size_t vsm_wire_encode_shm_setup(uint8_t *buf, size_t cap, const struct vsm_wire_shm_setup *m);
size_t vsm_wire_encode_key(uint8_t *buf, size_t cap, const struct vsm_wire_key *m);
size_t vsm_wire_encode_key_info(uint8_t *buf, size_t cap, const struct vsm_wire_key_info *m);

/* Payload size the encoder needs, for sizing buffers up front. */
size_t vsm_wire_session_size(const struct vsm_wire_session *m);
size_t vsm_wire_op_size(const struct vsm_wire_op *m);
size_t vsm_wire_key_size(const struct vsm_wire_key *m);

/* Names: stable lower-case strings ("ok", "badmsg", "aes-gcm", ...). */
const char *vsm_status_name(int status);
const char *vsm_detail_name(int detail);
const char *vsm_service_name(int service);
const char *vsm_alg_name(int alg);
const char *vsm_op_name(int op);
/* Service an algorithm belongs to, or -1 for an unknown alg. */
int vsm_alg_service(int alg);
/* Reverse of vsm_alg_name; -1 if unknown. */
int vsm_alg_from_name(const char *name);

#ifdef __cplusplus
}
#endif
#endif
