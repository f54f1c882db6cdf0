/* SPDX-License-Identifier: MIT */
/*
 * rows_main.c - the program behind tests/preload/rows.sh: runs every row of
 * the call table one way (argv[1]) through the test library. The "ctor" way
 * ran in the library's constructor already (TROWS_WAY=ctor).
 */
#include "rowsup.h"
#include <string.h>

extern int trows_ctor_ran;

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: rows direct|thread|signal|cancel|ctor|where\n");
		return 2;
	}
	if (!strcmp(argv[1], "ctor"))
		return trows_ctor_ran ? 0 : 3;
	return trows_main(argv[1]);
}
