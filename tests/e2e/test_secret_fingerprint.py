"""One JWT secret for every node of a database (issue 10): the database keeps
a fingerprint of the secret (an HMAC of a fixed label, never the secret), and
a node whose secret gives another fingerprint refuses to start, with exit
code 2 and a message naming the problem."""

import hashlib
import hmac
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import unittest  # noqa: E402

from solod_harness import Solod, SolodError, SolodTestCase  # noqa: E402

SECRET_A = "secret-of-node-a-" + os.urandom(16).hex()
SECRET_B = "secret-of-node-b-" + os.urandom(16).hex()
MISMATCH = "JWT secret differs from the one the other nodes of this database use"
LABEL = b"solod jwt secret fingerprint v1"


def fingerprint(secret: str) -> str:
    return hmac.new(secret.encode(), LABEL, hashlib.sha256).hexdigest()


class SecretFingerprintTest(SolodTestCase):
    def start_refused(self, s: Solod) -> str:
        """Starts `s`, expects exit code 2; returns what this start printed."""
        before = len(s.output())
        with self.assertRaises(SolodError):
            s.start()
        self.assertEqual(s.proc.returncode, 2, s.output()[before:])
        return s.output()[before:]

    def stored_fingerprints(self, s: Solod) -> list[str]:
        rows = s.query("SELECT value FROM cluster_settings WHERE name = 'jwt_secret_fingerprint'")
        return [r["value"] for r in rows]

    def assert_no_secret(self, s: Solod, *secrets_: str) -> None:
        sources = {"output": s.output()}
        for path in s.log_files():
            with open(path, encoding="utf-8", errors="replace") as f:
                sources[path] = f.read()
        for where, text in sources.items():
            for secret in secrets_:
                self.assertNotIn(secret, text, f"a JWT secret appears in {where}")

    def test_restart_with_another_secret_is_refused(self):
        s = self.server(env={"SOLOD_JWT_SECRET": SECRET_A})
        name, pw = s.new_user()
        token = s.login_ok(name, pw)["token"]
        self.assertEqual(self.stored_fingerprints(s), [fingerprint(SECRET_A)])
        self.assertEqual(s.stop(), 0)

        s.env["SOLOD_JWT_SECRET"] = SECRET_B
        out = self.start_refused(s)
        self.assertIn(MISMATCH, out)
        self.assertIn("fingerprint mismatch", out)
        self.assertIn("SOLOD_JWT_SECRET", out)
        self.assertEqual(self.stored_fingerprints(s), [fingerprint(SECRET_A)],
                         "a refused node leaves the fingerprint alone")

        s.env["SOLOD_JWT_SECRET"] = SECRET_A
        s.start()
        self.assert_status(s.me(token), 200, "the old token, signed with the same secret")
        self.assertEqual(s.stop(), 0)
        self.assert_no_secret(s, SECRET_A, SECRET_B)
        values = [r["value"] for r in s.query("SELECT value FROM cluster_settings")]
        self.assertFalse([v for v in values if SECRET_A in v or SECRET_B in v],
                         "a JWT secret stored in cluster_settings")

    def test_changed_secret_file_is_refused(self):
        s = self.server({"auth": {"jwt_secret_file": "jwt-secret.txt"}}, start=False)
        with open(s.path("jwt-secret.txt"), "w") as f:
            f.write(SECRET_A + "\n")
        s.start()
        self.assertEqual(s.stop(), 0)
        with open(s.path("jwt-secret.txt"), "w") as f:
            f.write(SECRET_B + "\n")
        out = self.start_refused(s)
        self.assertIn(MISMATCH, out)
        self.assertIn("jwt_secret_file", out)
        with open(s.path("jwt-secret.txt"), "w") as f:
            f.write(SECRET_A + "\n")
        s.start()

    def shared_url(self, s: Solod) -> str:
        """`s`'s database URL, usable from another server's directory."""
        url = s.config["database"]["url"]
        prefix = "sqlite3://"
        if url.startswith(prefix) and not url[len(prefix):].startswith("/"):
            url = prefix + s.path(url[len(prefix):])
        return url

    def test_second_node_with_another_secret_is_refused(self):
        a = self.server(env={"SOLOD_JWT_SECRET": SECRET_A})
        b = self.server({"database": {"url": self.shared_url(a)}},
                        env={"SOLOD_JWT_SECRET": SECRET_B}, start=False)
        out = self.start_refused(b)
        self.assertIn(MISMATCH, out)
        self.assertTrue(a.running(), "the running node is not disturbed")
        name, pw = a.new_user()
        a.login_ok(name, pw)

    def test_nodes_started_together_agree_on_one_secret(self):
        # Two nodes with different secrets start on an empty database at the
        # same moment: exactly one writes its fingerprint and starts.
        first = Solod(env={"SOLOD_JWT_SECRET": SECRET_A})
        self.addCleanup(first.close)
        second = Solod({"database": {"url": self.shared_url(first)}},
                       env={"SOLOD_JWT_SECRET": SECRET_B})
        self.addCleanup(second.close)
        # The schema first (the migration race is not this test's subject).
        cp = first.cli("migrate")
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertEqual(self.stored_fingerprints(first), [])
        results = {}

        def start(key, node):
            try:
                node.start()
                results[key] = "started"
            except SolodError:
                results[key] = node.proc.returncode

        threads = [threading.Thread(target=start, args=(k, n))
                   for k, n in (("a", first), ("b", second))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(sorted(map(str, results.values())), ["2", "started"], results)
        winner = SECRET_A if results["a"] == "started" else SECRET_B
        self.assertEqual(self.stored_fingerprints(first), [fingerprint(winner)])


if __name__ == "__main__":
    unittest.main(verbosity=2)
