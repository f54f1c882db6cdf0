#!/bin/sh
# SPDX-License-Identifier: MIT
# The gosys launcher (tools/gosys): --help and --version, every error path's
# exit code and one-line message, the environment the command sees (by running
# env(1) under it), the order of LD_PRELOAD as the dynamic loader reads it, and
# that it execs: same pid, the command's own exit status and death by signal.
. "$GOSYS_SRCDIR/tests/real/lib.sh"

gosys=$GOSYS_BUILDDIR/tools/gosys
[ -x "$gosys" ] || {
	echo "1..1"
	echo "not ok 1 - $gosys is built"
	exit 0
}
# The command under test runs with the real library preloaded; an ASan build
# of it cannot come after its runtime in LD_PRELOAD, so let ASan accept that.
case $san_rt in
*libasan*) ASAN_OPTIONS=$ASAN_OPTIONS:verify_asan_link_order=0 ;;
esac
version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$GOSYS_BUILDDIR/config.h")
abslib=$(cd "$(dirname "$GOSYS_LIB")" && pwd -P)/$(basename "$GOSYS_LIB")
buildlib=$(cd "$GOSYS_BUILDDIR" && pwd -P)/.libs/libgosys.so
libc=$(ldd /bin/sh | awk '$1 ~ /^libc\.so/ { print $3 }')
envbin=$(command -v env)

skip_if_tsan_cannot_preload
plan 67

# g NAME ARG...: run the launcher, leaving $work/g/{stdout,stderr,status}.
g() {
	r=$work/g
	rm -rf "$r"
	mkdir -p "$r"
	timeout -k 5 60 "$gosys" "$@" >"$r/stdout" 2>"$r/stderr" </dev/null
	echo $? >"$r/status"
}
# fails NAME CODE MESSAGE ARG...: exit CODE, nothing on stdout, stderr exactly
# the one line MESSAGE.
fails() {
	name=$1 code=$2 msg=$3
	shift 3
	g "$@"
	printf '%s\n' "$msg" >"$work/want"
	if status_is "$work/g" "$code" && [ ! -s "$work/g/stdout" ] &&
		same "$work/want" "$work/g/stderr"; then
		ok "$name"
	else
		not_ok "$name"
	fi
}
# envline VAR: VAR's line in the env output of the last run ("" if absent).
envline() { grep "^$1=" "$work/g/stdout" || true; }
# runs_clean: the last run exited 0 with nothing on stderr.
runs_clean() {
	status_is "$work/g" 0 && {
		[ ! -s "$work/g/stderr" ] || {
			echo "unexpected stderr:" | diag
			diag <"$work/g/stderr"
			false
		}
	}
}

# ---- the script itself -------------------------------------------------------

check "generated file says so" grep -q '^# Generated from tools/gosys.in by make; do not edit.$' "$gosys"
check "no substitution left undone" sh -c '! grep -n "@[A-Z_]*@" "$1"' sh "$gosys"
check "parses as POSIX sh" sh -n "$gosys"

# ---- help and version --------------------------------------------------------

g --help
if runs_clean && head -1 "$work/g/stdout" | grep -q '^Usage: gosys \[OPTION\]\.\.\. \[--\] COMMAND \[ARG\]\.\.\.$'; then
	ok "--help prints the usage on stdout"
else
	not_ok "--help prints the usage on stdout"
fi
cp "$work/g/stdout" "$work/help"
g -h
check "-h is --help" same "$work/help" "$work/g/stdout"
missing=
for o in '-p, --maxprocs N' '-d, --debug KNOBS' '--cpus ' '-h, --help' '-V, --version' '--  '; do
	grep -qF -- "  $o" "$work/help" || missing="$missing [$o]"
done
check "--help lists every option" test -z "$missing"
g --help --bogus
check "--help wins over what follows" same "$work/help" "$work/g/stdout"

g --version
printf 'gosys (libgosys) %s\nlibrary: %s\n' "$version" "$abslib" >"$work/want"
if runs_clean && same "$work/want" "$work/g/stdout"; then
	ok "--version prints the version and the library"
else
	not_ok "--version prints the version and the library"
fi
g -V
check "-V is --version" same "$work/want" "$work/g/stdout"

# ---- which library -----------------------------------------------------------

out=$(unset GOSYS_LIB; "$gosys" --version | sed -n 2p)
check "build tree found beside the script" test "$out" = "library: $buildlib"
out=$(unset GOSYS_LIB; cd "$GOSYS_BUILDDIR/tools" && ./gosys --version | sed -n 2p)
check "build tree found from a relative path" test "$out" = "library: $buildlib"
out=$(unset GOSYS_LIB; PATH=$GOSYS_BUILDDIR/tools:$PATH; gosys --version | sed -n 2p)
check "build tree found through PATH" test "$out" = "library: $buildlib"
out=$(cd "$(dirname "$abslib")" && GOSYS_LIB=$(basename "$abslib") "$gosys" --version | sed -n 2p)
check "relative GOSYS_LIB made absolute" test "$out" = "library: $abslib"
mkdir -p "$work/bin"
cp "$gosys" "$work/bin/gosys"
out=$(unset GOSYS_LIB; "$work/bin/gosys" --version | sed -n 2p)
echo "installed copy uses: $out" | diag
check "outside the build tree: the installed library, its soname" \
	sh -c 'echo "$1" | grep -Eq "^library: /[^\$@ ]*/libgosys\.so\.[0-9]+\$"' sh "$out"

# ---- usage errors: exit 2, one line ------------------------------------------

fails "no arguments" 2 "gosys: missing command (try 'gosys --help')"
fails "options but no command" 2 "gosys: missing command (try 'gosys --help')" -p 2 -d slice=5
fails "-- but no command" 2 "gosys: missing command (try 'gosys --help')" --
fails "empty command name" 2 "gosys: empty command name" ''
fails "-p without its argument" 2 "gosys: option '-p' needs an argument" -p
fails "--debug without its argument" 2 "gosys: option '--debug' needs an argument" --debug
fails "-p 0" 2 "gosys: -p: '0' is not a positive integer" -p 0 true
fails "-p 000" 2 "gosys: -p: '000' is not a positive integer" -p 000 true
fails "-p -1" 2 "gosys: -p: '-1' is not a positive integer" -p -1 true
fails "-p +2" 2 "gosys: -p: '+2' is not a positive integer" -p +2 true
fails "-p 1.5" 2 "gosys: -p: '1.5' is not a positive integer" -p 1.5 true
fails "-p ' 2'" 2 "gosys: -p: ' 2' is not a positive integer" -p ' 2' true
fails "-p ''" 2 "gosys: -p: '' is not a positive integer" -p '' true
fails "-p abc" 2 "gosys: -p: 'abc' is not a positive integer" -p abc true
fails "--maxprocs=0" 2 "gosys: --maxprocs: '0' is not a positive integer" --maxprocs=0 true
fails "-p 1025 is out of range" 2 "gosys: -p: '1025' is out of range 1..1024" -p 1025 true
fails "-p with 30 digits is out of range" 2 \
	"gosys: --maxprocs: '999999999999999999999999999999' is out of range 1..1024" \
	--maxprocs 999999999999999999999999999999 true
fails "-d ''" 2 "gosys: -d: empty KNOBS" -d '' true
fails "--debug=" 2 "gosys: --debug: empty KNOBS" --debug= true
fails "unknown short option" 2 "gosys: unknown option '-x' (try 'gosys --help')" -x true
fails "unknown long option" 2 "gosys: unknown option '--bogus' (try 'gosys --help')" --bogus true
GOSYS_LIB=/nonexistent/libgosys.so
export GOSYS_LIB
fails "missing library" 2 "gosys: library not found: /nonexistent/libgosys.so" true
GOSYS_LIB="/tmp/a b/libgosys.so"
fails "library path with a space" 2 \
	"gosys: library path '/tmp/a b/libgosys.so' has a space or colon, which LD_PRELOAD cannot carry" true
GOSYS_LIB=$abslib

# ---- the command cannot be run -------------------------------------------------

fails "command not in PATH: 127" 127 "gosys: no-such-command-xyzzy: command not found" no-such-command-xyzzy
fails "-- then a dash command: 127" 127 "gosys: -p: command not found" -- -p
fails "missing path: 127" 127 "gosys: $work/nothing: not found" "$work/nothing"
printf '#!/bin/sh\necho hi\n' >"$work/bin/plainfile"
chmod 644 "$work/bin/plainfile"
fails "not executable: 126" 126 "gosys: $work/bin/plainfile: permission denied" "$work/bin/plainfile"
export PATH="$work/bin:$PATH"
fails "in PATH but not executable: 126" 126 "gosys: plainfile: permission denied" plainfile
fails "a directory: 126" 126 "gosys: $work/bin: is a directory" "$work/bin"
mkdir -p "$work/bin/dironly"
fails "a directory named like the command in PATH: 127" 127 "gosys: dironly: command not found" dironly

# ---- what the command sees -------------------------------------------------------

g "$envbin"
if runs_clean && [ "$(envline LD_PRELOAD)" = "LD_PRELOAD=$abslib" ] &&
	[ -z "$(envline GOSYS_MAXPROCS)" ] && [ -z "$(envline GOSYS_DEBUG)" ]; then
	ok "env: LD_PRELOAD is the library, nothing else set"
else
	envline LD_PRELOAD | diag
	not_ok "env: LD_PRELOAD is the library, nothing else set"
fi
g -p 3 --debug slice=5 "$envbin"
check "env: -p 3 -> GOSYS_MAXPROCS=3" test "$(envline GOSYS_MAXPROCS)" = "GOSYS_MAXPROCS=3"
check "env: --debug -> GOSYS_DEBUG" test "$(envline GOSYS_DEBUG)" = "GOSYS_DEBUG=slice=5"
check "env: the library warned about nothing" runs_clean
g -p007 "$envbin"
check "env: leading zeros dropped" test "$(envline GOSYS_MAXPROCS)" = "GOSYS_MAXPROCS=7"
g -p 1 --maxprocs=2 "$envbin"
check "env: the last -p counts" test "$(envline GOSYS_MAXPROCS)" = "GOSYS_MAXPROCS=2"
g --cpus -d slice=5 "$envbin"
check "env: --cpus -> cpus=maxprocs in GOSYS_DEBUG, in order" \
	test "$(envline GOSYS_DEBUG)" = "GOSYS_DEBUG=cpus=maxprocs,slice=5"
(
	GOSYS_MAXPROCS=5 GOSYS_DEBUG=slice=3
	export GOSYS_MAXPROCS GOSYS_DEBUG
	g "$envbin"
)
check "env: GOSYS_MAXPROCS passed on without -p" test "$(envline GOSYS_MAXPROCS)" = "GOSYS_MAXPROCS=5"
check "env: GOSYS_DEBUG passed on without -d" test "$(envline GOSYS_DEBUG)" = "GOSYS_DEBUG=slice=3"
(
	GOSYS_MAXPROCS=5 GOSYS_DEBUG=slice=3
	export GOSYS_MAXPROCS GOSYS_DEBUG
	g -p 2 -dslice=7 --debug=granularity=100 --debug asyncpreempt=0,updatemaxprocs=0 "$envbin"
)
check "env: -p replaces GOSYS_MAXPROCS" test "$(envline GOSYS_MAXPROCS)" = "GOSYS_MAXPROCS=2"
check "env: every -d appended in order after GOSYS_DEBUG" test "$(envline GOSYS_DEBUG)" = \
	"GOSYS_DEBUG=slice=3,slice=7,granularity=100,asyncpreempt=0,updatemaxprocs=0"
check "env: valid knobs, no warning" runs_clean
(
	GOSYS_DEBUG=
	export GOSYS_DEBUG
	g -d slice=5 "$envbin"
)
check "env: empty GOSYS_DEBUG gets no leading comma" test "$(envline GOSYS_DEBUG)" = "GOSYS_DEBUG=slice=5"
(
	LD_PRELOAD=$libc
	export LD_PRELOAD
	g "$envbin"
)
check "env: library put before an existing LD_PRELOAD" test "$(envline LD_PRELOAD)" = "LD_PRELOAD=$abslib:$libc"

# The dynamic loader's own view: with LD_TRACE_LOADED_OBJECTS it lists what it
# loads, in order, preloads first, without running the program.
(
	LD_PRELOAD=$libc
	export LD_PRELOAD
	g "$envbin" LD_TRACE_LOADED_OBJECTS=1 /bin/true
)
awk 'NF && $1 !~ /^linux-vdso/ { print $1 }' "$work/g/stdout" | head -2 >"$work/order"
printf '%s\n%s\n' "$abslib" "$libc" >"$work/want"
check "ld.so loads the library first, then the old LD_PRELOAD" same "$work/want" "$work/order"

# ---- exec: arguments, stdin/stdout, pid, status, signals -----------------------------

g printf '%s|' 'a b' '' -p -- '$HOME' '*'
printf '%s' 'a b||-p|--|$HOME|*|' >"$work/want"
check "arguments passed untouched" same "$work/want" "$work/g/stdout"
out=$(echo through | timeout -k 10 60 "$gosys" cat)
check "stdin and stdout are the command's" test "$out" = through
# The outer shell prints the launcher's pid, the command its own: one pid.
timeout -k 10 60 sh -c '"$0" sh -c "echo \$\$" & echo $!; wait' "$gosys" >"$work/pid"
check "the command runs in gosys's own process (exec)" \
	test "$(wc -l <"$work/pid") $(sort -u "$work/pid" | wc -l)" = "2 1"
g sh -c 'exit 7'
check "exit status 7 passed through" status_is "$work/g" 7
g -p 1 sh -c 'exit 0'
check "exit status 0 with -p 1" status_is "$work/g" 0
py=$(python3_path)
if [ -n "$py" ]; then
	out=$("$py" -c 'import subprocess, sys
r = [subprocess.run([sys.argv[1], "sh", "-c", "kill -%s $$" % s]).returncode for s in ("TERM", "USR1", "KILL")]
print(" ".join(map(str, r)))' "$gosys")
	check "death by signal seen by the parent (TERM USR1 KILL)" test "$out" = "-15 -10 -9"
	# The library itself took -p: ask it, through its public gosys_maxprocs(0).
	g -p 3 "$py" -c 'import ctypes; print(ctypes.CDLL(None).gosys_maxprocs(0))'
	check "the preloaded library runs with -p 3" test "$(cat "$work/g/stdout")" = 3
else
	ok "death by signal seen by the parent # SKIP no python3"
	ok "the preloaded library runs with -p 3 # SKIP no python3"
fi

# ---- the launcher's limit is the library's -------------------------------------------

GOSYS_MAXPROCS=1024 timeout -k 10 60 env LD_PRELOAD="$preload" /bin/true 2>"$work/w1024"
GOSYS_MAXPROCS=1025 timeout -k 10 60 env LD_PRELOAD="$preload" /bin/true 2>"$work/w1025"
if [ ! -s "$work/w1024" ] && grep -q '^gosys: GOSYS_MAXPROCS=' "$work/w1025"; then
	ok "library accepts 1024 and refuses 1025, as the launcher does"
else
	diag <"$work/w1024"
	diag <"$work/w1025"
	not_ok "library accepts 1024 and refuses 1025, as the launcher does"
fi

done_testing
