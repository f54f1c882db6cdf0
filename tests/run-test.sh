#!/bin/sh
# SPDX-License-Identifier: MIT
# run-test.sh CMD [ARGS...]: the LOG_COMPILER of every test.
#
# 1. A hard wall-clock limit. Each test runs under timeout(1), which signals
#    the test's whole process group, so a hung test or a daemon it left
#    behind ends as an ERROR line in its log instead of a stuck CI. The limit
#    is GOSYS_TEST_TIMEOUT seconds (default 300; check's per-case timeouts
#    are far shorter, this is the net under them).
# 2. Tests whose pass/fail depends on latency (the scheduler's I1-I3 suites,
#    pacing, the real cgroup, and unseen.sh, whose bound on threads running
#    at once needs the monitor to get the CPU in time)
#    run alone: they take an exclusive lock on the build tree, every other
#    test a shared one, so `make -j2 check` never runs another test beside
#    them. A machine loaded by the suite itself is not the machine the bound
#    talks about. flock -o keeps the lock in flock itself, not in the test's
#    children, so nothing a test leaves running can hold the lock; -w bounds
#    the wait.
limit=${GOSYS_TEST_TIMEOUT:-300}
lock="${GOSYS_BUILDDIR:-.}/.test-lock"
mode=-s
name=
for a in "$@"; do
	case "$(basename -- "$a")" in
	test_sched_i2 | test_sched_i3 | test_sched_i1 | test_sched_pace | test_cgroup_real | unseen.sh) mode=-x ;;
	esac
done
for a in "$@"; do
	case "$a" in -*) ;; *) name=$(basename -- "$a") ;; esac
done
if command -v timeout >/dev/null 2>&1; then
	set -- timeout -k 10 "$limit" "$@"
fi
if command -v flock >/dev/null 2>&1; then
	set -- flock -o -w $((limit * 2)) "$mode" "$lock" "$@"
fi
"$@"
rc=$?
case $rc in
124 | 137)
	# Past the limit: say so in the TAP stream (an ERROR for the driver) and on
	# stderr, which goes to the log.
	echo "Bail out! run-test: $name killed after ${limit}s (GOSYS_TEST_TIMEOUT)"
	echo "run-test: $name killed after ${limit}s" >&2
	;;
esac
exit $rc
