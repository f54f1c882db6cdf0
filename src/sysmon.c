/* SPDX-License-Identifier: MIT */
/* sysmon.c - placeholder */
#include "sched.h"
