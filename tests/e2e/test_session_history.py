"""Issue 14: the session history. GET /api/admin/sessions with the new filters (`reason`,
`active=true|false`) and fields (`duration_ms`, `legal_basis`), GET/HEAD
/api/admin/sessions.csv, and `solod session export`.

Sessions come from real logins (superseded, logged out, ended by an admin, live) with
their own addresses (X-Forwarded-For from a trusted 127.0.0.1) and user agents (some
starting with = + - @), plus rows written straight into the table (values no header can
carry, and 2,500 sessions for a CSV that spans several batches). Every listing is
compared with the table itself; the CSV must be the JSON listing (all pages, same
filters) rendered in the contract's quoting, byte for byte; the CLI's CSV must be the
HTTP CSV and its JSON the listing.
"""

import json
import os
import sys
import time
import uuid
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import unittest  # noqa: E402

from solod_harness import (SolodTestCase, add_admin_token, csv_rows, iso_now,  # noqa: E402
                           spec_csv_row, unique_name, walk_pages, with_query)

PASSWORD = "history-password-1"
CONFIG = {"limits": {"login_per_ip_per_minute": 100000, "lockout_threshold": 100000},
          "server": {"trusted_proxies": ["127.0.0.1/32"]},
          "legal_basis": {"sessions": "contract"}}
SESSIONS = "/api/admin/sessions"
SESSIONS_CSV = "/api/admin/sessions.csv"
CSV_COLUMNS = ["id", "user_id", "username", "created_at", "ended_at", "duration_ms",
               "end_reason", "ip", "user_agent", "legal_basis"]
CSV_HEADER = ",".join(CSV_COLUMNS) + "\r\n"
SESSION_KEYS = set(CSV_COLUMNS) | {"connections", "connection_list"}
IP_A, IP_B, IP_V6 = "198.51.100.17", "203.0.113.19", "2001:db8::17"
UA_FORMULA = '=HYPERLINK("http://x.example","y")'
UA_QUOTED = 'bob-browser/1 (X11), "quoted"'
# Values an HTTP header cannot carry, written into the table directly.
STORED_UAS = ["line1\nline2", "\tleading tab", "\rleading cr", "cr\r\nlf", "=a,b", "plain"]


def ms(iso: str) -> int:
    t = datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return int(t.timestamp() * 1000 + 0.5)


def between() -> str:
    """A time strictly between the sessions before and after it."""
    time.sleep(0.02)
    t = iso_now()
    time.sleep(0.02)
    return t


def csv_of(listing: list[dict]) -> str:
    """The CSV export of `listing` (rows of the JSON listing, in its order) as the contract
    spells it: the header, then one CRLF record per session, null as an empty field."""
    return CSV_HEADER + "".join(spec_csv_row(row[c] for c in CSV_COLUMNS) for row in listing)


def insert_sessions(server, rows: list[list]) -> None:
    """sessions rows straight into the table, 200 to an INSERT (SQLite or PostgreSQL)."""
    columns = ("id, user_id, login_ts, logout_ts, end_reason, ip_address, user_agent, "
               "last_seen, expires_at")
    conn = server.db()
    try:
        conn.execute("BEGIN IMMEDIATE")
        for start in range(0, len(rows), 200):
            chunk = rows[start:start + 200]
            conn.execute(f"INSERT INTO sessions ({columns}) VALUES "
                         + ", ".join("(?, ?, ?, ?, ?, ?, ?, ?, ?)" for _ in chunk),
                         [v for row in chunk for v in row])
        conn.execute("COMMIT")
    finally:
        conn.close()


class SessionHistoryTest(SolodTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.s = cls.class_server(CONFIG)
        cls.admin, cls.token = add_admin_token(s, "hadm")
        cls.alice, cls.bob, cls.carol, cls.dave = s.new_users(4, PASSWORD, prefix="hist")

        def login(name, ip, ua):
            return s.login_ok(name, PASSWORD, headers={"X-Forwarded-For": ip, "User-Agent": ua})
        cls.t0 = between()
        cls.alice1 = login(cls.alice, IP_A, UA_FORMULA)
        cls.bob1 = login(cls.bob, IP_B, UA_QUOTED)
        cls.t1 = between()
        cls.alice2 = login(cls.alice, IP_B, "+alice/2")  # supersedes alice1
        assert s.logout(cls.alice2["token"]).status == 204
        cls.carol1 = login(cls.carol, IP_V6, "-carol/1")
        r = s.request("DELETE", f"{SESSIONS}/{cls.carol1['session']['id']}", token=cls.token)
        assert r.status == 204, r
        cls.t2 = between()
        assert s.logout(cls.bob1["token"]).status == 204
        cls.alice3 = login(cls.alice, IP_V6, "@alice/3")  # live
        cls.dave1 = login(cls.dave, IP_A, "dave/1")  # live; dave is no admin
        cls.t3 = between()
        carol_id = cls.carol1["user"]["id"]
        # oddities for carol, and a user with 2,500 ended sessions (ties on login_ts)
        rows = [[uuid.uuid4().hex, carol_id, f"2025-01-0{1 + i}T00:00:00.000Z",
                 f"2025-01-0{1 + i}T00:00:01.500Z", "expired", IP_B, ua,
                 f"2025-01-0{1 + i}T00:00:01.500Z", "2025-02-01T00:00:00.000Z"]
                for i, ua in enumerate(STORED_UAS)]
        conn = s.db()
        try:
            cls.bulk = unique_name("bulk")
            cls.bulk_id = conn.execute("INSERT INTO users (username, password_hash, created_at) "
                                       "VALUES (?, 'not-a-hash', ?)",
                                       [cls.bulk, iso_now()]).lastrowid
        finally:
            conn.close()
        rows += [[uuid.uuid4().hex, cls.bulk_id, f"2025-03-0{1 + i // 500}T08:00:00.000Z",
                  f"2025-03-0{1 + i // 500}T08:00:{i % 60:02d}.{i % 1000:03d}Z",
                  ["logout", "superseded", "expired", "admin"][i % 4], f"192.0.2.{i % 7}",
                  f"bulk,{i}", "2025-03-06T00:00:00.000Z", "2025-03-07T00:00:00.000Z"]
                 for i in range(2500)]
        insert_sessions(s, rows)

    # -- the table's view ----------------------------------------------------------------------

    def sessions_sql(self, user=None, ip=None, reason=None, active=None, from_=None,
                     to=None) -> list[dict]:
        """What the listing must hold, straight from the tables, newest login first."""
        sql = ("SELECT s.id, s.user_id, u.username, s.login_ts, s.logout_ts, s.end_reason, "
               "s.ip_address, s.user_agent, s.legal_basis FROM sessions s "
               "JOIN users u ON u.id = s.user_id WHERE 1 = 1")
        args = []
        if active == "true":
            sql += " AND s.logout_ts IS NULL"
        elif active == "false":
            sql += " AND s.logout_ts IS NOT NULL"
        for cond, value in ((" AND lower(u.username) = lower(?)", user),
                            (" AND s.ip_address = ?", ip), (" AND s.end_reason = ?", reason),
                            (" AND s.login_ts >= ?", from_), (" AND s.login_ts < ?", to)):
            if value is not None:
                sql += cond
                args.append(value)
        rows = self.s.query(sql + " ORDER BY s.login_ts DESC, s.id DESC", args)
        return [{"id": r["id"], "user_id": r["user_id"], "username": r["username"],
                 "created_at": r["login_ts"], "ended_at": r["logout_ts"],
                 "duration_ms": None if r["logout_ts"] is None
                 else ms(r["logout_ts"]) - ms(r["login_ts"]),
                 "end_reason": r["end_reason"], "ip": r["ip_address"],
                 "user_agent": r["user_agent"], "legal_basis": r["legal_basis"]}
                for r in rows]

    def listing(self, limit=1000, **params) -> list[dict]:
        """Every page of the JSON listing; each row checked, `connections` and
        `connection_list` dropped (no WebSocket in this test: 0 and [])."""
        pages = walk_pages(self.s, SESSIONS, "sessions", self.token, limit=limit, **params)
        for page in pages[:-1]:
            self.assertEqual(len(page), limit, "only the last page may be short")
        out = []
        for row in (row for page in pages for row in page):
            self.assertEqual(set(row), SESSION_KEYS, row)
            self.assertEqual((row.pop("connections"), row.pop("connection_list")), (0, []), row)
            out.append(row)
        return out

    def export(self, **params) -> str:
        r = self.s.get(with_query(SESSIONS_CSV, **params), token=self.token)
        self.assert_status(r, 200, str(params))
        self.assertEqual(r.header("Content-Type"), "text/csv; charset=utf-8")
        self.assertEqual(r.header("Content-Disposition"),
                         'attachment; filename="solod-sessions.csv"')
        return r.text

    def cases(self) -> dict[str, dict]:
        nobody = "nobody-" + uuid.uuid4().hex[:6]
        return {
            "all": {},
            "active=true": {"active": "true"},
            "active=false": {"active": "false"},
            "user": {"user": self.alice.upper()},
            "user+active=true": {"user": self.alice, "active": "true"},
            "user+active=false": {"user": self.alice, "active": "false"},
            "ip": {"ip": IP_A},
            "ipv6": {"ip": IP_V6},
            "reason superseded": {"reason": "superseded"},
            "reason logout": {"reason": "logout"},
            "reason admin": {"reason": "admin"},
            "reason expired": {"reason": "expired"},
            "reason+user": {"reason": "superseded", "user": self.alice},
            "reason+ip": {"reason": "logout", "ip": IP_B},
            "reason+active=true": {"reason": "logout", "active": "true"},
            "reason+active=false": {"reason": "admin", "active": "false"},
            "from": {"from": self.t1},
            "to": {"to": self.t2},
            "from+to": {"from": self.t1, "to": self.t2},
            "from+to+active=false": {"from": self.t0, "to": self.t3, "active": "false"},
            "user bulk": {"user": self.bulk},
            "user+from (date)": {"user": self.bulk, "from": "2025-03-03", "to": "2025-03-04"},
            "nobody": {"user": nobody},
        }

    @staticmethod
    def sql_args(params: dict) -> dict:
        return {("from_" if k == "from" else k): v for k, v in params.items()}

    # -- the listing -----------------------------------------------------------------------------

    def test_listing_fields(self):
        rows = {r["id"]: r for r in self.listing()}
        a1, a2, a3 = (rows[b["session"]["id"]] for b in (self.alice1, self.alice2, self.alice3))
        self.assertEqual((a1["end_reason"], a1["ip"], a1["user_agent"]),
                         ("superseded", IP_A, UA_FORMULA))
        self.assertEqual((a2["end_reason"], a2["ip"], a2["user_agent"]),
                         ("logout", IP_B, "+alice/2"))
        self.assertEqual((a3["end_reason"], a3["ended_at"], a3["duration_ms"], a3["user_agent"]),
                         (None, None, None, "@alice/3"))
        self.assertEqual(rows[self.carol1["session"]["id"]]["end_reason"], "admin")
        self.assertEqual(rows[self.bob1["session"]["id"]]["end_reason"], "logout")
        for row in rows.values():
            self.assert_iso(row["created_at"])
            if row["ended_at"] is None:
                self.assertIsNone(row["duration_ms"], row)
                self.assertIsNone(row["end_reason"], row)
            else:
                self.assert_iso(row["ended_at"])
                self.assertIsInstance(row["duration_ms"], int)
                self.assertEqual(row["duration_ms"], ms(row["ended_at"]) - ms(row["created_at"]),
                                 row)
            self.assertIsInstance(row["legal_basis"], str)
        # solod's own sessions carry the configured basis; the inserted ones the default
        for body in (self.alice1, self.alice3, self.carol1, self.dave1):
            self.assertEqual(rows[body["session"]["id"]]["legal_basis"], "contract")
        self.assertEqual({r["legal_basis"] for r in rows.values() if r["user_id"] == self.bulk_id},
                         {"legal_obligation"})
        # a session that lasted: alice1 ran from her first login to her second
        self.assertGreater(a1["duration_ms"], 0)
        self.assertEqual(a1["duration_ms"], ms(a2["created_at"]) - ms(a1["created_at"]),
                         "superseded when the next login began")

    def test_filters_return_exactly_the_matching_sessions(self):
        for label, params in self.cases().items():
            with self.subTest(label, **params):
                expected = self.sessions_sql(**self.sql_args(params))
                for limit in (1000, 7):
                    self.assertEqual(self.listing(limit=limit, **params), expected,
                                     f"limit={limit}")
        # and the data is what the set-up did
        self.assertEqual([r["id"] for r in self.listing(user=self.alice, active="true")],
                         [self.alice3["session"]["id"]])
        self.assertEqual([r["id"] for r in self.listing(user=self.alice, active="false")],
                         [self.alice2["session"]["id"], self.alice1["session"]["id"]])
        self.assertEqual([r["user_agent"] for r in self.listing(reason="superseded",
                                                                user=self.alice)], [UA_FORMULA])
        self.assertEqual(self.listing(reason="logout", active="true"), [])
        self.assertEqual(len(self.listing(user=self.bulk)), 2500)

    def test_bad_parameters(self):
        for path in (SESSIONS, SESSIONS_CSV):
            for params in ({"active": "yes"}, {"active": "1"}, {"from": "yesterday"},
                           {"to": "2026-13-01T00:00:00.000Z"}):
                with self.subTest(path=path, **params):
                    r = self.s.get(with_query(path, **params), token=self.token)
                    self.assert_error(r, 400, "invalid_input")

    # -- GET /api/admin/sessions.csv ---------------------------------------------------------------

    def test_csv_is_the_json_listing(self):
        for label, params in self.cases().items():
            with self.subTest(label, **params):
                listing = self.listing(limit=500, **params)
                self.assertEqual(listing, self.sessions_sql(**self.sql_args(params)))
                self.assertEqual(self.export(**params), csv_of(listing))

    def test_csv_spans_batches(self):
        r = self.s.get(with_query(SESSIONS_CSV, user=self.bulk), token=self.token)
        self.assert_status(r, 200)
        self.assertEqual(r.header("Transfer-Encoding", "").lower(), "chunked", "streamed")
        ids = [row[0] for row in csv_rows(r.text)[1:]]
        self.assertEqual(len(ids), 2500)
        self.assertEqual(len(set(ids)), 2500, "a session twice")
        self.assertEqual(r.text, csv_of(self.listing(limit=1000, user=self.bulk)))

    def test_quoting_and_formula_guard(self):
        text = self.export()
        self.assertTrue(text.startswith(CSV_HEADER), text[:200])
        fields = {f for row in csv_rows(text) for f in row}
        self.assertIn(',"\'=HYPERLINK(""http://x.example"",""y"")",', text,
                      "the ' goes inside the quotes")
        self.assertIn(",'+alice/2,", text)
        self.assertIn(",'-carol/1,", text)
        self.assertIn(",'@alice/3,", text)
        self.assertIn(',"bob-browser/1 (X11), ""quoted""",', text)
        self.assertIn(',"line1\nline2",', text)
        self.assertIn(",'\tleading tab,", text)
        self.assertIn(',"\'\rleading cr",', text)
        self.assertIn(',"cr\r\nlf",', text)
        self.assertIn(',"\'=a,b",', text)
        for ua in (UA_FORMULA, "+alice/2", "-carol/1", "@alice/3", "=a,b"):
            self.assertNotIn(ua, fields, "a formula-looking field must not appear verbatim")
        # the JSON carries the values as they are
        uas = {r["user_agent"] for r in self.listing()}
        self.assertTrue({UA_FORMULA, "+alice/2", "-carol/1", "@alice/3"} | set(STORED_UAS) <= uas)
        # every record ends in CRLF: outside quoted fields there is no bare LF or CR
        in_quotes = False
        for i, c in enumerate(text):
            if c == '"':
                in_quotes = not in_quotes
            elif not in_quotes and c == "\n":
                self.assertEqual(text[i - 1], "\r", f"bare LF at {i}: {text[i - 40:i + 5]!r}")
            elif not in_quotes and c == "\r":
                self.assertEqual(text[i + 1], "\n", f"bare CR at {i}")
        self.assertFalse(in_quotes)
        for row in csv_rows(text):
            self.assertEqual(len(row), len(CSV_COLUMNS), row)
        # an empty field for null: the live sessions end with ",,,", the ended have all
        live = [row for row in csv_rows(text) if row[0] == self.alice3["session"]["id"]][0]
        self.assertEqual(live[4:7], ["", "", ""])

    def test_head(self):
        r = self.s.request("HEAD", with_query(SESSIONS_CSV, user=self.alice), token=self.token)
        self.assert_status(r, 200)
        self.assertEqual(r.body, b"")
        self.assertEqual(r.header("Content-Type"), "text/csv; charset=utf-8")
        self.assertEqual(r.header("Content-Disposition"),
                         'attachment; filename="solod-sessions.csv"')

    def test_only_admins(self):
        for method in ("GET", "HEAD"):
            with self.subTest(method=method):
                r = self.s.request(method, SESSIONS_CSV, token=self.dave1["token"])
                self.assertEqual(r.status, 403, r)
                r = self.s.request(method, SESSIONS_CSV)
                self.assertEqual(r.status, 401, r)
        self.assert_error(self.s.get(SESSIONS_CSV, token=self.dave1["token"]), 403, "forbidden")
        self.assert_error(self.s.get(SESSIONS_CSV), 401, "unauthorized")
        r = self.s.request("POST", SESSIONS_CSV, {}, token=self.token)
        self.assert_error(r, 405, "method_not_allowed")
        self.assertEqual(r.header("Allow"), "GET, HEAD")

    # -- solod session export -------------------------------------------------------------------------

    def cli_export(self, fmt: str, params: dict) -> str:
        args = ["session", "export", "--format", fmt]
        for key, value in params.items():
            args += [f"--{key}", value]
        cp = self.s.cli(*args)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        return cp.stdout

    def test_cli_csv_is_the_http_csv(self):
        for label, params in self.cases().items():
            with self.subTest(label, **params):
                self.assertEqual(self.cli_export("csv", params), self.export(**params))

    def test_cli_json_is_the_listing(self):
        for label in ("all", "user", "reason superseded", "active=true", "active=false",
                      "from+to", "user bulk", "nobody"):
            params = self.cases()[label]
            with self.subTest(label, **params):
                got = json.loads(self.cli_export("json", params))
                self.assertEqual(got, {"sessions": self.listing(**params)})

    def test_cli_refuses_bad_options(self):
        for args in (["--active", "yes"], ["--from", "yesterday"], ["--format", "xml"]):
            with self.subTest(args=args):
                cp = self.s.cli("session", "export", *args)
                self.assertNotIn(cp.returncode, (0, None), cp.stdout + cp.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
