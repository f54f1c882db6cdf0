#!/bin/sh
# SPDX-License-Identifier: MIT
# libuv-setup.sh: prepares the libuv peer suite (tests/peer/libuv.sh), as root.
#
#  1. A deb-src entry for this release, made from the machine's own apt
#     sources (the one-line sources.list and the deb822 *.sources files): each
#     enabled "deb" entry for this release's suites gets a "deb-src" twin in a
#     file of ours, /etc/apt/sources.list.d/gosys-src.{list,sources}. The
#     system's files are only read. No host name is written here: whatever
#     mirror the machine uses is the one the twin names.
#  2. apt-get source libuv1 into $GOSYS_PEER_CACHE/libuv1 (default
#     /var/cache/gosys-peer), kept and reused.
#  3. The few packages the runner needs to build and run (dpkg-dev, cmake,
#     netbase, iproute2; not the whole of apt-get build-dep, which would
#     bring debhelper's tool chain for nothing), then one cmake build of
#     libuv's static test runner, uv_run_tests_a, only that target, into the
#     cache (about 20 s on two cores). Nothing is fetched beyond Debian's
#     packages.
#  4. The unprivileged user the suite runs as (libuv's runner refuses root).
#
# Idempotent: once the cache holds a finished build (its "ready" file), a
# second run only checks the user and the file and exits. Exit status 0 when
# the suite is ready, non-zero otherwise; .ci/setup does not stop on it.
set -eu
cache=${GOSYS_PEER_CACHE:-/var/cache/gosys-peer}/libuv1
user=${GOSYS_PEER_USER:-gosys-peer}
pkg=libuv1
ours=/etc/apt/sources.list.d/gosys-src
say() { echo "libuv-setup: $*"; }
die() { echo "libuv-setup: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (apt-get, useradd)"
export DEBIAN_FRONTEND=noninteractive

# ---- the user ------------------------------------------------------------------
if ! id -u "$user" >/dev/null 2>&1; then
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$user" || die "useradd $user failed"
	say "created user $user"
fi

# The ready file names the runner, the source tree, the version, in shell syntax.
if [ -f "$cache/ready" ]; then
	# shellcheck disable=SC1091
	. "$cache/ready"
	if [ -x "${runner:-/nonexistent}" ] && [ -f "${srcdir:-/nonexistent}/test/test-list.h" ]; then
		say "already set up: $version, $runner"
		exit 0
	fi
	rm -f "$cache/ready"
fi

# ---- 1. deb-src from the machine's own sources ------------------------------------
codename=
[ -r /etc/os-release ] && codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$codename" ] || die "no VERSION_CODENAME in /etc/os-release"

# One-line format: "deb [options] URI SUITE COMPONENT...": a "deb-src" copy
# for each line whose suite is this release or one of its -updates/-security
# kind; a line already present as deb-src is left out.
oneline() {
	awk -v code="$codename" '
	function suite_ok(s) { return s == code || index(s, code "-") == 1 }
	/^[ \t]*deb-src[ \t]/ { l = $0; sub(/^[ \t]*deb-src[ \t]+/, "", l); have[l] = 1; next }
	/^[ \t]*deb[ \t]/ {
		l = $0; sub(/^[ \t]*deb[ \t]+/, "", l); sub(/[ \t]*#.*$/, "", l)
		rest = l
		if (rest ~ /^\[/) { rest = substr(rest, index(rest, "]") + 1); sub(/^[ \t]+/, "", rest) }
		split(rest, w, /[ \t]+/)
		if (suite_ok(w[2])) want[++n] = l
	}
	END { for (i = 1; i <= n; i++) if (!(want[i] in have)) print "deb-src " want[i] }' "$@"
}
# deb822: one stanza per paragraph. An enabled stanza whose Types has deb
# and not deb-src is copied with Types: deb-src, its Suites cut to this
# release's, and its comments dropped; its other fields (URIs, Components,
# Signed-By, ...) are kept as they are, continuation lines included.
deb822() {
	awk -v code="$codename" '
	function suite_ok(s) { return s == code || index(s, code "-") == 1 }
	function value(line) { sub(/^[^:]*:[ \t]*/, "", line); return line }
	BEGIN { RS = ""; FS = "\n" }
	{
		types = ""; enabled = "yes"; suites = ""
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^[Tt]ypes:/) types = value($i)
			else if ($i ~ /^[Ee]nabled:/) enabled = value($i)
			else if ($i ~ /^[Ss]uites:/) suites = value($i)
		}
		if (tolower(enabled) == "no") next
		n = split(types, t, /[ \t]+/); deb = 0; src = 0
		for (j = 1; j <= n; j++) { if (t[j] == "deb") deb = 1; if (t[j] == "deb-src") src = 1 }
		if (!deb || src) next
		n = split(suites, s, /[ \t]+/); keep = ""
		for (j = 1; j <= n; j++) if (suite_ok(s[j])) keep = keep (keep == "" ? "" : " ") s[j]
		if (keep == "") next
		out = "Types: deb-src"
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^[Tt]ypes:/ || $i ~ /^#/) continue
			out = out "\n" ($i ~ /^[Ss]uites:/ ? "Suites: " keep : $i)
		}
		printf "%s%s\n", (nout++ ? "\n" : ""), out
	}' "$@"
}
# write_if_changed FILE: standard input becomes FILE; an empty input removes
# it. Returns 0 if FILE changed.
write_if_changed() {
	_new=$(cat)
	if [ -z "$_new" ]; then
		[ -f "$1" ] || return 1
		rm -f "$1"
		return 0
	fi
	if [ -f "$1" ] && [ "$(cat "$1")" = "$_new" ]; then
		return 1
	fi
	printf '%s\n' "$_new" >"$1.tmp" && mv "$1.tmp" "$1"
}
lists=
[ -f /etc/apt/sources.list ] && lists=/etc/apt/sources.list
for f in /etc/apt/sources.list.d/*.list; do
	[ -f "$f" ] && [ "$f" != "$ours.list" ] && lists="$lists $f"
done
stanzas=
for f in /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] && [ "$f" != "$ours.sources" ] && stanzas="$stanzas $f"
done
changed=0
# shellcheck disable=SC2086
if [ -n "$lists" ]; then oneline $lists; fi | write_if_changed "$ours.list" && changed=1
# shellcheck disable=SC2086
if [ -n "$stanzas" ]; then deb822 $stanzas; fi | write_if_changed "$ours.sources" && changed=1
if [ ! -f "$ours.list" ] && [ ! -f "$ours.sources" ]; then
	# Nothing to add: fine if the machine already has deb-src entries.
	say "no deb entry for $codename to copy; relying on existing deb-src entries"
fi
# apt-get update when our entries are new, or when apt cannot find the
# source package yet (a machine whose lists were cleaned since).
if [ $changed -eq 1 ] || ! apt-cache showsrc "$pkg" 2>/dev/null | grep -q '^Package:'; then
	say "apt-get update"
	apt-get update -qq || die "apt-get update failed"
fi
apt-cache showsrc "$pkg" 2>/dev/null | grep -q '^Package:' ||
	die "apt knows no source package $pkg (no deb-src entry for $codename?)"

# ---- 2. the source package -----------------------------------------------------
# dpkg-dev unpacks it; cmake builds it; netbase gives the tests /etc/services
# and /etc/protocols (one of the package's own build dependencies); iproute2
# brings up loopback in the suite's network namespace.
apt-get install -y -qq --no-install-recommends dpkg-dev build-essential cmake netbase iproute2 \
	>/dev/null || die "apt-get install of the build dependencies failed"
mkdir -p "$cache"
srcdir=
for d in "$cache/$pkg"-*/; do
	[ -f "$d/test/test-list.h" ] && [ -f "$d/CMakeLists.txt" ] && srcdir=${d%/}
done
if [ -z "$srcdir" ]; then
	say "apt-get source $pkg"
	rm -rf "$cache/src.tmp"
	mkdir -p "$cache/src.tmp"
	# apt's sandbox user cannot write to root's directory; it says so and
	# downloads as root. Quiet that: the directory is ours.
	chown _apt "$cache/src.tmp" 2>/dev/null || :
	(cd "$cache/src.tmp" && apt-get source -qq "$pkg" >../source.out 2>&1) || {
		tail -20 "$cache/source.out" >&2
		die "apt-get source $pkg failed"
	}
	for d in "$cache/src.tmp/$pkg"-*/; do
		[ -f "$d/test/test-list.h" ] && srcdir=$d
	done
	[ -n "$srcdir" ] || die "apt-get source $pkg left no source tree"
	chown -R root:root "$cache/src.tmp"
	srcdir=${srcdir%/}
	base=$(basename "$srcdir")
	rm -rf "${cache:?}/$base"
	mv "$srcdir" "$cache/$base"
	mv "$cache/src.tmp"/* "$cache"/ 2>/dev/null || :
	rm -rf "$cache/src.tmp"
	srcdir=$cache/$base
fi
version=$(cd "$srcdir" && dpkg-parsechangelog -S Version 2>/dev/null) || version=unknown

# ---- 3. the test runner ----------------------------------------------------------
# Only the static runner (libuv linked in, glibc dynamic, so LD_PRELOAD
# applies to it): no shared library, no benchmarks. -O2 -g as the package's
# own build flags would have it.
build=$cache/build
say "building uv_run_tests_a of $pkg $version"
t0=$(date +%s)
{
	cmake -S "$srcdir" -B "$build" -DBUILD_TESTING=ON -DLIBUV_BUILD_BENCH=OFF \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo >"$cache/cmake.out" 2>&1 &&
		make -C "$build" -j"${JOBS:-2}" uv_run_tests_a >"$cache/make.out" 2>&1
} || {
	tail -30 "$cache/cmake.out" "$cache/make.out" >&2 2>/dev/null
	die "the build of libuv's test runner failed"
}
runner=$build/uv_run_tests_a
[ -x "$runner" ] || die "no $runner after the build"
"$runner" --list >/dev/null 2>&1 || UV_RUN_AS_ROOT=1 "$runner" --list >/dev/null ||
	die "$runner --list fails"
cat >"$cache/ready.tmp" <<EOF
version='$version'
srcdir='$srcdir'
runner='$runner'
EOF
mv "$cache/ready.tmp" "$cache/ready"
say "ready: $pkg $version, runner built in $(($(date +%s) - t0))s"
