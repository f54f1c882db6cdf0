# SPDX-License-Identifier: MIT
# Real programs under the built library, compared byte for byte with plain
# runs; the gosys launcher; the manual pages. Each script prints TAP and runs
# every program under timeout(1). lib.sh is their shared helper.
REAL_TESTS = \
	tests/real/launcher.sh \
	tests/real/manpages.sh
SCRIPT_TESTS += $(REAL_TESTS)
EXTRA_DIST += tests/real/lib.sh $(REAL_TESTS)
