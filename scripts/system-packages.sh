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
