/* SPDX-License-Identifier: MIT */
/*
 * cpus.c - every way a program asks how many CPUs it may use, for
 * tests/preload/cpus.sh (the cpus knob). Prints "phase name value" lines:
 *   onln conf xonln xconf  sysconf and __sysconf, _SC_NPROCESSORS_ONLN/_CONF
 *   nprocs nprocsconf      get_nprocs, get_nprocs_conf
 *   aff sys pth            CPU_COUNT of sched_getaffinity(0), of
 *                          syscall(SYS_sched_getaffinity, 0) and of
 *                          pthread_getaffinity_np(pthread_self())
 *   tid pthother           a second thread's mask, by its thread id and by
 *                          pthread_getaffinity_np
 *   inthread               sched_getaffinity(0) on that second thread
 *   other                  a child process's mask (never trimmed)
 *   real                   the mask by an inline syscall (never seen)
 *   first                  1 if every reported mask holds the first N CPUs
 *                          of the real one and nothing else (N its count)
 * Under the preload, "lib maxprocs N" gives the library's maxprocs.
 * Phases: "main", "sig" (the counts from a signal handler) and, with the
 * argument "live" under the preload, "live1" and "live2" after
 * gosys_maxprocs(1) and gosys_maxprocs(2), found with dlsym.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

long __sysconf(int name);

#define SETSZ 128 /* 1024 CPUs */

static long raw_getaffinity(long pid, size_t size, void *mask)
{
	long r;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "0"((long)SYS_sched_getaffinity), "D"(pid), "S"(size), "d"(mask)
			 : "rcx", "r11", "memory");
	return r;
}

static cpu_set_t realmask; /* the calling thread's, by the inline call */
static int first_ok = 1;

/* A reported mask: its count, and whether it is the real mask's first N. */
static int judge(const cpu_set_t *m)
{
	int n = CPU_COUNT_S(SETSZ, m), seen = 0;
	for (int c = 0; c < SETSZ * 8; c++) {
		int inreal = CPU_ISSET_S(c, SETSZ, &realmask);
		int want = inreal && seen < n;
		if (inreal)
			seen++;
		if (want != !!CPU_ISSET_S(c, SETSZ, m))
			first_ok = 0;
	}
	return n;
}

enum { ONLN, CONF, XONLN, XCONF, NPROCS, NPROCSCONF, AFF, SYS, PTH, NCOUNTS };
static const char *const names[NCOUNTS] = {"onln", "conf", "xonln", "xconf", "nprocs",
					   "nprocsconf", "aff", "sys", "pth"};

static void counts(long *v)
{
	cpu_set_t m;
	v[ONLN] = sysconf(_SC_NPROCESSORS_ONLN);
	v[CONF] = sysconf(_SC_NPROCESSORS_CONF);
	v[XONLN] = __sysconf(_SC_NPROCESSORS_ONLN);
	v[XCONF] = __sysconf(_SC_NPROCESSORS_CONF);
	v[NPROCS] = get_nprocs();
	v[NPROCSCONF] = get_nprocs_conf();
	memset(&m, 0xff, sizeof m);
	v[AFF] = sched_getaffinity(0, SETSZ, &m) == 0 ? judge(&m) : -1;
	memset(&m, 0xff, sizeof m);
	long r = syscall(SYS_sched_getaffinity, 0, SETSZ, &m);
	if (r > 0 && r < SETSZ)
		memset((char *)&m + r, 0, SETSZ - (size_t)r); /* what the kernel left */
	v[SYS] = r > 0 ? judge(&m) : -1;
	memset(&m, 0xff, sizeof m);
	v[PTH] = pthread_getaffinity_np(pthread_self(), SETSZ, &m) == 0 ? judge(&m) : -1;
}

static void print_counts(const char *phase, const long *v)
{
	for (int i = 0; i < NCOUNTS; i++)
		printf("%s %s %ld\n", phase, names[i], v[i]);
}

static long sigv[NCOUNTS];
static void on_usr1(int sig)
{
	(void)sig;
	counts(sigv);
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int state; /* 1: the thread has measured; 2: it may leave */
static pid_t thread_tid;
static long inthread;

static void *second(void *arg)
{
	(void)arg;
	cpu_set_t m;
	memset(&m, 0xff, sizeof m);
	long n = sched_getaffinity(0, SETSZ, &m) == 0 ? judge(&m) : -1;
	pthread_mutex_lock(&mu);
	thread_tid = (pid_t)syscall(SYS_gettid);
	inthread = n;
	state = 1;
	pthread_cond_broadcast(&cv);
	while (state != 2)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(int argc, char **argv)
{
	int live = argc > 1 && strcmp(argv[1], "live") == 0;
	long v[NCOUNTS];
	setvbuf(stdout, NULL, _IOLBF, 0);
	long r = raw_getaffinity(0, SETSZ, &realmask);
	if (r <= 0) {
		fprintf(stderr, "cpus: sched_getaffinity failed: %ld\n", r);
		return 2;
	}
	counts(v);
	print_counts("main", v);

	/* the counts from a signal handler */
	signal(SIGUSR1, on_usr1);
	raise(SIGUSR1);
	print_counts("sig", sigv);

	/* a second thread: its own view, and the view of it from here */
	pthread_t th;
	if (pthread_create(&th, NULL, second, NULL) != 0)
		return 2;
	pthread_mutex_lock(&mu);
	while (state != 1)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	cpu_set_t m;
	memset(&m, 0xff, sizeof m);
	printf("main tid %ld\n", sched_getaffinity(thread_tid, SETSZ, &m) == 0 ? (long)judge(&m) : -1L);
	memset(&m, 0xff, sizeof m);
	printf("main pthother %ld\n", pthread_getaffinity_np(th, SETSZ, &m) == 0 ? (long)judge(&m) : -1L);
	printf("main inthread %ld\n", inthread);
	pthread_mutex_lock(&mu);
	state = 2;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(th, NULL);

	/* another process: reported as it is */
	pid_t child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	if (child < 0)
		return 2;
	memset(&m, 0xff, sizeof m);
	printf("main other %ld\n",
	       sched_getaffinity(child, SETSZ, &m) == 0 ? (long)CPU_COUNT_S(SETSZ, &m) : -1L);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	printf("main real %d\n", CPU_COUNT_S(SETSZ, &realmask));
	printf("main first %d\n", first_ok);

	int (*setmp)(int) = (int (*)(int))dlsym(RTLD_DEFAULT, "gosys_maxprocs");
	if (setmp)
		printf("lib maxprocs %d\n", setmp(0));
	if (live) {
		if (!setmp) {
			fprintf(stderr, "cpus: gosys_maxprocs not found (not preloaded?)\n");
			return 2;
		}
		setmp(1);
		counts(v);
		print_counts("live1", v);
		setmp(2);
		counts(v);
		print_counts("live2", v);
		printf("live2 first %d\n", first_ok);
	}
	return 0;
}
