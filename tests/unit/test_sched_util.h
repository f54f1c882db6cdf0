/* SPDX-License-Identifier: MIT */
/*
 * test_sched_util.h - what the scheduler's tests share: raw sleeps and spins
 * that never enter the library, snapshot checks, and the test's own count of
 * threads running user code. Header-only (static functions); no asserts here,
 * each test decides what a failure is.
 */
#ifndef GOSYS_TEST_SCHED_UTIL_H
#define GOSYS_TEST_SCHED_UTIL_H

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define T_MS 1000000LL
#define T_US 1000LL
#define T_SEC 1000000000LL

static inline int64_t t_now(void)
{
	return gosys_nanotime();
}

/* Busy for ns of wall time, in user code only. */
static inline void t_spin_ns(int64_t ns)
{
	int64_t end = t_now() + ns;
	while (t_now() < end)
		__asm__ __volatile__("pause");
}

/* A relative sleep by raw system call: the library never sees it. */
static inline void t_raw_sleep_ns(int64_t ns)
{
	struct timespec ts = {(time_t)(ns / T_SEC), (long)(ns % T_SEC)};
	__gosys_syscall2(SYS_nanosleep, (long)&ts, 0);
}

/* Sleep until CLOCK_MONOTONIC reaches abs_ns, by raw system call. */
static inline void t_raw_sleep_until(int64_t abs_ns)
{
	struct timespec ts = {(time_t)(abs_ns / T_SEC), (long)(abs_ns % T_SEC)};
	while (__gosys_syscall4(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, (long)&ts,
				0) == -4 /* EINTR */)
		;
}

/* A raw futex wait on *word while it holds val, for at most ns. */
static inline long t_raw_futex_wait(uint32_t *word, uint32_t val, int64_t ns)
{
	struct timespec ts = {(time_t)(ns / T_SEC), (long)(ns % T_SEC)};
	return __gosys_syscall4(SYS_futex, (long)word, FUTEX_WAIT_PRIVATE, val, (long)&ts);
}

static inline void t_raw_futex_wake(uint32_t *word)
{
	__gosys_syscall3(SYS_futex, (long)word, FUTEX_WAKE_PRIVATE, 1);
}

/* The thread's CPU time so far, in ns. */
static inline int64_t t_thread_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * T_SEC + ts.tv_nsec;
}

/* The whole process's CPU time so far, in ns. */
static inline int64_t t_process_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * T_SEC + ts.tv_nsec;
}

/* First call: register and admit. Returns holding a P. */
static inline void t_admit(void)
{
	gosys_entersyscall();
	gosys_exitsyscall();
}

static inline struct gosys_schedstats t_stats(void)
{
	struct gosys_schedstats st;
	memset(&st, 0, sizeof st);
	gosys_schedstats(&st, sizeof st);
	return st;
}

/* Only the mechanism under test may move the P: no slice or wakeup
 * preemption, no signals. */
static inline void t_isolate(void)
{
	gosys__knobs.asyncpreempt = 0;
	gosys__knobs.slice_ms = 100000;
	gosys__knobs.granularity_us = 100000000;
}

/* I1 at a snapshot: every live P is held or idle, no more holders than Ps. */
static inline int t_snapshot_ok(const struct gosys_schedstats *st)
{
	return st->running + st->idleprocs == st->maxprocs && st->running <= st->maxprocs &&
	       st->running >= 0 && st->idleprocs >= 0 && st->waiting >= 0;
}

static inline void t_stats_print(const char *what, const struct gosys_schedstats *st)
{
	fprintf(stderr,
		"# %s: maxprocs %d idle %d threads %d running %d waiting %d monitor %d | "
		"handoffs %llu retakes %llu blocked_retakes %llu preempts %llu async %llu "
		"parks %llu nop_runs %llu ticks %llu\n",
		what, st->maxprocs, st->idleprocs, st->threads, st->running, st->waiting,
		st->monitor, (unsigned long long)st->handoffs, (unsigned long long)st->retakes,
		(unsigned long long)st->blocked_retakes, (unsigned long long)st->preempts,
		(unsigned long long)st->async_preempts, (unsigned long long)st->parks,
		(unsigned long long)st->nop_runs, (unsigned long long)st->monitor_ticks);
}

/*
 * The test's own count of threads running user code. A thread calls
 * t_run_begin right after gosys_exitsyscall returns and t_run_end right before
 * its next entry. limit is the most the count may reach: a controller raises
 * it before growing maxprocs and lowers it only once a shrink has settled
 * (the snapshot's live Ps equal the target). The limit is read before the
 * increment, so a count taken after a lowered limit was published is judged
 * by it.
 */
struct t_running {
	int32_t count;
	int32_t max;
	int32_t limit;
	int32_t violations;
	int32_t worst;	/* the largest count that broke its limit */
};

static inline void t_run_begin(struct t_running *r)
{
	int32_t lim = __atomic_load_n(&r->limit, __ATOMIC_SEQ_CST);
	int32_t v = __atomic_add_fetch(&r->count, 1, __ATOMIC_SEQ_CST);
	int32_t m = __atomic_load_n(&r->max, __ATOMIC_RELAXED);
	while (v > m && !__atomic_compare_exchange_n(&r->max, &m, v, true, __ATOMIC_RELAXED,
						     __ATOMIC_RELAXED))
		;
	if (v > lim) {
		__atomic_add_fetch(&r->violations, 1, __ATOMIC_RELAXED);
		int32_t w = __atomic_load_n(&r->worst, __ATOMIC_RELAXED);
		while (v > w && !__atomic_compare_exchange_n(&r->worst, &w, v, true,
							     __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			;
	}
}

static inline void t_run_end(struct t_running *r)
{
	__atomic_sub_fetch(&r->count, 1, __ATOMIC_SEQ_CST);
}

/*
 * I1's one exception: a holder seen blocked outside the library (a lock
 * inside the sanitizer's runtime, a page fault, the scheduler lock in
 * gosys_schedstats) loses its P and runs on without one until its next entry
 * (nop_runs), still in our count. A count above the limit is excused only by
 * such runs: the worst excess is at most the NOP runs seen during the test.
 */
static inline int t_run_ok(const struct t_running *r, int32_t maxlimit, uint64_t nops)
{
	if (__atomic_load_n(&r->violations, __ATOMIC_SEQ_CST) == 0)
		return 1;
	return nops > 0 && (uint64_t)r->worst <= (uint64_t)maxlimit + nops;
}

/* Sets maxprocs for a single controller thread, keeping r->limit right:
 * raised before a grow, lowered by t_settle after a shrink. */
static inline void t_set_maxprocs(struct t_running *r, int n)
{
	if (n > __atomic_load_n(&r->limit, __ATOMIC_SEQ_CST))
		__atomic_store_n(&r->limit, n, __ATOMIC_SEQ_CST);
	gosys_maxprocs(n);
}

/* Given a snapshot taken after t_set_maxprocs(r, target): once the live Ps
 * are down to the target, every holder of a removed P has passed a library
 * entry, so the count may not exceed the target any more. */
static inline void t_settle(struct t_running *r, int target, const struct gosys_schedstats *st)
{
	if (st->maxprocs == target && __atomic_load_n(&r->limit, __ATOMIC_SEQ_CST) > target)
		__atomic_store_n(&r->limit, target, __ATOMIC_SEQ_CST);
}

/* ---- the child of a fork ------------------------------------------------ */

static int32_t t_fork_thread_ok;

static void *t_fork_thread(void *arg)
{
	(void)arg;
	t_admit();
	gosys_gosched();
	struct gosys_ret r = gosys_syscall(SYS_getppid, 0, 0, 0);
	if (r.err == 0 && (pid_t)r.r1 == getppid())
		__atomic_store_n(&t_fork_thread_ok, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/*
 * Run in the child of a fork (then _exit with the result): one M holding one
 * P, no waiters, no monitor; calls work; a new thread queues behind us and is
 * served by a handoff. Returns 0, or the number of the first failed check.
 */
static inline int t_fork_child_checks(void)
{
	struct gosys_schedstats st = t_stats();
	if (st.threads != 1)
		return 10;
	if (st.running != 1)
		return 11;
	if (st.waiting != 0)
		return 12;
	if (st.monitor != 0)
		return 13;
	if (!t_snapshot_ok(&st))
		return 14;
	struct gosys_ret r = gosys_syscall(SYS_getpid, 0, 0, 0);
	if (r.err || (pid_t)r.r1 != getpid())
		return 15;
#ifdef __SANITIZE_THREAD__
	/* TSan cannot start threads in the child of a multi-threaded fork ("dup
	 * thread with used id", even with die_after_fork=0): checked elsewhere. */
	return 0;
#endif
	pthread_t t;
	if (pthread_create(&t, NULL, t_fork_thread, NULL) != 0)
		return 16;
	int64_t end = t_now() + 10 * T_SEC;
	while (t_stats().waiting < 1 && t_now() < end)
		;
	gosys_entersyscallblock();
	pthread_join(t, NULL);
	gosys_exitsyscall();
	if (!t_fork_thread_ok)
		return 17;
	st = t_stats();
	if (st.threads != 1 || st.waiting != 0 || !t_snapshot_ok(&st))
		return 18;
	return 0;
}

/* A small per-thread random number generator (xorshift64*). */
/*
 * A reference for rates on a busy machine: a child process that spins until
 * until_ns (CLOCK_MONOTONIC), measured beside the case in the same window.
 * t_ref_end returns the CPU it got, in thousandths of a CPU over the window
 * [start, end]: what one always-runnable thread could have had. A case
 * whose verdict is a rate compares with it, not with a quiet machine's
 * figure. (The child is a process, so the case's own process CPU clock,
 * which quota pacing reads, does not count it.)
 */
struct t_ref {
	pid_t pid;
	int64_t start;
};

static inline void t_ref_begin(struct t_ref *r, int64_t until_ns)
{
	r->start = t_now();
	r->pid = fork();
	if (r->pid == 0) {
		while (t_now() < until_ns)
			;
		_exit(0);
	}
}

static inline int64_t t_ref_end(struct t_ref *r)
{
	struct rusage ru;
	int st;
	if (r->pid <= 0 || wait4(r->pid, &st, 0, &ru) != r->pid)
		return -1;
	int64_t wall = t_now() - r->start;
	int64_t cpu = ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * T_SEC +
		      ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * T_US;
	return wall > 0 ? cpu * 1000 / wall : -1;
}

static inline uint32_t t_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ULL;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return (uint32_t)((x * 0x2545f4914f6cdd1dULL) >> 32);
}

#endif
