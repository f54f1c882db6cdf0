/* SPDX-License-Identifier: MIT */
/*
 * rowsup.h - the fixture the call table's test expressions use (T and the
 * t* helpers), and the row list mkcalls.awk generates from the table
 * (rows.gen.c). The same code runs with and without the preload; the
 * outputs must be identical.
 */
#ifndef GOSYS_ROWSUP_H
#define GOSYS_ROWSUP_H

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <mqueue.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/sem.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "calls.gen.h" /* the prototypes of __read_chk and the like */

struct tmsgbuf {
	long mtype;
	char mtext[16];
};

/* Everything a row may touch; set up by trows_setup, one per process. */
struct tfix {
	char dir[80]; 		/* a fresh directory holding f, l -> f, sock */
	int dirfd;		/* the directory */
	int fd;			/* dir/f, O_RDWR, 16 bytes "0123456789abcdef" */
	int wfd;		/* dir/w, O_RDWR, scratch */
	int rfd, rfd_w;		/* a pipe holding 8 bytes, never read */
	int pr, pw;		/* a pipe for splice and tee */
	int sa, sb;		/* a connected AF_UNIX stream pair */
	int lsn;		/* a listening AF_UNIX socket, non-blocking */
	int ep;			/* an epoll instance */
	int mq, sysv_sem;	/* System V queue and semaphore set */
	mqd_t pmq;		/* a POSIX queue, unlinked */
	pid_t pid, ppid;
	struct sockaddr_un un;	/* the listener's address */
	char buf[4096];
	struct iovec iov[2];
	struct msghdr msg;
	struct mmsghdr mmsg;
	struct stat st;
	struct stat64 st64;
	struct statx stx;
	struct flock lk, olk;
	struct pollfd pfd[2];
	struct epoll_event ev, evs[4];
	struct timespec zero, ms, bad, sec, past, rem;
	sigset_t mask;
	struct rusage ru;
	siginfo_t si;
	struct utsname uts;
	struct tmsgbuf mb;
	struct sembuf sop_up, sop_down, sop_down_nw;
	pthread_mutex_t mu, mu2, emu;
	pthread_rwlock_t rw;
	pthread_barrier_t bar;
	sem_t sem;
	void *map, *map2;
	off_t off;
	loff_t loff;
	socklen_t slen;
	unsigned prio;
	int n;
	int sv[2];
	char *argv[2];
};
extern struct tfix T;

/* A row: its name, the harmless call, and whether it is async-signal-safe. */
struct trow {
	const char *name;
	long (*fn)(void);
	int nosig;
};
extern const struct trow trows[];

const char *tp(const char *name);
long tclose(int fd);
long tmap(void *p);
long tselect(int k);
long tfork(int k);
long tvfork(int k);
long tspawn(int k);
long tsystem(void);
long tsigaction(int k);
long tsignal(int k);
long tpause(int k);
long tsigwait(int k);
long tthread(int k);
long tcond(int k);
pid_t tgettid(void);

/* The runner (in the test library): sets up T once, runs every row the way
 * names (direct, thread, signal, ctor, where) and prints one line a row. */
int trows_main(const char *way);

#endif
