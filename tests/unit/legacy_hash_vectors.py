#!/usr/bin/env python3
"""Test vectors for tests/unit/legacy_hash_test.cpp, made at test time by the real
implementations: Debian's python3-werkzeug, python3-bcrypt and python3-argon2, and
Python's hashlib for the Django and classic forms (Django's own encoders, in a few
lines). Prints one JSON object: {"password", "vectors": [{"family", "hash"}],
"classic": [{"salt_hex"|"salt_utf8", "hash_hex", "iterations"}]}.

Each vector is checked here by its own library's verifier where there is one, so a
vector solod rejects is solod's bug, not the generator's. Costs are low (bcrypt 4,
PBKDF2 1000), but for one vector per family at the library's default.
"""

import base64
import hashlib
import json
import secrets
import string
import sys

import argon2
import bcrypt
import werkzeug
from werkzeug.security import check_password_hash, generate_password_hash

PASSWORD = "correct horse \u2713 battery"
PW = PASSWORD.encode()


def alnum(n: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(n))


def werkzeug_scrypt(n: int, r: int, p: int) -> str:
    """The installed werkzeug's scrypt if it has one (2.3+), else its format over hashlib."""
    try:
        h = generate_password_hash(PASSWORD, f"scrypt:{n}:{r}:{p}")
        if h.startswith("scrypt:"):
            return h
    except Exception:
        pass
    salt = alnum(16)
    dk = hashlib.scrypt(PW, salt=salt.encode(), n=n, r=r, p=p, maxmem=132 * n * r * p)
    return f"scrypt:{n}:{r}:{p}${salt}${dk.hex()}"


def django_pbkdf2(algorithm: str, iterations: int) -> str:
    # django.contrib.auth.hashers.PBKDF2PasswordHasher.encode
    salt = alnum(22)
    digest = {"pbkdf2_sha256": "sha256", "pbkdf2_sha1": "sha1"}[algorithm]
    dk = hashlib.pbkdf2_hmac(digest, PW, salt.encode(), iterations)
    return f"{algorithm}${iterations}${salt}${base64.b64encode(dk).decode().strip()}"


def django_bcrypt(rounds: int, sha256: bool) -> str:
    # BCryptSHA256PasswordHasher / BCryptPasswordHasher.encode
    secret = hashlib.sha256(PW).hexdigest().encode() if sha256 else PW
    h = bcrypt.hashpw(secret, bcrypt.gensalt(rounds)).decode()
    assert bcrypt.checkpw(secret, h.encode())
    return ("bcrypt_sha256$" if sha256 else "bcrypt$") + h


def plain_bcrypt(rounds: int, prefix: bytes) -> str:
    h = bcrypt.hashpw(PW, bcrypt.gensalt(rounds, prefix=prefix)).decode()
    assert bcrypt.checkpw(PW, h.encode())
    return h


def argon2_phc(kind: argon2.Type, memory_kib: int, passes: int, lanes: int) -> str:
    ph = argon2.PasswordHasher(time_cost=passes, memory_cost=memory_kib, parallelism=lanes,
                               type=kind)
    h = ph.hash(PASSWORD)
    assert ph.verify(h, PASSWORD)
    return h


def main() -> None:
    vectors = []

    def add(family: str, stored: str) -> None:
        vectors.append({"family": family, "hash": stored})

    for method in ("pbkdf2:sha256:1000", "pbkdf2:sha512:1000", "pbkdf2:sha1:1000"):
        h = generate_password_hash(PASSWORD, method)
        assert check_password_hash(h, PASSWORD)
        add("werkzeug-pbkdf2", h)
    default = generate_password_hash(PASSWORD)  # the installed werkzeug's default
    assert default.startswith("pbkdf2:sha256:") or default.startswith("scrypt:"), default
    add("werkzeug-pbkdf2" if default.startswith("pbkdf2") else "werkzeug-scrypt", default)
    add("werkzeug-scrypt", werkzeug_scrypt(1024, 8, 1))
    add("werkzeug-scrypt", werkzeug_scrypt(32768, 8, 1))  # werkzeug 3's default
    add("django-pbkdf2", django_pbkdf2("pbkdf2_sha256", 1000))
    add("django-pbkdf2", django_pbkdf2("pbkdf2_sha1", 1000))
    add("django-argon2", "argon2" + argon2_phc(argon2.Type.ID, 8192, 2, 8))
    add("django-argon2", "argon2" + argon2_phc(argon2.Type.I, 8192, 2, 2))
    add("django-bcrypt", django_bcrypt(4, sha256=False))
    add("django-bcrypt-sha256", django_bcrypt(4, sha256=True))
    add("bcrypt", plain_bcrypt(4, b"2b"))
    add("bcrypt", plain_bcrypt(10, b"2a"))  # GoTrue (Supabase): Go's bcrypt, $2a$, cost 10
    two_y = "$2y$" + plain_bcrypt(4, b"2b")[4:]  # PHP's prefix; the same algorithm as $2b$
    assert bcrypt.checkpw(PW, two_y.encode())
    add("bcrypt", two_y)
    add("argon2id", argon2_phc(argon2.Type.ID, 8192, 1, 1))
    add("argon2id", argon2_phc(argon2.Type.ID, 8192, 2, 4))
    add("argon2i", argon2_phc(argon2.Type.I, 8192, 2, 1))

    classic = []
    salt = secrets.token_bytes(16)
    classic.append({"salt_hex": salt.hex(), "iterations": 1000,
                    "hash_hex": hashlib.pbkdf2_hmac("sha256", PW, salt, 1000).hex()})
    text_salt = alnum(12)
    classic.append({"salt_utf8": text_salt, "iterations": 1200,
                    "hash_hex": hashlib.pbkdf2_hmac("sha256", PW, text_salt.encode(), 1200).hex()})

    json.dump({"password": PASSWORD, "werkzeug": getattr(werkzeug, "__version__", "?"),
               "vectors": vectors, "classic": classic}, sys.stdout)


if __name__ == "__main__":
    main()
