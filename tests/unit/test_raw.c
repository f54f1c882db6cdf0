/* SPDX-License-Identifier: MIT */
/*
 * Description: the raw system call layer. Go's (r1, r2, err) rules at every
 * error boundary, rdx carried in r2, six-argument calls, errno untouched,
 * and the generated name <-> number table.
 */
#include "internal.h"
#include "tcheck.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

START_TEST(raw_success)
{
	struct gosys_ret r = gosys_rawsyscall(SYS_getpid, 0, 0, 0);
	ck_assert_int_eq(r.err, 0);
	ck_assert_int_eq((long)r.r1, (long)getpid());
	r = gosys_rawsyscall(SYS_gettid, 0, 0, 0);
	ck_assert_int_eq((long)r.r1, (long)syscall(SYS_gettid));
}
END_TEST

START_TEST(raw_error)
{
	/* close(-1) fails with EBADF. */
	struct gosys_ret r = gosys_rawsyscall(SYS_close, (uintptr_t)-1, 0, 0);
	ck_assert_uint_eq(r.r1, (uintptr_t)-1);
	ck_assert_uint_eq(r.r2, 0);
	ck_assert_int_eq(r.err, EBADF);
	/* an unknown system call number: ENOSYS */
	r = gosys_rawsyscall6(100000, 0, 0, 0, 0, 0, 0);
	ck_assert_int_eq(r.err, ENOSYS);
}
END_TEST

START_TEST(err_boundaries)
{
	/* The conversion alone, at the edges of [-4095, -1]. */
	struct gosys_ret r = gosys__mkret(-1, 7);
	ck_assert_int_eq(r.err, 1);
	ck_assert_uint_eq(r.r1, (uintptr_t)-1);
	ck_assert_uint_eq(r.r2, 0);
	r = gosys__mkret(-4095, 7);
	ck_assert_int_eq(r.err, 4095);
	ck_assert_uint_eq(r.r1, (uintptr_t)-1);
	r = gosys__mkret(-4096, 7);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(r.r1, (uintptr_t)-4096);
	ck_assert_uint_eq(r.r2, 7);
	r = gosys__mkret(0, 9);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(r.r1, 0);
	ck_assert_uint_eq(r.r2, 9);
	ck_assert(GOSYS_IS_ERR(-1L) && GOSYS_IS_ERR(-4095L));
	ck_assert(!GOSYS_IS_ERR(-4096L) && !GOSYS_IS_ERR(0L) && !GOSYS_IS_ERR(4095L));
}
END_TEST

START_TEST(r2_is_rdx)
{
	/* getpid ignores its arguments; the kernel hands rdx back untouched. */
	struct gosys_ret r = gosys_rawsyscall(SYS_getpid, 11, 22, 0x5eed);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(r.r2, 0x5eed);
	r = gosys_rawsyscall6(SYS_getpid, 1, 2, 0xabcdef, 4, 5, 6);
	ck_assert_uint_eq(r.r2, 0xabcdef);
	/* the out-of-line asm entry returns the same pair */
	struct __gosys_trapret t = __gosys_trap6(SYS_getpid, 1, 2, 0x77, 4, 5, 6);
	ck_assert_int_eq((long)t.r1, (long)getpid());
	ck_assert_uint_eq(t.r2, 0x77);
}
END_TEST

START_TEST(six_args_mmap)
{
	struct gosys_ret r = gosys_rawsyscall6(SYS_mmap, 0, 8192, PROT_READ | PROT_WRITE,
					       MAP_PRIVATE | MAP_ANONYMOUS, (uintptr_t)-1, 0);
	ck_assert_int_eq(r.err, 0);
	char *p = (char *)r.r1;
	p[0] = 1;
	p[8191] = 2;
	ck_assert_int_eq(p[0] + p[8191], 3);
	/* a file mapping with a nonzero offset uses a5 and a6 */
	FILE *f = tmpfile();
	ck_assert_ptr_nonnull(f);
	char page[8192];
	memset(page, 'a', 4096);
	memset(page + 4096, 'b', 4096);
	ck_assert_int_eq(fwrite(page, 1, sizeof page, f), sizeof page);
	fflush(f);
	struct __gosys_trapret t = __gosys_trap6(SYS_mmap, 0, 4096, PROT_READ, MAP_PRIVATE,
						 (uintptr_t)fileno(f), 4096);
	ck_assert(!GOSYS_IS_ERR(t.r1));
	ck_assert_int_eq(((char *)t.r1)[0], 'b');
	r = gosys_rawsyscall6(SYS_mmap, 0, 4096, PROT_READ, MAP_PRIVATE, (uintptr_t)fileno(f),
			      4096);
	ck_assert_int_eq(r.err, 0);
	ck_assert_int_eq(((char *)r.r1)[4095], 'b');
	/* a bad offset (not page aligned) fails with EINVAL */
	r = gosys_rawsyscall6(SYS_mmap, 0, 4096, PROT_READ, MAP_PRIVATE, (uintptr_t)fileno(f), 1);
	ck_assert_int_eq(r.err, EINVAL);
	fclose(f);
	r = gosys_rawsyscall(SYS_munmap, (uintptr_t)p, 8192, 0);
	ck_assert_int_eq(r.err, 0);
}
END_TEST

START_TEST(errno_untouched)
{
	errno = 12345;
	struct gosys_ret r = gosys_rawsyscall(SYS_close, (uintptr_t)-1, 0, 0);
	ck_assert_int_eq(r.err, EBADF);
	ck_assert_int_eq(errno, 12345);
	r = gosys_rawsyscall(SYS_getpid, 0, 0, 0);
	ck_assert_int_eq(r.err, 0);
	ck_assert_int_eq(errno, 12345);
	errno = 0;
	r = gosys_rawsyscall6(SYS_close, (uintptr_t)-1, 0, 0, 0, 0, 0);
	ck_assert_int_eq(errno, 0);
	r = gosys_syscall(SYS_close, (uintptr_t)-1, 0, 0);
	ck_assert_int_eq(r.err, EBADF);
	ck_assert_int_eq(errno, 0);
}
END_TEST

START_TEST(sysnames)
{
	ck_assert_str_eq(gosys_sysname(SYS_read), "read");
	ck_assert_str_eq(gosys_sysname(SYS_getpid), "getpid");
	ck_assert_str_eq(gosys_sysname(SYS_futex), "futex");
	ck_assert_str_eq(gosys_sysname(SYS_clock_nanosleep), "clock_nanosleep");
	ck_assert_ptr_null(gosys_sysname(-1));
	ck_assert_ptr_null(gosys_sysname(100000));
	ck_assert_int_eq(gosys_sysnum("read"), SYS_read);
	ck_assert_int_eq(gosys_sysnum("epoll_pwait2"), SYS_epoll_pwait2);
	ck_assert_int_eq(gosys_sysnum("no_such_call"), -1);
	ck_assert_int_eq(gosys_sysnum(""), -1);
	ck_assert_int_eq(gosys_sysnum(NULL), -1);
	/* every number the table names maps back to itself */
	int n = 0;
	for (long nr = 0; nr < 1024; nr++) {
		const char *s = gosys_sysname(nr);
		if (s) {
			ck_assert_int_eq(gosys_sysnum(s), nr);
			n++;
		}
	}
	ck_assert_int_gt(n, 300);
}
END_TEST

static Suite *raw_suite(void)
{
	Suite *s = suite_create("raw");
	TCase *tc = t_case(s, "raw", 10);
	tcase_add_test(tc, raw_success);
	tcase_add_test(tc, raw_error);
	tcase_add_test(tc, err_boundaries);
	tcase_add_test(tc, r2_is_rdx);
	tcase_add_test(tc, six_args_mmap);
	tcase_add_test(tc, errno_untouched);
	tcase_add_test(tc, sysnames);
	return s;
}

T_MAIN(raw_suite)
