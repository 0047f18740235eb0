"""SPEC §2 server.tls: "auto" (TLS and plain on one port, generated certificate),
"required", "off", and cert_file/key_file."""

import os
import shutil
import signal
import socket
import ssl
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import unittest  # noqa: E402

from solod_harness import SolodTestCase, insecure_context, raise_nofile_limit, wait_until  # noqa: E402
from ws_client import WsClient  # noqa: E402

PASSWORD = "tls-password"
NO_LIMITS = {"login_per_ip_per_minute": 100000, "lockout_threshold": 1000}


def pem_files(s):
    """(certificate path, key path) among the files the server wrote into data/."""
    cert = key = None
    data = s.path("data")
    for name in sorted(os.listdir(data)) if os.path.isdir(data) else []:
        path = os.path.join(data, name)
        if not os.path.isfile(path) or os.path.getsize(path) > 200_000:
            continue
        with open(path, "rb") as f:
            content = f.read()
        if b"-----BEGIN CERTIFICATE-----" in content and cert is None:
            cert = path
        if b"PRIVATE KEY-----" in content and key is None:
            key = path
    return cert, key


def served_certificate(s, context=None, timeout=10.0):
    """The DER certificate the server presents, and the negotiated TLS version."""
    with socket.create_connection((s.host, s.port), timeout=timeout) as raw:
        with (context or insecure_context()).wrap_socket(raw) as tls:
            return tls.getpeercert(binary_form=True), tls.version()


def tls_1_1_client_hello():
    """A minimal TLS 1.1 ClientHello: ECDHE/RSA CBC suites, P-256, no supported_versions."""
    suites = bytes.fromhex("c013c009002f0035")
    groups = b"\x00\x0a" + (4).to_bytes(2, "big") + (2).to_bytes(2, "big") + b"\x00\x17"
    points = b"\x00\x0b\x00\x02\x01\x00"
    extensions = groups + points
    body = (b"\x03\x02" + os.urandom(32) + b"\x00" + len(suites).to_bytes(2, "big") + suites
            + b"\x01\x00" + len(extensions).to_bytes(2, "big") + extensions)
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x02" + len(handshake).to_bytes(2, "big") + handshake


def exchange_raw(s, data, timeout=10.0):
    """Sends `data` and returns what the server answers before it closes (or goes quiet)."""
    with socket.create_connection((s.host, s.port), timeout=timeout) as sock:
        sock.sendall(data)
        answer = b""
        try:
            while len(answer) < 4096:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
        except (socket.timeout, ConnectionError):
            pass
        return answer


def file_certificate(path):
    with open(path, encoding="ascii") as f:
        pem = f.read()
    end = "-----END CERTIFICATE-----"
    first = pem[pem.index("-----BEGIN CERTIFICATE-----"):pem.index(end) + len(end)]
    return ssl.PEM_cert_to_DER_cert(first)


class AutoTest(SolodTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s = cls.class_server({"server": {"tls": "auto"}, "limits": NO_LIMITS})

    def test_plain_and_tls_on_one_port(self):
        plain = self.s.get("/healthz")
        self.assert_status(plain, 200)
        secure = self.s.get("/healthz", tls=True)
        self.assert_status(secure, 200)
        self.assertEqual(secure.text.strip(), "ok")
        name, pw = self.s.new_user(PASSWORD)
        body = self.s.login_ok(name, pw, tls=True)
        self.assert_status(self.s.me(body["token"]), 200, "TLS token used over plain HTTP")

    def test_generated_certificate_and_key(self):
        cert, key = pem_files(self.s)
        self.assertIsNotNone(cert, f"no certificate in data/: {os.listdir(self.s.path('data'))}")
        self.assertIsNotNone(key, f"no private key in data/: {os.listdir(self.s.path('data'))}")
        mode = stat.S_IMODE(os.stat(key).st_mode)
        self.assertEqual(mode, 0o600, f"{os.path.basename(key)} mode {oct(mode)}")
        der, version = served_certificate(self.s)
        self.assertEqual(der, file_certificate(cert), "served certificate is the one in data/")
        self.assertIn(version, ("TLSv1.2", "TLSv1.3"))

    def test_cookie_secure_only_over_tls(self):
        name, pw = self.s.new_user(PASSWORD)
        r = self.s.login(name, pw, tls=True)
        self.assert_status(r, 200)
        self.assert_session_cookie(r, r.json["token"], secure=True)
        r = self.s.login(name, pw)
        self.assert_status(r, 200)
        self.assert_session_cookie(r, r.json["token"], secure=False)
        out = self.s.logout(r.json["token"], tls=True)
        self.assert_status(out, 204)
        self.assert_cookie_cleared(out)

    def test_tls_1_1_refused(self):
        """A TLS 1.1 ClientHello, built byte by byte (the local OpenSSL will not
        offer 1.1), gets a protocol_version alert or a close, never a ServerHello."""
        answer = exchange_raw(self.s, tls_1_1_client_hello())
        self.assertGreaterEqual(len(answer), 7, f"no alert before the close: {answer.hex()}")
        self.assertEqual(answer[0], 0x15, f"expected an alert record, got {answer[:16].hex()}")
        self.assertEqual(answer[5:7], bytes([2, 70]), f"fatal protocol_version: {answer[:16].hex()}")

    def test_garbage_does_not_hurt(self):
        for junk in (b"\x16\x03\x01\x00\x05hello", b"\x00\x01\x02\x03" * 100, b"\r\n\r\n"):
            r = self.s.raw_exchange(junk, timeout=2)
            self.assertIsNotNone(r)  # any answer or a close is fine
        self.assert_status(self.s.get("/healthz", tls=True), 200)
        self.assert_status(self.s.get("/healthz"), 200)


def rss_kib(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


class RepeatedConnectionsTest(SolodTestCase):
    CONNECTIONS = 2000
    ROUNDS = 5

    def open_tls(self, s, context):
        """A TLS connection that has had one keep-alive request answered."""
        sock = context.wrap_socket(socket.create_connection((s.host, s.port), timeout=30))
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        answer = b""
        while b"\r\n\r\n" not in answer and len(answer) < 4096:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
        self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer[:64])
        return sock

    def test_2000_tls_connections_opened_and_closed_repeatedly_do_not_grow_rss(self):
        limit = raise_nofile_limit(self.CONNECTIONS + 500)
        self.assertGreaterEqual(limit, self.CONNECTIONS + 100, "RLIMIT_NOFILE too low for the test")
        # header_timeout also bounds a kept-alive connection's wait for its next
        # request: long enough that the first connections outlive the opening of the last
        # Under AddressSanitizer (scripts/test.sh --sanitize), freed memory waits
        # in a quarantine that grows the RSS by design: none for this server.
        asan = os.environ.get("ASAN_OPTIONS")
        env = {"ASAN_OPTIONS": asan + ":quarantine_size_mb=0"} if asan else None
        s = self.server({"server": {"tls": "auto", "max_connections_per_ip": self.CONNECTIONS + 100,
                                    "header_timeout": "300s"}}, env=env)
        context = insecure_context()
        after_round = []
        for round_no in range(self.ROUNDS):
            socks = [self.open_tls(s, context) for _ in range(self.CONNECTIONS)]
            self.assertEqual(s.metric("solod_open_connections"), self.CONNECTIONS + 1,
                             "every connection open at once (and the metrics request)")
            held = rss_kib(s.pid)
            for sock in socks:
                sock.close()
            closed = wait_until(lambda: s.metric("solod_open_connections") == 1, 30, 0.1)
            self.assertTrue(closed, f"round {round_no}: connections still open: "
                                    f"{s.metric('solod_open_connections')}")
            after_round.append(rss_kib(s.pid))
            print(f"round {round_no}: RSS with {self.CONNECTIONS} open {held} KiB, "
                  f"after the close {after_round[-1]} KiB", file=sys.stderr)
        # The first two rounds grow the heap to its working size (and overlap
        # the start-up work: the statistics cache's warm-up, the first retention
        # sweep); later rounds reuse it. Bound: 1 KiB per connection and round
        # after the second (6 MiB); what a connection holds (the SSL: ~14 KiB; a
        # record buffer: 17 KiB) would show 14x over it in one round. Measured:
        # +0.2 MiB plain, +1.7 MiB under ASan (rounds 1-4).
        growth = after_round[-1] - after_round[1]
        bound = self.CONNECTIONS * (self.ROUNDS - 2)  # KiB
        self.assertLessEqual(growth, bound, f"RSS after each round (KiB): {after_round}")


class ShutdownOverTlsTest(SolodTestCase):
    def test_sigterm_closes_tls_websockets_with_1001_then_close_notify(self):
        s = self.server({"server": {"tls": "auto"}, "limits": NO_LIMITS})
        name, pw = s.new_user(PASSWORD)
        token = s.login_ok(name, pw, tls=True)["token"]
        # A TCP end without close_notify raises SSLEOFError on this client.
        c = WsClient(s.host, s.port, headers={"Authorization": f"Bearer {token}"}, tls=True,
                     strict_tls_eof=True)
        self.addCleanup(c.close)
        self.assertEqual(c.recv_json()["type"], "welcome")
        s.proc.send_signal(signal.SIGTERM)
        self.assertEqual(c.wait_closed(timeout=10), 1001)  # and our close answered it
        c.sock.settimeout(10)
        try:
            rest = c.sock.recv(1)
        except ssl.SSLEOFError as e:
            self.fail(f"the server ended TCP without close_notify: {e}")
        self.assertEqual(rest, b"", "after the close handshake: the server's close_notify")
        c.sock.unwrap()  # ours back: the server's shutdown completes both ways
        self.assertEqual(s.stop(timeout=10), 0, s.output()[-2000:])


class AutoRestartTest(SolodTestCase):
    def test_certificate_reused_after_restart(self):
        s = self.server({"server": {"tls": "auto"}})
        cert, key = pem_files(s)
        self.assertIsNotNone(cert)
        self.assertIsNotNone(key)
        with open(cert, "rb") as f:
            cert_before = f.read()
        with open(key, "rb") as f:
            key_before = f.read()
        served_before, _ = served_certificate(s)
        s.restart()
        self.assertEqual(pem_files(s), (cert, key))
        with open(cert, "rb") as f:
            self.assertEqual(f.read(), cert_before, "certificate regenerated")
        with open(key, "rb") as f:
            self.assertEqual(f.read(), key_before, "key regenerated")
        self.assertEqual(served_certificate(s)[0], served_before)


class RequiredTest(SolodTestCase):
    def test_plain_http_gets_no_http_answer(self):
        s = self.server({"server": {"tls": "required"}})
        r = s.raw_exchange(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                           timeout=5)
        self.assertFalse(r.raw.startswith(b"HTTP/"), f"plain HTTP answered: {r.raw[:200]!r}")
        self.assert_status(s.get("/healthz", tls=True), 200)

    def test_configured_certificate(self):
        source = self.server({"server": {"tls": "auto"}})
        cert, key = pem_files(source)
        self.assertIsNotNone(cert)
        s = self.server(start=False)
        my_cert, my_key = s.path("my-cert.pem"), s.path("my-key.pem")
        shutil.copyfile(cert, my_cert)
        shutil.copyfile(key, my_key)
        os.chmod(my_key, 0o600)
        s.config["server"].update({"tls": "required", "cert_file": my_cert, "key_file": my_key})
        s.write_config()
        s.start()
        self.assertEqual(served_certificate(s)[0], file_certificate(my_cert))
        self.assert_status(s.get("/healthz", tls=True), 200)


class OffTest(SolodTestCase):
    def test_tls_handshake_fails(self):
        s = self.server({"server": {"tls": "off"}})
        with self.assertRaises((ssl.SSLError, ConnectionError, socket.timeout, OSError)):
            served_certificate(s, timeout=5)
        self.assert_status(s.get("/healthz"), 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
