#!/usr/bin/env bash
# Prints the interpreter `make` builds .venv with: PROUD_PYTHON when set, else the distribution's
# /usr/bin/python3 when it is 3.11 or newer, else the first python3 on PATH.
#
# Why the distribution's: Debian builds CPython with profile-guided optimisation and LTO; an interpreter
# built by pyenv (or from source) without --enable-optimizations is not. On this project's 2-core machine
# the same billing code took 0.42–0.43 ms of CPU per settlement under pyenv's 3.11.7 and 0.35 ms under
# Debian's 3.11.2 (`proud bench billing --opm 100000`, docs/billing.md): the hot paths are pure Python.
# `proud bench …` prints which kind of build it ran on.
set -euo pipefail
SERVICE=python
# shellcheck source=services/lib.sh
source "$(dirname "$0")/services/lib.sh"

DISTRO=/usr/bin/python3
if [[ -n ${PROUD_PYTHON:-} ]]; then
  echo "$PROUD_PYTHON"
elif [[ -x $DISTRO ]] && "$DISTRO" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  # Debian ships `venv`'s ensurepip apart, in python3-venv.
  "$DISTRO" -c 'import ensurepip' 2>/dev/null || apt_install python3-venv >&2
  echo "$DISTRO"
else
  command -v python3
fi
