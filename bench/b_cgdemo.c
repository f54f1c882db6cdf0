/* SPDX-License-Identifier: MIT */
/*
 * b_cgdemo.c - a plain program for the cgroup demo: 4 compute-bound threads
 * beside a thread serving 0.5 ms (CPU) requests at 50/s for SECS seconds.
 * A request's latency runs from its due time to the end of its work.
 * Prints "n N p50 MS p99 MS max MS". b_cgroup runs it in a 1-CPU cgroup.
 */
#include "bench.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define COMPUTE 4
#define PERIOD_NS 20000000 /* 50 requests/s */
#define WORK_NS 500000	   /* CPU time per request */

static volatile int stop;
static double *lat;
static int nreq;

static void *compute(void *arg)
{
	(void)arg;
	unsigned x = 1;
	while (!stop)
		for (int i = 0; i < 100000; i++)
			x = x * 1103515245u + 12345u;
	BENCH_USE(x);
	return NULL;
}

static int64_t cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *server(void *arg)
{
	(void)arg;
	struct timespec due;
	clock_gettime(CLOCK_MONOTONIC, &due);
	for (int i = 0; i < nreq; i++) {
		due.tv_nsec += PERIOD_NS;
		if (due.tv_nsec >= 1000000000) {
			due.tv_nsec -= 1000000000;
			due.tv_sec++;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) != 0)
			;
		int64_t c0 = cpu_now();
		unsigned x = 1;
		while (cpu_now() - c0 < WORK_NS)
			for (int k = 0; k < 2000; k++)
				x = x * 1103515245u + 12345u;
		BENCH_USE(x);
		int64_t d = (int64_t)due.tv_sec * 1000000000 + due.tv_nsec;
		lat[i] = (double)(bench_now() - d) / 1e6;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 5;
	nreq = (int)(secs * 1e9 / PERIOD_NS);
	lat = calloc((size_t)nreq, sizeof *lat);
	pthread_t c[COMPUTE], s;
	for (int i = 0; i < COMPUTE; i++)
		if (pthread_create(&c[i], NULL, compute, NULL))
			return 1;
	if (!lat || pthread_create(&s, NULL, server, NULL))
		return 1;
	pthread_join(s, NULL);
	stop = 1;
	for (int i = 0; i < COMPUTE; i++)
		pthread_join(c[i], NULL);
	double p50 = bench_pct(lat, (size_t)nreq, 50), p99 = bench_pct(lat, (size_t)nreq, 99);
	printf("n %d p50 %.3f p99 %.3f max %.3f\n", nreq, p50, p99, lat[nreq - 1]);
	return 0;
}
