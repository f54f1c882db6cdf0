/* SPDX-License-Identifier: MIT */
/*
 * gosys.h - the public API of libgosys.
 *
 * Go's syscall package and scheduler hooks for C: raw system calls that never
 * touch the scheduler, system calls bracketed by entersyscall/exitsyscall,
 * the maxprocs knob and a snapshot of the scheduler's counters. Everything
 * here is async-signal-safe unless its comment says otherwise.
 */
#ifndef GOSYS_H
#define GOSYS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(GOSYS_BUILDING) && defined(GOSYS_HAVE_VISIBILITY)
#define GOSYS_API __attribute__((visibility("default")))
#else
#define GOSYS_API
#endif

/*
 * The result of a system call, as Go's syscall.Syscall returns it. A raw
 * return r is an error iff (uintptr_t)r >= 2^64 - 4095: then r1 is
 * (uintptr_t)-1, r2 is 0 and err is -r. Otherwise r1 is rax, r2 is rdx and
 * err is 0. errno is never read or written.
 */
struct gosys_ret {
	uintptr_t r1, r2;
	int err;
};

/* Go's RawSyscall/RawSyscall6: the bare trap, no scheduler interaction. */
GOSYS_API struct gosys_ret gosys_rawsyscall(uintptr_t trap, uintptr_t a1, uintptr_t a2,
					    uintptr_t a3);
GOSYS_API struct gosys_ret gosys_rawsyscall6(uintptr_t trap, uintptr_t a1, uintptr_t a2,
					     uintptr_t a3, uintptr_t a4, uintptr_t a5,
					     uintptr_t a6);

/* Go's Syscall/Syscall6: entersyscall, the trap, exitsyscall. */
GOSYS_API struct gosys_ret gosys_syscall(uintptr_t trap, uintptr_t a1, uintptr_t a2,
					 uintptr_t a3);
GOSYS_API struct gosys_ret gosys_syscall6(uintptr_t trap, uintptr_t a1, uintptr_t a2,
					  uintptr_t a3, uintptr_t a4, uintptr_t a5,
					  uintptr_t a6);

/* Name <-> number of the x86-64 system calls known at build time. */
GOSYS_API const char *gosys_sysname(long nr);	/* NULL if unknown */
GOSYS_API long gosys_sysnum(const char *name);	/* -1 if unknown */

/* CLOCK_MONOTONIC in nanoseconds, through the vDSO when it has the symbol. */
GOSYS_API int64_t gosys_nanotime(void);

/*
 * Scheduler hooks. The first call from a thread registers it (its M) and
 * admits it: it gets a P or waits for one.
 *   entersyscall:      lazy; the thread keeps its P, the monitor may take it.
 *   entersyscallblock: eager; the P goes to a waiter (or the idle list) now.
 *   exitsyscall:       get a P back, parking until one is free.
 */
GOSYS_API void gosys_entersyscall(void);
GOSYS_API void gosys_entersyscallblock(void);
GOSYS_API void gosys_exitsyscall(void);

/* As runtime.GOMAXPROCS: n >= 1 sets, n <= 0 queries; returns the previous value. */
GOSYS_API int gosys_maxprocs(int n);

/* Hand the P to the first waiter, if any, and queue behind it (runtime.Gosched). */
GOSYS_API void gosys_gosched(void);

/*
 * A consistent snapshot of the scheduler. Pass sizeof(struct gosys_schedstats):
 * the library fills at most that many bytes and returns the number it knows
 * (so an old caller keeps working when fields are appended), or -1 with
 * errno EINVAL for a NULL pointer or a size below the first version's.
 */
struct gosys_schedstats {
	/* gauges */
	int32_t maxprocs;	/* Ps in use */
	int32_t idleprocs;	/* Ps on the idle list */
	int32_t threads;	/* Ms known (registered, not yet exited) */
	int32_t running;	/* Ms holding a P */
	int32_t waiting;	/* Ms queued for a P */
	int32_t monitor;	/* 1 while the monitor thread exists */
	/* monotonic counters */
	uint64_t handoffs;	/* Ps passed directly from a releaser to a waiter */
	uint64_t retakes;	/* Ps taken from lazy calls (monitor or waiter) */
	uint64_t blocked_retakes; /* Ps taken from holders blocked outside the library */
	uint64_t preempts;	/* cooperative preemptions honoured at a library entry */
	uint64_t async_preempts; /* preemptions by signal */
	uint64_t parks;		/* times an M parked waiting for a P */
	uint64_t nop_runs;	/* times an M ran user code without a P (I1's exception) */
	uint64_t monitor_ticks;	/* monitor wake-ups */
	/* quota pacing (see gosys_schedstats(3)) */
	uint64_t paces;		/* pauses made to keep the process under its CPU quota */
	uint64_t paced_ns;	/* time spent paused, in ns */
	int32_t pace_millicpus;	/* the pacing rate, thousandths of a CPU; 0 = off */
	int32_t paced;		/* 1 while a pause is on */
	/* runs without a P (see gosys_schedstats(3)) */
	uint64_t nop_ns;	/* time Ms ran without a P, finished runs, in ns */
	uint64_t nop_reclaims;	/* such Ms brought back under the bound by signal */
	uint64_t sig_deferrals;	/* program signal handlers held until their thread
				 * left the library's own code */
	/* the watch (see gosys_schedstats(3)) */
	uint64_t watch_retakes;	/* of retakes, those a waiter made itself */
};

GOSYS_API int gosys_schedstats(struct gosys_schedstats *st, size_t size);

/*
 * Writes the stats table (GOSYS_DEBUG=stats, see gosys(1)) as it stands now:
 * to fd if fd >= 0, else where the stats knob sends it (stderr if the knob
 * is off or 1). Other threads' counts are a snapshot. One write of the whole
 * report; async-signal-safe, so a program may call it from a handler of its
 * own (a SIGUSR1 "dump your stats"). Returns 0, or -1 with errno set.
 */
GOSYS_API int gosys_stats_write(int fd);

#ifdef __cplusplus
}
#endif

#endif /* GOSYS_H */
