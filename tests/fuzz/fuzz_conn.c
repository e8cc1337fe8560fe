/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the whole request path of a stream connection: framing, every
 * decoder, dispatch, sessions and the software engine, exactly as vsmd runs
 * them, minus the socket. Input byte 0 picks the delivery chunk size and
 * whether a valid HELLO goes first, so the fuzzer reaches past the handshake.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "daemon/conn.h"
#include "daemon/log.h"
#include "engine/engine.h"

static struct vsm_config conf;

static void init_once(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	char err[256];
	vsm_log_level = -1; /* silence: the fuzzer makes every error happen */
	vsm_config_defaults(&conf);
	if (vsm_config_load_string(&conf, "[tenant fuzz]\nmax_msg = 65536\nmax_sessions = 8\n", err,
				   sizeof(err)) ||
	    vsm_config_finish(&conf, err, sizeof(err)) || vsm_router_init())
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init_once();
	if (size < 1)
		return 0;
	/*
	 * A fresh registry per input: the tenant's first session is always
	 * slot 0, generation 1, tag 1, so seeded handles stay valid.
	 */
	if (vsm_tenants_init(&conf))
		abort();
	const char *why;
	struct vsm_tenant *t = vsm_tenant_attach_name("fuzz", &why);
	if (!t)
		abort();
	struct vsm_conn *c = vsm_conn_new(-1, t, "fuzz");
	if (!c)
		abort();
	size_t chunk = (data[0] & 0x3f) + 1;
	if (data[0] & 0x80) {
		uint8_t hello[VSM_WIRE_HDR_LEN + VSM_WIRE_HELLO_LEN];
		struct vsm_wire_hdr h = {.len = VSM_WIRE_HELLO_LEN,
					 .magic = VSM_WIRE_MAGIC,
					 .op = VSM_MSG_HELLO,
					 .id = 1};
		struct vsm_wire_hello m = {1, 1, VSM_FEAT__ALL};
		vsm_wire_encode_hdr(hello, sizeof(hello), &h);
		vsm_wire_encode_hello(hello + VSM_WIRE_HDR_LEN, VSM_WIRE_HELLO_LEN, &m);
		memcpy(c->rx, hello, sizeof(hello));
		c->rx_len = sizeof(hello);
	}
	data++;
	size--;
	while (size) {
		size_t room = vsm_conn_rx_space(c);
		size_t n = size < chunk ? size : chunk;
		if (n > room)
			n = room;
		memcpy(c->rx + c->rx_len, data, n);
		c->rx_len += n;
		data += n;
		size -= n;
		enum vsm_conn_state st;
		do {
			st = vsm_conn_process(c, 16);
			/* Every queued response must be a well-formed frame. */
			size_t pos = c->tx_off;
			while (pos < c->tx_len) {
				struct vsm_wire_hdr h;
				if (vsm_wire_decode_hdr(c->tx + pos, c->tx_len - pos, &h) !=
					    VSM_S_OK ||
				    !(h.flags & VSM_HDR_F_RESPONSE))
					abort();
				pos += VSM_WIRE_HDR_LEN + h.len;
			}
			if (pos != c->tx_len)
				abort();
			vsm_conn_sent(c, c->tx_len - c->tx_off);
		} while (st == VSM_CONN_BUDGET || st == VSM_CONN_INFLIGHT ||
			 st == VSM_CONN_TX_FULL);
		if (st == VSM_CONN_CLOSE || st == VSM_CONN_NOMEM)
			break;
		if (n == 0)
			break;
	}
	vsm_conn_free(c);
	vsm_tenants_fini();
	return 0;
}
