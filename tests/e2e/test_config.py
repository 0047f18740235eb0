"""SPEC §1-§2 configuration: bad values stop start-up (exit 2, naming the key or
file), SOLOD_<SECTION>_<KEY> overrides, and the JWT secret."""

import os
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import unittest  # noqa: E402

from solod_harness import SolodTestCase, jwt_signature_ok  # noqa: E402

NOBODY = 65534  # the uid that owns nothing here

PASSWORD = "config-password"
NO_LIMITS = {"login_per_ip_per_minute": 100000, "lockout_threshold": 1000}


class StartupErrorsTest(SolodTestCase):
    """Each case runs the server (no subcommand) and `config check`; both must exit 2."""

    def expect_exit_2(self, needle, config=None, env=None, config_text=None, args=None,
                      check_too=True):
        s = self.server(config, env, start=False)
        if config_text is not None:
            s.write_config(config_text)
        runs = {"server": s.cli(*(args or ()), config=args is None, timeout=15)}
        if check_too:
            runs["config check"] = s.cli("config", "check", *(args or ()), config=args is None,
                                         timeout=15)
        for label, cp in runs.items():
            with self.subTest(run=label):
                text = cp.stdout + cp.stderr
                self.assertEqual(cp.returncode, 2, f"exit code; output: {text[-1500:]!r}")
                self.assertIn(needle.lower(), text.lower(), f"message must name {needle!r}: {text!r}")
                self.assertNotIn("listening on", text)
                lines = [line for line in text.splitlines() if line.strip()]
                self.assertLessEqual(len(lines), 5, f"one clear message, not a dump: {text!r}")
        return s

    def test_bad_duration(self):
        self.expect_exit_2("token_ttl", {"auth": {"token_ttl": "soon"}})

    def test_bad_enum_values(self):
        for section, key, value in (("server", "tls", "sometimes"),
                                    ("auth", "session_policy", "kick_everyone"),
                                    ("audit", "durability", "eventually")):
            with self.subTest(key=key):
                self.expect_exit_2(key, {section: {key: value}}, check_too=False)

    def test_wrong_type(self):
        self.expect_exit_2("max_connections", {"server": {"max_connections": "many"}},
                           check_too=False)

    def test_unknown_key(self):
        self.expect_exit_2("listen_typo", {"server": {"listen_typo": "127.0.0.1:1"}})

    def test_unknown_section(self):
        self.expect_exit_2("bogus_section", {"bogus_section": {"answer": 42}}, check_too=False)

    def test_missing_file(self):
        missing = "/nonexistent-solod-e2e/missing.toml"
        self.expect_exit_2(missing, args=["--config", missing])

    def test_directory_as_file(self):
        s = self.server(start=False)
        os.mkdir(s.path("cfgdir"))
        cp = s.cli("--config", s.path("cfgdir"), config=False, timeout=15)
        self.assertEqual(cp.returncode, 2, cp.stdout + cp.stderr)
        self.assertIn("cfgdir", cp.stdout + cp.stderr)

    def test_unreadable_file(self):
        s = self.server(start=False)
        os.chmod(s.config_path, 0)
        user = None
        if os.geteuid() == 0:
            # Root reads mode-000 files: this one run drops to nobody, who may
            # enter the directory but not read the file.
            os.chmod(s.dir, 0o711)
            user = NOBODY
        cp = s.cli(timeout=15, user=user)
        self.assertEqual(cp.returncode, 2, cp.stdout + cp.stderr)
        self.assertIn("solod.toml", cp.stdout + cp.stderr)
        self.assertIn("Permission denied", cp.stdout + cp.stderr)

    def test_syntax_error_names_file(self):
        self.expect_exit_2("solod.toml", config_text="[server\nlisten = \n")

    def test_bad_env_override(self):
        self.expect_exit_2("token_ttl", env={"SOLOD_AUTH_TOKEN_TTL": "soon"})

    def test_short_jwt_secret_env(self):
        self.expect_exit_2("secret", env={"SOLOD_JWT_SECRET": "0123456789abcdef"})

    def test_short_jwt_secret_file(self):
        s = self.server(start=False)
        path = s.path("short.secret")
        with open(path, "wb") as f:
            f.write(b"0123456789abcdef")
        os.chmod(path, 0o600)
        s.config["auth"] = {"jwt_secret_file": path}
        s.write_config()
        cp = s.cli(timeout=15)
        self.assertEqual(cp.returncode, 2, cp.stdout + cp.stderr)
        self.assertIn("secret", (cp.stdout + cp.stderr).lower())


class OverridesTest(SolodTestCase):
    def test_env_overrides_file(self):
        s = self.server({"auth": {"token_ttl": "2h"}, "limits": NO_LIMITS},
                        env={"SOLOD_AUTH_TOKEN_TTL": "1h"})
        name, pw = s.new_user(PASSWORD)
        self.assertEqual(s.login_ok(name, pw)["expires_in"], 3600)

    def test_file_value_used(self):
        s = self.server({"auth": {"token_ttl": "2h"}, "limits": NO_LIMITS})
        name, pw = s.new_user(PASSWORD)
        self.assertEqual(s.login_ok(name, pw)["expires_in"], 7200)

    def test_jwt_secret_file(self):
        s = self.server(start=False)
        secret = b"file-secret-0123456789-abcdefghijklmnopq"
        path = s.path("jwt-from-file.secret")
        with open(path, "wb") as f:
            f.write(secret)
        os.chmod(path, 0o600)
        s.config["auth"] = {"jwt_secret_file": path}
        s.write_config()
        s.start()
        name, pw = s.new_user(PASSWORD)
        token = s.login_ok(name, pw)["token"]
        self.assertTrue(jwt_signature_ok(token, secret), "token signed with jwt_secret_file")


class GeneratedSecretTest(SolodTestCase):
    def test_generated_secret_reused_and_sessions_survive_restart(self):
        s = self.server({"limits": NO_LIMITS})
        path = s.path("data", "jwt.secret")
        self.assertTrue(os.path.isfile(path), "data/jwt.secret generated")
        mode = stat.S_IMODE(os.stat(path).st_mode)
        self.assertEqual(mode, 0o600, f"data/jwt.secret mode {oct(mode)}")
        with open(path, "rb") as f:
            before = f.read()
        self.assertGreaterEqual(len(before.strip()), 32)

        name, pw = s.new_user(PASSWORD)
        body = s.login_ok(name, pw)
        self.assert_status(s.me(body["token"]), 200)
        s.restart()
        with open(path, "rb") as f:
            self.assertEqual(f.read(), before, "secret regenerated on restart")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        r = s.me(body["token"])
        self.assert_status(r, 200, "token from before the restart")
        self.assertEqual(r.json["session"]["id"], body["session"]["id"])
        # the session is still the user's only one: a new login supersedes it
        again = s.login_ok(name, pw)
        self.assert_error(s.me(body["token"]), 401, "unauthorized")
        self.assert_status(s.me(again["token"]), 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
