#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/run.sh - the driver behind `make bench`: runs each bench program under
# a hard time bound and prints one table (figure, measured, baseline, ratio,
# target, result). Exits 1 if a target was missed or a bench timed out.
# Usage: run.sh BENCHDIR [NAME,NAME...]   (GOSYS_LIB: the built libgosys.so)
set -u
dir=$1
only=${2:-}
src=$(cd "$(dirname "$0")" && pwd)
: "${GOSYS_LIB:?GOSYS_LIB must name the built libgosys.so}"
export GOSYS_LIB GOSYS_BENCHDIR="$dir"
unset GOSYS_MAXPROCS GOSYS_DEBUG LD_PRELOAD

fmt='%-40s %-24s %-26s %-7s %-12s %s\n'
echo "command: make bench${only:+ BENCH=$only}   (sh bench/run.sh $dir${only:+ $only})"
echo "host:    Linux $(uname -r), $(nproc) CPUs, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "library: $GOSYS_LIB"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min; above ~0.5 the latency figures suffer)"
echo "each figure: median of 5 interleaved runs unless it says otherwise"
echo
# shellcheck disable=SC2059
printf "$fmt" figure measured baseline ratio target result
# shellcheck disable=SC2059
printf "$fmt" ------ -------- -------- ----- ------ ------

fail=0
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT INT TERM

# run NAME LIMIT PROGRAM [ARG]: LIMIT is the program's own bound; the driver kills
# it 15 s after that if the program could not stop itself.
run() {
	name=$1 limit=$2 prog=$3
	shift 3
	case ",$only," in ",,"|*",$name,"*) ;; *) return 0 ;; esac
	case $prog in
	*.sh) timeout -s KILL $((limit + 15)) sh "$src/$prog" "$dir" "$@" >"$tmp" 2>&1 ;;
	*) timeout -s KILL $((limit + 15)) "$dir/$prog" "$@" >"$tmp" 2>&1 ;;
	esac
	rc=$?
	cat "$tmp"
	if [ $rc -ne 0 ]; then
		fail=1
		if ! grep -q 'TIMEOUT\|MISS' "$tmp"; then
			what=FAIL
			[ $rc -eq 137 ] && what=TIMEOUT
			# shellcheck disable=SC2059
			printf "$fmt" "$name" "exit status $rc" - - - $what
		fi
	fi
}

run getpid 60 b_getpid
run pair 60 b_pair
run handoff 60 b_handoff
run retake 170 b_retake
run slice 75 b_slice
run request 300 b_request
run threads 150 b_threads
run preload 150 b_preload loops
run stats 150 b_preload stats
run pool 85 b_preload pool
run cgroup 75 b_cgroup
run omp 600 b_omp
run server 600 server.sh
# b_cgroup removes its group; if it was killed, do it here.
find /sys/fs/cgroup/cpu -depth -type d -name 'gosys-bench-*' -exec rmdir {} + 2>/dev/null

echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ $fail -ne 0 ]; then
	echo "bench: some targets were missed (MISS or TIMEOUT above)"
	exit 1
fi
echo "bench: every target met"
