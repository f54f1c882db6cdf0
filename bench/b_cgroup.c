/* SPDX-License-Identifier: MIT */
/*
 * b_cgroup.c - the cgroup demo. Makes a cgroup v1 cpu group limited to one
 * CPU (cfs_quota_us = cfs_period_us = 100000) under this process's own cpu
 * group, runs the unmodified b_cgdemo in it plain and under
 * LD_PRELOAD=$GOSYS_LIB (maxprocs then comes from the quota: 1), and reports
 * request latency and the group's throttling (cpu.stat deltas). Removes the
 * group afterwards. Skips, with a message, where the controller is not
 * writable. Target: p99 under libgosys at least 3x lower than plain, and
 * throttled in at most 5% of the periods. The p99 comparison is skipped
 * when the plain run was throttled in under a quarter of its periods: then
 * other jobs kept the CPUs busy and the demo's premise does not hold.
 */
#include "bench.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CPU_ROOT "/sys/fs/cgroup/cpu"
#define DEMO_SECS "5"
#define CHILD_LIMIT 30

static char group[4096];

struct cpustat {
	long long periods, throttled, throttled_ns;
};

/* The cpu controller's path of this process, from /proc/self/cgroup (v1). */
static int own_cpu_path(char *buf, size_t size)
{
	FILE *f = fopen("/proc/self/cgroup", "r");
	char line[4096];
	int found = 0;
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof line, f)) {
		char *ctrl = strchr(line, ':'), *path = ctrl ? strchr(ctrl + 1, ':') : NULL;
		if (!path)
			continue;
		*path++ = 0;
		path[strcspn(path, "\n")] = 0;
		for (char *c = strtok(ctrl + 1, ","); c; c = strtok(NULL, ","))
			if (!strcmp(c, "cpu")) {
				snprintf(buf, size, "%s", strcmp(path, "/") ? path : "");
				found = 1;
			}
	}
	fclose(f);
	return found;
}

static int write_file(const char *name, const char *val)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/%s", group, name);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int ok = fputs(val, f) >= 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static int read_stat(struct cpustat *st)
{
	char path[4200], key[64];
	long long v;
	snprintf(path, sizeof path, "%s/cpu.stat", group);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	memset(st, 0, sizeof *st);
	while (fscanf(f, "%63s %lld", key, &v) == 2) {
		if (!strcmp(key, "nr_periods"))
			st->periods = v;
		else if (!strcmp(key, "nr_throttled"))
			st->throttled = v;
		else if (!strcmp(key, "throttled_time"))
			st->throttled_ns = v;
	}
	fclose(f);
	return 0;
}

static void cleanup(void)
{
	if (group[0])
		rmdir(group);
}

static void on_term(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

struct result {
	double p50, p99;
	struct cpustat d;
};

static int demo(const char *preload, struct result *res)
{
	char prog[4096], out[4096], procs[4200];
	const char *dir = getenv("GOSYS_BENCHDIR");
	snprintf(prog, sizeof prog, "%s/b_cgdemo", dir);
	snprintf(procs, sizeof procs, "%s/cgroup.procs", group);
	char *argv[] = { prog, DEMO_SECS, NULL };
	struct cpustat a, b;
	if (read_stat(&a))
		return -1;
	int rc = bench_run_child(argv, preload, NULL, procs, CHILD_LIMIT, out, sizeof out);
	if (rc)
		return rc;
	if (read_stat(&b) || sscanf(out, "n %*d p50 %lf p99 %lf", &res->p50, &res->p99) != 2)
		return -1;
	res->d.periods = b.periods - a.periods;
	res->d.throttled = b.throttled - a.throttled;
	res->d.throttled_ns = b.throttled_ns - a.throttled_ns;
	return 0;
}

static void throttle_text(char *buf, size_t size, const char *who, const struct cpustat *d)
{
	snprintf(buf, size, "%s %lld/%lld, %.0f ms", who, d->throttled, d->periods,
		 (double)d->throttled_ns / 1e6);
}

int main(void)
{
	const char *lib = getenv("GOSYS_LIB");
	char own[2048], why[256];
	bench_figure("cgroup demo");
	if (!lib || !getenv("GOSYS_BENCHDIR")) {
		fprintf(stderr, "usage: GOSYS_LIB=... GOSYS_BENCHDIR=... b_cgroup\n");
		return 2;
	}
	if (!own_cpu_path(own, sizeof own)) {
		bench_row("cgroup demo", "no cgroup v1 cpu controller", "-", -1, "-", "SKIP");
		return 0;
	}
	snprintf(group, sizeof group, CPU_ROOT "%s/gosys-bench-%d", own, (int)getpid());
	if (mkdir(group, 0755) != 0) {
		snprintf(why, sizeof why, "%s not writable (%s)", CPU_ROOT, strerror(errno));
		group[0] = 0;
		bench_row("cgroup demo", "skipped", why, -1, "-", "SKIP");
		return 0;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	atexit(cleanup);
	bench_alarm(2 * CHILD_LIMIT + 15);
	if (write_file("cpu.cfs_period_us", "100000") || write_file("cpu.cfs_quota_us", "100000")) {
		snprintf(why, sizeof why, "cannot set the quota: %s", strerror(errno));
		bench_row("cgroup demo", "skipped", why, -1, "-", "SKIP");
		return 0;
	}
	struct result plain, gs;
	int rc = demo(NULL, &plain);
	if (rc == 0)
		rc = demo(lib, &gs);
	if (rc) {
		bench_row("cgroup demo", rc == -2 ? "timeout" : "child failed", "-", -1, "-",
			  rc == -2 ? "TIMEOUT" : "MISS");
		return bench_exit();
	}
	/*
	 * The demo needs the plain run to be throttled: 5 busy threads on a
	 * machine whose other CPU is free. When other jobs keep the CPUs busy
	 * the group never exceeds its quota, and there is nothing to compare.
	 */
	int idle_machine = plain.d.throttled * 4 >= plain.d.periods;
	char m[64], b[64];
	snprintf(m, sizeof m, "%.2f/%.2f ms", plain.p50, plain.p99);
	bench_row("cgroup 1 CPU, plain: req p50/p99", m,
		  idle_machine ? "-" : "machine busy: not throttled", -1, "-", "-");
	snprintf(m, sizeof m, "%.2f/%.2f ms", gs.p50, gs.p99);
	snprintf(b, sizeof b, "plain p99 %.2f ms", plain.p99);
	double ratio = plain.p99 > 0 ? gs.p99 / plain.p99 : -1;
	bench_row("cgroup 1 CPU, libgosys: req p50/p99", m, b, ratio, "<= 0.33x",
		  idle_machine ? bench_verdict(ratio >= 0 && ratio * 3 <= 1) : "SKIP");
	throttle_text(m, sizeof m, "gosys", &gs.d);
	throttle_text(b, sizeof b, "plain", &plain.d);
	bench_row("cgroup 1 CPU, throttled periods", m, b, -1, "<= 5% periods",
		  bench_verdict(gs.d.throttled * 20 <= gs.d.periods));
	return bench_exit();
}
