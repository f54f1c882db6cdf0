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

# Runtimes that stop the world by signal, against plain runs: the Boehm GC
# (gcstop.c, when configure found bdw-gc) and a JVM with JFR's thread
# sampler on (Stw.java, compiled by the script when javac is there). Built
# without the sanitizers: the collector scans stacks and heap conservatively.
SCRIPT_TESTS += tests/real/boehm.sh tests/real/jvm.sh
EXTRA_DIST += tests/real/boehm.sh tests/real/jvm.sh tests/real/Stw.java tests/real/gcstop.c
if GOSYS_HAVE_BDWGC
check_PROGRAMS += tests/real/gcstop
tests_real_gcstop_SOURCES = tests/real/gcstop.c
tests_real_gcstop_CPPFLAGS = $(BDWGC_CFLAGS)
tests_real_gcstop_CFLAGS = $(WARN_CFLAGS) -pthread
tests_real_gcstop_LDFLAGS = -pthread
tests_real_gcstop_LDADD = $(BDWGC_LIBS)
endif

# schedtrace and gosys dump (tools/gosys-dump.c) on tests/real/observe: the
# trace lines against the program's state and gosys_schedstats; the dump of
# threads in read(), in a program's signal handler and parked by the
# preemption signal, with backtraces through the signal frames. Its
# functions keep their own frames (no sibling calls).
SCRIPT_TESTS += tests/real/schedtrace.sh tests/real/dump.sh
EXTRA_DIST += tests/real/schedtrace.sh tests/real/dump.sh
check_PROGRAMS += tests/real/observe
tests_real_observe_SOURCES = tests/real/observe.c
tests_real_observe_CFLAGS = $(AM_CFLAGS) -fno-optimize-sibling-calls
tests_real_observe_LDADD = $(LIBS)
