#!/bin/sh
# SPDX-License-Identifier: MIT
# libuv.sh: libuv's own test suite (Debian 12's libuv1, built by
# tests/peer/libuv-setup.sh) under the library. TAP.
#
# Every test of the runner runs on its own, three ways: plain, then with
# LD_PRELOAD of the built library and GOSYS_MAXPROCS=1, then 2. A preloaded
# run must end as the plain run did: pass, skip (for the same reason) or,
# when the plain run fails, fail. Lines:
#   plain: NAME        ok, or SKIP with libuv's reason; a plain failure is a
#                      SKIP when libuv-known.txt lists the test (with why it
#                      cannot pass here), else a TODO (reported, not failed)
#   p1: NAME ..., p2: NAME ...   the comparison with the plain run
#   p1: NAME xR more ...         the signal tests again, R more times a mode
# and, per mode, that the library is mapped in the runner at all.
#
# Where it runs: libuv's runner refuses root, so the tests run as the user
# the setup made (gosys-peer), in a network namespace of their own that has
# only loopback (nothing a test sends can leave the machine, and its fixed
# ports meet no one else's), with a /tmp of their own (the runner's fixed
# socket paths there meet no one else's either), from a private copy of the
# runner and its fixtures. The script needs root for that, and skips with a
# reason without it or without the setup.
#
# Time: each run has a wall-clock limit, libuv's own limit for the test
# times UV_TEST_TIMEOUT_MULTIPLIER plus a margin; a run past it is a failure
# (ps and, if gdb is there, every thread's stack go to the log first) and
# the suite goes on. GOSYS_PEER_DEADLINE (seconds since the epoch), when
# set, ends the suite early with one failed line saying how many tests did
# not run.
#
# Knobs: GOSYS_PEER_TESTS (names to run, default all), GOSYS_PEER_MODES
# (default "p1 p2"; " " runs plain only), GOSYS_PEER_REPEAT (default 10),
# GOSYS_PEER_REPEAT_MATCH (a grep -E pattern, default "signal"),
# GOSYS_PEER_RESULTS (where the table of results goes: mode, test, result,
# milliseconds, why; default tests/peer/libuv.results under the directory
# it starts in, beside make's libuv.log; not under /tmp, which is the
# namespace's own),
# UV_TEST_TIMEOUT_MULTIPLIER (default 2, as Debian's own build uses),
# GOSYS_PEER_CACHE and GOSYS_PEER_USER (as for the setup), GOSYS_PEER_TMP
# (where the work directory goes, default /var/tmp), KEEP=1 (leave it).
# shellcheck disable=SC2154 # work, san_rt, tap_n come from lib.sh; runner, srcdir, version from the ready file
set -u
cache=${GOSYS_PEER_CACHE:-/var/cache/gosys-peer}/libuv1
user=${GOSYS_PEER_USER:-gosys-peer}
skip_early() {
	echo "1..0 # SKIP $*"
	exit 0
}

results_file=${GOSYS_PEER_RESULTS:-$PWD/tests/peer/libuv.results}
case $results_file in /*) ;; *) results_file=$PWD/$results_file ;; esac
export GOSYS_PEER_RESULTS="$results_file"

# ---- 1. into a namespace of our own (the same process: unshare execs) --------
if [ "${GOSYS_PEER_NS:-}" != "$$" ]; then
	[ "$(id -u)" -eq 0 ] ||
		skip_early "needs root (a network namespace, and the $user user to run libuv's runner as)"
	[ -f "$cache/ready" ] ||
		skip_early "libuv's runner is not built: run sh tests/peer/libuv-setup.sh as root (.ci/setup does)"
	id -u "$user" >/dev/null 2>&1 || skip_early "no user $user: run sh tests/peer/libuv-setup.sh as root"
	for _c in unshare setpriv ip mount timeout; do
		command -v "$_c" >/dev/null 2>&1 || skip_early "$_c not installed"
	done
	unshare --net --mount true 2>/dev/null ||
		skip_early "cannot make a network and mount namespace here (unshare --net --mount)"
	# shellcheck disable=SC2093 # the line after runs only if exec fails
	GOSYS_PEER_NS=$$ exec unshare --net --mount --propagation private /bin/sh "$0" "$@"
	skip_early "unshare failed"
fi
# The build and source trees may themselves be under /tmp (a CI clone):
# the machine's /tmp stays reachable at a bind mount of its own in this
# namespace, and every path of ours under /tmp is moved there.
hosttmp=/var/tmp/gosys-peer-hosttmp
mkdir -p "$hosttmp" && mount --bind /tmp "$hosttmp" 2>/dev/null ||
	skip_early "cannot keep the machine's /tmp reachable (mount --bind)"
untmp() {
	case $1 in
	/tmp) echo "$hosttmp" ;;
	/tmp/*) echo "$hosttmp/${1#/tmp/}" ;;
	*) echo "$1" ;;
	esac
}
mount -t tmpfs -o mode=1777,size=1g gosys-peer-tmp /tmp 2>/dev/null ||
	skip_early "cannot mount a private /tmp"
GOSYS_SRCDIR=$(untmp "$GOSYS_SRCDIR")
GOSYS_BUILDDIR=$(untmp "${GOSYS_BUILDDIR:-.}")
GOSYS_LIB=$(untmp "$GOSYS_LIB")
GOSYS_PEER_RESULTS=$(untmp "$GOSYS_PEER_RESULTS")
results_file=$GOSYS_PEER_RESULTS
export GOSYS_SRCDIR GOSYS_BUILDDIR GOSYS_LIB GOSYS_PEER_RESULTS
cd "$(untmp "$PWD")" || skip_early "cannot return to the build directory"
ip link set lo up 2>/dev/null || skip_early "cannot bring up loopback in the namespace"
unset GOSYS_PEER_NS

# lib.sh's work directory goes outside the private /tmp, so KEEP=1 keeps it.
TMPDIR=${GOSYS_PEER_TMP:-/var/tmp}
export TMPDIR
. "$GOSYS_SRCDIR/tests/real/lib.sh"
need setpriv awk grep sed ps
skip_if_tsan_cannot_preload

# shellcheck disable=SC1091
. "$cache/ready" # version, srcdir, runner
[ -x "$runner" ] && [ -f "$srcdir/test/test-list.h" ] ||
	skip_all "the setup's runner $runner or source tree $srcdir is gone: run libuv-setup.sh again"
uid=$(id -u "$user")
gid=$(id -g "$user")
here=$(cd "$(dirname "$0")" && pwd)
known_file=$here/libuv-known.txt
modes=${GOSYS_PEER_MODES:-p1 p2}
repeat=${GOSYS_PEER_REPEAT:-10}
repeat_match=${GOSYS_PEER_REPEAT_MATCH:-signal}
mult=${UV_TEST_TIMEOUT_MULTIPLIER:-2}
token=gosys-peer-$$-$(date +%s)
exec 3<&- 4<&- 5<&- 6<&- 7<&- 8<&- 9<&- # nothing of make's reaches the tests

# The runner, its fixtures (it looks for test/fixtures under its working
# directory) and the library, copied where the user can read them: the
# build tree may not be readable by others, or may sit under /tmp.
run=$work/run
mkdir -p "$run/test" "$work/lib" "$work/out"
cp "$runner" "$run/uv_run_tests_a" && cp -R "$srcdir/test/fixtures" "$run/test/" &&
	cp -L "$GOSYS_LIB" "$work/lib/libgosys.so" || skip_all "cannot copy the runner or the library"
chmod 711 "$work"
chmod 755 "$work/lib" "$work/lib/libgosys.so"
chown -R "$uid:$gid" "$run"
lib=$work/lib/libgosys.so
preload=$lib
[ -n "$san_rt" ] && preload=$san_rt:$lib

# as_user SECONDS COMMAND...: timeout(1) of COMMAND run as the user, in a
# clean environment (what make exported stays out; GOSYS_STAGE_TAG stays in,
# for run-all.sh's clean-up, and the token marks every process of this run
# as ours). timeout(1) makes the run a process group of its own.
as_user() {
	_secs=$1
	shift
	timeout -k 5 "$_secs" setpriv --reuid="$uid" --regid="$gid" --clear-groups \
		env -i PATH=/usr/bin:/bin HOME="$run" USER="$user" LOGNAME="$user" \
		LC_ALL=C TZ=UTC TMPDIR=/tmp UV_TEST_TIMEOUT_MULTIPLIER="$mult" \
		GOSYS_PEER_RUN="$token" ${GOSYS_STAGE_TAG:+GOSYS_STAGE_TAG="$GOSYS_STAGE_TAG"} \
		${ASAN_OPTIONS:+ASAN_OPTIONS="$ASAN_OPTIONS"} "$@"
}
# Our processes: those whose environment holds the token.
ours() {
	for _p in /proc/[0-9]*; do
		tr '\0' '\n' 2>/dev/null <"$_p/environ" | grep -qx "GOSYS_PEER_RUN=$token" &&
			echo "${_p#/proc/}"
	done
}
cleanup() {
	for _p in $(ours); do kill -KILL "$_p" 2>/dev/null; done
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}

# ---- 2. the tests, their limits, the known failures -------------------------------
cd "$run" || skip_all "cannot enter $run"
if [ -n "${GOSYS_PEER_TESTS:-}" ]; then
	tests=$GOSYS_PEER_TESTS
else
	tests=$(as_user 60 "$run/uv_run_tests_a" --list 2>/dev/null </dev/null | awk '{ print $1 }')
fi
# shellcheck disable=SC2086 # one word a test
ntests=$(echo $tests | wc -w)
[ "$ntests" -gt 0 ] || skip_all "the runner lists no tests"
# libuv's own limit of each test, in ms (5000 unless test-list.h says).
awk -F'[(), \t]+' '/^[ \t]*TEST_ENTRY_CUSTOM/ { print $2, $5 }' \
	"$srcdir/test/test-list.h" >"$work/limits"
# Our limit: libuv's times the multiplier, plus 15 s for the runner to
# report libuv's own timeout before we call the run hung.
limit_of() {
	_ms=$(awk -v t="$1" '$1 == t { print $2; exit }' "$work/limits")
	echo $((${_ms:-5000} * mult / 1000 + 15))
}
# known_reason NAME: why the test cannot pass here, from libuv-known.txt
# (lines "NAME reason...", # comments).
known_reason() {
	[ -f "$known_file" ] || return 1
	awk -v t="$1" '$1 == t { $1 = ""; sub(/^ +/, ""); print; found = 1; exit }
		END { exit !found }' "$known_file"
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# dump PGID: the run's processes and threads, each thread's system call,
# and (gdb, for the first three hung runs only) their stacks, threads with
# the same chain of functions shown once, for the log.
dump() {
	echo "ps of the run (process group $1):"
	ps -e -L -o pgid=,pid=,tid=,stat=,wchan:22=,comm= | awk -v g="$1" '$1 == g {
		k = $2 " " $4 " " $5; c[k]++; if (!(k in f)) { f[k] = $0; o[++n] = k } }
		END { for (i = 1; i <= n; i++) print f[o[i]] (c[o[i]] > 1 ? " (and " c[o[i]] - 1 " more)" : "") }'
	for _p in $(ps -e -o pgid=,pid= | awk -v g="$1" '$1 == g { print $2 }'); do
		for _t in /proc/"$_p"/task/*; do
			echo "task ${_t##*/} of $_p: syscall $(cut -d' ' -f1-3 "$_t/syscall" 2>/dev/null)"
		done
	done | awk '{ k = $4 " " $6; c[k]++; if (!(k in f)) { f[k] = $0; o[++n] = k } }
		END { for (i = 1; i <= n; i++) print f[o[i]] (c[o[i]] > 1 ? " (and " c[o[i]] - 1 " more)" : "") }'
	echo x >>"$work/dumps"
	[ "$(wc -l <"$work/dumps")" -le 3 ] && command -v gdb >/dev/null 2>&1 || return 0
	for _p in $(ps -e -o pgid=,pid=,comm= | awk -v g="$1" '$1 == g && $3 ~ /^uv_run/ { print $2 }'); do
		echo "gdb: threads of $_p:"
		timeout -k 2 20 gdb -p "$_p" -batch -nx -ex 'thread apply all bt 12' 2>&1 |
			awk 'function flush() { if (th == "") return
				if (!(key in seen)) { order[++n] = key; head[key] = th; body[key] = fr }
				seen[key]++; th = "" }
			/^Thread / { flush(); th = $0; key = ""; fr = ""; next }
			/^#[0-9]/ && th != "" {
				fn = $0; sub(/^#[0-9]+ +(0x[0-9a-f]+ in )?/, "", fn); sub(/ .*/, "", fn)
				key = key " " fn; fr = fr "\n  " $0 }
			END { flush(); for (i = 1; i <= n; i++) {
				k = order[i]; more = ""
				if (seen[k] > 1) more = " and " (seen[k] - 1) " more with the same stack"
				printf "%s%s%s\n", head[k], more, body[k] } }' |
			head -120
	done
}
# hung PGID FILE: dumps the run to FILE, then ends everything in it but
# timeout(1) itself, which then exits 137 on its own (killing it too would
# have the shell print "Killed").
hung() {
	dump "$1" >"$2" 2>&1
	for _k in $(ps -e -o pgid=,pid= | awk -v g="$1" '$1 == g && $2 != g { print $2 }'); do
		kill -KILL "$_k" 2>/dev/null
	done
}

# run_one MODE TEST OUT: one run; sets res (pass, skip or fail), why, ms.
run_one() {
	_m=$1 _t=$2 _o=$3
	_lim=$(limit_of "$_t")
	rm -f "$_o" "$_o.hang" "$_o.rc"
	case $_m in
	plain) set -- ;;
	p[0-9]*) set -- LD_PRELOAD="$preload" GOSYS_MAXPROCS="${_m#p}" ;;
	esac
	_s=$(now_ms)
	# The clock is a sleep(1) that the run's job kills when the run ends;
	# the shell waits for the sleep (quietly: dash would say "Terminated").
	# No trap: nothing races with a signal.
	# If the sleep ends by itself, the run is past our limit: it is dumped
	# and ended; timeout(1), 40 s later, is the net under that.
	sleep "$_lim" &
	_sp=$!
	{
		as_user $((_lim + 40)) "$@" "$run/uv_run_tests_a" "$_t" >"$_o" 2>&1 </dev/null
		echo $? >"$_o.rc"
		kill "$_sp" 2>/dev/null
	} &
	_jp=$!
	if wait "$_sp" 2>/dev/null && [ ! -f "$_o.rc" ]; then
		_g=$(ps -o pid= --ppid "$_jp" | awk '{ print $1; exit }')
		[ -n "$_g" ] && hung "$_g" "$_o.hang"
	fi
	wait "$_jp"
	_rc=$(cat "$_o.rc" 2>/dev/null) || _rc=255
	ms=$(($(now_ms) - _s))
	_line=$(grep -m1 -E '^(not )?ok 1 - ' "$_o")
	why=
	case $_line in
	"ok 1 - $_t")
		res=pass
		[ "$_rc" -eq 0 ] || { res=fail why="ok, then exit status $_rc"; }
		;;
	"ok 1 - $_t # SKIP"*)
		res=skip why=${_line#*# SKIP}
		why=${why# }
		[ "$_rc" -eq 7 ] || { res=fail why="skipped, then exit status $_rc"; }
		;;
	"not ok 1 - $_t"*)
		res=fail
		why=$(sed -n 's/^# \(timeout\|exit code .*\|No test with that name.*\)$/\1/p' "$_o" | head -1)
		[ -n "$why" ] || why="exit status $_rc"
		case $why in timeout) why="libuv's own timeout, $(awk -v t="$_t" '$1 == t { print $2; f = 1 }
			END { if (!f) print 5000 }' "$work/limits") ms x $mult" ;; esac
		;;
	*)
		res=fail
		if [ -s "$_o.hang" ]; then
			why="hung: ended after ${_lim}s (no result from libuv's runner)"
		else
			why="no result line, exit status $_rc"
		fi
		;;
	esac
	printf '%s %s %s %s %s\n' "$_m" "$_t" "$res" "$ms" "$why" >>"$work/results"
}
# show OUT: a failed run's output (and dump) as TAP comments; awk ends
# every line, so an output without a last newline cannot swallow the next
# TAP line.
show() {
	head -60 "$1" | awk '{ print "# " $0 }'
	[ -s "$1.hang" ] && awk '{ print "# " $0 }' "$1.hang"
	return 0
}
case_of() { # "pass" or "skip (reason)" or "fail (why)"
	case $1 in pass) echo pass ;; *) echo "$1 ($2)" ;; esac
}

# ---- 3. run and report -------------------------------------------------------------
for _m in $modes; do
	as_user 60 env LD_PRELOAD="$preload" GOSYS_MAXPROCS="${_m#p}" cat /proc/self/maps >"$work/maps" 2>&1
	check "$_m: the library is mapped in libuv's runner's processes" grep -qF "$lib" "$work/maps"
done
echo "libuv1 $version: $ntests tests; modes plain $modes; signal tests ($repeat_match) $repeat more times a mode" | diag
t_start=$(date +%s)
left_out=0
n=0
mismatches=
for t in $tests; do
	n=$((n + 1))
	if [ -n "${GOSYS_PEER_DEADLINE:-}" ] &&
		[ $(($(date +%s) + 3 * $(limit_of "$t"))) -gt "$GOSYS_PEER_DEADLINE" ]; then
		left_out=$((ntests - n + 1))
		break
	fi
	out=$work/out/$t
	mkdir -p "$out"
	run_one plain "$t" "$out/plain"
	pres=$res pwhy=$why
	reason=$(known_reason "$t") || reason=
	case $pres in
	pass) ok "plain: $t" ;;
	skip) ok "plain: $t # SKIP $pwhy" ;;
	fail)
		if [ -n "$reason" ]; then
			ok "plain: $t # SKIP fails here without the library ($pwhy): $reason"
		else
			not_ok "plain: $t fails without the library ($pwhy) # TODO not in libuv-known.txt"
			tap_failed=$((tap_failed - 1)) # a TODO line reports, it does not fail
			show "$out/plain"
		fi
		;;
	esac
	for m in $modes; do
		run_one "$m" "$t" "$out/$m"
		if [ "$pres" = fail ]; then
			if [ "$res" = fail ]; then
				ok "$m: $t fails, as plain"
			else
				ok "$m: $t $(case_of "$res" "$why"), plain fails # SKIP not compared: fails without the library"
			fi
		elif [ "$res" = "$pres" ] && [ "$why" = "$pwhy" ]; then
			ok "$m: $t $(case_of "$res" "$why"), as plain"
		else
			not_ok "$m: $t $(case_of "$res" "$why"); plain: $(case_of "$pres" "$pwhy")"
			mismatches="$mismatches $m:$t"
			show "$out/$m"
		fi
	done
	# The signal tests again, a few more times a mode: a rare hang there
	# must show up as a failure. Each mode stops at its first mismatch.
	if [ "$repeat" -gt 0 ] && [ "$pres" != fail ] && echo "$t" | grep -qE -- "$repeat_match"; then
		for m in $modes; do
			i=0 bad=
			while [ $i -lt "$repeat" ]; do
				i=$((i + 1))
				run_one "$m" "$t" "$out/$m.again"
				if [ "$res" != "$pres" ] || [ "$why" != "$pwhy" ]; then
					bad="run $i of $repeat: $(case_of "$res" "$why")"
					break
				fi
			done
			if [ -z "$bad" ]; then
				ok "$m: $t x$repeat more, each $(case_of "$pres" "$pwhy") as plain"
			else
				not_ok "$m: $t x$repeat more: $bad; plain: $(case_of "$pres" "$pwhy")"
				mismatches="$mismatches $m:$t(again)"
				show "$out/$m.again"
			fi
		done
	fi
	[ -n "${KEEP:-}" ] || rm -rf "$out"
done
if [ "$left_out" -gt 0 ]; then
	not_ok "out of time: $left_out of $ntests tests not run (GOSYS_PEER_DEADLINE)"
fi

# ---- 4. figures ------------------------------------------------------------------
{
	echo "libuv1 $version, $ntests tests, $(($(date +%s) - t_start))s in all"
	awk '{ n[$1]++; r[$1 " " $3]++; ms[$1] += $4 }
	END { for (m in n) printf "%s: %d runs, %d pass, %d skip, %d fail, %.1fs\n", m, n[m],
		r[m " pass"], r[m " skip"], r[m " fail"], ms[m] / 1000 }' "$work/results" 2>/dev/null | sort
	echo "slowest plain runs (ms):"
	awk '$1 == "plain" { print $4, $2 }' "$work/results" 2>/dev/null | sort -rn | head -8
	echo "mismatches:${mismatches:- none}"
} | diag
case $results_file in
/tmp/*) echo "results table not kept: $results_file is under the namespace's own /tmp" | diag ;;
*) mkdir -p "$(dirname "$results_file")" && cp "$work/results" "$results_file" ;;
esac
plan "$tap_n"
done_testing
