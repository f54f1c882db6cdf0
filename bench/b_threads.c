/* SPDX-License-Identifier: MIT */
/*
 * b_threads.c - the cost of a lazy call (gosys_syscall(SYS_getppid)) on the
 * active thread while 1, 100, 1,000 and 10,000 threads exist. The others are
 * registered with the scheduler and then parked in an eager call on a futex,
 * so they exist but do not compete. Each round grows the pool level by level,
 * measuring at each, then lets every idle thread exit; BENCH_RUNS rounds.
 * Target: flat (<= 1.10x the 1-thread figure). The ratio is taken against
 * a RawSyscall loop run beside it at each level, so that the machine's
 * drift over the seconds between levels cancels out.
 */
#include "bench.h"
#include <errno.h>
#include <gosys.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NLEVELS 4
#define STACK (64 * 1024)
#define FLAT 1.10

static const int levels[NLEVELS] = { 1, 100, 1000, 10000 };
static uint32_t release;	/* futex: the idle threads may exit */
static uint32_t parked;		/* idle threads parked so far */
static pthread_t *pool;
static int npool;

static void *idle_main(void *arg)
{
	(void)arg;
	gosys_entersyscall(); /* registered and admitted */
	gosys_exitsyscall();
	gosys_entersyscallblock();
	__atomic_add_fetch(&parked, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&release, __ATOMIC_ACQUIRE))
		bench_futex_wait(&release, 0);
	return NULL; /* exits BLOCKED: leaves no trace */
}

/* Grows the pool to n threads (the active one included); 0 or an error text. */
static const char *grow(int n, pthread_attr_t *attr)
{
	static char err[96];
	while (npool < n - 1) {
		int e = pthread_create(&pool[npool], attr, idle_main, NULL);
		if (e) {
			snprintf(err, sizeof err, "thread %d: %s", npool + 2, strerror(e));
			return err;
		}
		npool++;
	}
	while ((int)__atomic_load_n(&parked, __ATOMIC_ACQUIRE) < npool)
		gosys_gosched(); /* a new thread may be waiting for our P */
	return NULL;
}

static void shrink(void)
{
	__atomic_store_n(&release, 1, __ATOMIC_RELEASE);
	bench_futex_wake(&release, INT_MAX);
	for (int i = 0; i < npool; i++)
		pthread_join(pool[i], NULL);
	npool = 0;
	__atomic_store_n(&parked, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&release, 0, __ATOMIC_RELEASE);
}

BENCH_LOOP(loop_call, BENCH_USE(gosys_syscall(SYS_getppid, 0, 0, 0).r1))
BENCH_LOOP(loop_raw, BENCH_USE(gosys_rawsyscall(SYS_getppid, 0, 0, 0).r1))

/* Why 10,000 threads cannot be had here, or NULL. */
static const char *limits_say_no(int want)
{
	static char why[96];
	struct rlimit rl;
	if (getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)want + 64 && getuid() != 0) {
		snprintf(why, sizeof why, "RLIMIT_NPROC %llu", (unsigned long long)rl.rlim_cur);
		return why;
	}
	FILE *f = fopen("/proc/sys/kernel/threads-max", "r");
	long tmax = 0;
	if (f) {
		if (fscanf(f, "%ld", &tmax) != 1)
			tmax = 0;
		fclose(f);
	}
	if (tmax && tmax < want + 256) {
		snprintf(why, sizeof why, "threads-max %ld", tmax);
		return why;
	}
	return NULL;
}

int main(void)
{
	bench_figure("call cost vs threads");
	bench_alarm(130);
	gosys_entersyscall();
	gosys_exitsyscall();
	pool = calloc(levels[NLEVELS - 1], sizeof *pool);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, STACK);

	/* size the loops to about 50 ms each with one thread */
	long n = 1000;
	int64_t t;
	while ((t = loop_call(n)) < 5000000)
		n *= 4;
	n = (long)((double)n * 5e7 / (double)t);

	/*
	 * At each level, ALT times: a RawSyscall loop, then the lazy loop. The
	 * raw loop is the drift reference: the machine's syscall cost moves
	 * over seconds, the scheduler's share of a call must not move with the
	 * thread count. The ratio is the median of all the lazy/raw pairs.
	 */
	enum { ALT = 4, NS = ALT * BENCH_RUNS };
	double call[NLEVELS][NS], norm[NLEVELS][NS], raw[NLEVELS][NS];
	int top = NLEVELS;
	const char *why = limits_say_no(levels[NLEVELS - 1]);
	if (why)
		top = NLEVELS - 1;
	for (int r = 0; r < BENCH_RUNS; r++) {
		for (int l = 0; l < top; l++) {
			const char *e = grow(levels[l], &attr);
			if (e) {
				why = e;
				top = l;
				break;
			}
			for (int a = 0; a < ALT; a++) {
				int64_t tr = loop_raw(n), tc = loop_call(n);
				call[l][r * ALT + a] = (double)tc / (double)n;
				raw[l][r * ALT + a] = (double)tr / (double)n;
				norm[l][r * ALT + a] = (double)tc / (double)tr;
			}
		}
		shrink();
	}
	double one = bench_median(call[0], NS), one_raw = bench_median(raw[0], NS);
	double one_norm = bench_median(norm[0], NS);
	char m[64], b[64];
	snprintf(m, sizeof m, "%.1f ns (raw %.1f)", one, one_raw);
	bench_row("lazy gosys_syscall, 1 thread", m, "-", -1, "-", "-");
	snprintf(b, sizeof b, "1 thread %.1f (raw %.1f)", one, one_raw);
	for (int l = 1; l < NLEVELS; l++) {
		char fig[64];
		snprintf(fig, sizeof fig, "lazy gosys_syscall, %d threads", levels[l]);
		if (l >= top) {
			bench_row(fig, "not run", why ? why : "-", -1, "flat", "SKIP");
			continue;
		}
		double ratio = bench_median(norm[l], NS) / one_norm;
		snprintf(m, sizeof m, "%.1f ns (raw %.1f)", bench_median(call[l], NS),
			 bench_median(raw[l], NS));
		bench_row(fig, m, b, ratio, "<= 1.10x", bench_verdict(ratio <= FLAT));
	}
	return bench_exit();
}
