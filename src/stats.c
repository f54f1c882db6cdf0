/* SPDX-License-Identifier: MIT */
/*
 * stats.c - GOSYS_DEBUG=stats and blockprofile: per-thread call counters,
 * the strace -c style table, the time spent waiting for a P, and a sampled
 * profile of blocked time by call stack (folded stacks).
 *
 * Design
 * ======
 *
 * Off. The wrappers test one global word (gosys__stats_on) at their top and
 * go on as before: one load, one well-predicted branch, nothing else in the
 * code that follows (mkcalls.awk emits every instrumented body a second time
 * instead of testing a flag inside the plain one; the plain body is the one
 * it emitted before stats existed).
 *
 * On. The instrumented body brackets the call with gosys__st_begin/_end: two
 * reads of the vDSO clock, one table cell of three counters bumped in the
 * thread's own block, and no atomic, no lock, no system call. A block is
 * the thread's for its life: mmap'd (never unmapped, recycled), reached
 * through one initial-exec TLS pointer. Not TLS itself, because the report
 * must be able to read the counts of every thread still running at exit,
 * and of threads that died without running their destructors (a raw exit):
 * their TLS may be gone, a block is not. Each counter is bumped by one
 * unlocked x86 add to memory: a signal handler on the same thread that
 * makes calls of its own sees the add done or not done, never half, so the
 * counts stay exact with handlers too.
 *
 * Cells. strace -c counts system calls, so the table does too, by the name
 * the kernel (and strace) gives them: every row whose path is the system call
 * itself is counted under its syscall's number, each attempt one call (a
 * call restarted after the library's own preemption signal is two, the
 * first an EINTR error, as strace counts it), and syscall() under the number
 * it was given. A row whose path is libc's own function (pthread_mutex_lock,
 * sem_wait, sleep, system, ...) may make no system call (an uncontended
 * lock) or many, so it gets a cell of its own named after the function, and
 * counts calls of it. What libc does inside without a wrapper (printf's
 * write, malloc's mmap, the loader) is never seen: for a program whose calls
 * all go through the wrappers the syscall cells equal strace -c's counts.
 * "errors" are calls whose final result was an error (-1 and errno, or an
 * error number for the rows that return one), as strace counts failed calls.
 * "seconds" is the call's wall time less the time its thread then waited for
 * a P (that goes to the wait figures), as strace -c -w measures it.
 *
 * Waiting for a P. The exit of a call waits only on its slow path: the
 * scheduler times that path (gosys__stats_exit_wait, only when stats are on)
 * into the thread's block, and gosys__st_end charges the difference over
 * the call to the call's class. Admission of a new thread is timed in
 * pthread_create's trampoline, a yield or preemption around the scheduler's
 * yield. An exit that finds its P still attached costs tens of ns and is
 * not counted as a wait at all.
 *
 * Merging. At thread exit (the scheduler's pthread key destructor) the block
 * is added into the process table under stats_lock and goes back to the
 * free list, zeroed. A report sums the table and every block in use, under
 * the same lock: threads still running at exit give a snapshot (their next
 * few calls may or may not be in it), and calls made on a thread after its
 * own merge (a later TLS destructor) are not counted but said in the table.
 * Every hold of stats_lock has all signals blocked (two system calls, at
 * thread exit and per report only), so a handler that asks for a report
 * never meets its own thread's hold.
 *
 * Output. At exit (a destructor; _exit and a killed process write nothing),
 * and on demand through gosys_stats_write() (async-signal-safe: a program
 * may call it from a handler of its own). No signal of the library's own:
 * any signal a program can be sent is one it may want, and an action the
 * library installed would show as the program's own to sigaction. The
 * report is built in a static buffer and written with one raw write: with
 * O_APPEND, processes that share a file append whole reports. %p in a path
 * is the pid (children inherit GOSYS_DEBUG), %% a percent sign.
 *
 * Block profile. An event of d ns (call plus wait for a P) is recorded
 * with probability min(1, d / rate) and weight max(d, rate), Go's
 * blockprofilerate idea: the expected weight is d, and the cost is bounded
 * per ns blocked, whatever the call: an unwind of ~10 us per 1 ms of
 * blocked time at the default rate is 1%. The stack is unwound at the
 * wrapper's exit, while the caller's frames are still there, by libunwind's
 * unw_backtrace: loaded with dlopen(RTLD_LOCAL) at start-up and only when
 * the knob is set, so its _Unwind_* never interpose libgcc's for a C++
 * program; its local unwinder masks signals around its own locks and
 * allocates from its own mmap'd pools. Stacks go into a fixed hash table
 * (claimed slot by slot with a CAS; full: dropped and counted) and are
 * symbolised only at exit, with dladdr (dynamic symbols; a program linked
 * with -rdynamic shows its own function names, others module+offset).
 */
#include "internal.h"
#include "note.h"
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

struct st_cell {
	uint64_t calls, errors, ns;
};

struct gosys_st_block {
	struct gosys_st_block *next; /* every block; set before publication */
	uint32_t inuse;		/* atomic: a thread's (claimed by CAS) */
	uint32_t pad;
	int64_t born;		/* the clock when claimed */
	uint64_t exit_ns, exit_n; /* slow exits: time and count, monotone */
	uint64_t wait_ns[GOSYS_ST_NWAIT], waits[GOSYS_ST_NWAIT];
	uint64_t rnd;		/* the profile's sampling state */
	struct st_cell cell[GOSYS_ST_NCELLS];
};

/* The process table: merged threads. stats_lock. */
static struct {
	struct st_cell cell[GOSYS_ST_NCELLS];
	uint64_t wait_ns[GOSYS_ST_NWAIT], waits[GOSYS_ST_NWAIT];
	uint64_t exit_ns, exit_n;
	uint64_t threads;	/* merged threads */
	uint64_t thread_ns;	/* their lifetimes */
} ptab;

int gosys__stats_on;
const char *(*gosys__stats_rowname)(int row);
static struct gosys_lock stats_lock;
static struct gosys_st_block *allblocks; /* push-only (atomic) */
static int64_t st_start;		 /* the clock at start-up (or fork) */
static uint64_t st_uncounted;		 /* calls after their thread's merge; atomic */
static uint32_t st_warned;		 /* one warning per path; atomic */
static __thread struct gosys_st_block *st_self __attribute__((tls_model("initial-exec")));
static __thread int st_gone __attribute__((tls_model("initial-exec")));
/* Inside the profile's unwind: libunwind takes its own lock through our
 * pthread_mutex_lock, whose sample must not unwind again (a thread's, not a
 * block's: a fork child changes blocks in the middle of a call). */
static __thread int st_unwinding __attribute__((tls_model("initial-exec")));

/* One add to memory: a handler on this thread sees it done or not (x86-64,
 * the only arch the library builds for). Not atomic across CPUs: the block
 * is its thread's. */
static inline void st_add(uint64_t *p, uint64_t v)
{
	__asm__ volatile("addq %1, %0" : "+m"(*p) : "er"(v));
}

int64_t gosys__stats_now(void)
{
	struct timespec ts;
	int (*f)(int, struct timespec *) =
		__atomic_load_n(&gosys__vdso.clock_gettime, __ATOMIC_RELAXED);
	if (GOSYS_UNLIKELY(f == NULL))
		gosys__clock_gettime(CLOCK_MONOTONIC, &ts);
	else
		f(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- blocks ---------------------------------------------------------------- */

static struct gosys_st_block *claim(void)
{
	struct gosys_st_block *b;
	for (b = __atomic_load_n(&allblocks, __ATOMIC_ACQUIRE); b; b = b->next) {
		uint32_t z = 0;
		if (!__atomic_load_n(&b->inuse, __ATOMIC_RELAXED) &&
		    __atomic_compare_exchange_n(&b->inuse, &z, 1, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			break;
	}
	if (!b) {
		long r = __gosys_syscall6(SYS_mmap, 0, sizeof *b, PROT_READ | PROT_WRITE,
					  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (GOSYS_IS_ERR(r))
			return NULL;
		b = (struct gosys_st_block *)r;
		b->inuse = 1;
		struct gosys_st_block *head = __atomic_load_n(&allblocks, __ATOMIC_RELAXED);
		do
			b->next = head;
		while (!__atomic_compare_exchange_n(&allblocks, &head, b, true, __ATOMIC_RELEASE,
						    __ATOMIC_RELAXED));
	}
	b->born = gosys__stats_now();
	b->rnd = ((uint64_t)(uintptr_t)b ^ (uint64_t)b->born) | 1;
	st_self = b;
	return b;
}

static inline struct gosys_st_block *self_block(void)
{
	struct gosys_st_block *b = st_self;
	if (GOSYS_LIKELY(b != NULL))
		return b;
	if (st_gone)
		return NULL;
	return claim();
}

/* All signals blocked for a hold of stats_lock (see the head). */
static uint64_t lock_stats(void)
{
	uint64_t all = ~0ULL, old = 0;
	__gosys_syscall4(SYS_rt_sigprocmask, SIG_BLOCK, (long)&all, (long)&old, 8);
	gosys_lock(&stats_lock);
	return old;
}

static void unlock_stats(uint64_t old)
{
	gosys_unlock(&stats_lock);
	__gosys_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, (long)&old, 0, 8);
}

/* stats_lock held. */
static void merge_locked(struct gosys_st_block *b, int64_t now)
{
	for (int i = 0; i < GOSYS_ST_NCELLS; i++) {
		struct st_cell *c = &b->cell[i];
		if (!c->calls)
			continue;
		ptab.cell[i].calls += c->calls;
		ptab.cell[i].errors += c->errors;
		ptab.cell[i].ns += c->ns;
	}
	for (int k = 0; k < GOSYS_ST_NWAIT; k++) {
		ptab.wait_ns[k] += b->wait_ns[k];
		ptab.waits[k] += b->waits[k];
	}
	ptab.exit_ns += b->exit_ns;
	ptab.exit_n += b->exit_n;
	ptab.threads++;
	ptab.thread_ns += (uint64_t)(now - b->born);
}

static void block_reset(struct gosys_st_block *b)
{
	struct gosys_st_block *next = b->next;
	__builtin_memset(b, 0, sizeof *b);
	b->next = next;
}

void gosys__stats_thread_exit(void)
{
	struct gosys_st_block *b = st_self;
	if (!b)
		return;
	st_gone = 1;
	st_self = NULL;
	uint64_t old = lock_stats();
	merge_locked(b, gosys__stats_now());
	block_reset(b); /* inuse 0: free for the next thread */
	unlock_stats(old);
}

/* ---- the calls -------------------------------------------------------------- */

static void prof_sample(struct gosys_st_block *b, int cell, int64_t d);
static int prof_on;

void gosys__st_begin(struct gosys_st_call *c)
{
	struct gosys_st_block *b = self_block();
	c->b = b;
	c->n = 0;
	c->cls = 0;
	if (b) {
		c->x0 = b->exit_ns;
		c->xn0 = b->exit_n;
	}
	c->t0 = gosys__stats_now();
}

void gosys__st_end(struct gosys_st_call *c, int cell, int failed)
{
	int64_t t1 = gosys__stats_now();
	struct gosys_st_block *b = c->b;
	if (GOSYS_UNLIKELY(b != st_self)) {
		/* The call was fork: the child's counters started afresh in it. */
		b = self_block();
		if (b) {
			c->x0 = b->exit_ns;
			c->xn0 = b->exit_n;
		}
	}
	if (GOSYS_UNLIKELY(!b || (unsigned)cell >= GOSYS_ST_NCELLS)) {
		__atomic_add_fetch(&st_uncounted, 1, __ATOMIC_RELAXED);
		return;
	}
	uint64_t n = 1, err = failed ? 1 : 0;
	if (cell < GOSYS_ST_NSYS && c->n > 1) {
		n = (uint64_t)c->n; /* restarts: every attempt but the last was EINTR */
		err += n - 1;
	}
	uint64_t w = b->exit_ns - c->x0;
	int64_t d = t1 - c->t0 - (int64_t)w;
	if (d < 0)
		d = 0;
	struct st_cell *s = &b->cell[cell];
	st_add(&s->calls, n);
	if (err)
		st_add(&s->errors, err);
	st_add(&s->ns, (uint64_t)d);
	if (w) {
		int k = c->cls == 2 ? GOSYS_ST_WBLOCK : GOSYS_ST_WLAZY;
		st_add(&b->wait_ns[k], w);
		st_add(&b->waits[k], b->exit_n - c->xn0);
	}
	if (__atomic_load_n(&prof_on, __ATOMIC_ACQUIRE))
		prof_sample(b, cell, d + (int64_t)w);
}

void gosys__stats_exit_wait(int64_t ns)
{
	struct gosys_st_block *b = self_block();
	if (b && ns > 0) {
		st_add(&b->exit_ns, (uint64_t)ns);
		st_add(&b->exit_n, 1);
	}
}

void gosys__stats_yield_wait(int64_t ns)
{
	struct gosys_st_block *b = self_block();
	if (b && ns > 0) {
		st_add(&b->wait_ns[GOSYS_ST_WYIELD], (uint64_t)ns);
		st_add(&b->waits[GOSYS_ST_WYIELD], 1);
	}
}

void gosys__stats_thread_start(void)
{
	struct gosys_st_block *b = self_block();
	int64_t t = gosys__stats_now();
	gosys__thread_start();
	int64_t d = gosys__stats_now() - t;
	if (b) {
		st_add(&b->wait_ns[GOSYS_ST_WSTART], (uint64_t)d);
		st_add(&b->waits[GOSYS_ST_WSTART], 1);
	}
}

/* ---- the report ------------------------------------------------------------- */

struct out {
	char *buf;
	size_t len, cap;
};

static void o_bytes(struct out *o, const char *s, size_t n)
{
	if (n > o->cap - o->len)
		n = o->cap - o->len;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void o_str(struct out *o, const char *s)
{
	o_bytes(o, s, strlen(s));
}

static void o_pad(struct out *o, size_t w, size_t n)
{
	while (n++ < w)
		o_bytes(o, " ", 1);
}

/* v in decimal, right-aligned in w columns (0: as is). */
static void o_u(struct out *o, uint64_t v, size_t w)
{
	char tmp[24];
	int n = 0;
	do
		tmp[sizeof tmp - 1 - n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	o_pad(o, w, (size_t)n);
	o_bytes(o, tmp + sizeof tmp - n, (size_t)n);
}

/* v / 10^dec with dec decimals, right-aligned in w columns. */
static void o_fix(struct out *o, uint64_t v, int dec, size_t w)
{
	uint64_t p = 1;
	for (int i = 0; i < dec; i++)
		p *= 10;
	char tmp[48];
	size_t n = 0;
	uint64_t frac = v % p, ip = v / p;
	for (int i = 0; i < dec; i++) {
		tmp[sizeof tmp - 1 - n++] = (char)('0' + frac % 10);
		frac /= 10;
	}
	if (dec)
		tmp[sizeof tmp - 1 - n++] = '.';
	do
		tmp[sizeof tmp - 1 - n++] = (char)('0' + ip % 10);
	while ((ip /= 10) != 0);
	o_pad(o, w, n);
	o_bytes(o, tmp + sizeof tmp - n, n);
}

/* ns as seconds with 6 decimals. */
static void o_secs(struct out *o, uint64_t ns, size_t w)
{
	o_fix(o, ns / 1000, 6, w);
}

/* a / b as a percentage with 2 decimals. */
static void o_pct(struct out *o, uint64_t a, uint64_t b, size_t w)
{
	uint64_t h = b ? (uint64_t)(((unsigned __int128)a * 10000 + b / 2) / b) : 0;
	o_fix(o, h, 2, w);
}

static void cell_name(int i, char *buf, size_t n)
{
	const char *s = NULL;
	if (i < GOSYS_ST_NSYS)
		s = gosys_sysname(i);
	else if (gosys__stats_rowname)
		s = gosys__stats_rowname(i - GOSYS_ST_NSYS);
	if (s) {
		size_t l = strlen(s);
		if (l >= n)
			l = n - 1;
		memcpy(buf, s, l);
		buf[l] = 0;
		return;
	}
	char num[24];
	int l = gosys__fmt_long(num, i < GOSYS_ST_NSYS ? i : i - GOSYS_ST_NSYS);
	const char *pre = i < GOSYS_ST_NSYS ? "syscall_" : "call_";
	size_t pl = strlen(pre);
	memcpy(buf, pre, pl);
	memcpy(buf + pl, num, (size_t)l);
	buf[pl + (size_t)l] = 0;
}

/* The summed view a report prints; stats_lock. */
static struct {
	struct st_cell cell[GOSYS_ST_NCELLS];
	uint64_t wait_ns[GOSYS_ST_NWAIT], waits[GOSYS_ST_NWAIT];
	uint64_t threads, thread_ns;
	uint16_t order[GOSYS_ST_NCELLS];
} sum;

static char report_buf[1 << 17]; /* stats_lock */

static void sum_locked(int64_t now)
{
	__builtin_memcpy(sum.cell, ptab.cell, sizeof sum.cell);
	for (int k = 0; k < GOSYS_ST_NWAIT; k++) {
		sum.wait_ns[k] = ptab.wait_ns[k];
		sum.waits[k] = ptab.waits[k];
	}
	sum.threads = ptab.threads;
	sum.thread_ns = ptab.thread_ns;
	for (struct gosys_st_block *b = __atomic_load_n(&allblocks, __ATOMIC_ACQUIRE); b;
	     b = b->next) {
		if (!__atomic_load_n(&b->inuse, __ATOMIC_ACQUIRE))
			continue;
		/* Another thread's counts, read while it may add to them: each
		 * word is read whole, the whole is a snapshot. */
		for (int i = 0; i < GOSYS_ST_NCELLS; i++) {
			uint64_t calls = __atomic_load_n(&b->cell[i].calls, __ATOMIC_RELAXED);
			if (!calls)
				continue;
			sum.cell[i].calls += calls;
			sum.cell[i].errors += __atomic_load_n(&b->cell[i].errors, __ATOMIC_RELAXED);
			sum.cell[i].ns += __atomic_load_n(&b->cell[i].ns, __ATOMIC_RELAXED);
		}
		for (int k = 0; k < GOSYS_ST_NWAIT; k++) {
			sum.wait_ns[k] += __atomic_load_n(&b->wait_ns[k], __ATOMIC_RELAXED);
			sum.waits[k] += __atomic_load_n(&b->waits[k], __ATOMIC_RELAXED);
		}
		int64_t born = __atomic_load_n(&b->born, __ATOMIC_RELAXED);
		sum.threads++;
		sum.thread_ns += now > born ? (uint64_t)(now - born) : 0;
	}
}

static int before(int a, int b)
{
	const struct st_cell *x = &sum.cell[a], *y = &sum.cell[b];
	if (x->ns != y->ns)
		return x->ns > y->ns;
	if (x->calls != y->calls)
		return x->calls > y->calls;
	return a < b;
}

static const char dashes[] =
	"------ ----------- ----------- --------- --------- ----------------\n";

static void table_row(struct out *o, const struct st_cell *c, uint64_t total_ns, const char *name)
{
	o_pct(o, c->ns, total_ns, 6);
	o_str(o, " ");
	o_secs(o, c->ns, 11);
	o_str(o, " ");
	o_u(o, c->calls ? c->ns / 1000 / c->calls : 0, 11);
	o_str(o, " ");
	o_u(o, c->calls, 9);
	o_str(o, " ");
	if (c->errors)
		o_u(o, c->errors, 9);
	else
		o_pad(o, 9, 0);
	o_str(o, " ");
	o_str(o, name);
	o_str(o, "\n");
}

static void wait_row(struct out *o, const char *what, uint64_t ns, uint64_t n)
{
	o_str(o, "  ");
	o_str(o, what);
	o_pad(o, 22, strlen(what));
	o_secs(o, ns, 11);
	o_str(o, " ");
	o_u(o, n, 10);
	o_str(o, "\n");
}

static void counter(struct out *o, const char *name, uint64_t v)
{
	o_str(o, name);
	o_str(o, " ");
	o_u(o, v, 0);
}

/* Builds the report into report_buf; stats_lock held. */
static size_t build_locked(const struct gosys_schedstats *ss, int have_ss)
{
	struct out o = {report_buf, 0, sizeof report_buf};
	int64_t now = gosys__stats_now();
	sum_locked(now);
	int n = 0;
	struct st_cell total = {0, 0, 0};
	for (int i = 0; i < GOSYS_ST_NCELLS; i++) {
		if (!sum.cell[i].calls)
			continue;
		total.calls += sum.cell[i].calls;
		total.errors += sum.cell[i].errors;
		total.ns += sum.cell[i].ns;
		int j = n++;
		while (j > 0 && before(i, sum.order[j - 1])) {
			sum.order[j] = sum.order[j - 1];
			j--;
		}
		sum.order[j] = (uint16_t)i;
	}
	o_str(&o, "gosys stats: pid ");
	o_u(&o, (uint64_t)__gosys_syscall0(SYS_getpid), 0);
	o_str(&o, ", ");
	o_secs(&o, (uint64_t)(now - st_start), 0);
	o_str(&o, " s since start");
	if (!__atomic_load_n(&gosys__stats_on, __ATOMIC_RELAXED))
		o_str(&o, " (stats are off: no calls were counted)");
	o_str(&o, "\n% time     seconds  usecs/call     calls    errors syscall\n");
	o_str(&o, dashes);
	for (int k = 0; k < n; k++) {
		char name[64];
		cell_name(sum.order[k], name, sizeof name);
		table_row(&o, &sum.cell[sum.order[k]], total.ns, name);
	}
	o_str(&o, dashes);
	table_row(&o, &total, total.ns, "total");
	uint64_t unc = __atomic_load_n(&st_uncounted, __ATOMIC_RELAXED);
	if (unc) {
		o_u(&o, unc, 0);
		o_str(&o, " calls made after their thread's counters were merged are not in the table\n");
	}
	o_str(&o, "\n");
	if (have_ss) {
		o_str(&o, "scheduler: ");
		counter(&o, "maxprocs", (uint64_t)ss->maxprocs);
		counter(&o, ", threads now", (uint64_t)ss->threads);
		counter(&o, ", handoffs", ss->handoffs);
		counter(&o, ", retakes", ss->retakes);
		counter(&o, ", blocked retakes", ss->blocked_retakes);
		counter(&o, ",\n  preempts", ss->preempts);
		counter(&o, ", by signal", ss->async_preempts);
		counter(&o, ", parks", ss->parks);
		counter(&o, ", runs without a P", ss->nop_runs);
		o_str(&o, " (");
		o_secs(&o, ss->nop_ns, 0);
		o_str(&o, " s)");
		counter(&o, ", reclaimed", ss->nop_reclaims);
		counter(&o, ",\n  deferred handlers", ss->sig_deferrals);
		counter(&o, ", monitor ticks", ss->monitor_ticks);
		counter(&o, ", quota pauses", ss->paces);
		o_str(&o, " (");
		o_secs(&o, ss->paced_ns, 0);
		o_str(&o, " s)\n");
	}
	o_str(&o, "waiting for a P");
	o_pad(&o, 2 + 22 + 11 - 7, 15);
	o_str(&o, "seconds      times\n");
	static const char *const what[GOSYS_ST_NWAIT] = {
		"after lazy calls", "after eager calls", "new threads", "yields, preemptions"};
	uint64_t wall = 0;
	for (int k = 0; k < GOSYS_ST_NWAIT; k++) {
		wait_row(&o, what[k], sum.wait_ns[k], sum.waits[k]);
		wall += sum.wait_ns[k];
	}
	o_str(&o, "gosys: ");
	o_u(&o, sum.threads, 0);
	o_str(&o, sum.threads == 1 ? " thread" : " threads");
	o_str(&o, ", ");
	o_secs(&o, wall, 0);
	o_str(&o, " s waiting for a P in all: the bound cost ");
	o_pct(&o, wall, sum.thread_ns, 0);
	o_str(&o, "% of their ");
	o_secs(&o, sum.thread_ns, 0);
	o_str(&o, " s of wall time\n");
	if (o.len == o.cap)
		o.buf[o.len - 1] = '\n'; /* cut short, but still whole lines */
	return o.len;
}

/* Expands %p (the pid) and %% in path into buf; 0, or -1 if too long. */
static int expand_path(const char *path, char *buf, size_t cap)
{
	size_t n = 0;
	for (const char *s = path; *s; s++) {
		char num[24];
		const char *piece = s;
		size_t len = 1;
		if (s[0] == '%' && s[1] == 'p') {
			len = (size_t)gosys__fmt_long(num, __gosys_syscall0(SYS_getpid));
			piece = num;
			s++;
		} else if (s[0] == '%' && s[1] == '%') {
			s++;
		}
		if (n + len >= cap)
			return -1;
		memcpy(buf + n, piece, len);
		n += len;
	}
	buf[n] = 0;
	return 0;
}

/* Opens a knob's file for appending, or warns once and returns -1. */
static int open_out(const char *knob, const char *path)
{
	char buf[GOSYS_PATH_MAX + 64];
	long fd = -ENAMETOOLONG;
	if (expand_path(path, buf, sizeof buf) == 0)
		fd = __gosys_syscall4(SYS_openat, AT_FDCWD, (long)buf,
				      O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (!GOSYS_IS_ERR(fd))
		return (int)fd;
	if (!__atomic_exchange_n(&st_warned, 1, __ATOMIC_RELAXED)) {
		char e[24];
		gosys__fmt_long(e, -fd);
		gosys__warnv(knob, ": cannot open ", path, " (errno ", e, "); nothing written",
			     NULL);
	}
	errno = (int)-fd;
	return -1;
}

GOSYS_API int gosys_stats_write(int fd)
{
	gosys__init();
	int e = errno;
	struct gosys_schedstats ss;
	int have = gosys_schedstats(&ss, sizeof ss) > 0;
	int own = 0;
	if (fd < 0) {
		fd = 2;
		if (gosys__knobs.stats && gosys__knobs.stats_path[0]) {
			fd = open_out("stats", gosys__knobs.stats_path);
			if (fd < 0)
				return -1;
			own = 1;
		}
	}
	uint64_t old = lock_stats();
	size_t n = build_locked(&ss, have);
	long r = 0;
	for (size_t off = 0; off < n;) {
		r = __gosys_syscall3(SYS_write, fd, (long)(report_buf + off), (long)(n - off));
		if (r == -EINTR)
			continue;
		if (r <= 0)
			break;
		off += (size_t)r;
		r = 0;
	}
	unlock_stats(old);
	if (own)
		__gosys_syscall1(SYS_close, fd);
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	errno = e;
	return 0;
}

/* ---- the block profile ------------------------------------------------------ */

#define PROF_DEPTH 48
#define PROF_SLOTS 4096
#define PROF_PROBES 32

struct prof_ent {
	uint32_t state;		/* 0 free, 1 being filled, 2 ready; atomic */
	uint16_t depth;
	uint16_t cell;
	uint64_t hash;
	uint64_t weight;	/* ns; atomic */
	uint64_t count;		/* atomic */
	void *pc[PROF_DEPTH];
};

static struct prof_ent *prof_tab; /* mmap'd at init; PROF_SLOTS */
static uint64_t prof_dropped;	  /* atomic */
static int (*prof_unwind)(void **, int);

static uint64_t prof_hash(void **pc, int n, int cell)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)cell;
	for (int i = 0; i < n; i++) {
		h ^= (uint64_t)(uintptr_t)pc[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static void prof_record(void **pc, int n, int cell, uint64_t weight)
{
	uint64_t h = prof_hash(pc, n, cell);
	for (int i = 0; i < PROF_PROBES; i++) {
		struct prof_ent *e = &prof_tab[(h + (uint64_t)i) % PROF_SLOTS];
		uint32_t st = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
		if (st == 0) {
			if (!__atomic_compare_exchange_n(&e->state, &st, 1, false, __ATOMIC_ACQUIRE,
							 __ATOMIC_ACQUIRE))
				continue; /* taken meanwhile: look further */
			e->depth = (uint16_t)n;
			e->cell = (uint16_t)cell;
			e->hash = h;
			memcpy(e->pc, pc, (size_t)n * sizeof pc[0]);
			__atomic_store_n(&e->state, 2, __ATOMIC_RELEASE);
		} else if (st != 2 || e->hash != h || e->cell != cell || e->depth != n ||
			   memcmp(e->pc, pc, (size_t)n * sizeof pc[0]) != 0) {
			continue; /* another stack, or one being filled (never wait) */
		}
		__atomic_add_fetch(&e->weight, weight, __ATOMIC_RELAXED);
		__atomic_add_fetch(&e->count, 1, __ATOMIC_RELAXED);
		return;
	}
	__atomic_add_fetch(&prof_dropped, 1, __ATOMIC_RELAXED);
}

static void prof_sample(struct gosys_st_block *b, int cell, int64_t d)
{
	uint64_t rate = (uint64_t)gosys__knobs.blockprofilerate_ns;
	uint64_t weight = (uint64_t)d;
	if (weight < rate) {
		uint64_t x = b->rnd; /* xorshift64 */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b->rnd = x;
		if (x % rate >= weight)
			return;
		weight = rate;
	}
	if (st_unwinding) /* libunwind's own lock, or a handler's call, inside our unwind */
		return;
	st_unwinding = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	int e = errno;
	void *pc[PROF_DEPTH];
	int n = prof_unwind(pc, PROF_DEPTH);
	if (n > 0)
		prof_record(pc, n, cell, weight);
	errno = e;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	st_unwinding = 0;
}

/* One frame's name into o: the symbol, else module+0xoffset, else ??. */
static void frame_name(struct out *o, void *pc)
{
	Dl_info di;
	char num[24];
	if (dladdr(pc, &di) && di.dli_sname) {
		size_t l = strlen(di.dli_sname);
		o_bytes(o, di.dli_sname, l > 128 ? 128 : l);
		return;
	}
	if (dladdr(pc, &di) && di.dli_fname) {
		const char *base = strrchr(di.dli_fname, '/');
		base = base ? base + 1 : di.dli_fname;
		o_bytes(o, base, strlen(base) > 64 ? 64 : strlen(base));
		o_str(o, "+0x");
		uintptr_t off = (uintptr_t)pc - (uintptr_t)di.dli_fbase;
		int k = 0;
		do
			num[k++] = "0123456789abcdef"[off & 15];
		while ((off >>= 4) != 0);
		while (k > 0)
			o_bytes(o, &num[--k], 1);
		return;
	}
	o_str(o, "??");
}

static void prof_write(void)
{
	Dl_info self;
	if (!dladdr((void *)prof_write, &self))
		self.dli_fbase = NULL;
	size_t cap = (size_t)PROF_SLOTS * 1024;
	long r = __gosys_syscall6(SYS_mmap, 0, (long)cap, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (GOSYS_IS_ERR(r))
		return;
	struct out o = {(char *)r, 0, cap};
	for (int s = 0; s < PROF_SLOTS; s++) {
		struct prof_ent *e = &prof_tab[s];
		if (__atomic_load_n(&e->state, __ATOMIC_ACQUIRE) != 2)
			continue;
		if (cap - o.len < (size_t)PROF_DEPTH * 140 + 200)
			break;
		/* Innermost frames in the library (the wrapper, ours) are dropped:
		 * the call's own name ends the line instead. */
		int top = 0;
		while (top < e->depth) {
			Dl_info di;
			/* return addresses point after the call: look up pc - 1 */
			void *pc = (char *)e->pc[top] - (top ? 1 : 0);
			if (!self.dli_fbase || !dladdr(pc, &di) || di.dli_fbase != self.dli_fbase)
				break;
			top++;
		}
		for (int i = e->depth - 1; i >= top; i--) {
			frame_name(&o, (char *)e->pc[i] - 1);
			o_str(&o, ";");
		}
		char name[64];
		cell_name(e->cell, name, sizeof name);
		o_str(&o, name);
		o_str(&o, " ");
		o_u(&o, __atomic_load_n(&e->weight, __ATOMIC_RELAXED), 0);
		o_str(&o, "\n");
	}
	int fd = open_out("blockprofile", gosys__knobs.blockprofile_path);
	if (fd >= 0) {
		gosys__write_all(fd, o.buf, o.len);
		__gosys_syscall1(SYS_close, fd);
	}
	uint64_t dropped = __atomic_load_n(&prof_dropped, __ATOMIC_RELAXED);
	if (dropped) {
		char num[24];
		gosys__fmt_long(num, (long long)dropped);
		gosys__warnv("blockprofile: table full, ", num, " sampled events dropped", NULL);
	}
	__gosys_syscall2(SYS_munmap, r, (long)cap);
}

static void prof_init(void)
{
	/* RTLD_LOCAL: libunwind's _Unwind_* must not interpose libgcc's. */
	void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		h = dlopen("libunwind.so", RTLD_NOW | RTLD_LOCAL);
	void *f = h ? dlsym(h, "unw_backtrace") : NULL;
	if (!f) {
		gosys__warn("blockprofile: libunwind (unw_backtrace) not found; no profile");
		return;
	}
	long r = __gosys_syscall6(SYS_mmap, 0, (long)(sizeof(struct prof_ent) * PROF_SLOTS),
				  PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (GOSYS_IS_ERR(r))
		return;
	prof_tab = (struct prof_ent *)r;
	prof_unwind = (int (*)(void **, int))f;
	__atomic_store_n(&prof_on, 1, __ATOMIC_RELEASE); /* threads may exist already */
}

/* ---- start-up, fork, exit --------------------------------------------------- */

/* The child of fork: one thread, and its report covers the child alone. */
static void stats_fork_child(void)
{
	stats_lock.key = 0;
	__builtin_memset(&ptab, 0, sizeof ptab);
	for (struct gosys_st_block *b = allblocks; b; b = b->next)
		block_reset(b);
	st_self = NULL;
	st_gone = 0;
	st_unwinding = 0;
	st_start = gosys__stats_now();
	if (prof_on)
		__builtin_memset(prof_tab, 0, sizeof(struct prof_ent) * PROF_SLOTS);
	claim();
}

void gosys__stats_init(void)
{
	if (!gosys__knobs.stats && !gosys__knobs.blockprofile)
		return;
	st_start = gosys__stats_now();
	claim(); /* the thread running start-up: born now */
	pthread_atfork(NULL, NULL, stats_fork_child);
	__atomic_store_n(&gosys__stats_on, 1, __ATOMIC_RELEASE);
}

/*
 * libunwind is loaded by a constructor of ours, not by gosys__init: that
 * can run from the first intercepted call, and the first may come from
 * inside another library's start-up (ASan's runtime maps memory while it
 * holds its symbolizer's lock, and its dlopen interceptor takes that lock
 * again: seen as a hang). Events before it are not sampled.
 */
static __attribute__((constructor(102))) void prof_ctor(void)
{
	gosys__init();
	if (gosys__knobs.blockprofile && __atomic_load_n(&gosys__stats_on, __ATOMIC_ACQUIRE))
		prof_init();
}

static __attribute__((destructor)) void stats_fini(void)
{
	if (!__atomic_load_n(&gosys__stats_on, __ATOMIC_ACQUIRE))
		return;
	if (gosys__knobs.stats)
		gosys_stats_write(-1);
	if (prof_on) {
		prof_on = 0; /* no more samples while it is written */
		prof_write();
	}
}
