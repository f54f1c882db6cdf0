/* SPDX-License-Identifier: MIT */
/*
 * cpus.c - the cpus knob (GOSYS_DEBUG=cpus=maxprocs): the rows of
 * preload/calls.def through which a program asks how many CPUs it may use.
 * With the knob off (the default) each is libc's own call, untouched: a
 * program's view of its CPUs changes only when a user asks.
 *
 * What they answer. The budget: min(maxprocs now, CPUs in the real
 * affinity mask of the thread asked about; the caller's for the counts).
 * maxprocs is read at every call (a relaxed load), so the answers follow
 * gosys_maxprocs() and the monitor's refresh when a quota appears or
 * changes. Without a quota maxprocs is 1024, no bound (sched.c, "Where CPUs
 * are not scarce"), and the budget is the mask's CPUs: there the knob
 * changes only the counts that ignore the mask (sysconf's and get_nprocs',
 * which count the online CPUs), which is what "may use" means anyway.
 *
 * The counts: sysconf(_SC_NPROCESSORS_ONLN) and (_CONF), __sysconf,
 * get_nprocs and get_nprocs_conf return the budget. _CONF answers it too,
 * because the JVM and OpenBLAS size their pools from it; the price is that
 * a program sizing a per-CPU table from it and indexing the table by CPU
 * number (sched_getcpu, rseq) may index past its end (gosys(1), BUGS).
 *
 * The masks: sched_getaffinity, pthread_getaffinity_np and
 * syscall(SYS_sched_getaffinity) report the kernel's mask with all but its
 * first N CPUs (the lowest numbers) cleared, N the budget; CPU_COUNT of it
 * is what nproc, libuv, Rust, the JVM and libgomp count. The thread's real
 * mask is left alone. A program that writes the reported mask back
 * (sched_setaffinity, pthread_setaffinity_np, a save and restore around a
 * temporary pin) pins itself to those N CPUs, and its children inherit
 * that. Accepted: the user asked for the knob, the mask written is a subset
 * of what the thread was allowed (it never gains a CPU), and N CPUs are
 * what the budget says it uses at once. Only the threads of this process
 * are trimmed (pid 0, the process id, or a thread id that tgkill(pid, tid,
 * 0) accepts); another process's mask is reported as it is.
 *
 * Rejected:
 * - Setting the real mask to N CPUs: the budget moves with maxprocs, and a
 *   P is no particular CPU; pinned, the N running threads could no longer
 *   go to whichever CPU is idle, and a CPU given up could not come back.
 * - Interposing sched_setaffinity to turn a written-back report into the
 *   real mask: it cannot be told from a deliberate pin to the same CPUs (at
 *   a budget of 1, pinning a thread to its first CPU writes exactly the
 *   report), and guessing wrong there undoes what the program asked for.
 *
 * Why each public entry point is its own row: glibc's sysconf and
 * get_nprocs count /sys/devices/system/cpu/online through a hidden
 * __get_nprocs, and pthread_getaffinity_np makes the system call inline;
 * none of them goes through a symbol we could interpose below it. Programs
 * and runtimes call these through the PLT (nproc, libuv and the JVM
 * sched_getaffinity, libgomp pthread_getaffinity_np and sysconf, libstdc++'s
 * hardware_concurrency get_nprocs); CPU_COUNT is __sched_cpucount over the
 * mask, with no call to interpose. libc's own internal users (malloc's
 * arena limit) keep the real numbers. Files read directly (/proc/cpuinfo,
 * /proc/stat, /sys/devices/system/cpu), CPUID, the cgroup files and inline
 * system calls (Go's runtime) are out of reach.
 *
 * The wrappers are unversioned, as every row is, so they also take the
 * calls of binaries built against glibc's 2.3.3 affinity calls (from 2004,
 * without the size argument); those are not supported.
 *
 * Everything here is async-signal-safe: raw system calls, atomic loads and
 * libc's own calls. No malloc.
 */
#include "preload.h"

#define NEXT(row, type) ((type)gosys__pl_next(GOSYS_PL_##row))

static inline int cpus_on(void)
{
	gosys__knobs_init();
	return gosys__knobs.cpus != 0;
}

/* The budget against aff CPUs of a real mask; 0 while the library is still
 * starting (then the real numbers stand). The knob is on. */
static int budget(int aff)
{
	int n = gosys__maxprocs_now();
	if (n <= 0 || aff <= 0)
		return 0;
	return n < aff ? n : aff;
}

static int popcount(const unsigned char *m, size_t len)
{
	int n = 0;
	for (size_t i = 0; i < len; i++)
		n += __builtin_popcount(m[i]);
	return n;
}

/* Clears every CPU of m[0..len) but the first keep (lowest numbers). */
static void keep_first(unsigned char *m, size_t len, int keep)
{
	for (size_t i = 0; i < len; i++) {
		unsigned b = m[i], out = 0;
		while (b && keep > 0) {
			out |= b & -b;
			b &= b - 1;
			keep--;
		}
		m[i] = (unsigned char)out;
	}
}

/* A count's answer: the budget, or 0 for libc's. */
static long count_answer(void)
{
	if (GOSYS_LIKELY(!cpus_on()))
		return 0;
	return budget(gosys__affinity_cpus());
}

/* Is pid this process or one of its threads? */
static int own_thread(pid_t pid)
{
	if (pid == 0)
		return 1;
	long self = __gosys_syscall0(SYS_getpid);
	return pid == self || __gosys_syscall3(SYS_tgkill, self, pid, 0) == 0;
}

/* A mask of len bytes the kernel (or libc) just reported for pid. */
void gosys__pl_cpus_mask(pid_t pid, void *mask, size_t len)
{
	if (GOSYS_LIKELY(!cpus_on()) || !mask || !own_thread(pid))
		return;
	int n = budget(popcount(mask, len));
	if (n > 0)
		keep_first(mask, len, n);
}

static long sysconf_common(int row, int name)
{
	long (*fn)(int) = (long (*)(int))gosys__pl_next(row);
	if (!fn)
		gosys__pl_missing(row);
	if (name == _SC_NPROCESSORS_ONLN || name == _SC_NPROCESSORS_CONF) {
		long n = count_answer();
		if (n > 0)
			return n;
	}
	return fn(name);
}

GOSYS_PL_EXPORT long sysconf(int name)
{
	return sysconf_common(GOSYS_PL_sysconf, name);
}

GOSYS_PL_EXPORT long __sysconf(int name)
{
	return sysconf_common(GOSYS_PL___sysconf, name);
}

static int nprocs_common(int row)
{
	int (*fn)(void) = (int (*)(void))gosys__pl_next(row);
	if (!fn)
		gosys__pl_missing(row);
	long n = count_answer();
	return n > 0 ? (int)n : fn();
}

GOSYS_PL_EXPORT int get_nprocs(void)
{
	return nprocs_common(GOSYS_PL_get_nprocs);
}

GOSYS_PL_EXPORT int get_nprocs_conf(void)
{
	return nprocs_common(GOSYS_PL_get_nprocs_conf);
}

/* Both affinity reads are one sched_getaffinity system call each, counted
 * under it when stats are on (as strace -c counts them). */
GOSYS_PL_EXPORT int sched_getaffinity(pid_t pid, size_t size, cpu_set_t *set)
{
	int (*fn)(pid_t, size_t, cpu_set_t *) = NEXT(sched_getaffinity, int (*)(pid_t, size_t, cpu_set_t *));
	if (!fn)
		gosys__pl_missing(GOSYS_PL_sched_getaffinity);
	int r;
	if (GOSYS_UNLIKELY(gosys__stats_on)) {
		struct gosys_st_call c;
		gosys__st_begin(&c);
		r = fn(pid, size, set);
		c.n = 1;
		gosys__st_end(&c, SYS_sched_getaffinity, r != 0);
	} else {
		r = fn(pid, size, set);
	}
	if (r == 0)
		gosys__pl_cpus_mask(pid, set, size);
	return r;
}

GOSYS_PL_EXPORT int pthread_getaffinity_np(pthread_t th, size_t size, cpu_set_t *set)
{
	int (*fn)(pthread_t, size_t, cpu_set_t *) =
		NEXT(pthread_getaffinity_np, int (*)(pthread_t, size_t, cpu_set_t *));
	if (!fn)
		gosys__pl_missing(GOSYS_PL_pthread_getaffinity_np);
	int r;
	if (GOSYS_UNLIKELY(gosys__stats_on)) {
		struct gosys_st_call c;
		gosys__st_begin(&c);
		r = fn(th, size, set);
		c.n = 1;
		gosys__st_end(&c, SYS_sched_getaffinity, r != 0);
	} else {
		r = fn(th, size, set);
	}
	if (r == 0)
		gosys__pl_cpus_mask(0, set, size); /* a thread of this process */
	return r;
}
