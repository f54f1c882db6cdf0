# SPDX-License-Identifier: MIT
# vDSO: live entries against libc and the raw calls, hashes, hostile images.
check_PROGRAMS += tests/unit/test_vdso
tests_unit_test_vdso_SOURCES = tests/unit/test_vdso.c tests/unit/tcheck.h
tests_unit_test_vdso_CFLAGS = $(T_UNIT_CFLAGS)
tests_unit_test_vdso_LDADD = $(T_UNIT_LDADD)
UNIT_TESTS += tests/unit/test_vdso
