/* SPDX-License-Identifier: MIT */
/*
 * b_omp.c - spin-then-sleep runtimes with more threads than Ps: an OpenMP
 * program (libgomp; its workers sleep in futex by an inline syscall, which
 * the library never sees) runs REGIONS parallel regions of 4 threads, each
 * thread computing about WORK_US, with and without a libc call in every
 * region, under the default and the passive wait policy. Each case runs
 * plain and preloaded at maxprocs 1 and 2, interleaved, BENCH_RUNS times;
 * the figure is the median preloaded wall over the median plain wall.
 * Target: at most 2x (issue 8: spin-then-sleep runtimes stay usable; at
 * maxprocs 1 on 2 CPUs the bound alone doubles a compute-bound region).
 * Last, the default team (no OMP_NUM_THREADS, no num_threads clause) under
 * GOSYS_DEBUG=cpus=maxprocs at maxprocs 1 and 2 against plain with its own
 * default team (the affinity mask's CPUs): libgomp then starts as many
 * threads as the budget, each doing the same share as before, so the
 * figure is what the library costs a team that fits its budget. Target:
 * at most 1.2x (issue 11).
 * "b_omp worker CALL [default]" is the workload itself; it prints its wall
 * time.
 */
#include "bench.h"
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REGIONS 2000
#define WORK_ITERS 60000 /* about 50 us of arithmetic on a 2.8 GHz core */
#define TARGET 2.0
#define TARGET_CPUS 1.2

static double region_work(int call)
{
	double x = 0;
	for (int i = 0; i < WORK_ITERS; i++)
		x += i * 0.5;
	if (call)
		(void)getppid();
	return x;
}

static int worker(int call, int deflt)
{
	volatile double sink = 0;
	int64_t t0 = bench_now();
	for (int r = 0; r < REGIONS; r++) {
		if (deflt) {
#pragma omp parallel
			{
				double x = region_work(call);
#pragma omp atomic
				sink += x;
			}
		} else {
#pragma omp parallel num_threads(4)
			{
				double x = region_work(call);
#pragma omp atomic
				sink += x;
			}
		}
	}
	printf("wall_ns %lld\n", (long long)(bench_now() - t0));
	return sink > 0 ? 0 : 1;
}

/* deflt: libgomp's default team, and cpus=maxprocs under the library. */
static double run_once_team(const char *policy, const char *call, const char *lib, const char *mp,
			    int deflt)
{
	char *argv[] = {"/proc/self/exe", "worker", (char *)call, deflt ? "default" : NULL, NULL};
	char pol[64], mps[32], out[256];
	snprintf(pol, sizeof pol, "OMP_WAIT_POLICY=%s", policy);
	snprintf(mps, sizeof mps, "GOSYS_MAXPROCS=%s", mp ? mp : "1");
	const char *env[] = {mps, deflt ? "GOSYS_DEBUG=cpus=maxprocs" : "OMP_NUM_THREADS=4",
			     *policy ? pol : NULL, NULL};
	if (bench_run_child(argv, lib, env, NULL, 60, out, sizeof out) != 0)
		return -1;
	long long ns = 0;
	char *p = strstr(out, "wall_ns ");
	if (!p || sscanf(p, "wall_ns %lld", &ns) != 1)
		return -1;
	return (double)ns / 1e6;
}

/* Plain, maxprocs 1 and maxprocs 2, interleaved; the two ratio rows. 0, or
 * -1 after a failed child (a MISS row printed). */
static int figure3(const char *lib, const char *fig, const char *pol, const char *cs, int team,
		   double target)
{
	double plain[BENCH_RUNS], m1[BENCH_RUNS], m2[BENCH_RUNS];
	bench_figure(fig);
	for (int r = 0; r < BENCH_RUNS; r++) {
		plain[r] = run_once_team(pol, cs, NULL, NULL, team);
		m1[r] = run_once_team(pol, cs, lib, "1", team);
		m2[r] = run_once_team(pol, cs, lib, "2", team);
		if (plain[r] < 0 || m1[r] < 0 || m2[r] < 0) {
			bench_row(fig, "child failed", "-", -1, "-", "MISS");
			return -1;
		}
	}
	double p = bench_median(plain, BENCH_RUNS);
	char f1[128], f2[128];
	snprintf(f1, sizeof f1, "%s, maxprocs 1 / plain", fig);
	snprintf(f2, sizeof f2, "%s, maxprocs 2 / plain", fig);
	bench_ratio_row(f1, bench_median(m1, BENCH_RUNS), "ms", "plain", p, target);
	bench_ratio_row(f2, bench_median(m2, BENCH_RUNS), "ms", "plain", p, target);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "worker") == 0)
		return worker(atoi(argv[2]), argc > 3 && strcmp(argv[3], "default") == 0);
	const char *lib = getenv("GOSYS_LIB");
	/* The default team takes its size from the environment when these are set. */
	unsetenv("OMP_NUM_THREADS");
	unsetenv("OMP_THREAD_LIMIT");
	bench_alarm(600);
	static const char *policies[] = {"active", "passive"};
	for (int pi = 0; pi < 2; pi++) {
		for (int call = 0; call <= 1; call++) {
			char fig[96];
			snprintf(fig, sizeof fig, "omp %s%s", pi ? "passive" : "default",
				 call ? ", libc call" : "");
			const char *cs = call ? "1" : "0";
			/* OMP_WAIT_POLICY=active would spin for good; libgomp's default
			 * (unset) spins a while, then sleeps. */
			const char *pol = pi ? policies[1] : "";
			if (figure3(lib, fig, pol, cs, 0, TARGET))
				return bench_exit();
		}
	}
	figure3(lib, "omp default team, cpus=maxprocs", "", "0", 1, TARGET_CPUS);
	return bench_exit();
}
