"""Slow clients cannot hold the server (SPEC server.header_timeout,
server.handshake_timeout, server.ws_idle_timeout).

A slowloris sends a request one byte at a time, starts a TLS handshake and
stalls, or stalls in the middle of a WebSocket upgrade: each is dropped once
its deadline passes. A WebSocket peer that stops answering is pinged after
half of ws_idle_timeout and dropped after all of it. The deadlines are set
short here; the asserts only ask that the drop comes within a generous bound
well under the old 30 s deadline, never how fast.
"""

import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from solod_harness import SolodTestCase  # noqa: E402

BOUND = 15.0  # seconds a dropped client may wait to see the close; deadlines are 1 s
CONFIG = {"server": {"tls": "auto", "header_timeout": "1s", "handshake_timeout": "1s"}}


def dropped_within(sock, bound, trickle=b""):
    """Sends `trickle` a byte every 0.25 s until the server closes; True if it did within `bound`."""
    deadline = time.monotonic() + bound
    sent = 0
    sock.settimeout(0.25)
    while time.monotonic() < deadline:
        try:
            if sent < len(trickle):
                sock.send(trickle[sent:sent + 1])
                sent += 1
            data = sock.recv(4096)
            if not data:
                return True
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


class SlowClientsTest(SolodTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s = cls.class_server(CONFIG)

    def connect(self):
        sock = socket.create_connection((self.s.host, self.s.port), timeout=5)
        self.addCleanup(sock.close)
        return sock

    def test_a_request_sent_a_byte_at_a_time_is_dropped(self):
        # Endless header lines, one byte each 0.25 s: every byte is "progress",
        # only a deadline on the whole header stops it.
        trickle = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 4000
        self.assertTrue(dropped_within(self.connect(), BOUND, trickle))

    def test_an_idle_kept_alive_connection_is_dropped(self):
        sock = self.connect()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(5)
        first = sock.recv(4096)
        self.assertIn(b"200", first.split(b"\r\n", 1)[0])
        self.assertTrue(dropped_within(sock, BOUND))

    def test_a_stalled_tls_handshake_is_dropped(self):
        sock = self.connect()
        # The start of a ClientHello record: TLS is detected, the handshake never completes.
        sock.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        self.assertTrue(dropped_within(sock, BOUND))

    def test_a_silent_connection_is_dropped_before_detection(self):
        self.assertTrue(dropped_within(self.connect(), BOUND))

    def test_a_stalled_websocket_upgrade_is_dropped(self):
        sock = self.connect()
        sock.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
        self.assertTrue(dropped_within(sock, BOUND, b"Sec-WebSocket-Version: 13\r\n"))

    def test_the_server_still_serves_after_the_slow_clients(self):
        socks = [self.connect() for _ in range(5)]
        for sock in socks:
            sock.sendall(b"GET /heal")
        self.assertEqual(self.s.get("/healthz").status, 200)
        for sock in socks:
            self.assertTrue(dropped_within(sock, BOUND))


class WebSocketIdleTest(SolodTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # 2 s: a ping every second; an answering peer has a second to pong.
        cls.s = cls.class_server({"server": {"ws_idle_timeout": "2s"}})
        name, password = cls.s.new_user()
        cls.token = cls.s.login_ok(name, password)["token"]

    def test_a_silent_peer_is_pinged_then_dropped(self):
        ws = self.s.ws(self.token)
        self.addCleanup(ws.close)
        ws.sock.settimeout(BOUND)
        pings = 0
        ended = False
        deadline = time.monotonic() + BOUND
        try:
            while time.monotonic() < deadline:
                opcode, _ = ws.recv_frame()  # raw frames: pings are seen and never answered
                if opcode == 0x9:
                    pings += 1
                elif opcode == 0x8:
                    ended = True
                    break
        except (OSError, Exception) as e:  # WsClosed, a reset or EOF: the server hung up
            ended = not isinstance(e, socket.timeout)
        self.assertGreaterEqual(pings, 1, "the server never pinged the idle peer")
        self.assertTrue(ended, "the server kept a silent peer")

    def test_a_peer_that_answers_pings_stays(self):
        ws = self.s.ws(self.token)
        self.addCleanup(ws.close)
        # Over three idle periods with nothing to say but pongs.
        deadline = time.monotonic() + 6.5
        pings = 0
        ws.sock.settimeout(0.5)
        while time.monotonic() < deadline:
            try:
                opcode, data = ws.recv_frame()
            except socket.timeout:
                continue
            self.assertNotEqual(opcode, 0x8, "closed although the peer answered every ping")
            if opcode == 0x9:
                pings += 1
                ws.send_frame(0xA, data)
        self.assertGreaterEqual(pings, 3)
        ws.sock.settimeout(10)
        ws.send_json({"type": "whoami"})
        self.assertEqual(ws.recv_json()["type"], "whoami")


if __name__ == "__main__":
    unittest.main(verbosity=2)
