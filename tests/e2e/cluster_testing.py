"""What the cluster tests (test_cluster*.py) share: a test case with a class-wide
cluster, kick and token assertions across nodes, and a token hammer."""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from solod_harness import (Cluster, Solod, SolodTestCase, WsClosed,  # noqa: E402
                           wait_until)

PASSWORD = "cluster-password-1"
# Every client is 127.0.0.1: no per-IP login limit; lockout only where a test sets it.
CLUSTER_CONFIG = {
    "limits": {"login_per_ip_per_minute": 1000000, "lockout_threshold": 1000},
    "audit": {"durability": "commit"},
}
# How long news may take to reach another node on this shared 2-core machine
# (a bound, not a measurement: the tests poll and return as soon as it holds).
NEWS_BOUND = 10.0


class ClusterTestCase(SolodTestCase):
    """A SolodTestCase with `cls.cluster` (started in setUpClass when NODES > 0)."""

    NODES = 0
    CONFIG: dict = CLUSTER_CONFIG
    cluster: Cluster

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        if cls.NODES:
            cls.cluster = cls.make_cluster(cls.NODES, cls.CONFIG)

    @classmethod
    def tearDownClass(cls) -> None:
        if getattr(cls, "cluster", None) is not None:
            cls.cluster.close()
        super().tearDownClass()

    @staticmethod
    def make_cluster(n: int, config: dict | None = None, start: bool = True,
                     together: bool = False) -> Cluster:
        c = Cluster(n, config if config is not None else CLUSTER_CONFIG)
        if start:
            try:
                c.start(together=together)
            except BaseException:
                c.close()
                raise
        return c

    def new_cluster(self, n: int, config: dict | None = None, start: bool = True,
                    together: bool = False) -> Cluster:
        """A cluster for this test only (closed, and its database dropped, at cleanup)."""
        c = self.make_cluster(n, config, start, together)
        self.addCleanup(c.close)
        return c

    # -- assertions ---------------------------------------------------------------------

    def expect_kick(self, client, reason: str, code: int, msg: str = "",
                    timeout: float = NEWS_BOUND) -> dict:
        """`client` gets {"type":"kicked","reason":reason} (other messages skipped), then
        the close `code`; returns the kicked message."""
        try:
            kicked = client.recv_until(lambda m: m.get("type") == "kicked", timeout=timeout)
        except WsClosed as closed:
            self.fail(f"{msg} closed with {closed.code} before any kicked message "
                      f"(expected {reason}/{code})")
        except (TimeoutError, OSError) as e:
            self.fail(f"{msg} no kicked message within {timeout} s "
                      f"(expected {reason}/{code}): {e!r}")
        self.assertEqual(kicked.get("reason"), reason, f"{msg} {kicked}")
        self.assertEqual(self.close_code(client), code, f"{msg} close code after {kicked}")
        return kicked

    def close_code(self, client, timeout: float = NEWS_BOUND):
        try:
            return client.wait_closed(timeout=timeout)
        except TimeoutError:
            self.fail(f"the server did not close the connection within {timeout} s")
        except OSError as e:
            return f"no close frame ({e!r})"
        finally:
            try:
                client.sock.close()
            except OSError:
                pass

    def assert_superseded_by(self, kicked: dict, user_agent: str) -> None:
        by = kicked.get("by")
        self.assertIsInstance(by, dict, kicked)
        self.assertEqual(set(by), {"ip", "user_agent", "at"}, by)
        self.assertEqual(by["ip"], "127.0.0.1", by)
        self.assertEqual(by["user_agent"], user_agent, by)
        self.assert_iso(by["at"])

    def assert_token_dead_everywhere(self, token: str, nodes: list[Solod],
                                     timeout: float = NEWS_BOUND) -> None:
        """GET /api/me with `token` answers 401 on every node (polled up to `timeout`;
        503, a node still resyncing, also makes it wait)."""
        for i, node in enumerate(nodes):
            wait_until(lambda: node.me(token).status == 401, timeout, 0.05)
            self.assert_error(node.me(token), 401, "unauthorized", f"old token on node {i}")

    def assert_token_alive_everywhere(self, token: str, nodes: list[Solod],
                                      timeout: float = NEWS_BOUND) -> None:
        for i, node in enumerate(nodes):
            wait_until(lambda: node.me(token).status == 200, timeout, 0.05)
            self.assert_status(node.me(token), 200, f"token on node {i}")

    def user_id(self, name: str) -> int:
        rows = self.cluster_of_test().query(
            "SELECT id FROM users WHERE lower(username) = ?", [name.lower()])
        self.assertEqual(len(rows), 1, rows)
        return rows[0]["id"]

    def cluster_of_test(self) -> Cluster:
        return self.cluster


@dataclass
class Probe:
    """One request of a TokenHammer: when it was sent and answered, and the status."""
    sent: float
    answered: float
    status: int | str


class TokenHammer:
    """GET /api/me with one token on one node, as fast as one thread can, from start()
    to stop(); bounded by `max_requests` and `max_seconds`."""

    def __init__(self, node: Solod, token: str, max_requests: int = 20000,
                 max_seconds: float = 60.0):
        self.node, self.token = node, token
        self.max_requests, self.max_seconds = max_requests, max_seconds
        self.probes: list[Probe] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="token-hammer", daemon=True)

    def start(self) -> "TokenHammer":
        self._thread.start()
        return self

    def stop(self) -> list[Probe]:
        self._stop.set()
        self._thread.join(30)
        return list(self.probes)

    def last_status(self):
        return self.probes[-1].status if self.probes else None

    def _run(self) -> None:
        end = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and len(self.probes) < self.max_requests \
                and time.monotonic() < end:
            sent = time.monotonic()
            try:
                status: int | str = self.node.me(self.token, timeout=10).status
            except OSError as e:
                status = f"error {e!r}"
            self.probes.append(Probe(sent, time.monotonic(), status))
