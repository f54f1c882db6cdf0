#!/bin/sh
# SPDX-License-Identifier: MIT
# sqlite3 under the library, with maxprocs 1 and 2, against a plain run:
# 100,000 inserts in one transaction, then PRAGMA integrity_check and counts;
# two writer processes at once on one WAL database (file locks, busy waits);
# a full .dump. Output, exit status and the database file must be identical.
. "$GOSYS_SRCDIR/tests/real/lib.sh"
need sqlite3 awk md5sum
steps="insert concurrent dump"
skip_if_tsan_cannot_preload
plan_steps $steps

awk 'BEGIN { q = sprintf("%c", 39)
	print "CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT NOT NULL, v INTEGER, note TEXT);"
	print "CREATE INDEX t_k ON t(k);"
	print "BEGIN;"
	x = 1
	for (i = 0; i < 100000; i++) {
		x = (x * 1103515245 + 12345) % 2147483648; h = int(x / 65536)
		printf "INSERT INTO t(k, v, note) VALUES (%sk%05d%s, %d, %sn%x%s);\n", q, h % 20000, q, x % 1000003 - 500000, q, x, q
	}
	print "COMMIT;"
	print "PRAGMA integrity_check;"
	print "SELECT count(*), sum(v), count(DISTINCT k), min(note), max(note) FROM t;"
	print "SELECT k, count(*), sum(v) FROM t GROUP BY k ORDER BY 2 DESC, 1 LIMIT 5;"
}' >"$work/insert.sql"
# One writer: 2,000 rows in 200 small transactions, tagged with its name.
writer_sql() {
	awk -v w="$1" 'BEGIN { q = sprintf("%c", 39)
		print ".timeout 60000"
		for (t = 0; t < 200; t++) {
			print "BEGIN IMMEDIATE;"
			for (i = 0; i < 10; i++)
				printf "INSERT INTO c(w, n) VALUES (%s%s%s, %d);\n", q, w, q, t * 10 + i
			print "COMMIT;"
		}
	}'
}
writer_sql a >"$work/wa.sql"
writer_sql b >"$work/wb.sql"

job() {
	v=$1 o=$2
	db=$work/db.$v
	capture "$o/insert" "$v" sqlite3 -bail "$db" ".read $work/insert.sql"
	md5sum <"$db" >"$o/insert/db.md5"
	cdb=$work/cdb.$v
	sqlite3 "$cdb" 'PRAGMA journal_mode=WAL; CREATE TABLE c(w TEXT, n INTEGER);' >/dev/null
	capture "$o/concurrent" "$v" sh -c '
		sqlite3 -bail "$1" ".read $2" & a=$!
		sqlite3 -bail "$1" ".read $3" & b=$!
		wait $a; ra=$?; wait $b; rb=$?
		echo "writers: $ra $rb"
		sqlite3 -bail "$1" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null &&
		sqlite3 -bail "$1" "PRAGMA integrity_check; SELECT w, count(*), sum(n), count(DISTINCT n) FROM c GROUP BY w ORDER BY w;"
		[ $ra = 0 ] && [ $rb = 0 ]' sh "$cdb" "$work/wa.sql" "$work/wb.sql"
	capture "$o/dump" "$v" sqlite3 -bail "$db" .dump
	rm -f "$db" "$cdb" "$cdb-wal" "$cdb-shm"
}
run_variants job
report $steps
report_loaded
done_testing
