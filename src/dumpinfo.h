/* SPDX-License-Identifier: MIT */
/*
 * dumpinfo.h - what gosys-dump (tools/gosys-dump.c) needs to read the
 * scheduler's tables out of another process: one constant record in the
 * library's data, found by its magic words in the library's own mappings
 * (no exported symbol, so it works on a stripped library and adds nothing
 * to the ABI), giving the addresses of the tables, the sizes of the
 * structures and the offset of every field the tool reads. A change to
 * struct gosys_m/p/sched moves offsets, never the tool's idea of them; a
 * change to what a field means bumps GOSYS_DUMP_VERSION.
 * Plain fixed-width fields only: the tool is built without the library's
 * headers' internals.
 */
#ifndef GOSYS_DUMPINFO_H
#define GOSYS_DUMPINFO_H

#include <stdint.h>

#define GOSYS_DUMP_MAGIC0 0x6f642d7379736f67ULL /* "gosys-do" */
#define GOSYS_DUMP_MAGIC1 0x31762d7265706d75ULL /* "umper-v1", any version */
#define GOSYS_DUMP_VERSION 1

struct gosys_dumpinfo {
	uint64_t magic[2];
	uint32_t version;	/* GOSYS_DUMP_VERSION */
	uint32_t size;		/* sizeof(struct gosys_dumpinfo) */
	/* Addresses in the process. */
	uint64_t sched;		/* struct gosys_sched */
	uint64_t allp;		/* struct gosys_p[nprocs_limit] */
	uint64_t sigreturn;	/* the library's rt_sigreturn restorer */
	uint64_t preempt_handler; /* the preemption signal's handler */
	uint64_t sig_deliver;	/* runs a program's handler (or defers it) */
	uint32_t nprocs_limit;
	uint32_t m_size, p_size;
	/* struct gosys_sched */
	uint32_t s_nprocs_live, s_maxprocs, s_phigh, s_npidle, s_nthreads, s_nwaiting;
	uint32_t s_allm, s_sysmon_tid, s_sysmon_started, s_start_ns;
	/* struct gosys_m */
	uint32_t m_status, m_incall, m_p, m_tid, m_live, m_tick, m_alllink;
	uint32_t m_nop_since, m_parked, m_crit, m_sigdeferred, m_preempt, m_eintr_ours;
	/* struct gosys_p */
	uint32_t p_id, p_status, p_m, p_acquired, p_schedtick;
	/* Status values (M_* and P_* of sched_internal.h). */
	uint32_t st_running, st_syscall, st_blocked, st_waiting, st_nop, st_locked;
	uint32_t pst_idle, pst_running, pst_dead;
	uint32_t eintr_ours;	/* EINTR_OURS: a wrapper redoes a call cut short */
};

#endif
