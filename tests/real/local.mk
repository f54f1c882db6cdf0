# SPDX-License-Identifier: MIT
# Real programs under the built library, compared byte for byte with plain
# runs; the gosys launcher; the manual pages. Each script prints TAP and runs
# every program under timeout(1). lib.sh is their shared helper.
REAL_TESTS = \
	tests/real/launcher.sh \
	tests/real/manpages.sh \
	tests/real/coreutils.sh \
	tests/real/sqlite.sh \
	tests/real/python.sh \
	tests/real/make.sh \
	tests/real/git.sh \
	tests/real/bash.sh \
	tests/real/echo.sh
SCRIPT_TESTS += $(REAL_TESTS)
EXTRA_DIST += tests/real/lib.sh tests/real/pymix.py $(REAL_TESTS)

# The echo server and its clients, as a plain program of the test suite.
check_PROGRAMS += tests/real/echo
tests_real_echo_SOURCES = tests/real/echo.c

# Debuggers and unwinders walking out of signal frames (unwind.sh): gdb on a
# thread parked by the preemption signal and in a program's handler;
# libunwind and libgcc from inside a handler; perf's DWARF call graphs.
# Its symbols exported, so that dladdr names the frames libgcc finds, and no
# sibling calls, so that main stays on the stack.
SCRIPT_TESTS += tests/real/unwind.sh
EXTRA_DIST += tests/real/unwind.sh
check_PROGRAMS += tests/real/unwind
tests_real_unwind_SOURCES = tests/real/unwind.c
tests_real_unwind_CPPFLAGS = $(AM_CPPFLAGS) $(LIBUNWIND_CFLAGS)
tests_real_unwind_CFLAGS = $(AM_CFLAGS) -fvisibility=default -fno-optimize-sibling-calls
tests_real_unwind_LDFLAGS = -Wl,--export-dynamic
tests_real_unwind_LDADD = $(LIBS)
if HAVE_LIBUNWIND
tests_real_unwind_LDADD += $(LIBUNWIND_LIBS)
endif
