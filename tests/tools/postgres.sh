#!/usr/bin/env bash
# Start a private PostgreSQL cluster for the test suite (installing the distribution's
# server when none is there) and print its SQLAlchemy URL. Idempotent: a running cluster
# in the same folder is reused. Usage: tests/tools/postgres.sh [start|stop]
set -euo pipefail

PGPORT="${IXCHANGE_TEST_PGPORT:-54329}"
PGDATA="${IXCHANGE_TEST_PGDATA:-/tmp/ixchange-test-pg}"
URL="postgresql+psycopg://ixchange@127.0.0.1:${PGPORT}/ixchange"

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

BIN="$(find_bin)"
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
  echo "installing PostgreSQL from the distribution..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  BIN="$(find_bin)"
fi

# PostgreSQL refuses to run as root: use the postgres account when we are root.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ "${1:-start}" = stop ]; then
  as_pg "$BIN/pg_ctl" -D "$PGDATA" -m fast stop >&2 || true
  exit 0
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"
  [ "$(id -u)" = 0 ] && chown postgres: "$PGDATA"
  as_pg "$BIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 >/dev/null
fi
if ! as_pg "$BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
  as_pg "$BIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w \
    -o "-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200" start >&2
fi
psql_pg() { as_pg "$BIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
if [ "$(psql_pg -c "select 1 from pg_roles where rolname='ixchange'")" != 1 ]; then
  psql_pg -c "create role ixchange login createdb" >&2
fi
if [ "$(psql_pg -c "select 1 from pg_database where datname='ixchange'")" != 1 ]; then
  psql_pg -c "create database ixchange owner ixchange" >&2
fi
echo "$URL"
