# SPDX-License-Identifier: MIT
# Manual pages, in plain man(7). One page per public function; a function that
# shares a page with others gets a one-line .so page of its own name, so that
# every name in src/public.sym has an installable page (tests/real/manpages.sh
# checks that, and that groff renders each page without a warning).
dist_man_MANS += \
	man/gosys.1 \
	man/libgosys.3 \
	man/gosys_rawsyscall.3 man/gosys_rawsyscall6.3 \
	man/gosys_syscall.3 man/gosys_syscall6.3 \
	man/gosys_sysname.3 man/gosys_sysnum.3 \
	man/gosys_nanotime.3 \
	man/gosys_entersyscall.3 man/gosys_entersyscallblock.3 man/gosys_exitsyscall.3 \
	man/gosys_maxprocs.3 \
	man/gosys_gosched.3 \
	man/gosys_schedstats.3 \
	man/gosys_stats_write.3
