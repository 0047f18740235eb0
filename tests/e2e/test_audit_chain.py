"""Issue 15: the tamper-evident audit log, end to end, on the real binary.

Every audit row carries a per-row key (`chain_key`) and a hash (`row_hash`) that
chains over the row before it; `audit_chain` holds the chain's head, and
`audit_checkpoints` holds Ed25519-signed checkpoints of that head (every
`[audit] checkpoint_interval`, and at shutdown). What is checked here:

- KeyTest: `data/audit_signing.key` is made 0600 on first start (or by
  `solod audit pubkey`; `audit export --with-proof` makes none and exits 1),
  `audit pubkey` prints its public key, a configured `signing_key_file` is
  used instead; what the key signed last is kept beside it (`KEYFILE.last`,
  "ROW HEADHEX").
- ChainFormatTest: the chain as stored is recomputed here, in Python, from the
  design (BLAKE2b commitments and row hashes, Ed25519 checkpoints over row,
  genesis_id, head and time): so an "intact" from `solod audit verify` means
  something a third party can check.
- TamperTest (SQLite: each case edits a fresh copy of a stopped server's
  data directory, its key and `.last` included, and verifies with its
  config): `solod audit verify` exits 1 and names exactly the first broken
  row and its kind, for a changed field (every column), a deleted row (first,
  middle, last), an inserted row, a reordering, a forged checkpoint and a
  checkpoint by a key it does not trust; exit 2 on bad input. And what the
  database alone cannot show: signed rows rewritten with every later hash
  recomputed and the newer checkpoints deleted (verify names the row the node
  signed last; a server started on it refuses to sign: no checkpoint, export
  exit 1, admin proof 409), the chain's start moved to its end, its tail cut
  off with the state row fitted.
- RetentionTest: retention cuts the chain only below a checkpoint made before
  the cut-off (that checkpoint stays as the anchor) and verify stays intact;
  a span longer than a batch (1000 rows) is cut whole at the nearest
  checkpoint beyond. solod has no clock the end-to-end tests can move
  (SOLOD_TEST_HOOKS only injects failures), so "a checkpoint made 40 days
  ago" is made by re-signing a real checkpoint with the node's own key (from
  its key file, here in Python) with an older `created_at`, or by writing a
  whole old chain in Python. An upgraded database: rows from before the
  chain began (migration 7's genesis_id) are "not covered" and go by their
  time.
- ErasureTest: `POST /api/admin/users/{id}/erase` and `solod user erase` keep
  the chain intact (the person's rows are sealed first); a sealed row that is
  changed afterwards is still caught, and so is a sealed field that holds
  anything but the erased account's pseudonym (or nothing).
- CrashTest: kill -9 in the middle of a flood of logins leaves an intact,
  gap-free chain, three times over in one data directory; `audit verify` run
  while logins flow says intact.
- ReportTest: `solod audit export --with-proof` (CSV and JSON, whole log,
  --from/--to, --user) and the admin `GET /api/admin/audit.csv?proof=1` pass
  `solod audit verify-report` in an empty directory with no database; every
  single changed byte of a small report, a sample of a bigger one, a wrong
  key, a missing or moved line, text added to the signature record all fail
  it. Anchors and closing checkpoints carry genesis_id.
- ClusterChainTest (PostgreSQL only, SOLOD_TEST_PG_URL): two nodes with their
  own keys, each trusting the other's, take logins at once; the one chain
  verifies, and a changed row is named.

Run: SOLOD_BIN=build/solod SOLOD_SOURCE_DIR=$PWD python3 tests/e2e/test_audit_chain.py
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import random
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import unittest  # noqa: E402

# The sanitized suite (scripts/sanitized-test.sh) runs the binaries with reports to files.
SANITIZED = "log_path=" in os.environ.get("ASAN_OPTIONS", "")

from cluster_testing import ClusterTestCase  # noqa: E402
from solod_harness import (AUDIT_COLUMNS, KEEP_DIRS, SOLOD_BIN, Solod, SolodTestCase,  # noqa: E402
                           add_admin_token, child_env, csv_rows, insert_audit_rows, iso_at,
                           iso_now, merge_config, pg_enabled, sqlite_only, wait_until,
                           with_query)

PASSWORD = "audit-chain-password-1"
WRONG_PASSWORD = "not-the-password-1"
NO_LIMITS = {"login_per_ip_per_minute": 1000000, "lockout_threshold": 100000}
# A checkpoint every second, so that the tests meet several without waiting long.
CONFIG = {"limits": NO_LIMITS, "audit": {"checkpoint_interval": "1s", "durability": "commit"}}

HEX32_RE = re.compile(r"^[0-9a-f]{32}$")
HEX64_RE = re.compile(r"^[0-9a-f]{64}$")
HEX128_RE = re.compile(r"^[0-9a-f]{128}$")
FIRST_BROKEN_RE = re.compile(r"^first broken row: (\d+) \((.+)\)$")
DELETED_RE = re.compile(r"retention: deleted (\d+) audit rows")
REPORT_COLUMNS = ["record", "id", "timestamp", "event_type", "user_id", "username", "session_id",
                  "ip_address", "user_agent", "status", "error_message", "legal_basis", "chain_key",
                  "content_digest", "row_hash", "public_key", "signature", "range_from", "range_to",
                  "genesis_id"]
ZERO_HEAD = "0" * 64


# -- Ed25519 (RFC 8032 section 6, the reference code; slow and not constant-time: tests only) ---

_P = 2 ** 255 - 19
_Q = 2 ** 252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _point_add(a, b):
    p1 = (a[1] - a[0]) * (b[1] - b[0]) % _P
    p2 = (a[1] + a[0]) * (b[1] + b[0]) % _P
    c = 2 * a[3] * b[3] * _D % _P
    d = 2 * a[2] * b[2] % _P
    e, f, g, h = p2 - p1, d - c, d + c, p2 + p1
    return (e * f, g * h, f * g, e * h)


def _point_mul(s, pt):
    acc = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            acc = _point_add(acc, pt)
        pt = _point_add(pt, pt)
        s >>= 1
    return acc


def _point_equal(a, b):
    return ((a[0] * b[2] - b[0] * a[2]) % _P == 0) and ((a[1] * b[2] - b[1] * a[2]) % _P == 0)


def _recover_x(y, sign):
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P)
    if x2 % _P == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P != 0:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P != 0:
        return None
    if (x & 1) != sign:
        x = _P - x
    return x


_GY = 4 * pow(5, _P - 2, _P) % _P
_GX = _recover_x(_GY, 0)
_G = (_GX, _GY, 1, _GX * _GY % _P)


def _compress(pt) -> bytes:
    zinv = pow(pt[2], _P - 2, _P)
    x, y = pt[0] * zinv % _P, pt[1] * zinv % _P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _decompress(data: bytes):
    y = int.from_bytes(data, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % _P)


def _expand(seed: bytes):
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return a, h[32:]


def _sha512_modq(data: bytes) -> int:
    return int.from_bytes(hashlib.sha512(data).digest(), "little") % _Q


def ed25519_public(seed: bytes) -> bytes:
    return _compress(_point_mul(_expand(seed)[0], _G))


def ed25519_sign(seed: bytes, msg: bytes) -> bytes:
    a, prefix = _expand(seed)
    public = _compress(_point_mul(a, _G))
    r = _sha512_modq(prefix + msg)
    big_r = _compress(_point_mul(r, _G))
    s = (r + _sha512_modq(big_r + public + msg) * a) % _Q
    return big_r + s.to_bytes(32, "little")


def ed25519_verify(public: bytes, msg: bytes, sig: bytes) -> bool:
    if len(public) != 32 or len(sig) != 64:
        return False
    a, r = _decompress(public), _decompress(sig[:32])
    s = int.from_bytes(sig[32:], "little")
    if a is None or r is None or s >= _Q:
        return False
    h = _sha512_modq(sig[:32] + public + msg)
    return _point_equal(_point_mul(s, _G), _point_add(r, _point_mul(h, a)))


# -- the chain's hashes, as the design states them (src/storage/audit_chain_hash.hpp) ----------

def _le64(n: int) -> bytes:
    return (n & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little")


def _text(value: str | None) -> bytes:
    data = (value or "").encode("utf-8")
    return _le64(len(data)) + data


PERSONAL = ("username", "ip_address", "user_agent", "error_message")


def personal_commitments(chain_key: str, row) -> list[bytes]:
    """The keyed BLAKE2b commitments of the personal fields, from a row key or a sealed key."""
    values = [(row[c] or "").encode("utf-8") for c in PERSONAL]
    if chain_key.startswith("sealed:"):
        items = chain_key[len("sealed:"):].split(",")
        if len(items) != 4:
            raise ValueError(f"malformed sealed key {chain_key!r}")
        out = []
        for item, value in zip(items, values):
            if item[0] == "k":
                out.append(hashlib.blake2b(value, key=bytes.fromhex(item[1:]), digest_size=32).digest())
            elif item[0] == "c":
                out.append(bytes.fromhex(item[1:]))
            else:
                raise ValueError(f"malformed sealed key {chain_key!r}")
        return out
    keys = hashlib.blake2b(b"solod-audit-fields-v1", key=bytes.fromhex(chain_key),
                           digest_size=64).digest()
    return [hashlib.blake2b(value, key=keys[16 * i:16 * i + 16], digest_size=32).digest()
            for i, value in enumerate(values)]


def content_digest(row, commitments: list[bytes]) -> bytes:
    h = hashlib.blake2b(b"solod-audit-content-v1", digest_size=32)
    h.update(_text(row["event_type"]))
    h.update(b"\0" if row["session_id"] is None else b"\1" + _text(row["session_id"]))
    h.update(_text(row["status"]))
    h.update(_text(row["legal_basis"]))
    for c in commitments:
        h.update(c)
    return h.digest()


def row_hash(prev: bytes, row) -> bytes:
    h = hashlib.blake2b(b"solod-audit-row-v1", digest_size=32)
    h.update(prev)
    h.update(_le64(int(row["id"])))
    h.update(_text(row["timestamp"]))
    h.update(b"\0" if row["user_id"] is None else b"\1" + _le64(int(row["user_id"])))
    h.update(content_digest(row, personal_commitments(row["chain_key"], row)))
    return h.digest()


def checkpoint_message(row_id: int, head_hex: str, genesis_id: int, created_at: str) -> bytes:
    """What a checkpoint signs: the row, where the chain began (so that moving its start is
    seen), the head and the time."""
    return (b"solod-audit-checkpoint-v1" + _le64(row_id) + _le64(genesis_id) + bytes.fromhex(head_hex)
            + created_at.encode("utf-8"))


def report_signature_ok(data: bytes, public_hex: str) -> bool:
    """The closing `signature` record signs BLAKE2b-256 of every byte before it (CSV: before
    its line; JSON: before the `,\\n` that precedes it)."""
    if data.startswith(b"["):
        cut = data.rindex(b",\n{")
        last = json.loads(data[cut + 2:].rstrip(b"\n]"))
        signature = last["signature"]
    else:
        cut = data.rindex(b"\r\n", 0, len(data) - 2) + 2
        signature = csv_rows(data[cut:].decode())[0][REPORT_COLUMNS.index("signature")]
    digest = hashlib.blake2b(data[:cut], digest_size=32).digest()
    return ed25519_verify(bytes.fromhex(public_hex), b"solod-audit-report-v1" + digest,
                          bytes.fromhex(signature))


# -- servers, traffic and SQL -------------------------------------------------------------------

def sql(s: Solod, statement: str, params=()) -> None:
    """One write on the server's database (SQLite file or PostgreSQL), committed."""
    if s.pg is not None:
        s.pg.query(statement, params)
        return
    conn = sqlite3.connect(s.db_path, timeout=30, isolation_level=None)
    try:
        conn.execute(statement, tuple(params))
    finally:
        conn.close()


def chain_state(s: Solod) -> dict:
    r = s.query("SELECT genesis_id, last_id, head FROM audit_chain WHERE id = 1")[0]
    return {"genesis": int(r["genesis_id"]), "last": int(r["last_id"]), "head": r["head"]}


def checkpoints(s: Solod) -> list:
    return s.query("SELECT id, row_id, head, genesis_id, created_at, public_key, signature "
                   "FROM audit_checkpoints ORDER BY row_id, id")


def chained_rows(s: Solod) -> list:
    return s.query("SELECT * FROM login_logs WHERE id > ? ORDER BY id", [chain_state(s)["genesis"]])


def key_file(s: Solod) -> str:
    """The node's signing key file: audit.signing_key_file, else data/audit_signing.key."""
    return s.config.get("audit", {}).get("signing_key_file") or s.path("data", "audit_signing.key")


def signing_seed(s: Solod) -> bytes:
    with open(key_file(s), encoding="ascii") as f:
        return bytes.fromhex(f.read().strip())


def signed_point(s: Solod) -> tuple[int, str] | None:
    """What the node's key signed last, as kept beside it in `KEYFILE.last` ("ROW HEADHEX\\n");
    None when there is no such file."""
    path = key_file(s) + ".last"
    if not os.path.exists(path):
        return None
    with open(path, encoding="ascii") as f:
        text = f.read()
    m = re.fullmatch(r"(\d+) ([0-9a-f]{64})\n", text)
    if not m:
        raise AssertionError(f"{path} holds {text!r}, not 'ROW HEADHEX\\n'")
    return int(m.group(1)), m.group(2)


def insert_rows(s: Solod, rows: list[dict]) -> None:
    """login_logs rows with every column given (explicit ids, chain columns or not), in one
    transaction on SQLite, in multi-row INSERTs on PostgreSQL."""
    cols = list(rows[0])
    if s.pg is not None:
        for start in range(0, len(rows), 200):
            chunk = rows[start:start + 200]
            values = ", ".join("(" + ", ".join("?" for _ in cols) + ")" for _ in chunk)
            s.pg.query(f"INSERT INTO login_logs ({', '.join(cols)}) VALUES {values}",
                       [r[c] for r in chunk for c in cols])
        return
    conn = sqlite3.connect(s.db_path, timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(f"INSERT INTO login_logs ({', '.join(cols)}) "
                         f"VALUES ({', '.join('?' for _ in cols)})",
                         [[r[c] for c in cols] for r in rows])
        conn.execute("COMMIT")
    finally:
        conn.close()


def settle(s: Solod, quiet: float = 0.4, timeout: float = 10.0) -> None:
    """Waits (bounded) until no audit row has been added for `quiet` seconds and the chain's
    state names the newest row: session ends and admin actions are audited asynchronously."""
    seen = {"top": None, "since": time.monotonic()}

    def quiet_now():
        top = s.query("SELECT MAX(id) FROM login_logs")[0][0]
        if top != seen["top"]:
            seen["top"], seen["since"] = top, time.monotonic()
        return (time.monotonic() - seen["since"] >= quiet
                and (top is None or chain_state(s)["last"] >= int(top)))
    wait_until(quiet_now, timeout=timeout, interval=0.05)


def wait_for_checkpoint(s: Solod, row_id: int, timeout: float = 15.0) -> None:
    """Waits until a checkpoint signs row `row_id` or later (checkpoint_interval is 1 s)."""
    def signed():
        top = s.query("SELECT MAX(row_id) FROM audit_checkpoints")[0][0]
        return top is not None and int(top) >= row_id
    if not wait_until(signed, timeout=timeout, interval=0.1):
        raise AssertionError(f"no checkpoint of row {row_id} within {timeout} s; checkpoints: "
                             f"{[tuple(c) for c in checkpoints(s)]}\n{s.output()[-2000:]}")


def make_traffic(s: Solod, users: int = 3, rounds: int = 2, prefix: str = "ac",
                 names: list[str] | None = None) -> list[str]:
    """Registers `users` fresh users (unless `names` are given), then per round and user: a
    login, a failed login and a logout (3 audit rows). Returns the names."""
    names = names or s.new_users(users, PASSWORD, prefix=prefix, workers=4)
    for _ in range(rounds):
        for name in names:
            token = s.login_ok(name, PASSWORD, headers={"User-Agent": f"chain-test/{name}"})["token"]
            r = s.login(name, WRONG_PASSWORD)
            if r.status != 401:
                raise AssertionError(f"wrong password for {name}: {r!r}")
            r = s.logout(token)
            if r.status != 204:
                raise AssertionError(f"logout {name}: {r!r}")
    return names


class LoginFlood:
    """Threads that log in (every third attempt with a wrong password) and out on `nodes`
    until stopped, or until `max_attempts` or `max_seconds` is reached."""

    def __init__(self, nodes: list[Solod], names: list[str], threads: int = 6,
                 max_attempts: int = 400, max_seconds: float = 20.0):
        self.nodes, self.names = nodes, names
        self.max_attempts, self.max_seconds = max_attempts, max_seconds
        self.attempts = self.acknowledged = 0
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(k,), daemon=True)
                         for k in range(threads)]
        self._started = 0.0

    def start(self) -> "LoginFlood":
        self._started = time.monotonic()
        for t in self._threads:
            t.start()
        return self

    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(20)
        if self.running():
            raise AssertionError("login flood threads did not stop")

    def _run(self, k: int) -> None:
        i = k
        while not self._stop.is_set() and time.monotonic() - self._started < self.max_seconds:
            with self._lock:
                if self.attempts >= self.max_attempts:
                    return
                self.attempts += 1
            node = self.nodes[i % len(self.nodes)]
            name = self.names[i % len(self.names)]
            wrong = i % 3 == 2
            i += len(self._threads)
            try:
                r = node.login(name, WRONG_PASSWORD if wrong else PASSWORD, timeout=10)
                if r.status == 200 and isinstance(r.json, dict):
                    with self._lock:
                        self.acknowledged += 1
                    if i % 2:
                        node.logout(r.json["token"], timeout=10)
            except Exception as e:  # noqa: BLE001 (the server is killed mid-request)
                with self._lock:
                    self.errors.append(repr(e))
                time.sleep(0.01)


# -- the command line ---------------------------------------------------------------------------

@dataclass
class Verdict:
    """What `solod audit verify` said."""
    code: int | None
    out: str
    err: str
    first: int | None = None
    kind: str | None = None
    lines: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"exit {self.code}\nstdout:\n{self.out[-3000:]}\nstderr:\n{self.err[-1500:]}"


def verify(s: Solod, *args: str) -> Verdict:
    cp = s.cli("audit", "verify", *args)
    v = Verdict(cp.returncode, cp.stdout, cp.stderr, lines=cp.stdout.splitlines())
    m = FIRST_BROKEN_RE.match(v.lines[1]) if len(v.lines) > 1 else None
    if m:
        v.first, v.kind = int(m.group(1)), m.group(2)
    return v


def pubkey(s: Solod) -> str:
    cp = s.cli("audit", "pubkey")
    if cp.returncode != 0:
        raise AssertionError(f"solod audit pubkey: exit {cp.returncode}\n{cp.stdout}{cp.stderr}")
    return cp.stdout.strip()


def export_with_proof(s: Solod, *args: str) -> bytes:
    """`solod audit export --with-proof ARGS`, its stdout as bytes (exact, CRLFs kept)."""
    argv = [SOLOD_BIN, "audit", "export", "--with-proof", *args, "--config", s.config_path]
    cp = subprocess.run(argv, cwd=s.dir, env=child_env(s.env), stdin=subprocess.DEVNULL,
                        capture_output=True, timeout=120)
    if cp.returncode != 0:
        raise AssertionError(f"{' '.join(argv[1:])}: exit {cp.returncode}\n"
                             f"{cp.stdout[-2000:]!r}\n{cp.stderr.decode('utf-8', 'replace')}")
    return cp.stdout


def verify_report(path: str, keys: list[str], cwd: str,
                  config: str | None = None) -> subprocess.CompletedProcess:
    """`solod audit verify-report PATH --pubkey K...` run in `cwd`, with no config unless given."""
    argv = [SOLOD_BIN, "audit", "verify-report", path]
    for k in keys:
        argv += ["--pubkey", k]
    if config is not None:
        argv += ["--config", config]
    cp = subprocess.run(argv, cwd=cwd, env=child_env(None), stdin=subprocess.DEVNULL,
                        capture_output=True, timeout=60)
    return subprocess.CompletedProcess(argv, cp.returncode, cp.stdout.decode("utf-8", "replace"),
                                       cp.stderr.decode("utf-8", "replace"))


def iso_shift(ts: str, **delta) -> str:
    when = datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return iso_at(when + timedelta(**delta))


def flip_hex(text: str, at: int = 0) -> str:
    """`text` with its hex digit at `at` replaced by another."""
    c = text[at]
    return text[:at] + ("1" if c != "1" else "2") + text[at + 1:]


def read_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def report_records(data: bytes) -> list[dict]:
    """A report's records as dicts (CSV: by the header; JSON: as they are)."""
    if data.startswith(b"["):
        return json.loads(data)
    rows = csv_rows(data.decode("utf-8"))
    return [dict(zip(rows[0], r)) for r in rows[1:]]


# -- the base class ------------------------------------------------------------------------------

class AuditTestCase(SolodTestCase):
    maxDiff = 8000

    def temp_dir(self, prefix: str = "solod-e2e-chain-") -> str:
        d = tempfile.mkdtemp(prefix=prefix)
        if not KEEP_DIRS:
            self.addCleanup(shutil.rmtree, d, True)
        return d

    def assert_intact(self, s: Solod, *args: str, msg: str = "") -> Verdict:
        v = verify(s, *args)
        self.assertEqual(v.code, 0, f"{msg} audit verify {' '.join(args)}: {v}")
        self.assertEqual(v.lines[:1], ["audit chain intact"], f"{msg} {v}")
        return v

    def assert_broken(self, s: Solod, row: int, kinds: str | tuple[str, ...], *args: str,
                      msg: str = "") -> Verdict:
        """verify exits 1, says BROKEN, names `row` as the first broken row with its kind
        (one of `kinds`) and begins its details with that row."""
        kinds = (kinds,) if isinstance(kinds, str) else kinds
        v = verify(s, *args)
        self.assertEqual(v.code, 1, f"{msg} {v}")
        self.assertEqual(v.lines[:1], ["audit chain BROKEN"], f"{msg} {v}")
        self.assertIsNotNone(v.first, f"{msg} no 'first broken row: N (KIND)' line: {v}")
        self.assertEqual((v.first, v.kind in kinds), (row, True),
                         f"{msg} expected row {row} ({' or '.join(kinds)}): {v}")
        self.assertTrue(len(v.lines) > 2 and v.lines[2].startswith(f"  row {row}: {v.kind}: "),
                        f"{msg} the details should begin with row {row}: {v}")
        return v

    def assert_report_ok(self, path: str, keys: list[str], cwd: str, msg: str = "") -> str:
        cp = verify_report(path, keys, cwd)
        self.assertEqual(cp.returncode, 0, f"{msg} verify-report: {cp.stdout}{cp.stderr}")
        self.assertTrue(cp.stdout.startswith("report intact:"), f"{msg} {cp.stdout!r}")
        return cp.stdout

    def assert_report_broken(self, path: str, keys: list[str], cwd: str, msg: str = "") -> str:
        cp = verify_report(path, keys, cwd)
        self.assertEqual(cp.returncode, 1, f"{msg} verify-report: {cp.stdout}{cp.stderr}")
        self.assertIn("report BROKEN:", cp.stdout, msg)
        return cp.stdout

    def assert_gap_free(self, s: Solod, msg: str = "") -> dict:
        """The chained rows are exactly genesis+1 .. last_id, every one with a key and a hash."""
        st = chain_state(s)
        r = s.query("SELECT COUNT(*) AS n, MIN(id) AS lo, MAX(id) AS hi, "
                    "SUM(CASE WHEN chain_key IS NULL OR row_hash IS NULL THEN 1 ELSE 0 END) AS bare "
                    "FROM login_logs WHERE id > ?", [st["genesis"]])[0]
        n, lo, hi, bare = (int(r["n"]), r["lo"], r["hi"], int(r["bare"] or 0))
        self.assertGreater(n, 0, f"{msg} no chained rows")
        self.assertEqual((int(lo), int(hi), n, bare),
                         (st["genesis"] + 1, st["last"], st["last"] - st["genesis"], 0),
                         f"{msg} chained rows are not exactly {st['genesis'] + 1}..{st['last']}")
        return st

    def assert_recomputes(self, s: Solod, keys: list[str], msg: str = "") -> None:
        """Recomputes every chained row's hash and checks every checkpoint, in Python."""
        st = chain_state(s)
        prev, expected, heads = bytes(32), st["genesis"] + 1, {}
        first = True
        for row in chained_rows(s):
            rid = int(row["id"])
            if first:
                first = False
                if rid != expected:  # retention's cut: take the chain up at its anchor
                    anchor = [c for c in checkpoints(s) if int(c["row_id"]) == rid - 1]
                    self.assertTrue(anchor, f"{msg} rows before {rid} are gone with no anchor")
                    prev, expected = bytes.fromhex(anchor[0]["head"]), rid
            self.assertEqual(rid, expected, f"{msg} row ids jump from {expected - 1} to {rid}")
            self.assertRegex(row["row_hash"], HEX64_RE, msg)
            computed = row_hash(prev, row)
            self.assertEqual(computed.hex(), row["row_hash"],
                             f"{msg} row {rid} does not hash as designed: {dict(row)}")
            prev, expected = computed, rid + 1
            heads[rid] = computed.hex()
        self.assertEqual(expected - 1, st["last"], msg)
        self.assertEqual(prev.hex(), st["head"], f"{msg} audit_chain.head")
        for cp in checkpoints(s):
            rid = int(cp["row_id"])
            self.assertIn(cp["public_key"], keys, f"{msg} checkpoint by an unknown key: {tuple(cp)}")
            self.assertEqual(int(cp["genesis_id"]), st["genesis"],
                             f"{msg} checkpoint signed with another start: {tuple(cp)}")
            self.assertTrue(ed25519_verify(bytes.fromhex(cp["public_key"]),
                                           checkpoint_message(rid, cp["head"], int(cp["genesis_id"]),
                                                              cp["created_at"]),
                                           bytes.fromhex(cp["signature"])),
                            f"{msg} checkpoint signature: {tuple(cp)}")
            if rid in heads:
                self.assertEqual(cp["head"], heads[rid], f"{msg} checkpoint head of row {rid}")


# -- the signing key ------------------------------------------------------------------------------

class KeyTest(AuditTestCase):
    def test_key_file_is_made_private_on_first_start_and_kept(self):
        s = self.server(CONFIG)
        path = s.path("data", "audit_signing.key")
        self.assertTrue(os.path.isfile(path), "data/audit_signing.key made on first start")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with open(path, encoding="ascii") as f:
            seed = f.read().strip()
        self.assertRegex(seed, HEX64_RE)
        key = pubkey(s)
        self.assertRegex(key, HEX64_RE)
        self.assertEqual(key, ed25519_public(bytes.fromhex(seed)).hex(),
                         "audit pubkey is the Ed25519 public key of the file's seed")
        make_traffic(s, users=1, rounds=1)
        s.restart()
        self.assertEqual(pubkey(s), key, "the key survives a restart")
        with open(path, encoding="ascii") as f:
            self.assertEqual(f.read().strip(), seed)
        settle(s)
        s.stop()
        cps = checkpoints(s)
        self.assertTrue(cps, "a checkpoint at shutdown at least")
        self.assertEqual({c["public_key"] for c in cps}, {key})
        # what the key signed last is kept beside it, outside the database
        newest = max(cps, key=lambda c: int(c["row_id"]))
        self.assertEqual(signed_point(s), (int(newest["row_id"]), newest["head"]),
                         "data/audit_signing.key.last names the newest checkpoint's row and head")

    def test_pubkey_makes_the_key_file_when_absent(self):
        s = self.server(CONFIG, start=False)
        path = s.path("data", "audit_signing.key")
        self.assertFalse(os.path.exists(path))
        # a report with proof is signed with the server's key: the export does not make one
        cp = s.cli("audit", "export", "--with-proof")
        self.assertEqual(cp.returncode, 1, cp.stdout + cp.stderr)
        self.assertIn("no audit signing key", cp.stderr)
        self.assertEqual(cp.stdout, "", "nothing of a report without a key")
        self.assertFalse(os.path.exists(path), "export --with-proof made no key")
        key = pubkey(s)
        self.assertRegex(key, HEX64_RE)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(pubkey(s), key)
        s.start()
        self.assertEqual(pubkey(s), key, "the server uses the key the command made")

    def test_signing_key_file_is_used_instead(self):
        s = self.server(CONFIG, start=False)
        path = s.path("keys", "shared.key")
        s.config["audit"]["signing_key_file"] = path
        s.write_config()
        s.start()
        self.assertTrue(os.path.isfile(path), "the configured key file is made")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertFalse(os.path.exists(s.path("data", "audit_signing.key")),
                         "no key in data/ when signing_key_file is set")
        self.assertEqual(key_file(s), path)
        with open(path, encoding="ascii") as f:
            key = ed25519_public(bytes.fromhex(f.read().strip())).hex()
        self.assertEqual(pubkey(s), key)
        make_traffic(s, users=1, rounds=1)
        settle(s)
        s.stop()
        self.assertEqual({c["public_key"] for c in checkpoints(s)}, {key})
        self.assertTrue(os.path.isfile(path + ".last"), "keys/shared.key.last beside the key")
        self.assertFalse(os.path.exists(s.path("data", "audit_signing.key.last")))
        self.assertEqual(signed_point(s)[0], chain_state(s)["last"])
        self.assert_intact(s)


# -- the chain as designed -------------------------------------------------------------------------

class ChainFormatTest(AuditTestCase):
    def test_rows_chain_in_commit_order_and_python_recomputes_them(self):
        s = self.server(CONFIG)
        make_traffic(s, users=3, rounds=1)
        settle(s)
        wait_for_checkpoint(s, chain_state(s)["last"])
        make_traffic(s, users=2, rounds=1)
        settle(s)
        st = self.assert_gap_free(s)
        self.assertRegex(st["head"], HEX64_RE)
        rows = chained_rows(s)
        self.assertGreaterEqual(len(rows), 15)
        for row in rows:
            self.assertTrue(HEX32_RE.match(row["chain_key"]), f"chain_key of {dict(row)}")
        key = pubkey(s)
        self.assert_recomputes(s, [key])
        v = self.assert_intact(s)  # while the server runs
        self.assertIn("signed checkpoints verified", v.out)
        s.stop()
        cps = checkpoints(s)
        self.assertEqual(int(cps[-1]["row_id"]), chain_state(s)["last"],
                         "the shutdown checkpoint signs the last row")
        self.assertGreaterEqual(len({int(c["row_id"]) for c in cps}), 2)
        for c in cps:
            self.assert_iso(c["created_at"], "checkpoint created_at")
            self.assertRegex(c["signature"], HEX128_RE)
        self.assert_recomputes(s, [key], "after shutdown:")
        self.assertEqual(signed_point(s), (int(cps[-1]["row_id"]), cps[-1]["head"]),
                         "KEYFILE.last: the row and head of the shutdown checkpoint")
        v = self.assert_intact(s)
        self.assertIn(f"rows signed up to {chain_state(s)['last']}", v.out)


# -- tampering ---------------------------------------------------------------------------------------

@sqlite_only("each case edits a copy of the stopped server's database file "
             "(ClusterChainTest tampers on PostgreSQL)")
class TamperTest(AuditTestCase):
    """One server's traffic, stopped (so a shutdown checkpoint exists); each case works on a
    fresh copy of its data directory (database and key)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.origin = cls.class_server(CONFIG)
        cls.names = make_traffic(s, users=4, rounds=1)
        settle(s)
        wait_for_checkpoint(s, chain_state(s)["last"])
        make_traffic(s, names=cls.names, rounds=1)
        settle(s)
        assert s.stop() == 0, s.output()[-2000:]
        cls.state = chain_state(s)
        cls.rows = {int(r["id"]): dict(r) for r in chained_rows(s)}
        cls.cps = [dict(c) for c in checkpoints(s)]
        cls.key = pubkey(s)
        lo, hi = cls.state["genesis"] + 1, cls.state["last"]
        assert len(cls.rows) >= 24 and sorted(cls.rows) == list(range(lo, hi + 1)), cls.rows.keys()
        assert len({c["row_id"] for c in cls.cps}) >= 2 and cls.cps[-1]["row_id"] == hi, cls.cps
        # the node remembers the shutdown checkpoint beside its key (copied with data/)
        assert signed_point(s) == (hi, cls.rows[hi]["row_hash"]), signed_point(s)
        # the row the field cases change: a login near the middle, with an account and a session
        middle = (lo + hi) // 2
        cls.m = min((i for i in cls.rows if lo + 2 <= i <= hi - 4
                     and cls.rows[i]["event_type"] == "login_success"),
                    key=lambda i: abs(i - middle))

    def copy(self) -> Solod:
        """A stopped server whose data directory is a copy of the origin's (database, key and
        the key's `.last`), with the same config: `verify` sees what the node signed last."""
        t = self.server(CONFIG, start=False)
        shutil.copytree(self.origin.path("data"), t.path("data"), dirs_exist_ok=True)
        return t

    def test_untouched_copy_is_intact(self):
        t = self.copy()
        v = self.assert_intact(t)
        lo, hi = self.state["genesis"] + 1, self.state["last"]
        self.assertIn(f"rows {lo} to {hi} ({hi - lo + 1} rows)", v.out)
        self.assertIn(f"rows signed up to {hi}", v.out)
        self.assert_recomputes(t, [self.key])

    def test_a_changed_field_is_named(self):
        row = self.rows[self.m]
        other_user = next(r["user_id"] for r in self.rows.values()
                          if r["user_id"] is not None and r["user_id"] != row["user_id"])
        session = row["session_id"]
        changes = {
            "timestamp": iso_shift(row["timestamp"], milliseconds=1),
            "event_type": "login_failure",
            "user_id": other_user,
            "username": row["username"] + "x",
            "session_id": session[:-1] + ("0" if session[-1] != "0" else "1"),
            "ip_address": "203.0.113.99",
            "user_agent": "curl/8.0",
            "status": "failure",
            "error_message": "bad_password",
            "legal_basis": "consent" if row["legal_basis"] != "consent" else "contract",
            "chain_key": flip_hex(row["chain_key"], 5),
            "row_hash": flip_hex(row["row_hash"], 5),
        }
        self.assertEqual(set(AUDIT_COLUMNS) - set(changes), set(), "every audited column is tried")
        for column, value in changes.items():
            with self.subTest(column=column):
                self.assertNotEqual(value, row[column])
                t = self.copy()
                sql(t, f"UPDATE login_logs SET {column} = ? WHERE id = ?", [value, self.m])
                self.assert_broken(t, self.m, "changed", msg=f"{column} of row {self.m}:")
        with self.subTest(column="session_id", to="NULL"):
            t = self.copy()
            sql(t, "UPDATE login_logs SET session_id = NULL WHERE id = ?", [self.m])
            self.assert_broken(t, self.m, "changed")

    def test_a_changed_row_under_a_checkpoint_is_named(self):
        row_id = int(self.cps[0]["row_id"])  # the last row the first checkpoint signs
        t = self.copy()
        sql(t, "UPDATE login_logs SET ip_address = '198.51.100.200' WHERE id = ?", [row_id])
        self.assert_broken(t, row_id, "changed")

    def test_a_deleted_row_is_named(self):
        lo, hi = self.state["genesis"] + 1, self.state["last"]
        cases = {"middle": ([self.m], self.m), "two in the middle": ([self.m, self.m + 1], self.m),
                 "first": ([lo], lo), "last": ([hi], hi), "last two": ([hi - 1, hi], hi - 1)}
        for label, (ids, first) in cases.items():
            with self.subTest(deleted=label):
                t = self.copy()
                for i in ids:
                    sql(t, "DELETE FROM login_logs WHERE id = ?", [i])
                self.assert_broken(t, first, "deleted", msg=f"deleted {ids}:")

    def test_an_inserted_row_is_named(self):
        hi = self.state["last"]
        row = self.rows[self.m]
        with self.subTest(insert="a plain login_success from long ago"):
            t = self.copy()
            ids = insert_audit_rows(t.db_path, [{
                "timestamp": "2026-01-05T09:00:00.000Z", "event_type": "login_success",
                "user_id": row["user_id"], "username": row["username"],
                "session_id": "ab" * 16, "ip_address": "192.0.2.44", "user_agent": "forged/1.0"}])
            self.assertEqual(ids, [hi + 1])
            self.assert_broken(t, hi + 1, "inserted")
        with self.subTest(insert="a copy of a real row, chain columns and all"):
            t = self.copy()
            cols = [c for c in row if c != "id"]
            sql(t, f"INSERT INTO login_logs (id, {', '.join(cols)}) "
                   f"VALUES (?, {', '.join('?' for _ in cols)})", [hi + 1] + [row[c] for c in cols])
            self.assert_broken(t, hi + 1, "inserted")
        with self.subTest(insert="a row in place of a deleted one, without chain columns"):
            t = self.copy()
            sql(t, "DELETE FROM login_logs WHERE id = ?", [self.m])
            sql(t, "INSERT INTO login_logs (id, timestamp, event_type, user_id, username, "
                   "ip_address, user_agent, status, error_message, legal_basis) "
                   "VALUES (?, ?, 'login_success', ?, ?, '', '', 'success', '', 'legal_obligation')",
                [self.m, row["timestamp"], row["user_id"], row["username"]])
            self.assert_broken(t, self.m, "inserted")

    def swap_ids(self, t: Solod, a: int, b: int) -> None:
        sql(t, "UPDATE login_logs SET id = -1 WHERE id = ?", [a])
        sql(t, "UPDATE login_logs SET id = ? WHERE id = ?", [a, b])
        sql(t, "UPDATE login_logs SET id = ? WHERE id = -1", [b])

    def test_reordered_rows_are_named(self):
        for gap in (1, 3):
            with self.subTest(swapped=(self.m, self.m + gap)):
                t = self.copy()
                self.swap_ids(t, self.m, self.m + gap)
                self.assert_broken(t, self.m, "reordered")
        with self.subTest(swapped="content only, ids and hashes kept"):
            t = self.copy()
            a, b = self.rows[self.m], self.rows[self.m + 1]
            cols = [c for c in a if c not in ("id", "row_hash")]
            for src, dst in ((b, self.m), (a, self.m + 1)):
                sql(t, f"UPDATE login_logs SET {', '.join(c + ' = ?' for c in cols)} WHERE id = ?",
                    [src[c] for c in cols] + [dst])
            self.assert_broken(t, self.m, ("reordered", "changed"))

    def test_a_forged_checkpoint_is_named(self):
        cp = self.cps[0]
        row_id = int(cp["row_id"])
        cases = {
            "signature": ("signature", flip_hex(cp["signature"], 17), row_id),
            "created_at": ("created_at", iso_shift(cp["created_at"], milliseconds=-1), row_id),
            "head": ("head", self.rows[row_id - 1]["row_hash"], row_id),
            "row_id": ("row_id", row_id - 1, row_id - 1),
            "genesis_id": ("genesis_id", int(cp["genesis_id"]) + 1, row_id),
        }
        for label, (column, value, first) in cases.items():
            with self.subTest(changed=label):
                t = self.copy()
                sql(t, f"UPDATE audit_checkpoints SET {column} = ? WHERE id = ?", [value, cp["id"]])
                self.assert_broken(t, first, "forged checkpoint")

    def test_a_checkpoint_of_another_key_is_refused_unless_trusted(self):
        # A second node signs the same chain: a copy of the database without the origin's key.
        b = self.server(CONFIG, start=False)
        os.makedirs(b.path("data"))
        for name in os.listdir(self.origin.path("data")):
            if name.startswith("solod.db"):  # the database (and a WAL, should one be left)
                shutil.copy(self.origin.path("data", name), b.path("data", name))
        b_key = pubkey(b)  # a key of its own (export --with-proof makes none)
        export_with_proof(b)  # signs a checkpoint with b's own key first
        self.assertNotEqual(b_key, self.key)
        theirs = [c for c in checkpoints(b) if c["public_key"] == b_key]
        self.assertEqual(len(theirs), 1, [tuple(c) for c in checkpoints(b)])
        cp = theirs[0]
        self.assertEqual(int(cp["row_id"]), self.state["last"])

        t = self.copy()
        self.assertEqual(int(cp["genesis_id"]), self.state["genesis"])
        sql(t, "INSERT INTO audit_checkpoints (row_id, head, genesis_id, created_at, public_key, "
               "signature) VALUES (?, ?, ?, ?, ?, ?)",
            [cp["row_id"], cp["head"], cp["genesis_id"], cp["created_at"], cp["public_key"],
             cp["signature"]])
        v = self.assert_broken(t, self.state["last"], "forged checkpoint")
        self.assertIn(b_key, v.lines[2])
        self.assert_intact(t, "--pubkey", self.key, "--pubkey", b_key)
        self.assert_broken(t, int(self.cps[0]["row_id"]), "forged checkpoint", "--pubkey", b_key,
                           msg="trusting only the other key:")
        t.config["audit"]["trusted_keys"] = [b_key]
        t.write_config()
        self.assert_intact(t, msg="with audit.trusted_keys:")
        # and the second node, which does not know the origin's key, refuses the origin's checkpoints
        self.assert_broken(b, int(self.cps[0]["row_id"]), "forged checkpoint")

    # -- attacks by someone who can write the database but not the node's files ------------

    def rewrite_signed_row(self, t: Solod, row_id: int) -> None:
        """What an attacker with the database (not the key) can do so that the database alone
        looks consistent: change a signed row, recompute its hash and every later one, record
        the new head, and delete the checkpoints that no longer match (row_id >= row_id)."""
        conn = sqlite3.connect(t.db_path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE login_logs SET ip_address = '198.51.100.66' WHERE id = ?", [row_id])
            prev = (bytes(32) if row_id - 1 == self.state["genesis"]
                    else bytes.fromhex(self.rows[row_id - 1]["row_hash"]))
            for row in conn.execute("SELECT * FROM login_logs WHERE id >= ? ORDER BY id",
                                    [row_id]).fetchall():
                prev = row_hash(prev, row)
                conn.execute("UPDATE login_logs SET row_hash = ? WHERE id = ?", [prev.hex(), row["id"]])
            conn.execute("UPDATE audit_chain SET head = ? WHERE id = 1", [prev.hex()])
            conn.execute("DELETE FROM audit_checkpoints WHERE row_id >= ?", [row_id])
            conn.execute("COMMIT")
        finally:
            conn.close()

    def test_signed_rows_rewritten_with_new_hashes_are_refused_and_named(self):
        hi = self.state["last"]
        # the first row after the first checkpoint: signed (by the later ones), and a checkpoint
        # below it is left
        row_id = int(self.cps[0]["row_id"]) + 1
        self.assertLess(row_id, hi)
        t = self.copy()
        self.rewrite_signed_row(t, row_id)
        left = len(checkpoints(t))
        self.assertGreater(left, 0, "the checkpoints below the rewritten row are kept")
        self.assertNotEqual(chain_state(t)["head"], self.state["head"])
        # the database alone is consistent again: every hash and every signature left checks out
        self.assert_recomputes(t, [self.key], "the rewritten chain:")
        self.assertEqual(signed_point(t), (hi, self.state["head"]))

        # ... but the node remembers what it signed last (data/audit_signing.key.last)
        v = self.assert_broken(t, hi, "changed", msg="rows rewritten with recomputed hashes:")
        self.assertIn("no longer has the hash this node signed last", v.lines[2])

        # a server started on it signs nothing: not at its interval, not for a report, not at exit
        t.start()
        self.assertTrue(wait_until(lambda: "audit chain rewritten since this key's last checkpoint"
                                   in t.output(), timeout=15, interval=0.1),
                        "no critical refusal logged:\n" + t.output()[-3000:])
        self.assertRegex(t.output(), r"(?i)critical.*audit chain rewritten since this key's last "
                                     r"checkpoint \(row " + str(hi) + r"\)")
        make_traffic(t, names=self.names[:2], rounds=1)
        settle(t)
        time.sleep(2.5)  # more than two checkpoint intervals (1 s)
        self.assertEqual(len(checkpoints(t)), left, "a checkpoint was signed over the rewrite: "
                         f"{[tuple(c) for c in checkpoints(t)]}")
        argv = [SOLOD_BIN, "audit", "export", "--with-proof", "--config", t.config_path]
        cp = subprocess.run(argv, cwd=t.dir, env=child_env(t.env), stdin=subprocess.DEVNULL,
                            capture_output=True, timeout=120)
        self.assertEqual(cp.returncode, 1, f"export --with-proof: {cp.stdout[-500:]!r} {cp.stderr!r}")
        self.assertIn(b"audit chain rewritten since this key's last checkpoint", cp.stderr)
        _, token = add_admin_token(t, "tpadm")
        r = t.get(with_query("/api/admin/audit.csv", proof=1), token=token)
        self.assert_error(r, 409, "chain_broken")
        settle(t)
        t.stop()
        self.assertEqual(len(checkpoints(t)), left, "no checkpoint at shutdown either")
        self.assertEqual(signed_point(t), (hi, self.state["head"]), "the node's memory is unchanged")
        self.assertGreater(chain_state(t)["last"], hi, "the traffic was still audited")
        self.assert_broken(t, hi, "changed", msg="after the refused server ran:")

    def test_a_moved_start_is_named(self):
        hi = self.state["last"]
        first_signed = int(self.cps[0]["row_id"])
        with self.subTest(moved="genesis_id = last_id, head zeroed"):
            # every row would look like one from before the chain ("not covered")
            t = self.copy()
            sql(t, "UPDATE audit_chain SET genesis_id = last_id, head = ? WHERE id = 1", [ZERO_HEAD])
            v = self.assert_broken(t, first_signed, "changed")
            self.assertIn("beginning after row", v.lines[2])
        with self.subTest(moved="and every checkpoint deleted"):
            t = self.copy()
            sql(t, "UPDATE audit_chain SET genesis_id = last_id, head = ? WHERE id = 1", [ZERO_HEAD])
            sql(t, "DELETE FROM audit_checkpoints")
            v = self.assert_broken(t, hi, "changed")  # the row this node signed last
            self.assertIn(f"this node signed row {hi} last", v.lines[2])

    def test_a_cut_tail_is_named(self):
        # the last rows deleted, the state row and the checkpoints made to fit what is left
        k = self.m
        t = self.copy()
        sql(t, "DELETE FROM login_logs WHERE id > ?", [k])
        sql(t, "UPDATE audit_chain SET last_id = ?, head = ? WHERE id = 1", [k, self.rows[k]["row_hash"]])
        sql(t, "DELETE FROM audit_checkpoints WHERE row_id > ?", [k])
        self.assert_recomputes(t, [self.key], "the cut chain:")
        v = self.assert_broken(t, k + 1, "deleted")
        self.assertIn(f"this node signed row {self.state['last']} last", v.lines[2])

    def test_bad_input_exits_2(self):
        for args in (("--pubkey", "xyz"), ("--pubkey", "ab" * 31), ("--from", "yesterday"),
                     ("--to", "2026-13-45T99:00:00.000Z")):
            with self.subTest(args=args):
                v = verify(self.origin, *args)
                self.assertEqual(v.code, 2, str(v))


# -- retention -------------------------------------------------------------------------------------

class RetentionTest(AuditTestCase):
    RETENTION_DAYS = 30

    def test_retention_cuts_below_an_old_checkpoint_and_keeps_it_as_anchor(self):
        s = self.server(CONFIG)
        names = make_traffic(s, users=3, rounds=1)
        for _ in range(2):  # three spans, each signed
            settle(s)
            wait_for_checkpoint(s, chain_state(s)["last"])
            make_traffic(s, names=names, rounds=1)
        settle(s)
        self.assertEqual(s.stop(), 0)
        genesis = chain_state(s)["genesis"]
        cps = checkpoints(s)
        by_row: dict[int, dict] = {}
        for c in cps:
            by_row.setdefault(int(c["row_id"]), dict(c))
        rows_signed = sorted(by_row)
        self.assertGreaterEqual(len(rows_signed), 3, [tuple(c) for c in cps])
        old, anchor = by_row[rows_signed[0]], by_row[rows_signed[1]]

        # As if these two had been made 50 and 40 days ago: re-signed with the node's key. (Not
        # the newest: what the node signed last, data/audit_signing.key.last, stays as it is.)
        last_signed = signed_point(s)
        self.assertEqual(last_signed[0], rows_signed[-1])
        seed = signing_seed(s)
        now = datetime.now(timezone.utc)
        for cp, age in ((old, 50), (anchor, 40)):
            created = iso_at(now - timedelta(days=age))
            self.assertEqual(int(cp["genesis_id"]), genesis)
            sig = ed25519_sign(seed, checkpoint_message(int(cp["row_id"]), cp["head"], genesis, created))
            sql(s, "UPDATE audit_checkpoints SET created_at = ?, signature = ? WHERE id = ?",
                [created, sig.hex(), cp["id"]])
        self.assert_intact(s, msg="re-signed checkpoints (Python Ed25519) verify:")

        anchor_row = int(anchor["row_id"])
        kept = [int(r["id"]) for r in s.query("SELECT id FROM login_logs WHERE id > ? ORDER BY id",
                                               [anchor_row])]
        s.config["audit"]["retention_days"] = self.RETENTION_DAYS
        s.write_config()
        s.start()

        def cut():
            return (s.query("SELECT COUNT(*) FROM login_logs WHERE id <= ?", [anchor_row])[0][0] == 0
                    and DELETED_RE.search(s.output()))
        self.assertTrue(wait_until(cut, timeout=60, interval=0.2),
                        "rows up to the old checkpoint still there; output:\n" + s.output()[-3000:])
        self.assertEqual(int(DELETED_RE.search(s.output()).group(1)), anchor_row - genesis)
        self.assertEqual([int(r["id"]) for r in s.query(
            "SELECT id FROM login_logs WHERE id > ? AND id <= ? ORDER BY id", [anchor_row, kept[-1]])],
            kept, "every row above the anchor is kept")
        left = {int(c["id"]) for c in checkpoints(s)}
        self.assertNotIn(old["id"], left, "a checkpoint below the anchor goes with its rows")
        self.assertIn(anchor["id"], left, "the anchor stays")

        v = self.assert_intact(s, msg="after retention:")
        self.assertIn(f"rows {anchor_row + 1} to ", v.out)
        self.assertIn(f"checkpoint of row {anchor_row}", v.out)
        key = pubkey(s)
        self.assert_recomputes(s, [key], "after retention:")
        report = os.path.join(self.temp_dir(), "after-retention.csv")
        with open(report, "wb") as f:
            f.write(export_with_proof(s))
        records = report_records(read_bytes(report))
        self.assertEqual((records[1]["record"], int(records[1]["id"])), ("anchor", anchor_row))
        self.assert_report_ok(report, [key], self.temp_dir())

        # the cut without its anchor is a deletion
        s.stop()
        sql(s, "DELETE FROM audit_checkpoints WHERE id = ?", [anchor["id"]])
        self.assert_broken(s, genesis + 1, "deleted")

    def test_a_span_longer_than_a_batch_is_cut_whole(self):
        # Retention takes one signed span per step: up to the newest checkpoint made before the
        # cut-off within batch_rows (1000) of the first row, else the nearest one beyond it. The
        # chain here is written in Python (rows, hashes, Ed25519 checkpoints with the node's key),
        # so it can be 60 days old: 1600 rows, signed at rows 300 (56 days ago), 1500 (about 44
        # days ago) and 1600 (yesterday).
        s = self.server(merge_config(CONFIG, {"audit": {"retention_days": self.RETENTION_DAYS}}),
                        start=False)
        cp = s.cli("migrate")
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertEqual(chain_state(s), {"genesis": 0, "last": 0, "head": ZERO_HEAD})
        key = pubkey(s)
        seed = signing_seed(s)
        now = datetime.now(timezone.utc)
        t0 = now - timedelta(days=60)
        rows, heads, prev = [], {}, bytes(32)
        for i in range(1, 1601):
            row = {"id": i, "timestamp": iso_at(t0 + timedelta(minutes=15 * i)),
                   "event_type": "login_failure", "user_id": None, "username": f"hist{i % 17}",
                   "session_id": None, "ip_address": f"192.0.2.{i % 250 + 1}",
                   "user_agent": "history/1.0", "status": "failure", "error_message": "unknown_user",
                   "legal_basis": "legal_obligation", "chain_key": os.urandom(16).hex()}
            prev = row_hash(prev, row)
            row["row_hash"] = heads[i] = prev.hex()
            rows.append(row)
        insert_rows(s, rows)
        sql(s, "UPDATE audit_chain SET last_id = ?, head = ? WHERE id = 1", [1600, heads[1600]])

        signed = {}
        for row_id, created in ((300, iso_shift(rows[299]["timestamp"], seconds=1)),
                                (1500, iso_shift(rows[1499]["timestamp"], seconds=1)),
                                (1600, iso_at(now - timedelta(days=1)))):
            sig = ed25519_sign(seed, checkpoint_message(row_id, heads[row_id], 0, created))
            sql(s, "INSERT INTO audit_checkpoints (row_id, head, genesis_id, created_at, public_key, "
                   "signature) VALUES (?, ?, 0, ?, ?, ?)", [row_id, heads[row_id], created, key, sig.hex()])
            signed[row_id] = created
        # what the node would remember of its last checkpoint
        with open(key_file(s) + ".last", "w", encoding="ascii") as f:
            f.write(f"1600 {heads[1600]}\n")
        v = self.assert_intact(s, msg="the chain written in Python:")
        self.assertIn("rows 1 to 1600 (1600 rows)", v.out)
        self.assertIn("3 signed checkpoints verified, rows signed up to 1600", v.out)

        s.start()

        def cut():
            return (s.query("SELECT COUNT(*) FROM login_logs WHERE id <= 1500")[0][0] == 0
                    and DELETED_RE.search(s.output()))
        self.assertTrue(wait_until(cut, timeout=60, interval=0.2),
                        "rows up to the checkpoint of row 1500 still there; output:\n"
                        + s.output()[-3000:])
        self.assertEqual(int(DELETED_RE.search(s.output()).group(1)), 1500,
                         "300 rows, then 1200 at once: the span beyond batch_rows is cut whole")
        self.assertEqual([int(r["row_id"]) for r in checkpoints(s)][:2], [1500, 1600],
                         "the anchor (row 1500) and the newer checkpoint stay, the older goes")
        self.assertEqual(s.query("SELECT COUNT(*) FROM login_logs WHERE id <= 1600")[0][0], 100,
                         "rows 1501..1600 wait for a checkpoint made before the cut-off")
        v = self.assert_intact(s, msg="after retention:")
        self.assertIn("rows 1501 to 1600", v.out)
        self.assertIn(f"checkpoint of row 1500 signed at {signed[1500]}", v.out)

        make_traffic(s, users=1, rounds=1)  # the chain goes on from row 1600
        settle(s)
        self.assertEqual(s.stop(), 0)
        st = chain_state(s)
        self.assertGreater(st["last"], 1600)
        self.assert_recomputes(s, [key], "after retention and traffic:")
        self.assertEqual(signed_point(s)[0], st["last"])
        report = os.path.join(self.temp_dir(), "after-retention.json")
        with open(report, "wb") as f:
            f.write(export_with_proof(s, "--format", "json"))
        records = report_records(read_bytes(report))
        self.assertEqual((records[1]["record"], records[1]["id"], records[1]["genesis_id"]),
                         ("anchor", 1500, 0))
        self.assert_report_ok(report, [key], self.temp_dir())

    def test_rows_from_before_the_chain_go_by_their_time(self):
        # An upgraded database: rows written before the chain existed (no chain_key, no
        # row_hash) lie at or below genesis_id, where migration 7 started the chain.
        s = self.server(merge_config(CONFIG, {"audit": {"retention_days": self.RETENTION_DAYS}}),
                        start=False)
        cp = s.cli("migrate")  # the schema, no rows yet: nothing was ever chained
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertEqual(s.query("SELECT COUNT(*) FROM login_logs")[0][0], 0)
        self.assertEqual(s.query("SELECT COUNT(*) FROM audit_checkpoints")[0][0], 0)
        self.assertEqual(chain_state(s), {"genesis": 0, "last": 0, "head": ZERO_HEAD})
        now = datetime.now(timezone.utc)
        legacy = []
        for age, n in ((40, 20), (10, 7)):
            for i in range(n):
                legacy.append({"id": len(legacy) + 1,
                               "timestamp": iso_at(now - timedelta(days=age, seconds=n - i)),
                               "event_type": "login_success", "user_id": None, "username": "legacy",
                               "session_id": None, "ip_address": f"192.0.2.{i + 1}",
                               "user_agent": f"legacy-{age}", "status": "success",
                               "error_message": "", "legal_basis": "legal_obligation"})
        insert_rows(s, legacy)  # ids 1..27 as the old version wrote them
        if s.pg is not None:  # as the old version's inserts left it
            s.pg.query("SELECT setval(pg_get_serial_sequence('login_logs', 'id'), 27)")
        # what migration 7 does on a database with rows: the chain begins after the last of them
        sql(s, "UPDATE audit_chain SET genesis_id = 27, last_id = 27, head = ? WHERE id = 1", [ZERO_HEAD])
        key = pubkey(s)  # verify needs a key to trust; the server will use this one
        v = self.assert_intact(s, msg="before the chain holds anything:")
        self.assertIn("27 rows from before the chain began are not covered", v.out)

        s.start()
        self.assertTrue(wait_until(lambda: s.query(
            "SELECT COUNT(*) FROM login_logs WHERE user_agent = 'legacy-40'")[0][0] == 0,
            timeout=60, interval=0.2), "old legacy rows still there:\n" + s.output()[-3000:])
        make_traffic(s, users=2, rounds=1)
        settle(s)
        wait_for_checkpoint(s, chain_state(s)["last"])
        self.assertEqual(s.query("SELECT COUNT(*) FROM login_logs WHERE user_agent = 'legacy-10'")[0][0], 7)
        self.assertEqual(s.query("SELECT MIN(id) FROM login_logs")[0][0], 21,
                         "the 40-day-old rows (ids 1..20) went by their time, the rest stay")
        st = self.assert_gap_free(s)
        self.assertEqual(st["genesis"], 27)
        self.assertEqual({int(c["genesis_id"]) for c in checkpoints(s)}, {27})
        v = self.assert_intact(s)
        self.assertIn("7 rows from before the chain began are not covered", v.out)
        self.assertIn("rows 28 to ", v.out)
        self.assert_recomputes(s, [key], "an upgraded database:")

        # a report from the chain's start: the unsigned anchor is where it began (row 27)
        report = os.path.join(self.temp_dir(), "upgraded.csv")
        with open(report, "wb") as f:
            f.write(export_with_proof(s))
        records = report_records(read_bytes(report))
        self.assertEqual([records[1][k] for k in ("record", "id", "genesis_id", "signature")],
                         ["anchor", "27", "27", ""])
        self.assertEqual(records[-2]["genesis_id"], "27")
        self.assert_report_ok(report, [key], self.temp_dir())


# -- erasure -------------------------------------------------------------------------------------------

class ErasureTest(AuditTestCase):
    def sealed_rows(self, s: Solod, user_id: int) -> tuple[int, int]:
        """(rows of the account, of which sealed) among the chained rows."""
        rows = s.query("SELECT chain_key FROM login_logs WHERE user_id = ? AND id > ?",
                       [user_id, chain_state(s)["genesis"]])
        return len(rows), sum(1 for r in rows if (r["chain_key"] or "").startswith("sealed:"))

    def test_erasure_keeps_the_chain_intact(self):
        s = self.server(CONFIG)
        _, token = add_admin_token(s, "acadm")
        first, second, bystander = make_traffic(s, users=3, rounds=2)
        ids = {}
        for name in (first, second):
            uid = s.login_ok(name, PASSWORD)["user"]["id"]
            ids[name] = uid
            r = s.request("PUT", f"/api/admin/users/{uid}/attributes/nickname",
                          {"value": name}, token=token)  # an admin_action naming the account
            self.assertIn(r.status, (200, 201), r)
        settle(s)
        self.assert_intact(s, msg="before any erasure:")

        r = s.post(f"/api/admin/users/{ids[first]}/erase", token=token)
        self.assert_status(r, 200)
        pseudonym = r.json["erased"]["pseudonym"]
        settle(s)
        self.assert_intact(s, msg="after the admin API's erasure:")
        n, sealed = self.sealed_rows(s, ids[first])
        self.assertGreaterEqual(n, 7)
        self.assertEqual(sealed, n, "every chained row of the erased account is sealed")
        self.assertEqual(s.query("SELECT COUNT(*) FROM login_logs WHERE lower(username) = lower(?)",
                                 [first])[0][0], 0)

        make_traffic(s, names=[bystander], rounds=1)  # the chain goes on after an erasure
        settle(s)
        self.assert_intact(s, msg="after more traffic:")

        s.stop()
        cp = s.cli("user", "erase", second)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assert_intact(s, msg="after solod user erase:")
        n, sealed = self.sealed_rows(s, ids[second])
        self.assertEqual(sealed, n)
        self.assert_gap_free(s)
        key = pubkey(s)
        self.assert_recomputes(s, [key], "with sealed rows:")

        # a report of the erased account's rows, under its pseudonym, proves them
        path = os.path.join(self.temp_dir(), "erased.csv")
        with open(path, "wb") as f:
            f.write(export_with_proof(s, "--user", pseudonym))
        events = [r for r in report_records(read_bytes(path)) if r["record"] == "event"]
        self.assertEqual(len(events), self.sealed_rows(s, ids[first])[0])
        self.assertTrue(all(e["chain_key"].startswith("sealed:") for e in events))
        self.assert_report_ok(path, [key], self.temp_dir())

        # a sealed row's replaced fields (name, address, User-Agent) are no longer bound by the
        # hash, but they may hold only the erased account's pseudonym (or nothing)
        sealed = s.query("SELECT * FROM login_logs WHERE user_id = ? AND event_type = 'login_success' "
                         "ORDER BY id LIMIT 1", [ids[first]])[0]
        row = int(sealed["id"])
        self.assertTrue(sealed["chain_key"].startswith("sealed:"))
        self.assertEqual((sealed["username"], sealed["ip_address"], sealed["user_agent"]),
                         (pseudonym, pseudonym, pseudonym))
        other_pseudonym = s.query("SELECT username FROM users WHERE id = ?", [ids[second]])[0][0]
        self.assertTrue(other_pseudonym.startswith("erased-") and other_pseudonym != pseudonym)
        for column, value in (("username", "mallory"), ("username", second),
                              ("username", other_pseudonym),  # another erased account's
                              ("ip_address", "203.0.113.7"), ("user_agent", "curl/8.0")):
            with self.subTest(sealed_field=column, value=value):
                sql(s, f"UPDATE login_logs SET {column} = ? WHERE id = ?", [value, row])
                v = self.assert_broken(s, row, "changed", msg=f"sealed {column} set to {value!r}:")
                self.assertIn("sealed", v.lines[2])
                sql(s, f"UPDATE login_logs SET {column} = ? WHERE id = ?", [pseudonym, row])
        with self.subTest(sealed_field="ip_address", value=""):
            sql(s, "UPDATE login_logs SET ip_address = '' WHERE id = ?", [row])
            self.assert_intact(s, msg="a replaced field emptied (it holds nothing):")
            sql(s, "UPDATE login_logs SET ip_address = ? WHERE id = ?", [pseudonym, row])
        # the admin action naming the account has its detail sealed: it must still name an
        # erased account
        action = s.query("SELECT id, error_message FROM login_logs WHERE event_type = 'admin_action' "
                         "AND error_message LIKE ? ORDER BY id LIMIT 1", [f"%{pseudonym}%"])
        self.assertTrue(action, "the admin action about the first account names its pseudonym")
        action_id, detail = int(action[0]["id"]), action[0]["error_message"]
        sql(s, "UPDATE login_logs SET error_message = ? WHERE id = ?",
            [detail.replace(pseudonym, "mallory"), action_id])
        self.assert_broken(s, action_id, "changed", msg="a sealed detail naming no erased account:")
        sql(s, "UPDATE login_logs SET error_message = ? WHERE id = ?", [detail, action_id])
        self.assert_intact(s, msg="every sealed field put back:")

        # sealing is no way around the chain: what a sealed row still holds is still covered
        sql(s, "UPDATE login_logs SET event_type = 'logout' WHERE id = ?", [row])
        self.assert_broken(s, row, "changed")


# -- crashes and live traffic -------------------------------------------------------------------------

class CrashTest(AuditTestCase):
    ROUNDS = 3

    def test_kill9_mid_flood_leaves_an_intact_chain(self):
        s = self.server(CONFIG)
        names = s.new_users(12, PASSWORD, prefix="kc", workers=4)
        before = int(s.query("SELECT COUNT(*) FROM login_logs")[0][0])
        for round_no in range(self.ROUNDS):
            with self.subTest(round=round_no):
                if not s.running():
                    s.start()
                flood = LoginFlood([s], names, threads=6, max_attempts=300, max_seconds=20).start()
                # kill once the flood is well under way: some logins answered, at least 1 s in
                wait_until(lambda: flood.acknowledged >= 15 or not flood.running(), timeout=15)
                time.sleep(0.5 + 0.3 * round_no)
                s.kill9()
                flood.stop()
                self.assertGreater(flood.acknowledged, 0, f"no login answered: {flood.errors[:3]}")
                self.assert_intact(s, msg=f"after kill -9 (round {round_no}, "
                                              f"{flood.attempts} attempts):")
                self.assert_gap_free(s, f"round {round_no}:")
                now = int(s.query("SELECT COUNT(*) FROM login_logs")[0][0])
                self.assertGreater(now, before, "the flood left audit rows")
                before = now
                if s.pg is None:
                    self.assertEqual(s.query("PRAGMA integrity_check")[0][0], "ok")
        s.start()
        make_traffic(s, names=names[:2], rounds=1)  # the restarted server chains on
        settle(s)
        self.assertEqual(s.stop(), 0)
        self.assert_intact(s, msg="after a clean restart and stop:")
        self.assert_gap_free(s)
        self.assert_recomputes(s, [pubkey(s)])

    def test_verify_while_logins_flow_says_intact(self):
        s = self.server(CONFIG)
        names = s.new_users(8, PASSWORD, prefix="lv", workers=4)
        flood = LoginFlood([s], names, threads=4, max_attempts=600, max_seconds=25).start()
        verdicts = []
        try:
            wait_until(lambda: flood.acknowledged >= 5, timeout=15)
            for _ in range(4):
                if not flood.running():
                    break
                verdicts.append(verify(s))
                time.sleep(0.2)
        finally:
            flood.stop()
        self.assertGreaterEqual(len(verdicts), 2, "verify ran at least twice during the flood")
        for i, v in enumerate(verdicts):
            self.assertEqual(v.code, 0, f"verify #{i} during the flood: {v}")
        settle(s)
        self.assert_intact(s)
        self.assert_gap_free(s)


# -- reports with proof --------------------------------------------------------------------------------

class ReportTest(AuditTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.s = cls.class_server(CONFIG)
        cls.alice, cls.bob, cls.carol = make_traffic(s, users=3, rounds=1)
        settle(s)
        wait_for_checkpoint(s, chain_state(s)["last"])
        time.sleep(1.1)
        cls.middle = iso_now()
        time.sleep(0.05)
        make_traffic(s, names=[cls.alice, cls.bob], rounds=1)
        settle(s)
        time.sleep(0.05)
        cls.end = iso_now()
        time.sleep(1.1)
        make_traffic(s, names=[cls.alice], rounds=1)
        settle(s)
        cls.key = pubkey(s)
        other = cls.class_server(CONFIG, start=False)
        cls.other_key = pubkey(other)  # another node's key
        cls.files = tempfile.mkdtemp(prefix="solod-e2e-reports-")
        cls.empty = tempfile.mkdtemp(prefix="solod-e2e-empty-")

    @classmethod
    def tearDownClass(cls):
        if not KEEP_DIRS:
            shutil.rmtree(cls.files, ignore_errors=True)
            shutil.rmtree(cls.empty, ignore_errors=True)
        super().tearDownClass()

    def save(self, name: str, data: bytes) -> str:
        path = os.path.join(self.files, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def check_shape(self, data: bytes, msg: str = "") -> list[dict]:
        """The records' order and what each holds; returns them."""
        if data.startswith(b"["):
            self.assertTrue(data.startswith(b"[\n") and data.endswith(b"\n]\n"), msg)
            lines = data[2:-3].split(b",\n")
            self.assertEqual([json.loads(line)["record"] for line in lines],
                             [r["record"] for r in json.loads(data)], f"{msg} one object per line")
        else:
            self.assertTrue(data.startswith(",".join(REPORT_COLUMNS).encode() + b"\r\n"),
                            f"{msg} CSV header: {data[:300]!r}")
            self.assertTrue(data.endswith(b"\r\n"), msg)
            self.assertNotIn(b"\n", data.replace(b"\r\n", b""), f"{msg} CRLF line ends only")
        records = report_records(data)
        kinds = [r["record"] for r in records]
        self.assertEqual(kinds[:2], ["range", "anchor"], msg)
        self.assertEqual(kinds[-2:], ["checkpoint", "signature"], msg)
        self.assertTrue(set(kinds[2:-2]) <= {"event", "omitted"}, f"{msg} {kinds}")
        ids = [int(r["id"]) for r in records[2:-2]]
        self.assertEqual(ids, list(range(int(records[1]["id"]) + 1, int(records[-2]["id"]) + 1)),
                         f"{msg} rows from the anchor to the closing checkpoint, none left out")
        self.assertEqual(records[-1]["public_key"], self.key, msg)
        self.assertEqual(records[-2]["public_key"], self.key, msg)
        # where the chain began: on the anchor and the closing checkpoint (a number in JSON),
        # on no other record
        genesis = chain_state(self.s)["genesis"]
        for r in records:
            if r["record"] in ("anchor", "checkpoint"):
                self.assertEqual(r["genesis_id"], genesis if data.startswith(b"[") else str(genesis),
                                 f"{msg} {r}")
            else:
                self.assertFalse(r.get("genesis_id"), f"{msg} {r}")
        anchor = records[1]
        if not anchor["signature"]:
            self.assertEqual(str(anchor["id"]), str(anchor["genesis_id"]),
                             f"{msg} an unsigned anchor is the chain's start")
        cp = records[-2]
        self.assertTrue(ed25519_verify(bytes.fromhex(self.key),
                                       checkpoint_message(int(cp["id"]), cp["row_hash"],
                                                          int(cp["genesis_id"]), cp["timestamp"]),
                                       bytes.fromhex(cp["signature"])), f"{msg} closing checkpoint")
        self.assertTrue(report_signature_ok(data, self.key), f"{msg} the report's own signature")
        return records

    def scope_ids(self, user: str | None = None, frm: str | None = None, to: str | None = None,
                  upto: int = 0) -> list[int]:
        """Ids of the chained rows a report of that scope must hold as events."""
        sql_text = "SELECT id FROM login_logs WHERE id > ? AND id <= ?"
        params: list = [chain_state(self.s)["genesis"], upto]
        if user:
            sql_text += " AND user_id = (SELECT id FROM users WHERE username = ?)"
            params.append(user)
        if frm:
            sql_text += " AND timestamp >= ?"
            params.append(frm)
        if to:
            sql_text += " AND timestamp < ?"
            params.append(to)
        return [int(r["id"]) for r in self.s.query(sql_text + " ORDER BY id", params)]

    def test_exports_verify_in_an_empty_directory(self):
        scopes = {"everything": [], "range": ["--from", self.middle, "--to", self.end],
                  "user": ["--user", self.bob], "user and range": ["--user", self.alice,
                                                                 "--from", self.middle]}
        for fmt in ("csv", "json"):
            for label, args in scopes.items():
                with self.subTest(format=fmt, scope=label):
                    data = export_with_proof(self.s, "--format", fmt, *args)
                    records = self.check_shape(data, f"{fmt} {label}:")
                    rng = records[0]
                    # CSV names the format in the event_type column, JSON as "format"
                    self.assertEqual(rng.get("format", rng.get("event_type")), "solod-audit-proof-v1")
                    frm = args[args.index("--from") + 1] if "--from" in args else None
                    to = args[args.index("--to") + 1] if "--to" in args else None
                    user = args[args.index("--user") + 1] if "--user" in args else None
                    self.assertEqual((rng["range_from"] or "", rng["range_to"] or "",
                                      rng.get("username") or ""), (frm or "", to or "", user or ""))
                    events = [int(r["id"]) for r in records if r["record"] == "event"]
                    self.assertEqual(events, self.scope_ids(user, frm, to, int(records[-2]["id"])))
                    self.assertGreater(len(events), 0)
                    if user:
                        self.assertEqual({r["username"] for r in records if r["record"] == "event"},
                                         {user})
                    for r in records:
                        if r["record"] == "omitted":
                            self.assertFalse(r.get("username") or r.get("ip_address")
                                             or r.get("user_agent"), f"an omitted row shows {r}")
                            self.assertRegex(r["content_digest"], HEX64_RE)
                    path = self.save(f"{fmt}-{label.replace(' ', '-')}.{fmt}", data)
                    out = self.assert_report_ok(path, [self.key], self.empty)
                    self.assertIn(f"{len(events)} events in scope", out)
                    self.assertEqual(os.listdir(self.empty), [], "verify-report writes nothing")
        cp = self.s.cli("audit", "export", "--with-proof", "--user", "nobody-" + self.alice)
        self.assertNotIn(cp.returncode, (0, None), "no such account: nothing to prove")

    def test_verify_report_needs_no_database(self):
        data = export_with_proof(self.s)
        path = self.save("nodb.csv", data)
        work = tempfile.mkdtemp(prefix="solod-e2e-nodb-")
        self.addCleanup(shutil.rmtree, work, True)
        config = os.path.join(work, "solod.toml")
        with open(config, "w", encoding="utf-8") as f:
            f.write('[database]\nurl = "sqlite3:///nonexistent-solod-dir/sub/solod.db"\n')
        cp = verify_report(path, [self.key], work, config=config)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertTrue(cp.stdout.startswith("report intact:"), cp.stdout)
        self.assertFalse(os.path.exists("/nonexistent-solod-dir"))
        self.assertEqual(os.listdir(work), ["solod.toml"])
        # with neither --pubkey nor a key of its own it has nothing to check the signatures by
        cp = verify_report(path, [], self.empty)
        self.assertEqual(cp.returncode, 2, cp.stdout + cp.stderr)
        self.assertEqual(os.listdir(self.empty), [])

    def test_wrong_key_and_edited_lines_fail(self):
        for fmt in ("csv", "json"):
            data = export_with_proof(self.s, "--format", fmt, "--user", self.bob)
            path = self.save(f"edit.{fmt}", data)
            self.assert_report_ok(path, [self.key], self.empty)
            with self.subTest(format=fmt, case="another node's key"):
                self.assert_report_broken(path, [self.other_key], self.empty)
            self.assert_report_ok(path, [self.other_key, self.key], self.empty,
                                  "either of two keys:")
            # the report as lines: CSV's header and records, or JSON's objects
            if fmt == "csv":
                lines, sep, tail, head_n = data.split(b"\r\n")[:-1], b"\r\n", b"\r\n", 1
            else:
                lines, sep, tail, head_n = data[2:-3].split(b",\n"), b",\n", b"\n]\n", 0
            kinds = [r["record"] for r in report_records(data)]
            ev = head_n + kinds.index("event")
            om = head_n + kinds.index("omitted")

            def build(new_lines):
                return ((b"[\n" if fmt == "json" else b"") + sep.join(new_lines) + tail)
            self.assertEqual(build(lines), data, "the test splits the report right")
            edits = {
                "an event line removed": lines[:ev] + lines[ev + 1:],
                "an omitted line removed": lines[:om] + lines[om + 1:],
                "two lines swapped": lines[:ev] + [lines[ev + 1], lines[ev]] + lines[ev + 2:],
                "the signature line removed": lines[:-1],
                "the closing checkpoint removed": lines[:-2] + lines[-1:],
                "a line doubled": lines[:ev + 1] + [lines[ev]] + lines[ev + 1:],
            }
            for label, new_lines in edits.items():
                with self.subTest(format=fmt, case=label):
                    p = self.save(f"edit-{label.replace(' ', '-')}.{fmt}", build(new_lines))
                    self.assert_report_broken(p, [self.key], self.empty, label)
            with self.subTest(format=fmt, case="text added to the signature record"):
                # the signature covers the bytes before its record, so that record may hold its
                # key and signature and nothing else
                if fmt == "csv":
                    fields = csv_rows(lines[-1].decode() + "\r\n")[0]
                    self.assertEqual(len(fields), len(REPORT_COLUMNS))
                    variants = {}
                    for column, text in (("id", "1"), ("username", "mallory"),
                                         ("error_message", "all rows above are forged"),
                                         ("range_to", "2099-01-01T00:00:00.000Z"),
                                         ("genesis_id", "0")):
                        changed = list(fields)
                        changed[REPORT_COLUMNS.index(column)] = text
                        variants[column] = ",".join(changed).encode()
                else:
                    self.assertTrue(lines[-1].endswith(b"}"), lines[-1])
                    variants = {"username": lines[-1][:-1] + b',"username":"mallory"}',
                                "id": lines[-1][:-1] + b',"id":1}'}
                for column, line in variants.items():
                    bad = build(lines[:-1] + [line])
                    self.assertTrue(report_signature_ok(bad, self.key),
                                    f"{column}: the report's signature itself still verifies")
                    p = self.save(f"edit-signature-{column}.{fmt}", bad)
                    out = self.assert_report_broken(p, [self.key], self.empty,
                                                    f"text in {column} of the signature record:")
                    if fmt == "csv":
                        self.assertIn("signature record holds more than its key and signature", out)
            with self.subTest(format=fmt, case="empty file"):
                p = self.save(f"empty.{fmt}", b"")
                self.assertNotEqual(verify_report(p, [self.key], self.empty).returncode, 0)

    def flip_all(self, path: str, data: bytes, positions: list[int],
                 key: str) -> list[tuple[int, str, int]]:
        """Flips each byte at `positions` (XOR 1), one at a time; returns those that still pass."""
        work = os.path.join(self.files, "flip-" + os.path.basename(path))
        os.makedirs(work, exist_ok=True)

        def one(pos: int):
            bad = bytearray(data)
            bad[pos] ^= 0x01
            p = os.path.join(work, f"{pos}")
            with open(p, "wb") as f:
                f.write(bad)
            cp = verify_report(p, [key], self.empty)
            os.unlink(p)
            if cp.returncode != 1:
                return (pos, data[max(0, pos - 20):pos + 20].decode("utf-8", "replace"), cp.returncode)
            return None
        with ThreadPoolExecutor(max_workers=2) as pool:
            return [r for r in pool.map(one, positions) if r is not None]

    def test_every_changed_byte_of_a_small_report_fails(self):
        # A server of its own with one account: a report of five records (about 1 kB).
        # CSV: every byte (one verify-report process each, 20-80 ms); JSON: a sample.
        s = self.server(CONFIG)
        s.new_user(PASSWORD, prefix="tiny")
        settle(s)
        key = pubkey(s)
        # Under the sanitizers each verify-report process is ~10x slower: a
        # sample there (every byte is flipped in-process by audit_chain_test).
        small = 120 if SANITIZED else None
        for fmt, budget in (("csv", small), ("json", 60 if SANITIZED else 300)):
            with self.subTest(format=fmt):
                data = export_with_proof(s, "--format", fmt)
                self.assertLess(len(data), 2000, "a small report")
                self.assertEqual([r["record"] for r in report_records(data)],
                                 ["range", "anchor", "event", "checkpoint", "signature"])
                path = self.save(f"tiny.{fmt}", data)
                cp = verify_report(path, [key], self.empty)
                self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
                positions = (list(range(len(data))) if budget is None
                             else sample_positions(data, budget, random.Random(len(data))))
                t0 = time.monotonic()
                passed = self.flip_all(path, data, positions, key)
                print(f"\n  {fmt}: {len(positions)} of {len(data)} bytes changed one at a time, "
                      f"checked in {time.monotonic() - t0:.1f} s", file=sys.stderr)
                self.assertEqual(passed, [], "changed bytes that verify-report did not catch "
                                             "(position, context, exit code)")

    def test_a_sample_of_changed_bytes_of_a_bigger_report_fails(self):
        for fmt, budget in (("csv", 60 if SANITIZED else 300), ("json", 40 if SANITIZED else 200)):
            with self.subTest(format=fmt):
                data = export_with_proof(self.s, "--format", fmt, "--user", self.alice)
                path = self.save(f"big.{fmt}", data)
                self.assert_report_ok(path, [self.key], self.empty)
                positions = sample_positions(data, budget, random.Random(len(data)))
                passed = self.flip_all(path, data, positions, self.key)
                self.assertEqual(passed, [], f"{len(positions)} of {len(data)} bytes changed: "
                                             f"these were not caught (position, context, exit)")

    def test_admin_csv_with_proof(self):
        _, token = add_admin_token(self.s, "rpadm")
        cases = {"everything": {}, "range": {"from": self.middle, "to": self.end},
                 "user": {"user": self.carol}}
        for label, params in cases.items():
            with self.subTest(scope=label):
                r = self.s.get(with_query("/api/admin/audit.csv", proof=1, **params), token=token)
                self.assert_status(r, 200)
                self.assertTrue(r.header("Content-Type", "").startswith("text/csv"), r.headers)
                records = self.check_shape(r.body, f"admin {label}:")
                if "user" in params:
                    self.assertEqual({x["username"] for x in records if x["record"] == "event"},
                                     {self.carol})
                path = self.save(f"admin-{label}.csv", r.body)
                self.assert_report_ok(path, [self.key], self.empty, f"admin {label}:")
        for bad in ({"ip": "1.2.3.4"}, {"event": "login_success"}):
            with self.subTest(refused=bad):
                r = self.s.get(with_query("/api/admin/audit.csv", proof=1, **bad), token=token)
                self.assert_error(r, 400)


def sample_positions(data: bytes, budget: int, rnd: random.Random) -> list[int]:
    """Byte positions to change in a bigger report: all of it if it is small; else the whole
    first record line after the header (the range), the first and last byte of every line, every
    line end (CRLF, or JSON's `,\\n`), the JSON brackets, then positions spread evenly and at
    random up to `budget`."""
    if len(data) <= budget:
        return list(range(len(data)))
    chosen: set[int] = set()
    ends = [i for i, b in enumerate(data) if b == 0x0A]
    starts = [0] + [i + 1 for i in ends if i + 1 < len(data)]
    if len(starts) > 2:
        chosen.update(range(starts[1], starts[2]))  # CSV: the range line; JSON: the range object
    for i in ends:
        chosen.update({i, i - 1, i - 2})  # LF, CR or `,`, and the byte before
    chosen.update(starts)
    chosen.update({0, len(data) - 1, len(data) - 2, len(data) - 3})
    step = max(1, len(data) // max(1, budget // 3))
    chosen.update(range(0, len(data), step))
    while len(chosen) < budget:
        chosen.add(rnd.randrange(len(data)))
    return sorted(p for p in chosen if 0 <= p < len(data))


# -- two nodes on PostgreSQL ------------------------------------------------------------------------------

@unittest.skipUnless(pg_enabled(), "needs SOLOD_TEST_PG_URL (two nodes share one PostgreSQL database)")
class ClusterChainTest(AuditTestCase, ClusterTestCase):
    def test_two_nodes_one_chain(self):
        c = self.new_cluster(2, merge_config(CONFIG, {"audit": {"checkpoint_interval": "1s"}}), start=False)
        keys = [pubkey(node) for node in c.nodes]
        self.assertNotEqual(keys[0], keys[1], "each node has its own key")
        for node, other in ((c[0], keys[1]), (c[1], keys[0])):
            node.config.setdefault("audit", {})["trusted_keys"] = [other]
            node.write_config()
        c.start()
        names = c[0].new_users(10, PASSWORD, prefix="cc", workers=4)
        flood = LoginFlood(c.nodes, names, threads=6, max_attempts=240, max_seconds=25).start()
        wait_until(lambda: not flood.running(), timeout=40)
        flood.stop()
        self.assertGreater(flood.acknowledged, 20, flood.errors[:3])
        settle(c[0])

        def both_signed():
            return {r["public_key"] for r in c.query("SELECT DISTINCT public_key FROM audit_checkpoints")}
        self.assertTrue(wait_until(lambda: both_signed() == set(keys), timeout=15),
                        f"checkpoints by {both_signed()}, keys {keys}")
        for node in c.nodes:
            self.assertEqual(node.stop(), 0)
        st = chain_state(c[0])
        self.assert_gap_free(c[0])
        for i, node in enumerate(c.nodes):
            self.assert_intact(node, msg=f"node {i}'s config:")
        self.assert_recomputes(c[0], keys)
        theirs = min(int(r["row_id"]) for r in c.query(
            "SELECT row_id FROM audit_checkpoints WHERE public_key = ?", [keys[1]]))
        self.assert_broken(c[0], theirs, "forged checkpoint", "--pubkey", keys[0],
                           msg="trusting node 0's key only:")

        m = (st["genesis"] + 1 + st["last"]) // 2
        c.query("UPDATE login_logs SET ip_address = '203.0.113.77' WHERE id = ?", [m])
        for i, node in enumerate(c.nodes):
            self.assert_broken(node, m, "changed", msg=f"node {i}:")


if __name__ == "__main__":
    unittest.main(verbosity=2)
