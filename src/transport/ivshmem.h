/* SPDX-License-Identifier: Apache-2.0 */
/*
 * QEMU ivshmem-doorbell peers: vsmd speaks the ivshmem-server protocol on a
 * tenant's ivshmem socket, so `-device ivshmem-doorbell,chardev=...` maps
 * that tenant's own region (<vsm/shm.h>) into the VM as BAR2.
 */
#ifndef VSM_IVSHMEM_H
#define VSM_IVSHMEM_H

#include "transport/shm.h"

/* Peer ids: vsmd is 0 (the guest rings it with doorbell value 0 << 16 | 0), QEMU is 1. */
#define VSM_IVSHMEM_VSMD_PEER  0
#define VSM_IVSHMEM_GUEST_PEER 1

/*
 * Send the server side of the handshake on a freshly accepted QEMU
 * connection: version 0, the guest's peer id, the region, vsmd's vector 0
 * eventfd (the SQ doorbell) and the guest's own vector 0 eventfd (the CQ
 * doorbell). Returns 0, or -1 with errno set.
 */
int vsm_ivshmem_handshake(int fd, const struct vsm_shm *s);

#endif
