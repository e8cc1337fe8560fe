#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Boot the ivshmem test guest under QEMU (TCG) with an ivshmem-doorbell device
# on vsmd's ivshmem socket, and run the known-answer client in it.
# Usage: run-ivshmem.sh SOCKET    (vsmd must be listening: ivshmem_socket = SOCKET)
# Env: VSM_GUEST_CACHE, VSM_GUEST_TEST (see build-guest.sh); TIMEOUT (s, default 150)
# Exit: 0 iff the guest printed "IVSHMEM-TEST: DONE failures=0" and no FAIL;
#       77 if QEMU or the guest kernel cannot be installed; 1 otherwise.
set -uo pipefail
SOCK=${1:?usage: run-ivshmem.sh SOCKET}
H=$(cd "$(dirname "$0")" && pwd)
W=${VSM_GUEST_CACHE:-/tmp/vsm-guest-cache}
"$H/setup.sh" || exit $?
"$H/build-guest.sh" || exit $?
LOG=$W/qemu.log
t0=$(date +%s%N)
timeout "${TIMEOUT:-150}" qemu-system-x86_64 \
	-machine q35 -accel tcg -cpu max -smp 1 -m 256M \
	-nographic -no-reboot -nodefaults -serial stdio \
	-kernel "$W/vmlinuz" -initrd "$W/initrd.gz" \
	-append "console=ttyS0 quiet loglevel=3 panic=-1" \
	-chardev socket,path="$SOCK",id=vsm0 \
	-device ivshmem-doorbell,chardev=vsm0,vectors=1 \
	> "$LOG" 2>&1
rc=$?
t1=$(date +%s%N)
grep -aE 'IVSHMEM-TEST|qemu-system|ivshmem' "$LOG" | sed 's/^.*IVSHMEM-TEST:/IVSHMEM-TEST:/'
echo "qemu exit $rc, wall $(( (t1 - t0) / 1000000 )) ms"
grep -q 'IVSHMEM-TEST: DONE failures=0' "$LOG" && ! grep -q 'IVSHMEM-TEST: FAIL' "$LOG"
