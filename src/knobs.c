/* SPDX-License-Identifier: MIT */
/*
 * knobs.c - GOSYS_MAXPROCS and GOSYS_DEBUG=name=value,..., read once from the
 * environment through one name -> field table. Any bytes are accepted: a bad
 * item costs one "gosys:" line and leaves the field as it was. Never mallocs,
 * never uses stdio, getenv or strtol; warnings go out with one raw write.
 */
#include "internal.h"
#include <string.h>
#include <fcntl.h>
#include <errno.h>
#include <sys/syscall.h>

/*
 * The one list of knobs. Each row: kind, name, field, default, min, max.
 * ENV rows are environment variables of their own (not GOSYS_DEBUG names);
 * STATS takes 0, 1 or an absolute path, PATH takes 0 or an absolute path
 * (each has its own buffer, knob_path), MODE takes 0 or one word (the field
 * is the word's index + 1, knob_words). The table and the static defaults
 * below are both generated from this list, so nothing is listed twice.
 */
#define GOSYS_KNOB_LIST(X)                                                    \
	X(ENV, "GOSYS_MAXPROCS", maxprocs, 0, 1, 1024)                        \
	X(INT, "schedtrace", schedtrace_ms, 0, 0, 3600000)                    \
	X(STATS, "stats", stats, 0, 0, 1)                                     \
	X(INT, "asyncpreempt", asyncpreempt, 1, 0, 1)                         \
	X(INT, "slice", slice_ms, 10, 1, 1000)                                \
	X(INT, "granularity", granularity_us, 1000, 10, 1000000)              \
	X(INT, "updatemaxprocs", updatemaxprocs, 1, 0, 1)                     \
	X(INT, "scheddetail", scheddetail, 0, 0, 1)                            \
	X(INT, "quotapace", quotapace, 90, 0, 100)                            \
	X(INT, "pacecpus", pacecpus, 0, 0, 1024000)                           \
	X(INT, "cpubound", cpubound, 0, 0, 1)                                 \
	X(MODE, "cpus", cpus, 0, 0, 1)                                        \
	X(PATH, "blockprofile", blockprofile, 0, 0, 0)                        \
	X(INT, "blockprofilerate", blockprofilerate_ns, 1000000, 1, 1000000000)

enum knob_kind { KIND_ENV, KIND_INT, KIND_STATS, KIND_PATH, KIND_MODE };

struct knob {
	const char *name;
	unsigned char kind;
	int def, min, max;
	size_t off; /* of the int field in struct gosys_knobs */
};

#define KNOB_ROW(kind, name, field, def, lo, hi)                               \
	{name, KIND_##kind, def, lo, hi, offsetof(struct gosys_knobs, field)},
static const struct knob knob_table[] = {GOSYS_KNOB_LIST(KNOB_ROW)};
/* GOSYS_MAXPROCS is the list's first row. */
#define MAXPROCS_ROW (&knob_table[0])

/* Written once by gosys__knobs_init() (under init_state), read-only after. */
#define KNOB_DEFAULT(kind, name, field, def, lo, hi) .field = def,
struct gosys_knobs gosys__knobs = {GOSYS_KNOB_LIST(KNOB_DEFAULT)};

/* 0 = not read yet, 1 = being read, 2 = done. */
static uint32_t init_state;

extern char **environ;

static int *knob_field(struct gosys_knobs *k, const struct knob *row)
{
	return (int *)(void *)((char *)k + row->off);
}

/* The path buffer of a STATS or PATH row (both GOSYS_PATH_MAX bytes), else NULL. */
static char *knob_path(struct gosys_knobs *k, const struct knob *row)
{
	if (row->kind == KIND_STATS)
		return k->stats_path;
	if (row->kind == KIND_PATH)
		return k->blockprofile_path;
	return NULL;
}

/* The words a MODE row takes besides 0 (NULL-terminated); its only row is cpus. */
static const char *const *knob_words(const struct knob *row)
{
	static const char *const cpus_words[] = {"maxprocs", NULL};
	return row->kind == KIND_MODE ? cpus_words : NULL;
}

void gosys__knobs_defaults(struct gosys_knobs *k)
{
	memset(k, 0, sizeof *k);
	for (size_t i = 0; i < GOSYS_ARRAY_SIZE(knob_table); i++)
		*knob_field(k, &knob_table[i]) = knob_table[i].def;
}

/* ---- one warning line, built on the stack, one raw write ------------------ */

#define QUOTE_MAX 64 /* bytes of the user's text a warning may echo */

struct line {
	char buf[400];
	size_t len;
};

static void put_bytes(struct line *l, const char *s, size_t n)
{
	size_t room = sizeof l->buf - 1 - l->len; /* keep one byte for '\n' */
	if (n > room)
		n = room;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void put(struct line *l, const char *s)
{
	put_bytes(l, s, strlen(s));
}

static void put_int(struct line *l, long long v)
{
	char num[24];
	put_bytes(l, num, (size_t)gosys__fmt_long(num, v));
}

/*
 * The user's bytes between double quotes: printable ASCII as is, anything
 * else (control bytes, UTF-8, quotes, backslashes) as \xNN, so the warning
 * stays one line of plain text; cut after QUOTE_MAX output bytes with "...".
 */
static void put_quoted(struct line *l, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t out = 0;
	put(l, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[4];
		size_t w = 1;
		esc[0] = (char)c;
		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hex[c >> 4];
			esc[3] = hex[c & 15];
			w = 4;
		}
		if (out + w > QUOTE_MAX) {
			put(l, "...");
			break;
		}
		put_bytes(l, esc, w);
		out += w;
	}
	put(l, "\"");
}

static void emit(struct line *l, int fd)
{
	l->buf[l->len++] = '\n';
	if (fd < 0)
		return;
	gosys__write_all(fd, l->buf, l->len);
}

/* ---- values ---------------------------------------------------------------- */

/* Values at or above this are out of every range; the parser stops growing. */
#define DEC_SATURATED 10000000000LL

/*
 * A plain decimal number: one or more ASCII digits and nothing else (no sign,
 * no '+', no spaces, no hex). Saturates instead of overflowing, so any length
 * is safe. Returns 0 and *out, or -1.
 */
static int parse_decimal(const char *s, size_t n, long long *out)
{
	long long v = 0;
	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(unsigned char)s[i] - '0';
		if (d > 9)
			return -1;
		if (v < DEC_SATURATED)
			v = v * 10 + d;
	}
	*out = v;
	return 0;
}

struct parse_ctx {
	struct gosys_knobs *k;
	int warnfd;
	int nwarn;
};

/* Starts a warning about a value given to row: gosys: [GOSYS_DEBUG: ]name="v": */
static void value_warning(struct line *l, const struct knob *row, const char *v, size_t vn)
{
	l->len = 0;
	put(l, row->kind == KIND_ENV ? "gosys: " : "gosys: GOSYS_DEBUG: ");
	put(l, row->name);
	put(l, "=");
	put_quoted(l, v, vn);
	put(l, ": ");
}

/* Ends it with what happens instead, and sends it. */
static void value_warning_end(struct parse_ctx *c, struct line *l, const struct knob *row)
{
	if (row->kind == KIND_ENV) {
		put(l, ", ignored");
	} else if (knob_path(c->k, row) && knob_path(c->k, row)[0]) {
		put(l, ", keeping ");
		put_quoted(l, knob_path(c->k, row), strlen(knob_path(c->k, row)));
	} else if (knob_words(row) && *knob_field(c->k, row) > 0) {
		put(l, ", keeping ");
		put(l, knob_words(row)[*knob_field(c->k, row) - 1]);
	} else {
		put(l, ", keeping ");
		put_int(l, *knob_field(c->k, row));
	}
	emit(l, c->warnfd);
	c->nwarn++;
}

/* Applies v (vn bytes) to row's field, or warns and leaves it alone. */
static void set_value(struct parse_ctx *c, const struct knob *row, const char *v, size_t vn)
{
	struct line l;
	long long n = 0;
	char *path = knob_path(c->k, row);
	const char *const *words = knob_words(row);
	for (int i = 0; words && words[i]; i++) {
		if (strlen(words[i]) == vn && memcmp(words[i], v, vn) == 0) {
			*knob_field(c->k, row) = i + 1;
			return;
		}
	}
	if (path && vn > 0 && v[0] == '/') {
		if (vn < GOSYS_PATH_MAX) {
			memcpy(path, v, vn);
			path[vn] = 0;
			*knob_field(c->k, row) = 1;
			return;
		}
		value_warning(&l, row, v, vn);
		put(&l, "path longer than ");
		put_int(&l, (long long)GOSYS_PATH_MAX - 1);
		put(&l, " bytes");
	} else if (vn == 0) {
		value_warning(&l, row, v, vn);
		put(&l, "empty value");
	} else if (parse_decimal(v, vn, &n) < 0 ||
		   ((row->kind == KIND_PATH || row->kind == KIND_MODE) && n != 0)) {
		value_warning(&l, row, v, vn);
		put(&l, row->kind == KIND_STATS  ? "not 0, 1 or an absolute path"
			: row->kind == KIND_PATH ? "not 0 or an absolute path"
			: row->kind == KIND_MODE ? "not 0 or maxprocs"
						 : "not a decimal number");
	} else if (n < row->min || n > row->max) {
		value_warning(&l, row, v, vn);
		put(&l, "out of range ");
		put_int(&l, row->min);
		put(&l, "..");
		put_int(&l, row->max);
	} else {
		*knob_field(c->k, row) = (int)n;
		if (path)
			path[0] = 0;
		return;
	}
	value_warning_end(c, &l, row);
}

/* A GOSYS_DEBUG item that names nothing we know, or has no '='. */
static void item_warning(struct parse_ctx *c, const char *what, const char *s, size_t n,
			 const char *tail)
{
	struct line l;
	l.len = 0;
	put(&l, "gosys: GOSYS_DEBUG: ");
	put(&l, what);
	put_quoted(&l, s, n);
	put(&l, tail);
	emit(&l, c->warnfd);
	c->nwarn++;
}

static const struct knob *debug_row(const char *name, size_t n)
{
	for (size_t i = 0; i < GOSYS_ARRAY_SIZE(knob_table); i++) {
		const struct knob *row = &knob_table[i];
		if (row->kind != KIND_ENV && strlen(row->name) == n &&
		    memcmp(row->name, name, n) == 0)
			return row;
	}
	return NULL;
}

/* One item of GOSYS_DEBUG, s[0..n) with no ','. Empty items are skipped. */
static void parse_item(struct parse_ctx *c, const char *s, size_t n)
{
	if (n == 0)
		return;
	const char *eq = memchr(s, '=', n);
	if (!eq) {
		item_warning(c, "", s, n, ": missing '=value', ignored");
		return;
	}
	size_t nn = (size_t)(eq - s);
	if (nn == 0) {
		item_warning(c, "", s, n, ": empty name, ignored");
		return;
	}
	const struct knob *row = debug_row(s, nn);
	if (!row) {
		item_warning(c, "unknown setting ", s, nn, ", ignored");
		return;
	}
	set_value(c, row, eq + 1, n - nn - 1);
}

int gosys__knobs_parse(struct gosys_knobs *k, const char *maxprocs, const char *debug,
		       int warnfd)
{
	struct parse_ctx c = {k, warnfd, 0};
	if (maxprocs)
		set_value(&c, MAXPROCS_ROW, maxprocs, strlen(maxprocs));
	if (debug) {
		const char *p = debug;
		for (;;) {
			const char *end = strchr(p, ',');
			size_t n = end ? (size_t)(end - p) : strlen(p);
			parse_item(&c, p, n);
			if (!end)
				break;
			p = end + 1;
		}
	}
	return c.nwarn;
}

/* The value of the first "name=" in environ, or NULL; no getenv lock. */
/*
 * Before libc has set environ (our constructor can be reached from another
 * runtime's start-up, as ASan's calls read and sigaction), the kernel's copy
 * in /proc/self/environ is read instead: raw syscalls into a static buffer,
 * used once, under init_state.
 */
static char proc_env[65536];
static size_t proc_env_len;

static const char *proc_env_value(const char *name, size_t n)
{
	if (!proc_env_len) {
		long fd = __gosys_syscall4(SYS_openat, AT_FDCWD, (long)"/proc/self/environ",
					   O_RDONLY | O_CLOEXEC, 0);
		if (GOSYS_IS_ERR(fd))
			return NULL;
		size_t len = 0;
		for (;;) {
			long r = __gosys_syscall3(SYS_read, fd, (long)(proc_env + len),
						  (long)(sizeof proc_env - 1 - len));
			if (r == -EINTR)
				continue;
			if (r <= 0)
				break;
			len += (size_t)r;
			if (len == sizeof proc_env - 1)
				break; /* an entry cut here is only looked at up to the cut */
		}
		__gosys_syscall1(SYS_close, fd);
		proc_env[len] = 0;
		proc_env_len = len ? len : 1;
	}
	for (size_t i = 0; i < proc_env_len;) {
		const char *e = proc_env + i;
		size_t l = strnlen(e, proc_env_len - i);
		if (l > n && strncmp(e, name, n) == 0 && e[n] == '=')
			return e + n + 1;
		i += l + 1;
	}
	return NULL;
}

static const char *env_value(const char *name)
{
	size_t n = strlen(name);
	char **ep = environ;
	if (!ep)
		return proc_env_value(name, n);
	for (; *ep; ep++) {
		if (strncmp(*ep, name, n) == 0 && (*ep)[n] == '=')
			return *ep + n + 1;
	}
	return NULL;
}

const char *gosys__knobs_env_value(const char *name)
{
	return env_value(name);
}

void gosys__knobs_init(void)
{
	uint32_t st = __atomic_load_n(&init_state, __ATOMIC_ACQUIRE);
	if (GOSYS_LIKELY(st == 2))
		return;
	st = 0;
	if (!__atomic_compare_exchange_n(&init_state, &st, 1, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		/* Another thread is reading: the values are not ours to use yet. */
		while (__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) != 2)
			__gosys_syscall0(SYS_sched_yield);
		return;
	}
	struct gosys_knobs k;
	gosys__knobs_defaults(&k);
	gosys__knobs_parse(&k, env_value(MAXPROCS_ROW->name), env_value("GOSYS_DEBUG"), 2);
	gosys__knobs = k;
	__atomic_store_n(&init_state, 2, __ATOMIC_RELEASE);
}
