/* SPDX-License-Identifier: MIT */
/*
 * b_pair.c - the cost of the scheduler hooks when nobody contends: a lazy
 * pair (gosys_entersyscall + gosys_exitsyscall) and an eager pair
 * (gosys_entersyscallblock + gosys_exitsyscall), against a pair of empty
 * calls into a tiny shared library (libbenchempty.so) measured in the same
 * run. Targets: 2x and 3x the empty pair (DESIGN.md, I5).
 */
#include "bench.h"
#include "benchempty.h"
#include <gosys.h>
#include <stdio.h>

BENCH_LOOP(loop_empty, benchempty_enter(); benchempty_exit())
BENCH_LOOP(loop_lazy, gosys_entersyscall(); gosys_exitsyscall())
BENCH_LOOP(loop_eager, gosys_entersyscallblock(); gosys_exitsyscall())

int main(void)
{
	bench_figure("lazy/eager pair");
	bench_alarm(60);
	/* admitted (the constructor already did it for the main thread) */
	gosys_entersyscall();
	gosys_exitsyscall();
	const bench_loop_fn fns[] = { loop_empty, loop_lazy, loop_eager };
	double med[3];
	bench_interleave(fns, 3, 200000000, med);
	bench_ratio_row("lazy pair enter+exit, uncontended", med[1], "ns", "empty pair", med[0], 2);
	bench_ratio_row("eager pair block+exit, no waiter", med[2], "ns", "empty pair", med[0], 3);
	return bench_exit();
}
