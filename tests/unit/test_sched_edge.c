/* SPDX-License-Identifier: MIT */
/*
 * Description: the scheduler's edge cases. maxprocs shrinks and grows while
 * 32 threads run mixed calls; fork from a thread while others wait; threads
 * that exit while WAITING (async cancel, pthread_exit from a signal handler),
 * while holding a P, inside a lazy and inside an eager call; the monitor's
 * deep sleep and its wake-up. After each: no P lost, no M left behind.
 */
#include "tcheck.h"
#include "test_sched_util.h"
#include "sched_internal.h"
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef __SANITIZE_THREAD__
/* The fork child starts a thread; TSan kills such children by default. */
__attribute__((visibility("default"))) const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "die_after_fork=0";
}
#endif

/* Polls the snapshot until cond holds or timeout_ns passes, spinning with
 * sched_yield (the caller stays runnable: the monitor never sees it asleep). */
#define WAIT_STATS(st, cond, timeout_ns)                                            \
	({                                                                           \
		int64_t _end = t_now() + (timeout_ns);                               \
		int _ok;                                                             \
		for (;;) {                                                           \
			(st) = t_stats();                                            \
			if ((_ok = (cond)) || t_now() > _end)                        \
				break;                                               \
			__gosys_syscall0(SYS_sched_yield);                           \
		}                                                                    \
		_ok;                                                                 \
	})

/* ---- no P lost: other threads still get Ps ------------------------------ */

static int32_t probe_done;

static void *probe(void *arg)
{
	(void)arg;
	t_admit();
	t_spin_ns(200 * T_US);
	struct gosys_ret r = gosys_syscall(SYS_getpid, 0, 0, 0);
	if (r.err == 0 && (pid_t)r.r1 == getpid())
		__atomic_add_fetch(&probe_done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* Called holding a P (the test thread in user code): three new threads must
 * each get a P and finish, and the books must balance afterwards. */
static void check_ps_still_served(void)
{
	pthread_t t[3];
	probe_done = 0;
	gosys_entersyscallblock();
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, probe, NULL), 0);
	for (int i = 0; i < 3; i++) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 15;
		ck_assert_msg(pthread_timedjoin_np(t[i], NULL, &ts) == 0,
			      "a new thread got no P within 15 s");
	}
	gosys_exitsyscall();
	ck_assert_int_eq(probe_done, 3);
	struct gosys_schedstats st;
	ck_assert(WAIT_STATS(st, st.threads == 1 && st.waiting == 0, 10 * T_SEC));
	t_stats_print("books", &st);
	ck_assert(t_snapshot_ok(&st));
	ck_assert_int_eq(st.maxprocs, gosys_maxprocs(0));
	ck_assert_int_eq(st.running, 1);
}

/* ---- shrink and grow maxprocs under 32 threads --------------------------- */

#define SG_THREADS 32
static struct t_running run;
static int32_t sg_stop, sg_finished;

static void *sg_worker(void *arg)
{
	uint64_t seed = (uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 11;
	t_admit();
	t_run_begin(&run);
	while (!__atomic_load_n(&sg_stop, __ATOMIC_SEQ_CST)) {
		uint32_t r = t_rand(&seed);
		t_spin_ns(5 * T_US + (r % 30) * T_US);
		t_run_end(&run);
		switch ((r >> 8) % 5) {
		case 0:
			gosys_entersyscall();
			__gosys_syscall0(SYS_getppid);
			gosys_exitsyscall();
			break;
		case 1: /* a lazy call long enough to be retaken */
			gosys_entersyscall();
			t_raw_sleep_ns(100 * T_US + (r >> 20) * T_US);
			gosys_exitsyscall();
			break;
		case 2:
			gosys_entersyscallblock();
			t_raw_sleep_ns(50 * T_US + (r >> 20) * T_US);
			gosys_exitsyscall();
			break;
		case 3:
			gosys_gosched();
			break;
		default:
			(void)gosys_syscall(SYS_getpid, 0, 0, 0);
			break;
		}
		t_run_begin(&run);
	}
	t_run_end(&run);
	__atomic_add_fetch(&sg_finished, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

START_TEST(shrink_grow)
{
	gosys__knobs.asyncpreempt = 0;
	uint64_t seed = 12345;
	pthread_t t[SG_THREADS];
	int changes = 0, samples = 0, bad = 0;
	struct gosys_schedstats st, first_bad;
	memset(&first_bad, 0, sizeof first_bad);
	run.limit = gosys_maxprocs(0);
	uint64_t nop0 = t_stats().nop_runs;
	t_set_maxprocs(&run, 4);
	gosys_entersyscallblock(); /* the controller holds no P */
	for (long i = 0; i < SG_THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, sg_worker, (void *)i), 0);
	int64_t end = t_now() + 2 * T_SEC;
	while (t_now() < end) {
		int n = 1 + (int)(t_rand(&seed) % 4);
		t_set_maxprocs(&run, n);
		changes++;
		int64_t hold = t_now() + 2 * T_MS + (t_rand(&seed) % 4) * T_MS;
		while (t_now() < hold) {
			st = t_stats();
			samples++;
			if (!t_snapshot_ok(&st) && !bad++)
				first_bad = st;
			t_settle(&run, n, &st);
			t_raw_sleep_ns(200 * T_US);
		}
	}
	/* Settle at 2 with the threads still running. */
	t_set_maxprocs(&run, 2);
	ck_assert(WAIT_STATS(st, st.maxprocs == 2, 10 * T_SEC));
	t_settle(&run, 2, &st);
	t_raw_sleep_ns(50 * T_MS);
	__atomic_store_n(&sg_stop, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < SG_THREADS; i++)
		pthread_join(t[i], NULL);
	gosys_exitsyscall();
	st = t_stats();
	t_stats_print("after", &st);
	fprintf(stderr, "# %d changes, %d samples, most running %d\n", changes, samples, run.max);
	if (bad)
		t_stats_print("first inconsistent snapshot", &first_bad);
	ck_assert_int_eq(sg_finished, SG_THREADS);
	ck_assert_int_eq(bad, 0);
	uint64_t nops = st.nop_runs - nop0;
	if (run.violations)
		fprintf(stderr, "# %d counts above the settled maxprocs (worst %d), %llu NOP runs\n",
			run.violations, run.worst, (unsigned long long)nops);
	ck_assert_msg(t_run_ok(&run, 4, nops),
		      "%d times more threads ran user code than the settled maxprocs "
		      "(worst %d, nop_runs %llu)",
		      run.violations, run.worst, (unsigned long long)nops);
	ck_assert_int_le(run.max, 4 + (int)nops);
	ck_assert_int_eq(gosys_maxprocs(0), 2);
	ck_assert_int_eq(st.maxprocs, 2);
	ck_assert(t_snapshot_ok(&st));
	ck_assert_int_eq(st.threads, 1);
	ck_assert_int_eq(st.waiting, 0);
	ck_assert_int_eq(st.running, 1);
	check_ps_still_served();
}
END_TEST

/* ---- fork from a thread while others wait -------------------------------- */

static int32_t fk_ready;
static int fk_status = -1;
static pid_t fk_pid;

static void *fk_waiter(void *arg)
{
	(void)arg;
	t_admit();
	t_spin_ns(1 * T_MS);
	return NULL;
}

static void *fk_forker(void *arg)
{
	(void)arg;
	t_admit();
	__atomic_store_n(&fk_ready, 1, __ATOMIC_SEQ_CST);
	struct gosys_schedstats st;
	if (!WAIT_STATS(st, st.waiting >= 3, 20 * T_SEC)) {
		t_stats_print("forker: no 3 waiters", &st);
		return NULL;
	}
	pid_t pid = fork();
	if (pid == 0)
		_exit(t_fork_child_checks());
	fk_pid = pid;
	if (pid < 0)
		return NULL;
	int status = 0;
	gosys_entersyscallblock();
	pid_t w = waitpid(pid, &status, 0);
	gosys_exitsyscall();
	if (w == pid)
		fk_status = status;
	return NULL;
}

START_TEST(fork_while_waiting)
{
	t_isolate(); /* the waiters stay queued until the forker blocks */
	gosys_maxprocs(1);
	pthread_t f, w[3];
	gosys_entersyscallblock();
	ck_assert_int_eq(pthread_create(&f, NULL, fk_forker, NULL), 0);
	while (!__atomic_load_n(&fk_ready, __ATOMIC_SEQ_CST))
		t_raw_sleep_ns(100 * T_US);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(pthread_create(&w[i], NULL, fk_waiter, NULL), 0);
	pthread_join(f, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(w[i], NULL);
	gosys_exitsyscall();
	ck_assert_msg(fk_pid > 0, "the forker saw no 3 waiters, or fork failed");
	ck_assert_msg(WIFEXITED(fk_status) && WEXITSTATUS(fk_status) == 0,
		      "fork child failed: status 0x%x (exit code %d names the check)", fk_status,
		      WIFEXITED(fk_status) ? WEXITSTATUS(fk_status) : -1);
	check_ps_still_served();
}
END_TEST

/* ---- a thread exits while WAITING ---------------------------------------- */

static int32_t ew_in_call, ew_go, ew_reached;

static void *ew_cancel_target(void *arg)
{
	(void)arg;
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
	t_admit();
	gosys_entersyscallblock();
	__atomic_store_n(&ew_in_call, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&ew_go, __ATOMIC_SEQ_CST))
		t_raw_sleep_ns(1 * T_MS);
	gosys_exitsyscall(); /* parks: the test thread holds the only P */
	__atomic_store_n(&ew_reached, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void *exit_plainly(void *arg)
{
	pthread_exit(arg);
}

START_TEST(exit_waiting_cancel)
{
	gosys__knobs.asyncpreempt = 0;
	gosys_maxprocs(1);
	pthread_t w;
	struct gosys_schedstats st;
	/* The first pthread_cancel loads libgcc_s for unwinding: on a cold page
	 * cache that is disk I/O, the test thread asleep in the kernel while it
	 * holds the P with a waiter queued, and the monitor rightly gives the P
	 * away (a blocked holder). Load it now, before anyone waits. */
	gosys_entersyscallblock();
	ck_assert_int_eq(pthread_create(&w, NULL, exit_plainly, NULL), 0);
	ck_assert_int_eq(pthread_cancel(w), 0);
	pthread_join(w, NULL);
	ck_assert_int_eq(pthread_create(&w, NULL, ew_cancel_target, NULL), 0);
	while (!__atomic_load_n(&ew_in_call, __ATOMIC_SEQ_CST))
		t_raw_sleep_ns(100 * T_US);
	gosys_exitsyscall(); /* we take the P the target left behind */
	__atomic_store_n(&ew_go, 1, __ATOMIC_SEQ_CST);
	ck_assert_msg(WAIT_STATS(st, st.waiting == 1, 10 * T_SEC), "the target never queued");
	/* Let it settle into its futex wait. Spin: asleep while holding the P
	 * with a waiter, we would lose the P to the blocked-holder path. */
	t_spin_ns(2 * T_MS);
	ck_assert_int_eq(pthread_cancel(w), 0);
	ck_assert_msg(WAIT_STATS(st, st.threads == 1 && st.waiting == 0, 10 * T_SEC),
		      "the cancelled waiter left a trace: threads %d waiting %d", st.threads,
		      st.waiting);
	void *ret = NULL;
	pthread_join(w, &ret);
	if (ret != PTHREAD_CANCELED) {
		t_stats_print("not cancelled: it got a P first", &st);
		fprintf(stderr, "# reached %d\n", ew_reached);
	}
	ck_assert(ret == PTHREAD_CANCELED);
	ck_assert_int_eq(ew_reached, 0);
	st = t_stats();
	t_stats_print("after cancel", &st);
	ck_assert(t_snapshot_ok(&st));
	ck_assert_int_eq(st.maxprocs, 1);
	ck_assert_int_eq(st.running, 1);
	ck_assert_int_eq(st.idleprocs, 0);
	check_ps_still_served();
}
END_TEST

static void exit_on_signal(int sig)
{
	(void)sig;
	pthread_exit(NULL);
}

static void *ew_signal_target(void *arg)
{
	(void)arg;
	t_admit(); /* first call: queues for admission, the test thread holds the P */
	__atomic_store_n(&ew_reached, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

START_TEST(exit_waiting_signal)
{
	gosys__knobs.asyncpreempt = 0;
	gosys_maxprocs(1);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = exit_on_signal;
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	pthread_t w;
	struct gosys_schedstats st;
	/* Load the unwinder outside any handler: the first pthread_exit does. */
	ck_assert_int_eq(pthread_create(&w, NULL, exit_plainly, NULL), 0);
	gosys_entersyscallblock();
	pthread_join(w, NULL);
	gosys_exitsyscall();
	/* We hold the only P in user code; the target's admission must wait. */
	ck_assert_int_eq(pthread_create(&w, NULL, ew_signal_target, NULL), 0);
	ck_assert_msg(WAIT_STATS(st, st.waiting == 1, 10 * T_SEC), "the target never queued");
	t_spin_ns(2 * T_MS); /* spin, not sleep: see exit_waiting_cancel */
	ck_assert_int_eq(pthread_kill(w, SIGUSR1), 0);
	ck_assert_msg(WAIT_STATS(st, st.threads == 1 && st.waiting == 0, 10 * T_SEC),
		      "the exited waiter left a trace: threads %d waiting %d", st.threads,
		      st.waiting);
	pthread_join(w, NULL);
	ck_assert_int_eq(ew_reached, 0);
	st = t_stats();
	t_stats_print("after signal exit", &st);
	ck_assert(t_snapshot_ok(&st));
	ck_assert_int_eq(st.running, 1);
	ck_assert_int_eq(st.idleprocs, 0);
	check_ps_still_served();
}
END_TEST

/* ---- a thread exits holding a P, in a lazy call, in an eager call -------- */

static int32_t ex_ready, ex_waiter_ran;

static void *ex_waiter(void *arg)
{
	(void)arg;
	t_admit();
	__atomic_store_n(&ex_waiter_ran, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* Gets the P, waits until someone queues, then leaves the way kind says. */
static void *ex_leaver(void *arg)
{
	long kind = (long)arg;
	t_admit();
	__atomic_store_n(&ex_ready, 1, __ATOMIC_SEQ_CST);
	struct gosys_schedstats st;
	WAIT_STATS(st, st.waiting >= 1, 10 * T_SEC);
	if (kind == 1)
		gosys_entersyscall();
	else if (kind == 2)
		gosys_entersyscallblock();
	return NULL; /* 0: holding the P in user code; 1, 2: inside a call */
}

static void exit_run(long kind)
{
	gosys__knobs.asyncpreempt = 0;
	gosys_maxprocs(1);
	pthread_t l, w;
	gosys_entersyscallblock();
	ck_assert_int_eq(pthread_create(&l, NULL, ex_leaver, (void *)kind), 0);
	while (!__atomic_load_n(&ex_ready, __ATOMIC_SEQ_CST))
		t_raw_sleep_ns(100 * T_US);
	ck_assert_int_eq(pthread_create(&w, NULL, ex_waiter, NULL), 0);
	pthread_join(l, NULL);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 15;
	ck_assert_msg(pthread_timedjoin_np(w, NULL, &ts) == 0,
		      "the waiter got no P after the holder exited");
	gosys_exitsyscall();
	ck_assert_int_eq(ex_waiter_ran, 1);
	struct gosys_schedstats st;
	ck_assert(WAIT_STATS(st, st.threads == 1 && st.waiting == 0, 10 * T_SEC));
	ck_assert(t_snapshot_ok(&st));
	ck_assert_int_eq(st.running, 1);
	ck_assert_int_eq(st.idleprocs, 0);
	check_ps_still_served();
}

START_TEST(exit_holding)
{
	exit_run(0);
}
END_TEST

START_TEST(exit_in_lazy_call)
{
	exit_run(1);
}
END_TEST

START_TEST(exit_in_eager_call)
{
	exit_run(2);
}
END_TEST

/* ---- a holder inside the library is not "blocked outside" ---------------- */

static int32_t sp_ran;

static void *sp_waiter(void *arg)
{
	(void)arg;
	t_admit();
	__atomic_store_n(&sp_ran, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/*
 * We hold the only P and, for 2 s, only call gosys_schedstats (which waits on
 * the scheduler lock whenever the monitor holds it, asleep in the kernel).
 * With preemption isolated away nothing may take our P: the waiter must not
 * run, and no blocked-holder take may happen.
 */
START_TEST(stats_poller_keeps_p)
{
	t_isolate();
	gosys_maxprocs(1);
	pthread_t w;
	struct gosys_schedstats st;
	ck_assert_int_eq(pthread_create(&w, NULL, sp_waiter, NULL), 0);
	ck_assert(WAIT_STATS(st, st.waiting == 1, 10 * T_SEC));
	struct gosys_schedstats a = t_stats();
	int64_t end = t_now() + 2 * T_SEC;
	long polls = 0;
	while (t_now() < end && !__atomic_load_n(&sp_ran, __ATOMIC_SEQ_CST)) {
		st = t_stats();
		polls++;
	}
	struct gosys_schedstats b = t_stats();
	int ran = __atomic_load_n(&sp_ran, __ATOMIC_SEQ_CST);
	gosys_entersyscallblock();
	pthread_join(w, NULL);
	gosys_exitsyscall();
	t_stats_print("before polling", &a);
	t_stats_print("after polling", &b);
	fprintf(stderr, "# %ld polls\n", polls);
	ck_assert_msg(!ran && b.blocked_retakes == a.blocked_retakes,
		      "a holder polling gosys_schedstats lost its P: waiter ran %d, "
		      "blocked_retakes +%llu",
		      ran, (unsigned long long)(b.blocked_retakes - a.blocked_retakes));
}
END_TEST

/* ---- the monitor deep-sleeps and wakes ------------------------------------ */

static int64_t mon_waiter_ran;

static void *mon_waiter(void *arg)
{
	(void)arg;
	t_admit();
	__atomic_store_n(&mon_waiter_ran, t_now(), __ATOMIC_SEQ_CST);
	return NULL;
}

/* We hold the P in user code; a new thread queues; then we hand the P over
 * the way lazy says and report whether the thread ran during our call. */
static int contend_once(int lazy)
{
	pthread_t w;
	struct gosys_schedstats st;
	__atomic_store_n(&mon_waiter_ran, 0, __ATOMIC_SEQ_CST);
	ck_assert_int_eq(pthread_create(&w, NULL, mon_waiter, NULL), 0);
	ck_assert(WAIT_STATS(st, st.waiting == 1, 10 * T_SEC));
	if (lazy)
		gosys_entersyscall();
	else
		gosys_entersyscallblock();
	int64_t t0 = t_now();
	while (!__atomic_load_n(&mon_waiter_ran, __ATOMIC_SEQ_CST) && t_now() - t0 < 2 * T_SEC)
		t_raw_sleep_ns(10 * T_MS);
	int ran = __atomic_load_n(&mon_waiter_ran, __ATOMIC_SEQ_CST) != 0;
	pthread_join(w, NULL);
	gosys_exitsyscall();
	return ran;
}

START_TEST(monitor_sleeps_and_wakes)
{
	t_isolate(); /* the new contention must be served by a retake */
	gosys_maxprocs(1); /* explicit: no once-a-second cgroup refresh */
	struct gosys_schedstats a = t_stats();
	ck_assert_int_eq(a.monitor, 0);
	ck_assert(contend_once(0));
	struct gosys_schedstats b = t_stats();
	ck_assert_int_eq(b.monitor, 1);
	ck_assert_int_eq(b.waiting, 0);
	t_raw_sleep_ns(50 * T_MS); /* let it notice nobody waits */
	struct gosys_schedstats c = t_stats();
	t_raw_sleep_ns(200 * T_MS);
	struct gosys_schedstats d = t_stats();
	t_stats_print("deep sleep from", &c);
	t_stats_print("deep sleep to", &d);
	ck_assert_msg(d.monitor_ticks == c.monitor_ticks,
		      "the monitor ticked %llu times in 200 ms with nobody waiting",
		      (unsigned long long)(d.monitor_ticks - c.monitor_ticks));
	/* New contention: a lazy call that lasts must be retaken, and by the
	 * monitor: the waiter's own watch (sched.c) is put in its rest. */
	__atomic_store_n(&gosys__sched.watch_misses, 8, __ATOMIC_SEQ_CST);
	__atomic_store_n(&gosys__sched.watch_after, INT64_MAX, __ATOMIC_SEQ_CST);
	ck_assert_msg(contend_once(1), "no retake after the deep sleep");
	struct gosys_schedstats e = t_stats();
	t_stats_print("after wake", &e);
	ck_assert_uint_gt(e.retakes, d.retakes);
	ck_assert_uint_gt(e.monitor_ticks, d.monitor_ticks);
	ck_assert(t_snapshot_ok(&e));
}
END_TEST

static Suite *sched_edge_suite(void)
{
	Suite *s = suite_create("sched_edge");
	tcase_add_test(t_case(s, "shrink_grow", 60), shrink_grow);
	tcase_add_test(t_case(s, "fork_while_waiting", 60), fork_while_waiting);
	tcase_add_test(t_case(s, "exit_waiting_cancel", 30), exit_waiting_cancel);
	tcase_add_test(t_case(s, "exit_waiting_signal", 30), exit_waiting_signal);
	tcase_add_test(t_case(s, "exit_holding", 30), exit_holding);
	tcase_add_test(t_case(s, "exit_in_lazy_call", 30), exit_in_lazy_call);
	tcase_add_test(t_case(s, "exit_in_eager_call", 30), exit_in_eager_call);
	tcase_add_test(t_case(s, "stats_poller_keeps_p", 30), stats_poller_keeps_p);
	tcase_add_test(t_case(s, "monitor_sleeps_and_wakes", 30), monitor_sleeps_and_wakes);
	return s;
}

T_MAIN(sched_edge_suite)
