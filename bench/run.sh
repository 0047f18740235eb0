#!/usr/bin/env bash
# The one command of the benchmark (bench/README.md): builds solod and
# solod-bench, runs every scenario against a fresh solod in its own temporary
# directory (seeded where a scenario needs many sessions), runs the peers
# (bench/peers/run-peer.sh flask|node, when present) for connect, ping and
# hold, collects every RESULT line into bench/results/latest.jsonl and
# prints a markdown table.
#
#   bench/run.sh                 full sizes (the figures of issue #4)
#   bench/run.sh --quick         small sizes, seconds each: a smoke run for CI, nothing judged
#   bench/run.sh --only kick,ping   just these scenarios
#   bench/run.sh --no-peers      solod only
#   bench/run.sh --no-build      use existing binaries
#   bench/run.sh --rounds 3      connect/ping/hold: solod and peers alternately, 3 rounds
#   bench/run.sh --only cluster  several nodes on one PostgreSQL (issue 10): cross-node kick,
#                                logins/s and connects/s with two nodes against one, audit
#                                events/s on PostgreSQL against SQLite (needs PostgreSQL installed)
#   bench/run.sh --only cluster-kick   the cross-node kick alone (~2 min)
#   bench/run.sh --only tls      connect, hold, ping and kick over TLS, and the raw OpenSSL
#                                handshake rate (issue 12); tls-connect, tls-hold, tls-ping,
#                                tls-kick one of them
#
# Environment: BENCH_BUILD_DIR (default build/), BENCH_RESULTS_DIR (default bench/results/), SOLOD_BIN, BENCH_BIN,
# BENCH_SOLOD_WRAPPER (a command solod runs under, e.g. valgrind's massif),
# BENCH_PASSWORD, BENCH_KEEP=1 (keep the temporary directories), BENCH_CONNECT_N / BENCH_HOLD_N /
# BENCH_PING_N (connections of those scenarios, solod and peers alike).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BENCH_BUILD_DIR:-$ROOT/build}
SOLOD_BIN=${SOLOD_BIN:-$BUILD_DIR/solod}
BENCH_BIN=${BENCH_BIN:-$BUILD_DIR/bench/solod-bench}
RESULTS_DIR=${BENCH_RESULTS_DIR:-$ROOT/bench/results}
RESULTS=$RESULTS_DIR/latest.jsonl
PEER_SCRIPT=$ROOT/bench/peers/run-peer.sh

QUICK=0
BUILD=1
PEERS=1
ROUNDS=1
ONLY="logins,connect,hold,kick,ping,tls,presence,audit,cluster"

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --no-build) BUILD=0 ;;
    --no-peers) PEERS=0 ;;
    --only) ONLY=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

wants() { case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

# -- sizes ------------------------------------------------------------------------------
if [ "$QUICK" = 1 ]; then
  LOGIN_USERS=50;   LOGIN_SECONDS=3;  HASH_SECONDS=2; LOGIN_CONCURRENCY=4
  CONNECT_N=200;    PEER_CONNECT_N=100
  HOLD_N=200;       PEER_HOLD_N=100;  HOLD_SETTLE=1;  HOLD_SECONDS=2
  KICK_N=100;       KICKS=20
  PING_N=100;       PEER_PING_N=50;   PING_SECONDS=2
  PRESENCE_N=100;   PRESENCE_S=5;    HANDSHAKE_SECONDS=2
  AUDIT_EVENTS=20000; AUDIT_LOGINS=10
  CLUSTER_KICK_N=200; CLUSTER_KICKS=50; CLUSTER_LOGIN_USERS=50; CLUSTER_CONNECT_N=400
  CLUSTER_AUDIT_EVENTS=20000
  TIMEOUT=120
else
  LOGIN_USERS=1000; LOGIN_SECONDS=20; HASH_SECONDS=10; LOGIN_CONCURRENCY=8
  CONNECT_N=10000;  PEER_CONNECT_N=10000
  HOLD_N=19000;     PEER_HOLD_N=19000; HOLD_SETTLE=3; HOLD_SECONDS=10
  KICK_N=19000;     KICKS=1000
  PING_N=1000;      PEER_PING_N=1000; PING_SECONDS=10
  PRESENCE_N=5000;  PRESENCE_S=50;   HANDSHAKE_SECONDS=10
  AUDIT_EVENTS=1000000; AUDIT_LOGINS=200
  CLUSTER_KICK_N=19000; CLUSTER_KICKS=1000; CLUSTER_LOGIN_USERS=1000; CLUSTER_CONNECT_N=10000
  CLUSTER_AUDIT_EVENTS=200000
  TIMEOUT=900
fi
# Sizes of connect, hold and ping, for a run at another scale (BENCH_CONNECT_N etc.).
CONNECT_N=${BENCH_CONNECT_N:-$CONNECT_N}; PEER_CONNECT_N=${BENCH_CONNECT_N:-$PEER_CONNECT_N}
HOLD_N=${BENCH_HOLD_N:-$HOLD_N};          PEER_HOLD_N=${BENCH_HOLD_N:-$PEER_HOLD_N}
PING_N=${BENCH_PING_N:-$PING_N};          PEER_PING_N=${BENCH_PING_N:-$PEER_PING_N}

export BENCH_PASSWORD=${BENCH_PASSWORD:-bench-password-1}
# One HS256 secret for everything this run starts: solod (SOLOD_JWT_SECRET), the seeding, the peers.
SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export BENCH_JWT_SECRET=$SECRET

# 19,000 connections need the hard open-file limit, for solod, the peers and the bench.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# -- build ------------------------------------------------------------------------------
if [ "$BUILD" = 1 ]; then
  echo "== building (scripts/build.sh)"
  "$ROOT/scripts/build.sh" -DSOLOD_BUILD_BENCH=ON >/dev/null
fi
for bin in "$SOLOD_BIN" "$BENCH_BIN"; do
  [ -x "$bin" ] || { echo "run.sh: $bin is missing; build first (or drop --no-build)" >&2; exit 1; }
done

mkdir -p "$RESULTS_DIR"
: > "$RESULTS"
TMP_DIRS=()
SERVER_PIDS=()
FAILURES=0
PG_DIR=""
PG_URL=""

cleanup() {
  local pid
  for pid in "${SERVER_PIDS[@]:-}"; do
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
  done
  if [ -n "$PG_DIR" ]; then
    sleep 1 # the nodes' last connections close before the server stops
    "$ROOT/scripts/pg-test-server.sh" stop "$PG_DIR/srv" || true
    rmdir "$PG_DIR" 2>/dev/null || true
  fi
  if [ "${BENCH_KEEP:-0}" != 1 ]; then
    local d
    for d in "${TMP_DIRS[@]:-}"; do
      [ -n "$d" ] && rm -rf "$d"
    done
  fi
}
trap cleanup EXIT

# The TCP port `pid` listens on, from /proc (its socket inodes against the
# LISTEN rows of its network namespace's tcp table).
listen_port_of() {
  local pid=$1 ino hex
  for ino in $(ls -l "/proc/$pid/fd" 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\].*/\1/p'); do
    hex=$(awk -v ino="$ino" '$4 == "0A" && $10 == ino { split($2, a, ":"); print a[2]; exit }' \
      "/proc/$pid/net/tcp" 2>/dev/null)
    if [ -n "$hex" ]; then
      echo $((16#$hex))
      return 0
    fi
  done
  return 1
}

# Waits for `listening on HOST:PORT` in `log` (or, when the server logs only
# warnings, for its listening socket in /proc); prints the port.
wait_for_port() {
  local pid=$1 log=$2 port i
  for i in $(seq 1 300); do
    port=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$log" 2>/dev/null | head -1)
    if [ -z "$port" ]; then
      port=$(listen_port_of "$pid" || true)
    fi
    if [ -n "$port" ]; then
      echo "$port"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# start_solod TLS DURABILITY SEED_USERS: a fresh solod in a new temporary
# directory, seeded with SEED_USERS users and live sessions (tokens in
# $SOLOD_DIR/tokens.txt). Sets SOLOD_PID, SOLOD_URL, SOLOD_DIR.
# With DB_URL set (a PostgreSQL database), the node runs on it instead of its
# own SQLite file: several nodes on one DB_URL form a cluster (seed only the first).
start_solod() {
  local tls=$1 durability=$2 seed=$3 dir port scheme=http db_url=${DB_URL:-sqlite3://data/solod.db}
  dir=$(mktemp -d /tmp/solod-bench-XXXXXX)
  TMP_DIRS+=("$dir")
  cat > "$dir/solod.toml" <<EOF
[server]
listen = "127.0.0.1:0"
tls = "$tls"
max_connections = 20000
max_connections_per_ip = 20000
static_dir = "$ROOT/web"

[auth]
max_connections_per_session = 3

[limits]
login_per_ip_per_minute = 1000000
register_per_ip_per_minute = 1000000
ws_messages_per_second = 100000

[database]
url = "$db_url"

[audit]
durability = "$durability"

[log]
dir = "logs"
level = "warn"
EOF
  if [ "$seed" -gt 0 ]; then
    (cd "$dir" && SOLOD_JWT_SECRET=$SECRET "$SOLOD_BIN" --config solod.toml migrate >/dev/null)
    "$BENCH_BIN" seed $(seed_target "$db_url" "$dir") --users "$seed" --tokens-out "$dir/tokens.txt" \
      --secret "$SECRET" --password "$BENCH_PASSWORD"
  fi
  # BENCH_SOLOD_WRAPPER: a command solod runs under (the memory inventory of
  # bench/RESULTS.md: "valgrind --tool=massif --massif-out-file=FILE").
  (cd "$dir" && SOLOD_JWT_SECRET=$SECRET exec ${BENCH_SOLOD_WRAPPER:-} "$SOLOD_BIN" --config solod.toml) \
    > "$dir/server.log" 2>&1 &
  SOLOD_PID=$!
  SERVER_PIDS+=("$SOLOD_PID")
  if ! port=$(wait_for_port "$SOLOD_PID" "$dir/server.log"); then
    echo "run.sh: solod did not start; its output:" >&2
    cat "$dir/server.log" >&2
    exit 1
  fi
  [ "$tls" = required ] && scheme=https
  SOLOD_URL="$scheme://127.0.0.1:$port"
  SOLOD_DIR=$dir
  echo "== solod pid $SOLOD_PID at $SOLOD_URL (tls $tls, durability $durability, $seed seeded users)"
}

# seed_target DB_URL DIR: where the seeding writes: the node's own SQLite file, or DB_URL.
seed_target() {
  case "$1" in
    sqlite3://*) echo "--db $2/data/solod.db" ;;
    *) echo "--db-url $1" ;;
  esac
}

# start_pg: a throw-away PostgreSQL (scripts/pg-test-server.sh) for the cluster
# scenarios; sets PG_DIR and PG_URL (its maintenance URL). Returns 1 without PostgreSQL.
start_pg() {
  [ -n "$PG_URL" ] && return 0
  PG_DIR=$(mktemp -d /tmp/solod-bench-pg-XXXXXX)
  chmod 0755 "$PG_DIR" # the server runs as the postgres user
  if ! PG_URL=$("$ROOT/scripts/pg-test-server.sh" start "$PG_DIR/srv"); then
    rm -rf "$PG_DIR"
    PG_DIR=""
    PG_URL=""
    return 1
  fi
  echo "== PostgreSQL at $PG_URL"
}

# new_pg_db: creates a fresh database on it; prints its URL.
new_pg_db() {
  local name
  name=solod_bench_$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
  psql -X -q -v ON_ERROR_STOP=1 -d "$PG_URL" -c "CREATE DATABASE $name" >/dev/null
  echo "${PG_URL%/*}/$name"
}

# wait_trusted URL TOKEN_FILE: waits (60 s at most) until the node at URL checks
# tokens: a node resynchronising with the cluster answers 503 (a load balancer's
# health check would wait the same way).
wait_trusted() {
  local token
  token=$(awk '!/^#/ { print $3; exit }' "$2")
  python3 - "$1" "$token" <<'PY'
import sys, time, urllib.request, urllib.error
url, token = sys.argv[1], sys.argv[2]
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    req = urllib.request.Request(url + "/api/me", headers={"Authorization": "Bearer " + token})
    try:
        urllib.request.urlopen(req, timeout=5)
        sys.exit(0)
    except urllib.error.HTTPError as e:
        if e.code != 503:
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit("run.sh: " + url + " still resynchronising after 60 s")
PY
}

# stop_server PID: SIGTERM, then SIGKILL after 10 s.
stop_server() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# start_peer NAME: bench/peers/run-peer.sh NAME on an ephemeral port. Sets PEER_PID, PEER_URL.
start_peer() {
  local name=$1 dir port
  dir=$(mktemp -d /tmp/solod-bench-peer-XXXXXX)
  TMP_DIRS+=("$dir")
  (cd "$dir" && PORT=0 exec "$PEER_SCRIPT" "$name") > "$dir/peer.log" 2>&1 &
  PEER_PID=$!
  SERVER_PIDS+=("$PEER_PID")
  if ! port=$(wait_for_port "$PEER_PID" "$dir/peer.log"); then
    echo "run.sh: peer $name did not start; its output:" >&2
    cat "$dir/peer.log" >&2
    return 1
  fi
  PEER_URL="http://127.0.0.1:$port"
  echo "== peer $name pid $PEER_PID at $PEER_URL"
}

# bench ARGS...: runs solod-bench, shows its output, keeps its RESULT line.
bench() {
  local out status=0
  out=$(mktemp)
  "$BENCH_BIN" "$@" --timeout "$TIMEOUT" | tee "$out" || status=$?
  grep '^RESULT ' "$out" | sed 's/^RESULT //' >> "$RESULTS" || true
  rm -f "$out"
  if [ "$status" != 0 ]; then
    echo "run.sh: solod-bench $1 exited $status" >&2
    FAILURES=$((FAILURES + 1))
  fi
}

PEER_NAMES=()
if [ "$PEERS" = 1 ] && [ -x "$PEER_SCRIPT" ]; then
  PEER_NAMES=(flask node)
elif [ "$PEERS" = 1 ]; then
  echo "== no bench/peers/run-peer.sh: solod only"
fi

# peer_round SCENARIO N ARGS...: the scenario against each peer (socketio; users log in first).
peer_round() {
  local scenario=$1 n=$2 name
  shift 2
  for name in "${PEER_NAMES[@]:-}"; do
    [ -n "$name" ] || continue
    if start_peer "$name"; then
      bench "$scenario" --url "$PEER_URL" --proto socketio --label "$name" --connections "$n" \
        --server-pid "$PEER_PID" "$@"
      stop_server "$PEER_PID"
    else
      FAILURES=$((FAILURES + 1))
    fi
  done
}

# -- 1. logins ------------------------------------------------------------------------------
if wants logins; then
  start_solod off commit "$LOGIN_USERS"
  bench logins --url "$SOLOD_URL" --tokens "$SOLOD_DIR/tokens.txt" --users "$LOGIN_USERS" \
    --duration "$LOGIN_SECONDS" --hash-seconds "$HASH_SECONDS" --concurrency "$LOGIN_CONCURRENCY" \
    --server-pid "$SOLOD_PID"
  stop_server "$SOLOD_PID"
fi

# -- 2, 3, 5. connect, hold, ping: solod and the peers alternately ------------------------------
for round in $(seq 1 "$ROUNDS"); do
  if wants connect; then
    start_solod off commit "$CONNECT_N"
    bench connect --url "$SOLOD_URL" --tokens "$SOLOD_DIR/tokens.txt" --connections "$CONNECT_N" \
      --server-pid "$SOLOD_PID"
    stop_server "$SOLOD_PID"
    # The same load over solod's /socket.io/ (issue 11: within 80 % of /ws),
    # whose every socket hears each presence change (SPEC §8); and /ws with
    # every connection subscribed to presence, the like-for-like load.
    start_solod off commit "$CONNECT_N"
    bench connect --url "$SOLOD_URL" --proto socketio --label solod-socketio \
      --tokens "$SOLOD_DIR/tokens.txt" --connections "$CONNECT_N" --server-pid "$SOLOD_PID"
    stop_server "$SOLOD_PID"
    start_solod off commit "$CONNECT_N"
    bench connect --url "$SOLOD_URL" --label solod-subscribed --subscribe \
      --tokens "$SOLOD_DIR/tokens.txt" --connections "$CONNECT_N" --server-pid "$SOLOD_PID"
    stop_server "$SOLOD_PID"
    peer_round connect "$PEER_CONNECT_N"
  fi
  if wants hold; then
    start_solod off commit "$HOLD_N"
    bench hold --url "$SOLOD_URL" --tokens "$SOLOD_DIR/tokens.txt" --connections "$HOLD_N" \
      --settle-seconds "$HOLD_SETTLE" --hold-seconds "$HOLD_SECONDS" --server-pid "$SOLOD_PID"
    stop_server "$SOLOD_PID"
    start_solod off commit "$HOLD_N"
    bench hold --url "$SOLOD_URL" --proto socketio --label solod-socketio \
      --tokens "$SOLOD_DIR/tokens.txt" --connections "$HOLD_N" \
      --settle-seconds "$HOLD_SETTLE" --hold-seconds "$HOLD_SECONDS" --server-pid "$SOLOD_PID"
    stop_server "$SOLOD_PID"
    start_solod off commit "$HOLD_N"
    bench hold --url "$SOLOD_URL" --label solod-subscribed --subscribe \
      --tokens "$SOLOD_DIR/tokens.txt" --connections "$HOLD_N" \
      --settle-seconds "$HOLD_SETTLE" --hold-seconds "$HOLD_SECONDS" --server-pid "$SOLOD_PID"
    stop_server "$SOLOD_PID"
    peer_round hold "$PEER_HOLD_N" --settle-seconds "$HOLD_SETTLE" --hold-seconds "$HOLD_SECONDS"
  fi
  if wants ping; then
    start_solod off commit "$PING_N"
    bench ping --url "$SOLOD_URL" --tokens "$SOLOD_DIR/tokens.txt" --connections "$PING_N" \
      --duration "$PING_SECONDS" --server-pid "$SOLOD_PID"
    stop_server "$SOLOD_PID"
    start_solod off commit "$PING_N"
    bench ping --url "$SOLOD_URL" --proto socketio --label solod-socketio \
      --tokens "$SOLOD_DIR/tokens.txt" --connections "$PING_N" \
      --duration "$PING_SECONDS" --server-pid "$SOLOD_PID"
    stop_server "$SOLOD_PID"
    peer_round ping "$PEER_PING_N" --duration "$PING_SECONDS"
  fi
done

# -- 4. kick --------------------------------------------------------------------------------------
if wants kick; then
  start_solod off commit "$KICK_N"
  bench kick --url "$SOLOD_URL" --tokens "$SOLOD_DIR/tokens.txt" --connections "$KICK_N" --kicks "$KICKS" \
    --server-pid "$SOLOD_PID"
  stop_server "$SOLOD_PID"
fi

# -- 9. TLS (issue 12): connect, hold, ping and kick over TLS, beside the raw handshake rate ----------
# The raw rate uses solod's own context with the certificate and key solod generated for the
# connect run (bench/src/scenario_handshake.cpp), on the same cores, solod idle meanwhile.
if wants tls || wants tls-connect; then
  start_solod required commit "$CONNECT_N"
  bench handshake --cert "$SOLOD_DIR/data/cert.pem" --key "$SOLOD_DIR/data/key.pem" \
    --seconds "$HANDSHAKE_SECONDS"
  # two client processes, as the raw rate has two client threads
  bench connect --url "$SOLOD_URL" --tokens "$SOLOD_DIR/tokens.txt" --connections "$CONNECT_N" \
    --processes 2 --server-pid "$SOLOD_PID"
  stop_server "$SOLOD_PID"
fi
if wants tls || wants tls-hold; then
  bench tls-memory   # where the TLS part of a held connection goes
  start_solod required commit "$HOLD_N"
  bench hold --url "$SOLOD_URL" --tokens "$SOLOD_DIR/tokens.txt" --connections "$HOLD_N" \
    --settle-seconds "$HOLD_SETTLE" --hold-seconds "$HOLD_SECONDS" --server-pid "$SOLOD_PID"
  stop_server "$SOLOD_PID"
fi
if wants tls || wants tls-ping; then
  # TLS against plain in the same section, two client processes each (the
  # client's TLS shares the cores too: one process was the bottleneck)
  for mode in off required; do
    start_solod "$mode" commit "$PING_N"
    bench ping --url "$SOLOD_URL" --label solod-2p --tokens "$SOLOD_DIR/tokens.txt" \
      --connections "$PING_N" --processes 2 --duration "$PING_SECONDS" --server-pid "$SOLOD_PID"
    stop_server "$SOLOD_PID"
  done
fi
if wants tls || wants tls-kick; then
  start_solod required commit "$KICK_N"
  bench kick --url "$SOLOD_URL" --tokens "$SOLOD_DIR/tokens.txt" --connections "$KICK_N" --kicks "$KICKS" \
    --server-pid "$SOLOD_PID"
  stop_server "$SOLOD_PID"
fi

# -- 6. presence -------------------------------------------------------------------------------------
if wants presence; then
  start_solod off commit $((PRESENCE_S + 2 * PRESENCE_N))
  bench presence --url "$SOLOD_URL" --tokens "$SOLOD_DIR/tokens.txt" --users "$PRESENCE_N" \
    --subscribers "$PRESENCE_S" --server-pid "$SOLOD_PID"
  stop_server "$SOLOD_PID"
fi

# -- 7. audit: the actor in-process, then logins against commit and async servers side by side --------
if wants audit; then
  start_solod off commit "$AUDIT_LOGINS"
  COMMIT_URL=$SOLOD_URL; COMMIT_PID=$SOLOD_PID; COMMIT_DIR=$SOLOD_DIR
  start_solod off async "$AUDIT_LOGINS"
  ASYNC_URL=$SOLOD_URL; ASYNC_PID=$SOLOD_PID
  bench audit --events "$AUDIT_EVENTS" --commit-url "$COMMIT_URL" --async-url "$ASYNC_URL" \
    --logins "$AUDIT_LOGINS" --users "$AUDIT_LOGINS" --tokens "$COMMIT_DIR/tokens.txt" \
    --db "$COMMIT_DIR/audit-bench.db"
  stop_server "$COMMIT_PID"
  stop_server "$ASYNC_PID"
fi

# -- 8. cluster (issue 10): two nodes on one PostgreSQL ---------------------------------------------
if wants cluster || wants cluster-kick; then
  if ! start_pg; then
    echo "== cluster: no PostgreSQL (scripts/pg-test-server.sh could not start one): skipped" >&2
    FAILURES=$((FAILURES + 1))
  else
    # Cross-node kick: the connections spread over A and B (one bench process each);
    # each process logs its users in again on the OTHER node.
    DB_URL=$(new_pg_db)
    DB_URL=$DB_URL start_solod off commit "$CLUSTER_KICK_N"
    A_URL=$SOLOD_URL; A_PID=$SOLOD_PID; A_DIR=$SOLOD_DIR
    DB_URL=$DB_URL start_solod off commit 0
    B_URL=$SOLOD_URL; B_PID=$SOLOD_PID
    wait_trusted "$A_URL" "$A_DIR/tokens.txt"; wait_trusted "$B_URL" "$A_DIR/tokens.txt"
    bench kick --url "$A_URL" --label solod-2-nodes --tokens "$A_DIR/tokens.txt" \
      --connections "$CLUSTER_KICK_N" --kicks "$CLUSTER_KICKS" --processes 2 \
      --connect-urls "$A_URL,$B_URL" --login-urls "$B_URL,$A_URL" --server-pid "$A_PID"
    stop_server "$A_PID"; stop_server "$B_PID"
  fi
fi
if wants cluster && [ -n "${PG_URL:-}" ]; then
  # Logins/s and connects/s: one node, then two nodes (one bench process each), on PostgreSQL.
  DB_URL=$(new_pg_db)
  DB_URL=$DB_URL start_solod off commit "$CLUSTER_LOGIN_USERS"
  A_URL=$SOLOD_URL; A_PID=$SOLOD_PID; A_DIR=$SOLOD_DIR
  wait_trusted "$A_URL" "$A_DIR/tokens.txt"
  bench logins --url "$A_URL" --label solod-pg-1-node --tokens "$A_DIR/tokens.txt" \
    --users "$CLUSTER_LOGIN_USERS" --duration "$LOGIN_SECONDS" --hash-seconds "$HASH_SECONDS" \
    --concurrency "$LOGIN_CONCURRENCY" --processes 2 --server-pid "$A_PID"
  DB_URL=$DB_URL start_solod off commit 0
  B_URL=$SOLOD_URL; B_PID=$SOLOD_PID
  wait_trusted "$B_URL" "$A_DIR/tokens.txt"
  bench logins --url "$A_URL" --urls "$A_URL,$B_URL" --label solod-pg-2-nodes \
    --tokens "$A_DIR/tokens.txt" --users "$CLUSTER_LOGIN_USERS" --duration "$LOGIN_SECONDS" \
    --hash-seconds "$HASH_SECONDS" --concurrency "$LOGIN_CONCURRENCY" --processes 2 --server-pid "$A_PID"
  stop_server "$A_PID"; stop_server "$B_PID"

  DB_URL=$(new_pg_db)
  DB_URL=$DB_URL start_solod off commit "$((2 * CLUSTER_CONNECT_N))"
  A_URL=$SOLOD_URL; A_PID=$SOLOD_PID; A_DIR=$SOLOD_DIR
  # the first N tokens for one node, the next N for two (connections stay open until the end)
  awk -v n="$CLUSTER_CONNECT_N" '!/^#/ && k < n { print; k++ }' "$A_DIR/tokens.txt" > "$A_DIR/tokens-1.txt"
  grep -v '^#' "$A_DIR/tokens.txt" | tail -n "$CLUSTER_CONNECT_N" > "$A_DIR/tokens-2.txt"
  wait_trusted "$A_URL" "$A_DIR/tokens-1.txt"
  bench connect --url "$A_URL" --label solod-pg-1-node --tokens "$A_DIR/tokens-1.txt" \
    --connections "$CLUSTER_CONNECT_N" --processes 2 --server-pid "$A_PID"
  stop_server "$A_PID"
  DB_URL=$DB_URL start_solod off commit 0
  A_URL=$SOLOD_URL; A_PID=$SOLOD_PID
  DB_URL=$DB_URL start_solod off commit 0
  B_URL=$SOLOD_URL; B_PID=$SOLOD_PID
  wait_trusted "$A_URL" "$A_DIR/tokens-2.txt"; wait_trusted "$B_URL" "$A_DIR/tokens-2.txt"
  bench connect --url "$A_URL" --urls "$A_URL,$B_URL" --label solod-pg-2-nodes \
    --tokens "$A_DIR/tokens-2.txt" --connections "$CLUSTER_CONNECT_N" --processes 2 --server-pid "$A_PID"
  stop_server "$A_PID"; stop_server "$B_PID"

  # Audit events/s: the audit actor on PostgreSQL, then on SQLite, same sizes, same run.
  bench audit --events "$CLUSTER_AUDIT_EVENTS" --db-url "$(new_pg_db)" --raw-rows 0 --label solod-postgresql
  bench audit --events "$CLUSTER_AUDIT_EVENTS" --raw-rows 0 --label solod-sqlite
fi

# -- the table ----------------------------------------------------------------------------------
echo
summary_args=("$RESULTS")
[ "$QUICK" = 1 ] && summary_args+=(--no-verdict)
"$BENCH_BIN" summary "${summary_args[@]}"
echo
echo "results: $RESULTS"
if [ "$FAILURES" -gt 0 ]; then
  echo "run.sh: $FAILURES run(s) failed (see above)" >&2
  exit 1
fi
