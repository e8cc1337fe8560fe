#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Build the vhost-user test guest's initramfs: busybox, the guest kernel's
# virtio_crypto driver with every module it needs (read from the modules'
# own "depends=" records, so a new kernel package needs no edit here), the
# static test program and AES-CBC vectors whose expected ciphertexts the
# host's OpenSSL computes now.
# The kernel is the one tests/guest/build-guest.sh uses, in the same cache.
# Usage: build-initramfs.sh OUTDIR
# Env: VSM_GUEST_CACHE       kernel download cache (default /tmp/vsm-guest-cache)
#      VSM_VHOST_GUEST_TEST  the test program (built by meson as vsm-vhost-guest-test)
# Output: OUTDIR/initrd.gz, OUTDIR/vmlinuz. Exit 77 when the kernel cannot be fetched.
set -euo pipefail
OUT=${1:?usage: build-initramfs.sh OUTDIR}
W=${VSM_GUEST_CACHE:-/tmp/vsm-guest-cache}
H=$(cd "$(dirname "$0")" && pwd)
PROG=${VSM_VHOST_GUEST_TEST:?set VSM_VHOST_GUEST_TEST to the vsm-vhost-guest-test binary}
mkdir -p "$W/dl" "$W/kern" "$OUT"

# Same package, same place as tests/guest/build-guest.sh: one download serves both tests.
if [ -z "$(ls "$W"/kern/boot/vmlinuz-* 2>/dev/null)" ]; then
	PKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-6/{print $2; exit}' || true)
	if [ -z "$PKG" ] || ! (cd "$W/dl" && apt-get download "$PKG" >&2); then
		echo "build-initramfs.sh: cannot download the guest kernel (${PKG:-linux-image-amd64 unknown to apt})" >&2
		exit 77
	fi
	dpkg -x "$W"/dl/"$PKG"_*.deb "$W/kern"
	rm -f "$W"/dl/*.deb
fi
VMLINUZ=$(ls "$W"/kern/boot/vmlinuz-* | head -1)
KV=${VMLINUZ##*/vmlinuz-}
MD=$W/kern/lib/modules/$KV
cp "$VMLINUZ" "$OUT/vmlinuz"

R=$(mktemp -d "$OUT/rootfs.XXXX")
trap 'rm -rf "$R"' EXIT
mkdir -p "$R"/{bin,proc,sys,dev,lib/modules,t}
cp /bin/busybox "$R/bin/busybox"
for a in sh mount cat echo grep insmod poweroff ls sleep; do ln -s busybox "$R/bin/$a"; done
cp "$PROG" "$R/bin/vsm-vhost-guest-test"
cp "$H/init" "$R/init"
chmod +x "$R/init"

# --- modules, dependencies first ---
# A module's .modinfo section holds "depends=a,b" (module names, '-' and '_'
# interchangeable). A name with no .ko is built into this kernel.
declare -A KO SEEN
while IFS= read -r f; do
	n=${f##*/}
	n=${n%.ko}
	KO[${n//-/_}]=$f
done < <(find "$MD/kernel" -name '*.ko')
ORDER=()
add_module() {
	local m=${1//-/_} d deps
	[ -n "${SEEN[$m]:-}" ] && return
	SEEN[$m]=1
	[ -n "${KO[$m]:-}" ] || return 0
	deps=$(tr '\0' '\n' < "${KO[$m]}" | grep -a -m1 '^depends=' || true)
	IFS=, read -ra deps <<< "${deps#depends=}"
	for d in "${deps[@]}"; do
		[ -n "$d" ] && add_module "$d"
	done
	ORDER+=("$m")
}
# virtio_pci: the transport; virtio_crypto: the driver; algif_skcipher: AF_ALG for the test.
for m in virtio_pci virtio_crypto algif_skcipher; do
	[ -n "${KO[$m]:-}" ] || grep -q "/$m.ko\$" "$MD/modules.builtin" || {
		echo "build-initramfs.sh: kernel $KV has no $m" >&2
		exit 1
	}
	add_module "$m"
done
: > "$R/lib/modules/order"
for m in "${ORDER[@]}"; do
	cp "${KO[$m]}" "$R/lib/modules/$m.ko"
	echo "$m.ko" >> "$R/lib/modules/order"
done

# --- vectors: random inputs, expected outputs from the host's OpenSSL ---
hex() { od -An -tx1 -v "$1" | tr -d ' \n'; }
T=$R/t
head -c 16 /dev/urandom > "$T/iv"
for len in 64 65536; do head -c $len /dev/urandom > "$T/pt-$len"; done
for k in 16 24 32; do
	head -c $k /dev/urandom > "$T/key-$k"
	for len in 64 65536; do
		openssl enc -aes-$((k * 8))-cbc -nopad -K "$(hex "$T/key-$k")" -iv "$(hex "$T/iv")" \
			-in "$T/pt-$len" -out "$T/ct-$k-$len"
	done
done

(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) > "$OUT/initrd.gz.tmp"
mv "$OUT/initrd.gz.tmp" "$OUT/initrd.gz"
echo "build-initramfs.sh: kernel $KV, modules: ${ORDER[*]}" >&2
