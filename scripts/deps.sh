#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Install what building, testing and the demo need on Debian 12. Idempotent:
# packages already present are left alone, and apt-get runs (update first)
# only when something is missing.
set -euo pipefail

pkgs=(
	build-essential   # gcc, make, libc headers
	meson
	ninja-build
	pkg-config
	clang             # libFuzzer harnesses (the runtime comes as a dependency)
	libssl-dev        # OpenSSL 3: the soft engine, vsm-bench, vsm-demo
	libgcrypt20-dev   # SM4-GCM, explicit-curve SM2, vsm-bench baselines
	libinih-dev       # vsmd configuration
	libjansson-dev    # JSON: control socket, vsmctl, vsm-bench --json
	libmicrohttpd-dev # vsmd's Prometheus /metrics endpoint
	libcmocka-dev     # unit tests
	libsqlite3-dev    # the keystore
	nginx             # the OpenSSL provider's nginx test (tests/provider)
	openssl
	clang-format      # the format check in scripts/test.sh
	qemu-system-x86   # the ivshmem real-guest test (tests/guest)
	busybox-static    # the guest's userland
	cpio              # the guest's initramfs
)

missing=()
for p in "${pkgs[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#pkgs[@]} packages present"
	exit 0
fi

echo "deps: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null; then
		echo "deps: not root and no sudo; install as root: apt-get install ${missing[*]}" >&2
		exit 1
	fi
	sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
