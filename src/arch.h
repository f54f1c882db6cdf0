/* SPDX-License-Identifier: MIT */
/* Picks the architecture's system call header. Nothing else lives here. */
#ifndef GOSYS_ARCH_H
#define GOSYS_ARCH_H

#include <stdint.h>

#if defined(__x86_64__) && !defined(__ILP32__)
#include "arch/x86_64/syscall_arch.h"
#else
#error "libgosys: unsupported architecture (x86_64 Linux only)"
#endif

/* The out-of-line entry in arch/<arch>/syscall.S: rax and rdx as two words. */
struct __gosys_trapret {
	uintptr_t r1, r2;
};
struct __gosys_trapret __gosys_trap6(uintptr_t nr, uintptr_t a1, uintptr_t a2, uintptr_t a3,
				     uintptr_t a4, uintptr_t a5, uintptr_t a6)
	__attribute__((visibility("hidden")));

/* Starts a thread (raw clone) running fn(arg) on stack_top; tid or -errno. */
long __gosys_clone(unsigned long flags, void *stack_top, void *tls, int (*fn)(void *), void *arg)
	__attribute__((visibility("hidden")));
/* The rt_sigreturn trampoline for raw rt_sigaction (SA_RESTORER). */
void __gosys_sigreturn(void) __attribute__((visibility("hidden")));

/* A raw return r is an error iff it lies in [-4095, -1]. */
#define GOSYS_IS_ERR(r) ((uintptr_t)(r) >= (uintptr_t)-4095)

#endif
