/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A raw shared-memory client for the hostile-tenant tests: the handshake
 * (HELLO with FEAT_SHM, SHM_SETUP, three descriptors by SCM_RIGHTS) and the
 * rings, written from <vsm/shm.h> alone, so a test can break any rule of
 * the ring protocol on purpose. libvsm is not used.
 */
#ifndef VSM_INTEG_SHMRAW_H
#define VSM_INTEG_SHMRAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vsm/shm.h>
#include <vsm/wire.h>

struct vh_shm {
	int sock;
	int memfd, sq_efd, cq_efd;
	uint8_t *base;
	size_t size;
	struct vsm_shm_hdr *hdr;
	struct vsm_shm_sqe *sq;
	struct vsm_shm_cqe *cq;
	uint8_t *data;
	uint32_t entries, mask, data_size;
	uint32_t sq_tail; /* private: what we produced */
	uint32_t cq_head; /* private: what we consumed */
	struct vsm_wire_hello_resp hello;
};

/* HELLO offering features; the response must be OK. */
void vh_shm_hello(int fd, uint32_t features, struct vsm_wire_hello_resp *r);

/*
 * Send SHM_SETUP (id, entries, data_size, flags) and read its response,
 * collecting any descriptors that come with it (at most 3, into fds; *nfds
 * says how many). Returns 1, or 0 on EOF before the response.
 */
int vh_shm_setup_raw(int fd, uint64_t id, uint32_t entries, uint32_t data_size, uint32_t flags,
		     struct vsm_wire_hdr *h, uint8_t *payload, int fds[3], int *nfds);

/* Connect to sock, HELLO with FEAT_SHM, SHM_SETUP, map the region. Fails the test on error. */
void vh_shm_open(struct vh_shm *s, const char *sock, uint32_t entries, uint32_t data_size);
/* Unmap and close everything. */
void vh_shm_close(struct vh_shm *s);

/* Write e at the next SQ slot (not yet visible to vsmd). */
void vh_shm_put(struct vh_shm *s, const struct vsm_shm_sqe *e);
/* Publish sq_tail and ring the SQ doorbell if vsmd sleeps. */
void vh_shm_submit(struct vh_shm *s);
/* Ring the SQ doorbell unconditionally. */
void vh_shm_ring(struct vh_shm *s);

/*
 * Take the next completion within timeout_ms. Returns 1 with *e, 0 if vsmd
 * closed the socket and no completion is left, -ETIMEDOUT otherwise. After
 * reaping it rings vsmd's doorbell if vsmd sleeps (it may wait for CQ room).
 */
int vh_shm_reap(struct vh_shm *s, struct vsm_shm_cqe *e, int timeout_ms);
/* A completion that must arrive with id, status and detail; returns its out_len. */
uint32_t vh_shm_expect(struct vh_shm *s, uint64_t id, int status, int detail);

/* vsmd must close the socket within timeout_ms (no frame may arrive on it). */
void vh_shm_expect_eof(struct vh_shm *s, int timeout_ms);
/* Has vsmd closed the socket? (non-blocking) */
bool vh_shm_closed(struct vh_shm *s);

/*
 * Convenience requests in the data area. Each writes the request payload at
 * req_off, submits it, waits, checks status OK and returns out_len.
 */
uint64_t vh_shm_session(struct vh_shm *s, uint32_t req_off, const struct vsm_wire_session *m);
/* OP request encoded at req_off; returns its length. */
uint32_t vh_shm_put_op(struct vh_shm *s, uint32_t req_off, const struct vsm_wire_op *m);

/* Blocking TCP connection to 127.0.0.1:port; fails the test on error. */
int vh_tcp_connect(unsigned port);

#endif
