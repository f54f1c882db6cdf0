#!/bin/sh
# SPDX-License-Identifier: MIT
# bash under the library, with maxprocs 1 and 2 and once through the built
# gosys launcher, against a plain run: pipelines (pipefail, PIPESTATUS,
# process substitution, a coprocess, a FIFO with many writers) and job
# control (background jobs, wait for each, wait -n, a killed job, traps,
# read -t). Output and exit status must match.
. "$GOSYS_SRCDIR/tests/real/lib.sh"
need bash seq awk sort mkfifo
launcher_variant gosys1
steps="pipelines jobs"
skip_if_tsan_cannot_preload
plan_steps $steps

cat >"$work/pipelines.bash" <<'B'
set -u
cd "$1"
seq 1 300000 | awk '{ s += $1 % 7 } END { print "awk sum", s }'
seq 1 100000 | sort -rn | head -3
yes abcabc | head -200000 | tr a-c x-z | uniq -c
set -o pipefail
false | true; echo "pipefail: $?"
true | (exit 4) | cat; echo "PIPESTATUS: ${PIPESTATUS[*]}"
set +o pipefail
diff <(seq 1 5000) <(seq 5000 -1 1 | sort -n) && echo "process substitution: same"
coproc REV { while read -r l; do echo "got ${l^^}"; done; }
for w in one two three; do echo "$w" >&"${REV[1]}"; read -r line <&"${REV[0]}"; echo "$line"; done
# Closing its input ends the coprocess; bash then unsets REV and REV_PID
# whenever it reaps it, so touch neither after this line.
exec {REV[1]}>&-
mkfifo fifo
exec 3<>fifo
for i in $(seq 1 30); do (echo "writer $i" >fifo) & done
wait
for i in $(seq 1 30); do read -r line <&3; echo "$line"; done | sort -V | tail -2
exec 3<&-
while read -r a b; do echo "$b $a"; done <<<"1 2
3 4"
exit 3
B
cat >"$work/jobs.bash" <<'B'
set -u
cd "$1"
pids=()
for i in 1 2 3 4 5 6 7 8; do
	( sleep "0.0$i"; echo "job $i wrote" >"job$i"; exit "$i" ) &
	pids+=($!)
done
for i in "${!pids[@]}"; do wait "${pids[$i]}"; echo "job $((i + 1)) exit $?"; done
cat job*
sleep 0.8 & slow=$!
( sleep 0.05; exit 9 ) & fast=$!
wait -n; echo "wait -n: $?"
wait "$slow"; echo "slow: $?"
sleep 30 & k=$!
kill -TERM "$k"; wait "$k"; echo "killed job: $?"
trap 'echo "trapped USR1"' USR1
kill -USR1 $$
echo after trap
mkfifo quiet
read -r -t 0.2 x <>quiet; echo "read -t: $?"
for n in 1 2 3; do
	{ seq 1 20000 | md5sum; } &
done | sort | uniq -c
wait
( trap 'exit 7' TERM; kill -TERM $BASHPID; sleep 5 ) ; echo "subshell trap exit $?"
B

job() {
	for s in $steps; do
		mkdir -p "$work/cwd.$1.$s"
		capture "$2/$s" "$1" bash "$work/$s.bash" "$work/cwd.$1.$s"
		rm -rf "$work/cwd.$1.$s"
	done
	# the pipelines script ends with exit 3 on purpose: the status is compared
	[ "$(cat "$2/pipelines/status")" = 3 ] && echo 0 >"$2/pipelines/status"
}
run_variants job
report $steps
report_loaded
done_testing
