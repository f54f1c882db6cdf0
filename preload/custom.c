/* SPDX-License-Identifier: MIT */
/*
 * custom.c - the rows of preload/calls.def whose path is "custom": the
 * signal calls that chain the preemption signal, pthread_create's admission
 * trampoline, pthread_cancel's switch to libc's cancellation points, the
 * variadic syscall() and vfork's C half (the cpus knob's rows are in
 * cpus.c). Async-signal-safe except pthread_create and pthread_cancel,
 * which are not in libc either.
 */
#include "preload.h"
#include <fcntl.h>
#include <sys/stat.h>

#define NEXT(row, type) ((type)gosys__pl_next(GOSYS_PL_##row))
#define SIGCANCEL_NR 32 /* glibc's cancellation signal, __SIGRTMIN */

/* ---- sigaction and signal: every program handler behind the trampoline --- */

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);

static int sigaction_common(int row, int sig, const struct sigaction *act, struct sigaction *old)
{
	sigaction_fn fn = (sigaction_fn)gosys__pl_next(row);
	if (!fn)
		gosys__pl_missing(row);
	if (gosys__pl_resolving)
		return fn(sig, act, old);
	if (GOSYS_UNLIKELY(gosys__stats_on)) { /* one rt_sigaction, as libc makes it */
		struct gosys_st_call c;
		gosys__st_begin(&c);
		int r = gosys__sig_action(sig, act, old, fn);
		gosys__st_end(&c, SYS_rt_sigaction, r != 0);
		return r;
	}
	return gosys__sig_action(sig, act, old, fn);
}

GOSYS_PL_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return sigaction_common(GOSYS_PL_sigaction, sig, act, old);
}

GOSYS_PL_EXPORT int __sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return sigaction_common(GOSYS_PL___sigaction, sig, act, old);
}

/* signal() and its flavours: a sigaction with libc's flags for each (glibc
 * calls its internal sigaction, which we would not see). */
static sighandler_t signal_common(int sig, sighandler_t h, int flags, int selfmask)
{
	if (h == SIG_ERR || sig <= 0 || sig >= GOSYS_NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	struct sigaction a, o;
	__builtin_memset(&a, 0, sizeof a);
	a.sa_handler = h;
	sigemptyset(&a.sa_mask);
	if (selfmask)
		sigaddset(&a.sa_mask, sig);
	a.sa_flags = flags;
	if (sigaction_common(GOSYS_PL_sigaction, sig, &a, &o) != 0)
		return SIG_ERR;
	return o.sa_handler;
}

GOSYS_PL_EXPORT sighandler_t signal(int sig, sighandler_t h)
{
	return signal_common(sig, h, SA_RESTART, 1);
}

GOSYS_PL_EXPORT sighandler_t bsd_signal(int sig, sighandler_t h)
{
	return signal_common(sig, h, SA_RESTART, 1);
}

GOSYS_PL_EXPORT sighandler_t sysv_signal(int sig, sighandler_t h)
{
	return signal_common(sig, h, SA_RESETHAND | SA_NODEFER, 0);
}

/* System V's sigset: a handler with an empty mask and no flags, or SIG_HOLD
 * (block it); either way the previous disposition, or SIG_HOLD if the
 * signal was blocked. glibc's own calls its internal sigaction. */
GOSYS_PL_EXPORT sighandler_t sigset(int sig, sighandler_t disp)
{
	if (disp == SIG_ERR || sig <= 0 || sig >= GOSYS_NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	struct sigaction a, o;
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, sig);
	if (disp == SIG_HOLD) {
		if (sigaction_common(GOSYS_PL_sigaction, sig, NULL, &o) != 0 ||
		    pthread_sigmask(SIG_BLOCK, &set, &old) != 0)
			return SIG_ERR;
	} else {
		__builtin_memset(&a, 0, sizeof a);
		a.sa_handler = disp;
		sigemptyset(&a.sa_mask);
		if (sigaction_common(GOSYS_PL_sigaction, sig, &a, &o) != 0 ||
		    pthread_sigmask(SIG_UNBLOCK, &set, &old) != 0)
			return SIG_ERR;
	}
	return sigismember(&old, sig) ? SIG_HOLD : o.sa_handler;
}

/* ---- pthread_create: admit the new thread before its start routine ------- */

struct tramp {
	void *(*fn)(void *);
	void *arg;
};

static void *tramp_start(void *p)
{
	struct tramp t = *(struct tramp *)p;
	free(p);
	if (GOSYS_UNLIKELY(gosys__stats_on))
		gosys__stats_thread_start(); /* the same, timed */
	else
		gosys__thread_start();
	return t.fn(t.arg);
}

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

GOSYS_PL_EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *attr,
				   void *(*fn)(void *), void *arg)
{
	create_fn real = NEXT(pthread_create, create_fn);
	if (!real)
		gosys__pl_missing(GOSYS_PL_pthread_create);
	int e = errno;
	struct tramp *t = malloc(sizeof *t);
	if (!t) {
		errno = e;
		return EAGAIN;
	}
	t->fn = fn;
	t->arg = arg;
	struct gosys_st_call c;
	if (GOSYS_UNLIKELY(gosys__stats_on))
		gosys__st_begin(&c);
	int r = real(th, attr, tramp_start, t);
	if (GOSYS_UNLIKELY(gosys__stats_on))
		gosys__st_end(&c, GOSYS_ST_ROW(GOSYS_PL_pthread_create), r != 0);
	if (r != 0)
		free(t);
	errno = e;
	return r;
}

/* ---- pthread_cancel: from now on, cancellation points go through libc ---- */

static void sleep_ms(long ms)
{
	struct timespec ts = {0, ms * 1000000L};
	__gosys_syscall2(SYS_nanosleep, (long)&ts, 0);
}

/*
 * glibc installs its cancellation signal's handler (at the first
 * pthread_cancel) with SA_RESTART, so a kick would just restart an inline
 * read. Once, after that first call, the handler is re-installed without
 * SA_RESTART, relaying to glibc's: glibc only sends the signal to threads in
 * asynchronous mode, whose handler never returns, so the one difference is
 * that a kicked inline call returns EINTR to its wrapper.
 */
struct ksigaction {
	void (*handler)(int, siginfo_t *, void *);
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};
#define GOSYS_SA_RESTORER 0x04000000UL
static void (*glibc_cancel_handler)(int, siginfo_t *, void *); /* set once, before use */
static int cancel_relayed; /* atomic: the relay is installed */

static void cancel_relay(int sig, siginfo_t *si, void *uc)
{
	glibc_cancel_handler(sig, si, uc);
}

static void cancel_signal_unrestart(void)
{
	struct ksigaction old, ka;
	if (__atomic_exchange_n(&cancel_relayed, 1, __ATOMIC_ACQ_REL))
		return;
	if (__gosys_syscall4(SYS_rt_sigaction, SIGCANCEL_NR, 0, (long)&old, 8) != 0)
		return;
	if (old.handler == cancel_relay)
		return;
	if (!(old.flags & SA_SIGINFO) || (void *)old.handler == (void *)SIG_DFL ||
	    (void *)old.handler == (void *)SIG_IGN) {
		__atomic_store_n(&cancel_relayed, 0, __ATOMIC_RELEASE); /* not installed yet: retry */
		return;
	}
	glibc_cancel_handler = old.handler;
	ka = old;
	ka.handler = cancel_relay;
	ka.flags = (old.flags & ~(unsigned long)SA_RESTART) | GOSYS_SA_RESTORER;
	ka.restorer = __gosys_sigreturn;
	if (__gosys_syscall4(SYS_rt_sigaction, SIGCANCEL_NR, (long)&ka, 0, 8) != 0)
		gosys__warn("cannot adjust the cancellation signal; inline calls may not be cancellable");
}

GOSYS_PL_EXPORT int pthread_cancel(pthread_t th)
{
	int (*real)(pthread_t) = NEXT(pthread_cancel, int (*)(pthread_t));
	if (!real)
		gosys__pl_missing(GOSYS_PL_pthread_cancel);
	int e = errno;
	int first = !__atomic_exchange_n(&gosys__pl_cancel_on, 1, __ATOMIC_SEQ_CST);
	if (first) {
		/* Let every thread that chose the inline path before the switch
		 * publish its cp->active (store buffers drain in far less). */
		sleep_ms(2);
	}
	/* Read the target's state before libc may let it exit. */
	pthread_t self = pthread_self();
	clockid_t clk;
	int tid = 0;
	if (!pthread_equal(th, self) && pthread_getcpuclockid(th, &clk) == 0)
		tid = (int)~((long)clk >> 3); /* glibc: (~tid << 3) | CPUCLOCK_PERTHREAD | SCHED */
	int r = real(th);
	if (!__atomic_load_n(&cancel_relayed, __ATOMIC_ACQUIRE))
		cancel_signal_unrestart();
	if (r != 0 || tid <= 0) {
		errno = e;
		return r;
	}
	/* Static TLS sits at the same offset from each thread's descriptor,
	 * which is what pthread_t is on x86-64 glibc. */
	struct gosys_pl_cp *cp =
		(struct gosys_pl_cp *)((char *)th + ((char *)&gosys__pl_cp - (char *)self));
	long pid = __gosys_syscall0(SYS_getpid);
	for (int i = 0; i < 500 && __atomic_load_n(&cp->active, __ATOMIC_ACQUIRE); i++) {
		__atomic_add_fetch(&cp->kicks, 1, __ATOMIC_SEQ_CST);
		if (__gosys_syscall3(SYS_tgkill, pid, tid, SIGCANCEL_NR) != 0)
			break;
		sleep_ms(1);
	}
	errno = e;
	return r;
}

/* ---- syscall(): dispatched by number through the table's classes --------- */

/* Six arguments are read whatever the caller passed, as glibc's own
 * syscall() does: the sixth comes from the caller's stack frame, a slot
 * that is always mapped but that ASan calls a stack-buffer-underflow when
 * the caller passed fewer. */
GOSYS_PL_EXPORT __attribute__((no_sanitize_address)) long syscall(long nr, ...)
{
	long a[6];
	va_list ap;
	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (GOSYS_UNLIKELY(gosys__pl_resolving))
		return gosys__pl_seterr(__gosys_syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5]));
	int cls = gosys__pl_sysclass(nr, a);
	long r;
	if (GOSYS_UNLIKELY(gosys__stats_on)) { /* counted under nr itself */
		struct gosys_st_call c;
		gosys__st_begin(&c);
		c.cls = cls;
		gosys__pl_enter(cls);
		do {
			r = __gosys_syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
			c.n++;
		} while (r == -EINTR && gosys__eintr_was_ours());
		gosys__pl_exit(cls);
		gosys__st_end(&c, (int)nr, GOSYS_IS_ERR(r));
		if (nr == SYS_sched_getaffinity && r > 0) /* the cpus knob */
			gosys__pl_cpus_mask((pid_t)a[0], (void *)a[2], (size_t)r);
		return gosys__pl_seterr(r);
	}
	gosys__pl_enter(cls);
	do
		r = __gosys_syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	while (r == -EINTR && gosys__eintr_was_ours());
	gosys__pl_exit(cls);
	if (GOSYS_UNLIKELY(nr == SYS_sched_getaffinity) && r > 0) /* the cpus knob */
		gosys__pl_cpus_mask((pid_t)a[0], (void *)a[2], (size_t)r);
	return gosys__pl_seterr(r);
}

/* ---- vfork: the parent's side after the child has exec'd or exited ------- */

GOSYS_HIDDEN pid_t gosys__pl_vfork_parent(long r);
pid_t gosys__pl_vfork_parent(long r)
{
	gosys__vfork_end();
	return (pid_t)gosys__pl_seterr(r);
}

/* ---- the fd-kind rule ------------------------------------------------------ */

#define FDK_MAX GOSYS_PL_FDK_MAX
enum { FDK_UNKNOWN = 0, FDK_LAZY = GOSYS_PL_FDK_LAZY, FDK_BLOCK = 2 };
uint8_t gosys__pl_fdkind[FDK_MAX]; /* relaxed atomics: any thread, any handler */

int gosys__pl_fdblocks(int fd)
{
	if ((unsigned)fd >= FDK_MAX)
		return 0;
	uint8_t k = __atomic_load_n(&gosys__pl_fdkind[fd], __ATOMIC_RELAXED);
	if (GOSYS_LIKELY(k != FDK_UNKNOWN))
		return k == FDK_BLOCK;
	struct stat st;
	if (__gosys_syscall2(SYS_fstat, fd, (long)&st) != 0)
		return 0; /* not open (yet): nothing to remember */
	k = FDK_LAZY;
	if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) {
		long fl = __gosys_syscall2(SYS_fcntl, fd, F_GETFL);
		if (!GOSYS_IS_ERR(fl) && !(fl & O_NONBLOCK))
			k = FDK_BLOCK;
	}
	__atomic_store_n(&gosys__pl_fdkind[fd], k, __ATOMIC_RELAXED);
	return k == FDK_BLOCK;
}

long gosys__pl_seterr_fail(long r)
{
	errno = (int)-r;
	return -1;
}

long gosys__pl_flush_seterr(long r)
{
	gosys__sig_flush_slow(gosys__curm);
	return gosys__pl_seterr(r);
}

long gosys__pl_flush_seterr_cp(long r)
{
	gosys__sig_flush_slow(gosys__curm);
	gosys__pl_cp.active = 0;
	return gosys__pl_seterr(r);
}

void gosys__pl_fdforget(int fd)
{
	if ((unsigned)fd < FDK_MAX)
		__atomic_store_n(&gosys__pl_fdkind[fd], FDK_UNKNOWN, __ATOMIC_RELAXED);
}
