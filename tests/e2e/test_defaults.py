"""SPEC §1: `solod` with no arguments serves on its built-in defaults, or on
`config/solod.toml` when its working directory has one.

The listen address is the one thing moved (SOLOD_SERVER_LISTEN, port 0) so the
test never needs the fixed port 8443; everything else is the binary's own.
"""

import os
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import unittest  # noqa: E402

from solod_harness import SOURCE_DIR, SolodTestCase, sqlite_only, unique_name  # noqa: E402

PASSWORD = "defaults-password"
EPHEMERAL = {"SOLOD_SERVER_LISTEN": "127.0.0.1:0"}


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@sqlite_only("with no config at all solod uses its built-in SQLite database under data/")
class NoArgumentsTest(SolodTestCase):
    def started_bare(self, env=None):
        s = self.server(start=False, env={**EPHEMERAL, **(env or {})})
        os.remove(s.config_path)  # nothing for it to read by accident
        # The pages are found relative to the working directory, as in a checkout.
        os.symlink(os.path.join(SOURCE_DIR, "web"), s.path("web"))
        return s.start(with_config=False)

    def test_built_in_defaults(self):
        s = self.started_bare()
        out = s.output()
        self.assertIn("(tls auto)", out, "tls = auto by default")
        # data/ holds the SQLite database, the generated secret and certificate.
        self.assertTrue(os.path.isfile(s.path("data", "solod.db")))
        self.assertEqual(mode(s.path("data", "jwt.secret")), 0o600)
        self.assertEqual(mode(s.path("data", "key.pem")), 0o600)
        self.assertTrue(os.path.isfile(s.path("data", "cert.pem")))
        self.assertTrue(os.path.isfile(s.path("logs", "solod.log")), "logs/ by default")
        # TLS and plain on the same port; registration allowed; kick_old.
        name = unique_name("def")
        self.assert_status(s.request("POST", "/api/register",
                                     {"username": name, "password": PASSWORD}, tls=True), 201)
        first = s.request("POST", "/api/login", {"username": name, "password": PASSWORD}, tls=True)
        self.assert_status(first, 200)
        self.assertIn("Secure", first.header("Set-Cookie"), "Secure cookie over TLS")
        second = s.login_ok(name, PASSWORD)  # plain HTTP
        self.assertEqual(second["expires_in"], 86400, "token_ttl 24h")
        self.assert_error(s.me(first.json["token"], tls=True), 401, "unauthorized")
        self.assert_status(s.me(second["token"]), 200)
        self.assert_status(s.get("/"), 200, "the pages from web/")
        rows = s.query("SELECT event_type FROM login_logs WHERE username = ? ORDER BY id", [name])
        self.assertEqual([r["event_type"] for r in rows],
                         ["register", "login_success", "session_superseded", "login_success"])

    def test_config_dir_file_is_read_when_present(self):
        s = self.server(start=False, env=EPHEMERAL)
        os.remove(s.config_path)
        os.mkdir(s.path("config"))
        with open(s.path("config", "solod.toml"), "w") as f:
            f.write('[server]\ntls = "off"\n[auth]\nallow_registration = false\n')
        s.start(with_config=False)
        self.assertIn("(tls off)", s.output())
        self.assert_error(s.register(unique_name("def"), PASSWORD), 403, "registration_disabled")


if __name__ == "__main__":
    unittest.main()
