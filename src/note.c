/* SPDX-License-Identifier: MIT */
/*
 * note.c - futex notes and the scheduler lock (contracts in note.h).
 * Raw syscalls only; no TLS: the monitor, which shares its creator's thread
 * pointer, runs this code.
 */
#include "note.h"
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>

long gosys_futexsleep(uint32_t *addr, uint32_t val, int64_t ns)
{
	struct timespec ts, *tp = NULL;
	if (ns >= 0) {
		ts.tv_sec = ns / 1000000000;
		ts.tv_nsec = ns % 1000000000;
		tp = &ts;
	}
	return __gosys_syscall4(SYS_futex, (long)addr, FUTEX_WAIT_PRIVATE, val, (long)tp);
}

long gosys_futexwakeup(uint32_t *addr, int cnt)
{
	long r = __gosys_syscall3(SYS_futex, (long)addr, FUTEX_WAKE_PRIVATE, cnt);
	if (GOSYS_UNLIKELY(GOSYS_IS_ERR(r)))
		gosys_throw("futexwakeup failed");
	return r;
}

void gosys_noteclear(struct gosys_note *n)
{
	__atomic_store_n(&n->key, 0, __ATOMIC_RELAXED);
}

void gosys_notewakeup(struct gosys_note *n)
{
	uint32_t old = __atomic_exchange_n(&n->key, 1, __ATOMIC_SEQ_CST);
	if (GOSYS_UNLIKELY(old != 0))
		gosys_throw("notewakeup: double wakeup");
	gosys_futexwakeup(&n->key, 1);
}

void gosys_notesleep(struct gosys_note *n)
{
	while (__atomic_load_n(&n->key, __ATOMIC_ACQUIRE) == 0)
		gosys_futexsleep(&n->key, 0, -1);
}

int gosys_notetsleep(struct gosys_note *n, int64_t ns)
{
	if (ns < 0) {
		gosys_notesleep(n);
		return 1;
	}
	if (gosys_noteisset(n))
		return 1;
	int64_t deadline = gosys_nanotime() + ns;
	for (;;) {
		gosys_futexsleep(&n->key, 0, ns);
		if (gosys_noteisset(n))
			return 1;
		int64_t now = gosys_nanotime();
		if (now >= deadline)
			return 0;
		ns = deadline - now;
	}
}

void gosys_lock(struct gosys_lock *l)
{
	uint32_t c = 0;
	if (GOSYS_LIKELY(__atomic_compare_exchange_n(&l->key, &c, 1, false, __ATOMIC_ACQUIRE,
						     __ATOMIC_RELAXED)))
		return;
	/* Spin a little: the lock is held only for short, non-blocking work. */
	for (int i = 0; i < 100; i++) {
		__gosys_cpu_relax();
		c = 0;
		if (__atomic_load_n(&l->key, __ATOMIC_RELAXED) == 0 &&
		    __atomic_compare_exchange_n(&l->key, &c, 1, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return;
	}
	while (__atomic_exchange_n(&l->key, 2, __ATOMIC_ACQUIRE) != 0)
		gosys_futexsleep(&l->key, 2, -1);
}

void gosys_unlock(struct gosys_lock *l)
{
	if (__atomic_exchange_n(&l->key, 0, __ATOMIC_RELEASE) == 2)
		gosys_futexwakeup(&l->key, 1);
}
