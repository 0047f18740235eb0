#!/usr/bin/env bash
# Runs one libFuzzer target for ctest and scripts/fuzz.sh.
#   run.sh replay BINARY CORPUS_DIR REGRESSION_DIR
#       every seed and every kept crash input once; fails on any crash
#   run.sh fuzz BINARY CORPUS_DIR REGRESSION_DIR SECONDS [WORK_DIR]
#       fuzzes for SECONDS from a copy of the seeds (in WORK_DIR, else a temp dir
#       removed afterwards); a crash input is kept in WORK_DIR/crashes/ and printed
set -uo pipefail
mode=$1 bin=$2 corpus=$3 regressions=$4
name=$(basename "$bin")

# Inputs run against real actors and SQLite: give one input a minute, not 20.
# Leak checks stay on; a process that ends with actors running is not a leak.
common=(-timeout=60 -rss_limit_mb=4096 -print_final_stats=1)
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:halt_on_error=1"

shopt -s nullglob
if [[ $mode == replay ]]; then
  inputs=("$corpus"/* "$regressions"/*)
  if ((${#inputs[@]} == 0)); then
    echo "$name: no seeds in $corpus" >&2
    exit 1
  fi
  exec "$bin" "${common[@]}" -runs=1 "${inputs[@]}"
fi

seconds=${5:-30}
work=${6:-}
cleanup=0
if [[ -z $work ]]; then
  work=$(mktemp -d "${TMPDIR:-/tmp}/solod-fuzz-$name.XXXXXX")
  cleanup=1
fi
mkdir -p "$work/corpus" "$work/crashes"
cp -n "$corpus"/* "$work/corpus/" 2>/dev/null || true
cp -n "$regressions"/* "$work/corpus/" 2>/dev/null || true
"$bin" "${common[@]}" -max_total_time="$seconds" -artifact_prefix="$work/crashes/" \
  "$work/corpus" 2>&1 | tee "$work/fuzz.log" | grep -v '^#[0-9]*.*\(NEW\|REDUCE\|pulse\)'
rc=${PIPESTATUS[0]}
crashes=("$work"/crashes/*)
if ((rc != 0 || ${#crashes[@]})); then
  for c in "${crashes[@]}"; do
    echo "=== crash input $c (base64):"
    base64 -w 0 "$c"
    echo
  done
  echo "$name: failed (exit $rc); keep the input under tests/fuzz/regressions/ once fixed" >&2
  ((cleanup)) && cp -r "$work/crashes" "${TMPDIR:-/tmp}/solod-fuzz-crashes-$name-$$" &&
    echo "crash inputs copied to ${TMPDIR:-/tmp}/solod-fuzz-crashes-$name-$$" >&2
  ((cleanup)) && rm -rf "$work"
  exit 1
fi
((cleanup)) && rm -rf "$work"
exit 0
