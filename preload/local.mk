# SPDX-License-Identifier: MIT
# libgosys.so: the core plus the preload's wrappers, exported through the
# version script generated from src/public.sym and preload/calls.def.
# preload/mkcalls.awk turns the call table into the wrappers, their row
# indices and prototypes, and the list of exported names.
lib_LTLIBRARIES += libgosys.la
libgosys_la_SOURCES = preload/init.c preload/custom.c preload/cpus.c preload/vfork.S \
	preload/preload.h
nodist_libgosys_la_SOURCES = preload/calls.gen.c preload/calls.gen.h
libgosys_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/preload -I$(top_builddir)/preload
libgosys_la_LIBADD = libgosys_core.la $(LIBS)
libgosys_la_LDFLAGS = -no-undefined -version-info $(GOSYS_LT_VERSION) \
	-Wl,--version-script=$(builddir)/libgosys.map -Wl,-z,defs
EXTRA_libgosys_la_DEPENDENCIES = libgosys.map
EXTRA_DIST += preload/calls.def preload/mkcalls.awk

GOSYS_MKCALLS = $(AWK) -f $(srcdir)/preload/mkcalls.awk
GOSYS_CALLS_DEPS = $(srcdir)/preload/mkcalls.awk $(srcdir)/preload/calls.def

BUILT_SOURCES += preload/calls.gen.h preload/calls.gen.c preload/calls.names libgosys.map
CLEANFILES += preload/calls.gen.h preload/calls.gen.c preload/calls.names libgosys.map

preload/calls.gen.h: $(GOSYS_CALLS_DEPS)
	$(AM_V_GEN)$(MKDIR_P) preload && $(GOSYS_MKCALLS) -v out=h $(srcdir)/preload/calls.def > $@.tmp && mv $@.tmp $@
preload/calls.gen.c: $(GOSYS_CALLS_DEPS)
	$(AM_V_GEN)$(MKDIR_P) preload && $(GOSYS_MKCALLS) -v out=c $(srcdir)/preload/calls.def > $@.tmp && mv $@.tmp $@
preload/calls.names: $(GOSYS_CALLS_DEPS)
	$(AM_V_GEN)$(MKDIR_P) preload && $(GOSYS_MKCALLS) -v out=names $(srcdir)/preload/calls.def > $@.tmp && mv $@.tmp $@

libgosys.map: $(srcdir)/src/mkmap.sh $(srcdir)/src/public.sym preload/calls.names
	$(AM_V_GEN)$(SHELL) $(srcdir)/src/mkmap.sh $(srcdir)/src/public.sym < preload/calls.names > $@.tmp && mv $@.tmp $@
