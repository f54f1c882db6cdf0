#!/bin/sh
# SPDX-License-Identifier: MIT
# sigsusp.sh - threads suspended by signal handlers that wait in sigsuspend
# (the Boehm GC's stop-the-world, HotSpot's suspend/resume, the same on an
# alternate signal stack), with the targets computing, in lazy calls, in
# eager calls, parked waiting for a P and preempted by SIGURG: the cases of
# tests/preload/sigsusp.c, plain (3 runs each, to check the cases) and under
# the library with maxprocs 1 and 2 (15 runs each, five per flavour). Each
# run is a fresh process; a crash or a run alive after 10 s fails its case.
# SIGSUSP_KNOBS (GOSYS_DEBUG for the preloaded runs) is how
# sigsusp-noasync.sh runs the same with asyncpreempt=0 (10 runs each).
. "$GOSYS_SRCDIR/tests/preload/runlib.sh"
runlib_init sigsusp
knobs=${SIGSUSP_KNOBS-}
[ -n "$knobs" ] || runlib_mode plain "" 3 --limit 20
# Without async preemption a suspender waits out every compute loop of the
# preempted targets (12 to 25 ms) for its P: fewer runs.
runs=15
[ -n "$knobs" ] && runs=10
for p in 1 2; do
	runlib_mode "$p" "$knobs" $runs --limit 10 --budget 40
done
runlib_end
