#!/bin/sh
# SPDX-License-Identifier: MIT
# python3 under the library, with maxprocs 1 and 2, against a plain run:
# threads (queue, lock, barrier, condition, timed waits), subprocess (pipes,
# pipelines, timeouts, children from threads, fork), sockets (a threaded TCP
# server on loopback, a selector loop, UDP, SCM_RIGHTS) and signals (itimer,
# a raising handler, SA_RESTART through signal.siginterrupt, sigwait,
# SIGCHLD). The parts are in pymix.py; output and exit status must match.
. "$GOSYS_SRCDIR/tests/real/lib.sh"
py=$(python3_path)
[ -n "$py" ] || skip_all "python3 not installed"
steps="threads subprocess sockets signals"
skip_if_tsan_cannot_preload
plan_steps $steps

job() {
	for part in $steps; do
		capture "$2/$part" "$1" "$py" "$GOSYS_SRCDIR/tests/real/pymix.py" "$part"
	done
}
run_variants job
report $steps
report_loaded
done_testing
