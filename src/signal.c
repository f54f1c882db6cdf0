/* SPDX-License-Identifier: MIT */
/*
 * signal.c - the program's signal handlers: the table of the actions the
 * program set, the trampoline every program handler runs behind, and the
 * deferral of a handler that lands while its thread is inside the library.
 * Runs on program threads, in signal handlers: raw syscalls only, no libc
 * (libc's sigaction is passed in by the preload), no allocation.
 *
 * The rule (see the essay in sched.c, "Signal handlers"): a program handler
 * runs only where its thread is in user code or inside the program's own
 * call (between the end of an entry and the start of the exit). Anywhere
 * else in the library (its lock, a handoff, the park for a P, the few
 * instructions around a call) the signal is put back, pending and blocked on
 * this thread, and the library unblocks it at the first point where its
 * state is the program's again: the handler then runs there, with its real
 * siginfo. So a handler that blocks, however and for however long, blocks
 * where the thread owes the scheduler nothing: it holds no lock, owes no
 * wake-up, and its P (if any) is one the usual rules give away (an eager
 * call's, a lazy call's on two looks, or a holder blocked in user code).
 */
#include "sched_internal.h"
#include <errno.h>
#include <sys/syscall.h>

#define S (&gosys__sched)

/* The program's action for each signal as it set it through sigaction(),
 * signal() and friends. Written under act_lock with the writer's signals
 * deferred (or blocked); read by the trampoline through the seqlock. */
struct prog_action {
	uint32_t seq;		/* odd while written */
	uint32_t known;		/* set through us at least once */
	void *handler;		/* SIG_DFL, SIG_IGN, sa_handler or sa_sigaction */
	int flags;		/* the program's sa_flags */
	sigset_t mask;		/* the program's sa_mask, for old */
};
static struct prog_action acts[GOSYS_NSIG];
static struct gosys_lock act_lock;
static uint32_t preempt_owned; /* the kernel's SIGURG action is ours; set once */
static uint32_t preempt_installing; /* the TSan build installs it through libc */

/* ---- deferral -------------------------------------------------------- */

/* Faults raised by the instruction that just ran: they must be handled at
 * once (returning would run the instruction again). */
static int sync_fault(int sig, const siginfo_t *si)
{
	return si && si->si_code > 0 &&
	       (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
		sig == SIGTRAP || sig == SIGSYS);
}

int gosys__in_library(const struct gosys_m *m)
{
	if (__atomic_load_n(&m->crit, __ATOMIC_RELAXED))
		return 1;
	if (m->vfork || gosys__nosched || !__atomic_load_n(&m->incall, __ATOMIC_RELAXED))
		return 0;
	uint32_t s = __atomic_load_n(&m->status, __ATOMIC_RELAXED) & ~(uint32_t)M_LOCKED;
	return s != M_SYSCALL && s != M_BLOCKED;
}

/* Puts the signal back, pending on this thread and blocked until the next
 * flush. 0 if it could not be (the handler then runs now). */
static int defer(struct gosys_m *m, int sig, siginfo_t *si, void *uctx)
{
	uint64_t bit = 1ULL << (sig - 1);
	__gosys_syscall4(SYS_rt_sigprocmask, SIG_BLOCK, (long)&bit, 0, 8);
	long pid = __gosys_syscall0(SYS_getpid);
	/* To itself a thread may queue any si_code: the siginfo survives. */
	if (__gosys_syscall4(SYS_rt_tgsigqueueinfo, pid, m->tid, sig, (long)si) != 0) {
		__gosys_syscall4(SYS_rt_sigprocmask, SIG_UNBLOCK, (long)&bit, 0, 8);
		return 0;
	}
	/* The mask the kernel restores when this handler returns. */
	ucontext_t *uc = uctx;
	uint64_t w;
	__builtin_memcpy(&w, &uc->uc_sigmask, sizeof w);
	w |= bit;
	__builtin_memcpy(&uc->uc_sigmask, &w, sizeof w);
	__atomic_or_fetch(&m->sigdeferred, bit, __ATOMIC_RELAXED);
	__atomic_add_fetch(&S->sig_deferrals, 1, __ATOMIC_RELAXED);
	/*
	 * Parked for a P: the handler is owed soon, so m moves up. The boost
	 * takes sched.lock here, in a handler, with only this signal blocked:
	 * another program signal landing on m meanwhile is deferred as well,
	 * and if it boosted too, m would wait for the lock it holds itself
	 * (seen in the signal storm: every thread then queues on the lock).
	 * So m is not "parked" while it boosts (it is neither asleep nor free
	 * of the lock): a deferral nested in the boost leaves the move to it.
	 */
	if (__atomic_exchange_n(&m->parked, 0, __ATOMIC_RELAXED)) {
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		gosys__sig_boost(m);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		__atomic_store_n(&m->parked, 1, __ATOMIC_RELAXED); /* back to its sleep */
	}
	return 1;
}

void gosys__sig_flush_slow(struct gosys_m *m)
{
	if (gosys__in_library(m))
		return; /* a later exit point flushes */
	uint64_t d = __atomic_exchange_n(&m->sigdeferred, 0, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (d) /* the pending ones are delivered on the way out of this call */
		__gosys_syscall4(SYS_rt_sigprocmask, SIG_UNBLOCK, (long)&d, 0, 8);
}

/*
 * A handler is about to run on m out of the library: the program's, or the
 * preemption handler, which parks there. The context it interrupted may be
 * one of the few instructions between the end of a library section and the
 * flush that follows (a fast path's status store and its flush, a critical
 * section's last decrement and its flush), where the signals deferred in
 * the section are still blocked, in the mask that context gets back. The
 * handler's own way out of the library flushes them, and does it in the
 * handler's frame: its return then blocks them again in that context, and
 * the context's flush finds nothing left to open, so they stay blocked in
 * user code for good (seen in the signal storm: a suspend request never
 * delivered). So they are opened in the mask the handler returns to; one
 * still pending then is delivered there, out of the library, or deferred
 * again by the trampoline if it is not.
 */
void gosys__sig_open_deferred(void *uctx)
{
	struct gosys_m *m = gosys__curm;
	if (!m || !uctx)
		return;
	uint64_t d = __atomic_load_n(&m->sigdeferred, __ATOMIC_RELAXED);
	if (!d || gosys__in_library(m))
		return;
	ucontext_t *uc = uctx;
	uint64_t w;
	__builtin_memcpy(&w, &uc->uc_sigmask, sizeof w);
	w &= ~d;
	__builtin_memcpy(&uc->uc_sigmask, &w, sizeof w);
}

void gosys__sig_forget_deferred(struct gosys_m *m)
{
	/* A fork child: what was queued stayed with the parent's thread. */
	uint64_t d = __atomic_exchange_n(&m->sigdeferred, 0, __ATOMIC_RELAXED);
	if (d)
		__gosys_syscall4(SYS_rt_sigprocmask, SIG_UNBLOCK, (long)&d, 0, 8);
}

/* ---- running the program's handler -------------------------------------- */

static void read_action(int sig, void **h, int *flags)
{
	struct prog_action *a = &acts[sig];
	for (;;) {
		uint32_t s = __atomic_load_n(&a->seq, __ATOMIC_ACQUIRE);
		if (s & 1) {
			__gosys_cpu_relax();
			continue;
		}
		*h = __atomic_load_n(&a->handler, __ATOMIC_RELAXED);
		*flags = __atomic_load_n(&a->flags, __ATOMIC_RELAXED);
		/* An RMW, not a fence (ThreadSanitizer knows no fences): the
		 * loads above cannot move below its release half. */
		if (__atomic_fetch_add(&a->seq, 0, __ATOMIC_ACQ_REL) == s)
			return;
	}
}

static int default_ignores(int sig)
{
	return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
}

/* The kernel's sigaction, as rt_sigaction takes it. */
struct ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

static void kernel_default(int sig)
{
	struct ksigaction ka = {0};
	ka.handler = SIG_DFL;
	__gosys_syscall4(SYS_rt_sigaction, sig, (long)&ka, 0, 8);
}

static void run_program(int sig, siginfo_t *si, void *uc)
{
	void *h;
	int flags;
	read_action(sig, &h, &flags);
	if (h == (void *)SIG_IGN)
		return;
	if (h == (void *)SIG_DFL) {
		/* Changed under a delivery in flight: do what the kernel would. */
		if (default_ignores(sig) || sig == GOSYS_PREEMPT_SIG)
			return;
		kernel_default(sig);
		/* Blocked while we run; delivered, to its default, on return. */
		__gosys_syscall3(SYS_tgkill, __gosys_syscall0(SYS_getpid),
				 __gosys_syscall0(SYS_gettid), sig);
		uint64_t bit = 1ULL << (sig - 1), w;
		ucontext_t *u = uc;
		__builtin_memcpy(&w, &u->uc_sigmask, sizeof w);
		w &= ~bit;
		__builtin_memcpy(&u->uc_sigmask, &w, sizeof w);
		return;
	}
	if (flags & SA_RESETHAND) {
		/* Emulated: the kernel's copy has no SA_RESETHAND, or a deferred
		 * signal would meet the default action when it is re-delivered. */
		struct prog_action *a = &acts[sig];
		gosys_lock(&act_lock);
		__atomic_add_fetch(&a->seq, 1, __ATOMIC_ACQ_REL); /* odd: stores follow */
		__atomic_store_n(&a->handler, (void *)SIG_DFL, __ATOMIC_RELAXED);
		__atomic_store_n(&a->flags, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&a->seq, a->seq + 1, __ATOMIC_RELEASE);
		if (sig != GOSYS_PREEMPT_SIG || !preempt_owned)
			kernel_default(sig);
		gosys_unlock(&act_lock);
	}
	if (flags & SA_SIGINFO)
		((void (*)(int, siginfo_t *, void *))h)(sig, si, uc);
	else
		((void (*)(int))h)(sig);
}

void gosys__sig_deliver(int sig, siginfo_t *si, void *uc)
{
	struct gosys_m *m = gosys__curm;
	int saved = errno; /* the interrupted code's, whatever we do here */
	if (m && gosys__in_library(m) && !sync_fault(sig, si) && defer(m, sig, si, uc)) {
		errno = saved;
		return;
	}
	errno = saved;
	gosys__sig_open_deferred(uc);
	if (m && m->incall)
		m->eintr_ours |= EINTR_PROG; /* its EINTR is the program's to see */
	if (m) /* a wait for a P inside the handler goes first (once) */
		__atomic_store_n(&m->urgent, 1, __ATOMIC_RELAXED);
	run_program(sig, si, uc);
	if (m)
		__atomic_store_n(&m->urgent, 0, __ATOMIC_RELAXED);
}

/* Every program handler the kernel knows of is this one. */
static void trampoline(int sig, siginfo_t *si, void *uc)
{
	gosys__sig_deliver(sig, si, uc);
}

/* ---- sigaction ------------------------------------------------------------ */

/* Keeps the writer's own handlers out while it holds act_lock: deferred on
 * a registered thread, blocked (two syscalls) on one the library has not
 * met. Returns what to pass to act_end. */
static uint64_t act_begin(struct gosys_m *m)
{
	uint64_t old = 0;
	if (m) {
		gosys__crit_enter(m);
	} else {
		uint64_t all = ~0ULL;
		__gosys_syscall4(SYS_rt_sigprocmask, SIG_BLOCK, (long)&all, (long)&old, 8);
	}
	gosys_lock(&act_lock);
	return old;
}

static void act_end(struct gosys_m *m, uint64_t old)
{
	gosys_unlock(&act_lock);
	if (m)
		gosys__crit_exit(m);
	else
		__gosys_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, (long)&old, 0, 8);
}

static void act_store(int sig, const struct sigaction *act)
{
	struct prog_action *a = &acts[sig];
	__atomic_add_fetch(&a->seq, 1, __ATOMIC_ACQ_REL); /* odd: the stores cannot pass it */
	__atomic_store_n(&a->handler, (void *)act->sa_handler, __ATOMIC_RELAXED);
	__atomic_store_n(&a->flags, act->sa_flags, __ATOMIC_RELAXED);
	a->mask = act->sa_mask;
	a->known = 1;
	__atomic_store_n(&a->seq, a->seq + 1, __ATOMIC_RELEASE);
}

static void act_load(int sig, struct sigaction *out)
{
	struct prog_action *a = &acts[sig];
	__builtin_memset(out, 0, sizeof *out);
	out->sa_handler = (void (*)(int))a->handler;
	out->sa_flags = a->flags;
	out->sa_mask = a->mask;
}

int gosys__sig_action(int sig, const struct sigaction *act, struct sigaction *old,
		      gosys_sigaction_fn real)
{
	/* What the kernel or libc refuses, they refuse themselves. */
	if (sig <= 0 || sig >= GOSYS_NSIG || sig == SIGKILL || sig == SIGSTOP ||
	    __atomic_load_n(&preempt_installing, __ATOMIC_ACQUIRE))
		return real(sig, act, old);
	struct gosys_m *m = gosys__nosched ? NULL : gosys__curm;
	if (m && m->vfork) {
		/* A vfork child shares our memory: the table is the parent's, so
		 * its dispositions go to the kernel alone (it will exec or exit). */
		int r = real(sig, act, old);
		if (r == 0 && old && old->sa_sigaction == trampoline && acts[sig].known)
			act_load(sig, old);
		return r;
	}
	int ours = sig == GOSYS_PREEMPT_SIG && __atomic_load_n(&preempt_owned, __ATOMIC_ACQUIRE);
	int r = 0;
	uint64_t saved = act_begin(m);
	struct sigaction prev;
	if (ours) {
		/* The kernel keeps the preemption handler; the program's is chained. */
		if (acts[sig].known)
			act_load(sig, &prev);
		else
			__builtin_memset(&prev, 0, sizeof prev); /* SIG_DFL */
		if (act)
			act_store(sig, act);
	} else {
		struct sigaction k, kold;
		const struct sigaction *pass = NULL;
		if (act) {
			k = *act;
			if (act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN) {
				k.sa_sigaction = trampoline;
				k.sa_flags = (act->sa_flags | SA_SIGINFO) & ~SA_RESETHAND;
			}
			pass = &k;
		}
		r = real(sig, pass, &kold);
		if (r == 0) {
			if (kold.sa_sigaction == trampoline && acts[sig].known)
				act_load(sig, &prev); /* ours: the program's own */
			else
				prev = kold; /* set behind our back, or never set */
			if (act)
				act_store(sig, act);
		}
	}
	act_end(m, saved);
	if (r == 0 && old)
		*old = prev;
	return r;
}

/* ---- the preemption signal's chain ---------------------------------------- */

void gosys__sig_preempt_installing(int on)
{
	__atomic_store_n(&preempt_installing, (uint32_t)on, __ATOMIC_RELEASE);
}

void gosys__sig_preempt_owned(const struct sigaction *prev)
{
	/* What was there before becomes the program's action, unless it was
	 * the trampoline (set through us already: the table has it). */
	if (prev && prev->sa_handler != SIG_DFL && prev->sa_sigaction != trampoline)
		act_store(GOSYS_PREEMPT_SIG, prev);
	__atomic_store_n(&preempt_owned, 1, __ATOMIC_RELEASE);
}

int gosys__sig_preempt_is_owned(void)
{
	return (int)__atomic_load_n(&preempt_owned, __ATOMIC_ACQUIRE);
}
