"""Issue 14: GET /api/me/activity, a user's own recent login activity.

Each answer is compared with the audit log itself (direct SQL and the admin's
/api/admin/audit?user=NAME): the caller's rows only (user_id = the caller) of the seven
login event types, at most 50, newest first; a login_failure (bad password) is there, a
session_superseded row names the old session and the superseding login's address and
user agent, `current` marks the caller's live session and `session` says how each
login's session ended. Another user's token sees only that user's rows; a token whose
session was superseded or logged out gets 401.
"""

import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import unittest  # noqa: E402

from solod_harness import (SolodTestCase, add_admin_token, insert_audit_rows,  # noqa: E402
                           iso_now, walk_pages)

PASSWORD = "activity-password-1"
CONFIG = {"limits": {"login_per_ip_per_minute": 100000, "lockout_threshold": 100000},
          "server": {"trusted_proxies": ["127.0.0.1/32"]}}
ACTIVITY = "/api/me/activity"
TYPES = ("login_success", "login_failure", "logout", "session_superseded",
         "session_terminated", "session_expired", "account_locked")
EVENT_KEYS = {"id", "at", "event", "status", "ip", "user_agent", "session_id", "detail",
              "current", "session"}


class ActivityTest(SolodTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.s = cls.class_server(CONFIG)
        cls.admin, cls.admin_token = add_admin_token(s, "actadm")
        cls.a, cls.b = s.new_users(2, PASSWORD, prefix="act")

        def login(name, ip, ua, password=PASSWORD):
            return s.login(name, password, headers={"X-Forwarded-For": ip, "User-Agent": ua})
        cls.a1 = login(cls.a, "198.51.100.31", "ua-a/1").json
        assert login(cls.a, "198.51.100.39", "ua-a/fail", "wrong-password").status == 401
        cls.a2 = login(cls.a, "198.51.100.32", "ua-a/2").json  # supersedes a1
        assert s.logout(cls.a2["token"]).status == 204
        cls.a3 = login(cls.a, "198.51.100.33", "ua-a/3").json  # live
        cls.b1 = login(cls.b, "203.0.113.41", "ua-b/1").json
        assert login(cls.b, "203.0.113.49", "ua-b/fail", "wrong-password").status == 401
        cls.a_id, cls.b_id = cls.a1["user"]["id"], cls.b1["user"]["id"]
        # the rows written after the answers (failures, superseded, logout) are in
        cls.wait_rows_of(cls.a_id, 6)
        cls.wait_rows_of(cls.b_id, 2)

    @classmethod
    def wait_rows_of(cls, user_id: int, count: int) -> None:
        rows = cls.s.wait_rows("SELECT id FROM login_logs WHERE user_id = ? AND event_type IN "
                               f"({', '.join('?' for _ in TYPES)})", [user_id, *TYPES],
                               min_rows=count)
        assert len(rows) >= count, f"only {len(rows)} audit rows of user {user_id}"

    # -- helpers ----------------------------------------------------------------------------------

    def activity(self, token: str) -> list[dict]:
        r = self.s.get(ACTIVITY, token=token)
        self.assert_status(r, 200)
        self.assertIn("application/json", r.header("Content-Type", ""))
        self.assertEqual(set(r.json), {"events"})
        for e in r.json["events"]:
            self.assertEqual(set(e), EVENT_KEYS, e)
        return r.json["events"]

    def rows_sql(self, user_id: int, limit: int = 50) -> list:
        """The caller's rows of the seven types, newest first, as the table has them."""
        return self.s.query(
            f"SELECT * FROM login_logs WHERE user_id = ? AND event_type IN "
            f"({', '.join('?' for _ in TYPES)}) ORDER BY timestamp DESC, id DESC LIMIT {limit}",
            [user_id, *TYPES])

    def sessions_by_id(self) -> dict:
        return {r["id"]: r for r in self.s.query("SELECT id, logout_ts, end_reason FROM sessions")}

    def expected(self, user_id: int, live_session: str | None) -> list[dict]:
        """The activity the contract describes, from the tables."""
        sessions = self.sessions_by_id()
        out = []
        for r in self.rows_sql(user_id):
            session = None
            if r["event_type"] == "login_success":
                row = sessions.get(r["session_id"])
                self.assertIsNotNone(row, f"no sessions row for {r['session_id']}")
                session = {"ended_at": row["logout_ts"], "end_reason": row["end_reason"]}
            # An admin's end is stamped with the admin's address and browser:
            # not the user's to see.
            by_admin = r["event_type"] == "session_terminated"
            out.append({"id": r["id"], "at": r["timestamp"], "event": r["event_type"],
                        "status": r["status"], "ip": "" if by_admin else r["ip_address"],
                        "user_agent": "" if by_admin else r["user_agent"],
                        "session_id": r["session_id"],
                        "detail": r["error_message"],
                        "current": live_session is not None and r["session_id"] == live_session,
                        "session": session})
        return out

    def admin_audit(self, name: str) -> list[dict]:
        pages = walk_pages(self.s, "/api/admin/audit", "events", self.admin_token, limit=1000,
                           user=name)
        return [e for page in pages for e in page]

    # -- the caller's own rows -------------------------------------------------------------------

    def test_own_rows_as_the_audit_log_has_them(self):
        got = self.activity(self.a3["token"])
        self.assertEqual(got, self.expected(self.a_id, self.a3["session"]["id"]))
        # the same rows the admin sees for that account, and only those
        audit = [e for e in self.admin_audit(self.a) if e["user_id"] == self.a_id]
        by_id = {e["id"]: e for e in audit}
        self.assertEqual([e["id"] for e in got],
                         [e["id"] for e in audit if e["event"] in TYPES][:50])
        for e in got:
            listed = by_id[e["id"]]
            self.assertEqual({k: e[k] for k in ("at", "event", "ip", "user_agent", "session_id",
                                                "detail")},
                             {k: listed[k] for k in ("at", "event", "ip", "user_agent",
                                                     "session_id", "detail")})
        # not the other types (the registration is audited with the account's id)
        self.assertTrue(any(e["event"] == "register" for e in audit), "a register row exists")
        self.assertFalse({e["event"] for e in got} - set(TYPES))

    def test_what_each_row_says(self):
        got = self.activity(self.a3["token"])
        s1, s2, s3 = (b["session"]["id"] for b in (self.a1, self.a2, self.a3))
        kinds = [(e["event"], e["session_id"]) for e in got]
        self.assertEqual(len(kinds), 6, kinds)
        self.assertEqual(kinds[:2], [("login_success", s3), ("logout", s2)])
        # a2's login and the end of a1 have the same instant (the order of ties is by id,
        # as test_own_rows_as_the_audit_log_has_them checks)
        self.assertEqual(set(kinds[2:4]), {("login_success", s2), ("session_superseded", s1)})
        self.assertEqual(got[2]["at"], got[3]["at"])
        self.assertEqual(kinds[4:], [("login_failure", None), ("login_success", s1)])
        by = {(e["event"], e["session_id"]): e for e in got}
        failure = by[("login_failure", None)]
        self.assertEqual((failure["status"], failure["detail"], failure["ip"],
                          failure["user_agent"], failure["current"], failure["session"]),
                         ("failure", "bad_password", "198.51.100.39", "ua-a/fail", False, None))
        superseded = by[("session_superseded", s1)]
        self.assertEqual((superseded["ip"], superseded["user_agent"], superseded["current"],
                          superseded["session"]),
                         ("198.51.100.32", "ua-a/2", False, None),
                         "the superseding login's address and user agent")
        first, second, live = (by[("login_success", s)] for s in (s1, s2, s3))
        self.assertEqual((first["ip"], first["user_agent"], first["current"]),
                         ("198.51.100.31", "ua-a/1", False))
        self.assertEqual(first["session"], {"ended_at": self.a2["session"]["created_at"],
                                            "end_reason": "superseded"})
        self.assertEqual(second["session"]["end_reason"], "logout")
        self.assert_iso(second["session"]["ended_at"])
        self.assertFalse(second["current"])
        self.assertEqual((live["current"], live["session"], live["ip"], live["user_agent"]),
                         (True, {"ended_at": None, "end_reason": None}, "198.51.100.33",
                          "ua-a/3"))
        self.assertEqual([e["current"] for e in got].count(True), 1)
        logout = by[("logout", s2)]
        self.assertEqual((logout["current"], logout["session"]), (False, None))

    def test_another_users_token_sees_only_that_users_rows(self):
        a_ids = {e["id"] for e in self.activity(self.a3["token"])}
        got = self.activity(self.b1["token"])
        self.assertEqual(got, self.expected(self.b_id, self.b1["session"]["id"]))
        self.assertEqual([e["event"] for e in got], ["login_failure", "login_success"])
        self.assertFalse(a_ids & {e["id"] for e in got})
        everyone = {r["id"] for r in self.s.query("SELECT id FROM login_logs WHERE user_id = ?",
                                                  [self.b_id])}
        self.assertTrue({e["id"] for e in got} <= everyone)

    def test_without_a_live_session_401(self):
        self.assert_error(self.s.get(ACTIVITY), 401, "unauthorized")
        self.assert_error(self.s.get(ACTIVITY, token="not-a-token"), 401, "unauthorized")
        self.assert_error(self.s.get(ACTIVITY, token=self.a1["token"]), 401, "unauthorized")
        self.assert_error(self.s.get(ACTIVITY, token=self.a2["token"]), 401, "unauthorized")
        self.assert_status(self.s.get(ACTIVITY, cookie=self.a3["token"]), 200)
        r = self.s.request("POST", ACTIVITY, {}, token=self.a3["token"])
        self.assert_error(r, 405, "method_not_allowed")

    def test_superseded_and_terminated(self):
        name, _ = self.s.new_user(PASSWORD, prefix="acs")
        c1 = self.s.login_ok(name, PASSWORD, headers={"X-Forwarded-For": "192.0.2.51",
                                                      "User-Agent": "ua-c/1"})
        self.assertEqual(len(self.activity(c1["token"])), 1)
        c2 = self.s.login_ok(name, PASSWORD, headers={"X-Forwarded-For": "192.0.2.52",
                                                      "User-Agent": "ua-c/2"})
        self.assert_error(self.s.get(ACTIVITY, token=c1["token"]), 401, "unauthorized")
        uid = c1["user"]["id"]
        self.wait_rows_of(uid, 3)
        got = self.activity(c2["token"])
        self.assertEqual(got, self.expected(uid, c2["session"]["id"]))
        sup = [e for e in got if e["event"] == "session_superseded"]
        self.assertEqual([(e["session_id"], e["ip"], e["user_agent"]) for e in sup],
                         [(c1["session"]["id"], "192.0.2.52", "ua-c/2")])
        # an admin ends c2: its row, and how that session ended
        r = self.s.request("DELETE", f"/api/admin/sessions/{c2['session']['id']}",
                           token=self.admin_token)
        self.assert_status(r, 204)
        self.assert_error(self.s.get(ACTIVITY, token=c2["token"]), 401, "unauthorized")
        self.wait_rows_of(uid, 4)
        c3 = self.s.login_ok(name, PASSWORD)
        got = self.activity(c3["token"])
        self.assertEqual(got, self.expected(uid, c3["session"]["id"]))
        ended = [e for e in got if e["event"] == "session_terminated"]
        self.assertEqual([e["session_id"] for e in ended], [c2["session"]["id"]])
        c2_login = [e for e in got if e["event"] == "login_success"
                    and e["session_id"] == c2["session"]["id"]][0]
        self.assertEqual(c2_login["session"]["end_reason"], "admin")
        self.assertEqual([e["session_id"] for e in got if e["current"]], [c3["session"]["id"]])

    def test_at_most_50_newest_first(self):
        name, _ = self.s.new_user(PASSWORD, prefix="acn")
        uid = self.s.query("SELECT id FROM users WHERE username = ?", [name])[0]["id"]
        other = self.b_id
        # 40 old sessions with their login and end rows, 10 more failures: 90 rows of the types
        sessions, rows = [], []
        reasons = {"superseded": "session_superseded", "logout": "logout",
                   "admin": "session_terminated", "expired": "session_expired"}
        for i in range(40):
            sid = uuid.uuid4().hex
            start = f"2025-04-{1 + i // 4:02d}T{i % 4 * 6:02d}:00:00.000Z"
            end = f"2025-04-{1 + i // 4:02d}T{i % 4 * 6 + 1:02d}:00:00.000Z"
            reason = list(reasons)[i % 4]
            sessions.append([sid, uid, start, end, reason, f"192.0.2.{i}", f"old/{i}", end, end])
            rows.append({"timestamp": start, "event_type": "login_success", "user_id": uid,
                         "username": name, "session_id": sid, "ip_address": f"192.0.2.{i}",
                         "user_agent": f"old/{i}"})
            rows.append({"timestamp": end, "event_type": reasons[reason], "user_id": uid,
                         "username": name, "session_id": sid})
        for i in range(10):
            rows.append({"timestamp": f"2025-05-01T00:00:{i:02d}.000Z",
                         "event_type": "login_failure" if i % 2 else "account_locked",
                         "user_id": uid, "username": name, "status": "failure",
                         "error_message": "bad_password" if i % 2 else "locked"})
        # newer rows that must not show: other types, another account, no account
        now = iso_now()
        rows += [{"timestamp": now, "event_type": t, "user_id": uid, "username": name}
                 for t in ("register", "admin_action", "ws_auth_failure")]
        rows += [{"timestamp": now, "event_type": "login_failure", "user_id": None,
                  "username": name, "status": "failure", "error_message": "unknown_user"},
                 {"timestamp": now, "event_type": "login_success", "user_id": other,
                  "username": self.b, "session_id": self.b1["session"]["id"]}]
        conn = self.s.db()
        try:
            conn.execute("BEGIN IMMEDIATE")
            for row in sessions:
                conn.execute("INSERT INTO sessions (id, user_id, login_ts, logout_ts, end_reason, "
                             "ip_address, user_agent, last_seen, expires_at) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            conn.execute("COMMIT")
        finally:
            conn.close()
        insert_audit_rows(self.s.db_path, rows)
        live = self.s.login_ok(name, PASSWORD)
        got = self.activity(live["token"])
        self.assertEqual(len(got), 50)
        self.assertEqual(got, self.expected(uid, live["session"]["id"]))
        keys = [(e["at"], e["id"]) for e in got]
        self.assertEqual(keys, sorted(keys, reverse=True), "newest first")
        self.assertEqual(got[0]["session_id"], live["session"]["id"])
        self.assertTrue(got[0]["current"])
        self.assertEqual({e["event"] for e in got} - set(TYPES), set())
        # the 50th is the 50th newest: the oldest 41 rows of the 91 are left out
        total = len(self.rows_sql(uid, limit=1000))
        self.assertEqual(total, 91)
        self.assertEqual(got[-1]["id"], self.rows_sql(uid, limit=1000)[49]["id"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
