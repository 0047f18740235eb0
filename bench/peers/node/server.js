"use strict";
// Benchmark peer: the single-session server a team would hand-build with Node.js.
//
// node:http for the REST part, socket.io v4 (Socket.IO protocol v5 / Engine.IO v4) for the
// live connections, jsonwebtoken for the tokens, a plain Map for "who is the current
// session of each user". Runs on Node 18 or later. See bench/peers/README.md for the
// protocol.
//
// Environment: PORT (0 = a free one), BENCH_JWT_SECRET, BENCH_PASSWORD.
// Prints one line `listening on 127.0.0.1:<port>` on stdout once it accepts connections.

const crypto = require("node:crypto");
const http = require("node:http");
const jwt = require("jsonwebtoken");
const { Server } = require("socket.io");

const HOST = "127.0.0.1";
const PORT = Number.parseInt(process.env.PORT || "0", 10) || 0;
const JWT_SECRET = process.env.BENCH_JWT_SECRET || "bench-secret-0123456789abcdef0123456789";
const PASSWORD = process.env.BENCH_PASSWORD || "bench-password-1";
const ISSUER = "peer";
const TOKEN_TTL_S = 3600;
const MAX_BODY = 64 * 1024;

const currentSid = new Map(); // username -> sid of the user's one live session
const conns = new Map(); // sid -> Set of the sockets connected under it

function sendJson(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
}

// Constant-time comparison whatever the lengths: compare digests of equal size.
function safeEqual(a, b) {
  const da = crypto.createHash("sha256").update(a, "utf8").digest();
  const db = crypto.createHash("sha256").update(b, "utf8").digest();
  return crypto.timingSafeEqual(da, db);
}

function kick(oldSid, by) {
  const sockets = conns.get(oldSid);
  if (!sockets) return;
  conns.delete(oldSid);
  for (const socket of sockets) {
    socket.emit("kicked", { reason: "superseded", by });
    socket.disconnect(true); // packet 41, then the underlying connection is closed
  }
}

function login(req, res) {
  const chunks = [];
  let size = 0;
  let tooBig = false;
  req.on("data", (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY) tooBig = true;
    else chunks.push(chunk);
  });
  req.on("end", () => {
    if (tooBig) return sendJson(res, 413, { error: "too_large" });
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      return sendJson(res, 400, { error: "bad_request" });
    }
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      return sendJson(res, 400, { error: "bad_request" });
    }
    const { username, password } = body;
    if (typeof username !== "string" || !username || typeof password !== "string") {
      return sendJson(res, 400, { error: "bad_request" });
    }
    if (!safeEqual(password, PASSWORD)) {
      return sendJson(res, 401, { error: "invalid_credentials" });
    }

    const sid = crypto.randomBytes(16).toString("hex");
    const oldSid = currentSid.get(username);
    currentSid.set(username, sid);
    if (oldSid !== undefined) {
      kick(oldSid, {
        ip: req.socket.remoteAddress,
        user_agent: req.headers["user-agent"] || "",
      });
    }

    const token = jwt.sign({ sub: username, sid }, JWT_SECRET, {
      algorithm: "HS256",
      expiresIn: TOKEN_TTL_S,
      issuer: ISSUER,
    });
    sendJson(res, 200, { token });
  });
}

const httpServer = http.createServer((req, res) => {
  const path = req.url.split("?", 1)[0];
  if (path === "/api/login") {
    if (req.method !== "POST") return sendJson(res, 405, { error: "method_not_allowed" });
    return login(req, res);
  }
  if (path === "/healthz" && (req.method === "GET" || req.method === "HEAD")) {
    res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": 2 });
    return res.end("ok");
  }
  sendJson(res, 404, { error: "not_found" });
});

// Defaults everywhere (pingInterval 25 s, pingTimeout 20 s, both transports) except
// compression, which solod does not do either.
const io = new Server(httpServer, { perMessageDeflate: false });

io.use((socket, next) => {
  const token = socket.handshake.auth && socket.handshake.auth.token;
  if (typeof token !== "string") return next(new Error("missing_token"));
  let claims;
  try {
    claims = jwt.verify(token, JWT_SECRET, { algorithms: ["HS256"], issuer: ISSUER });
  } catch {
    return next(new Error("invalid_token"));
  }
  if (typeof claims.sub !== "string" || typeof claims.sid !== "string" ||
      currentSid.get(claims.sub) !== claims.sid) {
    return next(new Error("session_superseded"));
  }
  socket.data.user = claims.sub;
  socket.data.sid = claims.sid;
  next();
});

io.on("connection", (socket) => {
  const { user, sid } = socket.data;
  // A login between the middleware and here would have missed this socket.
  if (currentSid.get(user) !== sid) {
    socket.disconnect(true);
    return;
  }
  let set = conns.get(sid);
  if (!set) conns.set(sid, (set = new Set()));
  set.add(socket);

  socket.emit("welcome", { user, sid });

  socket.on("ping", (data) => {
    const id = data !== null && typeof data === "object" ? data.id : undefined;
    socket.emit("pong", { id: id === undefined ? null : id, server_time: new Date().toISOString() });
  });

  socket.on("ping_manual", (data) => {
    const id = data !== null && typeof data === "object" ? data.id : undefined;
    socket.emit("pong_manual", { id: id === undefined ? null : id, server_time: new Date().toISOString() });
  });

  socket.on("whoami", () => {
    socket.emit("whoami", { user, sid });
  });

  socket.on("disconnect", () => {
    const peers = conns.get(sid);
    if (peers) {
      peers.delete(socket);
      if (peers.size === 0) conns.delete(sid);
    }
  });
});

httpServer.listen(PORT, HOST, () => {
  process.stdout.write(`listening on ${HOST}:${httpServer.address().port}\n`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => process.exit(0));
}
