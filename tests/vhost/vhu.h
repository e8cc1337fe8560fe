/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A test driver that plays QEMU and the guest against vsmd's vhost-user
 * back-end: a memfd "guest memory" split into two regions, split virtqueues
 * laid out in it, and the vhost-user master side of the socket.
 *
 * Everything is deliberately low level: the hostile tests need to write any
 * descriptor and send any message, so the helpers build the well-formed case
 * and expose the pieces for the rest. Failures go through vh_fail (harness.h)
 * unless a function documents a return code.
 */
#ifndef VSM_VHU_H
#define VSM_VHU_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vsm/wire.h>

#include "../integration/harness.h"

/* vhost-user requests (QEMU 7.2 hw/virtio/vhost-user.c). */
enum {
	VHU_GET_FEATURES = 1,
	VHU_SET_FEATURES = 2,
	VHU_SET_OWNER = 3,
	VHU_SET_MEM_TABLE = 5,
	VHU_SET_VRING_NUM = 8,
	VHU_SET_VRING_ADDR = 9,
	VHU_SET_VRING_BASE = 10,
	VHU_GET_VRING_BASE = 11,
	VHU_SET_VRING_KICK = 12,
	VHU_SET_VRING_CALL = 13,
	VHU_GET_PROTOCOL_FEATURES = 15,
	VHU_SET_PROTOCOL_FEATURES = 16,
	VHU_GET_QUEUE_NUM = 17,
	VHU_CREATE_CRYPTO_SESSION = 26,
	VHU_CLOSE_CRYPTO_SESSION = 27,
	/* vsm's extension (docs/vhost-user.md): payload = wire SESSION_CREATE */
	VHU_VSM_CREATE_SESSION = 0x5601,
};

#define VHU_FLAG_VERSION    0x1u
#define VHU_FLAG_REPLY	    0x4u
#define VHU_FLAG_NEED_REPLY 0x8u
#define VHU_VRING_NOFD	    0x100u
#define VHU_HDR_LEN	    12u

#define VHU_F_PROTOCOL_FEATURES 30
#define VHU_PF_MQ		0
#define VHU_PF_REPLY_ACK	3
#define VHU_PF_CRYPTO_SESSION	7
#define VHU_PF_VSM_SESSION	62

/* QEMU 7.2's VhostUserCryptoSession. */
#define VHU_CRYPTO_SESSION_LEN 632u

/*
 * Guest memory: one memfd of VHU_MEM_SIZE bytes, mapped here once. Region 0
 * is its first half at GPA 0, region 1 the second half at VHU_R1_GPA; the
 * gap between them is unmapped guest-physical space.
 */
#define VHU_REGION_SIZE (2u << 20)
#define VHU_MEM_SIZE	(2u * VHU_REGION_SIZE)
#define VHU_R0_GPA	0x0ull
#define VHU_R1_GPA	0x40000000ull

#define VHU_MAX_VQ 8
/*
 * Per queue: ring structures at the start of region 0 (VHU_RING_AREA each,
 * rings of up to 256 entries), and a scratch arena for requests after
 * VHU_ARENA_BASE in region idx % 2.
 */
#define VHU_RING_AREA  (16u << 10)
#define VHU_ARENA_BASE (VHU_MAX_VQ * VHU_RING_AREA)
#define VHU_ARENA_SIZE (448u << 10)

struct vhu_dev;

struct vhu_vq {
	struct vhu_dev *dev;
	unsigned idx;
	uint16_t num;
	bool ready;
	uint64_t desc, avail, used;	       /* GPAs */
	int kick, call;			       /* eventfds (our ends) */
	uint16_t avail_idx;		       /* next avail->idx we publish */
	uint16_t used_seen;		       /* used->idx we have consumed up to */
	uint16_t next_desc;		       /* descriptor allocation cursor */
	unsigned calls;			       /* call-fd signals observed */
	uint64_t arena, arena_end, arena_next; /* GPAs */
	uint8_t *snap; /* guest memory as it was before the request (vhu_run_raw) */
};

struct vhu_dev {
	int sock;
	int memfd;
	uint8_t *mem; /* VHU_MEM_SIZE bytes */
	uint64_t features, protocol_features, queue_num;
	/* Request checks compare only this queue's arena and rings (threads share the memory). */
	bool shared;
	struct vhu_vq vq[VHU_MAX_VQ];
};

/* ---- guest memory ---- */

/* Host pointer for [gpa, gpa+len) inside one region; fails the test otherwise. */
uint8_t *vhu_ptr(struct vhu_dev *d, uint64_t gpa, size_t len);
/* Allocate len bytes (16-aligned) from q's arena, filled with a canary pattern. */
uint64_t vhu_alloc(struct vhu_vq *q, size_t len);
void vhu_arena_reset(struct vhu_vq *q);
/* Copy bytes into guest memory. */
uint64_t vhu_put(struct vhu_vq *q, const void *p, size_t len);
/* Userspace address QEMU would send for a GPA (SET_VRING_ADDR, SET_MEM_TABLE). */
uint64_t vhu_uva(struct vhu_dev *d, uint64_t gpa);

/* ---- the vhost-user socket ---- */

/* Set up guest memory and connect to path (retrying while vsmd starts). */
void vhu_open(struct vhu_dev *d, const char *path);
/* Close the socket, the eventfds and the memory. */
void vhu_close(struct vhu_dev *d);
/* Close only the socket (a QEMU that went away); memory stays readable. */
void vhu_disconnect(struct vhu_dev *d);

/* Send one message; returns 0 or -errno (the peer may have closed). */
int vhu_send(struct vhu_dev *d, uint32_t req, uint32_t flags, const void *payload, size_t size,
	     const int *fds, size_t nfds);
/*
 * Receive one reply: returns its payload size, copies up to cap bytes into
 * buf, or -1 on EOF/timeout. *req_out gets the request field.
 */
long vhu_recv(struct vhu_dev *d, uint32_t *req_out, uint32_t *flags_out, void *buf, size_t cap,
	      unsigned timeout_ms);
/* A message with a u64 reply (GET_FEATURES and friends); fails the test on no reply. */
uint64_t vhu_get_u64(struct vhu_dev *d, uint32_t req);
/* Does the back-end still answer GET_FEATURES on this connection? */
bool vhu_alive(struct vhu_dev *d);
/* Did the back-end close the connection (EOF within timeout_ms)? */
bool vhu_closed_by_peer(struct vhu_dev *d, unsigned timeout_ms);

/*
 * QEMU 7.2's start-up: GET_FEATURES, SET_OWNER, GET_PROTOCOL_FEATURES,
 * SET_PROTOCOL_FEATURES(pf), GET_QUEUE_NUM, SET_FEATURES(1 << 30). Checks
 * what the spec says the back-end offers.
 */
void vhu_handshake(struct vhu_dev *d, uint64_t pf);
/* The protocol features QEMU 7.2 plus the test driver want. */
uint64_t vhu_default_pf(void);
/* SET_MEM_TABLE with both regions. */
void vhu_set_mem_table(struct vhu_dev *d);
/* Lay out queue idx (num entries) and send NUM, ADDR, BASE(base), KICK, CALL. */
void vhu_vq_setup(struct vhu_dev *d, unsigned idx, uint16_t num, uint16_t base);
/* The same; -1 if the back-end has closed the connection meanwhile. */
int vhu_vq_setup_try(struct vhu_dev *d, unsigned idx, uint16_t num, uint16_t base);
/* GET_VRING_BASE: stops the queue; returns the back-end's last_avail_idx. */
uint32_t vhu_get_vring_base(struct vhu_dev *d, unsigned idx);
/* Everything above for nq queues of num entries. */
void vhu_start(struct vhu_dev *d, const char *path, unsigned nq, uint16_t num);

/* CREATE_CRYPTO_SESSION (26), cipher op_type; returns session_id (negative = refused). */
int64_t vhu_sym_session(struct vhu_dev *d, uint32_t virtio_alg, const void *key, uint32_t key_len,
			uint32_t direction);
/* The same with a caller-built 632-byte payload. */
int64_t vhu_sym_session_raw(struct vhu_dev *d, const uint8_t *payload);
/* VSM_CREATE_SESSION (0x5601); returns session_id or -(vsm status). */
int64_t vhu_vsm_session(struct vhu_dev *d, const struct vsm_wire_session *s);
/* CLOSE_CRYPTO_SESSION (27), no reply asked. */
void vhu_close_session(struct vhu_dev *d, int64_t id);

/* ---- virtqueues ---- */

#define VHU_D_NEXT     1u
#define VHU_D_WRITE    2u
#define VHU_D_INDIRECT 4u

struct vhu_seg {
	uint64_t addr;
	uint32_t len;
	uint16_t flags; /* VHU_D_WRITE / VHU_D_INDIRECT; NEXT is added */
};

/* Write descriptor i of the ring (or of a table at GPA table). */
void vhu_desc_write(struct vhu_dev *d, uint64_t table, uint16_t i, uint64_t addr, uint32_t len,
		    uint16_t flags, uint16_t next);
/* Lay segs out as a chain of ring descriptors; returns the head. */
uint16_t vhu_chain(struct vhu_vq *q, const struct vhu_seg *segs, size_t n);
/* Lay segs out as an indirect table in the arena behind one ring descriptor. */
uint16_t vhu_chain_indirect(struct vhu_vq *q, const struct vhu_seg *segs, size_t n);
/* Put head on the avail ring (with used_event = what we have seen) and kick. */
void vhu_publish(struct vhu_vq *q, uint16_t head);
void vhu_kick(struct vhu_vq *q);
struct vhu_range {
	uint64_t gpa;
	size_t len;
};

/*
 * Publish head and wait up to timeout_ms for its completion: 0 (the used
 * entry must name head; *used_len gets its length) or -1 (none: a broken
 * queue). Either way guest memory must be unchanged except the ok ranges
 * and q's used ring; a hand-built chain is laid out before the call.
 */
int vhu_run_raw(struct vhu_vq *q, uint16_t head, const struct vhu_range *ok, size_t nok,
		unsigned timeout_ms, uint32_t *used_len);

/*
 * Wait for the next used entry: 0 with *id and *len, or -1 after
 * timeout_ms (a broken or stopped queue).
 */
int vhu_wait_used(struct vhu_vq *q, unsigned timeout_ms, uint32_t *id, uint32_t *len);

/* ---- virtio-crypto requests ---- */

/*
 * One data-queue request: the 72-byte virtio_crypto_op_data_req header,
 * readable pieces after it, a writable dst buffer of out_cap bytes and the
 * status byte. vc_run lays it out, runs it and checks that nothing in guest
 * memory changed but dst[0..dst_len), the status byte and the used ring.
 */
struct vc_req {
	uint8_t hdr[72];
	uint32_t hdr_len; /* 0: 72 (shorter ones are hostile) */
	const void *in[4];
	uint32_t in_len[4];
	unsigned nin;
	uint32_t out_cap;   /* dst descriptor size; 0: no dst descriptor */
	uint32_t dst_len;   /* bytes of dst the device may write (the request's dst_data_len) */
	bool status_inline; /* no status descriptor: status is dst's last byte */
	bool indirect;
	uint32_t split; /* nonzero: no descriptor longer than this */
};

struct vc_res {
	uint8_t status;
	uint32_t used_len;
	uint8_t out[4096]; /* the dst buffer after the request (first out_cap bytes) */
};

/*
 * Run r on q and fill res; fails the test if no completion arrives. Queue 0's
 * buffers are in region 0, queue 1's in region 1.
 */
void vc_run(struct vhu_vq *q, const struct vc_req *r, struct vc_res *res);

/* Header builders (little-endian; the virtio structs of linux/virtio_crypto.h). */
void vc_hdr(struct vc_req *r, uint32_t opcode, uint32_t algo, uint64_t session);
void vc_cipher(struct vc_req *r, uint32_t opcode, uint64_t session, const void *iv, uint32_t iv_len,
	       const void *src, uint32_t src_len, uint32_t dst_len);
void vc_hash(struct vc_req *r, uint32_t opcode, uint64_t session, const void *src, uint32_t src_len,
	     uint32_t result_len);
void vc_aead(struct vc_req *r, uint32_t opcode, uint64_t session, const void *iv, uint32_t iv_len,
	     const void *aad, uint32_t aad_len, const void *src, uint32_t src_len,
	     uint32_t dst_len);
/* VERIFY: src = sig (src_len) || digest/message (dst_len), all readable, no dst. */
void vc_akcipher(struct vc_req *r, uint32_t opcode, uint64_t session, const void *src,
		 uint32_t src_len, const void *src2, uint32_t dst_len);

/* Little-endian stores and loads. */
void vhu_le16(uint8_t *p, uint16_t v);
void vhu_le32(uint8_t *p, uint32_t v);
void vhu_le64(uint8_t *p, uint64_t v);
uint16_t vhu_ld16(const uint8_t *p);
uint32_t vhu_ld32(const uint8_t *p);
uint64_t vhu_ld64(const uint8_t *p);

/* ---- vsmd with a vhost-user tenant ---- */

struct vhu_env {
	struct vh_daemon d;
	char dir[64]; /* holds vhost.sock (vh_start's directory is only known after it starts) */
	char sock[108];
};

/* Start vsmd with [tenant vm1] vhost_user_socket = <dir>/vhost.sock (plus extra). */
void vhu_env_start(struct vhu_env *e, const char *extra_tenant_keys);
/* Stop vsmd (clean exit, clean log required) and remove everything. */
void vhu_env_stop(struct vhu_env *e);

/* A fresh device does one AES-CBC encryption correctly: vsmd still serves. */
void vhu_check_serves(const char *path);

#endif
