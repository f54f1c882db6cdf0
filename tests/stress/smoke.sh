#!/bin/sh
# SPDX-License-Identifier: MIT
# A 5-second run of the stress program (make stress runs it for minutes).
echo "1..2"
prog="${GOSYS_BUILDDIR:-.}/tests/stress/stress"
if [ ! -x "$prog" ]; then
	echo "not ok 1 - stress smoke: $prog not built"
	echo "not ok 2 - stress smoke, paced: $prog not built"
	exit 0
fi
if STRESS_SECONDS=5 timeout -k 10 120 "$prog"; then
	echo "ok 1 - stress smoke (5 s)"
else
	echo "not ok 1 - stress smoke (5 s): exit $?"
fi
# The same with quota pacing on throughout, at 0.7 CPUs.
if STRESS_SECONDS=5 STRESS_PACE=700 timeout -k 10 120 "$prog"; then
	echo "ok 2 - stress smoke, paced at 0.7 CPUs (5 s)"
else
	echo "not ok 2 - stress smoke, paced at 0.7 CPUs (5 s): exit $?"
fi
