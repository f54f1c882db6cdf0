#!/bin/sh
# SPDX-License-Identifier: MIT
# sigsusp-noasync.sh - sigsusp.sh's cases under the library with
# GOSYS_DEBUG=asyncpreempt=0: no preemption signal, so a thread is parked
# only by its own calls (a separate script so that make -j2 check runs it
# beside sigsusp.sh, and each stays well inside its time limit).
SIGSUSP_KNOBS=asyncpreempt=0
. "$GOSYS_SRCDIR/tests/preload/sigsusp.sh"
