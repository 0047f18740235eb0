#!/usr/bin/env bash
# Builds the container image from ./Dockerfile and checks it, with no image
# registry and no Docker engine: Debian's packages only, as root.
#
#   1. a Debian 12 base image from Debian's packages (mmdebstrap --variant=minbase,
#      the same mirrors and apt settings as this machine), imported with buildah
#      as localhost/debian:bookworm (kept: the next run reuses it);
#   2. `buildah bud --isolation chroot` of ./Dockerfile on that base (layers
#      cached: a rerun with unchanged sources only checks the cache);
#   3. the image's config (USER, EXPOSE, VOLUME, HEALTHCHECK, STOPSIGNAL), then
#      solod started with its ENTRYPOINT (`buildah from` + `buildah run
#      --isolation chroot`, which shares this machine's network) on
#      127.0.0.1:<free port>, with --ulimit nofile=1024:65536 (hard 65536 as
#      README "Open files" asks; this machine's hard limit if it cannot go that
#      high, e.g. without CAP_SYS_RESOURCE);
#   4. checks: /healthz answers 200 "ok" (plain and TLS on the one port), the
#      image's HEALTHCHECK command passes, `solod user add` works in the
#      container, the process runs as the image's non-root user and raised its
#      soft open-file limit to the hard one, its files are in /data; then
#      register, log in, open a WebSocket with the token, log in again: the
#      WebSocket gets kicked/superseded and close 4001, the old token 401;
#   5. SIGTERM: solod exits 0. The working container is removed, images stay.
#
# Exits non-zero on any failure; prints the time of every step.
# --no-build: skip steps 1-2 and check the image $CT_IMAGE as it is.
# Environment: CT_BASE_IMAGE (default localhost/debian:bookworm), CT_IMAGE
# (default localhost/solod:test), CT_JOBS (compile jobs, default 2), CT_MIRROR
# (a sources file or "deb ..." line for mmdebstrap; default: this machine's).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

base_image=${CT_BASE_IMAGE:-localhost/debian:bookworm}
image=${CT_IMAGE:-localhost/solod:test}
jobs=${CT_JOBS:-2}
no_build=0
case "${1:-}" in
  --no-build) no_build=1 ;;
  "") ;;
  *) echo "usage: $0 [--no-build]" >&2; exit 2 ;;
esac
ctr_name=solod-container-test

work=$(mktemp -d /tmp/solod-container-test.XXXXXX)
ctr=""
runner_pid=""
solod_pid=""
t_start=$(date +%s.%N)
timings=()

say() { printf '[container-test] %s\n' "$*"; }
fail() { say "FAIL: $*"; exit 1; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# step NAME FUNCTION: runs FUNCTION and records how long it took.
step() {
  local name=$1; shift
  local t0; t0=$(date +%s.%N)
  say "== $name"
  "$@"
  local took; took=$(elapsed "$t0")
  timings+=("$(printf '%-40s %7ss' "$name" "$took")")
  say "   $name: ${took}s"
}

cleanup() {
  local rc=$?
  set +e
  if [[ -n "$solod_pid" ]] && kill -0 "$solod_pid" 2>/dev/null; then
    kill -TERM "$solod_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$solod_pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$solod_pid" 2>/dev/null && kill -KILL "$solod_pid" 2>/dev/null
  fi
  if [[ -n "$runner_pid" ]]; then
    kill -0 "$runner_pid" 2>/dev/null && kill -TERM "$runner_pid" 2>/dev/null
    wait "$runner_pid" 2>/dev/null
  fi
  if [[ -n "$ctr" ]]; then
    buildah rm "$ctr" >/dev/null 2>&1
  fi
  if ((rc != 0)) && [[ -s "$work/solod.log" ]]; then
    say "solod's output (last 30 lines):"
    tail -n 30 "$work/solod.log" | sed 's/^/    /'
  fi
  rm -rf "$work"
  say "-- timings"
  for t in "${timings[@]}"; do say "   $t"; done
  say "   $(printf '%-40s %7ss' total "$(elapsed "$t_start")")"
  if ((rc == 0)); then say "PASS"; else say "FAILED (exit $rc)"; fi
  exit "$rc"
}
trap cleanup EXIT

# -- 1. tools ---------------------------------------------------------------------
tools() {
  [[ $(id -u) -eq 0 ]] || fail "run as root (mmdebstrap and buildah's chroot isolation need it)"
  local missing=()
  command -v buildah >/dev/null || missing+=(buildah)
  command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
  command -v python3 >/dev/null || missing+=(python3)
  command -v curl >/dev/null || missing+=(curl)
  if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  say "$(buildah --version); mmdebstrap $(mmdebstrap --version 2>&1 | awk '{print $2}')"
}

# -- 2. base image ------------------------------------------------------------------
# mmdebstrap's mirrors: CT_MIRROR, else this machine's Debian sources (a deb822
# debian.sources or the deb lines of sources.list), else mmdebstrap's default
# (deb.debian.org with updates and security).
mirrors() {
  if [[ -n "${CT_MIRROR:-}" ]]; then
    printf '%s\n' "$CT_MIRROR"
  elif [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    echo /etc/apt/sources.list.d/debian.sources
  elif [[ -f /etc/apt/sources.list ]] && grep -qE '^deb .*bookworm' /etc/apt/sources.list; then
    grep -E '^deb .*bookworm' /etc/apt/sources.list
  fi
}

base() {
  if buildah inspect --type image "$base_image" >/dev/null 2>&1; then
    say "$base_image: cached"
    return
  fi
  local opts=(--variant=minbase --quiet
    # like debian:bookworm-slim: no manual pages, documentation or translations
    --dpkgopt='path-exclude=/usr/share/man/*'
    --dpkgopt='path-exclude=/usr/share/doc/*'
    --dpkgopt='path-include=/usr/share/doc/*/copyright'
    --dpkgopt='path-exclude=/usr/share/locale/*'
    --dpkgopt='path-exclude=/usr/share/info/*'
    --aptopt='Acquire::Languages "none"')
  # merged /usr by symlinks + usr-is-merged, as Debian's images: without it apt
  # picks usrmerge, which pulls in perl (+45 MB)
  if [[ -d /usr/share/mmdebstrap/hooks/merged-usr ]]; then
    opts+=(--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr)
  fi
  # This machine's apt settings that decide whether the mirror works: a
  # snapshot mirror's Release files are past Valid-Until, and a proxy.
  # mmdebstrap keeps them in the image (/etc/apt/apt.conf.d/99mmdebstrap),
  # so the apt-get of the Dockerfile's stages works the same way.
  if apt-config dump | grep -q '^Acquire::Check-Valid-Until "false";'; then
    opts+=(--aptopt='Acquire::Check-Valid-Until "false"')
  fi
  local proxy
  for key in Acquire::http::Proxy Acquire::https::Proxy; do
    eval "$(apt-config shell proxy "$key")"
    if [[ -n "${proxy:-}" ]]; then opts+=(--aptopt="$key \"$proxy\""); fi
    proxy=""
  done
  local m=()
  mapfile -t m < <(mirrors)
  say "mmdebstrap bookworm from: ${m[*]:-deb.debian.org (default)}"
  mmdebstrap "${opts[@]}" bookworm "$work/base.tar" "${m[@]}"
  say "rootfs: $(du -h "$work/base.tar" | cut -f1)"
  local c
  c=$(buildah from scratch)
  buildah add --quiet "$c" "$work/base.tar" / >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd /bin/bash --os linux --arch amd64 "$c"
  buildah commit --quiet --rm "$c" "$base_image" >/dev/null
  rm -f "$work/base.tar"
  say "$base_image: built"
}

# -- 3. the image -------------------------------------------------------------------
build() {
  # --format docker: OCI images have no HEALTHCHECK. --layers: each Dockerfile
  # step is cached, so a rerun with unchanged sources compiles nothing.
  set +e
  buildah bud --isolation chroot --format docker --layers --pull=never \
    --build-arg "BASE=$base_image" --build-arg "JOBS=$jobs" \
    -t "$image" -f Dockerfile . 2>&1 | tee "$work/build.log" \
    | grep --line-buffered -E '^(\[[0-9]+/[0-9]+] )?(STEP|COMMIT|Successfully|--> Using cache)|\[ *[0-9]+%\]|rror'
  local rc=${PIPESTATUS[0]}
  set -e
  ((rc == 0)) || { tail -n 40 "$work/build.log"; fail "buildah bud exited $rc"; }
  say "$(buildah images --format '{{.Name}}:{{.Tag}} {{.ID}} {{.Size}}' "$image")"
}

# -- 3b. what the image declares -------------------------------------------------------
# Reads the image's config: checks USER, EXPOSE, VOLUME, HEALTHCHECK,
# STOPSIGNAL, and keeps ENTRYPOINT + CMD (to start solod with) and the
# healthcheck command (to run it as Docker would).
image_config() {
  buildah inspect --type image "$image" >"$work/image.json"
  python3 - "$work/image.json" "$work" <<'EOF'
import json, sys
cfg = json.load(open(sys.argv[1]))["Docker"]["config"]
problems = []
def want(cond, what):
    if not cond:
        problems.append(what)
want(cfg.get("User") == "solod", f"USER {cfg.get('User')!r}")
want("8443/tcp" in (cfg.get("ExposedPorts") or {}), "EXPOSE 8443")
want("/data" in (cfg.get("Volumes") or {}), "VOLUME /data")
hc = (cfg.get("Healthcheck") or {}).get("Test") or []
want(hc[:1] == ["CMD-SHELL"], f"HEALTHCHECK {hc}")
want(cfg.get("StopSignal") == "SIGTERM", f"STOPSIGNAL {cfg.get('StopSignal')}")
entry = (cfg.get("Entrypoint") or []) + (cfg.get("Cmd") or [])
want(entry[:1] == ["/usr/local/bin/solod"], f"ENTRYPOINT {entry}")
if problems:
    sys.exit("FAIL: image config: " + ", ".join(problems))
open(sys.argv[2] + "/entrypoint", "w").write("\n".join(entry) + "\n")
open(sys.argv[2] + "/healthcheck", "w").write(hc[1])
print(f"  user {cfg['User']}, workdir {cfg.get('WorkingDir')}, expose 8443/tcp, volume /data, "
      f"stopsignal {cfg['StopSignal']}\n  entrypoint {' '.join(entry)}")
EOF
  mapfile -t entrypoint <"$work/entrypoint"
}

# -- 4. start solod ------------------------------------------------------------------
# The solod process started by buildah run: a process named solod whose
# ancestors include the runner (buildah run -> its chroot runtime -> solod).
find_solod() {
  local f c p q
  for f in /proc/[0-9]*/comm; do
    { read -r c <"$f"; } 2>/dev/null || continue
    [[ "$c" == solod ]] || continue
    p=${f#/proc/}; p=${p%/comm}; q=$p
    while [[ -n "$q" && "$q" != 0 && "$q" != 1 ]]; do
      q=$(awk '/^PPid:/ { print $2 }' /proc/"$q"/status 2>/dev/null) || break
      if [[ "$q" == "$runner_pid" ]]; then echo "$p"; return; fi
    done
  done
}

start() {
  # The open-file limit: hard 65536 as README "Open files" asks of whoever starts
  # solod, soft 1024 (Debian's default): solod must raise its soft limit to the
  # hard one itself. A hard limit above this machine's own needs
  # CAP_SYS_RESOURCE; without it (a sandbox), this machine's hard limit is used.
  nofile_hard=${CT_NOFILE:-65536}
  local host_hard; host_hard=$(ulimit -Hn)
  if [[ "$host_hard" != unlimited ]] && ((host_hard < nofile_hard)); then
    if ! (ulimit -Hn "$nofile_hard") 2>/dev/null; then
      say "hard open-file limit $nofile_hard not allowed here (this shell's: $host_hard): using $host_hard"
      nofile_hard=$host_hard
    fi
  fi
  nofile_soft=1024
  ((nofile_soft <= nofile_hard)) || nofile_soft=$nofile_hard
  buildah rm "$ctr_name" >/dev/null 2>&1 || true # left over by an interrupted run
  ctr=$(buildah from --pull=never --name "$ctr_name" --ulimit "nofile=$nofile_soft:$nofile_hard" "$image")
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # The image's ENTRYPOINT, its user and working directory; only the address
  # changes (the runner shares this machine's network).
  buildah run --isolation chroot --env "SOLOD_SERVER_LISTEN=127.0.0.1:$port" "$ctr" -- \
    "${entrypoint[@]}" >"$work/solod.log" 2>&1 &
  runner_pid=$!
  for _ in $(seq 300); do
    [[ -n "$solod_pid" ]] || solod_pid=$(find_solod)
    if grep -q 'listening on' "$work/solod.log" 2>/dev/null; then break; fi
    kill -0 "$runner_pid" 2>/dev/null || fail "solod exited at start"
    sleep 0.1
  done
  grep -q 'listening on' "$work/solod.log" || fail "solod did not print 'listening on' within 30 s"
  [[ -n "$solod_pid" ]] || fail "no solod process below buildah run ($runner_pid)"
  say "solod pid $solod_pid: $(grep -m1 'listening on' "$work/solod.log")"
}

# -- 5. checks ------------------------------------------------------------------------
checks() {
  local body
  body=$(curl -sS --noproxy '*' --max-time 5 -w ' %{http_code}' "http://127.0.0.1:$port/healthz")
  [[ "$body" == "ok 200" ]] || fail "http /healthz: '$body'"
  body=$(curl -sSk --noproxy '*' --max-time 5 -w ' %{http_code}' "https://127.0.0.1:$port/healthz")
  [[ "$body" == "ok 200" ]] || fail "https /healthz: '$body'"
  say "/healthz: 200 ok (http and https on 127.0.0.1:$port)"
  # The image's HEALTHCHECK command, run inside the container as Docker would.
  buildah run --isolation chroot --env "SOLOD_SERVER_LISTEN=127.0.0.1:$port" "$ctr" -- \
    sh -c "$(cat "$work/healthcheck")" || fail "the image's HEALTHCHECK command failed"
  say "HEALTHCHECK command: exit 0"
  # The CLI in the container finds the same config and database (docker exec).
  local out
  out=$(echo 'container test admin password' | buildah run --isolation chroot "$ctr" -- \
    solod user add ct_admin --admin --password-stdin 2>&1) || fail "solod user add: $out"
  say "solod user add in the container: ${out:-ok}"

  # The user: the image's solod (uid from its /etc/passwd), not root.
  local root=/proc/$solod_pid/root uid want
  uid=$(awk '/^Uid:/ { print $2 }' /proc/"$solod_pid"/status)
  want=$(awk -F: '$1 == "solod" { print $3 }' "$root/etc/passwd")
  [[ -n "$want" && "$uid" == "$want" && "$uid" != 0 ]] || fail "solod runs as uid $uid (image's solod: '$want')"
  say "runs as uid $uid (solod)"

  # Started with soft 1024: solod raised it to the hard limit and said so.
  local limit raised
  limit=$(awk '/^Max open files/ { print $4 "/" $5 }' /proc/"$solod_pid"/limits)
  [[ "$limit" == "$nofile_hard/$nofile_hard" ]] || fail "open files soft/hard $limit, want $nofile_hard/$nofile_hard"
  raised=$(grep -m1 -o 'open files: .*' "$work/solod.log") || fail "no 'open files:' line in solod's log"
  say "started with nofile=$nofile_soft:$nofile_hard; now soft/hard $limit; log: $raised"

  # Everything solod writes is in /data, owned by solod.
  local f
  for f in solod.db jwt.secret cert.pem key.pem logs/solod.log; do
    [[ -e "$root/data/$f" ]] || fail "/data/$f missing"
  done
  [[ $(stat -c '%u %a' "$root/data/jwt.secret") == "$uid 600" ]] || fail "/data/jwt.secret: $(stat -c '%u %a' "$root/data/jwt.secret")"
  say "/data: $(cd "$root/data" && echo *)"
}

# -- 6. the promise: a second login kicks the first session's WebSocket -----------------
kick() {
  python3 - "$port" "$repo/tests/e2e" <<'EOF'
import json, secrets, sys, time, urllib.error, urllib.request

port, lib = int(sys.argv[1]), sys.argv[2]
sys.path.insert(0, lib)
from ws_client import WsClient  # tests/e2e/ws_client.py

base = f"http://127.0.0.1:{port}"
http = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 only, no proxy

def call(method, path, body=None, token=None):
    headers = {"Content-Type": "application/json", "User-Agent": "container-test"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with http.open(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")

def check(cond, what):
    if not cond:
        sys.exit(f"FAIL: {what}")

user = {"username": "ct_" + secrets.token_hex(4), "password": secrets.token_urlsafe(18)}
status, body = call("POST", "/api/register", user)
check(status == 201, f"register: {status} {body}")
status, first = call("POST", "/api/login", user)
check(status == 200 and first.get("token"), f"login: {status} {first}")

ws = WsClient("127.0.0.1", port, "/ws", headers={"Authorization": "Bearer " + first["token"]})
welcome = ws.recv_json(timeout=10)
check(welcome.get("type") == "welcome" and welcome["session_id"] == first["session"]["id"],
      f"welcome: {welcome}")
print(f"  websocket open, session {welcome['session_id']}")

t0 = time.monotonic()
status, second = call("POST", "/api/login", user)
check(status == 200 and second["token"] != first["token"], f"second login: {status} {second}")
kicked = ws.recv_until(lambda m: m.get("type") == "kicked", timeout=10)
check(kicked.get("reason") == "superseded" and "by" in kicked, f"kicked: {kicked}")
code = ws.wait_closed(timeout=10)
check(code == 4001, f"close code {code}, want 4001")
print(f"  {json.dumps(kicked)}")
print(f"  close {code} {1000 * (time.monotonic() - t0):.0f} ms after the second login was sent")

status, body = call("GET", "/api/me", token=first["token"])
check(status == 401, f"old token on /api/me: {status} {body}")
status, body = call("GET", "/api/me", token=second["token"])
check(status == 200, f"new token on /api/me: {status} {body}")
print("  old token 401, new token 200")
EOF
}

# -- 7. SIGTERM ---------------------------------------------------------------------------
stop() {
  kill -TERM "$solod_pid"
  local rc=0 t0; t0=$(date +%s.%N)
  for _ in $(seq 100); do kill -0 "$runner_pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$runner_pid" 2>/dev/null && fail "solod still running 10 s after SIGTERM"
  wait "$runner_pid" || rc=$?
  runner_pid=""
  kill -0 "$solod_pid" 2>/dev/null && fail "solod still running after buildah run returned"
  solod_pid=""
  ((rc == 0)) || fail "solod exited $rc on SIGTERM"
  say "SIGTERM: exit 0 after $(elapsed "$t0")s; $(grep -c . "$work/solod.log") log lines, last: $(tail -n1 "$work/solod.log" | cut -c1-100)"
}

remove() {
  buildah rm "$ctr" >/dev/null
  ctr=""
}

step "tools" tools
if ((no_build)); then
  buildah inspect --type image "$image" >/dev/null 2>&1 || fail "--no-build: no image $image"
else
  step "base image ($base_image)" base
  step "image build ($image)" build
fi
step "image config" image_config
step "start solod" start
step "healthz, user, limits, /data" checks
step "login kicks the old WebSocket" kick
step "stop (SIGTERM)" stop
step "remove working container" remove
