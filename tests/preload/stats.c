/* SPDX-License-Identifier: MIT */
/*
 * stats.c - the fixed programs behind tests/preload/stats.sh:
 *   stats counts  a known mix of system calls, all through the wrappers
 *                 (some failing, some from a second thread, some through
 *                 syscall()), compared with strace -c's counts by the script
 *   stats block   one thread blocks three times in read() on a pipe, about
 *                 100 ms each, while the main thread makes thousands of
 *                 short calls; the heaviest stack of the block profile must
 *                 end in gosys_test_blocker;read
 *   stats ondemand  gosys_stats_write(1) (found with dlsym) writes a table
 *                 on stdout while the program runs
 *   stats none    nothing: strace's count of what the loader and libc do
 *                 without a wrapper, subtracted from the counts run's
 * Linked with -rdynamic so that the profile names these functions.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "runs.h"

#define N_GETPPID 300
#define N_ENOENT 50
#define N_DUP 100
#define N_READ 200
#define N_PWRITE 100
#define N_LSEEK 50
#define N_THREAD 100
#define N_SYSCALL 20

static void *counts_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < N_THREAD; i++)
		getppid();
	struct timespec ts = {0, 1000000};
	nanosleep(&ts, NULL);
	return NULL;
}

static int counts(void)
{
	int z = open("/dev/zero", O_RDONLY);
	int nul = open("/dev/null", O_WRONLY);
	if (z < 0 || nul < 0)
		RUN_FAIL("cannot open /dev/zero or /dev/null");
	char buf[8] = {0};
	for (int i = 0; i < N_GETPPID; i++)
		getppid();
	for (int i = 0; i < N_ENOENT; i++)
		if (open("/nonexistent/gosys-stats", O_RDONLY) >= 0)
			RUN_FAIL("opened a file that does not exist");
	for (int i = 0; i < N_DUP; i++)
		close(dup(z));
	for (int i = 0; i < N_READ; i++)
		if (read(z, buf, 1) != 1)
			RUN_FAIL("read /dev/zero");
	for (int i = 0; i < N_PWRITE; i++)
		if (pwrite(nul, buf, 1, 0) != 1)
			RUN_FAIL("pwrite /dev/null");
	for (int i = 0; i < N_LSEEK; i++)
		lseek(z, 0, SEEK_SET);
	for (int i = 0; i < N_SYSCALL; i++)
		syscall(SYS_getppid);
	lseek(-1, 0, SEEK_SET); /* EBADF */
	pthread_t t;
	if (pthread_create(&t, NULL, counts_thread, NULL) != 0)
		RUN_FAIL("pthread_create");
	pthread_join(t, NULL);
	close(z);
	close(nul);
	return 0;
}

/* ---- block ---------------------------------------------------------------- */

/* Exported (-rdynamic; the build hides symbols by default) so that the
 * profile can name them. */
__attribute__((visibility("default"))) void gosys_test_blocker(void);
__attribute__((visibility("default"))) void gosys_test_busy(int z);

static int pfd[2];
static volatile int blocker_done;

__attribute__((noinline)) void gosys_test_blocker(void)
{
	char c;
	for (int i = 0; i < 3; i++)
		if (read(pfd[0], &c, 1) != 1)
			break;
	__asm__ volatile("" ::: "memory"); /* no tail call: this frame stays */
}

static void *block_thread(void *arg)
{
	(void)arg;
	gosys_test_blocker();
	__atomic_store_n(&blocker_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

__attribute__((noinline)) void gosys_test_busy(int z)
{
	char c;
	for (int i = 0; i < 2000; i++) {
		getppid();
		if (read(z, &c, 1) != 1)
			break;
	}
	__asm__ volatile("" ::: "memory");
}

static int block(void)
{
	int z = open("/dev/zero", O_RDONLY);
	if (z < 0 || pipe(pfd) != 0)
		RUN_FAIL("open or pipe");
	pthread_t t;
	if (pthread_create(&t, NULL, block_thread, NULL) != 0)
		RUN_FAIL("pthread_create");
	for (int i = 0; i < 3; i++) {
		/* Sleep where the library cannot see, so that the reader's
		 * wait is the only long one it times. */
		int64_t end = runs_mono_ns() + 100000000;
		while (runs_mono_ns() < end) {
			gosys_test_busy(z);
			struct timespec ts = {0, 5000000};
			runs_inline_syscall4(SYS_nanosleep, (long)&ts, 0, 0, 0);
		}
		if (write(pfd[1], "x", 1) != 1)
			RUN_FAIL("write");
	}
	while (!__atomic_load_n(&blocker_done, __ATOMIC_ACQUIRE)) {
		struct timespec ts = {0, 1000000};
		runs_inline_syscall4(SYS_nanosleep, (long)&ts, 0, 0, 0);
	}
	pthread_detach(t);
	return 0;
}

static int ondemand(void)
{
	int (*w)(int) = (int (*)(int))dlsym(RTLD_DEFAULT, "gosys_stats_write");
	if (!w)
		RUN_FAIL("gosys_stats_write not found (not preloaded?)");
	for (int i = 0; i < 10; i++)
		getppid();
	fflush(stdout);
	return w(1) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "counts"))
		return counts();
	if (argc == 2 && !strcmp(argv[1], "block"))
		return block();
	if (argc == 2 && !strcmp(argv[1], "ondemand"))
		return ondemand();
	if (argc == 2 && !strcmp(argv[1], "none"))
		return 0; /* strace's baseline: the loader's and libc's own calls */
	fprintf(stderr, "usage: stats counts|block|ondemand|none\n");
	return 2;
}
