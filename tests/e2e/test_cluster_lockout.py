"""The account lockout holds across nodes (issue 10): two servers on one
database count the failures of an account together. The second node uses
the first node's database URL, whatever the backend."""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import unittest  # noqa: E402

from solod_harness import Solod, SolodTestCase, add_admin_token, wait_until, with_query  # noqa: E402

PASSWORD = "cluster-lockout-password"
SECRET = "cluster-lockout-secret-" + os.urandom(16).hex()
LIMITS = {"lockout_threshold": 3, "login_per_ip_per_minute": 100000}


def shared_url(s: Solod) -> str:
    """`s`'s database URL, usable from another server's directory."""
    url = s.config["database"]["url"]
    prefix = "sqlite3://"
    if url.startswith(prefix) and not url[len(prefix):].startswith("/"):
        url = prefix + s.path(url[len(prefix):])
    return url


class ClusterLockoutTest(SolodTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = {"SOLOD_JWT_SECRET": SECRET}
        cls.a = cls.class_server({"limits": LIMITS}, env=env)
        cls.b = cls.class_server({"limits": LIMITS, "database": {"url": shared_url(cls.a)}}, env=env)
        _, cls.admin_token = add_admin_token(cls.a)

    def reasons(self, name: str, expected: int) -> list[str]:
        """The `detail` of every login_failure of `name`, once there are `expected` of them."""
        def listing():
            r = self.a.get(with_query("/api/admin/audit", user=name, event="login_failure",
                                      limit=1000), token=self.admin_token)
            self.assert_status(r, 200)
            return [e["detail"] for e in r.json["events"]]
        wait_until(lambda: len(listing()) >= expected, timeout=10)
        return sorted(listing())

    def locked_events(self, name: str) -> int:
        r = self.a.get(with_query("/api/admin/audit", user=name, event="account_locked"),
                       token=self.admin_token)
        self.assert_status(r, 200)
        return len(r.json["events"])

    def test_failures_on_either_node_lock_the_account_on_both(self):
        name, pw = self.a.new_user(PASSWORD)
        for i, node in enumerate((self.a, self.b, self.a)):
            self.assert_error(node.login(name, f"wrong-{i}"), 401, "invalid_credentials", f"failure {i + 1}")
        self.assert_error(self.b.login(name, pw), 401, "invalid_credentials", "right password on B, locked")
        self.assert_error(self.a.login(name, pw), 401, "invalid_credentials", "right password on A, locked")
        self.assertEqual(self.reasons(name, 5), ["bad_password"] * 3 + ["locked"] * 2)
        self.assertEqual(self.locked_events(name), 1)

    def test_a_login_on_one_node_clears_failures_made_on_the_other(self):
        name, pw = self.a.new_user(PASSWORD)
        self.assert_error(self.a.login(name, "wrong-1"), 401)
        self.assert_error(self.a.login(name, "wrong-2"), 401)
        self.a.login_ok(name, pw)  # would be the third failure's victim otherwise
        self.assert_error(self.b.login(name, "wrong-3"), 401)
        self.assert_error(self.b.login(name, "wrong-4"), 401)
        self.b.login_ok(name, pw)
        self.assertEqual(self.locked_events(name), 0)

    def test_failures_at_once_over_both_nodes_lock_exactly_once(self):
        name, pw = self.a.new_user(PASSWORD)
        attempts = 12
        answers = [None] * attempts

        def attempt(i):
            node = (self.a, self.b)[i % 2]
            answers[i] = node.login(name, f"wrong-{i}").status

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(attempts)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(answers, [401] * attempts)
        self.assert_error(self.b.login(name, pw), 401, "invalid_credentials", "locked")
        # The failures counted one after the other: exactly the threshold's
        # worth were bad passwords, the rest met the lock.
        self.assertEqual(self.reasons(name, attempts + 1),
                         ["bad_password"] * 3 + ["locked"] * (attempts - 2))
        self.assertEqual(self.locked_events(name), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
