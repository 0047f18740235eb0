#!/usr/bin/env bash
# The one command that installs what is missing, builds solod and starts it on
# its embedded defaults (config/solod.toml, SQLite in data/, logs in logs/,
# https and http on 127.0.0.1:8443). Extra arguments go to solod.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
# The server alone: the tests need packages this command does not install
# (node and Chromium for the browser tests; scripts/test.sh installs them).
./scripts/build.sh -DSOLOD_BUILD_TESTS=OFF -DSOLOD_BUILD_BENCH=OFF
exec ./build/solod "$@"
