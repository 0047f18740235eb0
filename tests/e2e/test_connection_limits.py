"""SPEC server.max_connections and server.max_connections_per_ip: every
accepted socket counts (TLS detection, plain HTTP, WebSocket), one address
(IPv6: one /64) is capped on its own, and the sockets over a cap are closed at
accept and counted in /metrics."""

import http.client
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from solod_harness import SolodTestCase, WsClosed, parse_metrics_text, wait_until  # noqa: E402

BOUND = 10.0


def closed_by_server(sock, bound=BOUND):
    """True when the server closes `sock` (EOF or reset) within `bound` seconds."""
    sock.settimeout(bound)
    try:
        return sock.recv(4096) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def still_open(sock, wait=0.5):
    """True when nothing (no close) arrives on `sock` for `wait` seconds."""
    sock.settimeout(wait)
    try:
        return sock.recv(4096) != b""  # data would be a surprise, but not a close
    except socket.timeout:
        return True
    except OSError:
        return False


def metric_from(s, source, name, **labels):
    """One /metrics sample, asked from the address `source` (127.0.0.1 may be full)."""
    conn = http.client.HTTPConnection(s.host, s.port, timeout=10, source_address=(source, 0))
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    except (OSError, http.client.HTTPException):
        return -1  # refused: the caps are full (a socket just closed may not be released yet)
    finally:
        conn.close()
    return parse_metrics_text(text).get((name, tuple(sorted(labels.items())))) or 0


def refused(s, limit):
    return metric_from(s, "127.0.0.2", "solod_connections_refused_total", limit=limit)


def connect(test, s, source="127.0.0.1"):
    sock = socket.create_connection((s.host, s.port), timeout=5, source_address=(source, 0))
    test.addCleanup(sock.close)
    return sock


class PerAddressCapTest(SolodTestCase):
    CONFIG = {"server": {"max_connections_per_ip": 3, "tls": "auto",
                         "header_timeout": "30s", "handshake_timeout": "30s"}}

    def test_the_address_over_its_cap_is_closed_others_are_not(self):
        s = self.server(self.CONFIG)
        before = refused(s, "max_connections_per_ip")
        # Three sockets in three states: silent (TLS detection), a plain HTTP
        # request under way, and a finished request kept alive.
        silent = connect(self, s)
        partial = connect(self, s)
        partial.sendall(b"GET /healthz HTTP/1.1\r\n")
        kept = connect(self, s)
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        kept.settimeout(5)
        self.assertIn(b"200", kept.recv(4096))

        fourth = connect(self, s)
        self.assertTrue(closed_by_server(fourth), "the fourth socket of 127.0.0.1 was kept")
        for sock in (silent, partial, kept):
            self.assertTrue(still_open(sock))

        # Another address is not affected (the whole 127/8 is local on Linux).
        other = connect(self, s, "127.0.0.2")
        other.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        other.settimeout(5)
        self.assertIn(b"200", other.recv(4096))
        self.assertGreaterEqual(refused(s, "max_connections_per_ip"), before + 1)

        # Closing one gives its place back.
        silent.close()
        self.assertTrue(wait_until(lambda: not closed_by_server(connect(self, s), 0.5),
                                   timeout=BOUND), "no place came back after a close")

    def test_a_websocket_holds_its_place(self):
        s = self.server(self.CONFIG)
        name, password = s.new_user()
        token = s.login_ok(name, password)["token"]
        held = []

        def open_ws():
            # The sockets of the requests above give their places back once
            # the server has seen them close: until then one may be refused.
            try:
                return s.ws(token)
            except (WsClosed, OSError):
                return None
        for _ in range(3):
            ws = wait_until(open_ws, timeout=BOUND)
            self.assertTrue(ws, "a WebSocket within the cap was refused")
            self.addCleanup(ws.close)
            held.append(ws)
        self.assertTrue(closed_by_server(connect(self, s)))
        held[0].close()
        self.assertTrue(wait_until(lambda: not closed_by_server(connect(self, s), 0.5),
                                   timeout=BOUND), "a closed WebSocket kept its place")

    def test_a_socketio_polling_session_holds_its_place(self):
        # A polling session outlives the requests that carry it: without a
        # place of its own, one address could open sessions by the thousand.
        s = self.server(self.CONFIG)

        def open_polling():
            conn = http.client.HTTPConnection(s.host, s.port, timeout=5)
            try:
                conn.request("GET", "/socket.io/?EIO=4&transport=polling",
                             headers={"Connection": "close"})
                r = conn.getresponse()
                return r.status, r.read().decode(), r.getheader("Retry-After")
            except OSError:
                return None, "", None  # the socket itself was over the cap
            finally:
                conn.close()
        # A socket of the last request may not be given back yet: retry a
        # refusal for a while; only the cap refuses for good.
        opened, last = 0, (None, "", None)
        for _ in range(4):
            attempts = []

            def opens():
                attempts.append(open_polling())
                return attempts[-1][0] == 200
            if not wait_until(opens, timeout=2):
                last = attempts[-1]
                break
            self.assertTrue(attempts[-1][1].startswith("0{"), attempts[-1][1])
            opened += 1
        refusal = last[1]
        self.assertEqual(last[0], 503, last)
        # Three places: the sessions and the one socket asking for the next.
        self.assertEqual(opened, 2)
        self.assertIn("too many connections from this address", refusal)
        self.assertEqual(last[2], "1", "a 503 says when to try again")
        # Another address still opens one.
        conn = http.client.HTTPConnection(s.host, s.port, timeout=5, source_address=("127.0.0.2", 0))
        self.addCleanup(conn.close)
        conn.request("GET", "/socket.io/?EIO=4&transport=polling")
        self.assertEqual(conn.getresponse().status, 200)


class IPv6CapTest(SolodTestCase):
    def test_ipv6_and_ipv4_clients_are_capped_apart(self):
        # Dual stack: IPv4 clients arrive IPv4-mapped and count as their IPv4
        # address; ::1 counts as its /64 (the /64 itself is unit-tested in
        # tests/unit/address_key_test.cpp).
        s = self.server({"server": {"listen": "[::]:0", "max_connections_per_ip": 2,
                                    "header_timeout": "30s"}})

        def connect6():
            sock = socket.create_connection(("::1", s.port), timeout=5)
            self.addCleanup(sock.close)
            return sock
        held = [connect6(), connect6()]
        self.assertTrue(closed_by_server(connect6()), "a third socket from ::1 was kept")
        v4 = [connect(self, s), connect(self, s)]
        for sock in held + v4:
            self.assertTrue(still_open(sock))
        self.assertTrue(closed_by_server(connect(self, s)), "a third socket from 127.0.0.1 was kept")
        self.assertEqual(metric_from(s, "127.0.0.2", "solod_connections_refused_total",
                                     limit="max_connections_per_ip"), 2)


class TotalCapTest(SolodTestCase):
    def test_every_accepted_socket_counts(self):
        s = self.server({"server": {"max_connections": 3, "tls": "auto",
                                    "header_timeout": "30s", "handshake_timeout": "30s"}})
        before = refused(s, "max_connections")
        self.assertGreaterEqual(before, 0)
        silent = connect(self, s)                # TLS detection, nothing sent
        handshake = connect(self, s)             # a TLS handshake begun
        handshake.sendall(b"\x16\x03\x01")
        # /metrics asked on a third socket sees all three.
        self.assertTrue(wait_until(
            lambda: metric_from(s, "127.0.0.2", "solod_open_connections") == 3, timeout=BOUND),
            "solod_open_connections does not count sockets still in TLS detection")

        def plain_request_begun():
            # The /metrics socket gives its place back once the server has
            # seen it close: until then a third socket may be refused.
            sock = connect(self, s)
            try:
                sock.sendall(b"GET / HTTP/1.1\r\n")
            except OSError:
                return None
            return sock if still_open(sock, 0.3) else None
        plain = wait_until(plain_request_begun, timeout=BOUND)
        self.assertTrue(plain, "no third socket was accepted")
        extra = connect(self, s, "127.0.0.2")
        self.assertTrue(closed_by_server(extra), "a socket over max_connections was kept")
        for sock in (silent, handshake, plain):
            self.assertTrue(still_open(sock))
        for sock in (silent, handshake, plain):
            sock.close()
        self.assertTrue(wait_until(lambda: refused(s, "max_connections") >= before + 1,
                                   timeout=BOUND))


if __name__ == "__main__":
    unittest.main(verbosity=2)
