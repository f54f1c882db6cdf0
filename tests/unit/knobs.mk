# SPDX-License-Identifier: MIT
# Knobs and maxprocs: the GOSYS_DEBUG parser, fake cgroup trees, a real cgroup.
check_PROGRAMS += tests/unit/test_knobs
tests_unit_test_knobs_SOURCES = tests/unit/test_knobs.c tests/unit/tcheck.h
tests_unit_test_knobs_CFLAGS = $(T_UNIT_CFLAGS)
tests_unit_test_knobs_LDADD = $(T_UNIT_LDADD)
UNIT_TESTS += tests/unit/test_knobs
