/* SPDX-License-Identifier: MIT */
/*
 * sigsusp.c - threads suspended by a signal whose handler waits in
 * sigsuspend until a second signal resumes it, the way runtimes stop
 * threads they want to look at:
 *
 *   boehm    the Boehm GC's stop-the-world: the collector sends the suspend
 *            signal (SIGPWR) to every thread, waits for each one's
 *            acknowledgement (sem_post from the handler), works, then sends
 *            the restart signal (SIGXCPU) to all and waits for a second
 *            acknowledgement each. The handler runs with every signal
 *            blocked and waits in sigsuspend with only the restart signal
 *            let through.
 *   hotspot  HotSpot's suspend/resume (what its JFR thread sampler uses):
 *            one signal (SIGUSR2) for both, a state word, one thread at a
 *            time; the handler runs with the mask the thread had when it
 *            was installed (so the library's SIGURG can arrive inside it)
 *            and waits in sigsuspend with its mask minus SIGUSR2.
 *   altstack the boehm protocol with the handler on an alternate signal
 *            stack (SA_ONSTACK), where the library's own SIGURG handler
 *            (installed SA_ONSTACK) then runs too.
 *
 * One case per state the targets are in when the signal comes: computing
 * in user code (user), in lazy calls (lazy: pread on a regular file, stat),
 * in eager calls (eager: nanosleep, read on a pipe a feeder fills), parked
 * waiting for a P (parked: three times more threads than Ps, each short
 * compute then a call or a short sleep), and preempted by the library's
 * SIGURG (preempted: compute loops of 12 to 25 ms, longer than the 10 ms
 * slice, with no call); "mixed" has some of each and two suspenders. The
 * flavour turns with the run's seed (boehm, hotspot, altstack, ...); a
 * failure line names it. Between the two signals the suspender does
 * something (a lazy call, an eager sleep, a spin or nothing).
 *
 * A run passes when every round completes and every thread joins: a hang
 * (a suspended thread holding the only P, or the scheduler lock) is caught
 * by the driver's limit, a crash by the exit status. See runs.h.
 */
#include "runs.h"
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define SIG_SUSPEND SIGPWR   /* Boehm GC's defaults on Linux */
#define SIG_RESTART SIGXCPU
#define SIG_SR SIGUSR2       /* HotSpot's SR_signum */

enum kind { K_USER, K_LAZY, K_EAGER, K_PARKED, K_PREEMPTED, K_NKINDS };
enum flavour { F_BOEHM, F_HOTSPOT, F_ALTSTACK };
enum { HS_RUNNING, HS_SUSPEND_REQ, HS_SUSPENDED, HS_RESUME_REQ };

#define MAXT 64

struct target {
	pthread_t th;
	int kind;
	int pfd[2];	/* eager: the pipe it reads, fed by the feeder */
	int hs;		/* hotspot: the state word */
	int owner;	/* the suspender that handles this target */
	void *altstack;	/* altstack: freed after the join */
	uint64_t seed;
	uint64_t work;	/* loops done, atomic */
	int64_t pad[4];
};

static struct target tg[MAXT];
static int ntg;
static int stop;		  /* atomic: targets and feeder leave */
static int started;		  /* atomic: targets that have set `me` */
static int world_stopped[2];	  /* boehm, per suspender: atomic */
static uint32_t stop_count[2];	  /* boehm, per suspender: atomic */
static sem_t ack[2];		  /* per suspender */
static int datafd = -1;		  /* a regular file for pread */
static int flavour;
static __thread struct target *me;

/* ---- spinning and the targets' calls -------------------------------------- */

static void spin_us(long us)
{
	int64_t end = runs_mono_ns() + us * 1000;
	while (runs_mono_ns() < end && !__atomic_load_n(&stop, __ATOMIC_RELAXED))
		__asm__ __volatile__("pause");
}

/* Compute with no call at all (not even the vDSO clock): a count of loops
 * calibrated to roughly us microseconds on this machine. */
static volatile uint64_t sink;
static uint64_t loops_per_us = 100;

static void compute_us(long us)
{
	uint64_t x = sink, n = loops_per_us * (uint64_t)us;
	for (uint64_t i = 0; i < n; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		if ((i & 0xffff) == 0 && __atomic_load_n(&stop, __ATOMIC_RELAXED))
			break;
	}
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

static void lazy_call(uint64_t *seed)
{
	struct stat st;
	char buf[512];
	switch (runs_rand(seed) % 3) {
	case 0:
		stat("/", &st);
		break;
	case 1:
		if (pread(datafd, buf, sizeof buf, (off_t)(runs_rand(seed) % 8) * 512) < 0)
			abort();
		break;
	default: {
		int fd = open("/proc/self/stat", O_RDONLY);
		if (fd >= 0) {
			if (read(fd, buf, sizeof buf) < 0)
				abort();
			close(fd);
		}
	}
	}
}

static void nap_us(long us)
{
	struct timespec ts = {0, us * 1000};
	nanosleep(&ts, NULL);
}

static void *target_main(void *arg)
{
	struct target *t = arg;
	me = t;
	stack_t prev;
	if (flavour == F_ALTSTACK) {
		stack_t ss;
		ss.ss_sp = t->altstack = malloc(64 * 1024);
		ss.ss_size = 64 * 1024;
		ss.ss_flags = 0;
		if (!ss.ss_sp || sigaltstack(&ss, &prev) != 0)
			abort();
	}
	__atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
	uint64_t *s = &t->seed;
	char c;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		switch (t->kind) {
		case K_USER:
			spin_us(100 + runs_rand(s) % 1400);
			lazy_call(s);
			break;
		case K_LAZY:
			lazy_call(s);
			lazy_call(s);
			spin_us(runs_rand(s) % 20);
			break;
		case K_EAGER:
			if (runs_rand(s) % 2)
				nap_us(20 + runs_rand(s) % 200);
			else if (read(t->pfd[0], &c, 1) == 0)
				goto out; /* the end: the feeder's side is closed */
			break;
		case K_PARKED: /* back from a call or a sleep, into the queue */
			spin_us(50 + runs_rand(s) % 250);
			if (runs_rand(s) % 2)
				lazy_call(s);
			else
				nap_us(50 + runs_rand(s) % 100);
			break;
		case K_PREEMPTED:
			compute_us(12000 + runs_rand(s) % 13000);
			lazy_call(s);
			break;
		}
		__atomic_add_fetch(&t->work, 1, __ATOMIC_RELAXED);
	}
out:
	if (flavour == F_ALTSTACK) {
		/* Give back the stack there was (a sanitizer's runtime keeps one
		 * per thread and unmaps whatever is current when the thread ends). */
		if (prev.ss_flags & SS_DISABLE)
			prev = (stack_t){.ss_flags = SS_DISABLE};
		sigaltstack(&prev, NULL);
	}
	return NULL;
}

static void *feeder_main(void *arg)
{
	(void)arg;
	uint64_t seed = 12345;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		for (int i = 0; i < ntg; i++)
			if (tg[i].kind == K_EAGER && runs_rand(&seed) % 2) {
				if (write(tg[i].pfd[1], "x", 1) != 1)
					abort();
			}
		nap_us(100);
	}
	return NULL;
}

/* ---- the handlers ---------------------------------------------------------- */

static void boehm_suspend(int sig)
{
	(void)sig;
	int e = errno;
	struct target *t = me;
	int o = t ? t->owner : 0;
	uint32_t my = __atomic_load_n(&stop_count[o], __ATOMIC_ACQUIRE);
	sem_post(&ack[o]);
	sigset_t m;
	sigfillset(&m);
	sigdelset(&m, SIG_RESTART);
	sigdelset(&m, SIGSEGV);
	sigdelset(&m, SIGBUS);
	sigdelset(&m, SIGABRT);
	while (__atomic_load_n(&world_stopped[o], __ATOMIC_ACQUIRE) &&
	       __atomic_load_n(&stop_count[o], __ATOMIC_ACQUIRE) == my)
		sigsuspend(&m);
	sem_post(&ack[o]); /* acknowledges the restart */
	errno = e;
}

static void boehm_restart(int sig)
{
	(void)sig; /* only ends the sigsuspend */
}

static void hotspot_sr(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)si, (void)uc;
	int e = errno;
	struct target *t = me;
	if (t && __atomic_load_n(&t->hs, __ATOMIC_ACQUIRE) == HS_SUSPEND_REQ) {
		__atomic_store_n(&t->hs, HS_SUSPENDED, __ATOMIC_RELEASE);
		sem_post(&ack[t->owner]);
		sigset_t m;
		pthread_sigmask(SIG_BLOCK, NULL, &m);
		sigdelset(&m, SIG_SR);
		while (__atomic_load_n(&t->hs, __ATOMIC_ACQUIRE) != HS_RESUME_REQ)
			sigsuspend(&m);
		__atomic_store_n(&t->hs, HS_RUNNING, __ATOMIC_RELEASE);
		sem_post(&ack[t->owner]);
	}
	/* else: the resume signal itself, taken inside the sigsuspend above */
	errno = e;
}

static void install(void)
{
	struct sigaction a;
	memset(&a, 0, sizeof a);
	if (flavour == F_HOTSPOT) {
		a.sa_sigaction = hotspot_sr;
		a.sa_flags = SA_SIGINFO | SA_RESTART;
		pthread_sigmask(SIG_BLOCK, NULL, &a.sa_mask);
		sigaction(SIG_SR, &a, NULL);
		return;
	}
	a.sa_handler = boehm_suspend;
	a.sa_flags = SA_RESTART | (flavour == F_ALTSTACK ? SA_ONSTACK : 0);
	sigfillset(&a.sa_mask);
	sigdelset(&a.sa_mask, SIGSEGV);
	sigdelset(&a.sa_mask, SIGBUS);
	sigdelset(&a.sa_mask, SIGABRT);
	sigaction(SIG_SUSPEND, &a, NULL);
	a.sa_handler = boehm_restart;
	sigaction(SIG_RESTART, &a, NULL);
}

/* ---- the suspenders -------------------------------------------------------- */

/* Something to do while the targets are stopped. */
static void meanwhile(uint64_t *seed)
{
	struct stat st;
	switch (runs_rand(seed) % 4) {
	case 0:
		stat("/", &st);
		break;
	case 1:
		nap_us(30 + runs_rand(seed) % 100);
		break;
	case 2:
		spin_us(runs_rand(seed) % 200);
		break;
	default:
		break;
	}
}

struct suspender {
	int id;
	int rounds;
	uint64_t seed;
	int done;
};

static void sem_wait_all(sem_t *s)
{
	while (sem_wait(s) != 0)
		if (errno != EINTR)
			abort();
}

static void *suspender_main(void *arg)
{
	struct suspender *sp = arg;
	int o = sp->id;
	for (int r = 0; r < sp->rounds; r++) {
		if (flavour == F_HOTSPOT) {
			/* One thread at a time, in turn. */
			for (int i = 0; i < ntg; i++) {
				struct target *t = &tg[i];
				if (t->owner != o)
					continue;
				__atomic_store_n(&t->hs, HS_SUSPEND_REQ, __ATOMIC_RELEASE);
				if (pthread_kill(t->th, SIG_SR) != 0)
					abort();
				sem_wait_all(&ack[o]);
				meanwhile(&sp->seed);
				__atomic_store_n(&t->hs, HS_RESUME_REQ, __ATOMIC_RELEASE);
				if (pthread_kill(t->th, SIG_SR) != 0)
					abort();
				sem_wait_all(&ack[o]);
			}
		} else {
			/* Stop the world, work, start it again. */
			int n = 0;
			__atomic_add_fetch(&stop_count[o], 1, __ATOMIC_SEQ_CST);
			__atomic_store_n(&world_stopped[o], 1, __ATOMIC_SEQ_CST);
			for (int i = 0; i < ntg; i++)
				if (tg[i].owner == o) {
					if (pthread_kill(tg[i].th, SIG_SUSPEND) != 0)
						abort();
					n++;
				}
			for (int i = 0; i < n; i++)
				sem_wait_all(&ack[o]);
			meanwhile(&sp->seed);
			__atomic_store_n(&world_stopped[o], 0, __ATOMIC_SEQ_CST);
			for (int i = 0; i < ntg; i++)
				if (tg[i].owner == o && pthread_kill(tg[i].th, SIG_RESTART) != 0)
					abort();
			for (int i = 0; i < n; i++)
				sem_wait_all(&ack[o]);
		}
		__atomic_store_n(&sp->done, r + 1, __ATOMIC_RELEASE);
		/* Let the targets run a little between rounds. */
		nap_us(200 + runs_rand(&sp->seed) % 800);
	}
	return NULL;
}

/* ---- one run ----------------------------------------------------------------- */

static void add_targets(int kind, int n)
{
	for (int i = 0; i < n && ntg < MAXT; i++) {
		tg[ntg].kind = kind;
		ntg++;
	}
}

static int run(uint64_t seed, int fl, int kind)
{
	flavour = fl;
	calibrate();
	int procs = runs_maxprocs(2);
	int nsusp = 1;
	if (kind == K_NKINDS) { /* mixed */
		add_targets(K_USER, 2);
		add_targets(K_LAZY, 2);
		add_targets(K_EAGER, 2);
		add_targets(K_PREEMPTED, 2);
		add_targets(K_PARKED, 3 * procs + 2);
		nsusp = 2;
	} else if (kind == K_PARKED) {
		add_targets(K_PARKED, 3 * procs + 4);
	} else {
		add_targets(kind, 3);
	}
	datafd = open("/proc/self/exe", O_RDONLY);
	if (datafd < 0)
		RUN_FAIL("open /proc/self/exe: %s", strerror(errno));
	for (int i = 0; i < 2; i++)
		sem_init(&ack[i], 0, 0);
	install();
	int have_eager = 0;
	for (int i = 0; i < ntg; i++) {
		tg[i].seed = seed * 31 + (uint64_t)i + 1;
		tg[i].owner = i % nsusp;
		if (tg[i].kind == K_EAGER) {
			have_eager = 1;
			if (pipe(tg[i].pfd))
				RUN_FAIL("pipe: %s", strerror(errno));
		}
	}
	for (int i = 0; i < ntg; i++)
		if (pthread_create(&tg[i].th, NULL, target_main, &tg[i]))
			RUN_FAIL("pthread_create");
	pthread_t feeder;
	if (have_eager && pthread_create(&feeder, NULL, feeder_main, NULL))
		RUN_FAIL("pthread_create");
	while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < ntg)
		nap_us(100);
	struct suspender sp[2];
	pthread_t spt[2];
	int rounds = fl == F_HOTSPOT ? (kind == K_PARKED || kind == K_NKINDS ? 2 : 4) : 6;
	/* Without async preemption every round waits out the compute loops of
	 * the preempted targets for a P (tens of ms each): half as many. */
	const char *dbg = getenv("GOSYS_DEBUG");
	if (dbg && strstr(dbg, "asyncpreempt=0") && (kind == K_PREEMPTED || kind == K_NKINDS))
		rounds = (rounds + 1) / 2;
	for (int i = 0; i < nsusp; i++) {
		sp[i] = (struct suspender){i, rounds, seed + 7 * (uint64_t)i, 0};
		if (pthread_create(&spt[i], NULL, suspender_main, &sp[i]))
			RUN_FAIL("pthread_create");
	}
	for (int i = 0; i < nsusp; i++)
		pthread_join(spt[i], NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_SEQ_CST);
	if (have_eager) {
		pthread_join(feeder, NULL);
		for (int i = 0; i < ntg; i++)
			if (tg[i].kind == K_EAGER)
				close(tg[i].pfd[1]);
	}
	for (int i = 0; i < ntg; i++) {
		pthread_join(tg[i].th, NULL);
		free(tg[i].altstack);
	}
	for (int i = 0; i < nsusp; i++)
		if (sp[i].done != rounds)
			RUN_FAIL("suspender %d did %d of %d rounds", i, sp[i].done, rounds);
	return 0;
}

static const char *const flavour_names[] = {"boehm", "hotspot", "altstack"};

static int flavour_of(uint64_t seed)
{
	return (int)(seed % 3);
}

static const char *describe(uint64_t seed)
{
	return flavour_names[flavour_of(seed)];
}

#define CASE(k)                                                        \
	static int c_##k(uint64_t seed)                                \
	{                                                              \
		return run(seed, flavour_of(seed), K_##k);             \
	}
#define K_MIXED K_NKINDS
CASE(USER)
CASE(LAZY)
CASE(EAGER)
CASE(PARKED)
CASE(PREEMPTED)
CASE(MIXED)

static const struct runs_case cases[] = {
	{"user", c_USER, describe},
	{"lazy", c_LAZY, describe},
	{"eager", c_EAGER, describe},
	{"parked", c_PARKED, describe},
	{"preempted", c_PREEMPTED, describe},
	{"mixed", c_MIXED, describe},
};

int main(int argc, char **argv)
{
	return runs_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
