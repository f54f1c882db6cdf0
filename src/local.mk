# SPDX-License-Identifier: MIT
# The core: everything but the preload. A convenience library so that unit
# tests can link the hidden internals statically.
noinst_LTLIBRARIES += libgosys_core.la
libgosys_core_la_SOURCES = \
	src/arch.h src/internal.h \
	src/arch/x86_64/syscall_arch.h src/arch/x86_64/syscall.S \
	src/throw.c src/sys.c src/sysnum.c src/vdso.c src/knobs.c \
	src/maxprocs.c src/note.c src/note.h src/sched.c src/sched_internal.h src/proc.c src/sysmon.c \
	src/signal.c src/trace.c src/dumpinfo.h src/stats.c
nodist_libgosys_core_la_SOURCES = src/sysnum_table.h
libgosys_core_la_LIBADD = $(LIBS)
include_HEADERS += include/gosys.h
EXTRA_DIST += src/mksysnum.sh src/mkmap.sh src/public.sym

BUILT_SOURCES += src/sysnum_table.h
CLEANFILES += src/sysnum_table.h
src/sysnum_table.h: $(srcdir)/src/mksysnum.sh
	$(AM_V_GEN)$(MKDIR_P) src && $(SHELL) $(srcdir)/src/mksysnum.sh $(UNISTD_H) > $@.tmp && mv $@.tmp $@
# Offsets into the kernel's signal frame, for the restorer's unwind information.
libgosys_core_la_SOURCES += src/arch/x86_64/sigframe.h
