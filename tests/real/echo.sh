#!/bin/sh
# SPDX-License-Identifier: MIT
# A threaded TCP echo server with its clients on loopback (echo.c: one thread
# per connection, send/recv, read/write, readv/writev, poll, accept4,
# shutdown), under the library with maxprocs 1 and 2, against a plain run.
# Output (per-client byte counts and checksums) and exit status must match.
. "$GOSYS_SRCDIR/tests/real/lib.sh"
prog=$GOSYS_BUILDDIR/tests/real/echo
steps="echo8 echo32"
skip_if_tsan_cannot_preload
plan_steps $steps
[ -x "$prog" ] || echo "# $prog not built" >&2

job() {
	capture "$2/echo8" "$1" "$prog" 8 2000
	capture "$2/echo32" "$1" "$prog" 32 200
}
run_variants job
report $steps
report_loaded
done_testing
