#!/bin/sh
# SPDX-License-Identifier: MIT
# fdkind.sh - the fd-kind rule (tests/preload/fdkind.c) under the preload
# with maxprocs 1; TAP from the program itself.
set -u
prog="$GOSYS_BUILDDIR/tests/preload/fdkind"
[ -x "$prog" ] && [ -f "$GOSYS_LIB" ] || { echo "1..0 # SKIP fdkind or libgosys.so not built"; exit 0; }
if nm -D "$GOSYS_LIB" 2>/dev/null | grep -q ' __tsan_init'; then
	echo "1..0 # SKIP libgosys.so is built with TSan, which cannot be preloaded"; exit 0
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
LD_PRELOAD="$GOSYS_LIB" GOSYS_MAXPROCS=1 timeout -k 10 60 "$prog"
