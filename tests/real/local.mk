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
