#!/bin/sh
# SPDX-License-Identifier: MIT
# make -j2 under the library, with maxprocs 1 and 2, against a plain run: a
# small generated C project (five sources, a header, a threaded program) is
# built with cc, linked, run, and checked by a make target; each variant
# builds in the same directory, so the binary itself must be identical too.
. "$GOSYS_SRCDIR/tests/real/lib.sh"
need make cc md5sum
steps="build check"
skip_if_tsan_cannot_preload
plan_steps $steps

src=$work/src
mkdir -p "$src"
cat >"$src/calc.h" <<'H'
#include <stdint.h>
uint64_t mix(uint64_t x);
uint64_t sum_range(uint64_t lo, uint64_t hi);
uint64_t fib(unsigned n);
void run_threads(int n, uint64_t *out);
H
for i in 0 1 2; do
	cat >"$src/part$i.c" <<C
#include "calc.h"
uint64_t part$i(uint64_t x);
uint64_t part$i(uint64_t x) { return mix(x + $i) ^ fib(20 + $i); }
C
done
cat >"$src/calc.c" <<'C'
#include "calc.h"
uint64_t mix(uint64_t x)
{
	x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 33;
	return x;
}
uint64_t sum_range(uint64_t lo, uint64_t hi)
{
	uint64_t s = 0;
	for (uint64_t i = lo; i < hi; i++)
		s += mix(i);
	return s;
}
uint64_t fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
C
cat >"$src/main.c" <<'C'
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "calc.h"
uint64_t part0(uint64_t), part1(uint64_t), part2(uint64_t);
struct job { int i; uint64_t r; };
static void *work(void *p)
{
	struct job *j = p;
	j->r = sum_range((uint64_t)j->i * 5000000, (uint64_t)(j->i + 1) * 5000000);
	return NULL;
}
void run_threads(int n, uint64_t *out)
{
	pthread_t t[16];
	struct job j[16];
	for (int i = 0; i < n; i++) {
		j[i].i = i;
		pthread_create(&t[i], NULL, work, &j[i]);
	}
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		out[i] = j[i].r;
	}
}
int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 4;
	uint64_t r[16];
	if (n < 1 || n > 16)
		return 2;
	run_threads(n, r);
	for (int i = 0; i < n; i++)
		printf("thread %d: %016llx\n", i, (unsigned long long)r[i]);
	printf("parts: %llx %llx %llx\n", (unsigned long long)part0(1),
	       (unsigned long long)part1(2), (unsigned long long)part2(3));
	return 0;
}
C
cat >"$src/Makefile" <<'M'
CC ?= cc
CFLAGS = -O2 -Wall -pthread
OBJS = main.o calc.o part0.o part1.o part2.o
prog: $(OBJS)
	$(CC) $(CFLAGS) -o $@ $(OBJS)
%.o: %.c calc.h
	$(CC) $(CFLAGS) -c -o $@ $<
out.txt: prog
	./prog 8 > $@
check: out.txt
	./prog 8 | cmp - out.txt && test "$$(wc -l < out.txt)" = 9 && echo check passed
clean:
	rm -f prog $(OBJS) out.txt
.PHONY: check clean
M

job() {
	v=$1 o=$2
	rm -rf "$work/proj"
	cp -r "$src" "$work/proj"
	capture "$o/build" "$v" sh -c 'make -s -j2 --no-print-directory -C "$1" && "$1/prog"' sh "$work/proj"
	(cd "$work/proj" && md5sum prog main.o calc.o part0.o part1.o part2.o) >"$o/build/md5"
	capture "$o/check" "$v" make -j2 --no-print-directory -C "$work/proj" check
	rm -rf "$work/proj"
}
run_variants job
report $steps
report_loaded
done_testing
