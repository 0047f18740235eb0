"""SPEC §3 GET /api/admin/audit and /api/admin/audit.csv, and §1 `solod audit export`.

Every listing is compared with a direct query on login_logs: the filters (user, ip, event,
from, to) must return exactly the matching rows, newest first, and cursor pages must have
no gaps and no repeats, also while new events keep arriving.  The CSV export must hold the
same rows as the JSON listing, byte for byte in the SPEC's quoting.
"""

import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import unittest  # noqa: E402

from solod_harness import (SolodTestCase, add_admin_token, csv_rows,  # noqa: E402
                           insert_audit_rows, iso_now, spec_csv_row, unique_name, wait_until,
                           walk_pages, with_query)

PASSWORD = "user-password-1"
CONFIG = {"limits": {"login_per_ip_per_minute": 100000, "lockout_threshold": 100000},
          "server": {"trusted_proxies": ["127.0.0.1/32"]}}
AUDIT = "/api/admin/audit"
AUDIT_CSV = "/api/admin/audit.csv"
EVENT_KEYS = {"id", "at", "event", "user_id", "username", "session_id", "ip", "user_agent",
              "detail"}
CSV_HEADER = "id,at,event,user_id,username,session_id,ip,user_agent,status,detail,legal_basis\r\n"
IP_A, IP_B, IP_V6 = "198.51.100.7", "203.0.113.9", "2001:db8::42"


def between() -> str:
    """A time strictly between the events before and after it."""
    time.sleep(0.02)
    t = iso_now()
    time.sleep(0.02)
    return t


def event_of(row) -> dict:
    """A login_logs row as the listing shows it."""
    return {"id": row["id"], "at": row["timestamp"], "event": row["event_type"],
            "user_id": row["user_id"], "username": row["username"],
            "session_id": row["session_id"], "ip": row["ip_address"],
            "user_agent": row["user_agent"], "detail": row["error_message"]}


def key_of(event: dict) -> tuple[str, int]:
    """The listing's order: newest first by (timestamp, id)."""
    return event["at"], event["id"]


class AuditCase(SolodTestCase):
    s = None
    token = None

    def audit_sql(self, user=None, ip=None, event=None, from_=None, to=None,
                  oldest_first=False) -> list:
        """login_logs rows matching the filters, in the listing's order (or the reverse)."""
        sql, args = "SELECT * FROM login_logs WHERE 1 = 1", []
        for cond, value in ((" AND lower(username) = lower(?)", user), (" AND ip_address = ?", ip),
                            (" AND event_type = ?", event), (" AND timestamp >= ?", from_),
                            (" AND timestamp < ?", to)):
            if value is not None:
                sql += cond
                args.append(value)
        order = "ASC" if oldest_first else "DESC"
        return self.s.query(f"{sql} ORDER BY timestamp {order}, id {order}", args)

    def listing(self, limit=1000, **params) -> list[dict]:
        pages = walk_pages(self.s, AUDIT, "events", self.token, limit=limit, **params)
        for page in pages[:-1]:
            self.assertEqual(len(page), limit, "only the last page may be short")
        return [e for page in pages for e in page]

    def settle(self, quiet: float = 0.3, timeout: float = 5.0) -> None:
        """Waits (bounded) until no audit row has been added for `quiet` seconds, so that
        admin actions (audited asynchronously) are in the table before comparing."""
        state = {"last": None, "since": time.monotonic()}

        def quiet_now():
            top = self.s.query("SELECT MAX(id) FROM login_logs")[0][0]
            if top != state["last"]:
                state["last"], state["since"] = top, time.monotonic()
            return time.monotonic() - state["since"] >= quiet
        wait_until(quiet_now, timeout)


def sql_params(params: dict) -> dict:
    return {("from_" if k == "from" else k): v for k, v in params.items()}


# -- GET /api/admin/audit ----------------------------------------------------------------------------

class AuditListTest(AuditCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.s = cls.class_server(CONFIG)
        cls.admin, cls.token = add_admin_token(s)
        cls.u1, cls.u2 = s.new_users(2, PASSWORD, prefix="aud")

        def login(name, pw, ip, ua="solod-e2e/1.0"):
            return s.login(name, pw, headers={"X-Forwarded-For": ip, "User-Agent": ua})
        cls.t0 = between()
        assert login(cls.u1, PASSWORD, IP_A, "ua-one/1").status == 200
        assert login(cls.u1, "wrong-password", IP_B).status == 401
        cls.ghost = unique_name("ghost")
        assert login(cls.ghost, PASSWORD, IP_B).status == 401
        cls.t1 = between()
        assert login(cls.u2, PASSWORD, IP_V6, "ua-two/1").status == 200
        assert login(cls.u1, PASSWORD, IP_A, "ua-one/2").status == 200  # supersedes
        ws = s.ws_connect(headers={"X-Forwarded-For": IP_B})
        ws.send_json({"type": "auth", "token": "not-a-token"})
        ws.wait_closed()
        ws.close()
        cls.t2 = between()
        u2 = s.login_ok(cls.u2, PASSWORD, headers={"X-Forwarded-For": IP_V6})
        s.logout(u2["token"], headers={"X-Forwarded-For": IP_V6})
        uid = u2["user"]["id"]
        assert s.request("PATCH", f"/api/admin/users/{uid}", {"full_name": "Two"},
                         token=cls.token).status == 200

    def test_shape(self):
        self.settle()
        missing = 101 - self.s.query("SELECT COUNT(*) FROM login_logs")[0][0]
        if missing > 0:  # more rows than the default page of 100
            insert_audit_rows(self.s.db_path, [{"timestamp": "2025-01-01T00:00:00.000Z",
                                                "username": "filler"}] * missing)
        r = self.s.get(AUDIT, token=self.token)
        self.assert_status(r, 200)
        self.assertIn("application/json", r.header("Content-Type", ""))
        self.assertEqual(set(r.json), {"events", "next_cursor"})
        events = r.json["events"]
        self.assertEqual(len(events), 100, "the default limit is 100")
        for e in events:
            self.assertEqual(set(e), EVENT_KEYS, e)
            self.assertIsInstance(e["id"], int)
            self.assert_iso(e["at"])
            self.assertTrue(e["user_id"] is None or isinstance(e["user_id"], int), e)
            self.assertTrue(e["session_id"] is None or isinstance(e["session_id"], str), e)
            for k in ("event", "username", "ip", "user_agent", "detail"):
                self.assertIsInstance(e[k], str, f"{k} of {e}")
        self.assertEqual(events, [event_of(r) for r in self.audit_sql()][:100])
        self.assertIsInstance(r.json["next_cursor"], str)

    def test_filters_return_exactly_the_matching_rows(self):
        self.settle()
        cases = {
            "none": {},
            "user": {"user": self.u1},
            "user upper-case": {"user": self.u1.upper()},
            "unknown user's failures": {"user": self.ghost},
            "ip": {"ip": IP_B},
            "ipv6": {"ip": IP_V6},
            "event login_failure": {"event": "login_failure"},
            "event register": {"event": "register"},
            "event admin_action": {"event": "admin_action"},
            "event session_superseded": {"event": "session_superseded"},
            "event ws_auth_failure": {"event": "ws_auth_failure"},
            "event logout": {"event": "logout"},
            "no such event": {"event": "no_such_event"},
            "from": {"from": self.t1},
            "to": {"to": self.t1},
            "from+to": {"from": self.t1, "to": self.t2},
            "date only": {"from": self.t0[:10]},
            "user+event": {"user": self.u1, "event": "login_success"},
            "ip+event+from": {"ip": IP_A, "event": "login_success", "from": self.t1},
            "user+ip+from+to": {"user": self.u2.upper(), "ip": IP_V6, "from": self.t0,
                                "to": self.t2},
            "future": {"from": "2999-01-01T00:00:00.000Z"},
        }
        for label, params in cases.items():
            with self.subTest(label, **params):
                expected = [event_of(r) for r in self.audit_sql(**sql_params(params))]
                for limit in (1000, 4):
                    self.assertEqual(self.listing(limit=limit, **params), expected,
                                     f"limit={limit}")
        # and the data is what the set-up did
        kinds = [e["event"] for e in self.listing(user=self.u1, **{"from": self.t0})]
        self.assertEqual(sorted(kinds), ["login_failure", "login_success", "login_success",
                                         "session_superseded"])
        self.assertEqual({e["event"] for e in self.listing(ip=IP_B)},
                         {"login_failure", "ws_auth_failure"})

    def test_detail_is_the_error_message(self):
        failures = self.listing(event="login_failure", **{"from": self.t0, "to": self.t1})
        self.assertEqual({(e["username"], e["detail"]) for e in failures},
                         {(self.u1, "bad_password"), (self.ghost, "unknown_user")})
        rows = self.audit_sql(user=self.u1, event="login_failure")
        self.assertEqual([e["detail"] for e in self.listing(user=self.u1, event="login_failure")],
                         [r["error_message"] for r in rows])
        self.settle()
        patches = [e for e in self.listing(user=self.admin, event="admin_action")
                   if e["detail"].startswith("update user")]
        self.assertEqual(len(patches), 1, patches)
        self.assertIn(self.u2, patches[0]["detail"])

    def test_bad_parameters(self):
        for params in ({"limit": 0}, {"limit": 1001}, {"limit": "x"}, {"cursor": "garbage"},
                       {"cursor": "%%"}, {"from": "last week"}, {"to": "2026-02-30"},
                       {"from": "2026-01-01T25:00:00.000Z"}):
            with self.subTest(params=params):
                r = self.s.get(with_query(AUDIT, **params), token=self.token)
                self.assert_error(r, 400, "invalid_input")
        r = self.s.get(with_query(AUDIT, limit=1), token=self.token)
        self.assert_status(r, 200)
        self.assertEqual(len(r.json["events"]), 1)
        self.assertIsInstance(r.json["next_cursor"], str)

    def test_paging_breaks_timestamp_ties(self):
        tag = unique_name("tie")
        at = "2025-06-01T12:00:00.000Z"
        ids = insert_audit_rows(self.s.db_path, [{"timestamp": at, "username": tag,
                                                  "user_agent": f"tie {i}"} for i in range(25)])
        ids += insert_audit_rows(self.s.db_path, [{"timestamp": "2025-06-01T11:59:59.999Z",
                                                   "username": tag}])
        for limit in (1, 5, 7, 25, 26):
            with self.subTest(limit=limit):
                got = [e["id"] for e in self.listing(limit=limit, user=tag)]
                self.assertEqual(got, sorted(ids[:25], reverse=True) + [ids[25]])

    def test_paging_while_events_are_added(self):
        """Walk every page (limit 7) while another thread keeps adding audit rows (failed
        logins of ever new names): the pages hold each row that existed when the walk began
        exactly once, and nothing else."""
        self.settle()
        filler = [{"timestamp": f"2025-07-01T00:{i // 60:02d}:{i % 60:02d}.000Z",
                   "username": "filler", "event_type": "login_failure",
                   "status": "failure", "error_message": "unknown_user"} for i in range(120)]
        insert_audit_rows(self.s.db_path, filler)  # enough rows for many pages
        for params in ({}, {"event": "login_failure"}):
            with self.subTest(**params):
                self.walk_while_adding(params)

    def walk_while_adding(self, params: dict) -> None:
        producer = FailedLogins(self.s)
        producer.start()
        try:
            # rows exist before the walk begins
            self.assertTrue(wait_until(lambda: producer.made >= 2, 15), "the producer is stuck")
            before = {r["id"] for r in self.audit_sql(**sql_params(params))}
            seen_made = [producer.made]

            def wait_for_new_event():
                """Let at least one more row in between any two pages."""
                made = seen_made[0]
                wait_until(lambda: producer.made > made, 10)
                seen_made[0] = producer.made

            first = self.s.get(with_query(AUDIT, limit=7, **params), token=self.token)
            after_first = {r["id"] for r in self.audit_sql(**sql_params(params))}
            self.assert_status(first, 200)
            wait_for_new_event()
            pages = [first.json["events"]]
            if first.json["next_cursor"]:
                pages += walk_pages(self.s, AUDIT, "events", self.token, limit=7,
                                    cursor=first.json["next_cursor"],
                                    between=wait_for_new_event, **params)
        finally:
            producer.stop()
        self.assertEqual(producer.errors, [])
        self.assertGreaterEqual(len(pages), 10, "enough pages to matter")
        self.assertGreaterEqual(producer.made, len(pages), "events were added during the walk")
        events = [e for page in pages for e in page]
        ids = [e["id"] for e in events]
        self.assertEqual(len(ids), len(set(ids)), "a row on two pages")
        for page in pages[:-1]:
            self.assertEqual(len(page), 7)
        keys = [key_of(e) for e in events]
        self.assertEqual(keys, sorted(keys, reverse=True), "newest first across pages")
        self.assertTrue(before <= set(ids), f"rows missing: {sorted(before - set(ids))[:20]}")
        self.assertTrue(set(ids) <= after_first,
                        f"rows newer than the walk: {sorted(set(ids) - after_first)[:20]}")
        # exactly the rows at or below the first row of the first page, as the table has them now
        top = keys[0]
        now = [event_of(r) for r in self.audit_sql(**sql_params(params))]
        self.assertGreater(len(now), len(events), "the table grew during the walk")
        self.assertEqual(events, [e for e in now if key_of(e) <= top])


class FailedLogins(threading.Thread):
    """Keeps adding audit rows: failed logins of new (unknown) names from a few addresses,
    one at a time, until stopped (at most 3000)."""

    def __init__(self, server):
        super().__init__(name="failed-logins", daemon=True)
        self.s = server
        self.made = 0
        self.errors: list = []
        self._stop_event = threading.Event()

    def run(self):
        ips = [IP_A, IP_B, IP_V6, "192.0.2.1"]
        while not self._stop_event.is_set() and self.made < 3000:
            try:
                r = self.s.login(unique_name("ghost"), "no-such-password",
                                 headers={"X-Forwarded-For": ips[self.made % len(ips)]})
                if r.status != 401:
                    self.errors.append(repr(r))
            except OSError as e:
                self.errors.append(repr(e))
            self.made += 1

    def stop(self):
        self._stop_event.set()
        self.join(30)


# -- GET /api/admin/audit.csv and solod audit export --------------------------------------------------

UA_COMMA_QUOTE = 'Mozilla/5.0 (X11; Linux x86_64), "Quoted" Browser'
UA_FORMULAS = ['=HYPERLINK("http://x.example","y")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
               "=a,b"]
# Values an HTTP header cannot carry, written into the table directly.
STORED_ODDITIES = [("line1\nline2", "detail, with \"quotes\"\nand a newline"),
                   ("cr\r\nlf", "=1+1"),
                   ("\tleading tab", "-minus"),
                   ("\rleading cr", "@at, \"both\""),
                   ("plain", "")]


def expected_csv(events: list[dict], rows_by_id: dict) -> str:
    """The CSV export of `events` (listing order) as SPEC §3 spells it."""
    out = [CSV_HEADER]
    for e in events:
        row = rows_by_id[e["id"]]
        out.append(spec_csv_row([e["id"], e["at"], e["event"], e["user_id"], e["username"],
                                 e["session_id"], e["ip"], e["user_agent"], row["status"],
                                 e["detail"], row["legal_basis"]]))
    return "".join(out)


class AuditCsvTest(AuditCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.s = cls.class_server(CONFIG)
        cls.admin, cls.token = add_admin_token(s)
        cls.carol, cls.dave = s.new_users(2, PASSWORD, prefix="csv")
        cls.t0 = between()
        for ua in [UA_COMMA_QUOTE] + UA_FORMULAS:
            s.login_ok(cls.carol, PASSWORD, headers={"User-Agent": ua, "X-Forwarded-For": IP_A})
        s.login(cls.carol, "wrong-password", headers={"User-Agent": "=bad, \"pw\""})
        s.login_ok(cls.dave, PASSWORD, headers={"X-Forwarded-For": IP_B})
        cls.t1 = between()
        cls.carol_id = s.query("SELECT id FROM users WHERE username = ?", [cls.carol])[0][0]
        insert_audit_rows(s.db_path, [
            {"timestamp": iso_now(), "event_type": "login_failure", "user_id": cls.carol_id,
             "username": cls.carol, "ip_address": IP_A, "user_agent": ua, "status": "failure",
             "error_message": detail} for ua, detail in STORED_ODDITIES])
        cls.t2 = between()

    def export(self, **params):
        r = self.s.get(with_query(AUDIT_CSV, **params), token=self.token)
        self.assert_status(r, 200, str(params))
        return r

    def rows_by_id(self) -> dict:
        return {r["id"]: r for r in self.s.query("SELECT * FROM login_logs")}

    def test_headers_and_line_ends(self):
        r = self.export(user=self.carol)
        self.assertTrue(r.header("Content-Type", "").startswith("text/csv"), r.header("Content-Type"))
        self.assertEqual(r.header("Transfer-Encoding", "").lower(), "chunked")
        self.assertTrue(r.text.startswith(CSV_HEADER), r.text[:200])
        self.assertTrue(r.text.endswith("\r\n"))
        rows = csv_rows(r.text)
        self.assertEqual(len(rows), 1 + len(self.audit_sql(user=self.carol)))
        for row in rows:
            self.assertEqual(len(row), 11, row)
        # every record ends in CRLF: outside quoted fields there is no bare LF or CR
        in_quotes = False
        for i, c in enumerate(r.text):
            if c == '"':
                in_quotes = not in_quotes
            elif not in_quotes and c == "\n":
                self.assertEqual(r.text[i - 1], "\r", f"bare LF at {i}: {r.text[i - 40:i + 5]!r}")
            elif not in_quotes and c == "\r":
                self.assertEqual(r.text[i + 1], "\n", f"bare CR at {i}")
        self.assertFalse(in_quotes)

    def test_quoting_and_formula_guard(self):
        text = self.export(user=self.carol).text
        fields = {f for row in csv_rows(text) for f in row}
        self.assertIn('"Mozilla/5.0 (X11; Linux x86_64), ""Quoted"" Browser"', text)
        self.assertIn(UA_COMMA_QUOTE, fields)
        self.assertIn('"\'=HYPERLINK(""http://x.example"",""y"")"', text,
                      "the ' goes inside the quotes")
        self.assertIn("'+cmd|' /C calc'!A0", fields)
        self.assertIn(",'-2+3,", text)
        self.assertIn(",'@SUM(A1:A9),", text)
        self.assertIn(',"\'=a,b",', text)
        self.assertIn(',"\'=bad, ""pw""",', text)
        for ua in UA_FORMULAS:
            self.assertNotIn(ua, fields, "a formula-looking field must not appear verbatim")
        self.assertIn('"line1\nline2"', text)
        self.assertIn('"detail, with ""quotes""\nand a newline"', text)
        self.assertIn('"cr\r\nlf"', text)
        self.assertIn(",'=1+1,", text)
        self.assertIn(",'\tleading tab,", text)
        self.assertIn(",'-minus,", text)
        self.assertIn(',"\'\rleading cr",', text)
        self.assertIn(',"\'@at, ""both""",', text)
        for value in ("line1\nline2", "cr\r\nlf", "'\tleading tab", "'\rleading cr",
                      "detail, with \"quotes\"\nand a newline", "'@at, \"both\""):
            self.assertIn(value, fields)
        # the JSON listing carries the same values verbatim
        events = self.listing(user=self.carol)
        uas = {e["user_agent"] for e in events}
        self.assertTrue(set(UA_FORMULAS) | {UA_COMMA_QUOTE, "line1\nline2", "\rleading cr"} <= uas)

    def test_csv_holds_exactly_the_json_listing(self):
        cases = [{"user": self.carol}, {"user": self.carol.upper()}, {"user": self.dave},
                 {"ip": IP_A}, {"ip": IP_B}, {"event": "login_failure"},
                 {"user": self.carol, "event": "login_success"},
                 {"from": self.t0, "to": self.t1}, {"from": self.t1, "to": self.t2},
                 {"to": self.t1, "ip": IP_A}, {"event": "no_such_event"}]
        rows = self.rows_by_id()
        for params in cases:
            with self.subTest(**params):
                events = self.listing(limit=3, **params)
                self.assertEqual(events, [event_of(r) for r in self.audit_sql(**sql_params(params))])
                self.assertEqual(self.export(**params).text, expected_csv(events, rows))

    def test_unfiltered_csv(self):
        self.settle()
        r = self.export()
        self.settle()
        events = self.listing()
        # the export's own admin_action row may or may not have made it into the export
        own = [e for e in events if e["event"] == "admin_action" and e["username"] == self.admin
               and e["detail"].startswith("export audit csv")]
        self.assertTrue(own, "the export is audited")
        got_ids = [int(row[0]) for row in csv_rows(r.text)[1:]]
        if own[0]["id"] not in got_ids:
            events = [e for e in events if e["id"] != own[0]["id"]]
        self.assertEqual(r.text, expected_csv(events, self.rows_by_id()))

    def test_large_export_spans_many_batches(self):
        tag = unique_name("bulk")
        # 4,500 rows in five timestamps, so ties straddle any batch boundary
        rows = [{"timestamp": f"2025-03-0{1 + i // 1000}T08:00:00.000Z", "username": tag,
                 "event_type": "login_success", "user_agent": f"bulk,{i}",
                 "ip_address": "192.0.2.77"} for i in range(4500)]
        insert_audit_rows(self.s.db_path, rows)
        expected_ids = [r["id"] for r in self.audit_sql(user=tag)]
        self.assertEqual(len(expected_ids), 4500)
        text = self.export(user=tag).text
        got_ids = [int(row[0]) for row in csv_rows(text)[1:]]
        self.assertEqual(len(got_ids), len(set(got_ids)), "a row twice")
        self.assertEqual(got_ids, expected_ids)
        events = self.listing(user=tag)
        self.assertEqual([e["id"] for e in events], expected_ids)
        self.assertEqual(text, expected_csv(events, self.rows_by_id()))

    def test_limit_and_cursor_only_validated(self):
        full = self.export(user=self.carol).text
        first = self.s.get(with_query(AUDIT, user=self.carol, limit=2), token=self.token).json
        self.assertIsInstance(first["next_cursor"], str)
        for params in ({"limit": 1}, {"limit": 1000}, {"cursor": first["next_cursor"]}):
            with self.subTest(**params):
                self.assertEqual(self.export(user=self.carol, **params).text, full,
                                 "the export is every matching row")
        for params in ({"limit": 0}, {"limit": 1001}, {"limit": "x"}, {"cursor": "garbage"},
                       {"from": "yesterday"}):
            with self.subTest(bad=params):
                r = self.s.get(with_query(AUDIT_CSV, **params), token=self.token)
                self.assert_error(r, 400, "invalid_input")

    def test_export_is_audited(self):
        ua = "solod-e2e-admin/1.0 (export)"
        self.s.get(with_query(AUDIT_CSV, user=self.dave, event="login_success"),
                   token=self.token, headers={"User-Agent": ua})
        rows = self.s.wait_rows("SELECT * FROM login_logs WHERE event_type = 'admin_action' "
                                "AND username = ? AND user_agent = ?", [self.admin, ua])
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["status"], "success")
        self.assertTrue(rows[0]["error_message"].startswith("export audit csv"), rows[0]["error_message"])
        self.assertIn(self.dave, rows[0]["error_message"], "the detail names the filter")

    # -- solod audit export (the legal report, oldest first) -----------------------------------

    def cli_export(self, *args) -> str:
        cp = self.s.cli("audit", "export", *args)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        return cp.stdout

    @staticmethod
    def report_row(row) -> dict:
        return {"id": row["id"], "timestamp": row["timestamp"], "event_type": row["event_type"],
                "user_id": row["user_id"], "username": row["username"],
                "session_id": row["session_id"], "ip_address": row["ip_address"],
                "user_agent": row["user_agent"], "status": row["status"],
                "error_message": row["error_message"], "legal_basis": row["legal_basis"]}

    def test_cli_json_with_filters(self):
        self.settle()
        cases = [{"--user": self.carol}, {"--user": self.carol.upper()},
                 {"--from": self.t0, "--to": self.t1}, {"--from": self.t1},
                 {"--to": self.t1, "--user": self.dave}, {"--from": "2999-01-01T00:00:00.000Z"}]
        for opts in cases:
            with self.subTest(**opts):
                args = [a for kv in opts.items() for a in kv]
                got = json.loads(self.cli_export("--format", "json", *args))
                expected = self.audit_sql(user=opts.get("--user"), from_=opts.get("--from"),
                                          to=opts.get("--to"), oldest_first=True)
                self.assertEqual(got, [self.report_row(r) for r in expected])

    def test_cli_csv_with_filters(self):
        self.settle()
        for opts in ({"--user": self.carol}, {"--from": self.t0, "--to": self.t2}):
            with self.subTest(**opts):
                args = [a for kv in opts.items() for a in kv]
                out = self.cli_export("--format", "csv", *args)
                header, _, body = out.partition("\r\n")
                self.assertEqual(len(header.split(",")), 11, header)
                expected = self.audit_sql(user=opts.get("--user"), from_=opts.get("--from"),
                                          to=opts.get("--to"), oldest_first=True)
                self.assertEqual(body, "".join(spec_csv_row(self.report_row(r).values())
                                               for r in expected))
        self.assertEqual(self.cli_export("--user", self.carol),
                         self.cli_export("--format", "csv", "--user", self.carol),
                         "CSV is the default format")

    def test_cli_report_is_in_time_order(self):
        """Oldest first means by time, also for a row written after newer ones (an import,
        or an event whose audit row was committed late)."""
        name = unique_name("late")
        insert_audit_rows(self.s.db_path, [
            {"timestamp": "2025-05-05T05:05:05.005Z", "username": name, "user_agent": "second"},
            {"timestamp": "2025-05-05T05:05:05.004Z", "username": name, "user_agent": "first"},
        ])
        got = json.loads(self.cli_export("--format", "json", "--user", name))
        self.assertEqual([e["user_agent"] for e in got], ["first", "second"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
