#!/bin/sh
# SPDX-License-Identifier: MIT
# summary.sh BUILDDIR... : adds up the results of every test log (.trs) under
# the build directories and prints one line: "N passed, N failed, N skipped".
# Exits 1 if anything failed or errored, 0 otherwise.
set -u
pass=0 fail=0 skip=0
for d in "$@"; do
	[ -d "$d" ] || continue
	counts=$(find "$d" -name '*.trs' -exec cat {} + 2>/dev/null |
		awk '/^:test-result: (PASS|XFAIL)/ { p++ }
		     /^:test-result: (FAIL|XPASS|ERROR)/ { f++ }
		     /^:test-result: SKIP/ { s++ }
		     END { printf "%d %d %d\n", p, f, s }')
	set -- $counts "$@"
	pass=$((pass + $1)); fail=$((fail + $2)); skip=$((skip + $3))
	shift 3
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
