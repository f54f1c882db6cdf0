/* SPDX-License-Identifier: MIT */
/*
 * benchempty.c - libbenchempty.so: two exported functions that do nothing.
 * The compiler barrier keeps each a real function body; nothing else lives here.
 */
#include "benchempty.h"

void benchempty_enter(void)
{
	__asm__ __volatile__("" ::: "memory");
}

void benchempty_exit(void)
{
	__asm__ __volatile__("" ::: "memory");
}
