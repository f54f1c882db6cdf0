#!/bin/sh
# SPDX-License-Identifier: MIT
# run-all.sh: the whole test suite, as CI runs it. Builds the tree three ways
# in _build/ (warnings as errors; ASan+UBSan; TSan), runs `make check` in
# each, runs the unit tests under valgrind memcheck, and ends with one line
# of totals: "N passed, N failed, N skipped". Exits non-zero on any failure.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
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
	(cd "$b" && make -j"$jobs" "$target" >check.out 2>&1)
	rc=$?
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
