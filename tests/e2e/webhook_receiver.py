"""A local Standard Webhooks receiver for the e2e tests: records every attempt,
checks nothing itself, and answers what the test tells it to."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


def new_secret() -> tuple[str, bytes]:
    """A `whsec_` secret and its key."""
    key = secrets.token_bytes(32)
    return "whsec_" + base64.b64encode(key).decode(), key


def write_secret(directory: str, name: str, text: str) -> str:
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text + "\n")
    os.chmod(path, 0o600)
    return path


def expected_signature(key: bytes, msg_id: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


@dataclass
class Attempt:
    path: str
    headers: dict
    body: bytes
    at: float
    status: int  # what the receiver answered

    @property
    def msg_id(self) -> str:
        return self.headers.get("webhook-id", "")

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Listens on 127.0.0.1 (a fixed `port`, or an ephemeral one)."""

    port: int = 0
    answer: Callable[[Attempt], int] = field(default=lambda attempt: 204)
    attempts: list[Attempt] = field(default_factory=list)

    def __post_init__(self):
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                attempt = Attempt(self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                                  time.time(), 0)
                attempt.status = receiver.answer(attempt)
                with receiver.lock:
                    receiver.attempts.append(attempt)
                self.send_response(attempt.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def snapshot(self) -> list[Attempt]:
        with self.lock:
            return list(self.attempts)

    def delivered(self, path: str | None = None) -> list[Attempt]:
        """The attempts answered 2xx, in arrival order (first per webhook-id)."""
        seen, out = set(), []
        for a in self.snapshot():
            if 200 <= a.status < 300 and (path is None or a.path == path) and a.msg_id not in seen:
                seen.add(a.msg_id)
                out.append(a)
        return out


def free_port() -> int:
    """A port nothing listens on right now (for a receiver that starts later)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
