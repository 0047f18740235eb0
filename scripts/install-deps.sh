#!/usr/bin/env bash
# Installs the Debian packages solod needs to build, run and test.
# Idempotent: packages already present are skipped, apt-get update runs once.
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config libcaf-dev libboost-all-dev libssl-dev
  libsoci-dev libsqlite3-dev sqlite3 libspdlog-dev nlohmann-json3-dev
  libtomlplusplus-dev libsodium-dev libpq-dev libcrypt-dev)
# postgresql: scripts/pg-test-server.sh runs a throw-away server for the
# PostgreSQL pass of scripts/test.sh (initdb and pg_ctl as the postgres user).
# python3-werkzeug, python3-bcrypt, python3-argon2: the real implementations that
# make the imported-hash vectors at test time (tests/unit/legacy_hash_vectors.py,
# tests/e2e/test_user_import.py), run by Debian's /usr/bin/python3.
# systemd, strace: tests/e2e/test_packaging.py checks packaging/solod.service with
# systemd-analyze (verify, security --offline) and traces a real run against its filters.
# python3-jsonschema: the e2e harness validates every response against docs/openapi.json
# (Draft 2020-12; tests/e2e/openapi_check.py).
test_pkgs=(catch2 python3 curl openssl postgresql python3-werkzeug python3-bcrypt python3-argon2
  systemd strace python3-jsonschema)
# scripts/test.sh --sanitize and scripts/fuzz.sh: clang with libFuzzer and the
# sanitizer runtimes, and llvm-symbolizer for readable sanitizer reports.
sanitize_pkgs=(clang libclang-rt-14-dev llvm-14)

want=("${build_pkgs[@]}")
if [[ "${1:-}" == "--test" ]]; then
  want+=("${test_pkgs[@]}" "${sanitize_pkgs[@]}")
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
