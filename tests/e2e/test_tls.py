"""SPEC §2 server.tls: "auto" (TLS and plain on one port, generated certificate),
"required", "off", and cert_file/key_file."""

import os
import shutil
import socket
import ssl
import stat
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import unittest  # noqa: E402

from solod_harness import SolodTestCase, insecure_context  # noqa: E402

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
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx = insecure_context(minimum_version=ssl.TLSVersion.TLSv1,
                                       maximum_version=ssl.TLSVersion.TLSv1_1)
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        except (ValueError, ssl.SSLError) as e:
            self.skipTest(f"local OpenSSL cannot offer TLS 1.1: {e}")
        try:
            _, version = served_certificate(self.s, ctx)
        except ssl.SSLError as e:
            text = str(e).upper()
            if "NO_PROTOCOLS_AVAILABLE" in text or "NO PROTOCOLS AVAILABLE" in text:
                self.skipTest(f"local OpenSSL refuses to offer TLS 1.1: {e}")
            return  # refused by the server: good
        except (ConnectionError, socket.timeout, OSError):
            return
        self.fail(f"server accepted {version}")

    def test_garbage_does_not_hurt(self):
        for junk in (b"\x16\x03\x01\x00\x05hello", b"\x00\x01\x02\x03" * 100, b"\r\n\r\n"):
            r = self.s.raw_exchange(junk, timeout=2)
            self.assertIsNotNone(r)  # any answer or a close is fine
        self.assert_status(self.s.get("/healthz", tls=True), 200)
        self.assert_status(self.s.get("/healthz"), 200)


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
