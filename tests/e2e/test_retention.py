"""SPEC §2 audit.retention_days: at start-up (and hourly) audit rows older than the cut-off
are deleted, in batches, and ended sessions that began before it lose IP and User-Agent.

The rows are written straight into a freshly migrated database before the server starts:
2,500 audit rows and 1,500 ended sessions aged 40 days, as many aged 20 days, and a few
on either side of the 30-day cut-off.
"""

import os
import re
import sys
import uuid
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import unittest  # noqa: E402

from solod_harness import (SolodTestCase, add_admin_token, insert_audit_rows,  # noqa: E402
                           iso_at, unique_name, wait_until, with_query)

RETENTION_DAYS = 30
CONFIG = {"limits": {"login_per_ip_per_minute": 100000, "lockout_threshold": 100000},
          "audit": {"retention_days": RETENTION_DAYS}}
MARK = "retention-e2e/"  # the user_agent prefix of every row this test writes
DELETED_RE = re.compile(r"retention: deleted (\d+) audit rows, anonymised (\d+) sessions")


class RetentionTest(SolodTestCase):
    def test_exactly_the_rows_older_than_the_cut_off_are_removed(self):
        s = self.server(CONFIG, start=False)
        cp = s.cli("migrate")
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)

        now = datetime.now(timezone.utc)
        cut = now - timedelta(days=RETENTION_DAYS)
        old, new = now - timedelta(days=40), now - timedelta(days=20)
        # Either side of the cut-off: the server computes it a few seconds after `now`,
        # so the newer side keeps a margin of a minute; the older side needs none.
        edge_old = [cut - timedelta(milliseconds=1), cut - timedelta(seconds=1)]
        edge_new = [cut + timedelta(seconds=60), cut + timedelta(seconds=120)]

        def audit(kind, when, i):
            return {"timestamp": iso_at(when), "event_type": "login_success",
                    "username": "retention", "ip_address": f"192.0.2.{i % 250 + 1}",
                    "user_agent": f"{MARK}{kind}", "status": "success",
                    "session_id": uuid.uuid4().hex}
        rows = ([audit("old", old - timedelta(seconds=i), i) for i in range(2500)]
                + [audit("new", new - timedelta(seconds=i), i) for i in range(2500)]
                + [audit("edge-old", t, i) for i, t in enumerate(edge_old)]
                + [audit("edge-new", t, i) for i, t in enumerate(edge_new)])
        insert_audit_rows(s.db_path, rows)
        kept_ids = {r["id"] for r in s.query("SELECT id FROM login_logs WHERE user_agent IN (?, ?)",
                                             [MARK + "new", MARK + "edge-new"])}
        self.assertEqual(len(kept_ids), 2502)

        conn = s.db()
        try:
            conn.execute("BEGIN IMMEDIATE")
            user_ids = []
            for _ in range(2):
                cur = conn.execute("INSERT INTO users (username, password_hash, created_at) "
                                   "VALUES (?, 'x', ?)", [unique_name("ret"), iso_at(old)])
                user_ids.append(cur.lastrowid)

            def session(kind, login, user_id, live=False):
                conn.execute(
                    "INSERT INTO sessions (id, user_id, login_ts, logout_ts, end_reason, "
                    "ip_address, user_agent, system_info, last_seen, expires_at) "
                    "VALUES (?, ?, ?, ?, ?, '198.51.100.1', ?, 'linux', ?, ?)",
                    [uuid.uuid4().hex, user_id, iso_at(login),
                     None if live else iso_at(login + timedelta(hours=1)),
                     None if live else "logout", MARK + kind,
                     iso_at(now if live else login + timedelta(hours=1)),
                     iso_at(now + timedelta(days=1) if live else login + timedelta(days=1))])
            for i in range(1500):
                session("old", old - timedelta(seconds=i), user_ids[0])
                session("new", new - timedelta(seconds=i), user_ids[0])
            for t in edge_old:
                session("edge-old", t, user_ids[0])
            for t in edge_new:
                session("edge-new", t, user_ids[0])
            # a live session that began before the cut-off keeps its address: only ended
            # sessions are anonymised
            session("live-old", old, user_ids[1], live=True)
            conn.execute("COMMIT")
        finally:
            conn.close()

        s.start()

        def swept():
            return (s.query("SELECT COUNT(*) FROM login_logs WHERE user_agent IN (?, ?)",
                            [MARK + "old", MARK + "edge-old"])[0][0] == 0
                    and s.query("SELECT COUNT(*) FROM sessions WHERE user_agent IN (?, ?)",
                                [MARK + "old", MARK + "edge-old"])[0][0] == 0
                    and DELETED_RE.search(s.output()))
        self.assertTrue(wait_until(swept, timeout=60, interval=0.2),
                        "old rows still there after 60 s; output:\n" + s.output()[-3000:])

        # audit: every newer row is still there, untouched
        kept = s.query("SELECT id, user_agent FROM login_logs WHERE user_agent LIKE ?",
                       [MARK + "%"])
        self.assertEqual({r["id"] for r in kept}, kept_ids)
        self.assertEqual(sorted({r["user_agent"] for r in kept}), [MARK + "edge-new", MARK + "new"])
        # sessions: all rows remain; those that began before the cut-off lost IP and agent
        counts = {tuple(r) for r in s.query(
            "SELECT user_agent, ip_address, system_info, end_reason, COUNT(*) FROM sessions "
            "GROUP BY 1, 2, 3, 4")}
        self.assertEqual(counts, {("", "", "", "logout", 1502),
                                  (MARK + "new", "198.51.100.1", "linux", "logout", 1500),
                                  (MARK + "edge-new", "198.51.100.1", "linux", "logout", 2),
                                  (MARK + "live-old", "198.51.100.1", "linux", None, 1)})
        blanked = s.query("SELECT login_ts, logout_ts FROM sessions WHERE user_agent = ''")
        self.assertTrue(all(r["login_ts"] < iso_at(cut) and r["logout_ts"] for r in blanked))
        # the job says what it did: exactly our old rows
        m = DELETED_RE.search(s.output())
        self.assertEqual((int(m.group(1)), int(m.group(2))), (2502, 1502), m.group(0))

        # and the admin API agrees: nothing before the cut-off, all of the rest
        _, token = add_admin_token(s)
        r = s.get(with_query("/api/admin/audit", to=iso_at(cut), limit=1000), token=token)
        self.assert_status(r, 200)
        self.assertEqual(r.json["events"], [])
        r = s.get(with_query("/api/admin/audit", user="retention", limit=1000), token=token)
        self.assertEqual(len(r.json["events"]), 1000)
        self.assertIsInstance(r.json["next_cursor"], str)


if __name__ == "__main__":
    unittest.main(verbosity=2)
