# SPDX-License-Identifier: MIT
# Peer suites: another project's own test suite run under the built library,
# each test plain and preloaded, results compared. Not part of `make check`:
# they need root and a one-time setup (tests/peer/libuv-setup.sh, which
# .ci/setup runs), and take minutes. `make check-peer` runs them through the
# same TAP harness, so their .trs files count in tests/summary.sh's totals;
# tests/run-all.sh runs it as a stage of its own.
PEER_TESTS = tests/peer/libuv.sh
CLEANFILES += tests/peer/libuv.results
EXTRA_DIST += $(PEER_TESTS) tests/peer/libuv-setup.sh tests/peer/libuv-known.txt

# The script keeps its own per-run limits; run-test.sh's limit on the whole
# script is GOSYS_PEER_TIMEOUT (default 1500 s) instead of the usual 300.
check-peer: all
	GOSYS_TEST_TIMEOUT=$${GOSYS_PEER_TIMEOUT:-1500} $(MAKE) $(AM_MAKEFLAGS) check-TESTS \
		TESTS='$(PEER_TESTS)' TEST_SUITE_LOG=tests/peer/test-suite.log
.PHONY: check-peer
