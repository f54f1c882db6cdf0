/* SPDX-License-Identifier: MIT */
/*
 * Description: the signal-handler rule (I2, I6; src/signal.c). A program
 * handler installed through the library runs only where its thread owes
 * the scheduler nothing: never inside a critical section, never while the
 * thread is parked for a P or between the status stores of a call. Signals
 * that land there are deferred, with their siginfo, and run at the next
 * exit from the library. Cases, each at maxprocs 1 with more threads than
 * Ps, handing the P around all the time while another thread fires signals
 * at them:
 *  - every handler run is checked against gosys__in_library and m->crit
 *    at its start, and its siginfo (a value sent with the signal) arrives;
 *  - handlers that block in an eager call (the P must go), that park
 *    themselves in sigsuspend until another thread resumes them, and that
 *    leave with siglongjmp: everything finishes (the case's timeout is the
 *    hang check) and no handler ran inside the library;
 *  - signals at threads that watch each other's lazy calls (sched.c, "the
 *    watch"): no hang, and the watch still retakes.
 * sigaction through the library reports the program's own action back.
 */
#include "tcheck.h"
#include "test_sched_util.h"
#include "sched_internal.h"
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>

#define NWORK 3
#define RUN_NS (1200 * T_MS)

static int64_t stop_at;
static int32_t worker_tid[NWORK];
static int32_t ran, bad_place, bad_info; /* atomics: every worker's handlers */
static int mode; /* 0 plain handler, 1 blocks in an eager call, 2 longjmp */
static __thread sigjmp_buf *jump_to;

/* The handler the kernel has for sig (its struct begins with it). */
static void *kernel_handler(int sig)
{
	void *k[4] = {0};
	if (__gosys_syscall4(SYS_rt_sigaction, sig, 0, (long)k, 8) != 0)
		return NULL;
	return k[0];
}

/* The kernel's struct differs from libc's; the library's unit tests have
 * no preload, so libc's own sigaction stands in for "the next one". */
static int libc_sigaction(int sig, const struct sigaction *a, struct sigaction *o)
{
	return sigaction(sig, a, o);
}

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	struct gosys_m *m = gosys__curm;
	if (m && (gosys__in_library(m) || m->crit))
		__atomic_add_fetch(&bad_place, 1, __ATOMIC_RELAXED);
	if (!si || si->si_code != SI_QUEUE || si->si_value.sival_int != 4242)
		__atomic_add_fetch(&bad_info, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&ran, 1, __ATOMIC_RELAXED);
	if (mode == 1) {
		/* A blocking call inside the handler: its P must not stay. */
		gosys_entersyscallblock();
		t_raw_sleep_ns(200 * T_US);
		gosys_exitsyscall();
	} else if (mode == 2 && jump_to) {
		siglongjmp(*jump_to, 1);
	}
}

static void *worker(void *arg)
{
	long i = (long)arg;
	sigjmp_buf jb;
	__atomic_store_n(&worker_tid[i], (int32_t)gosys__gettid(), __ATOMIC_RELEASE);
	t_admit();
	while (t_now() < stop_at) {
		if (mode == 2 && sigsetjmp(jb, 1) != 0)
			continue; /* left a handler by siglongjmp: go on */
		jump_to = &jb;
		t_spin_ns(50 * T_US);
		gosys_entersyscallblock(); /* a handoff: others wait */
		/* libc's nanosleep (no preload here): under ThreadSanitizer, which
		 * delivers a signal only at a call it intercepts, the handlers
		 * would otherwise never run in these loops. */
		struct timespec ts = {0, 20 * T_US};
		nanosleep(&ts, NULL);
		gosys_exitsyscall();
		gosys_gosched();
		jump_to = NULL;
	}
	jump_to = NULL;
	return NULL;
}

/* Fires SIGUSR1 with a value at the workers until stop_at. */
static void *signaller(void *arg)
{
	(void)arg;
	long pid = __gosys_syscall0(SYS_getpid);
	unsigned n = 0;
	while (t_now() < stop_at) {
		int32_t tid = __atomic_load_n(&worker_tid[n++ % NWORK], __ATOMIC_ACQUIRE);
		if (tid) {
			siginfo_t si;
			memset(&si, 0, sizeof si);
			si.si_signo = SIGUSR1;
			si.si_code = SI_QUEUE;
			si.si_pid = (pid_t)pid;
			si.si_value.sival_int = 4242;
			__gosys_syscall4(SYS_rt_tgsigqueueinfo, pid, tid, SIGUSR1, (long)&si);
		}
		t_raw_sleep_ns(30 * T_US);
	}
	return NULL;
}

/* Runs nwork threads of fn at maxprocs 1 for RUN_NS with the signaller
 * firing at them (handlers in mode m); checks the handlers' runs and the
 * books after; returns the stats from before the run in *before. */
static struct gosys_schedstats storm_with(void *(*fn)(void *), int nwork, int m,
					  struct gosys_schedstats *before)
{
	mode = m;
	__atomic_store_n(&ran, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&bad_place, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&bad_info, 0, __ATOMIC_RELAXED);
	struct sigaction sa, back;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(gosys__sig_action(SIGUSR1, &sa, NULL, libc_sigaction), 0);
	/* The program's own action comes back, not the trampoline. */
	ck_assert_int_eq(gosys__sig_action(SIGUSR1, NULL, &back, libc_sigaction), 0);
	ck_assert_ptr_eq((void *)back.sa_sigaction, (void *)on_signal);
	ck_assert_int_eq(back.sa_flags & SA_SIGINFO, SA_SIGINFO);
	/* The kernel has the trampoline. */
	ck_assert_ptr_nonnull(kernel_handler(SIGUSR1));
	ck_assert_ptr_ne(kernel_handler(SIGUSR1), (void *)on_signal);

	gosys_maxprocs(1);
	struct gosys_schedstats a = t_stats();
	stop_at = t_now() + RUN_NS;
	memset(worker_tid, 0, sizeof worker_tid);
	pthread_t w[NWORK], s;
	gosys_entersyscallblock();
	for (long i = 0; i < nwork; i++)
		ck_assert_int_eq(pthread_create(&w[i], NULL, fn, (void *)i), 0);
	ck_assert_int_eq(pthread_create(&s, NULL, signaller, NULL), 0);
	for (int i = 0; i < nwork; i++)
		pthread_join(w[i], NULL);
	pthread_join(s, NULL);
	gosys_exitsyscall();
	struct gosys_schedstats b = t_stats();
	t_stats_print("after", &b);
	fprintf(stderr, "# %d handler runs, %llu deferred, %d in the library, %d bad siginfo\n",
		(int)ran, (unsigned long long)(b.sig_deferrals - a.sig_deferrals), (int)bad_place,
		(int)bad_info); /* all threads joined: plain reads */
	ck_assert_int_gt(__atomic_load_n(&ran, __ATOMIC_RELAXED), 0);
	ck_assert_int_eq(__atomic_load_n(&bad_place, __ATOMIC_RELAXED), 0);
	ck_assert_int_eq(__atomic_load_n(&bad_info, __ATOMIC_RELAXED), 0);
	ck_assert(t_snapshot_ok(&b));
	ck_assert_int_eq(b.waiting, 0);
	/* At this rate some signals land in the library: deferral happened. */
	if (!RUNNING_ON_VALGRIND)
		ck_assert_uint_gt(b.sig_deferrals, a.sig_deferrals);
	*before = a;
	return b;
}

static void storm(int m)
{
	struct gosys_schedstats a;
	storm_with(worker, NWORK, m, &a);
}

START_TEST(sig_plain)
{
	storm(0);
}
END_TEST

START_TEST(sig_block_in_handler)
{
	storm(1);
}
END_TEST

START_TEST(sig_longjmp)
{
	storm(2);
}
END_TEST

/*
 * Signals at waiters that watch (sched.c, "the watch"). Two threads at
 * maxprocs 1 make lazy calls of mixed length, so each in turn queues for the
 * P while the other is in a call and watches it: some calls outlast the
 * watch (a retake), some end first (a miss). A signal deferred while the
 * watcher holds the scheduler's lock must not try to take it again (it did:
 * the watch ran with the thread still marked parked, and the deferral's
 * boost waited for the lock its own thread held; seen as a hang under
 * ThreadSanitizer, which runs handlers inside the monitor's start).
 */
static void *lazy_worker(void *arg)
{
	long i = (long)arg;
	__atomic_store_n(&worker_tid[i], (int32_t)gosys__gettid(), __ATOMIC_RELEASE);
	t_admit();
	unsigned n = (unsigned)i * 7;
	while (t_now() < stop_at) {
		t_spin_ns(10 * T_US);
		gosys_entersyscall();
		t_raw_sleep_ns((int64_t)(n++ % 5) * 10 * T_US); /* 0 to 40 us */
		gosys_exitsyscall();
	}
	return NULL;
}

START_TEST(sig_watch)
{
	struct gosys_schedstats a, b = storm_with(lazy_worker, 2, 0, &a);
	/* The case is about watches: some must have happened. */
	fprintf(stderr, "# %llu watch retakes\n",
		(unsigned long long)(b.watch_retakes - a.watch_retakes));
	ck_assert_uint_gt(b.watch_retakes, a.watch_retakes);
}
END_TEST

#ifndef __SANITIZE_THREAD__ /* see sched_signal_suite */
/*
 * Stop-the-world by signal, as a GC or a JVM's sampler does: the stopper
 * sends A to each target; the target's handler acknowledges and waits in
 * sigsuspend until B. With maxprocs 1 and the targets busy handing the P
 * around, a handler landing on a parked thread must not keep the P (the
 * stopper needs one to go on) nor corrupt the park.
 */
static uint32_t acks;
static int32_t resumed_gen; /* atomic */
static __thread int seen_gen;

static void on_stop(int sig)
{
	(void)sig;
	struct gosys_m *m = gosys__curm;
	if (m && (gosys__in_library(m) || m->crit))
		__atomic_add_fetch(&bad_place, 1, __ATOMIC_RELAXED);
	int gen = __atomic_load_n(&resumed_gen, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&acks, 1, __ATOMIC_SEQ_CST);
	sigset_t wait_mask;
	sigfillset(&wait_mask);
	sigdelset(&wait_mask, SIGUSR2);
	gosys_entersyscallblock();
	while (__atomic_load_n(&resumed_gen, __ATOMIC_SEQ_CST) == gen)
		__gosys_syscall2(SYS_rt_sigsuspend, (long)&wait_mask, 8);
	gosys_exitsyscall();
	seen_gen = __atomic_load_n(&resumed_gen, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&acks, 1, __ATOMIC_SEQ_CST);
}

static void on_resume(int sig)
{
	(void)sig;
}

START_TEST(sig_stop_the_world)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2); /* resumed only inside sigsuspend */
	ck_assert_int_eq(gosys__sig_action(SIGUSR1, &sa, NULL, libc_sigaction), 0);
	sa.sa_handler = on_resume;
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(gosys__sig_action(SIGUSR2, &sa, NULL, libc_sigaction), 0);
	__atomic_store_n(&bad_place, 0, __ATOMIC_RELAXED);
	mode = 0;
	gosys_maxprocs(1);
	stop_at = t_now() + 3600 * T_SEC; /* the workers run until told */
	memset(worker_tid, 0, sizeof worker_tid);
	pthread_t w[NWORK];
	for (long i = 0; i < NWORK; i++)
		ck_assert_int_eq(pthread_create(&w[i], NULL, worker, (void *)i), 0);
	long pid = __gosys_syscall0(SYS_getpid);
	int rounds = RUNNING_ON_VALGRIND ? 5 : 40;
	for (int r = 0; r < rounds; r++) {
		__atomic_store_n(&acks, 0, __ATOMIC_SEQ_CST);
		for (int i = 0; i < NWORK; i++) {
			int32_t tid;
			while (!(tid = __atomic_load_n(&worker_tid[i], __ATOMIC_ACQUIRE)))
				gosys_gosched();
			__gosys_syscall3(SYS_tgkill, pid, tid, SIGUSR1);
		}
		/* Wait for every target to stop, giving the P up meanwhile. */
		while (__atomic_load_n(&acks, __ATOMIC_SEQ_CST) < NWORK) {
			gosys_entersyscallblock();
			t_raw_sleep_ns(100 * T_US);
			gosys_exitsyscall();
		}
		__atomic_add_fetch(&resumed_gen, 1, __ATOMIC_SEQ_CST);
		for (int i = 0; i < NWORK; i++)
			__gosys_syscall3(SYS_tgkill, pid, worker_tid[i], SIGUSR2);
		while (__atomic_load_n(&acks, __ATOMIC_SEQ_CST) < 2 * NWORK) {
			gosys_entersyscallblock();
			t_raw_sleep_ns(100 * T_US);
			gosys_exitsyscall();
		}
	}
	stop_at = 0;
	gosys_entersyscallblock();
	for (int i = 0; i < NWORK; i++)
		pthread_join(w[i], NULL);
	gosys_exitsyscall();
	struct gosys_schedstats st = t_stats();
	t_stats_print("after", &st);
	ck_assert_int_eq(__atomic_load_n(&bad_place, __ATOMIC_RELAXED), 0);
	ck_assert(t_snapshot_ok(&st));
	ck_assert_int_eq(st.waiting, 0);
}
END_TEST
#endif

static Suite *sched_signal_suite(void)
{
	Suite *s = suite_create("sched_signal");
	tcase_add_test(t_case(s, "plain", 60), sig_plain);
	tcase_add_test(t_case(s, "block_in_handler", 60), sig_block_in_handler);
	tcase_add_test(t_case(s, "longjmp", 60), sig_longjmp);
	tcase_add_test(t_case(s, "watch", 60), sig_watch);
#ifndef __SANITIZE_THREAD__
	/* ThreadSanitizer runs program handlers itself, at points of its own
	 * (interceptors, atomics), from a queue that holds one instance of a
	 * signal: the deferral's re-delivery from inside such a call is lost
	 * there (seen: a target that never acknowledged). The other cases
	 * still run under it for races. */
	tcase_add_test(t_case(s, "stop_the_world", 120), sig_stop_the_world);
#endif
	return s;
}

/* Under valgrind (make check-valgrind), which runs one thread at a time
 * and delivers signals itself at points of its choosing, the storms did not
 * finish in the cases' time (all three timed out in a CI run); memory
 * errors in the same paths are still looked for under ASan. */
static Suite *sched_signal_or_skip(void)
{
	t_skip_under_valgrind("signal storms under valgrind's serialized threads do not finish in time");
	return sched_signal_suite();
}

T_MAIN(sched_signal_or_skip)
