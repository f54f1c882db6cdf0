#!/bin/sh
# SPDX-License-Identifier: MIT
# git under the library, with maxprocs 1 and 2, against a plain run: init,
# add, three commits with fixed identities and dates (so the hashes are fixed),
# log, gc, fsck, and a clone through the pack protocol. Each variant works in
# the same directory; hashes, logs and the object list must be identical.
. "$GOSYS_SRCDIR/tests/real/lib.sh"
need git awk md5sum
steps="commit log gc clone"
skip_if_tsan_cannot_preload
plan_steps $steps

HOME=$work/home
GIT_CONFIG_NOSYSTEM=1
GIT_CONFIG_GLOBAL=/dev/null
GIT_AUTHOR_NAME="A U Thor"
GIT_AUTHOR_EMAIL=author@example.com
GIT_COMMITTER_NAME="C O Mitter"
GIT_COMMITTER_EMAIL=committer@example.com
export HOME GIT_CONFIG_NOSYSTEM GIT_CONFIG_GLOBAL GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL \
	GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL
mkdir -p "$HOME"

# Files for the three commits: text that deltas well, and a binary blob.
gen() { # gen DIR ROUND
	awk -v d="$1" -v r="$2" 'BEGIN { x = 3
		for (f = 0; f < 120; f++) {
			name = d "/dir" f % 6 "/file" f ".txt"
			if (f == 0) system("mkdir -p \"" d "/dir0\" \"" d "/dir1\" \"" d "/dir2\" \"" d "/dir3\" \"" d "/dir4\" \"" d "/dir5\"")
			for (l = 0; l < 80 + f; l++) {
				x = (x * 1103515245 + 12345) % 2147483648
				if (r > 0 && l % (7 + r) == 0) printf "round %d changed line %d\n", r, l > name
				else printf "file %d line %d value %d\n", f, l, int(x / 65536) % 1000 > name
			}
			close(name)
		}
		name = d "/blob.bin"
		for (i = 0; i < 40000; i++) { x = (x * 1103515245 + 12345) % 2147483648; printf "%c", 1 + int(x / 65536) % 255 > name }
		close(name) }'
}

repo=$work/repo
job() {
	v=$1 o=$2
	rm -rf "$repo" "$work/clone"
	mkdir -p "$repo"
	gen "$repo" 0
	capture "$o/commit" "$v" sh -c '
		set -e
		cd "$1"
		git init -q -b main .
		git add -A
		GIT_AUTHOR_DATE="2026-01-02T03:04:05Z" GIT_COMMITTER_DATE="2026-01-02T03:04:05Z" \
			git commit -q -m "first"
		git rev-parse HEAD' sh "$repo"
	gen "$repo" 1
	mv "$repo/dir5/file5.txt" "$repo/dir5/renamed.txt"
	rm "$repo/dir4/file4.txt"
	capture "$o/commit2" "$v" sh -c '
		set -e
		cd "$1"
		git add -A
		GIT_AUTHOR_DATE="2026-01-03T00:00:00Z" GIT_COMMITTER_DATE="2026-01-03T00:00:00Z" \
			git commit -q -m "second: changes, a rename, a removal"
		git rev-parse HEAD' sh "$repo"
	gen "$repo" 2
	capture "$o/commit3" "$v" sh -c '
		set -e
		cd "$1"
		git add -A
		GIT_AUTHOR_DATE="2026-01-04T00:00:00Z" GIT_COMMITTER_DATE="2026-01-04T00:00:00Z" \
			git commit -q -m "third"
		git status --porcelain
		git rev-parse HEAD' sh "$repo"
	cat "$o/commit2/stdout" "$o/commit3/stdout" >>"$o/commit/stdout"
	cat "$o/commit/status" "$o/commit2/status" "$o/commit3/status" |
		awk '{ s = s == "" ? $0 : s "," $0 } END { print (s == "0,0,0" ? 0 : s) }' >"$o/status3"
	mv "$o/status3" "$o/commit/status"
	cat "$o/commit2/stderr" "$o/commit3/stderr" >>"$o/commit/stderr"
	rm -rf "$o/commit2" "$o/commit3"
	capture "$o/log" "$v" git -C "$repo" log --format='%H %T %an <%ae> %ad %cn %cd %s' \
		--date=iso-strict --stat -M
	capture "$o/gc" "$v" sh -c '
		set -e
		cd "$1"
		git gc -q
		git fsck --full --no-progress --strict
		git count-objects -v | grep -E "^(count|in-pack|packs|prune-packable|garbage):"
		git cat-file --batch-all-objects --batch-check | sort
		git archive --format=tar HEAD | md5sum' sh "$repo"
	capture "$o/clone" "$v" sh -c '
		set -e
		git clone -q --no-local "$1" "$2"
		cd "$2"
		git log --format="%H %s"
		git fsck --no-progress
		git diff --stat HEAD~2 HEAD | tail -1' sh "$repo" "$work/clone"
	rm -rf "$repo" "$work/clone"
}
run_variants job
report $steps
report_loaded
done_testing
