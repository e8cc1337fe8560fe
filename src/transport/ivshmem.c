/* SPDX-License-Identifier: Apache-2.0 */
#include "transport/ivshmem.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

/*
 * One protocol message: a host-order int64, with at most one descriptor.
 * The messages are 8 bytes on a new socket, so one sendmsg either takes
 * the whole message or fails; a short write is a failure too.
 */
static int send_msg(int fd, int64_t v, int pass)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = {&v, sizeof(v)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (pass >= 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pass, sizeof(int));
	}
	ssize_t n;
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(v)) {
		if (n >= 0)
			errno = EIO;
		return -1;
	}
	return 0;
}

int vsm_ivshmem_handshake(int fd, const struct vsm_shm *s)
{
	/* The order QEMU's ivshmem_recv_setup and ivshmem_read expect. */
	if (send_msg(fd, 0, -1) < 0 ||				  /* protocol version */
	    send_msg(fd, VSM_IVSHMEM_GUEST_PEER, -1) < 0 ||	  /* its own id */
	    send_msg(fd, -1, s->memfd) < 0 ||			  /* the region */
	    send_msg(fd, VSM_IVSHMEM_VSMD_PEER, s->sq_efd) < 0 || /* how to ring vsmd */
	    send_msg(fd, VSM_IVSHMEM_GUEST_PEER, s->cq_efd) < 0)  /* its own vector 0 */
		return -1;
	return 0;
}
