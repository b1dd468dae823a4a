#!/usr/bin/env bash
# Debian packages the daemon itself needs at run time (not the test services, see scripts/services/):
# the DejaVu fonts the welcome-letter PDFs embed, for Czech diacritics. Idempotent and offline when present.
set -euo pipefail
SERVICE=system
# shellcheck source=services/lib.sh
source "$(dirname "$0")/services/lib.sh"

FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
[[ -f $FONT ]] || apt_install fonts-dejavu-core
[[ -f $FONT ]] || die "font $FONT still missing after installing fonts-dejavu-core"

# A C compiler and the interpreter's headers: `make compiled` builds the billing hot path with mypyc
# (gateway/compiled.py). Debian's interpreter takes its headers from python3-dev.
command -v gcc >/dev/null || apt_install gcc
PYTHON=$(bash "$(dirname "$0")/python.sh")
INCLUDE=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
if [[ ! -f $INCLUDE/Python.h && $PYTHON == /usr/bin/* ]]; then apt_install python3-dev; fi
[[ -f $INCLUDE/Python.h ]] || die "no Python.h in $INCLUDE for $PYTHON: install its development headers"
