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


def niceness_of_threads(pid, prefix):
    """The nice value of each thread whose name starts with `prefix`."""
    values = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat", encoding="utf-8") as f:
                stat = f.read()
        except OSError:
            continue  # the thread ended meanwhile
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        if name.startswith(prefix):
            values.append(int(stat[stat.rindex(")") + 2:].split()[16]))  # field 19: nice
    return values


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

    def test_hashing_runs_below_the_network_and_actors(self):
        """Argon2id yields the cores to the threads that deliver kicks."""
        s = self.server({"server": {"threads": 2}})
        self.io_threads(s, 2)
        base = niceness_of_threads(s.pid, "solod-io-")
        hashing = niceness_of_threads(s.pid, "solod-hash-")
        self.assertEqual(len(base), 2)
        self.assertGreaterEqual(len(hashing), 1)
        for nice in hashing:
            self.assertEqual(nice, min(19, base[0] + 10))
        self.assertEqual(set(niceness_of_threads(s.pid, "caf.")), {base[0]})
        self.check_serves(s, clients=2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
