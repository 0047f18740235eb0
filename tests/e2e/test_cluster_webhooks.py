"""Webhooks on several nodes (PostgreSQL): every event is delivered by exactly
one node (the holder of the delivery lock), in order per user whichever node
made the change, and a node that dies hands delivery to another with nothing lost."""

import os
import shutil
import sys
import tempfile
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import unittest  # noqa: E402

from cluster_testing import CLUSTER_CONFIG, PASSWORD, ClusterTestCase  # noqa: E402
from solod_harness import merge_config, wait_until  # noqa: E402
from webhook_receiver import Receiver, expected_signature, new_secret, write_secret  # noqa: E402

BOUND = 30.0


class ClusterWebhooksTest(ClusterTestCase):
    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="solod-hooks-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        secret, self.key = new_secret()
        self.receiver = Receiver().start()
        self.addCleanup(self.receiver.stop)
        endpoint = {"url": self.receiver.url(), "secret_file": write_secret(self.dir, "s", secret)}
        self.c = self.new_cluster(2, merge_config(CLUSTER_CONFIG, {"webhooks": {"endpoints": [endpoint]}}))

    def leaders(self):
        return [i for i, n in enumerate(self.c.nodes) if n.running() and n.metric("solod_webhook_leader") == 1]

    def churn(self, nodes, users, rounds):
        """Each user logs in `rounds` times, alternating nodes; returns {user_id: expected types}."""
        expected = {}
        for name in users:
            for r in range(rounds):
                login = nodes[r % len(nodes)].login_ok(name, PASSWORD)
                uid = login["user"]["id"]
                expected.setdefault(uid, []).extend(
                    ["session.started"] if r == 0 else ["session.ended", "session.started"])
        return expected

    def assert_delivered_once_in_order(self, expected):
        total = sum(len(v) for v in expected.values())
        ok = wait_until(lambda: len(self.receiver.delivered()) >= total, timeout=BOUND)
        self.assertTrue(ok, f"{len(self.receiver.delivered())} of {total} delivered")
        attempts = self.receiver.snapshot()
        for a in attempts:
            h = a.headers
            self.assertEqual(h["webhook-signature"],
                             expected_signature(self.key, h["webhook-id"], h["webhook-timestamp"], a.body))
        by_user = {}
        for a in self.receiver.delivered():
            body = a.json()
            by_user.setdefault(body["data"]["user_id"], []).append(body["type"])
        self.assertEqual(by_user, expected)
        return Counter(a.msg_id for a in attempts)

    def test_exactly_one_node_delivers_each_event(self):
        self.assertTrue(wait_until(lambda: len(self.leaders()) == 1, timeout=BOUND), self.leaders())
        users = [self.c[0].new_user(PASSWORD)[0] for _ in range(6)]
        expected = self.churn(self.c.nodes, users, 3)
        counts = self.assert_delivered_once_in_order(expected)
        self.assertEqual(max(counts.values()), 1, "no event sent twice while nothing failed")
        self.assertEqual(len(self.leaders()), 1)
        leader = self.leaders()[0]
        other = 1 - leader
        self.assertEqual(self.c[other].metric("solod_webhook_deliveries_total", result="delivered"), 0)
        self.assertEqual(self.c[leader].metric("solod_webhook_deliveries_total", result="delivered"),
                         sum(len(v) for v in expected.values()))

    def test_leader_killed_survivor_delivers_everything(self):
        self.assertTrue(wait_until(lambda: len(self.leaders()) == 1, timeout=BOUND))
        leader = self.leaders()[0]
        survivor = self.c[1 - leader]
        users = [self.c[0].new_user(PASSWORD)[0] for _ in range(4)]
        expected = self.churn(self.c.nodes, users, 2)
        self.c[leader].kill9()
        more = self.churn([survivor], users, 1)
        for uid, types in more.items():
            # A third login of each user supersedes its second session.
            expected[uid] += ["session.ended", "session.started"]
        self.assertTrue(wait_until(lambda: survivor.metric("solod_webhook_leader") == 1, timeout=BOUND),
                        "the survivor takes the delivery lock")
        counts = self.assert_delivered_once_in_order(expected)
        self.assertLessEqual(max(counts.values()), 2, "at most one resend, of what was in flight")


if __name__ == "__main__":
    unittest.main()
