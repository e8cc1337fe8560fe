#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The vsm demo: install what is missing, build, start vsmd from the build tree
# on its embedded defaults, run vsm-demo (several tenants doing real crypto,
# then one trying another's session) and a short vsm-bench, stop vsmd.
#
#   ./scripts/demo.sh            build dir ./build (reused if present)
#   BUILD=/tmp/b ./scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}

step() { printf '\n==> %s\n' "$*"; }

step "dependencies"
bash ./scripts/deps.sh

step "build ($BUILD)"
if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" >/dev/null
fi
ninja --quiet -C "$BUILD"

tmp=$(mktemp -d /tmp/vsm-demo.XXXXXX)
# As root, vsm-demo's tenants run as other uids: they must reach the socket.
chmod 755 "$tmp"
vsmd_pid=
cleanup() {
	if [ -n "$vsmd_pid" ] && kill -0 "$vsmd_pid" 2>/dev/null; then
		kill -TERM "$vsmd_pid" 2>/dev/null || true
		wait "$vsmd_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# vsmd reads /etc/vsm/vsmd.conf when it exists; the demo wants the defaults.
conf=()
[ -e /etc/vsm/vsmd.conf ] && conf=(-c /dev/null)

step "start vsmd (embedded defaults, socket $tmp/vsmd.sock)"
"$BUILD/src/daemon/vsmd" "${conf[@]}" -s "$tmp/vsmd.sock" 2>"$tmp/vsmd.log" &
vsmd_pid=$!
for _ in $(seq 100); do
	grep -q 'ready' "$tmp/vsmd.log" && break
	if ! kill -0 "$vsmd_pid" 2>/dev/null; then
		echo "vsmd exited during start-up:" >&2
		cat "$tmp/vsmd.log" >&2
		exit 1
	fi
	sleep 0.1
done
if ! grep -q 'ready' "$tmp/vsmd.log"; then
	echo "vsmd did not become ready in 10 s:" >&2
	cat "$tmp/vsmd.log" >&2
	exit 1
fi
grep -E 'listening|ready' "$tmp/vsmd.log"
export VSM_URI="unix:$tmp/vsmd.sock"

rc=0
step "vsm-demo: tenants doing real operations, then the isolation check"
"$BUILD/tools/vsm-demo" -u "$VSM_URI" || rc=1

step "vsm-bench: vsmd against in-process OpenSSL (short run)"
"$BUILD/tools/vsm-bench" -u "$VSM_URI" -q \
	-a null,aes-128-gcm,sm4-cbc,sha256,sm3,hmac-sha256,ecdsa-p256-sign,sm2-sign \
	-s 4096 -d 1,32 -T 0.5 || rc=1

step "stop vsmd (SIGTERM: finish queued requests, then exit)"
kill -TERM "$vsmd_pid"
vsmd_rc=0
wait "$vsmd_pid" || vsmd_rc=$?
vsmd_pid=
if [ "$vsmd_rc" -ne 0 ]; then
	echo "vsmd exited with status $vsmd_rc"
	rc=1
fi
echo "--- last lines of vsmd's log ---"
tail -n 12 "$tmp/vsmd.log"

echo
if [ "$rc" -eq 0 ]; then
	echo "demo: OK"
else
	echo "demo: FAILED (see above)"
fi
exit "$rc"
