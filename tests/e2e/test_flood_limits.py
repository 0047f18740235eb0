"""SPEC limits.register_per_ip_per_minute and limits.broadcast_bytes_per_second:
registrations (each an Argon2id hash) are rate-limited per address, and one
user's broadcasts can never fill other clients' queues."""

import http.client
import json
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from solod_harness import SolodTestCase, WsClosed, unique_name  # noqa: E402

PASSWORD = "flood-limits-pw"


def register_from(s, source, name, password=PASSWORD):
    """POST /api/register from the local address `source`; (status, headers, body)."""
    conn = http.client.HTTPConnection(s.host, s.port, timeout=30, source_address=(source, 0))
    try:
        conn.request("POST", "/api/register", json.dumps({"username": name, "password": password}),
                     {"Content-Type": "application/json"})
        r = conn.getresponse()
        body = r.read().decode()
        return r.status, r.headers, json.loads(body) if body else None
    finally:
        conn.close()


class RegistrationLimitTest(SolodTestCase):
    def test_registrations_per_address_are_limited(self):
        s = self.server({"limits": {"register_per_ip_per_minute": 3}})
        # Invalid requests cost no hash and do not count.
        for _ in range(5):
            status, _, body = register_from(s, "127.0.0.1", "x")  # username too short
            self.assertEqual(status, 400, body)
        names = [unique_name("reg") for _ in range(3)]
        for name in names:
            status, _, body = register_from(s, "127.0.0.1", name)
            self.assertEqual(status, 201, body)
        # A taken name costs a hash too: it counts, and is refused like the rest.
        status, headers, body = register_from(s, "127.0.0.1", unique_name("reg"))
        self.assertEqual(status, 429, body)
        self.assertEqual(body["error"], "rate_limited")
        self.assertGreaterEqual(int(headers["Retry-After"]), 1)
        self.assertEqual(len(s.query("SELECT id FROM users")), 3)
        # Another address still registers.
        status, _, body = register_from(s, "127.0.0.2", unique_name("reg"))
        self.assertEqual(status, 201, body)


class BroadcastBudgetTest(SolodTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The message flood limit is lifted: only the byte budget is under test.
        cls.s = cls.class_server({"limits": {"ws_messages_per_second": 100000,
                                             "broadcast_bytes_per_second": 16384}})

    def online(self, count):
        clients = []
        for _ in range(count):
            name, _ = self.s.new_user(PASSWORD)
            token = self.s.login_ok(name, PASSWORD)["token"]
            ws = self.s.ws(token)
            self.addCleanup(ws.close)
            clients.append((name, ws))
        return clients

    def drain(self, ws, quiet=1.5):
        """Every message until `quiet` seconds pass without one."""
        out = []
        while True:
            try:
                out.append(ws.recv_json(timeout=quiet))
            except socket.timeout:
                return out

    def test_a_broadcast_flood_is_refused_and_the_others_are_not_dropped(self):
        (sender_name, sender), (_, reader) = self.online(2)
        dropped_before = self.s.metric("solod_ws_slow_consumers_dropped_total")
        text = "x" * 60000
        sent = 40  # 2.4 MB to every client without the budget; the slow-consumer limit is 1 MiB
        for _ in range(sent):
            sender.send_json({"type": "message", "text": text})
        # The reader reads nothing during the flood, then everything.
        got = self.drain(sender)
        refused = [m for m in got if m.get("type") == "error" and m.get("code") == "rate_limited"]
        echoed = [m for m in got if m.get("type") == "message"]
        self.assertGreaterEqual(len(refused), 1, "no broadcast was refused")
        self.assertEqual(len(refused) + len(echoed), sent)
        delivered = [m for m in self.drain(reader) if m.get("type") == "message"]
        self.assertEqual(len(delivered), len(echoed))
        self.assertLess(len(delivered) * len(text), 1 << 20)
        self.assertTrue(all(m["from"] == sender_name for m in delivered))
        # Both are still connected, and nobody was dropped as a slow consumer.
        for ws in (sender, reader):
            ws.send_json({"type": "whoami"})
            self.assertEqual(ws.recv_json(timeout=10)["type"], "whoami")
        self.assertEqual(self.s.metric("solod_ws_slow_consumers_dropped_total"), dropped_before)
        self.assertGreaterEqual(self.s.metric("solod_ws_broadcasts_rate_limited_total"), len(refused))

    def test_direct_messages_are_not_charged(self):
        (_, sender), (reader_name, reader) = self.online(2)
        for _ in range(5):
            sender.send_json({"type": "message", "to": reader_name, "text": "y" * 10000})
        got = [m for m in self.drain(reader) if m.get("type") == "message"]
        self.assertEqual(len(got), 5)
        self.assertFalse([m for m in self.drain(sender, 0.5) if m.get("type") == "error"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
