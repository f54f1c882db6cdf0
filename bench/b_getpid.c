/* SPDX-License-Identifier: MIT */
/*
 * b_getpid.c - getpid three ways: gosys_rawsyscall (Go's RawSyscall), libc's
 * getpid() and libc's syscall(SYS_getpid). Target: the raw stub at or under
 * libc. libc's functions are looked up in libc itself, so the figure stays
 * libc's even when this program's libgosys.so carries the preload wrappers.
 */
#include "bench.h"
#include <dlfcn.h>
#include <gosys.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static pid_t (*libc_getpid)(void);
static long (*libc_syscall)(long, ...);

BENCH_LOOP(loop_raw, BENCH_USE(gosys_rawsyscall(SYS_getpid, 0, 0, 0).r1))
BENCH_LOOP(loop_libc, BENCH_USE(libc_getpid()))
BENCH_LOOP(loop_syscall, BENCH_USE(libc_syscall(SYS_getpid)))

int main(void)
{
	bench_figure("getpid");
	bench_alarm(60);
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	if (libc) {
		libc_getpid = (pid_t(*)(void))dlsym(libc, "getpid");
		libc_syscall = (long (*)(long, ...))dlsym(libc, "syscall");
	}
	if (!libc_getpid || !libc_syscall) {
		bench_row("getpid", "libc.so.6 not found", "-", -1, "-", "SKIP");
		return 0;
	}
	const bench_loop_fn fns[] = { loop_libc, loop_raw, loop_syscall };
	double med[3];
	bench_interleave(fns, 3, 200000000, med);
	bench_ratio_row("getpid: gosys_rawsyscall", med[1], "ns", "libc getpid()", med[0], 1.00);
	bench_ratio_row("getpid: libc syscall(SYS_getpid)", med[2], "ns", "libc getpid()", med[0],
			-1);
	return bench_exit();
}
