"""SPEC §7 / issue 10: after a PostgreSQL restart the nodes recover: logins, kicks
across nodes and token checks work again within a bounded time, and no ended token
is accepted on the way.  Restarts the shared test server (`scripts/pg-test-server.sh
restart $SOLOD_TEST_PG_DIR`), so ctest runs it alone (RUN_SERIAL).  Needs
SOLOD_TEST_PG_URL and SOLOD_TEST_PG_DIR."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cluster_testing import PASSWORD, ClusterTestCase  # noqa: E402
from solod_harness import require_pg, restart_pg_server, wait_until  # noqa: E402

RECOVERY_BOUND = 60.0  # seconds for a node to work again once PostgreSQL is back


class PgRestartTest(ClusterTestCase):
    @classmethod
    def setUpClass(cls):
        require_pg("restarting PostgreSQL", need_dir=True)
        super().setUpClass()

    def login_when_back(self, node, name, pw, ua):
        """Polls a login on `node` until it answers 200 (bounded); returns the body.
        Prints the answers before it (a node may answer 503 while its pooled
        connections find out the server restarted)."""
        answers = []

        def attempt():
            try:
                r = node.login(name, pw, headers={"User-Agent": ua}, timeout=10)
            except OSError as e:
                answers.append(repr(e))
                return None
            answers.append(r.status)
            return r.json if r.status == 200 else None
        body = wait_until(attempt, RECOVERY_BOUND, 0.25)
        self.assertTrue(body, f"no login on the node within {RECOVERY_BOUND} s of the "
                              f"restart; answers: {answers[-10:]}")
        print(f"login as {ua}: answers {answers}", file=sys.stderr)
        return body

    def test_nodes_recover_after_a_postgresql_restart(self):
        c = self.new_cluster(2)
        a, b = c.nodes
        x, pw = a.new_user(PASSWORD)
        first = a.login_ok(x, pw)
        on_a = a.ws(first["token"])
        restarted = time.monotonic()
        restart_pg_server()
        second = self.login_when_back(b, x, pw, "device-b/after-restart")
        print(f"first login on B {time.monotonic() - restarted:.1f} s after the restart began",
              file=sys.stderr)
        kicked = self.expect_kick(on_a, "superseded", 4001, timeout=RECOVERY_BOUND)
        self.assertIsInstance(kicked, dict)
        self.assert_token_dead_everywhere(first["token"], c.nodes, RECOVERY_BOUND)
        self.assert_token_alive_everywhere(second["token"], c.nodes, RECOVERY_BOUND)
        for i, node in enumerate(c.nodes):
            ok = wait_until(lambda: node.get("/healthz").status == 200, RECOVERY_BOUND, 0.25)
            self.assertTrue(ok, f"/healthz on node {i}")
        # news flows again both ways: a login on A kicks B, a login on B kicks A
        on_b = b.ws(second["token"])
        third = self.login_when_back(a, x, pw, "device-a/3")
        self.assert_superseded_by(self.expect_kick(on_b, "superseded", 4001), "device-a/3")
        on_a = a.ws(third["token"])
        self.login_when_back(b, x, pw, "device-b/4")
        self.assert_superseded_by(self.expect_kick(on_a, "superseded", 4001), "device-b/4")
        # one live session, as always
        self.assertEqual(len(c.live_sessions(first["user"]["id"])), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
