"""A slow or unreachable database means a fast 503 (SPEC database.wait_timeout, /healthz).

SQLite has no server to slow down, so the test takes the write lock from
another connection: solod's writes then wait out their busy timeout (10 s) on
both database threads, and every request queued behind them must be answered
503 with Retry-After once it has waited database.wait_timeout, not when a
thread comes free. /healthz answers 503 while the database file is replaced
by a directory, and 200 again once it is back. A login whose client hangs up
before its hash is not hashed.
"""

import os
import socket
import sys
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from solod_harness import SolodTestCase, sqlite_only, unique_name, wait_until  # noqa: E402

PASSWORD = "slow-database-pw"


@sqlite_only("the database is made slow by holding SQLite's write lock")
class DatabaseWaitTest(SolodTestCase):
    def test_a_request_stuck_behind_a_locked_database_gets_a_fast_503(self):
        s = self.server({"database": {"wait_timeout": "300ms"},
                         "limits": {"login_per_ip_per_minute": 100000}})
        names = s.new_users(3, PASSWORD)
        tokens = [s.login_ok(n, PASSWORD)["token"] for n in names]

        locked = threading.Event()
        release = threading.Event()

        def hold_lock():
            blocker = s.db()
            blocker.execute("BEGIN IMMEDIATE")
            blocker.execute("CREATE TABLE slow_marker (x INTEGER)")
            locked.set()
            release.wait(30)
            blocker.execute("ROLLBACK")
            blocker.close()

        holder = threading.Thread(target=hold_lock, daemon=True)
        holder.start()
        self.assertTrue(locked.wait(10))
        pool = ThreadPoolExecutor(max_workers=2)
        try:
            # Two logouts: each ends its session in the database, a write that
            # waits for the lock on one of the pool's two threads.
            logouts = [pool.submit(s.logout, t, timeout=60) for t in tokens[:2]]
            time.sleep(1.0)  # both writes are waiting on the lock by now
            me = s.me(tokens[2], timeout=60)
            self.assert_error(me, 503, "unavailable")
            self.assertIn("Retry-After", me.headers)
            health = s.get("/healthz", timeout=60)
            self.assertEqual(health.status, 503, health.text)
            self.assertIn("Retry-After", health.headers)
            # Answered while the threads were still stuck: the writes are not done.
            self.assertFalse(any(f.done() for f in logouts),
                             "the 503 came only after the database threads were free")
        finally:
            release.set()
            holder.join(30)
            pool.shutdown(wait=True)
        self.assertGreaterEqual(s.metric("solod_db_wait_timeouts_total"), 2)
        # Back to normal without a restart.
        self.assertTrue(wait_until(lambda: s.me(tokens[2]).status == 200, timeout=30))
        self.assertEqual(s.get("/healthz").status, 200)


@sqlite_only("the database file is replaced by a directory")
class HealthzTest(SolodTestCase):
    def test_healthz_is_503_while_the_database_file_is_gone(self):
        s = self.server()
        self.assertEqual(s.get("/healthz").status, 200)
        path = s.db_path
        aside = path + ".aside"
        os.rename(path, aside)
        os.mkdir(path)  # whoever opens the database now finds a directory
        try:
            r = s.get("/healthz")
            self.assertEqual(r.status, 503, r.text)
            self.assertIn("Retry-After", r.headers)
        finally:
            os.rmdir(path)
            os.rename(aside, path)
        self.assertTrue(wait_until(lambda: s.get("/healthz").status == 200, timeout=10))


class AbandonedLoginTest(SolodTestCase):
    def test_a_login_whose_client_hung_up_is_not_hashed(self):
        s = self.server({"limits": {"login_per_ip_per_minute": 100000,
                                    "lockout_threshold": 100000}})
        name, _ = s.new_user(PASSWORD)
        ghost = unique_name("ghost")  # unknown: each attempt costs a dummy hash
        body = ('{"username": "%s", "password": "not the password"}' % ghost).encode()
        head = (b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"User-Agent: hangs-up/1\r\nContent-Length: %d\r\n\r\n" % len(body))
        # Keep the hashing threads busy with logins that are waited for, then
        # send logins whose clients hang up at once: those queue behind.
        busy = ThreadPoolExecutor(max_workers=16)
        try:
            waited = [busy.submit(s.login, name, "wrong password!", timeout=60) for _ in range(16)]
            time.sleep(0.05)
            for _ in range(20):
                sock = socket.create_connection((s.host, s.port), timeout=5)
                sock.sendall(head + body)
                sock.close()
            for f in waited:
                self.assertEqual(f.result().status, 401)
        finally:
            busy.shutdown(wait=True)
        # Every attempt ends either hashed (and audited as a failure) or abandoned.
        def settled():
            hashed = s.query("SELECT COUNT(*) AS n FROM login_logs WHERE username = ?",
                             (ghost,))[0]["n"]
            abandoned = s.metric("solod_logins_total", result="abandoned") or 0
            return (hashed, abandoned) if hashed + abandoned == 20 else None
        result = wait_until(settled, timeout=30)
        self.assertIsNotNone(result, "some attempts were neither hashed nor abandoned")
        hashed, abandoned = result
        self.assertGreaterEqual(abandoned, 1, "every abandoned login was hashed")
        self.assertLess(hashed, 20)

if __name__ == "__main__":
    unittest.main(verbosity=2)
