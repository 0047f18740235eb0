"""SPEC §2 [auth] policies: session_policy = "deny_new" and allow_registration = false."""

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import unittest  # noqa: E402

from solod_harness import SolodTestCase, unique_name  # noqa: E402

PASSWORD = "policy-password"
NO_LIMITS = {"login_per_ip_per_minute": 100000, "lockout_threshold": 1000}


class DenyNewTest(SolodTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s = cls.class_server({"auth": {"session_policy": "deny_new"}, "limits": NO_LIMITS})

    def test_second_login_refused_while_first_is_live(self):
        name, pw = self.s.new_user(PASSWORD)
        first = self.s.login_ok(name, pw)
        self.assert_error(self.s.login(name, pw), 409, "session_active")
        self.assert_error(self.s.login(name.upper(), pw, path="/login-token"), 409, "session_active")
        # the refused logins did not touch the live session
        r = self.s.me(first["token"])
        self.assert_status(r, 200)
        self.assertEqual(r.json["session"]["id"], first["session"]["id"])
        uid = first["user"]["id"]
        live = self.s.query("SELECT id FROM sessions WHERE user_id = ? AND logout_ts IS NULL", [uid])
        self.assertEqual([row["id"] for row in live], [first["session"]["id"]])

    def test_wrong_password_is_still_invalid_credentials(self):
        # a 409 must only follow the right password, or it would reveal that the account exists
        name, pw = self.s.new_user(PASSWORD)
        self.s.login_ok(name, pw)
        self.assert_error(self.s.login(name, "not-the-password"), 401, "invalid_credentials")

    def test_login_works_after_logout(self):
        name, pw = self.s.new_user(PASSWORD)
        first = self.s.login_ok(name, pw)
        self.assert_status(self.s.logout(first["token"]), 204)
        second = self.s.login_ok(name, pw)
        self.assertNotEqual(second["session"]["id"], first["session"]["id"])
        self.assert_status(self.s.me(second["token"]), 200)
        self.assert_error(self.s.me(first["token"]), 401, "unauthorized")


    def test_concurrent_logins_one_winner(self):
        name, pw = self.s.new_user(PASSWORD)
        with ThreadPoolExecutor(max_workers=20) as pool:
            results = list(pool.map(lambda _: self.s.login(name, pw, timeout=60), range(20)))
        statuses = sorted(r.status for r in results)
        self.assertEqual(statuses, [200] + [409] * 19)
        winner = next(r for r in results if r.status == 200)
        self.assert_status(self.s.me(winner.json["token"]), 200)


class DenyNewExpiryTest(SolodTestCase):
    """deny_new with token_ttl = "2s": an expired session no longer blocks a login."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s = cls.class_server({"auth": {"session_policy": "deny_new", "token_ttl": "2s"},
                                  "limits": NO_LIMITS})

    def test_login_after_expiry(self):
        name, pw = self.s.new_user(PASSWORD)
        first = self.s.login_ok(name, pw)
        self.assert_error(self.s.login(name, pw), 409, "session_active")
        time.sleep(3)
        second = self.s.login_ok(name, pw)
        self.assertNotEqual(second["session"]["id"], first["session"]["id"])
        uid = first["user"]["id"]
        live = self.s.query("SELECT id FROM sessions WHERE user_id = ? AND logout_ts IS NULL", [uid])
        self.assertEqual([row["id"] for row in live], [second["session"]["id"]])


class RegistrationDisabledTest(SolodTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s = cls.class_server({"auth": {"allow_registration": False}, "limits": NO_LIMITS})

    def test_register_refused(self):
        for path in ("/api/register", "/register"):
            with self.subTest(path=path):
                r = self.s.request("POST", path, {"username": unique_name(), "password": PASSWORD})
                self.assert_error(r, 403, "registration_disabled")

    def test_users_from_cli_can_still_log_in(self):
        name = unique_name()
        cp = self.s.cli("user", "add", name, "--password-stdin", stdin=PASSWORD + "\n")
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        body = self.s.login_ok(name, PASSWORD)
        self.assert_status(self.s.me(body["token"]), 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
