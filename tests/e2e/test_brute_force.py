"""SPEC §3 brute-force defences: uniform failures, lockout, per-IP rate limit,
X-Forwarded-For from trusted proxies only, and no secrets in the logs."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import unittest  # noqa: E402

from solod_harness import SolodTestCase, median, unique_name  # noqa: E402

PASSWORD = "brute-force-password"


def failure_reasons(s, username):
    """error_message of every login_failure row of `username`."""
    rows = s.query("SELECT error_message FROM login_logs WHERE event_type = 'login_failure' "
                   "AND username = ?", [username])
    return [r["error_message"] for r in rows]


class LockoutTest(SolodTestCase):
    """lockout_threshold = 3, no IP limit. Tests run in name order: timing before lockout."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s = cls.class_server({"limits": {"lockout_threshold": 3,
                                             "login_per_ip_per_minute": 100000}})

    def assert_same_answer(self, got, reference, label):
        self.assertEqual(got.status, reference.status, label)
        self.assertEqual(got.text, reference.text, f"{label}: body differs")
        self.assertEqual(got.header("Content-Type"), reference.header("Content-Type"), label)

    def test_1_unknown_user_looks_like_wrong_password(self):
        name, _ = self.s.new_user(PASSWORD)
        wrong = self.s.login(name, "wrong-password-1")
        unknown_name = unique_name("ghost")
        unknown = self.s.login(unknown_name, "wrong-password-1")
        self.assert_error(wrong, 401, "invalid_credentials")
        self.assert_same_answer(unknown, wrong, "unknown user vs wrong password")
        self.assertNotIn(name, wrong.text)
        rows = self.s.wait_rows("SELECT * FROM login_logs WHERE event_type = 'login_failure' "
                                "AND error_message = 'unknown_user'", min_rows=1)
        self.assertTrue(rows, "a login_failure row with error_message 'unknown_user'")
        self.assertIn(unknown_name, [r["username"] for r in rows],
                      "the unknown_user row records the attempted username")
        self.assertIn("bad_password", failure_reasons(self.s, name))

    def test_2_every_failure_costs_the_same(self):
        """Unknown, locked and disabled accounts take as long as a wrong password (both ways).

        The four kinds are timed in turn, round after round, so a load change on
        the machine hits them alike; the bound is wide (3x) since this is a
        check against a missing or doubled hash, not a benchmark.
        """
        rounds = 7
        wrong_users = [self.s.new_user(PASSWORD)[0] for _ in range(rounds)]  # one miss each: no lockout
        locked, _ = self.s.new_user(PASSWORD)
        for i in range(3):
            self.s.login(locked, f"lock-me-{i}")
        disabled, _ = self.s.new_user(PASSWORD)
        cp = self.s.cli("user", "disable", disabled)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.s.login(unique_name("warm"), "warm-up-password")
        kinds = {"wrong": [], "unknown": [], "locked": [], "disabled": []}
        for i in range(rounds):
            attempts = {"wrong": (wrong_users[i], "wrong-password-2"),
                        "unknown": (unique_name("ghost"), "wrong-password-2"),
                        "locked": (locked, PASSWORD),
                        "disabled": (disabled, PASSWORD)}
            for kind, (name, pw) in attempts.items():
                t0 = time.perf_counter()
                r = self.s.login(name, pw)
                kinds[kind].append(time.perf_counter() - t0)
                self.assert_error(r, 401, "invalid_credentials", kind)
        reference = median(kinds["wrong"])
        for kind in ("unknown", "locked", "disabled"):
            ratio = median(kinds[kind]) / reference
            with self.subTest(kind=kind):
                self.assertGreater(ratio, 1 / 3, f"{kind} answers much faster than a wrong password: {kinds}")
                self.assertLess(ratio, 3, f"{kind} answers much slower than a wrong password: {kinds}")

    def test_3_lockout(self):
        name, pw = self.s.new_user(PASSWORD)
        wrong = []
        for i in range(3):
            r = self.s.login(name, f"wrong-password-{i}")
            self.assert_error(r, 401, "invalid_credentials", f"attempt {i + 1}")
            wrong.append(r)
        locked = self.s.login(name, pw)
        self.assert_error(locked, 401, "invalid_credentials", "right password while locked")
        self.assert_same_answer(locked, wrong[0], "locked vs wrong password")
        self.assert_same_answer(self.s.login(name, "wrong-again"), wrong[0], "wrong while locked")

        reasons = self.s.wait_rows("SELECT 1 FROM login_logs WHERE event_type = 'login_failure' "
                                   "AND username = ? AND error_message = 'locked'", [name])
        self.assertTrue(reasons, "a login_failure row with error_message 'locked'")
        self.assertEqual(failure_reasons(self.s, name).count("bad_password"), 3,
                         failure_reasons(self.s, name))
        events = self.s.query("SELECT * FROM login_logs WHERE event_type = 'account_locked' "
                              "AND username = ?", [name])
        self.assertEqual(len(events), 1, "exactly one account_locked event")

    def test_4_disabled_account(self):
        name, pw = self.s.new_user(PASSWORD)
        reference = self.s.login(name, "wrong-password-x")
        cp = self.s.cli("user", "disable", name)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        r = self.s.login(name, pw)
        self.assert_error(r, 401, "invalid_credentials", "disabled account, right password")
        self.assert_same_answer(r, reference, "disabled vs wrong password")
        rows = self.s.wait_rows("SELECT 1 FROM login_logs WHERE event_type = 'login_failure' "
                                "AND username = ? AND error_message = 'disabled'", [name])
        self.assertTrue(rows, "a login_failure row with error_message 'disabled'")
        cp = self.s.cli("user", "enable", name)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assert_status(self.s.login(name, pw), 200, "enabled again")

    def test_5_audit_rows_carry_ip_and_agent(self):
        name, _ = self.s.new_user(PASSWORD)
        ua = "brute-force-agent/3.1"
        self.s.login(name, "wrong-password-ua", headers={"User-Agent": ua})
        rows = self.s.wait_rows("SELECT * FROM login_logs WHERE event_type = 'login_failure' "
                                "AND username = ?", [name])
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["ip_address"], "127.0.0.1")
        self.assertEqual(rows[0]["user_agent"], ua)
        self.assertEqual(rows[0]["legal_basis"], "legal_obligation")
        self.assertRegex(rows[0]["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")

    def test_6_forwarded_for_ignored_without_trusted_proxies(self):
        name, pw = self.s.new_user(PASSWORD)
        body = self.s.login_ok(name, pw, headers={"X-Forwarded-For": "203.0.113.7"})
        sid = body["session"]["id"]
        rows = self.s.wait_rows("SELECT ip_address FROM login_logs WHERE session_id = ? "
                                "AND event_type = 'login_success'", [sid])
        self.assertEqual([r["ip_address"] for r in rows], ["127.0.0.1"])
        r = self.s.me(body["token"], headers={"X-Forwarded-For": "203.0.113.7"})
        self.assertEqual(r.json["session"]["ip"], "127.0.0.1")


class LockoutExpiryTest(SolodTestCase):
    def test_lock_lifts_after_lockout_duration(self):
        s = self.server({"limits": {"lockout_threshold": 2, "lockout_duration": "2s",
                                    "login_per_ip_per_minute": 100000}})
        name, pw = s.new_user(PASSWORD)
        for _ in range(2):
            self.assert_error(s.login(name, "wrong-password"), 401, "invalid_credentials")
        self.assert_error(s.login(name, pw), 401, "invalid_credentials", "locked")
        time.sleep(3)
        self.assert_status(s.login(name, pw), 200, "lock lifted after lockout_duration")
        # other accounts were never affected
        other, other_pw = s.new_user(PASSWORD)
        self.assert_status(s.login(other, other_pw), 200)


class RateLimitTest(SolodTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s = cls.class_server({"limits": {"login_per_ip_per_minute": 5}})

    def test_sixth_attempt_is_rate_limited(self):
        name, pw = self.s.new_user(PASSWORD)
        for i in range(5):
            r = self.s.login(unique_name("ghost"), "some-password")
            self.assert_error(r, 401, "invalid_credentials", f"attempt {i + 1} of 5")
        existing = self.s.login(name, pw)
        self.assert_error(existing, 429, "rate_limited", "6th attempt, existing user, right password")
        unknown = self.s.login(unique_name("ghost"), "some-password")
        self.assert_error(unknown, 429, "rate_limited", "7th attempt, unknown user")
        alias = self.s.login(name, pw, path="/login-token")
        self.assert_error(alias, 429, "rate_limited", "alias /login-token")
        for r in (existing, unknown, alias):
            retry = r.header("Retry-After")
            self.assertIsNotNone(retry, "Retry-After header")
            self.assertRegex(retry.strip(), r"^\d+$")
            self.assertGreaterEqual(int(retry), 1)
            self.assertLessEqual(int(retry), 60)
            self.assertNotIn(name, r.text)
        self.assertEqual(existing.json, unknown.json, "429 body says nothing about the account")
        # without trusted proxies, a made-up X-Forwarded-For does not get a fresh budget
        for i in range(3):
            r = self.s.login(name, pw, headers={"X-Forwarded-For": f"198.51.100.{i + 1}"})
            self.assert_error(r, 429, "rate_limited", f"X-Forwarded-For 198.51.100.{i + 1}")
        rows = self.s.wait_rows("SELECT * FROM login_logs WHERE event_type = 'login_failure' "
                                "AND error_message = 'rate_limited'")
        self.assertTrue(rows, "a login_failure row with error_message 'rate_limited'")
        self.assertEqual(rows[0]["ip_address"], "127.0.0.1")


class TrustedProxyTest(SolodTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s = cls.class_server({"server": {"trusted_proxies": ["127.0.0.1/32"]},
                                  "limits": {"login_per_ip_per_minute": 100000}})

    def login_ip(self, forwarded_for):
        name, pw = self.s.new_user(PASSWORD)
        body = self.s.login_ok(name, pw, headers={"X-Forwarded-For": forwarded_for})
        rows = self.s.wait_rows("SELECT ip_address FROM login_logs WHERE session_id = ? "
                                "AND event_type = 'login_success'", [body["session"]["id"]])
        audit_ip = rows[0]["ip_address"] if rows else None
        me = self.s.me(body["token"])
        self.assert_status(me, 200)
        session_ip = self.s.query("SELECT ip_address FROM sessions WHERE id = ?",
                                  [body["session"]["id"]])
        return audit_ip, me.json["session"]["ip"], session_ip[0]["ip_address"] if session_ip else None

    def test_forwarded_for_from_trusted_proxy(self):
        self.assertEqual(self.login_ip("203.0.113.7"), ("203.0.113.7",) * 3)

    def test_forwarded_for_chain_takes_rightmost_untrusted(self):
        # the client could have written 198.51.100.1 itself; the trusted proxy appended 203.0.113.7
        self.assertEqual(self.login_ip("198.51.100.1, 203.0.113.7"), ("203.0.113.7",) * 3)


class NoSecretsInLogsTest(SolodTestCase):
    def test_passwords_and_tokens_never_logged(self):
        s = self.server({"log": {"level": "trace"}, "limits": {"login_per_ip_per_minute": 100000}})
        good_pw = "Zq9-good-" + unique_name("pw")
        bad_pw = "Zq9-bad-" + unique_name("pw")
        short_pw = "Zq9s" + os.urandom(2).hex()[:3]  # 7 bytes: refused at registration
        name, _ = s.new_user(good_pw)
        self.assert_error(s.register(unique_name(), short_pw), 400, "invalid_input")
        self.assert_error(s.login(name, bad_pw), 401)
        self.assert_error(s.login(unique_name("ghost"), bad_pw), 401)
        self.assert_error(s.request("POST", "/api/login",
                                    '{"username": "%s", "password": "%s"' % (name, bad_pw)), 400)
        body = s.login_ok(name, good_pw)
        token = body["token"]
        self.assert_status(s.me(token), 200)
        self.assert_status(s.me(cookie=token), 200)
        second = s.login_ok(name, good_pw)  # supersedes the first: kicks get logged
        self.assert_status(s.logout(second["token"]), 204)
        self.assertEqual(s.stop(), 0)

        secrets_ = {"good password": good_pw, "bad password": bad_pw, "short password": short_pw,
                    "token": token, "second token": second["token"]}
        sources = {"server output": s.output().encode()}
        for path in s.log_files():
            with open(path, "rb") as f:
                sources[os.path.relpath(path, s.dir)] = f.read()
        for db_file in ("solod.db", "solod.db-wal"):
            path = s.path("data", db_file)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    sources[f"data/{db_file} (passwords only)"] = f.read()
        for where, data in sources.items():
            for what, value in secrets_.items():
                if "passwords only" in where and "token" in what:
                    continue
                self.assertNotIn(value.encode(), data, f"{what} appears in {where}")
        self.assertTrue(s.log_files(), "log.dir = logs holds at least one log file")


if __name__ == "__main__":
    unittest.main(verbosity=2)
