#!/bin/sh
# SPDX-License-Identifier: MIT
# Regenerates the build system from configure.ac and the Makefiles, and
# installs Automake's TAP driver into build-aux/ (automake --add-missing does
# not install it by itself).
set -eu
cd "$(dirname "$0")"
autoreconf -fi
for d in $(automake --print-libdir 2>/dev/null) /usr/share/automake-*; do
	if [ -f "$d/tap-driver.sh" ]; then
		cp "$d/tap-driver.sh" build-aux/tap-driver.sh
		chmod +x build-aux/tap-driver.sh
		exit 0
	fi
done
echo "autogen.sh: automake's tap-driver.sh not found" >&2
exit 1
