/* SPDX-License-Identifier: MIT */
/*
 * sched.c - Ps, Ms, entersyscall / exitsyscall / entersyscallblock, the
 * waiter heap. Runs on the program's threads; the monitor calls only the
 * *_locked helpers, which touch no TLS. Raw system calls only.
 *
 * Design
 * ======
 *
 * An M is a thread of the program, a P a token that allows running user code;
 * there are maxprocs Ps. The model is Go 1.26's: a P stays wired to its M
 * across a system call, and the M's status word is the linearization point of
 * every change of ownership. entersyscall is two plain stores to the M's own
 * cache line (its entry tick and status = SYSCALL); exitsyscall is one CAS
 * SYSCALL -> RUNNING followed by a look at m->p. Whoever takes a P from an M
 * in a call (the monitor after two sightings of the same call, or anyone who
 * needs a P from an M that blocked eagerly) CASes the status to
 * status|LOCKED, detaches the P and stores BLOCKED: the M's CAS either wins
 * before (and the stealer backs off) or fails until the stealer is done, and
 * then it sees m->p == NULL and queues. No lock, no shared write, no system
 * call on the fast paths (I5). The lazy fast paths are inline functions
 * (sched_internal.h) that the preload's wrappers inline too, with the system
 * call between them: a wrapper's common case is a leaf, 62 user instructions
 * over libc's read where the calls into gosys_entersyscall and
 * gosys_exitsyscall made 107 (issue 11; bench/cgparts.c names each one).
 *
 * entersyscallblock publishes BLOCKED with an exchange and then reads the
 * number of waiters; a queueing M increments that number under the lock and
 * then scans the Ps for BLOCKED holders. With both sides sequentially
 * consistent, one of them sees the other: either the blocking M hands its P
 * to the first waiter itself, or the waiter steals it. When nobody waits, the
 * P simply stays attached to the blocked M, which gets it back with the same
 * single CAS; this is "put the P on the idle list" without touching any
 * shared cache line.
 *
 * The watch. The monitor retakes a lazy call on two looks a tick apart, and
 * on a VM a 20 us timed sleep takes 40 to 60 us and an idle CPU's wake-up
 * as much again: p99 0.3 to 0.5 ms from a block to the waiter's run (issue
 * 11). But a waiter is awake when it queues, and a holder knows when it
 * enters a lazy call. So the first waiter watches a lazy call it finds
 * (spins at most 20 us on the call's tick and status) and takes the P itself
 * if the call still runs; and a waiter that finds holders in user code marks
 * them (PREEMPT_TELL), so the next lazy call of each wakes the first waiter
 * with the call's entry time. One futex wake, no timer: p50 21 us, p99
 * 0.02-0.11 ms where the waiter queued first. A program of short calls pays
 * a wake and a short spin per miss, then none for 5 ms after eight more
 * misses than hits (see "The watch" below).
 *
 * Waiters sit in a binary heap ordered by CPU time received (the kernel's
 * per-thread clock, read on the slow path only), which is CFS's vruntime for
 * a thread that runs only while it holds a P. A thread that is new or comes
 * back from a blocking call is placed at max(own CPU, least-served waiter -
 * slice), as CFS places a waking task: it cannot bank unbounded credit, but a
 * thread that mostly sleeps (a request handler, a heartbeat) goes ahead of
 * compute-bound ones. A releaser hands its P straight to the heap's top
 * (it sets m->p and the status for the parked M) and wakes that one M: no
 * thundering herd, no second race.
 *
 * Quota pacing. Ps alone do not keep a process under a CFS bandwidth quota:
 * with a 1-CPU quota and one P, the holder uses a whole CPU and the
 * library's own work (the monitor, handoffs) comes on top, so the kernel
 * throttles the whole process for the rest of nearly every period, and the
 * request thread with it (measured in the cgroup demo: 51 of 51 periods,
 * 16 ms each). So the monitor also runs a token bucket on the process CPU
 * clock (quotapace percent of the quota, 90 by default, 1 ms of CPU deep);
 * when it is empty, S->paced stops every P from being handed out and the
 * holders are asked to yield, until the bucket is half full: pauses of
 * ~0.5 to 1.5 ms instead of the kernel's tens of ms, and next to no
 * throttling (0 or 1 of 50 periods). At 95% the monitor's late timed sleeps
 * still let bursts through in a period or two of 15. A pause whose CPU
 * use stays above the rate (threads the scheduler cannot stop) ends after
 * 2.5 ms and pacing stands aside for 100 ms: pauses always end (I2).
 *
 * Where CPUs are not scarce. The default bound is the quota's CPUs only
 * where a quota is below the CPUs the affinity mask allows (or pacecpus is
 * given, or cpubound=1); elsewhere it is GOSYS_MAXPROCS_LIMIT, no bound but
 * the kernel's. A bound at the CPU count duplicates what the kernel already
 * does, at a price: a thread that comes back from a blocking call while
 * every P is taken parks, and a P handed to a parked waiter lies unused for
 * the wake-up (about 30 us on these VMs), which is the same order as a
 * short request's work; and a holder that the kernel preempts for another
 * process's thread keeps its P idle while our own runnable threads wait.
 * Measured (MariaDB 10.11, sysbench oltp_point_select, 8 connections, 2
 * CPUs, client on the same machine, build load beside it): plain 30-31 k
 * queries/s; bound at 2 Ps 13-21 k (0.4-0.7x, p99 2-5x plain's); unbounded
 * 32-34 k. On a quiet machine (make bench BENCH=server, medians of 5):
 * plain 35.4 k, unbounded 38.3 k (1.08x, p99 0.79x), cpubound=1 18.2 k
 * (0.51x, p99 2.8x); the own echo server 0.99x and 0.52x. Under a 1-CPU
 * quota (the bound and pacing on either way) the point selects' p99 beside
 * heavy range queries is 49 ms plain and 2.4 ms here, throttled in 240 of
 * 243 periods plain and in none here. What a user loses: within one process, CFS orders the threads
 * instead of our heap (the same policy, least CPU first, sleepers
 * placed ahead), and the library no longer limits how many of its threads
 * run at once where the kernel would have let them. Under a quota nothing
 * changes, and that is where the bound pays (pacing needs it).
 *
 * Rejected, for the unbounded case:
 * - Spinning for a P before parking, as Go's spinning Ms do (pause loops
 *   for 50-200 us, at most (maxprocs+1)/2 spinners; or sched_yield loops):
 *   on 2 CPUs shared with the clients the spinner takes CPU from the very
 *   holders it waits for. MariaDB fell from 15.6 k to 11.5 k (50 us) and
 *   9.7 k (200 us); the pipe ping-pong from 19-22 k round trips to 3-7 k.
 * - A bound at a multiple of the CPUs: each extra P helped (2, 3, 4, 8 Ps:
 *   20, 22, 27, 46 k against 47 k plain) and no multiple is right for
 *   every connection count; it would be a bound that binds only by luck.
 *
 * Signal handlers. A program's handler may run on any thread, in any state
 * of ours, and may block there for as long as it likes (a stop-the-world
 * handler waits in sigsuspend until another thread resumes it; libuv takes
 * a pipe as a lock). The rule that keeps that safe: a program handler runs
 * only where its thread owes the scheduler nothing, that is in user code or
 * inside the program's own call (between the end of an entry, status
 * SYSCALL or BLOCKED, and the start of the exit). Everywhere else (holding
 * sched.lock, owing a wake, parked for a P, the few instructions of the
 * fast paths around the status stores) the signal is deferred: every
 * program handler runs behind a trampoline (signal.c) which, on such a
 * thread, queues the signal back to the thread itself with its siginfo
 * (rt_tgsigqueueinfo), blocks it in the context it returns to, and the
 * first exit from the library's code unblocks it, so the kernel delivers it
 * where the rule holds. The slow paths mark themselves with m->crit; the
 * fast paths are classified by (incall, status) alone and pay one load and
 * branch at their end. Then a handler that blocks holds no lock, owes no
 * wake, and its P, if any, is one the ordinary rules take: an eager call
 * has given it away, a lazy one loses it on two looks, a handler blocked in
 * user code loses it as any blocked holder. A nested eager call (a handler
 * inside a lazy call) releases the outer call's P at once. A thread parked
 * for a P when a signal is deferred on it moves to the head of the queue,
 * and so does any wait for a P inside a handler (once): a stop-the-world
 * waits for every thread's handler, and at maxprocs 1 behind compute-bound
 * holders each would cost a slice. That move (gosys__sig_boost) is the one
 * hold of sched.lock inside a handler, on a thread whose other signals are
 * open: a signal deferred during it must not move the thread again, or the
 * thread waits for the lock it holds (m->parked is cleared for the move).
 * The deferral's record (m->sigdeferred) is the thread's, but the block is
 * in one context's mask: a handler that runs between the end of a section
 * and its flush (the preemption handler's park, or a program handler and
 * its calls) flushes in its own frame, and its return would block the
 * signals again for good. Such a handler first opens them in the mask it
 * returns to (gosys__sig_open_deferred).
 *
 * Ms without a P. The monitor takes the P of a holder blocked where the
 * library cannot see (an inline futex, a page fault); the M then runs as
 * NOP. I1's exception used to last until its next library entry, which
 * for libgomp's workers (futex by inline syscall, then pure computation)
 * never comes. So the monitor scans the Ms every 2 ms while NOP ones
 * exist, and one whose CPU clock moved by 0.5 ms is sent the preemption
 * signal; its handler queues it for a P. One that sleeps is left alone: it
 * runs no user code, and the signal would only cut its sleep short.
 *
 * Rejected, for signals:
 * - Blocking all signals around every slow path (sigprocmask twice): two
 *   syscalls on paths that hand Ps over thousands of times a second, and it
 *   still leaves the park, where a thread may wait for a slice or more.
 * - Running a handler while its thread is parked, and letting the monitor
 *   take the P from an M whose handler blocked there: the handler is user
 *   code run without a P (against I1), a releaser can hand the parked M a
 *   P at any moment (the double wakeup and heap corruption seen), and the
 *   lock's holder can never be helped.
 * - Calling the program's handler later ourselves, from the exit path, with
 *   a saved siginfo: the ucontext would be ours, not the interrupted one,
 *   and handlers that read or edit it (a JVM, a GC scanning registers)
 *   would see a lie. Re-delivery by the kernel gives a real one.
 * - Deferring a fault (SIGSEGV and the like raised by an instruction):
 *   returning would run the instruction again; faults run at once.
 *
 * Rejected:
 * - Pacing by shrinking maxprocs: a quota of one CPU or less leaves nothing
 *   to shrink to, and a fractional quota needs time slicing anyway.
 * - Reading the group's usage (cpuacct.usage, cpu.stat) at each step: an
 *   open/read/close per step, ten times the process CPU clock's one
 *   syscall; the price is that other processes in the group are not seen.
 * - Go <= 1.25's _Psyscall, where the P is unwired at entry and the exiting
 *   M races the monitor for it: an extra shared write per call and the ABA
 *   window runtime2.go warns about.
 * - A mutex-protected idle list for entersyscallblock with nobody waiting:
 *   two shared cache-line transfers per call, tens of ns under contention.
 * - FIFO waiters: in a measured model (1 P, 4 compute threads, a request
 *   thread; doc/design.md I3), a request thread queues behind
 *   compute threads without bound (p50 3.4 s).
 * - Wall time held as vruntime: a thread that blocks eagerly while nobody
 *   waits keeps its P attached, so wall time would charge it for sleeping.
 *   The per-thread CPU clock is exact and costs one syscall on a path that
 *   already makes a futex call.
 * - pthread_create for the monitor: the first M to wait may be inside a
 *   signal handler that interrupted malloc. The monitor is a raw clone with
 *   its own small thread block (sysmon.c).
 * - For the lazy retake: waking the monitor at a lazy entry with waiters,
 *   which then retook on one look 20 us later. Measured beside the two-look
 *   monitor, no gain (p99 0.24-0.59 ms hot, against 0.26-0.33): the look 20
 *   us later is a timed sleep, and the waiter still needs a wake from the
 *   monitor. A waiter's own timed park (20 us) has the same timer in it.
 *   Handing the P off at every lazy entry that finds waiters: a thread
 *   reading a file in small pieces would give its P away at each read.
 * - Below the exit's CAS (the read loop's floor: one locked instruction,
 *   about 4% of a 190 ns read here; Go's exitsyscall pays the same): a plain
 *   store at exit, with every stealer issuing membarrier(2) before it looks
 *   at the status (an asymmetric fence). Retakes and eager steals come by
 *   the thousand a second under contention, and each would interrupt every
 *   CPU the process runs on. Folding status and incall into one 64-bit load
 *   and the tick into one add would save five instructions more, as
 *   mixed-size and non-atomic accesses that ThreadSanitizer cannot check.
 * - Blocking signals around the scheduler lock: two syscalls per slow path.
 *   Instead handlers are deferred (above); m->incall is set for the whole
 *   of every library entry, and a handler's own calls inside a call are
 *   nested (no scheduling, but for the eager release above).
 */
#include "sched_internal.h"
#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

struct gosys_sched gosys__sched;
struct gosys_p gosys__allp[GOSYS_MAXPROCS_LIMIT];

__thread struct gosys_m *gosys__curm __attribute__((tls_model("initial-exec")));
__thread int gosys__nosched __attribute__((tls_model("initial-exec")));

#define S (&gosys__sched)

int gosys__bypass(void)
{
	return gosys__nosched;
}

/* Exposed for sysmon.c's thread block set-up. */
GOSYS_HIDDEN int *gosys__bypass_addr(void);
int *gosys__bypass_addr(void)
{
	return &gosys__nosched;
}

int32_t gosys__gettid(void)
{
	return (int32_t)__gosys_syscall0(SYS_gettid);
}

int64_t gosys__cpu_clock(long clk)
{
	struct timespec ts;
	if (__gosys_syscall2(SYS_clock_gettime, clk, (long)&ts) != 0)
		return -1;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t gosys__thread_cpu(int tid)
{
	/* A thread's CPU clock: ~tid << 3 | CPUCLOCK_PERTHREAD | CPUCLOCK_SCHED. */
	return gosys__cpu_clock(tid ? (long)((~(unsigned long)tid) << 3 | 6)
				    : CLOCK_THREAD_CPUTIME_ID);
}

/* ---- Ms: allocated from mmap'd chunks, never unmapped, recycled -------- */

#define M_CHUNK 64

/* lock held */
struct gosys_m *gosys__m_alloc_locked(void)
{
	struct gosys_m *m = S->mfree;
	if (m) {
		S->mfree = m->freelink;
	} else {
		long r = __gosys_syscall6(SYS_mmap, 0, sizeof(struct gosys_m) * M_CHUNK,
					  PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
					  0);
		if (GOSYS_IS_ERR(r))
			gosys_throw("out of memory allocating an M");
		struct gosys_m *c = (struct gosys_m *)r;
		for (int i = 1; i < M_CHUNK; i++) {
			c[i].freelink = S->mfree;
			S->mfree = &c[i];
		}
		for (int i = 0; i < M_CHUNK; i++) {
			c[i].alllink = S->allm;
			__atomic_store_n(&S->allm, &c[i], __ATOMIC_RELEASE);
		}
		m = &c[0];
	}
	m->freelink = NULL;
	__atomic_store_n(&m->status, M_NOP, __ATOMIC_RELAXED);
	SET_INCALL(m, 0);
	m->preempt = 0;
	m->vfork = 0;
	m->p = NULL;
	m->eintr_ours = 0;
	m->sigpending = 0;
	m->heapidx = -1;
	SET_RETURNING(m, 0);
	m->live = 1;
	m->transit = 0;
	m->parked = 0;
	m->urgent = 0;
	m->watch = 0;
	m->told_tick = 0;
	m->crit = 0;
	m->sigdeferred = 0;
	__atomic_store_n(&m->nop_since, 0, __ATOMIC_RELAXED);
	m->nop_cpu = -1;
	S->nthreads++;
	return m;
}

/* ---- the waiter heap: I3's order --------------------------------------- */

static int m_before(const struct gosys_m *a, const struct gosys_m *b)
{
	return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

static void heap_set(uint32_t i, struct gosys_m *m)
{
	S->heap[i] = m;
	m->heapidx = (int32_t)i;
}

static void heap_up(uint32_t i)
{
	struct gosys_m *m = S->heap[i];
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (!m_before(m, S->heap[parent]))
			break;
		heap_set(i, S->heap[parent]);
		i = parent;
	}
	heap_set(i, m);
}

static void heap_down(uint32_t i)
{
	uint32_t n = S->nwaiting;
	struct gosys_m *m = S->heap[i];
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && m_before(S->heap[c + 1], S->heap[c]))
			c++;
		if (!m_before(S->heap[c], m))
			break;
		heap_set(i, S->heap[c]);
		i = c;
	}
	heap_set(i, m);
}

static void heap_push_locked(struct gosys_m *m)
{
	if (S->nwaiting == S->heapcap) {
		uint32_t cap = S->heapcap ? S->heapcap * 2 : 1024;
		long r = __gosys_syscall6(SYS_mmap, 0, cap * sizeof(void *), PROT_READ | PROT_WRITE,
					  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (GOSYS_IS_ERR(r))
			gosys_throw("out of memory growing the waiter heap");
		struct gosys_m **h = (struct gosys_m **)r;
		for (uint32_t i = 0; i < S->nwaiting; i++)
			h[i] = S->heap[i];
		if (S->heap)
			__gosys_syscall2(SYS_munmap, (long)S->heap, S->heapcap * sizeof(void *));
		S->heap = h;
		S->heapcap = cap;
	}
	m->seq = S->seq++;
	S->heap[S->nwaiting] = m;
	__atomic_store_n(&S->nwaiting, S->nwaiting + 1, __ATOMIC_SEQ_CST);
	heap_up(S->nwaiting - 1);
}

void gosys__heap_remove_locked(struct gosys_m *m)
{
	uint32_t i = (uint32_t)m->heapidx;
	uint32_t last = S->nwaiting - 1;
	m->heapidx = -1;
	__atomic_store_n(&S->nwaiting, last, __ATOMIC_SEQ_CST);
	if (i == last)
		return;
	heap_set(i, S->heap[last]);
	heap_up(i);
	heap_down((uint32_t)S->heap[i]->heapidx);
}

struct gosys_m *gosys__heap_top(void)
{
	return S->nwaiting ? S->heap[0] : NULL;
}

/* ---- handing Ps over ---------------------------------------------------- */

void gosys__pidle_put_locked(struct gosys_p *p)
{
	p->m = NULL;
	p->status = P_IDLE;
	p->link = S->pidle;
	S->pidle = p;
	S->npidle++;
}

struct gosys_p *gosys__pidle_get_locked(void)
{
	struct gosys_p *p = S->pidle;
	if (p) {
		S->pidle = p->link;
		S->npidle--;
		p->link = NULL;
	}
	return p;
}

/* Makes m the holder of p (the caller owns p, m is not running). */
void gosys__wirep_locked(struct gosys_p *p, struct gosys_m *m, int64_t now)
{
	p->m = m;
	__atomic_store_n(&p->status, P_RUNNING, __ATOMIC_RELAXED);
	p->acquired = now;
	p->schedtick++;
	p->sightings = 0;
	p->blocked_seen = 0;
	p->preempt_when = 0;
	__atomic_store_n(&m->p, p, __ATOMIC_RELAXED); /* a watching waiter reads it */
}

/* Lowers phigh past the dead Ps at its top: after a shrink from the
 * unbounded default (1024 Ps) the monitor's scans would otherwise walk
 * every P that was ever live, at each tick. */
void gosys__phigh_trim_locked(void)
{
	int32_t h = S->phigh;
	while (h > S->maxprocs && gosys__allp[h - 1].status == P_DEAD)
		h--;
	__atomic_store_n(&S->phigh, h, __ATOMIC_RELAXED);
}

struct gosys_m *gosys__releasep_locked(struct gosys_p *p, int64_t now)
{
	if (p->id >= S->maxprocs) {
		p->m = NULL;
		__atomic_store_n(&p->status, P_DEAD, __ATOMIC_RELAXED);
		S->nprocs_live--;
		gosys__phigh_trim_locked();
		return NULL;
	}
	if (S->nwaiting && !S->paced) {
		struct gosys_m *w = S->heap[0];
		gosys__heap_remove_locked(w);
		gosys__wirep_locked(p, w, now);
		__atomic_store_n(&w->status, M_RUNNING, __ATOMIC_RELEASE);
		S->handoffs++;
		/* A holder's tell sets w's note, or has set it: that is w's wake. */
		if (w->watch) {
			w->watch = 0;
			return NULL;
		}
		__atomic_add_fetch(&w->wakepending, 1, __ATOMIC_RELAXED);
		return w;
	}
	gosys__pidle_put_locked(p);
	return NULL;
}

/* steal_locked, and only from the call numbered tick (the M cannot enter
 * another while LOCKED: its exit waits for the lock bit). */
static int steal_call_locked(struct gosys_p *p, struct gosys_m *m, uint32_t expect,
			     uint32_t newstatus, const uint64_t *tick)
{
	uint32_t s = expect;
	if (!__atomic_compare_exchange_n(&m->status, &s, expect | M_LOCKED, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_RELAXED))
		return 0;
	if (m->p != p || (tick && __atomic_load_n(&m->tick, __ATOMIC_RELAXED) != *tick)) {
		__atomic_store_n(&m->status, expect, __ATOMIC_RELEASE);
		return 0;
	}
	__atomic_store_n(&m->p, NULL, __ATOMIC_RELAXED);
	p->m = NULL;
	/* It lost its P while blocked: it comes back as a returner. */
	SET_RETURNING(m, 1);
	__atomic_store_n(&m->status, newstatus, __ATOMIC_RELEASE);
	return 1;
}

int gosys__steal_locked(struct gosys_p *p, struct gosys_m *m, uint32_t expect, uint32_t newstatus)
{
	return steal_call_locked(p, m, expect, newstatus, NULL);
}

/* Wakes the M that a release chose, outside the lock. */
void gosys__wake_m(struct gosys_m *w)
{
	if (w) {
		gosys_notewakeup(&w->park);
		__atomic_sub_fetch(&w->wakepending, 1, __ATOMIC_RELEASE);
	}
}

/* A P for an M that needs one now: idle, or left attached to a BLOCKED M. */
static struct gosys_p *getp_now_locked(void)
{
	struct gosys_p *p = gosys__pidle_get_locked();
	if (p)
		return p;
	for (int i = 0; i < S->maxprocs; i++) {
		struct gosys_p *q = &gosys__allp[i];
		struct gosys_m *h = q->m;
		if (q->status == P_RUNNING && h &&
		    __atomic_load_n(&h->status, __ATOMIC_SEQ_CST) == M_BLOCKED &&
		    gosys__steal_locked(q, h, M_BLOCKED, M_BLOCKED)) {
			S->handoffs++; /* the eager M's P, taken as it would have given it */
			return q;
		}
	}
	return NULL;
}

/* Where a queueing M goes in I3's order (see the essay). */
static int64_t place_key_locked(int64_t cpu, int returning)
{
	if (returning > 1 && S->nwaiting) {
		/* Owed to a signal handler: ahead of every waiter, by a slice. */
		int64_t first = S->heap[0]->key - (int64_t)gosys__knobs.slice_ms * 1000000;
		return cpu < first ? cpu : first;
	}
	if (returning && S->nwaiting) {
		int64_t floor = S->heap[0]->key - (int64_t)gosys__knobs.slice_ms * 1000000;
		if (cpu < floor)
			cpu = floor;
	}
	return cpu;
}

/*
 * CFS wakeup preemption, done by the waker itself: a returning M that went to
 * the top of the heap asks the holder that has run longest to yield, if it
 * has had a granule more CPU, and signals it at once. The monitor does the
 * same at its next look; doing it here takes one kernel wake-up (the
 * monitor's) off the path of a request that arrives while compute-bound
 * threads hold every P.
 */
static struct gosys_p *wakeup_candidate_locked(struct gosys_m *m)
{
	if (S->heap[0] != m)
		return NULL;
	struct gosys_p *best = NULL;
	for (int i = 0; i < S->maxprocs; i++) {
		struct gosys_p *q = &gosys__allp[i];
		struct gosys_m *h = q->m;
		if (q->status != P_RUNNING || !h || q->preempt_when ||
		    __atomic_load_n(&h->status, __ATOMIC_RELAXED) != M_RUNNING)
			continue;
		if (!best || q->acquired < best->acquired)
			best = q;
	}
	return best;
}

static void wakeup_preempt(struct gosys_m *m, int64_t key, struct gosys_p *p, struct gosys_m *h,
			   uint64_t tick, int tid)
{
	int64_t cpu = gosys__thread_cpu(tid);
	if (cpu < 0 || key + (int64_t)gosys__knobs.granularity_us * 1000 >= cpu)
		return;
	int64_t now = gosys_nanotime();
	int sig = 0;
	gosys_lock(&S->lock);
	if (p->m == h && __atomic_load_n(&h->tick, __ATOMIC_RELAXED) == tick &&
	    __atomic_load_n(&h->status, __ATOMIC_RELAXED) == M_RUNNING &&
	    __atomic_load_n(&m->status, __ATOMIC_RELAXED) == M_WAITING && !p->preempt_when) {
		__atomic_or_fetch(&h->preempt, PREEMPT_SLICE, __ATOMIC_RELEASE);
		p->preempt_when = now - (int64_t)gosys__knobs.slice_ms * 1000000;
		p->preempt_tick = tick;
		sig = gosys__knobs.asyncpreempt;
	}
	gosys_unlock(&S->lock);
	if (sig)
		gosys__send_preempt(h, tid);
}

/*
 * Gets m a P: at once if one is free, else queue in I3's order and park until
 * a releaser hands one over. m holds no P. Returns with m RUNNING on its P.
 */
static void getp(struct gosys_m *m, int returning);

void gosys__m_getp(struct gosys_m *m, int returning)
{
	gosys__crit_enter(m);
	getp(m, returning);
	gosys__crit_exit(m);
}

/* The end of a run without a P (lock held). */
static void nop_end_locked(struct gosys_m *m, int64_t now)
{
	int64_t since = __atomic_load_n(&m->nop_since, __ATOMIC_RELAXED);
	if (since) {
		S->nop_ns += now - since;
		__atomic_store_n(&m->nop_since, 0, __ATOMIC_RELAXED);
	}
}

/*
 * The watch: a waiter takes a lazy call's P itself. The monitor's retake
 * needs two looks, and on a VM each of its timed 20 us sleeps takes 40 to
 * 60 us and an idle CPU's wake-up as much again; the waiter's own wake-up
 * comes on top (issue 11: p99 0.3 to 0.5 ms from a block to the waiter's
 * run, against 0.25). A waiter is awake when it queues, and a holder that
 * enters a lazy call knows it has entered one, so:
 *  - a waiter that queues while a holder is in a lazy call spins, at most
 *    WATCH_NS, on that call's tick and status; if the call still runs then
 *    it takes the P, as the monitor's second look would (the call is known
 *    to be WATCH_NS old, which is what two looks a tick apart prove);
 *  - a waiter that queues while a holder runs user code sets PREEMPT_TELL on
 *    the holder, whose next entry then goes the slow way; if it is a lazy
 *    call, the holder records its entry time and wakes the first waiter
 *    (one futex wake, no timer), which watches that call up to its entry
 *    time + WATCH_NS and takes the P as above.
 * A watch that sees the call end first is a miss: the holder's calls are
 * short, and the spin and the wake were for nothing. After WATCH_MISSES more
 * misses than hits no watch begins for WATCH_REST_NS (then one probes);
 * a program of short calls pays one wake and a short spin per rest. The
 * monitor goes on looking as before, and whichever comes first takes the P
 * (both by the holder's status CAS).
 */
#define WATCH_NS 20000		/* Go's sysmon: the shortest age of a call it retakes */
#define WATCH_MISSES 8
#define WATCH_REST_NS 5000000

struct watch {
	struct gosys_p *p;
	struct gosys_m *h;
	uint64_t tick;
	int64_t due;
};

static int watch_allowed_locked(int64_t now)
{
	return !S->paced && (S->watch_misses < WATCH_MISSES || now >= S->watch_after);
}

static void watch_result_locked(int hit, int64_t now)
{
	/* Atomic stores: a test reads them. */
	int32_t n = S->watch_misses;
	if (hit)
		n = n > WATCH_MISSES / 2 ? n - WATCH_MISSES / 2 : 0;
	else if (n < WATCH_MISSES)
		n++;
	__atomic_store_n(&S->watch_misses, n, __ATOMIC_RELAXED);
	if (!hit && n >= WATCH_MISSES)
		__atomic_store_n(&S->watch_after, now + WATCH_REST_NS, __ATOMIC_RELAXED);
}

/* The lazy call p's holder is in now, as a watch target (lock held). */
static int watch_target_locked(struct gosys_p *p, int64_t now, struct watch *t)
{
	struct gosys_m *h = p ? p->m : NULL;
	if (!h || p->status != P_RUNNING || __atomic_load_n(&h->status, __ATOMIC_RELAXED) != M_SYSCALL)
		return 0;
	t->p = p;
	t->h = h;
	t->tick = __atomic_load_n(&h->tick, __ATOMIC_RELAXED);
	t->due = (h->told_tick == t->tick ? h->told_ns : now) + WATCH_NS;
	return 1;
}

/* m, queued for a P, watches t until it is due or m has a P. */
static void watch_call(struct gosys_m *m, const struct watch *t)
{
	int hit = 0;
	for (;;) {
		if (__atomic_load_n(&m->status, __ATOMIC_ACQUIRE) != M_WAITING)
			return; /* a P came: neither a hit nor a miss */
		if (__atomic_load_n(&t->h->tick, __ATOMIC_RELAXED) != t->tick ||
		    __atomic_load_n(&t->h->status, __ATOMIC_RELAXED) != M_SYSCALL)
			break;
		if (gosys_nanotime() >= t->due) {
			hit = 1;
			break;
		}
		/* The tell's wake may have put us on the holder's CPU, ahead of
		 * it: then its call seems to last because we run. Yield to it. */
		__gosys_syscall0(SYS_sched_yield);
	}
	int64_t now = gosys_nanotime();
	struct gosys_m *w = NULL;
	gosys_lock(&S->lock);
	if (__atomic_load_n(&m->status, __ATOMIC_RELAXED) != M_WAITING) {
		gosys_unlock(&S->lock);
		return;
	}
	if (hit && !S->paced && steal_call_locked(t->p, t->h, M_SYSCALL, M_BLOCKED, &t->tick)) {
		S->retakes++;
		S->watch_retakes++;
		w = gosys__releasep_locked(t->p, now);
	} else {
		hit = 0;
	}
	watch_result_locked(hit, now);
	/* Not woken for us at the queueing (it would have shared a CPU with
	 * our spin): the monitor, for what the watch did not settle. */
	if (!hit || S->nwaiting)
		gosys__sysmon_wake_locked(1, 0);
	gosys_unlock(&S->lock);
	gosys__wake_m(w);
}

/* m, in a lazy call it has just entered (M_SYSCALL, holding its P), wakes
 * the first waiter to watch it. */
static void tell_waiter(struct gosys_m *m)
{
	int64_t now = gosys_nanotime();
	struct gosys_m *w = NULL;
	gosys_lock(&S->lock);
	if (S->nwaiting && m->p && watch_allowed_locked(now) && !S->heap[0]->watch) {
		w = S->heap[0];
		w->watch = 1;
		w->watch_p = m->p;
		m->told_ns = now;
		m->told_tick = m->tick;
		__atomic_add_fetch(&w->wakepending, 1, __ATOMIC_RELAXED);
	}
	gosys_unlock(&S->lock);
	if (w) {
		gosys_notewakeup(&w->park);
		__atomic_sub_fetch(&w->wakepending, 1, __ATOMIC_RELEASE);
	}
}

/*
 * m's park: woken with a P, or by a holder's tell to watch its call. m is
 * marked parked (a deferred program signal then boosts it, taking the lock:
 * signal.c's defer) only while it sleeps: the watch takes the lock, and a
 * signal deferred under that hold would wait for it on its own thread
 * (seen: test_sched_signal's watch case hung in one run of a few).
 */
static void park(struct gosys_m *m, const struct watch *first)
{
	struct watch t;
	if (first)
		watch_call(m, first);
	for (;;) {
		__atomic_store_n(&m->parked, 1, __ATOMIC_RELAXED);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		gosys_notesleep(&m->park);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		__atomic_store_n(&m->parked, 0, __ATOMIC_RELAXED);
		if (__atomic_load_n(&m->p, __ATOMIC_ACQUIRE))
			return;
		int64_t now = gosys_nanotime();
		gosys_lock(&S->lock);
		if (m->p) { /* given while the tell's wake was on its way */
			gosys_unlock(&S->lock);
			return;
		}
		GOSYS_DASSERT(m->watch);
		m->watch = 0;
		gosys_noteclear(&m->park);
		int ok = watch_target_locked(m->watch_p, now, &t);
		if (!ok) /* the told call was over before we could look */
			watch_result_locked(0, now);
		gosys_unlock(&S->lock);
		if (ok)
			watch_call(m, &t);
	}
}

static void getp(struct gosys_m *m, int returning)
{
	int64_t cpu = gosys__thread_cpu(0);
	int64_t now = gosys_nanotime();
	gosys_lock(&S->lock);
	nop_end_locked(m, now);
	if (m->transit) {
		m->transit = 0;
		S->ntransit--;
	}
	if (S->nwaiting == 0 && !S->paced) {
		struct gosys_p *p = getp_now_locked();
		if (p) {
			gosys__wirep_locked(p, m, now);
			__atomic_store_n(&m->status, M_RUNNING, __ATOMIC_RELEASE);
			gosys_unlock(&S->lock);
			return;
		}
	}
	gosys_noteclear(&m->park);
	/* A thread running (or owed) a program handler goes first, once. */
	int urgent = (int)__atomic_exchange_n(&m->urgent, 0, __ATOMIC_RELAXED);
	m->key = place_key_locked(cpu, urgent ? 2 : returning);
	SET_RETURNING(m, (uint32_t)returning);
	__atomic_store_n(&m->status, M_WAITING, __ATOMIC_RELAXED);
	if (S->nwaiting == 0)
		S->contended_since = now;
	heap_push_locked(m); /* seq_cst: pairs with entersyscallblock's exchange */
	/* Anything left attached to a BLOCKED M belongs to the first waiter now. */
	struct gosys_m *w = NULL;
	struct gosys_p *p = S->paced ? NULL : getp_now_locked();
	if (p)
		w = gosys__releasep_locked(p, now);
	/* Each holder's current call counts as the monitor's first sighting.
	 * A holder in a lazy call is watched; one in user code is told to
	 * tell (the watch, above). */
	int in_call = 0;
	int watching = 0, may_watch = watch_allowed_locked(now);
	struct watch first;
	for (int i = 0; i < S->maxprocs; i++) {
		struct gosys_p *q = &gosys__allp[i];
		struct gosys_m *h = q->m;
		if (q->status != P_RUNNING || !h)
			continue;
		uint64_t t = __atomic_load_n(&h->tick, __ATOMIC_RELAXED);
		uint32_t st = __atomic_load_n(&h->status, __ATOMIC_RELAXED);
		in_call |= st == M_SYSCALL;
		if (may_watch && st == M_RUNNING)
			__atomic_or_fetch(&h->preempt, PREEMPT_TELL, __ATOMIC_RELEASE);
		else if (may_watch && st == M_SYSCALL && !watching)
			watching = watch_target_locked(q, now, &first);
		if (q->sight_m != h || q->sight_tick != t || q->sight_status != st) {
			q->sight_m = h;
			q->sight_tick = t;
			q->sight_status = st;
			q->sightings = 1;
		}
	}
	if (w == m) { /* the P we found went to the top waiter: ourselves */
		__atomic_sub_fetch(&m->wakepending, 1, __ATOMIC_RELEASE);
		gosys_unlock(&S->lock);
		return;
	}
	S->parks++;
	if (S->heap[0] != m)
		watching = 0; /* the first waiter watches; the P would go to it */
	if (!watching) /* else watch_call wakes it if the watch does not settle it */
		gosys__sysmon_wake_locked(1, in_call);
	struct gosys_p *cp = returning ? wakeup_candidate_locked(m) : NULL;
	struct gosys_m *cm = cp ? cp->m : NULL;
	uint64_t ctick = cm ? __atomic_load_n(&cm->tick, __ATOMIC_RELAXED) : 0;
	int ctid = cm ? cm->tid : 0;
	int64_t key = m->key;
	gosys_unlock(&S->lock);
	gosys__wake_m(w);
	if (cp)
		wakeup_preempt(m, key, cp, cm, ctick, ctid);
	park(m, watching ? &first : NULL);
	GOSYS_DASSERT(m->p != NULL);
}

/*
 * A program signal was deferred on m while it waits for a P (called from
 * the trampoline on m itself, parked: it holds no lock; defer() clears
 * m->parked meanwhile, so a signal deferred under our lock hold does not
 * call us again). The handler is user
 * code owed to the program, and others may be waiting on it (a stop-the-
 * world's acknowledgement): m is placed as a thread woken from a block is,
 * ahead of compute-bound waiters, and the longest-running holder is asked to
 * yield if m has had a granule less CPU.
 */
void gosys__sig_boost(struct gosys_m *m)
{
	int64_t cpu = gosys__thread_cpu(0);
	gosys_lock(&S->lock);
	if (__atomic_load_n(&m->status, __ATOMIC_RELAXED) != M_WAITING || m->heapidx < 0 ||
	    (gosys_noteisset(&m->park) && !m->watch)) {
		gosys_unlock(&S->lock);
		return;
	}
	__atomic_store_n(&m->urgent, 0, __ATOMIC_RELAXED);
	int64_t key = place_key_locked(cpu, 2);
	if (key < m->key) {
		m->key = key;
		heap_up((uint32_t)m->heapidx);
	}
	SET_RETURNING(m, 1);
	struct gosys_p *cp = wakeup_candidate_locked(m);
	struct gosys_m *cm = cp ? cp->m : NULL;
	uint64_t ctick = cm ? __atomic_load_n(&cm->tick, __ATOMIC_RELAXED) : 0;
	int ctid = cm ? cm->tid : 0;
	key = m->key;
	gosys_unlock(&S->lock);
	if (cp)
		wakeup_preempt(m, key, cp, cm, ctick, ctid);
}

/* m gives its P to the first waiter (or the idle list) and queues behind it
 * by its own CPU: a preempted or yielding M is not a returning one. */
static void yield_p(struct gosys_m *m)
{
	int64_t now = gosys_nanotime();
	gosys__crit_enter(m);
	gosys_lock(&S->lock);
	struct gosys_p *p = m->p;
	if (!p || (S->nwaiting == 0 && !S->paced && p->id < S->maxprocs)) {
		gosys_unlock(&S->lock);
		gosys__crit_exit(m);
		return;
	}
	m->p = NULL;
	p->m = NULL;
	__atomic_store_n(&m->status, M_BLOCKED, __ATOMIC_RELEASE);
	struct gosys_m *w = gosys__releasep_locked(p, now);
	/* Until it queues, this M counts as waiting for the monitor: the heap
	 * may be empty for that instant, and a deep sleep begun then would be
	 * undone by the queueing at once (a wake-up and the shortest tick at
	 * every yield of a program that yields all the time). */
	m->transit = 1;
	S->ntransit++;
	gosys_unlock(&S->lock);
	gosys__wake_m(w);
	getp(m, 0);
	gosys__crit_exit(m);
}

/* yield_p, timed for the stats (stats.c) when they are on. */
static void stats_yield(struct gosys_m *m)
{
	if (GOSYS_LIKELY(!gosys__stats_on)) {
		yield_p(m);
		return;
	}
	int64_t t = gosys__stats_now();
	yield_p(m);
	gosys__stats_yield_wait(gosys__stats_now() - t);
}

/* ---- entering and leaving calls ---------------------------------------- */

/* A call that finds m->incall set: a signal handler's call inside ours
 * (nested: its frame is below ours by more than GOSYS_ENTRY_SP_MARGIN, or on
 * the alternate stack), or the first call after a longjmp out of such a
 * handler (stale: finish the old call). */
static int is_nested(struct gosys_m *m, uintptr_t sp)
{
	if (m->vfork)
		return 1;
	if (sp < m->entry_sp - GOSYS_ENTRY_SP_MARGIN)
		return 1;
	stack_t ss;
	if (__gosys_syscall2(SYS_sigaltstack, 0, (long)&ss) == 0 && (ss.ss_flags & SS_ONSTACK))
		return 1;
	return 0;
}

void gosys__exit_outermost(struct gosys_m *m);

/* m, BLOCKED, gives its P (if still attached) to the first waiter. Inside a
 * critical section: the wake is owed before any program handler runs. */
static void handoff_blocked(struct gosys_m *m)
{
	int64_t now = gosys_nanotime();
	gosys_lock(&S->lock);
	struct gosys_p *p = m->p;
	struct gosys_m *w = NULL;
	if (p && gosys__steal_locked(p, m, M_BLOCKED, M_BLOCKED))
		w = gosys__releasep_locked(p, now);
	gosys_unlock(&S->lock);
	gosys__wake_m(w);
}

/*
 * An eager call made by a signal handler inside a lazy call of its thread's
 * (the outer call keeps the P while the handler blocks): it releases the P
 * as the outer call would have if it had been eager. The outer exit takes
 * BLOCKED as well as SYSCALL, and finds m->p gone.
 */
static void nested_block(struct gosys_m *m)
{
	uint32_t s = M_SYSCALL;
	if (m->vfork ||
	    !__atomic_compare_exchange_n(&m->status, &s, M_BLOCKED, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_RELAXED))
		return;
	SET_RETURNING(m, 1);
	if (__atomic_load_n(&S->nwaiting, __ATOMIC_SEQ_CST) == 0)
		return;
	handoff_blocked(m);
}

/* Everything the fast path does not handle. kind: 0 lazy, 1 eager. Inside a
 * critical section: the program's handlers wait until the call is entered. */
static void enter_slow_crit(struct gosys_m *m, int kind, uintptr_t sp)
{
	if (m->incall) {
		if (is_nested(m, sp)) {
			SET_INCALL(m, m->incall + 1);
			if (kind)
				nested_block(m);
			return;
		}
		SET_INCALL(m, 1);
		gosys__exit_outermost(m); /* repair what the longjmp abandoned */
	}
	SET_INCALL(m, 1);
	m->entry_sp = sp;
	m->eintr_ours = 0;
	__atomic_store_n(&m->tick, m->tick + 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&m->status, __ATOMIC_ACQUIRE) != M_RUNNING ||
	    !__atomic_load_n(&m->p, __ATOMIC_ACQUIRE)) {
		/* The monitor took the P while we were blocked outside the library. */
		gosys_lock(&S->lock);
		nop_end_locked(m, gosys_nanotime());
		__atomic_and_fetch(&m->preempt, ~(uint32_t)PREEMPT_SLICE, __ATOMIC_RELAXED);
		if (!__atomic_load_n(&m->p, __ATOMIC_ACQUIRE)) {
			SET_RETURNING(m, 1);
			__atomic_store_n(&m->status, M_BLOCKED, __ATOMIC_RELEASE);
			gosys_unlock(&S->lock);
			return; /* the call runs without a P; exit queues for one */
		}
		__atomic_store_n(&m->status, M_RUNNING, __ATOMIC_RELEASE);
		gosys_unlock(&S->lock);
	}
	uint32_t pre = __atomic_load_n(&m->preempt, __ATOMIC_ACQUIRE);
	int tell = 0;
	if (pre & PREEMPT_TELL) {
		pre = __atomic_and_fetch(&m->preempt, ~(uint32_t)PREEMPT_TELL, __ATOMIC_RELAXED);
		tell = !kind;
	}
	if (pre || kind || __atomic_load_n(&S->nwaiting, __ATOMIC_RELAXED)) {
		if (!pre && !kind) { /* lazy with waiters: keep the P, the monitor decides */
			__atomic_store_n(&m->status, M_SYSCALL, __ATOMIC_RELEASE);
			if (tell) /* ... or the first waiter, told of the call (the watch) */
				tell_waiter(m);
			return;
		}
		/* Eager, or a preemption request: the P goes to the first waiter now. */
		int64_t now = gosys_nanotime();
		gosys_lock(&S->lock);
		pre = __atomic_exchange_n(&m->preempt, 0, __ATOMIC_RELAXED);
		if (pre & PREEMPT_SLICE)
			S->preempts++;
		struct gosys_p *p = m->p;
		m->p = NULL;
		p->m = NULL;
		__atomic_store_n(&m->status, M_BLOCKED, __ATOMIC_RELEASE);
		struct gosys_m *w = gosys__releasep_locked(p, now);
		/* A preempted M comes back by its own CPU, not as a returning one. */
		SET_RETURNING(m, !(pre & (PREEMPT_SLICE | PREEMPT_DEAD)));
		gosys_unlock(&S->lock);
		gosys__wake_m(w);
		return;
	}
	__atomic_store_n(&m->status, M_SYSCALL, __ATOMIC_RELEASE);
}

static GOSYS_NOINLINE void enter_slow(int kind, uintptr_t sp)
{
	struct gosys_m *m = gosys__curm;
	if (gosys__nosched)
		return;
	if (!m && !(m = gosys__m_register()))
		return;
	gosys__crit_enter(m);
	enter_slow_crit(m, kind, sp);
	gosys__crit_exit(m); /* in the call now: deferred handlers run here */
}

void gosys__entersyscall(void)
{
	struct gosys_m *m = gosys__curm;
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	if (GOSYS_LIKELY(gosys__enter_fast(m, sp))) {
		if (GOSYS_UNLIKELY(gosys__enter_lazy_store(m)))
			gosys__sig_flush_slow(m); /* a handler that landed before the store */
		return;
	}
	enter_slow(0, sp);
}

void gosys__entersyscallblock(void)
{
	struct gosys_m *m = gosys__curm;
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	if (GOSYS_LIKELY(gosys__enter_fast(m, sp))) {
		SET_RETURNING(m, 1);
		__atomic_exchange_n(&m->status, M_BLOCKED, __ATOMIC_SEQ_CST);
		if (GOSYS_LIKELY(__atomic_load_n(&S->nwaiting, __ATOMIC_SEQ_CST) == 0)) {
			gosys__sig_flush(m);
			return;
		}
		/* Someone waits: hand the P over now, unless a waiter stole it. */
		gosys__crit_enter(m);
		handoff_blocked(m);
		gosys__crit_exit(m);
		return;
	}
	enter_slow(1, sp);
}

/* The end of the outermost call (m->incall == 1): get back to RUNNING on a P. */
void gosys__exit_outermost(struct gosys_m *m)
{
	gosys__crit_enter(m);
	for (;;) {
		uint32_t s = __atomic_load_n(&m->status, __ATOMIC_ACQUIRE);
		if (s & M_LOCKED) {
			__gosys_cpu_relax();
			continue;
		}
		if ((s == M_SYSCALL || s == M_BLOCKED || s == M_NOP) &&
		    !__atomic_compare_exchange_n(&m->status, &s, M_RUNNING, false,
						 __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
			continue;
		break;
	}
	if (!__atomic_load_n(&m->p, __ATOMIC_ACQUIRE))
		getp(m, (int)__atomic_load_n(&m->returning, __ATOMIC_RELAXED));
	SET_INCALL(m, 0);
	gosys__crit_exit(m); /* back in user code: deferred handlers run here */
}

static GOSYS_NOINLINE void exit_slow(struct gosys_m *m)
{
	if (gosys__nosched)
		return;
	if (!m) {
		gosys__m_register();
		return;
	}
	if (m->incall > 1) {
		SET_INCALL(m, m->incall - 1);
		return;
	}
	if (m->vfork)
		return;
	if (m->incall == 0) {
		/* Not in a call: only a P taken while blocked outside needs repair. */
		if (__atomic_load_n(&m->status, __ATOMIC_ACQUIRE) == M_RUNNING &&
		    __atomic_load_n(&m->p, __ATOMIC_ACQUIRE))
			return;
		SET_INCALL(m, 1);
		SET_RETURNING(m, 1);
	}
	if (GOSYS_UNLIKELY(gosys__stats_on)) { /* stats.c: the wait for a P, by class */
		int64_t t = gosys__stats_now();
		gosys__exit_outermost(m);
		gosys__stats_exit_wait(gosys__stats_now() - t);
		return;
	}
	gosys__exit_outermost(m);
}

void gosys__exitsyscall(void)
{
	struct gosys_m *m = gosys__curm;
	if (GOSYS_LIKELY(m && m->incall == 1)) {
		uint32_t s = __atomic_load_n(&m->status, __ATOMIC_RELAXED);
		int done = (s == M_SYSCALL || s == M_BLOCKED) ? gosys__exit_fast(m, s) : 0;
		if (GOSYS_LIKELY(done)) {
			if (GOSYS_UNLIKELY(done == 2))
				gosys__sig_flush_slow(m); /* a handler that landed after the CAS */
			return;
		}
	}
	exit_slow(m);
}

GOSYS_API void gosys_entersyscall(void) __attribute__((alias("gosys__entersyscall")));
GOSYS_API void gosys_entersyscallblock(void) __attribute__((alias("gosys__entersyscallblock")));
GOSYS_API void gosys_exitsyscall(void) __attribute__((alias("gosys__exitsyscall")));

int gosys__eintr_was_ours(void)
{
	struct gosys_m *m = gosys__curm;
	if (!m || !m->eintr_ours)
		return 0;
	uint32_t v = m->eintr_ours;
	m->eintr_ours = 0;
	/* Ours alone: a program handler that ran in the call may be why it
	 * returned EINTR, and then the program must see it. */
	return v == EINTR_OURS;
}

/* The preemption signal handler, on the signalled thread: 1 if the signal was
 * the monitor's (then it parks here, or marks an interrupted call). */
GOSYS_HIDDEN int gosys__preempt_signal_taken(void);
static void preempt_here(struct gosys_m *m);
int gosys__preempt_signal_taken(void)
{
	struct gosys_m *m = gosys__curm;
	if (!m || !__atomic_exchange_n(&m->sigpending, 0, __ATOMIC_ACQ_REL))
		return 0;
	if (m->incall || m->crit)
		m->eintr_ours |= EINTR_OURS; /* it may have cut a call short: the wrapper redoes it */
	else
		preempt_here(m);
	return 1;
}

/* In user code, from the preemption signal: a holder asked to yield gives
 * its P up and queues; an M running without a P (NOP: the monitor took it
 * while it was blocked where we cannot see, and it never called us again)
 * queues for one. Either way it returns holding a P, under the bound. */
static void preempt_here(struct gosys_m *m)
{
	if (gosys__nosched || m->vfork)
		return;
	uint32_t st = __atomic_load_n(&m->status, __ATOMIC_ACQUIRE);
	int nop = st != M_RUNNING || !__atomic_load_n(&m->p, __ATOMIC_ACQUIRE);
	uint32_t pre = __atomic_load_n(&m->preempt, __ATOMIC_ACQUIRE);
	if (!nop && !(pre & (PREEMPT_SLICE | PREEMPT_DEAD)))
		return;
	SET_INCALL(m, 1);
	m->entry_sp = (uintptr_t)__builtin_frame_address(0);
	__atomic_store_n(&m->tick, m->tick + 1, __ATOMIC_RELAXED);
	if (nop) {
		__atomic_add_fetch(&S->nop_reclaims, 1, __ATOMIC_RELAXED);
		SET_RETURNING(m, 1);
		gosys__exit_outermost(m); /* queues for a P, ends the call */
		return;
	}
	gosys__crit_enter(m);
	gosys_lock(&S->lock);
	__atomic_and_fetch(&m->preempt, ~(uint32_t)(PREEMPT_SLICE | PREEMPT_DEAD), __ATOMIC_RELAXED);
	S->async_preempts++;
	gosys_unlock(&S->lock);
	stats_yield(m);
	SET_INCALL(m, 0);
	gosys__crit_exit(m);
}

GOSYS_API void gosys_gosched(void)
{
	struct gosys_m *m = gosys__curm;
	if (!m) {
		gosys__m_register();
		return;
	}
	if (gosys__nosched || m->incall || m->vfork || m->crit)
		return;
	__atomic_store_n(&m->tick, m->tick + 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&m->status, __ATOMIC_ACQUIRE) != M_RUNNING ||
	    !__atomic_load_n(&m->p, __ATOMIC_ACQUIRE)) {
		SET_INCALL(m, 1);
		m->entry_sp = (uintptr_t)__builtin_frame_address(0);
		SET_RETURNING(m, 1);
		gosys__exit_outermost(m);
		return;
	}
	uint32_t pre = __atomic_load_n(&m->preempt, __ATOMIC_ACQUIRE);
	if (!pre && __atomic_load_n(&S->nwaiting, __ATOMIC_RELAXED) == 0)
		return;
	gosys__crit_enter(m);
	SET_INCALL(m, 1);
	m->entry_sp = (uintptr_t)__builtin_frame_address(0);
	if (pre) {
		gosys_lock(&S->lock);
		__atomic_and_fetch(&m->preempt, ~(uint32_t)(PREEMPT_SLICE | PREEMPT_DEAD), __ATOMIC_RELAXED);
		if (pre & PREEMPT_SLICE)
			S->preempts++;
		gosys_unlock(&S->lock);
	}
	stats_yield(m);
	SET_INCALL(m, 0);
	gosys__crit_exit(m);
}
