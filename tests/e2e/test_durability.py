"""SPEC §5 durability: acknowledged logins survive kill -9 (durability = "commit"),
one live session per user holds under a burst, and SIGTERM shuts down cleanly."""

import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import unittest  # noqa: E402

from solod_harness import SolodTestCase  # noqa: E402

PASSWORD = "durable-password"
NO_LIMITS = {"login_per_ip_per_minute": 1000000, "lockout_threshold": 1000}


class KillNineTest(SolodTestCase):
    USERS = 20
    THREADS = 8
    MAX_ATTEMPTS = 400
    MAX_SECONDS = 30.0

    def test_acknowledged_logins_survive_kill9(self):
        s = self.server({"audit": {"durability": "commit"}, "limits": NO_LIMITS})
        users = [s.new_user(PASSWORD)[0] for _ in range(self.USERS)]

        acknowledged = []          # (username, session_id) answered 200
        errors = []
        lock = threading.Lock()
        stop = threading.Event()
        attempts = [0]
        started = time.monotonic()

        def worker(index):
            i = index
            while not stop.is_set() and time.monotonic() - started < self.MAX_SECONDS:
                with lock:
                    if attempts[0] >= self.MAX_ATTEMPTS:
                        return
                    attempts[0] += 1
                name = users[i % len(users)]
                i += self.THREADS
                try:
                    r = s.login(name, PASSWORD, timeout=10)
                except Exception as e:  # the server dies mid-request: refused, reset, EOF
                    with lock:
                        errors.append(repr(e))
                    time.sleep(0.01)
                    continue
                if r.status == 200 and isinstance(r.json, dict):
                    with lock:
                        acknowledged.append((name, r.json["session"]["id"]))

        threads = [threading.Thread(target=worker, args=(k,), daemon=True)
                   for k in range(self.THREADS)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with lock:
                n = len(acknowledged)
            elapsed = time.monotonic() - started
            if n >= 1 and (elapsed >= 1.5 or n >= 20):
                break
            time.sleep(0.02)
        s.kill9()
        stop.set()
        for t in threads:
            t.join(15)
        self.assertFalse(any(t.is_alive() for t in threads), "burst threads did not stop")
        with lock:
            recorded = list(acknowledged)
        self.assertGreater(len(recorded), 0, f"no login succeeded before the kill; errors={errors[:5]}")
        print(f"\n  burst: {attempts[0]} attempts, {len(recorded)} acknowledged, "
              f"{len(errors)} connection errors at the kill", file=sys.stderr)

        s.start()
        missing = []
        for name, sid in recorded:
            rows = s.query("SELECT username FROM login_logs WHERE event_type = 'login_success' "
                           "AND session_id = ?", [sid])
            if len(rows) != 1 or rows[0]["username"] != name:
                missing.append((name, sid, [r["username"] for r in rows]))
        self.assertEqual(missing, [], f"{len(missing)} of {len(recorded)} acknowledged logins "
                                      f"lack exactly one login_success row")
        if s.pg is None:  # SQLite's own check of its file; PostgreSQL has none to ask
            self.assertEqual(s.query("PRAGMA integrity_check")[0][0], "ok")
        doubles = s.query("SELECT user_id, COUNT(*) AS n FROM sessions WHERE logout_ts IS NULL "
                          "GROUP BY user_id HAVING COUNT(*) > 1")
        self.assertEqual([tuple(r) for r in doubles], [], "users with more than one live session")
        # and the restarted server works
        body = s.login_ok(users[0], PASSWORD)
        self.assert_status(s.me(body["token"]), 200)


class ShutdownTest(SolodTestCase):
    def shutdown_after_login(self, durability):
        s = self.server({"audit": {"durability": durability}, "limits": NO_LIMITS})
        name, pw = s.new_user(PASSWORD)
        # idle connections must not hold the shutdown up
        idle_http = s.connection()
        idle_http.request("GET", "/healthz")
        idle_http.getresponse().read()
        idle_raw = socket.create_connection((s.host, s.port), timeout=5)
        try:
            sid = s.login_ok(name, pw)["session"]["id"]
            t0 = time.monotonic()
            code = s.stop(signal.SIGTERM, timeout=10)
            elapsed = time.monotonic() - t0
        finally:
            idle_http.close()
            idle_raw.close()
        self.assertEqual(code, 0, f"exit code after SIGTERM; output:\n{s.output()[-2000:]}")
        self.assertLess(elapsed, 5.0, "exit within 5 s of SIGTERM")
        rows = s.query("SELECT username FROM login_logs WHERE event_type = 'login_success' "
                       "AND session_id = ?", [sid])
        self.assertEqual([r["username"] for r in rows], [name])
        if s.pg is None:
            self.assertEqual(s.query("PRAGMA integrity_check")[0][0], "ok")

    def test_sigterm_commit(self):
        self.shutdown_after_login("commit")

    def test_sigterm_async_flushes_audit(self):
        self.shutdown_after_login("async")

    def test_sigint(self):
        s = self.server()
        self.assert_status(s.get("/healthz"), 200)
        t0 = time.monotonic()
        self.assertEqual(s.stop(signal.SIGINT, timeout=10), 0)
        self.assertLess(time.monotonic() - t0, 5.0)

    def test_signal_right_after_ready(self):
        # once "listening on" is printed, a supervisor may stop the server at any moment:
        # the SIGINT/SIGTERM handlers must already be installed
        codes = []
        for i in range(6):
            sig = signal.SIGTERM if i % 2 else signal.SIGINT
            s = self.server()
            codes.append((sig.name, s.stop(sig, timeout=10)))
        self.assertEqual([c for _, c in codes], [0] * len(codes),
                         f"exit codes of stop right after 'listening on': {codes}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
