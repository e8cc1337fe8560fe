/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libvsm: the native client API of vsm.
 *
 * Return values: 0 is success (VSM_S_OK). A positive value is a status the
 * daemon returned (enum vsm_status in <vsm/wire.h>); vsm_last_detail() gives
 * its detail code. A negative value is a local error, -errno (for example
 * -ECONNREFUSED, -EPROTO for a daemon that broke the protocol, -EINVAL for a
 * bad argument). vsm_strerror() turns any of them into text.
 *
 * Thread safety: a vsm_client is one connection and is NOT thread-safe; use
 * one per thread (they are cheap), or serialise calls on it yourself.
 * Different clients may be used from different threads freely. Session
 * handles belong to the tenant, not the connection, so a handle created on
 * one client may be used on another client of the same tenant.
 */
#ifndef VSM_VSM_H
#define VSM_VSM_H

#include <stddef.h>
#include <stdint.h>
#include <vsm/wire.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where clients connect when given NULL and $VSM_URI is unset. */
#define VSM_DEFAULT_SOCKET     "/run/vsm/vsmd.sock"
#define VSM_DEFAULT_TCP_PORT   7300
#define VSM_DEFAULT_VSOCK_PORT 7300

typedef struct vsm_client vsm_client;

/*
 * uri: "unix:PATH", "tcp:HOST:PORT", "vsock:CID:PORT", or a bare path (taken
 * as unix:). NULL means $VSM_URI, else unix:VSM_DEFAULT_SOCKET. Connects and
 * runs the HELLO exchange.
 * Also "shm:[PATH]" (shared memory set up over vsmd's unix socket) and, inside
 * a QEMU guest, "ivshmem:[PCIADDR]" (an ivshmem-doorbell device served by
 * vsmd; docs/qemu.md).
 */
int vsm_connect(const char *uri, vsm_client **out);
void vsm_close(vsm_client *c);

/* What HELLO returned: limits, supported algorithms, tenant name. */
const struct vsm_wire_hello_resp *vsm_info(const vsm_client *c);
int vsm_alg_supported(const vsm_client *c, int alg);
/* Detail code of the last daemon status returned on this client. */
int vsm_last_detail(const vsm_client *c);
const char *vsm_strerror(int rc);

/* Session parameters. Zero-initialise, then set what applies. */
struct vsm_session_params {
	int service;	 /* enum vsm_service */
	int alg;	 /* enum vsm_alg */
	const void *key; /* raw key; DER (PKCS#1, SEC1, PKCS#8, SPKI) for AKCIPHER */
	size_t key_len;
	int padding;	  /* AKCIPHER: enum vsm_padding */
	int hash;	  /* AKCIPHER: hash alg id; 0 = default (SHA-256, SM3 for SM2) */
	int mgf_hash;	  /* OAEP/PSS MGF1 hash; 0 = same as hash */
	int salt_len;	  /* PSS salt; 0 means digest length, -1 too */
	unsigned tag_len; /* AEAD tag length; 0 = 16 */
	unsigned flags;	  /* VSM_SESSF_* */
	const void *aux;  /* SM2 user id (default "1234567812345678"), OAEP label */
	size_t aux_len;
};

int vsm_session_create(vsm_client *c, const struct vsm_session_params *p, uint64_t *handle);
int vsm_session_destroy(vsm_client *c, uint64_t handle);

/* One data operation. */
struct vsm_op {
	uint64_t session;
	int op;		/* enum vsm_opcode */
	unsigned flags; /* VSM_OPF_* */
	const void *iv;
	size_t iv_len;
	const void *aad;
	size_t aad_len;
	const void *src;
	size_t src_len;
	const void *aux; /* VERIFY: signature / MAC */
	size_t aux_len;
};

/*
 * Synchronous: send, wait, copy the result into out (capacity *out_len on
 * entry, bytes written on return). VERIFY returns 0 when the signature or MAC
 * is good and VSM_S_BADMSG (detail AUTH_FAILED) when it is not; so does an
 * AEAD decrypt whose tag does not match.
 */
int vsm_op_run(vsm_client *c, const struct vsm_op *op, void *out, size_t *out_len);

/* Conveniences on top of vsm_op_run. */
int vsm_encrypt(vsm_client *c, uint64_t s, const void *iv, size_t iv_len, const void *in,
		size_t in_len, void *out, size_t *out_len);
int vsm_decrypt(vsm_client *c, uint64_t s, const void *iv, size_t iv_len, const void *in,
		size_t in_len, void *out, size_t *out_len);
int vsm_digest(vsm_client *c, uint64_t s, const void *in, size_t in_len, void *out,
	       size_t *out_len);
int vsm_sign(vsm_client *c, uint64_t s, const void *in, size_t in_len, void *sig, size_t *sig_len);
int vsm_verify(vsm_client *c, uint64_t s, const void *in, size_t in_len, const void *sig,
	       size_t sig_len);
int vsm_random(vsm_client *c, void *buf, size_t len);
/* Null operation: echoes len bytes; measures the transport alone. */
int vsm_nop(vsm_client *c, const void *buf, size_t len);
int vsm_status(vsm_client *c, struct vsm_wire_status *st);

/*
 * Asynchronous API. vsm_submit queues a request (it is sent by vsm_flush or
 * when the send buffer fills); out must stay valid until its completion is
 * reaped. vsm_poll reaps up to max completions, waiting up to timeout_ms (0:
 * do not wait, -1: forever) for the first one; it flushes first. Completions
 * may arrive in any order; match them by user_data or id.
 *
 * At most vsm_info()->max_inflight requests may be outstanding; vsm_submit
 * returns -EBUSY beyond that (reap some first).
 */
struct vsm_completion {
	uint64_t id;
	void *user_data;
	int status; /* 0 or a positive vsm status; -errno if the connection died */
	int detail;
	size_t out_len;
};

int vsm_submit(vsm_client *c, const struct vsm_op *op, void *out, size_t out_cap, void *user_data,
	       uint64_t *id);
int vsm_submit_nop(vsm_client *c, const void *buf, size_t len, void *out, size_t out_cap,
		   void *user_data, uint64_t *id);
int vsm_flush(vsm_client *c);
int vsm_poll(vsm_client *c, struct vsm_completion *done, int max, int timeout_ms);
/* Requests submitted and not yet reaped. */
unsigned vsm_inflight(const vsm_client *c);
/*
 * A descriptor that becomes readable when responses arrive, for event loops
 * (and OpenSSL's ASYNC_WAIT_CTX): wait for it, then vsm_poll with timeout 0.
 * Stream connections only; -ENOTSUP on shared memory.
 */
int vsm_fd(const vsm_client *c);

/*
 * Keystore (daemon feature VSM_FEAT_KEYSTORE; <vsm/wire.h> documents each
 * kop). vsm_key_call sends one VSM_MSG_KEY request and copies the response
 * payload into out (capacity *out_len on entry, bytes on return; out may be
 * NULL when no payload is expected). -ENOTSUP if the daemon has no keystore.
 */
int vsm_key_call(vsm_client *c, const struct vsm_wire_key *req, void *out, size_t *out_len);

/* Conveniences on top of vsm_key_call. label and pw may be NULL (empty). */
int vsm_key_generate(vsm_client *c, int usage, uint32_t index, int type, unsigned bits,
		     const void *pw, size_t pw_len, const char *label);
int vsm_key_import(vsm_client *c, int usage, uint32_t index, int type, const void *key,
		   size_t key_len, const void *pw, size_t pw_len, const char *label);
int vsm_key_delete(vsm_client *c, int usage, uint32_t index);
/* SPKI DER into der (capacity *der_len on entry). */
int vsm_key_public(vsm_client *c, int usage, uint32_t index, void *der, size_t *der_len);
int vsm_key_set_password(vsm_client *c, int usage, uint32_t index, const void *old_pw,
			 size_t old_len, const void *new_pw, size_t new_len);
/* Up to max entries into out; *n = how many keys the tenant has (may exceed max). */
int vsm_key_list(vsm_client *c, struct vsm_wire_key_info *out, size_t max, size_t *n);
/* First key whose label is exactly label: its usage and index. VSM_S_KEY_REJECTED if none. */
int vsm_key_find(vsm_client *c, const char *label, int *usage, uint32_t *index);

/*
 * A session on a keystore key (VSM_SESSF_INTERNAL): p gives service
 * AKCIPHER, alg, padding, hash, ... as for any session; p->key is ignored.
 * pw: the key's password for private operations, NULL for public-only.
 */
int vsm_session_create_internal(vsm_client *c, const struct vsm_session_params *p, int usage,
				uint32_t index, const void *pw, size_t pw_len, uint64_t *handle);
/* A session on a key object (VSM_SESSF_KEYOBJ); p->key is ignored. */
int vsm_session_create_keyobj(vsm_client *c, const struct vsm_session_params *p, uint64_t keyobj,
			      uint64_t *handle);

/*
 * Zero copy over the shared-memory transport (uri "shm:PATH"). vsm_shm_alloc
 * returns len bytes inside the client's region (64-byte aligned), or NULL on a
 * stream client or when the data area has no room (errno EINVAL or ENOMEM).
 * An operation whose src is the start of such a buffer and whose out lies in
 * the region is carried by offset: nothing is copied, and out == src
 * (in-place) is allowed. Anything else is copied into and out of the region.
 * The bytes must not change while a request that uses them is outstanding;
 * vsm_shm_free of a buffer still in use takes effect when that request
 * completes. Every buffer is gone after vsm_close. docs/libvsm.md has the
 * exact rules.
 */
void *vsm_shm_alloc(vsm_client *c, size_t len);
void vsm_shm_free(vsm_client *c, void *p);

#ifdef __cplusplus
}
#endif
#endif
