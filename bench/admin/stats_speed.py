#!/usr/bin/env python3
"""Login statistics speed with 1,000,000 audit rows over 30 days (issue #14).

Seeds a fresh solod database (solod migrate first, so the tables and indexes are
solod's own) while solod is stopped: USERS users, their sessions one after the
other (each user's next login supersedes the session still live; the others end
by logout, idle expiry or an admin, the last one may still be live), and ROWS
audit rows in a realistic mix: ~42 % login_success, ~42 % session ends
(logout, session_superseded, session_expired, session_terminated), ~15 %
login_failure from a skewed (Zipf) set of addresses and names, the rest
register/admin_action/ws_auth_failure/account_locked. Then starts solod on
127.0.0.1 with an ephemeral port, logs in an admin, and times over real HTTP
GET /api/admin/stats for the last 24 h by hour, 7 days by day and 30 days by
day: the first call of each right after the start (solod fills its cache of
closed hours, the last 31 days, when it starts: these calls race that
warm-up), how long the warm-up took (its table, stats_hours, stops growing),
then REPEAT calls each (warm): median and p95. The ranges are fixed when
measuring starts, so each call asks the same question. Each answer is checked
against the seeded rows of its range. Prints a table and one `RESULT {json}`
line. Standard library only (PostgreSQL through `psql`).

Usage: bench/admin/stats_speed.py [--rows N] [--users U] [--repeat K]
                                  [--pg-url postgresql://postgres@127.0.0.1:PORT/postgres]
(SOLOD_BIN: default build/solod. With --pg-url a fresh database is created on that
server, and dropped at the end; scripts/pg-test-server.sh start DIR prints such a URL.)
"""

import argparse
import bisect
import csv
import http.client
import itertools
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SOLOD = os.path.abspath(os.environ.get("SOLOD_BIN") or os.path.join(ROOT, "build", "solod"))
DAYS = 30
HOUR_MS = 3600 * 1000
AUDIT_COLUMNS = ("timestamp", "event_type", "user_id", "username", "session_id", "ip_address",
                 "user_agent", "status", "error_message")
SESSION_COLUMNS = ("id", "user_id", "login_ts", "logout_ts", "end_reason", "ip_address",
                   "user_agent", "last_seen", "expires_at")
OTHER_EVENTS = ["register", "admin_action", "ws_auth_failure", "account_locked"]
FAILURE_REASONS = ["bad_password", "unknown_user", "locked", "rate_limited", "disabled"]
FAILURE_WEIGHTS = [62, 30, 5, 2, 1]
BROWSERS = ["Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) Safari/605.1.15",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1) Mobile/15E148", "python-requests/2.32"]


# -- timestamps ---------------------------------------------------------------------------------

_second_cache: dict[int, str] = {}


def iso_ms(t_ms: int) -> str:
    """Epoch milliseconds as 2026-11-22T09:10:00.123Z (the seconds' text cached)."""
    sec, milli = divmod(t_ms, 1000)
    head = _second_cache.get(sec)
    if head is None:
        if len(_second_cache) > 500_000:
            _second_cache.clear()
        head = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        _second_cache[sec] = head
    return f"{head}.{milli:03d}Z"


def zipf_weights(n: int, s: float = 1.1) -> list[float]:
    return list(itertools.accumulate(1.0 / (k ** s) for k in range(1, n + 1)))


def pick(rnd: random.Random, cumulative: list[float]) -> int:
    return bisect.bisect_left(cumulative, rnd.random() * cumulative[-1])


# -- the data -----------------------------------------------------------------------------------

def generate(rows: int, users: int, first_user_id: int, now_ms: int, seed: int = 14):
    """(users rows, sessions rows, audit rows, mix): everything in the columns' order."""
    rnd = random.Random(seed)
    start_ms = now_ms - DAYS * 24 * HOUR_MS
    span = now_ms - start_ms
    logins = int(rows * 0.425)
    failures = int(rows * 0.15)
    user_cum = zipf_weights(users, 0.9)
    names = [f"user{i:06d}" for i in range(users)]
    user_rows = [(first_user_id + i, names[i], "bench-not-a-hash", "2026-01-01T00:00:00.000Z")
                 for i in range(users)]

    # Logins per user, then each user's sessions in time order.
    per_user: dict[int, list[int]] = {}
    for _ in range(logins):
        u = pick(rnd, user_cum) if rnd.random() < 0.7 else rnd.randrange(users)
        per_user.setdefault(u, []).append(start_ms + rnd.randrange(span))
    sessions, audit = [], []
    ends = {"logout": 0, "superseded": 0, "expired": 0, "admin": 0}
    end_event = {"logout": "logout", "superseded": "session_superseded",
                 "expired": "session_expired", "admin": "session_terminated"}
    for u, times in per_user.items():
        times.sort()
        uid, name = first_user_id + u, names[u]
        ip = f"10.{u % 250}.{u // 250 % 250}.{u % 97 + 1}"
        ua = BROWSERS[u % len(BROWSERS)]
        for k, login in enumerate(times):
            sid = "%032x" % rnd.getrandbits(128)
            natural = login + int(rnd.expovariate(1 / (2 * HOUR_MS)))
            nxt = times[k + 1] if k + 1 < len(times) else None
            if nxt is not None and nxt <= natural:
                logout, reason = nxt, "superseded"
            elif natural >= now_ms:
                logout, reason = None, None  # still live
            elif natural - login > 8 * HOUR_MS:
                logout, reason = natural, "expired"
            else:
                logout, reason = natural, ("admin" if rnd.random() < 0.03 else "logout")
            login_iso = iso_ms(login)
            logout_iso = iso_ms(logout) if logout is not None else None
            sessions.append((sid, uid, login_iso, logout_iso, reason, ip, ua,
                             logout_iso or iso_ms(now_ms),
                             iso_ms((logout or now_ms) + 24 * HOUR_MS)))
            audit.append((login_iso, "login_success", uid, name, sid, ip, ua, "success", ""))
            if reason is not None:
                ends[reason] += 1
                audit.append((logout_iso, end_event[reason], uid, name, sid, ip, ua, "success",
                              "superseded by bench" if reason == "superseded" else ""))

    # Failures: a few addresses and names do most of them (credential stuffing).
    ip_cum = zipf_weights(3000, 1.2)
    unknown_cum = zipf_weights(10000, 1.0)
    reason_cum = list(itertools.accumulate(FAILURE_WEIGHTS))
    for _ in range(failures):
        t = iso_ms(start_ms + rnd.randrange(span))
        k = pick(rnd, ip_cum)
        ip = f"203.0.{k // 250}.{k % 250 + 1}"
        reason = FAILURE_REASONS[pick(rnd, reason_cum)]
        if reason == "unknown_user":
            uid, name = None, f"guess{pick(rnd, unknown_cum):05d}"
        else:
            u = pick(rnd, user_cum)
            uid, name = first_user_id + u, names[u]
        audit.append((t, "login_failure", uid, name, None, ip, "python-requests/2.32",
                      "failure", reason))
    for _ in range(max(0, rows - len(audit))):
        t = iso_ms(start_ms + rnd.randrange(span))
        u = rnd.randrange(users)
        event = OTHER_EVENTS[rnd.randrange(len(OTHER_EVENTS))]
        audit.append((t, event, first_user_id + u, names[u], None, "10.0.0.1", BROWSERS[0],
                      "success", "bench" if event == "admin_action" else ""))
    audit.sort(key=lambda r: r[0])  # written in time order, as a server writes them
    mix = {"login_success": logins, "session_ends": sum(ends.values()),
           "login_failure": failures, "other": len(audit) - logins - sum(ends.values()) - failures}
    return user_rows, sessions, audit, mix


def seed_sqlite(db_path: str, user_rows, sessions, audit) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-262144")
    conn.executemany("INSERT INTO users (id, username, password_hash, created_at) "
                     "VALUES (?,?,?,?)", user_rows)
    conn.executemany(f"INSERT INTO sessions ({', '.join(SESSION_COLUMNS)}) "
                     f"VALUES ({','.join('?' * len(SESSION_COLUMNS))})", sessions)
    conn.executemany(f"INSERT INTO login_logs ({', '.join(AUDIT_COLUMNS)}) "
                     f"VALUES ({','.join('?' * len(AUDIT_COLUMNS))})", audit)
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


def psql(url: str, sql: str) -> str:
    cp = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url,
                         "-c", sql], capture_output=True, timeout=3600)
    if cp.returncode != 0:
        raise RuntimeError(f"psql: {cp.stderr.decode()[:2000]}\n{sql[:300]}")
    return cp.stdout.decode()


def seed_pg(url: str, work: str, user_rows, sessions, audit) -> None:
    """COPY from CSV files (psql \\copy), then the users' sequence and ANALYZE."""
    for table, columns, data in (("users", ("id", "username", "password_hash", "created_at"),
                                  user_rows),
                                 ("sessions", SESSION_COLUMNS, sessions),
                                 ("login_logs", AUDIT_COLUMNS, audit)):
        path = os.path.join(work, f"{table}.csv")
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            for row in data:
                w.writerow(["\\N" if v is None else v for v in row])
        psql(url, f"\\copy {table} ({', '.join(columns)}) FROM '{path}' "
                  f"WITH (FORMAT csv, NULL '\\N')")
        os.unlink(path)
    psql(url, "SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT MAX(id) FROM users))")
    psql(url, "ANALYZE")


# -- the server ---------------------------------------------------------------------------------

def request(port: int, path: str, token: str | None, method: str = "GET", body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    headers = {"Authorization": "Bearer " + token} if token else {}
    if body is not None:
        headers["Content-Type"] = "application/json"
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers=headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def start_solod(cfg: str, work: str):
    proc = subprocess.Popen([SOLOD, "--config", cfg], cwd=work, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while time.time() < deadline:
        line = proc.stdout.readline().decode("utf-8", "replace")
        if not line and proc.poll() is not None:
            break
        m = re.search(r"listening on \S+:(\d+)", line)
        if m:
            return proc, int(m.group(1))
    proc.kill()
    sys.exit("solod did not start")


def wait_cache_warm(db: str, pg: bool, started: float, limit_s: float = 600) -> float | None:
    """Seconds from `started` until solod's cache of closed hours (table stats_hours)
    stopped growing (the same count over 3 s), or None if it never did within `limit_s`."""
    def count() -> int | None:
        try:
            if pg:
                return int(psql(db, "SELECT COUNT(*) FROM stats_hours").strip())
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
            try:
                return conn.execute("SELECT COUNT(*) FROM stats_hours").fetchone()[0]
            finally:
                conn.close()
        except (sqlite3.Error, RuntimeError, ValueError):
            return None
    last, since = None, time.perf_counter()
    while time.perf_counter() - started < limit_s:
        n = count()
        if n is None:
            return None
        if n != last:
            last, since = n, time.perf_counter()
        elif n > 0 and time.perf_counter() - since >= 3:
            return since - started
        time.sleep(0.2)
    return None


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--users", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--pg-url", default=None,
                    help="a PostgreSQL maintenance URL: run on a fresh database there")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (and the PostgreSQL database)")
    args = ap.parse_args()
    if args.repeat < 1 or args.repeat > 1000:
        sys.exit("--repeat: 1 to 1000")
    work = tempfile.mkdtemp(prefix="solod-stats-")
    cfg = os.path.join(work, "solod.toml")
    db_url = "sqlite3://data/solod.db"
    pg_db = None
    if args.pg_url:
        parts = urlsplit(args.pg_url)
        pg_db = f"solod_bench_{os.getpid()}_{random.randrange(1 << 30):x}"
        psql(args.pg_url, f'CREATE DATABASE "{pg_db}"')
        db_url = urlunsplit((parts.scheme, parts.netloc, "/" + pg_db, parts.query, ""))
    with open(cfg, "w") as f:
        f.write('[server]\nlisten = "127.0.0.1:0"\ntls = "off"\n[log]\nlevel = "warn"\n'
                '[limits]\nlogin_per_ip_per_minute = 100000\n'
                f'[database]\nurl = "{db_url}"\n')
    run = lambda *a, **kw: subprocess.run([SOLOD, *a, "--config", cfg], cwd=work, check=True,
                                          capture_output=True, **kw)
    proc = None
    try:
        run("migrate")
        now_ms = int(time.time() * 1000)
        t0 = time.time()
        user_rows, sessions, audit, mix = generate(args.rows, args.users, 1000, now_ms)
        t1 = time.time()
        if pg_db:
            seed_pg(db_url, work, user_rows, sessions, audit)
        else:
            seed_sqlite(os.path.join(work, "data", "solod.db"), user_rows, sessions, audit)
        t2 = time.time()
        print(f"generated {len(audit):,} audit rows and {len(sessions):,} sessions of "
              f"{args.users:,} users in {t1 - t0:.1f} s, seeded in {t2 - t1:.1f} s "
              f"({'PostgreSQL' if pg_db else 'SQLite'}); mix: "
              + ", ".join(f"{k} {v / len(audit):.1%}" for k, v in mix.items()), file=sys.stderr)
        run("user", "add", "benchadmin", "--admin", "--password-stdin",
            input=b"bench-admin-pw\n")
        del user_rows, sessions
        proc, port = start_solod(cfg, work)
        started = time.perf_counter()
        status, data = request(port, "/api/login", None, "POST",
                               {"username": "benchadmin", "password": "bench-admin-pw"})
        if status != 200:
            sys.exit(f"admin login: {status} {data[:300]!r}")
        token = json.loads(data)["token"]
        now_ms = int(time.time() * 1000)
        ranges = [("24 h by hour", 24 * HOUR_MS, "hour"), ("7 d by day", 7 * 24 * HOUR_MS, "day"),
                  ("30 d by day", 30 * 24 * HOUR_MS, "day")]
        queries = {label: urlencode({"from": iso_ms(now_ms - span), "to": iso_ms(now_ms),
                                     "bucket": bucket}) for label, span, bucket in ranges}

        def ask(label: str) -> tuple[float, dict]:
            t = time.perf_counter()
            status, data = request(port, "/api/admin/stats?" + queries[label], token)
            ms = (time.perf_counter() - t) * 1000
            if status != 200:
                sys.exit(f"{label}: {status} {data[:300]!r}")
            return ms, json.loads(data)

        # 1. Right after the start, as the dashboard's first look: solod fills its cache
        #    of closed hours (the last 31 days) at start, so these race that warm-up.
        first = {label: ask(label) for label, _, _ in ranges}
        # 2. Until the warm-up is done: its table stops growing (bounded).
        warmed_s = wait_cache_warm(db_url if pg_db else os.path.join(work, "data", "solod.db"),
                                   bool(pg_db), started)
        # 3. Warm: the same questions again.
        results = []
        for label, span, _ in ranges:
            times = [ask(label)[0] for _ in range(args.repeat)]
            answer = first[label][1]
            lo, hi = iso_ms(now_ms - span), iso_ms(now_ms)
            expected = sum(1 for r in audit if lo <= r[0] < hi)
            got = sum(sum(b["events"].values()) for b in answer["buckets"])
            results.append({"range": label, "buckets": len(answer["buckets"]), "rows": got,
                            "seeded_rows": expected, "first_ms": round(first[label][0], 1),
                            "median_ms": round(statistics.median(times), 1),
                            "p95_ms": round(percentile(times, 95), 1),
                            # the admin's own login and registration are in the range too
                            "counts_ok": expected <= got <= expected + 10})
        db_name = "PostgreSQL" if pg_db else "SQLite"
        print(f"| GET /api/admin/stats ({len(audit):,} audit rows, {db_name}) | buckets | "
              f"audit rows in range | first call after start ms | warm median ms | "
              f"warm p95 ms ({args.repeat} calls) |")
        print("|---|---|---|---|---|---|")
        for r in results:
            print(f"| {r['range']} | {r['buckets']} | {r['rows']:,} | {r['first_ms']:.1f} | "
                  f"{r['median_ms']:.1f} | {r['p95_ms']:.1f} |")
        print("statistics cache warm-up: "
              + (f"done {warmed_s:.1f} s after solod began listening" if warmed_s is not None
                 else "not seen (no stats_hours table, or still growing after 600 s)"))
        for r in results:
            if not r["counts_ok"]:
                print(f"WARNING {r['range']}: the buckets count {r['rows']:,} audit rows, "
                      f"the seed {r['seeded_rows']:,}", file=sys.stderr)
        print("RESULT " + json.dumps({
            "scenario": "admin_stats", "db": db_name.lower(), "rows": len(audit),
            "users": args.users, "repeat": args.repeat,
            "warm_up_s": None if warmed_s is None else round(warmed_s, 2),
            "ranges": results, "ok": all(r["counts_ok"] for r in results)}))
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        if pg_db and args.keep:
            print(f"kept PostgreSQL database {pg_db}", file=sys.stderr)
        elif pg_db:
            try:
                psql(args.pg_url, f'DROP DATABASE IF EXISTS "{pg_db}" WITH (FORCE)')
            except RuntimeError as e:
                print(f"dropping {pg_db}: {e}", file=sys.stderr)
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
