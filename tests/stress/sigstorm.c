/* SPDX-License-Identifier: MIT */
/*
 * sigstorm.c - a signal storm against the preloaded library, for
 * `make stress` (minutes) and the smoke test (seconds).
 *
 * Targets, several times more than maxprocs, each in a random mix of every
 * state the library knows: short compute then a lazy call, compute longer
 * than the slice with no call (SIGURG's case), lazy calls, eager calls
 * (nanosleep, read on a fed pipe), a sigsetjmp region left by siglongjmp
 * from a handler, and (two of them) a futex wait by inline syscall followed
 * by a long compute with no call, which the library cannot see. They send
 * each other, and the process, signals whose handlers block:
 *
 *   SIGUSR1      suspend: acknowledge, sigsuspend until the suspender's
 *                SIGUSR2 (HotSpot's protocol, one thread at a time)
 *   SIGRTMIN+1   read one byte from a pipe the feeder fills
 *   SIGRTMIN+2   libuv's lock: read the byte of a blocking pipe, write it back
 *   SIGRTMIN+3   nanosleep
 *   SIGRTMIN+4   futex wait (libc's syscall() or an inline one) until the
 *                waker bumps the word
 *   SIGRTMIN+5   sem_wait until the poster posts
 *   SIGRTMIN+6   a mutex the toucher holds now and then
 *   SIGRTMIN+7   siglongjmp out, when the thread is in its sigsetjmp region
 *
 * The sleeping, futex, sem and pipe handlers run with the other storm
 * signals open, so signals nest inside them; the lock and mutex handlers
 * block them all (a nested one would deadlock on its own lock), and the
 * suspend handler blocks SIGRTMIN+7 (jumping out of a suspension would leave
 * the suspender waiting) and SIGUSR2 (a resume that landed between its look
 * at the state and its sigsuspend would be lost; it is let in by the
 * sigsuspend alone, as HotSpot does). The service threads (suspender,
 * feeder, waker, poster, toucher) and the main thread block the storm
 * signals.
 *
 * What a siglongjmp may abandon, it abandons soundly: only the handlers
 * that nobody waits for (sleep, pipe-wait, futex, sem; their waiter counts
 * then stay high, which makes the services post or write ahead, never
 * wait), and the calls they block in (nanosleep, read, futex, sem_wait).
 * Every handler another thread waits on (suspend) or that holds a lock
 * (pipe-lock, mutex) blocks SIGRTMIN+7, and the region is only entered
 * from the top of a target's loop, with no handler running.
 *
 * The suspender starts once every target has set its thread pointer: a
 * suspend request that arrives before it (a thread may take tens of ms to
 * run for the first time on a loaded machine) cannot be acknowledged, and
 * the suspender would wait for ever (the plain hang, 1 run in 3 once).
 *
 * Invariants: the process ends by itself and exits 0; it keeps making
 * progress (no 20 s without any); no storm signal is blocked at the top of
 * a target's loop (one the library deferred and left blocked in user code
 * is lost for good); and over every window of at least 200 ms the CPU time
 * of all its threads but the library's monitor, divided by the wall time,
 * stays at most maxprocs + margin (0.5 unless --margin). The windows are
 * measured by the main thread from its own timestamps: a late wake-up makes
 * a longer window, never a false failure. The margin is what the library
 * allows itself: the two unseen workers run without a P after each inline
 * wake-up until the monitor's scan sees their CPU move (a few ms each, more
 * when the monitor is late on a loaded machine), handlers run without one
 * inside eager calls, and so do deferrals and handoffs. Windows of 1.24 to
 * 1.34 at maxprocs 1 were seen (about one in 2000), so a margin of 0.25
 * would fail long runs; a leaked P shows as a whole thread more.
 *
 * The process that checks all this is the parent: this program with
 * --lib (not preloaded itself) forks and execs itself with LD_PRELOAD set,
 * reads the child's heartbeats from a pipe and kills it (after printing
 * its threads' states) when they stop advancing or the run outlives
 * seconds + 60 s.
 *
 *   sigstorm --lib PATH [--seconds S] [--threads N] [--margin M] [--seed N]
 *
 * GOSYS_MAXPROCS and GOSYS_DEBUG pass through to the child. Without --lib
 * the child runs plain (to check the program itself; the bound is then
 * not judged, unless STORM_JUDGE_PLAIN=1: a plain run with more threads
 * than CPUs should then fail it, which checks the check).
 */
#include "runs.h"
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define MAXT 96

#define SIG_SUSP SIGUSR1
#define SIG_RES SIGUSR2
#define SIG_PIPEWAIT (SIGRTMIN + 1)
#define SIG_PIPELOCK (SIGRTMIN + 2)
#define SIG_SLEEP (SIGRTMIN + 3)
#define SIG_FUTEX (SIGRTMIN + 4)
#define SIG_SEM (SIGRTMIN + 5)
#define SIG_MUTEX (SIGRTMIN + 6)
#define SIG_JUMP (SIGRTMIN + 7)

enum { H_SUSP, H_PIPEWAIT, H_PIPELOCK, H_SLEEP, H_FUTEX, H_SEM, H_MUTEX, H_JUMP, H_N };
static const char *const hnames[H_N] = {"suspend", "pipe-wait", "pipe-lock", "sleep",
					 "futex",   "sem",       "mutex",     "longjmp"};

enum { ST_RUNNING, ST_SUSPEND_REQ, ST_SUSPENDED, ST_RESUME_REQ };

struct target {
	pthread_t th;
	int idx;
	int tid;		/* atomic */
	int unseen;		/* does the inline-futex phases */
	int feed[2];		/* a pipe the feeder writes to, for eager reads */
	int sstate;		/* suspend protocol */
	sem_t sack;		/* suspend acknowledgements */
	int jumpable;		/* inside the sigsetjmp region (atomic) */
	sigjmp_buf jb;
	int depth;		/* handlers active on this thread */
	uint64_t seed;
	char pad[64];
};

static struct target tg[MAXT];
static int ntg;
static pthread_t svc[8];
static int nsvc;
static int stop_targets, stop_suspender, stop_services; /* atomic */
static uint64_t progress;		/* atomic: ops and handler completions */
static uint64_t hcount[H_N], nested, jumps_taken; /* atomic */
static uint64_t mask_leaks;		/* atomic: storm signals found blocked */
static int mask_leak_sig;
static int waitpipe[2], lockpipe[2];
static uint32_t fword;			/* futex the waker bumps */
static int fwaiters, pwaiters, swaiters; /* atomic: handlers waiting */
static sem_t hsem;
static pthread_mutex_t hmutex = PTHREAD_MUTEX_INITIALIZER;
static uint32_t unseen_phase;		/* futex: inline wake of the unseen workers */
static int datafd = -1;
static uint64_t loops_per_us = 100;
static uint64_t sink; /* relaxed atomics: every thread computes into it */
static __thread struct target *me;

/* ---- small helpers ------------------------------------------------------- */

static void nap_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
	nanosleep(&ts, NULL);
}

static void compute_us(long us, const int *stopflag)
{
	uint64_t x = __atomic_load_n(&sink, __ATOMIC_RELAXED), n = loops_per_us * (uint64_t)us;
	for (uint64_t i = 0; i < n; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		if ((i & 0xffff) == 0 && stopflag && __atomic_load_n(stopflag, __ATOMIC_RELAXED))
			break;
	}
	__atomic_store_n(&sink, x, __ATOMIC_RELAXED);
}

static void calibrate(void)
{
	int64_t t0 = runs_mono_ns();
	loops_per_us = 1000;
	compute_us(2000, NULL);
	int64_t dt = runs_mono_ns() - t0;
	if (dt > 0)
		loops_per_us = 1000ULL * 2000 * 1000 / (uint64_t)dt;
	if (loops_per_us < 10)
		loops_per_us = 10;
}

static void block_storm(sigset_t *s)
{
	sigemptyset(s);
	sigaddset(s, SIG_SUSP);
	sigaddset(s, SIG_RES);
	for (int i = 1; i <= 7; i++)
		sigaddset(s, SIGRTMIN + i);
}

static void done_one(int h)
{
	__atomic_add_fetch(&hcount[h], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&progress, 1, __ATOMIC_RELAXED);
}

/* ---- the handlers ----------------------------------------------------------- */

static int enter(void)
{
	struct target *t = me;
	if (t && t->depth++ > 0)
		__atomic_add_fetch(&nested, 1, __ATOMIC_RELAXED);
	return errno;
}

static void leave(int e)
{
	if (me)
		me->depth--;
	errno = e;
}

static void h_susp(int sig)
{
	(void)sig;
	int e = enter();
	struct target *t = me;
	int want = ST_SUSPEND_REQ;
	if (t && __atomic_compare_exchange_n(&t->sstate, &want, ST_SUSPENDED, 0, __ATOMIC_ACQ_REL,
					     __ATOMIC_ACQUIRE)) {
		sem_post(&t->sack);
		sigset_t m;
		pthread_sigmask(SIG_BLOCK, NULL, &m);
		sigdelset(&m, SIG_RES);
		while (__atomic_load_n(&t->sstate, __ATOMIC_ACQUIRE) != ST_RESUME_REQ)
			sigsuspend(&m);
		__atomic_store_n(&t->sstate, ST_RUNNING, __ATOMIC_RELEASE);
		sem_post(&t->sack);
		done_one(H_SUSP);
	}
	leave(e);
}

static void h_res(int sig)
{
	(void)sig;
}

static void h_pipewait(int sig)
{
	(void)sig;
	int e = enter();
	char c;
	__atomic_add_fetch(&pwaiters, 1, __ATOMIC_SEQ_CST);
	while (read(waitpipe[0], &c, 1) < 0 && errno == EINTR)
		;
	__atomic_sub_fetch(&pwaiters, 1, __ATOMIC_SEQ_CST);
	done_one(H_PIPEWAIT);
	leave(e);
}

static void h_pipelock(int sig)
{
	(void)sig;
	int e = enter();
	char c;
	ssize_t r;
	do
		r = read(lockpipe[0], &c, 1);
	while (r < 0 && errno == EINTR);
	if (r != 1)
		abort();
	compute_us(5, NULL);
	do
		r = write(lockpipe[1], "*", 1);
	while (r < 0 && errno == EINTR);
	if (r != 1)
		abort();
	done_one(H_PIPELOCK);
	leave(e);
}

static void h_sleep(int sig)
{
	(void)sig;
	int e = enter();
	uint64_t s = (uint64_t)runs_mono_ns();
	nap_us(50 + runs_rand(&s) % 450);
	done_one(H_SLEEP);
	leave(e);
}

static void h_futex(int sig)
{
	(void)sig;
	int e = enter();
	uint32_t v = __atomic_load_n(&fword, __ATOMIC_ACQUIRE);
	__atomic_add_fetch(&fwaiters, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&fword, __ATOMIC_ACQUIRE) == v) {
		if (v & 1)
			runs_inline_syscall4(SYS_futex, (long)&fword, FUTEX_WAIT_PRIVATE, v, 0);
		else
			syscall(SYS_futex, &fword, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
	}
	__atomic_sub_fetch(&fwaiters, 1, __ATOMIC_SEQ_CST);
	done_one(H_FUTEX);
	leave(e);
}

static void h_sem(int sig)
{
	(void)sig;
	int e = enter();
	__atomic_add_fetch(&swaiters, 1, __ATOMIC_SEQ_CST);
	while (sem_wait(&hsem) != 0 && errno == EINTR)
		;
	__atomic_sub_fetch(&swaiters, 1, __ATOMIC_SEQ_CST);
	done_one(H_SEM);
	leave(e);
}

static void h_mutex(int sig)
{
	(void)sig;
	int e = enter();
	pthread_mutex_lock(&hmutex);
	compute_us(5, NULL);
	pthread_mutex_unlock(&hmutex);
	done_one(H_MUTEX);
	leave(e);
}

static void h_jump(int sig)
{
	(void)sig;
	struct target *t = me;
	if (t && __atomic_load_n(&t->jumpable, __ATOMIC_RELAXED)) {
		__atomic_store_n(&t->jumpable, 0, __ATOMIC_RELAXED);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		done_one(H_JUMP);
		/* The depth of the handlers being left: all of them were
		 * entered inside the region (the region is entered with none). */
		t->depth = 0;
		siglongjmp(t->jb, 1);
	}
}

/* extra: more signals to block in the handler (0-terminated), or NULL. */
static void install(int sig, void (*h)(int), int block_all, const int *extra)
{
	struct sigaction a;
	memset(&a, 0, sizeof a);
	a.sa_handler = h;
	a.sa_flags = SA_RESTART;
	if (block_all)
		block_storm(&a.sa_mask);
	else
		sigemptyset(&a.sa_mask);
	for (; extra && *extra; extra++)
		sigaddset(&a.sa_mask, *extra);
	if (sigaction(sig, &a, NULL))
		abort();
}

/* ---- the targets ---------------------------------------------------------------- */

static const int storm_sigs_n = 7;

static int storm_sig(uint32_t r)
{
	return SIGRTMIN + 1 + (int)(r % (uint32_t)storm_sigs_n);
}

static void send_some(uint64_t *s)
{
	if (runs_rand(s) % 4 == 0) { /* a jump, at a thread inside its region */
		uint32_t k = runs_rand(s) % (uint32_t)ntg;
		for (int i = 0; i < ntg; i++) {
			struct target *t = &tg[(k + (uint32_t)i) % (uint32_t)ntg];
			int tid = __atomic_load_n(&t->tid, __ATOMIC_ACQUIRE);
			if (t != me && tid > 0 && __atomic_load_n(&t->jumpable, __ATOMIC_RELAXED)) {
				syscall(SYS_tgkill, getpid(), tid, SIG_JUMP);
				return;
			}
		}
	}
	int sig = storm_sig(runs_rand(s));
	if (runs_rand(s) % 6 == 0) {
		kill(getpid(), sig);
		return;
	}
	int tid = __atomic_load_n(&tg[runs_rand(s) % (uint32_t)ntg].tid, __ATOMIC_ACQUIRE);
	if (tid > 0)
		syscall(SYS_tgkill, getpid(), tid, sig);
}

static void lazy_call(uint64_t *s)
{
	struct stat st;
	char buf[256];
	if (runs_rand(s) % 2)
		stat("/", &st);
	else if (pread(datafd, buf, sizeof buf, (off_t)(runs_rand(s) % 16) * 256) < 0)
		abort();
}

/* The sigsetjmp region: blocking and computing, until SIGRTMIN+7 jumps out
 * (or it ends by itself). Only calls that take no lock in libc. */
static void jump_region(struct target *t, uint64_t *s)
{
	volatile int rounds = 1 + (int)(runs_rand(s) % 4);
	if (sigsetjmp(t->jb, 1) == 0) {
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		__atomic_store_n(&t->jumpable, 1, __ATOMIC_RELAXED);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		for (int i = 0; i < rounds; i++) {
			char c;
			switch (runs_rand(s) % 3) {
			case 0:
				if (read(t->feed[0], &c, 1) < 0 && errno != EINTR)
					abort();
				break;
			case 1:
				nap_us(100 + runs_rand(s) % 400);
				break;
			default:
				compute_us(50 + runs_rand(s) % 200, &stop_targets);
			}
		}
		__atomic_store_n(&t->jumpable, 0, __ATOMIC_RELAXED);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
	} else {
		__atomic_add_fetch(&jumps_taken, 1, __ATOMIC_RELAXED);
	}
}

static void unseen_phase_run(uint64_t *s)
{
	/* Asleep where the library cannot see, then compute with no call. */
	uint32_t ph = __atomic_load_n(&unseen_phase, __ATOMIC_ACQUIRE);
	while (__atomic_load_n(&unseen_phase, __ATOMIC_ACQUIRE) == ph &&
	       !__atomic_load_n(&stop_targets, __ATOMIC_RELAXED))
		runs_inline_syscall4(SYS_futex, (long)&unseen_phase, FUTEX_WAIT_PRIVATE, ph, 0);
	compute_us(20000 + runs_rand(s) % 30000, &stop_targets);
}

/* At the top of a target's loop no handler runs and no storm signal may be
 * blocked: the targets start with them open, and a signal the library put
 * back blocked must be open again once the thread is out of the library. One
 * left blocked is lost for good (a suspend request never acknowledged). */
static void check_mask(void)
{
	sigset_t cur;
	if (pthread_sigmask(SIG_BLOCK, NULL, &cur))
		abort();
	int sigs[] = {SIG_SUSP, SIG_RES, SIG_PIPEWAIT, SIG_PIPELOCK, SIG_SLEEP,
		      SIG_FUTEX,  SIG_SEM, SIG_MUTEX,    SIG_JUMP};
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		if (sigismember(&cur, sigs[i])) {
			if (__atomic_add_fetch(&mask_leaks, 1, __ATOMIC_RELAXED) == 1)
				__atomic_store_n(&mask_leak_sig, sigs[i], __ATOMIC_RELAXED);
			/* Open it again, or the storm would hang on it. */
			sigset_t one;
			sigemptyset(&one);
			sigaddset(&one, sigs[i]);
			pthread_sigmask(SIG_UNBLOCK, &one, NULL);
		}
	}
}

static void *target_main(void *arg)
{
	struct target *t = arg;
	me = t;
	__atomic_store_n(&t->tid, (int)syscall(SYS_gettid), __ATOMIC_RELEASE);
	uint64_t *s = &t->seed;
	char c;
	while (!__atomic_load_n(&stop_targets, __ATOMIC_RELAXED)) {
		check_mask();
		if (t->unseen && runs_rand(s) % 3 == 0) {
			unseen_phase_run(s);
			__atomic_add_fetch(&progress, 1, __ATOMIC_RELAXED);
			continue;
		}
		switch (runs_rand(s) % 9) {
		case 0:
		case 1:
			compute_us(50 + runs_rand(s) % 450, &stop_targets);
			lazy_call(s);
			break;
		case 2:
			if (runs_rand(s) % 4 == 0)
				compute_us(12000 + runs_rand(s) % 15000, &stop_targets);
			else
				lazy_call(s);
			break;
		case 3:
			nap_us(20 + runs_rand(s) % 300);
			break;
		case 4:
			if (read(t->feed[0], &c, 1) < 0 && errno != EINTR)
				abort();
			break;
		case 5:
			jump_region(t, s);
			break;
		default:
			send_some(s);
			if (runs_rand(s) % 2)
				send_some(s);
			compute_us(runs_rand(s) % 100, &stop_targets);
			break;
		}
		__atomic_add_fetch(&progress, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* ---- the service threads (storm signals blocked) ----------------------------------- */

static void *suspender_main(void *arg)
{
	uint64_t s = (uintptr_t)arg;
	while (!__atomic_load_n(&stop_suspender, __ATOMIC_RELAXED)) {
		struct target *t = &tg[runs_rand(&s) % (uint32_t)ntg];
		__atomic_store_n(&t->sstate, ST_SUSPEND_REQ, __ATOMIC_RELEASE);
		if (pthread_kill(t->th, SIG_SUSP) != 0)
			abort();
		while (sem_wait(&t->sack) != 0)
			;
		/* Look at it, as a sampler would: a lazy call, or nothing. */
		if (runs_rand(&s) % 2)
			lazy_call(&s);
		__atomic_store_n(&t->sstate, ST_RESUME_REQ, __ATOMIC_RELEASE);
		if (pthread_kill(t->th, SIG_RES) != 0)
			abort();
		while (sem_wait(&t->sack) != 0)
			;
		nap_us(200 + runs_rand(&s) % 1800);
	}
	return NULL;
}

static void *feeder_main(void *arg)
{
	uint64_t s = (uintptr_t)arg;
	while (!__atomic_load_n(&stop_services, __ATOMIC_RELAXED)) {
		if (__atomic_load_n(&pwaiters, __ATOMIC_SEQ_CST) > 0 && write(waitpipe[1], "w", 1) != 1 &&
		    errno != EAGAIN)
			abort();
		struct target *t = &tg[runs_rand(&s) % (uint32_t)ntg];
		if (write(t->feed[1], "f", 1) != 1 && errno != EAGAIN)
			abort();
		nap_us(100 + runs_rand(&s) % 300);
	}
	return NULL;
}

static void *waker_main(void *arg)
{
	uint64_t s = (uintptr_t)arg;
	while (!__atomic_load_n(&stop_services, __ATOMIC_RELAXED)) {
		__atomic_add_fetch(&fword, 1, __ATOMIC_RELEASE);
		syscall(SYS_futex, &fword, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
		if (runs_rand(&s) % 8 == 0) { /* a new phase for the unseen workers */
			__atomic_add_fetch(&unseen_phase, 1, __ATOMIC_RELEASE);
			runs_inline_syscall4(SYS_futex, (long)&unseen_phase, FUTEX_WAKE_PRIVATE, 0x7fffffff,
					0);
		}
		nap_us(200 + runs_rand(&s) % 800);
	}
	return NULL;
}

static void *poster_main(void *arg)
{
	uint64_t s = (uintptr_t)arg;
	while (!__atomic_load_n(&stop_services, __ATOMIC_RELAXED)) {
		int w = __atomic_load_n(&swaiters, __ATOMIC_SEQ_CST), v = 0;
		sem_getvalue(&hsem, &v);
		if (w > v)
			sem_post(&hsem);
		nap_us(100 + runs_rand(&s) % 400);
	}
	return NULL;
}

static void *toucher_main(void *arg)
{
	uint64_t s = (uintptr_t)arg;
	while (!__atomic_load_n(&stop_services, __ATOMIC_RELAXED)) {
		pthread_mutex_lock(&hmutex);
		compute_us(50 + runs_rand(&s) % 200, NULL);
		pthread_mutex_unlock(&hmutex);
		nap_us(300 + runs_rand(&s) % 1500);
	}
	return NULL;
}

/* ---- the child: the storm itself ------------------------------------------------------ */

static int64_t thread_cpu(pthread_t th)
{
	clockid_t c;
	struct timespec ts;
	if (pthread_getcpuclockid(th, &c) || clock_gettime(c, &ts))
		return -1;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t all_cpu(void)
{
	int64_t sum = 0;
	for (int i = 0; i < ntg; i++) {
		int64_t c = thread_cpu(tg[i].th);
		if (c > 0)
			sum += c;
	}
	for (int i = 0; i < nsvc; i++) {
		int64_t c = thread_cpu(svc[i]);
		if (c > 0)
			sum += c;
	}
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return sum + (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void heartbeat(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void heartbeat(int fd, const char *fmt, ...)
{
	if (fd < 0)
		return;
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n > 0 && write(fd, buf, (size_t)n) < 0)
		abort();
}

static int child(double seconds, int nthreads, double margin, uint64_t seed)
{
	const char *fdv = getenv("STORM_FD");
	int hb = fdv ? atoi(fdv) : -1;
	int procs = runs_maxprocs(0);
	int preloaded = getenv("LD_PRELOAD") != NULL;
	calibrate();
	if (nthreads <= 0)
		nthreads = 4 * (procs > 0 ? procs : 2) + 6;
	if (nthreads > MAXT)
		nthreads = MAXT;
	if (nthreads < 4)
		nthreads = 4;
	datafd = open("/proc/self/exe", O_RDONLY);
	/* The wait pipe's writer never blocks: a handler left by siglongjmp
	 * leaves its waiter count up, and the feeder then writes ahead. */
	if (datafd < 0 || pipe(waitpipe) || fcntl(waitpipe[1], F_SETFL, O_NONBLOCK) ||
	    pipe(lockpipe) || write(lockpipe[1], "*", 1) != 1)
		RUN_FAIL("sigstorm: setup: %s", strerror(errno));
	sem_init(&hsem, 0, 0);
	/* The suspend handler blocks the jump (see the head) and the resume
	 * signal: a resume must land in its sigsuspend, not between its look
	 * at sstate and the sigsuspend, where it would be lost. */
	const int susp_extra[] = {SIG_JUMP, SIG_RES, 0};
	install(SIG_SUSP, h_susp, 0, susp_extra);
	install(SIG_RES, h_res, 0, NULL);
	install(SIG_PIPEWAIT, h_pipewait, 0, NULL);
	install(SIG_PIPELOCK, h_pipelock, 1, NULL);
	install(SIG_SLEEP, h_sleep, 0, NULL);
	install(SIG_FUTEX, h_futex, 0, NULL);
	install(SIG_SEM, h_sem, 0, NULL);
	install(SIG_MUTEX, h_mutex, 1, NULL);
	install(SIG_JUMP, h_jump, 0, NULL);
	/* The main thread and the services never take storm signals. */
	sigset_t storm, old;
	block_storm(&storm);
	pthread_sigmask(SIG_BLOCK, &storm, &old);
	ntg = nthreads;
	for (int i = 0; i < ntg; i++) {
		struct target *t = &tg[i];
		t->idx = i;
		t->unseen = i < 2;
		t->seed = seed * 1000003 + (uint64_t)i + 1;
		sem_init(&t->sack, 0, 0);
		if (pipe2(t->feed, 0) || fcntl(t->feed[1], F_SETFL, O_NONBLOCK))
			RUN_FAIL("sigstorm: pipe: %s", strerror(errno));
	}
	void *(*svcs[])(void *) = {feeder_main, waker_main, poster_main, toucher_main,
				   suspender_main};
	nsvc = 5;
	for (int i = 0; i < nsvc - 1; i++)
		if (pthread_create(&svc[i], NULL, svcs[i], (void *)(uintptr_t)(seed + 17 * (uint64_t)i)))
			RUN_FAIL("sigstorm: pthread_create");
	/* Targets get the storm signals open: they inherit the old mask. */
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	for (int i = 0; i < ntg; i++)
		if (pthread_create(&tg[i].th, NULL, target_main, &tg[i]))
			RUN_FAIL("sigstorm: pthread_create");
	pthread_sigmask(SIG_BLOCK, &storm, NULL);
	/* The suspender last, once every target has started (set me, then its
	 * tid): a suspend request that lands before me is set finds no target
	 * to mark suspended, and the suspender would wait for its
	 * acknowledgement for ever. A thread can take tens of ms to run for
	 * the first time on a loaded machine. */
	for (int i = 0; i < ntg; i++)
		while (__atomic_load_n(&tg[i].tid, __ATOMIC_ACQUIRE) == 0)
			nap_us(1000);
	if (pthread_create(&svc[nsvc - 1], NULL, suspender_main, (void *)(uintptr_t)(seed + 99)))
		RUN_FAIL("sigstorm: pthread_create");
	int64_t start = runs_mono_ns(), end = start + (int64_t)(seconds * 1e9);
	int64_t w_wall = start, w_cpu = all_cpu();
	double worst = 0;
	int64_t worst_at = 0, over = 0, windows = 0;
	/* STORM_JUDGE_PLAIN=1 judges a plain run too (a check of the check). */
	const char *jp = getenv("STORM_JUDGE_PLAIN");
	int judged = (preloaded || (jp && *jp == '1')) && procs > 0;
	fprintf(stderr, "sigstorm: %.0f s, %d targets, maxprocs %d, margin %.2f, seed %llu%s\n",
		seconds, ntg, procs, margin, (unsigned long long)seed,
		judged ? "" : " (the bound is not judged)");
	while (runs_mono_ns() < end) {
		nap_us(200000);
		int64_t now = runs_mono_ns(), cpu = all_cpu();
		double ratio = (double)(cpu - w_cpu) / (double)(now - w_wall);
		windows++;
		if (ratio > worst) {
			worst = ratio;
			worst_at = now - start;
		}
		if (judged && ratio > procs + margin) {
			if (over++ < 5)
				fprintf(stderr, "sigstorm: at %.1f s, %.2f threads ran at once over %.0f ms "
						"(maxprocs %d, bound %.2f)\n",
					(now - start) / 1e9, ratio, (now - w_wall) / 1e6, procs,
					procs + margin);
		}
		w_wall = now;
		w_cpu = cpu;
		heartbeat(hb, "P %llu\n",
			  (unsigned long long)__atomic_load_n(&progress, __ATOMIC_RELAXED));
	}
	/* Wind down: the suspender first (it waits on targets), then the
	 * targets (their handlers may wait on the services), then the rest. */
	heartbeat(hb, "S stopping\n");
	__atomic_store_n(&stop_suspender, 1, __ATOMIC_SEQ_CST);
	pthread_join(svc[nsvc - 1], NULL);
	__atomic_store_n(&stop_targets, 1, __ATOMIC_SEQ_CST);
	/* Unseen workers may sleep in their inline futex: wake them. */
	__atomic_add_fetch(&unseen_phase, 1, __ATOMIC_RELEASE);
	runs_inline_syscall4(SYS_futex, (long)&unseen_phase, FUTEX_WAKE_PRIVATE, 0x7fffffff, 0);
	for (int i = 0; i < ntg; i++) {
		/* A target may block in a read of its feed pipe. */
		if (write(tg[i].feed[1], "e", 1) < 0 && errno != EAGAIN)
			abort();
	}
	for (int i = 0; i < ntg; i++) {
		pthread_join(tg[i].th, NULL);
		heartbeat(hb, "J %d\n", i);
	}
	__atomic_store_n(&stop_services, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < nsvc - 1; i++)
		pthread_join(svc[i], NULL);
	fprintf(stderr, "sigstorm: %llu ops and handlers done; handlers:",
		(unsigned long long)progress);
	for (int h = 0; h < H_N; h++)
		fprintf(stderr, " %s %llu", hnames[h], (unsigned long long)hcount[h]);
	fprintf(stderr, "; nested %llu, jumps %llu\n", (unsigned long long)nested,
		(unsigned long long)jumps_taken);
	fprintf(stderr, "sigstorm: %lld windows, worst %.2f at %.1f s, %lld above %.2f%s\n",
		(long long)windows, worst, worst_at / 1e9, (long long)over, procs + margin,
		judged ? "" : " (not judged)");
	uint64_t leaks = __atomic_load_n(&mask_leaks, __ATOMIC_RELAXED);
	if (leaks)
		fprintf(stderr, "sigstorm: %llu times a storm signal (first %d) was blocked at the top "
				"of a target's loop: a deferred signal left blocked in user code\n",
			(unsigned long long)leaks, mask_leak_sig);
	int bad = over || leaks;
	heartbeat(hb, "E %s\n", bad ? "fail" : "ok");
	return bad ? 1 : 0;
}

/* ---- the parent: launches the child and watches it ------------------------------------- */

static int parent(char **argv, const char *lib, double seconds, double quiet_s)
{
	int p[2];
	if (pipe(p))
		return 2;
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {
		close(p[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		char fd[16];
		snprintf(fd, sizeof fd, "%d", p[1]);
		setenv("STORM_FD", fd, 1);
		if (lib)
			setenv("LD_PRELOAD", lib, 1);
		else
			unsetenv("LD_PRELOAD");
		argv[0] = "sigstorm";
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(p[1]);
	int64_t start = runs_mono_ns(), hard = start + (int64_t)((seconds + 60) * 1e9);
	int64_t last_change = start;
	unsigned long long last = 0;
	char buf[4096];
	size_t have = 0;
	int ended_ok = -1, eof = 0, hung = 0;
	while (!eof) {
		struct pollfd pf = {p[0], POLLIN, 0};
		int r = poll(&pf, 1, 500);
		int64_t now = runs_mono_ns();
		if (r > 0) {
			ssize_t n = read(p[0], buf + have, sizeof buf - 1 - have);
			if (n <= 0) {
				eof = 1;
			} else {
				have += (size_t)n;
				buf[have] = 0;
				char *line = buf, *nl;
				while ((nl = strchr(line, '\n'))) {
					*nl = 0;
					unsigned long long v;
					if (sscanf(line, "P %llu", &v) == 1) {
						if (v != last) {
							last = v;
							last_change = now;
						}
					} else if (line[0] == 'J' || line[0] == 'S') {
						last_change = now; /* winding down, step by step */
					} else if (strncmp(line, "E ", 2) == 0) {
						ended_ok = strcmp(line + 2, "ok") == 0;
						last_change = now;
					}
					line = nl + 1;
				}
				have = strlen(line);
				memmove(buf, line, have);
			}
		}
		if (!eof && (now - last_change > (int64_t)(quiet_s * 1e9) || now > hard)) {
			fprintf(stderr, "sigstorm: %s; the child's threads:\n",
				now > hard ? "past the run's limit" : "no progress");
			runs_dump_threads(pid);
			kill(pid, SIGKILL);
			hung = 1;
			break;
		}
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	close(p[0]);
	if (hung) {
		fprintf(stderr, "sigstorm: FAIL: hung (no progress for %.0f s)\n", quiet_s);
		return 1;
	}
	if (!WIFEXITED(st)) {
		fprintf(stderr, "sigstorm: FAIL: killed by signal %d (%s)\n", WTERMSIG(st),
			strsignal(WTERMSIG(st)));
		return 1;
	}
	if (WEXITSTATUS(st) != 0 || ended_ok != 1) {
		fprintf(stderr, "sigstorm: FAIL: exit %d%s\n", WEXITSTATUS(st),
			ended_ok == 0 ? " (concurrency above the bound, or a signal left blocked)" : "");
		return 1;
	}
	fprintf(stderr, "sigstorm: ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *lib = NULL;
	double seconds = 5, margin = 0.5, quiet = 20;
	int threads = 0, is_child = 0;
	uint64_t seed = (uint64_t)runs_mono_ns() ^ (uint64_t)getpid();
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--child") == 0)
			is_child = 1;
		else if (strcmp(argv[i], "--lib") == 0 && i + 1 < argc)
			lib = argv[++i];
		else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (strcmp(argv[i], "--margin") == 0 && i + 1 < argc)
			margin = atof(argv[++i]);
		else if (strcmp(argv[i], "--quiet") == 0 && i + 1 < argc)
			quiet = atof(argv[++i]);
		else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: sigstorm [--lib PATH] [--seconds S] [--threads N] "
					"[--margin M] [--quiet S] [--seed N]\n");
			return 2;
		}
	}
	if (is_child)
		return child(seconds, threads, margin, seed);
	/* The child gets the same arguments, with --child and the seed fixed. */
	char sbuf[32];
	snprintf(sbuf, sizeof sbuf, "%llu", (unsigned long long)seed);
	char **av = calloc((size_t)argc + 4, sizeof *av);
	if (!av)
		return 2;
	int n = 0;
	av[n++] = argv[0];
	for (int i = 1; i < argc; i++)
		av[n++] = argv[i];
	av[n++] = "--child";
	av[n++] = "--seed";
	av[n++] = sbuf;
	av[n] = NULL;
	int r = parent(av, lib, seconds, quiet);
	free(av);
	return r;
}
