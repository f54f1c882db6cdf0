#!/bin/sh
# SPDX-License-Identifier: MIT
# The Boehm GC stopping the world by signal (SIGPWR to every registered
# thread, whose handler waits in sigsuspend until SIGXCPU), under the
# library with maxprocs 1 and 2 and paced, against a plain run: gcstop.c's
# threads (made by GC_pthread_create, or registered by hand) allocate and
# force collections while others sleep, read a pipe or compute past the
# slice. Output and exit status must match, within 30 s a run (the plain
# run takes about one).
. "$GOSYS_SRCDIR/tests/real/lib.sh"
prog=$GOSYS_BUILDDIR/tests/real/gcstop
[ -x "$prog" ] || skip_all "gcstop not built (configure found no bdw-gc: apt-get install libgc-dev)"
T=${GOSYS_REAL_TIMEOUT:-30}
steps="gc16 gc48"
skip_if_tsan_cannot_preload
# The collector scans the process's memory conservatively, and with an
# ASan-built library preloaded that memory includes ASan's own (its shadow,
# its fake stacks): the preloaded runs died with SIGSEGV in the ASan stage,
# inside the collector. Its verdict there would be about ASan, not us.
case $san_rt in
*libasan*) skip_all "libgosys.so is built with ASan, whose memory the collector's conservative scan trips over" ;;
esac
plan_steps $steps

job() {
	capture "$2/gc16" "$1" "$prog" 16 400
	capture "$2/gc48" "$1" "$prog" 48 100
}
run_variants job
report $steps
report_loaded
done_testing
