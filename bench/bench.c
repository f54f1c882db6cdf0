/* SPDX-License-Identifier: MIT */
/*
 * bench.c - helpers shared by the bench programs (see bench.h). The calls
 * that must never be scheduled or wrapped by the library (futex, sleep,
 * /proc reads, the timeout message) are raw system calls.
 */
#include "bench.h"
#include "arch.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROW_FMT "%-40s %-24s %-26s %-7s %-12s %s\n"

static int missed;			/* a MISS or TIMEOUT row was printed */
static char timeout_row[256];		/* written by bench_figure, read by the handler */
static volatile int timeout_len;

int64_t bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double bench_pct(double *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof *v, cmp_double);
	/* nearest rank: the smallest value with at least p% of the values at or below it */
	size_t k = (size_t)((p / 100.0) * (double)n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1];
}

double bench_median(double *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void bench_interleave(const bench_loop_fn *fns, int nfns, int64_t run_ns, double *med)
{
	long n[nfns];
	double per[nfns][BENCH_RUNS];
	for (int i = 0; i < nfns; i++) {
		/* warm up, then size from a run of about a tenth of the target */
		long k = 1000;
		int64_t t;
		while ((t = fns[i](k)) < run_ns / 10 && k < (1L << 40))
			k *= 4;
		n[i] = (long)((double)k * (double)run_ns / (double)(t > 0 ? t : 1));
		if (n[i] < 1)
			n[i] = 1;
	}
	for (int r = 0; r < BENCH_RUNS; r++)
		for (int i = 0; i < nfns; i++)
			per[i][r] = (double)fns[i](n[i]) / (double)n[i];
	for (int i = 0; i < nfns; i++)
		med[i] = bench_median(per[i], BENCH_RUNS);
}

void bench_row(const char *figure, const char *measured, const char *baseline, double ratio,
	       const char *target, const char *result)
{
	char r[32] = "-";
	if (ratio >= 0)
		snprintf(r, sizeof r, "%.2fx", ratio);
	if (!strcmp(result, "MISS") || !strcmp(result, "TIMEOUT"))
		missed = 1;
	printf(ROW_FMT, figure, measured, baseline, r, target, result);
	fflush(stdout);
}

void bench_ratio_row(const char *figure, double v, const char *unit, const char *base_name,
		     double base, double target)
{
	char m[64], b[64], t[32] = "-";
	double ratio = base > 0 ? v / base : -1;
	snprintf(m, sizeof m, "%.*f %s", v < 100 ? 2 : 1, v, unit);
	snprintf(b, sizeof b, "%s %.*f %s", base_name, base < 100 ? 2 : 1, base, unit);
	if (target >= 0)
		snprintf(t, sizeof t, "<= %.2fx", target);
	bench_row(figure, m, b, ratio, t,
		  target < 0 ? "-" : bench_verdict(ratio >= 0 && ratio <= target));
}

const char *bench_verdict(int ok)
{
	return ok ? "ok" : "MISS";
}

int bench_exit(void)
{
	return missed;
}

void bench_figure(const char *name)
{
	/* Formatted here, not in the handler: snprintf is not async-signal-safe. */
	timeout_len = 0;
	int n = snprintf(timeout_row, sizeof timeout_row, ROW_FMT, name, "timeout", "-", "-", "-",
			 "TIMEOUT");
	timeout_len = n < (int)sizeof timeout_row ? n : (int)sizeof timeout_row - 1;
}

static void on_alarm(int sig)
{
	(void)sig;
	__gosys_syscall3(SYS_write, 1, (long)timeout_row, timeout_len);
	__gosys_syscall1(SYS_exit_group, 2);
}

void bench_alarm(unsigned secs)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	alarm(secs);
}

int bench_gettid(void)
{
	return (int)__gosys_syscall0(SYS_gettid);
}

char bench_task_state(int tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
	long fd = __gosys_syscall3(SYS_open, (long)path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return '?';
	long n = __gosys_syscall3(SYS_read, fd, (long)buf, sizeof buf - 1);
	__gosys_syscall1(SYS_close, fd);
	if (n <= 0)
		return '?';
	buf[n] = 0;
	/* "tid (comm) S ...": the state follows the last ')' */
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

int bench_wait_asleep(int tid)
{
	int64_t end = bench_now() + 1000000000;
	while (bench_now() < end) {
		char s = bench_task_state(tid);
		if (s == 'S' || s == 'D')
			return 1;
	}
	return 0;
}

void bench_futex_wait(uint32_t *word, uint32_t val)
{
	__gosys_syscall4(SYS_futex, (long)word, FUTEX_WAIT_PRIVATE, val, 0);
}

void bench_futex_wake(uint32_t *word, int n)
{
	__gosys_syscall3(SYS_futex, (long)word, FUTEX_WAKE_PRIVATE, n);
}

void bench_rawsleep_ns(int64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };
	while (__gosys_syscall2(SYS_nanosleep, (long)&ts, (long)&ts) == -EINTR)
		;
}

static void child_exec(char *const argv[], const char *preload, const char *const *extra_env,
		       const char *cgroup_procs, unsigned limit)
{
	if (cgroup_procs) {
		FILE *f = fopen(cgroup_procs, "w");
		if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0) {
			fprintf(stdout, "cannot join %s: %s\n", cgroup_procs, strerror(errno));
			_exit(126);
		}
	}
	if (preload)
		setenv("LD_PRELOAD", preload, 1);
	else
		unsetenv("LD_PRELOAD");
	for (const char *const *e = extra_env; e && *e; e++)
		putenv((char *)*e);
	alarm(limit);
	execv(argv[0], argv);
	fprintf(stdout, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int bench_run_child(char *const argv[], const char *preload, const char *const *extra_env,
		    const char *cgroup_procs, unsigned limit, char *out, size_t outsz)
{
	int fds[2];
	out[0] = 0;
	fflush(stdout);
	if (pipe(fds) != 0) {
		snprintf(out, outsz, "pipe: %s", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(out, outsz, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], 1);
		close(fds[1]);
		signal(SIGALRM, SIG_DFL);
		child_exec(argv, preload, extra_env, cgroup_procs, limit);
	}
	close(fds[1]);
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fds[0], out + len, outsz - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == outsz - 1)
			break;
	}
	out[len] = 0;
	close(fds[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
		return -2;
	return -1;
}
