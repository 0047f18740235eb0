"""SPEC §2 [log]: `format = "json"` writes one JSON object per line, and the
file rotates at `max_file_mb`, keeping `max_files` old files."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import unittest  # noqa: E402

from solod_harness import SolodTestCase, unique_name  # noqa: E402

MIB = 1024 * 1024


def read_lines(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8").splitlines()


class JsonFormatTest(SolodTestCase):
    def test_every_line_is_a_json_object(self):
        s = self.server({"log": {"format": "json", "level": "debug"}})
        name, pw = s.new_user("json-log-password")
        s.login_ok(name, pw)
        self.assertEqual(s.stop(), 0)
        lines = read_lines(s.path("logs", "solod.log"))
        self.assertGreaterEqual(len(lines), 3, lines)
        messages = []
        for line in lines:
            event = json.loads(line)  # raises on a line that is not JSON
            self.assertEqual(set(event), {"time", "level", "thread", "msg"}, line)
            self.assertRegex(event["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertIn(event["level"], {"trace", "debug", "info", "warning", "error", "critical"})
            self.assertIsInstance(event["thread"], int)
            messages.append(event["msg"])
        self.assertTrue(any(m.startswith("listening on 127.0.0.1:") for m in messages), messages)
        self.assertIn("stopped", messages)

    def test_text_is_the_default(self):
        s = self.server()
        self.assertEqual(s.stop(), 0)
        lines = read_lines(s.path("logs", "solod.log"))
        self.assertTrue(any(" info " in l and "listening on" in l for l in lines), lines)
        for line in lines:
            self.assertRegex(line, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \w+ \[\d+\] ")


class RotationTest(SolodTestCase):
    def test_rotates_at_max_file_mb_and_keeps_max_files(self):
        """A full log file (as after a long run) is rotated at the next line.

        The files are filled beforehand, since solod writes a few lines per
        start: solod.log holds 1 MiB ("current"), solod.1.log "older",
        solod.2.log "oldest". With max_files = 2 the next line moves current
        to .1, older to .2, and the oldest is gone.
        """
        s = self.server({"log": {"max_file_mb": 1, "max_files": 2}}, start=False)
        os.makedirs(s.path("logs"), exist_ok=True)
        fill = {"solod.log": "current", "solod.1.log": "older", "solod.2.log": "oldest"}
        for file, word in fill.items():
            with open(s.path("logs", file), "w") as f:
                f.write((word + " " * 63 + "\n") * (MIB // 64))
        s.start()
        name, pw = s.new_user("rotation-password")
        s.login_ok(name, pw)
        self.assertEqual(s.stop(), 0)
        self.assertEqual(sorted(os.listdir(s.path("logs"))), ["solod.1.log", "solod.2.log", "solod.log"])
        self.assertTrue(read_lines(s.path("logs", "solod.1.log"))[0].startswith("current"))
        self.assertTrue(read_lines(s.path("logs", "solod.2.log"))[0].startswith("older"))
        fresh = read_lines(s.path("logs", "solod.log"))
        self.assertLess(os.path.getsize(s.path("logs", "solod.log")), MIB)
        self.assertTrue(any("listening on" in l for l in fresh) or
                        any("stopped" in l for l in fresh), fresh)
        self.assertFalse(any(l.startswith("oldest") for f in os.listdir(s.path("logs"))
                             for l in read_lines(s.path("logs", f))[:1]), "oldest file dropped")


if __name__ == "__main__":
    unittest.main()
