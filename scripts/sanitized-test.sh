#!/usr/bin/env bash
# Runs one external test (e2e, browser, bench) of a sanitized build and fails it
# when any process it started — the server above all — wrote a sanitizer report.
# Usage: sanitized-test.sh LOG_DIR COMMAND [ARGS...]
# Reports go to LOG_DIR/report.<pid> (ASan/UBSan log_path) rather than stderr,
# so tests that read the server's stderr are not disturbed, and a report from a
# server the test killed or whose exit code nobody checks still counts.
set -uo pipefail
log_dir=$1
shift
rm -rf "$log_dir"
mkdir -p "$log_dir"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$log_dir/report:detect_leaks=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$log_dir/report:print_stacktrace=1:halt_on_error=1"
"$@"
rc=$?
shopt -s nullglob
reports=("$log_dir"/*)
if ((${#reports[@]})); then
  for r in "${reports[@]}"; do
    echo "=== sanitizer report $r"
    cat "$r"
  done
  echo "sanitized-test: ${#reports[@]} sanitizer report(s) in $log_dir" >&2
  exit 1
fi
exit $rc
