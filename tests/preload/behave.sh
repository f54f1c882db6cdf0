#!/bin/sh
# SPDX-License-Identifier: MIT
# behave.sh - runs tests/preload/behave plain (to check the cases
# themselves) and under the preload with maxprocs 1 and 2; TAP, one line per
# case and run.
set -u
prog="$GOSYS_BUILDDIR/tests/preload/behave"
[ -x "$prog" ] && [ -f "$GOSYS_LIB" ] || { echo "1..0 # SKIP behave or libgosys.so not built"; exit 0; }
# TSan's start-up calls sigaction and read before it can run instrumented
# code, so a TSan-built interposer crashes any process it is preloaded into.
if nm -D "$GOSYS_LIB" 2>/dev/null | grep -q ' __tsan_init'; then
	echo "1..0 # SKIP libgosys.so is built with TSan, which cannot be preloaded"; exit 0
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
out=$(
	"$prog" " (plain)"
	LD_PRELOAD="$GOSYS_LIB" GOSYS_MAXPROCS=1 "$prog" " (preload, maxprocs 1)"
	LD_PRELOAD="$GOSYS_LIB" GOSYS_MAXPROCS=2 "$prog" " (preload, maxprocs 2)"
)
echo "1..$(echo "$out" | grep -c '^\(not \)\{0,1\}ok')"
echo "$out"
