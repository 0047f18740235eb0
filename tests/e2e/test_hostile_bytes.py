"""Hostile bytes from the network (ISSUE 9, point 1).

Header values, paths and query values that are not valid UTF-8 (every byte
0x80-0xFF, overlong forms, encoded surrogates), that hold C1 controls or NUL,
or whose multi-byte character is split by the 512-byte User-Agent cut, go
through register, login, a superseding login, /api/me, whoami, the admin lists,
the CSV export and the logs. Everywhere they must come out as valid UTF-8 (the
invalid parts as U+FFFD), and the one-session promise must hold: the old token
answers 401 and the old WebSocket is kicked with 4001 naming the new login.

The requests go over raw sockets: http.client refuses such header values.
"""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from solod_harness import (SOLOD_BIN, SolodTestCase, add_admin_token, child_env,  # noqa: E402
                           csv_rows, sqlite_only, unique_name, wait_until)

PASSWORD = "correct horse battery"
UA_LIMIT = 512

UA_FF = b"\xff"
UA_EVERY_HIGH_BYTE = bytes(range(0x80, 0x100))
UA_C1 = b"c1" + "\u0085\u009b".encode() + b"end"
UA_OVERLONG_SURROGATE = b"over\xc0\xaflong\xed\xa0\x80sur\xf4\x90\x80\x80big"
# A two-byte character that straddles byte 512: the cut must drop all of it.
UA_SPLIT = b"a" * (UA_LIMIT - 1) + "\u00e9".encode() + b"tail"


def expected(raw: bytes) -> str:
    """What solod must make of a header value: Python's own decoder (Unicode's
    "maximal subpart" replacement) as the oracle, controls as U+FFFD, then cut to
    512 bytes at a character boundary."""
    text = raw.decode("utf-8", "replace")
    text = "".join("\ufffd" if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F else c for c in text)
    out = ""
    for c in text:
        if len((out + c).encode()) > UA_LIMIT:
            break
        out += c
    return out


class HostileBytesTest(SolodTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s = cls.class_server({"log": {"format": "json", "level": "debug"},
                                  "limits": {"login_per_ip_per_minute": 100000}})
        cls.admin, cls.admin_token = add_admin_token(cls.s)

    # -- raw HTTP ----------------------------------------------------------------------

    def raw(self, method: str, target: bytes, headers: list | None = None, body=None,
            token: str | None = None):
        lines = [method.encode() + b" " + target + b" HTTP/1.1",
                 b"Host: 127.0.0.1:%d" % self.s.port, b"Connection: close"]
        payload = b""
        if body is not None:
            payload = json.dumps(body).encode()
            lines += [b"Content-Type: application/json", b"Content-Length: %d" % len(payload)]
        if token is not None:
            lines.append(b"Authorization: Bearer " + token.encode())
        for k, v in headers or []:
            lines.append(k + b": " + v)
        r = self.s.raw_exchange(b"\r\n".join(lines) + b"\r\n\r\n", payload)
        self.assertIsNotNone(r.status, f"{method} {target!r}: no answer ({r.error}) {r.raw[:300]!r}")
        # Whatever came back is valid UTF-8 and, when JSON, parses.
        r.body.decode("utf-8")
        if r.headers.get("content-type", "").startswith("application/json"):
            self.assertIsNotNone(r.json, f"{method} {target!r}: body is not JSON: {r.body[:300]!r}")
        return r

    def login_as(self, name: str, ua: bytes):
        return self.raw("POST", b"/api/login", [(b"User-Agent", ua)],
                        {"username": name, "password": PASSWORD})

    # -- the tests ----------------------------------------------------------------------

    def test_oracle_matches_the_cases(self):
        # The oracle itself: guards the expectations below from a silent typo.
        self.assertEqual(expected(UA_FF), "\ufffd")
        self.assertEqual(expected(UA_EVERY_HIGH_BYTE), "\ufffd" * 128)
        self.assertEqual(expected(UA_C1), "c1\ufffd\ufffdend")
        self.assertEqual(expected(UA_SPLIT), "a" * (UA_LIMIT - 1))

    def test_login_supersede_me_whoami_with_hostile_user_agents(self):
        name = unique_name("hb")
        r = self.raw("POST", b"/api/register", [(b"User-Agent", UA_EVERY_HIGH_BYTE)],
                     {"username": name, "password": PASSWORD})
        self.assertEqual(r.status, 201, r.raw[:500])

        first = self.login_as(name, UA_FF)
        self.assertEqual(first.status, 200, first.raw[:500])
        token_a = first.json["token"]

        ws = self.s.ws(token_a, headers={"User-Agent": UA_OVERLONG_SURROGATE})
        try:
            ws.send_json({"type": "whoami"})
            who = ws.recv_until(lambda m: m.get("type") == "whoami")
            self.assertEqual(who["user_agent"], expected(UA_OVERLONG_SURROGATE))

            # The superseding login whose User-Agent is cut inside a character:
            # its kick names it, so the user actor serializes it (once it died here).
            second = self.login_as(name, UA_SPLIT)
            self.assertEqual(second.status, 200, second.raw[:500])
            token_b = second.json["token"]

            kicked = ws.recv_until(lambda m: m.get("type") == "kicked")
            self.assertEqual(kicked["reason"], "superseded")
            self.assertEqual(kicked["by"]["user_agent"], expected(UA_SPLIT))
            self.assertEqual(ws.wait_closed(), 4001)
        finally:
            ws.close()

        self.assertEqual(self.raw("GET", b"/api/me", token=token_a).status, 401)
        me_b = self.raw("GET", b"/api/me", [(b"User-Agent", UA_C1)], token=token_b)
        self.assertEqual(me_b.status, 200, me_b.raw[:500])
        self.assertEqual(me_b.json["session"]["user_agent"], expected(UA_SPLIT))
        self.assertEqual(len(me_b.json["session"]["user_agent"].encode()), UA_LIMIT - 1)

        # The audit log has every step, with the sanitized User-Agents.
        rows = self.s.wait_rows(
            "SELECT event_type, user_agent FROM login_logs WHERE username = ? ORDER BY id",
            (name,), min_rows=4, timeout=10)
        events = [(row["event_type"], row["user_agent"]) for row in rows]
        self.assertIn(("register", expected(UA_EVERY_HIGH_BYTE)), events)
        self.assertIn(("login_success", expected(UA_FF)), events)
        self.assertIn(("login_success", expected(UA_SPLIT)), events)
        self.assertIn(("session_superseded", expected(UA_SPLIT)), events)

        # The admin lists and the CSV export show the same strings.
        # (/api/me of a session whose User-Agent was 0xFF answered 503 before the fix.)
        sessions = self.s.get(f"/api/admin/sessions?user={name}", token=self.admin_token)
        self.assertEqual(sessions.status, 200, sessions.text)
        self.assertEqual(sorted(x["user_agent"] for x in sessions.json["sessions"]),
                         sorted([expected(UA_FF), expected(UA_SPLIT)]))
        audit = self.s.get(f"/api/admin/audit?user={name}", token=self.admin_token)
        self.assertEqual(audit.status, 200, audit.text)
        self.assertIn(expected(UA_EVERY_HIGH_BYTE), [e["user_agent"] for e in audit.json["events"]])
        export = self.s.get(f"/api/admin/audit.csv?user={name}", token=self.admin_token)
        self.assertEqual(export.status, 200, export.text)
        table = csv_rows(export.body.decode("utf-8"))
        ua_column = table[0].index("user_agent")
        self.assertIn(expected(UA_SPLIT), [row[ua_column] for row in table[1:]])

    def test_nul_and_raw_controls_in_headers(self):
        name = unique_name("hn")
        self.assertEqual(self.s.register(name, PASSWORD).status, 201)
        for ua in (b"nul\x00byte", b"bell\x07\x1b[31m", b"del\x7f"):
            r = self.login_as(name, ua)
            # The HTTP parser may refuse the header outright; if it takes it,
            # the control is replaced.
            self.assertIn(r.status, (200, 400), r.raw[:500])
            if r.status == 200:
                me = self.raw("GET", b"/api/me", token=r.json["token"])
                self.assertEqual(me.json["session"]["user_agent"], expected(ua))
        # TAB is legal inside a header value, so it gets through the parser: replaced.
        r = self.login_as(name, b"tab\there")
        self.assertEqual(r.status, 200, r.raw[:500])
        me = self.raw("GET", b"/api/me", token=r.json["token"])
        self.assertEqual(me.json["session"]["user_agent"], "tab\ufffdhere")

    def test_controls_in_a_failed_login_name_stay_out_of_the_audit(self):
        # JSON escapes put NUL, ESC and C1 into the name of a failed login,
        # which is audited as typed: there they are replaced.
        name = "evil\u0000\u001b[31m\u0085" + unique_name("")
        r = self.s.login(name, "whatever password")
        self.assert_error(r, 401, "invalid_credentials")
        audited = "evil\ufffd\ufffd[31m\ufffd" + name[-12:]
        rows = self.s.wait_rows("SELECT username FROM login_logs WHERE username = ?", (audited,))
        self.assertEqual(len(rows), 1)
        export = self.s.get("/api/admin/audit.csv?event=login_failure", token=self.admin_token)
        self.assertIn(audited.encode(), export.body)
        self.assertNotIn(b"\x00", export.body)
        self.assertNotIn(b"\x1b", export.body)

    def test_hostile_paths_and_queries(self):
        t = self.admin_token
        for target in (b"/api/admin/sessions?user=%FF%C0%AF&ip=%00%ED%A0%80",
                       b"/api/admin/audit?user=%ff&event=%e9%00&ip=%c2%85",
                       b"/api/admin/users?q=%ff%fe",
                       b"/api/admin/audit.csv?user=%ff",
                       b"/api/admin/audit?user=\xff\xfe",
                       b"/api/admin/users?q=\xc0\xaf"):
            r = self.raw("GET", target, [(b"User-Agent", UA_FF)], token=t)
            self.assertIn(r.status, (200, 400), f"{target!r}: {r.raw[:300]!r}")
        for target in (b"/\xff\xfe", b"/api/\xc0\xaf", b"/%ff%00", b"/api/me\xed\xa0\x80"):
            r = self.raw("GET", target, [(b"User-Agent", UA_C1)])
            self.assertIn(r.status, (400, 401, 404), f"{target!r}: {r.raw[:300]!r}")
        # The admin's own actions (audited with the hostile query) stay readable.
        # Audited asynchronously: wait (bounded) for the row to be committed.
        def details():
            audit = self.s.get(f"/api/admin/audit?user={self.admin}&event=admin_action",
                               token=t)
            self.assertEqual(audit.status, 200, audit.text)
            return " ".join(e["detail"] for e in audit.json["events"])
        wait_until(lambda: "export audit csv" in details(), 10, 0.05)
        self.assertIn("export audit csv", details())

    def test_zz_database_and_logs_stay_valid_utf8(self):
        # Runs last (alphabetical): everything above went through the server.
        conn = self.s.db()
        try:
            conn.text_factory = bytes
            for table, column in (("sessions", "user_agent"), ("login_logs", "user_agent"),
                                  ("login_logs", "error_message"), ("sessions", "ip_address")):
                for (value,) in conn.execute(f"SELECT {column} FROM {table}"):
                    if isinstance(value, bytes):  # (PostgreSQL itself keeps text valid UTF-8)
                        value.decode("utf-8")  # raises on invalid UTF-8
        finally:
            conn.close()
        self.assertEqual(self.s.get("/healthz").status, 200)
        files = [f for f in self.s.log_files() if os.path.basename(f).startswith("solod")]
        self.assertTrue(files)
        lines = 0
        for path in files:
            with open(path, "rb") as f:
                for raw in f:
                    text = raw.decode("utf-8")
                    json.loads(text)
                    lines += 1
        self.assertGreater(lines, 0)
        self.assertTrue(self.s.running())


@sqlite_only("PostgreSQL refuses invalid UTF-8 text, so such old rows cannot exist there")
class RowsFromBeforeTheFixTest(SolodTestCase):
    """Audit rows written before input was sanitized can hold invalid UTF-8: the JSON
    listing, the CSV export (charset=utf-8) and the CLI export still emit valid UTF-8."""

    def test_invalid_stored_text_is_repaired_on_the_way_out(self):
        s = self.server()
        _, token = add_admin_token(s)
        name = unique_name("old")
        conn = s.db()
        try:
            conn.execute("INSERT INTO login_logs (timestamp, event_type, username, status, "
                         "user_agent, legal_basis) VALUES ('2026-01-01T00:00:00.000Z', "
                         "'login_success', ?, 'success', CAST(? AS TEXT), 'legal_obligation')",
                         (name, b"old\xff\xc0\xafua"))
        finally:
            conn.close()
        listing = s.get(f"/api/admin/audit?user={name}", token=token)
        self.assertEqual(listing.status, 200, listing.text)
        listing.body.decode("utf-8")
        [event] = listing.json["events"]
        self.assertTrue(event["user_agent"].startswith("old\ufffd"), event)
        export = s.get(f"/api/admin/audit.csv?user={name}", token=token)
        self.assertEqual(export.status, 200)
        text = export.body.decode("utf-8")  # raises on invalid UTF-8
        self.assertIn("old\ufffd\ufffd\ufffdua", text)
        for fmt in ("csv", "json"):
            # Not s.cli(): the raw bytes must be checked, not a decoding that replaces.
            cp = subprocess.run([SOLOD_BIN, "audit", "export", "--user", name, "--format", fmt,
                                 "--config", s.config_path], cwd=s.dir, capture_output=True,
                                env=child_env(s.env), timeout=60)
            self.assertEqual(cp.returncode, 0, cp.stderr)
            out = cp.stdout.decode("utf-8")  # raises on invalid UTF-8
            self.assertIn("old\ufffd", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
