/* SPDX-License-Identifier: MIT */
/*
 * sys.c - Go's syscall package for C: RawSyscall and Syscall.
 * The raw entries issue the trap inline (one return after the syscall
 * instruction, as libc's own wrapper has) and never touch errno.
 */
#include "internal.h"

GOSYS_API struct gosys_ret gosys_rawsyscall6(uintptr_t trap, uintptr_t a1, uintptr_t a2,
					     uintptr_t a3, uintptr_t a4, uintptr_t a5,
					     uintptr_t a6)
{
	long rdx;
	long r = __gosys_syscall6_rdx((long)trap, (long)a1, (long)a2, (long)a3, (long)a4,
				      (long)a5, (long)a6, &rdx);
	return gosys__mkret(r, rdx);
}

GOSYS_API struct gosys_ret gosys_rawsyscall(uintptr_t trap, uintptr_t a1, uintptr_t a2,
					    uintptr_t a3)
{
	long rdx;
	long r = __gosys_syscall6_rdx((long)trap, (long)a1, (long)a2, (long)a3, 0, 0, 0, &rdx);
	return gosys__mkret(r, rdx);
}

GOSYS_API struct gosys_ret gosys_syscall6(uintptr_t trap, uintptr_t a1, uintptr_t a2,
					  uintptr_t a3, uintptr_t a4, uintptr_t a5, uintptr_t a6)
{
	long rdx, r;
	gosys__entersyscall();
	r = __gosys_syscall6_rdx((long)trap, (long)a1, (long)a2, (long)a3, (long)a4, (long)a5,
				 (long)a6, &rdx);
	gosys__exitsyscall();
	return gosys__mkret(r, rdx);
}

GOSYS_API struct gosys_ret gosys_syscall(uintptr_t trap, uintptr_t a1, uintptr_t a2,
					 uintptr_t a3)
{
	return gosys_syscall6(trap, a1, a2, a3, 0, 0, 0);
}
