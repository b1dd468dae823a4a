# shellcheck shell=bash
# Shared helpers for scripts/services/*.sh. Sourced, never run directly.
#
# Every service keeps its state under var/<service>/ in the repo (git-ignored),
# so a checkout can be wiped with `make services-stop && rm -rf var/`.
# The scripts expect to run as root: they may apt-get install packages, create
# an OS user and drop privileges to it (postgres refuses to run as root).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck disable=SC2034  # used by the sourcing scripts
VAR="$ROOT/var"
VENV_PY="$ROOT/.venv/bin/python"

# SERVICE must be set by the sourcing script; it prefixes every message.
say()  { printf '[%s] %s\n' "${SERVICE:-services}" "$*"; }
warn() { printf '[%s] WARNING: %s\n' "${SERVICE:-services}" "$*" >&2; }
die()  { printf '[%s] ERROR: %s\n' "${SERVICE:-services}" "$*" >&2; exit 1; }

# die_with_log MESSAGE LOGFILE: fail, showing the end of the service's own log,
# because "timed out" alone never tells why a server did not come up.
die_with_log() {
  local msg=$1 log=$2 lines=${3:-40}
  printf '[%s] ERROR: %s\n' "${SERVICE:-services}" "$msg" >&2
  if [[ -s $log ]]; then
    printf -- '----- last %s lines of %s -----\n' "$lines" "$log" >&2
    tail -n "$lines" "$log" >&2
    printf -- '----- end of %s -----\n' "$log" >&2
  else
    printf '(log %s is missing or empty)\n' "$log" >&2
  fi
  exit 1
}

need_root() {
  [[ $(id -u) -eq 0 ]] || die "must run as root (installs packages, manages OS users)"
}

# apt_install PKG...: `apt-get update` only when something is really missing, so a
# normal start stays offline and fast.
apt_install() {
  need_root
  say "installing Debian package(s): $* (one-time)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# alive PID: the process exists and is not a zombie. A killed daemon whose parent
# already exited is re-parented to pid 1, which here may reap it only after a while;
# until then `kill -0` still succeeds on the zombie.
alive() {
  local stat
  stat=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ -n $stat && $stat != Z* ]]
}

# pid_of_ours PIDFILE PATTERN: print the pid if the file names a live process whose
# command line contains PATTERN. The pattern check stops us from signalling an
# unrelated process that reused a stale pid (e.g. after a machine restart).
pid_of_ours() {
  local pidfile=$1 pattern=$2 pid
  [[ -s $pidfile ]] || return 1
  pid=$(head -n 1 "$pidfile" | tr -dc '0-9')  # postmaster.pid has more lines
  [[ -n $pid ]] && alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$pattern" || return 1
  echo "$pid"
}

# stop_pid PID NAME TIMEOUT_S: SIGTERM, wait, then SIGKILL.
stop_pid() {
  local pid=$1 name=$2 timeout=$3 waited=0
  kill -TERM "$pid" 2>/dev/null || return 0
  while alive "$pid"; do
    if ((waited >= timeout)); then
      warn "$name (pid $pid) still running after ${timeout}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1
      break
    fi
    sleep 1
    waited=$((waited + 1))
  done
}

# venv_has MODULE: the project venv exists and can import MODULE.
venv_has() {
  [[ -x $VENV_PY ]] && "$VENV_PY" -c "import $1" 2>/dev/null
}
