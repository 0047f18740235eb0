#!/usr/bin/env bash
# A throw-away PostgreSQL for the tests: initdb in a temp dir, run as the
# `postgres` user, on a free port of 127.0.0.1 only.
#   scripts/pg-test-server.sh start DIR   prints the maintenance URL
#                                          (postgresql://postgres@127.0.0.1:PORT/postgres)
#   scripts/pg-test-server.sh stop DIR    stops it and removes DIR
#   scripts/pg-test-server.sh restart DIR restarts it on the same port (tests of recovery)
# Tests create their own databases through that URL (SOLOD_TEST_PG_URL).
set -euo pipefail
cmd=${1:?usage: pg-test-server.sh start|stop|restart DIR}
dir=${2:?usage: pg-test-server.sh start|stop|restart DIR}

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x "$bin/initdb" ]] || { echo "pg-test-server: PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }

as_postgres() {
  if [[ "$(id -un)" == postgres ]]; then "$@"; else runuser -u postgres -- "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    chown postgres:postgres "$dir" 2>/dev/null || true
    chmod 0700 "$dir"
    as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    port=$(free_port)
    # Only 127.0.0.1; a socket in DIR, not /var/run. fsync off: a test server
    # may lose data on a power cut, never on a restart or a client's kill -9.
    cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
fsync = off
full_page_writes = off
shared_buffers = 64MB
log_min_messages = warning
EOF
    echo "$port" >"$dir/port"
    as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start >/dev/null ||
      { cat "$dir/server.log" >&2; exit 1; }
    echo "postgresql://postgres@127.0.0.1:$port/postgres"
    ;;
  restart)
    as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -m fast restart >/dev/null
    ;;
  stop)
    if [[ -d "$dir/data" ]]; then
      as_postgres "$bin/pg_ctl" -D "$dir/data" -w -t 30 -m fast stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "pg-test-server: unknown command $cmd" >&2
    exit 2
    ;;
esac
