/* SPDX-License-Identifier: MIT */
/* sched.h - placeholder */
#ifndef GOSYS_SCHED_H
#define GOSYS_SCHED_H
#include "internal.h"
#endif
