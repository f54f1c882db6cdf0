/* SPDX-License-Identifier: MIT */
/*
 * init.c - the preload's start-up: resolves libc's next definitions for the
 * call table (in a constructor, and lazily for calls that come before it).
 * Never calls a wrapper while resolving: the resolving flag sends any such
 * call straight to the raw syscall.
 */
#include "preload.h"

void *gosys__pl_ptrs[GOSYS_PL_NSYMS];
__thread int gosys__pl_resolving GOSYS_PL_TLS;
int gosys__pl_cancel_on;
__thread struct gosys_pl_cp gosys__pl_cp GOSYS_PL_TLS;

void *gosys__pl_resolve(int idx)
{
	const struct gosys_pl_sym *s = &gosys__pl_syms[idx];
	int e = errno;
	void *p = NULL;
	gosys__pl_resolving++;
	if (s->ver)
		p = dlvsym(RTLD_NEXT, s->name, s->ver);
	if (!p)
		p = dlsym(RTLD_NEXT, s->name);
	gosys__pl_resolving--;
	errno = e;
	if (p)
		__atomic_store_n(&gosys__pl_ptrs[idx], p, __ATOMIC_RELEASE);
	return p;
}

void gosys__pl_missing(int idx)
{
	gosys__warnv("cannot find libc's ", gosys__pl_syms[idx].name, "; exiting", NULL);
	for (;;)
		__gosys_syscall1(SYS_exit_group, 127);
}

/* The stats' names of the libc-level cells (src/stats.c): the rows. */
_Static_assert(GOSYS_PL_NSYMS <= GOSYS_ST_NROWS, "stats: more rows than cells");
static const char *row_name(int row)
{
	return row >= 0 && row < GOSYS_PL_NSYMS ? gosys__pl_syms[row].name : NULL;
}

/* After the scheduler's own constructor (101) in this library. */
static void __attribute__((constructor(102))) preload_init(void)
{
	gosys__stats_rowname = row_name;
	gosys__init();
	for (int i = 0; i < GOSYS_PL_NSYMS; i++)
		if (gosys__pl_syms[i].need && !gosys__pl_ptrs[i])
			gosys__pl_resolve(i);
}
