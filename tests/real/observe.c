/* SPDX-License-Identifier: MIT */
/*
 * observe.c - the program tests/real/schedtrace.sh and dump.sh watch.
 *
 *   observe trace
 *       Three workers block in read() on pipes. Once each is in the kernel
 *       (its /proc/self/task/TID/syscall says read), main writes to stderr
 *       "MARK begin" with gosys_schedstats' gauges (looked up with dlsym, so
 *       that the program also runs plain), blocks in read(0) until the
 *       script writes a byte, writes "MARK end" with the gauges again, lets
 *       the workers go and prints "done" on stdout.
 *   observe dump STATUS
 *       A thread named "reader" blocks in read() on a pipe (in read_here);
 *       a thread named "handler" waits in pause() (in handler_wait) and
 *       takes SIGUSR1, whose handler (handler_here) waits in sigsuspend
 *       for SIGUSR2; two threads named "spinner" compute in spin_here
 *       without a system call (with GOSYS_MAXPROCS=1 the monitor preempts
 *       them by SIGURG in turn). When all that holds (and the library has
 *       preempted by signal at least twice, so that a spinner has been
 *       parked in the preemption handler), "ready" goes to STATUS and main
 *       blocks in read(0) (in main_wait) until the script writes a byte;
 *       then everything ends and "done" is printed.
 * Functions a check looks for are noinline and external.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "gosys.h"

#define NOINLINE __attribute__((noinline, noclone))

int main(int argc, char **argv);
NOINLINE void read_here(int fd);
NOINLINE void handler_here(int sig);
NOINLINE void handler_wait(void);
NOINLINE void spin_here(void);
NOINLINE void main_wait(void);

static int (*schedstats)(struct gosys_schedstats *, size_t);
static volatile int stop;
static pid_t tids[8];

static void fail(const char *what)
{
	fprintf(stderr, "observe: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Until thread tid is in the kernel in system call nr (30 s at most). */
static void wait_in_call(pid_t tid, long nr)
{
	char path[64], buf[128];
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
	for (int i = 0; i < 3000; i++) {
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			fail(path);
		ssize_t n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n > 0) {
			buf[n] = 0;
			if (strtol(buf, NULL, 10) == nr)
				return;
		}
		sleep_ms(10);
	}
	fprintf(stderr, "observe: thread %d never in system call %ld\n", (int)tid, nr);
	exit(2);
}

static void mark(const char *what)
{
	char line[256];
	int n;
	struct gosys_schedstats st;
	if (schedstats && schedstats(&st, sizeof st) > 0)
		n = snprintf(line, sizeof line, "MARK %s pid=%d threads=%d maxprocs=%d waiting=%d\n",
			     what, (int)getpid(), st.threads, st.maxprocs, st.waiting);
	else
		n = snprintf(line, sizeof line, "MARK %s pid=%d nolib\n", what, (int)getpid());
	if (write(2, line, (size_t)n) != n)
		fail("write");
}

/* ---- trace ------------------------------------------------------------------- */

static int pipes[8][2];

NOINLINE void read_here(int fd)
{
	char c;
	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
	__asm__ volatile("" ::: "memory");
}

static void *reader(void *arg)
{
	int i = (int)(intptr_t)arg;
	tids[i] = (pid_t)syscall(SYS_gettid);
	read_here(pipes[i][0]);
	return NULL;
}

static int trace(void)
{
	pthread_t t[3];
	for (int i = 0; i < 3; i++) {
		if (pipe(pipes[i]) != 0)
			fail("pipe");
		pthread_create(&t[i], NULL, reader, (void *)(intptr_t)i);
	}
	for (int i = 0; i < 3; i++) {
		while (!__atomic_load_n(&tids[i], __ATOMIC_ACQUIRE))
			sleep_ms(1);
		wait_in_call(tids[i], SYS_read);
	}
	mark("begin");
	read_here(0);
	mark("end");
	for (int i = 0; i < 3; i++) {
		if (write(pipes[i][1], "x", 1) != 1)
			fail("write");
		pthread_join(t[i], NULL);
	}
	printf("done\n");
	return 0;
}

/* ---- dump -------------------------------------------------------------------- */

static volatile sig_atomic_t in_handler, handler_done;

NOINLINE void handler_here(int sig)
{
	(void)sig;
	sigset_t wait;
	sigfillset(&wait);
	sigdelset(&wait, SIGUSR2);
	in_handler = 1;
	while (!handler_done)
		sigsuspend(&wait);
}

static void usr2(int sig)
{
	(void)sig;
	handler_done = 1;
}

NOINLINE void handler_wait(void)
{
	while (!handler_done)
		pause();
	__asm__ volatile("" ::: "memory");
}

static void *handler_thread(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "handler");
	tids[1] = (pid_t)syscall(SYS_gettid);
	handler_wait();
	return NULL;
}

static void *reader_thread(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "reader");
	tids[0] = (pid_t)syscall(SYS_gettid);
	read_here(pipes[0][0]);
	return NULL;
}

static volatile unsigned long spins;

NOINLINE void spin_here(void)
{
	while (!stop)
		spins++;
	__asm__ volatile("" ::: "memory");
}

static void *spinner(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "spinner");
	spin_here();
	return NULL;
}

NOINLINE void main_wait(void)
{
	read_here(0);
	__asm__ volatile("" ::: "memory");
}

static int dump(const char *status)
{
	int sfd = open(status, O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (sfd < 0)
		fail(status);
	if (pipe(pipes[0]) != 0)
		fail("pipe");
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler_here;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = usr2;
	sigaction(SIGUSR2, &sa, NULL);
	pthread_t r, h, s[2];
	pthread_create(&r, NULL, reader_thread, NULL);
	pthread_create(&h, NULL, handler_thread, NULL);
	for (int i = 0; i < 2; i++)
		pthread_create(&s[i], NULL, spinner, NULL);
	while (!__atomic_load_n(&tids[0], __ATOMIC_ACQUIRE) || !__atomic_load_n(&tids[1], __ATOMIC_ACQUIRE))
		sleep_ms(1);
	wait_in_call(tids[0], SYS_read);
	wait_in_call(tids[1], SYS_pause);
	pthread_kill(h, SIGUSR1);
	while (!in_handler)
		sleep_ms(1);
	wait_in_call(tids[1], SYS_rt_sigsuspend);
	/* Both spinners parked by the preemption signal at least once. */
	struct gosys_schedstats st;
	for (int i = 0; schedstats && i < 3000; i++) {
		if (schedstats(&st, sizeof st) > 0 && st.async_preempts >= 2)
			break;
		sleep_ms(10);
	}
	dprintf(sfd, "pid %d\nready\n", (int)getpid());
	main_wait();
	stop = 1;
	pthread_kill(h, SIGUSR2);
	if (write(pipes[0][1], "x", 1) != 1)
		fail("write");
	pthread_join(r, NULL);
	pthread_join(h, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(s[i], NULL);
	printf("done\n");
	return 0;
}

int main(int argc, char **argv)
{
	schedstats = (int (*)(struct gosys_schedstats *, size_t))dlsym(RTLD_DEFAULT,
								      "gosys_schedstats");
	if (argc == 2 && !strcmp(argv[1], "trace"))
		return trace();
	if (argc == 3 && !strcmp(argv[1], "dump"))
		return dump(argv[2]);
	fprintf(stderr, "usage: observe trace | observe dump STATUS\n");
	return 2;
}
