/* SPDX-License-Identifier: MIT */
/*
 * Description: I2, a waiter gets the P well before a long-busy holder is done,
 * with maxprocs 1: the holder blocks in an eager call (handoff), sleeps in a
 * lazy call (retake), waits on a futex the library never sees (blocked-holder
 * path) or spins with no library entry (async preemption). The holder's busy
 * spell is bounded (2-5 s) and ends early once the waiter has run; the test
 * fails if it ended without the waiter having run.
 */
#include "tcheck.h"
#include <stdio.h>
#include "test_sched_util.h"
#include <pthread.h>

#define HOLD_NS (2 * T_SEC)

static int32_t holder_ready;	/* the holder has its P and saw the waiter queue */
static int64_t waiter_ran;	/* when the waiter got the P; 0: not yet */
static int32_t holder_saw;	/* the holder's call saw waiter_ran before it ended */
static int64_t holder_wait_ns;	/* how long the holder's call lasted */
static uint32_t futex_word;	/* the blocked holder waits here; the waiter wakes it */

static int waiter_has_run(void)
{
	return __atomic_load_n(&waiter_ran, __ATOMIC_SEQ_CST) != 0;
}

static void *waiter(void *arg)
{
	(void)arg;
	t_admit(); /* queues: the holder has the only P */
	__atomic_store_n(&waiter_ran, t_now(), __ATOMIC_SEQ_CST);
	__atomic_store_n(&futex_word, 1, __ATOMIC_SEQ_CST);
	t_raw_futex_wake(&futex_word);
	return NULL;
}

/* The holder: admitted, then waits (holding its P, in user code) until the
 * waiter has queued, then runs the case's long operation. On a loaded
 * machine this wait can last a slice, and then the preemption signal hands
 * the P to the waiter, which runs and is gone before the holder looks
 * again: having run counts as having queued. */
static void holder_start(void)
{
	t_admit();
	__atomic_store_n(&holder_ready, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		struct gosys_schedstats st = t_stats();
		if (st.waiting >= 1 || waiter_has_run())
			break;
	}
}

static void holder_done(int64_t t0)
{
	holder_wait_ns = t_now() - t0;
	__atomic_store_n(&holder_saw, waiter_has_run(), __ATOMIC_SEQ_CST);
}

/* Sleeps in steps of step_ns until the waiter ran or HOLD_NS passed. */
static void sleep_until_waiter(int64_t step_ns)
{
	int64_t t0 = t_now();
	while (!waiter_has_run() && t_now() - t0 < HOLD_NS)
		t_raw_sleep_ns(step_ns);
	holder_done(t0);
}

static void *holder_eager(void *arg)
{
	(void)arg;
	holder_start();
	gosys_entersyscallblock();
	sleep_until_waiter(1 * T_MS);
	gosys_exitsyscall();
	return NULL;
}

static void *holder_lazy(void *arg)
{
	(void)arg;
	holder_start();
	gosys_entersyscall();
	sleep_until_waiter(50 * T_MS);
	gosys_exitsyscall();
	return NULL;
}

static void *holder_futex(void *arg)
{
	(void)arg;
	holder_start();
	int64_t t0 = t_now();
	/* Inline futex wait, no library entry: only the waiter sets the word. */
	while (!__atomic_load_n(&futex_word, __ATOMIC_SEQ_CST) && t_now() - t0 < 5 * T_SEC)
		t_raw_futex_wait(&futex_word, 0, 5 * T_SEC);
	holder_done(t0);
	t_admit(); /* the next library entry: queues for a P if it lost it */
	return NULL;
}

static void *holder_compute(void *arg)
{
	(void)arg;
	holder_start();
	int64_t t0 = t_now();
	/* Pure computation: no library entry, only a flag and the vDSO clock. */
	for (unsigned long i = 0;; i++) {
		if (waiter_has_run())
			break;
		if ((i & 1023) == 0) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			if ((int64_t)ts.tv_sec * T_SEC + ts.tv_nsec - t0 > 5 * T_SEC)
				break;
		}
	}
	holder_done(t0);
	return NULL;
}

/* Runs holder and waiter with maxprocs 1; returns the stats before and after. */
static void i2_run(void *(*holder)(void *), struct gosys_schedstats *before,
		   struct gosys_schedstats *after)
{
	gosys_maxprocs(1);
	*before = t_stats();
	pthread_t h, w;
	/* The test thread waits in an eager call: it holds no P meanwhile. */
	gosys_entersyscallblock();
	ck_assert_int_eq(pthread_create(&h, NULL, holder, NULL), 0);
	while (!__atomic_load_n(&holder_ready, __ATOMIC_SEQ_CST))
		t_raw_sleep_ns(100 * T_US);
	ck_assert_int_eq(pthread_create(&w, NULL, waiter, NULL), 0);
	pthread_join(h, NULL);
	pthread_join(w, NULL);
	gosys_exitsyscall();
	*after = t_stats();
	t_stats_print("before", before);
	t_stats_print("after", after);
	fprintf(stderr, "# holder's call lasted %.3f ms, waiter ran: %s\n", holder_wait_ns / 1e6,
		holder_saw ? "during it" : "not during it");
	ck_assert_msg(holder_saw, "the waiter got no P during the holder's %.0f ms call",
		      holder_wait_ns / 1e6);
	ck_assert(t_snapshot_ok(after));
	ck_assert_int_eq(after->waiting, 0);
}

START_TEST(i2_eager_handoff)
{
	struct gosys_schedstats a, b;
	t_isolate();
	i2_run(holder_eager, &a, &b);
	ck_assert_uint_gt(b.handoffs, a.handoffs);
}
END_TEST

START_TEST(i2_lazy_retake)
{
	struct gosys_schedstats a, b;
	t_isolate();
	i2_run(holder_lazy, &a, &b);
	ck_assert_uint_gt(b.retakes, a.retakes);
}
END_TEST

START_TEST(i2_blocked_futex)
{
	struct gosys_schedstats a, b;
	t_isolate();
	i2_run(holder_futex, &a, &b);
	ck_assert_uint_gt(b.blocked_retakes, a.blocked_retakes);
	ck_assert_uint_gt(b.nop_runs, a.nop_runs);
}
END_TEST

START_TEST(i2_compute_async)
{
	struct gosys_schedstats a, b;
	gosys__knobs.asyncpreempt = 1;
	i2_run(holder_compute, &a, &b);
	ck_assert_uint_gt(b.async_preempts, a.async_preempts);
}
END_TEST

static Suite *sched_i2_suite(void)
{
	Suite *s = suite_create("sched_i2");
	tcase_add_test(t_case(s, "eager_handoff", 30), i2_eager_handoff);
	tcase_add_test(t_case(s, "lazy_retake", 30), i2_lazy_retake);
	tcase_add_test(t_case(s, "blocked_futex", 30), i2_blocked_futex);
	tcase_add_test(t_case(s, "compute_async", 30), i2_compute_async);
	return s;
}

/* These cases are about which mechanism moves the P, and the blocked-holder
 * one reads the kernel's state of the holder. Under valgrind every thread
 * that waits for valgrind's own lock looks asleep in /proc, so the monitor
 * sees "blocked" holders everywhere and the blocked-futex case hung twice in
 * three runs. Under memcheck (make check-valgrind) the suite is skipped; the
 * I1, edge and stress suites still run there for memory errors. */
static Suite *sched_i2_or_skip(void)
{
	t_skip_under_valgrind("which thread looks blocked is valgrind's doing, not the kernel's");
	return sched_i2_suite();
}

T_MAIN(sched_i2_or_skip)
