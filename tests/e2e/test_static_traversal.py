"""SPEC §6 / ISSUE 9 point 11: the static pages never serve a file outside static_dir.

static_dir is a directory of the test's own, beside a secret file; every classic
traversal (`..`, `%2e%2e`, encoded slashes and backslashes, absolute paths, NUL, hidden
files, a symbolic link pointing out) must get 400 or 404 and never the secret. Requests
go over a raw socket so that no client library normalizes the path first.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from solod_harness import Solod, SolodTestCase  # noqa: E402

SECRET = b"TOP-SECRET-0f6c2a"
PAGE = b"<!doctype html><title>inside</title>"


class StaticTraversalTest(SolodTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = Solod()
        static = s.path("static")
        os.makedirs(os.path.join(static, "sub"))
        for name, body in (("index.html", PAGE), ("app.html", PAGE), ("admin.html", PAGE),
                           ("sub/page.html", PAGE), (".hidden", SECRET),
                           ("sub/.hidden", SECRET)):
            with open(os.path.join(static, name), "wb") as f:
                f.write(body)
        with open(s.path("secret.txt"), "wb") as f:
            f.write(SECRET)
        os.symlink(s.path("secret.txt"), os.path.join(static, "link-out.html"))
        os.symlink(os.path.join(static, "sub", "page.html"), os.path.join(static, "link-in.html"))
        s.config["server"]["static_dir"] = static
        s.write_config()
        cls._class_servers.append(s)
        cls.s = s.start()

    def get(self, target: bytes):
        r = self.s.raw_exchange(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n"
                                b"Connection: close\r\n\r\n")
        return r

    def test_files_inside_are_served(self):
        for target in (b"/", b"/index.html", b"/app", b"/admin", b"/sub/page.html",
                       b"/link-in.html"):
            r = self.get(target)
            self.assertEqual(r.status, 200, target)
            self.assertEqual(r.body, PAGE, target)

    def test_nothing_outside_or_hidden_is_served(self):
        targets = [
            b"/../secret.txt", b"/sub/../../secret.txt", b"/./../secret.txt",
            b"/%2e%2e/secret.txt", b"/%2E%2E/secret.txt", b"/..%2fsecret.txt",
            b"/%2e%2e%2fsecret.txt", b"/sub/%2e%2e/%2e%2e/secret.txt",
            b"/..%5csecret.txt", b"/..\\secret.txt", b"/sub\\..\\..\\secret.txt",
            b"/%252e%252e/secret.txt", b"/.%2e/secret.txt", b"/%c0%ae%c0%ae/secret.txt",
            b"//etc/passwd", b"/%2fetc%2fpasswd", b"/etc/passwd", b"///etc/passwd",
            os.fsencode(self.s.path("secret.txt")), b"/" + os.fsencode(self.s.path("secret.txt")),
            b"/index.html%00.png", b"/index.html%00", b"/index.html\x00", b"/%00",
            b"/.hidden", b"/sub/.hidden", b"/sub/./.hidden", b"/link-out.html",
            b"/sub/", b"/sub", b"/.", b"/..", b"/sub//page.html",
            b"/\xc0\xae\xc0\xae/secret.txt", b"/\xff/../secret.txt",
        ]
        for target in targets:
            with self.subTest(target=target):
                r = self.get(target)
                self.assertIn(r.status, (400, 404), f"{target!r}: {r.raw[:200]!r}")
                self.assertNotIn(SECRET, r.raw)
                self.assertNotIn(b"root:", r.raw)
        # Still serving after all that.
        self.assertEqual(self.get(b"/index.html").status, 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
