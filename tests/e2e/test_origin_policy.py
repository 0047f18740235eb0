"""The CSRF / WebSocket Origin rule with server.allowed_origins set (ISSUE 9 point 6).

The list names other origins that may call solod (a separate front-end); the server's own
origin (the Origin's host:port equals the Host header) stays allowed, so its own pages,
`/` (log in, register) and `/admin` (create a user, end a session), keep working. Origins
neither listed nor the server's own are still refused with 403.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from solod_harness import (SolodTestCase, WsHandshakeError, add_admin_token,  # noqa: E402
                           unique_name)

PASSWORD = "correct horse battery"
LISTED = "https://front.example.org"
FOREIGN = "https://evil.example.net"


class OwnOriginWithAllowListTest(SolodTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s = cls.class_server({"server": {"allowed_origins": [LISTED]},
                                  "limits": {"login_per_ip_per_minute": 100000}})
        cls.own = f"http://{cls.s.host}:{cls.s.port}"

    def test_the_login_page_posts_with_its_own_origin(self):
        name = unique_name("oo")
        r = self.s.post("/api/register", {"username": name, "password": PASSWORD},
                        headers={"Origin": self.own})
        self.assert_status(r, 201)
        r = self.s.login(name, PASSWORD, headers={"Origin": self.own})
        self.assert_status(r, 200)
        r = self.s.post("/api/logout", headers={"Origin": self.own}, token=r.json["token"])
        self.assertEqual(r.status, 204)

    def test_the_admin_page_posts_with_its_own_origin(self):
        _, token = add_admin_token(self.s)
        r = self.s.post("/api/admin/users", {"username": unique_name("oa"), "password": PASSWORD},
                        headers={"Origin": self.own}, cookie=token)
        self.assert_status(r, 201)
        name, _ = self.s.new_user()
        live = self.s.login_ok(name, PASSWORD)
        r = self.s.request("DELETE", f"/api/admin/sessions/{live['session']['id']}",
                           headers={"Origin": self.own}, cookie=token)
        self.assertEqual(r.status, 204, r.text)

    def test_listed_origin_allowed_and_foreign_refused(self):
        name, _ = self.s.new_user()
        self.assert_status(self.s.login(name, PASSWORD, headers={"Origin": LISTED}), 200)
        for origin in (FOREIGN, "null", f"http://{self.s.host}:{self.s.port + 1}",
                       f"https://evil.{self.s.host}:{self.s.port}"):
            with self.subTest(origin=origin):
                r = self.s.login(name, PASSWORD, headers={"Origin": origin})
                self.assert_error(r, 403, "forbidden")

    def test_websocket_from_own_origin(self):
        name, _ = self.s.new_user()
        token = self.s.login_ok(name, PASSWORD)["token"]
        ws = self.s.ws(token, headers={"Origin": self.own})
        ws.close()
        with self.assertRaises(WsHandshakeError) as refused:
            self.s.ws_connect(headers={"Origin": FOREIGN, "Authorization": f"Bearer {token}"})
        self.assertEqual(refused.exception.status, 403)


if __name__ == "__main__":
    unittest.main(verbosity=2)
