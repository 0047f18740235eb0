"""SPEC §1 subcommands: --version, --help, migrate, user add/passwd/disable/enable,
audit export, config check."""

import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import unittest  # noqa: E402

from solod_harness import SOURCE_DIR, SolodTestCase, csv_rows, iso_now, sqlite_only  # noqa: E402

NO_LIMITS = {"login_per_ip_per_minute": 100000, "lockout_threshold": 1000}
# SPEC §5's columns, then the audit chain's (README "Tamper-evident audit log").
LOGIN_LOGS_COLUMNS = ["id", "timestamp", "event_type", "user_id", "username", "session_id",
                      "ip_address", "user_agent", "status", "error_message", "legal_basis",
                      "chain_key", "row_hash"]
SESSIONS_COLUMNS = {"id", "user_id", "login_ts", "logout_ts", "end_reason", "ip_address",
                    "user_agent", "system_info", "last_seen"}


def project_version():
    with open(os.path.join(SOURCE_DIR, "CMakeLists.txt"), encoding="utf-8") as f:
        m = re.search(r"project\(\s*solod\s+VERSION\s+([0-9.]+)", f.read())
    return m.group(1) if m else None


class VersionHelpTest(SolodTestCase):
    def test_version(self):
        s = self.server(start=False)
        cp = s.cli("--version", config=False)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertRegex(cp.stdout, r"\d+\.\d+\.\d+")
        version = project_version()
        if version:
            self.assertIn(version, cp.stdout)

    def test_help(self):
        s = self.server(start=False)
        cp = s.cli("--help", config=False)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        text = cp.stdout + cp.stderr
        for word in ("user", "add", "passwd", "disable", "enable", "migrate", "audit", "export",
                     "config", "check", "--version", "--config", "--password-stdin", "--format"):
            self.assertIn(word, text, f"--help does not mention {word}")

    def test_unknown_subcommand_fails(self):
        s = self.server(start=False)
        cp = s.cli("frobnicate")
        self.assertNotIn(cp.returncode, (0, None), cp.stdout + cp.stderr)


class MigrateTest(SolodTestCase):
    @sqlite_only("checks data/solod.db, sqlite_master and PRAGMA table_info "
                 "(test_cluster_failures covers migrations on PostgreSQL)")
    def test_migrate_creates_schema(self):
        s = self.server(start=False)
        cp = s.cli("migrate")
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertTrue(os.path.exists(s.db_path), "data/solod.db created")
        objects = {(r["type"], r["name"]) for r in s.query("SELECT type, name FROM sqlite_master")}
        for table in ("users", "user_attributes", "sessions", "login_logs"):
            self.assertIn(("table", table), objects)
        for view in ("active_sessions", "user_login_summary"):
            self.assertIn(("view", view), objects)
            s.query(f"SELECT * FROM {view} LIMIT 1")  # the view compiles
        columns = [r["name"] for r in s.query("PRAGMA table_info(login_logs)")]
        self.assertEqual(columns, LOGIN_LOGS_COLUMNS)
        columns = {r["name"] for r in s.query("PRAGMA table_info(sessions)")}
        self.assertFalse(SESSIONS_COLUMNS - columns, f"sessions lacks {SESSIONS_COLUMNS - columns}")

        cp = s.cli("migrate")
        self.assertEqual(cp.returncode, 0, "second migrate: " + cp.stdout + cp.stderr)
        # the server starts on the migrated database
        s.start()
        self.assert_status(s.get("/healthz"), 200)


class UserCommandsTest(SolodTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s = cls.class_server({"limits": NO_LIMITS})

    def add(self, name, password, *flags):
        return self.s.cli("user", "add", name, *flags, "--password-stdin", stdin=password + "\n")

    def test_add_admin_and_passwd(self):
        cp = self.add("alice", "alice-password-1", "--admin", "--full-name", "Alice A",
                      "--email", "a@x.org")
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        body = self.s.login_ok("alice", "alice-password-1")
        user = body["user"]
        self.assert_user(user, "alice")
        self.assertIs(user["is_admin"], True)
        self.assertEqual(user["full_name"], "Alice A")
        self.assertEqual(user["email"], "a@x.org")

        cp = self.s.cli("user", "passwd", "alice", "--password-stdin", stdin="alice-password-2\n")
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assert_error(self.s.login("alice", "alice-password-1"), 401, "invalid_credentials")
        self.assert_status(self.s.login("alice", "alice-password-2"), 200)

        for name in ("alice", "ALICE"):
            with self.subTest(duplicate=name):
                cp = self.add(name, "another-password")
                self.assertNotIn(cp.returncode, (0, None))
                text = (cp.stdout + cp.stderr).lower()
                self.assertTrue("alice" in text or "exist" in text or "taken" in text,
                                f"unclear message: {text!r}")
        # the duplicate attempts did not change the password
        self.assert_status(self.s.login("alice", "alice-password-2"), 200)

    def test_add_non_admin_without_trailing_newline(self):
        cp = self.s.cli("user", "add", "frank", "--password-stdin", stdin="frank-password")
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        user = self.s.login_ok("frank", "frank-password")["user"]
        self.assertIs(user["is_admin"], False)

    def test_disable_enable(self):
        name, pw = self.s.new_user("bob-password")
        cp = self.s.cli("user", "disable", name)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assert_error(self.s.login(name, pw), 401, "invalid_credentials")
        cp = self.s.cli("user", "enable", name)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assert_status(self.s.login(name, pw), 200)

    def test_bad_input_fails(self):
        cases = {
            "short password": ("user", "add", "gina", "--password-stdin"),
            "bad username": ("user", "add", "no spaces allowed", "--password-stdin"),
            "passwd unknown user": ("user", "passwd", "nobody-here", "--password-stdin"),
            "disable unknown user": ("user", "disable", "nobody-here"),
            "enable unknown user": ("user", "enable", "nobody-here"),
        }
        for label, args in cases.items():
            with self.subTest(label):
                stdin = "short\n" if label == "short password" else "long-enough-password\n"
                cp = self.s.cli(*args, stdin=stdin)
                self.assertNotIn(cp.returncode, (0, None), cp.stdout + cp.stderr)
                self.assertTrue((cp.stdout + cp.stderr).strip(), "says why")


UA_COMMA = 'Mozilla/5.0 (X11, Linux) "quoted" agent'
FORMULA_UAS = ['=HYPERLINK("http://evil.example/x","x")', "+1 plus-agent", "-2+3 minus-agent",
               "@SUM(1+1) at-agent"]


class AuditExportTest(SolodTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s = s = cls.class_server({"limits": NO_LIMITS})
        cls.carol = s.new_user("carol-password", prefix="carol")[0]
        for ua in [UA_COMMA] + FORMULA_UAS:
            s.login_ok(cls.carol, "carol-password", headers={"User-Agent": ua})
        cls.dave = s.new_user("dave-password", prefix="dave")[0]
        s.login_ok(cls.dave, "dave-password")
        time.sleep(1.1)
        cls.middle = iso_now()
        time.sleep(1.1)
        cls.erin = s.new_user("erin-password", prefix="erin")[0]
        s.login_ok(cls.erin, "erin-password")

    def export(self, *args):
        cp = self.s.cli("audit", "export", *args)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        return cp.stdout

    def export_json(self, *args):
        out = self.export("--format", "json", *args)
        data = json.loads(out)
        events = data["events"] if isinstance(data, dict) else data
        self.assertIsInstance(events, list)
        self.assertTrue(all(isinstance(e, dict) for e in events))
        return events

    @staticmethod
    def usernames(events):
        return {(e.get("username") or "").lower() for e in events}

    def test_csv(self):
        out = self.export("--format", "csv")
        rows = csv_rows(out)
        self.assertGreater(len(rows), 10)
        header = rows[0]
        self.assertTrue(all(h.strip() for h in header), f"header row {header}")
        self.assertTrue(any("agent" in h.lower() for h in header), f"no user agent column: {header}")
        for row in rows[1:]:
            self.assertEqual(len(row), len(header), f"ragged row {row}")
        fields = [f for row in rows[1:] for f in row]
        self.assertIn(UA_COMMA, fields)
        self.assertIn('"' + UA_COMMA.replace('"', '""') + '"', out, "RFC 4180 quoting")
        for ua in FORMULA_UAS:
            with self.subTest(ua=ua):
                self.assertIn("'" + ua, fields, "formula-looking field gets a leading '")
                self.assertNotIn(ua, fields)
        self.assertIn(self.carol, fields)

    def test_json(self):
        events = self.export_json()
        values = {v for e in events for v in e.values() if isinstance(v, str)}
        self.assertIn(UA_COMMA, values)
        for ua in FORMULA_UAS:
            self.assertIn(ua, values, "JSON carries the User-Agent verbatim")
        self.assertTrue({self.carol, self.dave, self.erin} <= self.usernames(events))
        kinds = {e.get("event_type", e.get("event")) for e in events}
        self.assertTrue({"register", "login_success", "session_superseded"} <= kinds, kinds)

    def test_user_filter(self):
        events = self.export_json("--user", self.carol)
        self.assertGreaterEqual(len(events), 1 + 1 + len(FORMULA_UAS))
        self.assertEqual(self.usernames(events), {self.carol})
        rows = csv_rows(self.export("--format", "csv", "--user", self.carol))
        self.assertGreaterEqual(len(rows), 2)
        self.assertNotIn(self.dave, [f for row in rows for f in row])

    def test_time_filters(self):
        after = self.export_json("--from", self.middle)
        before = self.export_json("--to", self.middle)
        self.assertIn(self.erin, self.usernames(after))
        self.assertNotIn(self.dave, self.usernames(after))
        self.assertNotIn(self.carol, self.usernames(after))
        self.assertIn(self.dave, self.usernames(before))
        self.assertNotIn(self.erin, self.usernames(before))
        both = self.export_json("--from", "2000-01-01T00:00:00.000Z", "--to", self.middle,
                                "--user", self.dave)
        self.assertEqual(self.usernames(both), {self.dave})
        for future in ("2100-01-01T00:00:00.000Z", "2999-01-01T00:00:00.000Z"):
            with self.subTest(from_=future):
                self.assertEqual(self.export_json("--from", future), [], f"--from {future}")
        self.assertEqual(self.export_json("--to", "2000-01-01T00:00:00.000Z"), [])

    def test_bad_arguments_fail(self):
        for args in (("--format", "xml"), ("--from", "yesterday")):
            with self.subTest(args=args):
                cp = self.s.cli("audit", "export", *args)
                self.assertNotIn(cp.returncode, (0, None), cp.stdout + cp.stderr)


class ConfigCheckTest(SolodTestCase):
    def test_config_check_prints_effective_config(self):
        secret = "config-check-secret-0123456789abcdefghij"
        s = self.server({"auth": {"token_ttl": "90m"}}, env={"SOLOD_JWT_SECRET": secret},
                        start=False)
        cp = s.cli("config", "check")
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertIn("listen", cp.stdout)
        self.assertIn("127.0.0.1:0", cp.stdout)
        self.assertIn("token_ttl", cp.stdout)
        self.assertNotIn(secret, cp.stdout + cp.stderr, "config check must not print the secret")
        cp = s.cli("config", "check", env={"SOLOD_SERVER_LISTEN": "127.0.0.1:9999"})
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertIn("127.0.0.1:9999", cp.stdout, "environment overrides are applied")


if __name__ == "__main__":
    unittest.main(verbosity=2)
