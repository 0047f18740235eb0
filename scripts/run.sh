#!/usr/bin/env bash
# The one command that installs what is missing, builds solod and starts it on
# its embedded defaults (config/solod.toml, SQLite in data/, logs in logs/,
# https and http on 127.0.0.1:8443). Extra arguments go to solod.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
exec ./build/solod "$@"
