"""End-to-end harness: runs the real solod binary on a test config and talks to it.

Every `Solod` owns a fresh temporary directory (`solod-e2e-*`) holding its
`solod.toml`, `data/` and `logs/`; the server runs with that directory as its
working directory.  Environment:

- `SOLOD_BIN`        the server binary (default `<source>/build/solod`)
- `SOLOD_SOURCE_DIR` the repository root (default: two levels above this file)
- `SOLOD_E2E_KEEP=1` keep the temporary directories for inspection
- `SOLOD_TEST_PG_URL` a PostgreSQL maintenance URL: every server then runs on
  PostgreSQL, in a fresh database of its own (pg_database.py); `Cluster` runs
  2-3 nodes on one such database.  `SOLOD_TEST_PG_DIR`: that server's
  directory, for the tests that restart it.

Every answer the harness receives from a server (`Solod.request()` and the
helpers built on it, `Solod.raw_exchange()`, the handshake of
`Solod.ws_connect()`) is checked against docs/openapi.json (openapi_check.py):
one the document does not describe raises AssertionError, failing the test.

The Python 3.11 standard library is used, and jsonschema (Debian's
python3-jsonschema) for that check.
"""

from __future__ import annotations

import atexit
import base64
import csv
import hashlib
import hmac
import http.client
import io
import json
import os
import re
import secrets
import select
import selectors
import shutil
import signal
import socket
import sqlite3
import ssl
import struct
import subprocess
import tempfile
import threading
import time
import unittest
from dataclasses import dataclass, field
from datetime import datetime, timezone
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable

import openapi_check
from ws_client import WsClient, WsClosed, WsHandshakeError  # noqa: F401  (re-exported)
from pg_database import (PG_DIR, PG_URL, PgConnection, PgDatabase, PgError,  # noqa: F401
                         pg_enabled, pg_query, require_pg, restart_pg_server)

# -- locations ------------------------------------------------------------------

SOURCE_DIR = os.path.abspath(
    os.environ.get("SOLOD_SOURCE_DIR")
    or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SOLOD_BIN = os.path.abspath(
    os.environ.get("SOLOD_BIN") or os.path.join(SOURCE_DIR, "build", "solod"))
KEEP_DIRS = os.environ.get("SOLOD_E2E_KEEP") == "1"

LISTENING_RE = re.compile(r"listening on (\S+):(\d+)")
ISO_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
HEX128_RE = re.compile(r"^[0-9a-fA-F]{32}$")
USER_KEYS = {"id", "username", "full_name", "email", "is_admin", "is_active",
             "created_at", "last_login"}
SESSION_COOKIE = "solod_session"
DEFAULT_DB_URL = "sqlite3://data/solod.db"


def sqlite_only(reason: str):
    """Skips a test (or class) on PostgreSQL, saying why it only makes sense on SQLite."""
    return unittest.skipIf(pg_enabled(), f"SQLite-specific: {reason}")


class SolodError(RuntimeError):
    """The server did not start or stop as expected; the message carries its output."""


# -- small helpers -----------------------------------------------------------------

def unique_name(prefix: str = "u") -> str:
    """A fresh valid username (prefix + 12 hex chars) so tests never collide."""
    return prefix + secrets.token_hex(6)


def iso_now() -> str:
    """The current UTC time in the SPEC's format, 2026-11-22T09:10:00.123Z."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0,
               interval: float = 0.05) -> Any:
    """Polls `predicate` until it returns something truthy or `timeout` passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def openapi() -> openapi_check.OpenApiDocument:
    """docs/openapi.json, which every answer the harness receives is checked against."""
    return openapi_check.document(SOURCE_DIR)


def binary_available() -> bool:
    return os.path.isfile(SOLOD_BIN) and os.access(SOLOD_BIN, os.X_OK)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are valid TOML basic strings
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):  # an inline table: [[a.b]] items as a list of dicts
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {value!r} as TOML")


def to_toml(config: dict[str, dict[str, Any]]) -> str:
    """Writes a {section: {key: value}} dict as TOML."""
    lines = []
    for section, keys in config.items():
        lines.append(f"[{section}]")
        for key, value in keys.items():
            lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def merge_config(base: dict, override: dict | None) -> dict:
    """`override` merged over `base` by section; a value of None removes the key."""
    merged = {section: dict(keys) for section, keys in base.items()}
    for section, keys in (override or {}).items():
        target = merged.setdefault(section, {})
        for key, value in keys.items():
            if value is None:
                target.pop(key, None)
            else:
                target[key] = value
    return {section: keys for section, keys in merged.items() if keys}


# -- JWT ------------------------------------------------------------------------------

def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_decode(token: str) -> tuple[dict, dict, bytes]:
    """Header, payload and signature of a token, without verifying anything."""
    head, payload, sig = token.split(".")
    return (json.loads(b64url_decode(head)), json.loads(b64url_decode(payload)),
            b64url_decode(sig))


_JWT_HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def jwt_encode(payload: dict, secret: bytes | str | None, alg: str = "HS256",
               header: dict | None = None) -> str:
    """A token with `payload`; `alg` "none" gives an unsigned token (empty signature)."""
    if isinstance(secret, str):
        secret = secret.encode()
    head = {"alg": alg, "typ": "JWT"} if header is None else header
    signing_input = (b64url_encode(json.dumps(head, separators=(",", ":")).encode()) + "."
                     + b64url_encode(json.dumps(payload, separators=(",", ":")).encode()))
    if alg == "none":
        return signing_input + "."
    mac = hmac.new(secret, signing_input.encode("ascii"), _JWT_HASHES[alg]).digest()
    return signing_input + "." + b64url_encode(mac)


def jwt_signature_ok(token: str, secret: bytes | str) -> bool:
    """True when `token` is HS256-signed with `secret`."""
    if isinstance(secret, str):
        secret = secret.encode()
    signing_input, _, sig = token.rpartition(".")
    expected = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return hmac.compare_digest(expected, b64url_decode(sig))


# -- responses ----------------------------------------------------------------------------

@dataclass
class Response:
    """One HTTP answer. `headers` is an http.client.HTTPMessage (case-insensitive)."""
    status: int
    headers: Any
    text: str
    body: bytes
    json: Any = None

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)

    def set_cookies(self) -> list["Cookie"]:
        return [Cookie.parse(v) for v in (self.headers.get_all("Set-Cookie") or [])]

    def cookie(self, name: str = SESSION_COOKIE) -> "Cookie | None":
        for c in self.set_cookies():
            if c.name == name:
                return c
        return None

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.text[:300]!r}>"


@dataclass
class Cookie:
    """A parsed Set-Cookie header; attribute names are lower-cased, flags map to True."""
    name: str
    value: str
    attrs: dict[str, Any] = field(default_factory=dict)
    raw: str = ""

    @classmethod
    def parse(cls, header: str) -> "Cookie":
        parts = [p.strip() for p in header.split(";")]
        name, _, value = parts[0].partition("=")
        attrs: dict[str, Any] = {}
        for part in parts[1:]:
            if not part:
                continue
            key, eq, val = part.partition("=")
            attrs[key.strip().lower()] = val.strip() if eq else True
        return cls(name.strip(), value.strip(), attrs, header)


@dataclass
class RawResponse:
    """What came back on a raw socket: `status` is None when no HTTP answer arrived."""
    status: int | None
    headers: dict[str, str]
    body: bytes
    raw: bytes
    error: str | None = None

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def _parse_raw_response(raw: bytes) -> tuple[int | None, dict[str, str], bytes]:
    if not raw.startswith(b"HTTP/"):
        return None, {}, b""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return None, {}, b""
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    return status, headers, body


def _check_raw(head: bytes, status: int, headers: dict[str, str], body: bytes) -> None:
    """Checks a raw answer against docs/openapi.json: for the request line of `head`, or,
    when that is not one, as an answer of the HTTP layer to any request. A body that is
    cut short or chunk-encoded is not looked into (status and headers still are)."""
    request = openapi_check.parse_request_line(head)
    method, target = request if request else (None, "")
    length = headers.get("content-length")
    complete = (length is not None and length.isdigit() and len(body) >= int(length)
                and "chunked" not in headers.get("transfer-encoding", "").lower())
    if complete:
        body = body[:int(length)]
    openapi().check(method, target, status, list(headers.items()), body, check_body=complete)


def _raw_complete(raw: bytes) -> bool:
    """True once a full response (headers + Content-Length body) is in `raw`."""
    if b"\r\n\r\n" not in raw:
        return False
    _, headers, body = _parse_raw_response(raw)
    length = headers.get("content-length")
    return length is not None and length.isdigit() and len(body) >= int(length)


# -- the server -------------------------------------------------------------------------------

_live: "set[Solod]" = set()
_live_lock = threading.Lock()


def _cleanup_all() -> None:
    with _live_lock:
        servers = list(_live)
    for s in servers:
        s.close()


atexit.register(_cleanup_all)


def child_env(extra: dict[str, str] | None) -> dict[str, str]:
    """The process environment without stray SOLOD_* overrides, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOLOD_")}
    env.update(extra or {})
    return env


def _die_with_parent() -> None:
    """preexec_fn: the server gets SIGKILL if the test process dies (e.g. a ctest timeout)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except Exception:
        pass


class Solod:
    """One solod server in its own temporary directory.

    `config` ({section: {key: value}}) is merged over the test defaults and
    written to `<dir>/solod.toml`; `env` adds environment variables (SOLOD_*
    variables of the test process itself are not passed on).

    On PostgreSQL (SOLOD_TEST_PG_URL set) a server whose database URL is the
    default gets a fresh database of its own, dropped by `close()`; `pg`
    instead gives it a shared one (a `Cluster`'s), which it leaves alone.
    """

    START_TIMEOUT = 20.0

    def __init__(self, config: dict | None = None, env: dict | None = None,
                 pg: PgDatabase | None = None):
        self.dir = tempfile.mkdtemp(prefix="solod-e2e-")
        self.config_path = os.path.join(self.dir, "solod.toml")
        self.config = merge_config(self.default_config(), config)
        self.pg: PgDatabase | None = pg
        self._owns_pg = False
        if pg is None and pg_enabled() and self.config.get("database", {}).get("url") == DEFAULT_DB_URL:
            try:
                self.pg = PgDatabase()
            except BaseException:
                shutil.rmtree(self.dir, ignore_errors=True)
                raise
            self._owns_pg = True
        if self.pg is not None:
            self.config.setdefault("database", {})["url"] = self.pg.url
        self.env = dict(env or {})
        # Runs in the child before exec (e.g. resource.setrlimit); None: nothing.
        self.preexec: Callable[[], None] | None = None
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.host = "127.0.0.1"
        self._buf = bytearray()
        self._cond = threading.Condition()
        self._reader: threading.Thread | None = None
        self._closed = False
        self.write_config()
        with _live_lock:
            _live.add(self)

    @staticmethod
    def default_config() -> dict:
        return {
            # Every test client comes from 127.0.0.1: the per-address caps are
            # lifted here, and the tests of those caps set their own.
            "server": {"listen": "127.0.0.1:0", "tls": "off",
                       "static_dir": os.path.join(SOURCE_DIR, "web"),
                       "max_connections_per_ip": 1000000},
            "limits": {"register_per_ip_per_minute": 1000000},
            "log": {"level": "info", "dir": "logs"},
            "database": {"url": DEFAULT_DB_URL},
        }

    # -- files -------------------------------------------------------------------

    def write_config(self, text: str | None = None) -> None:
        """Writes the config file: `text` verbatim, or `self.config` as TOML."""
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(to_toml(self.config) if text is None else text)

    def path(self, *parts: str) -> str:
        """A path inside the server's directory."""
        return os.path.join(self.dir, *parts)

    @property
    def db_path(self) -> str:
        """data/solod.db; on PostgreSQL the database's URL (insert_audit_rows takes either)."""
        if self.pg is not None:
            return self.pg.url
        return self.path("data", "solod.db")

    # -- process ------------------------------------------------------------------

    def start(self, with_config: bool = True) -> "Solod":
        """Spawns the server and waits for `listening on HOST:PORT`; raises SolodError with its output otherwise.

        `with_config=False` starts `solod` with no arguments at all (it then
        reads `config/solod.toml` in its directory if present, else its defaults).
        """
        if not binary_available():
            raise SolodError(f"solod binary not found or not executable: {SOLOD_BIN}")
        if self.running():
            raise SolodError("already running")
        with self._cond:
            offset = len(self._buf)
        kwargs = {}
        extra = self.preexec
        if threading.current_thread() is threading.main_thread():
            # PDEATHSIG follows the spawning thread
            kwargs["preexec_fn"] = ((lambda: (_die_with_parent(), extra())) if extra
                                    else _die_with_parent)
        elif extra:
            kwargs["preexec_fn"] = extra
        argv = [SOLOD_BIN, "--config", self.config_path] if with_config else [SOLOD_BIN]
        self.proc = subprocess.Popen(
            argv, cwd=self.dir,
            env=child_env(self.env), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kwargs)
        self._reader = threading.Thread(target=self._read_output, args=(self.proc,),
                                        name=f"solod-output-{self.proc.pid}", daemon=True)
        self._reader.start()
        deadline = time.monotonic() + self.START_TIMEOUT
        with self._cond:
            while True:
                m = LISTENING_RE.search(self._buf[offset:].decode("utf-8", "replace"))
                if m:
                    self.host = m.group(1) if m.group(1) not in ("0.0.0.0", "[::]", "::") else "127.0.0.1"
                    self.port = int(m.group(2))
                    return self
                if self.proc.poll() is not None and not self._reader.is_alive():
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(min(remaining, 0.2))
        code = self.proc.poll()
        if code is None:
            self._kill_proc()
            why = f"no 'listening on' line within {self.START_TIMEOUT:.0f} s"
        else:
            why = f"exited with code {code} before listening"
        raise SolodError(f"solod {why}; output:\n{self.output()}")

    def _read_output(self, proc: subprocess.Popen) -> None:
        fd = proc.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            with self._cond:
                if chunk:
                    self._buf.extend(chunk)
                self._cond.notify_all()
            if not chunk:
                break
        try:
            proc.stdout.close()
        except OSError:
            pass

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int | None:
        """Sends `sig` and waits for the exit code; kills with SIGKILL and raises SolodError on timeout."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._kill_proc()
                raise SolodError(f"solod did not exit within {timeout} s of signal {sig}; "
                                 f"output:\n{self.output()}")
        self._join_reader()
        return self.proc.returncode

    def kill9(self) -> None:
        """SIGKILL, no chance to clean up."""
        self._kill_proc()

    def _kill_proc(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self._join_reader()

    def _join_reader(self) -> None:
        if self._reader is not None:
            self._reader.join(5)

    def restart(self) -> "Solod":
        """Stops (SIGTERM) if running and starts again in the same directory; the port changes."""
        if self.running():
            self.stop()
        return self.start()

    def output(self) -> str:
        """Everything the server(s) of this directory printed so far (stdout and stderr merged)."""
        with self._cond:
            return self._buf.decode("utf-8", "replace")

    def close(self) -> None:
        """Kills the server if still running and removes the directory (unless SOLOD_E2E_KEEP=1)."""
        if self._closed:
            return
        self._closed = True
        self._kill_proc()
        if self._owns_pg and self.pg is not None and not KEEP_DIRS:
            self.pg.drop()
        if not KEEP_DIRS:
            shutil.rmtree(self.dir, ignore_errors=True)
        with _live_lock:
            _live.discard(self)

    def __enter__(self) -> "Solod":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- HTTP -------------------------------------------------------------------------

    def connection(self, tls: bool = False, timeout: float = 15.0,
                   context: ssl.SSLContext | None = None) -> http.client.HTTPConnection:
        if tls:
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout,
                                               context=context or insecure_context())
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method: str, path: str, body: Any = None,
                headers: dict | None = None, token: str | None = None,
                cookie: str | None = None, tls: bool = False,
                timeout: float = 15.0) -> Response:
        """One request on a new connection.

        `body`: dict/list -> JSON, str/bytes -> sent raw.  `token` adds
        `Authorization: Bearer`, `cookie` adds `Cookie: solod_session=VALUE`.
        A `User-Agent: solod-e2e/1.0` is sent unless `headers` has one.
        """
        hdrs = {"User-Agent": "solod-e2e/1.0"}
        if isinstance(body, (dict, list)):
            payload: bytes | None = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        elif isinstance(body, str):
            payload = body.encode()
            hdrs["Content-Type"] = "application/json"
        else:
            payload = body
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        if cookie is not None:
            hdrs["Cookie"] = f"{SESSION_COOKIE}={cookie}"
        for key, value in (headers or {}).items():
            for existing in [k for k in hdrs if k.lower() == key.lower()]:
                del hdrs[existing]
            if value is not None:
                hdrs[key] = value
        conn = self.connection(tls=tls, timeout=timeout)
        try:
            conn.request(method, path, body=payload, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            text = data.decode("utf-8", "replace")
            try:
                parsed = json.loads(text) if text else None
            except ValueError:
                parsed = None
        finally:
            conn.close()
        openapi().check(method, path, resp.status, resp.headers.items(), data)
        return Response(resp.status, resp.headers, text, data, parsed)

    def get(self, path: str, **kw) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw) -> Response:
        return self.request("POST", path, body, **kw)

    def register(self, username: str, password: str, **extra) -> Response:
        return self.request("POST", "/api/register",
                            {"username": username, "password": password, **extra})

    def login(self, username: str, password: str, headers: dict | None = None,
              path: str = "/api/login", **kw) -> Response:
        return self.request("POST", path, {"username": username, "password": password},
                            headers=headers, **kw)

    def me(self, token: str | None = None, **kw) -> Response:
        return self.request("GET", "/api/me", token=token, **kw)

    def logout(self, token: str | None = None, **kw) -> Response:
        return self.request("POST", "/api/logout", token=token, **kw)

    def new_user(self, password: str = "correct horse battery", prefix: str = "u",
                 **extra) -> tuple[str, str]:
        """Registers a fresh user; returns (username, password)."""
        name = unique_name(prefix)
        r = self.register(name, password, **extra)
        if r.status != 201:
            raise AssertionError(f"register {name}: expected 201, got {r!r}")
        return name, password

    def login_ok(self, username: str, password: str, **kw) -> dict:
        """Logs in and returns the JSON body; raises AssertionError unless 200."""
        r = self.login(username, password, **kw)
        if r.status != 200 or not isinstance(r.json, dict):
            raise AssertionError(f"login {username}: expected 200, got {r!r}")
        return r.json

    def new_users(self, count: int, password: str = "correct horse battery",
                  prefix: str = "u", workers: int = 8) -> list[str]:
        """Registers `count` fresh users in parallel (Argon2id is slow); returns their names in order."""
        names = [unique_name(prefix) for _ in range(count)]

        def one(name: str) -> str:
            r = self.register(name, password)
            if r.status != 201:
                raise AssertionError(f"register {name}: expected 201, got {r!r}")
            return name
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(one, names))

    def login_many(self, names: Iterable[str], password: str = "correct horse battery",
                   workers: int = 8,
                   headers_for: Callable[[str], dict] | None = None) -> list[dict]:
        """Logs every user of `names` in, in parallel; returns the login bodies in order.

        `headers_for(name)` may give per-login headers (e.g. a User-Agent naming the user).
        Raises AssertionError at the first login that is not 200.
        """
        def one(name: str) -> dict:
            return self.login_ok(name, password,
                                 headers=headers_for(name) if headers_for else None)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(one, list(names)))

    def metrics(self) -> dict[tuple[str, tuple], float]:
        """GET /metrics parsed as {(name, ((label, value), ...)): value}; labels sorted."""
        r = self.get("/metrics")
        if r.status != 200:
            raise AssertionError(f"GET /metrics: expected 200, got {r!r}")
        return parse_metrics_text(r.text)

    def metric(self, name: str, **labels: str) -> float | None:
        """One sample of /metrics (exact label set), or None when absent."""
        return self.metrics().get((name, tuple(sorted(labels.items()))))

    # -- WebSocket ---------------------------------------------------------------------------

    def ws_connect(self, headers: dict | None = None, tls: bool = False, path: str = "/ws",
                   timeout: float = 10.0) -> WsClient:
        """Opens a WebSocket to this server without authenticating; raises WsHandshakeError if refused."""
        try:
            client = WsClient(self.host, self.port, path=path, headers=headers, tls=tls,
                              timeout=timeout)
        except WsHandshakeError as refused:
            openapi().check_upgrade(path, refused.status, refused.body.encode())
            raise
        try:
            openapi().check_upgrade(path, 101, b"")
        except BaseException:
            client.close()
            raise
        return client

    def ws(self, token: str, via: str = "bearer", headers: dict | None = None,
           tls: bool = False, timeout: float = 10.0) -> WsClient:
        """An authenticated WebSocket: `via` is "bearer" (Authorization header),
        "cookie" (solod_session) or "message" (a first {"type":"auth"} message).

        Waits for the `welcome` and stores it as `client.welcome`; raises
        AssertionError (with what came instead) if none arrives.
        """
        hdrs = dict(headers or {})
        if via == "bearer":
            hdrs["Authorization"] = f"Bearer {token}"
        elif via == "cookie":
            hdrs["Cookie"] = f"{SESSION_COOKIE}={token}"
        elif via != "message":
            raise ValueError(f"unknown via {via!r}")
        client = self.ws_connect(headers=hdrs, tls=tls, timeout=timeout)
        try:
            if via == "message":
                client.send_json({"type": "auth", "token": token})
            try:
                first = client.recv_json(timeout=timeout)
            except WsClosed as closed:
                raise AssertionError(f"WebSocket ({via}) closed with {closed.code} "
                                     f"instead of a welcome") from None
            if not isinstance(first, dict) or first.get("type") != "welcome":
                raise AssertionError(f"WebSocket ({via}): expected a welcome, got {first!r}")
        except BaseException:
            client.close()
            raise
        client.sock.settimeout(timeout)
        client.welcome = first
        return client

    def raw_exchange(self, head: bytes, body: bytes = b"", timeout: float = 10.0,
                     tls: bool = False) -> RawResponse:
        """Sends `head` then `body` on a raw socket, stopping early if the server answers
        or closes (BrokenPipe/ConnectionReset are expected), then reads the answer."""
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        if tls:
            sock = insecure_context().wrap_socket(sock)
        raw = bytearray()
        error = None
        deadline = time.monotonic() + timeout
        try:
            try:
                sock.sendall(head)
                view = memoryview(body)
                sent = 0
                while sent < len(body) and time.monotonic() < deadline:
                    readable, writable, _ = select.select([sock], [sock], [], 0.5)
                    if readable:
                        break  # an answer (or a close) is waiting
                    if writable:
                        sent += sock.send(view[sent:sent + 65536])
            except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError,
                    socket.timeout, ssl.SSLError, OSError) as e:
                error = f"send: {e!r}"
            while time.monotonic() < deadline and not _raw_complete(bytes(raw)):
                try:
                    sock.settimeout(max(0.05, deadline - time.monotonic()))
                    chunk = sock.recv(65536)
                except (ConnectionResetError, ConnectionAbortedError, socket.timeout,
                        ssl.SSLError, OSError) as e:
                    error = (error + "; " if error else "") + f"recv: {e!r}"
                    break
                if not chunk:
                    break
                raw.extend(chunk)
        finally:
            sock.close()
        status, headers, rbody = _parse_raw_response(bytes(raw))
        if status is not None:
            _check_raw(head, status, headers, rbody)
        return RawResponse(status, headers, rbody, bytes(raw), error)

    # -- command line -------------------------------------------------------------------

    def cli(self, *args: str, stdin: str | bytes | None = None, config: bool = True,
            env: dict | None = None, timeout: float = 60.0,
            user: int | None = None) -> subprocess.CompletedProcess:
        """Runs `solod ARGS --config <dir>/solod.toml` (cwd = the server's directory).

        `config=False` leaves `--config` out; `user` runs it as that uid.  On
        timeout the process is killed and the result has `returncode` None.
        stdout/stderr are text.
        """
        argv = [SOLOD_BIN, *args]
        if config:
            argv += ["--config", self.config_path]
        data = stdin.encode() if isinstance(stdin, str) else stdin
        try:
            cp = subprocess.run(argv, cwd=self.dir, env=child_env({**self.env, **(env or {})}),
                                input=data if data is not None else b"",
                                capture_output=True, timeout=timeout, user=user)
            return subprocess.CompletedProcess(
                argv, cp.returncode, cp.stdout.decode("utf-8", "replace"),
                cp.stderr.decode("utf-8", "replace"))
        except subprocess.TimeoutExpired as e:
            return subprocess.CompletedProcess(
                argv, None, (e.stdout or b"").decode("utf-8", "replace"),
                (e.stderr or b"").decode("utf-8", "replace"))

    # -- database ---------------------------------------------------------------------------

    def db(self) -> "sqlite3.Connection | PgConnection":
        """A connection to data/solod.db (autocommit, for reading; the server uses WAL);
        on PostgreSQL a PgConnection (each statement on its own)."""
        if self.pg is not None:
            return self.pg.connection()
        conn = sqlite3.connect(self.db_path, timeout=10, isolation_level=None)
        conn.row_factory = sqlite3.Row
        return conn

    def query(self, sql: str, params: Iterable = ()) -> list[sqlite3.Row]:
        """Runs one read query on a short-lived connection (rows by index and by name)."""
        if self.pg is not None:
            return self.pg.query(sql, params)
        conn = self.db()
        try:
            return conn.execute(sql, tuple(params)).fetchall()
        finally:
            conn.close()

    def wait_rows(self, sql: str, params: Iterable = (), min_rows: int = 1,
                  timeout: float = 5.0) -> list[sqlite3.Row]:
        """Polls `sql` until it returns at least `min_rows` rows (or `timeout`); returns the last result."""
        result: list = []

        def poll():
            nonlocal result
            result = self.query(sql, params)
            return len(result) >= min_rows
        wait_until(poll, timeout)
        return result

    def log_files(self) -> list[str]:
        """Every file under <dir>/logs."""
        out = []
        for root, _, files in os.walk(self.path("logs")):
            out += [os.path.join(root, f) for f in files]
        return out


def insecure_context(maximum_version: ssl.TLSVersion | None = None,
                     minimum_version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    """A client TLS context that does not verify the (self-signed) server certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if minimum_version is not None:
        ctx.minimum_version = minimum_version
    if maximum_version is not None:
        ctx.maximum_version = maximum_version
    return ctx


# -- test base class ----------------------------------------------------------------------------

class SolodTestCase(unittest.TestCase):
    """unittest.TestCase with SPEC-shaped assertions and server bookkeeping.

    Servers made with `self.server(...)` (per test) or `cls.class_server(...)`
    (per class) are killed and cleaned up automatically.
    """

    maxDiff = 4000
    _class_servers: list

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls._class_servers = []
        if not binary_available():
            raise SolodError(f"solod binary not found: {SOLOD_BIN} (set SOLOD_BIN)")

    @classmethod
    def tearDownClass(cls) -> None:
        for s in getattr(cls, "_class_servers", []):
            s.close()
        super().tearDownClass()

    @classmethod
    def class_server(cls, config: dict | None = None, env: dict | None = None,
                     start: bool = True) -> Solod:
        s = Solod(config, env)
        cls._class_servers.append(s)
        return s.start() if start else s

    def server(self, config: dict | None = None, env: dict | None = None,
               start: bool = True) -> Solod:
        s = Solod(config, env)
        self.addCleanup(s.close)
        return s.start() if start else s

    # -- assertions ----------------------------------------------------------------------

    def assert_status(self, resp: Response, status: int, msg: str = "") -> None:
        self.assertEqual(resp.status, status, f"{msg} body={resp.text[:500]!r}")

    def assert_error(self, resp: Response | RawResponse, status: int | Iterable[int],
                     code: str | None = None, msg: str = "") -> None:
        """`resp` is `{"error": code, "message": text}` with `status` (one or any of several)."""
        statuses = (status,) if isinstance(status, int) else tuple(status)
        body = resp.json
        text = resp.text if isinstance(resp, Response) else resp.body.decode("utf-8", "replace")
        self.assertIn(resp.status, statuses, f"{msg} body={text[:500]!r}")
        self.assertIsInstance(body, dict, f"{msg} error body is not a JSON object: {text[:500]!r}")
        self.assertIn("error", body, f"{msg} {body}")
        self.assertIn("message", body, f"{msg} {body}")
        self.assertIsInstance(body["error"], str, f"{msg} {body}")
        self.assertIsInstance(body["message"], str, f"{msg} {body}")
        if code is not None:
            self.assertEqual(body["error"], code, f"{msg} {body}")

    def assert_iso(self, value: Any, msg: str = "") -> None:
        self.assertIsInstance(value, str, f"{msg} timestamp {value!r}")
        self.assertRegex(value, ISO_RE, f"{msg} timestamp")

    def assert_user(self, user: Any, username: str | None = None) -> None:
        """`user` has the SPEC shape {id, username, full_name, email, is_admin, is_active, created_at, last_login}."""
        self.assertIsInstance(user, dict)
        missing = USER_KEYS - set(user)
        self.assertFalse(missing, f"user lacks {missing}: {user}")
        leaked = [k for k in user if "pass" in k.lower() or "hash" in k.lower()]
        self.assertFalse(leaked, f"user exposes {leaked}")
        self.assertIsInstance(user["id"], int)
        self.assertNotIsInstance(user["id"], bool)
        self.assertIsInstance(user["username"], str)
        if username is not None:
            self.assertEqual(user["username"].lower(), username.lower())
        self.assertIsInstance(user["is_admin"], bool)
        self.assertIsInstance(user["is_active"], bool)
        self.assert_iso(user["created_at"], "user.created_at")
        if user["last_login"] is not None:
            self.assert_iso(user["last_login"], "user.last_login")
        for key in ("full_name", "email"):
            self.assertTrue(user[key] is None or isinstance(user[key], str), f"{key}: {user[key]!r}")

    def assert_session_cookie(self, resp: Response, token: str, secure: bool) -> None:
        """Set-Cookie: solod_session=TOKEN; HttpOnly; SameSite=Strict; Path=/ (+ Secure iff `secure`)."""
        c = resp.cookie()
        self.assertIsNotNone(c, f"no {SESSION_COOKIE} cookie in {resp.headers.get_all('Set-Cookie')}")
        self.assertEqual(c.value, token)
        self.assertIn("httponly", c.attrs, c.raw)
        self.assertEqual(str(c.attrs.get("samesite", "")).lower(), "strict", c.raw)
        self.assertEqual(c.attrs.get("path"), "/", c.raw)
        if secure:
            self.assertIn("secure", c.attrs, c.raw)
        else:
            self.assertNotIn("secure", c.attrs, c.raw)

    def assert_cookie_cleared(self, resp: Response) -> None:
        c = resp.cookie()
        self.assertIsNotNone(c, f"no {SESSION_COOKIE} cookie cleared in "
                                f"{resp.headers.get_all('Set-Cookie')}")
        cleared = c.attrs.get("max-age") == "0"
        if not cleared and isinstance(c.attrs.get("expires"), str):
            from email.utils import parsedate_to_datetime
            try:
                cleared = parsedate_to_datetime(c.attrs["expires"]).timestamp() < time.time()
            except (TypeError, ValueError):
                cleared = False
        self.assertTrue(cleared, f"cookie not cleared (Max-Age=0 or past Expires): {c.raw}")


def csv_rows(text: str) -> list[list[str]]:
    """Parses RFC 4180 CSV text."""
    return list(csv.reader(io.StringIO(text, newline="")))


def median(values: list[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    return ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2


# -- metrics ------------------------------------------------------------------------------------

_METRIC_LINE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
_METRIC_LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics_text(text: str) -> dict[tuple[str, tuple], float]:
    """Prometheus text as {(name, ((label, value), ...)): value}; comments and odd lines skipped."""
    out = {}
    for line in text.splitlines():
        m = _METRIC_LINE_RE.match(line)
        if not m or line.startswith("#"):
            continue
        try:
            value = float(m.group(3))
        except ValueError:
            continue
        labels = tuple(sorted(_METRIC_LABEL_RE.findall(m.group(2) or "")))
        out[(m.group(1), labels)] = value
    return out


# -- presence -----------------------------------------------------------------------------------

def subscribe_presence(client: WsClient, timeout: float = 10.0) -> list[dict]:
    """Subscribes `client` to presence and returns once the subscription is surely in force.

    solod answers `subscribed` before its presence actor has taken the
    subscription in, so a change right after it can be lost (see
    test_websocket.PresenceRaceTest).  This therefore also asks for `online`:
    the presence actor answers that after the subscribe sent from the same
    connection.  Returns the presence updates that arrived before that answer
    (changes from before the subscription, e.g. the subscriber's own coming
    online); raises AssertionError on anything else.
    """
    client.send_json({"type": "subscribe", "topic": "presence"})
    first = client.recv_json(timeout=timeout)
    if first != {"type": "subscribed", "topic": "presence"}:
        raise AssertionError(f"expected subscribed, got {first!r}")
    client.send_json({"type": "online"})
    early = []
    deadline = time.monotonic() + timeout
    while True:
        msg = client.recv_json(timeout=max(0.05, deadline - time.monotonic()))
        if msg.get("type") == "online":
            return early
        if msg.get("type") != "presence":
            raise AssertionError(f"expected presence or online, got {msg!r}")
        early.append(msg)


# -- many WebSockets at once --------------------------------------------------------------------

def raise_nofile_limit(wanted: int) -> int:
    """Raises RLIMIT_NOFILE towards `wanted` (at most the hard limit); returns the soft limit now."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@dataclass
class WsEvent:
    """What one multiplexed connection received: `kind` "text" (data = parsed JSON or the raw
    text), "binary" (bytes), "close" (data = close code or None) or "eof" (the TCP connection
    ended without a close frame); `at` is time.monotonic() when it was read."""
    at: float
    kind: str
    data: Any


class WsMux:
    """Reads many already-open WsClients at once from one background thread.

    Each added client's socket is switched to non-blocking and read with
    `selectors`; text messages and the close code are recorded per key with the
    time they were read; pings are answered, a close is echoed and the socket
    closed, as a browser would.  Plain sockets only (no TLS).
    """

    def __init__(self) -> None:
        self._sel = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._pending: list[tuple[Any, WsClient]] = []
        self._events: dict[Any, list[WsEvent]] = {}
        self._done: set = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ws-mux", daemon=True)
        self._thread.start()

    def add(self, key: Any, client: WsClient) -> None:
        """Hands `client` over to the mux; do not read it directly any more."""
        with self._lock:
            if key in self._events:
                raise KeyError(f"duplicate key {key!r}")
            self._events[key] = []
            self._pending.append((key, client))

    def events(self, key: Any) -> list[WsEvent]:
        with self._lock:
            return list(self._events[key])

    def texts(self, key: Any) -> list[Any]:
        return [e.data for e in self.events(key) if e.kind == "text"]

    def close_code(self, key: Any) -> int | None:
        """The close code the server sent (None if none yet, or if the TCP connection just ended)."""
        for e in self.events(key):
            if e.kind == "close":
                return e.data
        return None

    def finished(self, key: Any) -> bool:
        with self._lock:
            return key in self._done

    def finished_count(self, keys: Iterable[Any]) -> int:
        with self._lock:
            return sum(1 for k in keys if k in self._done)

    def close(self) -> None:
        """Stops the reader thread and closes every socket still open."""
        self._stop.set()
        self._thread.join(10)
        for key in list(self._sel.get_map().values()):
            try:
                key.data[1].sock.close()
            except OSError:
                pass
        with self._lock:
            for _, client in self._pending:
                client.sock.close()
            self._pending.clear()
        self._sel.close()

    # -- reader thread -------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                pending, self._pending = self._pending, []
            for key, client in pending:
                client.sock.setblocking(False)
                state = [key, client, bytearray(client.buf), bytearray(), None]  # key, client, inbuf, fragments, frag opcode
                client.buf = b""
                self._sel.register(client.sock, selectors.EVENT_READ, state)
                if state[2]:
                    self._parse(state, time.monotonic())
            if not self._sel.get_map():
                time.sleep(0.01)
                continue
            for skey, _ in self._sel.select(timeout=0.05):
                state = skey.data
                try:
                    chunk = state[1].sock.recv(262144)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    chunk = b""
                now = time.monotonic()
                if not chunk:
                    self._finish(state, WsEvent(now, "eof", None))
                    continue
                state[2].extend(chunk)
                self._parse(state, now)

    def _record(self, key: Any, event: WsEvent) -> None:
        with self._lock:
            self._events[key].append(event)

    def _finish(self, state: list, event: WsEvent | None) -> None:
        key, client = state[0], state[1]
        if event is not None:
            self._record(key, event)
        try:
            self._sel.unregister(client.sock)
        except (KeyError, ValueError):
            pass
        try:
            client.sock.close()
        except OSError:
            pass
        with self._lock:
            self._done.add(key)

    def _send(self, client: WsClient, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        frame = bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + bytes(
            b ^ mask[i % 4] for i, b in enumerate(payload))
        try:
            client.sock.send(frame)  # tiny control frame on a socket we never write much to
        except OSError:
            pass

    def _parse(self, state: list, now: float) -> None:
        key, client, buf = state[0], state[1], state[2]
        while True:
            if len(buf) < 2:
                return
            b1, b2 = buf[0], buf[1]
            n, pos = b2 & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    return
                n, pos = struct.unpack("!H", bytes(buf[2:4]))[0], 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n, pos = struct.unpack("!Q", bytes(buf[2:10]))[0], 10
            if b2 & 0x80:
                pos += 4  # servers do not mask; tolerate it anyway below
            if len(buf) < pos + n:
                return
            payload = bytes(buf[pos:pos + n])
            if b2 & 0x80:
                mask = bytes(buf[pos - 4:pos])
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            del buf[:pos + n]
            fin, opcode = bool(b1 & 0x80), b1 & 0x0F
            if opcode == 0x9:
                self._send(client, 0xA, payload)
            elif opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                self._send(client, 0x8, payload[:2])
                self._finish(state, WsEvent(now, "close", code))
                return
            elif opcode in (0x1, 0x2, 0x0):
                if opcode != 0x0:
                    state[4] = opcode
                state[3].extend(payload)
                if fin:
                    data, state[3] = bytes(state[3]), bytearray()
                    if state[4] == 0x1:
                        text = data.decode("utf-8", "replace")
                        try:
                            value: Any = json.loads(text)
                        except ValueError:
                            value = text
                        self._record(key, WsEvent(now, "text", value))
                    else:
                        self._record(key, WsEvent(now, "binary", data))


# -- admin API and audit log helpers (test_admin_*.py, test_retention.py) ---------------------

ADMIN_PASSWORD = "admin-password-1"


def iso_at(when: datetime) -> str:
    """`when` (aware, or naive meaning UTC) in the SPEC's format, 2026-11-22T09:10:00.123Z."""
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def add_admin(server: Solod, prefix: str = "admin",
              password: str = ADMIN_PASSWORD) -> tuple[str, str]:
    """Creates an admin with `solod user add NAME --admin --password-stdin` (the way the
    first admin is made); works with the server running or stopped. Returns (name, password)."""
    name = unique_name(prefix)
    cp = server.cli("user", "add", name, "--admin", "--password-stdin", stdin=password + "\n")
    if cp.returncode != 0:
        raise AssertionError(f"solod user add {name} --admin: exit {cp.returncode}\n"
                             f"{cp.stdout}{cp.stderr}")
    return name, password


def add_admin_token(server: Solod, prefix: str = "admin",
                    headers: dict | None = None) -> tuple[str, str]:
    """A fresh admin, logged in; returns (name, token)."""
    name, password = add_admin(server, prefix)
    return name, server.login_ok(name, password, headers=headers)["token"]


def with_query(path: str, **params: Any) -> str:
    """`path?k=v&...` URL-encoded; parameters that are None are left out."""
    from urllib.parse import urlencode
    pairs = {k: v for k, v in params.items() if v is not None}
    return path + ("?" + urlencode(pairs) if pairs else "")


def walk_pages(server: Solod, path: str, key: str, token: str, max_pages: int = 5000,
               between: Callable[[], Any] | None = None, cursor: str | None = None,
               **params: Any) -> list[list[dict]]:
    """Follows `next_cursor` of a listing (`key` is "events" or "sessions") from the first
    page (or from `cursor`) until it is null; returns the pages. `between()` runs after
    each page. Raises AssertionError on an answer other than 200 or after `max_pages` pages."""
    pages: list[list[dict]] = []
    for _ in range(max_pages):
        r = server.get(with_query(path, cursor=cursor, **params), token=token)
        if r.status != 200 or not isinstance(r.json, dict) or key not in r.json:
            raise AssertionError(f"GET {path} page {len(pages) + 1}: {r!r}")
        pages.append(r.json[key])
        if between is not None:
            between()
        cursor = r.json.get("next_cursor")
        if cursor is None:
            return pages
        if not isinstance(cursor, str) or not cursor:
            raise AssertionError(f"next_cursor is {cursor!r}")
    raise AssertionError(f"GET {path}: still a next_cursor after {max_pages} pages")


AUDIT_COLUMNS = ("timestamp", "event_type", "user_id", "username", "session_id", "ip_address",
                 "user_agent", "status", "error_message", "legal_basis")


def insert_audit_rows(db_path: str, rows: Iterable[dict]) -> list[int]:
    """Writes login_logs rows straight into the SQLite database (server running or not);
    missing columns default to status 'success', legal_basis 'legal_obligation', '' or NULL.
    Returns the new ids in order."""
    defaults = {"event_type": "login_success", "user_id": None, "username": "",
                "session_id": None, "ip_address": "", "user_agent": "", "status": "success",
                "error_message": "", "legal_basis": "legal_obligation"}
    if db_path.startswith(("postgresql://", "postgres://")):
        return _insert_audit_rows_pg(db_path, rows, defaults)
    conn = sqlite3.connect(db_path, timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        ids = []
        for row in rows:
            values = {**defaults, **row}
            cur = conn.execute(
                f"INSERT INTO login_logs ({', '.join(AUDIT_COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in AUDIT_COLUMNS)})",
                [values[c] for c in AUDIT_COLUMNS])
            ids.append(cur.lastrowid)
        conn.execute("COMMIT")
        return ids
    finally:
        conn.close()


def _insert_audit_rows_pg(url: str, rows: Iterable[dict], defaults: dict) -> list[int]:
    """insert_audit_rows on PostgreSQL: one multi-row INSERT ... RETURNING id, in chunks."""
    ids: list[int] = []
    rows = list(rows)
    for start in range(0, len(rows), 500):
        chunk = rows[start:start + 500]
        values = []
        params: list = []
        for row in chunk:
            merged = {**defaults, **row}
            values.append("(" + ", ".join("?" for _ in AUDIT_COLUMNS) + ")")
            params += [merged[c] for c in AUDIT_COLUMNS]
        got = pg_query(url, f"INSERT INTO login_logs ({', '.join(AUDIT_COLUMNS)}) VALUES "
                            + ", ".join(values) + " RETURNING id", params)
        ids += sorted(r["id"] for r in got)
    return ids


def spec_csv_field(value: Any) -> str:
    """One CSV field as SPEC §3 wants it: None -> empty; a leading = + - @ TAB or CR gets a
    `'` in front; then RFC 4180 quoting when it holds a comma, quote, CR or LF."""
    text = "" if value is None else str(value)
    if text and text[0] in "=+-@\t\r":
        text = "'" + text
    if any(c in text for c in ',"\r\n'):
        text = '"' + text.replace('"', '""') + '"'
    return text


def spec_csv_row(values: Iterable[Any]) -> str:
    """One CSV record: spec_csv_field()s joined by commas, ended by CRLF."""
    return ",".join(spec_csv_field(v) for v in values) + "\r\n"


# -- several nodes on one PostgreSQL (SPEC §7) --------------------------------------------------

def local_tcp_ports(pid: int) -> set[int]:
    """The local TCP ports of every socket process `pid` holds (from /proc): the client
    ports of its database connections among them."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return set()
    ports = set()
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{table}", encoding="ascii") as f:
                next(f, None)
                for line in f:
                    cols = line.split()
                    if len(cols) > 9 and cols[9] in inodes:
                        ports.add(int(cols[1].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return ports


class Cluster:
    """`n` solod nodes (2-3) sharing one fresh PostgreSQL database and one JWT secret
    (env SOLOD_JWT_SECRET), each in its own directory on its own ephemeral port of
    127.0.0.1.  Needs SOLOD_TEST_PG_URL (see `require_pg`).

    `config` applies to every node, `node_configs[i]` on top for node i.
    Use as a context manager, or `start()` then `close()` (which also drops the
    database).  `nodes[i]` are ordinary `Solod`s: `cli()` on any of them reaches
    the shared database.
    """

    def __init__(self, n: int = 2, config: dict | None = None, env: dict | None = None,
                 node_configs: list[dict] | None = None):
        require_pg(f"a cluster of {n} nodes")
        self.pg = PgDatabase()
        self.secret = secrets.token_hex(32)
        self.env = {**(env or {}), "SOLOD_JWT_SECRET": self.secret}
        self.nodes: list[Solod] = []
        for i in range(n):
            extra = node_configs[i] if node_configs and i < len(node_configs) else None
            cfg = merge_config(config or {}, extra)
            self.nodes.append(Solod(cfg, env=self.env, pg=self.pg))
        self._closed = False

    def __getitem__(self, i: int) -> Solod:
        return self.nodes[i]

    def __len__(self) -> int:
        return len(self.nodes)

    def start(self, together: bool = False) -> "Cluster":
        """Starts every node: one after the other, or `together` (at the same moment, from
        threads, to race the migrations).  Raises SolodError if any fails."""
        if not together:
            for node in self.nodes:
                node.start()
            return self
        barrier = threading.Barrier(len(self.nodes))
        errors: list[BaseException] = []

        def run(node: Solod) -> None:
            barrier.wait(30)
            try:
                node.start()
            except BaseException as e:  # noqa: BLE001 (reported below)
                errors.append(e)
        threads = [threading.Thread(target=run, args=(node,)) for node in self.nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join(Solod.START_TIMEOUT + 40)
        if errors:
            raise errors[0]
        return self

    def add_node(self, config: dict | None = None, env: dict | None = None,
                 start: bool = True) -> Solod:
        """One more node on the same database (same secret unless `env` overrides it)."""
        node = Solod(config, env={**self.env, **(env or {})}, pg=self.pg)
        self.nodes.append(node)
        return node.start() if start else node

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for node in self.nodes:
            node.close()
        if not KEEP_DIRS:
            self.pg.drop()

    def __enter__(self) -> "Cluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the shared database --------------------------------------------------------------

    def query(self, sql: str, params: Iterable = ()) -> list:
        return self.pg.query(sql, params)

    def wait_rows(self, sql: str, params: Iterable = (), min_rows: int = 1,
                  timeout: float = 5.0) -> list:
        return self.nodes[0].wait_rows(sql, params, min_rows, timeout)

    def live_sessions(self, user_id: int) -> list[str]:
        """Ids of the user's sessions with logout_ts NULL."""
        return [r["id"] for r in self.query(
            "SELECT id FROM sessions WHERE user_id = ? AND logout_ts IS NULL", [user_id])]

    def listen_backends(self, node: Solod) -> list:
        """pg_stat_activity rows of `node`'s LISTEN connection(s): application_name
        'solod-listen ...', from one of the node process's own TCP ports."""
        if not node.running():
            return []
        ports = local_tcp_ports(node.pid)
        return [r for r in self.pg.backends("solod-listen")
                if r["client_port"] is not None and r["client_port"] in ports]

    def backends_of(self, node: Solod) -> list:
        """Every pg_stat_activity row of `node` (its pool and its LISTEN connection)."""
        if not node.running():
            return []
        ports = local_tcp_ports(node.pid)
        return [r for r in self.pg.backends() if r["client_port"] in ports]
