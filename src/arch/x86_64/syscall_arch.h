/* SPDX-License-Identifier: MIT */
/*
 * x86-64 system call entry, inline. Never touches errno.
 *
 * ABI: the number goes in rax, the arguments in rdi, rsi, rdx, r10 (r10, not
 * rcx: the instruction overwrites rcx with the return address), r8 and r9.
 * The kernel returns in rax and clobbers rcx and r11; everything else,
 * including rdx, comes back as it went in. A return in [-4095, -1] is
 * -errno. "memory" is clobbered because the kernel reads and writes buffers
 * the compiler cannot see.
 */
#ifndef GOSYS_SYSCALL_ARCH_H
#define GOSYS_SYSCALL_ARCH_H

#define GOSYS_ARCH_NAME "x86_64"

static inline long __gosys_syscall0(long n)
{
	long r;
	__asm__ __volatile__("syscall" : "=a"(r) : "a"(n) : "rcx", "r11", "memory");
	return r;
}

static inline long __gosys_syscall1(long n, long a1)
{
	long r;
	__asm__ __volatile__("syscall" : "=a"(r) : "a"(n), "D"(a1) : "rcx", "r11", "memory");
	return r;
}

static inline long __gosys_syscall2(long n, long a1, long a2)
{
	long r;
	__asm__ __volatile__("syscall" : "=a"(r) : "a"(n), "D"(a1), "S"(a2)
			     : "rcx", "r11", "memory");
	return r;
}

static inline long __gosys_syscall3(long n, long a1, long a2, long a3)
{
	long r;
	__asm__ __volatile__("syscall" : "=a"(r) : "a"(n), "D"(a1), "S"(a2), "d"(a3)
			     : "rcx", "r11", "memory");
	return r;
}

static inline long __gosys_syscall4(long n, long a1, long a2, long a3, long a4)
{
	long r;
	register long r10 __asm__("r10") = a4;
	__asm__ __volatile__("syscall" : "=a"(r) : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10)
			     : "rcx", "r11", "memory");
	return r;
}

static inline long __gosys_syscall5(long n, long a1, long a2, long a3, long a4, long a5)
{
	long r;
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	__asm__ __volatile__("syscall" : "=a"(r) : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10),
			     "r"(r8) : "rcx", "r11", "memory");
	return r;
}

static inline long __gosys_syscall6(long n, long a1, long a2, long a3, long a4, long a5,
				    long a6)
{
	long r;
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	__asm__ __volatile__("syscall" : "=a"(r) : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10),
			     "r"(r8), "r"(r9) : "rcx", "r11", "memory");
	return r;
}

/*
 * Both result registers, for Go's (r1, r2): rdx is an input that the kernel
 * leaves alone, so r2 is the third argument unless a call says otherwise.
 */
static inline long __gosys_syscall6_rdx(long n, long a1, long a2, long a3, long a4, long a5,
					long a6, long *rdx)
{
	long r;
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	register long d __asm__("rdx") = a3;
	__asm__ __volatile__("syscall" : "=a"(r), "+r"(d) : "a"(n), "D"(a1), "S"(a2), "r"(r10),
			     "r"(r8), "r"(r9) : "rcx", "r11", "memory");
	*rdx = d;
	return r;
}

/* The stack pointer here, for an inlined entry's m->entry_sp: unlike
 * __builtin_frame_address(0), it makes the caller keep no frame pointer. */
static inline __attribute__((always_inline)) uintptr_t __gosys_stack_here(void)
{
	uintptr_t sp;
	__asm__ __volatile__("mov %%rsp, %0" : "=r"(sp));
	return sp;
}

/* A CPU hint for spin loops. */
static inline void __gosys_cpu_relax(void)
{
	__asm__ __volatile__("pause" ::: "memory");
}

#endif
