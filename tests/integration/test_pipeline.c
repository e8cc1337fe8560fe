/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pipelining: many requests outstanding on one connection, through the
 * libvsm asynchronous API and through one raw write of many frames.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/hmac.h>

#include "harness.h"
#include "raw.h"
#include "ref.h"

#define NREQ  1000
#define DEPTH 64

struct req {
	uint8_t msg[64];
	size_t msg_len;
	uint8_t iv[12];
	uint8_t out[128];
	uint8_t want[128];
	size_t want_len;
	uint64_t id;
	bool done;
};

static struct req reqs[NREQ];

static int t_async(void)
{
	struct vh_daemon d;
	vh_start(&d, NULL);
	vsm_client *c = vh_connect(d.uri);
	static const uint8_t key[16] = "0123456789abcdef", mkey[20] = "a MAC key, 20 bytes";
	uint64_t hs = vh_session(c, VSM_SVC_HASH, VSM_ALG_SHA256, NULL, 0);
	uint64_t gs = vh_session(c, VSM_SVC_AEAD, VSM_ALG_AES_GCM, key, sizeof(key));
	uint64_t ms = vh_session(c, VSM_SVC_MAC, VSM_ALG_HMAC_SHA256, mkey, sizeof(mkey));

	for (unsigned i = 0; i < NREQ; i++) {
		struct req *r = &reqs[i];
		r->msg_len = (size_t)snprintf((char *)r->msg, sizeof(r->msg), "request %u of %u", i,
					      NREQ);
		memcpy(r->iv, &i, sizeof(i));
		switch (i % 4) {
		case 0:
			vh_sha256(r->msg, r->msg_len, r->want);
			r->want_len = 32;
			break;
		case 1:
			vh_aes_gcm(key, sizeof(key), r->iv, NULL, 0, r->msg, r->msg_len, r->want);
			r->want_len = r->msg_len + 16;
			break;
		case 2: {
			unsigned n = 0;
			VH_CHECK(HMAC(EVP_sha256(), mkey, sizeof(mkey), r->msg, r->msg_len, r->want,
				      &n),
				 "HMAC");
			r->want_len = n;
			break;
		}
		default:
			memcpy(r->want, r->msg, r->msg_len);
			r->want_len = r->msg_len;
			break;
		}
	}

	unsigned submitted = 0, completed = 0, max_seen = 0;
	while (completed < NREQ) {
		while (submitted < NREQ && vsm_inflight(c) < DEPTH) {
			struct req *r = &reqs[submitted];
			void *ud = (void *)(uintptr_t)submitted;
			if (submitted % 4 == 3) {
				VH_OK(vsm_submit_nop(c, r->msg, r->msg_len, r->out, sizeof(r->out),
						     ud, &r->id));
			} else {
				struct vsm_op op = {
					.session = submitted % 4 == 0	? hs
						   : submitted % 4 == 1 ? gs
									: ms,
					.op = submitted % 4 == 1 ? VSM_OP_ENCRYPT : VSM_OP_DIGEST,
					.src = r->msg,
					.src_len = r->msg_len,
				};
				if (submitted % 4 == 1) {
					op.iv = r->iv;
					op.iv_len = sizeof(r->iv);
				}
				VH_OK(vsm_submit(c, &op, r->out, sizeof(r->out), ud, &r->id));
			}
			submitted++;
			if (vsm_inflight(c) > max_seen)
				max_seen = vsm_inflight(c);
		}
		struct vsm_completion done[DEPTH];
		int n = vsm_poll(c, done, DEPTH, 10000);
		VH_CHECK(n > 0, "vsm_poll: %d (%s) with %u in flight", n, vsm_strerror(n),
			 vsm_inflight(c));
		for (int k = 0; k < n; k++) {
			uintptr_t i = (uintptr_t)done[k].user_data;
			VH_CHECK(i < submitted, "user_data %zu was never submitted", (size_t)i);
			struct req *r = &reqs[i];
			VH_CHECK(!r->done, "request %zu completed twice", (size_t)i);
			r->done = true;
			VH_EQ(done[k].id, r->id);
			VH_CHECK(done[k].status == 0, "request %zu: status %d detail %s", (size_t)i,
				 done[k].status, vsm_detail_name(done[k].detail));
			VH_EQ(done[k].out_len, r->want_len);
			VH_MEMEQ(r->out, r->want, r->want_len);
			completed++;
		}
	}
	VH_EQ(vsm_inflight(c), 0);
	VH_EQ(max_seen, DEPTH);
	vsm_close(c);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

/* libvsm never has more than the daemon's max_inflight outstanding. */
static int t_ebusy(void)
{
	struct vh_daemon d;
	struct vh_opts o = {.sections = "[limits]\nmax_inflight = 16\n"};
	vh_start(&d, &o);
	vsm_client *c = vh_connect(d.uri);
	VH_EQ(vsm_info(c)->max_inflight, 16);
	static uint8_t out[17][8];
	for (int i = 0; i < 16; i++)
		VH_OK(vsm_submit_nop(c, "12345678", 8, out[i], 8, NULL, NULL));
	VH_EQ(vsm_submit_nop(c, "12345678", 8, out[16], 8, NULL, NULL), -EBUSY);
	struct vsm_completion done[16];
	int got = 0;
	while (got < 16) {
		int n = vsm_poll(c, done, 16, 10000);
		VH_CHECK(n > 0, "vsm_poll: %d", n);
		for (int k = 0; k < n; k++)
			VH_EQ(done[k].status, 0);
		got += n;
	}
	VH_OK(vsm_submit_nop(c, "12345678", 8, out[16], 8, NULL, NULL));
	VH_EQ(vsm_poll(c, done, 16, 10000), 1);
	VH_MEMEQ(out[16], "12345678", 8);
	vsm_close(c);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

/* 100 NOPs in one write; without OUT_OF_ORDER negotiated they come back in order. */
static int t_raw_burst(void)
{
	struct vh_daemon d;
	vh_start(&d, NULL);
	int fd = vh_raw_connect(d.sock);
	vh_raw_hello(fd);
	static uint8_t burst[100 * (VSM_WIRE_HDR_LEN + 1000)], payload[1000], resp[1000];
	size_t off = 0;
	for (unsigned i = 0; i < 100; i++) {
		uint32_t len = i * 10;
		for (uint32_t k = 0; k < len; k++)
			payload[k] = (uint8_t)(i + k);
		off += vh_frame(burst + off, sizeof(burst) - off, VSM_MSG_NOP, 1000 + i, payload,
				len);
	}
	vh_raw_send(fd, burst, off);
	for (unsigned i = 0; i < 100; i++) {
		struct vsm_wire_hdr h;
		VH_EQ(vh_raw_recv(fd, &h, resp, sizeof(resp), 10000), 1);
		VH_EQ(h.op, VSM_MSG_NOP);
		VH_EQ(h.id, 1000 + i);
		VH_EQ(h.status, VSM_S_OK);
		VH_EQ(h.len, i * 10);
		for (uint32_t k = 0; k < h.len; k++)
			VH_EQ(resp[k], (uint8_t)(i + k));
	}
	close(fd);
	vh_stop(&d);
	vh_cleanup(&d);
	return 0;
}

static const struct vh_case cases[] = {
	{"async", t_async, 0},
	{"ebusy", t_ebusy, 0},
	{"raw-burst", t_raw_burst, 0},
};

int main(int argc, char **argv)
{
	return vh_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
