#!/bin/sh
# SPDX-License-Identifier: MIT
# loaded.sh MAKE [ARGS...]: runs the command (make check) with two CPU-bound
# processes beside it for the whole run, as on a CI machine that shares its
# two CPUs with other work. The hogs are ended however the command ends.
# Every timing-dependent case must judge itself against what the machine
# gave it (a reference measured beside it), never against a quiet machine.
hogs=""
cleanup() {
	[ -n "$hogs" ] && kill $hogs 2>/dev/null
	wait 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM
for i in 1 2; do
	sh -c 'while :; do :; done' &
	hogs="$hogs $!"
done
"$@"
