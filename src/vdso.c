/* SPDX-License-Identifier: MIT */
/* vdso.c - placeholder until written */
#include "internal.h"
#include <time.h>
#include <sys/syscall.h>
GOSYS_API int64_t gosys_nanotime(void)
{
	struct timespec ts;
	__gosys_syscall2(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
