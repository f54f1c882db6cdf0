/* SPDX-License-Identifier: MIT */
/*
 * maxprocs.c - the default maxprocs: CPUs in the affinity mask, capped by the
 * tightest cgroup v1 or v2 CPU quota between the process's cgroup and the
 * mount point. The monitor calls this every second, so: raw syscalls only,
 * fixed stack buffers, no malloc, no errno, no TLS, no warnings, and no fd
 * left open. Files that do not parse give "no limit", never a crash.
 */
#include "internal.h"
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>

#define CG_PATH_MAX 4096	     /* a cgroup path or root + mount point */
#define CG_LINE_MAX 8192	     /* longer lines are skipped */
#define CG_READ_CAP (16 << 20)	     /* bytes read from one file, at most */
#define CG_LIMIT_CAP (1 << 30)	     /* thousandths of a CPU: above any CPU count */
#define CG_V2_PERIOD 100000	     /* cpu.max with a quota alone */
#define CPUSET_BYTES (8192 / 8)	     /* room for 8192 CPUs */

#define O_FILE (O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
#define O_DIR (O_PATH | O_DIRECTORY | O_CLOEXEC)

int gosys__affinity_cpus(void)
{
	uint64_t set[CPUSET_BYTES / 8];
	long r = __gosys_syscall3(SYS_sched_getaffinity, 0, (long)sizeof set, (long)set);
	if (r <= 0)
		return 1;
	int n = 0;
	/* The kernel returns how many bytes of the mask it wrote. */
	for (size_t i = 0; i < (size_t)r / 8 && i < GOSYS_ARRAY_SIZE(set); i++)
		n += __builtin_popcountll(set[i]);
	for (size_t i = (size_t)r / 8 * 8; i < (size_t)r; i++)
		n += __builtin_popcount(((unsigned char *)set)[i]);
	return n > 0 ? n : 1;
}

/* ---- reading files line by line through one fixed buffer ---------------- */

struct lines {
	int fd;
	int eof;
	int skipping;	   /* inside a line longer than the buffer */
	size_t beg, end;   /* unread bytes are buf[beg, end) */
	size_t total;	   /* bytes read so far, against CG_READ_CAP */
	char buf[CG_LINE_MAX + 1];
};

static int open_at(int dirfd, const char *path, int flags)
{
	long r;
	do
		r = __gosys_syscall4(SYS_openat, dirfd, (long)path, flags, 0);
	while (r == -4 /* EINTR */);
	return GOSYS_IS_ERR(r) ? -1 : (int)r;
}

static void close_fd(int fd)
{
	if (fd >= 0)
		__gosys_syscall1(SYS_close, fd);
}

static long read_fd(int fd, char *buf, size_t n)
{
	long r;
	do
		r = __gosys_syscall3(SYS_read, fd, (long)buf, (long)n);
	while (r == -4 /* EINTR */);
	return r;
}

/*
 * The next line, NUL-terminated, without its '\n'; NULL at the end. Lines
 * longer than the buffer are dropped whole. May hold a NUL inside: callers
 * use *len.
 */
static char *next_line(struct lines *r, size_t *len)
{
	for (;;) {
		char *p = r->buf + r->beg;
		char *nl = memchr(p, '\n', r->end - r->beg);
		if (nl) {
			r->beg += (size_t)(nl - p) + 1;
			if (r->skipping) {
				r->skipping = 0;
				continue;
			}
			*nl = 0;
			*len = (size_t)(nl - p);
			return p;
		}
		if (r->eof) {
			if (r->beg == r->end || r->skipping)
				return NULL;
			*len = r->end - r->beg;
			p[*len] = 0;
			r->beg = r->end;
			return p;
		}
		memmove(r->buf, p, r->end - r->beg);
		r->end -= r->beg;
		r->beg = 0;
		if (r->end == CG_LINE_MAX) {
			r->skipping = 1;
			r->end = 0;
		}
		long got = read_fd(r->fd, r->buf + r->end, CG_LINE_MAX - r->end);
		if (got <= 0 || r->total >= CG_READ_CAP)
			r->eof = 1;
		else
			r->end += (size_t)got, r->total += (size_t)got;
	}
}

/* root + path into buf; -1 if it does not fit. */
static int join(char *buf, const char *root, const char *path, size_t pn)
{
	size_t rn = strlen(root);
	if (rn + pn + 1 > CG_PATH_MAX)
		return -1;
	memcpy(buf, root, rn);
	memcpy(buf + rn, path, pn);
	buf[rn + pn] = 0;
	return 0;
}

static int open_lines(struct lines *r, const char *root, const char *path)
{
	char full[CG_PATH_MAX];
	r->eof = r->skipping = 0;
	r->beg = r->end = r->total = 0;
	r->fd = -1;
	if (join(full, root, path, strlen(path)) < 0)
		return -1;
	r->fd = open_at(AT_FDCWD, full, O_FILE);
	return r->fd;
}

/* ---- small parsers over (pointer, length) ---------------------------------- */

/* Does the comma-separated list s[0..n) contain word? */
static int has_word(const char *s, size_t n, const char *word)
{
	size_t wn = strlen(word);
	size_t i = 0;
	while (i <= n) {
		size_t j = i;
		while (j < n && s[j] != ',')
			j++;
		if (j - i == wn && memcmp(s + i, word, wn) == 0)
			return 1;
		i = j + 1;
	}
	return 0;
}

/*
 * A whole signed decimal number s[0..n). Returns 0 and *out, or -1 (empty,
 * stray bytes, overflow).
 */
static int parse_int64(const char *s, size_t n, int64_t *out)
{
	int neg = 0;
	size_t i = 0;
	uint64_t v = 0;
	if (n > 0 && s[0] == '-')
		neg = 1, i = 1;
	if (i == n)
		return -1;
	for (; i < n; i++) {
		unsigned d = (unsigned)(unsigned char)s[i] - '0';
		if (d > 9 || v > ((uint64_t)INT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

/* ceil(1000 * quota / period), the limit in thousandths of a CPU, or 0 (no
 * limit) unless both are positive. */
static int milli_limit(int64_t quota, int64_t period)
{
	if (quota <= 0 || period <= 0)
		return 0;
	if (quota / period >= CG_LIMIT_CAP / 1000)
		return CG_LIMIT_CAP;
	if (period > INT64_MAX / 1000) { /* garbage-sized: keep the product in range */
		quota /= 1000;
		period /= 1000;
		if (quota == 0)
			return 1;
	}
	int64_t n = quota / period * 1000 + (quota % period * 1000 + period - 1) / period;
	return n > CG_LIMIT_CAP ? CG_LIMIT_CAP : (int)n;
}

/* The tighter of two limits, 0 meaning none. */
static int tighter(int a, int b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

/*
 * A small file in dirfd, whole, into buf (size n); its length, or -1 if it is
 * missing, unreadable or does not fit (too big to be a limit file).
 */
static long read_small(int dirfd, const char *name, char *buf, size_t n)
{
	int fd = open_at(dirfd, name, O_FILE);
	if (fd < 0)
		return -1;
	size_t len = 0;
	long r;
	while ((r = read_fd(fd, buf + len, n - len)) > 0 && len + (size_t)r < n)
		len += (size_t)r;
	close_fd(fd);
	if (r != 0)
		return -1; /* an error, or the buffer filled up */
	return (long)len;
}

static int64_t file_int(int dirfd, const char *name, int *ok)
{
	char buf[64];
	int64_t v = 0;
	long n = read_small(dirfd, name, buf, sizeof buf);
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	*ok = n >= 0 && parse_int64(buf, (size_t)n, &v) == 0;
	return v;
}

enum cg_version { CG_V1, CG_V2 };

/* The limit set in one cgroup directory, 0 if none. */
static int level_limit(int dirfd, enum cg_version ver)
{
	if (ver == CG_V1) {
		int okq, okp;
		int64_t q = file_int(dirfd, "cpu.cfs_quota_us", &okq);
		int64_t p = file_int(dirfd, "cpu.cfs_period_us", &okp);
		return okq && okp ? milli_limit(q, p) : 0;
	}
	/* cgroup v2 cpu.max: "max [P]", "Q P" or "Q". */
	char buf[64];
	long n = read_small(dirfd, "cpu.max", buf, sizeof buf);
	if (n <= 0)
		return 0;
	if (buf[n - 1] == '\n')
		n--;
	const char *sp = memchr(buf, ' ', (size_t)n);
	size_t qn = sp ? (size_t)(sp - buf) : (size_t)n;
	int64_t q, p = CG_V2_PERIOD;
	if (qn == 3 && memcmp(buf, "max", 3) == 0)
		return 0;
	if (parse_int64(buf, qn, &q) < 0)
		return 0;
	if (sp && parse_int64(sp + 1, (size_t)(buf + n - sp - 1), &p) < 0)
		return 0;
	return milli_limit(q, p);
}

/*
 * Walks from the mount point (root + mnt) down through rel, the cgroup's path
 * below the mount, one openat per component so that no full path is ever
 * built, and returns the tightest limit seen. A component that cannot be
 * opened ends the walk: the levels above it still count. "." and ".." are
 * refused outright (the path would leave the cgroup's own line of ancestors).
 */
static int walk_limit(const char *root, const char *mnt, size_t mntn, const char *rel,
		      size_t reln, enum cg_version ver)
{
	char path[CG_PATH_MAX];
	char name[256];
	for (size_t i = 0; i < reln;) {
		size_t j = i;
		while (j < reln && rel[j] != '/')
			j++;
		if ((j - i == 1 && rel[i] == '.') ||
		    (j - i == 2 && rel[i] == '.' && rel[i + 1] == '.'))
			return 0;
		i = j + 1;
	}
	if (join(path, root, mnt, mntn) < 0)
		return 0;
	int dir = open_at(AT_FDCWD, path, O_DIR);
	if (dir < 0)
		return 0;
	int lim = level_limit(dir, ver);
	for (size_t i = 0; i < reln;) {
		size_t j = i;
		while (j < reln && rel[j] != '/')
			j++;
		size_t n = j - i;
		if (n >= sizeof name)
			break;
		if (n > 0) {
			memcpy(name, rel + i, n);
			name[n] = 0;
			int sub = open_at(dir, name, O_DIR);
			if (sub < 0)
				break;
			close_fd(dir);
			dir = sub;
			lim = tighter(lim, level_limit(dir, ver));
		}
		i = j + 1;
	}
	close_fd(dir);
	return lim;
}

/* ---- /proc/self/cgroup and /proc/self/mountinfo ---------------------------- */

/* The process's cgroup paths, as /proc/self/cgroup gives them. */
struct cg_self {
	size_t v1n, v2n; /* 0 = not in such a hierarchy */
	char v1[CG_PATH_MAX], v2[CG_PATH_MAX];
};

static void keep_path(char *dst, size_t *dstn, const char *s, size_t n)
{
	if (*dstn || n == 0 || n >= CG_PATH_MAX || s[0] != '/' || memchr(s, 0, n))
		return; /* the first usable line wins */
	memcpy(dst, s, n);
	dst[n] = 0;
	*dstn = n;
}

/* Lines "ID:CONTROLLERS:PATH"; PATH may hold ':' and spaces. */
static void read_self_cgroup(struct lines *r, const char *root, struct cg_self *cg)
{
	cg->v1n = cg->v2n = 0;
	if (open_lines(r, root, "/proc/self/cgroup") < 0)
		return;
	char *line;
	size_t n;
	while ((line = next_line(r, &n)) != NULL) {
		char *c1 = memchr(line, ':', n);
		if (!c1)
			continue;
		char *ctl = c1 + 1;
		char *c2 = memchr(ctl, ':', n - (size_t)(ctl - line));
		if (!c2)
			continue;
		size_t ctln = (size_t)(c2 - ctl);
		char *path = c2 + 1;
		size_t pn = n - (size_t)(path - line);
		if (ctln == 0 && c1 - line == 1 && line[0] == '0')
			keep_path(cg->v2, &cg->v2n, path, pn);
		else if (has_word(ctl, ctln, "cpu"))
			keep_path(cg->v1, &cg->v1n, path, pn);
	}
	close_fd(r->fd);
}

/* The next space-separated field of [*cur, end): start and length; -1 at the end. */
static int next_field(char **cur, char *end, char **f, size_t *fn)
{
	char *p = *cur;
	if (p >= end)
		return -1;
	char *sp = memchr(p, ' ', (size_t)(end - p));
	if (!sp)
		sp = end;
	*f = p;
	*fn = (size_t)(sp - p);
	*cur = sp + 1;
	return 0;
}

/* mountinfo's octal escapes (\040 for a space ...), in place; -1 on a NUL. */
static int unescape(char *s, size_t *n)
{
	size_t o = 0;
	for (size_t i = 0; i < *n; i++) {
		char c = s[i];
		if (c == '\\' && i + 3 < *n && (unsigned)(s[i + 1] - '0') < 4 &&
		    (unsigned)(s[i + 2] - '0') < 8 && (unsigned)(s[i + 3] - '0') < 8) {
			c = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		}
		if (c == 0)
			return -1;
		s[o++] = c;
	}
	*n = o;
	return 0;
}

/*
 * The cgroup path below a mount of its hierarchy: the mount shows the
 * directory mroot of the hierarchy, so "/a/b" seen through a mount of "/a"
 * is "/b" under the mount point. -1 if the path is not inside the mount.
 */
static int below_mount(const char *cgp, size_t cgn, const char *mroot, size_t mrn,
		       const char **rel, size_t *reln)
{
	if (mrn == 1 && mroot[0] == '/')
		mrn = 0;
	if (mrn > cgn || memcmp(cgp, mroot, mrn) != 0 || (cgn > mrn && cgp[mrn] != '/'))
		return -1;
	*rel = cgp + mrn;
	*reln = cgn - mrn;
	return 0;
}

/*
 * One mountinfo line: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] -
 * FSTYPE SOURCE SUPEROPTS". For a cgroup v1 mount with the cpu controller
 * or a cgroup2 mount, the limit on the process's path; 0 otherwise.
 */
static int mount_limit(char *line, size_t n, const char *root, const struct cg_self *cg)
{
	char *cur = line, *end = line + n;
	char *f[6], *fs, *src, *sopt;
	size_t fn[6], fsn, srcn, soptn;
	for (int i = 0; i < 6; i++)
		if (next_field(&cur, end, &f[i], &fn[i]) < 0)
			return 0;
	do {
		if (next_field(&cur, end, &fs, &fsn) < 0)
			return 0;
	} while (!(fsn == 1 && fs[0] == '-'));
	if (next_field(&cur, end, &fs, &fsn) < 0 || next_field(&cur, end, &src, &srcn) < 0 ||
	    next_field(&cur, end, &sopt, &soptn) < 0)
		return 0;
	enum cg_version ver;
	const char *cgp;
	size_t cgn;
	if (fsn == 6 && memcmp(fs, "cgroup", 6) == 0 && cg->v1n &&
	    has_word(sopt, soptn, "cpu")) {
		ver = CG_V1, cgp = cg->v1, cgn = cg->v1n;
	} else if (fsn == 7 && memcmp(fs, "cgroup2", 7) == 0 && cg->v2n) {
		ver = CG_V2, cgp = cg->v2, cgn = cg->v2n;
	} else {
		return 0;
	}
	const char *rel;
	size_t reln;
	if (unescape(f[3], &fn[3]) < 0 || unescape(f[4], &fn[4]) < 0 || f[4][0] != '/' ||
	    below_mount(cgp, cgn, f[3], fn[3], &rel, &reln) < 0)
		return 0;
	return walk_limit(root, f[4], fn[4], rel, reln, ver);
}

int gosys__cgroup_cpu_milli(const char *root)
{
	/* About 20 KB of stack; the monitor's stack is far larger. */
	struct lines r;
	struct cg_self cg;
	if (!root)
		root = "";
	read_self_cgroup(&r, root, &cg);
	if (!cg.v1n && !cg.v2n)
		return 0;
	if (open_lines(&r, root, "/proc/self/mountinfo") < 0)
		return 0;
	int lim = 0;
	char *line;
	size_t n;
	/* Every mount of a hierarchy counts: each shows ancestors of the same cgroup. */
	while ((line = next_line(&r, &n)) != NULL)
		lim = tighter(lim, mount_limit(line, n, root, &cg));
	close_fd(r.fd);
	return lim;
}

int gosys__cgroup_cpu_limit(const char *root)
{
	int milli = gosys__cgroup_cpu_milli(root);
	return milli / 1000 + (milli % 1000 != 0);
}

int gosys__maxprocs_from(int milli, int aff)
{
	int n = aff;
	int lim = milli / 1000 + (milli % 1000 != 0);
	if (lim > 0 && lim < n)
		n = lim;
	return n > 0 ? n : 1;
}

int gosys__maxprocs_bound(int milli, int aff, int given)
{
	int n = gosys__maxprocs_from(milli, aff);
	if ((milli > 0 && milli < aff * 1000) || given || gosys__knobs.cpubound)
		return n;
	return GOSYS_MAXPROCS_LIMIT;
}

int gosys__maxprocs_default(const char *root)
{
	return gosys__maxprocs_from(gosys__cgroup_cpu_milli(root), gosys__affinity_cpus());
}
