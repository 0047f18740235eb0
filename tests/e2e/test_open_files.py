"""ISSUE 9 point 7: at start solod raises its soft RLIMIT_NOFILE to the hard limit, shows
the result as the gauge solod_open_files_limit, and warns when even the hard limit leaves
too few descriptors for server.max_connections (plus a reserve of 128).

The server is started under lower limits (resource.setrlimit in the child before exec);
/proc/PID/limits shows what the running process has.
"""

import os
import resource
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from solod_harness import SolodTestCase, wait_until  # noqa: E402

WARNING = "open files: the limit is"


def limits_of(pid: int) -> tuple[int, int]:
    """(soft, hard) of 'Max open files' in /proc/PID/limits."""
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return int(soft), int(hard)
    raise AssertionError("no 'Max open files' line")


def lowered(soft: int, hard: int):
    def apply():
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return apply


class OpenFilesTest(SolodTestCase):
    def hard_at_most(self, wanted: int) -> int:
        """`wanted`, or the test's own hard limit when that is lower (the child cannot exceed it)."""
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        return wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)

    def test_soft_limit_is_raised_to_the_hard_limit(self):
        hard = self.hard_at_most(4096)
        self.assertGreater(hard, 300, "the test needs a hard limit above 300")
        s = self.server({"server": {"max_connections": hard - 1000 if hard > 1200 else 100}},
                        start=False)
        s.preexec = lowered(256, hard)
        s.start()
        soft_now, hard_now = limits_of(s.pid)
        self.assertEqual(hard_now, hard)
        self.assertEqual(soft_now, hard, "the soft limit was not raised")
        self.assertEqual(s.metric("solod_open_files_limit"), hard)
        self.assertIn(f"soft limit raised from 256 to {hard}", s.output())
        self.assertNotIn(WARNING, s.output())

    def test_a_hard_limit_below_max_connections_is_warned_about(self):
        s = self.server({"server": {"max_connections": 1000}}, start=False)
        s.preexec = lowered(100, 512)
        s.start()
        self.assertEqual(limits_of(s.pid), (512, 512))
        self.assertEqual(s.metric("solod_open_files_limit"), 512)
        self.assertTrue(wait_until(lambda: WARNING in s.output(), timeout=5), s.output())
        line = next(l for l in s.output().splitlines() if WARNING in l)
        self.assertIn("512", line)
        self.assertIn("max_connections = 1000", line)
        self.assertIn("LimitNOFILE", line)
        # It still serves.
        self.assertEqual(s.get("/healthz").status, 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
