/* SPDX-License-Identifier: MIT */
/*
 * sysmon.c - the monitor thread (retake, blocked holders, preemption,
 * maxprocs refresh) and the preemption signal.
 * The monitor is a raw clone with a private thread block: it must never touch
 * TLS, call libc, allocate, or take any lock but sched.lock. Raw syscalls and
 * notes only. The signal handler runs on program threads.
 */
#include "sched_internal.h"
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#ifdef __SANITIZE_THREAD__
#include <pthread.h>
#endif

#define S (&gosys__sched)

#define TICK_MIN_NS 20000	/* 20 us while anyone waits */
#define TICK_MAX_NS 1000000	/* capped at 1 ms (Go: 10 ms) */
#define TICKS_BEFORE_BACKOFF 50
#define REFRESH_NS 1000000000	/* maxprocs re-read at most once a second */

static int64_t sysmon_delay;	/* the monitor's current tick; lock */

/* Quota pacing's bucket; the monitor only (and the fork child's reset). */
static int64_t pace_tokens;	/* CPU ns the process may still use */
static int64_t pace_wall;	/* wall clock at the last fill; 0 = start over */
static int64_t pace_cpu;	/* the process's CPU clock then */
static int64_t pace_aside_until; /* no pause before this (futile pauses) */
static int64_t pace_fill;	/* the fill rate, thousandths of a CPU */
static int64_t pace_win_wall, pace_win_cpu; /* the current correction window */
static uint64_t pace_win_paces;
static int64_t pace_mark_wall;	/* in a pause: where its CPU is measured from */
static int64_t pace_mark_cpu;

#define PACE_DEPTH_NS 1000000	/* bucket depth: 1 ms of CPU per CPU of the rate */
#define PACE_POLL_NS 10000000	/* the longest step interval while pacing is on */
#define PACE_STEP_NS 100000	/* the shortest: the bucket may overdraw by this */
#define PACE_WINDOW_NS 100000000 /* the fill rate's correction window */
#define PACE_DEBT_NS 6000000	/* the most overdraft a pause pays back */
#define PACE_SETTLE_NS 500000	/* a pause's first 0.5 ms: holders still stopping */
#define PACE_FUTILE_NS 2000000	/* then 2 ms above the rate: the pause cannot help */
#define PACE_BACKOFF_NS 100000000 /* and pacing then stands aside this long */

/* Set by unit tests before the monitor starts: a pacing rate in thousandths
 * of a CPU that replaces the cgroup's; 0 = read the cgroup. */
int32_t gosys__pace_test_milli;

GOSYS_HIDDEN int *gosys__bypass_addr(void);
GOSYS_HIDDEN int gosys__preempt_signal_taken(void);

/* ---- sleeping and waking ------------------------------------------------- */

static int sysmon_main(void *arg);

/* The monitor's stack and thread block: one mapping, made once. */
#define MON_STACK (128 * 1024)
#define MON_TLS (60 * 1024)
#define MON_TOP (4 * 1024)
#define MON_SIZE (MON_STACK + MON_TLS + MON_TOP)

static void sysmon_start_locked(void)
{
	S->sysmon_started = 1;
	sysmon_delay = TICK_MIN_NS;
#ifdef __SANITIZE_THREAD__
	/* ThreadSanitizer keeps per-thread state in TLS: give it a real thread. */
	pthread_t t;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&t, NULL, (void *(*)(void *))(void *)sysmon_main, NULL) != 0)
		gosys_throw("cannot start the monitor thread");
	pthread_detach(t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
#else
	long r = __gosys_syscall6(SYS_mmap, 0, MON_SIZE, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (GOSYS_IS_ERR(r))
		gosys_throw("cannot map the monitor's stack");
	char *base = (char *)r;
	/* A guard page below the stack. */
	__gosys_syscall3(SYS_mprotect, (long)base, 4096, PROT_NONE);
	/*
	 * The thread block: %fs:0 and %fs:16 point at themselves (glibc's
	 * tcbhead), the stack guard at %fs:0x28 is copied, and the library's own
	 * "bypass" TLS word reads 1 if it falls inside the block, so that nothing
	 * in the scheduler mistakes the monitor for a program thread.
	 */
	char *tp = base + MON_STACK + MON_TLS;
	char *cur;
	__asm__("mov %%fs:0, %0" : "=r"(cur));
	((void **)tp)[0] = tp;
	((void **)tp)[2] = tp;
	__builtin_memcpy(tp + 0x28, cur + 0x28, 16);
	long off = (char *)gosys__bypass_addr() - cur;
	if (off >= -(long)MON_TLS && off <= (long)MON_TOP - (long)sizeof(int))
		*(int *)(tp + off) = 1;
	/* No program signal may land on the monitor: block all while cloning. */
	uint64_t all = ~0ULL, old;
	__gosys_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, (long)&all, (long)&old, 8);
	r = __gosys_clone(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
			  CLONE_SYSVSEM | CLONE_SETTLS,
			  base + MON_STACK, tp, sysmon_main, NULL);
	__gosys_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, (long)&old, 0, 8);
	if (GOSYS_IS_ERR(r))
		gosys_throw("cannot start the monitor thread");
	S->sysmon_tid = (int32_t)r;
#endif
}

void gosys__sysmon_wake_locked(int start_if_needed, int urgent)
{
	if (!S->sysmon_started) {
		if (start_if_needed)
			sysmon_start_locked();
		return;
	}
	/* Back to the shortest tick out of a deep sleep, when the caller is not
	 * a waiter (maxprocs changed), or when the first waiter finds a holder
	 * in a lazy call (a retake is due in two looks). A program that hands Ps
	 * around all the time (yields, slices) queues a waiter at every handoff
	 * with every holder in user code; resetting the tick at each of those
	 * parks kept the monitor at 20 us, a tenth of a CPU, for nothing. On a
	 * tick it backs off while it takes nothing, as Go's sysmon does. */
	if (sysmon_delay > TICK_MAX_NS || !start_if_needed || (urgent && S->nwaiting <= 1))
		S->sysmon_kick = 1;
	/* Asleep deeply: look now. On a tick, look now only for something a
	 * look can take (a holder in a lazy call, counted as sighted once by
	 * the queueing M): on a long tick, or for the first waiter, for whom
	 * the 20 us timed sleep may take 50 us to 1 ms on a VM's timers. */
	if (S->sysmonwait &&
	    (sysmon_delay > TICK_MAX_NS ||
	     (urgent && (S->nwaiting <= 1 || sysmon_delay > TICK_MIN_NS)))) {
		S->sysmonwait = 0;
		gosys_notewakeup(&S->sysmonnote);
	}
}

void gosys__sysmon_forget(void)
{
	S->sysmon_started = 0;
	S->sysmonwait = 0;
	S->paced = 0;
	S->pace_milli = 0;
	pace_wall = 0;
	pace_aside_until = 0;
	pace_mark_wall = 0;
	S->sysmon_kick = 0;
	S->sysmon_tid = 0;
	gosys_noteclear(&S->sysmonnote);
}

/* ---- looking at holders -------------------------------------------------- */

/* The scheduler state letter of a thread from /proc/self/task/TID/stat, 0 if
 * the thread is gone. Opened and closed at once: the fd table is the
 * program's. */
static char task_state(int tid)
{
	char path[48] = "/proc/self/task/";
	char num[24];
	int n = gosys__fmt_long(num, tid);
	int len = 16;
	__builtin_memcpy(path + len, num, (size_t)n);
	len += n;
	__builtin_memcpy(path + len, "/stat", 6);
	long fd = __gosys_syscall4(SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0);
	if (GOSYS_IS_ERR(fd))
		return 0;
	char buf[512];
	long r = __gosys_syscall3(SYS_read, fd, (long)buf, sizeof buf - 1);
	__gosys_syscall1(SYS_close, fd);
	if (r <= 0)
		return 0;
	buf[r] = 0;
	/* "tid (comm) S ...": comm may hold spaces and parentheses. */
	char *close = NULL;
	for (char *c = buf; *c; c++)
		if (*c == ')')
			close = c;
	if (!close || close[1] != ' ')
		return '?';
	return close[2];
}

struct cand {
	struct gosys_p *p;
	struct gosys_m *m;
	uint64_t tick;
	int tid;
	int want_state; /* no library entry for two looks: is it blocked? */
	int want_cpu;	/* a returning waiter may deserve its P */
	char state;
	int64_t cpu;
	int64_t prev_cpu; /* its CPU clock at the last look, if that look was its */
};

void gosys__send_preempt(struct gosys_m *m, int tid)
{
	uint32_t z = 0;
	if (!__atomic_compare_exchange_n(&m->sigpending, &z, 1, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_RELAXED))
		return; /* one signal in flight is enough */
	long pid = __gosys_syscall0(SYS_getpid);
	__gosys_syscall3(SYS_tgkill, pid, tid, GOSYS_PREEMPT_SIG);
}

/*
 * One look at every P. Under the lock: sightings, retakes of lazy calls,
 * Ps left on eager calls, slice preemption. Then, unlocked, /proc and CPU
 * clocks for the holders that need them, and again under the lock, the
 * blocked-holder takes and wakeup preemption. Returns the Ps taken.
 */
static int retake(void)
{
	struct gosys_m *wake[64];
	int nwake = 0, n = 0, ncand = 0;
	struct cand cand[64];
	struct { struct gosys_m *m; int tid; } sig[64];
	int nsig = 0;
	int64_t now = gosys_nanotime();
	int64_t slice = (int64_t)gosys__knobs.slice_ms * 1000000;
	int64_t gran = (int64_t)gosys__knobs.granularity_us * 1000;

	gosys_lock(&S->lock);
	S->monitor_ticks++;
	int waiters = S->nwaiting > 0;
	struct gosys_m *top = gosys__heap_top();
	int top_returning = top && __atomic_load_n(&top->returning, __ATOMIC_RELAXED);
	for (int i = 0; i < S->phigh && nwake < 64; i++) {
		struct gosys_p *p = &gosys__allp[i];
		if (__atomic_load_n(&p->status, __ATOMIC_RELAXED) != P_RUNNING || !p->m)
			continue;
		struct gosys_m *m = p->m;
		uint64_t tick = __atomic_load_n(&m->tick, __ATOMIC_RELAXED);
		uint32_t st = __atomic_load_n(&m->status, __ATOMIC_ACQUIRE);
		if (p->sight_m == m && p->sight_tick == tick && p->sight_status == st) {
			p->sightings++;
		} else {
			p->sight_m = m;
			p->sight_tick = tick;
			p->sight_status = st;
			p->sightings = 1;
		}
		int dead = p->id >= S->maxprocs;
		if (!waiters && !dead)
			continue;
		struct gosys_m *w;
		switch (st) {
		case M_SYSCALL: /* the same lazy call on two looks */
			if ((dead || p->sightings >= 2) &&
			    gosys__steal_locked(p, m, M_SYSCALL, M_BLOCKED)) {
				S->retakes++;
				n++;
				if ((w = gosys__releasep_locked(p, now)))
					wake[nwake++] = w;
			}
			break;
		case M_BLOCKED: /* an eager call that found nobody waiting */
			if (gosys__steal_locked(p, m, M_BLOCKED, M_BLOCKED)) {
				n++;
				if ((w = gosys__releasep_locked(p, now)))
					wake[nwake++] = w;
			}
			break;
		case M_RUNNING: {
			int64_t start = p->acquired > S->contended_since ? p->acquired
									: S->contended_since;
			if (dead)
				__atomic_or_fetch(&m->preempt, PREEMPT_DEAD, __ATOMIC_RELEASE);
			if (!p->preempt_when && (dead || now - start >= slice)) {
				/* Asked at its next entry, and by signal now, as Go's
				 * preemptone does: waiting another slice for an entry
				 * that a compute loop never makes put a waiter 2 slices
				 * behind (issue 11: p50 23 ms at a 10 ms slice). */
				__atomic_or_fetch(&m->preempt, PREEMPT_SLICE, __ATOMIC_RELEASE);
				p->preempt_when = now;
				p->preempt_tick = tick;
				if (gosys__knobs.asyncpreempt && nsig < 64) {
					sig[nsig].m = m;
					sig[nsig++].tid = m->tid;
				}
			} else if (p->preempt_when && p->preempt_tick == tick &&
				   now - p->preempt_when >= slice &&
				   gosys__knobs.asyncpreempt && nsig < 64) {
				/* Still no entry a slice after the signal (lost, or
				 * its handler could not park): again. */
				sig[nsig].m = m;
				sig[nsig++].tid = m->tid;
				p->preempt_when = now;
			} else if (p->preempt_tick != tick) {
				p->preempt_when = 0;
			}
			if (ncand < 64 && (p->sightings >= 2 || top_returning)) {
				cand[ncand].p = p;
				cand[ncand].m = m;
				cand[ncand].tick = tick;
				cand[ncand].tid = m->tid;
				cand[ncand].want_state = p->sightings >= 2;
				cand[ncand].want_cpu = top_returning;
				cand[ncand].prev_cpu = p->sight_m == m ? p->sight_cpu : -1;
				ncand++;
			}
			break;
		}
		default:
			break;
		}
	}
	gosys_unlock(&S->lock);

	for (int i = 0; i < nwake; i++)
		gosys__wake_m(wake[i]);
	nwake = 0;

	if (ncand) {
		for (int i = 0; i < ncand; i++) {
			/* The CPU clock first (one syscall): a holder whose clock moved
			 * since the last look ran in between, so it is not blocked for
			 * the whole of it, and /proc (open, read, close: ten times the
			 * cost, every look for every compute-bound holder) is not
			 * needed. A holder that blocks now is seen at the next look. */
			cand[i].cpu = gosys__thread_cpu(cand[i].tid);
			int moved = cand[i].cpu >= 0 && cand[i].prev_cpu >= 0 &&
				    cand[i].cpu > cand[i].prev_cpu;
			cand[i].state = cand[i].want_state && !moved ? task_state(cand[i].tid) : 'R';
		}
		now = gosys_nanotime();
		gosys_lock(&S->lock);
		top = gosys__heap_top();
		for (int i = 0; i < ncand && nwake < 64; i++) {
			struct cand *c = &cand[i];
			struct gosys_p *p = c->p;
			/* An M inside the library (waiting for the lock, say) settles
			 * its P itself: only user code can be blocked "outside". */
			if (c->state != 'R' && __atomic_load_n(&c->m->incall, __ATOMIC_RELAXED))
				c->state = 'R';
			if (p->m == c->m)
				p->sight_cpu = c->cpu;
			if (p->m != c->m || __atomic_load_n(&c->m->tick, __ATOMIC_RELAXED) != c->tick ||
			    __atomic_load_n(&c->m->status, __ATOMIC_ACQUIRE) != M_RUNNING ||
			    !S->nwaiting)
				continue;
			int blocked = c->state == 'S' || c->state == 'D' || c->state == 0;
			if (blocked && !(p->blocked_seen && p->blocked_tick == c->tick)) {
				/* Seen asleep once: a short wait on an internal lock or a
				 * page fault ends by itself. Take it if it still is at the
				 * next look, with no library entry in between. */
				p->blocked_seen = 1;
				p->blocked_tick = c->tick;
			} else if (blocked) {
				/* Blocked where we cannot see: the P goes to a waiter, the
				 * M runs without one until its next library entry. */
				p->blocked_seen = 0;
				if (gosys__steal_locked(p, c->m, M_RUNNING, M_NOP)) {
					S->blocked_retakes++;
					S->nop_runs++;
					__atomic_store_n(&c->m->nop_since, now, __ATOMIC_RELAXED);
					c->m->nop_cpu = -1;
					__atomic_store_n(&S->nop_scan, 1, __ATOMIC_RELAXED);
					n++;
					struct gosys_m *w = gosys__releasep_locked(p, now);
					if (w)
						wake[nwake++] = w;
				}
			} else if (c->want_state) {
				p->blocked_seen = 0;
			}
			if (!blocked && c->cpu >= 0 && top && __atomic_load_n(&top->returning, __ATOMIC_RELAXED) && top->key + gran < c->cpu) {
				/* CFS wakeup preemption: the waiter has had a granule less
				 * CPU. Ask now; signal at the next look without an entry. */
				__atomic_or_fetch(&c->m->preempt, PREEMPT_SLICE, __ATOMIC_RELEASE);
				p->preempt_when = now - slice;
				p->preempt_tick = c->tick;
			}
		}
		gosys_unlock(&S->lock);
		for (int i = 0; i < nwake; i++)
			gosys__wake_m(wake[i]);
	}
	for (int i = 0; i < nsig; i++)
		gosys__send_preempt(sig[i].m, sig[i].tid);
	return n;
}

/*
 * Ms running without a P (NOP) that compute: I1 allows none, so each one
 * whose CPU clock moved by NOP_RUN_NS since the last scan is sent the
 * preemption signal, whose handler queues it for a P (sched.c,
 * preempt_here). One that sleeps is left alone: it runs no user code, and a
 * signal would only cut its sleep short. Scans every NOP_SCAN_NS while the
 * monitor has made NOP Ms and not yet seen them all gone.
 */
#define NOP_SCAN_NS 2000000
#define NOP_RUN_NS 500000

static void nop_scan(int64_t *last)
{
	int64_t now = gosys_nanotime();
	if (!__atomic_load_n(&S->nop_scan, __ATOMIC_RELAXED) || now - *last < NOP_SCAN_NS)
		return;
	*last = now;
	int found = 0;
	/* No lock: the list is push-only and Ms are never unmapped. An M that
	 * moved on since its fields were read gets at worst one spurious
	 * signal, which its handler ignores (it is not NOP any more). */
	for (struct gosys_m *m = __atomic_load_n(&S->allm, __ATOMIC_ACQUIRE); m; m = m->alllink) {
		if (!__atomic_load_n(&m->nop_since, __ATOMIC_RELAXED))
			continue;
		uint32_t st = __atomic_load_n(&m->status, __ATOMIC_ACQUIRE);
		if (st != M_NOP || __atomic_load_n(&m->incall, __ATOMIC_RELAXED)) {
			m->nop_cpu = -1;
			continue;
		}
		found++;
		int tid = __atomic_load_n(&m->tid, __ATOMIC_RELAXED);
		int64_t cpu = gosys__thread_cpu(tid);
		if (m->nop_cpu >= 0 && cpu - m->nop_cpu >= NOP_RUN_NS)
			gosys__send_preempt(m, tid);
		m->nop_cpu = cpu;
	}
	if (!found)
		__atomic_store_n(&S->nop_scan, 0, __ATOMIC_RELAXED);
}

/*
 * Re-reads the CPU limit, at most once a second: it sets maxprocs (unless
 * that was set explicitly or updatemaxprocs=0) and the pacing rate
 * (quotapace percent of the quota, when the quota is below the CPUs the
 * affinity mask allows; 0 otherwise).
 */
static void refresh_limits(int64_t *last, int force)
{
	int64_t now = gosys_nanotime();
	if (!force && now - *last < REFRESH_NS)
		return;
	*last = now;
	int aff = gosys__affinity_cpus();
	int32_t test = __atomic_load_n(&gosys__pace_test_milli, __ATOMIC_RELAXED);
	if (test <= 0)
		test = gosys__knobs.pacecpus; /* a quota given by hand */
	int milli = test > 0 ? test : gosys__cgroup_cpu_milli("");
	int n = gosys__maxprocs_bound(milli, aff, 0);
	int pace = gosys__pace_rate(milli, test > 0, aff);
	struct gosys_m *wake[GOSYS_MAXPROCS_LIMIT / 4];
	int nwake = 0;
	gosys_lock(&S->lock);
	S->pace_milli = pace;
	if (gosys__knobs.updatemaxprocs && !S->explicit_maxprocs && test <= 0 &&
	    n != S->maxprocs)
		gosys__set_maxprocs_locked(n, now, wake, &nwake, (int)GOSYS_ARRAY_SIZE(wake));
	gosys_unlock(&S->lock);
	for (int i = 0; i < nwake; i++)
		gosys__wake_m(wake[i]);
}

/* ---- quota pacing -------------------------------------------------------- */

int gosys__pace_rate(int milli, int given, int aff)
{
	if (gosys__knobs.quotapace <= 0 || milli <= 0 || (!given && milli >= aff * 1000))
		return 0;
	return (int)((int64_t)milli * gosys__knobs.quotapace / 100);
}

/* Stop: every holder is asked to yield (by signal too, at once), every P
 * parked on a call goes to the idle list, and nothing leaves it. */
static void pace_stop(int64_t now)
{
	struct { struct gosys_m *m; int tid; } sig[64];
	int nsig = 0;
	int64_t slice = (int64_t)gosys__knobs.slice_ms * 1000000;
	gosys_lock(&S->lock);
	S->paced = 1;
	S->paces++;
	S->pace_since = now;
	for (int i = 0; i < S->phigh; i++) {
		struct gosys_p *p = &gosys__allp[i];
		struct gosys_m *m = p->m;
		if (__atomic_load_n(&p->status, __ATOMIC_RELAXED) != P_RUNNING || !m)
			continue;
		uint32_t st = __atomic_load_n(&m->status, __ATOMIC_ACQUIRE);
		if (st == M_SYSCALL || st == M_BLOCKED) {
			if (gosys__steal_locked(p, m, st, M_BLOCKED)) {
				if (st == M_SYSCALL)
					S->retakes++;
				gosys__releasep_locked(p, now); /* paced: to the idle list */
			}
		} else if (st == M_RUNNING) {
			__atomic_or_fetch(&m->preempt, PREEMPT_SLICE, __ATOMIC_RELEASE);
			p->preempt_when = now - slice;
			p->preempt_tick = __atomic_load_n(&m->tick, __ATOMIC_RELAXED);
			if (gosys__knobs.asyncpreempt && !__atomic_load_n(&m->incall, __ATOMIC_RELAXED) &&
			    nsig < 64) {
				sig[nsig].m = m;
				sig[nsig++].tid = m->tid;
			}
		}
	}
	gosys_unlock(&S->lock);
	for (int i = 0; i < nsig; i++)
		gosys__send_preempt(sig[i].m, sig[i].tid);
}

/* Go on: idle Ps go to the waiters, in I3's order. */
static void pace_go(int64_t now)
{
	struct gosys_m *wake[64];
	int nwake = 0;
	gosys_lock(&S->lock);
	if (S->paced) {
		S->paced = 0;
		S->paced_ns += now - S->pace_since;
	}
	while (S->nwaiting && S->pidle && nwake < 64) {
		struct gosys_m *w = gosys__releasep_locked(gosys__pidle_get_locked(), now);
		if (w)
			wake[nwake++] = w;
	}
	gosys_unlock(&S->lock);
	for (int i = 0; i < nwake; i++)
		gosys__wake_m(wake[i]);
}

/*
 * One pacing step: fills the bucket at the pacing rate for the wall time
 * since the last step, drains it by the CPU the whole process used, stops
 * when it is empty and goes on when it is half full again. Returns how long
 * the monitor may sleep before the next step, or -1 when pacing is off.
 */
static int64_t pace(void)
{
	int64_t rate = __atomic_load_n(&S->pace_milli, __ATOMIC_RELAXED);
	if (rate <= 0) {
		if (__atomic_load_n(&S->paced, __ATOMIC_RELAXED))
			pace_go(gosys_nanotime());
		pace_wall = 0;
		return -1;
	}
	int64_t now = gosys_nanotime(), cpu = gosys__cpu_clock(CLOCK_PROCESS_CPUTIME_ID);
	int64_t depth = PACE_DEPTH_NS * rate / 1000;
	if (cpu < 0)
		return -1;
	if (pace_wall == 0 || now - pace_wall > REFRESH_NS) {
		/* Start over (also after a long sleep: the bucket is full anyway). */
		pace_tokens = depth;
		pace_wall = now;
		pace_cpu = cpu;
		pace_fill = rate;
		pace_win_wall = now;
		pace_win_cpu = cpu;
		pace_win_paces = S->paces;
		return TICK_MIN_NS;
	}
	/*
	 * The bucket fills at pace_fill, not quite the rate: what the process
	 * achieves over each PACE_WINDOW_NS in which it was held back is
	 * compared with the rate, and half the difference corrects the fill.
	 * The monitor's timed sleeps run late on a VM (by a tick at times), and
	 * each late step is an overdraft past what a pause pays back; without
	 * this the process ran at 0.55-0.58 CPUs against a 0.45 rate.
	 */
	if (now - pace_win_wall >= PACE_WINDOW_NS) {
		int64_t got = (cpu - pace_win_cpu) * 1000 / (now - pace_win_wall);
		if (S->paces != pace_win_paces) /* held back: the rate was the limit */
			pace_fill += (rate - got) / 2;
		else if (pace_fill < rate) /* not held back: ease back to the rate */
			pace_fill += (rate - pace_fill) / 2;
		if (pace_fill > rate)
			pace_fill = rate;
		if (pace_fill < rate / 2)
			pace_fill = rate / 2;
		pace_win_wall = now;
		pace_win_cpu = cpu;
		pace_win_paces = S->paces;
	}
	int64_t dwall = now - pace_wall, dcpu = cpu - pace_cpu;
	pace_tokens += dwall * pace_fill / 1000 - dcpu;
	/* The bucket drains this fast (thousandths of a CPU) while it runs. */
	int64_t burn = dwall > 0 ? dcpu * 1000 / dwall - rate : 0;
	pace_wall = now;
	pace_cpu = cpu;
	if (pace_tokens > depth)
		pace_tokens = depth;
	/* An overdraft (the monitor's timed sleeps run late on a VM, holders
	 * stop at their next entry) is paid back by a longer pause, up to
	 * PACE_DEBT_NS of refill; more is not ours to repay (see below). */
	if (pace_tokens < -PACE_DEBT_NS * rate / 1000)
		pace_tokens = -PACE_DEBT_NS * rate / 1000;
	int paced = (int)__atomic_load_n(&S->paced, __ATOMIC_RELAXED), paced_before = paced;
	/*
	 * Futile pauses. CPU the scheduler cannot stop (threads that never enter
	 * the library, NOP runs, the monitor) counts in the process clock; if it
	 * alone is above the rate, the bucket never refills and a pause would idle
	 * the Ps for as long as it lasts, against I2. So the CPU a pause uses is
	 * measured from PACE_SETTLE_NS in (the holders have stopped by then); if
	 * over PACE_FUTILE_NS it is above the rate, the pause ends and pacing
	 * stands aside for PACE_BACKOFF_NS: what we cannot stop, the kernel
	 * throttles.
	 */
	if (paced && !pace_mark_wall && now - S->pace_since >= PACE_SETTLE_NS) {
		pace_mark_wall = now;
		pace_mark_cpu = cpu;
	}
	int futile = paced && pace_mark_wall && now - pace_mark_wall >= PACE_FUTILE_NS &&
		     (cpu - pace_mark_cpu) * 1000 / (now - pace_mark_wall) > rate;
	if (futile) {
		pace_go(now);
		paced = 0;
		pace_tokens = 0;
		pace_aside_until = now + PACE_BACKOFF_NS;
	} else if (!paced && pace_tokens < 0 && now >= pace_aside_until) {
		pace_stop(now);
		paced = 1;
		pace_mark_wall = 0;
	} else if (paced && pace_tokens >= depth / 2) {
		pace_go(now);
		paced = 0;
	}
	int64_t next;
	if (paced) /* refilled to half at the pacing rate, or found futile */
		next = (depth / 2 - pace_tokens) * 1000 / pace_fill;
	else if (paced_before) /* burn was measured across the pause: look soon */
		next = PACE_STEP_NS;
	else /* half the time to empty at the rate it drained since the last
	      * step: the monitor's timed sleeps run late on a VM, and every
	      * overdraft is a burst the kernel's period may see */
		next = burn > 0 ? pace_tokens * 500 / burn : PACE_POLL_NS;
	if (next < PACE_STEP_NS)
		next = PACE_STEP_NS;
	if (next > PACE_POLL_NS)
		next = PACE_POLL_NS;
	return next;
}

/* schedtrace: a line when one is due (trace.c); period > 0. */
static void trace_tick(int64_t *next, int64_t period)
{
	int64_t now = gosys_nanotime();
	if (now < *next)
		return;
	gosys__schedtrace(now);
	*next += period;
	if (*next <= now) /* late (a long stop, a fork child): no burst */
		*next = now + period;
}

static int sysmon_main(void *arg)
{
	(void)arg;
	/* Timer slack would add 50 us to every 20 us tick. */
	__gosys_syscall2(SYS_prctl, PR_SET_TIMERSLACK, 1);
	/* The monitor inherits the nice value of whichever thread first waited,
	 * perhaps a background worker at nice 19; it should run as the process
	 * does, its main thread's. (Raising it back needs RLIMIT_NICE or
	 * privilege; without them it stays as it is.) The raw getpriority
	 * returns 20 - nice. */
	long pid = __gosys_syscall0(SYS_getpid);
	long prio = __gosys_syscall2(SYS_getpriority, PRIO_PROCESS, pid);
	if (!GOSYS_IS_ERR(prio))
		__gosys_syscall3(SYS_setpriority, PRIO_PROCESS, 0, 20 - prio);
	gosys_lock(&S->lock);
	S->sysmon_tid = (int32_t)__gosys_syscall0(SYS_gettid);
	gosys_unlock(&S->lock);
	int64_t delay = TICK_MIN_NS, last_refresh = gosys_nanotime(), last_nop = 0;
	int idle = 0;
	int look_now = 1; /* started by an M that just queued: look at once */
	refresh_limits(&last_refresh, 1);
	/* schedtrace's period; 0 (off) leaves every sleep below as it was. */
	int64_t trace_ns = (int64_t)gosys__knobs.schedtrace_ms * 1000000;
	int64_t trace_next = S->start_ns + trace_ns;
	for (;;) {
		if (trace_ns > 0)
			trace_tick(&trace_next, trace_ns);
		/* The limits are re-read once a second while either use them. */
		int refresh = gosys__knobs.quotapace > 0 ||
			      (gosys__knobs.updatemaxprocs &&
			       !__atomic_load_n(&S->explicit_maxprocs, __ATOMIC_RELAXED));
		int64_t pace_next = pace();
		gosys_lock(&S->lock);
		if (S->sysmon_kick) {
			S->sysmon_kick = 0;
			delay = TICK_MIN_NS;
			idle = 0;
		}
		int deep = S->nwaiting == 0 && S->ntransit == 0;
		if (!deep && look_now) {
			/* Woken out of a deep sleep by an M that queued: its holders'
			 * calls were sighted once already; a timed 20 us sleep here
			 * would cost 50 us to 1 ms on a VM's timers. */
			look_now = 0;
			sysmon_delay = delay;
			gosys_unlock(&S->lock);
		} else {
			look_now = 0;
			int64_t ns = deep ? (refresh ? REFRESH_NS : -1) : delay;
			if (pace_next > 0 && (ns < 0 || pace_next < ns))
				ns = pace_next; /* pacing's next step is due first */
			if (__atomic_load_n(&S->nop_scan, __ATOMIC_RELAXED) &&
			    (ns < 0 || ns > NOP_SCAN_NS))
				ns = NOP_SCAN_NS;
			if (trace_ns > 0) { /* the next schedtrace line is due first */
				int64_t left = trace_next - gosys_nanotime();
				if (left < 1000)
					left = 1000;
				if (ns < 0 || left < ns)
					ns = left;
			}
			sysmon_delay = deep ? TICK_MAX_NS * 1000 : delay;
			gosys_noteclear(&S->sysmonnote);
			S->sysmonwait = 1;
			gosys_unlock(&S->lock);
			int woke = gosys_notetsleep(&S->sysmonnote, ns);
			gosys_lock(&S->lock);
			S->sysmonwait = 0;
			gosys_unlock(&S->lock);
			if (refresh)
				refresh_limits(&last_refresh, 0);
			nop_scan(&last_nop);
			if (deep) {
				if (woke) {
					delay = TICK_MIN_NS;
					idle = 0;
					look_now = 1;
				}
				continue;
			}
		}
		if (retake())
			idle = 0;
		else if (++idle > TICKS_BEFORE_BACKOFF)
			delay = delay * 2 > TICK_MAX_NS ? TICK_MAX_NS : delay * 2;
	}
	return 0;
}

/* ---- the preemption signal ----------------------------------------------- */

/* The kernel's sigaction, as rt_sigaction takes it. */
struct ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

void gosys__preempt_install(void)
{
#ifdef __SANITIZE_THREAD__
	/*
	 * ThreadSanitizer must see the handler: installed behind its back, the
	 * handler's instrumented code ran in the middle of TSan's own runtime
	 * (an atomic's clock update in gosys__send_preempt) and corrupted its
	 * allocator (SEGV in DenseSlabAlloc::Refill, in the I3 suite). Through
	 * sigaction, TSan delivers it at a point where its runtime is idle.
	 * (While installing, the preload's own sigaction passes it straight on.)
	 */
	struct sigaction sa, prev;
	__builtin_memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = gosys__preempt_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	gosys__sig_preempt_installing(1); /* our own sigaction passes it on */
	int r = sigaction(GOSYS_PREEMPT_SIG, &sa, &prev);
	gosys__sig_preempt_installing(0);
	if (r != 0) {
		gosys__warn("cannot install the preemption signal handler; asyncpreempt is off");
		return;
	}
	gosys__sig_preempt_owned(&prev);
#else
	struct ksigaction ka = {0}, old = {0};
	ka.handler = (void *)gosys__preempt_handler;
	ka.flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK | 0x04000000 /* SA_RESTORER */;
	ka.restorer = (void *)__gosys_sigreturn;
	ka.mask = 0;
	if (__gosys_syscall4(SYS_rt_sigaction, GOSYS_PREEMPT_SIG, (long)&ka, (long)&old, 8) != 0) {
		gosys__warn("cannot install the preemption signal handler; asyncpreempt is off");
		return;
	}
	struct sigaction prev;
	__builtin_memset(&prev, 0, sizeof prev);
	prev.sa_handler = (void (*)(int))old.handler;
	prev.sa_flags = (int)(old.flags & ~0x04000000UL);
	__builtin_memcpy(&prev.sa_mask, &old.mask, sizeof old.mask);
	gosys__sig_preempt_owned(&prev);
#endif
}

void gosys__preempt_handler(int sig, siginfo_t *si, void *uctx)
{
	if (si && si->si_code == SI_TKILL && si->si_pid == (pid_t)__gosys_syscall0(SYS_getpid)) {
		gosys__sig_open_deferred(uctx); /* the park's way out flushes them */
		if (gosys__preempt_signal_taken())
			return;
	}
	/* Not ours: the program's own handler, as if we were not here (and
	 * deferred as any other while this thread is inside the library). */
	gosys__sig_deliver(sig, si, uctx);
}
