"""SPEC §9 `solod user import`, legacy hashes replaced at login, and user_attributes
(the admin API and `solod user attr`), against the real build/solod.

The hashes are made by the real implementations at test time: werkzeug and bcrypt
through Debian's python3 (python3-werkzeug, python3-bcrypt; SOLOD_DEBIAN_PYTHON
overrides the interpreter), the Django and classic forms with hashlib as Django
encodes them. Costs are low (PBKDF2 1000, bcrypt 4) to keep the suite quick.
"""

import base64
import csv
import hashlib
import io
import json
import os
import secrets
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import unittest  # noqa: E402

from solod_harness import SolodTestCase, add_admin_token, unique_name  # noqa: E402

CONFIG = {"limits": {"login_per_ip_per_minute": 100000, "lockout_threshold": 100000}}
DEBIAN_PYTHON = os.environ.get("SOLOD_DEBIAN_PYTHON") or "/usr/bin/python3"

# Reads [[kind, password], ...] as JSON on stdin, prints the hashes as a JSON list.
REAL_HASHER = r"""
import bcrypt, json, sys
from werkzeug.security import check_password_hash, generate_password_hash
out = []
for kind, password in json.load(sys.stdin):
    if kind == "werkzeug":
        h = generate_password_hash(password, "pbkdf2:sha256:1000")
        assert check_password_hash(h, password)
    elif kind == "bcrypt":       # GoTrue (Supabase) exports $2a$
        h = bcrypt.hashpw(password.encode(), bcrypt.gensalt(4, prefix=b"2a")).decode()
    elif kind == "django_bcrypt_sha256":
        import hashlib
        pre = hashlib.sha256(password.encode()).hexdigest().encode()
        h = "bcrypt_sha256$" + bcrypt.hashpw(pre, bcrypt.gensalt(4)).decode()
    else:
        raise SystemExit("unknown kind " + kind)
    out.append(h)
json.dump(out, sys.stdout)
"""


def real_hashes(pairs: list[tuple[str, str]]) -> list[str]:
    cp = subprocess.run([DEBIAN_PYTHON, "-c", REAL_HASHER], input=json.dumps(pairs).encode(),
                        capture_output=True, timeout=60)
    if cp.returncode != 0:
        raise AssertionError(f"{DEBIAN_PYTHON} could not hash (python3-werkzeug and "
                             f"python3-bcrypt installed?): {cp.stderr.decode()}")
    return json.loads(cp.stdout)


def django_pbkdf2(password: str, iterations: int = 1000) -> str:
    salt = secrets.token_hex(8)
    dk = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(dk).decode()}"


def classic_pair(password: str, iterations: int, salt: bytes) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations).hex()


def write_csv(path: str, header: list[str], rows: list[list[str]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    with open(path, "w", encoding="utf-8") as f:
        f.write(buf.getvalue())


class ImportCase(SolodTestCase):
    s = None

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.s = cls.class_server(CONFIG)
        cls.admin, cls.token = add_admin_token(cls.s)

    def stored_hash(self, username: str) -> str:
        rows = self.s.query("SELECT password_hash FROM users WHERE lower(username) = lower(?)",
                            [username])
        self.assertEqual(len(rows), 1, username)
        return rows[0]["password_hash"]

    def user_id(self, username: str) -> int:
        return int(self.s.query("SELECT id FROM users WHERE lower(username) = lower(?)",
                                [username])[0]["id"])

    def listed(self, username: str) -> dict:
        r = self.s.get(f"/api/admin/users?q={username}", token=self.token)
        self.assert_status(r, 200)
        matches = [u for u in r.json["users"] if u["username"] == username]
        self.assertEqual(len(matches), 1, r.json)
        return matches[0]

    def attributes(self, username: str) -> dict:
        r = self.s.get(f"/api/admin/users/{self.user_id(username)}/attributes", token=self.token)
        self.assert_status(r, 200)
        return {a["name"]: (a["type"], a["value"]) for a in r.json["attributes"]}

    def assert_no_hash_in(self, text: str, hashes: list[str]) -> None:
        for h in hashes:
            self.assertNotIn(h, text)
            self.assertNotIn(h[-16:], text, "a hash's tail was printed")

    def assert_login_upgrades(self, username: str, password: str) -> None:
        before = self.stored_hash(username)
        self.assertFalse(before.startswith("$argon2id$"), before[:12])
        self.assertTrue(self.listed(username)["legacy_credentials"])
        body = self.s.login_ok(username, password)
        self.assertEqual(body["user"]["username"], username)
        after = self.stored_hash(username)
        self.assertTrue(after.startswith("$argon2id$v=19$m=19456,t=2,p=1$"), after[:40])
        self.assertFalse(self.listed(username)["legacy_credentials"])
        # The new hash works, the old one is gone.
        self.s.login_ok(username, password)
        self.assertEqual(self.stored_hash(username), after)

    def assert_fails_like_unknown(self, username: str, password: str) -> None:
        wrong = self.s.login(username, password)
        unknown = self.s.login(unique_name("nobody"), password)
        self.assert_error(wrong, 401, "invalid_credentials")
        self.assertEqual(wrong.status, unknown.status)
        self.assertEqual(wrong.json, unknown.json)
        self.assertEqual(wrong.header("Content-Type"), unknown.header("Content-Type"))
        self.s.wait_rows("SELECT * FROM login_logs WHERE event_type = 'login_failure' AND "
                         "username = ? AND error_message = 'bad_password'", [username])


class CsvImportTest(ImportCase):
    def test_csv_import_logs_everyone_in_and_replaces_their_hashes(self):
        names = {k: unique_name(k) for k in ("wz", "gt", "djb", "dj", "boss", "off")}
        pw = {k: f"pw-{k}-{secrets.token_hex(4)} \u00e9" for k in names}
        wz, gt, djb = real_hashes([("werkzeug", pw["wz"]), ("bcrypt", pw["gt"]),
                                   ("django_bcrypt_sha256", pw["djb"])])
        boss = real_hashes([("werkzeug", pw["boss"])])[0]
        off = real_hashes([("bcrypt", pw["off"])])[0]
        dj = django_pbkdf2(pw["dj"])
        hashes = [wz, gt, djb, dj, boss, off]
        path = self.s.path("users.csv")
        write_csv(path, ["username", "password_hash", "full_name", "email", "phone", "is_admin",
                         "is_active", "created_at", "last_login", "attr.team", "attr.plan"], [
            [names["wz"], wz, "Wanda Zeug", "wz@example.com", "+15550100", "0", "1",
             "2023-04-05 06:07:08", "2024-01-02T03:04:05.678901+00:00", "red", "pro"],
            [names["gt"], gt, "Go True", "", "", "false", "true", "", "", "blue", ""],
            [names["djb"], djb, "", "", "", "", "", "2022-01-01T00:00:00Z", "", "", ""],
            [names["dj"], dj, "Django \u00c9", "dj@example.com", "", "no", "yes", "", "", "", ""],
            [names["boss"], boss, "The Boss", "", "", "1", "1", "", "", "", ""],
            [names["off"], off, "", "", "", "0", "0", "", "", "", ""],
        ])
        cp = self.s.cli("user", "import", path)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertIn("imported 6 users", cp.stdout)
        self.assertIn("skipped 0 existing", cp.stdout)
        self.assert_no_hash_in(cp.stdout + cp.stderr, hashes)

        # Carried over: profile, flags, times, attributes (phone among them).
        u = self.listed(names["wz"])
        self.assertEqual((u["full_name"], u["email"], u["is_admin"], u["is_active"]),
                         ("Wanda Zeug", "wz@example.com", False, True))
        self.assertEqual(u["created_at"], "2023-04-05T06:07:08.000Z")
        self.assertEqual(u["last_login"], "2024-01-02T03:04:05.678Z")
        self.assertEqual(self.attributes(names["wz"]), {
            "team": ("string", "red"), "plan": ("string", "pro"), "phone": ("string", "+15550100")})
        self.assertEqual(self.attributes(names["gt"]), {"team": ("string", "blue")})
        self.assertEqual(self.listed(names["djb"])["created_at"], "2022-01-01T00:00:00.000Z")
        self.assertEqual(self.listed(names["dj"])["full_name"], "Django \u00c9")
        self.assertTrue(self.listed(names["boss"])["is_admin"])
        self.assertFalse(self.listed(names["off"])["is_active"])

        # A wrong password answers like any other, before and after the upgrade.
        self.assert_fails_like_unknown(names["wz"], pw["wz"] + "x")
        self.assertTrue(self.stored_hash(names["wz"]).startswith("pbkdf2:sha256:1000$"))
        for k in ("wz", "gt", "djb", "dj", "boss"):
            with self.subTest(k):
                self.assert_login_upgrades(names[k], pw[k])
        self.assert_fails_like_unknown(names["wz"], pw["wz"] + "x")
        # A disabled account with the right password: 401 like the rest, hash kept.
        self.assert_error(self.s.login(names["off"], pw["off"]), 401, "invalid_credentials")
        self.assertTrue(self.stored_hash(names["off"]).startswith("$2a$04$"))
        # is_admin carried over: the imported admin is one.
        boss_token = self.s.login_ok(names["boss"], pw["boss"])["token"]
        self.assert_status(self.s.get("/api/admin/users", token=boss_token), 200)
        # No hash in the server's log either.
        self.assert_no_hash_in(self.s.output(), hashes)

    def test_malformed_rows_are_named_and_nothing_is_imported(self):
        good = unique_name("good")
        names = [unique_name("m") for _ in range(4)]
        secret_hash = django_pbkdf2("some password")
        path = self.s.path("bad.csv")
        write_csv(path, ["username", "password_hash", "is_admin"], [
            [good, django_pbkdf2("good password"), "0"],                 # line 2
            [names[0], "md5$abc$" + secret_hash[-20:], "0"],             # line 3: unknown format
            ["x", django_pbkdf2("pw"), "0"],                             # line 4: bad username
            [names[1], django_pbkdf2("pw"), "maybe"],                    # line 5: bad flag
            [names[2], "pbkdf2_sha256$900000000$salt$" + secret_hash[-44:], "0"],  # line 6: cost
            [secret_hash, names[3], "0"],                                # line 7: shifted columns
            [good.upper(), django_pbkdf2("pw"), "0"],                    # line 8: repeated name
        ])
        cp = self.s.cli("user", "import", path)
        self.assertEqual(cp.returncode, 1, cp.stdout + cp.stderr)
        for line in (3, 4, 5, 6, 7, 8):
            self.assertIn(f"line {line}:", cp.stderr)
        self.assertNotIn("line 2:", cp.stderr)
        self.assertIn("6 malformed lines: nothing imported", cp.stderr)
        self.assertIn("iteration count 900000000", cp.stderr)
        self.assert_no_hash_in(cp.stdout + cp.stderr, [secret_hash])
        self.assertEqual(self.s.query("SELECT id FROM users WHERE lower(username) = lower(?)",
                                      [good]), [])

    def test_existing_names_are_skipped_and_dry_run_writes_nothing(self):
        existing, _ = self.s.new_user(prefix="old")
        before = self.stored_hash(existing)
        fresh = unique_name("new")
        path = self.s.path("mixed.csv")
        write_csv(path, ["username", "password_hash", "attr.level"], [
            [existing.upper(), django_pbkdf2("other password"), "9"],
            [fresh, django_pbkdf2("fresh password"), "3"],
        ])
        dry = self.s.cli("user", "import", path, "--dry-run")
        self.assertEqual(dry.returncode, 0, dry.stdout + dry.stderr)
        self.assertIn("dry run, nothing written: would import 1 user (1 attribute)", dry.stdout)
        self.assertIn(f"would skip 1 existing: {existing.upper()}", dry.stdout)
        self.assertEqual(self.s.query("SELECT id FROM users WHERE username = ?", [fresh]), [])

        cp = self.s.cli("user", "import", path)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertIn("imported 1 user (1 attribute)", cp.stdout)
        self.assertIn(f"skipped 1 existing: {existing.upper()}", cp.stdout)
        self.assertEqual(self.stored_hash(existing), before)  # untouched
        self.assertEqual(self.attributes(existing), {})
        self.s.login_ok(fresh, "fresh password")
        # Importing the same file again skips both.
        again = self.s.cli("user", "import", path)
        self.assertIn("imported 0 users", again.stdout)
        self.assertIn("skipped 2 existing", again.stdout)

    def test_bad_files_and_options_exit_2(self):
        missing = self.s.cli("user", "import", self.s.path("no-such.csv"))
        self.assertEqual(missing.returncode, 2, missing.stderr)
        self.assertIn("cannot read", missing.stderr)
        no_hash_column = self.s.path("nohash.csv")
        write_csv(no_hash_column, ["username", "email"], [["abc", "a@b.c"]])
        self.assertEqual(self.s.cli("user", "import", no_hash_column).returncode, 2)
        unknown_column = self.s.path("unknown.csv")
        write_csv(unknown_column, ["username", "password_hash", "shoe_size"], [["abc", "x", "9"]])
        cp = self.s.cli("user", "import", unknown_column)
        self.assertEqual(cp.returncode, 2)
        self.assertIn("shoe_size", cp.stderr)
        pairs = self.s.path("pairs.csv")
        write_csv(pairs, ["username", "password_hash", "salt"],
                  [[unique_name("p"), classic_pair("pw", 1000, b"salt"), b"salt".hex()]])
        cp = self.s.cli("user", "import", pairs)
        self.assertEqual(cp.returncode, 2)
        self.assertIn("--pbkdf2-iterations", cp.stderr)
        for bad in (["--format", "xml"], ["--pbkdf2-iterations", "0"],
                    ["--pbkdf2-iterations", "99999999999"], ["--salt-encoding", "base64"]):
            with self.subTest(bad):
                cp = self.s.cli("user", "import", pairs, *bad)
                self.assertEqual(cp.returncode, 2, cp.stdout + cp.stderr)
        # A CSV file said to be SQLite is not readable as one.
        self.assertEqual(self.s.cli("user", "import", pairs, "--format", "sqlite").returncode, 2)


class SqliteImportTest(ImportCase):
    def make_classic_db(self, path: str, rows: list[tuple], attributes: list[tuple]) -> None:
        db = sqlite3.connect(path)
        db.executescript("""
            CREATE TABLE users (
                id INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT UNIQUE NOT NULL,
                password_hash TEXT NOT NULL, salt TEXT, email TEXT, full_name TEXT, phone TEXT,
                created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, last_login TIMESTAMP,
                is_active BOOLEAN DEFAULT 1, is_admin BOOLEAN DEFAULT 0);
            CREATE TABLE user_attributes (
                id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL,
                attribute_name TEXT NOT NULL, attribute_value TEXT,
                attribute_type TEXT DEFAULT 'string', created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
                FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
                UNIQUE (user_id, attribute_name));
        """)
        db.executemany("INSERT INTO users (id, username, password_hash, salt, email, full_name, "
                       "phone, is_admin, is_active, last_login) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
        db.executemany("INSERT INTO user_attributes (user_id, attribute_name, attribute_value, "
                       "attribute_type) VALUES (?,?,?,?)", attributes)
        db.commit()
        db.close()

    def test_classic_sqlite_schema_with_salt_hash_pairs_and_attributes(self):
        a, b, c = (unique_name(p) for p in ("ca", "cb", "cc"))
        salt_a, salt_b = "s" + secrets.token_hex(6), "t" + secrets.token_hex(6)
        wz = real_hashes([("werkzeug", "werkzeug password")])[0]
        path = self.s.path("classic.db")
        self.make_classic_db(path, [
            (7, a, classic_pair("alpha password", 1000, salt_a.encode()), salt_a, "a@example.com",
             "Alpha", "555-0101", 1, 1, "2024-05-06 07:08:09"),
            (9, b, classic_pair("bravo password", 1000, salt_b.encode()), salt_b, None, "Bravo",
             None, 0, 1, None),
            (12, c, wz, None, None, None, None, 0, 1, None),
        ], [
            (7, "department", "ops", "string"),
            (7, "level", "42", "integer"),
            (7, "beta", "true", "boolean"),
            (7, "prefs", '{"theme": "dark"}', "json"),
            (9, "score", "2.5", "float"),
        ])
        hashes = [wz, classic_pair("alpha password", 1000, salt_a.encode())]
        cp = self.s.cli("user", "import", path, "--pbkdf2-iterations", "1000",
                        "--salt-encoding", "utf8")
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertIn("imported 3 users (6 attributes)", cp.stdout)
        self.assertIn("2 solod-pbkdf2-sha256", cp.stdout)
        self.assertIn("1 werkzeug-pbkdf2", cp.stdout)
        self.assert_no_hash_in(cp.stdout + cp.stderr, hashes)
        self.assertTrue(self.stored_hash(a).startswith("solod-pbkdf2-sha256$1000$"))

        self.assertEqual(self.attributes(a), {
            "department": ("string", "ops"), "level": ("integer", 42), "beta": ("boolean", True),
            "prefs": ("json", {"theme": "dark"}), "phone": ("string", "555-0101")})
        self.assertEqual(self.attributes(b), {"score": ("float", 2.5)})
        self.assertTrue(self.listed(a)["is_admin"])
        self.assertEqual(self.listed(a)["last_login"], "2024-05-06T07:08:09.000Z")

        self.assert_fails_like_unknown(a, "alpha passworD")
        self.assert_login_upgrades(a, "alpha password")
        self.assert_login_upgrades(b, "bravo password")
        self.assert_login_upgrades(c, "werkzeug password")

    def test_hex_salts_are_the_default(self):
        name = unique_name("hx")
        salt = secrets.token_bytes(16)
        path = self.s.path("hex.db")
        self.make_classic_db(path, [(1, name, classic_pair("hex password", 1100, salt), salt.hex(),
                                     None, None, None, 0, 1, None)], [])
        # A salt that is not hex is a malformed row under the default encoding.
        bad = self.s.path("badhex.db")
        self.make_classic_db(bad, [(1, unique_name("bh"), classic_pair("x", 1100, b"zz"), "zz-not-hex",
                                    None, None, None, 0, 1, None)], [])
        cp = self.s.cli("user", "import", bad, "--pbkdf2-iterations", "1100")
        self.assertEqual(cp.returncode, 1, cp.stdout + cp.stderr)
        self.assertIn("row 1: the salt is not hex", cp.stderr)
        cp = self.s.cli("user", "import", path, "--pbkdf2-iterations", "1100")
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assert_login_upgrades(name, "hex password")


class AttributeTest(ImportCase):
    def test_attribute_api_typed_values_audit_and_rules(self):
        name, _ = self.s.new_user(prefix="at")
        uid = self.user_id(name)
        base = f"/api/admin/users/{uid}/attributes"
        self.assertEqual(self.s.get(base, token=self.token).json, {"attributes": []})
        for key, body, expected in [
            ("plan", {"value": "pro"}, ("string", "pro")),
            ("seats", {"value": 12}, ("integer", 12)),
            ("ratio", {"value": 0.25}, ("float", 0.25)),
            ("trial", {"value": False}, ("boolean", False)),
            ("tags", {"value": ["a", "b"]}, ("json", ["a", "b"])),
            ("code", {"value": "007", "type": "string"}, ("string", "007")),
            ("limit", {"value": 5, "type": "float"}, ("float", 5.0)),
        ]:
            with self.subTest(key):
                r = self.s.request("PUT", f"{base}/{key}", body, token=self.token)
                self.assert_status(r, 200)
                self.assertEqual((r.json["attribute"]["type"], r.json["attribute"]["value"]),
                                 expected)
        self.assertEqual(self.attributes(name)["seats"], ("integer", 12))
        # Replace keeps one row; the type follows the new value.
        self.assert_status(self.s.request("PUT", f"{base}/seats", {"value": "many"},
                                          token=self.token), 200)
        self.assertEqual(self.attributes(name)["seats"], ("string", "many"))
        # Bad input.
        for path, body in [(f"{base}/seats", {"value": "x", "type": "integer"}),
                           (f"{base}/seats", {"value": 1, "type": "decimal"}),
                           (f"{base}/seats", {"value": None}),
                           (f"{base}/seats", {"type": "string"}),
                           (f"{base}/seats", {"value": 1, "extra": 2}),
                           (f"{base}/bad%20name", {"value": 1}),
                           (f"{base}/seats", {"value": "x" * 5000})]:
            with self.subTest(path=path, body=str(body)[:40]):
                self.assert_error(self.s.request("PUT", path, body, token=self.token), 400)
        self.assert_error(self.s.request("PUT", f"{base}/seats", "{nope", token=self.token),
                          400, "invalid_json")
        self.assert_error(self.s.request("PUT", "/api/admin/users/99999999/attributes/x",
                                         {"value": 1}, token=self.token), 404, "not_found")
        self.assert_error(self.s.get("/api/admin/users/99999999/attributes", token=self.token),
                          404, "not_found")
        self.assert_error(self.s.request("POST", base, {"value": 1}, token=self.token), 405)
        # Attributes named like the data-subject routes (.../export, .../erase)
        # are attributes: only /users/{id}/export and /users/{id}/erase are not.
        for attr in ("export", "erase"):
            with self.subTest(attr=attr):
                self.assert_status(self.s.request("PUT", f"{base}/{attr}", {"value": attr},
                                                  token=self.token), 200)
                self.assertEqual(self.attributes(name)[attr], ("string", attr))
                self.assertEqual(self.s.request("DELETE", f"{base}/{attr}", token=self.token).status, 204)
        # Delete.
        self.assertEqual(self.s.request("DELETE", f"{base}/plan", token=self.token).status, 204)
        self.assert_error(self.s.request("DELETE", f"{base}/plan", token=self.token), 404)
        self.assertNotIn("plan", self.attributes(name))
        # CSRF and admins only.
        foreign = self.s.request("PUT", f"{base}/x", {"value": 1}, token=self.token,
                                 headers={"Origin": "https://evil.example.net"})
        self.assert_error(foreign, 403, "forbidden")
        user_token = self.s.login_ok(name, "correct horse battery")["token"]
        self.assert_error(self.s.get(base, token=user_token), 403, "forbidden")
        self.assert_error(self.s.request("PUT", f"{base}/x", {"value": 1}, token=user_token),
                          403, "forbidden")
        self.assert_error(self.s.get(base), 401)
        self.assertNotIn("x", self.attributes(name))
        # Audited like the other admin writes.
        self.s.wait_rows("SELECT * FROM login_logs WHERE event_type = 'admin_action' AND "
                         "username = ? AND error_message = ?",
                         [self.admin, f"set attribute seats (integer) of {name} (id {uid})"])
        self.s.wait_rows("SELECT * FROM login_logs WHERE event_type = 'admin_action' AND "
                         "username = ? AND error_message = ?",
                         [self.admin, f"delete attribute plan of {name} (id {uid})"])

    def test_attr_cli(self):
        name, _ = self.s.new_user(prefix="ac")
        cp = self.s.cli("user", "attr", name, "level", "7", "--type", "integer")
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertIn("set attribute level (integer)", cp.stdout)
        self.assertEqual(self.s.cli("user", "attr", name, "team", "blue").returncode, 0)
        cp = self.s.cli("user", "attr", name)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertEqual(cp.stdout.splitlines(), ["level\tinteger\t7", "team\tstring\tblue"])
        cp = self.s.cli("user", "attr", name, "level")
        self.assertEqual(cp.stdout, "7\n")
        # The type is kept on a new value; a value of the wrong type is refused.
        self.assertEqual(self.s.cli("user", "attr", name, "level", "8").returncode, 0)
        self.assertEqual(self.attributes(name)["level"], ("integer", 8))
        self.assertEqual(self.s.cli("user", "attr", name, "level", "eight").returncode, 2)
        self.assertEqual(self.s.cli("user", "attr", name, "x", "1", "--type", "money").returncode, 2)
        self.assertEqual(self.s.cli("user", "attr", name, "bad key", "1").returncode, 2)
        self.assertEqual(self.s.cli("user", "attr", name, "nothing").returncode, 1)
        self.assertEqual(self.s.cli("user", "attr", unique_name("ghost")).returncode, 1)
        cp = self.s.cli("user", "attr", name, "team", "--delete")
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertEqual(self.attributes(name), {"level": ("integer", 8)})
        self.assertEqual(self.s.cli("user", "attr", name, "team", "--delete").returncode, 1)


if __name__ == "__main__":
    unittest.main()
