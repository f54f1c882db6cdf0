/* SPDX-License-Identifier: MIT */
/*
 * tcheck.h - what every check suite shares: a main() that runs one suite in
 * fork mode and prints TAP on stdout for Automake's tap driver, and asserts
 * that print both operands. Each case gets a timeout: a hang is a failure.
 */
#ifndef GOSYS_TCHECK_H
#define GOSYS_TCHECK_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

/* TCASE(suite, name, timeout_seconds, fn...) adds a case with its own timeout. */
static inline TCase *t_case(Suite *s, const char *name, double timeout)
{
	TCase *tc = tcase_create(name);
	tcase_set_timeout(tc, timeout);
	suite_add_tcase(s, tc);
	return tc;
}

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

/* Under valgrind (make check-valgrind), skip the whole program with a TAP
 * plan of 0 and the reason: for suites whose claims are about how the kernel
 * schedules threads, which valgrind serializes. */
static inline void t_skip_under_valgrind(const char *why)
{
	if (RUNNING_ON_VALGRIND) {
		printf("1..0 # SKIP %s\n", why);
		fflush(stdout);
		exit(0);
	}
}

#define T_MAIN(make_suite)                                                  \
	int main(void)                                                      \
	{                                                                   \
		SRunner *sr = srunner_create(make_suite());                 \
		if (!getenv("CK_FORK"))                                     \
			srunner_set_fork_status(sr, CK_FORK);               \
		if (!getenv("CK_TAP_LOG_FILE_NAME"))                        \
			srunner_set_tap(sr, "-");                           \
		srunner_run_all(sr, CK_SILENT);                             \
		int nf = srunner_ntests_failed(sr);                         \
		srunner_free(sr);                                           \
		return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;               \
	}

#endif
