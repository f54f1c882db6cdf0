/* SPDX-License-Identifier: MIT */
/* init.c - placeholder until the preload is written */
#include "internal.h"
