/* SPDX-License-Identifier: MIT */
/*
 * Description: I1, at most maxprocs threads run user code. 64 threads do
 * short CPU bursts between lazy and eager calls with maxprocs 1, 2 and 3;
 * the test counts threads in user code with its own atomic and samples
 * gosys_schedstats throughout. Async preemption is off (a thread parked in
 * the signal handler would still count as running).
 */
#include "tcheck.h"
#include "test_sched_util.h"
#include <pthread.h>

#define I1_THREADS 64
#define I1_ITERS 120

static struct t_running run;
static int32_t finished;

static void *i1_worker(void *arg)
{
	uint64_t seed = (uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 7;
	t_admit();
	t_run_begin(&run);
	for (int i = 0; i < I1_ITERS; i++) {
		uint32_t r = t_rand(&seed);
		t_spin_ns(10 * T_US + (r % 40) * T_US); /* a burst of 10-50 us */
		t_run_end(&run);
		if (r & 0x100000) {
			gosys_entersyscall();
			__gosys_syscall0(SYS_getppid);
			gosys_exitsyscall();
		} else {
			gosys_entersyscallblock();
			t_raw_sleep_ns(20 * T_US + (r >> 24) * T_US);
			gosys_exitsyscall();
		}
		t_run_begin(&run);
	}
	t_run_end(&run);
	__atomic_add_fetch(&finished, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void i1_run(int n)
{
	gosys__knobs.asyncpreempt = 0;
	gosys_maxprocs(n);
	run.limit = n;
	uint64_t nop0 = t_stats().nop_runs;
	pthread_t t[I1_THREADS];
	int bad = 0, samples = 0, badmax = 0;
	struct gosys_schedstats st, first_bad;
	memset(&first_bad, 0, sizeof first_bad);
	/* This thread samples from inside an eager call: it holds no P, so it is
	 * not running user code either. */
	gosys_entersyscallblock();
	for (long i = 0; i < I1_THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, i1_worker, (void *)i), 0);
	int64_t deadline = t_now() + 40 * T_SEC;
	while (__atomic_load_n(&finished, __ATOMIC_SEQ_CST) < I1_THREADS && t_now() < deadline) {
		st = t_stats();
		samples++;
		if (!t_snapshot_ok(&st) || st.maxprocs != n) {
			if (!bad++)
				first_bad = st;
		}
		if (st.running > n)
			badmax++;
		t_raw_sleep_ns(200 * T_US);
	}
	for (int i = 0; i < I1_THREADS; i++)
		pthread_join(t[i], NULL);
	gosys_exitsyscall();
	st = t_stats();
	t_stats_print("after", &st);
	fprintf(stderr, "# maxprocs %d: most running user code %d, samples %d\n", n, run.max,
		samples);
	if (bad)
		t_stats_print("first inconsistent snapshot", &first_bad);
	ck_assert_int_eq(finished, I1_THREADS);
	if (run.violations)
		fprintf(stderr, "# %d times more than %d threads ran user code (worst %d) with "
			"%llu NOP runs\n", run.violations, n, run.worst,
			(unsigned long long)(st.nop_runs - nop0));
	ck_assert_msg(t_run_ok(&run, n, st.nop_runs - nop0),
		      "%d times more than %d threads ran user code (worst %d, nop_runs %llu)",
		      run.violations, n, run.worst, (unsigned long long)(st.nop_runs - nop0));
	ck_assert_int_le(run.max, n + (int)(st.nop_runs - nop0));
	ck_assert_int_ge(run.max, 1);
	ck_assert_int_gt(samples, 0);
	ck_assert_int_eq(bad, 0);
	ck_assert_int_eq(badmax, 0);
	ck_assert(t_snapshot_ok(&st));
	ck_assert_int_eq(st.waiting, 0);
	ck_assert_int_eq(st.threads, 1);
}

START_TEST(i1_maxprocs1)
{
	i1_run(1);
}
END_TEST

START_TEST(i1_maxprocs2)
{
	i1_run(2);
}
END_TEST

START_TEST(i1_maxprocs3)
{
	i1_run(3);
}
END_TEST

static Suite *sched_i1_suite(void)
{
	Suite *s = suite_create("sched_i1");
	tcase_add_test(t_case(s, "maxprocs1", 60), i1_maxprocs1);
	tcase_add_test(t_case(s, "maxprocs2", 60), i1_maxprocs2);
	tcase_add_test(t_case(s, "maxprocs3", 60), i1_maxprocs3);
	return s;
}

T_MAIN(sched_i1_suite)
