/* SPDX-License-Identifier: MIT */
/*
 * tcheck.h - what every check suite shares: a main() that runs one suite in
 * fork mode and prints TAP on stdout for Automake's tap driver, and asserts
 * that print both operands. Each case gets a timeout: a hang is a failure.
 */
#ifndef GOSYS_TCHECK_H
#define GOSYS_TCHECK_H

#include <check.h>
#include <stdlib.h>

/* TCASE(suite, name, timeout_seconds, fn...) adds a case with its own timeout. */
static inline TCase *t_case(Suite *s, const char *name, double timeout)
{
	TCase *tc = tcase_create(name);
	tcase_set_timeout(tc, timeout);
	suite_add_tcase(s, tc);
	return tc;
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
