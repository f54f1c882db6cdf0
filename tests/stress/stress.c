/* SPDX-License-Identifier: MIT */
/*
 * stress.c - a random mix against the scheduler for STRESS_SECONDS (default
 * 120): lazy and eager calls, gosched, compute, maxprocs changes, threads
 * that come and go (exiting in user code or inside a call), and fork
 * (STRESS_THREADS, STRESS_SEED, STRESS_FORK_EVERY, STRESS_ASYNC=1, and
 * STRESS_PACE=M: quota pacing at M thousandths of a CPU throughout). It
 * checks I1 throughout (its own count of threads in user code against the
 * settled maxprocs, and every snapshot's books) and exits non-zero on any
 * violation or if nothing makes progress for 30 s. Not a benchmark.
 */
#include "test_sched_util.h"
#include "sched_internal.h"
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef __SANITIZE_THREAD__
/* Fork children start threads; TSan kills such children by default. */
__attribute__((visibility("default"))) const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "die_after_fork=0";
}
#endif

static struct t_running run;
static int32_t stop;		/* main: set at the end; workers leave */
static int32_t alive;		/* workers running */
static int64_t ops;		/* progress: operations done by all workers */
static int32_t bad_snapshots, fork_failures, forks, spawned, forking;
static struct gosys_schedstats first_bad;

static void note_snapshot(const struct gosys_schedstats *st)
{
	if (!t_snapshot_ok(st) && __atomic_add_fetch(&bad_snapshots, 1, __ATOMIC_SEQ_CST) == 1)
		first_bad = *st;
}

/* ---- fork ---------------------------------------------------------------- */

/* Called in user code holding a P (not counted as running by the caller). */
static void do_fork(void)
{
	int32_t z = 0;
	if (!__atomic_compare_exchange_n(&forking, &z, 1, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST))
		return;
	pid_t pid = fork();
	if (pid == 0)
		_exit(t_fork_child_checks());
	if (pid > 0) {
		int status = 0;
		gosys_entersyscallblock();
		pid_t w = waitpid(pid, &status, 0);
		gosys_exitsyscall();
		if (w != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "stress: fork child failed: status 0x%x\n", status);
			__atomic_add_fetch(&fork_failures, 1, __ATOMIC_SEQ_CST);
		}
		__atomic_add_fetch(&forks, 1, __ATOMIC_SEQ_CST);
	}
	__atomic_store_n(&forking, 0, __ATOMIC_SEQ_CST);
}

/* ---- workers --------------------------------------------------------------- */

static int64_t fork_every;	/* one fork per this many ops, roughly; 0: none */

static void *worker(void *arg)
{
	uint64_t seed = (uintptr_t)arg * 0x9e3779b97f4a7c15ULL + (uint64_t)t_now();
	t_admit();
	t_run_begin(&run);
	int life = 200 + (int)(t_rand(&seed) % 4000);
	for (int i = 0; i < life && !__atomic_load_n(&stop, __ATOMIC_RELAXED); i++) {
		uint32_t r = t_rand(&seed);
		uint32_t arg2 = r >> 16;
		t_spin_ns((arg2 % 20) * T_US);
		t_run_end(&run);
		switch (r % 9) {
		case 0:
			gosys_entersyscall();
			__gosys_syscall0(SYS_getppid);
			gosys_exitsyscall();
			break;
		case 1: /* a lazy call long enough to be retaken */
			gosys_entersyscall();
			t_raw_sleep_ns(50 * T_US + (arg2 % 450) * T_US);
			gosys_exitsyscall();
			break;
		case 2:
			gosys_entersyscallblock();
			t_raw_sleep_ns(20 * T_US + (arg2 % 280) * T_US);
			gosys_exitsyscall();
			break;
		case 3:
			gosys_gosched();
			break;
		case 4:
			(void)gosys_syscall(SYS_getpid, 0, 0, 0);
			break;
		case 5: { /* compute, with no library entry for up to 2 ms */
			t_run_begin(&run);
			t_spin_ns((arg2 % 2000) * T_US);
			t_run_end(&run);
			t_admit();
			break;
		}
		case 6: {
			struct gosys_schedstats st = t_stats();
			note_snapshot(&st);
			break;
		}
		case 7:
			if (fork_every && arg2 % (uint32_t)fork_every == 0)
				do_fork();
			break;
		default:
			gosys_entersyscall();
			(void)gosys_syscall(SYS_getppid, 0, 0, 0); /* nested */
			gosys_exitsyscall();
			break;
		}
		t_run_begin(&run);
		__atomic_add_fetch(&ops, 1, __ATOMIC_RELAXED);
	}
	t_run_end(&run);
	__atomic_sub_fetch(&alive, 1, __ATOMIC_SEQ_CST);
	/* Leave holding the P, inside a lazy call or inside an eager call. */
	switch (t_rand(&seed) % 3) {
	case 1:
		gosys_entersyscall();
		break;
	case 2:
		gosys_entersyscallblock();
		break;
	default:
		break;
	}
	return NULL;
}

static int spawn(long id)
{
	pthread_t t;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	__atomic_add_fetch(&alive, 1, __ATOMIC_SEQ_CST);
	int e = pthread_create(&t, &a, worker, (void *)id);
	pthread_attr_destroy(&a);
	if (e) {
		__atomic_sub_fetch(&alive, 1, __ATOMIC_SEQ_CST);
		return 0;
	}
	__atomic_add_fetch(&spawned, 1, __ATOMIC_RELAXED);
	return 1;
}

static long env_long(const char *name, long def)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return def;
	char *end;
	long n = strtol(v, &end, 10);
	return *end || n <= 0 ? def : n;
}

int main(void)
{
	long seconds = env_long("STRESS_SECONDS", 120);
	long nthreads = env_long("STRESS_THREADS", 16);
	fork_every = env_long("STRESS_FORK_EVERY", 1500);
	uint64_t seed = (uint64_t)env_long("STRESS_SEED", (long)getpid());
	/* Async preemption parks a thread inside a signal handler, where the
	 * test's own counter would still count it as running: off, unless
	 * STRESS_ASYNC=1, which turns it on and checks only the snapshots. */
	int async = env_long("STRESS_ASYNC", 0) == 1;
	gosys__knobs.asyncpreempt = async;
	/* Before the monitor starts: it reads the rate when it does. */
	gosys__pace_test_milli = (int32_t)env_long("STRESS_PACE", 0);
	fprintf(stderr, "stress: %ld s, %ld threads, seed %llu, async preemption %s, pacing %d\n",
		seconds, nthreads, (unsigned long long)seed, async ? "on" : "off",
		(int)gosys__pace_test_milli);
	run.limit = gosys_maxprocs(0);
	uint64_t nop0 = t_stats().nop_runs;
	int target = run.limit, changes = 0, hang = 0;
	long id = 0;
	int64_t start = t_now(), end = start + seconds * T_SEC;
	int64_t last_ops = 0, last_progress = start, next_report = start + 10 * T_SEC;
	int64_t next_change = start;
	/* The controller works from inside an eager call: it holds no P. */
	gosys_entersyscallblock();
	while (t_now() < end) {
		while (__atomic_load_n(&alive, __ATOMIC_SEQ_CST) < nthreads && spawn(id))
			id++;
		int64_t now = t_now();
		if (now >= next_change) {
			target = 1 + (int)(t_rand(&seed) % 4);
			t_set_maxprocs(&run, target);
			changes++;
			next_change = now + (5 + t_rand(&seed) % 45) * T_MS;
		}
		struct gosys_schedstats st = t_stats();
		note_snapshot(&st);
		t_settle(&run, target, &st);
		int64_t o = __atomic_load_n(&ops, __ATOMIC_RELAXED);
		if (o != last_ops) {
			last_ops = o;
			last_progress = now;
		} else if (now - last_progress > 30 * T_SEC) {
			t_stats_print("stress: no progress for 30 s", &st);
			hang = 1;
			break;
		}
		if (now >= next_report) {
			fprintf(stderr, "stress: %.0f s: %lld ops, %d threads made, %d forks\n",
				(now - start) / 1e9, (long long)o, spawned, forks);
			next_report += 10 * T_SEC;
		}
		t_raw_sleep_ns(500 * T_US);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_SEQ_CST);
	int64_t drain = t_now() + 30 * T_SEC;
	while (!hang && (__atomic_load_n(&alive, __ATOMIC_SEQ_CST) > 0 ||
			 __atomic_load_n(&forking, __ATOMIC_SEQ_CST))) {
		if (t_now() > drain) {
			fprintf(stderr, "stress: %d workers did not finish\n", alive);
			hang = 1;
			break;
		}
		t_raw_sleep_ns(1 * T_MS);
	}
	gosys_exitsyscall();
	/* Workers decrement alive before leaving: give their exits a moment. */
	struct gosys_schedstats st = t_stats();
	int64_t settle = t_now() + 10 * T_SEC;
	while (!hang && (st.threads != 1 || st.waiting != 0) && t_now() < settle) {
		t_raw_sleep_ns(1 * T_MS);
		st = t_stats();
	}
	t_stats_print("stress: end", &st);
	int leftover = st.threads != 1 || st.waiting != 0;
	note_snapshot(&st);
	fprintf(stderr,
		"stress: %lld ops, %d threads made, %d forks, %d maxprocs changes, most running "
		"%d; violations: running %d (worst %d), snapshots %d, forks %d, leftover %d, "
		"hang %d\n",
		(long long)ops, spawned, forks, changes, run.max, run.violations, run.worst,
		bad_snapshots, fork_failures, leftover, hang);
	if (bad_snapshots)
		t_stats_print("stress: first bad snapshot", &first_bad);
	uint64_t nops = st.nop_runs - nop0;
	int running_bad = !async && !t_run_ok(&run, 4, nops);
	if (run.violations)
		fprintf(stderr, "stress: %d counts above the limit with %llu NOP runs: %s\n",
			run.violations, (unsigned long long)nops,
			async ? "not judged (threads parked by the signal still count)"
			      : running_bad ? "not excused" : "excused (I1's exception)");
	/* A paced run must have paused, or it tested nothing of pacing. */
	int unpaced = gosys__pace_test_milli > 0 && st.paces == 0;
	if (gosys__pace_test_milli > 0)
		fprintf(stderr, "stress: %llu pauses, %.1f ms paused, rate %d thousandths%s\n",
			(unsigned long long)st.paces, st.paced_ns / 1e6, st.pace_millicpus,
			unpaced ? ": NO PAUSE" : "");
	int fail = running_bad || bad_snapshots || fork_failures || leftover || hang || unpaced;
	fprintf(stderr, "stress: %s\n", fail ? "FAIL" : "ok");
	return fail ? 1 : 0;
}
