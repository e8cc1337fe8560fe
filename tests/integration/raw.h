/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A raw wire client: frames written byte by byte with the wire encoder, so a
 * test can send what libvsm never would (bad magic, lengths that do not add
 * up, requests before HELLO, deep pipelines it does not read).
 */
#ifndef VSM_INTEG_RAW_H
#define VSM_INTEG_RAW_H

#include <stddef.h>
#include <stdint.h>

#include <vsm/wire.h>

/* Blocking unix-socket connection; fails the test on error. */
int vh_raw_connect(const char *sock_path);

/* Header + payload into buf; returns the frame length. */
size_t vh_frame(uint8_t *buf, size_t cap, uint16_t op, uint64_t id, const void *payload,
		uint32_t len);

/* Write all n bytes (bounded wait); fails the test on error. */
void vh_raw_send(int fd, const void *buf, size_t n);
/* Like vh_raw_send, but returns -errno instead of failing (peer may be gone). */
int vh_raw_try_send(int fd, const void *buf, size_t n);

/* HELLO and its response; fails unless OK. */
void vh_raw_hello(int fd);

/*
 * Read one frame within timeout_ms. Returns 1 with the header in *h and the
 * payload in buf (at most cap bytes; a longer payload fails the test), 0 on
 * EOF before any byte of the frame, -ETIMEDOUT if no complete frame arrived.
 * A header that does not decode fails the test.
 */
int vh_raw_recv(int fd, struct vsm_wire_hdr *h, uint8_t *buf, size_t cap, int timeout_ms);

/* Read one frame that must arrive, answer op/id, and carry status/detail. */
void vh_raw_expect(int fd, uint16_t op, uint64_t id, int status, int detail);

/* The peer must close: EOF within timeout_ms, with no further frame. */
void vh_raw_expect_eof(int fd, int timeout_ms);

#endif
