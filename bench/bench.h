/* SPDX-License-Identifier: MIT */
/*
 * bench.h - what the bench programs share: a clock, medians and
 * percentiles, the table row format, a hard time bound (alarm) and running
 * a child program with or without LD_PRELOAD. Bench code only: never linked
 * into the library, and never used by a test.
 */
#ifndef GOSYS_BENCH_H
#define GOSYS_BENCH_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_RUNS 5

/* CLOCK_MONOTONIC in ns (the vDSO, no system call). */
int64_t bench_now(void);

/* Median / p-th percentile (0..100) of n values; sorts v in place. */
double bench_median(double *v, size_t n);
double bench_pct(double *v, size_t n, double p);

/* A timed loop: runs its body n times and returns the elapsed ns. */
typedef int64_t (*bench_loop_fn)(long n);
#define BENCH_LOOP(name, body)                                   \
	static int64_t name(long n)                              \
	{                                                        \
		int64_t t_ = bench_now();                        \
		for (long i_ = 0; i_ < n; i_++) {                \
			body;                                    \
		}                                                \
		return bench_now() - t_;                         \
	}
/* Keeps a result alive without a store to memory. */
#define BENCH_USE(x) __asm__ __volatile__("" : : "r"(x))
/*
 * Sizes each loop to about run_ns, then runs all of them BENCH_RUNS times,
 * interleaved (a, b, c, a, b, c, ...) so that drift hits them alike.
 * med[i] is the median ns per iteration of loop i.
 */
void bench_interleave(const bench_loop_fn *fns, int nfns, int64_t run_ns, double *med);

/*
 * One line of the table. ratio < 0 prints "-". result is "ok", "MISS",
 * "TIMEOUT", "SKIP" or "-" (reported, no target). A MISS or TIMEOUT makes
 * bench_exit() return 1.
 */
void bench_row(const char *figure, const char *measured, const char *baseline, double ratio,
	       const char *target, const char *result);
/*
 * A row for a figure measured against a baseline: "V unit", "base_name B
 * unit", V/B, and the verdict V/B <= target (target < 0: reported only).
 */
void bench_ratio_row(const char *figure, double v, const char *unit, const char *base_name,
		     double base, double target);
/* "ok" if ok, else "MISS". */
const char *bench_verdict(int ok);
/* Exit status for main: 1 if any row missed or timed out. */
int bench_exit(void);

/*
 * A hard bound: after secs seconds the process prints a TIMEOUT row for the
 * figure named by the last bench_figure() call (raw write, signal-safe) and
 * exits with status 2. Scheduler bugs may hang a bench; it must not hang.
 */
void bench_alarm(unsigned secs);
void bench_figure(const char *name);

/* The thread's kernel id and its state letter from /proc (R, S, D, ...), raw calls. */
int bench_gettid(void);
char bench_task_state(int tid);
/* Spin until the thread is asleep in the kernel (state S or D), at most ~1 s. */
int bench_wait_asleep(int tid);

/* Futex wait/wake on a private word, raw system calls (never a preload wrapper). */
void bench_futex_wait(uint32_t *word, uint32_t val);
void bench_futex_wake(uint32_t *word, int n);
/* A raw nanosleep, never seen by the library. */
void bench_rawsleep_ns(int64_t ns);

/*
 * Runs argv[0] (a path) with its arguments as a child process:
 * LD_PRELOAD=preload if preload is not NULL (removed from the environment
 * otherwise), plus extra "NAME=value" strings (NULL-ended, may be NULL). If
 * cgroup_procs is not NULL the child writes its pid there before exec. Its
 * stdout lands in out (NUL-terminated). It gets limit seconds (an alarm that
 * survives exec). Returns 0 if it exited 0, -2 on timeout, -1 otherwise.
 */
int bench_run_child(char *const argv[], const char *preload, const char *const *extra_env,
		    const char *cgroup_procs, unsigned limit, char *out, size_t outsz);

#endif
