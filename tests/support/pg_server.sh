#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests (issue 16): Debian's postgresql package, a cluster
# made by initdb in a folder of the caller's, reachable only through a Unix socket in that folder
# (no TCP port, nothing shared with a system cluster).
#
#   pg_server.sh start DIR    initdb DIR/data (once) and start the server (or find it running:
#                             concurrent callers share one); prints the libpq URI
#                             of its "postgres" database, e.g.
#                             postgresql:///postgres?host=DIR&port=5432&user=sgeventd
#   pg_server.sh stop DIR     stop it (fast shutdown), keep the data
#   pg_server.sh restart DIR  stop then start (a database restart under a running daemon)
#   pg_server.sh destroy DIR  stop it and remove DIR with its data
#
# PostgreSQL refuses to run as root: under root the server runs as the "postgres" user (made by
# the package), which then owns DIR. The superuser role is "sgeventd", trusted on the socket.
# The binaries come from $SGEVENTD_PG_BINDIR, else `pg_config --bindir`, else the newest
# /usr/lib/postgresql/*/bin. fsync is off: the tests check sgeventd's logic, not the disk's
# (SGEVENTD_PG_DURABLE=1 keeps PostgreSQL's defaults, for benchmarks).
set -euo pipefail

usage() {
  echo "usage: $0 start|stop|restart DIR" >&2
  exit 2
}
[[ $# -eq 2 ]] || usage
action=$1
dir=$(realpath -m "$2")
lock="$dir.lock"

bindir=${SGEVENTD_PG_BINDIR:-}
if [[ -z "$bindir" ]] && command -v pg_config >/dev/null; then
  bindir=$(pg_config --bindir)
fi
if [[ -z "$bindir" || ! -x "$bindir/initdb" ]]; then
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
if [[ -z "$bindir" || ! -x "$bindir/initdb" ]]; then
  echo "pg_server.sh: no PostgreSQL server binaries (install Debian's postgresql package," \
    "or set SGEVENTD_PG_BINDIR)" >&2
  exit 1
fi

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# Under root the server runs as "postgres", which must reach DIR: a build tree in a folder
# only root may enter (a clone in /root) gets its server in a folder of /tmp named after DIR
# instead. The URI printed names the folder used.
if [[ $(id -u) -eq 0 ]] && ! runuser -u postgres -- test -x "$(dirname "$dir")" 2>/dev/null; then
  dir="/tmp/sgeventd-pg-$(printf '%s' "$dir" | md5sum | cut -c1-16)"
fi

uri() { echo "postgresql:///postgres?host=$dir&port=5432&user=sgeventd"; }

running() { as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; }

start() {
  mkdir -p "$dir"
  if [[ $(id -u) -eq 0 ]]; then chown postgres: "$dir"; fi
  if running; then
    uri
    return 0
  fi
  if [[ ! -f "$dir/data/PG_VERSION" ]]; then
    as_owner "$bindir/initdb" -D "$dir/data" -U sgeventd --auth=trust -E UTF8 --locale=C.UTF-8 \
      --no-sync >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2
      exit 1
    }
    # One role must give its password (the tests of [state] password_file); every other
    # local connection is trusted.
    sed -i '1i local all sgeventd_password scram-sha-256' "$dir/data/pg_hba.conf"
  fi
  local fast="-c fsync=off -c full_page_writes=off"
  if [[ "${SGEVENTD_PG_DURABLE:-}" == 1 ]]; then fast=""; fi
  as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses='' -k $dir -p 5432 $fast" \
    start >/dev/null 9>&- || {
    cat "$dir/server.log" >&2
    exit 1
  }
  uri
}

stop() {
  [[ -f "$dir/data/postmaster.pid" ]] || return 0
  as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
}

# Test processes start it concurrently: one at a time, and a running server is reused. (The
# server must not inherit the lock's descriptor: it would hold the lock for its lifetime.)
mkdir -p "$(dirname "$lock")"
exec 9>"$lock"
flock 9

case "$action" in
  start) start ;;
  stop) stop ;;
  restart)
    stop
    start
    ;;
  destroy)
    stop
    rm -rf "$dir" "$lock"
    ;;
  *) usage ;;
esac
