/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the daemon core without sockets: configuration, the session
 * table's handle rules, and the connection framing state machine.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/config.h"
#include "daemon/conn.h"
#include "daemon/log.h"
#include "engine/engine.h"
#include "transport/stream.h"

static struct vsm_config conf;

/* ---- configuration ---- */

static void config_defaults_valid(void **state)
{
	struct vsm_config c;
	char err[256];
	vsm_config_defaults(&c);
	assert_int_equal(vsm_config_finish(&c, err, sizeof(err)), 0);
	assert_string_equal(c.unix_socket, "/run/vsm/vsmd.sock");
	assert_int_equal(c.limits.max_msg, 1024 * 1024);
	assert_true(c.auto_tenants);
	vsm_config_free(&c);
}

static void config_tenants_and_limits(void **state)
{
	struct vsm_config c;
	char err[256];
	vsm_config_defaults(&c);
	const char *text = "[vsmd]\nworkers = 3\nauto_tenants = no\n"
			   "[limits]\nmax_sessions = 10\nmax_msg = 8192\n"
			   "[tenant alice]\nuids = 1000, 1001\nmax_sessions = 2\n"
			   "[tenant vm-7]\nvsock_cids = 7\n";
	assert_int_equal(vsm_config_load_string(&c, text, err, sizeof(err)), 0);
	assert_int_equal(vsm_config_finish(&c, err, sizeof(err)), 0);
	assert_int_equal(c.workers, 3);
	assert_false(c.auto_tenants);
	assert_int_equal(c.n_tenants, 2);
	assert_string_equal(c.tenants[0].name, "alice");
	assert_int_equal(c.tenants[0].n_uids, 2);
	assert_int_equal(c.tenants[0].uids[1], 1001);
	assert_int_equal(c.tenants[0].limits.max_sessions, 2);
	/* Unset per-tenant limits inherit [limits]. */
	assert_int_equal(c.tenants[0].limits.max_msg, 8192);
	assert_int_equal(c.tenants[1].limits.max_sessions, 10);
	assert_int_equal(c.tenants[1].cids[0], 7);
	vsm_config_free(&c);
}

static void expect_config_error(const char *text, const char *needle)
{
	struct vsm_config c;
	char err[256] = "";
	vsm_config_defaults(&c);
	int r = vsm_config_load_string(&c, text, err, sizeof(err));
	if (r == 0)
		r = vsm_config_finish(&c, err, sizeof(err));
	assert_int_equal(r, -1);
	if (!strstr(err, needle))
		fail_msg("error '%s' does not mention '%s'", err, needle);
	vsm_config_free(&c);
}

static void config_errors_are_clear(void **state)
{
	expect_config_error("[vsmd]\nworkerz = 1\n", "unknown key 'workerz'");
	expect_config_error("[vsmd]\nworkers = lots\n", "workers must be");
	expect_config_error("[vsmd]\nworkers = -1\n", "workers must be");
	expect_config_error("[limits]\nmax_msg = 10\n", "bad value '10' for max_msg");
	expect_config_error("[nope]\nx = 1\n", "unknown section [nope]");
	expect_config_error("[tenant bad/name]\nuids = 1\n", "tenant name");
	expect_config_error("[tenant a]\nuids = 5\n[tenant b]\nuids = 5\n", "uid 5 is in both");
	expect_config_error("[vsmd]\nauto_tenants = maybe\n", "auto_tenants");
	expect_config_error("[vsmd]\nunix_socket =\n", "no listener");
	/* One socket path, two listeners: caught before any bind. */
	expect_config_error("[tenant a]\nvhost_user_socket = /tmp/x\n[tenant b]\n"
			    "ivshmem_socket = /tmp/x\n",
			    "is also the ivshmem_socket of [tenant b]");
	expect_config_error("[tenant a]\nvhost_user_socket = /tmp/y\n[tenant b]\n"
			    "vhost_user_socket = /tmp/y\n",
			    "vhost_user_socket /tmp/y is in both");
	expect_config_error(
		"[tenant a]\nivshmem_socket = /tmp/v\n[tenant b]\nivshmem_socket = /tmp/v\n",
		"ivshmem_socket /tmp/v is in both [tenant a] and [tenant b]");
	expect_config_error(
		"[vsmd]\nunix_socket = /tmp/z\n[tenant a]\nvhost_user_socket = /tmp/z\n",
		"is also [vsmd] unix_socket");
	expect_config_error("[tenant a]\nivshmem_socket = /tmp/w\nvhost_user_socket = /tmp/w\n",
			    "is also its vhost_user_socket");
	expect_config_error("[keystore]\nkdf_iterations = 5\n", "kdf_iterations must be");
	expect_config_error("[keystore]\nbogus = 1\n", "unknown key 'bogus' in [keystore]");
	/* The line number of the offending line is reported. */
	expect_config_error("[vsmd]\nworkers = 1\nbogus = 2\n", ":3:");
}

static void hostport_split(void **state)
{
	char h[64], p[16];
	assert_int_equal(vsm_hostport_split("127.0.0.1:7300", h, sizeof(h), p, sizeof(p)), 0);
	assert_string_equal(h, "127.0.0.1");
	assert_string_equal(p, "7300");
	assert_int_equal(vsm_hostport_split("[::1]:9", h, sizeof(h), p, sizeof(p)), 0);
	assert_string_equal(h, "::1");
	assert_int_equal(vsm_hostport_split(":7300", h, sizeof(h), p, sizeof(p)), 0);
	assert_string_equal(h, "");
	assert_int_equal(vsm_hostport_split("::1:9", h, sizeof(h), p, sizeof(p)), -1);
	assert_int_equal(vsm_hostport_split("host", h, sizeof(h), p, sizeof(p)), -1);
	assert_int_equal(vsm_hostport_split("host:", h, sizeof(h), p, sizeof(p)), -1);
	assert_int_equal(vsm_hostport_split("host:12x", h, sizeof(h), p, sizeof(p)), -1);
	assert_int_equal(vsm_hostport_split("[::1:9", h, sizeof(h), p, sizeof(p)), -1);
}

/* ---- sessions ---- */

static void *dummy_session(void)
{
	const struct vsm_engine *e = vsm_router_get(VSM_ALG_SHA256);
	assert_non_null(e);
	struct vsm_wire_session ws = {.service = VSM_SVC_HASH, .alg = VSM_ALG_SHA256};
	void *es = NULL;
	int detail = 0;
	assert_int_equal(e->session_new(&ws, &es, &detail), VSM_S_OK);
	return es;
}

static void session_handles(void **state)
{
	const char *why;
	struct vsm_tenant *a = vsm_tenant_attach_name("handles-a", &why);
	struct vsm_tenant *b = vsm_tenant_attach_name("handles-b", &why);
	assert_non_null(a);
	assert_non_null(b);
	const struct vsm_engine *e = vsm_router_get(VSM_ALG_SHA256);
	uint64_t ha, hb;
	int detail;
	assert_int_equal(
		vsm_session_add(a, e, dummy_session(), VSM_SVC_HASH, VSM_ALG_SHA256, &ha, &detail),
		VSM_S_OK);
	assert_int_equal(
		vsm_session_add(b, e, dummy_session(), VSM_SVC_HASH, VSM_ALG_SHA256, &hb, &detail),
		VSM_S_OK);
	assert_true(ha != 0 && hb != 0);
	/* Same slot and generation in both tables, yet each handle works only at home. */
	assert_int_equal(ha & 0xffffffffffffull, hb & 0xffffffffffffull);
	struct vsm_session *s = vsm_session_get(a, ha);
	assert_non_null(s);
	vsm_session_put(s);
	assert_null(vsm_session_get(b, ha));
	assert_null(vsm_session_get(a, hb));
	assert_int_equal(vsm_session_remove(b, ha), VSM_S_INVSESS);
	/* A destroyed handle is stale forever, even after its slot is reused. */
	assert_int_equal(vsm_session_remove(a, ha), VSM_S_OK);
	assert_null(vsm_session_get(a, ha));
	assert_int_equal(vsm_session_remove(a, ha), VSM_S_INVSESS);
	uint64_t ha2;
	assert_int_equal(
		vsm_session_add(a, e, dummy_session(), VSM_SVC_HASH, VSM_ALG_SHA256, &ha2, &detail),
		VSM_S_OK);
	assert_true(ha2 != ha);
	assert_int_equal(ha2 & 0xffffff, ha & 0xffffff); /* same slot, new generation */
	assert_null(vsm_session_get(a, ha));
	assert_null(vsm_session_get(a, 0));
	vsm_tenant_detach(a); /* last connection: sessions go */
	vsm_tenant_detach(b);
	assert_null(vsm_session_get(a, ha2));
}

static void session_limit(void **state)
{
	const char *why;
	struct vsm_tenant *t = vsm_tenant_attach_name("limited", &why); /* max_sessions 3 */
	assert_non_null(t);
	const struct vsm_engine *e = vsm_router_get(VSM_ALG_SHA256);
	uint64_t h[4];
	int detail = 0;
	for (int i = 0; i < 3; i++)
		assert_int_equal(vsm_session_add(t, e, dummy_session(), VSM_SVC_HASH,
						 VSM_ALG_SHA256, &h[i], &detail),
				 VSM_S_OK);
	void *es = dummy_session();
	assert_int_equal(vsm_session_add(t, e, es, VSM_SVC_HASH, VSM_ALG_SHA256, &h[3], &detail),
			 VSM_S_NOSPC);
	assert_int_equal(detail, VSM_D_SESSION_LIMIT);
	e->session_free(es);
	assert_int_equal(vsm_session_remove(t, h[1]), VSM_S_OK);
	assert_int_equal(vsm_session_add(t, e, dummy_session(), VSM_SVC_HASH, VSM_ALG_SHA256, &h[3],
					 &detail),
			 VSM_S_OK);
	vsm_tenant_detach(t);
}

/* ---- connection framing ---- */

static struct vsm_conn *new_conn(const char *tenant)
{
	const char *why;
	struct vsm_tenant *t = vsm_tenant_attach_name(tenant, &why);
	assert_non_null(t);
	struct vsm_conn *c = vsm_conn_new(-1, t, "test");
	assert_non_null(c);
	return c;
}

static void feed(struct vsm_conn *c, const void *p, size_t n)
{
	while (n) {
		size_t room = vsm_conn_rx_space(c);
		assert_true(room > 0);
		size_t k = n < room ? n : room;
		memcpy(c->rx + c->rx_len, p, k);
		c->rx_len += k;
		p = (const uint8_t *)p + k;
		n -= k;
	}
}

static size_t put_frame(uint8_t *buf, uint16_t op, uint64_t id, const void *payload, size_t len)
{
	struct vsm_wire_hdr h = {.len = (uint32_t)len, .magic = VSM_WIRE_MAGIC, .op = op, .id = id};
	assert_int_equal(vsm_wire_encode_hdr(buf, VSM_WIRE_HDR_LEN, &h), VSM_WIRE_HDR_LEN);
	if (len)
		memcpy(buf + VSM_WIRE_HDR_LEN, payload, len);
	return VSM_WIRE_HDR_LEN + len;
}

static void send_hello(struct vsm_conn *c)
{
	uint8_t buf[64], pl[16];
	struct vsm_wire_hello hm = {1, 1, VSM_FEAT__ALL};
	size_t pn = vsm_wire_encode_hello(pl, sizeof(pl), &hm);
	feed(c, buf, put_frame(buf, VSM_MSG_HELLO, 1, pl, pn));
}

/* Pop the next response from tx. */
static void next_response(struct vsm_conn *c, size_t *pos, struct vsm_wire_hdr *h)
{
	assert_true(c->tx_len - *pos >= VSM_WIRE_HDR_LEN);
	assert_int_equal(vsm_wire_decode_hdr(c->tx + *pos, c->tx_len - *pos, h), VSM_S_OK);
	assert_true(h->flags & VSM_HDR_F_RESPONSE);
	*pos += VSM_WIRE_HDR_LEN + h->len;
	assert_true(*pos <= c->tx_len);
}

static void conn_pipelined_and_split(void **state)
{
	struct vsm_conn *c = new_conn("framing");
	send_hello(c);
	uint8_t buf[8192], data[100];
	memset(data, 0x5a, sizeof(data));
	size_t n = 0;
	for (int i = 0; i < 5; i++)
		n += put_frame(buf + n, VSM_MSG_NOP, 100 + i, data, sizeof(data));
	/* Deliver the pipeline one byte at a time: framing must not care. */
	for (size_t i = 0; i < n; i++) {
		feed(c, buf + i, 1);
		assert_int_not_equal(vsm_conn_process(c, 64), VSM_CONN_CLOSE);
	}
	size_t pos = 0;
	struct vsm_wire_hdr h;
	next_response(c, &pos, &h);
	assert_int_equal(h.op, VSM_MSG_HELLO);
	assert_int_equal(h.status, VSM_S_OK);
	for (int i = 0; i < 5; i++) {
		next_response(c, &pos, &h);
		assert_int_equal(h.id, 100 + i);
		assert_int_equal(h.status, VSM_S_OK);
		assert_int_equal(h.len, sizeof(data));
		assert_memory_equal(c->tx + pos - sizeof(data), data, sizeof(data));
	}
	assert_int_equal(pos, c->tx_len);
	assert_int_equal(c->rx_len, 0);
	vsm_conn_free(c);
}

static void conn_budget_yields(void **state)
{
	struct vsm_conn *c = new_conn("framing");
	send_hello(c);
	uint8_t buf[VSM_WIRE_HDR_LEN * 10];
	size_t n = 0;
	for (int i = 0; i < 10; i++)
		n += put_frame(buf + n, VSM_MSG_NOP, i, NULL, 0);
	feed(c, buf, n);
	assert_int_equal(vsm_conn_process(c, 4), VSM_CONN_BUDGET);
	assert_int_equal(c->unsent, 4);
	assert_int_equal(vsm_conn_process(c, 100), VSM_CONN_IDLE);
	assert_int_equal(c->unsent, 11);
	assert_int_equal(atomic_load(&c->t->inflight), 11);
	vsm_conn_sent(c, c->tx_len);
	assert_int_equal(atomic_load(&c->t->inflight), 0);
	vsm_conn_free(c);
}

static void conn_request_before_hello_closes(void **state)
{
	struct vsm_conn *c = new_conn("framing");
	uint8_t buf[64];
	feed(c, buf, put_frame(buf, VSM_MSG_NOP, 9, NULL, 0));
	assert_int_equal(vsm_conn_process(c, 8), VSM_CONN_CLOSE);
	size_t pos = 0;
	struct vsm_wire_hdr h;
	next_response(c, &pos, &h);
	assert_int_equal(h.id, 9);
	assert_int_equal(h.status, VSM_S_BADMSG);
	assert_int_equal(h.detail, VSM_D_NO_HELLO);
	vsm_conn_free(c);
}

static void conn_bad_magic_closes(void **state)
{
	struct vsm_conn *c = new_conn("framing");
	send_hello(c);
	uint8_t buf[64];
	size_t n = put_frame(buf, VSM_MSG_NOP, 77, NULL, 0);
	buf[4] ^= 0xff; /* magic */
	feed(c, buf, n);
	/* Whatever follows a broken frame is never interpreted. */
	feed(c, buf, put_frame(buf, VSM_MSG_NOP, 78, NULL, 0));
	assert_int_equal(vsm_conn_process(c, 8), VSM_CONN_CLOSE);
	size_t pos = 0;
	struct vsm_wire_hdr h;
	next_response(c, &pos, &h); /* hello */
	next_response(c, &pos, &h);
	assert_int_equal(h.status, VSM_S_BADMSG);
	assert_int_equal(h.detail, VSM_D_PROTOCOL);
	assert_int_equal(h.id, 77);
	assert_int_equal(pos, c->tx_len);
	vsm_conn_free(c);
}

static void conn_oversize_discarded(void **state)
{
	/* Tenant "small" has max_msg 4096. */
	struct vsm_conn *c = new_conn("small");
	send_hello(c);
	static uint8_t buf[3 * 8192];
	static uint8_t big[5000];
	memset(big, 0xee, sizeof(big));
	size_t n = put_frame(buf, VSM_MSG_NOP, 1, big, sizeof(big));
	n += put_frame(buf + n, VSM_MSG_NOP, 2, "ok", 2);
	/* Oversize payload arrives in pieces; the stream stays in sync. */
	for (size_t i = 0; i < n; i += 700) {
		feed(c, buf + i, n - i < 700 ? n - i : 700);
		assert_int_not_equal(vsm_conn_process(c, 64), VSM_CONN_CLOSE);
	}
	size_t pos = 0;
	struct vsm_wire_hdr h;
	next_response(c, &pos, &h); /* hello */
	next_response(c, &pos, &h);
	assert_int_equal(h.id, 1);
	assert_int_equal(h.status, VSM_S_NOSPC);
	assert_int_equal(h.detail, VSM_D_TOO_BIG);
	next_response(c, &pos, &h);
	assert_int_equal(h.id, 2);
	assert_int_equal(h.status, VSM_S_OK);
	assert_int_equal(h.len, 2);
	vsm_conn_free(c);
}

static void conn_inflight_limit_holds_back(void **state)
{
	struct vsm_conn *c = new_conn("small"); /* max_inflight 4 */
	send_hello(c);
	uint8_t buf[VSM_WIRE_HDR_LEN * 10];
	size_t n = 0;
	for (int i = 0; i < 10; i++)
		n += put_frame(buf + n, VSM_MSG_NOP, i, NULL, 0);
	feed(c, buf, n);
	/* The hello response counts too: 4 responses unsent, then it waits. */
	assert_int_equal(vsm_conn_process(c, 100), VSM_CONN_INFLIGHT);
	assert_int_equal(c->unsent, 4);
	assert_true(c->rx_len > 0); /* nothing dropped: the rest waits in rx */
	vsm_conn_sent(c, c->tx_len - c->tx_off);
	assert_int_equal(vsm_conn_process(c, 100), VSM_CONN_INFLIGHT);
	vsm_conn_sent(c, c->tx_len - c->tx_off);
	assert_int_equal(vsm_conn_process(c, 100), VSM_CONN_IDLE);
	assert_int_equal(c->rx_len, 0);
	vsm_conn_free(c);
}

static int setup(void **state)
{
	char err[256];
	vsm_log_level = VSM_LOG_ERROR;
	vsm_config_defaults(&conf);
	const char *text = "[tenant limited]\nmax_sessions = 3\n"
			   "[tenant small]\nmax_msg = 4096\nmax_inflight = 4\n";
	if (vsm_config_load_string(&conf, text, err, sizeof(err)) ||
	    vsm_config_finish(&conf, err, sizeof(err)))
		return -1;
	if (vsm_router_init() < 0)
		return -1;
	return vsm_tenants_init(&conf);
}

static int teardown(void **state)
{
	vsm_tenants_fini();
	vsm_router_fini();
	vsm_config_free(&conf);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(config_defaults_valid),
		cmocka_unit_test(config_tenants_and_limits),
		cmocka_unit_test(config_errors_are_clear),
		cmocka_unit_test(hostport_split),
		cmocka_unit_test(session_handles),
		cmocka_unit_test(session_limit),
		cmocka_unit_test(conn_pipelined_and_split),
		cmocka_unit_test(conn_budget_yields),
		cmocka_unit_test(conn_request_before_hello_closes),
		cmocka_unit_test(conn_bad_magic_closes),
		cmocka_unit_test(conn_oversize_discarded),
		cmocka_unit_test(conn_inflight_limit_holds_back),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
