/* SPDX-License-Identifier: MIT */
/*
 * b_preload.c - runs the plain programs with and without
 * LD_PRELOAD=$GOSYS_LIB, interleaved, and prints their rows:
 *   b_preload loops: read(/dev/zero, 1) and getpid() loops (b_loop),
 *                    preloaded / plain; targets 1.03 and 1.00; beside the
 *                    read loop its floor, plain read + one locked CAS.
 *                    And user-space instructions per call of both loops,
 *                    plain and preloaded, counted by callgrind, with the
 *                    preloaded call's parts (cgparts.c): at most 30 extra,
 *                    or every part named with what it buys.
 *   b_preload stats: the same loops with GOSYS_DEBUG=stats on (the table
 *                    to /dev/null) against plain, interleaved with plain and
 *                    preloaded without stats: target 1.25. Then strace -c and
 *                    perf trace -s on the same loops, against plain, where
 *                    the tools are there and may trace (no target).
 *   b_preload pool:  the 64-thread pipe ping-pong (b_pool), plain and
 *                    preloaded at the default maxprocs (target 0.90 of
 *                    plain), and with GOSYS_MAXPROCS=1 and 2 (reported):
 *                    round trips/s and context switches.
 * GOSYS_BENCHDIR names the directory of the bench programs.
 */
#include "bench.h"
#include "cgparts.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHILD_LIMIT 30 /* seconds, each child run */

static const char *lib, *dir;

/* Runs one child; on success parses "KEY value" pairs from its output into vals. */
static int run(const char *prog, char *const args[], const char *preload, const char *const *env,
	       const char *const keys[], double vals[], int nkeys)
{
	char path[4096], out[4096];
	char *argv[8];
	snprintf(path, sizeof path, "%s/%s", dir, prog);
	argv[0] = path;
	int a = 1;
	for (; args[a - 1] && a < 7; a++)
		argv[a] = args[a - 1];
	argv[a] = NULL;
	int rc = bench_run_child(argv, preload, env, NULL, CHILD_LIMIT, out, sizeof out);
	if (rc != 0)
		return rc;
	for (int k = 0; k < nkeys; k++) {
		char *p = strstr(out, keys[k]);
		if (!p || sscanf(p + strlen(keys[k]), " %lf", &vals[k]) != 1)
			return -1;
	}
	return 0;
}

static void fail_row(const char *figure, int rc)
{
	bench_row(figure, rc == -2 ? "timeout" : "child failed", "-", -1, "-",
		  rc == -2 ? "TIMEOUT" : "MISS");
}

/*
 * b_loop MODE sized to about 0.3 s from a short plain run, then run in n
 * configurations interleaved, rotating which goes first: configuration 0
 * plain, the others preloaded with envs[c]. v[c][r]: ns per call. 0, or -1
 * after a failed child (its row printed).
 */
static int loop_runs_modes(const char *figure, const char *const modes[], int n,
			   const char *const *const envs[], double v[][BENCH_RUNS]);

static int loop_runs(const char *figure, const char *mode, int n, const char *const *const envs[],
		     double v[][BENCH_RUNS])
{
	const char *modes[4] = { mode, mode, mode, mode };
	return loop_runs_modes(figure, modes, n, envs, v);
}

/* The same, configuration c running b_loop modes[c]; a configuration past
 * the first with NULL envs[c] and a mode other than modes[0] runs plain. */
static int loop_runs_modes(const char *figure, const char *const modes[], int n,
			   const char *const *const envs[], double v[][BENCH_RUNS])
{
	const char *mode = modes[0];
	static const char *const keys[] = { "ns" };
	char nbuf[32];
	char *args[] = { (char *)mode, nbuf, NULL };
	double ns;
	bench_figure(figure);
	snprintf(nbuf, sizeof nbuf, "%d", 200000);
	int rc = run("b_loop", args, NULL, NULL, keys, &ns, 1);
	if (rc) {
		fail_row(figure, rc);
		return -1;
	}
	snprintf(nbuf, sizeof nbuf, "%ld", (long)(3e8 / (ns > 1 ? ns : 1)));
	for (int r = 0; r < BENCH_RUNS; r++) {
		for (int k = 0; k < n; k++) {
			int c = (r + k) % n;
			int plain = c == 0 || (!envs[c] && strcmp(modes[c], modes[0]));
			args[0] = (char *)modes[c];
			rc = run("b_loop", args, plain ? NULL : lib, envs[c], keys, &v[c][r], 1);
			if (rc) {
				fail_row(figure, rc);
				return -1;
			}
		}
	}
	return 0;
}

/* plain and preloaded; with a floor mode, also that mode run plain beside
 * them (reported: what the target must leave room for). */
static void loop_figure(const char *figure, const char *mode, double target, const char *floor,
			const char *floor_name)
{
	const char *const *const envs[3] = { NULL, NULL, NULL };
	const char *modes[3] = { mode, mode, floor };
	double v[3][BENCH_RUNS];
	if (loop_runs_modes(figure, modes, floor ? 3 : 2, envs, v))
		return;
	double plain = bench_median(v[0], BENCH_RUNS);
	bench_ratio_row(figure, bench_median(v[1], BENCH_RUNS), "ns", "plain", plain, target);
	if (floor)
		bench_ratio_row(floor_name, bench_median(v[2], BENCH_RUNS), "ns", "plain", plain, -1);
}

/*
 * plain, preloaded, and preloaded with stats on: stats / plain against
 * target, and stats / preloaded reported.
 */
static void stats_figure(const char *figure, const char *mode, double target)
{
	static const char *const env_stats[] = { "GOSYS_DEBUG=stats=/dev/null", NULL };
	const char *const *const envs[3] = { NULL, NULL, env_stats };
	double v[3][BENCH_RUNS];
	char name[128];
	if (loop_runs(figure, mode, 3, envs, v))
		return;
	double plain = bench_median(v[0], BENCH_RUNS);
	double pre = bench_median(v[1], BENCH_RUNS);
	double st = bench_median(v[2], BENCH_RUNS);
	bench_ratio_row(figure, st, "ns", "plain", plain, target);
	snprintf(name, sizeof name, "%s, over preloaded", figure);
	bench_ratio_row(name, st, "ns", "preload", pre, -1);
}

/*
 * A tracer on the same loop (b_loop's own per-call figure, so start-up and
 * the tool's summary do not count), against plain in the same run; the loop
 * is cut to a thousandth of the plain length. Reported only; skipped where
 * the tool is missing or cannot trace here.
 */
static void tool_figure(const char *figure, const char *mode, const char *tool,
			const char *const targv[])
{
	static const char *const keys[] = { "ns" };
	char path[4096], nbuf[32];
	char *args[] = { (char *)mode, nbuf, NULL };
	double ns, v[2][BENCH_RUNS];
	bench_figure(figure);
	if (access(tool, X_OK) != 0) {
		bench_row(figure, "not installed", "-", -1, "-", "skipped");
		return;
	}
	snprintf(nbuf, sizeof nbuf, "%d", 200000);
	int rc = run("b_loop", args, NULL, NULL, keys, &ns, 1);
	if (rc) {
		fail_row(figure, rc);
		return;
	}
	snprintf(nbuf, sizeof nbuf, "%ld", (long)(3e5 / (ns > 1 ? ns : 1)) + 100);
	snprintf(path, sizeof path, "%s/b_loop", dir);
	for (int r = 0; r < BENCH_RUNS; r++) {
		for (int k = 0; k < 2; k++) {
			int c = (r + k) % 2;
			char *argv[16], out[4096];
			int a = 0;
			if (c)
				for (; targv[a] && a < 10; a++)
					argv[a] = (char *)targv[a];
			argv[a++] = path;
			argv[a++] = (char *)mode;
			argv[a++] = nbuf;
			argv[a] = NULL;
			rc = bench_run_child(argv, NULL, NULL, NULL, CHILD_LIMIT, out, sizeof out);
			char *p = strstr(out, "ns ");
			if (rc || !p || sscanf(p + 3, "%lf", &v[c][r]) != 1) {
				/* a tool that cannot trace here (no ptrace, no tracefs) */
				bench_row(figure, c ? "tool failed" : "child failed", "-", -1, "-",
					  c ? "skipped" : "MISS");
				return;
			}
		}
	}
	bench_ratio_row(figure, bench_median(v[1], BENCH_RUNS), "ns", "plain",
			bench_median(v[0], BENCH_RUNS), -1);
}

/*
 * Instructions per call in user space, plain and preloaded, counted by
 * callgrind: the same for the same binary and inputs whatever the machine is
 * doing, where the nanosecond ratios above move by 10% between runs on a
 * VM. Two loop lengths, so start-up cancels out. The kernel's share of a
 * call is not counted: this is only what the wrappers add. Then the
 * preloaded call's parts, line by line charged to the header function or
 * wrapper step they belong to (cgparts.c), each with what it buys (issue 11:
 * 30 extra instructions, or every one accounted for); a part nobody named,
 * or parts that do not add up to the whole, is a MISS.
 * Skipped where valgrind is missing.
 */
static void insn_figure(const char *figure, const char *mode)
{
	static const char *const vg_paths[] = { "/usr/bin/valgrind", "/usr/local/bin/valgrind" };
	const char *vg = NULL;
	for (size_t i = 0; i < sizeof vg_paths / sizeof vg_paths[0] && !vg; i++)
		if (access(vg_paths[i], X_OK) == 0)
			vg = vg_paths[i];
	bench_figure(figure);
	if (!vg) {
		bench_row(figure, "valgrind not installed", "-", -1, "-", "skipped");
		return;
	}
	static const long n[2] = { 10000, 50000 };
	struct cg_run *runs[2] = { NULL, NULL };
	double per[2];
	char path[4096], nbuf[32], out[8192], cgfile[512], cgopt[600];
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(path, sizeof path, "%s/b_loop", dir);
	for (int c = 0; c < 2; c++) {
		double cnt[2];
		for (int k = 0; k < 2; k++) {
			snprintf(nbuf, sizeof nbuf, "%ld", n[k]);
			snprintf(cgfile, sizeof cgfile, "%s/b_preload.%d.%s.cg", tmp, (int)getpid(),
				 mode);
			snprintf(cgopt, sizeof cgopt, "--callgrind-out-file=%s", cgfile);
			char *argv[] = { (char *)vg, "--tool=callgrind", cgopt, "--compress-strings=no",
					 "--compress-pos=no", "--log-fd=1", path, (char *)mode, nbuf,
					 NULL };
			int rc = bench_run_child(argv, c ? lib : NULL, NULL, NULL, CHILD_LIMIT, out,
						 sizeof out);
			struct cg_run *r = rc ? NULL : cg_load(cgfile);
			unlink(cgfile);
			if (!r) {
				cg_free(runs[0]);
				fail_row(figure, rc ? rc : -1);
				return;
			}
			cnt[k] = cg_total(r);
			if (c) /* the preloaded runs: kept for the parts */
				runs[k] = r;
			else
				cg_free(r);
		}
		per[c] = (cnt[1] - cnt[0]) / (double)(n[1] - n[0]);
	}
	struct cg_part part[40];
	double sum;
	int np = cg_parts(runs[0], n[0], runs[1], n[1], part, 40, &sum);
	cg_free(runs[0]);
	cg_free(runs[1]);
	int bad = 0;
	for (int i = 0; i < np; i++)
		bad |= part[i].buys == NULL;
	/* The parts must add up to the whole (a parser that lost lines would
	 * account for less than was counted). */
	if (sum < per[1] - 1 || sum > per[1] + 1)
		bad = 1;
	char m[64], b[96], pf[160];
	snprintf(m, sizeof m, "%.1f insn/call (%.1f extra)", per[1], per[1] - per[0]);
	snprintf(b, sizeof b, "plain %.1f insn/call; parts add to %.1f", per[0], sum);
	bench_row(figure, m, b, per[1] / per[0], "<= 30 extra, or every part named",
		  bench_verdict(per[1] - per[0] <= 30 || !bad));
	for (int i = 0; i < np; i++) {
		snprintf(pf, sizeof pf, "  %.95s", part[i].name);
		snprintf(m, sizeof m, "%.1f insn/call", part[i].insns);
		bench_row(pf, m, part[i].buys ? part[i].buys : "not accounted for", -1, "named",
			  bench_verdict(part[i].buys != NULL));
	}
}

static void pool_figure(void)
{
	static const char *const keys[] = { "rt", "secs", "csw" };
	static const char *const env1[] = { "GOSYS_MAXPROCS=1", NULL };
	static const char *const env2[] = { "GOSYS_MAXPROCS=2", NULL };
	static const char *const names[] = { "thread pool 64 thr, plain",
					     "thread pool, preload default",
					     "thread pool, preload maxprocs=1",
					     "thread pool, preload maxprocs=2" };
	const char *const *envs[] = { NULL, NULL, env1, env2 };
	char *args[] = { "0.5", NULL };
	double tput[4][BENCH_RUNS], csw[4][BENCH_RUNS];
	bench_figure("thread pool");
	for (int r = 0; r < BENCH_RUNS; r++) {
		for (int k = 0; k < 4; k++) {
			int c = (r + k) % 4;
			double v[3];
			int rc = run("b_pool", args, c ? lib : NULL, envs[c], keys, v, 3);
			if (rc) {
				fail_row(names[c], rc);
				return;
			}
			tput[c][r] = v[0] / v[1];
			csw[c][r] = v[0] > 0 ? v[2] / v[0] : 0;
		}
	}
	double base = bench_median(tput[0], BENCH_RUNS);
	for (int c = 0; c < 4; c++) {
		char m[64], b[64];
		double t = bench_median(tput[c], BENCH_RUNS);
		snprintf(m, sizeof m, "%.0f rt/s, %.2f csw/rt", t, bench_median(csw[c], BENCH_RUNS));
		snprintf(b, sizeof b, "plain %.0f rt/s", base);
		/* The default (no quota here: no bound but the kernel's) has the
		 * target; the explicit bounds are reported (the essay, "Where CPUs
		 * are not scarce"). */
		if (c == 1)
			bench_row(names[c], m, b, t / base, ">= 0.90x", bench_verdict(t >= 0.9 * base));
		else
			bench_row(names[c], m, c ? b : "-", c ? t / base : -1, "-", "-");
	}
}

int main(int argc, char **argv)
{
	lib = getenv("GOSYS_LIB");
	dir = getenv("GOSYS_BENCHDIR");
	if (argc != 2 || !lib || !dir) {
		fprintf(stderr, "usage: GOSYS_LIB=... GOSYS_BENCHDIR=... b_preload loops|stats|pool\n");
		return 2;
	}
	int loops = !strcmp(argv[1], "loops");
	int stats = !strcmp(argv[1], "stats");
	bench_alarm(loops || stats ? 150 : 85); /* as bench/run.sh bounds each */
	if (stats) {
		static const char *const strace_c[] = { "/usr/bin/strace", "-f", "-c", "-o",
							"/dev/null", NULL };
		static const char *const perf_s[] = { "/usr/bin/perf", "trace", "-s", "-o",
						      "/dev/null", "--", NULL };
		stats_figure("stats=1 read(/dev/zero,1) loop", "read", 1.25);
		stats_figure("stats=1 getpid() loop", "getpid", 1.25);
		tool_figure("strace -c read(/dev/zero,1) loop", "read", strace_c[0], strace_c);
		tool_figure("perf trace -s read(/dev/zero,1) loop", "read", perf_s[0], perf_s);
	} else if (loops) {
		loop_figure("preload read(/dev/zero,1) loop", "read", 1.03, "readcas",
			    "  floor: plain read + one locked CAS");
		loop_figure("preload getpid() loop", "getpid", 1.00, NULL, NULL);
		insn_figure("read loop, user insns (callgrind)", "read");
		insn_figure("getpid loop, user insns (callgrind)", "getpid");
	} else {
		pool_figure();
	}
	return bench_exit();
}
