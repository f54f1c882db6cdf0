#!/bin/sh
# SPDX-License-Identifier: MIT
# stats.sh - GOSYS_DEBUG=stats and blockprofile on the fixed programs of
# tests/preload/stats.c: the table's counts (known in advance, and equal to
# strace -c's for the same run), the program's own output and status left
# alone, stats=PATH with %p (mode 0600, reports appended whole, no symlink
# followed, one warning for a path that cannot be opened), the on-demand
# gosys_stats_write(), and the block profile's heaviest stack. No timing
# verdicts: the profile's blocker waits 300 ms, everything else takes
# microseconds.
set -u
prog="$GOSYS_BUILDDIR/tests/preload/stats"
[ -x "$prog" ] && [ -f "$GOSYS_LIB" ] || { echo "1..0 # SKIP stats or libgosys.so not built"; exit 0; }
if nm -D "$GOSYS_LIB" 2>/dev/null | grep -q ' __tsan_init'; then
	echo "1..0 # SKIP libgosys.so is built with TSan, which cannot be preloaded"; exit 0
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
# No monitor, no cgroup reads: the library's own system calls stay out of
# the rows compared with strace.
GOSYS_MAXPROCS=2
export GOSYS_MAXPROCS
unset GOSYS_DEBUG

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
check() { if eval "$2"; then ok "$1"; else notok "$1"; fi; }

# The table's rows as "name calls errors", from the first table in file $1.
rows() {
	awk '/^% time/ { t = 1; next }
	     t == 1 && /^------/ { t = 2; next }
	     t == 2 && /^------/ { exit }
	     t == 2 { e = (NF == 6) ? $5 : 0; print $NF, $4, e }' "$1" | sort
}
# calls and errors of one row, "0 0" if absent.
row() {
	rows "$1" | awk -v n="$2" '$1 == n { print $2, $3; f = 1 } END { if (!f) print "0 0" }'
}

echo "1..13"

# 1-3: the table, and the program's own output and status left alone.
timeout -k 5 60 "$prog" counts >"$tmp/plain.out" 2>"$tmp/plain.err"
prc=$?
timeout -k 5 60 env GOSYS_DEBUG=stats=1 LD_PRELOAD="$GOSYS_LIB" "$prog" counts \
	>"$tmp/st.out" 2>"$tmp/st.err"
src=$?
check "exit status and stdout as without the library ($prc, $src)" \
	'[ $prc -eq 0 ] && [ $src -eq 0 ] && cmp -s "$tmp/plain.out" "$tmp/st.out"'
check "stats=1 writes the table and the summary line to stderr" \
	'grep -q "^% time     seconds  usecs/call     calls    errors syscall" "$tmp/st.err" &&
	 grep -q "^gosys: 2 threads, .* waiting for a P in all: the bound cost .* of their .* of wall time$" "$tmp/st.err"'
got="getppid $(row "$tmp/st.err" getppid); openat $(row "$tmp/st.err" openat); dup $(row "$tmp/st.err" dup); close $(row "$tmp/st.err" close); read $(row "$tmp/st.err" read); pwrite64 $(row "$tmp/st.err" pwrite64); lseek $(row "$tmp/st.err" lseek)"
want="getppid 420 0; openat 52 50; dup 100 0; close 102 0; read 200 0; pwrite64 100 0; lseek 51 1"
check "counts are the program's calls: $got" '[ "$got" = "$want" ]'

# 4: the same counts as strace -c, row by row (every syscall row of ours but
# write, which the report itself makes).
if ! command -v strace >/dev/null 2>&1; then
	skip "counts equal strace -c's" "strace is not installed"
elif ! strace -o /dev/null true 2>/dev/null; then
	skip "counts equal strace -c's" "strace cannot trace here (ptrace not permitted)"
else
	# strace also sees what the loader and libc do without a wrapper
	# (opening the libraries, start-up, exit): the same in a run that makes
	# no call of its own, subtracted row by row.
	timeout -k 5 120 strace -f -c -o "$tmp/strace.out" -E LD_PRELOAD="$GOSYS_LIB" \
		-E GOSYS_DEBUG=stats=1 "$prog" counts >/dev/null 2>"$tmp/under.err"
	timeout -k 5 120 strace -f -c -o "$tmp/strace0.out" -E LD_PRELOAD="$GOSYS_LIB" \
		-E GOSYS_DEBUG=stats=1 "$prog" none >/dev/null 2>&1
	rows "$tmp/under.err" >"$tmp/ours"
	rows "$tmp/strace0.out" >"$tmp/base"
	rows "$tmp/strace.out" | awk 'NR == FNR { c[$1] = $2; e[$1] = $3; next }
		{ print $1, $2 - c[$1], $3 - e[$1] }' "$tmp/base" - >"$tmp/theirs"
	# ours' syscall rows (libc-level rows such as pthread_join have no
	# strace counterpart)
	bad=$(awk 'NR == FNR { c[$1] = $2 " " $3; next }
		   $1 != "write" && ($1 in c) && c[$1] != $2 " " $3 { print $1 ": strace " c[$1] ", ours " $2 " " $3 }
		   $1 != "write" && !($1 in c) && $1 !~ /^pthread_/ { print $1 ": not in strace" }' \
		"$tmp/theirs" "$tmp/ours")
	compared=$(awk 'NR == FNR { c[$1] = 1; next } $1 in c && $1 != "write"' "$tmp/theirs" "$tmp/ours" | wc -l)
	if [ -z "$bad" ] && [ "$compared" -ge 7 ]; then
		ok "counts equal strace -c's ($compared rows compared)"
	else
		notok "counts equal strace -c's ($compared rows compared)"
		echo "$bad" | sed 's/^/# /'
		sed 's/^/# strace: /' "$tmp/strace.out"
		sed 's/^/# ours: /' "$tmp/under.err"
	fi
fi

# 5-7: stats=PATH with %p: created 0600, two processes' reports appended
# whole to one file, %% a percent sign.
GOSYS_DEBUG="stats=$tmp/s.%p.%%" LD_PRELOAD="$GOSYS_LIB" "$prog" counts 2>"$tmp/p.err"
prc=$?
f=$(ls "$tmp"/s.*.% 2>/dev/null | head -n 1)
pid=${f#"$tmp"/s.}
pid=${pid%.%}
check "stats=PATH: %p is the pid ($pid), %% a %, stderr silent" \
	'[ $prc -eq 0 ] && [ -n "$f" ] && [ ! -s "$tmp/p.err" ] && grep -q "^gosys stats: pid $pid," "$f"'
check "stats=PATH: the file's mode is 0600" '[ "$(stat -c %a "$f" 2>/dev/null)" = 600 ]'
GOSYS_DEBUG="stats=$tmp/shared" LD_PRELOAD="$GOSYS_LIB" "$prog" counts &
GOSYS_DEBUG="stats=$tmp/shared" LD_PRELOAD="$GOSYS_LIB" "$prog" counts
wait
check "two processes append whole reports to one file" \
	'[ "$(grep -c "^gosys stats: pid" "$tmp/shared")" = 2 ] &&
	 [ "$(grep -c "^gosys: 2 threads" "$tmp/shared")" = 2 ] &&
	 [ "$(awk "/^gosys stats/ { s++ } /^gosys: / { e++; if (e != s) bad = 1 } END { print bad + 0 }" "$tmp/shared")" = 0 ]'

# 8-9: a symlink is not followed; a path that cannot be opened costs one
# warning line, and the program's status stays its own.
ln -s "$tmp/target" "$tmp/link"
GOSYS_DEBUG="stats=$tmp/link" LD_PRELOAD="$GOSYS_LIB" "$prog" counts 2>"$tmp/l.err"
prc=$?
check "stats=PATH does not follow a symlink" '[ $prc -eq 0 ] && [ ! -e "$tmp/target" ]'
GOSYS_DEBUG="stats=$tmp/no/such/dir/x" LD_PRELOAD="$GOSYS_LIB" "$prog" counts 2>"$tmp/n.err"
prc=$?
check "an unopenable path: one gosys: warning line, exit status 0" \
	'[ $prc -eq 0 ] && [ "$(wc -l <"$tmp/n.err")" = 1 ] && grep -q "^gosys: stats: cannot open" "$tmp/n.err"'

# 10: on demand.
LD_PRELOAD="$GOSYS_LIB" GOSYS_DEBUG=stats=1 "$prog" ondemand >"$tmp/od.out" 2>"$tmp/od.err"
prc=$?
check "gosys_stats_write(1) writes a table on stdout, before the exit's on stderr" \
	'[ $prc -eq 0 ] && [ "$(row "$tmp/od.out" getppid)" = "10 0" ] && [ "$(row "$tmp/od.err" getppid)" = "10 0" ]'

# 11-12: the block profile.
timeout -k 5 60 env GOSYS_DEBUG="blockprofile=$tmp/prof.%p" LD_PRELOAD="$GOSYS_LIB" \
	"$prog" block >/dev/null 2>"$tmp/b.err"
prc=$?
pf=$(ls "$tmp"/prof.* 2>/dev/null | head -n 1)
if grep -q "libunwind.*not found" "$tmp/b.err"; then
	skip "blockprofile writes folded stacks" "libunwind is not installed"
	skip "the heaviest stack is where the program blocks" "libunwind is not installed"
else
	check "blockprofile writes folded stacks (status $prc)" \
		'[ $prc -eq 0 ] && [ -n "$pf" ] && [ -s "$pf" ] && ! grep -qv "^[^ ]* [0-9][0-9]*$" "$pf"'
	heavy=$(sort -k2,2nr "$pf" 2>/dev/null | head -n 1)
	case $heavy in
	*";gosys_test_blocker;read "*) ok "the heaviest stack is where the program blocks" ;;
	*)
		notok "the heaviest stack is where the program blocks"
		echo "# heaviest: $heavy"
		sort -k2,2nr "$pf" 2>/dev/null | head -n 5 | sed 's/^/# /'
		sed 's/^/# stderr: /' "$tmp/b.err"
		;;
	esac
fi

# 13: the launcher's short form.
launcher="$GOSYS_BUILDDIR/tools/gosys"
if [ -x "$launcher" ]; then
	GOSYS_LIB="$GOSYS_LIB" "$launcher" --stats -- "$prog" counts >"$tmp/g.out" 2>"$tmp/g.err"
	prc=$?
	check "gosys --stats -- cmd: the table on stderr, the program's status" \
		'[ $prc -eq 0 ] && [ "$(row "$tmp/g.err" dup)" = "100 0" ] && [ ! -s "$tmp/g.out" ]'
else
	skip "gosys --stats -- cmd" "tools/gosys not built"
fi
exit $((fails > 0))
