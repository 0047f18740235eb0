"""Issue 10, SPEC §7: `solod user disable` and `solod user passwd`, run by the CLI
while the server runs, end the user's live session at once (within 1 s), with no
login needed: the connections are kicked (`admin`, 4003) and the token is refused.
One node; on SQLite (news through the cluster_news table) and, with
SOLOD_TEST_PG_URL set, on PostgreSQL."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from solod_harness import SolodTestCase, WsClosed, wait_until  # noqa: E402

PASSWORD = "cli-live-password"
# The issue asks for 1 s; the bound adds 1 s for the shared 2-core test machine.
# The tests poll and print the time measured.
END_BOUND = 2.0
NO_LIMITS = {"login_per_ip_per_minute": 100000, "lockout_threshold": 1000}


class CliEndsLiveSessionTest(SolodTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s = cls.class_server({"limits": NO_LIMITS})

    def live_user(self):
        name, pw = self.s.new_user(PASSWORD)
        body = self.s.login_ok(name, pw)
        return name, pw, body, self.s.ws(body["token"]), self.s.ws(body["token"], via="message")

    def expect_ended(self, body, conns, what):
        """Polls until the token is refused (bounded); each connection got kicked admin/4003."""
        started = time.monotonic()
        refused = wait_until(lambda: self.s.me(body["token"]).status == 401, END_BOUND, 0.02)
        took = time.monotonic() - started
        print(f"{what}: token refused {took * 1000:.0f} ms after the CLI exited",
              file=sys.stderr)
        self.assertTrue(refused, f"{what}: the token still works {END_BOUND} s after the CLI "
                                 f"exited")
        for i, conn in enumerate(conns):
            try:
                kicked = conn.recv_until(lambda m: m.get("type") == "kicked", timeout=END_BOUND)
            except (TimeoutError, WsClosed) as e:
                self.fail(f"{what}: connection {i} not kicked: {e!r}")
            self.assertEqual(kicked.get("reason"), "admin", kicked)
            self.assertNotIn("by", kicked)
            try:
                code = conn.wait_closed(timeout=END_BOUND)
            except TimeoutError:
                self.fail(f"{what}: connection {i} not closed")
            self.assertEqual(code, 4003, f"{what}: close code of connection {i}")
        rows = self.s.query("SELECT end_reason, logout_ts FROM sessions WHERE id = ?",
                            [body["session"]["id"]])
        self.assertEqual(rows[0]["end_reason"], "admin")
        self.assertIsNotNone(rows[0]["logout_ts"])

    def test_disable_ends_the_live_session(self):
        name, pw, body, c1, c2 = self.live_user()
        cp = self.s.cli("user", "disable", name)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.expect_ended(body, [c1, c2], "user disable")
        self.assert_error(self.s.login(name, pw), 401, "invalid_credentials")

    def test_passwd_ends_the_live_session(self):
        name, pw, body, c1, c2 = self.live_user()
        new_pw = "another-password-2"
        cp = self.s.cli("user", "passwd", name, "--password-stdin", stdin=new_pw + "\n")
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.expect_ended(body, [c1, c2], "user passwd")
        self.assert_error(self.s.login(name, pw), 401, "invalid_credentials")
        self.assert_status(self.s.me(self.s.login_ok(name, new_pw)["token"]), 200)

    def test_other_users_are_untouched(self):
        name, _, body, c1, _ = self.live_user()
        other, _, obody, o1, _ = self.live_user()
        cp = self.s.cli("user", "disable", name)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.expect_ended(body, [c1], "user disable")
        self.assert_status(self.s.me(obody["token"]), 200)
        o1.send_json({"type": "ping", "id": 5})
        self.assertEqual(o1.recv_until(lambda m: m.get("type") == "pong", timeout=5)["id"], 5)


if __name__ == "__main__":
    unittest.main(verbosity=2)
