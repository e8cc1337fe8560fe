/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One vhost-user device: a QEMU connection, its tenant, the guest memory it
 * shared, its data queues and its sessions. Everything here belongs to the
 * device's thread; only `stop`, `done` and `fd` (for shutdown) are touched
 * from outside.
 */
#ifndef VSM_VHOST_DEVICE_H
#define VSM_VHOST_DEVICE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vsm/wire.h>

#include "daemon/tenant.h"
#include "vhost/chain.h"
#include "vhost/mem.h"
#include "vhost/vhost_user.h"

struct vsm_vhu_vq {
	uint32_t num; /* 0: SET_VRING_NUM not seen */
	struct vsm_vhu_vring_addr addr;
	bool addr_set;
	bool started; /* a kick fd arrived: process (QEMU 7.2 sends no SET_VRING_ENABLE) */
	bool broken;  /* the guest broke the ring: stopped until the next start */
	uint8_t *desc, *avail, *used; /* host pointers, valid for the current memory table */
	uint16_t last_avail;	      /* next avail entry to take */
	uint16_t last_used;	      /* next used entry to fill */
	int kick, call, err;
};

struct vsm_vhu_dev {
	int fd;
	int epfd;
	struct vsm_tenant *t;
	unsigned kick_gen; /* the tenant's, at attach: a change disconnects */
	char name[96];	   /* for logs */
	uint64_t features;
	uint64_t protocol;
	struct vsm_vhu_mem mem;
	struct vsm_vhu_vq vq[VSM_VHU_MAX_QUEUES];
	uint64_t *sess; /* vsm handles by device session id; 0 = free */
	uint32_t n_sess;
	struct vsm_vhu_chain chain;
	struct vsm_vhu_msg msg;
	atomic_bool stop;
	atomic_bool done;
	pthread_t thread;
	struct vsm_vhu_dev *next;
};

/* Thread body: serve the connection until it ends or stop is set; then clean up. */
void *vsm_vhu_dev_run(void *arg);
/* New device for an accepted, attached connection (fd and t are taken). NULL: no memory. */
struct vsm_vhu_dev *vsm_vhu_dev_new(int fd, struct vsm_tenant *t, const char *name);
/* Close the connection's sessions, queues and memory and detach the tenant; returns the
 * number of sessions that were open. The fd stays open until vsm_vhu_dev_free. */
unsigned vsm_vhu_dev_teardown(struct vsm_vhu_dev *d);
void vsm_vhu_dev_free(struct vsm_vhu_dev *d);
/* Check and handle one received message, then close its unused fds; false: disconnect. */
bool vsm_vhu_dev_message(struct vsm_vhu_dev *d, struct vsm_vhu_msg *m);
/* (Re)arm or disarm a queue's kick fd in the device's epoll set. */
void vsm_vhu_dev_watch(struct vsm_vhu_dev *d, unsigned qi, bool on);

/* vring.c */
/* Resolve a queue's ring addresses against the memory table; false: cannot start. */
bool vsm_vhu_vq_map(struct vsm_vhu_dev *d, struct vsm_vhu_vq *vq);
/* Serve every available request, then signal the guest. */
void vsm_vhu_vq_process(struct vsm_vhu_dev *d, unsigned qi);
void vsm_vhu_vq_reset(struct vsm_vhu_vq *vq);
/* The chain walker's view of the device's guest memory. */
uint8_t *vsm_vhu_map_gpa(void *mem, uint64_t addr, uint64_t len, uint64_t *avail);

/* crypto.c */
/*
 * Decode a QEMU 7.2 CREATE_CRYPTO_SESSION payload into a vsm session
 * description; key receives the key bytes (64 at most). 0, or a vsm status.
 * Pure.
 */
int vsm_vhu_qemu_session_decode(const uint8_t *p, size_t len, struct vsm_wire_session *s,
				uint8_t key[VSM_VHU_QEMU_KEY_MAX]);
/* Create a session from a QEMU or vsm payload: the device session id, or -(vsm status). */
int64_t vsm_vhu_session_create(struct vsm_vhu_dev *d, bool vsm_layout, const uint8_t *p,
			       size_t len);
int vsm_vhu_session_close(struct vsm_vhu_dev *d, uint64_t id);
void vsm_vhu_session_close_all(struct vsm_vhu_dev *d);
/*
 * Run the request in d->chain. Returns the used length, or -1 if no status
 * byte could be written (the queue must stop).
 */
int64_t vsm_vhu_crypto_request(struct vsm_vhu_dev *d);

#endif
