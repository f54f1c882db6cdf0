/* SPDX-License-Identifier: MIT */
/*
 * sysnum.c - system call names and numbers, from the generated table.
 * Pure functions over constant data: safe anywhere.
 */
#include "internal.h"
#include <string.h>

struct sysent {
	long nr;
	const char *name;
};

static const struct sysent systab[] = {
#include "sysnum_table.h"
};

GOSYS_API const char *gosys_sysname(long nr)
{
	size_t lo = 0, hi = GOSYS_ARRAY_SIZE(systab);
	while (lo < hi) { /* the table is sorted by number */
		size_t mid = lo + (hi - lo) / 2;
		if (systab[mid].nr == nr)
			return systab[mid].name;
		if (systab[mid].nr < nr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

GOSYS_API long gosys_sysnum(const char *name)
{
	if (!name)
		return -1;
	for (size_t i = 0; i < GOSYS_ARRAY_SIZE(systab); i++)
		if (strcmp(systab[i].name, name) == 0)
			return systab[i].nr;
	return -1;
}
