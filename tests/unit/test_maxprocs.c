/* SPDX-License-Identifier: MIT */
/*
 * Description: maxprocs detection against fake /proc and /sys/fs/cgroup trees,
 * one temp dir per case: cgroup v1 (cpu and cpu,cpuacct), v2, both, nested
 * limits either way round, "max", rounding up, mount roots other than "/",
 * escaped mount points, long paths and long mountinfo files, garbage and
 * missing files, endless files, and the affinity count against libc.
 */
#include "internal.h"
#include "tcheck.h"
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- a fake tree --------------------------------------------------------- */

static char root[256]; /* this case's temp dir */

static void tree_new(void)
{
	strcpy(root, "/tmp/gosys-cg-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(p);
}

static void tree_free(void)
{
	ck_assert_int_eq(nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* mkdir -p of root/rel's parent directories (rel/ for the dir itself). */
static void mkdirs(const char *rel)
{
	char p[8192];
	ck_assert_uint_lt(strlen(root) + strlen(rel) + 1, sizeof p);
	snprintf(p, sizeof p, "%s%s", root, rel);
	/* mkdir each prefix; the long-path cases need relative steps */
	for (char *s = p + strlen(root) + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (strlen(p) < 4096)
			mkdir(p, 0755);
		*s = '/';
	}
}

/* Writes n bytes to root/rel (rel starts with '/'), creating its directories. */
static void put_bytes(const char *rel, const char *data, size_t n)
{
	char p[4096];
	mkdirs(rel);
	snprintf(p, sizeof p, "%s%s", root, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_msg(fd >= 0, "cannot create %s", p);
	ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
	close(fd);
}

static void put(const char *rel, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(const char *rel, const char *fmt, ...)
{
	char buf[65536];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	ck_assert(n >= 0 && (size_t)n < sizeof buf);
	put_bytes(rel, buf, (size_t)n);
}

/* Removes root/rel. */
static void drop(const char *rel)
{
	char p[4096];
	snprintf(p, sizeof p, "%s%s", root, rel);
	ck_assert_int_eq(unlink(p), 0);
}

/* Replaces root/rel with a symlink to target. */
static void link_to(const char *rel, const char *target)
{
	char p[4096];
	mkdirs(rel);
	snprintf(p, sizeof p, "%s%s", root, rel);
	unlink(p);
	ck_assert_int_eq(symlink(target, p), 0);
}

#define V1 "/sys/fs/cgroup/cpu,cpuacct"
#define V2 "/sys/fs/cgroup/unified"
#define MNT_TMPFS "25 1 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
#define MNT_PIDS "27 25 0:24 / /sys/fs/cgroup/pids rw shared:6 - cgroup cgroup rw,pids\n"

/* v1: quota and period files in root/dir (dir under a mount point). */
static void v1_limit(const char *dir, long long quota, long long period)
{
	char rel[4096];
	snprintf(rel, sizeof rel, "%s/cpu.cfs_quota_us", dir);
	put(rel, "%lld\n", quota);
	snprintf(rel, sizeof rel, "%s/cpu.cfs_period_us", dir);
	put(rel, "%lld\n", period);
}

static void v2_limit(const char *dir, const char *cpumax)
{
	char rel[4096];
	snprintf(rel, sizeof rel, "%s/cpu.max", dir);
	put(rel, "%s", cpumax);
}

/* Open descriptors of this process, to prove none is left behind. */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(d);
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* The limit for the fake tree, checking that no descriptor leaks. */
static int limit(void)
{
	int before = count_fds();
	int n = gosys__cgroup_cpu_limit(root);
	ck_assert_int_eq(count_fds(), before);
	ck_assert(n >= 0 && n <= (1 << 30));
	return n;
}

/* The usual v1 layout: process in /a/b of a cpu,cpuacct hierarchy. */
static void v1_tree(const char *cgpath)
{
	put("/proc/self/cgroup", "12:pids:/\n11:cpu,cpuacct:%s\n1:name=systemd:/x\n0::/\n",
	    cgpath);
	put("/proc/self/mountinfo",
	    MNT_TMPFS MNT_PIDS
	    "28 25 0:25 / " V1 " rw,nosuid shared:7 - cgroup cgroup rw,cpu,cpuacct\n");
	v1_limit(V1, -1, 100000);
}

static void v2_tree(const char *cgpath)
{
	put("/proc/self/cgroup", "0::%s\n", cgpath);
	put("/proc/self/mountinfo",
	    MNT_TMPFS "30 25 0:27 / " V2 " rw,nosuid,nodev shared:9 - cgroup2 cgroup2 rw\n");
}

/* ---- cases ------------------------------------------------------------------ */

START_TEST(v1_only)
{
	tree_new();
	v1_tree("/a/b");
	v1_limit(V1 "/a", -1, 100000);
	static const struct {
		long long quota, period;
		int want, milli;
	} cases[] = {
		{150000, 100000, 2, 1500},
		{50000, 100000, 1, 500},
		{100000, 100000, 1, 1000},
		{200001, 100000, 3, 2001},
		{100000, 33333, 4, 3001},
		{1000, 1000, 1, 1000},
		{33333, 100000, 1, 334},
		{1, 1000000, 1, 1},
		{-1, 100000, 0, 0},
		{0, 100000, 0, 0},
		{150000, 0, 0, 0},
		{150000, -5, 0, 0},
		{800000, 100000, 8, 8000},
		{9000000000000LL, 1000, (1 << 30) / 1000 + 1, 1 << 30},
		/* periods too big for the product quota * 1000 */
		{9000000000000000000LL, 9000000000000000000LL, 1, 1000},
		{5, 9000000000000000000LL, 1, 1},
	};
	for (size_t i = 0; i < GOSYS_ARRAY_SIZE(cases); i++) {
		v1_limit(V1 "/a/b", cases[i].quota, cases[i].period);
		ck_assert_msg(limit() == cases[i].want, "%lld/%lld: %d, want %d",
			      cases[i].quota, cases[i].period, limit(), cases[i].want);
		int milli = gosys__cgroup_cpu_milli(root);
		ck_assert_msg(milli == cases[i].milli, "%lld/%lld: %d thousandths, want %d",
			      cases[i].quota, cases[i].period, milli, cases[i].milli);
	}
	tree_free();
}
END_TEST

START_TEST(v1_super_options)
{
	static const struct {
		const char *supers;
		int want;
	} cases[] = {
		{"rw,cpu", 2},	     {"rw,cpuacct,cpu", 2}, {"cpu", 2},	    {"rw,cpuacct", 0},
		{"rw,cpuset", 0},    {"rw,cpu2", 0},	    {"rw,xcpu", 0}, {"rw,name=cpu", 0},
		{"rw,cpu,", 2},	     {"", 0},
	};
	for (size_t i = 0; i < GOSYS_ARRAY_SIZE(cases); i++) {
		tree_new();
		put("/proc/self/cgroup", "3:cpu:/g\n");
		put("/proc/self/mountinfo", MNT_TMPFS "40 25 0:30 / /cg rw - cgroup cgroup %s\n",
		    cases[i].supers);
		v1_limit("/cg/g", 200000, 100000);
		ck_assert_msg(limit() == cases[i].want, "%s", cases[i].supers);
		tree_free();
	}
	/* the controller must be named in /proc/self/cgroup too */
	tree_new();
	put("/proc/self/cgroup", "3:cpuacct:/g\n4:cpuset:/g\n");
	put("/proc/self/mountinfo", MNT_TMPFS "40 25 0:30 / /cg rw - cgroup cgroup rw,cpu\n");
	v1_limit("/cg/g", 200000, 100000);
	ck_assert_int_eq(limit(), 0);
	tree_free();
}
END_TEST

START_TEST(v2_only)
{
	tree_new();
	v2_tree("/user.slice/app");
	static const struct {
		const char *cpumax;
		int want;
	} cases[] = {
		{"250000 100000\n", 3}, {"150000 100000\n", 2}, {"50000 100000\n", 1},
		{"300000\n", 3},	{"300001", 4},		{"max 100000\n", 0},
		{"max\n", 0},		{"100000 50000", 2},	{"1 1000000", 1},
	};
	for (size_t i = 0; i < GOSYS_ARRAY_SIZE(cases); i++) {
		v2_limit(V2 "/user.slice/app", cases[i].cpumax);
		ck_assert_msg(limit() == cases[i].want, "\"%s\"", cases[i].cpumax);
	}
	/* no cpu.max at all (root cgroup, controller not enabled): no limit */
	drop(V2 "/user.slice/app/cpu.max");
	ck_assert_int_eq(limit(), 0);
	tree_free();
}
END_TEST

START_TEST(nested)
{
	/* v1: each level alone, then both either way round */
	tree_new();
	v1_tree("/a/b");
	v1_limit(V1 "/a", 300000, 100000);
	v1_limit(V1 "/a/b", -1, 100000);
	ck_assert_int_eq(limit(), 3); /* the parent alone */
	v1_limit(V1 "/a", -1, 100000);
	v1_limit(V1 "/a/b", 300000, 100000);
	ck_assert_int_eq(limit(), 3); /* the leaf alone */
	v1_limit(V1 "/a", 100000, 100000);
	v1_limit(V1 "/a/b", 400000, 100000);
	ck_assert_int_eq(limit(), 1); /* parent tighter */
	v1_limit(V1 "/a", 400000, 100000);
	v1_limit(V1 "/a/b", 200000, 100000);
	ck_assert_int_eq(limit(), 2); /* leaf tighter */
	v1_limit(V1, 100000, 100000);
	ck_assert_int_eq(limit(), 1); /* the mount point's own level counts */
	v1_limit(V1, -1, 100000);
	/* compare ratios, not quotas: 50000/25000 = 2 is tighter than 300000/100000 */
	v1_limit(V1 "/a", 50000, 25000);
	v1_limit(V1 "/a/b", 300000, 100000);
	ck_assert_int_eq(limit(), 2);
	tree_free();
	/* v2, three levels */
	tree_new();
	v2_tree("/x/y/z");
	v2_limit(V2 "/x", "max 100000\n");
	v2_limit(V2 "/x/y", "200000 100000\n");
	v2_limit(V2 "/x/y/z", "400000 100000\n");
	ck_assert_int_eq(limit(), 2);
	v2_limit(V2 "/x/y/z", "100000 100000\n");
	ck_assert_int_eq(limit(), 1);
	v2_limit(V2 "/x", "50000 100000\n");
	v2_limit(V2 "/x/y/z", "max 100000\n");
	ck_assert_int_eq(limit(), 1);
	/* a sibling's limit is not on the path */
	v2_limit(V2 "/x", "max\n");
	v2_limit(V2 "/x/y", "max\n");
	v2_limit(V2 "/x/w", "100000\n");
	v2_limit(V2 "/x/y/z2", "100000\n");
	ck_assert_int_eq(limit(), 0);
	tree_free();
}
END_TEST

START_TEST(v1_and_v2)
{
	for (int i = 0; i < 2; i++) {
		tree_new();
		put("/proc/self/cgroup", "4:cpu,cpuacct:/a\n0::/b\n");
		put("/proc/self/mountinfo",
		    MNT_TMPFS "28 25 0:25 / " V1 " rw - cgroup cgroup rw,cpu,cpuacct\n"
			      "30 25 0:27 / " V2 " rw - cgroup2 cgroup2 rw\n");
		v1_limit(V1 "/a", i ? 300000 : 200000, 100000);
		v2_limit(V2 "/b", i ? "200000 100000\n" : "300000 100000\n");
		ck_assert_int_eq(limit(), 2);
		v2_limit(V2 "/b", "max 100000\n");
		ck_assert_int_eq(limit(), i ? 3 : 2);
		tree_free();
	}
}
END_TEST

/* Quota, period and cpu.max contents that set no limit. */
static const char *const garbage[] = {
	"", "\n", "abc\n", "1e5\n", "0x10\n", "150000 extra\n", "99999999999999999999999\n",
	"--1\n", "-\n", " 150000\n", "150000\n\n", "\xff\xfe\n", "150000\r\n", "+150000\n",
	"1.5\n", "150000\0""1\n",
};

/* The bytes of garbage[i]; the last one holds a NUL. */
static size_t garbage_len(size_t i)
{
	return strlen(garbage[i]) + (i == GOSYS_ARRAY_SIZE(garbage) - 1 ? 3 : 0);
}

START_TEST(garbage_limit_files)
{
	tree_new();
	v1_tree("/a/b");
	v1_limit(V1 "/a", 300000, 100000);
	for (size_t i = 0; i < GOSYS_ARRAY_SIZE(garbage); i++) {
		size_t n = garbage_len(i);
		/* garbage in the leaf's quota, then in its period: the parent's 3 stands */
		v1_limit(V1 "/a/b", 100000, 100000);
		put_bytes(V1 "/a/b/cpu.cfs_quota_us", garbage[i], n);
		ck_assert_msg(limit() == 3, "quota \"%s\"", garbage[i]);
		v1_limit(V1 "/a/b", 100000, 100000);
		put_bytes(V1 "/a/b/cpu.cfs_period_us", garbage[i], n);
		ck_assert_msg(limit() == 3, "period \"%s\"", garbage[i]);
	}
	/* a file too big to be a limit */
	char big[5000];
	memset(big, '1', sizeof big);
	v1_limit(V1 "/a/b", 100000, 100000);
	put_bytes(V1 "/a/b/cpu.cfs_quota_us", big, sizeof big);
	ck_assert_int_eq(limit(), 3);
	tree_free();

	static const char *const bad_max[] = {
		"max max\n", "100000 0\n", "-5 100000\n", "100000 100000 100000\n",
		"100000  100000\n", "100000 abc\n", "0 100000\n", "max 0\n", "100000 -1\n",
		"maximum\n", "100000 \n", " max\n",
	};
	tree_new();
	v2_tree("/p/q");
	v2_limit(V2 "/p", "300000 100000\n");
	for (size_t i = 0; i < GOSYS_ARRAY_SIZE(garbage) + GOSYS_ARRAY_SIZE(bad_max); i++) {
		int from_garbage = i < GOSYS_ARRAY_SIZE(garbage);
		const char *g = from_garbage ? garbage[i] : bad_max[i - GOSYS_ARRAY_SIZE(garbage)];
		put_bytes(V2 "/p/q/cpu.max", g, from_garbage ? garbage_len(i) : strlen(g));
		ck_assert_msg(limit() == 3, "cpu.max \"%s\"", g);
	}
	tree_free();
}
END_TEST

START_TEST(garbage_proc_files)
{
	static const char *const bad_cgroup[] = {
		"", "\n\n\n", "garbage", "11:cpu,cpuacct\n", "11:cpu,cpuacct:a/b\n",
		"11:cpu,cpuacct:\n", "cpu:/a/b\n", "11;cpu;/a/b\n", "11:cpuacct:/a/b\n",
		"\xff\xff:cpu:\xff\n", "1::/a/b\n", "00::/a/b\n",
	};
	for (size_t i = 0; i < GOSYS_ARRAY_SIZE(bad_cgroup); i++) {
		tree_new();
		v1_tree("/a/b");
		v1_limit(V1 "/a/b", 100000, 100000);
		put("/proc/self/cgroup", "%s", bad_cgroup[i]);
		ck_assert_msg(limit() == 0, "cgroup \"%s\"", bad_cgroup[i]);
		tree_free();
	}
	static const char *const bad_mountinfo[] = {
		"",
		"28 25 0:25 / " V1 " rw - cgroup cgroup\n",		  /* no super options */
		"28 25 0:25 / " V1 " rw cgroup cgroup rw,cpu,cpuacct\n", /* no '-' */
		"28 25 0:25 / " V1 " rw - cgroup2 cgroup2 rw,cpu\n",	  /* v2 with no v2 path */
		"28 25 0:25 / " V1 " rw - tmpfs cgroup rw,cpu\n",
		"28 25 0:25 / " V1 " rw - cgroupx cgroup rw,cpu\n",
		"28 25 0:25 /\n",
		"28 25 0:25 /a/b/c " V1 " rw - cgroup cgroup rw,cpu\n", /* root below the path */
		"28 25 0:25 / \\000 rw - cgroup cgroup rw,cpu\n",
		"28 25 0:25 \\0 " V1 " rw - cgroup cgroup rw,cpu\n",
		"\xff\xfe\xfd - cgroup cgroup rw,cpu\n",
		" - - - - - - - cgroup cgroup cpu\n",
		"28 25 0:25 / relative rw - cgroup cgroup rw,cpu\n",
	};
	for (size_t i = 0; i < GOSYS_ARRAY_SIZE(bad_mountinfo); i++) {
		tree_new();
		v1_tree("/a/b");
		v1_limit(V1 "/a/b", 100000, 100000);
		put("/proc/self/mountinfo", "%s", bad_mountinfo[i]);
		ck_assert_msg(limit() == 0, "mountinfo \"%s\"", bad_mountinfo[i]);
		tree_free();
	}
}
END_TEST

START_TEST(missing_files)
{
	tree_new();
	ck_assert_int_eq(limit(), 0); /* an empty tree */
	v1_tree("/a/b");
	v1_limit(V1 "/a", 200000, 100000);
	v1_limit(V1 "/a/b", 100000, 100000);
	ck_assert_int_eq(limit(), 1);
	drop(V1 "/a/b/cpu.cfs_quota_us");
	ck_assert_int_eq(limit(), 2);
	v1_limit(V1 "/a/b", 100000, 100000);
	drop(V1 "/a/b/cpu.cfs_period_us");
	ck_assert_int_eq(limit(), 2);
	drop(V1 "/a/b/cpu.cfs_quota_us");
	char p[512];
	snprintf(p, sizeof p, "%s" V1 "/a/b", root);
	ck_assert_int_eq(rmdir(p), 0); /* the leaf is gone: its parents still count */
	ck_assert_int_eq(limit(), 2);
	drop("/proc/self/mountinfo");
	ck_assert_int_eq(limit(), 0);
	put("/proc/self/mountinfo", "28 25 0:25 / /nowhere rw - cgroup cgroup rw,cpu\n");
	ck_assert_int_eq(limit(), 0); /* the mount point is missing */
	v1_tree("/a");
	drop("/proc/self/cgroup");
	ck_assert_int_eq(limit(), 0);
	tree_free();
}
END_TEST

START_TEST(mount_root)
{
	/* A container's view: the hierarchy's /docker/abc is mounted at the point. */
	tree_new();
	put("/proc/self/mountinfo",
	    MNT_TMPFS "28 25 0:25 /docker/abc /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n");
	v1_limit("/sys/fs/cgroup/cpu", 300000, 100000);
	v1_limit("/sys/fs/cgroup/cpu/inner", 200000, 100000);
	v1_limit("/sys/fs/cgroup/cpu/docker/abc/inner", 100000, 100000); /* decoy */
	put("/proc/self/cgroup", "4:cpu:/docker/abc/inner\n");
	ck_assert_int_eq(limit(), 2);
	put("/proc/self/cgroup", "4:cpu:/docker/abc\n");
	ck_assert_int_eq(limit(), 3);
	put("/proc/self/cgroup", "4:cpu:/docker/abcdef/inner\n"); /* not a path boundary */
	ck_assert_int_eq(limit(), 0);
	put("/proc/self/cgroup", "4:cpu:/other\n");
	ck_assert_int_eq(limit(), 0);
	put("/proc/self/cgroup", "4:cpu:/\n");
	ck_assert_int_eq(limit(), 0);
	/* v2 the same way, with an escaped root */
	put("/proc/self/mountinfo",
	    MNT_TMPFS "30 25 0:27 /my\\040pod /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
	put("/proc/self/cgroup", "0::/my pod/c\n");
	v2_limit("/sys/fs/cgroup/c", "150000 100000\n");
	ck_assert_int_eq(limit(), 2);
	tree_free();
}
END_TEST

START_TEST(odd_paths)
{
	tree_new();
	/* spaces, a tab and a colon: escaped in mountinfo, raw in /proc/self/cgroup */
	put("/proc/self/cgroup", "7:cpu,cpuacct:/my group/x y:z\n");
	put("/proc/self/mountinfo",
	    MNT_TMPFS "28 25 0:25 / /sys/fs/cgroup/my\\040cpu\\011v1 rw - cgroup cgroup "
		      "rw,cpuacct,cpu\n");
	v1_limit("/sys/fs/cgroup/my cpu\tv1/my group/x y:z", 250000, 100000);
	ck_assert_int_eq(limit(), 3);
	/* empty components are skipped; "." and ".." are refused */
	put("/proc/self/cgroup", "7:cpu:/my group//x y:z/\n");
	ck_assert_int_eq(limit(), 3);
	put("/proc/self/cgroup", "7:cpu:/my group/../my group/x y:z\n");
	ck_assert_int_eq(limit(), 0);
	put("/proc/self/cgroup", "7:cpu:/my group/./x y:z\n");
	ck_assert_int_eq(limit(), 0);
	tree_free();
}
END_TEST

START_TEST(long_paths)
{
	/* 12 levels of 250 bytes: 3012 bytes of path, a limit at the leaf */
	tree_new();
	char path[8192] = "", comp[252];
	memset(comp + 1, 'c', 250);
	comp[0] = '/';
	comp[251] = 0;
	for (int i = 0; i < 12; i++)
		strcat(path, comp);
	put("/proc/self/cgroup", "4:cpu:%s\n", path);
	put("/proc/self/mountinfo", MNT_TMPFS "28 25 0:25 / /c rw - cgroup cgroup rw,cpu\n");
	/* the full path is too long for one open: create it step by step */
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/c", root);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	int fd = open(dir, O_PATH | O_DIRECTORY);
	for (int i = 0; i < 12; i++) {
		ck_assert_int_eq(mkdirat(fd, comp + 1, 0755), 0);
		int sub = openat(fd, comp + 1, O_PATH | O_DIRECTORY);
		close(fd);
		fd = sub;
	}
	int q = openat(fd, "cpu.cfs_quota_us", O_WRONLY | O_CREAT, 0644);
	int p = openat(fd, "cpu.cfs_period_us", O_WRONLY | O_CREAT, 0644);
	ck_assert_int_eq(write(q, "200000\n", 7), 7);
	ck_assert_int_eq(write(p, "100000\n", 7), 7);
	close(q), close(p), close(fd);
	ck_assert_int_eq(limit(), 2);
	/* a cgroup line longer than any real one (5020 bytes): unusable, no limit */
	for (int i = 0; i < 8; i++)
		strcat(path, comp);
	put("/proc/self/cgroup", "4:cpu:%s\n", path);
	v1_limit("/c", 100000, 100000);
	ck_assert_int_eq(limit(), 0);
	/* a component longer than a file name ends the walk; the levels above count */
	memset(path, 'd', 300);
	path[0] = '/';
	strcpy(path + 300, "/e");
	put("/proc/self/cgroup", "4:cpu:%s\n", path);
	ck_assert_int_eq(limit(), 1);
	tree_free();
}
END_TEST

START_TEST(long_mountinfo)
{
	/* 3000 unrelated mounts, a 20000-byte line and an 8192-byte one before
	 * ours, which comes last without a newline: read in chunks, line by line */
	tree_new();
	v1_tree("/a");
	size_t cap = 1 << 20, n = 0;
	char *mi = malloc(cap);
	ck_assert_ptr_nonnull(mi);
	for (int i = 0; i < 3000; i++)
		n += (size_t)snprintf(mi + n, cap - n,
				      "%d 25 0:%d / /mnt/m%d rw,relatime - ext4 /dev/sda%d rw\n",
				      100 + i, 50 + i, i, i);
	for (int len = 0; len < 2; len++) {
		size_t want = len ? 20000 : 8192;
		memcpy(mi + n, "99 25 0:1 / /x rw - cgroup cgroup rw,cpu ", 41);
		memset(mi + n + 41, 'o', want - 41);
		n += want;
		mi[n++] = '\n';
	}
	n += (size_t)snprintf(mi + n, cap - n,
			      "28 25 0:25 / " V1 " rw - cgroup cgroup rw,cpu,cpuacct");
	put_bytes("/proc/self/mountinfo", mi, n);
	free(mi);
	v1_limit(V1 "/a", 150000, 100000);
	ck_assert_int_eq(limit(), 2);
	tree_free();
}
END_TEST

START_TEST(several_mounts)
{
	/* one hierarchy at two places: each shows ancestors of the same cgroup */
	tree_new();
	put("/proc/self/cgroup", "4:cpu:/a/b\n");
	put("/proc/self/mountinfo", MNT_TMPFS "28 25 0:25 / /h rw - cgroup cgroup rw,cpu\n"
					      "29 25 0:25 /a /ha rw - cgroup cgroup rw,cpu\n");
	v1_limit("/h/a/b", 300000, 100000);
	v1_limit("/ha/b", 200000, 100000);
	ck_assert_int_eq(limit(), 2);
	tree_free();
}
END_TEST

START_TEST(endless_files)
{
	tree_new();
	v1_tree("/a");
	v1_limit(V1 "/a", 200000, 100000);
	link_to(V1 "/a/cpu.cfs_quota_us", "/dev/zero");
	ck_assert_int_eq(limit(), 0);
	char p[512];
	snprintf(p, sizeof p, "%s" V1 "/a/cpu.cfs_quota_us", root);
	unlink(p);
	ck_assert_int_eq(mkfifo(p, 0644), 0); /* nobody writes: must not block */
	ck_assert_int_eq(limit(), 0);
	unlink(p);
	ck_assert_int_eq(mkdir(p, 0755), 0); /* a directory where a file should be */
	ck_assert_int_eq(limit(), 0);
	rmdir(p);
	v1_limit(V1 "/a", 200000, 100000);
	ck_assert_int_eq(limit(), 2);
	link_to("/proc/self/mountinfo", "/dev/zero"); /* no newline, ever */
	ck_assert_int_eq(limit(), 0);
	link_to("/proc/self/cgroup", "/dev/zero");
	ck_assert_int_eq(limit(), 0);
	tree_free();
	tree_new();
	v2_tree("/a");
	link_to(V2 "/a/cpu.max", "/dev/zero");
	ck_assert_int_eq(limit(), 0);
	tree_free();
}
END_TEST

/* ---- random trees ------------------------------------------------------------- */

static uint64_t rng = 88172645463325252ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Mostly well-formed text with random bytes mixed in. */
static size_t random_text(char *buf, size_t cap, const char *const *parts, size_t nparts)
{
	size_t n = 0;
	for (int i = (int)(rnd() % 24); i > 0; i--) {
		if (rnd() % 5 == 0) {
			if (n + 1 < cap)
				buf[n++] = (char)rnd();
			continue;
		}
		const char *p = parts[rnd() % nparts];
		size_t pn = strlen(p);
		if (n + pn < cap) {
			memcpy(buf + n, p, pn);
			n += pn;
		}
	}
	return n;
}

START_TEST(fuzz)
{
	static const char *const cg_parts[] = {
		"4", "0", ":", ":", "cpu", "cpuacct", ",", "/", "/a", "/b", "\n", "\n", " ",
	};
	static const char *const mi_parts[] = {
		"28 25 0:25 ", "/ ", "/a ", V1 " ", V2 " ", "/h ", "rw ", "- ", "cgroup ",
		"cgroup2 ", "rw,cpu", "cpu", ",", "\n", "\n", "\\040", "\\", " ", "shared:1 ",
	};
	static const char *const lim_parts[] = {
		"100000", "150000", "-1", "max", " ", "\n", "0", "9", "-", "99999999999999999999",
	};
	char buf[4096];
	int nonzero = 0;
	tree_new();
	mkdirs(V1 "/a/b/");
	mkdirs(V2 "/a/b/");
	mkdirs("/h/a/");
	for (int i = 0; i < 400; i++) {
		put_bytes("/proc/self/cgroup", buf,
			  random_text(buf, sizeof buf, cg_parts, GOSYS_ARRAY_SIZE(cg_parts)));
		put_bytes("/proc/self/mountinfo", buf,
			  random_text(buf, sizeof buf, mi_parts, GOSYS_ARRAY_SIZE(mi_parts)));
		static const char *const files[] = {
			V1 "/a/cpu.cfs_quota_us",  V1 "/a/cpu.cfs_period_us", V1 "/a/b/cpu.max",
			V2 "/a/cpu.max",	   V2 "/a/b/cpu.max",	      "/h/a/cpu.cfs_quota_us",
			V1 "/cpu.cfs_period_us",   V1 "/cpu.cfs_quota_us",
		};
		put_bytes(files[rnd() % GOSYS_ARRAY_SIZE(files)], buf,
			  random_text(buf, 64, lim_parts, GOSYS_ARRAY_SIZE(lim_parts)));
		nonzero += limit() > 0;
	}
	/* and a few valid trees with one random byte flipped */
	for (int i = 0; i < 200; i++) {
		char mi[] = MNT_TMPFS "28 25 0:25 / " V1 " rw - cgroup cgroup rw,cpu,cpuacct\n";
		char cg[] = "11:cpu,cpuacct:/a/b\n";
		char q[] = "150000\n";
		v1_limit(V1 "/a/b", 100000, 100000);
		mi[rnd() % (sizeof mi - 1)] ^= (char)(1 + rnd() % 255);
		cg[rnd() % (sizeof cg - 1)] ^= (char)(1 + rnd() % 255);
		q[rnd() % (sizeof q - 1)] ^= (char)(1 + rnd() % 255);
		put_bytes("/proc/self/mountinfo", mi, sizeof mi - 1);
		put_bytes("/proc/self/cgroup", cg, sizeof cg - 1);
		put_bytes(V1 "/a/b/cpu.cfs_quota_us", q, sizeof q - 1);
		nonzero += limit() > 0;
	}
	tree_free();
	ck_assert_int_gt(nonzero, 0); /* some random trees do set limits */
}
END_TEST

/* ---- affinity and the default ------------------------------------------------- */

START_TEST(affinity)
{
	cpu_set_t set;
	ck_assert_int_eq(sched_getaffinity(0, sizeof set, &set), 0);
	int all = CPU_COUNT(&set);
	ck_assert_int_eq(gosys__affinity_cpus(), all);
	/* down to the first CPU in the mask: one */
	int first = 0;
	while (!CPU_ISSET(first, &set))
		first++;
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(first, &one);
	ck_assert_int_eq(sched_setaffinity(0, sizeof one, &one), 0);
	ck_assert_int_eq(gosys__affinity_cpus(), 1);
	tree_new();
	ck_assert_int_eq(gosys__maxprocs_default(root), 1);
	tree_free();
	ck_assert_int_eq(sched_setaffinity(0, sizeof set, &set), 0);
	ck_assert_int_eq(gosys__affinity_cpus(), all);
}
END_TEST

START_TEST(maxprocs_default)
{
	int cpus = gosys__affinity_cpus();
	tree_new();
	ck_assert_int_eq(gosys__maxprocs_default(root), cpus); /* no cgroup files */
	v1_tree("/a");
	v1_limit(V1 "/a", 100000, 100000);
	ck_assert_int_eq(gosys__maxprocs_default(root), 1);
	v1_limit(V1 "/a", 50000, 100000);
	ck_assert_int_eq(gosys__maxprocs_default(root), 1);
	v1_limit(V1 "/a", 100000000, 100000);
	ck_assert_int_eq(gosys__maxprocs_default(root), cpus < 1000 ? cpus : 1000);
	v1_limit(V1 "/a", 200000, 100000);
	ck_assert_int_eq(gosys__maxprocs_default(root), cpus < 2 ? cpus : 2);
	tree_free();
	/* the real system: the same rule, whatever the limit is here */
	int real = gosys__cgroup_cpu_limit("");
	ck_assert_int_ge(real, 0);
	ck_assert_int_eq(gosys__cgroup_cpu_limit(NULL), real);
	int want = real > 0 && real < cpus ? real : cpus;
	ck_assert_int_eq(gosys__maxprocs_default(""), want);
	ck_assert_int_eq(gosys__maxprocs_default(NULL), want);
}
END_TEST

/* The bound by default: the quota's CPUs only where CPUs are scarce. */
START_TEST(maxprocs_bound)
{
	int save = gosys__knobs.cpubound;
	gosys__knobs.cpubound = 0;
	/* No quota, or one at or above the CPUs: no bound but the kernel's. */
	ck_assert_int_eq(gosys__maxprocs_bound(0, 2, 0), GOSYS_MAXPROCS_LIMIT);
	ck_assert_int_eq(gosys__maxprocs_bound(2000, 2, 0), GOSYS_MAXPROCS_LIMIT);
	ck_assert_int_eq(gosys__maxprocs_bound(8000, 2, 0), GOSYS_MAXPROCS_LIMIT);
	ck_assert_int_eq(gosys__maxprocs_bound(0, 1, 0), GOSYS_MAXPROCS_LIMIT);
	/* A quota below the CPUs, rounded up: 1.5 of 2 binds at 2. */
	ck_assert_int_eq(gosys__maxprocs_bound(1500, 2, 0), 2);
	ck_assert_int_eq(gosys__maxprocs_bound(1000, 2, 0), 1);
	ck_assert_int_eq(gosys__maxprocs_bound(1, 8, 0), 1);
	ck_assert_int_eq(gosys__maxprocs_bound(1999, 2, 0), 2);
	/* pacecpus given by hand, or cpubound=1: the CPUs. */
	ck_assert_int_eq(gosys__maxprocs_bound(0, 2, 1), 2);
	gosys__knobs.cpubound = 1;
	ck_assert_int_eq(gosys__maxprocs_bound(0, 2, 0), 2);
	ck_assert_int_eq(gosys__maxprocs_bound(0, 1, 0), 1);
	ck_assert_int_eq(gosys__maxprocs_bound(500, 4, 0), 1);
	gosys__knobs.cpubound = save;
}
END_TEST

static Suite *maxprocs_suite(void)
{
	Suite *s = suite_create("maxprocs");
	TCase *tc = t_case(s, "cgroup", 30);
	tcase_add_test(tc, v1_only);
	tcase_add_test(tc, v1_super_options);
	tcase_add_test(tc, v2_only);
	tcase_add_test(tc, nested);
	tcase_add_test(tc, v1_and_v2);
	tcase_add_test(tc, mount_root);
	tcase_add_test(tc, odd_paths);
	tcase_add_test(tc, several_mounts);
	tc = t_case(s, "hostile", 60);
	tcase_add_test(tc, garbage_limit_files);
	tcase_add_test(tc, garbage_proc_files);
	tcase_add_test(tc, missing_files);
	tcase_add_test(tc, long_paths);
	tcase_add_test(tc, long_mountinfo);
	tcase_add_test(tc, endless_files);
	tc = t_case(s, "fuzz", 60);
	tcase_add_test(tc, fuzz);
	tc = t_case(s, "default", 30);
	tcase_add_test(tc, affinity);
	tcase_add_test(tc, maxprocs_default);
	tcase_add_test(tc, maxprocs_bound);
	return s;
}

T_MAIN(maxprocs_suite)
