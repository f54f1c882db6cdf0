#!/bin/sh
# SPDX-License-Identifier: MIT
# coreutils and friends under the library, with maxprocs 1 and 2, against a
# plain run: sort of a ~20 MB file (two threads, temporary files), cp -r of a
# tree, find, a tar round trip (to a file, and gzip'd through a pipe), md5sum.
# Output, exit status and the trees they make must be byte-identical.
. "$GOSYS_SRCDIR/tests/real/lib.sh"
need sort cp find tar gzip md5sum xargs awk
steps="sort sort-u cp find tar tarpipe md5sum"
skip_if_tsan_cannot_preload
plan_steps $steps

# ~20 MB of lines: a key, a number, a word; many duplicates (plain awk).
awk 'BEGIN { x = 12345; for (i = 0; i < 780000; i++) {
	x = (x * 1103515245 + 12345) % 2147483648
	printf "k%05d %d w%x-%s\n", x % 50000, x % 1000003, x % 4099, substr("abcdefghijklmnopqrstuvwxyz", x % 26 + 1, x % 13 + 3) } }' \
	>"$work/big"
# A tree: nested directories, files from empty to 300 KB, a symlink, odd names.
tree=$work/tree
mkdir -p "$tree"
awk -v t="$tree" 'BEGIN { x = 7
	for (d = 0; d < 12; d++) {
		dir = t "/d" d; if (d % 3) dir = dir "/sub" d % 3; system("mkdir -p \"" dir "\"")
		for (f = 0; f < 25; f++) {
			x = (x * 1103515245 + 12345) % 2147483648
			name = dir "/f" f (f % 5 == 0 ? " with space" : "") ".txt"
			n = (f == 0) ? 0 : x % (f == 7 ? 300000 : 3000)
			s = ""; for (i = 0; i < n; i += 64) s = s sprintf("%064d", (x + i) % 99991)
			printf "%s", substr(s, 1, n) > name; close(name)
		} } }'
ln -s d0 "$tree/link-to-d0"
chmod 600 "$tree/d0/f1.txt"
chmod 755 "$tree/d1/sub1/f2.txt"

job() {
	v=$1 o=$2
	mkdir -p "$work/tmp.$v"
	capture "$o/sort" "$v" sort --parallel=2 -S 4M -T "$work/tmp.$v" -k2,2n -k1,1 "$work/big"
	capture "$o/sort-u" "$v" sort -u -r "$work/big"
	capture "$o/cp" "$v" cp -r "$tree" "$work/cp.$v"
	manifest "$work/cp.$v" >"$o/cp/manifest"
	capture "$o/find" "$v" find "$tree" -name '*.txt' -size +1k -printf '%y %m %s %P\n' \
		-o -type l -printf 'link %P -> %l\n'
	mkdir -p "$work/untar.$v"
	capture "$o/tar" "$v" sh -c 'tar --sort=name -cf "$1" -C "$2" . &&
		tar -xf "$1" -C "$3" && tar -tvf "$1"' sh "$work/t.$v.tar" "$tree" "$work/untar.$v"
	md5sum <"$work/t.$v.tar" >"$o/tar/archive.md5"
	manifest "$work/untar.$v" >"$o/tar/manifest"
	mkdir -p "$work/untarpipe.$v"
	capture "$o/tarpipe" "$v" sh -c 'tar --sort=name -czf - -C "$1" . | tar -xzf - -C "$2"' \
		sh "$tree" "$work/untarpipe.$v"
	manifest "$work/untarpipe.$v" >"$o/tarpipe/manifest"
	capture "$o/md5sum" "$v" sh -c 'cd "$1" && find . -type f -print0 | sort -z |
		xargs -0 md5sum && md5sum "$2"' sh "$tree" "$work/big"
	rm -rf "$work/cp.$v" "$work/untar.$v" "$work/untarpipe.$v" "$work/t.$v.tar" "$work/tmp.$v"
}
run_variants job
report $steps
report_loaded
done_testing
