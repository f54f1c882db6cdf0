/* SPDX-License-Identifier: MIT */
/*
 * runs.h - the driver shared by the signal reproducers (sigsusp.c,
 * siglock.c, unseen.c) and the signal storm: each case is run as many
 * fresh processes, one after another. A run is this same program, forked
 * and exec'd as "PROG --run CASE SEED", with LD_PRELOAD set to the library
 * named by --lib (the driver itself never loads it, so a wedged library
 * cannot wedge the judge). A run fails if it exits non-zero, dies by a
 * signal, or is still alive after the hang limit; then it is killed
 * (SIGKILL), its threads' states are printed to stderr first, and the case
 * stops unless --keep-going. Prints one TAP line per case, without a number
 * ("ok - CASE LABEL (N runs)"); the calling script counts the plan.
 *
 *   PROG [--lib PATH] [--runs N] [--limit SECONDS] [--budget SECONDS]
 *        [--label TEXT] [--keep-going] [--list] [CASE...]
 *
 * With no CASE, every case of the table runs. Timing is never judged here:
 * the limit only tells a hang from a slow run, so it is generous (a run
 * takes tens of milliseconds; the limit defaults to 20 s). The budget
 * (default: none) bounds what failing runs may cost the invocation: once
 * the runs that failed (hung ones take the whole limit) add up to more than
 * it, the cases not yet started are reported failed without running, so a
 * script stays inside its own time limit (tests/run-test.sh) whatever the
 * library does. Runs that pass never count against it.
 *
 * To replay one run by hand: LD_PRELOAD=LIB GOSYS_MAXPROCS=N PROG --run CASE SEED
 * (RUNS_SEED=S makes the driver's seeds start at S). RUNS_GDB=1 adds gdb's
 * backtraces of every thread to a hung run's dump.
 *
 * A test program defines the table and calls runs_main:
 *
 *   static const struct runs_case cases[] = {{"name", fn}, ...};
 *   int main(int argc, char **argv) { return runs_main(argc, argv, cases, N); }
 *
 * where fn(seed) runs in the child and returns its exit status; a third
 * member, describe(seed), may name the variant a seed picks.
 */
#ifndef GOSYS_TEST_RUNS_H
#define GOSYS_TEST_RUNS_H

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct runs_case {
	const char *name;
	int (*fn)(uint64_t seed);
	/* optional: what a run with this seed does, for failure lines */
	const char *(*describe)(uint64_t seed);
};

/* ---- helpers for the children -------------------------------------------- */

#define RUN_FAIL(...)                                   \
	do {                                            \
		fprintf(stderr, __VA_ARGS__);           \
		fputc('\n', stderr);                    \
		return 1;                               \
	} while (0)

static inline int64_t runs_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* GOSYS_MAXPROCS of the run, or def when unset (plain runs). */
static inline int runs_maxprocs(int def)
{
	const char *v = getenv("GOSYS_MAXPROCS");
	int n = v ? atoi(v) : 0;
	return n > 0 ? n : def;
}

/* A system call by an inline `syscall` instruction, as libgomp makes its
 * futex calls: the library never sees it. */
static inline long runs_inline_syscall4(long nr, long a1, long a2, long a3, long a4)
{
	long ret;
	register long r10 __asm__("r10") = a4;
	__asm__ __volatile__("syscall"
			     : "=a"(ret)
			     : "0"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10)
			     : "rcx", "r11", "memory");
	return ret;
}

static inline uint32_t runs_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ULL;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return (uint32_t)((x * 0x2545f4914f6cdd1dULL) >> 32);
}

/* ---- the driver ------------------------------------------------------------ */

/* What a hung run's threads were doing: state, system call, wait channel. */
static void runs_dump_threads(pid_t pid)
{
	char path[96], buf[512];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return;
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d)) && n < 64) {
		int tid = atoi(e->d_name);
		if (tid <= 0)
			continue;
		char state = '?', sc[64] = "?", wchan[64] = "?";
		snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, tid);
		FILE *f = fopen(path, "r");
		if (f) {
			size_t k = fread(buf, 1, sizeof buf - 1, f);
			buf[k] = 0;
			fclose(f);
			char *rp = strrchr(buf, ')');
			if (rp && rp[1])
				state = rp[2];
		}
		snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", (int)pid, tid);
		if ((f = fopen(path, "r"))) {
			if (fgets(buf, sizeof buf, f))
				sscanf(buf, "%63s", sc);
			fclose(f);
		}
		snprintf(path, sizeof path, "/proc/%d/task/%d/wchan", (int)pid, tid);
		if ((f = fopen(path, "r"))) {
			if (fgets(wchan, sizeof wchan, f) == NULL)
				strcpy(wchan, "?");
			fclose(f);
		}
		fprintf(stderr, "#   tid %d state %c syscall %s wchan %s\n", tid, state, sc,
			wchan);
		n++;
	}
	closedir(d);
	/* RUNS_GDB=1: the user-space stacks too (gdb, at most a minute). */
	const char *g = getenv("RUNS_GDB");
	if (!g || *g != '1')
		return;
	char pidbuf[16];
	snprintf(pidbuf, sizeof pidbuf, "%d", (int)pid);
	fflush(stderr);
	pid_t gp = fork();
	if (gp == 0) {
		dup2(2, 1);
		execlp("timeout", "timeout", "-k", "5", "60", "gdb", "-p", pidbuf, "-batch", "-nx", "-q",
		       "-ex", "set pagination off", "-ex", "thread apply all bt 20", (char *)NULL);
		_exit(127);
	}
	if (gp > 0)
		while (waitpid(gp, NULL, 0) < 0 && errno == EINTR)
			;
}

static void runs_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * One run: returns 0, or writes why it failed into why. A run that outlives
 * the limit is killed; "hung" says so.
 */
static int runs_one(const char *self, const char *lib, const char *name, uint64_t seed,
		    double limit_s, char *why, size_t whylen)
{
	char seedbuf[32];
	snprintf(seedbuf, sizeof seedbuf, "%llu", (unsigned long long)seed);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		/* If the driver is killed (the suite's timeout), so is the run. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(126);
		if (lib && *lib)
			setenv("LD_PRELOAD", lib, 1);
		else
			unsetenv("LD_PRELOAD");
		char *av[] = {(char *)self, "--run", (char *)name, seedbuf, NULL};
		execv("/proc/self/exe", av);
		_exit(127);
	}
	int64_t start = runs_mono_ns(), deadline = start + (int64_t)(limit_s * 1e9);
	long nap = 1;
	for (;;) {
		int st;
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid) {
			if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
				return 0;
			if (WIFEXITED(st))
				snprintf(why, whylen, "exit %d", WEXITSTATUS(st));
			else
				snprintf(why, whylen, "killed by signal %d (%s)", WTERMSIG(st),
					 strsignal(WTERMSIG(st)));
			return 1;
		}
		if (w < 0 && errno != EINTR) {
			snprintf(why, whylen, "waitpid: %s", strerror(errno));
			return 1;
		}
		if (runs_mono_ns() > deadline) {
			fprintf(stderr, "# %s seed %llu: hung for %.0f s; its threads:\n", name,
				(unsigned long long)seed, limit_s);
			runs_dump_threads(pid);
			kill(pid, SIGKILL);
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			snprintf(why, whylen, "hung (killed after %.0f s)", limit_s);
			return 1;
		}
		runs_sleep_ms(nap);
		if (nap < 20)
			nap++;
	}
}

static inline int runs_main(int argc, char **argv, const struct runs_case *cases, size_t ncases)
{
	if (argc >= 4 && strcmp(argv[1], "--run") == 0) {
		for (size_t i = 0; i < ncases; i++)
			if (strcmp(cases[i].name, argv[2]) == 0)
				return cases[i].fn(strtoull(argv[3], NULL, 10));
		fprintf(stderr, "%s: no case %s\n", argv[0], argv[2]);
		return 2;
	}
	const char *lib = NULL, *label = "";
	long runs = 20;
	double limit = 20, budget = 0;
	int keep = 0, nsel = 0;
	const char *sel[64];
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--lib") == 0 && i + 1 < argc)
			lib = argv[++i];
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atol(argv[++i]);
		else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc)
			limit = atof(argv[++i]);
		else if (strcmp(argv[i], "--budget") == 0 && i + 1 < argc)
			budget = atof(argv[++i]);
		else if (strcmp(argv[i], "--label") == 0 && i + 1 < argc)
			label = argv[++i];
		else if (strcmp(argv[i], "--keep-going") == 0)
			keep = 1;
		else if (strcmp(argv[i], "--list") == 0) {
			for (size_t k = 0; k < ncases; k++)
				printf("%s\n", cases[k].name);
			return 0;
		} else if (argv[i][0] != '-' && nsel < 64)
			sel[nsel++] = argv[i];
		else {
			fprintf(stderr, "usage: %s [--lib PATH] [--runs N] [--limit S] [--budget S] "
					"[--label TEXT] [--keep-going] [--list] [CASE...]\n",
				argv[0]);
			return 2;
		}
	}
	if (runs < 1)
		runs = 1;
	uint64_t seed0 = (uint64_t)runs_mono_ns() ^ ((uint64_t)getpid() << 32);
	const char *env_seed = getenv("RUNS_SEED");
	if (env_seed && *env_seed)
		seed0 = strtoull(env_seed, NULL, 10);
	int bad_cases = 0;
	double failing_s = 0; /* time spent in runs that failed */
	for (size_t c = 0; c < ncases; c++) {
		int want = nsel == 0;
		for (int k = 0; k < nsel; k++)
			want |= strcmp(sel[k], cases[c].name) == 0;
		if (!want)
			continue;
		if (budget > 0 && failing_s > budget) {
			bad_cases++;
			printf("not ok - %s%s: not run: earlier cases' failing runs took %.0f s, "
			       "past the budget of %.0f s\n",
			       cases[c].name, label, failing_s, budget);
			continue;
		}
		long failed = 0, done = 0;
		char why[256] = "", first[320] = "";
		int64_t t0 = runs_mono_ns();
		for (long r = 0; r < runs; r++) {
			uint64_t seed = seed0 + c * 1000003 + (uint64_t)r;
			done++;
			int64_t r0 = runs_mono_ns();
			if (runs_one(argv[0], lib, cases[c].name, seed, limit, why, sizeof why)) {
				failing_s += (runs_mono_ns() - r0) / 1e9;
				if (cases[c].describe) {
					size_t k = strlen(why);
					snprintf(why + k, sizeof why - k, " [%s]",
						 cases[c].describe(seed));
				}
				if (!failed++)
					snprintf(first, sizeof first, "run %ld (seed %llu): %s", r + 1,
						 (unsigned long long)seed, why);
				fprintf(stderr, "# %s%s: run %ld (seed %llu): %s\n", cases[c].name,
					label, r + 1, (unsigned long long)seed, why);
				if (!keep || (budget > 0 && failing_s > budget))
					break;
			}
		}
		double secs = (runs_mono_ns() - t0) / 1e9;
		if (failed) {
			bad_cases++;
			printf("not ok - %s%s: %ld of %ld runs failed, first %s (%.1f s)\n",
			       cases[c].name, label, failed, done, first, secs);
		} else {
			printf("ok - %s%s (%ld runs, %.1f s)\n", cases[c].name, label, done, secs);
		}
		fflush(stdout);
	}
	return bad_cases ? 1 : 0;
}

#endif
