#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Build the ivshmem test guest: Debian 12's own kernel (the package that
# linux-image-amd64 depends on) and a busybox initramfs whose init runs the
# statically linked test client (vsm-guest-test) against "ivshmem:".
# No kernel module is needed: libvsm maps the BARs through sysfs.
# Env: VSM_GUEST_CACHE  output and download cache (default /tmp/vsm-guest-cache)
#      VSM_GUEST_TEST   the client binary (built by meson as vsm-guest-test)
# Output: $VSM_GUEST_CACHE/vmlinuz, $VSM_GUEST_CACHE/initrd.gz (rebuilt only
# when the client or init changed). Exit 77 when the kernel cannot be fetched.
set -euo pipefail
W=${VSM_GUEST_CACHE:-/tmp/vsm-guest-cache}
H=$(cd "$(dirname "$0")" && pwd)
CLIENT=${VSM_GUEST_TEST:?set VSM_GUEST_TEST to the vsm-guest-test binary}
mkdir -p "$W/dl" "$W/kern"

if [ -z "$(ls "$W"/kern/boot/vmlinuz-* 2>/dev/null)" ]; then
	PKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-6/{print $2; exit}' || true)
	if [ -z "$PKG" ] || ! (cd "$W/dl" && apt-get download "$PKG" >&2); then
		echo "build-guest.sh: cannot download the guest kernel (${PKG:-linux-image-amd64 unknown to apt})" >&2
		exit 77
	fi
	dpkg -x "$W"/dl/"$PKG"_*.deb "$W/kern"
	rm -f "$W"/dl/*.deb
fi
cp "$(ls "$W"/kern/boot/vmlinuz-* | head -1)" "$W/vmlinuz"

if [ -f "$W/initrd.gz" ] && [ "$W/initrd.gz" -nt "$CLIENT" ] && [ "$W/initrd.gz" -nt "$H/init" ]; then
	exit 0
fi
R=$(mktemp -d "$W/rootfs.XXXX")
trap 'rm -rf "$R"' EXIT
mkdir -p "$R"/{bin,proc,sys,dev}
cp /bin/busybox "$R/bin/busybox"
for a in sh mount cat echo poweroff ls; do ln -s busybox "$R/bin/$a"; done
cp "$CLIENT" "$R/bin/vsm-guest-test"
cp "$H/init" "$R/init"
chmod +x "$R/init"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) > "$W/initrd.gz.tmp"
mv "$W/initrd.gz.tmp" "$W/initrd.gz"
