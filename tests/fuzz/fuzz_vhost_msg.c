/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the vhost-user device as a hostile QEMU drives it: a sequence of
 * messages handled exactly as the device thread handles them (checks,
 * handlers, session creation, memory table, rings), with guest memory from
 * the input so that a SET_VRING_KICK also runs whatever requests the rings
 * hold. Replies go to a socketpair and are drained after each message.
 *
 * Input layout:
 *   bytes 0-1  n: guest memory bytes that follow (LE u16)
 *   then       n bytes copied to offset 0 of a 64 KiB memfd (the rest is 0)
 *   then       messages: u32 request, u32 flags, u32 size, size payload bytes
 *              (a message cut short by the end of the input is dropped)
 * Descriptors: SET_MEM_TABLE gets one dup of the memfd per region it
 * announces (8 at most), SET_VRING_KICK/CALL/ERR an eventfd unless the
 * no-fd bit is set; flag bit 31 adds one stray eventfd to any message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/config.h"
#include "daemon/log.h"
#include "daemon/tenant.h"
#include "engine/engine.h"
#include "vhost/device.h"
#include "vhost/vhost_user.h"

#define GUEST_SIZE 65536u

static struct vsm_config conf;

static void init_once(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	char err[256];
	/* Silent: the fuzzer makes every error happen. VSM_FUZZ_LOG=1 to see them. */
	vsm_log_level = getenv("VSM_FUZZ_LOG") ? 3 : -1;
	vsm_config_defaults(&conf);
	if (vsm_config_load_string(&conf, "[tenant fuzz]\nmax_msg = 65536\nmax_sessions = 8\n", err,
				   sizeof(err)) ||
	    vsm_config_finish(&conf, err, sizeof(err)) || vsm_router_init())
		abort();
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static void drain(int fd)
{
	uint8_t buf[4096];
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init_once();
	if (size < 2)
		return 0;
	size_t glen = (size_t)data[0] | (size_t)data[1] << 8;
	data += 2;
	size -= 2;
	if (glen > size)
		glen = size;
	int mfd = memfd_create("fuzz-guest", MFD_CLOEXEC);
	if (mfd < 0 || ftruncate(mfd, GUEST_SIZE) < 0 ||
	    (glen && pwrite(mfd, data, glen, 0) != (ssize_t)glen))
		abort();
	data += glen;
	size -= glen;

	if (vsm_tenants_init(&conf))
		abort();
	const char *why;
	struct vsm_tenant *t = vsm_tenant_attach_name("fuzz", &why);
	int sv[2];
	if (!t || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	struct vsm_vhu_dev *d = vsm_vhu_dev_new(sv[0], t, "fuzz");
	if (!d)
		abort();
	struct vsm_vhu_msg *m = &d->msg;
	while (size >= VSM_VHU_HDR_LEN) {
		m->req = rd32(data);
		m->flags = rd32(data + 4);
		m->size = rd32(data + 8);
		data += VSM_VHU_HDR_LEN;
		size -= VSM_VHU_HDR_LEN;
		if (m->size > VSM_VHU_MAX_PAYLOAD || m->size > size)
			break; /* the device thread disconnects here too */
		memcpy(m->payload, data, m->size);
		data += m->size;
		size -= m->size;
		m->nfds = 0;
		unsigned want = 0;
		if (m->req == VHU_SET_MEM_TABLE && m->size >= 4)
			want = rd32(m->payload) > VSM_VHU_MAX_FDS ? VSM_VHU_MAX_FDS
								  : rd32(m->payload);
		else if ((m->req == VHU_SET_VRING_KICK || m->req == VHU_SET_VRING_CALL ||
			  m->req == VHU_SET_VRING_ERR) &&
			 m->size >= 8 && !(rd32(m->payload) & VHU_VRING_NOFD))
			want = 1;
		for (unsigned i = 0; i < want; i++)
			m->fds[m->nfds++] = m->req == VHU_SET_MEM_TABLE
						    ? dup(mfd)
						    : eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if ((m->flags & 0x80000000u) && m->nfds < VSM_VHU_MAX_FDS)
			m->fds[m->nfds++] = eventfd(0, EFD_CLOEXEC);
		for (unsigned i = 0; i < m->nfds; i++)
			if (m->fds[i] < 0)
				abort();
		bool ok = vsm_vhu_dev_message(d, m);
		drain(sv[1]);
		if (!ok)
			break;
	}
	vsm_vhu_dev_teardown(d);
	vsm_vhu_dev_free(d);
	close(sv[1]);
	close(mfd);
	vsm_tenants_fini();
	return 0;
}
