#!/bin/sh
# SPDX-License-Identifier: MIT
# unseen.sh - threads that block where the library cannot see (a futex wait
# by inline syscall, as libgomp's) and then compute with no call: at most
# maxprocs of them may run at once, measured as (their CPU time) / (wall
# time) over the compute phases, against maxprocs + 0.15. unseen.c has
# four such workers of its own; omp.c the same with libgomp
# (OMP_NUM_THREADS=4), when the compiler has OpenMP. Under the
# library, with maxprocs 1 (3 runs) and 2 (1 run: judged only on machines
# with more than 2 CPUs); unseen.c also wants nop_runs > 0 in
# gosys_schedstats. A run takes about a second; 60 s is the hang limit.
. "$GOSYS_SRCDIR/tests/preload/runlib.sh"
OMP_NUM_THREADS=4
export OMP_NUM_THREADS
runlib_init unseen
runlib_mode plain "" 1 --limit 60
runlib_mode 1 "" 3 --limit 60 --budget 60
runlib_mode 2 "" 1 --limit 60 --budget 60
if runlib_use omp; then
	runlib_mode plain "" 1 --limit 60
	runlib_mode 1 "" 3 --limit 60 --budget 60
	runlib_mode 2 "" 1 --limit 60 --budget 60
fi
runlib_end
