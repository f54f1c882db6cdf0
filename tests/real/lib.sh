# SPDX-License-Identifier: MIT
# tests/real/lib.sh - sourced by the real-program tests (POSIX sh).
# TAP output, a private work directory removed on exit, and `variant`, which
# runs a command plain or under the built library, always inside timeout(1).
# Nothing here may weaken a comparison: runs are compared byte for byte.

set -u
: "${GOSYS_LIB:?GOSYS_LIB must name the built libgosys.so}"
: "${GOSYS_SRCDIR:?}" "${GOSYS_BUILDDIR:?}"
unset LD_PRELOAD GOSYS_MAXPROCS GOSYS_DEBUG
LC_ALL=C
TZ=UTC
export LC_ALL TZ

# ---- TAP -------------------------------------------------------------------

tap_n=0
tap_failed=0
plan() { echo "1..$1"; }
ok() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $*"
}
not_ok() {
	tap_n=$((tap_n + 1))
	tap_failed=$((tap_failed + 1))
	echo "not ok $tap_n - $*"
}
diag() { sed 's/^/# /'; }
skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}
# check NAME COMMAND...: one test line, ok iff COMMAND succeeds.
check() {
	name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}
# need TOOL...: skip the whole script when a tool is missing.
need() {
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || skip_all "$t not installed"
	done
}
done_testing() { exit $((tap_failed > 0)); }

need timeout cmp diff env mktemp

# ---- work directory ----------------------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/gosys-real.XXXXXX") || exit 99
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- how to run a program under the library ----------------------------------

# A sanitizer build of the library needs its runtime first in LD_PRELOAD
# (ASan insists on it), and the programs under test are not ours: their own
# leaks are not this test's business.
san_rt=$(ldd "$GOSYS_LIB" 2>/dev/null | awk '$1 ~ /^lib(asan|tsan)\.so/ { print $3 }')
preload=$GOSYS_LIB
if [ -n "$san_rt" ]; then
	preload=$san_rt:$GOSYS_LIB
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	export ASAN_OPTIONS
fi
[ -f "$GOSYS_LIB" ] || {
	echo "1..1"
	echo "not ok 1 - built library $GOSYS_LIB exists"
	exit 1
}

# Seconds one run of a program may take before it counts as hung.
T=${GOSYS_REAL_TIMEOUT:-120}

# The variants every program runs as. gosys2 goes through the built launcher.
VARIANTS="plain p1 p2"

# variant NAME COMMAND [ARG]...: run COMMAND as variant NAME under timeout(1):
#   plain   without the library
#   p1, p2  LD_PRELOAD of the built library, GOSYS_MAXPROCS=1 or 2
#   gosys1, gosys2  through tools/gosys -p 1 or -p 2 (it finds the library
#           through GOSYS_LIB)
variant() {
	v=$1
	shift
	case $v in
	plain) timeout -k 5 "$T" "$@" ;;
	p1 | p2) timeout -k 5 "$T" env LD_PRELOAD="$preload" GOSYS_MAXPROCS="${v#p}" "$@" ;;
	gosys1 | gosys2)
		if [ -n "$san_rt" ]; then # the launcher puts the library first
			timeout -k 5 "$T" env LD_PRELOAD="$san_rt" \
				ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0" \
				"$GOSYS_BUILDDIR/tools/gosys" -p "${v#gosys}" "$@"
		else
			timeout -k 5 "$T" "$GOSYS_BUILDDIR/tools/gosys" -p "${v#gosys}" "$@"
		fi
		;;
	*)
		echo "variant: unknown $v" >&2
		return 99
		;;
	esac
}

# capture DIR VARIANT COMMAND [ARG]...: run it, leaving DIR/stdout, DIR/stderr
# and DIR/status (the exit status, 124 if it timed out).
capture() {
	d=$1
	v=$2
	shift 2
	mkdir -p "$d"
	variant "$v" "$@" >"$d/stdout" 2>"$d/stderr" </dev/null
	echo $? >"$d/status"
}

# same FILE_A FILE_B: byte for byte, with a short diff as TAP comments if not.
same() {
	if cmp -s "$1" "$2"; then
		return 0
	fi
	echo "$1 and $2 differ:" | diag
	diff -u "$1" "$2" 2>&1 | head -40 | diag
	return 1
}

# same_dirs A B: every file of the two result directories is byte-identical.
same_dirs() {
	r=0
	(cd "$1" && find . -type f | sort) >"$work/.lsa"
	(cd "$2" && find . -type f | sort) >"$work/.lsb"
	same "$work/.lsa" "$work/.lsb" || r=1
	while read -r f; do
		[ -f "$2/$f" ] || continue
		same "$1/$f" "$2/$f" || r=1
	done <"$work/.lsa"
	return $r
}

# status_is DIR N: the captured run exited with N; shows its stderr if not.
status_is() {
	s=$(cat "$1/status")
	[ "$s" = "$2" ] && return 0
	echo "exit status $s, expected $2; stderr:" | diag
	head -20 "$1/stderr" | diag
	return 1
}

# manifest DIR: one line per entry of a tree (type, mode, size, path, and an
# md5 of each file), in name order, made by plain tools outside the library.
manifest() {
	(cd "$1" && find . -printf '%y %m %s %p\n' | sort &&
		find . -type f -print0 | sort -z | xargs -0r md5sum)
}

# A python3 outside any version manager's shim, which is itself a script.
python3_path() {
	if [ -x /usr/bin/python3 ]; then
		echo /usr/bin/python3
	else
		command -v python3
	fi
}
