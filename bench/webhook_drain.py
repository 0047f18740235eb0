"""How fast one node delivers webhooks: N events put straight into the outbox
of a running solod (SQLite), timed until a local receiver has them all.

    python3 bench/webhook_drain.py [N [USERS]]   (build/solod; 127.0.0.1 only)

The receiver is Python's ThreadingHTTPServer on the same two cores, so the
figure is a floor for solod's worker, not a ceiling."""

import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))

from solod_harness import Solod, wait_until  # noqa: E402
from webhook_receiver import Receiver, new_secret, write_secret  # noqa: E402


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    users = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    receiver = Receiver().start()
    secrets_dir = tempfile.mkdtemp(prefix="solod-bench-hooks-")
    secret, _ = new_secret()
    endpoint = {"url": receiver.url(), "secret_file": write_secret(secrets_dir, "s", secret)}
    s = Solod({"webhooks": {"endpoints": [endpoint]}}).start()
    try:
        db = s.db()
        now = "2026-12-02T00:00:00.000Z"
        rows = [(f"msg_{i:032x}", 1 + i % users, "session.started",
                 '{"type":"session.started","timestamp":"%s","data":{}}' % now, now) for i in range(n)]
        start = time.monotonic()
        db.executemany("INSERT INTO webhook_events (msg_id, user_id, type, payload, created_at) "
                       "VALUES (?, ?, ?, ?, ?)", rows)
        db.commit()
        ok = wait_until(lambda: len(receiver.delivered()) >= n, timeout=300, interval=0.05)
        took = time.monotonic() - start
        got = len(receiver.delivered())
        print(f"RESULT webhooks: {got} of {n} delivered in {took:.2f} s = {got / took:.0f}/s "
              f"({users} users, one endpoint, a new connection each){'' if ok else ' INCOMPLETE'}")
    finally:
        s.close()
        receiver.stop()


if __name__ == "__main__":
    main()
