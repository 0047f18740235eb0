#!/usr/bin/env bash
# Configures and builds solod into build/ (Release with debug info); arguments
# go to the configure step (scripts/run.sh turns the tests off, test.sh on).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
build_dir=${SOLOD_BUILD_DIR:-build}
launcher=()
if command -v ccache >/dev/null; then
  # Worktrees and the sanitized build share compiled objects through ccache.
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" "$@" >/dev/null
cmake --build "$build_dir" -j "$jobs"
