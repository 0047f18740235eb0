#!/usr/bin/env python3
"""The window between a login on node B and the old token's refusal on node A.

Two solod nodes on one throw-away PostgreSQL (the e2e harness's Cluster; needs
SOLOD_TEST_PG_URL, e.g. from scripts/pg-test-server.sh). For each trial a user
holds a token from node A, logs in again on node B, and from the moment B's
response arrives polls A with the old token until it is refused. Reported:
the time from B's response to A's first refusal (0 when A already refused
at the first probe), p50/p99/max over the trials. Bounded: TRIALS trials,
each giving up after 5 s.

    SOLOD_TEST_PG_URL=... python3 bench/token_window.py [TRIALS]
"""

import os
import statistics
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "e2e"))
os.environ.setdefault("SOLOD_SOURCE_DIR", os.path.join(here, ".."))
os.environ.setdefault("SOLOD_BIN", os.path.join(here, "..", "build", "solod"))

from solod_harness import Cluster  # noqa: E402

PASSWORD = "token-window-password"


def main() -> int:
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    cluster = Cluster(2, {"limits": {"login_per_ip_per_minute": 1000000}})
    cluster.start()
    try:
        a, b = cluster.nodes
        name, _ = a.new_user(PASSWORD)
        windows = []
        first_probe_refused = 0
        for _ in range(trials):
            old = a.login_ok(name, PASSWORD)["token"]
            assert a.me(old).status == 200
            r = b.login(name, PASSWORD)
            assert r.status == 200, r.text
            answered = time.perf_counter()
            probes = 0
            while True:
                probes += 1
                status = a.me(old).status
                if status == 401:
                    break
                assert status == 200, status
                if time.perf_counter() - answered > 5:
                    raise SystemExit("the old token was still accepted on A after 5 s")
            elapsed = 0.0 if probes == 1 else (time.perf_counter() - answered) * 1000
            first_probe_refused += probes == 1
            windows.append(elapsed)
        windows.sort()
        p = lambda q: windows[min(len(windows) - 1, int(q * len(windows)))]  # noqa: E731
        print(f"RESULT token_window trials={trials} refused_at_first_probe={first_probe_refused} "
              f"p50_ms={p(0.50):.3f} p99_ms={p(0.99):.3f} max_ms={windows[-1]:.3f} "
              f"mean_ms={statistics.mean(windows):.3f}")
    finally:
        cluster.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
