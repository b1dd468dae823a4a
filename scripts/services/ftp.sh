#!/usr/bin/env bash
# FTP server for development and tests: pyftpdlib (scripts/services/ftpd.py) from the
# project venv, on 127.0.0.1:2121.
#
#   scripts/services/ftp.sh start|stop|restart|status
#
#   user/password  proud / proud
#   root           var/ftp/root (sub-folders in/ and out/)
#   passive ports  30000-30009
set -euo pipefail
SERVICE=ftp
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FTP_PORT=2121
FTP_USER=proud
FTP_PASSWORD=proud
FTP_PASSIVE_PORTS=30000-30009
FTP_START_TIMEOUT_S=${FTP_START_TIMEOUT_S:-20}
FTP_STOP_TIMEOUT_S=${FTP_STOP_TIMEOUT_S:-10}

F_DIR="$VAR/ftp"
FTP_ROOT="$F_DIR/root"
PIDFILE="$F_DIR/ftpd.pid"
LOG="$F_DIR/ftpd.log"
FTPD="$ROOT/scripts/services/ftpd.py"

our_pid() { pid_of_ours "$PIDFILE" "$FTPD"; }

# Login plus a LIST, which needs a passive data connection: the whole path a client uses.
ftp_answers() {
  port_open "$FTP_PORT" || return 1
  python3 - "$FTP_PORT" "$FTP_USER" "$FTP_PASSWORD" >/dev/null 2>&1 <<'PY'
import ftplib, sys
with ftplib.FTP() as ftp:
    ftp.connect("127.0.0.1", int(sys.argv[1]), timeout=5)
    ftp.login(sys.argv[2], sys.argv[3])
    ftp.retrlines("LIST", lambda line: None)
PY
}

cmd_start() {
  if our_pid >/dev/null; then
    if ftp_answers; then
      say "already running (pid $(our_pid))"
      return 0
    fi
  elif port_open "$FTP_PORT"; then
    if ftp_answers; then
      say "port $FTP_PORT is served by an FTP server this script did not start that accepts $FTP_USER/$FTP_PASSWORD; using it"
      return 0
    fi
    die "port $FTP_PORT is taken by another process: $(ss -ltnpH "sport = :$FTP_PORT" 2>/dev/null | head -n 1)"
  else
    venv_has pyftpdlib ||
      die "pyftpdlib is missing from $ROOT/.venv (it is in the [dev] extra): run 'make venv' first"
    mkdir -p "$FTP_ROOT/in" "$FTP_ROOT/out"
    say "starting pyftpdlib on 127.0.0.1:$FTP_PORT (root $FTP_ROOT, log $LOG)"
    # setsid+nohup: detached from the calling shell/make; the child records its own pid,
    # which stays the server's pid after exec.
    # shellcheck disable=SC2016  # $$ and $1 must expand in the child shell
    setsid nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$PIDFILE" \
      "$VENV_PY" "$FTPD" --host 127.0.0.1 --port "$FTP_PORT" \
      --user "$FTP_USER" --password "$FTP_PASSWORD" \
      --root "$FTP_ROOT" --passive-ports "$FTP_PASSIVE_PORTS" \
      </dev/null >>"$LOG" 2>&1 &
    sleep 0.3
  fi
  local deadline=$((SECONDS + FTP_START_TIMEOUT_S))
  until ftp_answers; do
    our_pid >/dev/null || die_with_log "FTP server exited during start-up" "$LOG"
    ((SECONDS < deadline)) ||
      die_with_log "FTP did not accept login+LIST as $FTP_USER on 127.0.0.1:$FTP_PORT within ${FTP_START_TIMEOUT_S}s (FTP_START_TIMEOUT_S)" "$LOG"
    sleep 0.5
  done
  say "up: ftp://$FTP_USER:$FTP_PASSWORD@127.0.0.1:$FTP_PORT (root $FTP_ROOT)"
}

cmd_stop() {
  local pid
  if pid=$(our_pid); then
    say "stopping (pid $pid)"
    stop_pid "$pid" ftpd "$FTP_STOP_TIMEOUT_S"
    rm -f "$PIDFILE"
    say "stopped"
  elif port_open "$FTP_PORT"; then
    say "not running here; port $FTP_PORT is served by a process this script did not start, leaving it alone"
  else
    rm -f "$PIDFILE"
    say "not running"
  fi
}

cmd_status() {
  if ftp_answers; then
    echo "ftp:      up   ftp://$FTP_USER:$FTP_PASSWORD@127.0.0.1:$FTP_PORT root $FTP_ROOT"
  else
    echo "ftp:      down (no FTP login as $FTP_USER on 127.0.0.1:$FTP_PORT)"
    return 3
  fi
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart) cmd_stop; cmd_start ;;
  status) cmd_status ;;
  *) echo "usage: $0 start|stop|restart|status" >&2; exit 2 ;;
esac
