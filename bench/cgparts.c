/* SPDX-License-Identifier: MIT */
/*
 * cgparts.c - a preloaded call's instructions, part by part (cgparts.h).
 *
 * callgrind charges each instruction to a function and a source line; code
 * inlined from a header keeps the header's file and line. So a line of a
 * header is charged to the function it lies in there (found by reading the
 * source file back), and a line of the generated wrappers (calls.gen.c) to
 * what that line does (found by the names on it). Each part then says what
 * it buys; a part nobody named is reported as such, and b_preload counts it
 * a miss: every instruction on the path is one somebody chose.
 */
#include "cgparts.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- one run: self cost per (function, file, line) ---------------------- */

struct cg_line {
	char *fn, *file; /* interned: compared by address */
	long line;
	double ir;
};

struct cg_run {
	struct cg_line *v;
	size_t n, cap;
	char **strs;
	size_t nstrs, capstrs;
	double total;
	/* hash of (fn, file, line) -> index in v; 0 empty, else index + 1 */
	size_t *hash;
	size_t hcap;
};

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);
	if (!q) {
		fprintf(stderr, "cgparts: out of memory\n");
		exit(1);
	}
	return q;
}

static char *intern(struct cg_run *r, const char *s)
{
	for (size_t i = 0; i < r->nstrs; i++)
		if (!strcmp(r->strs[i], s))
			return r->strs[i];
	if (r->nstrs == r->capstrs) {
		r->capstrs = r->capstrs ? 2 * r->capstrs : 256;
		r->strs = xrealloc(r->strs, r->capstrs * sizeof *r->strs);
	}
	size_t len = strlen(s) + 1;
	char *c = xrealloc(NULL, len);
	memcpy(c, s, len);
	return r->strs[r->nstrs++] = c;
}

static size_t strhash(const char *s)
{
	size_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* By content, so that a line of one run is found in another. */
static size_t hkey(const char *fn, const char *file, long line, size_t cap)
{
	size_t h = strhash(fn) * 31 + strhash(file) * 17 + (size_t)line;
	h ^= h >> 29;
	return h & (cap - 1);
}

static void rehash(struct cg_run *r)
{
	r->hcap = r->hcap ? 2 * r->hcap : 4096;
	free(r->hash);
	r->hash = xrealloc(NULL, r->hcap * sizeof *r->hash);
	memset(r->hash, 0, r->hcap * sizeof *r->hash);
	for (size_t i = 0; i < r->n; i++) {
		size_t h = hkey(r->v[i].fn, r->v[i].file, r->v[i].line, r->hcap);
		while (r->hash[h])
			h = (h + 1) & (r->hcap - 1);
		r->hash[h] = i + 1;
	}
}

static const struct cg_line *find(const struct cg_run *r, const char *fn, const char *file,
				  long line)
{
	if (!r->hcap)
		return NULL;
	size_t h = hkey(fn, file, line, r->hcap);
	while (r->hash[h]) {
		const struct cg_line *l = &r->v[r->hash[h] - 1];
		if (l->line == line && !strcmp(l->fn, fn) && !strcmp(l->file, file))
			return l;
		h = (h + 1) & (r->hcap - 1);
	}
	return NULL;
}

static void add(struct cg_run *r, char *fn, char *file, long line, double ir)
{
	if (2 * (r->n + 1) > r->hcap)
		rehash(r);
	size_t h = hkey(fn, file, line, r->hcap);
	while (r->hash[h]) {
		struct cg_line *l = &r->v[r->hash[h] - 1];
		if (l->fn == fn && l->file == file && l->line == line) {
			l->ir += ir;
			return;
		}
		h = (h + 1) & (r->hcap - 1);
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 4096;
		r->v = xrealloc(r->v, r->cap * sizeof *r->v);
	}
	r->v[r->n] = (struct cg_line){ fn, file, line, ir };
	r->hash[h] = ++r->n;
}

/*
 * "fl=" names the function's file, "fi="/"fe=" the file of the lines that
 * follow (inlined code), "fn=" the function; "POS COST" is a line's own
 * cost; the line after "calls=" is a callee's inclusive cost (not self).
 */
struct cg_run *cg_load(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	struct cg_run *r = xrealloc(NULL, sizeof *r);
	memset(r, 0, sizeof *r);
	char line[4096];
	char *fn = NULL, *fl = intern(r, "?"), *file = fl;
	int after_calls = 0;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "fl=", 3)) {
			fl = file = intern(r, line + 3);
		} else if (!strncmp(line, "fi=", 3) || !strncmp(line, "fe=", 3)) {
			file = intern(r, line + 3);
		} else if (!strncmp(line, "fn=", 3)) {
			fn = intern(r, line + 3);
			file = fl;
			after_calls = 0;
		} else if (!strncmp(line, "calls=", 6)) {
			after_calls = 1;
		} else if (line[0] >= '0' && line[0] <= '9') {
			if (after_calls) {
				after_calls = 0;
				continue;
			}
			char *end;
			long ln = strtol(line, &end, 10);
			if (fn && *end == ' ') {
				double c = strtod(end + 1, NULL);
				add(r, fn, file, ln, c);
				r->total += c;
			}
		}
	}
	fclose(f);
	return r;
}

double cg_total(const struct cg_run *r)
{
	return r->total;
}

void cg_free(struct cg_run *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nstrs; i++)
		free(r->strs[i]);
	free(r->strs);
	free(r->v);
	free(r->hash);
	free(r);
}

/* ---- naming the parts ---------------------------------------------------- */

/* What each part buys. Header functions by name; wrapper lines by what
 * they do. */
static const struct {
	const char *part, *buys;
} buys[] = {
	{ "main", "the loop itself, as plain" },
	{ "gosys__enter_fast", "entry: the M in user code with nothing asked (incall, preempt, "
			       "status); tick for the monitor's look; entry_sp for nested calls" },
	{ "gosys__enter_lazy_store", "status SYSCALL: the P may be retaken (I2); a handler "
				     "deferred before it is owed now" },
	{ "gosys__exit_fast", "exit: status CAS against a retake, the P still ours (I1), "
			      "a handler deferred in the call is owed now" },
	{ "__gosys_stack_here", "entry_sp for nested calls (one mov)" },
	{ "gosys__pl_fdnotlazy", "the call's class: fd kind from the cache (pipe, socket eager)" },
	{ "gosys__pl_seterr", "errno as libc sets it" },
	{ "__gosys_syscall0", "the system call, as libc's" },
	{ "__gosys_syscall1", "the system call, as libc's" },
	{ "__gosys_syscall2", "the system call, as libc's" },
	{ "__gosys_syscall3", "the system call, as libc's" },
	{ "wrapper: the stats switch", "GOSYS_DEBUG=stats off: a load, a test, a branch" },
	{ "wrapper: guards", "not inside dlsym; the class known LAZY; not nested in a cancel "
			     "point" },
	{ "wrapper: the thread's M", "one TLS load" },
	{ "wrapper: cancellation point", "pthread_cancel still reaches a thread in this call" },
	{ "wrapper: EINTR and the exit", "our own preemption signal's EINTR is redone" },
	{ "wrapper: frame and return", "return; at most one callee-saved register" },
	{ "wrapper: the system call", "its arguments, as libc's" },
};

static const char *buys_of(const char *part)
{
	for (size_t i = 0; i < sizeof buys / sizeof buys[0]; i++)
		if (!strcmp(buys[i].part, part))
			return buys[i].buys;
	return NULL;
}

/* A source file read back, one line per entry, cached by path. */
struct src {
	const char *path;
	char **lines;
	long n;
};
static struct src srcs[32];
static int nsrcs;

static const struct src *src_of(const char *path)
{
	for (int i = 0; i < nsrcs; i++)
		if (srcs[i].path == path)
			return &srcs[i];
	if (nsrcs == 32)
		return NULL;
	struct src *s = &srcs[nsrcs++];
	s->path = path;
	s->lines = NULL;
	s->n = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return s;
	char buf[4096];
	long cap = 0;
	while (fgets(buf, sizeof buf, f)) {
		if (s->n == cap) {
			cap = cap ? 2 * cap : 1024;
			s->lines = xrealloc(s->lines, (size_t)cap * sizeof *s->lines);
		}
		size_t len = strlen(buf) + 1;
		s->lines[s->n] = xrealloc(NULL, len);
		memcpy(s->lines[s->n++], buf, len);
	}
	fclose(f);
	return s;
}

static int is_ident(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* The function a line of a C file lies in: the nearest line above it that
 * starts a definition at column 0, and the first name there followed by "("
 * that is not an attribute. */
static int enclosing(const struct src *s, long line, char *out, size_t outsz)
{
	for (long i = line - 1; i >= 0 && i < s->n; i--) {
		const char *l = s->lines[i];
		if (!is_ident((unsigned char)l[0]) || !strchr(l, '('))
			continue;
		for (const char *p = strchr(l, '('); p; p = strchr(p + 1, '(')) {
			const char *e = p, *b = p;
			while (b > l && is_ident((unsigned char)b[-1]))
				b--;
			if (b == e || (e - b == 13 && !strncmp(b, "__attribute__", 13)))
				continue;
			size_t len = (size_t)(e - b) < outsz - 1 ? (size_t)(e - b) : outsz - 1;
			memcpy(out, b, len);
			out[len] = 0;
			return 1;
		}
		return 0;
	}
	return 0;
}

/* What a line of the generated wrappers does, by the names on it. */
static const char *wrapper_part(const char *text)
{
	static const struct {
		const char *has, *part;
	} by[] = {
		{ "gosys__stats_on", "wrapper: the stats switch" },
		{ "gosys__pl_resolving", "wrapper: guards" },
		{ "gosys__curm", "wrapper: the thread's M" },
		{ "gosys__pl_cp", "wrapper: cancellation point" },
		{ "gosys__pl_cancel_on", "wrapper: cancellation point" },
		{ "g_done", "wrapper: EINTR and the exit" },
		{ "-EINTR", "wrapper: EINTR and the exit" },
		{ "gosys__enter_lazy_store", "gosys__enter_lazy_store" },
		{ "__gosys_syscall", "wrapper: the system call" },
		{ "return", "wrapper: frame and return" },
	};
	for (size_t i = 0; i < sizeof by / sizeof by[0]; i++)
		if (strstr(text, by[i].has))
			return by[i].part;
	const char *t = text + strspn(text, " \t");
	if (*t == '{' || *t == '}')
		return "wrapper: frame and return";
	return NULL;
}

static void part_name(const struct cg_line *l, char *out, size_t outsz)
{
	const char *base = strrchr(l->file, '/');
	base = base ? base + 1 : l->file;
	if (!strcmp(l->fn, "main")) {
		snprintf(out, outsz, "main");
		return;
	}
	const struct src *s = src_of(l->file);
	if (s && l->line >= 1 && l->line <= s->n) {
		if (!strcmp(base, "calls.gen.c")) {
			const char *p = wrapper_part(s->lines[l->line - 1]);
			if (p) {
				snprintf(out, outsz, "%s", p);
				return;
			}
		} else if (enclosing(s, l->line, out, outsz)) {
			return;
		}
	}
	snprintf(out, outsz, "%s (%s:%ld)", l->fn, base, l->line);
}

int cg_parts(const struct cg_run *a, long n0, const struct cg_run *b, long n1,
	     struct cg_part *out, int max, double *sum)
{
	int np = 0;
	*sum = 0;
	for (size_t i = 0; i < b->n; i++) {
		const struct cg_line *l = &b->v[i];
		const struct cg_line *was = find(a, l->fn, l->file, l->line);
		double before = was ? was->ir : 0;
		double d = (l->ir - before) / (double)(n1 - n0);
		if (d < 0.5 && d > -0.5)
			continue; /* start-up, or less than one instruction a call */
		char name[96];
		part_name(l, name, sizeof name);
		int k;
		for (k = 0; k < np; k++)
			if (!strcmp(out[k].name, name))
				break;
		if (k == np) {
			if (np == max)
				continue;
			snprintf(out[np].name, sizeof out[np].name, "%s", name);
			out[np].buys = buys_of(name);
			out[np].insns = 0;
			np++;
		}
		out[k].insns += d;
		*sum += d;
	}
	return np;
}
