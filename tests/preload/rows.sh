#!/bin/sh
# SPDX-License-Identifier: MIT
# rows.sh - every row of the call table (preload/calls.def), called directly,
# from a second thread, from a signal handler (async-signal-safe rows), from
# a library constructor before main, and after pthread_cancel has switched
# the cancellation points to libc's path: the preloaded run (maxprocs 1) must
# print the same result and errno as the plain one. First, each name must
# resolve to libgosys under the preload. One TAP line per row and way.
set -u
prog="$GOSYS_BUILDDIR/tests/preload/rows_main"
lib="$GOSYS_LIB"
[ -x "$prog" ] && [ -f "$lib" ] || { echo "1..0 # SKIP rows_main or libgosys.so not built"; exit 0; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gosys-rows.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
export TROWS_TMP="$tmp"
# TSan's start-up calls sigaction and read before it can run instrumented
# code, so a TSan-built interposer crashes any process it is preloaded into.
if nm -D "$GOSYS_LIB" 2>/dev/null | grep -q ' __tsan_init'; then
	echo "1..0 # SKIP libgosys.so is built with TSan, which cannot be preloaded"; exit 0
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

ways="direct thread signal ctor cancel"
run() { # run WAY plain|pre OUT
	if [ "$1" = ctor ]; then w=ctor; export TROWS_WAY=ctor; else w=$1; unset TROWS_WAY; fi
	if [ "$2" = pre ]; then
		LD_PRELOAD="$lib" GOSYS_MAXPROCS=1 timeout -k 10 120 "$prog" "$w" >"$3" 2>"$3.err"
	else
		timeout -k 10 120 "$prog" "$w" >"$3" 2>"$3.err"
	fi
	echo $? >"$3.rc"
	unset TROWS_WAY
}

LD_PRELOAD="$lib" "$prog" where >"$tmp/where" 2>"$tmp/where.err"
"$prog" where >"$tmp/where.plain" 2>/dev/null
nrows=$(wc -l <"$tmp/where.plain")
nways=$(echo $ways | wc -w)
echo "1..$((nrows * (nways + 1)))"
# compare WAY START: one TAP line per row, numbered from START + 1.
compare() {
	awk -v way="$1" -v n="$2" -v frc="$(cat "$tmp/$1.plain.rc")" -v prc="$(cat "$tmp/$1.pre.rc")" '
		FILENAME == ARGV[1] { a[$1] = $0; next }
		FILENAME == ARGV[2] { b[$1] = $0; next }
		{
			name = $1; n++
			if (frc != 0) print "not ok " n " - " name " " way ": the plain run failed (exit " frc ")"
			else if (prc != 0) print "not ok " n " - " name " " way ": the preloaded run failed (exit " prc ")"
			else if (!(name in a)) print "not ok " n " - " name " " way ": no output"
			else if (a[name] != b[name]) print "not ok " n " - " name " " way ": plain \"" a[name] "\", preloaded \"" b[name] "\""
			else if (a[name] == name " skip") print "ok " n " - " name " " way " # SKIP not async-signal-safe"
			else print "ok " n " - " name " " way
		}' "$tmp/$1.plain" "$tmp/$1.pre" "$tmp/where.plain"
}

awk 'FILENAME == ARGV[1] { w[$1] = $2; next }
	{ n++; if (w[$1] == "gosys") print "ok " n " - " $1 " is interposed"
	  else print "not ok " n " - " $1 " is interposed (" ($1 in w ? w[$1] : "no answer") ")" }' "$tmp/where" "$tmp/where.plain"
n=$nrows
for way in $ways; do
	run "$way" plain "$tmp/$way.plain"
	run "$way" pre "$tmp/$way.pre"
	compare "$way" "$n"
	n=$((n + nrows))
	for f in plain pre; do
		if [ -s "$tmp/$way.$f.err" ]; then sed "s/^/# $way $f: /" "$tmp/$way.$f.err"; fi
	done
done
