# SPDX-License-Identifier: MIT
# tools/gosys, the launcher: a POSIX sh script made from tools/gosys.in by sed
# at make time (not by configure, which would leave ${exec_prefix} in libdir
# unexpanded). It preloads $(libdir)/libgosys.so.MAJOR, MAJOR being the
# soname's number that libtool derives from GOSYS_LT_VERSION (current - age).
bin_SCRIPTS += tools/gosys
CLEANFILES += tools/gosys tools/gosys.tmp
EXTRA_DIST += tools/gosys.in

tools/gosys: $(srcdir)/tools/gosys.in Makefile
	$(AM_V_GEN)$(MKDIR_P) tools && \
	v='$(GOSYS_LT_VERSION)'; cur=$${v%%:*}; age=$${v##*:}; major=$$((cur - age)); \
	sed -e 's|@GENERATED_NOTE[@]|Generated from tools/gosys.in by make; do not edit.|' \
	    -e 's|@PACKAGE_VERSION[@]|$(PACKAGE_VERSION)|g' \
	    -e "s|@GOSYS_INSTALLED_LIB[@]|$(libdir)/libgosys.so.$$major|g" \
	    -e 's|@GOSYS_DUMP[@]|$(pkglibexecdir)/gosys-dump|g' \
	    $(srcdir)/tools/gosys.in > $@.tmp && \
	chmod +x $@.tmp && mv $@.tmp $@

# gosys-dump, run by `gosys dump PID`: reads the scheduler's tables out of a
# running program and unwinds its threads (libunwind-ptrace, when configure
# found it; statuses only otherwise). Not on PATH: the launcher finds it.
pkglibexec_PROGRAMS = tools/gosys-dump
tools_gosys_dump_SOURCES = tools/gosys-dump.c src/sysnum.c src/dumpinfo.h
tools_gosys_dump_CPPFLAGS = $(AM_CPPFLAGS) $(LIBUNWIND_PTRACE_CFLAGS)
tools_gosys_dump_LDADD = $(LIBUNWIND_PTRACE_LIBS)
