/* SPDX-License-Identifier: MIT */
/*
 * throw.c - warnings, fatal errors and assertion failures.
 * Raw write(2) only: no stdio, no malloc, safe in a signal handler and on the
 * monitor thread. Never touches errno (the raw stubs do not set it).
 */
#include "internal.h"
#include <stdarg.h>
#include <sys/syscall.h>

void gosys__write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		long r = __gosys_syscall3(SYS_write, fd, (long)p, (long)n);
		if (r == -4 /* EINTR */)
			continue;
		if (r <= 0)
			return;
		p += r;
		n -= (size_t)r;
	}
}

static size_t append(char *buf, size_t pos, size_t cap, const char *s)
{
	while (*s && pos < cap)
		buf[pos++] = *s++;
	return pos;
}

int gosys__fmt_long(char *buf, long long v)
{
	char tmp[24];
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	int n = 0, len = 0;
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		buf[len++] = '-';
	while (n)
		buf[len++] = tmp[--n];
	buf[len] = 0;
	return len;
}

void gosys__warnv(const char *first, ...)
{
	char buf[512];
	size_t pos = append(buf, 0, sizeof buf - 1, "gosys: ");
	va_list ap;
	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *))
		pos = append(buf, pos, sizeof buf - 1, s);
	va_end(ap);
	buf[pos++] = '\n';
	gosys__write_all(2, buf, pos);
}

void gosys__warn(const char *msg)
{
	gosys__warnv(msg, (char *)0);
}

static __attribute__((noreturn)) void die(void)
{
	/* abort() may run the program's SIGABRT handler; that is what Go's throw
	 * does not do, so trap instead, leaving a core for the debugger. */
	long pid = __gosys_syscall0(SYS_getpid);
	long tid = __gosys_syscall0(SYS_gettid);
	__gosys_syscall3(SYS_tgkill, pid, tid, SIGABRT);
	__builtin_trap();
}

void gosys_throw(const char *msg)
{
	gosys__warnv("fatal error: ", msg, (char *)0);
	die();
}

void gosys__assert_fail(const char *file, int line, const char *expr, long long a, long long b)
{
	char l[24], sa[24], sb[24];
	gosys__fmt_long(l, line);
	gosys__fmt_long(sa, a);
	gosys__fmt_long(sb, b);
	gosys__warnv("assertion failed at ", file, ":", l, ": ", expr, " (", sa, " vs ", sb, ")",
		     (char *)0);
	die();
}
