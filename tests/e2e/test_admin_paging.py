"""Admin listings end cleanly, and HEAD on the CSV export sends no body (ISSUE 9 point 6).

- next_cursor is null when the page just served is the last one, also when that page is
  exactly full (solod reads one row more than the page to know).
- HEAD /api/admin/audit.csv answers the export's header only: no chunk, no query, and the
  connection goes on with the next request.
"""

import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from solod_harness import (SolodTestCase, add_admin_token, insert_audit_rows,  # noqa: E402
                           iso_now, unique_name, walk_pages, with_query)

PASSWORD = "correct horse battery"
AUDIT = "/api/admin/audit"
SESSIONS = "/api/admin/sessions"


class PagingTest(SolodTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s = cls.class_server({"limits": {"login_per_ip_per_minute": 100000}})
        cls.admin, cls.token = add_admin_token(cls.s)

    def page(self, path: str, **params):
        r = self.s.get(with_query(path, **params), token=self.token)
        self.assertEqual(r.status, 200, r.text)
        return r.json

    def test_audit_cursor_is_null_on_an_exactly_full_last_page(self):
        name = unique_name("pa")
        insert_audit_rows(self.s.db_path, [{"timestamp": iso_now(), "username": name,
                                            "session_id": f"s{i}"} for i in range(6)])
        whole = self.page(AUDIT, user=name, limit=6)
        self.assertEqual(len(whole["events"]), 6)
        self.assertIsNone(whole["next_cursor"])
        self.assertIsNone(self.page(AUDIT, user=name, limit=7)["next_cursor"])
        first = self.page(AUDIT, user=name, limit=3)
        self.assertEqual(len(first["events"]), 3)
        self.assertIsInstance(first["next_cursor"], str)
        last = self.page(AUDIT, user=name, limit=3, cursor=first["next_cursor"])
        self.assertEqual(len(last["events"]), 3)
        self.assertIsNone(last["next_cursor"], "a cursor to an empty page")
        # Walking with any page size sees every row once and never an empty page.
        for limit in (1, 2, 4, 5):
            pages = walk_pages(self.s, AUDIT, "events", self.token, user=name, limit=limit)
            self.assertTrue(all(pages), f"limit {limit}: an empty page")
            ids = [e["id"] for p in pages for e in p]
            self.assertEqual(len(ids), 6)
            self.assertEqual(len(set(ids)), 6)

    def test_sessions_cursor_is_null_on_an_exactly_full_last_page(self):
        name, _ = self.s.new_user()
        for _ in range(4):
            self.s.login_ok(name, PASSWORD)
        whole = self.page(SESSIONS, user=name, limit=4)
        self.assertEqual(len(whole["sessions"]), 4)
        self.assertIsNone(whole["next_cursor"])
        first = self.page(SESSIONS, user=name, limit=2)
        self.assertIsInstance(first["next_cursor"], str)
        last = self.page(SESSIONS, user=name, limit=2, cursor=first["next_cursor"])
        self.assertEqual(len(last["sessions"]), 2)
        self.assertIsNone(last["next_cursor"], "a cursor to an empty page")
        for limit in (1, 3):
            pages = walk_pages(self.s, SESSIONS, "sessions", self.token, user=name, limit=limit)
            self.assertTrue(all(pages), f"limit {limit}: an empty page")
            self.assertEqual(sum(len(p) for p in pages), 4)

    def test_head_on_the_csv_export_sends_the_header_only(self):
        # Every earlier export's audit row is in before counting (rows commit in order).
        self.export_marked(unique_name("before"))
        exports_before = self.exports()
        sock = socket.create_connection((self.s.host, self.s.port), timeout=10)
        try:
            sock.sendall(b"HEAD /api/admin/audit.csv HTTP/1.1\r\nHost: x\r\n"
                         b"Authorization: Bearer " + self.token.encode() + b"\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                self.assertTrue(chunk, "closed before the header")
                data += chunk
            head, _, rest = data.partition(b"\r\n\r\n")
            self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
            self.assertIn(b"text/csv", head.lower())
            # The same connection goes on: the next bytes are the next answer, not a body.
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                rest += chunk
        finally:
            sock.close()
        self.assertTrue(rest.startswith(b"HTTP/1.1 200"), rest[:200])
        self.assertTrue(rest.endswith(b"ok"), rest[-200:])
        self.assertNotIn(b"id,at,event", rest)
        # A HEAD exports nothing, so it is not recorded as an export: after one GET
        # (audited after the HEAD, in order) the count has grown by exactly one.
        self.export_marked(unique_name("after"))
        self.assertEqual(self.exports(), exports_before + 1)

    def test_get_on_the_csv_export_still_streams(self):
        r = self.s.get("/api/admin/audit.csv", token=self.token)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.text.startswith("id,at,event"), r.text[:100])
        self.assertEqual(self.s.request("POST", "/api/admin/audit.csv", token=self.token).status,
                         405)

    def export_marked(self, marker: str) -> None:
        """A GET export whose audit row is recognizable; returns once that row is in."""
        r = self.s.get(with_query("/api/admin/audit.csv", user=marker), token=self.token)
        self.assertEqual(r.status, 200)
        rows = self.s.wait_rows("SELECT id FROM login_logs WHERE event_type = 'admin_action' "
                                "AND error_message LIKE ?", (f"%{marker}%",), timeout=10)
        self.assertEqual(len(rows), 1)

    def exports(self) -> int:
        return len(self.s.query("SELECT id FROM login_logs WHERE event_type = 'admin_action' "
                                "AND username = ? AND error_message LIKE 'export audit csv%'",
                                (self.admin,)))


if __name__ == "__main__":
    unittest.main(verbosity=2)
