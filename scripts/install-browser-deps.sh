#!/usr/bin/env bash
# Installs what the browser tests (tests/browser/) need: Debian's chromium,
# node and npm, then from tests/browser/package-lock.json playwright-core,
# socket.io-client and ws (the /socket.io/ and /ws clients of the Node tests).
# Never downloads a browser of its own (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1):
# the tests drive /usr/bin/chromium.
# Idempotent and quiet when everything is present; apt-get update runs at most once.
set -euo pipefail
cd "$(dirname "$0")/.."

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; fi

# -- Debian packages, judged by the commands they provide -----------------------
# (node may come from another packaging of nodejs that bundles npm: a command
# that is present is never reinstalled.)
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if ((${#missing[@]})); then
  echo "install-browser-deps: installing ${missing[*]}"
  log=$(mktemp)
  if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "install-browser-deps: apt-get failed" >&2
    exit 1
  fi
  rm -f "$log"
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if ((node_major < 18)); then
  echo "install-browser-deps: node $(node --version) is too old; playwright-core needs node 18 or later" >&2
  exit 1
fi

# -- npm packages ------------------------------------------------------------------
# node_modules/.solod-lock.sha256 records the lock file it was installed from,
# so an unchanged lock skips npm entirely.
cd tests/browser
stamp=node_modules/.solod-lock.sha256
if [[ -f package-lock.json ]]; then
  want_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [[ -d node_modules/playwright-core && -d node_modules/socket.io-client && -f $stamp && "$(cat "$stamp")" == "$want_sum" ]]; then
    exit 0
  fi
  echo "install-browser-deps: npm ci in tests/browser"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want_sum" >"$stamp"
else
  echo "install-browser-deps: npm install in tests/browser (no package-lock.json yet)"
  npm install --no-audit --no-fund --loglevel=error
  sha256sum package-lock.json | cut -d' ' -f1 >"$stamp"
fi
