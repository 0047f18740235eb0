#!/usr/bin/env bash
# Issue 15: what the tamper-evident chain costs the audit actor.
#
# Runs `solod-bench audit` (solod's audit actor in-process, commit durability,
# every event committed into a fresh SQLite file, or a fresh PostgreSQL
# database with --pg-url) with a bench binary built from this tree and one
# built from the commit before the chain, alternating A B A B ..., so both
# see the same machine at the same time. Prints each rate, the medians and
# the cost: 1 - median(chain) / median(base).
#
#   bench/audit_chain_cost.sh BASE_BENCH [CHAIN_BENCH] [--rounds N] [--events N] [--pg-url URL]
#
# BASE_BENCH: e.g. built by
#   git worktree add /tmp/base 147a862 && cmake -S /tmp/base -B /tmp/base/build -DCMAKE_BUILD_TYPE=Release \
#     && cmake --build /tmp/base/build --target solod-bench
# CHAIN_BENCH defaults to build/bench/solod-bench. Bounded: ROUNDS x 2 runs of EVENTS events.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BASE=${1:?usage: $0 BASE_BENCH [CHAIN_BENCH] [--rounds N] [--events N] [--pg-url URL]}
shift
CHAIN=$ROOT/build/bench/solod-bench
if [[ $# -gt 0 && $1 != --* ]]; then CHAIN=$1; shift; fi
ROUNDS=5
EVENTS=200000
PG_URL=
while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds) ROUNDS=$2; shift ;;
    --events) EVENTS=$2; shift ;;
    --pg-url) PG_URL=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

# One run: prints events/s.
run() {
  local bin=$1 args=(audit --events "$EVENTS" --raw-rows 0)
  if [[ -n $PG_URL ]]; then
    local name=solod_chain_$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
    psql -X -q -v ON_ERROR_STOP=1 -d "$PG_URL" -c "CREATE DATABASE $name" >/dev/null
    args+=(--db-url "${PG_URL%/*}/$name")
    "$bin" "${args[@]}" | sed -n 's/^RESULT //p' | python3 -c 'import json,sys; print(json.load(sys.stdin)["events_per_s"])'
    psql -X -q -d "$PG_URL" -c "DROP DATABASE $name WITH (FORCE)" >/dev/null
  else
    "$bin" "${args[@]}" | sed -n 's/^RESULT //p' | python3 -c 'import json,sys; print(json.load(sys.stdin)["events_per_s"])'
  fi
}

base_rates=() chain_rates=()
for ((i = 1; i <= ROUNDS; i++)); do
  b=$(run "$BASE"); c=$(run "$CHAIN")
  base_rates+=("$b"); chain_rates+=("$c")
  echo "round $i: base $b events/s, chain $c events/s"
done
python3 - "${base_rates[*]}" "${chain_rates[*]}" <<'PY'
import statistics, sys
base = [float(x) for x in sys.argv[1].split()]
chain = [float(x) for x in sys.argv[2].split()]
mb, mc = statistics.median(base), statistics.median(chain)
print(f"median base {mb:,.0f} events/s, chain {mc:,.0f} events/s: cost {100 * (1 - mc / mb):.1f} %")
PY
