# SPDX-License-Identifier: MIT
# The preload's tests. rows.sh calls every row of preload/calls.def in five
# ways with and without the preload (the rows come from the table through
# preload/mkcalls.awk); exports.sh checks the exported names; behave.sh runs
# the behaviour cases of tests/preload/behave.c.
T_PRELOAD_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_builddir)/preload -I$(top_srcdir)/tests/preload

check_LTLIBRARIES += tests/preload/librows.la
tests_preload_librows_la_SOURCES = tests/preload/rowsup.c tests/preload/rowsup.h
nodist_tests_preload_librows_la_SOURCES = tests/preload/rows.gen.c
tests_preload_librows_la_CPPFLAGS = $(T_PRELOAD_CPPFLAGS)
# The rows call deprecated and fortify entry points (__xstat, __read_chk) on purpose.
tests_preload_librows_la_CFLAGS = $(AM_CFLAGS) -fvisibility=default -Wno-deprecated-declarations
tests_preload_librows_la_LDFLAGS = -rpath $(abs_builddir)/tests/preload -avoid-version -no-undefined
tests_preload_librows_la_LIBADD = $(LIBS)

check_PROGRAMS += tests/preload/rows_main
tests_preload_rows_main_SOURCES = tests/preload/rows_main.c
tests_preload_rows_main_CPPFLAGS = $(T_PRELOAD_CPPFLAGS)
tests_preload_rows_main_LDADD = tests/preload/librows.la
tests_preload_rows_main_LDFLAGS = -no-install

check_PROGRAMS += tests/preload/behave
tests_preload_behave_SOURCES = tests/preload/behave.c
tests_preload_behave_CPPFLAGS = $(T_PRELOAD_CPPFLAGS)
tests_preload_behave_LDFLAGS = -no-install

BUILT_SOURCES += tests/preload/rows.gen.c
CLEANFILES += tests/preload/rows.gen.c
tests/preload/rows.gen.c: $(GOSYS_CALLS_DEPS)
	$(AM_V_GEN)$(MKDIR_P) tests/preload && $(GOSYS_MKCALLS) -v out=tests $(srcdir)/preload/calls.def > $@.tmp && mv $@.tmp $@

SCRIPT_TESTS += tests/preload/rows.sh tests/preload/exports.sh tests/preload/behave.sh
EXTRA_DIST += tests/preload/rows.sh tests/preload/exports.sh tests/preload/behave.sh

check_PROGRAMS += tests/preload/fdkind
tests_preload_fdkind_SOURCES = tests/preload/fdkind.c
tests_preload_fdkind_CPPFLAGS = $(T_PRELOAD_CPPFLAGS)
tests_preload_fdkind_LDADD = $(LIBS)
tests_preload_fdkind_LDFLAGS = -no-install
SCRIPT_TESTS += tests/preload/fdkind.sh
EXTRA_DIST += tests/preload/fdkind.sh

# Signal handlers that wait or block while their thread is parked in the
# library, and threads that block where it cannot see. Each program is its
# own driver (tests/preload/runs.h): a case runs as many fresh processes,
# forked and exec'd under LD_PRELOAD, each with a hang limit; the scripts
# share tests/preload/runlib.sh.
T_RUNS_HDRS = tests/preload/runs.h

check_PROGRAMS += tests/preload/sigsusp
tests_preload_sigsusp_SOURCES = tests/preload/sigsusp.c $(T_RUNS_HDRS)
tests_preload_sigsusp_CPPFLAGS = $(T_PRELOAD_CPPFLAGS)
tests_preload_sigsusp_LDFLAGS = -no-install

check_PROGRAMS += tests/preload/siglock
tests_preload_siglock_SOURCES = tests/preload/siglock.c $(T_RUNS_HDRS)
tests_preload_siglock_CPPFLAGS = $(T_PRELOAD_CPPFLAGS)
tests_preload_siglock_LDFLAGS = -no-install

check_PROGRAMS += tests/preload/unseen
tests_preload_unseen_SOURCES = tests/preload/unseen.c $(T_RUNS_HDRS)
tests_preload_unseen_CPPFLAGS = $(T_PRELOAD_CPPFLAGS)
tests_preload_unseen_LDADD = $(LIBS)
tests_preload_unseen_LDFLAGS = -no-install

if GOSYS_HAVE_OPENMP
check_PROGRAMS += tests/preload/omp
tests_preload_omp_SOURCES = tests/preload/omp.c $(T_RUNS_HDRS)
tests_preload_omp_CPPFLAGS = $(T_PRELOAD_CPPFLAGS)
tests_preload_omp_CFLAGS = $(AM_CFLAGS) $(OPENMP_CFLAGS)
tests_preload_omp_LDFLAGS = -no-install $(OPENMP_CFLAGS)
endif

SIGNAL_PRELOAD_TESTS = tests/preload/sigsusp.sh tests/preload/sigsusp-noasync.sh \
	tests/preload/siglock.sh tests/preload/unseen.sh
SCRIPT_TESTS += $(SIGNAL_PRELOAD_TESTS)
EXTRA_DIST += $(SIGNAL_PRELOAD_TESTS) tests/preload/runlib.sh

# GOSYS_DEBUG=stats and blockprofile (tests/preload/stats.c): counts against
# strace -c, the file knobs, the heaviest folded stack. -rdynamic: the
# profile names the program's functions through dladdr.
check_PROGRAMS += tests/preload/stats
tests_preload_stats_SOURCES = tests/preload/stats.c $(T_RUNS_HDRS)
tests_preload_stats_CPPFLAGS = $(T_PRELOAD_CPPFLAGS)
tests_preload_stats_LDADD = $(LIBS)
tests_preload_stats_LDFLAGS = -no-install -Wl,--export-dynamic
SCRIPT_TESTS += tests/preload/stats.sh
EXTRA_DIST += tests/preload/stats.sh

# The cpus knob (GOSYS_DEBUG=cpus=maxprocs): every CPU count and affinity
# mask a program can ask for (tests/preload/cpus.c), libgomp's default team
# (cpus_omp.c, with OpenMP), nproc, getconf and a JVM (Cpus.java, if java
# is installed) under maxprocs 1 and 2, and unchanged without the knob.
check_PROGRAMS += tests/preload/cpus
tests_preload_cpus_SOURCES = tests/preload/cpus.c
tests_preload_cpus_LDADD = $(LIBS)
tests_preload_cpus_LDFLAGS = -no-install
if GOSYS_HAVE_OPENMP
check_PROGRAMS += tests/preload/cpus_omp
tests_preload_cpus_omp_SOURCES = tests/preload/cpus_omp.c
tests_preload_cpus_omp_CFLAGS = $(AM_CFLAGS) $(OPENMP_CFLAGS)
tests_preload_cpus_omp_LDFLAGS = -no-install $(OPENMP_CFLAGS)
endif
SCRIPT_TESTS += tests/preload/cpus.sh
EXTRA_DIST += tests/preload/cpus.sh tests/preload/Cpus.java
