"""A small RFC 6455 WebSocket client for the end-to-end tests (standard library only).

It speaks exactly what the tests need: the opening handshake (with any extra
headers, plain or TLS), masked text/binary/ping/close frames out, and frames
in with close codes. `recv_json()` skips pings and answers them, as a browser
would.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import ssl
import struct
import time
from typing import Any


class WsClosed(Exception):
    """The server closed the connection; `code` is its close code (None if the TCP connection just ended)."""

    def __init__(self, code: int | None, reason: str = ""):
        super().__init__(f"closed with {code} {reason!r}")
        self.code = code
        self.reason = reason


class WsHandshakeError(Exception):
    """The server answered the upgrade with something other than 101."""

    def __init__(self, status: int, body: str):
        super().__init__(f"handshake refused: {status} {body}")
        self.status = status
        self.body = body


class WsClient:
    def __init__(self, host: str, port: int, path: str = "/ws", headers: dict | None = None,
                 tls: bool = False, timeout: float = 10.0, strict_tls_eof: bool = False):
        """strict_tls_eof: a TCP end without the server's close_notify raises
        ssl.SSLEOFError instead of reading as b"" (Python's default)."""
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            self.sock = ctx.wrap_socket(self.sock, server_hostname=host,
                                        suppress_ragged_eofs=not strict_tls_eof)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.close_code: int | None = None
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        raw = [line.encode() for line in lines]
        # A dict, or a list of (name, value) pairs when a header repeats.
        pairs = headers.items() if isinstance(headers, dict) else (headers or [])
        for k, v in pairs:
            # bytes values go out as they are (hostile-input tests send invalid UTF-8)
            raw.append(k.encode() + b": " + (v if isinstance(v, bytes) else str(v).encode()))
        self.sock.sendall(b"\r\n".join(raw) + b"\r\n\r\n")
        head = self._read_until(b"\r\n\r\n")
        status_line = head.split(b"\r\n", 1)[0].decode()
        status = int(status_line.split()[1])
        if status != 101:
            body = self.buf.decode(errors="replace")
            try:
                self.sock.settimeout(1.0)
                body += self.sock.recv(65536).decode(errors="replace")
            except OSError:
                pass
            self.sock.close()
            raise WsHandshakeError(status, body)

    # -- low level ------------------------------------------------------------------

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise WsClosed(None, "connection ended during handshake")
            self.buf += chunk
        head, self.buf = self.buf.split(marker, 1)
        return head

    def _read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise WsClosed(self.close_code, "connection ended")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send_frame(self, opcode: int, payload: bytes, fin: bool = True) -> None:
        header = bytes([(0x80 if fin else 0) | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def recv_frame(self) -> tuple[int, bytes]:
        b1, b2 = self._read_exact(2)
        opcode = b1 & 0x0F
        n = b2 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read_exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read_exact(8))[0]
        if b2 & 0x80:
            mask = self._read_exact(4)
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(self._read_exact(n)))
        else:
            data = self._read_exact(n)
        return opcode, data

    # -- what the tests use -------------------------------------------------------

    def send_text(self, text: str) -> None:
        self.send_frame(0x1, text.encode())

    def send_json(self, obj: Any) -> None:
        self.send_text(json.dumps(obj))

    def recv(self, timeout: float | None = None) -> str:
        """The next text message; pings are answered, a close raises WsClosed."""
        if timeout is not None:
            self.sock.settimeout(timeout)
        while True:
            opcode, data = self.recv_frame()
            if opcode == 0x1:
                return data.decode()
            if opcode == 0x9:
                self.send_frame(0xA, data)
            elif opcode == 0x8:
                code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
                self.close_code = code
                try:
                    self.send_frame(0x8, data[:2])
                except OSError:
                    pass
                raise WsClosed(code, data[2:].decode(errors="replace"))

    def recv_json(self, timeout: float | None = None) -> dict:
        return json.loads(self.recv(timeout))

    def recv_until(self, predicate, timeout: float = 10.0) -> dict:
        """Skips messages until one satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no matching message")
            msg = self.recv_json(timeout=left)
            if predicate(msg):
                return msg

    def wait_closed(self, timeout: float = 10.0) -> int | None:
        """Reads until the server closes; returns its close code."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.recv(timeout=max(0.05, deadline - time.monotonic()))
        except WsClosed as closed:
            return closed.code
        raise TimeoutError("the server did not close")

    def close(self) -> None:
        try:
            self.send_frame(0x8, struct.pack("!H", 1000))
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
