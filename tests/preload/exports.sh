#!/bin/sh
# SPDX-License-Identifier: MIT
# exports.sh - libgosys.so exports exactly the public API (src/public.sym,
# version GOSYS_1.0) plus the call table's interposed names (unversioned, or
# the dynamic linker would not let them interpose libc's versioned ones).
set -u
lib="$GOSYS_LIB"
names="$GOSYS_BUILDDIR/preload/calls.names"
pub="$GOSYS_SRCDIR/src/public.sym"
[ -f "$lib" ] && [ -f "$names" ] || { echo "1..0 # SKIP libgosys.so not built"; exit 0; }
command -v nm >/dev/null || { echo "1..0 # SKIP no nm"; exit 0; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gosys-exp.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only --with-symbol-versions "$lib" | awk '$2 != "A" {print $3}' | sort >"$tmp/got"
{ grep -v '^#' "$pub" | sed '/^$/d; s/$/@@GOSYS_1.0/'; cat "$names"; } | sort >"$tmp/want"
echo "1..3"
if diff "$tmp/want" "$tmp/got" >"$tmp/diff"; then
	echo "ok 1 - exports are exactly public.sym plus the table's names"
else
	echo "not ok 1 - exports differ (< wanted, > exported)"; sed 's/^/# /' "$tmp/diff"
fi
n=$(wc -l <"$names")
if [ "$n" -gt 100 ]; then echo "ok 2 - the table interposes $n names"; else echo "not ok 2 - only $n names"; fi
if grep -q '@' "$names"; then echo "not ok 3 - a table name carries a version"; else echo "ok 3 - table names are plain"; fi
