/* SPDX-License-Identifier: MIT */
/*
 * b_request.c - a request beside compute (issue 11's row): 4 threads
 * compute without a call, and a request thread wakes every 20 ms
 * (clock_nanosleep to an absolute deadline, through libc) and does 0.5 ms of
 * CPU work. The latency of a request runs from its deadline to the end of
 * its work. Run plain and preloaded at GOSYS_MAXPROCS=1 with the default
 * knobs, interleaved, BENCH_RUNS times each; the figure is the preloaded
 * p99 of all requests (target <= 5 ms), with plain's beside it. At maxprocs
 * 1 the request gets the P only by CFS wakeup preemption, which the library
 * does itself (sched.c, wakeup_preempt): the request thread has run far
 * less than any hog.
 * "b_request worker" is the workload; it prints one latency (ms) a line.
 */
#include "bench.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HOGS 4
#define REQUESTS 100
#define PERIOD_NS 20000000
#define WORK_NS 500000
#define TARGET_MS 5.0

static volatile uint64_t sink;

static void *hog(void *arg)
{
	(void)arg;
	uint64_t x = 1;
	for (;;) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		sink = x;
	}
	return NULL;
}

static int64_t thread_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int worker(void)
{
	pthread_t th;
	for (int i = 0; i < HOGS; i++)
		if (pthread_create(&th, NULL, hog, NULL) != 0)
			return 1;
	struct timespec due;
	clock_gettime(CLOCK_MONOTONIC, &due);
	for (int r = 0; r < REQUESTS + 5; r++) {
		due.tv_nsec += PERIOD_NS;
		if (due.tv_nsec >= 1000000000) {
			due.tv_nsec -= 1000000000;
			due.tv_sec++;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) != 0)
			;
		int64_t t_due = (int64_t)due.tv_sec * 1000000000 + due.tv_nsec;
		int64_t c0 = thread_cpu();
		uint64_t x = 1;
		while (thread_cpu() - c0 < WORK_NS)
			for (int k = 0; k < 100; k++)
				x = x * 6364136223846793005ULL + 1;
		sink = x;
		int64_t done = bench_now();
		if (r >= 5) /* the first few while the hogs start */
			printf("%.3f\n", (double)(done - t_due) / 1e6);
	}
	fflush(stdout);
	_exit(0);
}

/* Appends the child's latencies to v; returns how many, or -1. */
static int run_one(const char *self, const char *preload, double *v)
{
	static char out[16384];
	char *argv[] = {(char *)self, "worker", NULL};
	const char *env[] = {"GOSYS_MAXPROCS=1", NULL};
	if (bench_run_child(argv, preload, preload ? env : NULL, NULL, 30, out, sizeof out) != 0)
		return -1;
	int n = 0;
	for (char *s = out; *s && n < REQUESTS;) {
		v[n++] = strtod(s, &s);
		while (*s == '\n')
			s++;
	}
	return n == REQUESTS ? n : -1;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "worker") == 0)
		return worker();
	const char *lib = getenv("GOSYS_LIB");
	if (!lib) {
		fprintf(stderr, "b_request: GOSYS_LIB must name libgosys.so\n");
		return 2;
	}
	bench_figure("request beside compute");
	bench_alarm(300);
	static double plain[BENCH_RUNS * REQUESTS], pre[BENCH_RUNS * REQUESTS];
	for (int i = 0; i < BENCH_RUNS; i++) {
		if (run_one("/proc/self/exe", NULL, plain + i * REQUESTS) < 0 ||
		    run_one("/proc/self/exe", lib, pre + i * REQUESTS) < 0) {
			bench_row("request beside compute", "a run failed", "-", -1, "-", "MISS");
			return bench_exit();
		}
	}
	size_t n = BENCH_RUNS * REQUESTS;
	double pp50 = bench_pct(plain, n, 50), pp99 = bench_pct(plain, n, 99);
	double p50 = bench_pct(pre, n, 50), p99 = bench_pct(pre, n, 99);
	char m[64], b[64];
	snprintf(m, sizeof m, "%.2f/%.2f/%.2f ms", p50, p99, pre[n - 1]);
	snprintf(b, sizeof b, "plain %.2f/%.2f ms", pp50, pp99);
	bench_row("request, 4 hogs, mp1: p50/p99/max", m, b, -1, "p99 <= 5ms",
		  bench_verdict(p99 <= TARGET_MS));
	return bench_exit();
}
