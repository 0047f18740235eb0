"""A database that stops answering: logins fail closed with 503 and nothing is lost.

SQLite has no server to stop, so the test takes the database's write lock
from another connection and holds it past solod's busy timeout (10 s): to
solod the database is down for writing. Then the lock is released and the
test checks that solod recovers by itself and that the audit events it held
meanwhile reach the database.
"""

import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

from solod_harness import SolodTestCase, sqlite_only


@sqlite_only("the outage is SQLite's write lock held by the test (test_cluster_pg_restart "
             "stops a real PostgreSQL)")
class DatabaseDownTest(SolodTestCase):
    def test_logins_fail_closed_and_audit_survives_the_outage(self):
        s = self.server()
        name, password = s.new_user()
        s.login_ok(name, password)

        locked = threading.Event()
        released = threading.Event()

        def hold_lock():
            # sqlite3 connections belong to their thread: take and release here.
            blocker = s.db()
            blocker.execute("BEGIN IMMEDIATE")
            # A write inside the transaction makes the lock unmistakable.
            blocker.execute("CREATE TABLE outage_marker (x INTEGER)")
            locked.set()
            # Long enough that solod's 10 s busy timeout runs out first
            # (for both logins below, which wait side by side).
            time.sleep(16)
            blocker.execute("ROLLBACK")
            blocker.close()
            released.set()

        threading.Thread(target=hold_lock, daemon=True).start()
        self.assertTrue(locked.wait(10))
        try:
            # Both at once, so both meet the outage (each waits out the busy timeout).
            with ThreadPoolExecutor(2) as pool:
                right = pool.submit(s.login, name, password, timeout=30)
                wrong = pool.submit(s.login, name, "definitely wrong pw",
                                    headers={"User-Agent": "outage-probe/1"}, timeout=30)
                r, bad = right.result(), wrong.result()
            # A right password during the outage: the session cannot be
            # written, so no token is handed out.
            self.assert_error(r, 503, "unavailable")
            self.assertIn("Retry-After", r.headers)
            # A wrong password during the outage: the shared lockout cannot
            # count it, so it fails closed too (a 401 would tell it from the
            # right password); its audit row is held until the database is back.
            self.assert_error(bad, 503, "unavailable")
        finally:
            released.wait(30)

        # The server recovers without a restart.
        deadline = time.monotonic() + 30
        while True:
            r = s.login(name, password)
            if r.status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(s.me(r.json["token"]).status, 200)

        rows = s.wait_rows(
            "SELECT * FROM login_logs WHERE user_agent = 'outage-probe/1' "
            "AND event_type = 'login_failure' AND error_message = 'bad_password'",
            timeout=30)
        self.assertEqual(len(rows), 1)
        live = s.query("SELECT COUNT(*) AS n FROM sessions s JOIN users u ON u.id = s.user_id "
                       "WHERE u.username = ? AND s.logout_ts IS NULL", (name,))
        self.assertEqual(live[0]["n"], 1)
        health = s.request("GET", "/healthz")
        self.assertEqual(health.status, 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
