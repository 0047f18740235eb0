#!/usr/bin/env python3
"""Login rate of users still on an imported legacy hash (issue 11).

Imports USERS accounts with werkzeug's default `pbkdf2:sha256:600000` hashes
(made here by Debian's python3-werkzeug) through `solod user import`, then
logs each in twice with CONCURRENCY clients: the first login verifies the
legacy hash and stores Argon2id in its place, the second is an ordinary
Argon2id login. Reports both rates and checks that no legacy hash is left.
Bounded: every request has a 60 s timeout, and each round is USERS logins.

    python3 bench/legacy_logins.py [USERS] [CONCURRENCY]
"""

import concurrent.futures
import os
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "e2e"))
os.environ.setdefault("SOLOD_SOURCE_DIR", os.path.join(here, ".."))
os.environ.setdefault("SOLOD_BIN", os.path.join(here, "..", "build", "solod"))

from solod_harness import Solod  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

PASSWORD = "legacy-bench-password"


def login_round(server: Solod, names: list[str], concurrency: int) -> float:
    """Logs every name in once; returns logins per second."""
    def one(name: str) -> int:
        return server.login(name, PASSWORD).status
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        statuses = list(pool.map(one, names))
    elapsed = time.perf_counter() - start
    bad = [s for s in statuses if s != 200]
    if bad:
        raise SystemExit(f"{len(bad)} logins failed: {sorted(set(bad))}")
    return len(names) / elapsed


def main() -> int:
    users = int(sys.argv[1]) if len(sys.argv) > 1 else 48
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    server = Solod({"limits": {"login_per_ip_per_minute": 1000000}}).start()
    try:
        names = [f"legacy{i:04d}" for i in range(users)]
        # One hash reused: making 48 of them would take the bench's own minute.
        digest = generate_password_hash(PASSWORD, method="pbkdf2:sha256:600000")
        with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
            f.write("username,password_hash\n")
            f.writelines(f"{n},{digest}\n" for n in names)
        cp = server.cli("user", "import", f.name)
        os.unlink(f.name)
        if cp.returncode != 0:
            raise SystemExit(f"import failed: {cp.stdout} {cp.stderr}")
        legacy = login_round(server, names, concurrency)
        left = server.query("SELECT COUNT(*) AS n FROM users WHERE password_hash NOT LIKE '$argon2id$%'")
        argon = login_round(server, names, concurrency)
        print(f"RESULT legacy_logins users={users} concurrency={concurrency} "
              f"first_login_werkzeug_600k_per_s={legacy:.1f} argon2id_per_s={argon:.1f} "
              f"ratio={legacy / argon:.3f} legacy_hashes_left={left[0]['n']}")
        return 0 if left[0]["n"] == 0 else 1
    finally:
        server.close()


if __name__ == "__main__":
    sys.exit(main())
