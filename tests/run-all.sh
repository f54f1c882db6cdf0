#!/bin/sh
# SPDX-License-Identifier: MIT
# run-all.sh: the whole test suite, as CI runs it. Builds the tree three ways
# in _build/ (warnings as errors; ASan+UBSan; TSan), runs `make check` in
# each, runs the unit tests under valgrind memcheck, the whole suite again
# with two CPU hogs beside it (check-loaded), and ends with one line
# of totals: "N passed, N failed, N skipped". Exits non-zero on any failure.
#
# Time: CI allows an hour. The suite as a whole gets GOSYS_SUITE_BUDGET
# seconds (default 2700) from its start; each stage's `make check` runs under
# timeout(1) with what is left of it, at most GOSYS_STAGE_LIMIT seconds
# (default 1200). A stage that runs out is a failure, counted in the totals,
# and the later stages still run with what remains (they are skipped, and
# counted failed, when nothing does). Every test also has its own limit
# (tests/run-test.sh).
#
# Last, the peer stage: `make check-peer` in the warnings-as-errors build
# (libuv's own suite under that build's library, tests/peer/libuv.sh), with
# what is left of the budget, at most GOSYS_PEER_STAGE_LIMIT seconds
# (default 900). It skips, with its reason, when .ci/setup could not prepare
# it; its results count in the same totals.
set -u
start=$(date +%s)
budget=${GOSYS_SUITE_BUDGET:-2700}
stage_cap=${GOSYS_STAGE_LIMIT:-1200}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
jobs=${JOBS:-2}
[ -x configure ] && [ -f build-aux/tap-driver.sh ] || ./autogen.sh >/dev/null 2>&1 || {
	echo "run-all: autogen.sh failed" >&2; exit 1; }
# The README's first command builds in the tree itself, and configure will
# not make another build of a tree configured in place. Then the stages
# build from a copy of the sources (what git tracks, and untracked files it
# does not ignore; without git, the tree less its build products).
src=$top
if [ -f "$top/config.status" ]; then
	src="$top/_build/src"
	echo "=== the tree is configured in place: the stages build from a copy in _build/src"
	rm -rf "$src" && mkdir -p "$src" || exit 1
	if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
		(cd "$top" && git ls-files -co --exclude-standard -z |
			xargs -0 cp -P --parents -t "$src") || exit 1
	else
		(cd "$top" && tar --exclude=./_build -cf - .) | (cd "$src" && tar -xf -) || exit 1
		(cd "$src" && make -s distclean >/dev/null 2>&1)
	fi
	(cd "$src" && ./autogen.sh >/dev/null 2>&1) || { echo "run-all: autogen.sh failed in the copy" >&2; exit 1; }
fi
status=0
dirs=""
stage() { # stage NAME TARGET CONFIGURE-ARGS...
	name=$1 target=$2; shift 2
	b="$top/_build/$name"
	rm -rf "$b"; mkdir -p "$b"
	dirs="$dirs $b"
	echo "=== $name: configure $*"
	# A stage that cannot configure or build counts as one failure.
	if ! (cd "$b" && "$src/configure" -q "$@" >configure.out 2>&1); then
		cat "$b/configure.out"; echo "run-all: $name: configure failed; counted as one failure"
		printf ':test-result: FAIL\n' >"$b/stage-build.trs"; status=1; return
	fi
	if ! (cd "$b" && make -j"$jobs" >make.out 2>&1); then
		tail -40 "$b/make.out"; echo "run-all: $name: build failed; counted as one failure"
		printf ':test-result: FAIL\n' >"$b/stage-build.trs"; status=1; return
	fi
	run_target "$name" "$b" "$b" "$target" "$stage_cap" -j"$jobs"
}
# run_target NAME BUILDDIR RESULTDIR TARGET CAP MAKE-ARGS...: `make TARGET`
# in BUILDDIR under timeout(1), with what is left of the budget, at most CAP
# seconds; its results are the .trs files under RESULTDIR (a stage that runs
# out leaves a failed one there), its output RESULTDIR/check.out. The
# deadline is also handed to the tests as GOSYS_PEER_DEADLINE, 60 s short.
run_target() {
	name=$1 b=$2 r=$3 target=$4 cap=$5; shift 5
	left=$((budget - ($(date +%s) - start)))
	[ "$left" -gt "$cap" ] && left=$cap
	if [ "$left" -lt 60 ]; then
		echo "run-all: $name: no time left in the suite's ${budget}s; counted as one failure"
		printf ':test-result: FAIL\n' >"$r/stage-timeout.trs"
		status=1
		return
	fi
	t0=$(date +%s)
	tag="$name.$$"
	: >"$r/stage-start.stamp"
	(cd "$b" && GOSYS_STAGE_TAG=$tag GOSYS_PEER_DEADLINE=$((t0 + left - 60)) \
		timeout -k 30 "$left" make "$@" "$target" >"$r/check.out" 2>&1)
	rc=$?
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		echo "run-all: $name: make $target stopped after ${left}s; counted as one failure"
		printf ':test-result: FAIL\n' >"$r/stage-timeout.trs"
		# Tests run under their own timeout(1), in process groups of their
		# own that the stage's timeout does not reach: end them here.
		# Every process of the stage carries its tag in its environment.
		for p in /proc/[0-9]*; do
			tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -qx "GOSYS_STAGE_TAG=$tag" &&
				kill -KILL "${p#/proc/}" 2>/dev/null
		done
		# The logs of tests that never finished name the culprits.
		for f in $(find "$r" -name '*.log' -newer "$r/stage-start.stamp" ! -name '*.trs'); do
			[ -f "${f%.log}.trs" ] || { echo "--- unfinished: ${f#"$b"/}"; tail -15 "$f"; }
		done
	fi
	echo "$name: make $target took $(( $(date +%s) - t0 ))s"
	grep -E '^(FAIL|ERROR|XPASS)' "$r/check.out" | head -40
	sh "$top/tests/summary.sh" "$r" | sed "s/^/$name: /"
	if [ $rc -ne 0 ]; then
		for f in $(grep -lE '^:test-result: (FAIL|ERROR)' $(find "$r" -name '*.trs') 2>/dev/null); do
			echo "--- ${f%.trs}.log"
			# A long TAP log (the peer suite's) shows its failed lines and
			# their comments; a short one its end.
			if [ "$(wc -l <"${f%.trs}.log")" -gt 200 ]; then
				awk '/^not ok/ { n = 0; show = 1 } /^ok/ { show = 0 }
					show && n++ < 40' "${f%.trs}.log" | head -300
			else
				tail -30 "${f%.trs}.log"
			fi
		done
		status=1
	fi
}
# The peer stage: libuv's suite under the werror build's library.
peer_stage() {
	b="$top/_build/werror"
	r="$b/tests/peer"
	echo "=== peer: make check-peer in _build/werror"
	if [ ! -f "$b/.libs/libgosys.so" ]; then
		echo "run-all: peer: no werror build to test; not run"
		return
	fi
	mkdir -p "$r"
	rm -f "$r"/*.trs "$r"/*.log
	run_target peer "$b" "$r" check-peer "${GOSYS_PEER_STAGE_LIMIT:-900}"
	sed -n 's/^1\.\.0 # SKIP /peer: skipped: /p' "$r/libuv.log" 2>/dev/null
}
stage werror check --enable-werror
stage asan check --enable-werror --enable-sanitizers
stage tsan check --enable-werror --enable-tsan
stage valgrind check-valgrind --enable-werror
# The werror build again, with two CPU-bound processes beside the suite.
stage loaded check-loaded --enable-werror
peer_stage
sh "$top/tests/summary.sh" $dirs || status=1
exit $status
