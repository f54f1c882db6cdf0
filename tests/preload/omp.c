/* SPDX-License-Identifier: MIT */
/*
 * omp.c - the case of unseen.c with the real libgomp: parallel regions of
 * 4 threads (OMP_NUM_THREADS=4, and num_threads(4) should the variable be
 * missing) that compute with no call. Between regions libgomp's workers
 * sleep in its own futex wait (an inline syscall the library cannot see);
 * the master sleeps in nanosleep so that they do. Over the regions, (sum of
 * the team's CPU time inside them) / (wall time of the regions) is the
 * number of threads that ran at once; it must be at most maxprocs + MARGIN
 * (judged only where the machine has more CPUs than maxprocs). The team's
 * CPU clocks are read at the start and end of each region through
 * clock_gettime, which the library passes straight to libc.
 */
#include "runs.h"
#include <omp.h>

#define NTHREADS 4
#define REGIONS 6
#define WORK_MS 30
#define MARGIN 0.15

static volatile uint64_t sink;

static uint64_t compute(uint64_t loops, uint64_t x)
{
	for (uint64_t i = 0; i < loops; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	return x;
}

static int64_t thread_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int c_omp(uint64_t seed)
{
	int64_t t0 = runs_mono_ns();
	sink = compute(1000000, seed);
	int64_t dt = runs_mono_ns() - t0;
	uint64_t per_ms = dt > 0 ? 1000000ULL * 1000000 / (uint64_t)dt : 100000;
	int64_t cpu = 0, wall = 0;
	int team = 0;
	for (int r = 0; r < REGIONS; r++) {
		struct timespec nap = {0, 20 * 1000000L};
		nanosleep(&nap, NULL); /* the workers go to sleep in futex */
		int64_t c[NTHREADS] = {0};
		int64_t w0 = runs_mono_ns();
#pragma omp parallel num_threads(NTHREADS)
		{
			int me = omp_get_thread_num();
			int64_t c0 = thread_cpu();
			uint64_t x = compute(per_ms * WORK_MS, (uint64_t)me);
			c[me] = thread_cpu() - c0;
			if (me == 0)
				team = omp_get_num_threads();
			sink += x;
		}
		wall += runs_mono_ns() - w0;
		for (int i = 0; i < NTHREADS; i++)
			cpu += c[i];
	}
	if (team != NTHREADS)
		RUN_FAIL("the team had %d threads, not %d", team, NTHREADS);
	double ratio = wall > 0 ? (double)cpu / (double)wall : 0;
	int procs = runs_maxprocs(0);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int judged = procs > 0 && ncpu > procs;
	if (procs > 0)
		fprintf(stderr, "# %s: %d threads, %.0f ms CPU over %.0f ms wall: %.2f at once "
				"(maxprocs %d, bound %.2f%s)\n",
			"libgomp", team, cpu / 1e6, wall / 1e6, ratio, procs, procs + MARGIN,
			judged ? "" : ", not judged: no more CPUs than that");
	else
		fprintf(stderr, "# %s: %d threads, %.0f ms CPU over %.0f ms wall: %.2f at once "
				"(plain)\n",
			"libgomp", team, cpu / 1e6, wall / 1e6, ratio);
	if (judged && ratio > procs + MARGIN)
		RUN_FAIL("%.2f threads of the team ran at once with maxprocs %d (bound %.2f)", ratio,
			 procs, procs + MARGIN);
	return 0;
}

static const struct runs_case cases[] = {
	{"libgomp-parallel", c_omp, NULL},
};

int main(int argc, char **argv)
{
	return runs_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
