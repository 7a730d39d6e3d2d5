#!/usr/bin/env bash
# A local Postgres 16 with pgvector, for the tests and for trying the Postgres store.
#
#   postgres.sh install             installs the binaries (once) and prints their directory
#   postgres.sh start <dir> [port]  creates a cluster in <dir> if needed, starts it, prints its URL
#   postgres.sh stop <dir>
#
# Debian's PostgreSQL has no pgvector package here, and nothing can be downloaded from GitHub. The
# PyPI package `pgserver` ships PostgreSQL 16.2 built with pgvector 0.6.2 as a manylinux wheel; only its
# binaries are used (no Python at run time), unpacked under ~/.cache/docent/pgserver (/opt/docent/pgserver
# as root, whose home the server's own user cannot enter).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PGSERVER_VERSION=0.1.4
if [ "$(id -u)" = 0 ]; then
  PG_HOME="${DOCENT_PG_HOME:-/opt/docent/pgserver}"
else
  PG_HOME="${DOCENT_PG_HOME:-$HOME/.cache/docent/pgserver}"
fi
PG_BIN="$PG_HOME/pgserver/pginstall/bin"
# Postgres refuses to run as root; as root the cluster belongs to this system user (runuser and
# useradd live in sbin, which a minimal PATH may lack).
PG_USER=docent-postgres
PATH="$PATH:/usr/sbin:/sbin"

install_binaries() {
  if [ -x "$PG_BIN/postgres" ] && [ -f "$PG_HOME/pgserver/pginstall/share/postgresql/extension/vector.control" ]; then
    return
  fi
  log "installing PostgreSQL 16 with pgvector (PyPI pgserver $PGSERVER_VERSION, once)"
  command -v python3 >/dev/null || die "python3 is needed to install Postgres from PyPI"
  rm -rf "$PG_HOME"
  mkdir -p "$PG_HOME"
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --no-deps --target "$PG_HOME" "pgserver==$PGSERVER_VERSION" \
    || die "pip could not install pgserver==$PGSERVER_VERSION (PostgreSQL + pgvector binaries)"
  [ -x "$PG_BIN/postgres" ] || die "pgserver $PGSERVER_VERSION has no postgres binary at $PG_BIN"
  chmod -R a+rX "$PG_HOME"
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u "$PG_USER" -- "$@"
  else
    "$@"
  fi
}

start() {
  local dir=$1 port=${2:-55432}
  install_binaries
  if [ "$(id -u)" = 0 ] && ! id "$PG_USER" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER" || die "could not create the $PG_USER user"
  fi
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    chown "$PG_USER" "$dir"
    as_owner test -w "$dir" || die "$dir is not reachable by the $PG_USER user (a parent directory is private): use a directory such as /tmp/docent-pg"
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_owner "$PG_BIN/initdb" -D "$dir/data" -U docent --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || die "initdb failed: $(tail -5 "$dir/initdb.log")"
  fi
  # Sockets in the cluster's own directory: /var/run/postgresql may not exist or be writable.
  as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
    || die "postgres did not start: $(tail -5 "$dir/server.log")"
  echo "postgres://docent:docent@127.0.0.1:$port/postgres"
}

stop() {
  local dir=$1
  [ -f "$dir/data/postmaster.pid" ] || return 0
  as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
}

case "${1:-}" in
  install) install_binaries; echo "$PG_BIN" ;;
  start) [ -n "${2:-}" ] || die "usage: postgres.sh start <dir> [port]"; start "$2" "${3:-}" ;;
  stop) [ -n "${2:-}" ] || die "usage: postgres.sh stop <dir>"; stop "$2" ;;
  *) die "usage: postgres.sh install | start <dir> [port] | stop <dir>" ;;
esac
