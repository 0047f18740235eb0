#!/usr/bin/env bash
# Usage: bench/peers/run-peer.sh flask|node
#
# Installs what the peer needs if it is missing (Debian packages for flask, `npm ci` for
# node), then execs it. The peer reads PORT (0 = a free one), BENCH_JWT_SECRET and
# BENCH_PASSWORD from the environment and prints `listening on 127.0.0.1:<port>` on stdout
# when ready. Quiet when everything is already installed; install chatter goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
name="${1:-}"
export PORT="${PORT:-0}"

case "$name" in
  flask)
    py=/usr/bin/python3 # Debian's python, which sees the Debian packages (not pyenv's)
    if ! "$py" -c 'import flask_socketio, eventlet, jwt' >/dev/null 2>&1; then
      echo "run-peer: installing python3-flask-socketio python3-eventlet python3-jwt" >&2
      sudo=""
      if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
      $sudo apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
        python3-flask-socketio python3-eventlet python3-jwt >&2
    fi
    exec "$py" "$here/flask/app.py"
    ;;
  node)
    dir="$here/node"
    # npm ci again whenever the lockfile is newer than what was installed from it.
    if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
       [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
      echo "run-peer: npm ci in $dir" >&2
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
    fi
    exec node "$dir/server.js"
    ;;
  *)
    echo "usage: $0 flask|node" >&2
    exit 2
    ;;
esac
