#!/usr/bin/env bash
# All development/test services at once.
#
#   scripts/services/all.sh start|stop|restart|status
#
# start: postgres, kafka, sftp, ftp (stops at the first one that fails to come up);
# stop: the reverse order, and every stop is attempted even if one fails;
# status: one line per service; exit 0 only if all four are up.
set -euo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SERVICES=(postgres kafka sftp ftp)

start_all() {
  local s
  for s in "${SERVICES[@]}"; do
    bash "$DIR/$s.sh" start
  done
}

stop_all() {
  local s i rc=0
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
    s=${SERVICES[i]}
    bash "$DIR/$s.sh" stop || { echo "[$s] ERROR: stop failed" >&2; rc=1; }
  done
  return "$rc"
}

status_all() {
  local s rc=0
  for s in "${SERVICES[@]}"; do
    bash "$DIR/$s.sh" status || rc=1
  done
  return "$rc"
}

case "${1:-}" in
  start) start_all ;;
  stop) stop_all ;;
  restart) stop_all; start_all ;;
  status) status_all ;;
  *) echo "usage: $0 start|stop|restart|status" >&2; exit 2 ;;
esac
