/* SPDX-License-Identifier: MIT */
/*
 * siglock.c - a signal handler that blocks in an ordinary call while its
 * thread may be waiting for a P: libuv's signal lock. libuv keeps one byte
 * in a blocking pipe; taking the lock is reading it, releasing is writing
 * it back. Its handler (installed with every signal blocked) takes the lock,
 * writes a message to the loop's non-blocking pipe and releases it; code
 * outside handlers (uv_signal_start, uv_signal_stop) first blocks all
 * signals, then takes the same lock and works with it held.
 *
 * Threads: a loop thread that polls the loop pipe and counts the messages;
 * signallers that send SIGUSR1/SIGUSR2 to each other, to random threads and
 * to the whole process; registrars that take the lock the uv_signal_start
 * way; computers, some with short compute and calls, some with loops longer
 * than the slice ("hogs": preempted by SIGURG; "uvlock" has none, so its
 * handlers land only on threads in calls, in user code or queued for a P,
 * never on one parked by the preemption signal). At maxprocs 1 and 2 there are many
 * more threads than Ps, so a handler often lands on a thread parked in the
 * library, and its read of the lock pipe then blocks where the library does
 * not look while the lock's holder waits for a P.
 *
 * "term" does the same with SIGTERM (libuv programs watch it for a
 * graceful shutdown): it is sent to the process, many times, and the last
 * one, from the main thread, is what the loop thread takes as the order to
 * stop (hogs in every other run). Each run must finish by itself; see runs.h.
 */
#include "runs.h"
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define MAXT 48

struct msg {
	int signum;
	int tid;
	uint64_t magic;
};
#define MAGIC 0x6c69627576736967ULL

static int lockfd[2];		/* blocking: the lock */
static int loopfd[2];		/* non-blocking: handler -> loop thread */
static int stop;		/* atomic */
static int term_mode;
static int tids[MAXT];		/* atomic: the threads signallers aim at */
static pthread_t ths[MAXT];
static int nths;
static uint64_t caught, delivered, bad_msgs, term_seen; /* atomic */
static int term_final;		/* atomic: the main thread's last SIGTERM is out */
static volatile uint64_t sink;
static uint64_t loops_per_us = 100;

static void uv_lock(void)
{
	char c;
	ssize_t r;
	do
		r = read(lockfd[0], &c, 1);
	while (r < 0 && errno == EINTR);
	if (r != 1)
		abort();
}

static void uv_unlock(void)
{
	ssize_t r;
	do
		r = write(lockfd[1], "*", 1);
	while (r < 0 && errno == EINTR);
	if (r != 1)
		abort();
}

static void uv_handler(int sig)
{
	int e = errno;
	uv_lock();
	struct msg m = {sig, (int)syscall(SYS_gettid), MAGIC};
	ssize_t r;
	do
		r = write(loopfd[1], &m, sizeof m);
	while (r < 0 && errno == EINTR);
	if (r == (ssize_t)sizeof m)
		__atomic_add_fetch(&caught, 1, __ATOMIC_RELAXED);
	uv_unlock();
	errno = e;
}

static void install(int sig)
{
	struct sigaction a;
	memset(&a, 0, sizeof a);
	a.sa_handler = uv_handler;
	a.sa_flags = SA_RESTART;
	sigfillset(&a.sa_mask);
	if (sigaction(sig, &a, NULL))
		abort();
}

static void compute_us(long us)
{
	uint64_t x = sink, n = loops_per_us * (uint64_t)us;
	for (uint64_t i = 0; i < n; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	sink = x;
}

static void calibrate(void)
{
	int64_t t0 = runs_mono_ns();
	loops_per_us = 1000;
	compute_us(2000);
	int64_t dt = runs_mono_ns() - t0;
	if (dt > 0)
		loops_per_us = 1000ULL * 2000 * 1000 / (uint64_t)dt;
	if (loops_per_us < 10)
		loops_per_us = 10;
}

static void nap_us(long us)
{
	struct timespec ts = {0, us * 1000};
	nanosleep(&ts, NULL);
}

/* ---- the threads ------------------------------------------------------------ */

enum role { R_SIGNALLER, R_REGISTRAR, R_COMPUTER, R_HOG };

struct worker {
	int idx, role, ops;
	uint64_t seed;
};

static void send_one(uint64_t *s)
{
	int sig = term_mode ? SIGTERM : (runs_rand(s) % 2 ? SIGUSR1 : SIGUSR2);
	uint32_t r = runs_rand(s) % 8;
	if (r == 0 || term_mode) {
		kill(getpid(), sig);
	} else {
		int tid = __atomic_load_n(&tids[runs_rand(s) % (uint32_t)nths], __ATOMIC_ACQUIRE);
		if (tid > 0)
			syscall(SYS_tgkill, getpid(), tid, sig);
	}
	__atomic_add_fetch(&delivered, 1, __ATOMIC_RELAXED);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t *s = &w->seed;
	__atomic_store_n(&tids[w->idx], (int)syscall(SYS_gettid), __ATOMIC_RELEASE);
	struct stat st;
	for (int i = 0; i < w->ops; i++) {
		switch (w->role) {
		case R_SIGNALLER:
			send_one(s);
			if (runs_rand(s) % 4)
				compute_us(runs_rand(s) % 30);
			else
				nap_us(10 + runs_rand(s) % 100);
			break;
		case R_REGISTRAR: { /* uv_signal_start: block everything, lock, work */
			sigset_t all, old;
			sigfillset(&all);
			pthread_sigmask(SIG_SETMASK, &all, &old);
			uv_lock();
			compute_us(runs_rand(s) % 20);
			if (runs_rand(s) % 4 == 0)
				stat("/", &st);
			uv_unlock();
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			compute_us(runs_rand(s) % 60);
			break;
		}
		case R_COMPUTER:
			compute_us(20 + runs_rand(s) % 130);
			stat("/", &st);
			break;
		case R_HOG: /* longer than the slice, no call: SIGURG's target */
			compute_us(12000 + runs_rand(s) % 5000);
			stat("/", &st);
			break;
		}
	}
	__atomic_store_n(&tids[w->idx], 0, __ATOMIC_RELEASE);
	return NULL;
}

static void *loop_main(void *arg)
{
	(void)arg;
	struct pollfd p = {loopfd[0], POLLIN, 0};
	for (;;) {
		int r = poll(&p, 1, -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			abort();
		struct msg m[64];
		ssize_t n;
		while ((n = read(loopfd[0], m, sizeof m)) > 0) {
			for (size_t i = 0; i < (size_t)n / sizeof m[0]; i++) {
				if (m[i].magic != MAGIC ||
				    (m[i].signum != SIGUSR1 && m[i].signum != SIGUSR2 &&
				     m[i].signum != SIGTERM))
					__atomic_add_fetch(&bad_msgs, 1, __ATOMIC_RELAXED);
				if (m[i].signum == SIGTERM)
					__atomic_add_fetch(&term_seen, 1, __ATOMIC_RELAXED);
			}
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			abort();
		if (term_mode ? __atomic_load_n(&term_final, __ATOMIC_ACQUIRE) &&
					__atomic_load_n(&term_seen, __ATOMIC_RELAXED)
			      : __atomic_load_n(&stop, __ATOMIC_ACQUIRE))
			break;
	}
	return NULL;
}

static int run(uint64_t seed, int term, int hogs)
{
	term_mode = term;
	calibrate();
	int procs = runs_maxprocs(2);
	if (pipe(lockfd) || pipe2(loopfd, O_NONBLOCK))
		RUN_FAIL("pipe: %s", strerror(errno));
	uv_unlock(); /* the lock starts free: one byte in the pipe */
	install(term ? SIGTERM : SIGUSR1);
	install(SIGUSR2);
	static struct worker ws[MAXT];
	int nsig = 3 + procs, nreg = 2, ncomp = 2 + 2 * procs, nhog = hogs ? 2 : 0;
	nths = nsig + nreg + ncomp + nhog;
	if (nths > MAXT)
		nths = MAXT;
	pthread_t loop;
	if (pthread_create(&loop, NULL, loop_main, NULL))
		RUN_FAIL("pthread_create");
	for (int i = 0; i < nths; i++) {
		int role = i < nsig ? R_SIGNALLER : i < nsig + nreg ? R_REGISTRAR
				: i < nsig + nreg + ncomp ? R_COMPUTER : R_HOG;
		int ops = role == R_SIGNALLER ? 120 : role == R_REGISTRAR ? 100
			: role == R_COMPUTER ? 80 : 2;
		ws[i] = (struct worker){i, role, ops, seed * 977 + (uint64_t)i + 1};
		if (pthread_create(&ths[i], NULL, worker_main, &ws[i]))
			RUN_FAIL("pthread_create");
	}
	for (int i = 0; i < nths; i++)
		pthread_join(ths[i], NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	if (term) {
		/* The shutdown order: the loop leaves once it has seen a SIGTERM
		 * message after this one was sent. */
		__atomic_store_n(&term_seen, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&term_final, 1, __ATOMIC_RELEASE);
		kill(getpid(), SIGTERM);
	} else {
		/* Wake the loop with one more message of our own. */
		pthread_kill(loop, SIGUSR2);
	}
	pthread_join(loop, NULL);
	if (bad_msgs)
		RUN_FAIL("%llu malformed messages", (unsigned long long)bad_msgs);
	if (!caught)
		RUN_FAIL("no signal caught of %llu sent", (unsigned long long)delivered);
	return 0;
}

static int c_uv(uint64_t seed)
{
	return run(seed, 0, 0);
}

static int c_uv_hogs(uint64_t seed)
{
	return run(seed, 0, 1);
}

static int c_term(uint64_t seed)
{
	return run(seed, 1, seed % 2);
}

static const struct runs_case cases[] = {
	{"uvlock", c_uv, NULL},
	{"uvlock-hogs", c_uv_hogs, NULL},
	{"uvlock-sigterm", c_term, NULL},
};

int main(int argc, char **argv)
{
	return runs_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
