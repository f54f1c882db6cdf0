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
