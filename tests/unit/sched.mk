# SPDX-License-Identifier: MIT
# The scheduler's tests (issue 4): I1, I2, I3, edge cases, and the stress
# program (a 5-second smoke run in make check; `make stress` for minutes).
T_SCHED_HDRS = tests/unit/tcheck.h tests/unit/test_sched_util.h

check_PROGRAMS += tests/unit/test_sched_i1
tests_unit_test_sched_i1_SOURCES = tests/unit/test_sched_i1.c $(T_SCHED_HDRS)
tests_unit_test_sched_i1_CFLAGS = $(T_UNIT_CFLAGS)
tests_unit_test_sched_i1_LDADD = $(T_UNIT_LDADD)
UNIT_TESTS += tests/unit/test_sched_i1

check_PROGRAMS += tests/unit/test_sched_i2
tests_unit_test_sched_i2_SOURCES = tests/unit/test_sched_i2.c $(T_SCHED_HDRS)
tests_unit_test_sched_i2_CFLAGS = $(T_UNIT_CFLAGS)
tests_unit_test_sched_i2_LDADD = $(T_UNIT_LDADD)
UNIT_TESTS += tests/unit/test_sched_i2

check_PROGRAMS += tests/unit/test_sched_i3
tests_unit_test_sched_i3_SOURCES = tests/unit/test_sched_i3.c $(T_SCHED_HDRS)
tests_unit_test_sched_i3_CFLAGS = $(T_UNIT_CFLAGS)
tests_unit_test_sched_i3_LDADD = $(T_UNIT_LDADD)
UNIT_TESTS += tests/unit/test_sched_i3

check_PROGRAMS += tests/unit/test_sched_edge
tests_unit_test_sched_edge_SOURCES = tests/unit/test_sched_edge.c $(T_SCHED_HDRS)
tests_unit_test_sched_edge_CFLAGS = $(T_UNIT_CFLAGS)
tests_unit_test_sched_edge_LDADD = $(T_UNIT_LDADD)
UNIT_TESTS += tests/unit/test_sched_edge

check_PROGRAMS += tests/unit/test_sched_signal
tests_unit_test_sched_signal_SOURCES = tests/unit/test_sched_signal.c $(T_SCHED_HDRS)
tests_unit_test_sched_signal_CFLAGS = $(T_UNIT_CFLAGS)
tests_unit_test_sched_signal_LDADD = $(T_UNIT_LDADD)
UNIT_TESTS += tests/unit/test_sched_signal

check_PROGRAMS += tests/unit/test_sched_pace
tests_unit_test_sched_pace_SOURCES = tests/unit/test_sched_pace.c $(T_SCHED_HDRS)
tests_unit_test_sched_pace_CFLAGS = $(T_UNIT_CFLAGS)
tests_unit_test_sched_pace_LDADD = $(T_UNIT_LDADD)
UNIT_TESTS += tests/unit/test_sched_pace

# The stress program: no check framework, exits non-zero on a violation.
check_PROGRAMS += tests/stress/stress
tests_stress_stress_SOURCES = tests/stress/stress.c tests/unit/test_sched_util.h
tests_stress_stress_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/unit
tests_stress_stress_CFLAGS = $(AM_CFLAGS)
tests_stress_stress_LDADD = libgosys_core.la $(LIBS)
SCRIPT_TESTS += tests/stress/smoke.sh
EXTRA_DIST += tests/stress/smoke.sh

# The signal storm (tests/stress/sigstorm.c): handlers that block, nest and
# siglongjmp, against the preloaded library; a few seconds in smoke.sh.
check_PROGRAMS += tests/stress/sigstorm
tests_stress_sigstorm_SOURCES = tests/stress/sigstorm.c tests/preload/runs.h
tests_stress_sigstorm_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/preload
tests_stress_sigstorm_LDFLAGS = -no-install

# make stress: the random mix for STRESS_SECONDS (default 120), then the
# signal storm (tests/stress/sigstorm.c) as long at maxprocs 1 and 2.
# STORM_ARGS adds to the storm's arguments (e.g. --margin 0.3 or --seed N);
# make stress-signals runs the storm alone. The storm runs plain as well in
# smoke.sh, and must pass there: a hang without the library is the storm's
# own bug, never a verdict on the library.
STORM_RUN = for p in 1 2; do \
		GOSYS_MAXPROCS=$$p ./tests/stress/sigstorm$(EXEEXT) --lib '$(abs_top_builddir)/.libs/libgosys.so' \
			--seconds $${STRESS_SECONDS:-120} $${STORM_ARGS:-} || exit 1; \
	done
stress: tests/stress/stress$(EXEEXT) tests/stress/sigstorm$(EXEEXT) libgosys.la
	STRESS_SECONDS=$${STRESS_SECONDS:-120} ./tests/stress/stress$(EXEEXT)
	$(STORM_RUN)
stress-signals: tests/stress/sigstorm$(EXEEXT) libgosys.la
	$(STORM_RUN)
.PHONY: stress stress-signals
