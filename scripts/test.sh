#!/usr/bin/env bash
# The one command that installs what is missing, builds solod and its tests,
# and runs every test (unit, actor, storage, end-to-end, browser) through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh --test
./scripts/install-browser-deps.sh
./scripts/build.sh
cd build
ctest --output-on-failure --timeout 900 "$@"
