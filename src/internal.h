/* SPDX-License-Identifier: MIT */
/*
 * internal.h - what the layers of libgosys share with each other.
 *
 * Nothing here is public. Every function is hidden (GOSYS_HIDDEN) so that the
 * only exported symbols are the public API and the preload's interposed names.
 * Core code (src/) calls raw system calls only, never libc's wrappers: under
 * LD_PRELOAD those are our own wrappers, and calling them would recurse.
 */
#ifndef GOSYS_INTERNAL_H
#define GOSYS_INTERNAL_H

#define GOSYS_BUILDING 1
#include "config.h"
#include <gosys.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "arch.h"

#define GOSYS_HIDDEN __attribute__((visibility("hidden")))
#define GOSYS_LIKELY(x) __builtin_expect(!!(x), 1)
#define GOSYS_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define GOSYS_NOINLINE __attribute__((noinline))
#define GOSYS_CACHELINE 64
#define GOSYS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- throw.c: one way to die, and asserts ------------------------------ */

/* Writes "gosys: fatal error: MSG" to fd 2 with a raw write, then aborts. */
GOSYS_HIDDEN __attribute__((noreturn)) void gosys_throw(const char *msg);
/* Writes all n bytes to fd with raw writes (retrying EINTR); gives up on error. */
GOSYS_HIDDEN void gosys__write_all(int fd, const char *p, size_t n);
/* Writes "gosys: MSG\n" to fd 2 with one raw write; no stdio, no malloc. */
GOSYS_HIDDEN void gosys__warn(const char *msg);
/* Same, several pieces joined (NULL-terminated list), at most 512 bytes. */
GOSYS_HIDDEN void gosys__warnv(const char *first, ...) __attribute__((sentinel));
GOSYS_HIDDEN __attribute__((noreturn)) void gosys__assert_fail(const char *file, int line,
							   const char *expr, long long a,
							   long long b);
/* Formats v in decimal into buf (at least 21 bytes); returns the length. */
GOSYS_HIDDEN int gosys__fmt_long(char *buf, long long v);

/* Always on: compares two integers, prints both on failure, aborts. */
#define GOSYS_ASSERT_OP(a, op, b)                                                        \
	do {                                                                             \
		long long _ga = (long long)(a), _gb = (long long)(b);                    \
		if (GOSYS_UNLIKELY(!(_ga op _gb)))                                       \
			gosys__assert_fail(__FILE__, __LINE__, #a " " #op " " #b, _ga, _gb); \
	} while (0)
#define GOSYS_ASSERT_EQ(a, b) GOSYS_ASSERT_OP(a, ==, b)
#define GOSYS_ASSERT(c) GOSYS_ASSERT_OP(!!(c), ==, 1)
/* Debug builds only (--enable-debug); compiles to nothing otherwise. */
#ifdef GOSYS_DEBUG_ASSERTS
#define GOSYS_DASSERT_OP(a, op, b) GOSYS_ASSERT_OP(a, op, b)
#else
#define GOSYS_DASSERT_OP(a, op, b) ((void)0)
#endif
#define GOSYS_DASSERT_EQ(a, b) GOSYS_DASSERT_OP(a, ==, b)
#define GOSYS_DASSERT(c) GOSYS_DASSERT_OP(!!(c), ==, 1)

/* ---- sys.c -------------------------------------------------------------- */

/* Converts a raw kernel return into Go's (r1, r2, err). */
static inline struct gosys_ret gosys__mkret(long r, long rdx)
{
	struct gosys_ret ret;
	if (GOSYS_IS_ERR(r)) {
		ret.r1 = (uintptr_t)-1;
		ret.r2 = 0;
		ret.err = (int)-r;
	} else {
		ret.r1 = (uintptr_t)r;
		ret.r2 = (uintptr_t)rdx;
		ret.err = 0;
	}
	return ret;
}

/* ---- vdso.c -------------------------------------------------------------- */

struct timespec;
struct timeval;
/* The vDSO's entry points, or NULL where the image lacks them. */
struct gosys_vdso {
	int (*clock_gettime)(int clk, struct timespec *ts);
	int (*gettimeofday)(struct timeval *tv, void *tz);
	long (*time)(long *t);
	int (*getcpu)(unsigned *cpu, unsigned *node, void *cache);
};
/* Filled once by gosys__vdso_init(); read-only afterwards. */
GOSYS_HIDDEN extern struct gosys_vdso gosys__vdso;
/* Finds the vDSO from AT_SYSINFO_EHDR and resolves it; idempotent. */
GOSYS_HIDDEN void gosys__vdso_init(void);
/*
 * Parses an ELF image of len bytes at base (a real vDSO or a test's fake one)
 * and resolves the four symbols at version LINUX_2.6. Returns 0 on success
 * (out filled, NULL for missing symbols) or -1 if the image is malformed,
 * truncated, has no hash table or lacks the version (out all NULL).
 */
GOSYS_HIDDEN int gosys__vdso_parse(const void *base, size_t len, struct gosys_vdso *out);
/* The two ELF hashes, computed, for tests and the parser. */
GOSYS_HIDDEN uint32_t gosys__elf_sysv_hash(const char *name);
GOSYS_HIDDEN uint32_t gosys__elf_gnu_hash(const char *name);
/* clock_gettime/gettimeofday through the vDSO, else the raw syscall; -errno. */
GOSYS_HIDDEN int gosys__clock_gettime(int clk, struct timespec *ts);
GOSYS_HIDDEN int gosys__gettimeofday(struct timeval *tv, void *tz);

/* ---- knobs.c: GOSYS_MAXPROCS and GOSYS_DEBUG, parsed once -------------- */

#define GOSYS_PATH_MAX 256 /* a path knob's buffer, its NUL included */
struct gosys_knobs {
	int maxprocs;		/* GOSYS_MAXPROCS; 0 = not set */
	int schedtrace_ms;	/* schedtrace=MS; 0 = off */
	int stats;		/* stats=1 or stats=PATH; 0 = off */
	char stats_path[GOSYS_PATH_MAX]; /* stats=PATH; "" = stderr */
	int asyncpreempt;	/* asyncpreempt=0|1; default 1 */
	int slice_ms;		/* slice=MS; default 10 */
	int granularity_us;	/* granularity=US; default 1000 */
	int updatemaxprocs;	/* updatemaxprocs=0|1; default 1 */
	int scheddetail;	/* scheddetail=0|1; default 0 */
	int quotapace;		/* quotapace=PCT of the cgroup quota; default 90, 0 off */
	int pacecpus;		/* pacecpus=MILLI: pace as under this quota; 0 = cgroup's */
	int cpubound;		/* cpubound=0|1: bound at the CPUs without a quota; default 0 */
	int cpus;		/* cpus=0|maxprocs: CPU counts answer the budget; 0 off, 1 on */
	int blockprofile;	/* blockprofile=PATH; 0 = off */
	char blockprofile_path[GOSYS_PATH_MAX]; /* blockprofile=PATH */
	int blockprofilerate_ns; /* blockprofilerate=NS: the profile's sampling rate */
};
/* Filled by gosys__knobs_init(); read-only afterwards. */
GOSYS_HIDDEN extern struct gosys_knobs gosys__knobs;
GOSYS_HIDDEN void gosys__knobs_defaults(struct gosys_knobs *k);
/*
 * Parses the two variables' values (either may be NULL) into k, which holds
 * the defaults. Each unknown name or bad value writes one "gosys: ..." line
 * to warnfd (-1: none) and keeps the default. Returns the number of warnings.
 * No malloc; safe on any input.
 */
GOSYS_HIDDEN int gosys__knobs_parse(struct gosys_knobs *k, const char *maxprocs,
				    const char *debug, int warnfd);
/* One variable's value as the knobs read it: from environ, or from
 * /proc/self/environ while environ is NULL (exposed for tests). */
GOSYS_HIDDEN const char *gosys__knobs_env_value(const char *name);
/* Reads the environment once (environ, no getenv lock), warnings to fd 2. */
GOSYS_HIDDEN void gosys__knobs_init(void);

/* ---- stats.c: per-call counters, the stats table, the block profile ------- */

/*
 * Cells of the per-thread table: 0..GOSYS_ST_NSYS-1 are system call numbers
 * (rows whose path is the syscall itself, and syscall()), then one cell per
 * row of the call table whose path is libc's own function (GOSYS_ST_ROW).
 */
#define GOSYS_ST_NSYS 512
#define GOSYS_ST_NROWS 256
#define GOSYS_ST_NCELLS (GOSYS_ST_NSYS + GOSYS_ST_NROWS)
#define GOSYS_ST_ROW(idx) (GOSYS_ST_NSYS + (idx))
/* What a thread waited for a P after: a lazy call, an eager one, its
 * admission (pthread_create's start), a yield or preemption. */
enum { GOSYS_ST_WLAZY, GOSYS_ST_WBLOCK, GOSYS_ST_WSTART, GOSYS_ST_WYIELD, GOSYS_ST_NWAIT };

/* Nonzero when stats or blockprofile is on: the wrappers' one branch. Set
 * once by gosys__stats_init (before any thread but the first exists),
 * never cleared. */
GOSYS_HIDDEN extern int gosys__stats_on;
struct gosys_st_block;
/* One instrumented call, on the wrapper's stack. */
struct gosys_st_call {
	struct gosys_st_block *b;
	int64_t t0;		/* the clock at the start */
	uint64_t x0, xn0;	/* the thread's slow-exit time and count then */
	int n;			/* system calls made (restarts included) */
	int cls;		/* the class the call ran under */
};
GOSYS_HIDDEN void gosys__st_begin(struct gosys_st_call *c);
/* Counts the call in cell (failed: the final result was an error), its
 * time less the wait for a P, the wait by class; samples the profile.
 * errno is preserved. */
GOSYS_HIDDEN void gosys__st_end(struct gosys_st_call *c, int cell, int failed);
/* The scheduler's side: the time a slow exit took to get a P back
 * (attributed to the call's class by gosys__st_end), or a yield's. */
GOSYS_HIDDEN void gosys__stats_exit_wait(int64_t ns);
GOSYS_HIDDEN void gosys__stats_yield_wait(int64_t ns);
/* pthread_create's trampoline when stats are on: claims the thread's
 * counters and times its admission. */
GOSYS_HIDDEN void gosys__stats_thread_start(void);
/* Merges the calling thread's counters into the process table (thread exit). */
GOSYS_HIDDEN void gosys__stats_thread_exit(void);
/* From gosys__init, after the knobs: sets everything up if a knob asks. */
GOSYS_HIDDEN void gosys__stats_init(void);
/* The name of a libc-level cell's row (set by the preload; NULL: none). */
GOSYS_HIDDEN extern const char *(*gosys__stats_rowname)(int row);
/* A clock read for the stats' timings (the vDSO's CLOCK_MONOTONIC). */
GOSYS_HIDDEN int64_t gosys__stats_now(void);

/* ---- maxprocs.c ---------------------------------------------------------- */

/* The most Ps there can ever be (one per CPU of a CPU_SETSIZE mask). */
#define GOSYS_MAXPROCS_LIMIT 1024

/* CPUs in this thread's affinity mask (raw sched_getaffinity), at least 1. */
GOSYS_HIDDEN int gosys__affinity_cpus(void);
/*
 * The CPU limit of the cgroup this process is in, as a ceiling of
 * quota/period, taking the tightest limit on the path from the leaf to the
 * root, for cgroup v1 (cpu.cfs_quota_us / cpu.cfs_period_us) and v2
 * (cpu.max). root prefixes every path ("" for the real system; a test's fake
 * tree otherwise): root/proc/self/cgroup, root/proc/self/mountinfo and the
 * mount points found there under root. Returns 0 if there is no limit.
 * Raw syscalls only, no malloc: the monitor calls it.
 */
GOSYS_HIDDEN int gosys__cgroup_cpu_limit(const char *root);
/* The same limit, unrounded, in thousandths of a CPU (rounded up); 0 if none. */
GOSYS_HIDDEN int gosys__cgroup_cpu_milli(const char *root);
/* min(affinity, cgroup limit), at least 1. */
GOSYS_HIDDEN int gosys__maxprocs_default(const char *root);
/* The same from a limit already read (thousandths of a CPU, 0 = none) and the
 * affinity CPUs. */
GOSYS_HIDDEN int gosys__maxprocs_from(int milli, int aff);
/* The default number of Ps: gosys__maxprocs_from's where CPUs are scarce
 * (a quota below the affinity CPUs, a pacing rate given by hand, or the
 * cpubound knob), else GOSYS_MAXPROCS_LIMIT: no bound but the kernel's
 * (the essay, "Where CPUs are not scarce"). */
GOSYS_HIDDEN int gosys__maxprocs_bound(int milli, int aff, int given);

/* ---- sched.c: the scheduler, as the preload sees it -------------------- */

/* Library start-up: knobs, vDSO, Ps, the main thread's M. Idempotent. */
GOSYS_HIDDEN void gosys__init(void);
/* Hidden twins of the public hooks, so internal calls skip the PLT. */
GOSYS_HIDDEN void gosys__entersyscall(void);
GOSYS_HIDDEN void gosys__entersyscallblock(void);
GOSYS_HIDDEN void gosys__exitsyscall(void);
/*
 * After a wrapper's system call returned -EINTR: 1 if the interruption was
 * the library's own preemption signal, which the program must never see, so
 * the wrapper restarts the call. Clears the mark.
 */
GOSYS_HIDDEN int gosys__eintr_was_ours(void);
/* pthread_create's start trampoline calls this first: register and admit. */
GOSYS_HIDDEN void gosys__thread_start(void);
/* The thread is leaving: give up the P, leave the queue, forget the M. */
GOSYS_HIDDEN void gosys__thread_exit(void);
/* vfork: begin is entersyscallblock, and until end every library entry on
 * this thread (the child borrowing it) is a no-op; end is exitsyscall. */
GOSYS_HIDDEN void gosys__vfork_begin(void);
GOSYS_HIDDEN void gosys__vfork_end(void);
/* The current maxprocs (a relaxed load; it follows gosys_maxprocs and the
 * monitor's refresh), after starting the library if it has not started;
 * 0 while the start-up is still on its way (a call from inside it).
 * Async-signal-safe once started. */
GOSYS_HIDDEN int gosys__maxprocs_now(void);
/* 1 while the calling thread must bypass the scheduler (exiting, monitor). */
GOSYS_HIDDEN int gosys__bypass(void);
/*
 * The preemption signal (SIGURG). sigaction() for it is routed here once the
 * library owns it: the program's handler is kept and chained. Returns 1 if
 * handled here (old filled), 0 if the caller should pass it to libc.
 */
#define GOSYS_PREEMPT_SIG SIGURG
GOSYS_HIDDEN int gosys__sig_chain(int sig, const struct sigaction *act, struct sigaction *old);
/*
 * sigaction() through the library (signal.c): a program handler is
 * installed behind the library's trampoline, which defers it while its
 * thread is inside the library; the program's own action is kept and
 * returned as old. real is libc's sigaction. As sigaction otherwise.
 */
#define GOSYS_NSIG 65
typedef int (*gosys_sigaction_fn)(int, const struct sigaction *, struct sigaction *);
GOSYS_HIDDEN int gosys__sig_action(int sig, const struct sigaction *act, struct sigaction *old,
				   gosys_sigaction_fn real);

#endif
