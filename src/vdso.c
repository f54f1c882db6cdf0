/* SPDX-License-Identifier: MIT */
/*
 * vdso.c - finds the kernel's vDSO, resolves its clock and getcpu entries by
 * walking the ELF image (program headers, dynamic section, hash tables,
 * version definitions), and gives gosys_nanotime and the time fallbacks.
 * It must never read outside the image it was given, never malloc, never
 * call libc's syscall wrappers and never touch errno.
 */
#include "internal.h"
#include <elf.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

/* The version every x86-64 kernel since 2.6 tags its vDSO entries with. */
#define VDSO_VERSION "LINUX_2.6"
/* The real image's length comes from its PT_LOAD segments, at most this. */
#define VDSO_MAX_LEN (64 * 1024)
/* The vDSO mapping starts page aligned and is at least one page long. */
#define VDSO_MIN_MAP 4096

/*
 * Written once, by the thread that wins vdso_state (atomic stores, so a
 * reader racing with it sees NULL or a valid entry), read-only afterwards.
 * Tests may overwrite it while single-threaded.
 */
struct gosys_vdso gosys__vdso;
/* 0: untouched, 1: being filled, 2: filled. Owned by gosys__vdso_init. */
static int vdso_state;

/* ---- hashes --------------------------------------------------------------- */

/* The System V ELF hash (DT_HASH): 4-bit shifts, top nibble folded back. */
uint32_t gosys__elf_sysv_hash(const char *name)
{
	uint32_t h = 0;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		h = (h << 4) + *p;
		uint32_t top = h & 0xf0000000u;
		h ^= top >> 24;
		h &= ~top;
	}
	return h;
}

/* The GNU hash (DT_GNU_HASH): Bernstein's h * 33 + c, starting at 5381. */
uint32_t gosys__elf_gnu_hash(const char *name)
{
	uint32_t h = 5381;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = h * 33 + *p;
	return h;
}

/* ---- bounds-checked access to an image ----------------------------------- */

struct img {
	const unsigned char *base;
	size_t len;	/* bytes readable at base; nothing outside is ever read */
	uint64_t bias;	/* image offset = vaddr + bias (mod 2^64), from the first PT_LOAD */
};

/* n objects of size sz at image offset off, aligned, or NULL if any byte is outside. */
static const void *img_array(const struct img *im, uint64_t off, uint64_t n, uint64_t sz,
			     uint64_t align)
{
	if (off > im->len || (sz != 0 && n > (im->len - off) / sz))
		return NULL;
	if (((uintptr_t)im->base + off) & (align - 1))
		return NULL;
	return im->base + off;
}

static const void *img_at(const struct img *im, uint64_t off, uint64_t sz, uint64_t align)
{
	return img_array(im, off, 1, sz, align);
}

/* ---- the parse ------------------------------------------------------------ */

/* What the dynamic section tells, checked; offsets are image offsets. */
struct dyninfo {
	uint64_t symtab, strtab, strsz;
	uint64_t versym, verdef;	/* used only if versioned */
	int versioned;			/* both DT_VERSYM and DT_VERDEF present */
	unsigned ver_ndx;		/* index of VDSO_VERSION, if versioned */
	/* DT_GNU_HASH (gbucket NULL if absent): buckets, then chains at gchain. */
	const uint32_t *gbucket;
	uint32_t gnbucket, gsymoffset;
	uint64_t gchain;
	/* DT_HASH (sbucket NULL if absent). */
	const uint32_t *sbucket, *schain;
	uint32_t snbucket, snchain;
};

/* The dynamic entries the parse reads, by slot. */
enum { D_STRTAB, D_STRSZ, D_SYMTAB, D_HASH, D_GNU_HASH, D_VERSYM, D_VERDEF, D_NSLOTS };
static const int64_t dyn_tags[D_NSLOTS] = {
	DT_STRTAB, DT_STRSZ, DT_SYMTAB, DT_HASH, DT_GNU_HASH, DT_VERSYM, DT_VERDEF,
};
#define HAVE(seen, slot) (((seen) >> (slot)) & 1u)

enum { FOUND, MISSING, CORRUPT };

/*
 * Checks the ELF header and returns the program headers (count in *phnum),
 * or NULL if the header is not a little-endian ELF64 shared object whose
 * program headers lie inside the image.
 */
static const Elf64_Phdr *elf_phdrs(const struct img *im, size_t *phnum)
{
	const Elf64_Ehdr *eh = img_at(im, 0, sizeof *eh, 8);
	if (!eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_ident[EI_VERSION] != EV_CURRENT || eh->e_type != ET_DYN ||
	    eh->e_phentsize != sizeof(Elf64_Phdr))
		return NULL;
	*phnum = eh->e_phnum;
	return img_array(im, eh->e_phoff, eh->e_phnum, sizeof(Elf64_Phdr), 8);
}

/* 1 if the NUL-terminated string at strtab+off, inside the table, equals want. */
static int str_eq(const struct img *im, const struct dyninfo *d, uint64_t off, const char *want)
{
	size_t n = strlen(want) + 1;
	if (off >= d->strsz || n > d->strsz - off)
		return 0;	/* the table was checked to lie inside the image */
	return memcmp(im->base + d->strtab + off, want, n) == 0;
}

/*
 * Checks the hash tables' headers and arrays (all of both that are present;
 * at least one must be) and notes where they are.
 */
static int read_hashes(const struct img *im, unsigned seen, const uint64_t *val,
		       struct dyninfo *d)
{
	d->gbucket = d->sbucket = d->schain = NULL;
	if (!HAVE(seen, D_HASH) && !HAVE(seen, D_GNU_HASH))
		return -1;
	if (HAVE(seen, D_GNU_HASH)) {
		/* nbuckets, symoffset, bloom words (8 bytes each), bloom shift */
		uint64_t gnu = val[D_GNU_HASH] + im->bias;
		const uint32_t *h = img_at(im, gnu, 16, 4);
		if (!h || h[0] == 0)
			return -1;
		uint64_t off = gnu + 16 + (uint64_t)h[2] * 8;	/* gnu <= len: no wrap */
		d->gbucket = img_array(im, off, h[0], 4, 4);
		if (!d->gbucket)
			return -1;
		d->gnbucket = h[0];
		d->gsymoffset = h[1];
		d->gchain = off + (uint64_t)h[0] * 4;
	}
	if (HAVE(seen, D_HASH)) {
		/* nbucket, nchain (= number of symbols), buckets, chains */
		uint64_t hash = val[D_HASH] + im->bias;
		const uint32_t *h = img_at(im, hash, 8, 4);
		if (!h || h[0] == 0)
			return -1;
		d->sbucket = img_array(im, hash + 8, h[0], 4, 4);
		d->schain = img_array(im, hash + 8 + (uint64_t)h[0] * 4, h[1], 4, 4);
		if (!d->sbucket || !d->schain)
			return -1;
		d->snbucket = h[0];
		d->snchain = h[1];
	}
	return 0;
}

/* Fills d from the dynamic section; -1 if it is missing, outside or incomplete. */
static int read_dynamic(const struct img *im, uint64_t off, uint64_t size, struct dyninfo *d)
{
	uint64_t n = size / sizeof(Elf64_Dyn), val[D_NSLOTS] = { 0 };
	const Elf64_Dyn *dyn = img_array(im, off, n, sizeof *dyn, 8);
	unsigned seen = 0;
	if (!dyn || n == 0)
		return -1;
	for (uint64_t i = 0; i < n && dyn[i].d_tag != DT_NULL; i++) {
		if (dyn[i].d_tag == DT_SYMENT && dyn[i].d_un.d_val != sizeof(Elf64_Sym))
			return -1;
		for (unsigned k = 0; k < D_NSLOTS; k++)
			if (dyn[i].d_tag == dyn_tags[k]) {
				val[k] = dyn[i].d_un.d_val;
				seen |= 1u << k;
			}
	}
	if (!HAVE(seen, D_STRTAB) || !HAVE(seen, D_SYMTAB) || read_hashes(im, seen, val, d))
		return -1;
	d->symtab = val[D_SYMTAB] + im->bias;
	d->strtab = val[D_STRTAB] + im->bias;
	/* Without DT_STRSZ the table runs to the end of the image. */
	if (d->strtab > im->len)
		return -1;
	d->strsz = HAVE(seen, D_STRSZ) ? val[D_STRSZ] : im->len - d->strtab;
	if (!img_array(im, d->strtab, d->strsz, 1, 1))
		return -1;
	d->versioned = HAVE(seen, D_VERSYM) && HAVE(seen, D_VERDEF);
	d->versym = val[D_VERSYM] + im->bias;
	d->verdef = val[D_VERDEF] + im->bias;
	return 0;
}

/*
 * Finds the index of VDSO_VERSION among the version definitions. An image
 * without DT_VERSYM or DT_VERDEF is unversioned (any symbol of the name will
 * do); a versioned image without the version fails.
 */
static int find_version(const struct img *im, struct dyninfo *d)
{
	d->ver_ndx = 0;
	if (!d->versioned)
		return 0;
	uint32_t want = gosys__elf_sysv_hash(VDSO_VERSION);
	uint64_t off = d->verdef;
	/* vd_next only moves forward, so the walk ends inside the image. */
	for (;;) {
		const Elf64_Verdef *vd = img_at(im, off, sizeof *vd, 4);
		if (!vd || vd->vd_version != VER_DEF_CURRENT)
			return -1;
		if (!(vd->vd_flags & VER_FLG_BASE) && vd->vd_hash == want &&
		    (vd->vd_ndx & 0x7fff) != 0) {
			const Elf64_Verdaux *aux = img_at(im, off + vd->vd_aux, sizeof *aux, 4);
			if (!aux)
				return -1;
			if (str_eq(im, d, aux->vda_name, VDSO_VERSION)) {
				d->ver_ndx = vd->vd_ndx & 0x7fff;
				return 0;
			}
		}
		if (vd->vd_next == 0)
			return -1;
		off += vd->vd_next;
	}
}

/*
 * Checks symbol i against name: FOUND (offset of its code in *where),
 * MISSING (some other symbol) or CORRUPT (it lies outside the image).
 */
static int check_sym(const struct img *im, const struct dyninfo *d, uint64_t i,
		     const char *name, uint64_t *where)
{
	/* Whole prefixes are checked, so no offset sum can wrap. */
	const Elf64_Sym *s = img_array(im, d->symtab, i + 1, sizeof *s, 8);
	if (!s)
		return CORRUPT;
	s += i;
	unsigned type = ELF64_ST_TYPE(s->st_info), bind = ELF64_ST_BIND(s->st_info);
	if ((type != STT_FUNC && type != STT_NOTYPE) ||
	    (bind != STB_GLOBAL && bind != STB_WEAK) || s->st_shndx == SHN_UNDEF ||
	    !str_eq(im, d, s->st_name, name))
		return MISSING;
	if (d->versioned) {
		const uint16_t *vs = img_array(im, d->versym, i + 1, 2, 2);
		if (!vs)
			return CORRUPT;
		if ((vs[i] & 0x7fff) != d->ver_ndx)
			return MISSING;
	}
	uint64_t off = s->st_value + im->bias;
	if (!img_at(im, off, s->st_size ? s->st_size : 1, 1))
		return CORRUPT;
	*where = off;
	return FOUND;
}

/* Looks name up through DT_GNU_HASH: buckets of first indices, chains of hashes. */
static int lookup_gnu(const struct img *im, const struct dyninfo *d, const char *name,
		      uint64_t *where)
{
	uint32_t h = gosys__elf_gnu_hash(name);
	uint64_t i = d->gbucket[h % d->gnbucket];
	if (i == 0)
		return MISSING;
	if (i < d->gsymoffset)
		return CORRUPT;
	/* Each step reads one more chain word, so the walk ends inside the image. */
	for (;; i++) {
		const uint32_t *chain = img_array(im, d->gchain, i - d->gsymoffset + 1, 4, 4);
		if (!chain)
			return CORRUPT;
		uint32_t c = chain[i - d->gsymoffset];
		if ((c | 1) == (h | 1)) {
			int r = check_sym(im, d, i, name, where);
			if (r != MISSING)
				return r;
		}
		if (c & 1)
			return MISSING;
	}
}

/* Looks name up through DT_HASH: nbucket heads, one chain link per symbol. */
static int lookup_sysv(const struct img *im, const struct dyninfo *d, const char *name,
		       uint64_t *where)
{
	uint32_t i = d->sbucket[gosys__elf_sysv_hash(name) % d->snbucket];
	/* A chain longer than the table has a loop. */
	for (uint64_t steps = 0; i != STN_UNDEF; steps++) {
		if (i >= d->snchain || steps >= d->snchain)
			return CORRUPT;
		int r = check_sym(im, d, i, name, where);
		if (r != MISSING)
			return r;
		i = d->schain[i];
	}
	return MISSING;
}

int gosys__vdso_parse(const void *base, size_t len, struct gosys_vdso *out)
{
	static const char *const names[] = {
		"__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time", "__vdso_getcpu",
	};
	struct img im = { base, base ? len : 0, 0 };
	struct dyninfo d;
	const void *found[GOSYS_ARRAY_SIZE(names)];
	uint64_t dyn_off = 0, dyn_size = 0;
	int have_load = 0, have_dyn = 0;
	size_t phnum;

	memset(out, 0, sizeof *out);
	const Elf64_Phdr *ph = elf_phdrs(&im, &phnum);
	if (!ph)
		return -1;
	for (size_t i = 0; i < phnum; i++) {
		if (ph[i].p_type == PT_LOAD && !have_load) {
			im.bias = ph[i].p_offset - ph[i].p_vaddr;
			have_load = 1;
		} else if (ph[i].p_type == PT_DYNAMIC && !have_dyn) {
			dyn_off = ph[i].p_offset;
			dyn_size = ph[i].p_filesz;
			have_dyn = 1;
		}
	}
	if (!have_load || !have_dyn || read_dynamic(&im, dyn_off, dyn_size, &d) != 0 ||
	    find_version(&im, &d) != 0)
		return -1;
	for (size_t k = 0; k < GOSYS_ARRAY_SIZE(names); k++) {
		uint64_t where = 0;
		/* The GNU table when there is one; a corrupt one is not worked around. */
		int r = d.gbucket ? lookup_gnu(&im, &d, names[k], &where)
				  : lookup_sysv(&im, &d, names[k], &where);
		if (r == CORRUPT)
			return -1;
		found[k] = r == FOUND ? im.base + where : NULL;
	}
	/* Code addresses become function pointers through an integer. */
	out->clock_gettime = (int (*)(int, struct timespec *))(uintptr_t)found[0];
	out->gettimeofday = (int (*)(struct timeval *, void *))(uintptr_t)found[1];
	out->time = (long (*)(long *))(uintptr_t)found[2];
	out->getcpu = (int (*)(unsigned *, unsigned *, void *))(uintptr_t)found[3];
	return 0;
}

/* ---- the live vDSO -------------------------------------------------------- */

/*
 * The real image's length: the furthest end of its PT_LOAD segments, read
 * from headers that must lie in the first page (always mapped), at most
 * VDSO_MAX_LEN. The kernel maps every segment whole, so this never reaches
 * past the mapping. 0 if the headers are unusable.
 */
static size_t vdso_len(const void *base)
{
	struct img im = { base, VDSO_MIN_MAP, 0 };
	size_t phnum, end = 0;
	const Elf64_Phdr *ph = elf_phdrs(&im, &phnum);
	if (!ph)
		return 0;
	for (size_t i = 0; i < phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_offset >= VDSO_MAX_LEN || ph[i].p_filesz >= VDSO_MAX_LEN)
			return VDSO_MAX_LEN;
		if (ph[i].p_offset + ph[i].p_filesz > end)
			end = ph[i].p_offset + ph[i].p_filesz;
	}
	return end < VDSO_MAX_LEN ? end : VDSO_MAX_LEN;
}

void gosys__vdso_init(void)
{
	int expect = 0;
	if (__atomic_load_n(&vdso_state, __ATOMIC_ACQUIRE) == 2)
		return;
	/*
	 * One caller fills the table. Others, and a signal handler that
	 * interrupts the filler, return at once and see NULL entries until it
	 * is done: they use the system call meanwhile, which is only slower.
	 */
	if (!__atomic_compare_exchange_n(&vdso_state, &expect, 1, false, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED))
		return;
	struct gosys_vdso v;
	const void *base = (const void *)getauxval(AT_SYSINFO_EHDR);
	memset(&v, 0, sizeof v);
	/* No vDSO at all (valgrind, vdso=0) is normal: the system calls serve. */
	if (base && gosys__vdso_parse(base, vdso_len(base), &v) != 0)
		gosys__warn("the vDSO image is malformed; clocks will use system calls");
	__atomic_store_n(&gosys__vdso.clock_gettime, v.clock_gettime, __ATOMIC_RELAXED);
	__atomic_store_n(&gosys__vdso.gettimeofday, v.gettimeofday, __ATOMIC_RELAXED);
	__atomic_store_n(&gosys__vdso.time, v.time, __ATOMIC_RELAXED);
	__atomic_store_n(&gosys__vdso.getcpu, v.getcpu, __ATOMIC_RELAXED);
	__atomic_store_n(&vdso_state, 2, __ATOMIC_RELEASE);
}

/* Resolves on first use; NULL entries after that mean "use the syscall". */
static void vdso_ensure(void)
{
	if (GOSYS_UNLIKELY(__atomic_load_n(&vdso_state, __ATOMIC_ACQUIRE) != 2))
		gosys__vdso_init();
}

/* The vDSO entries return 0 or the raw -errno of their own fallback call. */
int gosys__clock_gettime(int clk, struct timespec *ts)
{
	vdso_ensure();
	int (*f)(int, struct timespec *) =
		__atomic_load_n(&gosys__vdso.clock_gettime, __ATOMIC_RELAXED);
	if (GOSYS_LIKELY(f != NULL))
		return f(clk, ts);
	return (int)__gosys_syscall2(SYS_clock_gettime, clk, (long)ts);
}

int gosys__gettimeofday(struct timeval *tv, void *tz)
{
	vdso_ensure();
	int (*f)(struct timeval *, void *) =
		__atomic_load_n(&gosys__vdso.gettimeofday, __ATOMIC_RELAXED);
	if (GOSYS_LIKELY(f != NULL))
		return f(tv, tz);
	return (int)__gosys_syscall2(SYS_gettimeofday, (long)tv, (long)tz);
}

static GOSYS_NOINLINE int64_t nanotime_slow(void)
{
	struct timespec ts = { 0, 0 };
	gosys__clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The hot path: one predictable branch, then the vDSO. */
GOSYS_API int64_t gosys_nanotime(void)
{
	struct timespec ts;
	int (*f)(int, struct timespec *) =
		__atomic_load_n(&gosys__vdso.clock_gettime, __ATOMIC_RELAXED);
	if (GOSYS_UNLIKELY(f == NULL))
		return nanotime_slow();
	f(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
