"""SPEC §7: `deny_new` and the account lockout hold across nodes (two real nodes on
one PostgreSQL database). Needs SOLOD_TEST_PG_URL (fails under CI=true without it)."""

import os
import sys
import threading
import unittest
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cluster_testing import CLUSTER_CONFIG, PASSWORD, ClusterTestCase  # noqa: E402
from solod_harness import merge_config  # noqa: E402


class CrossNodeDenyNewTest(ClusterTestCase):
    NODES = 2
    CONFIG = merge_config(CLUSTER_CONFIG, {"auth": {"session_policy": "deny_new"}})

    def test_second_login_on_another_node_is_refused(self):
        a, b = self.cluster.nodes
        name, pw = a.new_user(PASSWORD)
        first = a.login_ok(name, pw)
        self.assert_error(b.login(name, pw), 409, "session_active")
        self.assert_error(b.login(name.upper(), pw, path="/login-token"), 409, "session_active")
        self.assert_error(a.login(name, pw), 409, "session_active")
        self.assert_token_alive_everywhere(first["token"], self.cluster.nodes)
        self.assertEqual(self.cluster.live_sessions(first["user"]["id"]),
                         [first["session"]["id"]])
        # a logout on B frees the account for a login on A
        self.assert_status(b.logout(first["token"]), 204)
        second = a.login_ok(name, pw)
        self.assert_token_alive_everywhere(second["token"], self.cluster.nodes)
        self.assert_token_dead_everywhere(first["token"], self.cluster.nodes)

    def test_concurrent_logins_over_both_nodes_one_winner(self):
        nodes = self.cluster.nodes
        name, pw = nodes[0].new_user(PASSWORD)
        racers = 20
        gate = threading.Barrier(racers)

        def race(i):
            gate.wait(30)
            return nodes[i % 2].login(name, pw, timeout=60)
        with ThreadPoolExecutor(max_workers=racers) as pool:
            answers = list(pool.map(race, range(racers)))
        self.assertEqual(sorted(r.status for r in answers), [200] + [409] * (racers - 1),
                         [r.text[:120] for r in answers])
        winner = next(r.json for r in answers if r.status == 200)
        self.assertEqual(self.cluster.live_sessions(winner["user"]["id"]),
                         [winner["session"]["id"]])
        self.assert_token_alive_everywhere(winner["token"], nodes)


class CrossNodeLockoutTest(ClusterTestCase):
    NODES = 2
    CONFIG = merge_config(CLUSTER_CONFIG, {"limits": {"lockout_threshold": 5,
                                                      "lockout_window": "15m",
                                                      "lockout_duration": "15m"}})

    def fail_logins(self, node, name, count):
        for _ in range(count):
            self.assert_error(node.login(name, "wrong-password-x"), 401, "invalid_credentials")

    def test_failures_on_both_nodes_lock_the_account_on_both(self):
        a, b = self.cluster.nodes
        name, pw = a.new_user(PASSWORD)
        # 3 + 2: neither node alone reaches the threshold of 5
        self.fail_logins(a, name, 3)
        self.fail_logins(b, name, 2)
        for label, node in (("A", a), ("B", b)):
            self.assert_error(node.login(name, pw), 401, "invalid_credentials",
                              f"right password on {label} while locked")
        uid = self.user_id(name)
        self.assertEqual(self.cluster.live_sessions(uid), [])
        rows = self.cluster.wait_rows("SELECT 1 FROM login_logs WHERE event_type = "
                                      "'account_locked' AND user_id = ?", [uid])
        self.assertEqual(len(rows), 1, "one account_locked event")
        locked = self.cluster.wait_rows(
            "SELECT error_message FROM login_logs WHERE event_type = 'login_failure' "
            "AND user_id = ? AND error_message = 'locked'", [uid], 2)
        self.assertEqual(len(locked), 2, "the right password on A and on B: failures 'locked'")

    def test_below_the_threshold_on_both_nodes_the_account_works(self):
        a, b = self.cluster.nodes
        name, pw = a.new_user(PASSWORD)
        self.fail_logins(a, name, 2)
        self.fail_logins(b, name, 2)
        self.assert_status(b.login(name, pw), 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
