/* SPDX-License-Identifier: MIT */
/*
 * trace.c - GOSYS_DEBUG=schedtrace=MS and scheddetail=1: the line the
 * monitor writes every MS milliseconds, modelled on Go's; and the record
 * gosys-dump finds in a running process (dumpinfo.h).
 *
 * Runs on the monitor only (raw syscalls, sched.lock, no TLS, no libc), so
 * the buffers are static. The gauges come from gosys__schedstats_locked,
 * the snapshot gosys_schedstats returns, and a census of the Ms by status
 * taken in the same hold of the lock: the numbers of one line are of one
 * instant. The Ms' and Ps' fields for scheddetail are copied under the lock
 * and formatted after it.
 *
 * The line goes to fd 2 in one raw write(2) (scheddetail's lines in writes
 * of whole lines, at most PIPE_BUF bytes each, so that they interleave with
 * the program's own output only between lines). The monitor must never wait
 * for the program's stderr: on a socket the write is MSG_DONTWAIT, and on a
 * pipe that has no room for it the line is dropped. A terminal or a file is
 * written as it is.
 *
 * Nothing here is on any M's path, and with schedtrace=0 the monitor sleeps
 * as it did: sysmon.c bounds its sleep by the next line only when it is on.
 */
#include "sched_internal.h"
#include "dumpinfo.h"
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define S (&gosys__sched)

/* ---- the record gosys-dump reads ------------------------------------------ */

#define OFF_S(f) ((uint32_t)offsetof(struct gosys_sched, f))
#define OFF_M(f) ((uint32_t)offsetof(struct gosys_m, f))
#define OFF_P(f) ((uint32_t)offsetof(struct gosys_p, f))

__attribute__((used)) const struct gosys_dumpinfo gosys__dumpinfo = {
	.magic = {GOSYS_DUMP_MAGIC0, GOSYS_DUMP_MAGIC1},
	.version = GOSYS_DUMP_VERSION,
	.size = sizeof(struct gosys_dumpinfo),
	.sched = (uint64_t)(uintptr_t)&gosys__sched,
	.allp = (uint64_t)(uintptr_t)gosys__allp,
	.sigreturn = (uint64_t)(uintptr_t)__gosys_sigreturn,
	.preempt_handler = (uint64_t)(uintptr_t)gosys__preempt_handler,
	.sig_deliver = (uint64_t)(uintptr_t)gosys__sig_deliver,
	.nprocs_limit = GOSYS_MAXPROCS_LIMIT,
	.m_size = sizeof(struct gosys_m),
	.p_size = sizeof(struct gosys_p),
	.s_nprocs_live = OFF_S(nprocs_live),
	.s_maxprocs = OFF_S(maxprocs),
	.s_phigh = OFF_S(phigh),
	.s_npidle = OFF_S(npidle),
	.s_nthreads = OFF_S(nthreads),
	.s_nwaiting = OFF_S(nwaiting),
	.s_allm = OFF_S(allm),
	.s_sysmon_tid = OFF_S(sysmon_tid),
	.s_sysmon_started = OFF_S(sysmon_started),
	.s_start_ns = OFF_S(start_ns),
	.m_status = OFF_M(status),
	.m_incall = OFF_M(incall),
	.m_p = OFF_M(p),
	.m_tid = OFF_M(tid),
	.m_live = OFF_M(live),
	.m_tick = OFF_M(tick),
	.m_alllink = OFF_M(alllink),
	.m_nop_since = OFF_M(nop_since),
	.m_parked = OFF_M(parked),
	.m_crit = OFF_M(crit),
	.m_sigdeferred = OFF_M(sigdeferred),
	.m_preempt = OFF_M(preempt),
	.m_eintr_ours = OFF_M(eintr_ours),
	.p_id = OFF_P(id),
	.p_status = OFF_P(status),
	.p_m = OFF_P(m),
	.p_acquired = OFF_P(acquired),
	.p_schedtick = OFF_P(schedtick),
	.st_running = M_RUNNING,
	.st_syscall = M_SYSCALL,
	.st_blocked = M_BLOCKED,
	.st_waiting = M_WAITING,
	.st_nop = M_NOP,
	.st_locked = M_LOCKED,
	.pst_idle = P_IDLE,
	.pst_running = P_RUNNING,
	.pst_dead = P_DEAD,
	.eintr_ours = EINTR_OURS,
};

/* ---- the census ------------------------------------------------------------ */

/* Every live M is in exactly one of the first five; idle counts the blocked
 * ones whose P has gone to someone else (Go's idle Ms: nothing to run). */
struct census {
	int32_t running, syscall, blocked, waiting, nop, idle;
};

/* lock held: live, p and the statuses that matter (a stealer's LOCKED is
 * only ever seen by the lock's holder, which is us) are stable. */
static void census_locked(struct census *c)
{
	__builtin_memset(c, 0, sizeof *c);
	for (struct gosys_m *m = __atomic_load_n(&S->allm, __ATOMIC_ACQUIRE); m; m = m->alllink) {
		if (!m->live)
			continue;
		switch (__atomic_load_n(&m->status, __ATOMIC_ACQUIRE) & ~(uint32_t)M_LOCKED) {
		case M_RUNNING:
			c->running++;
			break;
		case M_SYSCALL:
			c->syscall++;
			break;
		case M_BLOCKED:
			c->blocked++;
			if (!__atomic_load_n(&m->p, __ATOMIC_RELAXED))
				c->idle++;
			break;
		case M_WAITING:
			c->waiting++;
			break;
		default:
			c->nop++;
			break;
		}
	}
}

/* ---- scheddetail's copies, the monitor's ------------------------------------ */

#define DETAIL_MAX_M 2048 /* Ms listed; the rest are counted in one line */

struct pdetail {
	int32_t tid;	/* holder, -1: none */
	uint32_t status;
	uint64_t schedtick;
	int64_t acquired;
};

struct mdetail {
	int32_t tid, p;
	uint32_t status, incall, preempt, parked;
	uint64_t tick;
	int64_t nop_since;
};

static struct pdetail pdet[GOSYS_MAXPROCS_LIMIT];
static struct mdetail mdet[DETAIL_MAX_M];

/* ---- output: whole lines, at most PIPE_BUF bytes a write -------------------- */

#define OUT_MAX 4096

static struct {
	char buf[OUT_MAX];
	size_t len, mark; /* mark: the end of the last whole line */
} out;

/* One write to fd 2 that never waits for the reader. */
static void out_write(const char *p, size_t n)
{
	struct stat st;
	if (n == 0 || __gosys_syscall2(SYS_fstat, 2, (long)&st) != 0)
		return;
	if (S_ISSOCK(st.st_mode)) {
		__gosys_syscall6(SYS_sendto, 2, (long)p, (long)n, MSG_DONTWAIT | MSG_NOSIGNAL, 0, 0);
		return;
	}
	if (S_ISFIFO(st.st_mode)) {
		int used = 0;
		long size = __gosys_syscall3(SYS_fcntl, 2, F_GETPIPE_SZ, 0);
		if (size > 0 && __gosys_syscall3(SYS_ioctl, 2, FIONREAD, (long)&used) == 0 &&
		    (long)n > size - used)
			return; /* full: a lost line, not a stalled monitor */
	}
	__gosys_syscall3(SYS_write, 2, (long)p, (long)n);
}

static void out_flush(void)
{
	out_write(out.buf, out.mark);
	__builtin_memmove(out.buf, out.buf + out.mark, out.len - out.mark);
	out.len -= out.mark;
	out.mark = 0;
}

static void put(const char *s)
{
	while (*s && out.len < OUT_MAX)
		out.buf[out.len++] = *s++;
}

static void put_int(long long v)
{
	char num[24];
	gosys__fmt_long(num, v);
	put(num);
}

static void put_kv(const char *k, long long v)
{
	put(k);
	put_int(v);
}

/* Ends a line; whole lines go out before the next one could overflow. */
#define LINE_MAX_LEN 256
static void line_end(void)
{
	put("\n");
	out.mark = out.len;
	if (OUT_MAX - out.len < LINE_MAX_LEN)
		out_flush();
}

static const char *m_status_name(uint32_t st)
{
	switch (st & ~(uint32_t)M_LOCKED) {
	case M_RUNNING:
		return "running";
	case M_SYSCALL:
		return "syscall";
	case M_BLOCKED:
		return "blocked";
	case M_WAITING:
		return "waiting";
	default:
		return "nop";
	}
}

static const char *p_status_name(uint32_t st)
{
	return st == P_IDLE ? "idle" : st == P_RUNNING ? "running" : "dead";
}

/* ---- the line ---------------------------------------------------------------- */

void gosys__schedtrace(int64_t now)
{
	struct gosys_schedstats s;
	struct census c;
	int detail = gosys__knobs.scheddetail;
	int np = 0, nm = 0, more = 0;

	gosys_lock(&S->lock);
	gosys__schedstats_locked(&s);
	census_locked(&c);
	int64_t start = S->start_ns;
	if (detail) {
		np = S->phigh;
		for (int i = 0; i < np; i++) {
			struct gosys_p *p = &gosys__allp[i];
			pdet[i].status = __atomic_load_n(&p->status, __ATOMIC_RELAXED);
			pdet[i].tid = p->m ? p->m->tid : -1;
			pdet[i].schedtick = p->schedtick;
			pdet[i].acquired = p->acquired;
		}
		for (struct gosys_m *m = S->allm; m; m = m->alllink) {
			if (!m->live)
				continue;
			if (nm == DETAIL_MAX_M) {
				more++;
				continue;
			}
			struct gosys_p *p = __atomic_load_n(&m->p, __ATOMIC_RELAXED);
			struct mdetail *d = &mdet[nm++];
			d->tid = m->tid;
			d->p = p ? p->id : -1;
			d->status = __atomic_load_n(&m->status, __ATOMIC_RELAXED);
			d->incall = __atomic_load_n(&m->incall, __ATOMIC_RELAXED);
			d->preempt = __atomic_load_n(&m->preempt, __ATOMIC_RELAXED);
			d->parked = __atomic_load_n(&m->parked, __ATOMIC_RELAXED);
			d->tick = __atomic_load_n(&m->tick, __ATOMIC_RELAXED);
			d->nop_since = __atomic_load_n(&m->nop_since, __ATOMIC_RELAXED);
		}
	}
	gosys_unlock(&S->lock);

	out.len = out.mark = 0;
	put_kv("SCHED ", (now - start) / 1000000);
	put_kv("ms: gomaxprocs=", s.maxprocs);
	put_kv(" idleprocs=", s.idleprocs);
	put_kv(" threads=", s.threads);
	put_kv(" spinningthreads=", 0); /* no M ever spins for a P here (the essay) */
	put_kv(" idlethreads=", c.idle);
	put_kv(" waiting=", c.waiting);
	put_kv(" running=", c.running);
	put_kv(" syscall=", c.syscall);
	put_kv(" blocked=", c.blocked);
	put_kv(" nop=", c.nop);
	line_end();
	int unused = 0;
	for (int i = 0; i < np; i++) {
		/* Unbounded (1024 Ps, no quota): the Ps never held are one line. */
		if (pdet[i].status == P_IDLE && pdet[i].schedtick == 0) {
			unused++;
			continue;
		}
		put_kv("  P", i);
		put(": status=");
		put(p_status_name(pdet[i].status));
		put_kv(" m=", pdet[i].tid);
		put_kv(" schedtick=", (long long)pdet[i].schedtick);
		if (pdet[i].status == P_RUNNING)
			put_kv(" heldms=", (now - pdet[i].acquired) / 1000000);
		line_end();
	}
	if (unused) {
		put_kv("  ... ", unused);
		put(" more Ps idle, never held");
		line_end();
	}
	for (int i = 0; i < nm; i++) {
		struct mdetail *d = &mdet[i];
		put_kv("  M", d->tid);
		put_kv(": p=", d->p);
		put(" status=");
		put(m_status_name(d->status));
		put_kv(" incall=", d->incall);
		put_kv(" tick=", (long long)d->tick);
		put_kv(" preempt=", d->preempt);
		put_kv(" parked=", d->parked);
		if (d->nop_since)
			put_kv(" nopms=", (now - d->nop_since) / 1000000);
		line_end();
	}
	if (more) {
		put_kv("  ... ", more);
		put(" more threads");
		line_end();
	}
	out_flush();
}
