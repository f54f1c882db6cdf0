/* SPDX-License-Identifier: MIT */
/*
 * note.h - Go's one-shot futex note, and the small futex lock.
 *
 * The note contract:
 *  - one sleeper at a time (the owner of the note), any number of wakers, but
 *    at most one wakeup per clear: a second wakeup before the next clear is a
 *    bug and throws;
 *  - the sleeper clears the note before it publishes itself (puts itself on a
 *    queue), and only then; a waker writes its payload first and wakes last,
 *    so the sleeper that sees the note set also sees the payload;
 *  - sleeps may wake spuriously inside the kernel, but gosys_notesleep
 *    returns only once the note is set; gosys_notetsleep may time out;
 *  - FUTEX_*_PRIVATE: notes live in this process's memory only.
 * Raw syscalls only: safe in a signal handler and on the monitor.
 */
#ifndef GOSYS_NOTE_H
#define GOSYS_NOTE_H

#include "internal.h"

struct gosys_note {
	uint32_t key; /* 0: not signalled, 1: signalled; atomic */
};

GOSYS_HIDDEN void gosys_noteclear(struct gosys_note *n);
GOSYS_HIDDEN void gosys_notewakeup(struct gosys_note *n);
GOSYS_HIDDEN void gosys_notesleep(struct gosys_note *n);
/* Sleeps at most ns (< 0: forever); returns 1 if the note was set. */
GOSYS_HIDDEN int gosys_notetsleep(struct gosys_note *n, int64_t ns);
static inline int gosys_noteisset(struct gosys_note *n)
{
	return __atomic_load_n(&n->key, __ATOMIC_ACQUIRE) != 0;
}

/*
 * The scheduler lock: 0 unlocked, 1 locked, 2 locked with sleepers. Held only
 * for short, non-blocking work; the holder never makes a system call but the
 * futex wake on unlock. Not reentrant.
 */
struct gosys_lock {
	uint32_t key;
};
GOSYS_HIDDEN void gosys_lock(struct gosys_lock *l);
GOSYS_HIDDEN void gosys_unlock(struct gosys_lock *l);

/* Raw futex helpers; return the raw kernel value. */
GOSYS_HIDDEN long gosys_futexsleep(uint32_t *addr, uint32_t val, int64_t ns);
GOSYS_HIDDEN long gosys_futexwakeup(uint32_t *addr, int cnt);

#endif
