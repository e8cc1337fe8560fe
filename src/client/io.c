/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stream framing for libvsm: one send buffer, one receive buffer, on a
 * non-blocking socket. Writing a large batch also reads: if both directions'
 * socket buffers fill up (the daemon blocked writing responses we are not
 * reading, we blocked writing requests it is not reading), only reading
 * breaks the cycle.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vsm/wire.h>

#include "client.h"

void vsm_io_kill(struct vsm_client *c, int err)
{
	if (c->dead)
		return;
	c->dead = err;
	c->slen = c->soff = 0;
	c->rhead = c->rlen = 0;
	for (uint32_t i = 0; i < c->nslots; i++) {
		struct vsm_slot *s = &c->slots[i];

		if (s->state != VSM_SLOT_WAIT)
			continue;
		if (c->shm)
			vsm_shm_release(c, s);
		s->state = VSM_SLOT_DONE;
		s->status = err;
		s->detail = VSM_D_NONE;
		s->out_len = 0;
		if (!s->sync)
			c->doneq[(c->done_head + c->done_count++) % c->nslots] = i;
	}
	/* Closing our end is how vsmd learns to tear the region down (ivshmem: no socket). */
	if (c->shm && c->fd >= 0)
		shutdown(c->fd, SHUT_RDWR);
}

static void complete(struct vsm_client *c, struct vsm_slot *s, const struct vsm_wire_hdr *h,
		     const uint8_t *payload)
{
	s->status = h->status;
	s->detail = h->detail;
	s->out_len = h->len;
	if (h->status == VSM_S_NOSPC && h->detail == VSM_D_OUTPUT_SPACE) {
		/* The daemon tells how much room the result needs. */
		uint32_t need = 0;
		if (h->len == 4 && vsm_wire_decode_u32(payload, 4, &need) == VSM_S_OK)
			s->out_len = need;
		else
			s->out_len = 0;
	} else if (s->discard) {
		/* only the length is wanted */
	} else if (h->len > s->out_cap) {
		s->status = VSM_S_NOSPC;
		s->detail = VSM_D_OUTPUT_SPACE;
	} else if (h->len) {
		memcpy(s->out, payload, h->len);
	}
	s->state = VSM_SLOT_DONE;
	if (!s->sync)
		c->doneq[(c->done_head + c->done_count++) % c->nslots] = (uint32_t)(s - c->slots);
}

/* Dispatch every complete frame in rbuf. Returns the number, or -EPROTO. */
static int dispatch(struct vsm_client *c)
{
	int n = 0;

	while (c->rlen >= VSM_WIRE_HDR_LEN) {
		const uint8_t *p = c->rbuf + c->rhead;
		struct vsm_wire_hdr h;
		struct vsm_slot *s;
		size_t total;

		if (vsm_wire_decode_hdr(p, c->rlen, &h) != VSM_S_OK ||
		    !(h.flags & VSM_HDR_F_RESPONSE) || h.len > c->info.max_msg)
			goto broken;
		total = VSM_WIRE_HDR_LEN + (size_t)h.len;
		if (c->rlen < total)
			break;
		s = &c->slots[h.id % c->nslots];
		if (s->state != VSM_SLOT_WAIT || s->id != h.id || s->op != h.op)
			goto broken;
		complete(c, s, &h, p + VSM_WIRE_HDR_LEN);
		c->rhead += total;
		c->rlen -= total;
		n++;
	}
	/* Keep a partial frame at the front so the next read can complete it. */
	if (c->rlen == 0)
		c->rhead = 0;
	else if (c->rhead) {
		memmove(c->rbuf, c->rbuf + c->rhead, c->rlen);
		c->rhead = 0;
	}
	return n;
broken:
	vsm_io_kill(c, -EPROTO);
	return -EPROTO;
}

/* Read whatever is available without blocking and dispatch it. */
static int read_avail(struct vsm_client *c)
{
	int total = 0;

	for (;;) {
		size_t room = c->rcap - c->rhead - c->rlen;
		ssize_t r;
		int n;

		r = recv(c->fd, c->rbuf + c->rhead + c->rlen, room, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return total;
			vsm_io_kill(c, -errno);
			return c->dead;
		}
		if (r == 0) {
			vsm_io_kill(c, -ECONNRESET);
			return c->dead;
		}
		c->rlen += (size_t)r;
		n = dispatch(c);
		if (n < 0)
			return n;
		total += n;
		/* A short read means the socket is drained for now. */
		if ((size_t)r < room)
			return total;
	}
}

static int wait_fd(struct vsm_client *c, short events, int timeout_ms, short *revents)
{
	struct pollfd pfd = {.fd = c->fd, .events = events};
	int r;

	r = poll(&pfd, 1, timeout_ms);
	if (r < 0) {
		*revents = 0;
		return errno == EINTR ? 0 : -errno;
	}
	*revents = r ? pfd.revents : 0;
	return 0;
}

int vsm_io_read(struct vsm_client *c, int timeout_ms)
{
	short rev = 0;
	int rc;

	if (c->dead)
		return c->dead;
	if (c->shm)
		return vsm_shm_read(c, timeout_ms);
	if (timeout_ms != 0) {
		rc = wait_fd(c, POLLIN, timeout_ms, &rev);
		if (rc < 0) {
			vsm_io_kill(c, rc);
			return rc;
		}
		/* Timed out or interrupted: the caller re-computes its deadline. */
		if (!rev)
			return 0;
	}
	return read_avail(c);
}

int vsm_io_flush(struct vsm_client *c, int wait)
{
	if (c->shm)
		return vsm_shm_flush(c);
	while (!c->dead && c->soff < c->slen) {
		ssize_t w = send(c->fd, c->sbuf + c->soff, c->slen - c->soff,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		short rev;
		int rc;

		if (w > 0) {
			c->soff += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			vsm_io_kill(c, -errno);
			break;
		}
		if (!wait)
			return 0;
		rc = wait_fd(c, POLLIN | POLLOUT, -1, &rev);
		if (rc < 0) {
			vsm_io_kill(c, rc);
			break;
		}
		/* POLLHUP/POLLERR: the read reports the reason. */
		if (rev & (POLLIN | POLLHUP | POLLERR))
			read_avail(c);
	}
	if (c->dead)
		return c->dead;
	if (c->soff == c->slen)
		c->soff = c->slen = 0;
	return 0;
}
