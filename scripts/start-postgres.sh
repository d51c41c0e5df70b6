#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on loopback for the tests and print
# `export TEST_DATABASE_URL=...`. With --stop, stop it again.
set -euo pipefail
DATA=${PGTEST_DATA:-/tmp/gmail-oneclick-pg}
PORT=${PGTEST_PORT:-55432}
BINDIR=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "${1:-}" = "--stop" ]; then
  as_pg "$BINDIR/pg_ctl" -D "$DATA" -m fast stop >/dev/null 2>&1 || true
  exit 0
fi
as_pg "$BINDIR/pg_ctl" -D "$DATA" -m fast stop >/dev/null 2>&1 || true
rm -rf "$DATA"; mkdir -p "$DATA"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$DATA"
as_pg "$BINDIR/initdb" -D "$DATA" -U postgres -A trust >/dev/null
as_pg "$BINDIR/pg_ctl" -D "$DATA" -l "$DATA/server.log" \
  -o "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=/tmp -c fsync=off -c max_connections=200" \
  -w start >/dev/null
"$BINDIR/createdb" -h 127.0.0.1 -p "$PORT" -U postgres gmail_oneclick_test 2>/dev/null || true
echo "export TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:$PORT/gmail_oneclick_test"
