/* SPDX-License-Identifier: MIT */
/* knobs.c - placeholder until written */
#include "internal.h"
