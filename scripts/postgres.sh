#!/usr/bin/env bash
# Starts a private PostgreSQL server for the test suite and prints its admin URL.
#
# Idempotent: installs PostgreSQL from Debian's packages if it is missing (as root),
# creates a throw-away cluster once, starts it if it is not running, and drops test
# databases left over from earlier runs. The cluster listens on 127.0.0.1 only, trusts
# local connections and runs with fsync off: it is for tests, never for data.
#
#   JIEYUE_TEST_PG_PORT  port (default 55432)
#   JIEYUE_TEST_PG_DIR   cluster directory (default /var/tmp/jieyue-test-pg)
set -euo pipefail

port="${JIEYUE_TEST_PG_PORT:-55432}"
dir="${JIEYUE_TEST_PG_DIR:-/var/tmp/jieyue-test-pg}"
log() { printf 'postgres.sh: %s\n' "$*" >&2; }

find_bindir() {
  local candidate
  for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

bindir="$(find_bindir || true)"
if [ -z "$bindir" ]; then
  log "PostgreSQL is not installed; installing it from Debian's packages"
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq >&2
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  else
    log "cannot install PostgreSQL without root; install the 'postgresql' package"
    exit 1
  fi
  bindir="$(find_bindir)"
fi

# PostgreSQL refuses to run as root: run it as the 'postgres' system user then.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

if [ ! -s "$dir/PG_VERSION" ]; then
  log "creating a test cluster in $dir"
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir"; fi
  chmod 700 "$dir"
  as_owner "$bindir/initdb" -D "$dir" -U jieyue --auth-local=trust --auth-host=trust \
    --encoding=UTF8 --locale=C.UTF-8 >/dev/null
fi

if ! as_owner "$bindir/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
  log "starting the test cluster on 127.0.0.1:$port"
  as_owner "$bindir/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=400 \
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null
fi

psql_admin() { "$bindir/psql" -h 127.0.0.1 -p "$port" -U jieyue -d postgres -v ON_ERROR_STOP=1 -Atq "$@"; }
for _ in $(seq 1 30); do
  psql_admin -c 'select 1' >/dev/null 2>&1 && break
  sleep 1
done
for db in $(psql_admin -c "select datname from pg_database where datname like 'jieyue_test_%'"); do
  psql_admin -c "drop database if exists \"$db\" with (force)" >/dev/null
done

echo "postgres://jieyue@127.0.0.1:$port/postgres"
