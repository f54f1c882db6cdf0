/* SPDX-License-Identifier: MIT */
/*
 * cgparts.h - what a preloaded call's user-space instructions are spent on,
 * from callgrind's per-line counts (b_preload's instruction rows).
 */
#ifndef BENCH_CGPARTS_H
#define BENCH_CGPARTS_H

/* One callgrind run's self cost per (function, file, line). */
struct cg_run;

/* Reads an uncompressed callgrind file (--compress-strings=no
 * --compress-pos=no); NULL on error. */
struct cg_run *cg_load(const char *path);
double cg_total(const struct cg_run *r);
void cg_free(struct cg_run *r);

/* A part of the call: a name, what it buys, instructions per call. */
struct cg_part {
	char name[96];
	const char *buys; /* NULL: nobody named it */
	double insns;
};

/*
 * The parts of one call from two runs of a loop of n0 and n1 calls: each
 * line's cost difference over n1 - n0, charged to the part its source says
 * (the function the line lies in, for code inlined from a header; what the
 * line does, in the generated wrappers). Returns the number of parts (at
 * most max) and their sum in *sum.
 */
int cg_parts(const struct cg_run *a, long n0, const struct cg_run *b, long n1,
	     struct cg_part *out, int max, double *sum);

#endif
