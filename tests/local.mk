# SPDX-License-Identifier: MIT
# Unit tests: check suites linked against the core's hidden internals.
T_UNIT_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
T_UNIT_LDADD = libgosys_core.la $(CHECK_LIBS) $(LIBS)
UNIT_TESTS =
SCRIPT_TESTS =

check_PROGRAMS += tests/unit/test_raw
tests_unit_test_raw_SOURCES = tests/unit/test_raw.c tests/unit/tcheck.h
tests_unit_test_raw_CFLAGS = $(T_UNIT_CFLAGS)
tests_unit_test_raw_LDADD = $(T_UNIT_LDADD)
UNIT_TESTS += tests/unit/test_raw


# Each area's tests keep their own fragment.
include $(srcdir)/tests/unit/vdso.mk
include $(srcdir)/tests/unit/knobs.mk
include $(srcdir)/tests/unit/sched.mk
include $(srcdir)/tests/preload/local.mk
include $(srcdir)/tests/real/local.mk
include $(srcdir)/tests/peer/local.mk

# The names HACKING.md and doc/design.md quote exist in the code.
SCRIPT_TESTS += tests/real/docnames.sh
EXTRA_DIST += tests/real/docnames.sh doc/design.md

TESTS += $(UNIT_TESTS) $(SCRIPT_TESTS)
EXTRA_DIST += tests/summary.sh tests/run-all.sh

# The unit tests again under valgrind memcheck (check-valgrind). Any error or
# definite leak fails the test. valgrind runs one thread at a time; with its
# default lock a thread that spins without a system call can keep it for
# seconds (seen: test_sched_pace's unregistered spinner left the others 4 ms
# of CPU in 1.5 s, and the monitor never started). --fair-sched hands the
# lock round in turn, as the kernel's scheduler would share the CPU.
VALGRIND_FLAGS = --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	--track-fds=no --trace-children=no --fair-sched=try
check-valgrind:
	@test -n "$(VALGRIND)" || { echo "valgrind not found"; exit 1; }
	$(MAKE) $(AM_MAKEFLAGS) check TESTS="$(UNIT_TESTS)" \
		LOG_COMPILER="$(SHELL) $(top_srcdir)/tests/run-test.sh $(VALGRIND) $(VALGRIND_FLAGS)"
.PHONY: check-valgrind

# make check-loaded: the whole suite with two CPU-bound processes beside it
# (tests/loaded.sh). CI runs it as a stage of its own.
check-loaded:
	$(SHELL) $(top_srcdir)/tests/loaded.sh $(MAKE) $(AM_MAKEFLAGS) check
.PHONY: check-loaded
EXTRA_DIST += tests/loaded.sh
