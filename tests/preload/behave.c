/* SPDX-License-Identifier: MIT */
/*
 * behave.c - the preload's behaviour cases (I4, doc/design.md): EINTR reaches the
 * program when a handler without SA_RESTART interrupts a blocking read,
 * SA_RESTART restarts it, a handler that interrupts a blocked call may make
 * calls of its own, fork children, vfork+exec, posix_spawn and system work,
 * and pthread_cancel still cancels a thread blocked in read(), before and
 * after the first cancel. Each case runs in its own child with an alarm.
 * Prints "ok - case" / "not ok - case: why"; behave.sh adds the plan.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
static volatile sig_atomic_t hits, handler_ok;
static int pfd[2], hfd[2];
static const char *label = "";

#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); return 1; } while (0)

static void on_sig(int s)
{
	(void)s;
	hits++;
}

/* A handler that interrupts a blocked read and makes calls of its own. */
static void on_sig_calls(int s)
{
	(void)s;
	int e = errno;
	char c = 0;
	struct timespec ms = {0, 1000000};
	if (write(hfd[1], "h", 1) == 1 && read(hfd[0], &c, 1) == 1 && c == 'h' &&
	    getpid() > 0 && nanosleep(&ms, NULL) == 0)
		handler_ok = 1;
	hits++;
	errno = e;
}

static void handle(int sig, void (*h)(int), int flags)
{
	struct sigaction a;
	memset(&a, 0, sizeof a);
	a.sa_handler = h;
	a.sa_flags = flags;
	sigemptyset(&a.sa_mask);
	sigaction(sig, &a, NULL);
}

static void alarm_in_ms(long ms)
{
	struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
	setitimer(ITIMER_REAL, &it, NULL);
}

static volatile int writer_started; /* late_writer is past its start-up */

static void *late_writer(void *a)
{
	struct timespec ts = {0, 300 * 1000000L};
	writer_started = 1;
	nanosleep(&ts, NULL);
	if (write(pfd[1], "x", 1) != 1)
		abort();
	return a;
}

static int case_eintr(void)
{
	char c;
	if (pipe(pfd))
		FAIL("pipe");
	handle(SIGALRM, on_sig, 0);
	alarm_in_ms(50);
	errno = 0;
	ssize_t r = read(pfd[0], &c, 1);
	if (r != -1 || errno != EINTR || hits != 1)
		FAIL("read returned %zd errno %d hits %d, want -1 EINTR 1", r, errno, (int)hits);
	return 0;
}

static int case_restart(void)
{
	char c;
	pthread_t t;
	if (pipe(pfd))
		FAIL("pipe");
	handle(SIGALRM, on_sig, SA_RESTART);
	/* The alarm goes to this thread: the writer blocks it. */
	sigset_t s, old;
	sigemptyset(&s);
	sigaddset(&s, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &s, &old);
	if (pthread_create(&t, NULL, late_writer, NULL))
		FAIL("pthread_create");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	alarm_in_ms(50);
	ssize_t r = read(pfd[0], &c, 1);
	pthread_join(t, NULL);
	if (r != 1 || c != 'x' || hits != 1)
		FAIL("read returned %zd hits %d, want 1 after one restarted signal", r, (int)hits);
	return 0;
}

static int case_handler_calls(void)
{
	char c;
	if (pipe(pfd) || pipe(hfd))
		FAIL("pipe");
	handle(SIGALRM, on_sig_calls, 0);
	alarm_in_ms(50);
	errno = 0;
	ssize_t r = read(pfd[0], &c, 1);
	int e = errno;
	/* And the thread goes on making calls. */
	if (write(pfd[1], "y", 1) != 1 || read(pfd[0], &c, 1) != 1 || c != 'y')
		FAIL("calls after the handler failed");
	if (r != -1 || e != EINTR || !handler_ok)
		FAIL("read %zd errno %d handler_ok %d", r, e, (int)handler_ok);
	return 0;
}

static sigjmp_buf jb;

static void on_sig_jump(int s)
{
	(void)s;
	siglongjmp(jb, 1);
}

static int busy_calls(void);

/* A handler that leaves a blocked read with siglongjmp: the thread's next
 * calls (and a second thread's) must work. */
static int case_longjmp(void)
{
	char c;
	if (pipe(pfd))
		FAIL("pipe");
	handle(SIGALRM, on_sig_jump, 0);
	if (sigsetjmp(jb, 1) == 0) {
		alarm_in_ms(50);
		ssize_t r = read(pfd[0], &c, 1);
		FAIL("read returned %zd instead of being left by siglongjmp", r);
	}
	for (int i = 0; i < 3; i++)
		if (busy_calls())
			FAIL("calls after siglongjmp failed (round %d)", i);
	return 0;
}

static long main_count; /* atomic: main's progress in user code */

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Runs while main spins: with one P it holds the P itself, so main makes
 * no progress in its windows. Returns the progress seen, as a pointer. */
static void *watch_main(void *a)
{
	(void)a;
	long seen = 0;
	for (int w = 0; w < 3; w++) {
		long c0 = __atomic_load_n(&main_count, __ATOMIC_RELAXED);
		double end = now_ms() + 1;
		while (now_ms() < end)
			;
		seen += __atomic_load_n(&main_count, __ATOMIC_RELAXED) - c0;
	}
	return (void *)seen;
}

/*
 * The same with a lazy read (the wrappers' inline fast path): a long read
 * of /dev/zero, left by siglongjmp from a SIGALRM handler, then a read from
 * the same frame. That read must be taken for what it is, the first call
 * after the jump (the abandoned call is finished), not a call nested in a
 * handler: else the thread stays "in a call" for good, a waiter takes its
 * P, and with one P two threads run user code at once.
 */
static int case_longjmp_lazy(void)
{
	int fd = open("/dev/zero", O_RDONLY);
	char c;
	if (fd < 0 || read(fd, &c, 1) != 1) /* the fd kind is cached: LAZY */
		FAIL("/dev/zero");
	size_t len = 256u << 20;
	char *big = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (big == MAP_FAILED)
		FAIL("mmap");
	handle(SIGALRM, on_sig_jump, 0);
	volatile int jumped = 0;
	for (int round = 0; round < 2; round++) {
		if (sigsetjmp(jb, 1) == 0) {
			alarm_in_ms(5);
			ssize_t r = read(fd, big, len);
			alarm_in_ms(0);
			if (r <= 0)
				FAIL("the long read returned %zd", r);
		} else {
			jumped++;
		}
		if (read(fd, &c, 1) != 1) /* the same frame as the long read */
			FAIL("a read after siglongjmp failed");
	}
	if (!jumped)
		FAIL("the long read was never interrupted (the case tests nothing)");
	const char *mp = getenv("GOSYS_MAXPROCS");
	if (!getenv("LD_PRELOAD") || !mp || strcmp(mp, "1"))
		return 0; /* two threads may run at once: nothing to judge */
	pthread_t t;
	void *seen = NULL;
	if (pthread_create(&t, NULL, watch_main, NULL))
		FAIL("pthread_create");
	double end = now_ms() + 60;
	while (now_ms() < end)
		__atomic_add_fetch(&main_count, 1, __ATOMIC_RELAXED);
	pthread_join(t, &seen);
	if ((long)seen != 0)
		FAIL("with one P, main ran %ld loop turns while the other thread held it",
		     (long)seen);
	return 0;
}

static void *ret_arg(void *a)
{
	return a;
}

/* Some calls a child (or a parent after a child) must be able to make. */
static int busy_calls(void)
{
	int p[2];
	char c = 0;
	pthread_t t;
	void *v = NULL;
	struct timespec ms = {0, 1000000};
	if (pipe(p) || write(p[1], "z", 1) != 1 || read(p[0], &c, 1) != 1 || c != 'z')
		return 1;
	if (pthread_create(&t, NULL, ret_arg, (void *)3) || pthread_join(t, &v) || v != (void *)3)
		return 2;
	if (nanosleep(&ms, NULL))
		return 3;
	close(p[0]);
	close(p[1]);
	return 0;
}

static int status_of(pid_t p)
{
	int st;
	if (p < 0 || waitpid(p, &st, 0) != p)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int case_fork(void)
{
	pthread_t t;
	/* A second thread exists at fork time; the child has only this one. */
	writer_started = 0;
	if (pthread_create(&t, NULL, late_writer, NULL) || pipe(pfd))
		FAIL("setup");
	/* Fork once it sleeps: a thread still starting may hold the
	 * allocator's lock (ASan's does, at thread start), and the child
	 * would inherit it held and deadlock in its first malloc. */
	while (!writer_started)
		sched_yield();
	struct timespec settle = {0, 5 * 1000000L};
	nanosleep(&settle, NULL);
	pid_t p = fork();
	if (p == 0) {
		alarm(20); /* alarms are not inherited: a hung child must end */
		_exit(busy_calls());
	}
	int s = status_of(p);
	pthread_join(t, NULL);
	if (s != 0)
		FAIL("fork child exited %d", s);
	if (busy_calls())
		FAIL("parent's calls after fork failed");
	return 0;
}

static int case_vfork_exec(void)
{
	char *av[] = {"sh", "-c", "exit 6", NULL};
	pid_t p = vfork();
	if (p == 0) {
		execve("/bin/sh", av, environ);
		_exit(127);
	}
	int s = status_of(p);
	if (s != 6)
		FAIL("vfork+exec child exited %d, want 6", s);
	p = vfork();
	if (p == 0)
		_exit(5);
	s = status_of(p);
	if (s != 5)
		FAIL("vfork+_exit child exited %d, want 5", s);
	if (busy_calls())
		FAIL("calls after vfork failed");
	return 0;
}

static int case_spawn(void)
{
	char *av[] = {"sh", "-c", "exit 3", NULL};
	pid_t pid;
	int r = posix_spawn(&pid, "/bin/sh", NULL, NULL, av, environ);
	if (r || status_of(pid) != 3)
		FAIL("posix_spawn %d", r);
	r = posix_spawnp(&pid, "sh", NULL, NULL, av, environ);
	if (r || status_of(pid) != 3)
		FAIL("posix_spawnp %d", r);
	if (busy_calls())
		FAIL("calls after posix_spawn failed");
	return 0;
}

static int case_system(void)
{
	int s = system("exit 2");
	if (!WIFEXITED(s) || WEXITSTATUS(s) != 2)
		FAIL("system returned %#x", s);
	if (busy_calls())
		FAIL("calls after system failed");
	return 0;
}

static volatile int reader_tid;

static void *reader(void *a)
{
	char c;
	int p[2];
	if (pipe(p))
		return NULL;
	__atomic_store_n(&reader_tid, (int)syscall(SYS_gettid), __ATOMIC_RELEASE);
	for (;;)
		if (read(p[0], &c, 1) < 0 && errno != EINTR)
			break;
	return a;
}

/* Waits until the thread sleeps in the kernel (state S in /proc). */
static int wait_asleep(int tid)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
	for (int i = 0; i < 10000; i++) {
		FILE *f = fopen(path, "r");
		if (!f)
			return -1;
		size_t n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[n] = 0;
		char *rp = strrchr(buf, ')');
		if (rp && rp[1] == ' ' && rp[2] == 'S')
			return 0;
		struct timespec ms = {0, 1000000};
		nanosleep(&ms, NULL);
	}
	return -1;
}

static int cancel_one(void)
{
	pthread_t t;
	void *v = NULL;
	__atomic_store_n(&reader_tid, 0, __ATOMIC_RELAXED);
	if (pthread_create(&t, NULL, reader, NULL))
		return 1;
	while (!__atomic_load_n(&reader_tid, __ATOMIC_ACQUIRE))
		sched_yield();
	if (wait_asleep(reader_tid))
		return 2;
	if (pthread_cancel(t))
		return 3;
	if (pthread_join(t, &v) || v != PTHREAD_CANCELED)
		return 4;
	return 0;
}

#if defined(__SANITIZE_ADDRESS__)
#define CANCEL_SKIP " # SKIP ASan reports false errors unwinding a cancelled thread"
#else
#define CANCEL_SKIP NULL
#endif

static int case_cancel_read(void)
{
	int r = cancel_one();
	if (r)
		FAIL("first cancel of a thread blocked in read: step %d", r);
	r = cancel_one();
	if (r)
		FAIL("second cancel: step %d", r);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(void);
	const char *skip;
} cases[] = {
	{"EINTR reaches the program without SA_RESTART", case_eintr, NULL},
	{"SA_RESTART restarts a blocked read", case_restart, NULL},
	{"a handler interrupting a blocked read makes calls", case_handler_calls, NULL},
	{"siglongjmp out of a handler that interrupted a read", case_longjmp, NULL},
	{"siglongjmp out of a lazy read, then a read from the same frame", case_longjmp_lazy,
	 NULL},
	{"fork child works", case_fork, NULL},
	{"vfork+exec and vfork+_exit work", case_vfork_exec, NULL},
	{"posix_spawn and posix_spawnp work", case_spawn, NULL},
	{"system works", case_system, NULL},
	{"pthread_cancel cancels a thread blocked in read", case_cancel_read, CANCEL_SKIP},
};

int main(int argc, char **argv)
{
	if (argc > 1)
		label = argv[1];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (cases[i].skip) {
			printf("ok - %s%s%s\n", cases[i].name, label, cases[i].skip);
			continue;
		}
		fflush(stdout);
		pid_t p = fork();
		if (p == 0) {
			alarm(30);
			_exit(cases[i].fn());
		}
		int s = status_of(p);
		if (s == 0)
			printf("ok - %s%s\n", cases[i].name, label);
		else
			printf("not ok - %s%s (child status %d)\n", cases[i].name, label, s);
	}
	return 0;
}
