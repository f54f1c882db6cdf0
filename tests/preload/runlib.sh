# SPDX-License-Identifier: MIT
# tests/preload/runlib.sh - sourced by the scripts that drive a runs.h
# program (sigsusp.sh, siglock.sh, unseen.sh): skips when the program or the
# library is missing, or the library is a TSan build (which cannot be
# preloaded); runs the program's cases plain and under the library, one
# driver per mode; prints TAP as the lines come, and the plan at the end.
#
#   runlib_init PROG          tests/preload/PROG in the build tree
#   runlib_use PROG           switch to another program (0 if built; if
#                             not, 1, after a skipped line for it)
#   runlib_mode MAXPROCS KNOBS RUNS [DRIVER-ARGS...]
#                             MAXPROCS "plain" runs without the library;
#                             KNOBS is GOSYS_DEBUG ("" for none)
#   runlib_end
#
# A driver that dies, or prints fewer lines than it has cases, adds a
# failing line, so a crash of the judge is never a pass.
set -u
unset LD_PRELOAD GOSYS_MAXPROCS GOSYS_DEBUG
runlib_n=0

runlib_init() {
	[ -f "$GOSYS_LIB" ] || { echo "1..0 # SKIP libgosys.so not built"; exit 0; }
	if nm -D "$GOSYS_LIB" 2>/dev/null | grep -q ' __tsan_init'; then
		echo "1..0 # SKIP libgosys.so is built with TSan, which cannot be preloaded"
		exit 0
	fi
	[ -x "$GOSYS_BUILDDIR/tests/preload/$1" ] || { echo "1..0 # SKIP $1 not built"; exit 0; }
	# An ASan-built program has the ASan runtime as a dependency, which the
	# preloaded library then comes before.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
	export ASAN_OPTIONS
	runlib_out=$(mktemp "${TMPDIR:-/tmp}/gosys-runlib.XXXXXX") || exit 99
	trap 'rm -f "$runlib_out"' EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	runlib_use "$1"
}

runlib_use() {
	runlib_prog="$GOSYS_BUILDDIR/tests/preload/$1"
	runlib_name=$1
	if [ ! -x "$runlib_prog" ]; then
		echo "ok - $1 # SKIP not built"
		runlib_n=$((runlib_n + 1))
		return 1
	fi
	runlib_ncases=$("$runlib_prog" --list | wc -l)
}

runlib_mode() {
	_rl_p=$1 _rl_k=$2 _rl_runs=$3
	shift 3
	if [ "$_rl_p" = plain ]; then
		_rl_label=" (plain)"
		"$runlib_prog" --runs "$_rl_runs" --label "$_rl_label" "$@" >"$runlib_out"
	else
		_rl_label=" (maxprocs $_rl_p${_rl_k:+, $_rl_k})"
		if [ -n "$_rl_k" ]; then
			GOSYS_MAXPROCS=$_rl_p GOSYS_DEBUG=$_rl_k "$runlib_prog" --lib "$GOSYS_LIB" \
				--runs "$_rl_runs" --label "$_rl_label" "$@" >"$runlib_out"
		else
			GOSYS_MAXPROCS=$_rl_p "$runlib_prog" --lib "$GOSYS_LIB" \
				--runs "$_rl_runs" --label "$_rl_label" "$@" >"$runlib_out"
		fi
	fi
	_rl_rc=$?
	cat "$runlib_out"
	_rl_lines=$(grep -c '^\(not \)\{0,1\}ok' "$runlib_out")
	runlib_n=$((runlib_n + _rl_lines))
	# Cases were selected by name when "$@" has some: count those instead.
	_rl_want=$runlib_ncases
	_rl_sel=0
	for _rl_a in "$@"; do
		case $_rl_a in --* | [0-9]*) ;; *) _rl_sel=$((_rl_sel + 1)) ;; esac
	done
	[ "$_rl_sel" -gt 0 ] && _rl_want=$_rl_sel
	if [ "$_rl_lines" -lt "$_rl_want" ] || { [ "$_rl_rc" -ne 0 ] && [ "$_rl_rc" -ne 1 ]; }; then
		echo "not ok - $runlib_name$_rl_label: the driver exited $_rl_rc after $_rl_lines of $_rl_want cases"
		runlib_n=$((runlib_n + 1))
	fi
}

runlib_end() {
	echo "1..$runlib_n"
	exit 0
}
