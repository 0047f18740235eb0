"""SPEC §3 GET /metrics: Prometheus text format with solod's counters, gauges and histograms."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import unittest  # noqa: E402

from solod_harness import SolodTestCase  # noqa: E402

PASSWORD = "metrics-password"
SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$")
LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def parse_metrics(text):
    """(samples [(name, labels, value)], types {name: type}, bad lines)."""
    samples, types, bad = [], {}, []
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split()
            if len(parts) >= 4 and parts[1] == "TYPE":
                types[parts[2]] = parts[3]
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            bad.append(line)
            continue
        labels_text = m.group(2) or ""
        labels = dict(LABEL_RE.findall(labels_text))
        if LABEL_RE.sub("", labels_text).strip():
            bad.append(line)
            continue
        try:
            value = float(m.group(3))
        except ValueError:
            bad.append(line)
            continue
        samples.append((m.group(1), labels, value))
    return samples, types, bad


class MetricsTest(SolodTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s = cls.class_server({"limits": {"login_per_ip_per_minute": 100000,
                                             "lockout_threshold": 1000}})
        name, pw = cls.s.new_user(PASSWORD)
        cls.name, cls.pw = name, pw
        cls.s.login_ok(name, pw)
        cls.s.login(name, "wrong-password")
        cls.s.get("/healthz")

    def metrics(self):
        r = self.s.get("/metrics")
        self.assert_status(r, 200)
        self.assertTrue(r.header("Content-Type", "").startswith("text/plain"),
                        r.header("Content-Type"))
        samples, types, bad = parse_metrics(r.text)
        self.assertEqual(bad, [], "lines that are not Prometheus text format")
        return samples, types

    def values(self, samples, name, **labels):
        return [v for n, lab, v in samples if n == name and all(lab.get(k) == w for k, w in labels.items())]

    def test_required_series(self):
        samples, types = self.metrics()
        checks = [
            ("solod_logins_total", {"result": "success"}, 1),
            ("solod_logins_total", {"result": "invalid_credentials"}, 1),
            ("solod_live_sessions", {}, 1),
            ("solod_audit_queue_depth", {}, 0),
            ("solod_http_responses_total", {"status": "200"}, 1),
        ]
        for name, labels, minimum in checks:
            with self.subTest(name=name, labels=labels):
                values = self.values(samples, name, **labels)
                self.assertTrue(values, f"no sample {name}{labels}")
                self.assertGreaterEqual(sum(values), minimum)
        for hist in ("solod_audit_batch_size", "solod_audit_commit_seconds"):
            with self.subTest(histogram=hist):
                buckets = [(lab.get("le"), v) for n, lab, v in samples if n == hist + "_bucket"]
                self.assertTrue(buckets, f"no {hist}_bucket samples")
                self.assertIn("+Inf", [le for le, _ in buckets])
                self.assertTrue(self.values(samples, hist + "_count"), f"no {hist}_count")
                self.assertTrue(self.values(samples, hist + "_sum"), f"no {hist}_sum")
                self.assertGreaterEqual(sum(self.values(samples, hist + "_count")), 1,
                                        "audit rows were written, so something was observed")
                self.assertEqual(types.get(hist), "histogram")
        self.assertEqual(types.get("solod_logins_total"), "counter")
        self.assertEqual(types.get("solod_live_sessions"), "gauge")

    def test_counters_move(self):
        before, _ = self.metrics()
        self.s.login_ok(self.name, self.pw)
        self.s.login(self.name, "wrong-again")
        after, _ = self.metrics()
        for result in ("success", "invalid_credentials"):
            with self.subTest(result=result):
                b = sum(self.values(before, "solod_logins_total", result=result))
                a = sum(self.values(after, "solod_logins_total", result=result))
                self.assertGreaterEqual(a, b + 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
