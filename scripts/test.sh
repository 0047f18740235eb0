#!/usr/bin/env bash
# The one command that installs what is missing, builds solod and its tests,
# and runs every test (unit, actor, storage, end-to-end, browser) through ctest.
#   scripts/test.sh [CTEST_ARGS...]              plain build in build/
#   scripts/test.sh --sanitize [CTEST_ARGS...]   ASan + UBSan build in build-sanitize/
#     (clang; the libFuzzer targets are built and run too, 30 s each, two at a time)
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=0
if [[ "${1:-}" == "--sanitize" ]]; then
  sanitize=1
  shift
fi
./scripts/install-deps.sh --test
./scripts/install-browser-deps.sh
if ((sanitize == 0)); then
  ./scripts/build.sh
  cd build
  exec ctest --output-on-failure --timeout 900 "$@"
fi

build_dir=${SOLOD_SANITIZE_BUILD_DIR:-build-sanitize}
source scripts/sanitize-config.sh
cmake -S . -B "$build_dir" "${sanitize_cmake_args[@]}" >/dev/null
cmake --build "$build_dir" -j "$(nproc 2>/dev/null || echo 2)"
cd "$build_dir"
# Everything but the fuzzers one at a time, as in the plain run; then the
# fuzzers (each one process, one core) two at a time.
status=0
ctest --output-on-failure --timeout 900 -LE fuzz "$@" || status=1
ctest --output-on-failure --timeout 900 -L fuzz -j 2 "$@" || status=1
exit $status
