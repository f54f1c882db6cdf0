# SPDX-License-Identifier: MIT
# bench/: `make bench` builds the bench programs and runs bench/run.sh, which
# prints one table of figures against the targets in bench/README.md. The
# programs are EXTRA_PROGRAMS: neither `make` nor `make check` builds them.
# Those that measure the library link libgosys.la as a user would; the plain
# ones are run with and without LD_PRELOAD by the orchestrators.
EXTRA_LTLIBRARIES = bench/libbenchempty.la
bench_libbenchempty_la_SOURCES = bench/benchempty.c bench/benchempty.h
bench_libbenchempty_la_LDFLAGS = -rpath /nowhere -avoid-version -no-undefined

BENCH_LINKED = bench/b_getpid bench/b_pair bench/b_handoff bench/b_retake bench/b_threads \
	bench/b_slice
BENCH_PLAIN = bench/b_preload bench/b_loop bench/b_pool bench/b_cgroup bench/b_cgdemo bench/b_omp \
	bench/b_echo bench/b_request
EXTRA_PROGRAMS = $(BENCH_LINKED) $(BENCH_PLAIN)
BENCH_COMMON = bench/bench.c bench/bench.h

bench_b_getpid_SOURCES = bench/b_getpid.c $(BENCH_COMMON)
bench_b_getpid_LDADD = libgosys.la $(LIBS)
bench_b_pair_SOURCES = bench/b_pair.c $(BENCH_COMMON)
bench_b_pair_LDADD = libgosys.la bench/libbenchempty.la $(LIBS)
bench_b_handoff_SOURCES = bench/b_handoff.c $(BENCH_COMMON)
bench_b_handoff_LDADD = libgosys.la $(LIBS)
bench_b_retake_SOURCES = bench/b_retake.c $(BENCH_COMMON)
bench_b_retake_LDADD = libgosys.la $(LIBS)
bench_b_slice_SOURCES = bench/b_slice.c $(BENCH_COMMON)
bench_b_slice_LDADD = libgosys.la $(LIBS)
bench_b_threads_SOURCES = bench/b_threads.c $(BENCH_COMMON)
bench_b_threads_LDADD = libgosys.la $(LIBS)
bench_b_preload_SOURCES = bench/b_preload.c bench/cgparts.c bench/cgparts.h $(BENCH_COMMON)
bench_b_loop_SOURCES = bench/b_loop.c $(BENCH_COMMON)
bench_b_pool_SOURCES = bench/b_pool.c $(BENCH_COMMON)
bench_b_cgroup_SOURCES = bench/b_cgroup.c $(BENCH_COMMON)
bench_b_cgdemo_SOURCES = bench/b_cgdemo.c $(BENCH_COMMON)
bench_b_echo_SOURCES = bench/b_echo.c $(BENCH_COMMON)
bench_b_request_SOURCES = bench/b_request.c $(BENCH_COMMON)
bench_b_omp_SOURCES = bench/b_omp.c $(BENCH_COMMON)
bench_b_omp_CFLAGS = $(AM_CFLAGS) $(OPENMP_CFLAGS)
bench_b_omp_LDFLAGS = $(AM_LDFLAGS) $(OPENMP_CFLAGS)

EXTRA_DIST += bench/run.sh bench/server.sh bench/README.md
CLEANFILES += $(EXTRA_PROGRAMS) $(EXTRA_LTLIBRARIES)

# BENCH=name[,name...] runs only those (see bench/README.md).
bench: libgosys.la bench/libbenchempty.la $(EXTRA_PROGRAMS)
	@GOSYS_LIB='$(abs_top_builddir)/.libs/libgosys.so' \
	$(SHELL) $(srcdir)/bench/run.sh '$(abs_top_builddir)/bench' '$(BENCH)'
.PHONY: bench
