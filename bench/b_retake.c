/* SPDX-License-Identifier: MIT */
/*
 * b_retake.c - retake latency with maxprocs=1. The holder timestamps, enters
 * a lazy call (gosys_entersyscall), wakes the waiter from inside it (the
 * waiter is blocked eagerly on a futex the library never sees), sleeps 20 ms
 * (raw nanosleep) and leaves (gosys_exitsyscall). The waiter returns to
 * gosys_exitsyscall, finds the P held, queues, and runs when the P is taken
 * from the call (by its own watch or by the monitor, sched.c): the latency
 * ends there. The waiter's wake-up by the holder's futex call is part of that
 * latency and is the bench's, not the library's: a row below each figure
 * shows it, the floor on this machine.
 * "hot": trials back to back; "cold": each after 200 ms without contention.
 * "queued first": the waiter queues while the holder is still in user code
 * and only then does the holder enter its call (issue 11's case), with CFS
 * wakeup preemption out of reach (granularity=1000000, set by re-exec).
 * Target: p99 <= 0.25 ms in all four. Go 1.19's figures on a project
 * machine are printed beside them.
 */
#include "bench.h"
#include <gosys.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TRIALS 100
#define CALL_NS 20000000  /* the lazy call's sleep */
#define QUIET_NS 200000000 /* "cold": no contention before the trial */

static uint32_t go, ready, stop;
static int waiter_tid;
static int64_t t_enter;
static double lat_ms[TRIALS], wake_ms[TRIALS];
static int slot; /* the trial the waiter is timing; set before go */

static void *waiter_main(void *arg)
{
	(void)arg;
	__atomic_store_n(&waiter_tid, bench_gettid(), __ATOMIC_RELEASE);
	for (;;) {
		gosys_entersyscallblock();
		__atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
		while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
			bench_futex_wait(&go, 0);
		int64_t woke = bench_now();
		__atomic_store_n(&go, 0, __ATOMIC_RELAXED);
		int i = __atomic_load_n(&slot, __ATOMIC_ACQUIRE);
		if (__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
			return NULL;
		gosys_exitsyscall(); /* the holder is in its lazy call: wait for the retake */
		int64_t now = bench_now();
		int64_t t0 = __atomic_load_n(&t_enter, __ATOMIC_ACQUIRE);
		lat_ms[i] = (double)(now - t0) / 1e6;
		/* The waiter's own wake-up, where the holder woke it from inside
		 * its call: the bench's part of the latency, not the library's. */
		wake_ms[i] = t0 && woke > t0 ? (double)(woke - t0) / 1e6 : 0;
	}
}

static void wait_ready(void)
{
	while (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE))
		;
	bench_wait_asleep(waiter_tid);
	__atomic_store_n(&ready, 0, __ATOMIC_RELAXED);
}

/* The waiter's status is WAITING: it queued for our P. */
static void wait_queued(void)
{
	struct gosys_schedstats st;
	for (int i = 0; i < 2000000; i++) {
		if (gosys_schedstats(&st, sizeof st) >= 0 && st.waiting >= 1)
			return;
	}
}

/* user: the waiter is released and queues while we are in user code, and
 * only then do we enter the lazy call (issue 11's case: no first sighting
 * comes with the queueing). */
static void trials(int cold, int user, uint64_t *retakes)
{
	struct gosys_schedstats st0, st1;
	gosys_schedstats(&st0, sizeof st0);
	for (int t = 0; t < TRIALS; t++) {
		if (cold) {
			gosys_entersyscallblock();
			bench_rawsleep_ns(QUIET_NS);
			gosys_exitsyscall();
		}
		__atomic_store_n(&slot, t, __ATOMIC_RELEASE);
		/* Enter the lazy call first, then release the waiter from inside it:
		 * woken before, the waiter could queue while we still run user code
		 * and take the P by wakeup preemption at our entry, not by a retake
		 * (and time itself against the previous trial's t_enter). */
		if (user) {
			__atomic_store_n(&t_enter, 0, __ATOMIC_RELEASE);
			__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
			bench_futex_wake(&go, 1);
			wait_queued();
			__atomic_store_n(&t_enter, bench_now(), __ATOMIC_RELEASE);
			gosys_entersyscall();
		} else {
			__atomic_store_n(&t_enter, bench_now(), __ATOMIC_RELEASE);
			gosys_entersyscall();
			__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
			bench_futex_wake(&go, 1);
		}
		bench_rawsleep_ns(CALL_NS);
		gosys_exitsyscall();
		/* Wait for the sample outside the P: a retake that failed then
		 * shows as the 20 ms call, not as the time to preempt us. */
		gosys_entersyscallblock();
		wait_ready();
		gosys_exitsyscall();
	}
	gosys_schedstats(&st1, sizeof st1);
	*retakes = st1.retakes - st0.retakes;
}

static void report(const char *figure, const char *go_ref, uint64_t retakes, int woken)
{
	char m[64];
	double p50 = bench_pct(lat_ms, TRIALS, 50), p99 = bench_pct(lat_ms, TRIALS, 99);
	double max = lat_ms[TRIALS - 1];
	snprintf(m, sizeof m, "%.3f/%.3f/%.3f ms", p50, p99, max);
	char fig[96];
	snprintf(fig, sizeof fig, "%s (%llu retakes/%d)", figure, (unsigned long long)retakes,
		 TRIALS);
	bench_row(fig, m, go_ref, -1, "p99 <= 0.25ms", bench_verdict(p99 <= 0.25));
	if (!woken)
		return;
	/* The floor: the futex wake-up by which the holder starts the trial,
	 * a kernel wake-up to a CPU that is often idle (on a VM, the host's
	 * wake of a halted vCPU), is inside the figure above. */
	double w50 = bench_pct(wake_ms, TRIALS, 50), w99 = bench_pct(wake_ms, TRIALS, 99);
	snprintf(m, sizeof m, "%.3f/%.3f/%.3f ms", w50, w99, wake_ms[TRIALS - 1]);
	bench_row("  of which the bench's futex wake", m, "floor, not ours", -1, "-", "-");
}

#define KNOB "granularity=1000000"

int main(int argc, char **argv)
{
	(void)argc;
	/* CFS wakeup preemption out of reach, as the issue measured: in the
	 * queued-first trials the waiter would otherwise take the P from us in
	 * user code, before the lazy call. (The other trials queue while we are
	 * in the call, where it does not apply.) */
	const char *d = getenv("GOSYS_DEBUG");
	if (!d || !strstr(d, KNOB)) {
		setenv("GOSYS_DEBUG", KNOB, 1);
		execv("/proc/self/exe", argv);
		perror("b_retake: execv");
		return 1;
	}
	bench_figure("retake latency");
	bench_alarm(150);
	gosys_entersyscall();
	gosys_exitsyscall();
	gosys_maxprocs(1);
	pthread_t th;
	if (pthread_create(&th, NULL, waiter_main, NULL) != 0) {
		bench_row("retake latency", "pthread_create failed", "-", -1, "-", "MISS");
		return bench_exit();
	}
	/* Let the waiter be admitted (it needs our P) and block. */
	gosys_entersyscallblock();
	while (!__atomic_load_n(&waiter_tid, __ATOMIC_ACQUIRE))
		;
	wait_ready();
	gosys_exitsyscall();

	uint64_t retakes;
	bench_figure("retake latency, hot");
	trials(0, 0, &retakes);
	report("retake hot p50/p99/max", "Go1.19 p50 .038 p99 0.28", retakes, 1);
	bench_figure("retake latency, cold");
	trials(1, 0, &retakes);
	report("retake cold p50/p99/max", "Go1.19 p50 9.9 p99 19.6", retakes, 1);
	bench_figure("retake latency, queued first, hot");
	trials(0, 1, &retakes);
	report("queued first, hot p50/p99/max", "issue: p50 .077 p99 2.1", retakes, 0);
	bench_figure("retake latency, queued first, cold");
	trials(1, 1, &retakes);
	report("queued first, cold p50/p99/max", "issue: p50 .094 p99 4.0", retakes, 0);

	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	bench_futex_wake(&go, 1);
	pthread_join(th, NULL);
	return bench_exit();
}
