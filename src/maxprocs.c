/* SPDX-License-Identifier: MIT */
/* maxprocs.c - placeholder until written */
#include "internal.h"
