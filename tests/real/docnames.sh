#!/bin/sh
# SPDX-License-Identifier: MIT
# docnames.sh: the names HACKING.md and doc/design.md give in backquotes
# exist in the code. Three kinds are checked: file paths of the tree
# (src/..., preload/..., tests/..., bench/..., tools/..., man/..., doc/...),
# the library's own identifiers (gosys_*, gosys__*, __gosys_*, and the
# upper-case constants PACE_*, PREEMPT_*, EINTR_*, M_*, P_*), and fields
# written as m->NAME, p->NAME, S->NAME or sched.NAME, looked up in
# src/sched_internal.h. A name that no longer exists means the document
# drifted from the code. TAP, one line per document.
set -u
top=${GOSYS_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top" || exit 1
code="src preload include tools tests bench"
n=0
echo "1..2"
for doc in HACKING.md doc/design.md; do
	n=$((n + 1))
	missing=""
	names=$(grep -o '`[^`]*`' "$doc" | tr -d '`' | tr ' (' '\n\n' | sort -u)
	for w in $names; do
		case $w in
		src/* | preload/* | tests/* | bench/* | tools/* | man/* | doc/*)
			w=${w%%[),:;]*}
			case $w in *'*'* | *'<'* | *'...'* | *.log) continue ;; esac
			# a placeholder (tests/preload/PROG) is not a name
			case ${w##*/} in *[a-z]*) ;; *) continue ;; esac
			# generated files exist in a build tree; the build names them
			[ -e "$w" ] || [ -e "${GOSYS_BUILDDIR:-.}/$w" ] ||
				grep -rqF --include='*.mk' --include=Makefile.am -- "${w##*/}" . ||
				missing="$missing $w"
			;;
		gosys_* | gosys__* | __gosys_* | PACE_* | PREEMPT_* | EINTR_*)
			id=$(printf '%s' "$w" | sed 's/[^A-Za-z0-9_].*//')
			case $id in *_ | gosys | __gosys) continue ;; esac
			grep -rqw -- "$id" $code 2>/dev/null || missing="$missing $id"
			;;
		m-\>* | p-\>* | S-\>* | sched.*)
			f=$(printf '%s' "$w" | sed 's/^[a-zA-Z]*\(->\|\.\)//; s/[^A-Za-z0-9_].*//')
			[ -n "$f" ] || continue
			grep -qw -- "$f" src/sched_internal.h || missing="$missing $w"
			;;
		esac
	done
	if [ -z "$missing" ]; then
		echo "ok $n - $doc: every name it quotes exists in the code"
	else
		echo "not ok $n - $doc: names not in the code:$missing"
	fi
done
