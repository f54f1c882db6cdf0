# SPDX-License-Identifier: MIT
# libgosys.so: the core plus the preload's wrappers, exported through the
# version script generated from src/public.sym and preload/calls.def.
lib_LTLIBRARIES += libgosys.la
libgosys_la_SOURCES = preload/init.c
libgosys_la_LIBADD = libgosys_core.la $(LIBS)
libgosys_la_LDFLAGS = -no-undefined -version-info $(GOSYS_LT_VERSION) \
	-Wl,--version-script=$(builddir)/libgosys.map -Wl,-z,defs
EXTRA_libgosys_la_DEPENDENCIES = libgosys.map

BUILT_SOURCES += libgosys.map
CLEANFILES += libgosys.map
libgosys.map: $(srcdir)/src/mkmap.sh $(srcdir)/src/public.sym
	$(AM_V_GEN): | $(SHELL) $(srcdir)/src/mkmap.sh $(srcdir)/src/public.sym > $@.tmp && mv $@.tmp $@
