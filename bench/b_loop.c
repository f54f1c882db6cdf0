/* SPDX-License-Identifier: MIT */
/*
 * b_loop.c - a plain program (it does not link libgosys): N calls of
 * read(/dev/zero, 1 byte) or getpid(), then "ns PER_CALL" on stdout.
 * b_preload runs it with and without LD_PRELOAD=libgosys.so. Mode readcas
 * is the read loop plus one locked compare-and-swap on a private word per
 * call, run plain: the floor of a wrapper whose exit linearizes on the
 * thread's status word, as the library's (and Go's exitsyscall) does.
 */
#include "bench.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3 ||
	    (strcmp(argv[1], "read") && strcmp(argv[1], "readcas") && strcmp(argv[1], "getpid"))) {
		fprintf(stderr, "usage: b_loop read|readcas|getpid N\n");
		return 2;
	}
	long n = atol(argv[2]);
	char c;
	int fd = open("/dev/zero", O_RDONLY);
	if (fd < 0 || n < 1) {
		perror("/dev/zero");
		return 1;
	}
	int64_t t = bench_now();
	if (!strcmp(argv[1], "read")) {
		for (long i = 0; i < n; i++)
			BENCH_USE(read(fd, &c, 1));
	} else if (!strcmp(argv[1], "readcas")) {
		static uint32_t word;
		for (long i = 0; i < n; i++) {
			uint32_t old = 1;
			BENCH_USE(read(fd, &c, 1));
			__atomic_compare_exchange_n(&word, &old, 0, 0, __ATOMIC_SEQ_CST,
						    __ATOMIC_RELAXED);
			__atomic_store_n(&word, 1, __ATOMIC_RELAXED);
		}
	} else {
		for (long i = 0; i < n; i++)
			BENCH_USE(getpid());
	}
	t = bench_now() - t;
	printf("ns %.3f\n", (double)t / (double)n);
	return 0;
}
