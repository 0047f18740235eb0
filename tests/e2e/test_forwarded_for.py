"""SPEC server.trusted_proxies with several X-Forwarded-For header lines (ISSUE 9 point 6).

A client may send its own X-Forwarded-For line; a proxy such as HAProxy then adds a second
line rather than appending to the first. solod must read every line, in order, as one list
(RFC 9110 §5.3): the client address is the rightmost entry that is not a trusted proxy, so a
forged first line never wins. Checked on /api/login (session and audit row), /api/me and the
WebSocket's whoami.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from solod_harness import SolodTestCase, unique_name  # noqa: E402

PASSWORD = "correct horse battery"
FORGED = "6.6.6.6"
CLIENT = "198.51.100.7"
INNER_PROXY = "10.1.2.3"


class ForwardedForTest(SolodTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s = cls.class_server({"server": {"trusted_proxies": ["127.0.0.1/32", "10.0.0.0/8"]},
                                  "limits": {"login_per_ip_per_minute": 100000}})

    def raw_login(self, name: str, xff_lines: list[str]):
        body = ('{"username": "%s", "password": "%s"}' % (name, PASSWORD)).encode()
        head = [b"POST /api/login HTTP/1.1", b"Host: x", b"Connection: close",
                b"Content-Type: application/json", b"Content-Length: %d" % len(body)]
        head += [b"X-Forwarded-For: " + line.encode() for line in xff_lines]
        r = self.s.raw_exchange(b"\r\n".join(head) + b"\r\n\r\n", body)
        self.assertEqual(r.status, 200, r.raw[:300])
        return r.json

    def login_ip(self, xff_lines: list[str]) -> str:
        name = unique_name("xf")
        self.assertEqual(self.s.register(name, PASSWORD).status, 201)
        body = self.raw_login(name, xff_lines)
        me = self.s.me(body["token"])
        self.assertEqual(me.status, 200, me.text)
        rows = self.s.wait_rows("SELECT ip_address FROM login_logs WHERE username = ? AND "
                                "event_type = 'login_success'", (name,))
        self.assertEqual(rows[0]["ip_address"], me.json["session"]["ip"])
        return me.json["session"]["ip"]

    def test_the_proxys_line_wins_over_a_forged_first_line(self):
        self.assertEqual(self.login_ip([FORGED, CLIENT]), CLIENT)

    def test_lines_and_commas_form_one_list(self):
        self.assertEqual(self.login_ip([f"{FORGED}, 7.7.7.7", f"{CLIENT}, {INNER_PROXY}"]), CLIENT)
        self.assertEqual(self.login_ip([FORGED, CLIENT, INNER_PROXY]), CLIENT)
        self.assertEqual(self.login_ip([f"{FORGED}, {CLIENT}"]), CLIENT)

    def test_one_line_still_works(self):
        self.assertEqual(self.login_ip([CLIENT]), CLIENT)

    def test_garbage_in_a_later_line_stops_the_walk(self):
        # Nothing left of an unparsable entry is believed: the peer itself stays the client.
        self.assertEqual(self.login_ip([CLIENT, "not-an-address"]), "127.0.0.1")

    def test_websocket_reads_every_line(self):
        name = unique_name("xw")
        self.assertEqual(self.s.register(name, PASSWORD).status, 201)
        token = self.s.login_ok(name, PASSWORD)["token"]
        # Two header lines of the same name: a list of pairs keeps both.
        ws = self.s.ws_connect(headers=[("Authorization", f"Bearer {token}"),
                                        ("X-Forwarded-For", FORGED),
                                        ("X-Forwarded-For", CLIENT)])
        try:
            ws.recv_until(lambda m: m.get("type") == "welcome")
            ws.send_json({"type": "whoami"})
            who = ws.recv_until(lambda m: m.get("type") == "whoami")
            self.assertEqual(who["ip"], CLIENT)
        finally:
            ws.close()


class UntrustedPeerTest(SolodTestCase):
    def test_without_trusted_proxies_every_line_is_ignored(self):
        s = self.server()
        name, password = s.new_user()
        r = s.login_ok(name, password, headers={"X-Forwarded-For": CLIENT})
        self.assertEqual(s.me(r["token"]).json["session"]["ip"], "127.0.0.1")


if __name__ == "__main__":
    unittest.main(verbosity=2)
