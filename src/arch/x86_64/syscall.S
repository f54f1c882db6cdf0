/* SPDX-License-Identifier: MIT */
/*
 * __gosys_trap6(nr, a1, a2, a3, a4, a5, a6): the out-of-line six-argument
 * system call entry. C passes nr in rdi, a1..a5 in rsi, rdx, rcx, r8, r9 and
 * a6 on the stack; the kernel wants nr in rax and a1..a6 in rdi, rsi, rdx,
 * r10, r8, r9. Returns rax (the raw result, -errno on error) in rax and the
 * kernel's rdx in rdx, so a C caller sees a struct of two words. Touches no
 * memory but its own stack slot, and never errno.
 */
	.text
	.globl	__gosys_trap6
	.hidden	__gosys_trap6
	.type	__gosys_trap6, @function
	.p2align 4
__gosys_trap6:
	.cfi_startproc
	movq	%rdi, %rax
	movq	%rsi, %rdi
	movq	%rdx, %rsi
	movq	%rcx, %rdx
	movq	%r8, %r10
	movq	%r9, %r8
	movq	8(%rsp), %r9
	syscall
	ret
	.cfi_endproc
	.size	__gosys_trap6, .-__gosys_trap6


/*
 * __gosys_clone(flags, stack_top, tls, fn, arg): starts a thread that runs
 * fn(arg) on stack_top and exits with its return value. The child cannot
 * return into C after the syscall (its stack is new), so this is assembly.
 * Parent: returns the new tid, or -errno.
 */
	.text
	.globl	__gosys_clone
	.hidden	__gosys_clone
	.type	__gosys_clone, @function
	.p2align 4
__gosys_clone:
	.cfi_startproc
	andq	$-16, %rsi
	subq	$16, %rsi
	movq	%rcx, 8(%rsi)
	movq	%r8, 0(%rsi)
	movq	%rdx, %r8
	xorl	%edx, %edx
	xorl	%r10d, %r10d
	movl	$56, %eax
	syscall
	testq	%rax, %rax
	jnz	1f
	.cfi_undefined rip
	xorl	%ebp, %ebp
	popq	%rdi
	popq	%rax
	call	*%rax
	movl	%eax, %edi
	movl	$60, %eax
	syscall
	hlt
1:	ret
	.cfi_endproc
	.size	__gosys_clone, .-__gosys_clone

/*
 * The signal return trampoline for handlers installed with a raw
 * rt_sigaction (SA_RESTORER). The exact instruction bytes matter: unwinders
 * (libgcc, gdb, libunwind) recognise "mov $15, %rax; syscall" as a signal
 * frame.
 */
	.globl	__gosys_sigreturn
	.hidden	__gosys_sigreturn
	.type	__gosys_sigreturn, @function
	.p2align 4
	nop
__gosys_sigreturn:
	movq	$15, %rax
	syscall
	hlt
	.size	__gosys_sigreturn, .-__gosys_sigreturn

	.section .note.GNU-stack,"",@progbits
