/* SPDX-License-Identifier: MIT */
/*
 * unseen.c - threads that block where the library cannot see and then never
 * call it again: OpenMP-style workers (as libgomp's, whose futex calls are an
 * inline `syscall` instruction, config/linux/x86/futex.h) sleep in
 * FUTEX_WAIT between parallel phases, are woken by the master, and compute
 * for a long time with no call at all. The library sees a holder blocked
 * outside it, takes its P, and the worker then runs without one.
 *
 * Each run: 4 workers (registered with the library by pthread_create),
 * PHASES phases; in each, the main thread wakes them all (FUTEX_WAKE, by an
 * inline syscall too) and waits (through libc's syscall(), so the library
 * sees it leave), each worker computes about WORK_MS of CPU and counts
 * itself done. The workers read their CPU clocks by inline syscall as well.
 * Over the compute phases, (sum of the workers' CPU time) / (wall time) is
 * the number of workers that ran at once, on average; it must be at most
 * maxprocs + MARGIN. A loaded machine only lowers that ratio, so the bound
 * holds there too; on a machine with no more CPUs than maxprocs it cannot
 * fail (it is then printed, not judged).
 *
 * Under the library the run also checks that the scheduler reported runs
 * without a P (gosys_schedstats' nop_runs, looked up with dlsym so that the
 * plain run needs no library).
 */
#include "runs.h"
#include "gosys.h"
#include <dlfcn.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>

#define NWORKERS 4
#define PHASES 6
#define WORK_MS 30
#define MARGIN 0.15

/* ---- the inline system call, as libgomp issues its futex calls ----------- */

static void futex_wait_inline(uint32_t *addr, uint32_t val)
{
	runs_inline_syscall4(SYS_futex, (long)addr, FUTEX_WAIT_PRIVATE, val, 0);
}

static void futex_wake_inline(uint32_t *addr)
{
	runs_inline_syscall4(SYS_futex, (long)addr, FUTEX_WAKE_PRIVATE, 0x7fffffff, 0);
}

static int64_t cpu_inline(void)
{
	struct timespec ts;
	if (runs_inline_syscall4(SYS_clock_gettime, CLOCK_THREAD_CPUTIME_ID, (long)&ts, 0, 0) != 0)
		return -1;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- the workers ------------------------------------------------------------ */

static uint32_t phase;		/* futex: the phase the master has started */
static uint32_t ndone;		/* futex: workers done with the current phase */
static uint64_t loops_per_ms;
static volatile uint64_t sink;
static int64_t worker_cpu[NWORKERS]; /* ns of CPU inside the compute phases */

static void compute(uint64_t loops)
{
	uint64_t x = sink;
	for (uint64_t i = 0; i < loops; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	sink = x;
}

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	uint32_t seen = 0;
	/* From here on, not one call the library can see. */
	for (int ph = 1; ph <= PHASES; ph++) {
		uint32_t cur;
		while ((cur = __atomic_load_n(&phase, __ATOMIC_ACQUIRE)) == seen)
			futex_wait_inline(&phase, seen);
		seen = cur;
		int64_t c0 = cpu_inline();
		compute(loops_per_ms * WORK_MS);
		int64_t c1 = cpu_inline();
		worker_cpu[id] += c1 - c0;
		if (__atomic_add_fetch(&ndone, 1, __ATOMIC_ACQ_REL) == NWORKERS)
			futex_wake_inline(&ndone);
	}
	return NULL;
}

static void calibrate(void)
{
	int64_t t0 = runs_mono_ns();
	compute(1000000);
	int64_t dt = runs_mono_ns() - t0;
	loops_per_ms = dt > 0 ? 1000000ULL * 1000000 / (uint64_t)dt : 100000;
	if (loops_per_ms < 1000)
		loops_per_ms = 1000;
}

static void nap_ms(long ms)
{
	struct timespec ts = {0, ms * 1000000L};
	nanosleep(&ts, NULL);
}

static int c_futex(uint64_t seed)
{
	(void)seed;
	calibrate();
	pthread_t th[NWORKERS];
	for (int i = 0; i < NWORKERS; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i))
			RUN_FAIL("pthread_create");
	int64_t wall = 0;
	for (int ph = 1; ph <= PHASES; ph++) {
		/* Let every worker settle into its futex wait first: the
		 * library then sees holders blocked outside it. */
		nap_ms(20);
		__atomic_store_n(&ndone, 0, __ATOMIC_RELEASE);
		int64_t t0 = runs_mono_ns();
		__atomic_store_n(&phase, (uint32_t)ph, __ATOMIC_RELEASE);
		futex_wake_inline(&phase);
		uint32_t d;
		while ((d = __atomic_load_n(&ndone, __ATOMIC_ACQUIRE)) < NWORKERS)
			syscall(SYS_futex, &ndone, FUTEX_WAIT_PRIVATE, d, NULL, NULL, 0);
		wall += runs_mono_ns() - t0;
	}
	for (int i = 0; i < NWORKERS; i++)
		pthread_join(th[i], NULL);
	int64_t cpu = 0;
	for (int i = 0; i < NWORKERS; i++)
		cpu += worker_cpu[i];
	double ratio = wall > 0 ? (double)cpu / (double)wall : 0;
	int procs = runs_maxprocs(0);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int judged = procs > 0 && ncpu > procs;
	if (procs > 0)
		fprintf(stderr, "# %s: %d threads, %.0f ms CPU over %.0f ms wall: %.2f at once "
				"(maxprocs %d, bound %.2f%s)\n",
			"futex workers", NWORKERS, cpu / 1e6, wall / 1e6, ratio, procs, procs + MARGIN,
			judged ? "" : ", not judged: no more CPUs than that");
	else
		fprintf(stderr, "# %s: %d threads, %.0f ms CPU over %.0f ms wall: %.2f at once "
				"(plain)\n",
			"futex workers", NWORKERS, cpu / 1e6, wall / 1e6, ratio);
	if (judged && ratio > procs + MARGIN)
		RUN_FAIL("%.2f workers ran at once with maxprocs %d (bound %.2f)", ratio, procs,
			 procs + MARGIN);
	/* The library must say that threads ran without a P. */
	typedef int (*stats_fn)(struct gosys_schedstats *, size_t);
	stats_fn stats = (stats_fn)dlsym(RTLD_DEFAULT, "gosys_schedstats");
	if (stats && procs > 0) {
		struct gosys_schedstats st;
		memset(&st, 0, sizeof st);
		if (stats(&st, sizeof st) < 0)
			RUN_FAIL("gosys_schedstats failed");
		if (st.nop_runs == 0)
			RUN_FAIL("the workers ran without a P, and nop_runs is 0");
	}
	return 0;
}

static const struct runs_case cases[] = {
	{"inline-futex-workers", c_futex, NULL},
};

int main(int argc, char **argv)
{
	return runs_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
