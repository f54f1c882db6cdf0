#!/bin/sh
# SPDX-License-Identifier: MIT
# run-test.sh CMD [ARGS...]: the LOG_COMPILER of every test. Tests whose
# pass/fail depends on latency (the scheduler's I3 request test, its I2
# ordering tests) run alone: they take an exclusive lock on the build tree,
# every other test a shared one, so `make -j2 check` never runs another test
# beside them. A machine loaded by the suite itself is not the machine the
# bound talks about.
lock="${GOSYS_BUILDDIR:-.}/.test-lock"
mode=-s
for a in "$@"; do
	case "$(basename "$a")" in
	test_sched_i2 | test_sched_i3 | test_sched_i1) mode=-x ;;
	esac
done
if command -v flock >/dev/null 2>&1; then
	exec flock "$mode" "$lock" "$@"
fi
exec "$@"
