/* SPDX-License-Identifier: MIT */
/*
 * b_pool.c - a plain thread-pool workload: 64 threads in 32 pairs, each pair
 * playing ping-pong over two pipes with a short CPU burst at every turn, for
 * SECS seconds. Prints "rt ROUND_TRIPS secs ELAPSED csw CONTEXT_SWITCHES"
 * (voluntary + involuntary, getrusage RUSAGE_SELF). Run plain and under
 * LD_PRELOAD by b_preload.
 */
#include "bench.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define PAIRS 32
#define BURST 4000 /* iterations of the burst loop, a few microseconds */

struct pair {
	int ab[2], ba[2];	/* pipes: a -> b, b -> a */
	long trips;		/* written by a, read after join */
};

static struct pair pairs[PAIRS];
static volatile int stop;

static void burst(void)
{
	unsigned x = 1;
	for (int i = 0; i < BURST; i++)
		x = x * 1103515245u + 12345u;
	BENCH_USE(x);
}

static void *side_a(void *arg)
{
	struct pair *p = arg;
	char c = 'p';
	while (!stop) {
		burst();
		if (write(p->ab[1], &c, 1) != 1 || read(p->ba[0], &c, 1) != 1)
			break;
		p->trips++;
	}
	c = 'q';
	if (write(p->ab[1], &c, 1) != 1)
		perror("write");
	return NULL;
}

static void *side_b(void *arg)
{
	struct pair *p = arg;
	char c;
	while (read(p->ab[0], &c, 1) == 1 && c != 'q') {
		burst();
		if (write(p->ba[1], &c, 1) != 1)
			break;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 0.5;
	pthread_t th[2 * PAIRS];
	struct rusage r0, r1;
	for (int i = 0; i < PAIRS; i++) {
		if (pipe(pairs[i].ab) || pipe(pairs[i].ba)) {
			perror("pipe");
			return 1;
		}
	}
	getrusage(RUSAGE_SELF, &r0);
	int64_t t0 = bench_now();
	for (int i = 0; i < PAIRS; i++) {
		if (pthread_create(&th[2 * i], NULL, side_a, &pairs[i]) ||
		    pthread_create(&th[2 * i + 1], NULL, side_b, &pairs[i])) {
			fprintf(stderr, "pthread_create failed\n");
			return 1;
		}
	}
	struct timespec ts = { (time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9) };
	nanosleep(&ts, NULL);
	stop = 1;
	int64_t t1 = bench_now();
	for (int i = 0; i < 2 * PAIRS; i++)
		pthread_join(th[i], NULL);
	getrusage(RUSAGE_SELF, &r1);
	long trips = 0;
	for (int i = 0; i < PAIRS; i++)
		trips += pairs[i].trips;
	long csw = (r1.ru_nvcsw - r0.ru_nvcsw) + (r1.ru_nivcsw - r0.ru_nivcsw);
	printf("rt %ld secs %.6f csw %ld\n", trips, (double)(t1 - t0) / 1e9, csw);
	return 0;
}
