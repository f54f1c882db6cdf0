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
 *
 * Unwinding: the parent's frame is the plain one throughout (CFA %rsp + 8,
 * the return address at the CFA - 8). The child's code after the branch has
 * no caller (rip undefined: the outermost frame). The test and the branch
 * run in both, under the parent's rule: so the child's stack starts with a
 * zero word where that rule looks for a return address, which unwinders
 * read as the end of the stack (fn and arg are the two words above it).
 */
	.text
	.globl	__gosys_clone
	.hidden	__gosys_clone
	.type	__gosys_clone, @function
	.p2align 4
__gosys_clone:
	.cfi_startproc
	andq	$-16, %rsi
	subq	$24, %rsi
	movq	$0, 0(%rsi)
	movq	%r8, 8(%rsi)
	movq	%rcx, 16(%rsi)
	movq	%rdx, %r8
	xorl	%edx, %edx
	xorl	%r10d, %r10d
	movl	$56, %eax
	syscall
	testq	%rax, %rax
	jz	1f
	ret			/* the parent */
1:	.cfi_undefined rip	/* the child */
	xorl	%ebp, %ebp
	addq	$8, %rsp
	popq	%rdi
	popq	%rax		/* %rsp is stack_top rounded down to 16 again */
	call	*%rax
	movl	%eax, %edi
	movl	$60, %eax
	syscall
	hlt
	.cfi_endproc
	.size	__gosys_clone, .-__gosys_clone

/*
 * The signal return trampoline for handlers installed with a raw
 * rt_sigaction (SA_RESTORER): a handler returns here, and rt_sigreturn
 * reloads the interrupted registers from the frame the kernel built.
 *
 * The instruction bytes matter (48 c7 c0 0f 00 00 00 0f 05): libgcc and
 * libunwind also recognise "mov $15, %rax; syscall" as a signal frame.
 * gdb knows libc's trampoline by its name only, so ours says what it is in
 * its unwind information: a signal frame (the 'S' augmentation: the return
 * address found here is where the interrupted code resumes, not a call's
 * return) whose every register, the stack pointer (the CFA) and the resume
 * address (rip, the return address column) included, is read from the
 * ucontext at %rsp (offsets in sigframe.h). The FDE starts one byte early,
 * at the nop: an unwinder coming from the handler looks its return address
 * up one byte back, as it does for any call.
 */
#include "sigframe.h"

/* DWARF opcodes. The register numbers are the x86-64 psABI's: 0 rax, 1 rdx,
 * 2 rcx, 3 rbx, 4 rsi, 5 rdi, 6 rbp, 7 rsp, 8-15 r8-r15, 16 the return
 * address (rip). */
#define DW_CFA_def_cfa_expression 0x0f
#define DW_CFA_expression 0x10
#define DW_OP_deref 0x06
#define DW_OP_breg7 0x77 /* %rsp + a signed LEB128 offset */

/* Register REG (DWARF number) was saved at %rsp + OFF, an offset below
 * 16384 written as a signed LEB128: one byte up to 63, else two. */
	.macro	saved_at reg, off
	.if	\off < 64
	.cfi_escape DW_CFA_expression, \reg, 2, DW_OP_breg7, \off
	.else
	.cfi_escape DW_CFA_expression, \reg, 3, DW_OP_breg7, (\off & 0x7f) | 0x80, \off >> 7
	.endif
	.endm

	.text
	.globl	__gosys_sigreturn
	.hidden	__gosys_sigreturn
	.type	__gosys_sigreturn, @function
	.p2align 4
	.cfi_startproc simple
	.cfi_signal_frame
	/* CFA = the interrupted %rsp: the word at %rsp + GOSYS_UC_RSP. */
	.if	GOSYS_UC_RSP < 64 || GOSYS_UC_RSP > 16383
	.error	"GOSYS_UC_RSP: not a two-byte LEB128"
	.endif
	.cfi_escape DW_CFA_def_cfa_expression, 4, DW_OP_breg7, \
		(GOSYS_UC_RSP & 0x7f) | 0x80, GOSYS_UC_RSP >> 7, DW_OP_deref
	saved_at 0, GOSYS_UC_RAX
	saved_at 1, GOSYS_UC_RDX
	saved_at 2, GOSYS_UC_RCX
	saved_at 3, GOSYS_UC_RBX
	saved_at 4, GOSYS_UC_RSI
	saved_at 5, GOSYS_UC_RDI
	saved_at 6, GOSYS_UC_RBP
	saved_at 7, GOSYS_UC_RSP
	saved_at 8, GOSYS_UC_R8
	saved_at 9, GOSYS_UC_R9
	saved_at 10, GOSYS_UC_R10
	saved_at 11, GOSYS_UC_R11
	saved_at 12, GOSYS_UC_R12
	saved_at 13, GOSYS_UC_R13
	saved_at 14, GOSYS_UC_R14
	saved_at 15, GOSYS_UC_R15
	saved_at 16, GOSYS_UC_RIP
	nop
__gosys_sigreturn:
	movq	$15, %rax	/* SYS_rt_sigreturn */
	syscall
	hlt
	.cfi_endproc
	.size	__gosys_sigreturn, .-__gosys_sigreturn

	.section .note.GNU-stack,"",@progbits
