#!/bin/sh
# SPDX-License-Identifier: MIT
# gosys dump PID (tools/gosys-dump.c) on tests/real/observe, run under the
# library with GOSYS_MAXPROCS=1 and no knob: a thread asleep in read() on a
# pipe is named, with read and its arguments, and its backtrace reaches the
# program's own functions; a thread inside a program's SIGUSR1 handler and
# a spinner parked by the preemption signal are shown as such, and their
# backtraces go through the signal frames (the library's restorer has CFI)
# to the functions the signals interrupted; the program then ends as a plain
# run does. Refusals: a process without the library, a bad PID.
. "$GOSYS_SRCDIR/tests/real/lib.sh"
prog=$GOSYS_BUILDDIR/tests/real/observe
gosys=$GOSYS_BUILDDIR/tools/gosys
skip_if_tsan_cannot_preload
[ -x "$GOSYS_BUILDDIR/tools/gosys-dump" ] || skip_all "tools/gosys-dump not built"
# ptrace may be forbidden here (a container without CAP_SYS_PTRACE).
sleep 30 &
probe=$!
if ! "$GOSYS_BUILDDIR/tools/gosys-dump" $probe 2>"$work/probe" | :; then :; fi
kill $probe 2>/dev/null
wait $probe 2>/dev/null
grep -q 'cannot trace\|cannot read the memory' "$work/probe" && skip_all "$(head -1 "$work/probe")"
case $san_rt in
*libasan*) ASAN_OPTIONS=$ASAN_OPTIONS:verify_asan_link_order=0 ;;
esac
plan 12

rm -f "$work/in"
mkfifo "$work/in"
timeout -k 5 120 env LD_PRELOAD="$preload" GOSYS_MAXPROCS=1 \
	"$prog" dump "$work/status" <"$work/in" >"$work/out" 2>"$work/err" &
job=$!
exec 3>"$work/in"
i=0
until grep -qx ready "$work/status" 2>/dev/null; do
	i=$((i + 1)); [ $i -le 600 ] || break; sleep 0.1
done
pid=$(sed -n 's/^pid //p' "$work/status")
# A dump is one instant: the spinner that is not running may be caught in
# the few instructions of its yield (its P handed over, not yet queued),
# more often on a loaded machine. Up to five dumps, until one shows it
# queued; every other check holds in any of them.
n=0
while :; do
	timeout -k 5 60 "$gosys" dump $pid >"$work/dump" 2>"$work/dump.err"
	echo $? >"$work/dump.status"
	n=$((n + 1))
	grep -q '^thread [0-9]* "spinner" [[]waiting for a P, preempted by SIGURG' "$work/dump" &&
		break
	[ $n -lt 5 ] || break
	sleep 0.2
done
echo x >&3
exec 3>&-
wait $job
echo $? >"$work/status.exit"
echo "---- the dump:" | diag
diag <"$work/dump"
diag <"$work/dump.err"

# block NAME: the dump's paragraph for the (first) thread named NAME that
# matches the header pattern $2.
block() {
	NAME="\"$1\"" PAT=$2 awk '
		/^thread / { on = index($0, ENVIRON["NAME"]) > 0 && $0 ~ ENVIRON["PAT"] }
		/^$/ { on = 0 }
		on' "$work/dump"
}
# has NAME PAT FRAME...: the thread's header matches PAT and its frames
# name each FRAME, in this order from the innermost.
has() {
	_name=$1 _pat=$2
	shift 2
	block "$_name" "$_pat" >"$work/b"
	[ -s "$work/b" ] || { echo "no thread \"$_name\" whose header matches /$_pat/" | diag; return 1; }
	for _f in "$@"; do
		_l=$(grep -n " $_f+0x" "$work/b" | head -1 | cut -d: -f1)
		[ -n "$_l" ] || { echo "$_name: no frame $_f" | diag; return 1; }
		sed "1,${_l}d" "$work/b" >"$work/b2" && mv "$work/b2" "$work/b"
	done
}
# sigframe NAME PAT RESTORER SIG FRAME: in that thread, a signal frame of
# SIG (returning through RESTORER) comes before (outside of) FRAME, the
# program's function the signal interrupted.
sigframe() {
	block "$1" "$2" | F=" $5+0x" R=" $3+0x0 " SIG="<signal frame: $4>" awk '
		seen && index($0, ENVIRON["F"]) { found = 1 }
		index($0, ENVIRON["SIG"]) && index($0, ENVIRON["R"]) { seen = 1 }
		END { exit !found }'
}

check "gosys dump exits 0" grep -qx 0 "$work/dump.status"
check "the dump names the process and its scheduler" \
	grep -Eq "^gosys dump of pid $pid \(observe\), .* gomaxprocs=1 idleprocs=[0-9]+ threads=5 " "$work/dump"
check "reader: blocked in read(fd, buf, 1), its P gone, frames read_here and main's thread" \
	has reader '[[](blocked in|in syscall) read[(][0-9]+, 0x[0-9a-f]+, 1[)], [0-9.]+ [a-z]+, P (none|0)[]]:$' read_here reader_thread
check "handler: in a SIGUSR1 handler, in rt_sigsuspend, frames handler_here then handler_wait" \
	has handler 'rt_sigsuspend[(].*[)], in a SIGUSR1 handler' handler_here handler_wait
check "handler: the SIGUSR1 signal frame (libc's restorer) leads to handler_wait" \
	sigframe handler 'SIGUSR1' __restore_rt SIGUSR1 handler_wait
check "spinner: waiting for a P, preempted by SIGURG, back to spin_here" \
	has spinner 'waiting for a P, preempted by SIGURG' spin_here spinner
check "spinner: the SIGURG signal frame (the library's restorer) leads to spin_here" \
	sigframe spinner 'preempted by SIGURG' __gosys_sigreturn SIGURG spin_here
check "main: blocked in read(0, ...), frames main_wait and main" \
	has observe 'blocked in read[(]0, ' main_wait main
check "the program exits 0" grep -qx 0 "$work/status.exit"
check "the program's stdout and stderr are a plain run's (done, nothing)" \
	sh -c 'grep -qx done "$1" && [ ! -s "$2" ]' sh "$work/out" "$work/err"

# Refusals.
sleep 30 &
plain=$!
timeout -k 5 60 "$gosys" dump $plain >"$work/r.out" 2>"$work/r.err"
rc=$?
kill $plain 2>/dev/null
wait $plain 2>/dev/null
check "a process without the library: exit 1, one gosys: line" \
	sh -c '[ $1 = 1 ] && grep -q "^gosys: dump: pid $2 does not run under libgosys" "$3" && [ ! -s "$4" ]' \
	sh $rc $plain "$work/r.err" "$work/r.out"
timeout -k 5 60 "$gosys" dump 12x >"$work/r.out" 2>"$work/r.err"
rc=$?
check "a bad PID: exit 2, one gosys: line" \
	sh -c '[ $1 = 2 ] && [ "$(cat "$2")" = "gosys: dump: '\''12x'\'' is not a process id" ]' sh $rc "$work/r.err"
done_testing
