#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/server.sh - thread-per-connection servers under the library, for
# `make bench BENCH=server` (issue 12). Three parts, each plain against
# preloaded in the same run, interleaved (plain, preloaded, plain, ...):
#
#  1. b_echo (bench/b_echo.c): 8 connections of back-to-back 64-byte
#     requests, about 20 us of work each, no quota: requests/s and p99 at
#     the default maxprocs, and with cpubound=1 (the bound at the CPUs, as
#     Go's GOMAXPROCS) beside it.
#  2. MariaDB with sysbench oltp_point_select, 8 client threads, no quota:
#     queries/s and p99, the same way.
#  3. MariaDB in a cgroup v1 cpu group with a 1-CPU quota: 4 threads of
#     heavy range queries beside 1 thread of rate-limited point selects;
#     the point selects' p99 plain over preloaded, and the group's
#     throttled periods.
#
# MariaDB and sysbench are installed with apt-get when missing and this
# runs as root; otherwise parts 2 and 3 print SKIP rows saying why. The
# server runs on a private datadir in a temporary directory, on loopback,
# as the mysql user. Clients are never preloaded.
# Usage: server.sh BENCHDIR   (GOSYS_LIB: the built libgosys.so;
# SERVER_PARTS=13 runs only parts 1 and 3, SERVER_ROUNDS=N sets the rounds)
set -u
dir=$1
lib=${GOSYS_LIB:?}
fmt='%-40s %-24s %-26s %-7s %-12s %s\n'
ROUNDS=${SERVER_ROUNDS:-5}
PARTS=${SERVER_PARTS:-123}
part() { case $PARTS in *$1*) return 0 ;; esac; return 1; }
fail=0
tmpd=$(mktemp -d /tmp/gosys-bench-srv.XXXXXX)
chmod 755 "$tmpd"
cg=""
srvpid=""

cleanup() {
	[ -n "$srvpid" ] && kill "$srvpid" 2>/dev/null && wait "$srvpid" 2>/dev/null
	[ -n "$cg" ] && [ -d "$cg" ] && rmdir "$cg" 2>/dev/null
	rm -rf "$tmpd"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# shellcheck disable=SC2059
row() { printf "$fmt" "$@"; }

median() { sort -n | awk '{a[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# judge NAME MEASURED BASELINE RATIO-EXPR TARGET-TEXT OK-EXPR
# (awk expressions over m and b)
judge() {
	r=$(awk -v m="$2" -v b="$3" "BEGIN {if (b == 0 || m == \"nan\" || b == \"nan\") print \"nan\"; else printf \"%.2f\", $4}")
	ok=$(awk -v r="$r" "BEGIN {print (r != \"nan\" && $6) ? \"ok\" : \"MISS\"}")
	[ "$ok" = ok ] || fail=1
	row "$1" "$2" "$3" "${r}x" "$5" "$ok"
}

# ratio M B: M / B as "1.23x" (reported rows)
ratio() { awk -v m="$1" -v b="$2" 'BEGIN {printf "%.2fx", b ? m / b : 0}'; }

# med FILE COLUMN: the median of that column of FILE
med() { awk -v c="$2" '{print $c}' "$1" | median; }

# three_way NAME FILES RATE UNIT-OF-RATE P99 UNIT-OF-P99: the four rows of a
# plain / preloaded / cpubound=1 comparison, from the medians of columns
# RATE and P99 of FILES.plain, FILES.lib and FILES.bound.
three_way() {
	rp=$(med "$2.plain" "$3") rl=$(med "$2.lib" "$3") rb=$(med "$2.bound" "$3")
	lp=$(med "$2.plain" "$5") ll=$(med "$2.lib" "$5") lb=$(med "$2.bound" "$5")
	judge "$1: $4" "$rl/s" "$rp/s" "m / b" ">= 0.95x" "r >= 0.95"
	judge "$1: p99" "$ll $6" "$lp $6" "m / b" "<= 1.20x" "r <= 1.2"
	row "$1, cpubound=1: $4" "$rb/s" "$rp/s" "$(ratio "$rb" "$rp")" "-" "-"
	row "$1, cpubound=1: p99" "$lb $6" "$lp $6" "$(ratio "$lb" "$lp")" "-" "-"
}

# ---- 1. b_echo ------------------------------------------------------------

# echo_once ENV... : starts the server with ENV, runs the client, prints its line
echo_once() {
	pf=$tmpd/port
	rm -f "$pf"
	env "$@" "$dir/b_echo" server "$pf" &
	srvpid=$!
	i=0
	while [ ! -s "$pf" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	if [ -s "$pf" ]; then
		"$dir/b_echo" client "$(cat "$pf")" 8 2
	fi
	kill "$srvpid" 2>/dev/null
	wait "$srvpid" 2>/dev/null
	srvpid=""
}

if part 1; then
: >"$tmpd/e.plain"
: >"$tmpd/e.lib"
: >"$tmpd/e.bound"
for r in $(seq "$ROUNDS"); do
	echo_once A=1 >>"$tmpd/e.plain"
	echo_once LD_PRELOAD="$lib" >>"$tmpd/e.lib"
	echo_once LD_PRELOAD="$lib" GOSYS_DEBUG=cpubound=1 >>"$tmpd/e.bound"
done
three_way "echo 8 conns" "$tmpd/e" 2 requests/s 6 us
fi

# ---- MariaDB ----------------------------------------------------------------

need_db() {
	if command -v mariadbd >/dev/null 2>&1 && command -v sysbench >/dev/null 2>&1; then
		return 0
	fi
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			mariadb-server mariadb-client sysbench >/dev/null 2>&1
	fi
	command -v mariadbd >/dev/null 2>&1 && command -v sysbench >/dev/null 2>&1
}

skip_db() {
	row "mariadb point select: queries/s" "-" "-" "-" ">= 0.95x" "SKIP: $1"
	row "mariadb, 1-CPU quota: point p99" "-" "-" "-" ">= 10x" "SKIP: $1"
}

port=$((20000 + $$ % 20000))
sock=$tmpd/mysqld.sock
db=$tmpd/data
SB="sysbench --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port=$port --mysql-user=sb --mysql-password=sb --mysql-db=sbtest --tables=1 --table-size=20000"

# db_start [cgroup-procs-file] ENV... : starts mariadbd, waits until it answers
db_start() {
	procs=$1
	shift
	sh -c '[ -z "$1" ] || echo $$ >"$1"; shift; exec env "$@"' db "$procs" "$@" \
		mariadbd --no-defaults --datadir="$db" --user=mysql --port="$port" \
		--bind-address=127.0.0.1 --socket="$sock" --skip-log-bin \
		--innodb-buffer-pool-size=128M --max-connections=64 \
		--log-error="$tmpd/err.log" --pid-file="$tmpd/pid" &
	srvpid=$!
	i=0
	while [ $i -lt 150 ]; do
		mariadb --no-defaults -S "$sock" -uroot -e 'select 1' >/dev/null 2>&1 && return 0
		kill -0 "$srvpid" 2>/dev/null || break
		sleep 0.2
		i=$((i + 1))
	done
	return 1
}

db_stop() {
	[ -n "$srvpid" ] || return 0
	kill "$srvpid" 2>/dev/null
	wait "$srvpid" 2>/dev/null
	srvpid=""
}

# sb_line ARGS: "qps p99_ms" of one sysbench run
sb_line() {
	# shellcheck disable=SC2086
	$SB "$@" --percentile=99 run 2>&1 | awk '/queries:/ {q = $3} /99th percentile/ {p = $3}
		END {gsub(/\(/, "", q); print (q == "" ? "nan" : q), (p == "" ? "nan" : p)}'
}

cpu_stat() { awk '/^nr_periods/ {p = $2} /^nr_throttled/ {t = $2} END {print p + 0, t + 0}' "$cg/cpu.stat"; }

db_setup() {
	mkdir -p "$db" && chown -R mysql:mysql "$tmpd" || return 1
	mariadb-install-db --no-defaults --datadir="$db" --user=mysql \
		--auth-root-authentication-method=normal >"$tmpd/install.log" 2>&1 || return 1
	db_start "" A=1 || return 1
	mariadb --no-defaults -S "$sock" -uroot -e "create database sbtest;
		create user sb@'127.0.0.1' identified by 'sb';
		grant all on sbtest.* to sb@'127.0.0.1';" || return 1
	# shellcheck disable=SC2086
	$SB oltp_point_select prepare >"$tmpd/prepare.log" 2>&1 || return 1
	db_stop
}

if ! part 2 && ! part 3; then
	:
elif ! need_db; then
	skip_db "mariadbd or sysbench missing (apt-get install mariadb-server sysbench)"
elif ! id mysql >/dev/null 2>&1 || [ "$(id -u)" -ne 0 ]; then
	skip_db "needs root and the mysql user"
elif ! db_setup; then
	skip_db "the server did not start ($(tail -n 1 "$tmpd/err.log" 2>/dev/null))"
else
	# ---- 2. no quota ---------------------------------------------------
	if part 2; then
	: >"$tmpd/d.plain"
	: >"$tmpd/d.lib"
	: >"$tmpd/d.bound"
	for r in $(seq "$ROUNDS"); do
		for mode in plain lib bound; do
			case $mode in
			plain) set -- A=1 ;;
			lib) set -- LD_PRELOAD="$lib" ;;
			bound) set -- LD_PRELOAD="$lib" GOSYS_DEBUG=cpubound=1 ;;
			esac
			if db_start "" "$@"; then
				sb_line oltp_point_select --threads=8 --time=5 >>"$tmpd/d.$mode"
			fi
			db_stop
		done
	done
	three_way "mariadb point select" "$tmpd/d" 1 queries/s 2 ms
	fi

	# ---- 3. a 1-CPU quota ----------------------------------------------
	own=$(awk -F: '$2 ~ /(^|,)cpu(,|$)/ {print $3}' /proc/self/cgroup)
	[ "$own" = / ] && own=
	cg=/sys/fs/cgroup/cpu$own/gosys-bench-srv-$$
	if ! part 3; then
		cg=""
	elif ! mkdir "$cg" 2>/dev/null || ! echo 100000 >"$cg/cpu.cfs_period_us" ||
		! echo 100000 >"$cg/cpu.cfs_quota_us"; then
		row "mariadb, 1-CPU quota: point p99" "-" "-" "-" ">= 10x" "SKIP: /sys/fs/cgroup/cpu not writable"
	else
		: >"$tmpd/q.plain"
		: >"$tmpd/q.lib"
		for r in 1 2 3; do
			for mode in plain lib; do
				if [ $mode = plain ]; then set -- A=1; else set -- LD_PRELOAD="$lib"; fi
				db_start "$cg/cgroup.procs" "$@" || { db_stop; continue; }
				s0=$(cpu_stat)
				# Heavy for the server, light for the client: sums over
				# ranges of 5000 rows, one row back each.
				$SB oltp_read_only --threads=4 --time=8 --skip_trx=on \
					--point_selects=0 --simple_ranges=0 --order_ranges=0 \
					--distinct_ranges=0 --sum_ranges=4 --range_size=5000 \
					run >/dev/null 2>&1 &
				heavy=$!
				sleep 1
				line=$(sb_line oltp_point_select --threads=1 --rate=100 --time=6)
				wait "$heavy"
				s1=$(cpu_stat)
				db_stop
				echo "$line $s0 $s1" | awk '{print $2, $5 - $3, $6 - $4}' >>"$tmpd/q.$mode"
			done
		done
		qpp=$(med "$tmpd/q.plain" 1)
		qpl=$(med "$tmpd/q.lib" 1)
		tp=$(awk '{t += $3; p += $2} END {printf "%d/%d", t, p}' "$tmpd/q.plain")
		tl=$(awk '{t += $3; p += $2} END {printf "%d/%d", t, p}' "$tmpd/q.lib")
		# As b_cgroup: the comparison means something only if the plain run
		# met the quota (throttled in a quarter of its periods or more);
		# otherwise other jobs kept the CPUs busy.
		if awk '{t += $3; p += $2} END {exit !(p > 0 && t * 4 >= p)}' "$tmpd/q.plain"; then
			judge "mariadb, 1-CPU quota: point p99" "$qpl ms" "$qpp ms" "b / m" ">= 10x lower" "r >= 10"
		else
			row "mariadb, 1-CPU quota: point p99" "$qpl ms" "$qpp ms" "-" ">= 10x lower" \
				"SKIP: plain throttled in $tp periods, the machine is too busy"
		fi
		thr=$(awk '{t += $3} END {print t + 0}' "$tmpd/q.lib")
		res=ok
		[ "$thr" -eq 0 ] || { res=MISS; fail=1; }
		row "mariadb, 1-CPU quota: throttled" "$tl periods" "$tp periods" "-" "0" "$res"
		rmdir "$cg" 2>/dev/null
		cg=""
	fi
fi
exit $fail
