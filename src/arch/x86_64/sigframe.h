/* SPDX-License-Identifier: MIT */
/*
 * Where the kernel's x86-64 rt signal frame keeps the interrupted registers,
 * as offsets from %rsp at the moment the handler returns into the restorer
 * (__gosys_sigreturn): %rsp then points at the struct ucontext, whose
 * uc_flags (8), uc_link (8) and uc_stack (24) come before the mcontext's
 * general registers. Used by the restorer's unwind information (syscall.S);
 * tests/real/unwind.c checks them against <sys/ucontext.h>. Plain numbers,
 * so that the assembler can read this file too.
 */
#ifndef GOSYS_SIGFRAME_H
#define GOSYS_SIGFRAME_H

#define GOSYS_UC_R8 40
#define GOSYS_UC_R9 48
#define GOSYS_UC_R10 56
#define GOSYS_UC_R11 64
#define GOSYS_UC_R12 72
#define GOSYS_UC_R13 80
#define GOSYS_UC_R14 88
#define GOSYS_UC_R15 96
#define GOSYS_UC_RDI 104
#define GOSYS_UC_RSI 112
#define GOSYS_UC_RBP 120
#define GOSYS_UC_RBX 128
#define GOSYS_UC_RDX 136
#define GOSYS_UC_RAX 144
#define GOSYS_UC_RCX 152
#define GOSYS_UC_RSP 160
#define GOSYS_UC_RIP 168
/* The siginfo, after the kernel's own struct ucontext (304 bytes: its
 * mcontext is the 256-byte sigcontext, then an 8-byte sigmask): gosys-dump
 * reads the signal number of a frame there. */
#define GOSYS_SF_SIGINFO 304

#endif
