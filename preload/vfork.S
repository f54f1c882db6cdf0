/* SPDX-License-Identifier: MIT */
/*
 * vfork.S - vfork cannot be a C wrapper: the child runs on the parent's
 * stack until it execs or exits, so any frame the wrapper kept would be
 * overwritten by the child's calls before the parent returns through it.
 * The return address lives in rdi (the kernel keeps it) across the call;
 * the child returns 0 touching nothing else, the parent tail-calls the C
 * half (gosys__pl_vfork_parent), which ends the blocking call and sets errno.
 */
	.text
	.globl	vfork
	.type	vfork, @function
	.globl	__vfork
	.type	__vfork, @function
	.p2align 4
vfork:
__vfork:
	.cfi_startproc
	subq	$8, %rsp
	.cfi_adjust_cfa_offset 8
	call	gosys__vfork_begin
	addq	$8, %rsp
	.cfi_adjust_cfa_offset -8
	popq	%rdi
	.cfi_adjust_cfa_offset -8
	.cfi_register rip, rdi
	movl	$58, %eax		/* SYS_vfork */
	syscall
	pushq	%rdi
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset rip, 0
	testq	%rax, %rax
	jnz	1f
	ret				/* the child: 0 */
1:	movq	%rax, %rdi
	jmp	gosys__pl_vfork_parent
	.cfi_endproc
	.size	vfork, .-vfork
	.size	__vfork, .-__vfork

	.section .note.GNU-stack,"",@progbits
