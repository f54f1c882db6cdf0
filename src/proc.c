/* SPDX-License-Identifier: MIT */
/*
 * proc.c - the life of an M and the scheduler's public knobs: start-up,
 * registration, thread exit, vfork and fork, gosys_maxprocs and
 * gosys_schedstats. Runs on program threads only (never on the monitor).
 */
#include "sched_internal.h"
#include <errno.h>
#include <pthread.h>
#include <sys/syscall.h>

#define S (&gosys__sched)

static pthread_key_t m_key;	/* destructor: thread exit; set once at init */
static uint32_t init_state;	/* 0 not started, 1 running, 2 done; atomic */
static int32_t init_tid;	/* the thread running init; atomic */

/* ---- registration and start-up ----------------------------------------- */

static void m_destructor(void *arg);
static void fork_prepare(void);
static void fork_parent(void);
static void fork_child(void);

static struct gosys_m *m_new_locked(void)
{
	struct gosys_m *m = gosys__m_alloc_locked();
	__atomic_store_n(&m->tid, gosys__gettid(), __ATOMIC_RELAXED);
	return m;
}

static void m_publish(struct gosys_m *m)
{
	gosys__curm = m;
	pthread_setspecific(m_key, m);
}

/* Registers the calling thread and admits it (it returns holding a P). */
struct gosys_m *gosys__m_register(void)
{
	gosys__init();
	if (gosys__curm || gosys__nosched)
		return gosys__curm;
	/* No M yet, so no deferral: a handler's own call here would register
	 * again and wait for the lock its thread holds. Two syscalls, once in
	 * the life of a thread. */
	uint64_t all = ~0ULL, old;
	__gosys_syscall4(SYS_rt_sigprocmask, SIG_BLOCK, (long)&all, (long)&old, 8);
	gosys_lock(&S->lock);
	struct gosys_m *m = m_new_locked();
	gosys_unlock(&S->lock);
	SET_INCALL(m, 1); /* a handler's calls during admission are no-ops */
	m->entry_sp = (uintptr_t)__builtin_frame_address(0);
	gosys__crit_enter(m); /* and the handlers wait until it has a P */
	m_publish(m);
	__gosys_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, (long)&old, 0, 8);
	gosys__m_getp(m, 1);
	SET_INCALL(m, 0);
	gosys__crit_exit(m);
	return m;
}

__attribute__((constructor(101))) void gosys__init(void)
{
	uint32_t st = __atomic_load_n(&init_state, __ATOMIC_ACQUIRE);
	if (GOSYS_LIKELY(st == 2))
		return;
	st = 0;
	if (!__atomic_compare_exchange_n(&init_state, &st, 1, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		if (__atomic_load_n(&init_tid, __ATOMIC_RELAXED) == gosys__gettid())
			return; /* re-entered from inside init itself */
		while (__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) != 2)
			__gosys_syscall0(SYS_sched_yield);
		return;
	}
	__atomic_store_n(&init_tid, gosys__gettid(), __ATOMIC_RELAXED);
	gosys__knobs_init();
	gosys__vdso_init();
	gosys__stats_init();
	S->start_ns = gosys_nanotime();
	/* The CPU limit, read once if maxprocs or pacing needs it. */
	int given = gosys__knobs.pacecpus;
	int aff = gosys__affinity_cpus();
	int n = gosys__knobs.maxprocs;
	int milli = n <= 0 || (gosys__knobs.quotapace > 0 && given <= 0)
			    ? gosys__cgroup_cpu_milli("") : 0;
	if (n > 0)
		__atomic_store_n(&S->explicit_maxprocs, 1, __ATOMIC_RELAXED);
	else
		n = gosys__maxprocs_bound(milli, aff, given > 0);
	if (n > GOSYS_MAXPROCS_LIMIT)
		n = GOSYS_MAXPROCS_LIMIT;
	S->maxprocs = n;
	S->nprocs_live = n;
	S->phigh = n;
	for (int i = GOSYS_MAXPROCS_LIMIT - 1; i >= 0; i--) {
		struct gosys_p *p = &gosys__allp[i];
		p->id = i;
		if (i < n)
			gosys__pidle_put_locked(p);
		else
			p->status = P_DEAD;
	}
	pthread_key_create(&m_key, m_destructor);
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	if (gosys__knobs.asyncpreempt)
		gosys__preempt_install();
	/* The thread running the constructors is running user code: admit it. */
	struct gosys_m *m = m_new_locked();
	gosys__wirep_locked(gosys__pidle_get_locked(), m, gosys_nanotime());
	__atomic_store_n(&m->status, M_RUNNING, __ATOMIC_RELAXED);
	m_publish(m);
	/* Under a CPU quota below the CPUs allowed, the monitor paces the process
	 * from the start: a program with no more threads than Ps would otherwise
	 * never start it and meet the kernel's throttling instead. (A fork child
	 * starts it at its first wait, like any other process.) schedtrace's
	 * lines are the monitor's: with it on, the monitor starts now, and in
	 * a fork child at once. */
	if (gosys__pace_rate(given > 0 ? given : milli, given > 0, aff) > 0 ||
	    gosys__knobs.schedtrace_ms > 0) {
		gosys__crit_enter(m);
		gosys_lock(&S->lock);
		gosys__sysmon_wake_locked(1, 0);
		gosys_unlock(&S->lock);
		gosys__crit_exit(m);
	}
	__atomic_store_n(&init_state, 2, __ATOMIC_RELEASE);
}

/* ---- maxprocs, stats ----------------------------------------------------- */

void gosys__set_maxprocs_locked(int n, int64_t now, struct gosys_m **wake, int *nwake, int maxwake)
{
	if (n > GOSYS_MAXPROCS_LIMIT)
		n = GOSYS_MAXPROCS_LIMIT;
	if (n < 1)
		n = 1;
	S->maxprocs = n;
	if (n > S->phigh)
		__atomic_store_n(&S->phigh, n, __ATOMIC_RELAXED);
	/* Shrink: idle Ps beyond n die now, held ones at their holder's next entry. */
	struct gosys_p **pp = &S->pidle;
	while (*pp) {
		struct gosys_p *p = *pp;
		if (p->id >= n) {
			*pp = p->link;
			p->link = NULL;
			p->status = P_DEAD;
			S->npidle--;
			S->nprocs_live--;
		} else {
			pp = &p->link;
		}
	}
	for (int i = n; i < S->phigh; i++) {
		struct gosys_p *p = &gosys__allp[i];
		struct gosys_m *h = p->m;
		if (p->status != P_RUNNING || !h)
			continue;
		/* A holder inside a call loses it now; one in user code at its next entry. */
		if (gosys__steal_locked(p, h, M_SYSCALL, M_BLOCKED) ||
		    gosys__steal_locked(p, h, M_BLOCKED, M_BLOCKED)) {
			gosys__releasep_locked(p, now);
		} else {
			__atomic_or_fetch(&h->preempt, PREEMPT_DEAD, __ATOMIC_RELEASE);
		}
	}
	gosys__phigh_trim_locked();
	/* Grow: new Ps go to waiters first. */
	for (int i = 0; i < n; i++) {
		struct gosys_p *p = &gosys__allp[i];
		if (p->status != P_DEAD)
			continue;
		S->nprocs_live++;
		struct gosys_m *w = gosys__releasep_locked(p, now);
		if (w) {
			if (*nwake >= maxwake)
				gosys_throw("set_maxprocs: wake list overflow");
			wake[(*nwake)++] = w;
		}
	}
}

GOSYS_API int gosys_maxprocs(int n)
{
	if (!gosys__curm && !gosys__nosched)
		gosys__m_register();
	else
		gosys__init();
	struct gosys_m *wake[GOSYS_MAXPROCS_LIMIT];
	int nwake = 0;
	struct gosys_m *m = gosys__curm;
	uint32_t incall = m ? m->incall : 0;
	if (m) { /* keep our own preemption handler out while we hold the lock */
		gosys__crit_enter(m); /* and the program's */
		SET_INCALL(m, incall + 1);
		/* An entry: the monitor must not read a wait for this lock as a
		 * holder blocked in user code on two looks with the same tick. */
		__atomic_store_n(&m->tick, m->tick + 1, __ATOMIC_RELAXED);
	}
	gosys_lock(&S->lock);
	int old = S->maxprocs;
	if (n > 0) {
		__atomic_store_n(&S->explicit_maxprocs, 1, __ATOMIC_RELAXED);
		gosys__set_maxprocs_locked(n, gosys_nanotime(), wake, &nwake,
					   GOSYS_MAXPROCS_LIMIT);
		gosys__sysmon_wake_locked(0, 1);
	}
	gosys_unlock(&S->lock);
	for (int i = 0; i < nwake; i++)
		gosys__wake_m(wake[i]);
	if (m) {
		SET_INCALL(m, incall);
		gosys__crit_exit(m);
	}
	return old;
}

int gosys__maxprocs_now(void)
{
	gosys__init();
	return __atomic_load_n(&S->maxprocs, __ATOMIC_RELAXED);
}

/* The snapshot itself (lock held; touches no TLS: the monitor's schedtrace
 * lines are made from it too, src/trace.c). */
void gosys__schedstats_locked(struct gosys_schedstats *s)
{
	int32_t running = 0;
	for (int i = 0; i < S->phigh; i++)
		running += gosys__allp[i].status == P_RUNNING;
	s->maxprocs = S->nprocs_live;
	s->idleprocs = S->npidle;
	s->threads = S->nthreads;
	s->running = running;
	s->waiting = (int32_t)S->nwaiting;
	s->monitor = S->sysmon_started ? 1 : 0;
	s->handoffs = S->handoffs;
	s->retakes = S->retakes;
	s->blocked_retakes = S->blocked_retakes;
	s->preempts = S->preempts;
	s->async_preempts = S->async_preempts;
	s->parks = S->parks;
	s->nop_runs = S->nop_runs;
	s->monitor_ticks = S->monitor_ticks;
	s->paces = S->paces;
	s->paced_ns = S->paced_ns + (S->paced ? gosys_nanotime() - S->pace_since : 0);
	s->pace_millicpus = S->pace_milli;
	s->paced = (int32_t)S->paced;
	s->nop_ns = (uint64_t)S->nop_ns;
	s->nop_reclaims = __atomic_load_n(&S->nop_reclaims, __ATOMIC_RELAXED);
	s->sig_deferrals = __atomic_load_n(&S->sig_deferrals, __ATOMIC_RELAXED);
	s->watch_retakes = S->watch_retakes;
}

GOSYS_API int gosys_schedstats(struct gosys_schedstats *st, size_t size)
{
	if (!st || size < offsetof(struct gosys_schedstats, handoffs)) {
		errno = EINVAL;
		return -1;
	}
	if (!gosys__curm && !gosys__nosched)
		gosys__m_register();
	struct gosys_schedstats s;
	struct gosys_m *m = gosys__curm;
	uint32_t incall = m ? m->incall : 0;
	if (m) {
		gosys__crit_enter(m);
		SET_INCALL(m, incall + 1);
		__atomic_store_n(&m->tick, m->tick + 1, __ATOMIC_RELAXED);
	}
	gosys_lock(&S->lock);
	gosys__schedstats_locked(&s);
	gosys_unlock(&S->lock);
	if (m) {
		SET_INCALL(m, incall);
		gosys__crit_exit(m);
	}
	__builtin_memcpy(st, &s, size < sizeof s ? size : sizeof s);
	return (int)sizeof s;
}

/* ---- threads: exit, vfork, fork ------------------------------------------ */

static void m_exit(struct gosys_m *m)
{
	int64_t now = gosys_nanotime();
	struct gosys_m *w = NULL;
	gosys__crit_enter(m); /* to the end: the M goes back on the free list */
	gosys_lock(&S->lock);
	while (__atomic_load_n(&m->status, __ATOMIC_ACQUIRE) & M_LOCKED)
		__gosys_cpu_relax();
	if (m->heapidx >= 0)
		gosys__heap_remove_locked(m);
	if (m->transit) {
		m->transit = 0;
		S->ntransit--;
	}
	struct gosys_p *p = m->p;
	if (p && p->m == m) {
		p->m = NULL;
		w = gosys__releasep_locked(p, now);
	}
	m->p = NULL;
	m->live = 0;
	__atomic_store_n(&m->nop_since, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&m->status, M_NOP, __ATOMIC_RELAXED);
	S->nthreads--;
	gosys_unlock(&S->lock);
	gosys__wake_m(w);
	/* A releaser that chose us may not have woken us yet: wait for it, so the
	 * wake cannot land on the next thread that gets this M. */
	while (__atomic_load_n(&m->wakepending, __ATOMIC_ACQUIRE))
		__gosys_cpu_relax();
	/* Signals deferred until now run here, with the thread out of the
	 * library for good (nosched is set: nothing in them is scheduled). */
	uint64_t d = __atomic_exchange_n(&m->sigdeferred, 0, __ATOMIC_RELAXED);
	gosys__curm = NULL; /* before another thread can get this M */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	gosys_lock(&S->lock);
	m->freelink = S->mfree;
	S->mfree = m;
	gosys_unlock(&S->lock);
	if (d)
		__gosys_syscall4(SYS_rt_sigprocmask, SIG_UNBLOCK, (long)&d, 0, 8);
}

static void m_destructor(void *arg)
{
	gosys__nosched = 1; /* anything later on this thread goes straight through */
	gosys__stats_thread_exit(); /* its counters into the process table */
	if (arg) {
		m_exit((struct gosys_m *)arg);
		gosys__curm = NULL;
	}
}

void gosys__thread_start(void)
{
	if (!gosys__curm && !gosys__nosched)
		gosys__m_register();
}

void gosys__thread_exit(void)
{
	struct gosys_m *m = gosys__curm;
	gosys__nosched = 1;
	gosys__stats_thread_exit();
	if (m) {
		pthread_setspecific(m_key, NULL);
		m_exit(m);
		gosys__curm = NULL;
	}
}

void gosys__vfork_begin(void)
{
	gosys__entersyscallblock();
	if (gosys__curm)
		gosys__curm->vfork = 1;
}

void gosys__vfork_end(void)
{
	if (gosys__curm)
		gosys__curm->vfork = 0;
	gosys__exitsyscall();
}

static void fork_prepare(void)
{
	if (gosys__curm)
		gosys__crit_enter(gosys__curm);
	gosys_lock(&S->lock);
}

static void fork_parent(void)
{
	gosys_unlock(&S->lock);
	if (gosys__curm)
		gosys__crit_exit(gosys__curm);
}

/* The child has one thread: this one. One M, holding one P; no monitor. */
static void fork_child(void)
{
	struct gosys_m *self = gosys__curm;
	S->lock.key = 0;
	S->mfree = NULL;
	S->nthreads = 0;
	S->nwaiting = 0;
	S->ntransit = 0;
	S->pidle = NULL;
	S->npidle = 0;
	for (struct gosys_m *m = S->allm; m; m = m->alllink) {
		if (m == self)
			continue;
		m->live = 0;
		m->heapidx = -1;
		m->p = NULL;
		__atomic_store_n(&m->status, M_NOP, __ATOMIC_RELAXED);
		m->freelink = S->mfree;
		S->mfree = m;
	}
	struct gosys_p *mine = self ? self->p : NULL;
	if (mine && mine->id >= S->maxprocs)
		mine = NULL;
	S->nprocs_live = S->maxprocs;
	for (int i = GOSYS_MAXPROCS_LIMIT - 1; i >= 0; i--) {
		struct gosys_p *p = &gosys__allp[i];
		p->sightings = 0;
		p->preempt_when = 0;
		if (i >= S->maxprocs)
			p->status = P_DEAD, p->m = NULL;
		else if (p != mine)
			gosys__pidle_put_locked(p);
	}
	gosys__sysmon_forget();
	if (!self)
		return;
	S->nthreads = 1;
	self->preempt = 0;
	self->sigpending = 0;
	__atomic_store_n(&self->nop_since, 0, __ATOMIC_RELAXED);
	gosys__sig_forget_deferred(self);
	self->crit--; /* fork_prepare's */
	self->heapidx = -1;
	self->transit = 0;
	self->tid = gosys__gettid();
	if (!mine) {
		mine = gosys__pidle_get_locked();
		self->p = NULL;
	}
	gosys__wirep_locked(mine, self, gosys_nanotime());
	if (gosys__knobs.schedtrace_ms > 0) { /* the child's own lines */
		gosys__crit_enter(self);
		gosys_lock(&S->lock);
		gosys__sysmon_wake_locked(1, 0);
		gosys_unlock(&S->lock);
		gosys__crit_exit(self);
	}
}

