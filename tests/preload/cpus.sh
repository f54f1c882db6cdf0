#!/bin/sh
# SPDX-License-Identifier: MIT
# cpus.sh - the cpus knob (GOSYS_DEBUG=cpus=maxprocs, gosys --cpus): every
# way a program asks how many CPUs it may use (tests/preload/cpus.c: the
# sysconf, __sysconf and get_nprocs counts, sched_getaffinity by libc and
# by syscall(), pthread_getaffinity_np, from a signal handler and a second
# thread) answers the budget min(maxprocs, the mask's CPUs), each reported
# mask the real mask's first CPUs, another process's mask untouched; at
# maxprocs 1, 2 and 8, with cpubound=1, with no bound, under taskset, with
# stats on, and live after gosys_maxprocs(). Then nproc, getconf, libgomp's
# default team and a JVM's availableProcessors. Without the knob (or with
# cpus=0) every answer is the plain run's. The budget cases need two CPUs
# in the mask, or a budget of 1 could not be told from the plain answer.
. "$GOSYS_SRCDIR/tests/real/lib.sh"
skip_if_tsan_cannot_preload
prog=$GOSYS_BUILDDIR/tests/preload/cpus
omp=$GOSYS_BUILDDIR/tests/preload/cpus_omp
gosys=$GOSYS_BUILDDIR/tools/gosys
[ -x "$prog" ] || skip_all "tests/preload/cpus not built"
unset OMP_NUM_THREADS OMP_THREAD_LIMIT OMP_DYNAMIC
T=${GOSYS_REAL_TIMEOUT:-120}
plan 22

# pre OUT VAR=VALUE... -- CMD...: CMD under the library with those variables.
pre() {
	_out=$1
	shift
	_env=
	while [ "$1" != -- ]; do
		_env="$_env $1"
		shift
	done
	shift
	# shellcheck disable=SC2086
	env $_env LD_PRELOAD="$preload" timeout -k 5 "$T" "$@" >"$_out" 2>"$_out.err"
	echo $? >"$_out.rc"
}
plain() {
	_out=$1
	shift
	timeout -k 5 "$T" "$@" >"$_out" 2>"$_out.err"
	echo $? >"$_out.rc"
}
# The run went through: exit 0, nothing on stderr.
clean() { [ "$(cat "$1.rc")" = 0 ] && [ ! -s "$1.err" ]; }
# Why a run failed, as diagnostics.
explain() {
	echo "exit $(cat "$1.rc")" | diag
	diag <"$1.err"
}
min() { if [ "$1" -lt "$2" ]; then echo "$1"; else echo "$2"; fi; }
val() { awk -v p="$2" -v n="$3" '$1 == p && $2 == n { print $3; exit }' "$1"; }

# expect FILE B [PHASES]: every count and mask of PHASES is B, the other
# process's mask and the real one are $A, every mask holds the first CPUs.
expect() {
	awk -v b="$2" -v a="$A" -v phases="${3:-main sig}" '
	BEGIN { n = split(phases, p, " "); for (i = 1; i <= n; i++) want[p[i]] = 1 }
	!($1 in want) { next }
	{ seen[$1]++ }
	$2 == "other" || $2 == "real" { if ($3 != a) { print $0 " (want " a ")"; bad = 1 }; next }
	$2 == "first" { if ($3 != 1) { print $0 " (want 1)"; bad = 1 }; next }
	$3 != b { print $0 " (want " b ")"; bad = 1 }
	END {
		for (k in want) if (!seen[k]) { print "no " k " lines"; bad = 1 }
		exit bad
	}' "$1" >"$1.why"
}
# judge NAME FILE B [PHASES]: one TAP line for a budget case.
judge() {
	if ! clean "$2"; then
		explain "$2"
		not_ok "$1"
	elif expect "$2" "$3" "${4:-}"; then
		ok "$1"
	else
		diag <"$2.why"
		not_ok "$1"
	fi
}
# same_as_plain NAME FILE: the output is the plain run's, but for the
# library's own line.
same_as_plain() {
	if ! clean "$2"; then
		explain "$2"
		not_ok "$1"
		return
	fi
	grep -v '^lib ' "$2" >"$2.cmp"
	if cmp -s "$work/plain" "$2.cmp"; then
		ok "$1"
	else
		diff "$work/plain" "$2.cmp" | diag
		not_ok "$1"
	fi
}

# ---- the program's own answers ------------------------------------------------

plain "$work/plain" "$prog"
A=$(val "$work/plain" main real)
if clean "$work/plain" && [ -n "$A" ] && [ "$(val "$work/plain" main aff)" = "$A" ] &&
	[ "$(val "$work/plain" main sys)" = "$A" ] && [ "$(val "$work/plain" main pth)" = "$A" ] &&
	[ "$(val "$work/plain" main first)" = 1 ]; then
	ok "plain: the masks are the real one ($A CPUs; $(val "$work/plain" main onln) online)"
else
	explain "$work/plain"
	diag <"$work/plain"
	not_ok "plain: the masks are the real one"
	done_testing
fi
if [ "$A" -lt 2 ]; then
	echo "# only $A CPU in the affinity mask: a budget of 1 is the plain answer"
	for i in $(seq 2 22); do ok "skipped # SKIP needs 2 CPUs in the affinity mask"; done
	done_testing
fi
B2=$(min 2 "$A")

pre "$work/off" GOSYS_MAXPROCS=1 -- "$prog"
same_as_plain "default off: maxprocs 1 without the knob answers as plain" "$work/off"
pre "$work/zero" GOSYS_MAXPROCS=1 GOSYS_DEBUG=cpus=maxprocs,cpus=0 -- "$prog"
same_as_plain "cpus=0 (after cpus=maxprocs) answers as plain" "$work/zero"

pre "$work/m1" GOSYS_MAXPROCS=1 GOSYS_DEBUG=cpus=maxprocs -- "$prog"
judge "maxprocs 1: every path answers 1" "$work/m1" 1
pre "$work/m2" GOSYS_MAXPROCS=2 GOSYS_DEBUG=cpus=maxprocs -- "$prog"
judge "maxprocs 2: every path answers $B2" "$work/m2" "$B2"
pre "$work/m8" GOSYS_MAXPROCS=$((A + 6)) GOSYS_DEBUG=cpus=maxprocs -- "$prog"
judge "maxprocs $((A + 6)): every path answers the mask's $A" "$work/m8" "$A"

# cpubound=1 bounds at the CPUs (or a quota below them): the budget is that.
pre "$work/cb" GOSYS_DEBUG=cpubound=1,cpus=maxprocs -- "$prog"
mp=$(val "$work/cb" lib maxprocs)
if [ -n "$mp" ] && [ "$mp" -le "$A" ]; then
	judge "cpubound=1 (maxprocs $mp): every path answers $mp" "$work/cb" "$mp"
else
	explain "$work/cb"
	not_ok "cpubound=1: maxprocs ${mp:-unknown} within the mask's $A"
fi
# No bound (1024 Ps without a quota): the mask's CPUs, or the quota's.
pre "$work/nb" GOSYS_DEBUG=cpus=maxprocs -- "$prog"
mp=$(val "$work/nb" lib maxprocs)
judge "no GOSYS_MAXPROCS (maxprocs ${mp:-unknown}): every path answers $(min "${mp:-0}" "$A")" \
	"$work/nb" "$(min "${mp:-0}" "$A")"

# Live: gosys_maxprocs(1), then (2), from the program.
pre "$work/live" GOSYS_MAXPROCS=2 GOSYS_DEBUG=cpus=maxprocs -- "$prog" live
if clean "$work/live" && expect "$work/live" 1 live1; then
	judge "live: answers follow gosys_maxprocs(1), then (2)" "$work/live" "$B2" "main sig live2"
else
	[ -s "$work/live.why" ] && diag <"$work/live.why"
	explain "$work/live"
	not_ok "live: answers follow gosys_maxprocs(1), then (2)"
fi

# A mask of one CPU (its last): the budget is the mask's, and the first CPU
# of the mask is not CPU 0.
if command -v taskset >/dev/null 2>&1; then
	last=$(taskset -pc $$ | sed 's/.*: //' | tr ',' '\n' | sed 's/.*-//' | sort -n | tail -1)
	pre "$work/ts" GOSYS_MAXPROCS=2 GOSYS_DEBUG=cpus=maxprocs -- taskset -c "$last" "$prog"
	Aall=$A
	A=1
	judge "taskset -c $last, maxprocs 2: every path answers 1" "$work/ts" 1
	A=$Aall
else
	ok "taskset # SKIP taskset not installed"
fi

pre "$work/st" GOSYS_MAXPROCS=1 GOSYS_DEBUG=cpus=maxprocs,stats=/dev/null -- "$prog"
judge "maxprocs 1 with stats on: every path answers 1" "$work/st" 1

# ---- real programs ---------------------------------------------------------------

# one NAME FILE WANT: a run whose whole output must be WANT.
one() {
	if clean "$2" && [ "$(cat "$2")" = "$3" ]; then
		ok "$1"
	else
		explain "$2"
		echo "got: $(cat "$2"); want: $3" | diag
		not_ok "$1"
	fi
}

if command -v nproc >/dev/null 2>&1; then
	plain "$work/nproc" nproc
	N=$(cat "$work/nproc")
	pre "$work/nproc.off" GOSYS_MAXPROCS=1 -- nproc
	one "nproc: $N without the knob" "$work/nproc.off" "$N"
	pre "$work/nproc.1" GOSYS_MAXPROCS=1 GOSYS_DEBUG=cpus=maxprocs -- nproc
	one "nproc: 1 at maxprocs 1" "$work/nproc.1" 1
	pre "$work/nproc.2" GOSYS_MAXPROCS=2 GOSYS_DEBUG=cpus=maxprocs -- nproc
	one "nproc: $(min 2 "$N") at maxprocs 2" "$work/nproc.2" "$(min 2 "$N")"
else
	for i in 1 2 3; do ok "nproc # SKIP nproc not installed"; done
fi

if command -v getconf >/dev/null 2>&1; then
	pre "$work/getconf" GOSYS_MAXPROCS=1 GOSYS_DEBUG=cpus=maxprocs -- getconf _NPROCESSORS_ONLN
	one "getconf _NPROCESSORS_ONLN: 1 at maxprocs 1" "$work/getconf" 1
else
	ok "getconf # SKIP getconf not installed"
fi

# The launcher's --cpus (it puts the library first: a sanitizer's runtime
# goes in LD_PRELOAD before it, which TSan's cannot).
case $san_rt in
*libtsan*) ok "gosys --cpus # SKIP TSan's runtime cannot come after the library" ;;
*)
	if [ -n "$san_rt" ]; then
		plain "$work/launch" env LD_PRELOAD="$san_rt" \
			ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0" "$gosys" --cpus -p 1 nproc
	else
		plain "$work/launch" "$gosys" --cpus -p 1 nproc
	fi
	one "gosys --cpus -p 1 nproc: 1" "$work/launch" 1
	;;
esac

if [ -x "$omp" ]; then
	plain "$work/omp" "$omp"
	P=$(awk '$1 == "max" { print $2 }' "$work/omp")
	pre "$work/omp.off" GOSYS_MAXPROCS=1 -- "$omp"
	one "OpenMP: the default team is plain's ($P) without the knob" "$work/omp.off" \
		"$(cat "$work/omp")"
	pre "$work/omp.1" GOSYS_MAXPROCS=1 GOSYS_DEBUG=cpus=maxprocs -- "$omp"
	one "OpenMP: a default team of 1 at maxprocs 1" "$work/omp.1" "max 1
team 1"
	b=$(min 2 "${P:-0}")
	pre "$work/omp.2" GOSYS_MAXPROCS=2 GOSYS_DEBUG=cpus=maxprocs -- "$omp"
	one "OpenMP: a default team of $b at maxprocs 2" "$work/omp.2" "max $b
team $b"
else
	for i in 1 2 3; do ok "OpenMP # SKIP tests/preload/cpus_omp not built (no OpenMP)"; done
fi

if command -v java >/dev/null 2>&1 && command -v javac >/dev/null 2>&1 &&
	timeout -k 5 120 javac -d "$work" "$GOSYS_SRCDIR/tests/preload/Cpus.java" >"$work/javac.out" 2>&1; then
	jvm="java -Xshare:auto -XX:-UsePerfData -Xmx64m -XX:TieredStopAtLevel=1 -cp $work Cpus"
	# shellcheck disable=SC2086
	plain "$work/java" $jvm
	J=$(awk '$1 == "java" { print $2 }' "$work/java")
	# shellcheck disable=SC2086
	pre "$work/java.off" GOSYS_MAXPROCS=1 -- $jvm
	one "Java: availableProcessors is plain's (${J:-?}) without the knob" "$work/java.off" \
		"$(cat "$work/java")"
	# shellcheck disable=SC2086
	pre "$work/java.1" GOSYS_MAXPROCS=1 GOSYS_DEBUG=cpus=maxprocs -- $jvm
	one "Java: availableProcessors 1 at maxprocs 1" "$work/java.1" "java 1"
	# shellcheck disable=SC2086
	pre "$work/java.2" GOSYS_MAXPROCS=2 GOSYS_DEBUG=cpus=maxprocs -- $jvm
	one "Java: availableProcessors $(min 2 "${J:-0}") at maxprocs 2" "$work/java.2" \
		"java $(min 2 "${J:-0}")"
else
	[ -s "$work/javac.out" ] && diag <"$work/javac.out"
	for i in 1 2 3; do ok "Java # SKIP java or javac not installed (or javac failed)"; done
fi
done_testing
