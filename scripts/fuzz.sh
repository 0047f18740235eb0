#!/usr/bin/env bash
# Fuzzes one target for longer than CI does, keeping its corpus between runs.
#   scripts/fuzz.sh TARGET [SECONDS]     (default 600 s)
#   scripts/fuzz.sh --list
# Targets: tests/fuzz/<target>_fuzz.cpp. Builds the target in build-sanitize/
# (clang, ASan, UBSan, libFuzzer: the build `scripts/test.sh --sanitize` uses)
# if needed; the grown corpus stays in build-sanitize/fuzz-work/TARGET/corpus,
# crash inputs in build-sanitize/fuzz-work/TARGET/crashes/. A crash found is
# fixed, and its input copied to tests/fuzz/regressions/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=$(sed -n 's/^set(SOLOD_FUZZ_TARGETS \(.*\))$/\1/p' tests/fuzz/CMakeLists.txt)
if [[ "${1:-}" == "--list" || $# -lt 1 ]]; then
  echo "usage: scripts/fuzz.sh TARGET [SECONDS]; targets: $targets"
  [[ "${1:-}" == "--list" ]] && exit 0 || exit 2
fi
target=$1
seconds=${2:-600}
if ! [[ " $targets " == *" $target "* ]]; then
  echo "fuzz.sh: unknown target '$target'; targets: $targets" >&2
  exit 2
fi
build_dir=${SOLOD_SANITIZE_BUILD_DIR:-build-sanitize}
source scripts/sanitize-config.sh
cmake -S . -B "$build_dir" "${sanitize_cmake_args[@]}" >/dev/null
cmake --build "$build_dir" -j "$(nproc 2>/dev/null || echo 2)" --target "${target}_fuzz"
work=$build_dir/fuzz-work/$target
mkdir -p "$work"
exec bash tests/fuzz/run.sh fuzz "$build_dir/tests/fuzz/${target}_fuzz" \
  "tests/fuzz/corpus/$target" "tests/fuzz/regressions/$target" "$seconds" "$work"
