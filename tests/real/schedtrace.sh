#!/bin/sh
# SPDX-License-Identifier: MIT
# GOSYS_DEBUG=schedtrace=MS and scheddetail=1 (src/trace.c), on
# tests/real/observe: every SCHED line has Go's shape and our fields, and its
# numbers agree with each other; in the window where the program's four
# threads all sit in read() (three workers, then main, seen in the kernel by
# /proc), every line says so and agrees with gosys_schedstats' snapshot taken
# by the program itself. Nothing here depends on how fast anything runs: the
# script waits for lines, never for time. Standard output is the plain
# run's, and the exit status 0.
. "$GOSYS_SRCDIR/tests/real/lib.sh"
prog=$GOSYS_BUILDDIR/tests/real/observe
skip_if_tsan_cannot_preload
plan 12

# run NAME KNOBS [nolines]: observe trace under the library with
# GOSYS_DEBUG=KNOBS, its stderr in $work/NAME.err; the window's lines (from
# the moment main is in read(0)) in $work/NAME.win.
run() {
	_n=$1
	rm -f "$work/in"
	mkfifo "$work/in"
	timeout -k 5 120 env LD_PRELOAD="$preload" GOSYS_MAXPROCS=2 GOSYS_DEBUG="$2" \
		"$prog" trace <"$work/in" >"$work/$_n.out" 2>"$work/$_n.err" &
	_job=$!
	exec 3>"$work/in"
	# MARK begin, then main in read(0): from then on every line is the window's.
	_i=0
	until grep -q '^MARK begin' "$work/$_n.err" 2>/dev/null; do
		_i=$((_i + 1)); [ $_i -le 600 ] || break; sleep 0.1
	done
	_pid=$(sed -n 's/^MARK begin pid=\([0-9]*\).*/\1/p' "$work/$_n.err")
	_i=0
	until read -r _nr _rest <"/proc/${_pid:-0}/syscall" 2>/dev/null && [ "$_nr" = 0 ]; do
		_i=$((_i + 1)); [ $_i -le 600 ] || break; sleep 0.1
	done
	_off=$(wc -c <"$work/$_n.err")
	# Three whole lines after that, however long the monitor takes.
	_i=0
	[ $# -lt 3 ] || _i=601
	until [ $_i -gt 600 ] || [ "$(tail -c +$((_off + 1)) "$work/$_n.err" | grep -c '^SCHED .*nop=[0-9]*$')" -ge 3 ]; do
		_i=$((_i + 1)); [ $_i -le 600 ] || break; sleep 0.1
	done
	tail -c +$((_off + 1)) "$work/$_n.err" >"$work/$_n.win"
	echo x >&3
	exec 3>&-
	wait $_job
	echo $? >"$work/$_n.status"
	sed -n '/^MARK end/q;p' "$work/$_n.win" >"$work/$_n.win2" && mv "$work/$_n.win2" "$work/$_n.win"
}

# The shape of every line, and what holds in any instant:
# waiting+running+syscall+blocked+nop = threads; idleprocs <= gomaxprocs;
# idlethreads <= blocked; times never go back.
RE='^SCHED [0-9]+ms: gomaxprocs=[0-9]+ idleprocs=[0-9]+ threads=[0-9]+ spinningthreads=[0-9]+ idlethreads=[0-9]+ waiting=[0-9]+ running=[0-9]+ syscall=[0-9]+ blocked=[0-9]+ nop=[0-9]+$'
lines_ok() {
	grep '^SCHED' "$1" >"$work/lines"
	[ -s "$work/lines" ] || { echo "no SCHED lines" | diag; return 1; }
	if grep -Ev "$RE" "$work/lines" >"$work/bad"; then
		echo "lines not of the form:" | diag; diag <"$work/bad"; return 1
	fi
	sed 's/ms:/ /; s/[a-z]*=//g; s/^SCHED //' "$work/lines" | awk '
		{ t = $1; mp = $2; ip = $3; th = $4; it = $6; w = $7; r = $8; sc = $9; b = $10; n = $11
		  if (w + r + sc + b + n != th) { print "sum != threads: " $0; bad = 1 }
		  if (ip > mp || mp != 2) { print "procs: " $0; bad = 1 }
		  if (it > b) { print "idlethreads > blocked: " $0; bad = 1 }
		  if (t < last) { print "time went back: " $0; bad = 1 }
		  last = t }
		END { exit bad }' | diag
}
# In the window: all four threads in read(), nobody waiting, and the Ps held
# are the blocked ones that kept theirs; schedstats' gauges agree.
window_ok() {
	grep '^SCHED' "$1" >"$work/wlines"
	[ "$(wc -l <"$work/wlines")" -ge 3 ] || { echo "fewer than 3 lines in the window" | diag; return 1; }
	m=$(grep '^MARK begin' "$2")
	echo "$m" | grep -q ' threads=4 maxprocs=2 waiting=0$' || { echo "schedstats: $m" | diag; return 1; }
	sed 's/ms:/ /; s/[a-z]*=//g; s/^SCHED //' "$work/wlines" | awk '
		{ mp = $2; ip = $3; th = $4; it = $6; w = $7; r = $8; sc = $9; b = $10; n = $11
		  if (th != 4 || w != 0 || r != 0 || n != 0 || sc + b != 4) { print "state: " $0; bad = 1 }
		  if (sc + b - it != mp - ip) { print "Ps held != Ms holding: " $0; bad = 1 } }
		END { exit bad }' | diag
}

[ -x "$prog" ] || echo "# $prog not built" >&2
timeout -k 5 60 "$prog" trace </dev/null >"$work/plain.out" 2>"$work/plain.err"
check "plain run prints done" grep -qx done "$work/plain.out"

run trace schedtrace=20
check "schedtrace: exit status 0" grep -qx 0 "$work/trace.status"
check "schedtrace: stdout as the plain run's" cmp -s "$work/plain.out" "$work/trace.out"
check "schedtrace: every line parses and adds up" lines_ok "$work/trace.err"
check "schedtrace: the window's lines match the program's state and gosys_schedstats" \
	window_ok "$work/trace.win" "$work/trace.err"

run detail schedtrace=20,scheddetail=1
check "scheddetail: exit status 0" grep -qx 0 "$work/detail.status"
check "scheddetail: SCHED lines parse and add up" lines_ok "$work/detail.err"
# After each window line: one P line per P (ids 0..gomaxprocs-1) and one M
# line per thread, each naming a thread of the process.
detail_ok() {
	awk '/^SCHED/ { if (s) { if (np != mp || nm != th) { print "P/M lines: " np "/" nm " for " s; bad = 1 } }
			s = $0; np = 0; nm = 0
			for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "gomaxprocs") mp = kv[2]; if (kv[1] == "threads") th = kv[2] }
			next }
		/^  P[0-9]+: status=(idle|running|dead) m=-?[0-9]+ schedtick=[0-9]+/ { np++; next }
		/^  \.\.\. [0-9]+ more Ps idle, never held$/ { np += $2; next }
		/^  M[0-9]+: p=-?[0-9]+ status=(running|syscall|blocked|waiting|nop) incall=[0-9]+ tick=[0-9]+ preempt=[0-9]+ parked=[0-9]+/ { nm++; next }
		/^MARK/ { next }
		{ print "unexpected: " $0; bad = 1 }
		END { if (s && (np != mp || nm != th)) { print "P/M lines: " np "/" nm " for " s; bad = 1 }; exit bad }' "$1" | diag
}
check "scheddetail: one line per P and per M after each SCHED line" detail_ok "$work/detail.win"
check "scheddetail: the window's lines match" window_ok "$work/detail.win" "$work/detail.err"

# Off: not a line, and the same output.
run off asyncpreempt=1 nolines
check "schedtrace=0: no SCHED line" sh -c '! grep -q "^SCHED" "$1"' sh "$work/off.err"
check "schedtrace=0: stdout as the plain run's" cmp -s "$work/plain.out" "$work/off.out"
# The launcher's short form.
case $san_rt in
*libasan*) ASAN_OPTIONS=$ASAN_OPTIONS:verify_asan_link_order=0 ;;
esac
rm -f "$work/in"
mkfifo "$work/in"
timeout -k 5 120 env GOSYS_MAXPROCS=2 "$GOSYS_BUILDDIR/tools/gosys" --trace 20 -- "$prog" trace \
	<"$work/in" >"$work/l.out" 2>"$work/l.err" &
lpid=$!
exec 3>"$work/in"
i=0
until [ "$(grep -c '^SCHED' "$work/l.err" 2>/dev/null)" -ge 2 ]; do
	i=$((i + 1)); [ $i -le 600 ] || break; sleep 0.1
done
echo x >&3
exec 3>&-
wait $lpid
check "gosys --trace 20: SCHED lines that parse" lines_ok "$work/l.err"
done_testing
