/* SPDX-License-Identifier: MIT */
/*
 * Description: the knob parser. GOSYS_MAXPROCS and every GOSYS_DEBUG name with
 * good and bad values, hostile strings (empty, 1 MB, no '=', duplicates,
 * huge, signed, hex, spaces, UTF-8), the exact warning lines read back
 * through a pipe, 20000 random strings, and the once-only read of environ.
 */
#include "internal.h"
#include "tcheck.h"
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- warnings captured through a pipe, drained by a thread ---------------- */

struct capture {
	int fd[2];
	pthread_t reader;
	char *text;
	size_t len, cap;
};

static void *drain(void *arg)
{
	struct capture *c = arg;
	char buf[65536];
	ssize_t n;
	while ((n = read(c->fd[0], buf, sizeof buf)) > 0) {
		if (c->len + (size_t)n + 1 > c->cap) {
			c->cap = (c->len + (size_t)n + 1) * 2;
			c->text = realloc(c->text, c->cap);
			ck_assert_ptr_nonnull(c->text);
		}
		memcpy(c->text + c->len, buf, (size_t)n);
		c->len += (size_t)n;
	}
	return NULL;
}

static void cap_start(struct capture *c)
{
	memset(c, 0, sizeof *c);
	ck_assert_int_eq(pipe2(c->fd, O_CLOEXEC), 0);
	ck_assert_int_eq(pthread_create(&c->reader, NULL, drain, c), 0);
}

/* Closes the pipe, checks every line's shape, returns the line count. */
static int cap_finish(struct capture *c)
{
	close(c->fd[1]);
	pthread_join(c->reader, NULL);
	close(c->fd[0]);
	if (!c->text)
		c->text = calloc(1, 1);
	c->text[c->len] = 0;
	int lines = 0;
	size_t start = 0;
	for (size_t i = 0; i < c->len; i++) {
		unsigned char ch = (unsigned char)c->text[i];
		if (ch == '\n') {
			ck_assert_msg(strncmp(c->text + start, "gosys: ", 7) == 0,
				      "line without the prefix: %.80s", c->text + start);
			ck_assert_msg(i - start < 300, "line of %zu bytes", i - start);
			lines++;
			start = i + 1;
		} else {
			/* the user's bytes are escaped: plain printable ASCII only */
			ck_assert_msg(ch >= 0x20 && ch < 0x7f, "raw byte 0x%02x in a warning", ch);
		}
	}
	ck_assert_uint_eq(start, c->len); /* the text ends with a newline */
	return lines;
}

static void cap_free(struct capture *c)
{
	free(c->text);
	c->text = NULL;
}

/* Parses from defaults; checks that the count returned equals the lines written. */
static int parse(struct gosys_knobs *k, const char *mp, const char *dbg, struct capture *c)
{
	gosys__knobs_defaults(k);
	cap_start(c);
	int n = gosys__knobs_parse(k, mp, dbg, c->fd[1]);
	ck_assert_int_eq(cap_finish(c), n);
	return n;
}

/* parse() and expect exactly one warning line, equal to want. */
static void expect_one(const char *mp, const char *dbg, const char *want)
{
	struct gosys_knobs k;
	struct capture c;
	ck_assert_int_eq(parse(&k, mp, dbg, &c), 1);
	ck_assert_str_eq(c.text, want);
	cap_free(&c);
}

static void assert_knobs_eq(const struct gosys_knobs *a, const struct gosys_knobs *b)
{
	ck_assert_int_eq(a->maxprocs, b->maxprocs);
	ck_assert_int_eq(a->schedtrace_ms, b->schedtrace_ms);
	ck_assert_int_eq(a->stats, b->stats);
	ck_assert_str_eq(a->stats_path, b->stats_path);
	ck_assert_int_eq(a->asyncpreempt, b->asyncpreempt);
	ck_assert_int_eq(a->slice_ms, b->slice_ms);
	ck_assert_int_eq(a->granularity_us, b->granularity_us);
	ck_assert_int_eq(a->updatemaxprocs, b->updatemaxprocs);
	ck_assert_int_eq(a->scheddetail, b->scheddetail);
}

static void assert_defaults(const struct gosys_knobs *k)
{
	struct gosys_knobs d;
	memset(&d, 0, sizeof d);
	d.asyncpreempt = 1;
	d.slice_ms = 10;
	d.granularity_us = 1000;
	d.updatemaxprocs = 1;
	assert_knobs_eq(k, &d);
}

START_TEST(defaults)
{
	struct gosys_knobs k;
	memset(&k, 0x55, sizeof k);
	gosys__knobs_defaults(&k);
	assert_defaults(&k);
	/* the variable holds the defaults before anything is read */
	assert_defaults(&gosys__knobs);
	struct capture c;
	ck_assert_int_eq(parse(&k, NULL, NULL, &c), 0);
	assert_defaults(&k);
	cap_free(&c);
	ck_assert_int_eq(parse(&k, NULL, "", &c), 0);
	assert_defaults(&k);
	cap_free(&c);
	/* empty items are skipped silently, like a trailing comma */
	ck_assert_int_eq(parse(&k, NULL, ",,,", &c), 0);
	cap_free(&c);
	ck_assert_int_eq(parse(&k, NULL, ",slice=3,", &c), 0);
	ck_assert_int_eq(k.slice_ms, 3);
	cap_free(&c);
	/* warnfd -1: nothing written, the problems still counted */
	ck_assert_int_eq(gosys__knobs_parse(&k, "x", "y", -1), 2);
}
END_TEST

START_TEST(maxprocs_values)
{
	static const struct {
		const char *in;
		int want;
	} good[] = {{"1", 1}, {"2", 2}, {"1024", 1024}, {"007", 7}, {"64", 64}};
	static const char *const bad[] = {
		"", "0", "1025", "-1", "+4", "0x10", " 4", "4 ", "4\n", "4,",
		"99999999999999999999999999999999", "abc", "\xd9\xa3", "\xef\xbc\x94", "1e3",
		"4.0", "-0",
	};
	struct gosys_knobs k;
	struct capture c;
	for (size_t i = 0; i < GOSYS_ARRAY_SIZE(good); i++) {
		ck_assert_int_eq(parse(&k, good[i].in, NULL, &c), 0);
		ck_assert_int_eq(k.maxprocs, good[i].want);
		cap_free(&c);
	}
	for (size_t i = 0; i < GOSYS_ARRAY_SIZE(bad); i++) {
		ck_assert_int_eq(parse(&k, bad[i], NULL, &c), 1);
		ck_assert_int_eq(k.maxprocs, 0);
		ck_assert(strstr(c.text, "GOSYS_MAXPROCS") != NULL);
		cap_free(&c);
	}
	expect_one("0", NULL, "gosys: GOSYS_MAXPROCS=\"0\": out of range 1..1024, ignored\n");
	expect_one("many", NULL, "gosys: GOSYS_MAXPROCS=\"many\": not a decimal number, ignored\n");
	expect_one("", NULL, "gosys: GOSYS_MAXPROCS=\"\": empty value, ignored\n");
	/* both variables at once: each counts */
	ck_assert_int_eq(parse(&k, "0", "slice=0", &c), 2);
	cap_free(&c);
}
END_TEST

/* One GOSYS_DEBUG string, the field it must set and the warnings it gives. */
struct debug_case {
	const char *in;
	size_t off; /* of the int field that changes */
	int want;
	int warnings;
};

#define F(field) offsetof(struct gosys_knobs, field)

static const struct debug_case debug_cases[] = {
	{"schedtrace=0", F(schedtrace_ms), 0, 0},
	{"schedtrace=1000", F(schedtrace_ms), 1000, 0},
	{"schedtrace=3600000", F(schedtrace_ms), 3600000, 0},
	{"schedtrace=3600001", F(schedtrace_ms), 0, 1},
	{"schedtrace=-1", F(schedtrace_ms), 0, 1},
	{"schedtrace=", F(schedtrace_ms), 0, 1},
	{"schedtrace=1s", F(schedtrace_ms), 0, 1},
	{"stats=0", F(stats), 0, 0},
	{"stats=1", F(stats), 1, 0},
	{"stats=2", F(stats), 0, 1},
	{"stats=yes", F(stats), 0, 1},
	{"stats=", F(stats), 0, 1},
	{"stats=rel/path", F(stats), 0, 1},
	{"blockprofile=0", F(blockprofile), 0, 0},
	{"blockprofile=1", F(blockprofile), 0, 1},
	{"blockprofile=rel", F(blockprofile), 0, 1},
	{"blockprofile=", F(blockprofile), 0, 1},
	{"blockprofilerate=1", F(blockprofilerate_ns), 1, 0},
	{"blockprofilerate=0", F(blockprofilerate_ns), 1000000, 1},
	{"blockprofilerate=1000000000", F(blockprofilerate_ns), 1000000000, 0},
	{"blockprofilerate=1000000001", F(blockprofilerate_ns), 1000000, 1},
	{"asyncpreempt=0", F(asyncpreempt), 0, 0},
	{"asyncpreempt=1", F(asyncpreempt), 1, 0},
	{"asyncpreempt=2", F(asyncpreempt), 1, 1},
	{"asyncpreempt=off", F(asyncpreempt), 1, 1},
	{"asyncpreempt=+0", F(asyncpreempt), 1, 1},
	{"slice=1", F(slice_ms), 1, 0},
	{"slice=1000", F(slice_ms), 1000, 0},
	{"slice=0", F(slice_ms), 10, 1},
	{"slice=1001", F(slice_ms), 10, 1},
	{"slice=0x10", F(slice_ms), 10, 1},
	{"slice= 5", F(slice_ms), 10, 1},
	{"slice=5 ", F(slice_ms), 10, 1},
	{"slice=\xef\xbc\x95", F(slice_ms), 10, 1},
	{"slice=18446744073709551621", F(slice_ms), 10, 1},
	{"slice=4294967301", F(slice_ms), 10, 1},
	{"slice=000000000000000000000000000005", F(slice_ms), 5, 0},
	{"granularity=10", F(granularity_us), 10, 0},
	{"granularity=1000000", F(granularity_us), 1000000, 0},
	{"granularity=9", F(granularity_us), 1000, 1},
	{"granularity=1000001", F(granularity_us), 1000, 1},
	{"updatemaxprocs=0", F(updatemaxprocs), 0, 0},
	{"updatemaxprocs=1", F(updatemaxprocs), 1, 0},
	{"updatemaxprocs=true", F(updatemaxprocs), 1, 1},
	{"scheddetail=1", F(scheddetail), 1, 0},
	{"scheddetail=0", F(scheddetail), 0, 0},
	{"scheddetail=-1", F(scheddetail), 0, 1},
	/* cpus: 0 or the word maxprocs, nothing else */
	{"cpus=maxprocs", F(cpus), 1, 0},
	{"cpus=0", F(cpus), 0, 0},
	{"cpus=maxprocs,cpus=0", F(cpus), 0, 0},
	{"cpus=1", F(cpus), 0, 1},
	{"cpus=2", F(cpus), 0, 1},
	{"cpus=Maxprocs", F(cpus), 0, 1},
	{"cpus=maxprocs ", F(cpus), 0, 1},
	{"cpus=", F(cpus), 0, 1},
	{"cpus=maxprocs,cpus=x", F(cpus), 1, 1},
	/* names: exact and case-sensitive; GOSYS_MAXPROCS is not a debug name */
	{"SLICE=5", F(slice_ms), 10, 1},
	{" slice=5", F(slice_ms), 10, 1},
	{"slice =5", F(slice_ms), 10, 1},
	{"maxprocs=3", F(maxprocs), 0, 1},
	{"GOSYS_MAXPROCS=3", F(maxprocs), 0, 1},
	{"slic=5", F(slice_ms), 10, 1},
	{"slicex=5", F(slice_ms), 10, 1},
	/* structure */
	{"slice", F(slice_ms), 10, 1},
	{"=", F(slice_ms), 10, 1},
	{"=5", F(slice_ms), 10, 1},
	{"slice==5", F(slice_ms), 10, 1},
	{"slice=5=6", F(slice_ms), 10, 1},
	{",,,slice=4,,,", F(slice_ms), 4, 0},
	/* duplicates: the last good one wins, a bad one changes nothing */
	{"slice=5,slice=7", F(slice_ms), 7, 0},
	{"slice=5,slice=abc", F(slice_ms), 5, 1},
	{"slice=abc,slice=5", F(slice_ms), 5, 1},
	{"slice=5,slice=7,slice=0,slice=9999", F(slice_ms), 7, 2},
	{"asyncpreempt=0,asyncpreempt=1,asyncpreempt=0", F(asyncpreempt), 0, 0},
	/* several problems: one line each */
	{"a,b=,=c,slice=x,d=1,slice=2", F(slice_ms), 2, 5},
	{"\xff\xfe=1,\xc3\xa9=2,slice=3", F(slice_ms), 3, 2},
};

START_TEST(debug_values)
{
	for (size_t i = 0; i < GOSYS_ARRAY_SIZE(debug_cases); i++) {
		const struct debug_case *t = &debug_cases[i];
		struct gosys_knobs k, want;
		struct capture c;
		gosys__knobs_defaults(&want);
		*(int *)(void *)((char *)&want + t->off) = t->want;
		int n = parse(&k, NULL, t->in, &c);
		ck_assert_msg(n == t->warnings, "\"%s\": %d warnings, want %d: %s", t->in, n,
			      t->warnings, c.text);
		assert_knobs_eq(&k, &want);
		cap_free(&c);
	}
}
END_TEST

START_TEST(blockprofile_path)
{
	struct gosys_knobs k;
	struct capture c;
	ck_assert_int_eq(parse(&k, NULL, "blockprofile=/tmp/p.%p", &c), 0);
	ck_assert_int_eq(k.blockprofile, 1);
	ck_assert_str_eq(k.blockprofile_path, "/tmp/p.%p");
	ck_assert_str_eq(k.stats_path, ""); /* each path knob has its own buffer */
	cap_free(&c);
	ck_assert_int_eq(parse(&k, NULL, "blockprofile=/a,blockprofile=0", &c), 0);
	ck_assert_int_eq(k.blockprofile, 0);
	ck_assert_str_eq(k.blockprofile_path, "");
	cap_free(&c);
	ck_assert_int_eq(parse(&k, NULL, "blockprofile=/a,blockprofile=2", &c), 1);
	ck_assert_str_eq(c.text, "gosys: GOSYS_DEBUG: blockprofile=\"2\": not 0 or an absolute path, "
				 "keeping \"/a\"\n");
	ck_assert_str_eq(k.blockprofile_path, "/a");
	cap_free(&c);
}
END_TEST

START_TEST(stats_path)
{
	struct gosys_knobs k;
	struct capture c;
	ck_assert_int_eq(parse(&k, NULL, "stats=/tmp/gosys.stats", &c), 0);
	ck_assert_int_eq(k.stats, 1);
	ck_assert_str_eq(k.stats_path, "/tmp/gosys.stats");
	cap_free(&c);
	/* a later 0 or 1 clears the path; a later path replaces it */
	ck_assert_int_eq(parse(&k, NULL, "stats=/a,stats=0", &c), 0);
	ck_assert_int_eq(k.stats, 0);
	ck_assert_str_eq(k.stats_path, "");
	cap_free(&c);
	ck_assert_int_eq(parse(&k, NULL, "stats=/a,stats=1", &c), 0);
	ck_assert_int_eq(k.stats, 1);
	ck_assert_str_eq(k.stats_path, "");
	cap_free(&c);
	ck_assert_int_eq(parse(&k, NULL, "stats=1,stats=/b/c d", &c), 0);
	ck_assert_str_eq(k.stats_path, "/b/c d");
	cap_free(&c);
	/* 255 bytes fit, 256 do not */
	char in[600] = "stats=";
	memset(in + 6, 'p', 255);
	in[6] = '/';
	in[6 + 255] = 0;
	ck_assert_int_eq(parse(&k, NULL, in, &c), 0);
	ck_assert_uint_eq(strlen(k.stats_path), 255);
	ck_assert_int_eq(k.stats, 1);
	cap_free(&c);
	in[6 + 255] = 'p';
	in[6 + 256] = 0;
	ck_assert_int_eq(parse(&k, NULL, in, &c), 1);
	ck_assert_int_eq(k.stats, 0);
	ck_assert_str_eq(k.stats_path, "");
	ck_assert(strstr(c.text, "path longer than 255 bytes, keeping 0\n") != NULL);
	cap_free(&c);
	/* a bad value after a path keeps the path, and says so */
	expect_one(NULL, "stats=/x,stats=2",
		   "gosys: GOSYS_DEBUG: stats=\"2\": out of range 0..1, keeping \"/x\"\n");
}
END_TEST

START_TEST(warning_text)
{
	expect_one(NULL, "slice=abc",
		   "gosys: GOSYS_DEBUG: slice=\"abc\": not a decimal number, keeping 10\n");
	expect_one(NULL, "slice=5,slice=0",
		   "gosys: GOSYS_DEBUG: slice=\"0\": out of range 1..1000, keeping 5\n");
	expect_one(NULL, "granularity=",
		   "gosys: GOSYS_DEBUG: granularity=\"\": empty value, keeping 1000\n");
	expect_one(NULL, "foo=1", "gosys: GOSYS_DEBUG: unknown setting \"foo\", ignored\n");
	expect_one(NULL, "slice", "gosys: GOSYS_DEBUG: \"slice\": missing '=value', ignored\n");
	expect_one(NULL, "=7", "gosys: GOSYS_DEBUG: \"=7\": empty name, ignored\n");
	expect_one(NULL, "stats=on",
		   "gosys: GOSYS_DEBUG: stats=\"on\": not 0, 1 or an absolute path, keeping 0\n");
	expect_one(NULL, "cpus=1",
		   "gosys: GOSYS_DEBUG: cpus=\"1\": not 0 or maxprocs, keeping 0\n");
	expect_one(NULL, "cpus=maxprocs,cpus=all",
		   "gosys: GOSYS_DEBUG: cpus=\"all\": not 0 or maxprocs, keeping maxprocs\n");
	/* control bytes, quotes, backslashes and UTF-8 come out escaped */
	expect_one(NULL, "a\"\\\n\x1b\xc3\xa9=1",
		   "gosys: GOSYS_DEBUG: unknown setting \"a\\x22\\x5c\\x0a\\x1b\\xc3\\xa9\", "
		   "ignored\n");
	/* the echo is cut at 64 bytes */
	char in[200];
	memset(in, 'n', 100);
	strcpy(in + 100, "=1");
	char want[200];
	snprintf(want, sizeof want, "gosys: GOSYS_DEBUG: unknown setting \"%.*s...\", ignored\n",
		 64, in);
	expect_one(NULL, in, want);
	memset(in, '\xff', 100);
	snprintf(want, sizeof want, "gosys: GOSYS_DEBUG: unknown setting \"%s...\", ignored\n",
		 "\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff");
	expect_one(NULL, in, want);
}
END_TEST

/* A string of n bytes: repeat filled with pattern, prefixed by head. */
static char *make_long(const char *head, const char *pattern, size_t n)
{
	char *s = malloc(n + 1);
	ck_assert_ptr_nonnull(s);
	size_t hn = strlen(head), pn = strlen(pattern);
	for (size_t i = 0; i < n; i++)
		s[i] = i < hn ? head[i] : pattern[(i - hn) % pn];
	s[n] = 0;
	return s;
}

START_TEST(very_long)
{
	const size_t mb = 1 << 20;
	struct gosys_knobs k;
	struct capture c;
	static const struct {
		const char *head, *pattern;
		int warnings;
	} cases[] = {
		{"", "n", 1},			/* a 1 MB name, no '=' */
		{"", "x=", 1},			/* a 1 MB name "x=x=..." is unknown */
		{"slice=", "9", 1},		/* a 1 MB number */
		{"slice=", "0", 1},		/* 1 MB of zeros is 0: out of range */
		{"slice=", "-", 1},		/* 1 MB of garbage */
		{"stats=/", "p", 1},		/* a 1 MB path */
		{"", ",", 0},			/* 1 MB of commas */
		{"", "slice=7,", 0},		/* 131072 good items */
		{"", "\xc3\xa9", 1},		/* 1 MB of UTF-8 */
	};
	for (size_t i = 0; i < GOSYS_ARRAY_SIZE(cases); i++) {
		char *s = make_long(cases[i].head, cases[i].pattern, mb);
		ck_assert_int_eq(parse(&k, NULL, s, &c), cases[i].warnings);
		ck_assert_uint_lt(c.len, 300); /* nothing unbounded echoed */
		ck_assert_int_eq(k.slice_ms, strstr(s, "slice=7") ? 7 : 10);
		ck_assert_int_eq(k.stats, 0);
		cap_free(&c);
		/* the same bytes as GOSYS_MAXPROCS */
		ck_assert_int_eq(parse(&k, s, NULL, &c), 1);
		ck_assert_int_eq(k.maxprocs, 0);
		cap_free(&c);
		free(s);
	}
	/* 1 MB of bad items: one line each (no fd: only the count) */
	char *s = make_long("", "x,", mb);
	gosys__knobs_defaults(&k);
	ck_assert_int_eq(gosys__knobs_parse(&k, NULL, s, -1), (int)(mb / 2));
	assert_defaults(&k);
	free(s);
}
END_TEST

/* ---- random strings ---------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	/* xorshift64*: deterministic, so a failure can be replayed */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static const char *const names[] = {
	"slice", "stats", "schedtrace", "asyncpreempt", "granularity", "updatemaxprocs",
	"scheddetail", "GOSYS_MAXPROCS", "slic", "",
};
static const char *const pieces[] = {
	"=", "=", ",", ",", "0", "1", "10", "1000", "3600000", "99999999999", "-", "+",
	"/tmp/x", "/", " ", "\xff", "\xc3\xa9", "\n", "0x", "=/", "\"", "\\",
};

/* Appends p to s (n bytes so far, room for cap); returns the new length. */
static size_t append(char *s, size_t n, size_t cap, const char *p)
{
	size_t pn = strlen(p);
	if (n + pn >= cap)
		return n;
	memcpy(s + n, p, pn);
	s[n + pn] = 0;
	return n + pn;
}

/* Items of three sorts: name=piece, random pieces, random bytes but NUL. */
static void random_string(char *s, size_t cap)
{
	size_t n = 0, items = rnd() % 6;
	s[0] = 0;
	for (size_t i = 0; i < items; i++) {
		char tmp[16];
		switch (rnd() % 3) {
		case 0:
			n = append(s, n, cap, names[rnd() % GOSYS_ARRAY_SIZE(names)]);
			n = append(s, n, cap, "=");
			n = append(s, n, cap, pieces[4 + rnd() % 8]);
			break;
		case 1:
			for (size_t j = rnd() % 4; j > 0; j--)
				n = append(s, n, cap, pieces[rnd() % GOSYS_ARRAY_SIZE(pieces)]);
			break;
		default:
			for (size_t j = 0, k = 1 + rnd() % 8; j <= k; j++)
				tmp[j] = j == k ? 0 : (char)(1 + rnd() % 255);
			n = append(s, n, cap, tmp);
			break;
		}
		n = append(s, n, cap, ",");
	}
}

/* check's asserts report every pass through a pipe; in a loop of 20000 that
 * is most of the run (under valgrind, most of the timeout). Fail the same
 * way, pass silently. */
#define CHEAP_ASSERT(c)                                                          \
	do {                                                                     \
		if (!(c))                                                        \
			ck_abort_msg("assertion failed: %s", #c);                \
	} while (0)

static void assert_in_ranges(const struct gosys_knobs *k)
{
	CHEAP_ASSERT(k->maxprocs == 0 || (k->maxprocs >= 1 && k->maxprocs <= 1024));
	CHEAP_ASSERT(k->schedtrace_ms >= 0 && k->schedtrace_ms <= 3600000);
	CHEAP_ASSERT(k->stats == 0 || k->stats == 1);
	CHEAP_ASSERT(k->asyncpreempt == 0 || k->asyncpreempt == 1);
	CHEAP_ASSERT(k->slice_ms >= 1 && k->slice_ms <= 1000);
	CHEAP_ASSERT(k->granularity_us >= 10 && k->granularity_us <= 1000000);
	CHEAP_ASSERT(k->updatemaxprocs == 0 || k->updatemaxprocs == 1);
	CHEAP_ASSERT(k->scheddetail == 0 || k->scheddetail == 1);
	size_t pl = strnlen(k->stats_path, sizeof k->stats_path);
	CHEAP_ASSERT(pl < sizeof k->stats_path);
	if (pl) {
		CHEAP_ASSERT(k->stats_path[0] == '/');
		CHEAP_ASSERT(k->stats == 1);
		CHEAP_ASSERT(strchr(k->stats_path, ',') == NULL);
	}
}

START_TEST(fuzz)
{
	/* No reader thread here: each parse writes far less than the pipe
	 * holds, and the lines are drained and checked after it. */
	int fd[2];
	ck_assert_int_eq(pipe2(fd, O_CLOEXEC | O_NONBLOCK), 0);
	int nonzero = 0, changed = 0;
	for (int i = 0; i < 20000; i++) {
		char a[128], b[128], out[65536];
		random_string(a, sizeof a);
		random_string(b, sizeof b);
		struct gosys_knobs k, d;
		gosys__knobs_defaults(&k);
		gosys__knobs_defaults(&d);
		int n = gosys__knobs_parse(&k, i % 3 ? NULL : a, b, fd[1]);
		ssize_t got = read(fd[0], out, sizeof out);
		int lines = 0;
		for (ssize_t j = 0, start = 0; j < got; j++) {
			if (out[j] != '\n')
				continue;
			CHEAP_ASSERT(strncmp(out + start, "gosys: ", 7) == 0);
			lines++;
			start = j + 1;
		}
		CHEAP_ASSERT(lines == n);
		nonzero += n > 0;
		changed += memcmp(&k, &d, sizeof k) != 0;
		assert_in_ranges(&k);
	}
	close(fd[0]);
	close(fd[1]);
	/* the generator reaches both outcomes often */
	ck_assert_int_gt(nonzero, 1000);
	ck_assert_int_gt(changed, 1000);
}
END_TEST

/* ---- the environment, read once ---------------------------------------------- */

extern char **environ;

static void *init_thread(void *arg)
{
	pthread_barrier_wait(arg);
	gosys__knobs_init();
	/* whoever returns sees the final values */
	ck_assert_int_eq(gosys__knobs.slice_ms, 5);
	return NULL;
}

START_TEST(init_once)
{
	static char *env[] = {
		"HOME=/root",
		"GOSYS_DEBUGGER=slice=99",	     /* a longer name: not ours */
		"GOSYS_DEBUG=slice=5,bogus=1,stats=/tmp/s",
		"GOSYS_DEBUG=slice=6",		     /* only the first counts, as getenv */
		"GOSYS_MAXPROCSX=7",
		"GOSYS_MAXPROCS=3",
		NULL,
	};
	environ = env;
	struct capture c;
	cap_start(&c);
	int saved = dup(2);
	dup2(c.fd[1], 2);
	close(c.fd[1]);
	c.fd[1] = dup(2);
	pthread_barrier_t go;
	pthread_t t[4];
	pthread_barrier_init(&go, NULL, 5);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, init_thread, &go);
	pthread_barrier_wait(&go);
	gosys__knobs_init();
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	/* a second call, with another environment, reads nothing */
	static char *env2[] = {"GOSYS_DEBUG=slice=9,again=1", NULL};
	environ = env2;
	gosys__knobs_init();
	dup2(saved, 2);
	close(saved);
	ck_assert_int_eq(cap_finish(&c), 1);
	ck_assert_str_eq(c.text, "gosys: GOSYS_DEBUG: unknown setting \"bogus\", ignored\n");
	ck_assert_int_eq(gosys__knobs.slice_ms, 5);
	ck_assert_int_eq(gosys__knobs.maxprocs, 3);
	ck_assert_int_eq(gosys__knobs.stats, 1);
	ck_assert_str_eq(gosys__knobs.stats_path, "/tmp/s");
	ck_assert_int_eq(gosys__knobs.asyncpreempt, 1);
	cap_free(&c);
}
END_TEST

START_TEST(init_empty_env)
{
	static char *env[] = {"PATH=/bin", "GOSYS_DEBUG", "GOSYS_MAXPROCS", NULL};
	environ = env;
	gosys__knobs_init();
	assert_defaults(&gosys__knobs);
}
END_TEST

START_TEST(init_null_environ)
{
	environ = NULL;
	gosys__knobs_init();
	assert_defaults(&gosys__knobs);
}
END_TEST

/* Before libc sets environ the knobs come from /proc/self/environ, the
 * environment this process was started with: PATH is in it, unchanged. */
START_TEST(env_fallback)
{
	const char *path = getenv("PATH");
	ck_assert_ptr_nonnull(path);
	char want[4096];
	snprintf(want, sizeof want, "%s", path);
	ck_assert_str_eq(gosys__knobs_env_value("PATH"), want);
	char **saved = environ;
	environ = NULL;
	const char *got = gosys__knobs_env_value("PATH");
	const char *prefix = gosys__knobs_env_value("PAT");
	const char *none = gosys__knobs_env_value("GOSYS_NO_SUCH_VARIABLE_ANYWHERE");
	environ = saved;
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, want);
	ck_assert_ptr_null(prefix);
	ck_assert_ptr_null(none);
}
END_TEST

static Suite *knobs_suite(void)
{
	Suite *s = suite_create("knobs");
	TCase *tc = t_case(s, "parse", 30);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, maxprocs_values);
	tcase_add_test(tc, debug_values);
	tcase_add_test(tc, stats_path);
	tcase_add_test(tc, blockprofile_path);
	tcase_add_test(tc, warning_text);
	tc = t_case(s, "long", 60);
	tcase_add_test(tc, very_long);
	tc = t_case(s, "fuzz", 60);
	tcase_add_test(tc, fuzz);
	tc = t_case(s, "init", 30);
	tcase_add_test(tc, init_once);
	tcase_add_test(tc, init_empty_env);
	tcase_add_test(tc, init_null_environ);
	tcase_add_test(tc, env_fallback);
	return s;
}

T_MAIN(knobs_suite)
