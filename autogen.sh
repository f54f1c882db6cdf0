#!/bin/sh
# SPDX-License-Identifier: MIT
# Regenerates the build system from configure.ac and the Makefiles. Automake
# installs build-aux/tap-driver.sh itself: configure.ac asks for it with
# AC_REQUIRE_AUX_FILE, so a bare `autoreconf -fi` (as Debian's dh_autoreconf
# runs it) gives a tree that can run `make check`.
set -eu
cd "$(dirname "$0")"
exec autoreconf -fi
