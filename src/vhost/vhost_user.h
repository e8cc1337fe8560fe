/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user messages as vsmd receives them: a 12-byte header (u32 request,
 * u32 flags, u32 size), size payload bytes and up to 8 descriptors. The
 * checks here are pure, so the fuzzer and the unit tests run them as the
 * device thread does.
 */
#ifndef VSM_VHOST_USER_H
#define VSM_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhost/mem.h"

enum {
	VHU_GET_FEATURES = 1,
	VHU_SET_FEATURES = 2,
	VHU_SET_OWNER = 3,
	VHU_RESET_OWNER = 4,
	VHU_SET_MEM_TABLE = 5,
	VHU_SET_VRING_NUM = 8,
	VHU_SET_VRING_ADDR = 9,
	VHU_SET_VRING_BASE = 10,
	VHU_GET_VRING_BASE = 11,
	VHU_SET_VRING_KICK = 12,
	VHU_SET_VRING_CALL = 13,
	VHU_SET_VRING_ERR = 14,
	VHU_GET_PROTOCOL_FEATURES = 15,
	VHU_SET_PROTOCOL_FEATURES = 16,
	VHU_GET_QUEUE_NUM = 17,
	VHU_SET_VRING_ENABLE = 18,
	VHU_CREATE_CRYPTO_SESSION = 26,
	VHU_CLOSE_CRYPTO_SESSION = 27,
	VHU_RESET_DEVICE = 34,
	/* vsm's own: a vsm wire SESSION_CREATE payload, for what QEMU cannot forward */
	VSM_VHOST_USER_CREATE_SESSION = 0x5601,
};

#define VHU_FLAG_VERSION    0x1u
#define VHU_FLAG_VERSION_M  0x3u
#define VHU_FLAG_REPLY	    0x4u
#define VHU_FLAG_NEED_REPLY 0x8u

#define VHU_PF_MQ			      0
#define VHU_PF_REPLY_ACK		      3
#define VHU_PF_CRYPTO_SESSION		      7
#define VSM_VHOST_USER_PROTOCOL_F_VSM_SESSION 62
#define VHU_PROTOCOL_FEATURES                                                                      \
	((1ull << VHU_PF_MQ) | (1ull << VHU_PF_REPLY_ACK) | (1ull << VHU_PF_CRYPTO_SESSION) |      \
	 (1ull << VSM_VHOST_USER_PROTOCOL_F_VSM_SESSION))

#define VHU_F_PROTOCOL_FEATURES 30
#define VHU_FEATURES                                                                               \
	((1ull << 32 /* VIRTIO_F_VERSION_1 */) | (1ull << 28 /* VIRTIO_RING_F_INDIRECT_DESC */) |  \
	 (1ull << 29 /* VIRTIO_RING_F_EVENT_IDX */) | (1ull << VHU_F_PROTOCOL_FEATURES))

#define VSM_VHU_MAX_QUEUES  64u
#define VSM_VHU_MAX_FDS	    8u
#define VSM_VHU_HDR_LEN	    12u
#define VSM_VHU_MAX_PAYLOAD 16384u
#define VSM_VHU_MAX_RING    32768u
/*
 * VhostUserCryptoSession. QEMU up to 8.0: i64 session_id, 48-byte sym session
 * info, key[64], auth_key[512]. QEMU 8.1 and later: u64 op_code, a union of
 * the sym part (as before) and the asym part (32-byte info, key[1024]), then
 * i64 session_id at the end. docs/vhost-user.md has the offsets.
 */
#define VSM_VHU_QEMU_SESSION_LEN    632u
#define VSM_VHU_QEMU_SESSION_LEN_V2 1072u
#define VSM_VHU_QEMU_KEY_MAX	    1024u

/* SET_VRING_KICK/CALL/ERR: the u64's low byte is the queue, this bit says "no fd". */
#define VHU_VRING_IDX_MASK 0xffu
#define VHU_VRING_NOFD	   0x100u

struct vsm_vhu_msg {
	uint32_t req;
	uint32_t flags;
	uint32_t size;
	int fds[VSM_VHU_MAX_FDS]; /* -1 once taken */
	unsigned nfds;
	uint8_t payload[VSM_VHU_MAX_PAYLOAD];
};

/* SET_VRING_ADDR */
struct vsm_vhu_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc, used, avail, log;
};

/*
 * Check what can be checked without the device: the version bits, no
 * REPLY flag, the payload size each known request must have and the number
 * of descriptors it may carry. 0, or -1 with a reason. Pure.
 */
int vsm_vhu_msg_check(const struct vsm_vhu_msg *m, const char **why);
/* Little-endian fields of the payload; the caller has checked the size. */
uint64_t vsm_vhu_u64(const uint8_t *p);
uint32_t vsm_vhu_u32(const uint8_t *p);
/* SET_MEM_TABLE payload -> regions (checked as vsm_vhu_memtab_check does). 0 or -1. Pure. */
int vsm_vhu_msg_memtab(const uint8_t *p, uint32_t size, struct vsm_vhu_memreg *r, unsigned *n);
void vsm_vhu_msg_vring_addr(const uint8_t *p, struct vsm_vhu_vring_addr *a);

struct vsm_vhu_dev;
/* Handle one checked message; -1: the peer broke the protocol, disconnect. */
int vsm_vhu_handle(struct vsm_vhu_dev *d, struct vsm_vhu_msg *m);

#endif
