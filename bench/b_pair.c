/* SPDX-License-Identifier: MIT */
/*
 * b_pair.c - the cost of the scheduler hooks when nobody contends: a lazy
 * pair (gosys_entersyscall + gosys_exitsyscall) and an eager pair
 * (gosys_entersyscallblock + gosys_exitsyscall), against a pair of empty
 * calls into a tiny shared library (libbenchempty.so) measured in the same
 * run. Targets: 2x and 3x the empty pair (I5, doc/design.md).
 * Beside them, for reading the two: the empty pair plus one locked
 * compare-and-swap on a private word (the lazy exit's CAS, the floor of any
 * design whose exit linearizes on the M's status word), and plus two (the
 * eager pair's exchange and CAS). Reported without a target.
 */
#include "bench.h"
#include "benchempty.h"
#include <gosys.h>
#include <stdbool.h>
#include <stdio.h>

BENCH_LOOP(loop_empty, benchempty_enter(); benchempty_exit())
BENCH_LOOP(loop_lazy, gosys_entersyscall(); gosys_exitsyscall())
BENCH_LOOP(loop_eager, gosys_entersyscallblock(); gosys_exitsyscall())

static uint32_t word;

static void cas_once(void)
{
	uint32_t e = 0;
	__atomic_compare_exchange_n(&word, &e, 0, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
}

BENCH_LOOP(loop_cas1, benchempty_enter(); cas_once(); benchempty_exit())
BENCH_LOOP(loop_cas2, benchempty_enter(); cas_once(); cas_once(); benchempty_exit())

int main(void)
{
	bench_figure("lazy/eager pair");
	bench_alarm(60);
	/* admitted (the constructor already did it for the main thread) */
	gosys_entersyscall();
	gosys_exitsyscall();
	const bench_loop_fn fns[] = { loop_empty, loop_lazy, loop_eager, loop_cas1, loop_cas2 };
	double med[5];
	bench_interleave(fns, 5, 200000000, med);
	bench_ratio_row("lazy pair enter+exit, uncontended", med[1], "ns", "empty pair", med[0], 2);
	bench_ratio_row("eager pair block+exit, no waiter", med[2], "ns", "empty pair", med[0], 3);
	bench_ratio_row("  floor: empty pair + 1 locked CAS", med[3], "ns", "empty pair", med[0], -1);
	bench_ratio_row("  floor: empty pair + 2 locked CASes", med[4], "ns", "empty pair", med[0], -1);
	return bench_exit();
}
