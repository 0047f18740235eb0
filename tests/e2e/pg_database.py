"""PostgreSQL for the end-to-end tests, through the `psql` command line (stdlib only).

When the environment variable `SOLOD_TEST_PG_URL` holds a maintenance URL
(`postgresql://postgres@127.0.0.1:PORT/postgres`, as printed by
`scripts/pg-test-server.sh start DIR`), the harness runs every server on
PostgreSQL: each `Solod` (or each `Cluster`) gets a fresh database
`solod_t_<random>` made here and dropped when it is closed.
`SOLOD_TEST_PG_DIR` names that server's DIR, for the tests that restart it
(`scripts/pg-test-server.sh restart DIR`).

Queries go through `psql` (one process each: slow, but the tests read little)
and come back as `PgRow`s, which behave like `sqlite3.Row`: by position and by
column name.  `?` placeholders are filled in as quoted literals, which
PostgreSQL coerces to the column's type ('1' is an integer, a boolean or text).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import threading
import unittest
from typing import Any, Iterable
from urllib.parse import urlsplit, urlunsplit

PG_URL = os.environ.get("SOLOD_TEST_PG_URL") or None
PG_DIR = os.environ.get("SOLOD_TEST_PG_DIR") or None
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PSQL = os.environ.get("SOLOD_TEST_PSQL", "psql")


class PgError(RuntimeError):
    """psql failed; the message carries the statement and what psql printed."""


def pg_enabled() -> bool:
    """True when the tests run on PostgreSQL (SOLOD_TEST_PG_URL is set)."""
    return PG_URL is not None


def require_pg(what: str = "this test", need_dir: bool = False) -> None:
    """Stops a test that cannot run without PostgreSQL: an error in CI (env CI=true),
    a skip with the reason elsewhere."""
    missing = []
    if PG_URL is None:
        missing.append("SOLOD_TEST_PG_URL")
    if need_dir and PG_DIR is None:
        missing.append("SOLOD_TEST_PG_DIR")
    if not missing:
        return
    msg = (f"{what} needs a PostgreSQL server: set {' and '.join(missing)} "
           f"(scripts/pg-test-server.sh start DIR prints the URL; DIR is the directory)")
    if IN_CI:
        raise AssertionError("CI: " + msg)
    raise unittest.SkipTest(msg)


def url_with_database(url: str, dbname: str) -> str:
    """`url` (a libpq URI) pointing at database `dbname` instead."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def psql(url: str, sql: str, timeout: float = 60.0) -> str:
    """Runs `sql` (one or more statements, one implicit transaction) with psql; returns its
    unaligned, tuples-only output. Raises PgError on any error."""
    argv = [PSQL, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql]
    try:
        cp = subprocess.run(argv, capture_output=True, timeout=timeout,
                            env={**os.environ, "PGCONNECT_TIMEOUT": "10"})
    except subprocess.TimeoutExpired as e:
        raise PgError(f"psql timed out after {timeout} s: {sql[:500]}") from e
    if cp.returncode != 0:
        raise PgError(f"psql exit {cp.returncode}: {cp.stderr.decode('utf-8', 'replace').strip()}"
                      f"\nstatement: {sql[:1000]}")
    return cp.stdout.decode("utf-8", "replace")


# -- values and rows -------------------------------------------------------------------------

def sql_literal(value: Any) -> str:
    """A literal PostgreSQL coerces to the column's type: NULL, or a quoted string."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value)
    if "\x00" in text:
        raise ValueError("PostgreSQL text cannot hold NUL")
    return "'" + text.replace("'", "''") + "'"


def fill_placeholders(sql: str, params: Iterable[Any]) -> str:
    """`sql` with each `?` outside quotes and identifiers replaced by the next parameter's literal."""
    values = list(params)
    out, quote, used = [], None, 0
    for ch in sql:
        if quote:
            quote = None if ch == quote else quote
            out.append(ch)
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "?":
            if used >= len(values):
                raise ValueError(f"too few parameters for {sql!r}")
            out.append(sql_literal(values[used]))
            used += 1
        else:
            out.append(ch)
    if used != len(values):
        raise ValueError(f"{len(values)} parameters for {used} placeholders in {sql!r}")
    return "".join(out)


class PgRow(tuple):
    """One result row: a tuple of values that can also be read by column name, like sqlite3.Row."""

    _names: tuple

    def __new__(cls, pairs: list[tuple[str, Any]]) -> "PgRow":
        row = super().__new__(cls, [v for _, v in pairs])
        row._names = tuple(k for k, _ in pairs)
        return row

    def keys(self) -> list[str]:
        return list(self._names)

    def __getitem__(self, key):  # type: ignore[override]
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self._names.index(key))
            except ValueError:
                raise IndexError(f"no column {key!r} in {self._names}") from None
        return tuple.__getitem__(self, key)


def _rows_from_json(text: str) -> list[PgRow]:
    text = text.strip()
    if not text:
        return []
    # object_pairs_hook keeps every column in order, even two columns of one name
    rows = json.loads(text, object_pairs_hook=lambda pairs: pairs)
    return [PgRow(r) for r in rows]


_READS = ("select", "with", "values", "table", "show")


def _wrap(sql: str, params: Iterable[Any]) -> tuple[str, bool]:
    """The statement to send, and whether it answers rows (as one JSON array)."""
    stmt = fill_placeholders(sql, params).strip().rstrip(";").strip()
    head = stmt.split(None, 1)[0].lower() if stmt else ""
    if head in _READS:
        return f"SELECT coalesce(json_agg(t), '[]'::json) FROM ({stmt}) t", True
    if head in ("insert", "update", "delete") and " returning " in stmt.lower():
        return f"WITH t AS ({stmt}) SELECT coalesce(json_agg(t), '[]'::json) FROM t", True
    return stmt, False


def pg_query(url: str, sql: str, params: Iterable[Any] = ()) -> list[PgRow]:
    """Runs one statement in a psql process of its own; returns its rows (a write
    without RETURNING gives [])."""
    stmt, rows = _wrap(sql, params)
    out = psql(url, stmt)
    return _rows_from_json(out) if rows else []


class PgSession:
    """One long-lived `psql` process: statements go in on its stdin and come back
    between markers, so a test pays ~1 ms a statement instead of a process start,
    and BEGIN ... COMMIT is a real transaction.  Not thread-safe on its own (the
    callers hold a lock)."""

    _MARK = "__solod_e2e_end__"

    def __init__(self, url: str):
        self.url = url
        self.proc: subprocess.Popen | None = None

    def _start(self) -> None:
        self.proc = subprocess.Popen(
            [PSQL, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=0", "-d", self.url],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, "PGCONNECT_TIMEOUT": "10"})

    def _read_until_mark(self, stream) -> list[str]:
        lines = []
        while True:
            raw = stream.readline()
            if not raw:
                raise PgError("psql ended: " + "".join(lines)[-2000:])
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if line == self._MARK:
                return lines
            lines.append(line)

    def run(self, stmt: str) -> str:
        """Sends one statement; returns its output. Raises PgError on an error."""
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        assert self.proc is not None and self.proc.stdin is not None
        script = f"{stmt};\n\\echo {self._MARK}\n\\warn {self._MARK}\n"
        try:
            self.proc.stdin.write(script.encode("utf-8"))
            self.proc.stdin.flush()
            out = self._read_until_mark(self.proc.stdout)
            err = self._read_until_mark(self.proc.stderr)
        except (OSError, PgError) as e:
            self.close()
            raise PgError(f"psql session lost ({e}); statement: {stmt[:500]}") from None
        errors = [line for line in err if "ERROR:" in line or "FATAL:" in line]
        if errors:
            raise PgError("; ".join(errors) + f"\nstatement: {stmt[:1000]}")
        return "\n".join(out)

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[PgRow]:
        stmt, rows = _wrap(sql, params)
        out = self.run(stmt)
        return _rows_from_json(out) if rows else []

    def close(self) -> None:
        if self.proc is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            for stream in (self.proc.stdout, self.proc.stderr):
                try:
                    stream.close()
                except OSError:
                    pass
            self.proc = None


class PgCursor:
    """What PgConnection.execute returns: the rows, sqlite3-cursor style."""

    def __init__(self, rows: list[PgRow]):
        self._rows = rows
        self.lastrowid = None
        if rows and "id" in rows[0].keys():
            self.lastrowid = rows[0]["id"]

    def fetchall(self) -> list[PgRow]:
        return list(self._rows)

    def fetchone(self) -> PgRow | None:
        return self._rows[0] if self._rows else None

    def __iter__(self):
        return iter(self._rows)


class PgConnection:
    """A stand-in for the sqlite3 connection of `Solod.db()` on PostgreSQL: a psql
    session of its own. BEGIN IMMEDIATE becomes BEGIN; an INSERT gets `RETURNING *`
    so that `lastrowid` works. Close it (or use `with`)."""

    def __init__(self, url: str):
        self.url = url
        self._session = PgSession(url)
        self._lock = threading.Lock()

    def execute(self, sql: str, params: Iterable[Any] = ()) -> PgCursor:
        words = sql.strip().rstrip(";").split()
        if [w.upper() for w in words[:2]] == ["BEGIN", "IMMEDIATE"]:
            sql = "BEGIN"
        elif words and words[0].upper() == "INSERT" and " returning " not in sql.lower():
            sql = sql.strip().rstrip(";") + " RETURNING *"
        with self._lock:
            return PgCursor(self._session.query(sql, params))

    def close(self) -> None:
        with self._lock:
            self._session.close()

    def __enter__(self) -> "PgConnection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        # tests use `s.db().execute(...)` without closing, as with sqlite3: end psql here
        try:
            self._session.close()
        except Exception:  # noqa: BLE001 (interpreter shutdown)
            pass


# -- databases -------------------------------------------------------------------------------

class PgDatabase:
    """A fresh database on the test server (`CREATE DATABASE solod_t_<random>`), dropped by `drop()`."""

    def __init__(self, maintenance_url: str | None = None):
        self.maintenance_url = maintenance_url or PG_URL
        if not self.maintenance_url:
            raise PgError("no PostgreSQL: SOLOD_TEST_PG_URL is not set")
        self.name = "solod_t_" + secrets.token_hex(6)
        psql(self.maintenance_url, f'CREATE DATABASE "{self.name}"')
        self.url = url_with_database(self.maintenance_url, self.name)
        self._dropped = False
        self._session = PgSession(self.url)  # autocommit; shared by the test's threads
        self._lock = threading.Lock()

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[PgRow]:
        """One statement on the database's shared psql session (restarted once if it was
        lost, e.g. by a PostgreSQL restart)."""
        with self._lock:
            try:
                return self._session.query(sql, params)
            except PgError as e:
                if "session lost" not in str(e):
                    raise
                return self._session.query(sql, params)

    def connection(self) -> PgConnection:
        return PgConnection(self.url)

    def drop(self) -> None:
        """Drops the database, ending whatever is still connected (WITH (FORCE), PostgreSQL 13+)."""
        if self._dropped:
            return
        self._dropped = True
        with self._lock:
            self._session.close()
        try:
            psql(self.maintenance_url, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        except PgError:
            pass  # the server may be gone already (a test that stopped it); nothing to keep

    def backends(self, application_prefix: str = "") -> list[PgRow]:
        """This database's sessions in pg_stat_activity (pid, application_name, client_port, state)."""
        return pg_query(self.maintenance_url,
                        "SELECT pid, application_name, client_port, state FROM pg_stat_activity "
                        "WHERE datname = ? AND application_name LIKE ?",
                        [self.name, application_prefix + "%"])

    def terminate(self, pid: int, wait_ms: int = 0) -> bool:
        """pg_terminate_backend(pid); True when PostgreSQL signalled it (with `wait_ms`:
        when the backend has exited within that many milliseconds)."""
        rows = pg_query(self.maintenance_url, "SELECT pg_terminate_backend(?::int, ?::bigint) AS ok",
                        [pid, wait_ms])
        return bool(rows and rows[0]["ok"])


def restart_pg_server(timeout: float = 60.0) -> None:
    """`scripts/pg-test-server.sh restart $SOLOD_TEST_PG_DIR` (same port, same data)."""
    if PG_DIR is None:
        raise PgError("SOLOD_TEST_PG_DIR is not set")
    here = os.path.dirname(os.path.abspath(__file__))
    script = os.path.join(os.environ.get("SOLOD_SOURCE_DIR") or os.path.join(here, "..", ".."),
                          "scripts", "pg-test-server.sh")
    cp = subprocess.run([script, "restart", PG_DIR], capture_output=True, timeout=timeout)
    if cp.returncode != 0:
        raise PgError(f"pg-test-server.sh restart: exit {cp.returncode}: "
                      f"{cp.stderr.decode('utf-8', 'replace')}")
