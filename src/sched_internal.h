/* SPDX-License-Identifier: MIT */
/*
 * sched_internal.h - the scheduler's data: Ms, Ps, the waiter heap, the global state.
 * Shared between sched.c (the Ms' side) and sysmon.c (the monitor's side).
 * Every shared field says who owns it. "lock" means sched.lock.
 */
#ifndef GOSYS_SCHED_H
#define GOSYS_SCHED_H

#include "internal.h"
#include "note.h"

/*
 * M status. The status word is the linearization point of every ownership
 * change of a P that an M holds:
 *   RUNNING  holds m->p, runs user code.              Changed by: the M.
 *   SYSCALL  in a lazy call, still holds m->p.        Changed by: the M (exit: CAS
 *            to RUNNING); a stealer (CAS to SYSCALL|LOCKED, detach, store BLOCKED).
 *   BLOCKED  in an eager call. m->p is either NULL (given away) or still attached
 *            when nobody was waiting at entry: then any M or the monitor that
 *            needs a P steals it at once (CAS to BLOCKED|LOCKED, detach, store
 *            BLOCKED). The M's exit CASes BLOCKED -> RUNNING and then looks at m->p.
 *   WAITING  parked on m->park, in the waiter heap.   Changed by: the M, under lock.
 *   NOP      runs without a P: a P taken while blocked outside the library.
 *            Changed by: the monitor (CAS RUNNING -> NOP), the M (at its next entry).
 * LOCKED is or-ed in by a stealer for the few instructions of a detach; the M's
 * exit spins while it is set.
 */
enum {
	M_RUNNING = 0,
	M_SYSCALL = 1,
	M_BLOCKED = 2,
	M_WAITING = 3,
	M_NOP = 4,
	M_LOCKED = 0x100,
};

/* m->eintr_ours bits: what interrupted the current call. A call that returns
 * EINTR is redone only if the library's own signal alone landed in it. */
enum {
	EINTR_OURS = 1,	/* the preemption signal */
	EINTR_PROG = 2,	/* a program handler ran */
};

/* m->preempt bits: requests the M honours at its next library entry. */
enum {
	PREEMPT_SLICE = 1,  /* hand the P to the first waiter, queue behind it */
	PREEMPT_DEAD = 2,   /* the M's P is beyond maxprocs: give it up */
	PREEMPT_TELL = 4,   /* a waiter queued while the M ran user code: its
			     * next lazy call wakes the first waiter to watch
			     * it (sched.c, "the watch"); set by that waiter */
};

/* P status. */
enum {
	P_IDLE = 0,    /* on the idle list */
	P_RUNNING = 1, /* held: p->m owns it */
	P_DEAD = 2,    /* beyond maxprocs */
};

struct gosys_m;

struct gosys_p {
	int32_t id;		/* constant */
	uint32_t status;	/* lock (written); atomic loads elsewhere */
	struct gosys_m *m;	/* holder; lock, or a stealer holding the M LOCKED */
	struct gosys_p *link;	/* idle list; lock */
	int64_t acquired;	/* wall time the holder got it; lock (or the holder
				 * before anyone else can see the P) */
	uint64_t schedtick;	/* +1 at every change of holder; lock */
	/* The monitor's sightings, lock: */
	struct gosys_m *sight_m; /* holder at the last look */
	uint64_t sight_tick;	/* holder's entry tick at the last look */
	uint32_t sight_status;	/* holder's status at the last look */
	uint32_t sightings;	/* consecutive looks with the same (m, tick, status) */
	uint32_t blocked_seen;	/* the holder was asleep (S/D) at the last /proc read */
	int64_t sight_cpu;	/* holder's CPU clock at the last look that read it */
	uint64_t blocked_tick;	/* its entry tick then */
	int64_t preempt_when;	/* when PREEMPT_SLICE was asked of the holder, 0: not */
	uint64_t preempt_tick;	/* holder's tick then */
} __attribute__((aligned(GOSYS_CACHELINE)));

struct gosys_m {
	/* First cache line: the fast paths. Only the M writes here, except for
	 * status (CAS by stealers, see above) and preempt (set by the monitor). */
	uint32_t status;	/* atomic; the state machine above */
	uint32_t incall;	/* the M: depth of library calls in progress; the
				 * monitor reads it (relaxed) to leave alone an M
				 * that is inside the library, e.g. on the lock */
	uint32_t preempt;	/* atomic; PREEMPT_* bits; set by the monitor or
				 * maxprocs, cleared by the M under lock */
	uint32_t vfork;		/* the M: inside vfork; every entry is a no-op */
	uint64_t tick;		/* the M (relaxed atomic store): +1 at every entry */
	struct gosys_p *p;	/* held P; the M, or a stealer while LOCKED/under lock */
	uintptr_t entry_sp;	/* the M: stack address of the outermost entry */
	uint32_t eintr_ours;	/* the M (and its signal handlers): EINTR_* bits,
				 * cleared at each outermost entry */
	uint32_t sigpending;	/* atomic; monitor sets before tgkill, handler clears */
	uint32_t wakepending;	/* atomic; releases chosen us, wakes not yet sent */
	uint32_t crit;		/* the M: depth of library sections in which the
				 * program's handlers are deferred (signal.c) */
	uint64_t sigdeferred;	/* the M's handlers (relaxed atomics): signals put
				 * back pending and blocked, unblocked at the next
				 * exit from the library */
	/* Cold: slow paths, under lock unless said. */
	struct gosys_note park __attribute__((aligned(GOSYS_CACHELINE)));
				/* the M sleeps here while WAITING; a releaser
				 * sets m->p and status RUNNING, then wakes it */
	int32_t tid;		/* constant after registration */
	int32_t heapidx;	/* index in the waiter heap, -1 if not queued; lock */
	int64_t key;		/* heap key: CPU ns (CFS vruntime); lock */
	uint64_t seq;		/* heap tie-break, FIFO among equals; lock */
	uint32_t returning;	/* came back from a block, or new (CFS placement and
				 * wakeup preemption); relaxed atomics: the M and a
				 * stealer both write it */
	uint32_t live;		/* registered and not exited; lock */
	uint32_t transit;	/* counted in sched.ntransit; lock */
	uint32_t parked;	/* the M: asleep on park, holding no lock */
	uint32_t urgent;	/* the M (its handlers): a program handler runs on
				 * it; its next wait for a P goes first */
	int64_t nop_since;	/* (stores atomic: the monitor's NOP scan reads it
				 * unlocked) when the monitor took its P while it was blocked
				 * outside the library (NOP), 0: not NOP; lock */
	int64_t nop_cpu;	/* its CPU clock at the monitor's last NOP scan,
				 * -1: none; the monitor */
	/* The watch (sched.c), lock: */
	uint32_t watch;		/* a holder woke this waiting M to watch its
				 * lazy call; set by that holder, cleared by the M */
	struct gosys_p *watch_p; /* that holder's P */
	int64_t told_ns;	/* when this M, holding a P, entered the lazy
				 * call it told a waiter of */
	uint64_t told_tick;	/* its tick then */
	struct gosys_m *freelink; /* free list; lock */
	struct gosys_m *alllink;  /* all Ms ever made; set once before publication */
} __attribute__((aligned(GOSYS_CACHELINE)));

struct gosys_sched {
	struct gosys_lock lock;
	int32_t maxprocs;	/* target number of Ps; lock (atomic loads ok) */
	int32_t nprocs_live;	/* Ps not DEAD; lock */
	int32_t phigh;		/* no P at or above this id is live (one above
				 * maxprocs lives until its holder lets it go):
				 * scans of the Ps stop here; lock (atomic loads ok) */
	uint32_t explicit_maxprocs; /* set by env or gosys_maxprocs(); lock */
	uint32_t nwaiting;	/* waiters in the heap; lock (atomic loads ok) */
	uint32_t ntransit;	/* yielders between giving their P away and
				 * queueing (both under lock, not one hold); lock */
	struct gosys_p *pidle;	/* idle list; lock */
	int32_t npidle;		/* lock */
	int32_t nthreads;	/* live Ms; lock */
	struct gosys_m **heap;	/* the waiter heap, I3's order; lock */
	uint32_t heapcap;	/* lock */
	uint64_t seq;		/* lock */
	int64_t contended_since; /* when nwaiting last went 0 -> 1; lock */
	struct gosys_m *mfree;	/* free Ms; lock */
	struct gosys_m *allm;	/* every M ever made; push-only (atomic) */
	/* The monitor. */
	uint32_t sysmon_started; /* lock */
	uint32_t sysmonwait;	/* the monitor sleeps on sysmonnote; lock */
	uint32_t sysmon_kick;	/* an M queued: look again soon; lock */
	struct gosys_note sysmonnote;
	int32_t sysmon_tid;	/* lock */
	/* Quota pacing (sysmon.c). While paced, no P goes to anyone: releases
	 * put Ps on the idle list, getp queues, holders are asked to yield. */
	uint32_t paced;		/* the monitor (under lock); atomic loads ok */
	int32_t pace_milli;	/* pacing rate, thousandths of a CPU, 0 = off; lock */
	uint64_t paces;		/* pauses begun; lock */
	int64_t paced_ns;	/* time paused, finished pauses; lock */
	int64_t pace_since;	/* start of the current pause; lock */
	uint32_t nop_scan;	/* NOP Ms may exist: the monitor scans the Ms;
				 * the monitor (atomic) */
	/* The watch (sched.c): after WATCH_MISSES more misses than hits, no
	 * watch begins before watch_after; lock (stores atomic: a test reads). */
	int32_t watch_misses;
	int64_t watch_after;
	/* Counters; lock. */
	uint64_t handoffs, retakes, blocked_retakes, preempts, async_preempts, parks,
		nop_runs, monitor_ticks, watch_retakes;
	int64_t nop_ns;		/* time Ms spent as NOP, finished runs; lock */
	uint64_t nop_reclaims;	/* NOP Ms brought back by the preemption signal; atomic */
	uint64_t sig_deferrals;	/* program handlers deferred; atomic */
	int64_t start_ns;	/* the library's start (gosys__init); set once
				 * before any other thread; read by schedtrace
				 * and gosys-dump */
};

GOSYS_HIDDEN extern struct gosys_sched gosys__sched;
GOSYS_HIDDEN extern struct gosys_p gosys__allp[GOSYS_MAXPROCS_LIMIT];

/* The calling thread's M, and "leave me alone" (exiting thread, monitor). */
GOSYS_HIDDEN extern __thread struct gosys_m *gosys__curm __attribute__((tls_model("initial-exec")));
GOSYS_HIDDEN extern __thread int gosys__nosched __attribute__((tls_model("initial-exec")));

/* Only the M writes incall; the monitor reads it: keep the stores atomic. */
#define SET_INCALL(m, v) __atomic_store_n(&(m)->incall, (uint32_t)(v), __ATOMIC_RELAXED)
#define SET_RETURNING(m, v) __atomic_store_n(&(m)->returning, (uint32_t)(v), __ATOMIC_RELAXED)

/* sched.c, for proc.c (program threads only). */
GOSYS_HIDDEN int32_t gosys__gettid(void);
GOSYS_HIDDEN struct gosys_m *gosys__m_alloc_locked(void);
GOSYS_HIDDEN void gosys__pidle_put_locked(struct gosys_p *p);
GOSYS_HIDDEN struct gosys_p *gosys__pidle_get_locked(void);
GOSYS_HIDDEN void gosys__wirep_locked(struct gosys_p *p, struct gosys_m *m, int64_t now);
GOSYS_HIDDEN void gosys__heap_remove_locked(struct gosys_m *m);
GOSYS_HIDDEN void gosys__wake_m(struct gosys_m *w);
GOSYS_HIDDEN void gosys__m_getp(struct gosys_m *m, int returning);
GOSYS_HIDDEN void gosys__exit_outermost(struct gosys_m *m);
/* proc.c: registers the calling thread and admits it (returns holding a P). */
GOSYS_HIDDEN struct gosys_m *gosys__m_register(void);

/* sched.c, for the monitor: all need sched.lock held and touch no TLS. */
GOSYS_HIDDEN struct gosys_m *gosys__heap_top(void);
/* Gives p (owned by the caller, detached) to the first waiter, or to the idle
 * list, or kills it if it is beyond maxprocs. Returns the M to wake (after
 * unlocking) or NULL. */
GOSYS_HIDDEN struct gosys_m *gosys__releasep_locked(struct gosys_p *p, int64_t now);
/* Detaches p from its holder m whose status is expect (SYSCALL, BLOCKED or
 * RUNNING for the blocked-holder path); leaves m in newstatus. 0 if m moved on. */
GOSYS_HIDDEN int gosys__steal_locked(struct gosys_p *p, struct gosys_m *m, uint32_t expect,
				     uint32_t newstatus);
/* phigh down to the highest P that is not DEAD (or maxprocs). */
GOSYS_HIDDEN void gosys__phigh_trim_locked(void);
GOSYS_HIDDEN void gosys__set_maxprocs_locked(int n, int64_t now, struct gosys_m **wake,
					     int *nwake, int maxwake);
/* CPU time of thread tid in ns (the kernel's per-thread clock), or -1. */
GOSYS_HIDDEN int64_t gosys__thread_cpu(int tid);
/* A CPU clock (raw clock_gettime) in ns, or -1. */
GOSYS_HIDDEN int64_t gosys__cpu_clock(long clk);

/* proc.c: gosys_schedstats' snapshot, lock held; no TLS (the monitor's
 * schedtrace uses it too). */
GOSYS_HIDDEN void gosys__schedstats_locked(struct gosys_schedstats *s);
/* trace.c, the monitor: one schedtrace line (and scheddetail's) to fd 2. */
GOSYS_HIDDEN void gosys__schedtrace(int64_t now);

/* sysmon.c */
/* Tests only: a pacing rate (thousandths of a CPU) used instead of the
 * cgroup's, read when the monitor starts and at each refresh; 0 = off. */
GOSYS_HIDDEN extern int32_t gosys__pace_test_milli;
/* The pacing rate (thousandths of a CPU, 0 = none) for a CPU limit of milli
 * (0 = none), given by hand or not, with aff CPUs allowed: quotapace percent
 * of the limit when it was given or is below aff. */
GOSYS_HIDDEN int gosys__pace_rate(int milli, int given, int aff);
/* Starts the monitor (start_if_needed) or wakes it from a deep sleep; on a
 * tick, only when urgent (a holder sits in a lazy call). */
GOSYS_HIDDEN void gosys__sysmon_wake_locked(int start_if_needed, int urgent);
GOSYS_HIDDEN void gosys__sysmon_forget(void); /* fork child */
GOSYS_HIDDEN void gosys__preempt_install(void);
/* Asks m (thread tid) to yield by signal; one signal in flight at most. */
GOSYS_HIDDEN void gosys__send_preempt(struct gosys_m *m, int tid);
GOSYS_HIDDEN void gosys__preempt_handler(int sig, siginfo_t *si, void *uctx);

/* signal.c: the program's handlers (see the file's head). */
/* 1 while a handler landing on m must wait: m is in the library's own code
 * (a critical section, the park, the instructions around a call). */
GOSYS_HIDDEN int gosys__in_library(const struct gosys_m *m);
/* Unblocks the signals deferred on m, if m is out of the library. */
GOSYS_HIDDEN void gosys__sig_flush_slow(struct gosys_m *m);
GOSYS_HIDDEN void gosys__sig_forget_deferred(struct gosys_m *m);
/* A handler is about to run on this thread out of the library: the signals
 * still deferred are opened in the mask it returns to (uctx, its ucontext). */
GOSYS_HIDDEN void gosys__sig_open_deferred(void *uctx);
/* The trampoline's body: defers the signal or runs the program's handler. */
GOSYS_HIDDEN void gosys__sig_deliver(int sig, siginfo_t *si, void *uc);
GOSYS_HIDDEN void gosys__sig_preempt_installing(int on);
/* sched.c: a signal was deferred on m, parked for a P: move it up. */
GOSYS_HIDDEN void gosys__sig_boost(struct gosys_m *m);
GOSYS_HIDDEN void gosys__sig_preempt_owned(const struct sigaction *prev);
GOSYS_HIDDEN int gosys__sig_preempt_is_owned(void);

static inline void gosys__sig_flush(struct gosys_m *m)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (GOSYS_UNLIKELY(__atomic_load_n(&m->sigdeferred, __ATOMIC_RELAXED)))
		gosys__sig_flush_slow(m);
}

/* A critical section on a program thread: the program's handlers wait
 * until it ends (and the thread is out of the library). Every hold of
 * sched.lock on a program thread is inside one, and so is every wake owed. */
static inline void gosys__crit_enter(struct gosys_m *m)
{
	__atomic_store_n(&m->crit, m->crit + 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static inline void gosys__crit_exit(struct gosys_m *m)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&m->crit, m->crit - 1, __ATOMIC_RELAXED);
	if (m->crit == 0)
		gosys__sig_flush(m);
}

/*
 * is_nested (sched.c) takes a call that finds m->incall set for one made by
 * a handler inside the current call if its stack lies below m->entry_sp by
 * more than this, else for the first call after a siglongjmp out of it.
 * Entries measure their stack at different depths: the wrappers' inline fast
 * path at the wrapper's stack pointer, gosys_entersyscall in its own frame,
 * a hundred-odd bytes lower, so a read left by siglongjmp and the next read
 * from the same frame differ by that much (taken as nested without the
 * margin: the thread stayed "in a call" for good; tests/preload/behave.c,
 * the lazy siglongjmp case). A handler's frame lies below the signal frame,
 * over a kilobyte under the interrupted stack.
 */
#define GOSYS_ENTRY_SP_MARGIN 512

/*
 * The fast paths of a lazy call, shared by gosys_entersyscall and
 * gosys_exitsyscall (sched.c) and by the preload wrappers' inline fast path
 * (preload/mkcalls.awk): one copy of the rule, inlined where it runs.
 *
 * gosys__enter_fast: an M in user code with nothing asked of it starts its
 * outermost call (sp: the caller's stack address, for is_nested). 0: take
 * the slow path, nothing done. Everything here is on the M's own cache line.
 */
static inline __attribute__((always_inline)) int gosys__enter_fast(struct gosys_m *m,
								   uintptr_t sp)
{
	if (!GOSYS_LIKELY(m && m->incall == 0 &&
			  __atomic_load_n(&m->preempt, __ATOMIC_RELAXED) == 0 &&
			  __atomic_load_n(&m->status, __ATOMIC_RELAXED) == M_RUNNING))
		return 0;
	SET_INCALL(m, 1);
	m->entry_sp = sp;
	m->eintr_ours = 0; /* a mark left by a call that finished anyway */
	__atomic_store_n(&m->tick, m->tick + 1, __ATOMIC_RELAXED);
	return 1;
}

/* After gosys__enter_fast, a lazy call: the P stays, the monitor (or a
 * watching waiter) may take it. Returns 1 if a handler deferred before the
 * store is owed now: the caller flushes (gosys__sig_flush_slow). */
static inline __attribute__((always_inline)) int gosys__enter_lazy_store(struct gosys_m *m)
{
	__atomic_store_n(&m->status, M_SYSCALL, __ATOMIC_RELEASE);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&m->sigdeferred, __ATOMIC_RELAXED) != 0;
}

/*
 * The end of the outermost call of an M that entered as status s0 (SYSCALL
 * or BLOCKED): back to RUNNING on the P it still has. 1 done (out of the
 * library), 2 done but a deferred handler is owed (the caller flushes), 0
 * not done: the P was taken, or a stealer holds the status, or the call is
 * not the outermost; gosys__exitsyscall then finishes it (an eager call's
 * CAS that succeeded with no P left is finished there too).
 */
static inline __attribute__((always_inline)) int gosys__exit_fast(struct gosys_m *m, uint32_t s0)
{
	uint32_t s = s0;
	if (!GOSYS_LIKELY(m->incall == 1 &&
			  __atomic_compare_exchange_n(&m->status, &s, M_RUNNING, false,
						      __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)))
		return 0;
	/* SYSCALL holds its P: every stealer leaves the status BLOCKED or NOP
	 * (the state machine above), so a CAS from SYSCALL that succeeded finds
	 * the P. An eager call's P may be gone. */
	if (s0 == M_SYSCALL)
		GOSYS_DASSERT(__atomic_load_n(&m->p, __ATOMIC_ACQUIRE) != NULL);
	else if (!__atomic_load_n(&m->p, __ATOMIC_ACQUIRE))
		return 0;
	SET_INCALL(m, 0);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&m->sigdeferred, __ATOMIC_RELAXED) ? 2 : 1;
}

#endif
