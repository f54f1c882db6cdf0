#!/bin/sh
# SPDX-License-Identifier: MIT
# siglock.sh - libuv's signal lock (a byte in a blocking pipe, read to lock
# and written back to unlock) taken inside signal handlers while many
# threads signal each other and the process, and others compute: the cases
# of tests/preload/siglock.c (without and with SIGURG's hogs, and with
# SIGTERM), plain (3 runs each) and under the library with maxprocs 1 and 2
# (25 runs each) and with maxprocs 1 and asyncpreempt=0 (10 runs). Each run
# is a fresh process with about six hundred signals; a crash or a run alive
# after 10 s fails its case.
. "$GOSYS_SRCDIR/tests/preload/runlib.sh"
runlib_init siglock
runlib_mode plain "" 3 --limit 20
for p in 1 2; do
	runlib_mode "$p" "" 25 --limit 10 --budget 30
done
runlib_mode 1 asyncpreempt=0 10 --limit 10 --budget 30
runlib_end
