#!/usr/bin/env python3
"""Admin query speed with 1,000,000 audit rows (issue #5).

Seeds ROWS audit rows straight into a fresh solod database (solod migrate
first, so the indexes are solod's own), starts solod on 127.0.0.1 with an
ephemeral port, logs in an admin, then measures over real HTTP:

- every filter of GET /api/admin/audit (limit 100): median and worst of
  REPEAT requests, the first page and a deep page (via the cursor);
- GET /api/admin/audit.csv unfiltered and filtered: rows/s of the stream.

Prints a table and one `RESULT {json}` line. Standard library only.
Usage: bench/admin/query_speed.py [--rows N] [--repeat K]   (SOLOD_BIN: default build/solod)
"""

import argparse
import http.client
import json
import os
import random
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SOLOD = os.environ.get("SOLOD_BIN", os.path.join(ROOT, "build", "solod"))
EVENTS = ["login_success", "login_failure", "logout", "session_superseded", "register",
          "session_expired", "ws_auth_failure", "admin_action"]


def seed(db_path: str, rows: int) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    rnd = random.Random(7)
    start = time.time() - 365 * 86400  # a year of audit
    step = 365 * 86400 / rows

    def gen():
        for i in range(rows):
            ts = start + i * step
            t = time.gmtime(ts)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", t) + ".%03dZ" % int((ts % 1) * 1000)
            user = rnd.randrange(5000)
            ev = EVENTS[rnd.randrange(len(EVENTS))]
            yield (stamp, ev, user + 1, "user%04d" % user, None,
                   "10.%d.%d.%d" % (user % 200, user % 97, user % 89),
                   "Mozilla/5.0 bench %d" % (user % 50),
                   "failure" if ev == "login_failure" else "success",
                   "bad_password" if ev == "login_failure" else "")
    conn.executemany(
        "INSERT INTO login_logs (timestamp, event_type, user_id, username, session_id, ip_address, "
        "user_agent, status, error_message) VALUES (?,?,?,?,?,?,?,?,?)", gen())
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


def request(port, path, token, method="GET", body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": "Bearer " + token} if token else {}
    c.request(method, path, body=json.dumps(body) if body else None, headers=headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="solod-query-")
    cfg = os.path.join(work, "solod.toml")
    with open(cfg, "w") as f:
        f.write('[server]\nlisten = "127.0.0.1:0"\ntls = "off"\n[log]\nlevel = "warn"\n'
                '[limits]\nlogin_per_ip_per_minute = 100000\n')
    run = lambda *a, **kw: subprocess.run([SOLOD, *a, "--config", cfg], cwd=work, check=True,
                                          capture_output=True, **kw)
    run("migrate")
    run("user", "add", "admin", "--admin", "--password-stdin", input=b"bench-admin-pw\n")
    t0 = time.time()
    seed(os.path.join(work, "data", "solod.db"), args.rows)
    print(f"seeded {args.rows} audit rows in {time.time() - t0:.1f} s", file=sys.stderr)

    proc = subprocess.Popen([SOLOD, "--config", cfg], cwd=work, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    port = None
    deadline = time.time() + 30
    while time.time() < deadline and port is None:
        line = proc.stdout.readline().decode()
        m = re.search(r"listening on \S+:(\d+)", line)
        if m:
            port = int(m.group(1))
    if port is None:
        proc.kill()
        sys.exit("solod did not start")
    try:
        status, data = request(port, "/api/login", None, "POST",
                               {"username": "admin", "password": "bench-admin-pw"})
        token = json.loads(data)["token"]
        filters = {
            "none": "",
            "user": "user=user0042",
            "ip": "ip=10.42.42.42",
            "event": "event=logout",
            "from/to (one week)": "from=" + time.strftime("%Y-%m-%d", time.gmtime(time.time() - 200 * 86400))
                                  + "&to=" + time.strftime("%Y-%m-%d", time.gmtime(time.time() - 193 * 86400)),
            "user+event": "user=user0042&event=login_failure",
            "event+from/to": "event=login_success&from=" + time.strftime("%Y-%m-%d", time.gmtime(time.time() - 300 * 86400))
                             + "&to=" + time.strftime("%Y-%m-%d", time.gmtime(time.time() - 100 * 86400)),
        }
        rows = []
        worst_all = 0.0
        for name, q in filters.items():
            times = []
            deep_times = []
            cursor = None
            for i in range(args.repeat):
                t = time.perf_counter()
                status, data = request(port, "/api/admin/audit?limit=100&" + q, token)
                times.append((time.perf_counter() - t) * 1000)
                assert status == 200, data
                cursor = json.loads(data)["next_cursor"]
            # A deep page: ten pages in.
            for _ in range(10):
                if not cursor:
                    break
                t = time.perf_counter()
                status, data = request(port, f"/api/admin/audit?limit=100&{q}&cursor={cursor}", token)
                deep_times.append((time.perf_counter() - t) * 1000)
                cursor = json.loads(data)["next_cursor"]
            worst = max(times + deep_times)
            worst_all = max(worst_all, worst)
            rows.append((name, statistics.median(times), worst))
        csv = {}
        for name, q in (("all rows", ""), ("event=login_success", "event=login_success")):
            t = time.perf_counter()
            status, data = request(port, "/api/admin/audit.csv?" + q, token)
            secs = time.perf_counter() - t
            n = data.count(b"\r\n") - 1
            csv[name] = (n, n / secs)
        print(f"| filter (limit 100, {args.rows:,} rows) | median ms | worst ms (incl. deep pages) |")
        print("|---|---|---|")
        for name, med, worst in rows:
            print(f"| {name} | {med:.1f} | {worst:.1f} |")
        print()
        print("| CSV export | rows | rows/s |")
        print("|---|---|---|")
        for name, (n, rate) in csv.items():
            print(f"| {name} | {n:,} | {rate:,.0f} |")
        print("RESULT " + json.dumps({
            "scenario": "admin_query", "rows": args.rows,
            "pages": {name: {"median_ms": round(med, 2), "worst_ms": round(worst, 2)} for name, med, worst in rows},
            "worst_page_ms": round(worst_all, 2),
            "csv": {name: {"rows": n, "rows_per_s": round(rate)} for name, (n, rate) in csv.items()},
            "ok": worst_all < 50 and all(rate >= 100000 for _, rate in csv.values())}))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


if __name__ == "__main__":
    main()
