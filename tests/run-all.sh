#!/bin/sh
# SPDX-License-Identifier: MIT
# run-all.sh: the whole test suite, as CI runs it. Builds the tree three ways
# in _build/ (warnings as errors; ASan+UBSan; TSan), runs `make check` in
# each, runs the unit tests under valgrind memcheck, and ends with one line
# of totals: "N passed, N failed, N skipped". Exits non-zero on any failure.
#
# Time: CI allows an hour. The suite as a whole gets GOSYS_SUITE_BUDGET
# seconds (default 2700) from its start; each stage's `make check` runs under
# timeout(1) with what is left of it, at most GOSYS_STAGE_LIMIT seconds
# (default 1200). A stage that runs out is a failure, counted in the totals,
# and the later stages still run with what remains (they are skipped, and
# counted failed, when nothing does). Every test also has its own limit
# (tests/run-test.sh).
set -u
start=$(date +%s)
budget=${GOSYS_SUITE_BUDGET:-2700}
stage_cap=${GOSYS_STAGE_LIMIT:-1200}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
jobs=${JOBS:-2}
[ -x configure ] && [ -f build-aux/tap-driver.sh ] || ./autogen.sh >/dev/null 2>&1 || {
	echo "run-all: autogen.sh failed" >&2; exit 1; }
status=0
dirs=""
stage() { # stage NAME TARGET CONFIGURE-ARGS...
	name=$1 target=$2; shift 2
	b="$top/_build/$name"
	rm -rf "$b"; mkdir -p "$b"
	dirs="$dirs $b"
	echo "=== $name: configure $*"
	if ! (cd "$b" && "$top/configure" -q "$@" >configure.out 2>&1); then
		cat "$b/configure.out"; echo "run-all: $name: configure failed"; status=1; return
	fi
	if ! (cd "$b" && make -j"$jobs" >make.out 2>&1); then
		tail -40 "$b/make.out"; echo "run-all: $name: build failed"; status=1; return
	fi
	left=$((budget - ($(date +%s) - start)))
	[ "$left" -gt "$stage_cap" ] && left=$stage_cap
	if [ "$left" -lt 60 ]; then
		echo "run-all: $name: no time left in the suite's ${budget}s; counted as one failure"
		printf ':test-result: FAIL\n' >"$b/stage-timeout.trs"
		status=1
		return
	fi
	t0=$(date +%s)
	tag="$name.$$"
	(cd "$b" && GOSYS_STAGE_TAG=$tag timeout -k 30 "$left" make -j"$jobs" "$target" >check.out 2>&1)
	rc=$?
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		echo "run-all: $name: make $target stopped after ${left}s; counted as one failure"
		printf ':test-result: FAIL\n' >"$b/stage-timeout.trs"
		# Tests run under their own timeout(1), in process groups of their
		# own that the stage's timeout does not reach: end them here.
		# Every process of the stage carries its tag in its environment.
		for p in /proc/[0-9]*; do
			tr '\0' '\n' <"$p/environ" 2>/dev/null | grep -qx "GOSYS_STAGE_TAG=$tag" &&
				kill -KILL "${p#/proc/}" 2>/dev/null
		done
		# The logs of tests that never finished name the culprits.
		for f in $(find "$b" -name '*.log' -newer "$b/make.out" ! -name '*.trs'); do
			[ -f "${f%.log}.trs" ] || { echo "--- unfinished: ${f#"$b"/}"; tail -15 "$f"; }
		done
	fi
	echo "$name: make $target took $(( $(date +%s) - t0 ))s"
	grep -E '^(FAIL|ERROR|XPASS)' "$b/check.out" | head -40
	sh "$top/tests/summary.sh" "$b" | sed "s/^/$name: /"
	if [ $rc -ne 0 ]; then
		for f in $(grep -lE '^:test-result: (FAIL|ERROR)' $(find "$b" -name '*.trs') 2>/dev/null); do
			echo "--- ${f%.trs}.log"; tail -30 "${f%.trs}.log"
		done
		status=1
	fi
}
stage werror check --enable-werror
stage asan check --enable-werror --enable-sanitizers
stage tsan check --enable-werror --enable-tsan
stage valgrind check-valgrind --enable-werror
sh "$top/tests/summary.sh" $dirs || status=1
exit $status
