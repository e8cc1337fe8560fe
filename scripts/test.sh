#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The whole test suite, as CI runs it (.ci/run):
#   1. build-test:  -Dwerror=true, meson test
#      then the qos suite (rates and latencies) alone, one test at a time
#   2. build-asan:  ASan + UBSan, the same meson test suite (without qos)
#   3. build-fuzz:  clang + libFuzzer; each harness in tests/fuzz is built and run
#                   for FUZZ_SECONDS (default 60) on a copy of its corpus
#   4. clang-format --dry-run -Werror over every tracked *.c / *.h
# A failing stage does not stop the others, so the count is complete. The last
# line is always "N passed, N failed"; the exit status is nonzero if anything
# failed. Skipped tests count as neither.
#
#   ./scripts/test.sh
#   FUZZ_SECONDS=10 ./scripts/test.sh      quicker fuzzing
#   JOBS=4 ./scripts/test.sh               parallel test processes (default 2)
set -uo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
JOBS=${JOBS:-2}
passed=0
failed=0
failures=()
logs=$(mktemp -d /tmp/vsm-test.XXXXXX)
trap 'rm -rf "$logs"' EXIT

stage() { printf '\n======== %s ========\n' "$*"; }

pass() {
	passed=$((passed + ${2:-1}))
}

fail() {
	failed=$((failed + ${2:-1}))
	failures+=("$1")
}

# meson setup, reusing the directory if it is already configured.
setup() {
	local dir=$1
	shift
	if [ -f "$dir/build.ninja" ]; then
		meson setup --reconfigure "$dir" "$@"
	else
		meson setup "$dir" "$@"
	fi
}

# One meson build + test run; adds its results to the totals.
meson_stage() {
	local name=$1 dir=$2 mult=$3
	shift 3
	local log="$logs/$name.log"

	stage "$name: meson setup $dir $*"
	if ! setup "$dir" "$@" >"$logs/$name-setup.log" 2>&1; then
		cat "$logs/$name-setup.log"
		fail "$name: meson setup"
		return
	fi
	stage "$name: build"
	# Keep going past a target that does not build: the tests that did
	# build still run, and the ones that did not are reported as failing.
	local rebuild=()
	if ! ninja -C "$dir" -k 0; then
		fail "$name: build"
		rebuild=(--no-rebuild)
	fi
	stage "$name: meson test"
	# shellcheck disable=SC2086 # TEST_ARGS is a word list on purpose
	meson test -C "$dir" "${rebuild[@]}" ${TEST_ARGS:-} --print-errorlogs --num-processes "$JOBS" \
		--timeout-multiplier "$mult" 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}

	# meson's summary: "Ok: 12", "Expected Fail: 0", "Fail: 1", ...
	count() {
		local n
		n=$(grep -E "^$1:[[:space:]]+[0-9]+" "$log" | tail -n 1 | grep -oE '[0-9]+' | tail -n 1)
		echo "${n:-0}"
	}
	local ok xfail bad xpass skip tmo
	ok=$(count 'Ok')
	xfail=$(count 'Expected Fail')
	bad=$(count 'Fail')
	xpass=$(count 'Unexpected Pass')
	skip=$(count 'Skipped')
	tmo=$(count 'Timeout')
	if grep -q 'No tests defined' "$log"; then
		echo "$name: no tests defined"
		return
	fi
	if ! grep -qE '^Ok:' "$log"; then
		# No summary at all: meson test itself broke (e.g. a rebuild failed).
		fail "$name: meson test did not run (exit $rc)"
		return
	fi
	pass "$name" $((ok + xfail))
	[ "$skip" -gt 0 ] && echo "$name: $skip skipped (counted as neither passed nor failed)"
	local nbad=$((bad + xpass + tmo))
	if [ "$nbad" -gt 0 ]; then
		local names
		# " 4/12 vsm:suite / name   FAIL   0.9s ..." -> "name"
		names=$(grep -E '^ *[0-9]+/[0-9]+ .* (FAIL|TIMEOUT|UNEXPECTEDPASS) ' "$log" |
			sed -E 's/ +(FAIL|TIMEOUT|UNEXPECTEDPASS) .*//; s/^.* \/ //' |
			sort -u | tr '\n' ' ')
		fail "$name: $nbad test(s): ${names:-see log above}" "$nbad"
	elif [ "$rc" -ne 0 ]; then
		fail "$name: meson test exited $rc with no failing test"
	fi
}

fuzz_stage() {
	local dir=build-fuzz
	stage "fuzz: CC=clang meson setup $dir -Dfuzz=true"
	if ! CC=clang setup "$dir" -Dfuzz=true >"$logs/fuzz-setup.log" 2>&1; then
		cat "$logs/fuzz-setup.log"
		fail "fuzz: meson setup"
		return
	fi
	local src name bin corpus work
	for src in tests/fuzz/fuzz_*.c; do
		[ -e "$src" ] || continue
		name=$(basename "$src" .c)
		bin="$dir/tests/fuzz/$name"
		# Only the harness and what it links: the rest of the tree is built
		# and tested by the stages above.
		stage "fuzz: build $name"
		if ! ninja -C "$dir" "tests/fuzz/$name" || [ ! -x "$bin" ]; then
			fail "fuzz: $name (does not build)"
			continue
		fi
		stage "fuzz: $name for ${FUZZ_SECONDS}s"
		# Work on a copy: what the fuzzer finds must not land in the repository.
		work="$logs/$name"
		mkdir -p "$work/corpus" "$work/artifacts"
		corpus="tests/fuzz/corpus/${name#fuzz_}"
		[ -d "$corpus" ] && cp -r "$corpus/." "$work/corpus/"
		if "$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 -artifact_prefix="$work/artifacts/" \
			"$work/corpus" </dev/null >"$work/log" 2>&1; then
			grep -E '^(Done|stat::number_of_executed_units)' "$work/log" || tail -n 2 "$work/log"
			pass "fuzz: $name"
		else
			tail -n 60 "$work/log"
			local a
			for a in "$work"/artifacts/*; do
				[ -e "$a" ] || continue
				echo "crashing input ($(basename "$a")), base64:"
				base64 "$a" | head -c 4096
				echo
			done
			fail "fuzz: $name"
		fi
	done
}

format_stage() {
	stage "format: clang-format --dry-run -Werror"
	local files=()
	if command -v git >/dev/null && git -c safe.directory="$PWD" rev-parse --git-dir >/dev/null 2>&1; then
		mapfile -t files < <(git -c safe.directory="$PWD" ls-files '*.c' '*.h')
	else
		# Not a git checkout (a tarball): every C file in the tree instead.
		mapfile -t files < <(find include src tests tools -name '*.[ch]' 2>/dev/null | sort)
	fi
	if [ ${#files[@]} -eq 0 ]; then
		echo "no C files found"
		fail "format: no files"
		return
	fi
	local bad=()
	local f
	for f in "${files[@]}"; do
		[ -f "$f" ] || continue
		clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
	done
	if [ ${#bad[@]} -eq 0 ]; then
		echo "${#files[@]} files formatted"
		pass format
	else
		echo "not formatted (fix with clang-format -i):"
		printf '  %s\n' "${bad[@]}"
		clang-format --dry-run "${bad[0]}" 2>&1 | head -n 20
		fail "format: ${#bad[@]} file(s)"
	fi
}

# All in a function, so bash has read the whole script before it runs: an edit
# to this file during a run cannot change what the run does.
main() {
	start=$(date +%s)
	stage "dependencies"
	if ! bash ./scripts/deps.sh; then
		fail "deps"
	fi

	meson_stage test build-test 1 -Dwerror=true
	# Rate and latency measurements (QoS accuracy, fairness, noisy neighbour):
	# alone and one at a time, so the rest of the suite does not skew them.
	TEST_ARGS="--suite qos" JOBS=1 meson_stage qos build-test 1 -Dwerror=true

	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		meson_stage asan build-asan 3 -Db_sanitize=address,undefined -Db_lundef=false

	fuzz_stage
	format_stage

	stage "summary ($(($(date +%s) - start)) s)"
	if [ ${#failures[@]} -gt 0 ]; then
		echo "failures:"
		printf '  %s\n' "${failures[@]}"
	fi
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

main "$@"
exit
