/* SPDX-License-Identifier: MIT */
/*
 * unwind.c - the program tests/real/unwind.sh runs under the library, so
 * that debuggers and unwinders can be asked to walk out of signal frames
 * (the library's preemption handler, the program's own handlers, whichever
 * rt_sigreturn restorer the kernel returns through).
 *
 *   unwind preempt STATUS
 *       Two threads compute in user code without a system call; with
 *       GOSYS_MAXPROCS=1 the monitor preempts them by SIGURG and each is in
 *       turn parked inside the library's handler. After a second (once both
 *       have run) main stops the process with SIGTRAP: run it under gdb.
 *   unwind block STATUS SIG
 *       Installs a handler for SIG (USR1, or URG: the library's preemption
 *       handler passes a SIGURG that is not its own on to the program's)
 *       and waits in pause(). The handler blocks in sigsuspend; the script
 *       sends SIG with kill and then stops the process under gdb.
 *   unwind walk SIG
 *       A timer sends SIG while main waits in pause(); the handler walks its
 *       own stack with libunwind (when built with it) and with libgcc's
 *       _Unwind_Backtrace, and main prints one line per walker: "ok NAME"
 *       if the walk reached main through wait_here, "not ok NAME: frames"
 *       ("skip libunwind" if built without it).
 *   unwind spin SIG
 *       As walk, but the handler computes for about 300 ms of CPU time, for
 *       a sampling profiler to find it there.
 *
 * STATUS is a file the program appends its progress to ("pid N", "ready",
 * "blocked N"), for the script to wait on. Functions a check looks for are
 * noinline and external, so that they stay frames with their own names.
 */
#include "config.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <unwind.h>
#ifdef GOSYS_HAVE_LIBUNWIND
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#endif

#include "sigframe.h"

/*
 * The offsets the restorer's unwind information reads the interrupted
 * registers at (src/arch/x86_64/sigframe.h) are those of this libc's
 * ucontext_t: the restorer runs with %rsp at the ucontext.
 */
#define UC_GREG(r) (offsetof(ucontext_t, uc_mcontext.gregs) + 8 * (r))
_Static_assert(GOSYS_UC_RAX == UC_GREG(REG_RAX), "rax");
_Static_assert(GOSYS_UC_RDX == UC_GREG(REG_RDX), "rdx");
_Static_assert(GOSYS_UC_RCX == UC_GREG(REG_RCX), "rcx");
_Static_assert(GOSYS_UC_RBX == UC_GREG(REG_RBX), "rbx");
_Static_assert(GOSYS_UC_RSI == UC_GREG(REG_RSI), "rsi");
_Static_assert(GOSYS_UC_RDI == UC_GREG(REG_RDI), "rdi");
_Static_assert(GOSYS_UC_RBP == UC_GREG(REG_RBP), "rbp");
_Static_assert(GOSYS_UC_RSP == UC_GREG(REG_RSP), "rsp");
_Static_assert(GOSYS_UC_R8 == UC_GREG(REG_R8), "r8");
_Static_assert(GOSYS_UC_R9 == UC_GREG(REG_R9), "r9");
_Static_assert(GOSYS_UC_R10 == UC_GREG(REG_R10), "r10");
_Static_assert(GOSYS_UC_R11 == UC_GREG(REG_R11), "r11");
_Static_assert(GOSYS_UC_R12 == UC_GREG(REG_R12), "r12");
_Static_assert(GOSYS_UC_R13 == UC_GREG(REG_R13), "r13");
_Static_assert(GOSYS_UC_R14 == UC_GREG(REG_R14), "r14");
_Static_assert(GOSYS_UC_R15 == UC_GREG(REG_R15), "r15");
_Static_assert(GOSYS_UC_RIP == UC_GREG(REG_RIP), "rip");

#define NOINLINE __attribute__((noinline, noclone))

int main(int argc, char **argv);
NOINLINE void spin_here(volatile unsigned long *n);
NOINLINE void *spin_worker(void *arg);
NOINLINE void wait_here(volatile sig_atomic_t *done);
NOINLINE void blocked_in_handler(int sig);
NOINLINE void walk_in_handler(int sig);
NOINLINE void burn(int ms);

static int status_fd = -1;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (status_fd >= 0 && n > 0)
		(void)!write(status_fd, buf, (size_t)n);
}

static void open_status(const char *path)
{
	status_fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (status_fd < 0) {
		perror(path);
		exit(2);
	}
	say("pid %d\n", (int)getpid());
}

static int signo(const char *name)
{
	if (!strcmp(name, "USR1"))
		return SIGUSR1;
	if (!strcmp(name, "URG"))
		return SIGURG;
	fprintf(stderr, "unwind: unknown signal %s\n", name);
	exit(2);
}

static void install(int sig, void (*fn)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) != 0) {
		perror("sigaction");
		exit(2);
	}
}

/* ---- preempt ---------------------------------------------------------- */

static volatile unsigned long progress[2];

void spin_here(volatile unsigned long *n)
{
	for (;;)
		++*n; /* no call, no system call: only a signal takes the CPU away */
}

void *spin_worker(void *arg)
{
	spin_here(arg);
	return NULL;
}

static int run_preempt(void)
{
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, spin_worker, (void *)&progress[i]) != 0) {
			perror("pthread_create");
			return 2;
		}
	/* A second at least, until both have run (so the monitor has preempted
	 * one for the other); at most 20 s. */
	struct timespec ms100 = {0, 100000000};
	for (int i = 0; i < 200; i++) {
		nanosleep(&ms100, NULL);
		if (i >= 10 && progress[0] && progress[1])
			break;
	}
	say("stopping %lu %lu\n", progress[0], progress[1]);
	raise(SIGTRAP); /* gdb takes the backtraces here */
	_exit(0);
}

/* ---- block ------------------------------------------------------------ */

static volatile sig_atomic_t handled;

void wait_here(volatile sig_atomic_t *done)
{
	while (!*done)
		pause();
}

void blocked_in_handler(int sig)
{
	sigset_t none;
	sigemptyset(&none);
	say("blocked %d\n", sig);
	for (;;)
		sigsuspend(&none); /* until gdb stops the process */
}

static int run_block(const char *sig)
{
	install(signo(sig), blocked_in_handler);
	say("ready\n");
	wait_here(&handled);
	return 0;
}

/* ---- walk and spin ---------------------------------------------------- */

#define MAXF 64
struct walk {
	const char *name;
	int n;
	char frames[MAXF][48];
};
static struct walk walks[2];
static int nwalks;
static int spin_ms;

/* Did a walk reach main, and wait_here above it? */
static int reached_main(const struct walk *w)
{
	int wait = 0;
	for (int i = 0; i < w->n; i++) {
		if (!strcmp(w->frames[i], "wait_here"))
			wait = 1;
		if (!strcmp(w->frames[i], "main"))
			return wait;
	}
	return 0;
}

static void frame_name(struct walk *w, const char *name)
{
	if (w->n >= MAXF)
		return;
	size_t len = strnlen(name, sizeof w->frames[0] - 1); /* long names cut short */
	memcpy(w->frames[w->n], name, len);
	w->frames[w->n++][len] = 0;
}

#ifdef GOSYS_HAVE_LIBUNWIND
static void walk_libunwind(struct walk *w)
{
	unw_context_t uc;
	unw_cursor_t c;
	w->name = "libunwind";
	if (unw_getcontext(&uc) != 0 || unw_init_local(&c, &uc) != 0)
		return;
	do {
		char name[128];
		unw_word_t off;
		if (unw_get_proc_name(&c, name, sizeof name, &off) != 0) {
			unw_word_t ip = 0;
			unw_get_reg(&c, UNW_REG_IP, &ip);
			snprintf(name, sizeof name, "%#lx", (unsigned long)ip);
		}
		frame_name(w, name);
	} while (w->n < MAXF && unw_step(&c) > 0);
}
#endif

/* libgcc's unwinder (what C++ exceptions and glibc's backtrace() use). */
static _Unwind_Reason_Code gcc_frame(struct _Unwind_Context *ctx, void *arg)
{
	struct walk *w = arg;
	int before = 0;
	uintptr_t ip = _Unwind_GetIPInfo(ctx, &before);
	/* A return address is looked up one byte back; a signal frame's not. */
	uintptr_t at = before ? ip : ip - 1;
	Dl_info di;
	char name[48];
	if (dladdr((void *)at, &di) && di.dli_sname) {
		frame_name(w, di.dli_sname);
	} else {
		snprintf(name, sizeof name, "%#lx", (unsigned long)ip);
		frame_name(w, name);
	}
	return w->n < MAXF ? _URC_NO_REASON : _URC_END_OF_STACK;
}

NOINLINE void burn(int ms)
{
	struct timespec a, b;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	do {
		for (volatile int i = 0; i < 100000; i++)
			;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	} while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < ms);
}

void walk_in_handler(int sig)
{
	if (spin_ms) {
		burn(spin_ms);
	} else if (!nwalks) {
#ifdef GOSYS_HAVE_LIBUNWIND
		walk_libunwind(&walks[nwalks++]);
#endif
		walks[nwalks].name = "libgcc";
		_Unwind_Backtrace(gcc_frame, &walks[nwalks++]);
	}
	handled = 1;
}

static int run_walk(const char *sig, int spin)
{
	spin_ms = spin;
	/*
	 * The library's SIGURG handler runs on the alternate signal stack if
	 * there is one (ASan sets one up on every thread). A profiler copies
	 * only the stack above the sample: the interrupted frames, on the
	 * thread's own stack, would be out of its reach.
	 */
	stack_t off = {.ss_flags = SS_DISABLE};
	if (spin)
		sigaltstack(&off, NULL);
	install(signo(sig), walk_in_handler);
	struct sigevent ev;
	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = signo(sig);
	timer_t tm;
	struct itimerspec its = {{0, 0}, {0, 200000000}};
	if (timer_create(CLOCK_MONOTONIC, &ev, &tm) != 0 || timer_settime(tm, 0, &its, NULL) != 0) {
		perror("timer");
		return 2;
	}
	alarm(30); /* never hangs */
	wait_here(&handled);
	if (spin)
		return 0;
	int bad = 0;
#ifndef GOSYS_HAVE_LIBUNWIND
	printf("skip libunwind\n");
#endif
	for (int i = 0; i < nwalks; i++) {
		struct walk *w = &walks[i];
		if (reached_main(w)) {
			printf("ok %s\n", w->name);
			continue;
		}
		bad = 1;
		printf("not ok %s:", w->name);
		for (int j = 0; j < w->n; j++)
			printf(" %s", w->frames[j]);
		printf("\n");
	}
	return bad;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "preempt")) {
		open_status(argv[2]);
		return run_preempt();
	}
	if (argc >= 4 && !strcmp(argv[1], "block")) {
		open_status(argv[2]);
		return run_block(argv[3]);
	}
	if (argc >= 3 && !strcmp(argv[1], "walk"))
		return run_walk(argv[2], 0);
	if (argc >= 3 && !strcmp(argv[1], "spin"))
		return run_walk(argv[2], 300);
	fprintf(stderr, "usage: unwind preempt STATUS | block STATUS SIG | walk SIG | spin SIG\n");
	return 2;
}
