"""An actor that fails, fails closed (issue #9, point 2), in the real binary.

The failures are injected through the test-only hooks: with SOLOD_TEST_HOOKS=1
the server makes every user actor throw on SIGUSR1 and the session directory
throw on SIGUSR2. Without the variable both signals keep their default
meaning (the process ends), so production never reaches the hooks.
"""

import signal
import unittest

from solod_harness import SolodTestCase, wait_until

HOOKS = {"SOLOD_TEST_HOOKS": "1"}


class ActorFailureTest(SolodTestCase):
    def test_failed_user_actor_ends_the_session_and_closes_its_websocket_1011(self):
        s = self.server(env=HOOKS)
        self.assertIn("failure injection is on", s.output())
        name, password = s.new_user()
        token = s.login_ok(name, password)["token"]
        ws = s.ws(token)
        other_name, other_password = s.new_user()
        other = s.login_ok(other_name, other_password)["token"]

        s.proc.send_signal(signal.SIGUSR1)

        kicked = ws.recv_until(lambda m: m.get("type") == "kicked")
        self.assertEqual(kicked, {"type": "kicked", "reason": "server_error"})
        self.assertEqual(ws.wait_closed(), 1011)
        ws.close()
        # Fail closed: neither token is live any more, in memory or on disk.
        self.assertEqual(s.me(token).status, 401)
        # Every user actor fails on its own thread: the other one's may come a moment later.
        self.assertTrue(wait_until(lambda: s.me(other).status == 401, 5),
                        "the other user's token is still accepted after its actor failed")
        self.assertTrue(wait_until(
            lambda: s.db().execute("SELECT COUNT(*) FROM sessions WHERE logout_ts IS NULL")
            .fetchone()[0] == 0))
        reasons = {row[0] for row in s.db().execute("SELECT end_reason FROM sessions")}
        self.assertEqual(reasons, {"server_error"})
        # Every user actor alive failed: at least the two with a session.
        self.assertGreaterEqual(s.metric("solod_actor_failures_total", actor="user"), 2)
        self.assertIn("actor failed", s.output())

        # The user logs in again at once, and the new session works everywhere.
        again = s.login_ok(name, password)["token"]
        self.assertEqual(s.me(again).status, 200)
        ws2 = s.ws(again)
        ws2.send_json({"type": "whoami"})
        self.assertEqual(ws2.recv_until(lambda m: m.get("type") == "whoami")["user"]["username"],
                         name)
        ws2.close()

    def test_failed_directory_shuts_the_server_down_and_a_restart_restores_sessions(self):
        s = self.server(env=HOOKS)
        name, password = s.new_user()
        token = s.login_ok(name, password)["token"]
        ws = s.ws(token)

        s.proc.send_signal(signal.SIGUSR2)

        # Closed either way: 1011 by its connection actor (its user actor went
        # with the directory) or 1001 by the shutdown, whichever comes first.
        self.assertIn(ws.wait_closed(), (1001, 1011))
        ws.close()
        self.assertEqual(s.proc.wait(30), 1)
        self.assertIn("session directory failed: shutting down", s.output())
        # The database kept the session; memory is rebuilt from it.
        s.start()
        self.assertEqual(s.me(token).status, 200)

    def test_without_the_variable_there_are_no_hooks(self):
        s = self.server()
        self.assertNotIn("failure injection", s.output())
        name, password = s.new_user()
        token = s.login_ok(name, password)["token"]
        self.assertEqual(s.me(token).status, 200)
        self.assertEqual(s.metric("solod_actor_failures_total", actor="user"), 0)


if __name__ == "__main__":
    unittest.main()
