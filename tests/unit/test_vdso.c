/* SPDX-License-Identifier: MIT */
/*
 * Description: the vDSO layer. Each resolved entry agrees with libc and with
 * the raw system call; gosys_nanotime is monotonic and brackets; both ELF
 * hashes match an independent version and the image's own tables; and
 * copies of the real image, truncated or corrupted every way we could think
 * of, are rejected cleanly (or resolve nothing wrong), while the syscall
 * fallback keeps giving correct times.
 *
 * Under valgrind the process has no vDSO; the image is then read from a
 * child that execs this program natively (valgrind does not follow it).
 */
#include "internal.h"
#include "tcheck.h"
#include <elf.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NSEC 1000000000LL
#define DUMP_ENV "GOSYS_T_VDSO_DUMP"
enum { CGT, GTOD, TIME, GETCPU, NSYMS };
static const char *const sym_names[NSYMS] = {
	"__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time", "__vdso_getcpu",
};

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * NSEC + ts->tv_nsec;
}

/* The raw system call, through libc's syscall(), which never uses the vDSO. */
static int64_t raw_clock(int clk)
{
	struct timespec ts;
	ck_assert_int_eq(syscall(SYS_clock_gettime, clk, &ts), 0);
	return ts_ns(&ts);
}

static void vdso_ptrs(const struct gosys_vdso *v, const void *p[NSYMS])
{
	p[CGT] = (const void *)(uintptr_t)v->clock_gettime;
	p[GTOD] = (const void *)(uintptr_t)v->gettimeofday;
	p[TIME] = (const void *)(uintptr_t)v->time;
	p[GETCPU] = (const void *)(uintptr_t)v->getcpu;
}

/* ---- an independent, trusting reader for the unmodified image ----------- */

/* Furthest end of the PT_LOAD segments. */
static size_t t_image_len(const unsigned char *b)
{
	const Elf64_Ehdr *eh = (const void *)b;
	const Elf64_Phdr *ph = (const void *)(b + eh->e_phoff);
	size_t end = 0;
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset + ph[i].p_filesz > end)
			end = ph[i].p_offset + ph[i].p_filesz;
	return end;
}

struct t_elf {
	unsigned char *b;
	size_t len;
	uint64_t bias;
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph, *load, *dynph;
	Elf64_Dyn *dyn;
	size_t ndyn;
	Elf64_Sym *sym;
	size_t nsym;
	char *str;
	uint16_t *versym;
	uint32_t *hash, *gnu;
	Elf64_Verdef *ver26;	/* the LINUX_2.6 definition */
};

static void *t_at(struct t_elf *e, uint64_t vaddr)
{
	ck_assert_uint_lt(vaddr + e->bias, e->len);
	return e->b + vaddr + e->bias;
}

static Elf64_Dyn *t_dyn(struct t_elf *e, int64_t tag)
{
	for (size_t i = 0; i < e->ndyn; i++)
		if (e->dyn[i].d_tag == tag)
			return &e->dyn[i];
	return NULL;
}

static void t_elf_open(struct t_elf *e, unsigned char *b, size_t len)
{
	memset(e, 0, sizeof *e);
	e->b = b;
	e->len = len;
	e->eh = (void *)b;
	ck_assert_int_eq(memcmp(b, ELFMAG, SELFMAG), 0);
	e->ph = (void *)(b + e->eh->e_phoff);
	for (int i = 0; i < e->eh->e_phnum; i++) {
		if (e->ph[i].p_type == PT_LOAD && !e->load)
			e->load = &e->ph[i];
		if (e->ph[i].p_type == PT_DYNAMIC)
			e->dynph = &e->ph[i];
	}
	ck_assert_ptr_nonnull(e->load);
	ck_assert_ptr_nonnull(e->dynph);
	e->bias = e->load->p_offset - e->load->p_vaddr;
	e->dyn = (void *)(b + e->dynph->p_offset);
	while (e->dyn[e->ndyn].d_tag != DT_NULL)
		e->ndyn++;
	e->sym = t_at(e, t_dyn(e, DT_SYMTAB)->d_un.d_ptr);
	e->str = t_at(e, t_dyn(e, DT_STRTAB)->d_un.d_ptr);
	e->versym = t_at(e, t_dyn(e, DT_VERSYM)->d_un.d_ptr);
	/* x86-64 vDSOs carry both tables (--hash-style=both). */
	e->hash = t_at(e, t_dyn(e, DT_HASH)->d_un.d_ptr);
	e->gnu = t_at(e, t_dyn(e, DT_GNU_HASH)->d_un.d_ptr);
	e->nsym = e->hash[1];
	unsigned char *vd = t_at(e, t_dyn(e, DT_VERDEF)->d_un.d_ptr);
	for (;;) {
		Elf64_Verdef *d = (void *)vd;
		Elf64_Verdaux *a = (void *)(vd + d->vd_aux);
		if (strcmp(e->str + a->vda_name, "LINUX_2.6") == 0)
			e->ver26 = d;
		if (!d->vd_next)
			break;
		vd += d->vd_next;
	}
	ck_assert_ptr_nonnull(e->ver26);
}

/* Index of name at LINUX_2.6, by a linear scan. */
static size_t t_sym(struct t_elf *e, const char *name)
{
	for (size_t i = 1; i < e->nsym; i++)
		if (strcmp(e->str + e->sym[i].st_name, name) == 0 &&
		    (e->versym[i] & 0x7fff) == e->ver26->vd_ndx)
			return i;
	ck_abort_msg("symbol %s not found", name);
	return 0;
}

/* Image offsets of the four entries. */
static void t_truth(struct t_elf *e, uint64_t off[NSYMS])
{
	for (int k = 0; k < NSYMS; k++)
		off[k] = e->sym[t_sym(e, sym_names[k])].st_value + e->bias;
}

/* ---- getting a copy of the image ----------------------------------------- */

/* In the native child: write the image to stdout and leave. */
__attribute__((constructor)) static void t_dump_child(void)
{
	if (!getenv(DUMP_ENV))
		return;
	const unsigned char *b = (const void *)getauxval(AT_SYSINFO_EHDR);
	if (!b)
		_exit(3);
	size_t n = t_image_len(b);
	for (size_t done = 0; done < n;) {
		ssize_t w = write(1, b + done, n - done);
		if (w <= 0)
			_exit(4);
		done += (size_t)w;
	}
	_exit(0);
}

static unsigned char *t_image_from_child(size_t *len)
{
	char self[4096];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
	int fds[2];
	ck_assert_int_gt(sl, 0);
	self[sl] = 0;
	ck_assert_int_eq(pipe(fds), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(fds[1], 1);
		setenv(DUMP_ENV, "1", 1);
		execl(self, self, (char *)NULL);
		_exit(5);
	}
	close(fds[1]);
	size_t cap = 65536, n = 0;
	unsigned char *buf = malloc(cap);
	ssize_t r;
	while ((r = read(fds[0], buf + n, cap - n)) > 0)
		n += (size_t)r;
	close(fds[0]);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || n == 0) {
		free(buf);
		return NULL;	/* no vDSO on this machine at all */
	}
	*len = n;
	return buf;
}

/* A malloc'd copy of the real image (exactly its length), or NULL if none. */
static unsigned char *t_image(size_t *len)
{
	const unsigned char *live = (const void *)getauxval(AT_SYSINFO_EHDR);
	if (!live)
		return t_image_from_child(len);
	*len = t_image_len(live);
	unsigned char *b = malloc(*len);
	memcpy(b, live, *len);
	return b;
}

/* Exactly n bytes (at least one allocated) holding the first n of src. */
static unsigned char *t_dup(const unsigned char *src, size_t srclen, size_t n)
{
	unsigned char *b = malloc(n ? n : 1);
	memcpy(b, src, n < srclen ? n : srclen);
	return b;
}

/* Parses into a struct filled with junk first, so a failure must zero it. */
static int t_parse(const unsigned char *b, size_t len, struct gosys_vdso *v)
{
	memset(v, 0xa5, sizeof *v);
	return gosys__vdso_parse(b, len, v);
}

/*
 * The result of parsing a damaged image is clean: -1 with every entry NULL,
 * or 0 with each entry NULL or exactly where the pristine image has it
 * (with truth NULL: anywhere inside the image). Returns the number of entries resolved.
 */
static int t_clean(int rc, const struct gosys_vdso *v, const unsigned char *b, size_t len,
		   const uint64_t truth[NSYMS])
{
	const void *p[NSYMS];
	int n = 0;
	vdso_ptrs(v, p);
	ck_assert_msg(rc == 0 || rc == -1, "rc %d", rc);
	for (int k = 0; k < NSYMS; k++) {
		if (rc == -1 || !p[k]) {
			ck_assert_ptr_null(p[k]);
			continue;
		}
		ck_assert((const unsigned char *)p[k] >= b);
		ck_assert_uint_lt((uintptr_t)p[k] - (uintptr_t)b, len);
		if (truth)
			ck_assert_uint_eq((uintptr_t)p[k] - (uintptr_t)b, truth[k]);
		n++;
	}
	return n;
}

/* Parses a damaged copy and asserts the result is clean; returns rc. */
static int t_try(const unsigned char *b, size_t len, const uint64_t truth[NSYMS], int *nres)
{
	struct gosys_vdso v;
	int rc = t_parse(b, len, &v);
	int n = t_clean(rc, &v, b, len, truth);
	if (nres)
		*nres = n;
	return rc;
}

/*
 * Every damage test: a fresh pristine copy, its reader, and the truth. The
 * body damages c.b through c.e's pointers, then checks.
 */
struct t_copy {
	unsigned char *img, *b;
	size_t len;
	struct t_elf e;
	uint64_t truth[NSYMS];
};

static int t_copy_init(struct t_copy *c)
{
	memset(c, 0, sizeof *c);
	c->img = t_image(&c->len);
	if (!c->img) {
		/* No vDSO anywhere: then nothing may be resolved live. */
		gosys__vdso_init();
		ck_assert_ptr_null(gosys__vdso.clock_gettime);
		return 0;
	}
	c->b = t_dup(c->img, c->len, c->len);
	t_elf_open(&c->e, c->b, c->len);
	t_truth(&c->e, c->truth);
	return 1;
}

/* Back to pristine between damages. */
static void t_copy_reset(struct t_copy *c)
{
	memcpy(c->b, c->img, c->len);
}

static void t_copy_free(struct t_copy *c)
{
	free(c->b);
	free(c->img);
}

/* Parses the current copy: expects rc, asserts clean, returns entries resolved. */
#define t_expect(c, want_rc) t_expect_at(c, want_rc, __LINE__)
static int t_expect_at(struct t_copy *c, int want_rc, int line)
{
	int n;
	int rc = t_try(c->b, c->len, c->truth, &n);
	ck_assert_msg(rc == want_rc, "line %d: rc %d, want %d", line, rc, want_rc);
	t_copy_reset(c);
	return n;
}

/* Parses the current copy; any clean result will do. */
static int t_any(struct t_copy *c)
{
	int n;
	t_try(c->b, c->len, c->truth, &n);
	t_copy_reset(c);
	return n;
}

/* ---- live entries ----------------------------------------------------------- */

START_TEST(live_resolved)
{
	const unsigned char *base = (const void *)getauxval(AT_SYSINFO_EHDR);
	const void *p[NSYMS];
	gosys__vdso_init();
	gosys__vdso_init();	/* idempotent */
	vdso_ptrs(&gosys__vdso, p);
	for (int k = 0; k < NSYMS; k++) {
		if (!base) {
			ck_assert_ptr_null(p[k]);
			continue;
		}
		/* every x86-64 kernel we support has all four, inside the image */
		ck_assert_ptr_nonnull(p[k]);
		ck_assert((const unsigned char *)p[k] > base);
		ck_assert_uint_lt((uintptr_t)p[k] - (uintptr_t)base, t_image_len(base));
	}
	if (base) {
		/* parsing the live image in place gives the same pointers */
		struct gosys_vdso v;
		ck_assert_int_eq(t_parse(base, t_image_len(base), &v), 0);
		ck_assert_int_eq(memcmp(&v, &gosys__vdso, sizeof v), 0);
	}
}
END_TEST

/* raw <= ours <= raw <= libc <= ours for the monotonic clocks. */
static void bracket_clock(int clk)
{
	for (int i = 0; i < 300; i++) {
		struct timespec ts, lts;
		int64_t a = raw_clock(clk);
		ck_assert_int_eq(gosys__clock_gettime(clk, &ts), 0);
		int64_t c = raw_clock(clk);
		ck_assert_int_eq(clock_gettime(clk, &lts), 0);
		int64_t d = ts_ns(&lts);
		ck_assert_int_le(a, ts_ns(&ts));
		ck_assert_int_le(ts_ns(&ts), c);
		ck_assert_int_le(c, d);
		if (gosys__vdso.clock_gettime) {
			ck_assert_int_eq(gosys__vdso.clock_gettime(clk, &ts), 0);
			ck_assert_int_le(d, ts_ns(&ts));
			ck_assert_int_le(ts_ns(&ts), raw_clock(clk));
		}
	}
}

START_TEST(clock_brackets)
{
	gosys__vdso_init();
	bracket_clock(CLOCK_MONOTONIC);
	bracket_clock(CLOCK_MONOTONIC_RAW);
	bracket_clock(CLOCK_BOOTTIME);
	bracket_clock(CLOCK_MONOTONIC_COARSE);
	/*
	 * The wall clock may be stepped, so it only has to agree within 1 ms
	 * with the raw readings around it (never a fixed gap: a loaded machine
	 * may sleep between two calls).
	 */
	for (int i = 0; i < 100; i++) {
		struct timespec ts, lts;
		int64_t a = raw_clock(CLOCK_REALTIME);
		ck_assert_int_eq(gosys__clock_gettime(CLOCK_REALTIME, &ts), 0);
		ck_assert_int_eq(clock_gettime(CLOCK_REALTIME, &lts), 0);
		int64_t b = raw_clock(CLOCK_REALTIME);
		ck_assert_int_ge(ts_ns(&ts), a - 1000000);
		ck_assert_int_le(ts_ns(&ts), b + 1000000);
		ck_assert_int_ge(ts_ns(&lts), a - 1000000);
		ck_assert_int_le(ts_ns(&lts), b + 1000000);
	}
}
END_TEST

static int64_t tv_us(const struct timeval *tv)
{
	return (int64_t)tv->tv_sec * 1000000 + tv->tv_usec;
}

static void gtod_agrees(void)
{
	/* within 1 ms of the raw readings taken just before and after */
	for (int i = 0; i < 100; i++) {
		struct timeval tv, ltv, vtv, r1, r2;
		struct timezone tz, rtz;
		ck_assert_int_eq(syscall(SYS_gettimeofday, &r1, &rtz), 0);
		ck_assert_int_eq(gosys__gettimeofday(&tv, &tz), 0);
		ck_assert_int_eq(gettimeofday(&ltv, NULL), 0);
		vtv = ltv;
		if (gosys__vdso.gettimeofday)
			ck_assert_int_eq(gosys__vdso.gettimeofday(&vtv, NULL), 0);
		ck_assert_int_eq(syscall(SYS_gettimeofday, &r2, NULL), 0);
		const struct timeval *got[] = { &tv, &ltv, &vtv };
		for (int k = 0; k < 3; k++) {
			ck_assert_int_ge(tv_us(got[k]), tv_us(&r1) - 1000);
			ck_assert_int_le(tv_us(got[k]), tv_us(&r2) + 1000);
			ck_assert_int_ge(got[k]->tv_usec, 0);
			ck_assert_int_lt(got[k]->tv_usec, 1000000);
		}
		ck_assert_int_eq(tz.tz_minuteswest, rtz.tz_minuteswest);
		ck_assert_int_eq(tz.tz_dsttime, rtz.tz_dsttime);
	}
	ck_assert_int_eq(gosys__gettimeofday(NULL, NULL), 0);
}

START_TEST(gettimeofday_agrees)
{
	gosys__vdso_init();
	gtod_agrees();
}
END_TEST

START_TEST(time_agrees)
{
	gosys__vdso_init();
	if (!gosys__vdso.time) {
		ck_assert_uint_eq(getauxval(AT_SYSINFO_EHDR), 0);
		return;
	}
	/* within 1 s of the raw readings around it, and of libc's */
	for (int i = 0; i < 100; i++) {
		long a = syscall(SYS_time, NULL), t = 0;
		long r = gosys__vdso.time(&t), l = (long)time(NULL);
		long b = syscall(SYS_time, NULL);
		ck_assert_int_eq(r, t);
		ck_assert_int_ge(r, a - 1);
		ck_assert_int_le(r, b + 1);
		ck_assert_int_ge(l, a - 1);
		ck_assert_int_le(l, b + 1);
		ck_assert_int_ge(gosys__vdso.time(NULL), r);
	}
}
END_TEST

START_TEST(getcpu_agrees)
{
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	cpu_set_t allowed, one;
	int tried = 0;
	gosys__vdso_init();
	if (!gosys__vdso.getcpu) {
		ck_assert_uint_eq(getauxval(AT_SYSINFO_EHDR), 0);
		return;
	}
	unsigned cpu = ~0u, node = ~0u;
	ck_assert_int_eq(gosys__vdso.getcpu(&cpu, &node, NULL), 0);
	ck_assert_int_lt(cpu, ncpu);
	ck_assert_uint_ne(node, ~0u);
	/* pinned to one CPU, the vDSO, the raw call and libc all name it */
	ck_assert_int_eq(sched_getaffinity(0, sizeof allowed, &allowed), 0);
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &allowed))
			continue;
		CPU_ZERO(&one);
		CPU_SET(c, &one);
		ck_assert_int_eq(sched_setaffinity(0, sizeof one, &one), 0);
		unsigned rcpu = ~0u;
		ck_assert_int_eq(gosys__vdso.getcpu(&cpu, NULL, NULL), 0);
		ck_assert_int_eq(syscall(SYS_getcpu, &rcpu, NULL, NULL), 0);
		ck_assert_uint_eq(cpu, (unsigned)c);
		ck_assert_uint_eq(rcpu, (unsigned)c);
		ck_assert_int_eq(sched_getcpu(), c);
		tried++;
	}
	ck_assert_int_gt(tried, 0);
}
END_TEST

START_TEST(errors_leave_errno)
{
	struct timespec ts;
	gosys__vdso_init();
	errno = 4242;
	ck_assert_int_eq(gosys__clock_gettime(12345, &ts), -EINVAL);
	ck_assert_int_eq(gosys__clock_gettime(-100, &ts), -EINVAL);
	ck_assert_int_eq(gosys__clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	ck_assert_int_eq(errno, 4242);
	memset(&gosys__vdso, 0, sizeof gosys__vdso);
	ck_assert_int_eq(gosys__clock_gettime(12345, &ts), -EINVAL);
	ck_assert_int_eq(errno, 4242);
}
END_TEST

START_TEST(nanotime_monotonic)
{
	int64_t before = raw_clock(CLOCK_MONOTONIC);
	int64_t prev = gosys_nanotime();
	ck_assert_int_le(before, prev);
	for (int i = 0; i < 20000; i++) {
		int64_t now = gosys_nanotime();
		ck_assert_int_le(prev, now);
		prev = now;
	}
	ck_assert_int_le(prev, raw_clock(CLOCK_MONOTONIC));
	/* the first call resolved the vDSO if there is one */
	ck_assert_int_eq(gosys__vdso.clock_gettime != NULL, getauxval(AT_SYSINFO_EHDR) != 0);
}
END_TEST

/* Threads race through first use; every reading is valid and monotonic. */
static void *race_thread(void *arg)
{
	int64_t prev = 0;
	(void)arg;
	for (int i = 0; i < 4000; i++) {
		struct timespec ts;
		if (i % 3 == 0)
			gosys__vdso_init();
		int64_t a = raw_clock(CLOCK_MONOTONIC);
		int64_t n = i % 2 ? gosys_nanotime()
				  : (gosys__clock_gettime(CLOCK_MONOTONIC, &ts), ts_ns(&ts));
		int64_t b = raw_clock(CLOCK_MONOTONIC);
		if (n < a || n > b || n < prev)
			return (void *)1;
		prev = n;
	}
	return NULL;
}

START_TEST(threads_race_first_use)
{
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, race_thread, NULL), 0);
	for (int i = 0; i < 4; i++) {
		void *r;
		ck_assert_int_eq(pthread_join(t[i], &r), 0);
		ck_assert_ptr_null(r);
	}
	ck_assert_int_eq(gosys__vdso.clock_gettime != NULL, getauxval(AT_SYSINFO_EHDR) != 0);
}
END_TEST

START_TEST(fallback_zeroed)
{
	struct timespec ts;
	gosys__vdso_init();
	memset(&gosys__vdso, 0, sizeof gosys__vdso);
	/*
	 * Proof that the system call runs: the kernel refuses to write into a
	 * read-only page (EFAULT) where the vDSO's code would crash.
	 */
	void *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(ro, MAP_FAILED);
	errno = 77;
	ck_assert_int_eq(gosys__clock_gettime(CLOCK_MONOTONIC, ro), -EFAULT);
	ck_assert_int_eq(gosys__gettimeofday(ro, NULL), -EFAULT);
	ck_assert_int_eq(errno, 77);
	munmap(ro, 4096);
	bracket_clock(CLOCK_MONOTONIC);
	bracket_clock(CLOCK_BOOTTIME);
	gtod_agrees();
	int64_t a = raw_clock(CLOCK_MONOTONIC), n = gosys_nanotime();
	ck_assert_int_le(a, n);
	ck_assert_int_le(n, raw_clock(CLOCK_MONOTONIC));
	ck_assert_int_eq(gosys__clock_gettime(CLOCK_REALTIME, &ts), 0);
	ck_assert_int_lt(llabs(ts_ns(&ts) - raw_clock(CLOCK_REALTIME)), 1000000);
	ck_assert_int_eq(errno, 77);
	ck_assert_ptr_null(gosys__vdso.clock_gettime);	/* nothing re-resolved it */
}
END_TEST

/* ---- hashes ---------------------------------------------------------------- */

/* A second, separately written version of each hash. */
static uint32_t my_sysv(const char *s)
{
	uint32_t h = 0;
	while (*s) {
		h = 16 * h + (unsigned char)*s++;
		uint32_t hi = h >> 28;
		h = (h & 0x0fffffffu) ^ (hi << 4);
	}
	return h;
}

static uint32_t my_gnu(const char *s)
{
	uint64_t h = 5381;
	while (*s)
		h = (h << 5) + h + (unsigned char)*s++;
	return (uint32_t)h;
}

START_TEST(hash_known)
{
	const char *names[] = {
		"__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time", "__vdso_getcpu",
		"LINUX_2.6", "linux-vdso.so.1", "a", "printf", "\x80\xff\xfe",
		"a_very_long_symbol_name_that_overflows_many_times_over_0123456789",
	};
	for (size_t i = 0; i < GOSYS_ARRAY_SIZE(names); i++) {
		ck_assert_uint_eq(gosys__elf_sysv_hash(names[i]), my_sysv(names[i]));
		ck_assert_uint_eq(gosys__elf_gnu_hash(names[i]), my_gnu(names[i]));
		ck_assert_uint_lt(gosys__elf_sysv_hash(names[i]), 1u << 28);
	}
	ck_assert_uint_eq(gosys__elf_gnu_hash(""), 5381);
	ck_assert_uint_eq(gosys__elf_sysv_hash(""), 0);
	ck_assert_uint_eq(gosys__elf_gnu_hash("a"), 5381 * 33 + 'a');
	ck_assert_uint_eq(gosys__elf_sysv_hash("a"), 'a');
	ck_assert_uint_eq(gosys__elf_sysv_hash("ab"), 16 * 'a' + 'b');
	/* random strings: one more byte is h*33+c (GNU); SysV stays in 28 bits */
	uint32_t x = 12345;
	for (int n = 0; n < 2000; n++) {
		char s[40];
		int len = n % 38;
		for (int j = 0; j < len; j++) {
			x = x * 1103515245 + 12345;
			s[j] = (char)(1 + (x >> 16) % 255);
		}
		s[len] = 0;
		ck_assert_uint_eq(gosys__elf_sysv_hash(s), my_sysv(s));
		ck_assert_uint_eq(gosys__elf_gnu_hash(s), my_gnu(s));
		ck_assert_uint_lt(gosys__elf_sysv_hash(s), 1u << 28);
		if (len > 0) {
			unsigned char last = (unsigned char)s[len - 1];
			s[len - 1] = 0;
			uint32_t g = gosys__elf_gnu_hash(s);
			s[len - 1] = (char)last;
			ck_assert_uint_eq(gosys__elf_gnu_hash(s), g * 33 + last);
		}
	}
}
END_TEST

/* The image's own tables, written by the kernel's linker, agree. */
START_TEST(hash_in_image)
{
	struct t_copy c;
	if (!t_copy_init(&c))
		return;
	struct t_elf *e = &c.e;
	ck_assert_uint_eq(e->ver26->vd_hash, gosys__elf_sysv_hash("LINUX_2.6"));
	uint32_t nbucket = e->hash[0], *bucket = e->hash + 2, *chain = bucket + nbucket;
	uint32_t gn = e->gnu[0], symoff = e->gnu[1], bloom = e->gnu[2];
	uint32_t *gb = e->gnu + 4 + 2 * bloom, *gc = gb + gn;
	for (int k = 0; k < NSYMS; k++) {
		size_t idx = t_sym(e, sym_names[k]);
		uint32_t h = gosys__elf_gnu_hash(sym_names[k]);
		ck_assert_uint_ge(idx, symoff);
		ck_assert_uint_eq(gc[idx - symoff] | 1, h | 1);
		/* the GNU bucket's run reaches idx */
		ck_assert_uint_le(gb[h % gn], idx);
		/* the SysV bucket's chain reaches idx */
		uint32_t i = bucket[gosys__elf_sysv_hash(sym_names[k]) % nbucket];
		int steps = 0;
		while (i != idx && i != 0 && steps++ < 1000)
			i = chain[i];
		ck_assert_uint_eq(i, idx);
	}
	t_copy_free(&c);
}
END_TEST

/* ---- images ---------------------------------------------------------------- */

START_TEST(copy_same_offsets)
{
	struct t_copy c;
	if (!t_copy_init(&c))
		return;
	struct gosys_vdso v;
	const void *p[NSYMS], *live[NSYMS];
	ck_assert_int_eq(t_parse(c.b, c.len, &v), 0);
	vdso_ptrs(&v, p);
	gosys__vdso_init();
	vdso_ptrs(&gosys__vdso, live);
	const unsigned char *base = (const void *)getauxval(AT_SYSINFO_EHDR);
	for (int k = 0; k < NSYMS; k++) {
		ck_assert_ptr_nonnull(p[k]);
		ck_assert_uint_eq((uintptr_t)p[k] - (uintptr_t)c.b, c.truth[k]);
		if (base)
			ck_assert_uint_eq((uintptr_t)live[k] - (uintptr_t)base, c.truth[k]);
	}
	/* a NULL base or a misaligned copy is refused */
	ck_assert_int_eq(t_parse(NULL, c.len, &v), -1);
	unsigned char *odd = malloc(c.len + 1);
	memcpy(odd + 1, c.b, c.len);
	ck_assert_int_eq(t_try(odd + 1, c.len, c.truth, NULL), -1);
	free(odd);
	t_copy_free(&c);
}
END_TEST

START_TEST(truncated)
{
	struct t_copy c;
	if (!t_copy_init(&c))
		return;
	struct t_elf *e = &c.e;
	uint64_t syms = (unsigned char *)e->sym - c.b, strs = (unsigned char *)e->str - c.b;
	size_t must_fail[] = {
		0, 1, 4, 32, 63, sizeof(Elf64_Ehdr),
		e->eh->e_phoff + e->eh->e_phnum * sizeof(Elf64_Phdr) / 2,
		e->eh->e_phoff + e->eh->e_phnum * sizeof(Elf64_Phdr) - 1,
		e->dynph->p_offset + 8, e->dynph->p_offset + e->dynph->p_filesz - 1,
		syms + 1, strs + 1, c.truth[CGT], c.truth[GETCPU] + 1,
	};
	for (size_t i = 0; i < GOSYS_ARRAY_SIZE(must_fail); i++) {
		if (must_fail[i] >= c.len)
			continue;
		unsigned char *b = t_dup(c.b, c.len, must_fail[i]);
		ck_assert_msg(t_try(b, must_fail[i], c.truth, NULL) == -1, "len %zu",
			      must_fail[i]);
		free(b);
	}
	/* every length: never a crash, never a wrong entry */
	int ok = 0;
	for (size_t n = 0; n <= c.len; n++) {
		unsigned char *b = t_dup(c.b, c.len, n);
		ok += t_try(b, n, c.truth, NULL) == 0;
		free(b);
	}
	ck_assert_int_ge(ok, 1);	/* the whole image, at least */
	t_copy_free(&c);
}
END_TEST

START_TEST(bad_header)
{
	struct t_copy c;
	if (!t_copy_init(&c))
		return;
	Elf64_Ehdr *eh = c.e.eh;
	for (int i = 0; i < SELFMAG; i++) {
		c.b[i] ^= 0x20;
		t_expect(&c, -1);
	}
	const unsigned char classes[] = { ELFCLASSNONE, ELFCLASS32, 3, 0xff };
	for (size_t i = 0; i < sizeof classes; i++) {
		eh->e_ident[EI_CLASS] = classes[i];
		t_expect(&c, -1);
	}
	eh->e_ident[EI_DATA] = ELFDATA2MSB;
	t_expect(&c, -1);
	eh->e_ident[EI_VERSION] = 0;
	t_expect(&c, -1);
	eh->e_type = ET_REL;
	t_expect(&c, -1);
	eh->e_phentsize = 32;
	t_expect(&c, -1);
	eh->e_phoff = c.len;
	t_expect(&c, -1);
	eh->e_phoff = UINT64_MAX - 8;
	t_expect(&c, -1);
	eh->e_phoff += 1;	/* misaligned */
	t_expect(&c, -1);
	eh->e_phnum = 0;
	t_expect(&c, -1);
	eh->e_phnum = 0xffff;
	t_expect(&c, -1);
	t_copy_free(&c);
}
END_TEST

START_TEST(bad_program_headers)
{
	struct t_copy c;
	if (!t_copy_init(&c))
		return;
	c.e.dynph->p_type = PT_NULL;
	t_expect(&c, -1);
	c.e.load->p_type = PT_NULL;
	t_expect(&c, -1);
	c.e.dynph->p_offset = c.len;
	t_expect(&c, -1);
	c.e.dynph->p_offset = UINT64_MAX - 15;
	t_expect(&c, -1);
	c.e.dynph->p_offset += 4;	/* misaligned */
	t_expect(&c, -1);
	c.e.dynph->p_filesz = UINT64_MAX;
	t_expect(&c, -1);
	c.e.dynph->p_filesz = 0;
	t_expect(&c, -1);
	/* a dynamic section cut before DT_STRTAB */
	c.e.dynph->p_filesz = sizeof(Elf64_Dyn);
	t_expect(&c, -1);
	/* a load bias that moves every table off the image */
	c.e.load->p_vaddr += 0x100000;
	t_expect(&c, -1);
	t_copy_free(&c);
}
END_TEST

static void retag(struct t_copy *c, int64_t tag)
{
	Elf64_Dyn *d = t_dyn(&c->e, tag);
	ck_assert_ptr_nonnull(d);
	d->d_tag = DT_DEBUG;	/* ignored by the parser: the entry is gone */
}

START_TEST(hash_tables_removed)
{
	struct t_copy c;
	if (!t_copy_init(&c))
		return;
	/* either table alone is enough, and gives the same answers */
	retag(&c, DT_GNU_HASH);
	ck_assert_int_eq(t_expect(&c, 0), NSYMS);
	retag(&c, DT_HASH);
	ck_assert_int_eq(t_expect(&c, 0), NSYMS);
	retag(&c, DT_HASH);
	retag(&c, DT_GNU_HASH);
	t_expect(&c, -1);
	/* zeroed entries end the dynamic section early */
	memset(t_dyn(&c.e, DT_HASH), 0, sizeof(Elf64_Dyn));
	memset(t_dyn(&c.e, DT_GNU_HASH), 0, sizeof(Elf64_Dyn));
	t_expect(&c, -1);
	/* a zeroed address points the table at the ELF header */
	t_dyn(&c.e, DT_GNU_HASH)->d_un.d_ptr = 0;
	t_any(&c);
	t_dyn(&c.e, DT_HASH)->d_un.d_ptr = 0;
	retag(&c, DT_GNU_HASH);
	t_any(&c);
	t_copy_free(&c);
}
END_TEST

START_TEST(unknown_version)
{
	struct t_copy c;
	if (!t_copy_init(&c))
		return;
	/* rename LINUX_2.6 everywhere in the copy */
	char *s = c.e.str;
	size_t renamed = 0;
	for (unsigned char *p = c.b; p + 10 <= c.b + c.len; p++)
		if (memcmp(p, "LINUX_2.6", 10) == 0) {
			p[8] = '7';
			renamed++;
		}
	ck_assert_uint_ge(renamed, 1);
	t_expect(&c, -1);
	/* the same, with the definition's hash fixed up to match the new name */
	for (unsigned char *p = c.b; p + 10 <= c.b + c.len; p++)
		if (memcmp(p, "LINUX_2.6", 10) == 0)
			p[8] = '7';
	c.e.ver26->vd_hash = gosys__elf_sysv_hash("LINUX_2.7");
	t_expect(&c, -1);
	/*
	 * A name with the same hash: raising one byte by 1 and lowering the
	 * next by 16 leaves the sum before the last fold unchanged.
	 */
	Elf64_Verdaux *aux = (void *)((unsigned char *)c.e.ver26 + c.e.ver26->vd_aux);
	ck_assert_uint_eq(gosys__elf_sysv_hash("LINUX_2/&"), gosys__elf_sysv_hash("LINUX_2.6"));
	memcpy(s + aux->vda_name, "LINUX_2/&", 9);
	t_expect(&c, -1);
	/* the right name under a wrong hash: the definition is corrupt */
	c.e.ver26->vd_hash ^= 0x10;
	t_expect(&c, -1);
	/* the definition chain cut before LINUX_2.6 */
	Elf64_Verdef *first = (void *)t_at(&c.e, t_dyn(&c.e, DT_VERDEF)->d_un.d_ptr);
	ck_assert_ptr_ne(first, c.e.ver26);
	first->vd_next = 0;
	t_expect(&c, -1);
	first->vd_next = 0x7fffffff;
	t_expect(&c, -1);
	c.e.ver26->vd_aux = 0x7fffffff;
	t_expect(&c, -1);
	c.e.ver26->vd_version = 2;
	t_expect(&c, -1);
	t_dyn(&c.e, DT_VERDEF)->d_un.d_ptr = UINT64_MAX - 3;
	t_expect(&c, -1);
	/* one symbol at another version: just that one is missing */
	c.e.versym[t_sym(&c.e, "__vdso_clock_gettime")] = 1;
	struct gosys_vdso v;
	ck_assert_int_eq(t_parse(c.b, c.len, &v), 0);
	ck_assert_ptr_null(v.clock_gettime);
	ck_assert_ptr_nonnull(v.gettimeofday);
	t_copy_reset(&c);
	/* an unversioned image: any version will do */
	retag(&c, DT_VERSYM);
	ck_assert_int_eq(t_expect(&c, 0), NSYMS);
	retag(&c, DT_VERDEF);
	ck_assert_int_eq(t_expect(&c, 0), NSYMS);
	t_copy_free(&c);
}
END_TEST

START_TEST(missing_symbol)
{
	struct t_copy c;
	if (!t_copy_init(&c))
		return;
	/* the first byte: tails may be shared with other names, heads are not */
	c.e.str[c.e.sym[t_sym(&c.e, "__vdso_getcpu")].st_name] = 'X';
	struct gosys_vdso v;
	ck_assert_int_eq(t_parse(c.b, c.len, &v), 0);
	ck_assert_ptr_null(v.getcpu);
	ck_assert_int_eq(t_clean(0, &v, c.b, c.len, c.truth), NSYMS - 1);
	t_copy_reset(&c);
	/* an undefined or local symbol of the right name does not count */
	c.e.sym[t_sym(&c.e, "__vdso_time")].st_shndx = SHN_UNDEF;
	ck_assert_int_eq(t_expect(&c, 0), NSYMS - 1);
	c.e.sym[t_sym(&c.e, "__vdso_time")].st_info = ELF64_ST_INFO(STB_LOCAL, STT_FUNC);
	ck_assert_int_eq(t_expect(&c, 0), NSYMS - 1);
	c.e.sym[t_sym(&c.e, "__vdso_time")].st_info = ELF64_ST_INFO(STB_GLOBAL, STT_OBJECT);
	ck_assert_int_eq(t_expect(&c, 0), NSYMS - 1);
	t_copy_free(&c);
}
END_TEST

START_TEST(out_of_bounds)
{
	struct t_copy c;
	if (!t_copy_init(&c))
		return;
	Elf64_Sym *cg = &c.e.sym[t_sym(&c.e, "__vdso_clock_gettime")];
	cg->st_value = 0xffffffff00000000ull;
	t_expect(&c, -1);
	cg->st_value = c.len;
	t_expect(&c, -1);
	cg->st_size = c.len;
	t_expect(&c, -1);
	cg->st_name = 0xfffffff0u;	/* a name outside the table matches nothing */
	ck_assert_int_eq(t_expect(&c, 0), NSYMS - 1);
	const int64_t tags[] = { DT_SYMTAB, DT_STRTAB, DT_STRSZ, DT_HASH, DT_GNU_HASH,
				 DT_VERSYM };
	const uint64_t vals[] = { UINT64_MAX, UINT64_MAX - 7, 0x7ffffff0, 0x100000 };
	for (size_t t = 0; t < GOSYS_ARRAY_SIZE(tags); t++)
		for (size_t i = 0; i < GOSYS_ARRAY_SIZE(vals); i++) {
			t_dyn(&c.e, tags[t])->d_un.d_val = vals[i];
			t_expect(&c, -1);
		}
	/* misaligned tables */
	t_dyn(&c.e, DT_SYMTAB)->d_un.d_ptr += 1;
	t_expect(&c, -1);
	t_dyn(&c.e, DT_GNU_HASH)->d_un.d_ptr += 2;
	t_expect(&c, -1);
	t_dyn(&c.e, DT_SYMENT)->d_un.d_val = 16;
	t_expect(&c, -1);
	t_copy_free(&c);
}
END_TEST

START_TEST(huge_counts)
{
	struct t_copy c;
	if (!t_copy_init(&c))
		return;
	uint32_t *g = c.e.gnu, *h = c.e.hash;
	/* GNU: nbuckets, symoffset, bloom size; the bloom shift is never used */
	for (int f = 0; f < 3; f++) {
		g[f] = 0xffffffffu;
		t_expect(&c, -1);
	}
	g[3] = 0xffffffffu;
	ck_assert_int_eq(t_expect(&c, 0), NSYMS);
	g[0] = 0;
	t_expect(&c, -1);
	/* every bucket names the symbol just before the first hashed one */
	for (uint32_t i = 0; i < g[0]; i++)
		g[4 + 2 * g[2] + i] = 1;
	g[1] = 2;
	t_expect(&c, -1);
	/* GNU chains with no end mark and no matching hash: the walk still ends */
	uint32_t *gc = g + 4 + 2 * g[2] + g[0];
	for (size_t i = g[1]; i < c.e.nsym; i++)
		gc[i - g[1]] = 0x2;
	ck_assert_int_eq(t_any(&c), 0);
	/* SysV alone: nbucket, nchain */
	for (int f = 0; f < 2; f++) {
		retag(&c, DT_GNU_HASH);
		h[f] = 0xffffffffu;
		t_expect(&c, -1);
	}
	retag(&c, DT_GNU_HASH);
	h[0] = 0;
	t_expect(&c, -1);
	/* SysV alone, every bucket leads to a symbol that chains to itself */
	size_t idx = t_sym(&c.e, "__vdso_getcpu");
	retag(&c, DT_GNU_HASH);
	for (uint32_t i = 0; i < h[0]; i++)
		h[2 + i] = (uint32_t)idx;
	h[2 + h[0] + idx] = (uint32_t)idx;
	c.e.str[c.e.sym[idx].st_name] = 'X';	/* never matches: only the loop guard ends it */
	t_expect(&c, -1);
	/* a huge version count is harmless */
	t_dyn(&c.e, DT_VERDEFNUM)->d_un.d_val = UINT64_MAX;
	ck_assert_int_eq(t_expect(&c, 0), NSYMS);
	t_copy_free(&c);
}
END_TEST

START_TEST(fuzz)
{
	struct t_copy c;
	if (!t_copy_init(&c))
		return;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	int resolved = 0;
	/*
	 * The headers and tables lie before the code; damage them most. A
	 * flipped address may point anywhere inside, so only bounds are checked.
	 */
	size_t hot = (size_t)((unsigned char *)c.e.str - c.b) + 256;
	if (hot > c.len)
		hot = c.len;
	for (int it = 0; it < 3000; it++) {
		int flips = 1 + it % 6;
		for (int f = 0; f < flips; f++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			size_t at = (size_t)(x % (it % 4 ? hot : c.len));
			c.b[at] ^= (unsigned char)(1u << (x >> 60 & 7));
			if (x >> 59 & 1)
				c.b[at] = (unsigned char)(x >> 32);
		}
		/* an exact-size copy, so ASan and valgrind see any overread */
		unsigned char *b = t_dup(c.b, c.len, c.len);
		int n;
		if (t_try(b, c.len, NULL, &n) == 0)
			resolved += n;
		free(b);
		t_copy_reset(&c);
	}
	ck_assert_int_gt(resolved, 0);	/* many flips hit nothing that matters */
	t_copy_free(&c);
}
END_TEST

static Suite *vdso_suite(void)
{
	Suite *s = suite_create("vdso");
	TCase *tc = t_case(s, "live", 30);
	tcase_add_test(tc, live_resolved);
	tcase_add_test(tc, clock_brackets);
	tcase_add_test(tc, gettimeofday_agrees);
	tcase_add_test(tc, time_agrees);
	tcase_add_test(tc, getcpu_agrees);
	tcase_add_test(tc, errors_leave_errno);
	tcase_add_test(tc, nanotime_monotonic);
	tcase_add_test(tc, threads_race_first_use);
	tcase_add_test(tc, fallback_zeroed);
	tc = t_case(s, "hash", 20);
	tcase_add_test(tc, hash_known);
	tcase_add_test(tc, hash_in_image);
	tc = t_case(s, "image", 60);
	tcase_add_test(tc, copy_same_offsets);
	tcase_add_test(tc, truncated);
	tcase_add_test(tc, bad_header);
	tcase_add_test(tc, bad_program_headers);
	tcase_add_test(tc, hash_tables_removed);
	tcase_add_test(tc, unknown_version);
	tcase_add_test(tc, missing_symbol);
	tcase_add_test(tc, out_of_bounds);
	tcase_add_test(tc, huge_counts);
	tcase_add_test(tc, fuzz);
	return s;
}

T_MAIN(vdso_suite)
