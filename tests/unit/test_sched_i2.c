/* SPDX-License-Identifier: MIT */
/*
 * Description: I2, a waiter gets the P well before a long-busy holder is done,
 * with maxprocs 1: the holder blocks in an eager call (handoff), sleeps in a
 * lazy call (retake), waits on a futex the library never sees (blocked-holder
 * path) or spins with no library entry (async preemption). The holder's busy
 * spell is bounded (2-5 s) and ends early once the waiter has run; the test
 * fails if it ended without the waiter having run.
 * The watch (sched.c): a waiter that queued while the holder ran user code
 * is told of the holder's next lazy call and takes the P itself; a waiter
 * whose watches keep finding short calls stops watching for a rest.
 */
#include "tcheck.h"
#include <stdio.h>
#include "test_sched_util.h"
#include "sched_internal.h"
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


/* ---- the watch ---- */

/*
 * One waiter for all rounds, asleep between them in an eager call on a raw
 * futex (which costs the library nothing): each round we wake it, it
 * returns to gosys_exitsyscall and queues behind us. A new thread per round
 * would not do: pthread_create is a lazy call of ours, and the new thread,
 * queueing while we are still in it, may watch it and take the P.
 */
static uint32_t watch_go, watch_quit;
static int64_t watch_ran; /* when the waiter got the P this round; 0: not yet */

static void *watch_waiter(void *arg)
{
	(void)arg;
	t_admit();
	for (;;) {
		gosys_entersyscallblock();
		while (!__atomic_exchange_n(&watch_go, 0, __ATOMIC_SEQ_CST))
			t_raw_futex_wait(&watch_go, 0, T_SEC);
		gosys_exitsyscall(); /* queues: the test thread holds the only P */
		__atomic_store_n(&watch_ran, t_now(), __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&watch_quit, __ATOMIC_SEQ_CST))
			return NULL;
	}
}

static pthread_t watch_start(void)
{
	pthread_t th;
	__atomic_store_n(&watch_quit, 0, __ATOMIC_SEQ_CST);
	ck_assert_int_eq(pthread_create(&th, NULL, watch_waiter, NULL), 0);
	/* Wait, outside the P, until it sleeps in its eager call. */
	gosys_entersyscallblock();
	t_raw_sleep_ns(50 * T_MS);
	gosys_exitsyscall();
	return th;
}

static void watch_stop(pthread_t th)
{
	__atomic_store_n(&watch_quit, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&watch_go, 1, __ATOMIC_SEQ_CST);
	t_raw_futex_wake(&watch_go);
	gosys_entersyscallblock();
	pthread_join(th, NULL);
	gosys_exitsyscall();
}

/* Wakes the waiter and spins in user code, holding the P, until it queued.
 * The spin reads the count without the lock: polling gosys_schedstats we
 * could sleep on the lock at two of the monitor's looks and lose our P as a
 * blocked holder. */
static void watch_round(void)
{
	__atomic_store_n(&watch_ran, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&watch_go, 1, __ATOMIC_SEQ_CST);
	t_raw_futex_wake(&watch_go);
	int64_t t0 = t_now();
	while (__atomic_load_n(&gosys__sched.nwaiting, __ATOMIC_SEQ_CST) < 1 &&
	       t_now() - t0 < 5 * T_SEC)
		;
	ck_assert_uint_ge(__atomic_load_n(&gosys__sched.nwaiting, __ATOMIC_SEQ_CST), 1);
	ck_assert(__atomic_load_n(&gosys__curm->p, __ATOMIC_SEQ_CST) != NULL);
}

/* Lets the waiter run: it has the P when it has stored watch_ran. */
static void watch_round_end(void)
{
	int64_t t0 = t_now();
	while (!__atomic_load_n(&watch_ran, __ATOMIC_SEQ_CST) && t_now() - t0 < 5 * T_SEC)
		gosys_gosched();
	ck_assert(__atomic_load_n(&watch_ran, __ATOMIC_SEQ_CST) != 0);
}

START_TEST(i2_lazy_watch)
{
	t_isolate();
	gosys_maxprocs(1);
	t_admit();
	pthread_t th = watch_start();
	uint64_t w0 = t_stats().watch_retakes;
	int rounds = 0;
	/* The monitor's two looks may come first on a busy machine: a round
	 * the watch wins is what is asked, one of 20. */
	for (; rounds < 20 && t_stats().watch_retakes == w0; rounds++) {
		watch_round();
		gosys_entersyscall(); /* tells the waiter, which takes the P */
		int64_t t0 = t_now();
		while (!__atomic_load_n(&watch_ran, __ATOMIC_SEQ_CST) && t_now() - t0 < 2 * T_SEC)
			t_raw_sleep_ns(1 * T_MS);
		gosys_exitsyscall();
		ck_assert_msg(__atomic_load_n(&watch_ran, __ATOMIC_SEQ_CST) != 0,
			      "round %d: the waiter got no P during a 2 s lazy call", rounds);
	}
	uint64_t w1 = t_stats().watch_retakes;
	watch_stop(th);
	fprintf(stderr, "# %d rounds; the told waiter took the P %llu times\n", rounds,
		(unsigned long long)(w1 - w0));
	ck_assert_msg(w1 > w0, "no retake by the told waiter in %d rounds", rounds);
}
END_TEST

static uint32_t my_tell(void)
{
	return __atomic_load_n(&gosys__curm->preempt, __ATOMIC_SEQ_CST) & PREEMPT_TELL;
}

START_TEST(i2_watch_backoff)
{
	t_isolate();
	gosys_maxprocs(1);
	t_admit();
	pthread_t th = watch_start();
	/* Rounds of one short lazy call each: the told waiter wakes to watch
	 * a call already over, a miss. We run on in user code for 2 ms so that
	 * it sees the miss before we yield it the P. */
	int rounds = 0, rested = 0;
	for (; rounds < 40 && !rested; rounds++) {
		int32_t misses = __atomic_load_n(&gosys__sched.watch_misses, __ATOMIC_SEQ_CST);
		int64_t after = __atomic_load_n(&gosys__sched.watch_after, __ATOMIC_SEQ_CST);
		watch_round();
		/* The waiter looked at the time before we do now. */
		if (misses >= 8 && t_now() < after) {
			ck_assert_msg(!my_tell(), "round %d: a watch was asked during the rest", rounds);
			rested = 1;
		} else if (my_tell()) {
			gosys_entersyscall();
			gosys_exitsyscall();
			t_spin_ns(2 * T_MS);
		}
		watch_round_end();
	}
	fprintf(stderr, "# rested after %d rounds\n", rounds);
	ck_assert_msg(rested, "watches of short calls never stopped in %d rounds", rounds);
	ck_assert_int_ge(rounds, 9); /* not before eight misses */
	/* After the rest, a queueing asks for a watch again (a probe). */
	t_raw_sleep_ns(20 * T_MS);
	watch_round();
	int tell = my_tell() != 0;
	watch_round_end();
	watch_stop(th);
	ck_assert_msg(tell, "no watch asked after the rest");
}
END_TEST

static Suite *sched_i2_suite(void)
{
	Suite *s = suite_create("sched_i2");
	tcase_add_test(t_case(s, "eager_handoff", 30), i2_eager_handoff);
	tcase_add_test(t_case(s, "lazy_retake", 30), i2_lazy_retake);
	tcase_add_test(t_case(s, "blocked_futex", 30), i2_blocked_futex);
	tcase_add_test(t_case(s, "compute_async", 30), i2_compute_async);
	tcase_add_test(t_case(s, "lazy_watch", 60), i2_lazy_watch);
	tcase_add_test(t_case(s, "watch_backoff", 60), i2_watch_backoff);
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
