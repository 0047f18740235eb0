"""RFC 7662 token introspection for the team's other services: POST /api/introspect
with HTTP Basic service clients from [services], answered from the same session
registry as /api/me (a superseded token is inactive at once)."""

import base64
import os
import shutil
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import unittest  # noqa: E402

from solod_harness import SolodTestCase, jwt_decode, jwt_encode, wait_until  # noqa: E402
from webhook_receiver import write_secret  # noqa: E402

PASSWORD = "introspect-password"
BILLING_SECRET = "b1ll1ng-s3cret-0123456789abcdef"
# Characters that RFC 6749 §2.3.1 form-encodes inside Basic credentials.
ODD_SECRET = "odd+secret/with%chars:and=more"
NO_LIMITS = {"login_per_ip_per_minute": 100000, "lockout_threshold": 1000}


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


class IntrospectTest(SolodTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.secrets = tempfile.mkdtemp(prefix="solod-services-")
        clients = [
            {"id": "billing", "secret_file": write_secret(cls.secrets, "billing", BILLING_SECRET)},
            {"id": "odd.client", "secret_file": write_secret(cls.secrets, "odd", ODD_SECRET)},
        ]
        cls.s = cls.class_server({"limits": NO_LIMITS, "services": {"clients": clients}})

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.secrets, ignore_errors=True)

    def introspect(self, token, authorization=None, content_type="application/x-www-form-urlencoded",
                   extra=""):
        body = urllib.parse.urlencode({"token": token}) if token is not None else ""
        headers = {"Content-Type": content_type}
        headers["Authorization"] = basic("billing", BILLING_SECRET) if authorization is None \
            else authorization
        return self.s.request("POST", "/api/introspect", (body + extra).encode(), headers=headers)

    def assert_inactive(self, resp, msg=""):
        self.assert_status(resp, 200, msg)
        self.assertEqual(resp.json, {"active": False}, msg)
        self.assertEqual(resp.header("Cache-Control"), "no-store")

    def test_active_token_answers_its_claims(self):
        name, pw = self.s.new_user(PASSWORD)
        login = self.s.login_ok(name, pw)
        r = self.introspect(login["token"])
        self.assert_status(r, 200)
        _, claims, _ = jwt_decode(login["token"])
        self.assertEqual(r.json, {
            "active": True, "sub": claims["sub"], "username": name, "sid": claims["sid"],
            "jti": claims["jti"], "exp": claims["exp"], "iat": claims["iat"], "iss": "solod",
            "token_type": "Bearer"})
        self.assertEqual(r.json["sid"], login["session"]["id"])
        self.assertEqual(r.header("Cache-Control"), "no-store")

    def test_superseded_token_is_inactive_at_once(self):
        name, pw = self.s.new_user(PASSWORD)
        first = self.s.login_ok(name, pw)["token"]
        self.assertTrue(self.introspect(first).json["active"])
        second = self.s.login_ok(name, pw)["token"]
        # The very next call: no cache, no delay.
        self.assert_inactive(self.introspect(first), "the superseded token")
        self.assertTrue(self.introspect(second).json["active"])
        self.assert_status(self.s.me(second), 200)

    def test_logged_out_token_is_inactive(self):
        name, pw = self.s.new_user(PASSWORD)
        token = self.s.login_ok(name, pw)["token"]
        self.assert_status(self.s.logout(token), 204)
        self.assert_inactive(self.introspect(token))

    def test_disabled_user_token_is_inactive(self):
        name, pw = self.s.new_user(PASSWORD)
        token = self.s.login_ok(name, pw)["token"]
        cp = self.s.cli("user", "disable", name, timeout=30)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        # The CLI's change reaches the server as news (README "Admin"): soon, not at once.
        self.assertTrue(wait_until(lambda: self.introspect(token).json == {"active": False},
                                   timeout=10), "the disabled user's token stays active")

    def test_forged_expired_and_garbage_tokens_are_inactive(self):
        name, pw = self.s.new_user(PASSWORD)
        token = self.s.login_ok(name, pw)["token"]
        _, claims, _ = jwt_decode(token)
        forged = jwt_encode(claims, b"x" * 32)
        expired = dict(claims, exp=claims["iat"] - 10)
        for label, t in [("forged", forged), ("expired, bad signature", jwt_encode(expired, b"y" * 32)),
                         ("garbage", "not-a-token"), ("empty", ""), ("alg none", jwt_encode(claims, None, "none")),
                         ("huge", "a" * 10000)]:
            with self.subTest(token=label):
                self.assert_inactive(self.introspect(t))
        self.assertTrue(self.introspect(token).json["active"], "the real token is still live")

    def test_client_authentication_is_required(self):
        name, pw = self.s.new_user(PASSWORD)
        token = self.s.login_ok(name, pw)["token"]
        cases = {
            "none": "",
            "bearer token instead": f"Bearer {token}",
            "wrong secret": basic("billing", BILLING_SECRET + "x"),
            "secret prefix": basic("billing", BILLING_SECRET[:-1]),
            "another client's secret": basic("billing", ODD_SECRET),
            "unknown client": basic("nobody", BILLING_SECRET),
            "not base64": "Basic !!!***",
            "no colon": "Basic " + base64.b64encode(b"billing").decode(),
            "empty": "Basic ",
            "invalid UTF-8": "Basic " + base64.b64encode(b"billing:\xff\xfe").decode(),
        }
        for label, authz in cases.items():
            with self.subTest(case=label):
                r = self.introspect(token, authorization=authz)
                self.assert_error(r, 401, "invalid_client")
                self.assertIn("Basic", r.header("WWW-Authenticate") or "")
                self.assertNotIn("active", r.json)

    def test_form_encoded_and_raw_credentials(self):
        name, pw = self.s.new_user(PASSWORD)
        token = self.s.login_ok(name, pw)["token"]
        encoded = basic(urllib.parse.quote_plus("odd.client"), urllib.parse.quote_plus(ODD_SECRET))
        self.assertTrue(self.introspect(token, authorization=encoded).json["active"])
        self.assertTrue(self.introspect(token, authorization=basic("odd.client", ODD_SECRET)).json["active"])
        self.assertTrue(self.introspect(token, authorization="basic " + basic("billing", BILLING_SECRET)[6:])
                        .json["active"], "the scheme is case-insensitive")

    def test_bad_requests(self):
        name, pw = self.s.new_user(PASSWORD)
        token = self.s.login_ok(name, pw)["token"]
        self.assert_error(self.introspect(None), 400, "invalid_request")
        self.assert_error(self.introspect(token, content_type="application/json"), 400, "invalid_request")
        self.assert_error(self.introspect(token, extra="&bad=%zz"), 400, "invalid_request")
        r = self.s.request("GET", "/api/introspect", headers={"Authorization": basic("billing", BILLING_SECRET)})
        self.assert_error(r, 405)
        self.assertEqual(r.header("Allow"), "POST")
        r = self.introspect(token, authorization=basic("billing", BILLING_SECRET))
        self.assertTrue(r.json["active"], "extra form fields such as token_type_hint are fine")
        r = self.s.request("POST", "/api/introspect",
                           urllib.parse.urlencode({"token": token, "token_type_hint": "access_token"}).encode(),
                           headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                                    "Authorization": basic("billing", BILLING_SECRET)})
        self.assertTrue(r.json["active"], "a charset parameter and token_type_hint are accepted")

    def test_metrics_count_answers(self):
        before = {k: self.s.metric("solod_introspections_total", result=k) or 0
                  for k in ("active", "inactive", "refused")}
        name, pw = self.s.new_user(PASSWORD)
        token = self.s.login_ok(name, pw)["token"]
        self.introspect(token)
        self.introspect("garbage")
        self.introspect(token, authorization=basic("billing", "wrong-secret-0123456789"))
        for k in ("active", "inactive", "refused"):
            self.assertGreaterEqual(self.s.metric("solod_introspections_total", result=k), before[k] + 1, k)


class NoClientsTest(SolodTestCase):
    def test_without_clients_every_call_is_refused(self):
        s = self.server({"limits": NO_LIMITS})
        name, pw = s.new_user(PASSWORD)
        token = s.login_ok(name, pw)["token"]
        r = s.request("POST", "/api/introspect", urllib.parse.urlencode({"token": token}).encode(),
                      headers={"Content-Type": "application/x-www-form-urlencoded",
                               "Authorization": basic("billing", BILLING_SECRET)})
        self.assert_error(r, 401, "invalid_client")


class ServicesConfigTest(SolodTestCase):
    """A bad [services] stops start-up with exit 2 and a message naming the problem."""

    def expect_exit_2(self, needle, clients):
        s = self.server({"services": {"clients": clients}}, start=False)
        cp = s.cli(config=True, timeout=15)
        text = cp.stdout + cp.stderr
        self.assertEqual(cp.returncode, 2, text[-1500:])
        self.assertIn(needle, text)
        self.assertNotIn("listening on", text)

    def test_bad_clients(self):
        d = tempfile.mkdtemp(prefix="solod-services-")
        self.addCleanup(shutil.rmtree, d, True)
        good = write_secret(d, "good", BILLING_SECRET)
        short = write_secret(d, "short", "tooshort")
        cases = [
            ("at least 16", [{"id": "a", "secret_file": short}]),
            ("cannot read", [{"id": "a", "secret_file": os.path.join(d, "missing")}]),
            ("given twice", [{"id": "a", "secret_file": good}, {"id": "a", "secret_file": good}]),
            ("unknown field 'secret'", [{"id": "a", "secret": "inline-secrets-are-refused"}]),
            ("'secret_file' is required", [{"id": "a"}]),
            ("invalid value for id", [{"id": "has space", "secret_file": good}]),
        ]
        for needle, clients in cases:
            with self.subTest(needle=needle):
                self.expect_exit_2(needle, clients)

    def test_config_check_renders_clients(self):
        d = tempfile.mkdtemp(prefix="solod-services-")
        self.addCleanup(shutil.rmtree, d, True)
        good = write_secret(d, "good", BILLING_SECRET)
        s = self.server({"services": {"clients": [{"id": "billing", "secret_file": good}]}}, start=False)
        cp = s.cli("config", "check", timeout=15)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertIn('[services]\nclients = [{id = "billing", secret_file = "%s"}]' % good, cp.stdout)
        self.assertNotIn(BILLING_SECRET, cp.stdout + cp.stderr)


if __name__ == "__main__":
    unittest.main()
