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

	.section .note.GNU-stack,"",@progbits
