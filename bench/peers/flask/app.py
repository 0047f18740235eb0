"""Benchmark peer: the single-session server a team would hand-build with Flask-SocketIO.

Flask + Flask-SocketIO 5.x (Socket.IO protocol v5 / Engine.IO v4) on eventlet, PyJWT for
the tokens, a plain dict for "who is the current session of each user". Everything comes
from Debian 12's packages (python3-flask-socketio, python3-eventlet, python3-jwt); run it
with Debian's /usr/bin/python3. See bench/peers/README.md for the protocol.

Environment: PORT (0 = a free one), BENCH_JWT_SECRET, BENCH_PASSWORD; PEER_TCP_NODELAY=0 to
leave Nagle's algorithm on, as eventlet does by default.
Prints one line `listening on 127.0.0.1:<port>` on stdout once it accepts connections.
"""

import eventlet

eventlet.monkey_patch()

import datetime  # noqa: E402
import hmac  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import jwt  # noqa: E402
from flask import Flask, jsonify, request  # noqa: E402
from flask_socketio import ConnectionRefusedError, SocketIO, emit  # noqa: E402

HOST = "127.0.0.1"
PORT = int(os.environ.get("PORT", "0") or "0")
JWT_SECRET = os.environ.get("BENCH_JWT_SECRET", "bench-secret-0123456789abcdef0123456789")
PASSWORD = os.environ.get("BENCH_PASSWORD", "bench-password-1")
MAX_CONNECTIONS = 20000
ISSUER = "peer"
TOKEN_TTL = 3600
NAMESPACE = "/"

app = Flask(__name__)
socketio = SocketIO(app, async_mode="eventlet")

TCP_NODELAY = os.environ.get("PEER_TCP_NODELAY", "1") != "0"


class _LikeSolod:
    """WSGI middleware that puts two transport settings where solod (and node) have them.

    - No permessage-deflate: eventlet's WebSocket server accepts it whenever a client
      offers it and has no switch to refuse it, so hide the client's offer.
    - TCP_NODELAY: solod and node's http server set it on every connection, eventlet does
      not; without it a second small frame written right after another (the "welcome"
      after the 40 answer) waits ~40 ms for the client's delayed ACK (Nagle).
      PEER_TCP_NODELAY=0 leaves eventlet's default.
    """

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        if TCP_NODELAY:
            sock = environ["eventlet.input"].get_socket()
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.wsgi_app(environ, start_response)


# SocketIO(app) has already put its own middleware in app.wsgi_app; wrap it.
app.wsgi_app = _LikeSolod(app.wsgi_app)

# The state the hand-made versions keep. eventlet is cooperative and nothing below yields
# between reading and writing these, so no lock is needed.
current_sid = {}   # username -> sid of the user's one live session
conns = {}         # sid -> set of Socket.IO sids connected under it
conn_info = {}     # Socket.IO sid -> (username, sid)


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds") \
        .replace("+00:00", "Z")


def kick(old_sid, by):
    """Every connection of the superseded session gets "kicked", then is disconnected."""
    for sio_sid in list(conns.pop(old_sid, ())):
        conn_info.pop(sio_sid, None)
        eio_sid = socketio.server.manager.eio_sid_from_sid(sio_sid, NAMESPACE)
        socketio.emit("kicked", {"reason": "superseded", "by": by}, to=sio_sid,
                      namespace=NAMESPACE)
        # The Socket.IO disconnect (packet 41)...
        socketio.server.disconnect(sio_sid, namespace=NAMESPACE)
        # ...and, like socket.io's `socket.disconnect(true)`, the Engine.IO session under it
        # (packet 1); python-engineio then leaves closing the WebSocket to the client.
        # In its own greenlet: engineio's close() waits for the connection's writer to take
        # the queued packets, which would hold up (or, were the writer gone, hang) the login.
        if eio_sid is not None:
            eventlet.spawn(socketio.server.eio.disconnect, eio_sid)


@app.post("/api/login")
def login():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify(error="bad_request"), 400
    username = body.get("username")
    password = body.get("password")
    if not isinstance(username, str) or not username or not isinstance(password, str):
        return jsonify(error="bad_request"), 400
    if not hmac.compare_digest(password.encode(), PASSWORD.encode()):
        return jsonify(error="invalid_credentials"), 401

    sid = secrets.token_hex(16)
    old_sid = current_sid.get(username)
    current_sid[username] = sid
    if old_sid is not None:
        kick(old_sid, {"ip": request.remote_addr,
                       "user_agent": request.headers.get("User-Agent", "")})

    iat = int(time.time())
    token = jwt.encode({"sub": username, "sid": sid, "iat": iat, "exp": iat + TOKEN_TTL,
                        "iss": ISSUER}, JWT_SECRET, algorithm="HS256")
    return jsonify(token=token)


@app.get("/healthz")
def healthz():
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}


@socketio.on("connect")
def on_connect(auth=None):
    token = auth.get("token") if isinstance(auth, dict) else None
    if not isinstance(token, str):
        raise ConnectionRefusedError("missing_token")
    try:
        claims = jwt.decode(token, JWT_SECRET, algorithms=["HS256"], issuer=ISSUER,
                            options={"require": ["sub", "sid", "exp", "iat", "iss"]})
    except jwt.PyJWTError:
        raise ConnectionRefusedError("invalid_token")
    username, sid = claims["sub"], claims["sid"]
    if not isinstance(username, str) or current_sid.get(username) != sid:
        raise ConnectionRefusedError("session_superseded")

    sio_sid = request.sid
    conns.setdefault(sid, set()).add(sio_sid)
    conn_info[sio_sid] = (username, sid)
    # python-socketio sends the namespace CONNECT answer (40{"sid":...}) only after this
    # handler returns, so an emit from here would reach the client before it. Emit from a
    # greenlet that runs once this one yields, i.e. after the answer is queued.
    # (Not socketio.start_background_task: its green Thread.start() switches to the new
    # thread at once.)
    eventlet.spawn(socketio.emit, "welcome", {"user": username, "sid": sid}, to=sio_sid,
                   namespace=NAMESPACE)


@socketio.on("disconnect")
def on_disconnect():
    info = conn_info.pop(request.sid, None)
    if info is not None:
        peers = conns.get(info[1])
        if peers is not None:
            peers.discard(request.sid)
            if not peers:
                del conns[info[1]]


@socketio.on("ping")
def on_ping(data=None):
    msg_id = data.get("id") if isinstance(data, dict) else None
    emit("pong", {"id": msg_id, "server_time": now_iso()})


@socketio.on("ping_manual")
def on_ping_manual(data=None):
    msg_id = data.get("id") if isinstance(data, dict) else None
    emit("pong_manual", {"id": msg_id, "server_time": now_iso()})


@socketio.on("whoami")
def on_whoami(data=None):
    info = conn_info.get(request.sid)
    if info is not None:
        emit("whoami", {"user": info[0], "sid": info[1]})


def main():
    port = PORT
    reservation = None
    if port == 0:
        # socketio.run() does not hand back its listening socket, so pick the free port
        # here. The reservation keeps it ours (bound, not listening) until eventlet has
        # bound it too; both sockets set SO_REUSEPORT, as eventlet.listen() does for a
        # non-zero port.
        reservation = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        reservation.bind((HOST, 0))
        port = reservation.getsockname()[1]

    def announce():
        # Runs once socketio.run() has bound and listens, and blocks in accept().
        if reservation is not None:
            reservation.close()
        print(f"listening on {HOST}:{port}", flush=True)

    eventlet.spawn(announce)
    # eventlet.wsgi.server serves at most max_size connections at once (default
    # 1,024; further clients wait unanswered): raised, as a deployment would.
    socketio.run(app, host=HOST, port=port, log_output=False, max_size=MAX_CONNECTIONS)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
