/* SPDX-License-Identifier: MIT */
/*
 * b_handoff.c - handoff latency with maxprocs=1: the holder timestamps and
 * calls gosys_entersyscallblock() while the other thread is parked in
 * gosys_exitsyscall(); the latency ends when that thread runs. Baseline, in
 * the same run: a bare futex wake-to-run between two threads (the waker
 * timestamps and wakes, the wakee timestamps). Both are ping-pongs, and each
 * side waits until its peer is asleep in the kernel before it acts.
 * Target: median <= 1.2x the futex's.
 */
#include "bench.h"
#include <gosys.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define TRIALS 1500 /* handoffs per run */

enum { FUTEX_PP, GOSYS_PP };

static int mode;
static int tids[2];
static uint32_t words[2];	/* futex ping-pong: 1 = your turn */
static uint32_t announce[2];	/* futex ping-pong: about to sleep */
static int64_t t_wake;		/* when the last wake or handoff began */
static int handed_to = -1;	/* who that handoff was for; -1 once consumed */
static uint32_t stop;
static double samples[TRIALS];
static int nsamples;

static void wait_peer_asleep(int peer)
{
	if (mode == GOSYS_PP) {
		struct gosys_schedstats st;
		do
			gosys_schedstats(&st, sizeof st);
		while (st.waiting < 1);
		/* A handoff meant for our pass_turn that reached us here instead
		 * (we were preempted meanwhile) is not timed. */
		int me = !peer;
		__atomic_compare_exchange_n(&handed_to, &me, -1, 0, __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE);
	} else {
		while (!__atomic_load_n(&announce[peer], __ATOMIC_ACQUIRE))
			;
	}
	bench_wait_asleep(tids[peer]);
}

/*
 * Takes the sample of the handoff that just woke thread me. A thread may also
 * get the P because the scheduler preempted its peer (the peer holds the P
 * past a slice, or has had more CPU: I3's wakeup preemption); that is not a
 * timed handoff and leaves no sample.
 */
static void record(int me)
{
	int64_t now = bench_now();
	int64_t t0 = __atomic_load_n(&t_wake, __ATOMIC_ACQUIRE);
	int to = me;
	if (__atomic_compare_exchange_n(&handed_to, &to, -1, 0, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE) &&
	    nsamples < TRIALS)
		samples[nsamples++] = (double)(now - t0) / 1000.0;
}

/* Hands the turn to the peer; returns once it comes back (or stop). */
static void pass_turn(int me, int peer)
{
	if (mode == GOSYS_PP) {
		__atomic_store_n(&handed_to, peer, __ATOMIC_RELEASE);
		__atomic_store_n(&t_wake, bench_now(), __ATOMIC_RELEASE);
		gosys_entersyscallblock();
		gosys_exitsyscall();
		return;
	}
	__atomic_store_n(&words[me], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&announce[me], 1, __ATOMIC_RELEASE);
	__atomic_store_n(&handed_to, peer, __ATOMIC_RELEASE);
	__atomic_store_n(&t_wake, bench_now(), __ATOMIC_RELEASE);
	__atomic_store_n(&words[peer], 1, __ATOMIC_RELEASE);
	bench_futex_wake(&words[peer], 1);
	while (!__atomic_load_n(&words[me], __ATOMIC_ACQUIRE))
		bench_futex_wait(&words[me], 0);
	__atomic_store_n(&announce[me], 0, __ATOMIC_RELAXED);
}

/* Runs on both threads: whoever has the turn waits for the peer to sleep, passes it. */
static void ping_pong(int me)
{
	int peer = !me;
	for (;;) {
		if (__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
			return;
		wait_peer_asleep(peer);
		if (nsamples >= TRIALS) {
			__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
			if (mode == GOSYS_PP) {
				gosys_entersyscallblock(); /* the peer gets the P, sees stop */
			} else {
				__atomic_store_n(&words[peer], 1, __ATOMIC_RELEASE);
				bench_futex_wake(&words[peer], 1);
			}
			return;
		}
		pass_turn(me, peer);
		if (__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
			return;
		record(me);
	}
}

static void *peer_main(void *arg)
{
	(void)arg;
	__atomic_store_n(&tids[1], bench_gettid(), __ATOMIC_RELEASE);
	/* Out of the P's way until the main thread is ready. */
	gosys_entersyscallblock();
	__atomic_store_n(&announce[1], 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&words[1], __ATOMIC_ACQUIRE))
		bench_futex_wait(&words[1], 0);
	__atomic_store_n(&announce[1], 0, __ATOMIC_RELAXED);
	if (mode == GOSYS_PP)
		gosys_exitsyscall(); /* parks: the main thread holds the P */
	if (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		record(1);
		ping_pong(1);
	}
	return NULL;
}

/* One run of TRIALS handoffs; sorted samples (us) are left in samples[]. */
static int run(int m)
{
	pthread_t th;
	mode = m;
	stop = 0;
	nsamples = 0;
	words[0] = words[1] = announce[0] = announce[1] = 0;
	handed_to = -1;
	tids[0] = bench_gettid();
	tids[1] = 0;
	if (pthread_create(&th, NULL, peer_main, NULL) != 0)
		return -1;
	/* Let the peer start (the preload admits new threads, which needs our P). */
	gosys_entersyscallblock();
	while (!__atomic_load_n(&tids[1], __ATOMIC_ACQUIRE) ||
	       !__atomic_load_n(&announce[1], __ATOMIC_ACQUIRE))
		;
	bench_wait_asleep(tids[1]);
	if (mode == GOSYS_PP) {
		/* Take the P back, then send the peer to queue for it. */
		gosys_exitsyscall();
		__atomic_store_n(&words[1], 1, __ATOMIC_RELEASE);
		bench_futex_wake(&words[1], 1);
	}
	/* FUTEX_PP: the P plays no part; the first pass wakes the peer's start wait. */
	ping_pong(0);
	gosys_exitsyscall(); /* a no-op if we hold the P already */
	pthread_join(th, NULL);
	bench_median(samples, (size_t)nsamples);
	return nsamples;
}

int main(void)
{
	bench_figure("handoff latency");
	bench_alarm(50);
	gosys_entersyscall();
	gosys_exitsyscall();
	gosys_maxprocs(1);
	static double all[2][BENCH_RUNS * TRIALS];
	double med[2][BENCH_RUNS];
	size_t nall[2] = { 0, 0 };
	for (int r = 0; r < BENCH_RUNS; r++) {
		for (int m = 0; m < 2; m++) {
			int n = run(m);
			if (n <= 0) {
				bench_row("handoff latency", "no samples", "-", -1, "-", "MISS");
				return bench_exit();
			}
			med[m][r] = samples[n / 2];
			for (int i = 0; i < n; i++)
				all[m][nall[m]++] = samples[i];
		}
	}
	double fmed = bench_median(med[FUTEX_PP], BENCH_RUNS);
	double gmed = bench_median(med[GOSYS_PP], BENCH_RUNS);
	double f99 = bench_pct(all[FUTEX_PP], nall[FUTEX_PP], 99);
	double g99 = bench_pct(all[GOSYS_PP], nall[GOSYS_PP], 99);
	bench_ratio_row("handoff block->waiter runs, p50", gmed, "us", "futex wake-to-run", fmed,
			1.2);
	bench_ratio_row("handoff block->waiter runs, p99", g99, "us", "futex wake-to-run", f99, -1);
	return bench_exit();
}
