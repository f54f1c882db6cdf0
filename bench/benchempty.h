/* SPDX-License-Identifier: MIT */
/*
 * benchempty.h - two empty functions in a tiny shared library of their own
 * (libbenchempty.so), the baseline for the cost of a pair of calls into a
 * shared library through the PLT. Bench code only.
 */
#ifndef GOSYS_BENCHEMPTY_H
#define GOSYS_BENCHEMPTY_H

#define BENCHEMPTY_API __attribute__((visibility("default"), noinline))

BENCHEMPTY_API void benchempty_enter(void);
BENCHEMPTY_API void benchempty_exit(void);

#endif
