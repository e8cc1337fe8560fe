#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Install what the ivshmem guest test needs (Debian 12), if it is missing:
#   qemu-system-x86  QEMU with ivshmem-doorbell (TCG: no KVM needed)
#   busybox-static   the guest's shell and tools
#   cpio             to pack the initramfs
# The guest kernel is not installed: build-guest.sh fetches the package that
# linux-image-amd64 depends on with apt-get download and unpacks it.
# Exit 0 when everything is there, 77 when it cannot be installed (no root,
# no network): the integration test then skips.
set -uo pipefail
PKGS="qemu-system-x86 busybox-static cpio"
missing() {
	command -v qemu-system-x86_64 >/dev/null && [ -x /bin/busybox ] &&
		command -v cpio >/dev/null && return 1
	return 0
}
missing || exit 0
if [ "$(id -u)" != 0 ]; then
	echo "setup.sh: not root, cannot install: $PKGS" >&2
	exit 77
fi
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -q && apt-get install -y -q --no-install-recommends $PKGS; } >&2; then
	echo "setup.sh: apt-get could not install: $PKGS" >&2
	exit 77
fi
missing && exit 77
exit 0
