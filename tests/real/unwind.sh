#!/bin/sh
# SPDX-License-Identifier: MIT
# Debuggers and unwinders walk out of the signal frames of a program under
# the library (tests/real/unwind.c), through whichever rt_sigreturn restorer
# the kernel returns by: libc's, or the library's __gosys_sigreturn, whose
# unwind information (src/arch/x86_64/syscall.S) describes the frame.
#   gdb: a thread parked inside the preemption handler (GOSYS_MAXPROCS=1, two
#        threads computing) unwinds to its start routine; a program handler
#        blocked in sigsuspend (SIGUSR1, and SIGURG, which reaches it from
#        behind the library's preemption handler) unwinds to main.
#   libunwind and libgcc, from inside the handler, reach main.
#   perf record --call-graph dwarf: samples taken in the handler reach main.
# The program runs under gdb (no ptrace attach needed) inside timeout(1).
. "$GOSYS_SRCDIR/tests/real/lib.sh"
prog=$GOSYS_BUILDDIR/tests/real/unwind
skip_if_tsan_cannot_preload
plan 10
[ -x "$prog" ] || echo "# $prog not built" >&2
GT=${GOSYS_UNWIND_TIMEOUT:-60}
# In the environment of every command this script starts (not its own), so
# that the last check finds whatever of this run is left, and nothing else.
RUNTAG=GOSYS_UNWIND_RUN=$work
case $san_rt in *libtsan*) tsan=1 ;; *) tsan= ;; esac
# gdb, if it is here and may trace a program (a container can forbid ptrace).
have_gdb=
no_gdb="gdb not installed"
if command -v gdb >/dev/null 2>&1; then
	timeout -k 5 "$GT" gdb -nx -batch -q -ex 'set startup-with-shell off' -ex run \
		--args /bin/true >"$work/probe.gdb" 2>&1 </dev/null
	if grep -q 'exited normally' "$work/probe.gdb"; then
		have_gdb=1
	else
		no_gdb="gdb cannot run a program here: $(grep -v '^$' "$work/probe.gdb" | head -1)"
	fi
fi

# under_gdb OUT ARG...: the program run by gdb, all threads' backtraces in OUT
# when it stops (SIGTRAP, SIGINT). gdb passes SIGURG and SIGUSR1 to the
# program without stopping, and kills it when its commands are done.
under_gdb() {
	_ug_out=$1
	shift
	env "$RUNTAG" timeout -k 5 "$GT" gdb -nx -batch -q \
		-iex 'set debuginfod enabled off' \
		-ex 'set startup-with-shell off' \
		-ex "set environment LD_PRELOAD $preload" \
		-ex 'set environment GOSYS_MAXPROCS 1' \
		-ex 'handle SIGURG nostop noprint pass' \
		-ex 'handle SIGUSR1 nostop noprint pass' \
		-ex run \
		-ex 'thread apply all bt' \
		--args "$prog" "$@" >"$_ug_out" 2>&1 </dev/null
}

# wait_for FILE REGEX: until a line of FILE matches, at most 30 s.
wait_for() {
	_wf_n=0
	until grep -Eq "$2" "$1" 2>/dev/null; do
		_wf_n=$((_wf_n + 1))
		[ $_wf_n -le 300 ] || return 1
		sleep 0.1
	done
}

# wait_syscall PID NR: until the thread PID blocks in system call NR (34
# pause, 130 rt_sigsuspend), at most 10 s; 1 s if /proc cannot tell.
wait_syscall() {
	_ws_n=0
	while [ $_ws_n -lt 100 ]; do
		read -r _ws_nr _ws_rest 2>/dev/null <"/proc/$1/syscall" || {
			sleep 1
			return 0
		}
		[ "$_ws_nr" = "$2" ] && return 0
		_ws_n=$((_ws_n + 1))
		sleep 0.1
	done
	echo "pid $1 not seen in system call $2: $_ws_nr" | diag
	return 1
}

# fr NAME-REGEX: a regex for a gdb backtrace line of a frame in that function.
fr() { printf '^#[0-9]+ +(0x[0-9a-f]+ in )?(%s)[ (]' "$1"; }
SIGFRAME='^#[0-9]+ +<signal handler called>'
# A frame in a system library that has no symbols for it (libc6-dbg missing).
LIBC_FRAME='^#[0-9]+ +0x[0-9a-f]+ in \?\? \(\) from /(usr/)?lib'

# bt_has FILE REGEX...: some thread's backtrace in FILE has a line matching
# each REGEX, in this order (from the innermost frame out).
bt_has() {
	_bh_f=$1
	shift
	BT_PATS=$(printf '%s\n' "$@") awk '
	BEGIN { n = split(ENVIRON["BT_PATS"], p, "\n") }
	/^Thread [0-9]+ / { if (k > n) found = 1; k = 1; next }
	k && k <= n && $0 ~ p[k] { k++ }
	END { if (k > n) found = 1; exit !found }' "$_bh_f"
}

# shown FILE: the backtraces as TAP comments.
shown() { sed -n '/^Thread [0-9]* (/,$p' "$1" | head -80 | diag; }

# ---- 1, 2: a thread parked by the preemption signal ----------------------------

if [ -z "$have_gdb" ]; then
	ok "gdb: a thread parked in the preemption handler unwinds to its start # SKIP $no_gdb"
	ok "gdb: every frame of every thread has a name # SKIP $no_gdb"
elif [ -n "$tsan" ]; then
	# ThreadSanitizer delivers an asynchronous signal only when the thread
	# enters its runtime, which a thread computing without calls never does.
	ok "gdb: a thread parked in the preemption handler unwinds to its start # SKIP TSan defers SIGURG off a computing thread"
	ok "gdb: every frame of every thread has a name # SKIP TSan build"
else
	out=$work/preempt.gdb
	under_gdb "$out" preempt "$work/preempt.status"
	if bt_has "$out" "$(fr gosys__preempt_handler)" "$SIGFRAME" "$(fr spin_here)" \
		"$(fr spin_worker)" "$(fr 'start_thread|clone3|clone')|$LIBC_FRAME"; then
		ok "gdb: a thread parked in the preemption handler unwinds to its start"
	else
		not_ok "gdb: a thread parked in the preemption handler unwinds to its start"
		[ -f "$work/preempt.status" ] && diag <"$work/preempt.status"
		shown "$out"
	fi
	# Below a frame it cannot unwind, gdb shows "?? ()" or gives up. (In the
	# system's libraries without their debug symbols, "?? () from" is just
	# an unnamed static function.)
	if grep -q '^Thread [0-9]* (' "$out" &&
		! grep -E '^#[0-9]+ +(0x[0-9a-f]+ in )?\?\? |^Backtrace stopped' "$out" |
		grep -Evq "$LIBC_FRAME"; then
		ok "gdb: every frame of every thread has a name"
	else
		not_ok "gdb: every frame of every thread has a name"
		grep -E '^Thread [0-9]* \(|\?\? |^Backtrace stopped' "$out" | head -20 | diag
	fi
fi

# ---- 3, 4: a program handler blocked on the main thread --------------------------

# block SIG: the handler for SIG blocks in sigsuspend, gdb stops the program
# there (SIGINT), and the main thread's backtrace reaches main through the
# signal frame.
block() {
	_bl_name="gdb: a SIG$1 handler blocked in sigsuspend unwinds to main"
	[ -n "$have_gdb" ] || {
		ok "$_bl_name # SKIP $no_gdb"
		return
	}
	_bl_out=$work/block$1.gdb
	_bl_st=$work/block$1.status
	under_gdb "$_bl_out" block "$_bl_st" "$1" &
	_bl_gdb=$!
	_bl_pid=
	_bl_stopped=
	if wait_for "$_bl_st" '^ready'; then
		_bl_pid=$(awk '$1 == "pid" { print $2; exit }' "$_bl_st")
		wait_syscall "$_bl_pid" 34 # in pause(), inside wait_here
		kill -"$1" "$_bl_pid"
		wait_for "$_bl_st" '^blocked' && wait_syscall "$_bl_pid" 130 &&
			kill -INT "$_bl_pid" && _bl_stopped=1
	fi
	# gdb ends by itself once the program has stopped, or died: if it never
	# got to sigsuspend, end it. (A gdb that never started it ends anyway.)
	[ -n "$_bl_pid" ] && [ -z "$_bl_stopped" ] && kill -KILL "$_bl_pid" 2>/dev/null
	wait "$_bl_gdb"
	if bt_has "$_bl_out" "$(fr '[_A-Za-z]*sigsuspend')" "$(fr blocked_in_handler)" "$SIGFRAME" \
		"$(fr wait_here)" "$(fr main)"; then
		ok "$_bl_name"
	else
		not_ok "$_bl_name"
		[ -f "$_bl_st" ] && diag <"$_bl_st"
		shown "$_bl_out"
	fi
}
block USR1
block URG

# ---- 5-8: libunwind and libgcc from inside the handler ----------------------------

# walk SIG: the program walks its stack in a handler for SIG with each
# unwinder, and prints "ok NAME", "not ok NAME: frames", or "skip NAME" for
# one it was built without.
for sig in USR1 URG; do
	timeout -k 5 "$GT" env "$RUNTAG" LD_PRELOAD="$preload" GOSYS_MAXPROCS=1 "$prog" walk "$sig" \
		>"$work/walk$sig" 2>"$work/walk$sig.err" </dev/null
	for u in libunwind libgcc; do
		name="$u: the walk from a SIG$sig handler reaches main"
		if grep -qx "ok $u" "$work/walk$sig"; then
			ok "$name"
		elif grep -qx "skip $u" "$work/walk$sig"; then
			ok "$name # SKIP not built with libunwind (libunwind-dev)"
		else
			not_ok "$name"
			cat "$work/walk$sig" "$work/walk$sig.err" | diag
		fi
	done
done

# ---- 9: perf's DWARF call graphs --------------------------------------------------

# The handler computes for 300 ms behind the library's preemption handler
# (SIGURG), so its samples are taken above the library's restorer.
perf_check() {
	_pc_name="perf: samples in a SIGURG handler have call chains that reach main"
	command -v perf >/dev/null 2>&1 || {
		ok "$_pc_name # SKIP perf not installed"
		return
	}
	if ! timeout -k 5 "$GT" perf record -q -o "$work/probe.data" --call-graph dwarf -- true \
		>"$work/probe.err" 2>&1; then
		ok "$_pc_name # SKIP perf record --call-graph dwarf does not work here: $(head -1 "$work/probe.err")"
		return
	fi
	timeout -k 5 "$GT" perf record -q -F 1000 -o "$work/perf.data" --call-graph dwarf,32768 -- \
		env "$RUNTAG" LD_PRELOAD="$preload" GOSYS_MAXPROCS=1 "$prog" spin URG \
		>"$work/perf.out" 2>&1 </dev/null
	timeout -k 5 "$GT" perf script -i "$work/perf.data" -F ip,sym >"$work/perf.txt" 2>"$work/perf.err"
	# One sample per paragraph: count those in burn, and those of them that
	# reach main through wait_here.
	# shellcheck disable=SC2046
	set -- $(awk '
	function flush() { if (inburn) { n++; if (wait && main) good++ } inburn = wait = main = 0 }
	/^[ \t]*$/ { flush(); next }
	$2 == "burn" { inburn = 1 }
	$2 == "wait_here" && inburn { wait = 1 }
	$2 == "main" && wait { main = 1 }
	END { flush(); print n + 0, good + 0 }' "$work/perf.txt")
	echo "$2 of $1 samples in the handler reach main" | diag
	# Most must: a few are taken where no unwinder can go (a prologue's first
	# instruction, the middle of a library entry).
	if [ "$1" -gt 0 ] && [ $(($2 * 2)) -gt "$1" ]; then
		ok "$_pc_name"
	else
		not_ok "$_pc_name"
		cat "$work/perf.out" "$work/perf.err" | head -10 | diag
		awk '/^[ \t]*$/ { if (b) exit; next } $2 == "burn" { b = 1 } b' "$work/perf.txt" | diag
	fi
}
perf_check

# ---- 10: nothing of this run left running ----------------------------------------

left=
for p in /proc/[0-9]*; do
	tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -qxF "$RUNTAG" && left="$left ${p#/proc/}"
done
if [ -z "$left" ]; then
	ok "no program left running"
else
	not_ok "no program left running"
	# shellcheck disable=SC2086
	ps -o pid=,args= -p "$(echo $left | tr ' ' ,)" 2>/dev/null | diag
	# shellcheck disable=SC2086
	kill -KILL $left 2>/dev/null
fi
done_testing
