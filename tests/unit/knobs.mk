# SPDX-License-Identifier: MIT
# Knobs and maxprocs: the GOSYS_DEBUG parser, fake cgroup trees, a real cgroup.
check_PROGRAMS += tests/unit/test_knobs
tests_unit_test_knobs_SOURCES = tests/unit/test_knobs.c tests/unit/tcheck.h
tests_unit_test_knobs_CFLAGS = $(T_UNIT_CFLAGS)
tests_unit_test_knobs_LDADD = $(T_UNIT_LDADD)
UNIT_TESTS += tests/unit/test_knobs

check_PROGRAMS += tests/unit/test_maxprocs
tests_unit_test_maxprocs_SOURCES = tests/unit/test_maxprocs.c tests/unit/tcheck.h
tests_unit_test_maxprocs_CFLAGS = $(T_UNIT_CFLAGS)
tests_unit_test_maxprocs_LDADD = $(T_UNIT_LDADD)
UNIT_TESTS += tests/unit/test_maxprocs

# A real cgroup v1 cpu controller (root only; skips itself elsewhere).
check_PROGRAMS += tests/unit/test_cgroup_real
tests_unit_test_cgroup_real_SOURCES = tests/unit/test_cgroup_real.c tests/unit/tcheck.h
tests_unit_test_cgroup_real_CFLAGS = $(T_UNIT_CFLAGS)
tests_unit_test_cgroup_real_LDADD = $(T_UNIT_LDADD)
UNIT_TESTS += tests/unit/test_cgroup_real
