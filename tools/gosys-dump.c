/* SPDX-License-Identifier: MIT */
/*
 * gosys-dump PID - what every thread of a program running under libgosys
 * is doing, from outside the program (run as `gosys dump PID`).
 *
 * Nothing has to be set up in the program beforehand, and the program's
 * signal dispositions are not touched: the tool
 *   1. finds the library in /proc/PID/maps and, in its mappings, the record
 *      src/dumpinfo.h describes (by its magic words: no exported symbol,
 *      so a stripped library works), which gives the addresses of the
 *      scheduler's tables and the offsets of the fields it reads;
 *   2. stops every thread with PTRACE_SEIZE + PTRACE_INTERRUPT (no SIGSTOP
 *      is sent; a call the kernel restarts after a stop goes on as if
 *      nothing happened);
 *   3. reads the M and P tables with process_vm_readv while the threads
 *      stand still, each thread's registers (the system call it is in, with
 *      its arguments) and its name from /proc/PID/task/TID/comm;
 *   4. unwinds each thread with libunwind's ptrace accessors, through the
 *      library's signal frames (the restorer has CFI), and names frames
 *      from the objects' symbol tables;
 *   5. detaches. A system call that the kernel does not restart after a
 *      stop (epoll_wait and the others signal(7) lists) returns EINTR: if
 *      the thread is in one of the library's wrappers, the tool marks the
 *      call as cut short by the library (EINTR_OURS, as the preemption
 *      signal does) and the wrapper redoes it; the program never sees it.
 *
 * How long a thread has been in its state: for a thread asleep in the
 * kernel, the time since it last ran, from the kernel scheduler's clock
 * (se.exec_start of /proc/PID/task/TID/sched against the tool's own on the
 * same CPU, read before the threads are stopped); for a thread running with
 * a P, how long it has held the P; for one running without, since it lost
 * it. The library stores nothing for the dump: no field, no hot-path store.
 *
 * Output, on stdout, modelled on Go's goroutine dump:
 *   thread 1234 "worker" [blocked in read(3, 0x7f0c2c000b70, 1), 2.5 s, P none]:
 *     #0 0x00007f0c2e8f1a3c read+0x4c (libc.so.6)
 *     ...
 * Exit status 0, or 1 with one "gosys: dump: ..." line on stderr.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gosys.h"
#include "dumpinfo.h"
#include "sigframe.h"

#ifdef GOSYS_HAVE_LIBUNWIND_PTRACE
#include <libunwind-ptrace.h>
#endif

#define MAX_THREADS 8192
#define MAX_FRAMES 64
#define MAX_MAPS 4096

static pid_t pid;

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;
	fputs("gosys: dump: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* ---- the target's memory and files ---------------------------------------- */

static int peek(uint64_t addr, void *buf, size_t n)
{
	struct iovec local = {buf, n}, remote = {(void *)(uintptr_t)addr, n};
	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)n ? 0 : -1;
}

static int poke(uint64_t addr, const void *buf, size_t n)
{
	struct iovec local = {(void *)buf, n}, remote = {(void *)(uintptr_t)addr, n};
	return process_vm_writev(pid, &local, 1, &remote, 1, 0) == (ssize_t)n ? 0 : -1;
}

/* A small /proc file into buf (NUL-terminated); its length or -1. */
static ssize_t read_proc(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = 0;
	for (;;) {
		ssize_t r = read(fd, buf + len, size - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		if (len == size - 1)
			break;
	}
	close(fd);
	buf[len] = 0;
	return (ssize_t)len;
}

struct map {
	uint64_t start, end;
	char perms[5];
	char name[80]; /* basename of the file, "" for anonymous */
	int gosys;     /* the library's */
};
static struct map maps[MAX_MAPS];
static int nmaps;

static void read_maps(void)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		die("cannot read %s: %s", path, strerror(errno));
	char line[4096];
	while (nmaps < MAX_MAPS && fgets(line, sizeof line, f)) {
		struct map *m = &maps[nmaps];
		unsigned long long s, e;
		int off = 0;
		if (sscanf(line, "%llx-%llx %4s %*s %*s %*s %n", &s, &e, m->perms, &off) < 3)
			continue;
		m->start = s;
		m->end = e;
		char *file = line + off;
		file[strcspn(file, "\n")] = 0;
		const char *base = strrchr(file, '/');
		base = base ? base + 1 : file;
		snprintf(m->name, sizeof m->name, "%s", file[0] == '/' ? base : file);
		m->gosys = file[0] == '/' && strncmp(base, "libgosys.so", 11) == 0;
		nmaps++;
	}
	fclose(f);
}

static const struct map *map_of(uint64_t addr)
{
	for (int i = 0; i < nmaps; i++)
		if (addr >= maps[i].start && addr < maps[i].end)
			return &maps[i];
	return NULL;
}

/* ---- finding the library's record ------------------------------------------ */

static struct gosys_dumpinfo info;

static uint64_t find_info(void)
{
	int have_lib = 0;
	static unsigned char chunk[65536 + 16];
	for (int i = 0; i < nmaps; i++) {
		struct map *m = &maps[i];
		if (!m->gosys)
			continue;
		have_lib = 1;
		if (m->perms[0] != 'r' || m->perms[2] == 'x')
			continue;
		for (uint64_t a = m->start; a < m->end; a += 65536) {
			size_t n = m->end - a < 65536 ? (size_t)(m->end - a) : 65536;
			if (peek(a, chunk, n) < 0) {
				if (errno == EPERM)
					die("cannot read the memory of pid %d: %s (run as its user or as "
					    "root; see kernel.yama.ptrace_scope)", (int)pid, strerror(errno));
				break;
			}
			for (size_t o = 0; o + sizeof(struct gosys_dumpinfo) <= n; o += 8) {
				uint64_t w[2];
				memcpy(w, chunk + o, sizeof w);
				if (w[0] == GOSYS_DUMP_MAGIC0 && w[1] == GOSYS_DUMP_MAGIC1) {
					memcpy(&info, chunk + o, sizeof info);
					return a + o;
				}
			}
		}
	}
	if (!have_lib)
		die("pid %d does not run under libgosys (no libgosys.so in /proc/%d/maps)", (int)pid,
		    (int)pid);
	die("pid %d: libgosys.so is loaded but has no dump record (a version without "
	    "gosys dump?)", (int)pid);
}

/* ---- threads ------------------------------------------------------------------ */

struct thread {
	int tid;
	int attached;
	char comm[64];
	char state;		/* from /proc stat, before the stop */
	int cpu;		/* the CPU it last ran on */
	double exec_start;	/* ms, the kernel's clock of that CPU; 0: unknown */
	struct user_regs_struct regs;
	int have_regs;
	/* from the M table */
	int has_m;
	uint64_t maddr;
	uint32_t status, incall, parked, crit;
	int32_t p;
	int64_t nop_since;
	int64_t held_since;	/* its P's acquired time, if it holds one */
};
static struct thread threads[MAX_THREADS];
static int nthreads;

static struct thread *thread_of(int tid)
{
	for (int i = 0; i < nthreads; i++)
		if (threads[i].tid == tid)
			return &threads[i];
	return NULL;
}

/* se.exec_start of a /proc sched file, in ms; 0 if absent. */
static double exec_start_of(const char *path)
{
	static char buf[16384];
	if (read_proc(path, buf, sizeof buf) <= 0)
		return 0;
	char *p = strstr(buf, "se.exec_start");
	if (!p || !(p = strchr(p, ':')))
		return 0;
	return strtod(p + 1, NULL);
}

static void read_task_files(struct thread *t)
{
	char path[96], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/task/%d/comm", (int)pid, t->tid);
	if (read_proc(path, t->comm, sizeof t->comm) > 0)
		t->comm[strcspn(t->comm, "\n")] = 0;
	snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, t->tid);
	t->cpu = -1;
	if (read_proc(path, buf, sizeof buf) > 0) {
		char *close = strrchr(buf, ')');
		if (close && close[1] == ' ') {
			t->state = close[2];
			/* field 39, "processor": 37 fields after the state */
			char *f = close + 2;
			int n = 0;
			while (*f && n < 36) {
				if (*f++ == ' ')
					n++;
			}
			if (n == 36)
				t->cpu = atoi(f);
		}
	}
	snprintf(path, sizeof path, "/proc/%d/task/%d/sched", (int)pid, t->tid);
	t->exec_start = exec_start_of(path);
}

/* The kernel clock of cpu, as exec_start reads it, now: the tool's own
 * exec_start once it has just been moved onto that CPU. 0 if it cannot. */
static double cpu_clock_now(int cpu)
{
	static double cache[1024];
	static char tried[1024];
	if (cpu < 0 || cpu >= 1024)
		return 0;
	if (tried[cpu])
		return cache[cpu];
	tried[cpu] = 1;
	cpu_set_t old, one;
	if (sched_getaffinity(0, sizeof old, &old) != 0)
		return 0;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof one, &one) != 0)
		return 0;
	sched_yield();
	cache[cpu] = exec_start_of("/proc/thread-self/sched");
	sched_setaffinity(0, sizeof old, &old);
	return cache[cpu];
}

static void list_tasks(void)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		die("no process %d", (int)pid);
	struct dirent *e;
	while ((e = readdir(d)) && nthreads < MAX_THREADS) {
		int tid = atoi(e->d_name);
		if (tid <= 0 || thread_of(tid))
			continue;
		struct thread *t = &threads[nthreads++];
		memset(t, 0, sizeof *t);
		t->tid = tid;
		t->p = -1;
		read_task_files(t);
	}
	closedir(d);
}

static const char *ptrace_hint(void)
{
	static char hint[160];
	char buf[16];
	if (read_proc("/proc/sys/kernel/yama/ptrace_scope", buf, sizeof buf) > 0 && buf[0] != '0')
		snprintf(hint, sizeof hint, "; kernel.yama.ptrace_scope is %c: run as root, or "
			 "set it to 0", buf[0]);
	else
		snprintf(hint, sizeof hint, "; run as the program's user or as root");
	return hint;
}

static void stop_all(void)
{
	/* New threads may appear while we attach: list again until none do. */
	for (int pass = 0; pass < 20; pass++) {
		int before = nthreads;
		list_tasks();
		int fresh = 0;
		for (int i = 0; i < nthreads; i++) {
			struct thread *t = &threads[i];
			if (t->attached)
				continue;
			fresh++;
			if (ptrace(PTRACE_SEIZE, t->tid, 0, 0) != 0) {
				if (errno == ESRCH)
					continue; /* gone */
				die("cannot trace thread %d of pid %d: %s%s", t->tid, (int)pid,
				    strerror(errno), errno == EPERM ? ptrace_hint() : "");
			}
			t->attached = 1;
			ptrace(PTRACE_INTERRUPT, t->tid, 0, 0);
		}
		for (int i = 0; i < nthreads; i++) {
			struct thread *t = &threads[i];
			if (t->attached == 1) {
				int st;
				while (waitpid(t->tid, &st, __WALL) < 0 && errno == EINTR)
					;
				t->attached = 2;
				t->have_regs = ptrace(PTRACE_GETREGS, t->tid, 0, &t->regs) == 0;
			}
		}
		if (!fresh && nthreads == before)
			return;
	}
}

static void resume_all(void)
{
	for (int i = 0; i < nthreads; i++)
		if (threads[i].attached)
			ptrace(PTRACE_DETACH, threads[i].tid, 0, 0);
}

/* ---- the scheduler's tables ----------------------------------------------------- */

static uint32_t u32at(const unsigned char *b, uint32_t off)
{
	uint32_t v;
	memcpy(&v, b + off, sizeof v);
	return v;
}

static uint64_t u64at(const unsigned char *b, uint32_t off)
{
	uint64_t v;
	memcpy(&v, b + off, sizeof v);
	return v;
}

struct sched_view {
	int32_t nprocs_live, maxprocs, phigh, npidle, nthreads, nwaiting, sysmon_tid;
	int64_t start_ns;
	int32_t census[5], idle, held;
};
static struct sched_view sv;

static int64_t monotonic_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void read_tables(void)
{
	static unsigned char sbuf[65536], mbuf[65536], pbuf[65536];
	const uint32_t soffs[] = {info.s_nprocs_live, info.s_maxprocs, info.s_phigh, info.s_npidle,
				  info.s_nthreads, info.s_nwaiting, info.s_allm, info.s_sysmon_tid,
				  info.s_sysmon_started, info.s_start_ns};
	size_t ssize = 0;
	for (size_t i = 0; i < sizeof soffs / sizeof soffs[0]; i++)
		if (soffs[i] + 8 > ssize)
			ssize = soffs[i] + 8;
	if (info.m_size > sizeof mbuf || info.p_size > sizeof pbuf || ssize > sizeof sbuf)
		die("the library's tables are larger than this tool knows");
	if (peek(info.sched, sbuf, ssize) < 0)
		die("cannot read the scheduler's state: %s", strerror(errno));
	sv.nprocs_live = (int32_t)u32at(sbuf, info.s_nprocs_live);
	sv.maxprocs = (int32_t)u32at(sbuf, info.s_maxprocs);
	sv.phigh = (int32_t)u32at(sbuf, info.s_phigh);
	sv.npidle = (int32_t)u32at(sbuf, info.s_npidle);
	sv.nthreads = (int32_t)u32at(sbuf, info.s_nthreads);
	sv.nwaiting = (int32_t)u32at(sbuf, info.s_nwaiting);
	sv.sysmon_tid = u32at(sbuf, info.s_sysmon_started) ? (int32_t)u32at(sbuf, info.s_sysmon_tid) : 0;
	sv.start_ns = (int64_t)u64at(sbuf, info.s_start_ns);
	/* Ps: who holds each, and since when. */
	static int64_t acquired[4096];
	static uint64_t holder[4096];
	int np = sv.phigh > 0 && sv.phigh <= 4096 && (uint32_t)sv.phigh <= info.nprocs_limit ? sv.phigh : 0;
	for (int i = 0; i < np; i++) {
		if (peek(info.allp + (uint64_t)i * info.p_size, pbuf, info.p_size) < 0)
			break;
		holder[i] = u32at(pbuf, info.p_status) == info.pst_running ? u64at(pbuf, info.p_m) : 0;
		acquired[i] = (int64_t)u64at(pbuf, info.p_acquired);
		sv.held += holder[i] != 0;
	}
	/* Ms: the push-only list of every M ever made. */
	uint64_t m = u64at(sbuf, info.s_allm);
	for (int n = 0; m && n < 1000000; n++) {
		if (peek(m, mbuf, info.m_size) < 0)
			break;
		if (u32at(mbuf, info.m_live)) {
			uint32_t st = u32at(mbuf, info.m_status) & ~info.st_locked;
			struct thread *t = thread_of((int)u32at(mbuf, info.m_tid));
			int k = st == info.st_running ? 0 : st == info.st_syscall ? 1
				: st == info.st_blocked ? 2 : st == info.st_waiting ? 3 : 4;
			uint64_t p = u64at(mbuf, info.m_p);
			sv.census[k]++;
			if (st == info.st_blocked && !p)
				sv.idle++;
			if (t) {
				t->has_m = 1;
				t->maddr = m;
				t->status = st;
				t->incall = u32at(mbuf, info.m_incall);
				t->parked = u32at(mbuf, info.m_parked);
				t->crit = u32at(mbuf, info.m_crit);
				t->nop_since = (int64_t)u64at(mbuf, info.m_nop_since);
				t->p = -1;
				for (int i = 0; i < np; i++)
					if (holder[i] == m) {
						t->p = i;
						t->held_since = acquired[i];
					}
			}
		}
		m = u64at(mbuf, info.m_alllink);
	}
}

/* ---- formatting ---------------------------------------------------------------- */

static void fmt_duration(char *buf, size_t n, double ns)
{
	if (ns < 0)
		ns = 0;
	if (ns >= 60e9 * 60)
		snprintf(buf, n, "%.1f hours", ns / 3600e9);
	else if (ns >= 60e9)
		snprintf(buf, n, "%.1f minutes", ns / 60e9);
	else if (ns >= 1e9)
		snprintf(buf, n, "%.1f s", ns / 1e9);
	else if (ns >= 1e6)
		snprintf(buf, n, "%.0f ms", ns / 1e6);
	else
		snprintf(buf, n, "%.0f us", ns / 1e3);
}

/* Arguments each common call takes; the others print all six. */
static int nargs(long nr)
{
	static const struct {
		const char *name;
		int n;
	} tab[] = {
		{"read", 3}, {"write", 3}, {"open", 3}, {"close", 1}, {"poll", 3}, {"lseek", 3},
		{"pread64", 4}, {"pwrite64", 4}, {"readv", 3}, {"writev", 3}, {"pause", 0},
		{"nanosleep", 2}, {"accept", 3}, {"connect", 3}, {"recvmsg", 3}, {"sendmsg", 3},
		{"wait4", 4}, {"select", 5}, {"msgrcv", 5}, {"semop", 3}, {"flock", 2},
		{"fsync", 1}, {"fdatasync", 1}, {"rt_sigsuspend", 2}, {"rt_sigtimedwait", 4},
		{"epoll_wait", 4}, {"clock_nanosleep", 4}, {"waitid", 5}, {"openat", 4},
		{"ppoll", 5}, {"accept4", 4}, {"sched_yield", 0}, {"epoll_pwait", 6},
		{"recvfrom", 6}, {"sendto", 6}, {"futex", 6}, {"pselect6", 6}, {"sync", 0},
	};
	const char *name = gosys_sysname(nr);
	for (size_t i = 0; name && i < sizeof tab / sizeof tab[0]; i++)
		if (strcmp(tab[i].name, name) == 0)
			return tab[i].n;
	return 6;
}

static void fmt_arg(char *buf, size_t n, unsigned long long v)
{
	if ((long long)v < 0 && (long long)v > -4096)
		snprintf(buf, n, "%lld", (long long)v);
	else if (v < 0x10000)
		snprintf(buf, n, "%llu", v);
	else
		snprintf(buf, n, "%#llx", v);
}

/* The call the thread was stopped in: nr, or -1. A stop inside a call
 * leaves the kernel's restart code (or EINTR) in rax. */
static long stopped_call(const struct thread *t)
{
	if (!t->have_regs || (long)t->regs.orig_rax < 0)
		return -1;
	long rax = (long)t->regs.rax;
	if (rax == -512 || rax == -513 || rax == -514 || rax == -516 || rax == -EINTR)
		return (long)t->regs.orig_rax;
	return -1;
}

static void fmt_call(char *buf, size_t n, const struct thread *t, long nr)
{
	const char *name = gosys_sysname(nr);
	int len = name ? snprintf(buf, n, "%s(", name) : snprintf(buf, n, "syscall_%ld(", nr);
	unsigned long long a[6] = {t->regs.rdi, t->regs.rsi, t->regs.rdx,
				   t->regs.r10, t->regs.r8, t->regs.r9};
	int k = nargs(nr);
	for (int i = 0; i < k && len > 0 && (size_t)len < n; i++) {
		char num[32];
		fmt_arg(num, sizeof num, a[i]);
		len += snprintf(buf + len, n - (size_t)len, "%s%s", i ? ", " : "", num);
	}
	if (len > 0 && (size_t)len < n)
		snprintf(buf + len, n - (size_t)len, ")");
}

static const char *signame(int sig)
{
	static char buf[24];
	const char *s = sigabbrev_np(sig);
	if (s) {
		snprintf(buf, sizeof buf, "SIG%s", s);
		return buf;
	}
	snprintf(buf, sizeof buf, "signal %d", sig);
	return buf;
}

/* ---- backtraces ------------------------------------------------------------------ */

struct frame {
	uint64_t ip, start;
	char name[160];
	uint64_t off;
	int signal;	/* this is a signal frame (the restorer) */
	int signo;	/* its signal, from the siginfo the kernel put above the ucontext */
};

struct stack {
	struct frame f[MAX_FRAMES];
	int n;
	int in_handler;	/* the innermost handler: its signal, 0: none */
	int preempted;	/* parked or held by the library's preemption signal */
};

#ifdef GOSYS_HAVE_LIBUNWIND_PTRACE
static unw_addr_space_t as;

static void unwind(struct thread *t, struct stack *s)
{
	memset(s, 0, sizeof *s);
	void *ui = _UPT_create(t->tid);
	if (!ui)
		return;
	unw_cursor_t c;
	if (unw_init_remote(&c, as, ui) < 0) {
		_UPT_destroy(ui);
		return;
	}
	do {
		struct frame *f = &s->f[s->n];
		unw_word_t ip = 0, sp = 0, off = 0;
		unw_get_reg(&c, UNW_REG_IP, &ip);
		unw_get_reg(&c, UNW_REG_SP, &sp);
		f->ip = ip;
		unw_proc_info_t pi;
		if (unw_get_proc_info(&c, &pi) == 0)
			f->start = pi.start_ip;
		if (unw_get_proc_name(&c, f->name, sizeof f->name, &off) == 0)
			f->off = off;
		else
			f->name[0] = 0;
		if (unw_is_signal_frame(&c) > 0) {
			int32_t signo;
			f->signal = 1;
			/* The restorers have no symbol of their own in .dynsym
			 * (libc's) or only a hidden one (ours). */
			snprintf(f->name, sizeof f->name, "%s",
				 ip == info.sigreturn ? "__gosys_sigreturn" : "__restore_rt");
			f->off = 0;
			if (peek(sp + GOSYS_SF_SIGINFO, &signo, sizeof signo) == 0)
				f->signo = signo;
		}
		s->n++;
	} while (s->n < MAX_FRAMES && unw_step(&c) > 0);
	_UPT_destroy(ui);
	/* The innermost signal frame, and what its handler is: the library's
	 * preemption handler on its own (the thread parks or marks its call),
	 * or a program handler (behind the library's trampoline or not). */
	int deliver = 0, preempt = 0;
	for (int i = 0; i < s->n; i++) {
		struct frame *f = &s->f[i];
		if (f->start && f->start == info.sig_deliver)
			deliver = 1;
		if (f->start && f->start == info.preempt_handler)
			preempt = 1;
		if (f->signal) {
			if (preempt && !deliver)
				s->preempted = 1;
			else
				s->in_handler = f->signo > 0 ? f->signo : -1;
			break;
		}
	}
}
#endif

static void print_stack(const struct stack *s)
{
	for (int i = 0; i < s->n; i++) {
		const struct frame *f = &s->f[i];
		const struct map *m = map_of(f->ip);
		const char *obj = m && m->name[0] ? m->name : "?";
		if (f->name[0])
			printf("  #%-2d 0x%016" PRIx64 " %s+0x%" PRIx64 " (%s)", i, f->ip, f->name,
			       f->off, obj);
		else
			printf("  #%-2d 0x%016" PRIx64 " ?? (%s)", i, f->ip, obj);
		if (f->signal)
			printf(" <signal frame: %s>", f->signo > 0 ? signame(f->signo) : "?");
		putchar('\n');
	}
}

/* ---- the dump ------------------------------------------------------------------- */

static void status_of(struct thread *t, const struct stack *s, double now_ns, char *out, size_t n)
{
	char call[256] = "", dur[32] = "", where[64] = "";
	long nr = stopped_call(t);
	if (nr >= 0)
		fmt_call(call, sizeof call, t, nr);
	const char *what;
	char buf[320];
	if (t->status == info.st_running) {
		what = t->p >= 0 ? "running" : "running, getting a P";
	} else if (t->status == info.st_syscall) {
		snprintf(buf, sizeof buf, "in syscall %s", nr >= 0 ? call : "(not in the kernel)");
		what = buf;
	} else if (t->status == info.st_blocked) {
		snprintf(buf, sizeof buf, "blocked in %s", nr >= 0 ? call : "a call (not in the kernel)");
		what = buf;
	} else if (t->status == info.st_waiting) {
		what = "waiting for a P";
	} else {
		what = "running without a P";
	}
	/* How long. */
	if (t->state == 'S' || t->state == 'D') {
		double now = cpu_clock_now(t->cpu);
		if (now > 0 && t->exec_start > 0)
			fmt_duration(dur, sizeof dur, (now - t->exec_start) * 1e6);
	} else if (t->status == info.st_nop && t->nop_since) {
		fmt_duration(dur, sizeof dur, now_ns - (double)t->nop_since);
	} else if (t->status == info.st_running && t->p >= 0 && t->held_since) {
		fmt_duration(dur, sizeof dur, now_ns - (double)t->held_since);
	}
	if (s->preempted)
		snprintf(where, sizeof where, ", preempted by %s", signame(SIGURG));
	else if (s->in_handler > 0)
		snprintf(where, sizeof where, ", in a %s handler", signame(s->in_handler));
	else if (s->in_handler < 0)
		snprintf(where, sizeof where, ", in a signal handler");
	char pbuf[32];
	if (t->p >= 0)
		snprintf(pbuf, sizeof pbuf, "P %d", t->p);
	else
		snprintf(pbuf, sizeof pbuf, "P none");
	snprintf(out, n, "%s%s%s%s, %s", what, where, dur[0] ? ", " : "", dur, pbuf);
}

/* A call the stop cut short with EINTR inside one of the library's wrappers
 * is marked as the library's own interruption: the wrapper redoes it. */
static void repair_eintr(struct thread *t)
{
	if (!t->has_m || !t->have_regs || (long)t->regs.orig_rax < 0 ||
	    (long)t->regs.rax != -EINTR || !t->incall ||
	    (t->status != info.st_syscall && t->status != info.st_blocked))
		return;
	uint32_t v;
	if (peek(t->maddr + info.m_eintr_ours, &v, sizeof v) == 0 && v == 0) {
		v = info.eintr_ours;
		poke(t->maddr + info.m_eintr_ours, &v, sizeof v);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2 || !argv[1][0] || strspn(argv[1], "0123456789") != strlen(argv[1])) {
		fprintf(stderr, "Usage: gosys dump PID\n");
		return 2;
	}
	pid = (pid_t)atoi(argv[1]);
	if (pid <= 0)
		die("'%s' is not a process id", argv[1]);
	if (pid == getpid())
		die("cannot dump itself");
	char path[64];
	snprintf(path, sizeof path, "/proc/%d", (int)pid);
	if (access(path, F_OK) != 0)
		die("no process %d", (int)pid);
	read_maps();
	uint64_t at = find_info();
	if (info.version != GOSYS_DUMP_VERSION || info.size < sizeof info)
		die("pid %d runs a libgosys whose dump record is version %u; this tool reads "
		    "version %d", (int)pid, info.version, GOSYS_DUMP_VERSION);
	(void)at;
	/* The kernel's view of each thread before the stop disturbs it. */
	list_tasks();
	for (int i = 0; i < nthreads; i++) /* the clocks to compare with, now */
		cpu_clock_now(threads[i].cpu);
	stop_all();
	read_tables();
	int64_t now = monotonic_now();
	static struct stack stacks[MAX_THREADS];
#ifdef GOSYS_HAVE_LIBUNWIND_PTRACE
	as = unw_create_addr_space(&_UPT_accessors, 0);
	if (as)
		unw_set_caching_policy(as, UNW_CACHE_GLOBAL);
	for (int i = 0; i < nthreads; i++)
		if (threads[i].attached && as)
			unwind(&threads[i], &stacks[i]);
#endif
	for (int i = 0; i < nthreads; i++)
		repair_eintr(&threads[i]);
	resume_all();

	char cmd[256] = "";
	snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
	if (read_proc(path, cmd, sizeof cmd) > 0)
		cmd[strcspn(cmd, "\n")] = 0;
	char up[32];
	fmt_duration(up, sizeof up, (double)(now - sv.start_ns));
	printf("gosys dump of pid %d (%s), %s after start: gomaxprocs=%d idleprocs=%d threads=%d "
	       "idlethreads=%d waiting=%d running=%d syscall=%d blocked=%d nop=%d\n",
	       (int)pid, cmd, up, sv.nprocs_live, sv.npidle, sv.nthreads, sv.idle, sv.census[3],
	       sv.census[0], sv.census[1], sv.census[2], sv.census[4]);
#ifndef GOSYS_HAVE_LIBUNWIND_PTRACE
	printf("(no backtraces: gosys-dump was built without libunwind-ptrace)\n");
#endif
	for (int i = 0; i < nthreads; i++) {
		struct thread *t = &threads[i];
		char st[512];
		if (!t->attached)
			continue;
		if (t->has_m)
			status_of(t, &stacks[i], (double)now, st, sizeof st);
		else if (t->tid == sv.sysmon_tid)
			snprintf(st, sizeof st, "the library's monitor");
		else
			snprintf(st, sizeof st, "not scheduled by the library");
		printf("\nthread %d \"%s\" [%s]:\n", t->tid, t->comm, st);
		print_stack(&stacks[i]);
	}
	return 0;
}
