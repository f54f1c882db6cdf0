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
	_check_name=$1
	shift
	if "$@"; then ok "$_check_name"; else not_ok "$_check_name"; fi
}
# need TOOL...: skip the whole script when a tool is missing.
need() {
	for _need in "$@"; do
		command -v "$_need" >/dev/null 2>&1 || skip_all "$_need not installed"
	done
}
done_testing() { exit $((tap_failed > 0)); }

need timeout cmp diff env mktemp

# ---- work directory ----------------------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/gosys-real.XXXXXX") || exit 99
# KEEP=1 in the environment leaves the work directory for a post-mortem.
cleanup() { [ -n "${KEEP:-}" ] || rm -rf "$work"; }
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

# A TSan build of an interposer cannot be preloaded at all: TSan's start-up
# calls sigaction and read, which land in our instrumented wrappers before
# TSan can run instrumented code, and every process dies (the preload's own
# tests skip such builds too). Only in a TSan build, and only if even
# /bin/true dies, do these tests skip; anywhere else a crash is a failure.
# Scripts that preload call it before their plan.
skip_if_tsan_cannot_preload() {
	case $san_rt in
	*libtsan*)
		env LD_PRELOAD="$preload" /bin/true >/dev/null 2>&1 ||
			skip_all "this TSan build of libgosys.so cannot be preloaded (/bin/true dies)"
		;;
	esac
}

# Seconds one run of a program may take before it counts as hung.
T=${GOSYS_REAL_TIMEOUT:-120}

# The variants every program runs as; launcher_variant adds one more.
VARIANTS="plain p1 p2 p2paced"
SKIPPED_VARIANTS=
SKIP_REASON=

# launcher_variant NAME: also run as NAME (gosys1 or gosys2), through the
# built launcher. TSan's runtime must be the first library loaded, and the
# launcher puts libgosys first by design, so a TSan build reports it skipped.
launcher_variant() {
	case $san_rt in
	*libtsan*)
		SKIPPED_VARIANTS="$SKIPPED_VARIANTS $1"
		SKIP_REASON="TSan's runtime cannot come after the library the launcher puts first"
		;;
	*) VARIANTS="$VARIANTS $1" ;;
	esac
}

# variant NAME COMMAND [ARG]...: run COMMAND as variant NAME under timeout(1):
#   plain   without the library
#   p1, p2  LD_PRELOAD of the built library, GOSYS_MAXPROCS=1 or 2
#   p2paced as p2, and quota pacing at 0.7 CPUs (GOSYS_DEBUG=pacecpus=700)
#   gosys1, gosys2  through tools/gosys -p 1 or -p 2 (it finds the library
#           through GOSYS_LIB)
variant() {
	_var=$1
	shift
	case $_var in
	plain) timeout -k 5 "$T" "$@" ;;
	p1 | p2) timeout -k 5 "$T" env LD_PRELOAD="$preload" GOSYS_MAXPROCS="${_var#p}" "$@" ;;
	p2paced) # and paced at 0.7 CPUs: pauses every few ms, SIGURG to every holder
		timeout -k 5 "$T" env LD_PRELOAD="$preload" GOSYS_MAXPROCS=2 \
			GOSYS_DEBUG=pacecpus=700 "$@" ;;
	gosys1 | gosys2)
		if [ -n "$san_rt" ]; then # the launcher puts the library first
			timeout -k 5 "$T" env LD_PRELOAD="$san_rt" \
				ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0" \
				"$GOSYS_BUILDDIR/tools/gosys" -p "${_var#gosys}" "$@"
		else
			timeout -k 5 "$T" "$GOSYS_BUILDDIR/tools/gosys" -p "${_var#gosys}" "$@"
		fi
		;;
	*)
		echo "variant: unknown $_var" >&2
		return 99
		;;
	esac
}

# capture DIR VARIANT COMMAND [ARG]...: run it, leaving DIR/stdout, DIR/stderr
# and DIR/status (the exit status, 124 if it timed out).
capture() {
	_cap_dir=$1
	shift
	mkdir -p "$_cap_dir"
	variant "$@" >"$_cap_dir/stdout" 2>"$_cap_dir/stderr" </dev/null
	echo $? >"$_cap_dir/status"
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
	_sd_r=0
	[ -d "$1" ] && [ -d "$2" ] || {
		echo "missing result directory $1 or $2" | diag
		return 1
	}
	(cd "$1" && find . -type f | sort) >"$work/.lsa"
	(cd "$2" && find . -type f | sort) >"$work/.lsb"
	same "$work/.lsa" "$work/.lsb" || _sd_r=1
	while read -r _sd_f; do
		[ -f "$2/$_sd_f" ] || continue
		same "$1/$_sd_f" "$2/$_sd_f" || _sd_r=1
	done <"$work/.lsa"
	return $_sd_r
}

# status_is DIR N: the captured run exited with N; shows its stderr if not.
status_is() {
	_st=$(cat "$1/status" 2>/dev/null)
	[ "$_st" = "$2" ] && return 0
	echo "exit status $_st, expected $2; stderr:" | diag
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

# ---- running one job as every variant, and reporting ---------------------------

# run_variants JOB: calls "JOB VARIANT OUTDIR" for each of $VARIANTS, plain
# first; JOB leaves one result directory per step under OUTDIR (see capture).
run_variants() {
	for _rv in $VARIANTS; do
		mkdir -p "$work/out.$_rv"
		"$1" "$_rv" "$work/out.$_rv"
	done
}

# report STEP...: per step, one line that the plain run exited 0 and one per
# other variant that its results are byte-identical to the plain run's.
# Plans for: (number of steps) * (number of variants) lines.
report() {
	for _rep_step in "$@"; do
		check "plain: $_rep_step exits 0" status_is "$work/out.plain/$_rep_step" 0
		for _rep_v in $VARIANTS; do
			[ "$_rep_v" = plain ] && continue
			check "$_rep_v: $_rep_step same as plain" \
				same_dirs "$work/out.plain/$_rep_step" "$work/out.$_rep_v/$_rep_step"
		done
		for _rep_v in $SKIPPED_VARIANTS; do
			ok "$_rep_v: $_rep_step same as plain # SKIP $SKIP_REASON"
		done
	done
}
nvariants() { set -- $VARIANTS $SKIPPED_VARIANTS; echo $#; }

# plan_steps STEP...: the plan for report STEP... plus report_loaded.
plan_steps() {
	set -- $#
	plan $(($1 * $(nvariants) + $(nvariants) - 1))
}

# report_loaded: one line per preloaded variant that a program run as it has
# the built library mapped, so that no comparison passes because the
# library silently failed to load.
report_loaded() {
	_rl_lib=$(cd "$(dirname "$GOSYS_LIB")" && pwd -P)/$(basename "$GOSYS_LIB")
	_rl_lib=$(readlink -f "$_rl_lib")
	for _rl_v in $VARIANTS; do
		[ "$_rl_v" = plain ] && continue
		variant "$_rl_v" cat /proc/self/maps >"$work/maps" 2>&1
		check "$_rl_v: the library is mapped in the program" grep -qF "$_rl_lib" "$work/maps"
	done
	for _rl_v in $SKIPPED_VARIANTS; do
		ok "$_rl_v: the library is mapped in the program # SKIP $SKIP_REASON"
	done
}
