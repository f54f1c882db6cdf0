#!/bin/sh
# SPDX-License-Identifier: MIT
# The manual pages: every public name (src/public.sym) has an installed page;
# every page is installed and renders with groff -ww without one warning; .so
# links land on a page that names them; gosys(1) documents every knob of
# src/knobs.c with its range and default, and every option of gosys --help;
# gosys_schedstats(3) documents every field of the structure in gosys.h.
. "$GOSYS_SRCDIR/tests/real/lib.sh"

man=$GOSYS_SRCDIR/man
sym=$GOSYS_SRCDIR/src/public.sym
knobs=$GOSYS_SRCDIR/src/knobs.c
hdr=$GOSYS_SRCDIR/include/gosys.h
gosys=$GOSYS_BUILDDIR/tools/gosys

names=$(grep -v '^[[:space:]]*\(#\|$\)' "$sym")
pages=$(cd "$man" && ls ./*.[1-8] | sed 's|^\./||')
# The installed list: the words of dist_man_MANS in man/local.mk.
installed=$(sed -n '/^dist_man_MANS/,/^$/p' "$man/local.mk" | tr ' \t\\' '\n\n\n' |
	sed -n 's|^man/||p')
# Knob rows: kind name default min max, from the X(...) list in knobs.c.
sed -n 's/^[[:space:]]*X(\([A-Z]*\), *"\([A-Za-z_]*\)", *[a-z_]*, *\([0-9]*\), *\([0-9]*\), *\([0-9]*\)).*/\1 \2 \3 \4 \5/p' \
	"$knobs" >"$work/knobs"
# Field names of struct gosys_schedstats.
sed -n '/^struct gosys_schedstats {/,/^};/p' "$hdr" |
	sed -n 's/^[[:space:]]*u\{0,1\}int[0-9]*_t[[:space:]]*\([a-z_]*\);.*/\1/p' >"$work/fields"

n_names=$(echo "$names" | wc -l)
n_pages=$(echo "$pages" | wc -l)
n_knobs=$(wc -l <"$work/knobs")
plan $((n_names + 2 * n_pages + n_knobs + 8))

# ---- a page for every public name ------------------------------------------------

for f in $names; do
	check "$f has an installed page" sh -c '[ -f "$1/$2.3" ] && echo "$3" | grep -qx "$2.3"' sh "$man" "$f" "$installed"
done
missing=
for p in $pages; do
	echo "$installed" | grep -qx "$p" || missing="$missing $p"
done
check "every page in man/ is in dist_man_MANS${missing:+ (not:$missing)}" test -z "$missing"
missing=
for p in $installed; do
	[ -f "$man/$p" ] || missing="$missing $p"
done
check "every page in dist_man_MANS exists${missing:+ (missing:$missing)}" test -z "$missing"

# ---- rendering, as installed (man1/, man3/: .so paths are relative to that) ----

have_groff=
command -v groff >/dev/null 2>&1 && have_groff=1
mkdir -p "$work/man/man1" "$work/man/man3" "$work/man/man7"
for p in $pages; do
	cp "$man/$p" "$work/man/man${p##*.}/"
done
for p in $pages; do
	sec=${p##*.}
	if [ -z "$have_groff" ]; then
		ok "$p renders without warnings # SKIP groff not installed"
		continue
	fi
	(cd "$work/man" && groff -man -Tutf8 -ww -z "man$sec/$p") >"$work/warn" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && [ ! -s "$work/warn" ]; then
		ok "$p renders without warnings"
	else
		diag <"$work/warn"
		not_ok "$p renders without warnings"
	fi
done

# Each page names itself in NAME; a .so page's target names it.
for p in $pages; do
	base=${p%.*}
	target=$p
	link=$(sed -n 's|^\.so man[1-8]/\(.*\)$|\1|p' "$man/$p")
	[ -n "$link" ] && target=$link
	if [ ! -f "$man/$target" ]; then
		echo "$p: .so target $target missing" | diag
		not_ok "$p: NAME section names $base"
		continue
	fi
	sed -n '/^\.SH NAME/,/^\.SH/p' "$man/$target" | sed -n 2p |
		sed 's/\\-.*//' | tr ',' '\n' | tr -d ' ' >"$work/namelist"
	check "$p: NAME section of $target names $base" grep -qx "$base" "$work/namelist"
done

# ---- gosys(1) against the code ------------------------------------------------------

g1=$man/gosys.1
# The paragraph under a .TP tag line: from the tag to the next .TP/.RE/.SH/.PP.
para() {
	awk -v tag="$1" 'found && /^\.(TP|RE|SH|PP)/ { exit }
		found { print }
		prev == ".TP" && $0 == tag { found = 1 }
		{ prev = $0 }' "$g1" | tr '\n' ' '
}
while read -r kind name def min max; do
	case $kind in
	ENV)
		txt=$(para ".B $name")
		want="from $min to $max"
		;;
	*)
		tag=$(grep -m1 "^\.BI $name= " "$g1")
		txt=$(para "$tag")
		want="The default is $def."
		if [ "$kind" = INT ] && [ "$max" -gt 1 ]; then
			want="From $min to $max.* $want"
			[ "$min" = 0 ] && want="From $min to $max; 0 turns it off.* The default is $def."
		fi
		;;
	esac
	if echo "$txt" | grep -q "$want"; then
		ok "gosys(1): $name documented with range and default"
	else
		echo "want /$want/ in: $txt" | diag
		not_ok "gosys(1): $name documented with range and default"
	fi
done <"$work/knobs"

missing=
if [ -x "$gosys" ]; then
	"$gosys" --help >"$work/help"
	for o in $(grep -Eo '^  (-[A-Za-z]), (--[a-z]+)' "$work/help" | tr -d ','); do
		esc=$(echo "$o" | sed 's/-/\\\\-/g')
		grep -q "$esc" "$g1" || missing="$missing $o"
	done
	[ "$(grep -Ec '^  -[A-Za-z], --[a-z]+' "$work/help")" -ge 4 ] || missing="$missing (help has no options?)"
	for k in $(awk '$1 != "ENV" { print $2 }' "$work/knobs"); do
		grep -q "$k=" "$work/help" || missing="$missing help:$k"
	done
else
	missing="tools/gosys not built"
fi
check "gosys(1) documents every option of --help, --help every knob${missing:+ (missing:$missing)}" test -z "$missing"

missing=
for c in 0 2 126 127; do
	grep -q "^\.B $c\$" "$g1" || missing="$missing $c"
	[ -x "$gosys" ] && [ "$c" != 0 ] && { grep -q "\b$c\b" "$work/help" || missing="$missing help:$c"; }
done
check "gosys(1) and --help list the exit codes 0 2 126 127${missing:+ (missing:$missing)}" test -z "$missing"

# ---- gosys_schedstats(3) against the header -----------------------------------------

missing=
[ -s "$work/fields" ] || missing=" (no fields parsed from gosys.h)"
while read -r f; do
	grep -q "^\.I $f\$" "$man/gosys_schedstats.3" || missing="$missing $f"
	grep -q "int[0-9]*_t  *$f;" "$man/gosys_schedstats.3" || missing="$missing synopsis:$f"
done <"$work/fields"
check "gosys_schedstats(3) documents every field${missing:+ (missing:$missing)}" test -z "$missing"
# The synopsis lists the fields in the header's order.
sed -n 's/^\.B "  *u\{0,1\}int[0-9]*_t  *\([a-z_]*\);"$/\1/p' "$man/gosys_schedstats.3" >"$work/mfields"
check "gosys_schedstats(3) synopsis in the header's order" same "$work/fields" "$work/mfields"

# ---- the public functions' prototypes -----------------------------------------------

missing=
for f in $names; do
	page=$man/$f.3
	link=$(sed -n 's|^\.so man3/\(.*\)$|\1|p' "$page" 2>/dev/null)
	[ -n "$link" ] && page=$man/$link
	grep -q "$f(" "$page" 2>/dev/null || missing="$missing $f"
done
check "each function's page shows its prototype${missing:+ (missing:$missing)}" test -z "$missing"

# Every page cites sections that exist for its SEE ALSO (ours): a libgosys page
# named there must be one of ours.
missing=
for p in $pages; do
	for ref in $(sed -n '/^\.SH SEE ALSO/,$p' "$man/$p" | sed -n 's/^\.BR \(gosys[a-z_0-9]*\|libgosys\) (\([1-8]\)).*/\1.\2/p'); do
		[ -f "$man/$ref" ] || missing="$missing $p:$ref"
	done
done
check "SEE ALSO references to our pages resolve${missing:+ (missing:$missing)}" test -z "$missing"

done_testing
