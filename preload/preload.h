/* SPDX-License-Identifier: MIT */
/*
 * preload.h - what the preload's wrappers share: the symbol table of libc's
 * next definitions, the enter/exit by class, errno conversion, the
 * cancellation state. Wrappers never malloc, never use stdio, never lock.
 */
#ifndef GOSYS_PRELOAD_H
#define GOSYS_PRELOAD_H

#include "internal.h"
#include "sched_internal.h"
#include <limits.h>
#include <dlfcn.h>
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
#include <stdio.h> /* declarations only (rename, renameat2); never used */
#include <stdlib.h>
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
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "calls.gen.h"

#define GOSYS_PL_EXPORT __attribute__((visibility("default")))
#define GOSYS_PL_TLS __attribute__((tls_model("initial-exec")))

/* The classes of doc/design.md, "Call classes" (PASS rows have no wrapper). */
enum { GOSYS_PL_RAW = 0, GOSYS_PL_LAZY = 1, GOSYS_PL_BLOCK = 2 };

/* One libc symbol a wrapper may call: name, glibc version for dlvsym (NULL:
 * plain dlsym), and whether the constructor resolves it. Generated. */
struct gosys_pl_sym {
	const char *name;
	const char *ver;
	int need;
};
GOSYS_HIDDEN extern const struct gosys_pl_sym gosys__pl_syms[GOSYS_PL_NSYMS];
/* Resolved addresses; written once each (racing writers store the same
 * value), read with relaxed loads. */
GOSYS_HIDDEN extern void *gosys__pl_ptrs[GOSYS_PL_NSYMS];
/* Nonzero on a thread inside dlsym/dlvsym: its wrappers go straight to the
 * raw syscall, without the scheduler. The thread's own. */
GOSYS_HIDDEN extern __thread int gosys__pl_resolving GOSYS_PL_TLS;

/*
 * Cancellation. Inline syscalls are not cancellation points for glibc, so
 * once the process has called pthread_cancel (cancel_on, set once, never
 * cleared) the cancellation-point wrappers call libc's symbol. A thread that
 * was already blocked inline then is kicked by pthread_cancel: it counts a
 * kick in the thread's cp block (found from the pthread_t, see custom.c) and
 * sends glibc's cancel signal, whose handler has no SA_RESTART, so the call
 * returns EINTR; the wrapper sees the kick, acts on the request with
 * pthread_testcancel and, if that returns, redoes the call through libc.
 */
GOSYS_HIDDEN extern int gosys__pl_cancel_on;
struct gosys_pl_cp {
	int active;		/* the thread's own: inside an inline cancellation point */
	unsigned kicks;		/* pthread_cancel's kicks (atomic add by the canceller) */
};
GOSYS_HIDDEN extern __thread struct gosys_pl_cp gosys__pl_cp GOSYS_PL_TLS;

/* Resolves row idx now (dlvsym at its version, else dlsym); NULL if absent. */
GOSYS_HIDDEN void *gosys__pl_resolve(int idx);
/* One "gosys:" line naming the missing symbol, then _exit(127). */
GOSYS_HIDDEN __attribute__((noreturn)) void gosys__pl_missing(int idx);
/* syscall(): the class of number nr with arguments a[0..5]. Generated. */
GOSYS_HIDDEN int gosys__pl_sysclass(long nr, const long *a);

static inline void *gosys__pl_next(int idx)
{
	void *p = __atomic_load_n(&gosys__pl_ptrs[idx], __ATOMIC_ACQUIRE);
	if (GOSYS_LIKELY(p != NULL))
		return p;
	return gosys__pl_resolve(idx);
}

static inline void gosys__pl_enter(int cls)
{
	if (cls == GOSYS_PL_LAZY)
		gosys__entersyscall();
	else if (cls == GOSYS_PL_BLOCK)
		gosys__entersyscallblock();
}

static inline void gosys__pl_exit(int cls)
{
	if (cls != GOSYS_PL_RAW)
		gosys__exitsyscall();
}

/* The fast path's continuations (mkcalls.awk): cont_NAME's "the system call
 * is not made yet" (no raw return is LONG_MIN), and the end of an inline exit
 * that owes a deferred handler: run it, then the result as libc returns it
 * (the _cp form leaves the cancellation point after the handler, as the
 * full path does). */
#define GOSYS_PL_NOT_CALLED LONG_MIN
GOSYS_HIDDEN long gosys__pl_flush_seterr(long r);
GOSYS_HIDDEN long gosys__pl_flush_seterr_cp(long r);

/* libc's convention: -1 and errno on error, errno untouched on success.
 * The error's side is out of line: reached by a tail call, it keeps the
 * fast path a leaf. */
GOSYS_HIDDEN long gosys__pl_seterr_fail(long r);
static inline long gosys__pl_seterr(long r)
{
	if (GOSYS_UNLIKELY(GOSYS_IS_ERR(r)))
		return gosys__pl_seterr_fail(r);
	return r;
}

/*
 * The fd-kind rule of read, write, readv, writev and recv*: 1 if fd is a pipe,
 * FIFO or socket in blocking mode (I/O on it waits for a peer far more often
 * than not, so it hands the P off at once), 0 for files, devices, non-blocking
 * fds and anything unknown (LAZY: the monitor retakes if it lasts). Cached per
 * fd number on first use (one raw fstat, and fcntl for the mode); close, dup2,
 * dup3, fcntl(F_SETFL) and ioctl(FIONBIO) forget the entry. A stale entry (an
 * fd closed behind our back, inside libc) only picks the other class.
 */
GOSYS_HIDDEN int gosys__pl_fdblocks(int fd);
GOSYS_HIDDEN void gosys__pl_fdforget(int fd);
/* Its cache: per fd number, 0 unknown, GOSYS_PL_FDK_LAZY, or 2 (eager). */
#define GOSYS_PL_FDK_MAX 65536
#define GOSYS_PL_FDK_LAZY 1
GOSYS_HIDDEN extern uint8_t gosys__pl_fdkind[GOSYS_PL_FDK_MAX];

/* For the wrappers' inline fast path: 0 if fd is known to take the lazy
 * class, 1 if it is eager or not known yet (the full path then looks). */
static inline int gosys__pl_fdnotlazy(int fd)
{
	return (unsigned)fd >= GOSYS_PL_FDK_MAX ||
	       __atomic_load_n(&gosys__pl_fdkind[fd], __ATOMIC_RELAXED) != GOSYS_PL_FDK_LAZY;
}

/* The cpus knob (cpus.c): trims a mask of len bytes just read for pid to
 * the budget when the knob is on and pid is this process or one of its
 * threads; else leaves it. */
GOSYS_HIDDEN void gosys__pl_cpus_mask(pid_t pid, void *mask, size_t len);

/* futex operations that wait (the rule of the syscall() row). */
static inline int gosys__pl_futex_blocks(long op)
{
	switch (op & FUTEX_CMD_MASK) {
	case FUTEX_WAIT:
	case FUTEX_WAIT_BITSET:
	case FUTEX_LOCK_PI:
	case FUTEX_LOCK_PI2:
	case FUTEX_WAIT_REQUEUE_PI:
		return 1;
	default:
		return 0;
	}
}

#endif
