#!/bin/sh
# SPDX-License-Identifier: MIT
# A JVM (HotSpot) under the library with maxprocs 1 and 2 and paced, against
# a plain run: Stw.java's threads compute, allocate, sleep and pass work
# through a queue while the main thread forces collections, with Java
# Flight Recorder on (-XX:StartFlightRecording, the profile settings): its
# thread sampler suspends running threads by signal (SIGUSR2; the handler
# waits in sigsuspend) every 10 ms. Output and exit status must match,
# within 60 s a run. The plain run's recording must hold execution samples
# (or JFR never sampled here, and the test tests nothing); under the library
# their number is only printed: with one P the sampler, holding it, finds no
# other Java thread running, and HotSpot gives up a suspension that is not
# acknowledged within a few milliseconds, so few or no samples is no fault.
. "$GOSYS_SRCDIR/tests/real/lib.sh"
need java javac jfr
T=${GOSYS_REAL_TIMEOUT:-60}
steps="jfr"
skip_if_tsan_cannot_preload
# The step, the library's mapping, and the plain run's samples.
plan $(($(nvariants) + $(nvariants) - 1 + 1))
# javac runs plain, once; only the program runs under the library.
mkdir -p "$work/classes"
if ! timeout -k 5 120 javac -d "$work/classes" "$GOSYS_SRCDIR/tests/real/Stw.java" >"$work/javac.out" 2>&1; then
	diag <"$work/javac.out"
fi
# No log lines of the JVM's own (JFR announces its recording on stdout, with
# the pid, unless its tag has an output of its own):
# only warnings, and those would differ from the plain run's.
jvm="java -Xmx256m -Xlog:disable -Xlog:all=warning:stderr -Xlog:jfr+startup=error:stderr"

job() {
	# shellcheck disable=SC2086
	capture "$2/jfr" "$1" $jvm -XX:StartFlightRecording=filename="$work/rec.$1.jfr",settings=profile \
		-cp "$work/classes" Stw 16 200
}
run_variants job
report $steps
report_loaded
# A recording's execution samples: `jfr summary` counts its events.
samples() {
	timeout -k 5 60 jfr summary "$work/rec.$1.jfr" 2>/dev/null |
		awk '$1 == "jdk.ExecutionSample" { print $2 }'
}
n=$(samples plain)
if [ "${n:-0}" -gt 0 ] 2>/dev/null; then
	ok "plain: JFR's sampler stopped threads ($n execution samples)"
else
	not_ok "plain: JFR's sampler took no execution sample: the test tests nothing here"
fi
for v in $VARIANTS; do
	[ "$v" = plain ] && continue
	c=$(samples "$v")
	echo "$v: ${c:-no} execution samples in the recording" | diag
done
done_testing
