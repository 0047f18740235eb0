"""SPEC §3 HTTP API: register, login, me, online, logout, aliases, errors and tokens."""

import os
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import unittest  # noqa: E402

from solod_harness import (HEX128_RE, SolodTestCase, jwt_decode, jwt_encode,  # noqa: E402
                           jwt_signature_ok, unique_name)

JWT_SECRET = "e2e-known-secret-0123456789abcdefghijklm"  # 40 bytes
assert len(JWT_SECRET) == 40
PASSWORD = "s3cret-password"
BASE_CONFIG = {"limits": {"login_per_ip_per_minute": 100000, "lockout_threshold": 1000}}


class AuthApiTest(SolodTestCase):
    """One server (known JWT secret, no rate limit) for the whole class."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s = cls.class_server(BASE_CONFIG, env={"SOLOD_JWT_SECRET": JWT_SECRET})

    def fresh_login(self, headers=None):
        """Registers a user and logs in; returns (username, login body)."""
        name, pw = self.s.new_user(PASSWORD)
        return name, self.s.login_ok(name, pw, headers=headers)

    # -- health -------------------------------------------------------------------

    def test_healthz(self):
        r = self.s.get("/healthz")
        self.assert_status(r, 200)
        self.assertEqual(r.text.strip(), "ok")

    # -- register -----------------------------------------------------------------

    def test_register_returns_user(self):
        name = unique_name()
        r = self.s.register(name, PASSWORD, full_name="Reg Ister", email="reg@example.org")
        self.assert_status(r, 201)
        self.assertIsInstance(r.json, dict)
        self.assertIn("application/json", r.header("Content-Type", ""))
        user = r.json.get("user")
        self.assert_user(user, name)
        self.assertEqual(user["username"], name)
        self.assertEqual(user["full_name"], "Reg Ister")
        self.assertEqual(user["email"], "reg@example.org")
        self.assertIs(user["is_admin"], False)
        self.assertIs(user["is_active"], True)
        self.assertIsNone(user["last_login"])

    def test_register_boundaries_accepted(self):
        for name in ("a" + secrets_hex(2), "A_b.c-9" + secrets_hex(12), "z" * 20 + secrets_hex(12)):
            with self.subTest(name=name):
                self.assert_status(self.s.register(name, PASSWORD), 201)
        for pw in ("x" * 8, "y" * 1024):
            with self.subTest(password_len=len(pw)):
                self.assert_status(self.s.register(unique_name(), pw), 201)

    def test_register_bad_usernames(self):
        bad = ["ab", "a" * 33, "bad name", "bad!name", "semi;colon", "ünïcode", "", 123,
               None, ["list"], {"o": 1}]
        for name in bad:
            with self.subTest(username=name):
                self.assert_error(self.s.register(name, PASSWORD), 400, "invalid_input")
        with self.subTest("missing username"):
            r = self.s.request("POST", "/api/register", {"password": PASSWORD})
            self.assert_error(r, 400, "invalid_input")

    def test_register_bad_passwords(self):
        for pw in ("x" * 7, "y" * 1025, "", 12345678, None):
            with self.subTest(password=pw if not isinstance(pw, str) else f"len {len(pw)}"):
                self.assert_error(self.s.register(unique_name(), pw), 400, "invalid_input")
        with self.subTest("missing password"):
            r = self.s.request("POST", "/api/register", {"username": unique_name()})
            self.assert_error(r, 400, "invalid_input")

    def test_password_length_counts_bytes(self):
        # "ä" is two bytes in UTF-8: the limits are 8-1024 bytes, not characters
        for pw, status in (("ä" * 3 + "a", 400), ("ä" * 4, 201), ("ä" * 512, 201), ("ä" * 513, 400)):
            with self.subTest(bytes=len(pw.encode()), chars=len(pw)):
                r = self.s.register(unique_name(), pw)
                if status == 201:
                    self.assert_status(r, 201)
                else:
                    self.assert_error(r, 400, "invalid_input")

    def test_concurrent_registrations_of_one_name(self):
        name = unique_name()
        variants = [name if i % 2 else name.upper() for i in range(10)]
        with ThreadPoolExecutor(max_workers=10) as pool:
            statuses = sorted(pool.map(lambda n: self.s.register(n, PASSWORD).status, variants))
        self.assertEqual(statuses, [201] + [409] * 9)
        rows = self.s.query("SELECT COUNT(*) FROM users WHERE lower(username) = ?", [name.lower()])
        self.assertEqual(rows[0][0], 1)

    def test_register_username_taken_case_insensitive(self):
        name = "Case" + secrets_hex(8)
        self.assert_status(self.s.register(name, PASSWORD), 201)
        for variant in (name, name.lower(), name.upper()):
            with self.subTest(variant=variant):
                self.assert_error(self.s.register(variant, PASSWORD), 409, "username_taken")
        # and the login is case-insensitive too
        self.assert_status(self.s.login(name.upper(), PASSWORD), 200)

    # -- login --------------------------------------------------------------------

    def test_login_shape_cookie_and_claims(self):
        name, pw = self.s.new_user(PASSWORD)
        r = self.s.login(name, pw)
        self.assert_status(r, 200)
        body = r.json
        self.assertIsInstance(body, dict)
        for key in ("token", "token_type", "expires_in", "session", "user"):
            self.assertIn(key, body)
        self.assertEqual(body["token_type"], "Bearer")
        self.assertIsInstance(body["expires_in"], int)
        self.assertEqual(body["expires_in"], 86400)
        self.assertIsInstance(body["session"], dict)
        self.assertRegex(body["session"]["id"], HEX128_RE)
        self.assert_iso(body["session"]["created_at"], "session.created_at")
        self.assert_user(body["user"], name)
        self.assert_session_cookie(r, body["token"], secure=False)

        header, claims, _ = jwt_decode(body["token"])
        self.assertEqual(header.get("alg"), "HS256")
        self.assertTrue(jwt_signature_ok(body["token"], JWT_SECRET),
                        "token is not HS256-signed with SOLOD_JWT_SECRET")
        self.assertEqual(claims.get("iss"), "solod")
        self.assertEqual(claims.get("sub"), str(body["user"]["id"]))
        self.assertEqual(claims.get("name"), name)
        self.assertEqual(claims.get("sid"), body["session"]["id"])
        self.assertRegex(str(claims.get("jti")), HEX128_RE)
        self.assertNotEqual(claims.get("jti"), claims.get("sid"))
        self.assertIsInstance(claims.get("iat"), int)
        self.assertIsInstance(claims.get("exp"), int)
        self.assertEqual(claims["exp"] - claims["iat"], 86400)
        self.assertLess(abs(claims["iat"] - time.time()), 120)

    def test_login_wrong_password_and_unknown_user(self):
        name, _ = self.s.new_user(PASSWORD)
        self.assert_error(self.s.login(name, "wrong-password"), 401, "invalid_credentials")
        self.assert_error(self.s.login(unique_name("nobody"), PASSWORD), 401,
                          "invalid_credentials")

    def test_login_bad_input(self):
        for body in ({"username": "x"}, {"password": PASSWORD}, {"username": 5, "password": 6}):
            with self.subTest(body=body):
                r = self.s.request("POST", "/api/login", body)
                self.assertIn(r.status, (400, 401), r)
                self.assert_error(r, (400, 401))

    # -- me -----------------------------------------------------------------------

    def test_me_with_bearer(self):
        ua = "solod-e2e-me/2.0 (bearer)"
        name, body = self.fresh_login(headers={"User-Agent": ua})
        r = self.s.me(body["token"], headers={"User-Agent": ua})
        self.assert_status(r, 200)
        self.assert_user(r.json.get("user"), name)
        session = r.json.get("session")
        self.assertIsInstance(session, dict)
        for key in ("id", "created_at", "expires_at", "ip", "user_agent"):
            self.assertIn(key, session)
        self.assertEqual(session["id"], body["session"]["id"])
        self.assertEqual(session["created_at"], body["session"]["created_at"])
        self.assert_iso(session["created_at"])
        self.assert_iso(session["expires_at"])
        self.assertGreater(session["expires_at"], session["created_at"])
        self.assertEqual(session["ip"], "127.0.0.1")
        self.assertEqual(session["user_agent"], ua)
        # last_login is set once the user has logged in
        self.assert_iso(r.json["user"]["last_login"], "user.last_login after login")

    def test_me_with_cookie(self):
        name, body = self.fresh_login()
        r = self.s.me(cookie=body["token"])
        self.assert_status(r, 200)
        self.assertEqual(r.json["session"]["id"], body["session"]["id"])
        r = self.s.me(headers={"Cookie": f"theme=dark; solod_session={body['token']}; x=1"})
        self.assert_status(r, 200, "cookie among other cookies")

    def test_me_without_auth(self):
        self.assert_error(self.s.me(), 401, "unauthorized")
        self.assert_error(self.s.me(headers={"Authorization": "Basic dXNlcjpwYXNz"}), 401,
                          "unauthorized")

    # -- online ---------------------------------------------------------------------

    def test_online(self):
        _, body = self.fresh_login()
        r = self.s.get("/api/online", token=body["token"])
        self.assert_status(r, 200)
        self.assertIsInstance(r.json, dict)
        self.assertIsInstance(r.json.get("users"), list)
        self.assertTrue(all(isinstance(u, str) for u in r.json["users"]), r.json)
        self.assertIsInstance(r.json.get("count"), int)
        self.assertGreaterEqual(r.json["count"], 0)
        self.assert_error(self.s.get("/api/online"), 401, "unauthorized")

    # -- logout ---------------------------------------------------------------------

    def test_logout(self):
        name, body = self.fresh_login()
        token, sid = body["token"], body["session"]["id"]
        r = self.s.logout(token)
        self.assert_status(r, 204)
        self.assertEqual(r.body, b"")
        self.assert_cookie_cleared(r)
        self.assert_error(self.s.me(token), 401, "unauthorized")
        self.assert_error(self.s.me(cookie=token), 401, "unauthorized")
        self.assert_error(self.s.logout(token), 401, "unauthorized")
        rows = self.s.query("SELECT logout_ts, end_reason FROM sessions WHERE id = ?", [sid])
        self.assertEqual(len(rows), 1)
        self.assertIsNotNone(rows[0]["logout_ts"])
        self.assertEqual(rows[0]["end_reason"], "logout")
        rows = self.s.wait_rows(
            "SELECT * FROM login_logs WHERE event_type = 'logout' AND session_id = ?", [sid])
        self.assertEqual(len(rows), 1, "one logout audit row")
        self.assertEqual(rows[0]["username"], name)

    def test_logout_with_cookie(self):
        _, body = self.fresh_login()
        r = self.s.logout(cookie=body["token"])
        self.assert_status(r, 204)
        self.assert_cookie_cleared(r)
        self.assert_error(self.s.me(body["token"]), 401, "unauthorized")

    def test_logout_without_auth(self):
        self.assert_error(self.s.logout(), 401, "unauthorized")

    # -- one live session ------------------------------------------------------------

    def test_second_login_supersedes_first(self):
        name, pw = self.s.new_user(PASSWORD)
        first = self.s.login_ok(name, pw)
        second = self.s.login_ok(name, pw)
        self.assertNotEqual(first["session"]["id"], second["session"]["id"])
        self.assertNotEqual(first["token"], second["token"])
        self.assert_error(self.s.me(first["token"]), 401, "unauthorized")
        self.assert_status(self.s.me(second["token"]), 200)
        uid = second["user"]["id"]
        live = self.s.query("SELECT id FROM sessions WHERE user_id = ? AND logout_ts IS NULL", [uid])
        self.assertEqual([r["id"] for r in live], [second["session"]["id"]])
        old = self.s.query("SELECT logout_ts, end_reason FROM sessions WHERE id = ?",
                           [first["session"]["id"]])
        self.assertEqual(len(old), 1)
        self.assertIsNotNone(old[0]["logout_ts"])
        self.assertEqual(old[0]["end_reason"], "superseded")
        rows = self.s.wait_rows("SELECT * FROM login_logs WHERE event_type = 'session_superseded' "
                                "AND session_id = ?", [first["session"]["id"]])
        self.assertEqual(len(rows), 1, "one session_superseded audit row for the old session")

    def test_concurrent_logins_leave_one_session(self):
        name, pw = self.s.new_user(PASSWORD)
        n = 50
        with ThreadPoolExecutor(max_workers=n) as pool:
            results = list(pool.map(lambda _: self.s.login(name, pw, timeout=60), range(n)))
        statuses = [r.status for r in results]
        self.assertEqual(statuses, [200] * n, f"statuses {sorted(set(statuses))}: "
                                              f"{[r for r in results if r.status != 200][:3]}")
        uid = results[0].json["user"]["id"]
        live = self.s.query("SELECT id FROM sessions WHERE user_id = ? AND logout_ts IS NULL", [uid])
        self.assertEqual(len(live), 1, "exactly one live session row")
        tokens = [r.json["token"] for r in results]
        with ThreadPoolExecutor(max_workers=10) as pool:
            me = list(pool.map(lambda t: self.s.me(t).status, tokens))
        self.assertEqual(me.count(200), 1, f"/api/me statuses {sorted(me)}")
        self.assertEqual(me.count(401), n - 1)
        winner = results[me.index(200)].json["session"]["id"]
        self.assertEqual(live[0]["id"], winner)

    # -- aliases ------------------------------------------------------------------------

    def test_compatibility_aliases(self):
        name = unique_name()
        r = self.s.request("POST", "/register", {"username": name, "password": PASSWORD})
        self.assert_status(r, 201)
        self.assert_user(r.json.get("user"), name)
        self.assert_error(self.s.request("POST", "/register", {"username": name, "password": PASSWORD}),
                          409, "username_taken")

        r = self.s.login(name, PASSWORD, path="/login-token")
        self.assert_status(r, 200)
        body = r.json
        self.assertEqual(body.get("token_type"), "Bearer")
        self.assert_user(body.get("user"), name)
        self.assert_session_cookie(r, body["token"], secure=False)
        self.assert_error(self.s.login(name, "wrong-password", path="/login-token"), 401,
                          "invalid_credentials")

        r = self.s.get("/protected", token=body["token"])
        self.assert_status(r, 200)
        self.assertEqual(r.json["session"]["id"], body["session"]["id"])
        self.assert_user(r.json.get("user"), name)
        self.assert_status(self.s.get("/protected", cookie=body["token"]), 200)
        self.assert_error(self.s.get("/protected"), 401, "unauthorized")

        r = self.s.request("POST", "/logout", token=body["token"])
        self.assert_status(r, 204)
        self.assert_cookie_cleared(r)
        self.assert_error(self.s.get("/protected", token=body["token"]), 401, "unauthorized")
        self.assert_error(self.s.request("POST", "/logout", token=body["token"]), 401, "unauthorized")

    # -- malformed requests ----------------------------------------------------------------

    def test_malformed_json(self):
        for path in ("/api/login", "/api/register"):
            for raw in ('{"username": "x", ', "not json", "{'single': 'quotes'}"):
                with self.subTest(path=path, raw=raw):
                    self.assert_error(self.s.request("POST", path, raw), 400, "invalid_json")

    def test_non_object_json(self):
        for path in ("/api/login", "/api/register"):
            for raw in ("[1, 2]", "42", '"text"', "null"):
                with self.subTest(path=path, raw=raw):
                    self.assert_error(self.s.request("POST", path, raw), 400, "invalid_input")

    def test_body_over_max_body_bytes(self):
        # max_body_bytes defaults to 16384: a 20000-byte body is refused
        body = b'{"username":"' + b"a" * 20000 + b'","password":"x"}'
        head = (f"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        r = self.s.raw_exchange(head, body)
        self.assert_error(r, 413, "too_large", f"raw={r.raw[:300]!r} error={r.error}")

    def test_one_megabyte_body(self):
        size = 1048576
        head = (f"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {size}\r\nConnection: close\r\n\r\n").encode()
        r = self.s.raw_exchange(head, b"x" * size, timeout=15)
        self.assert_error(r, 413, "too_large", f"raw={r.raw[:300]!r} error={r.error}")
        self.assert_status(self.s.get("/healthz"), 200, "server still serving")

    def test_unknown_path(self):
        self.assert_error(self.s.get("/api/does-not-exist"), 404, "not_found")
        self.assert_error(self.s.request("POST", "/api/nope", {}), 404, "not_found")
        self.assertEqual(self.s.get("/no-such-page-" + unique_name()).status, 404)

    def test_wrong_method(self):
        for method, path in (("GET", "/api/login"), ("GET", "/api/register"),
                             ("GET", "/api/logout"), ("POST", "/api/me"), ("DELETE", "/api/online")):
            with self.subTest(method=method, path=path):
                self.assert_error(self.s.request(method, path), 405)

    def test_oversized_header_block(self):
        head = ("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + "a" * 9000
                + "\r\nConnection: close\r\n\r\n").encode()
        r = self.s.raw_exchange(head)
        self.assertIn(r.status, (431, 400), f"raw={r.raw[:300]!r} error={r.error}")
        self.assert_status(self.s.get("/healthz"), 200, "server keeps serving")
        many = ("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + "".join(f"X-H{i}: {'b' * 90}\r\n" for i in range(100)) + "Connection: close\r\n\r\n")
        r = self.s.raw_exchange(many.encode())
        self.assertIn(r.status, (431, 400), f"many headers: raw={r.raw[:300]!r} error={r.error}")
        self.assert_status(self.s.get("/healthz"), 200, "server keeps serving")

    def test_keep_alive(self):
        _, body = self.fresh_login()
        conn = self.s.connection()
        try:
            for path in ("/healthz", "/api/me", "/api/does-not-exist", "/api/me"):
                conn.request("GET", path, headers={"Authorization": f"Bearer {body['token']}"})
                resp = conn.getresponse()
                resp.read()
                self.assertIn(resp.status, (200, 404), path)
        finally:
            conn.close()

    # -- tokens -----------------------------------------------------------------------------

    def live_claims(self):
        """A fresh live session: (login body, its token's claims)."""
        _, body = self.fresh_login()
        return body, jwt_decode(body["token"])[1]

    def test_forged_token_with_right_secret_is_accepted(self):
        # control: our forging code is right, so the refusals below mean something
        body, claims = self.live_claims()
        forged = jwt_encode(claims, JWT_SECRET)
        r = self.s.me(forged)
        self.assert_status(r, 200, "a re-signed copy of a live token")
        self.assertEqual(r.json["session"]["id"], body["session"]["id"])

    def test_bad_tokens_are_refused(self):
        body, claims = self.live_claims()
        now = int(time.time())
        token = body["token"]
        head, payload, sig = token.split(".")
        tampered_claims = dict(claims, name=claims["name"] + "x")
        tampered = head + "." + jwt_encode(tampered_claims, JWT_SECRET).split(".")[1] + "." + sig
        cases = {
            "alg none": jwt_encode(claims, None, alg="none"),
            "alg none, no typ": jwt_encode(claims, None, alg="none", header={"alg": "none"}),
            "alg NONE keeps signature": jwt_encode(claims, None, alg="none",
                                                   header={"alg": "NONE", "typ": "JWT"}) + sig,
            "HS512 with right secret": jwt_encode(claims, JWT_SECRET, alg="HS512"),
            "HS384 with right secret": jwt_encode(claims, JWT_SECRET, alg="HS384"),
            "HS256 wrong key": jwt_encode(claims, "another-secret-that-is-long-enough-1234"),
            "tampered payload": tampered,
            "signature stripped": head + "." + payload + ".",
            "expired": jwt_encode(dict(claims, iat=now - 7200, exp=now - 3600), JWT_SECRET),
            "wrong iss": jwt_encode(dict(claims, iss="not-solod"), JWT_SECRET),
            "no iss": jwt_encode({k: v for k, v in claims.items() if k != "iss"}, JWT_SECRET),
            "made-up sid": jwt_encode(dict(claims, sid=uuid.uuid4().hex), JWT_SECRET),
            "no sid": jwt_encode({k: v for k, v in claims.items() if k != "sid"}, JWT_SECRET),
            "sub of another user": jwt_encode(dict(claims, sub=str(int(claims["sub"]) + 100000)),
                                              JWT_SECRET),
            "garbage": "garbage",
            "three garbage parts": "a.b.c",
            "two parts": head + "." + payload,
            "four parts": token + ".x",
            "trailing char": token + "x",
        }
        for label, bad in cases.items():
            with self.subTest(label):
                self.assert_error(self.s.me(bad), 401, "unauthorized", label)
        with self.subTest("alg none via cookie"):
            self.assert_error(self.s.me(cookie=cases["alg none"]), 401, "unauthorized")
        with self.subTest("empty bearer"):
            self.assert_error(self.s.me(headers={"Authorization": "Bearer "}), 401, "unauthorized")
        # the real token still works after all that
        self.assert_status(self.s.me(token), 200)


class ExpiryTest(SolodTestCase):
    """token_ttl = "2s": a token stops working once exp passes."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s = cls.class_server({"auth": {"token_ttl": "2s"}, **BASE_CONFIG})

    def test_token_expires(self):
        name, pw = self.s.new_user(PASSWORD)
        body = self.s.login_ok(name, pw)
        self.assertEqual(body["expires_in"], 2)
        self.assert_status(self.s.me(body["token"]), 200)
        time.sleep(3)
        self.assert_error(self.s.me(body["token"]), 401, "unauthorized")
        self.assert_error(self.s.me(cookie=body["token"]), 401, "unauthorized")
        # a new login works again
        self.assert_status(self.s.me(self.s.login_ok(name, pw)["token"]), 200)


class IdleTimeoutTest(SolodTestCase):
    """idle_timeout = "2s": a session without requests ends (reason expired); activity keeps it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s = cls.class_server({"auth": {"idle_timeout": "2s"}, **BASE_CONFIG})

    def test_idle_session_ends(self):
        name, pw = self.s.new_user(PASSWORD)
        body = self.s.login_ok(name, pw)
        time.sleep(4)
        self.assert_error(self.s.me(body["token"]), 401, "unauthorized")
        sid = body["session"]["id"]
        rows = self.s.wait_rows("SELECT end_reason FROM sessions WHERE id = ? AND logout_ts IS NOT NULL",
                                [sid])
        self.assertEqual([r["end_reason"] for r in rows], ["expired"])
        rows = self.s.wait_rows("SELECT 1 FROM login_logs WHERE event_type = 'session_expired' "
                                "AND session_id = ?", [sid])
        self.assertEqual(len(rows), 1, "one session_expired audit row")

    def test_activity_keeps_session(self):
        name, pw = self.s.new_user(PASSWORD)
        body = self.s.login_ok(name, pw)
        for _ in range(5):
            time.sleep(0.8)
            self.assert_status(self.s.me(body["token"]), 200)


def secrets_hex(n: int) -> str:
    return os.urandom(n).hex()[:n]


if __name__ == "__main__":
    unittest.main(verbosity=2)
