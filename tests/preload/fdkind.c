/* SPDX-License-Identifier: MIT */
/*
 * Description: the fd-kind rule of the call table. Run under the preload
 * with GOSYS_MAXPROCS=1, it prints TAP. A read that blocks on a pipe must
 * hand the P to the waiting thread at once (a handoff, no retake); the same
 * read after O_NONBLOCK is set returns EAGAIN; after the pipe is closed and
 * its number reused by a regular file, reads there are LAZY again (no
 * handoff); and a long read there (the wrappers' inline fast path) is still
 * a call the scheduler sees: a thread that wants the P meanwhile takes it
 * from the reader and runs before the read ends. The counters come from
 * gosys_schedstats, found with dlsym so the program links nothing of ours.
 */

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gosys.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static int (*stats)(struct gosys_schedstats *, size_t);
static int pfd[2];
static int n;

static void ok(int cond, const char *what)
{
	printf("%sok %d - %s\n", cond ? "" : "not ", ++n, what);
}

static void *writer(void *arg)
{
	(void)arg;
	/* Holds no P until the reader hands one over: with maxprocs 1 it runs
	 * only because the reader's read handed off its P. */
	struct timespec ts = {0, 50 * 1000 * 1000};
	nanosleep(&ts, NULL);
	if (write(pfd[1], "x", 1) != 1)
		perror("write");
	return NULL;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double waiter_ran;

/* Sleeps (an eager call: no P), then wants one back while main reads. */
static void *waiter(void *arg)
{
	(void)arg;
	struct timespec ts = {0, 2 * 1000 * 1000};
	nanosleep(&ts, NULL);
	waiter_ran = now_ms();
	return NULL;
}

int main(void)
{
	stats = (int (*)(struct gosys_schedstats *, size_t))dlsym(RTLD_DEFAULT, "gosys_schedstats");
	if (!stats) {
		printf("1..0 # SKIP not preloaded\n");
		return 0;
	}
	printf("1..5\n");
	struct gosys_schedstats a, b;
	if (pipe(pfd) != 0)
		return 1;
	pthread_t t;
	stats(&a, sizeof a);
	pthread_create(&t, NULL, writer, NULL);
	char c;
	ssize_t r = read(pfd[0], &c, 1); /* blocks until the writer runs */
	stats(&b, sizeof b);
	pthread_join(t, NULL);
	ok(r == 1 && c == 'x', "the blocking pipe read got the byte");
	printf("# maxprocs %d threads %d; retakes %llu -> %llu, handoffs %llu -> %llu, blocked_retakes %llu -> %llu\n", b.maxprocs, b.threads,
	       (unsigned long long)a.retakes, (unsigned long long)b.retakes,
	       (unsigned long long)a.handoffs, (unsigned long long)b.handoffs,
	       (unsigned long long)a.blocked_retakes, (unsigned long long)b.blocked_retakes);
	ok(b.retakes == a.retakes && b.handoffs > a.handoffs,
	   "a blocking pipe read handed its P off at once (BLOCK), no retake");
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	errno = 0;
	r = read(pfd[0], &c, 1);
	ok(r == -1 && errno == EAGAIN, "after F_SETFL O_NONBLOCK the read returns EAGAIN");
	/* The number comes back as a regular file: the cached kind is gone. */
	int num = pfd[0];
	close(pfd[0]);
	close(pfd[1]);
	int fd = open("/dev/zero", O_RDONLY);
	if (fd != num && fd >= 0) {
		dup2(fd, num);
		close(fd);
	}
	stats(&a, sizeof a);
	for (int i = 0; i < 1000; i++)
		if (read(num, &c, 1) != 1)
			break;
	stats(&b, sizeof b);
	ok(b.handoffs == a.handoffs && b.parks == a.parks,
	   "reads on the reused number (/dev/zero) are LAZY: no handoff, no park");
	/* One read of 64 MiB from /dev/zero: tens of ms in the kernel, lazy. */
	size_t len = 64u << 20;
	char *big = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (big == MAP_FAILED)
		return 1;
	stats(&a, sizeof a);
	pthread_create(&t, NULL, waiter, NULL);
	double t0 = now_ms();
	r = read(num, big, len);
	double t1 = now_ms();
	stats(&b, sizeof b);
	pthread_join(t, NULL);
	printf("# a %zd-byte read took %.1f ms; the waiter ran at %.1f ms; retakes %llu -> %llu\n",
	       r, t1 - t0, waiter_ran - t0, (unsigned long long)a.retakes,
	       (unsigned long long)b.retakes);
	/* With one P the waiter runs user code inside the read's window only if
	 * the P was taken from the reader: the read was a call the scheduler
	 * saw (status SYSCALL), not user code. 64 MiB of fresh pages take far
	 * longer than the waiter's 2 ms sleep. */
	ok(r > 0 && b.retakes > a.retakes && waiter_ran > t0 && waiter_ran < t1,
	   "a long lazy read (inline fast path): the waiter took the P and ran during it");
	munmap(big, len);
	return 0;
}
