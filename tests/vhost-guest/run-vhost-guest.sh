#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The vhost-user real-guest test: start a private vsmd whose tenant vm1 has a
# vhost_user_socket, boot Debian 12's kernel under QEMU (TCG, no KVM needed)
# with `-object cryptodev-vhost-user` on that socket, and let the guest's
# unmodified virtio_crypto driver run vsm-vhost-guest-test (check mode).
# Passes iff the guest reports no failure, vsmd counted at least the cipher
# requests the guest completed (query-stats, all OK), and vsmd stops on
# SIGTERM with status 0 and a clean log.
#
# Usage: run-vhost-guest.sh [-q QUEUES] [-c CPUS] [--bench] [--backend CMD]
#   -q N       data queues of the device (cryptodev-vhost-user queues=N), default 1
#   -c N       guest CPUs (-smp N), default 1
#   --bench    run the guest's bench mode instead (docs/benchmarks.md); prints figures
#   --backend  serve the socket with CMD SOCKET instead of vsmd (e.g. a reference
#              back-end); the vsmd checks are skipped
# Env: VSMD, VSMCTL (binaries), VSM_VHOST_GUEST_TEST (guest program),
#      VSM_GUEST_CACHE (kernel cache, shared with tests/guest), TIMEOUT (s, default 180),
#      VSM_VHOST_GUEST_KEEP=1 keeps the temporary directory (logs, config),
#      VSM_VHOST_GUEST_LOG_LEVEL=debug sets vsmd's log_level (default info).
# Exit: 0 pass, 1 fail, 77 when QEMU or the guest kernel cannot be installed.
set -uo pipefail
H=$(cd "$(dirname "$0")" && pwd)
QUEUES=1 CPUS=1 MODE=check BACKEND=
while [ $# -gt 0 ]; do
	case $1 in
	-q) QUEUES=$2; shift 2 ;;
	-c) CPUS=$2; shift 2 ;;
	--bench) MODE=bench; shift ;;
	--backend) BACKEND=$2; shift 2 ;;
	*) echo "usage: run-vhost-guest.sh [-q QUEUES] [-c CPUS] [--bench] [--backend CMD]" >&2; exit 1 ;;
	esac
done

"$H/../guest/setup.sh" || exit $?
for tool in openssl python3; do
	command -v $tool >/dev/null || { echo "run-vhost-guest.sh: needs $tool on the host" >&2; exit 1; }
done

T=$(mktemp -d /tmp/vsm-vhg-XXXXXX) || exit 1
VSMD_PID='' BACKEND_PID=''
cleanup() {
	[ -n "$VSMD_PID" ] && kill -KILL "$VSMD_PID" 2>/dev/null
	[ -n "$BACKEND_PID" ] && kill "$BACKEND_PID" 2>/dev/null
	if [ -n "${VSM_VHOST_GUEST_KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
die() {
	echo "FAIL: $*"
	for f in "$T/vsmd.log" "$T/backend.log"; do
		[ -s "$f" ] && { echo "---- ${f##*/} (last 40 lines)"; tail -n 40 "$f"; }
	done
	[ -s "$T/qemu.log" ] && { echo "---- qemu.log (last 60 lines)"; tail -n 60 "$T/qemu.log"; }
	exit 1
}

"$H/build-initramfs.sh" "$T" || exit $?

SOCK=$T/vm1.vhost
if [ -n "$BACKEND" ]; then
	$BACKEND "$SOCK" > "$T/backend.log" 2>&1 &
	BACKEND_PID=$!
else
	cat > "$T/vsmd.conf" <<-EOF
	[vsmd]
	workers = 2
	log_level = ${VSM_VHOST_GUEST_LOG_LEVEL:-info}
	unix_socket = $T/vsmd.sock
	control_socket = $T/control.sock
	metrics_listen =
	[keystore]
	path = $T/keystore.db
	master_key = $T/master.key
	kdf_iterations = 1000
	[tenant vm1]
	vhost_user_socket = $SOCK
	EOF
	"${VSMD:?set VSMD to the vsmd binary}" -c "$T/vsmd.conf" > "$T/vsmd.log" 2>&1 &
	VSMD_PID=$!
fi
for _ in $(seq 100); do
	[ -S "$SOCK" ] && break
	kill -0 ${VSMD_PID:-$BACKEND_PID} 2>/dev/null || die "the back-end exited before listening"
	sleep 0.1
done
[ -S "$SOCK" ] || die "no socket $SOCK after 10 s"

# vectors=0: QEMU 7.2 under TCG crashes with vhost-user and MSI-X (docs/qemu.md).
# The guest's RAM must be shared memory: the back-end maps it.
t0=$(date +%s%N)
timeout "${TIMEOUT:-180}" qemu-system-x86_64 \
	-accel tcg -cpu max -smp "$CPUS" -m 512M \
	-nographic -no-reboot -nodefaults -serial stdio \
	-object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem \
	-chardev socket,id=vsm0,path="$SOCK" \
	-object cryptodev-vhost-user,id=cryptodev0,chardev=vsm0,queues="$QUEUES" \
	-device virtio-crypto-pci,id=crypto0,cryptodev=cryptodev0,vectors=0 \
	-kernel "$T/vmlinuz" -initrd "$T/initrd.gz" \
	-append "console=ttyS0 quiet loglevel=4 panic=-1 vhost_guest=$MODE" \
	> "$T/qemu.log" 2>&1
rc=$?
t1=$(date +%s%N)
grep -a -E 'VHOST-GUEST|qemu-system|virtio|alg: |^(name|driver|priority|selftest) |Call Trace|BUG' "$T/qemu.log" | sed 's/^.*VHOST-GUEST:/VHOST-GUEST:/'
echo "qemu exit $rc, wall $(((t1 - t0) / 1000000)) ms, queues=$QUEUES cpus=$CPUS"

grep -a -q 'VHOST-GUEST: DONE failures=0 ' "$T/qemu.log" || die "the guest did not finish without failures"
grep -a -q 'VHOST-GUEST: FAIL' "$T/qemu.log" && die "the guest reported a failure"
[ "$MODE" = bench ] && [ -z "$VSMD_PID" ] && exit 0
[ -z "$VSMD_PID" ] && { echo "PASS (back-end: $BACKEND)"; exit 0; }

# vsmd must have done the work: at least as many cipher requests as the guest
# completed through the device (the kernel's self-tests add more), all OK.
if [ "$MODE" = check ]; then
	GUEST_OPS=$(grep -a -o 'DONE failures=0 device_ops=[0-9]*' "$T/qemu.log" | grep -o '[0-9]*$')
	STATS=$("${VSMCTL:?set VSMCTL to the vsmctl binary}" -S "$T/control.sock" --json stats vm1) ||
		die "vsmctl stats failed"
	# python3 is there wherever meson is; it reads the JSON.
	read -r OPS OK < <(python3 -c '
import json, sys
cells = [c for t in json.load(sys.stdin)["tenants"] if t["name"] == "vm1" for c in t["stats"]
         if c["service"] == "cipher" and c["op"] in ("encrypt", "decrypt")]
print(sum(c["ops"] for c in cells), sum(c["status"]["ok"] for c in cells))' <<< "$STATS")
	echo "vsmd: tenant vm1 cipher requests $OPS ($OK ok), guest completed $GUEST_OPS"
	[ "${GUEST_OPS:-0}" -gt 0 ] || die "the guest completed no request through the device"
	[ "${OPS:-0}" -ge "$GUEST_OPS" ] || die "vsmd counted $OPS cipher requests, the guest made $GUEST_OPS"
	[ "$OK" = "$OPS" ] || die "vsmd answered $((OPS - OK)) cipher requests with an error"
fi

kill -TERM "$VSMD_PID"
wait "$VSMD_PID"
vrc=$?
VSMD_PID=
[ $vrc -eq 0 ] || die "vsmd exited with status $vrc after SIGTERM"
for bad in 'vsmd error' ERROR 'runtime error' Sanitizer; do
	grep -q "$bad" "$T/vsmd.log" && die "vsmd log contains '$bad'"
done
grep -q stopped "$T/vsmd.log" || die "vsmd log lacks 'stopped'"
echo PASS
