# SPDX-License-Identifier: MIT
# mkcalls.awk - turns preload/calls.def into what the build needs:
#   awk -v out=h     the row indices (preload/calls.gen.h)
#   awk -v out=c     the wrappers and the symbol table (preload/calls.gen.c)
#   awk -v out=names the exported names, one a line (fed to src/mkmap.sh)
#   awk -v out=tests the tests' rows (tests/preload/rows.gen.c)
# It knows the table's format and nothing about any single call: rules live
# in the table. POSIX awk only (mawk is what Debian has).

function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
function die(msg) { print "mkcalls.awk: " FILENAME ":" FNR ": " msg > "/dev/stderr"; bad = 1; exit 1 }

# Splits s at commas outside parentheses into parts[1..n]; returns n.
function splitargs(s, parts,    n, i, c, depth, cur) {
	n = 0; depth = 0; cur = ""
	s = trim(s)
	if (s == "" || s == "void") return 0
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c == "(" || c == "[") depth++
		else if (c == ")" || c == "]") depth--
		if (c == "," && depth == 0) { parts[++n] = trim(cur); cur = "" }
		else cur = cur c
	}
	parts[++n] = trim(cur)
	return n
}

# The name a parameter declares: its last identifier, array brackets dropped.
function pname(p,    q) {
	q = p
	sub(/\[[^]]*\]$/, "", q)
	if (!match(q, /[A-Za-z_][A-Za-z0-9_]*$/)) return ""
	return substr(q, RSTART, RLENGTH)
}

function endrow() {
	if (N == 0) return
	if (cls[N] == "") die("row " name[N] ": no class")
	if (path[N] == "") die("row " name[N] ": no path")
}

/^#/ || /^[ \t]*$/ { next }

/^[^ \t]/ {
	endrow()
	N++
	line = $0
	o = index(line, "(")
	if (!o) die("a row must start with a prototype")
	head = trim(substr(line, 1, o - 1))
	if (!match(head, /[A-Za-z_][A-Za-z0-9_]*$/)) die("no name in " head)
	name[N] = substr(head, RSTART, RLENGTH)
	ret[N] = trim(substr(head, 1, RSTART - 1))
	rest = substr(line, o + 1)
	sub(/\)[ \t]*$/, "", rest)
	params[N] = trim(rest)
	err[N] = "errno"; nnr[N] = 0
	if (name[N] in seen) die("row " name[N] " is listed twice")
	seen[name[N]] = N
	next
}

/^[ \t]/ {
	if (N == 0) die("key before any row")
	l = trim($0)
	k = l; sub(/[ \t].*$/, "", k)
	v = ""
	if (length(l) > length(k)) v = trim(substr(l, length(k) + 1))
	if (k == "sys") sys[N] = v
	else if (k == "class") cls[N] = v
	else if (k == "path") path[N] = v
	else if (k == "err") err[N] = v
	else if (k == "va") va[N] = v
	else if (k == "pre") pre[N] = v
	else if (k == "libc_if") libcif[N] = v
	else if (k == "try") tryv[N] = v
	else if (k == "nr") { nr[N, ++nnr[N]] = v }
	else if (k == "test") test[N] = v
	else if (k == "nosig") nosig[N] = 1
	else die("unknown key " k)
	next
}

# ---- helpers for out=c ------------------------------------------------------

function word(s, i,    a, n) { n = split(s, a, /[ \t]+/); return i <= n ? a[i] : "" }

# The raw kernel call of row i as a C expression of type long.
function syscall_expr(i,    s, o, nrname, args, a, n, j, e) {
	s = sys[i]
	o = index(s, "(")
	nrname = trim(substr(s, 1, o - 1))
	args = substr(s, o + 1); sub(/\)[ \t]*$/, "", args)
	n = splitargs(args, a)
	e = "__gosys_syscall" n "(SYS_" nrname
	for (j = 1; j <= n; j++) e = e ", (long)(" a[j] ")"
	return e ")"
}

function sysnr(i,    s) { s = sys[i]; sub(/\(.*$/, "", s); return trim(s) }

# The converted return of a raw result r for row i.
function conv(i, r) {
	if (err[i] == "ret") return "(" ret[i] ")(GOSYS_IS_ERR(" r ") ? -" r " : 0)"
	if (err[i] == "none") return "(" ret[i] ")" r
	return "(" ret[i] ")gosys__pl_seterr(" r ")"
}

# Fills the globals fixed (the parameter list without "..."), call (the
# argument list, variadic value included), vdecl (its declaration).
function sig(i,    n, a, j, p) {
	n = splitargs(params[i], a)
	fixed = ""; call = ""; vdecl = ""; variadic = 0; lastfixed = ""
	for (j = 1; j <= n; j++) {
		p = a[j]
		if (p == "...") { variadic = 1; continue }
		fixed = fixed (fixed == "" ? "" : ", ") p
		call = call (call == "" ? "" : ", ") pname(p)
		lastfixed = pname(p)
	}
	if (variadic) {
		if (va[i] == "") die("row " name[i] ": variadic without va")
		vtype = word(va[i], 1); vname = word(va[i], 2)
		vcond = trim(substr(va[i], length(vtype) + length(vname) + 3))
		vdecl = vtype " " vname
		call = call ", " vname
	}
	if (fixed == "") fixed = "void"
}

function emit_va(i) {
	if (!variadic) return
	print "\t" vdecl " = 0;"
	if (vcond != "") print "\tif (" vcond ") {"
	else print "\t{"
	print "\t\tva_list g_ap;"
	print "\t\tva_start(g_ap, " lastfixed ");"
	print "\t\t" vname " = va_arg(g_ap, " vtype ");"
	print "\t\tva_end(g_ap);"
	print "\t}"
}

function eintr_cond(i, r) {
	if (err[i] == "ret") return r " == EINTR"
	if (err[i] == "none") return "0"
	return r " == (" ret[i] ")-1 && errno == EINTR"
}

# libc's symbol inside enter/exit: the next path, and the slow side of
# raw rows with a libc_if or cancel rule.
#
# With ST set, every emitter writes the instrumented twin instead (stats on,
# src/stats.c): the same code plus a count of the system calls made (g_sc->n)
# and the class, reached through a struct gosys_st_call *g_sc; the plain
# version is exactly what it was without stats.
function emit_libc(i,    lp) {
	lp = fixed
	if (variadic) lp = (lp == "void" ? "" : lp ", ") vdecl
	if (ST) lp = (lp == "void" ? "" : lp ", ") "struct gosys_st_call *g_sc"
	print "static GOSYS_NOINLINE " ret[i] " libc_" (ST ? "st_" : "") name[i] "(" lp ")"
	print "{"
	if (pre[i] != "") print "\t" pre[i]
	print "\t" ret[i] " (*g_fn)(" params[i] ") = (" ret[i] " (*)(" params[i] "))gosys__pl_next(GOSYS_PL_" name[i] ");"
	if (sys[i] != "") {
		print "\tif (GOSYS_UNLIKELY(!g_fn || gosys__pl_resolving)) {"
		print "\t	long g_r;"
		print "\t\tdo"
		print "\t\t\tg_r = " syscall_expr(i) (ST ? ", g_sc->n++" : "") ";"
		print "\t\twhile (g_r == -EINTR && gosys__eintr_was_ours());"
		print "\t\treturn " conv(i, "g_r") ";"
		print "\t}"
	} else {
		print "\tif (GOSYS_UNLIKELY(!g_fn))"
		print "\t\tgosys__pl_missing(GOSYS_PL_" name[i] ");"
		print "\tif (GOSYS_UNLIKELY(gosys__pl_resolving))"
		print "\t\treturn g_fn(" call ");"
	}
	print "\tint g_cls = (" cls[i] ");"
	if (ST) print "\tg_sc->cls = g_cls;"
	if (err[i] == "errno") print "\tint g_e0 = errno;"
	print "\t" ret[i] " g_r;"
	print "\tgosys__pl_enter(g_cls);"
	print "\tfor (;;) {"
	print "\t\tg_r = g_fn(" call ");"
	if (ST) print "\t\tg_sc->n++;"
	print "\t\tif (!(" eintr_cond(i, "g_r") ") || !gosys__eintr_was_ours())"
	print "\t\t\tbreak;"
	if (err[i] == "errno") print "\t\terrno = g_e0;"
	print "\t}"
	print "\tgosys__pl_exit(g_cls);"
	print "\treturn g_r;"
	print "}"
	print ""
}

function emit_try(i,    fn, val) {
	fn = word(tryv[i], 1); val = word(tryv[i], 2)
	print "\t{"
	print "\t\t" ret[i] " (*g_tf)(" params[i] ") = (" ret[i] " (*)(" params[i] "))gosys__pl_next(GOSYS_PL_TRY_" name[i] ");"
	print "\t\tif (GOSYS_LIKELY(g_tf != NULL)) {"
	if (err[i] == "ret") {
		print "\t\t\t" ret[i] " g_t = g_tf(" call ");"
		print "\t\t\tif (g_t != " val ")"
		print "\t\t\t\treturn g_t;"
	} else {
		print "\t\t\tint g_e1 = errno;"
		print "\t\t\tif (g_tf(" call ") == 0)"
		print "\t\t\t\treturn 0;"
		print "\t\t\terrno = g_e1;"
	}
	print "\t\t}"
	print "\t}"
}

# libc's path of row i from the wrapper's body (the instrumented twin under ST).
function libc_call(i) {
	if (!ST) return "libc_" name[i] "(" call ")"
	return "libc_st_" name[i] "(" (call == "" ? "" : call ", ") "g_sc)"
}

# The stats' cell of row i: its system call, or its own libc-level cell.
function st_cell(i) {
	if (word(path[i], 1) == "raw") return "SYS_" sysnr(i)
	return "GOSYS_ST_ROW(GOSYS_PL_" name[i] ")"
}

# Whether result v of row i is an error, as strace counts a failed call.
function st_failed(i, v) {
	if (err[i] == "ret") return v " != 0"
	if (err[i] == "none") return "0"
	return v " == (" ret[i] ")-1"
}

# The body of row i's wrapper after its variadic argument is fetched.
function emit_body(i, p, cancel) {
	if (pre[i] != "") print "\t" pre[i]
	if (p == "next") {
		if (tryv[i] != "") emit_try(i)
		print "\treturn " libc_call(i) ";"
		return
	}
	if (p != "raw") die("row " name[i] ": unknown path " path[i])
	if (sys[i] == "") die("row " name[i] ": raw path without sys")
	print "	long g_r;"
	print "\tif (GOSYS_UNLIKELY(gosys__pl_resolving)) {"
	print "\t\tg_r = " syscall_expr(i) ";"
	if (ST) print "\t\tg_sc->n++;"
	print "\t\treturn " conv(i, "g_r") ";"
	print "\t}"
	if (libcif[i] != "") {
		print "\tif (GOSYS_UNLIKELY(" libcif[i] "))"
		print "\t\treturn " libc_call(i) ";"
	}
	print "\tint g_cls = (" cls[i] ");"
	if (ST) print "\tg_sc->cls = g_cls;"
	if (cancel) {
		print "\tstruct gosys_pl_cp *g_cp = &gosys__pl_cp;"
		print "\tint g_was = g_cp->active;"
		print "\tg_cp->active = 1;"
		print "\t__atomic_signal_fence(__ATOMIC_SEQ_CST);"
		print "\tif (GOSYS_UNLIKELY(__atomic_load_n(&gosys__pl_cancel_on, __ATOMIC_RELAXED))) {"
		print "\t\tg_cp->active = g_was;"
		print "\t\treturn " libc_call(i) ";"
		print "\t}"
		print "\tunsigned g_kicks = g_cp->kicks;"
	}
	print "\tgosys__pl_enter(g_cls);"
	print "\tfor (;;) {"
	print "\t\tg_r = " syscall_expr(i) ";"
	if (ST) print "\t\tg_sc->n++;"
	print "\t\tif (GOSYS_LIKELY(g_r != -EINTR) || !gosys__eintr_was_ours())"
	print "\t\t\tbreak;"
	print "\t}"
	print "\tgosys__pl_exit(g_cls);"
	if (cancel) {
		print "\tg_cp->active = g_was;"
		print "\tif (GOSYS_UNLIKELY(g_r == -EINTR && g_cp->kicks != g_kicks)) {"
		print "\t\t/* pthread_cancel's kick: act on it as libc's path would. */"
		print "\t\tpthread_testcancel();"
		print "\t\treturn " libc_call(i) ";"
		print "\t}"
	}
	print "\treturn " conv(i, "g_r") ";"
}

# ---- the inline fast path ----------------------------------------------------
#
# A raw row whose class may be LAZY and whose errors go to errno gets a fast
# path in its exported wrapper: the lazy call's enter and exit inlined
# (src/sched_internal.h), the fd-kind cache read inline, the cancellation
# point's bookkeeping, the system call. It holds only where every check of
# the full body would pass: no stats, not resolving, the row's libc_if false,
# the class LAZY on what is already known (an fd-kind not cached yet goes the
# full way, which caches it), no cancel point around it, an M in user code
# with nothing asked of it. Every other case leaves by a tail call, so the
# fast path is a leaf that saves no registers (issue 11's read loop):
#   slow_NAME  the full body, from the top, when the checks fail before
#              anything changed;
#   cont_NAME  the rest of the full body from inside the call: after the
#              entry when a deferred handler is owed (g_r GOSYS_PL_NOT_CALLED),
#              or after the system call when it returned EINTR or the inline
#              exit could not finish;
#   gosys__pl_flush_seterr[_cp]  after an exit that owes a deferred handler.
function fast_ok(i) {
	return word(path[i], 1) == "raw" && err[i] == "errno" && va[i] == "" && pre[i] == "" &&
		index(cls[i], "LAZY") > 0 && name[i] != "vfork" && sys[i] != ""
}

# The row's class over what is known without a system call.
function fast_cls(i,    c) {
	c = cls[i]
	gsub(/gosys__pl_fdblocks\(/, "gosys__pl_fdnotlazy(", c)
	return c
}

function emit_fast_parts(i, cancel,    lp) {
	print "static GOSYS_NOINLINE " ret[i] " slow_" name[i] "(" fixed ")"
	print "{"
	emit_body(i, "raw", cancel)
	print "}"
	lp = (fixed == "void" ? "" : fixed ", ")
	print "static GOSYS_NOINLINE " ret[i] " cont_" name[i] "(" lp "long g_r, unsigned g_kicks)"
	print "{"
	if (!cancel) print "	(void)g_kicks;"
	print "	if (g_r == GOSYS_PL_NOT_CALLED) { /* entered: a deferred handler first */"
	print "		gosys__sig_flush_slow(gosys__curm);"
	print "		g_r = " syscall_expr(i) ";"
	print "	}"
	print "	while (g_r == -EINTR && gosys__eintr_was_ours())"
	print "		g_r = " syscall_expr(i) ";"
	print "	gosys__exitsyscall();"
	if (cancel) {
		print "	gosys__pl_cp.active = 0;"
		print "	if (GOSYS_UNLIKELY(g_r == -EINTR && gosys__pl_cp.kicks != g_kicks)) {"
		print "		pthread_testcancel();"
		print "		return " libc_call(i) ";"
		print "	}"
	}
	print "	return " conv(i, "g_r") ";"
	print "}"
}

function emit_fast(i, cancel,    lp) {
	lp = (call == "" ? "" : call ", ")
	print "	struct gosys_m *g_m = gosys__curm;"
	print "	if (GOSYS_UNLIKELY(gosys__pl_resolving || (" fast_cls(i) ") != LAZY" \
		(libcif[i] != "" ? " || (" libcif[i] ")" : "") \
		(cancel ? " || gosys__pl_cp.active" : "") "))"
	print "		return slow_" name[i] "(" call ");"
	if (cancel) {
		print "	gosys__pl_cp.active = 1;"
		print "	__atomic_signal_fence(__ATOMIC_SEQ_CST);"
		print "	if (GOSYS_UNLIKELY(__atomic_load_n(&gosys__pl_cancel_on, __ATOMIC_RELAXED) ||"
		print "			   !gosys__enter_fast(g_m, __gosys_stack_here()))) {"
		print "		gosys__pl_cp.active = 0;"
		print "		return slow_" name[i] "(" call ");"
		print "	}"
		print "	unsigned g_kicks = gosys__pl_cp.kicks;"
	} else {
		print "	if (GOSYS_UNLIKELY(!gosys__enter_fast(g_m, __gosys_stack_here())))"
		print "		return slow_" name[i] "(" call ");"
		print "	unsigned g_kicks = 0;"
	}
	print "	if (GOSYS_UNLIKELY(gosys__enter_lazy_store(g_m)))"
	print "		return cont_" name[i] "(" lp "GOSYS_PL_NOT_CALLED, g_kicks);"
	print "	long g_r = " syscall_expr(i) ";"
	print "	int g_done = g_r == -EINTR ? 0 : gosys__exit_fast(g_m, M_SYSCALL);"
	print "	if (GOSYS_UNLIKELY(g_done != 1)) {"
	print "		if (g_done == 0)"
	print "			return cont_" name[i] "(" lp "g_r, g_kicks);"
	print "		return (" ret[i] ")gosys__pl_flush_seterr" (cancel ? "_cp" : "") "(g_r);"
	print "	}"
	if (cancel) print "	gosys__pl_cp.active = 0;"
	print "	return " conv(i, "g_r") ";"
}

# A wrapper is its plain body behind one test of gosys__stats_on, and the
# instrumented twin (st_NAME: begin, the body counting its system calls, end)
# out of line for when it is set.
function emit_wrapper(i,    p, cancel, needlibc, lp, fast) {
	p = word(path[i], 1)
	cancel = index(path[i], "cancel") > 0
	sig(i)
	print "/* " name[i] ": " cls[i] ", " path[i] " */"
	needlibc = (p == "next" || cancel || libcif[i] != "")
	if (needlibc) {
		ST = 0; emit_libc(i)
		ST = 1; emit_libc(i)
	}
	lp = fixed
	if (variadic) lp = (lp == "void" ? "" : lp ", ") vdecl
	ST = 1
	print "static inline " ret[i] " stb_" name[i] "(" (lp == "void" ? "" : lp ", ") "struct gosys_st_call *g_sc)"
	print "{"
	emit_body(i, p, cancel)
	print "}"
	print "static GOSYS_NOINLINE " ret[i] " st_" name[i] "(" lp ")"
	print "{"
	print "\tstruct gosys_st_call g_st;"
	print "\tgosys__st_begin(&g_st);"
	print "\t" ret[i] " g_v = stb_" name[i] "(" (call == "" ? "" : call ", ") "&g_st);"
	print "\tgosys__st_end(&g_st, " st_cell(i) ", " st_failed(i, "g_v") ");"
	print "\treturn g_v;"
	print "}"
	ST = 0
	fast = fast_ok(i)
	if (fast) emit_fast_parts(i, cancel)
	print "GOSYS_PL_EXPORT " ret[i] " " name[i] "(" params[i] ")"
	print "{"
	emit_va(i)
	print "\tif (GOSYS_UNLIKELY(gosys__stats_on))"
	print "\t\treturn st_" name[i] "(" call ");"
	if (fast) emit_fast(i, cancel)
	else emit_body(i, p, cancel)
	print "}"
	print ""
}

# ---- outputs -----------------------------------------------------------------

END {
	if (bad) exit 1
	endrow()
	if (out == "names") {
		for (i = 1; i <= N; i++)
			if (path[i] != "none") print name[i]
		exit 0
	}
	if (out == "h") {
		print "/* generated by preload/mkcalls.awk from preload/calls.def; do not edit */"
		print "#ifndef GOSYS_CALLS_GEN_H"
		print "#define GOSYS_CALLS_GEN_H"
		print "enum gosys_pl_row {"
		for (i = 1; i <= N; i++)
			if (path[i] != "none") print "\tGOSYS_PL_" name[i] ","
		for (i = 1; i <= N; i++)
			if (tryv[i] != "") print "\tGOSYS_PL_TRY_" name[i] ","
		print "\tGOSYS_PL_NSYMS"
		print "};"
		print "/* Every wrapper's prototype: a mismatch with libc's headers is an error. */"
		for (i = 1; i <= N; i++)
			if (path[i] != "none") print ret[i] " " name[i] "(" params[i] ");"
		print "#endif"
		exit 0
	}
	if (out == "c") {
		print "/* generated by preload/mkcalls.awk from preload/calls.def; do not edit */"
		print "#include \"preload.h\""
		print ""
		print "enum { RAW = GOSYS_PL_RAW, LAZY = GOSYS_PL_LAZY, BLOCK = GOSYS_PL_BLOCK };"
		print ""
		print "const struct gosys_pl_sym gosys__pl_syms[GOSYS_PL_NSYMS] = {"
		for (i = 1; i <= N; i++) {
			if (path[i] == "none") continue
			v = word(path[i], 2); if (v == "cancel") v = ""
			need = (word(path[i], 1) != "raw" || index(path[i], "cancel") || libcif[i] != "")
			if (name[i] == "vfork") need = 0
			printf "\t[GOSYS_PL_%s] = {\"%s\", %s, %d},\n", name[i], name[i], (v == "" ? "NULL" : "\"" v "\""), need
		}
		for (i = 1; i <= N; i++)
			if (tryv[i] != "")
				printf "\t[GOSYS_PL_TRY_%s] = {\"%s\", NULL, 1},\n", name[i], word(tryv[i], 1)
		print "};"
		print ""
		# syscall(): the class of a number, from the nr lines, then from
		# the rows whose class is a constant.
		print "int gosys__pl_sysclass(long nr, const long *a)"
		print "{"
		print "\tswitch (nr) {"
		for (i = 1; i <= N; i++)
			for (j = 1; j <= nnr[i]; j++) {
				n0 = word(nr[i, j], 1)
				e = trim(substr(nr[i, j], length(n0) + 1))
				if (("SYS_" n0) in cased) continue
				cased["SYS_" n0] = 1
				print "\tcase SYS_" n0 ":"
				print "\t\treturn " e ";"
			}
		for (i = 1; i <= N; i++) {
			if (sys[i] == "" || cls[i] !~ /^(RAW|LAZY|BLOCK)$/) continue
			n0 = "SYS_" sysnr(i)
			if (n0 in cased) continue
			cased[n0] = 1
			print "\tcase " n0 ":"
			print "\t\treturn " cls[i] ";"
		}
		print "\tdefault:"
		print "\t\t(void)a;"
		print "\t\treturn LAZY;"
		print "\t}"
		print "}"
		print ""
		for (i = 1; i <= N; i++) {
			p = word(path[i], 1)
			if (p == "none" || p == "custom") continue
			emit_wrapper(i)
		}
		exit 0
	}
	if (out == "tests") {
		print "/* generated by preload/mkcalls.awk from preload/calls.def; do not edit */"
		print "#include \"rowsup.h\""
		print ""
		for (i = 1; i <= N; i++) {
			if (path[i] == "none") continue
			if (test[i] == "") die("row " name[i] ": no test")
			print "static long t_" name[i] "(void)"
			print "{"
			print "\treturn (long)(" test[i] ");"
			print "}"
		}
		print ""
		print "const struct trow trows[] = {"
		for (i = 1; i <= N; i++)
			if (path[i] != "none")
				printf "\t{\"%s\", t_%s, %d},\n", name[i], name[i], nosig[i] ? 1 : 0
		print "\t{NULL, NULL, 0}"
		print "};"
		exit 0
	}
	die("out must be h, c, names or tests")
}
