#!/usr/bin/env bash
# The one command that installs what is missing, builds solod and its tests,
# and runs every test (unit, actor, storage, end-to-end, browser) through ctest,
# twice where the database matters: first on SQLite, then the storage, actor
# and end-to-end suites on a throw-away PostgreSQL (scripts/pg-test-server.sh,
# stopped and removed afterwards, also on failure or Ctrl-C).
#   scripts/test.sh [CTEST_ARGS...]              plain build in build/
#   scripts/test.sh --sanitize [CTEST_ARGS...]   ASan + UBSan build in build-sanitize/
#   scripts/test.sh [--sanitize] --build-only     install and build, run nothing
#   scripts/test.sh [--sanitize] --ci             as CI, in budget (README "CI time"): plain,
#     the e2e suites that touch the database on PostgreSQL only; sanitized, the
#     suites that matter most under the sanitizers, the property test at a quarter
#   (sanitized: clang; the libFuzzer targets are built and run too, 10 s each, two
#   at a time; on PostgreSQL only the storage and actor suites run sanitized)
# ctest labels: `pg_only` tests need PostgreSQL (the `pg.*` storage/actor runs,
# the cluster tests); `pg` tests run again on PostgreSQL (every e2e test).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
sanitize=0
build_only=0
ci_dedup=0
while [[ "${1:-}" == --sanitize || "${1:-}" == --build-only || "${1:-}" == --ci ]]; do
  [[ "$1" == --sanitize ]] && sanitize=1
  [[ "$1" == --build-only ]] && build_only=1
  [[ "$1" == --ci ]] && ci_dedup=1
  shift
done
./scripts/install-deps.sh --test
./scripts/install-browser-deps.sh

if ((sanitize == 0)); then
  # Explicitly on: scripts/run.sh configures the same build/ without them.
  ./scripts/build.sh -DSOLOD_BUILD_TESTS=ON -DSOLOD_BUILD_BENCH=ON
  build_dir=build
else
  build_dir=${SOLOD_SANITIZE_BUILD_DIR:-build-sanitize}
  source scripts/sanitize-config.sh
  cmake -S . -B "$build_dir" "${sanitize_cmake_args[@]}" >/dev/null
  cmake --build "$build_dir" -j "$(nproc 2>/dev/null || echo 2)"
fi

if ((build_only)); then
  exit 0
fi

pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/solod-pg-XXXXXX")
stop_pg() { "$root/scripts/pg-test-server.sh" stop "$pg_dir" || true; }
trap stop_pg EXIT
trap 'exit 130' INT TERM
pg_url=$("$root/scripts/pg-test-server.sh" start "$pg_dir")
echo "test.sh: PostgreSQL test server at $pg_url ($pg_dir)"

cd "$build_dir"
unset SOLOD_TEST_PG_URL
# With --ci, the suites the sanitized run leaves out (they run plain only).
ci_not_sanitized='browser\..*|e2e\.test_(many_connections|admin_.*|cli.*|brute_force|policy|user_import|config|retention|metrics|secret_fingerprint|logging|defaults)'
status=0
timed() { # NAME COMMAND...: runs it, prints how long it took
  local name=$1 start=$SECONDS
  shift
  "$@" || status=1
  echo "test.sh: $name took $((SECONDS - start)) s"
}
if ((sanitize == 0)); then
  if ((ci_dedup)); then
    # The e2e suites run once plain: on PostgreSQL (below) those that touch
    # the database, here those of the network alone that the sanitized run
    # leaves out; the rest run sanitized on SQLite next (README "CI time").
    timed "the SQLite pass" ctest --output-on-failure --timeout 900 -LE 'pg_only|e2e' "$@"
    timed "the SQLite e2e suites not run sanitized" ctest --output-on-failure --timeout 900 \
      -L e2e -LE '^pg$' -R "^($ci_not_sanitized)\$" "$@"
  else
    timed "the SQLite pass" ctest --output-on-failure --timeout 900 -LE pg_only "$@"
  fi
  # The property test's 8 seeds at full length on SQLite, shorter on PostgreSQL.
  steps=625
  ((ci_dedup)) && steps=312
  timed "the PostgreSQL pass" env SOLOD_TEST_PG_URL="$pg_url" SOLOD_TEST_PG_DIR="$pg_dir" \
    SOLOD_PROPERTY_STEPS=$steps ctest --output-on-failure --timeout 900 -L pg "$@"
  exit $status
fi
# Sanitized: everything but the fuzzers one at a time, as in the plain run;
# the storage and actor suites on PostgreSQL, but for the property test (53 of
# their 96 s sanitized; it runs on PostgreSQL in the plain pass and sanitized
# on SQLite) and the e2e suites (they ran on PostgreSQL in the plain pass):
# the CI budget (README "CI time"); then the fuzzers (each one process, one
# core) two at a time.
if ((ci_dedup)); then
  # In CI's budget the sanitized run keeps the suites that matter most under
  # the sanitizers: every unit, actor and storage test (the property test at a
  # quarter of its length), and the e2e suites of the network, the sessions
  # and hostile or failing input. Those left out (browser pages, admin, CLI,
  # policy, import, config, logging) ran plain just before (README "CI time").
  timed "the sanitized SQLite pass" env SOLOD_PROPERTY_STEPS=312 \
    ctest --output-on-failure --timeout 900 -LE 'fuzz|pg_only' -E "^($ci_not_sanitized)\$" "$@"
else
  timed "the sanitized SQLite pass" ctest --output-on-failure --timeout 900 -LE 'fuzz|pg_only' "$@"
fi
timed "the sanitized PostgreSQL pass" env SOLOD_TEST_PG_URL="$pg_url" \
  ctest --output-on-failure --timeout 900 -L pg_only -LE e2e -E '^pg\.the one-session invariant' "$@"
timed "the fuzzers" ctest --output-on-failure --timeout 900 -L fuzz -j 2 "$@"
exit $status
