"""SPEC server.threads: the number of network threads (0 = one per core).

The threads are named (solod-io-N), so /proc/PID/task shows how many run;
each setting must also serve requests and WebSockets spread over them.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from solod_harness import SolodTestCase, wait_until  # noqa: E402

PASSWORD = "threads-test-pw"


def thread_names(pid):
    names = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm", encoding="utf-8") as f:
                names.append(f.read().strip())
        except OSError:
            pass  # the thread ended meanwhile
    return names


class ThreadsTest(SolodTestCase):
    def check_serves(self, s, clients=6):
        names = s.new_users(clients, PASSWORD)
        sockets = []
        for name in names:
            ws = s.ws(s.login_ok(name, PASSWORD)["token"])
            self.addCleanup(ws.close)
            sockets.append(ws)
        for ws in sockets:
            ws.send_json({"type": "whoami"})
        for ws in sockets:
            self.assertEqual(ws.recv_until(lambda m: m.get("type") == "whoami")["type"], "whoami")
        self.assertEqual(s.get("/healthz").status, 200)

    def io_threads(self, s, expected):
        """The names of the network threads, once `expected` of them run (they
        start just after the "listening on" line), or whatever runs after 10 s."""
        def names():
            return sorted(n for n in thread_names(s.pid) if n.startswith("solod-io-"))
        wait_until(lambda: len(names()) >= expected, timeout=10)
        return names()

    def test_one_thread(self):
        s = self.server({"server": {"threads": 1}})
        self.assertEqual(self.io_threads(s, 1), ["solod-io-0"])
        self.check_serves(s)

    def test_three_threads(self):
        s = self.server({"server": {"threads": 3}})
        self.assertEqual(self.io_threads(s, 3), ["solod-io-0", "solod-io-1", "solod-io-2"])
        self.check_serves(s)

    def test_zero_means_one_per_core(self):
        s = self.server({"server": {"threads": 0}})
        self.assertEqual(len(self.io_threads(s, os.cpu_count())), os.cpu_count())
        self.check_serves(s, clients=2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
