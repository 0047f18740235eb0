// /socket.io/ end to end with the real socket.io-client from npm (SPEC §8):
// Engine.IO 4 (websocket, polling, the upgrade, pings), Socket.IO 5 on the
// default namespace, every event of the §8 table with and without acks, the
// three ways of authenticating and register_user, kicks, the connection cap
// and presence shared with /ws, and the limits. No browser: Node only.
//
// Run: node --test tests/browser/socketio.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { Solod, unique_name, eventually } from './harness.mjs';

const PASSWORD = 'correct horse battery';
const MAX_MESSAGE_BYTES = 4096;
const PER_SECOND = 20;

let server;
let ws_url;
const open_clients = [];

/** Resolves with the first argument of `event` on `emitter`, or fails after `ms`. */
function once(emitter, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${event}" within ${ms} ms`)), ms);
    emitter.once(event, (arg) => {
      clearTimeout(timer);
      resolve(arg);
    });
  });
}

/** A Socket.IO client that never reconnects on its own (tests decide). */
function client(options = {}, nsp = '') {
  const socket = io(server.base_url + nsp, {
    reconnection: false,
    timeout: 5000,
    transports: ['websocket'],
    ...options,
  });
  open_clients.push(socket);
  return socket;
}

/** A connected client; fails with the connect_error's message. */
async function connected(options = {}) {
  const socket = client(options);
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', (err) => reject(new Error(`connect_error: ${err.message}`)));
  });
  return socket;
}

/** The connect_error a client gets. */
async function refused(options = {}, nsp = '') {
  const socket = client(options, nsp);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected, expected connect_error')));
    socket.once('connect_error', resolve);
  });
}

/** Emits `event` and resolves with the ack's payload. */
function ack(socket, event, ...args) {
  return socket.timeout(5000).emitWithAck(event, ...args);
}

/** A fresh registered user, logged in: {name, token, cookie}. */
async function user(prefix = 'sio') {
  const name = unique_name(prefix);
  await server.register(name, PASSWORD);
  return { name, ...(await login(name)) };
}

async function login(name, headers = {}) {
  const r = await server.login(name, PASSWORD, headers);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return { token: r.body.token, session_id: r.body.session.id };
}

/** A /ws client authenticated by bearer header, collecting what it receives. */
async function ws_client(token) {
  const ws = new WebSocket(`${ws_url}/ws`, { headers: { Authorization: `Bearer ${token}` } });
  open_clients.push(ws);
  ws.received = [];
  ws.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  ws.on('message', (data) => ws.received.push(JSON.parse(data.toString())));
  await eventually('the /ws welcome', () => ws.received.find((m) => m.type === 'welcome'), 5000, 20);
  return ws;
}

function ws_seen(ws, what, pred) {
  return eventually(what, () => ws.received.find(pred), 5000, 20);
}

/** Every event a socket receives, in order. */
function record(socket) {
  const seen = [];
  socket.onAny((event, payload) => seen.push({ event, payload }));
  return seen;
}

function seen_event(seen, what, pred) {
  return eventually(what, () => seen.find((e) => pred(e)), 5000, 20);
}

before(async () => {
  server = await new Solod({
    socketio: { ping_interval: '1s', ping_timeout: '1500ms' },
    limits: { max_message_bytes: MAX_MESSAGE_BYTES, ws_messages_per_second: PER_SECOND },
  }).start();
  ws_url = server.base_url.replace(/^http/, 'ws');
});

after(async () => {
  for (const c of open_clients) {
    if (c.disconnect) c.disconnect(); else c.terminate();
  }
  if (server) await server.stop();
});

test('every event of the §8 table, with and without acks, over websocket', async () => {
  const alice = await user('ali');
  const bob = await user('bob');
  const a = await connected({ auth: { token: alice.token } });
  const b = await connected({ auth: { token: bob.token } });
  const seen_a = record(a);
  const seen_b = record(b);

  // get_online_users
  a.emit('get_online_users');
  const online = await once(a, 'online_users');
  assert.ok(online.users.includes(alice.name) && online.users.includes(bob.name), JSON.stringify(online));
  assert.equal(online.count, online.users.length);
  const online_ack = await ack(a, 'get_online_users');
  assert.deepEqual(Object.keys(online_ack).sort(), ['count', 'users']);
  assert.ok(online_ack.users.includes(bob.name));

  // ping_manual
  a.emit('ping_manual');
  const pong = await once(a, 'pong_manual');
  assert.match(pong.server_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.match((await ack(a, 'ping_manual')).server_time, /Z$/);

  // debug_connection
  a.emit('debug_connection');
  const info = await once(a, 'debug_info');
  assert.equal(info.sid, a.id);
  assert.equal(info.user.username, alice.name);
  assert.equal(info.session_id, alice.session_id);
  assert.equal(info.ip, '127.0.0.1');
  assert.equal(info.transport, 'websocket');
  assert.match(info.connected_at, /Z$/);
  assert.equal(typeof info.user_agent, 'string');
  assert.equal((await ack(a, 'debug_connection')).sid, a.id);

  // check_connections
  a.emit('check_connections');
  assert.deepEqual(await once(a, 'connection_slots'), { used: 1, max: 3 });
  assert.deepEqual(await ack(a, 'check_connections'), { used: 1, max: 3 });

  // register_user on an authenticated socket: the answer a registration gets
  const reg = await ack(a, 'register_user', { token: alice.token, username: alice.name });
  assert.equal(reg.message, 'registered');
  assert.equal(reg.user.username, alice.name);
  assert.equal(reg.session_id, alice.session_id);
  assert.ok(await seen_event(seen_a, 'response event', (e) => e.event === 'response'));

  // message to one user, without and with ack; authenticated_message alike
  a.emit('message', { text: 'hello bob', to: bob.name });
  const m1 = await seen_event(seen_b, 'message to bob', (e) => e.event === 'message' && e.payload.text === 'hello bob');
  assert.equal(m1.payload.from, alice.name);
  assert.match(m1.payload.at, /Z$/);
  const delivered = await ack(a, 'authenticated_message', { text: 'acked', to: bob.name });
  assert.deepEqual(delivered, { delivered: true, to: bob.name });
  await seen_event(seen_b, 'acked message', (e) => e.event === 'message' && e.payload.text === 'acked');

  // message to everyone online
  b.emit('message', { text: 'to all' });
  await seen_event(seen_a, 'broadcast', (e) => e.event === 'message' && e.payload.text === 'to all');
  await seen_event(seen_b, 'own broadcast', (e) => e.event === 'message' && e.payload.text === 'to all');

  // a user who is not online, and bad input: the error event and the ack say why
  const offline = await ack(a, 'message', { text: 'x', to: 'nobody_here' });
  assert.equal(offline.code, 'not_online');
  const bad = await ack(a, 'message', { text: 42 });
  assert.equal(bad.code, 'bad_request');
  a.emit('no_such_event');
  const err = await seen_event(seen_a, 'error event', (e) => e.event === 'error' && /no_such_event/.test(e.payload.message));
  assert.equal(err.payload.code, 'bad_request');

  // binary events are refused with a clear error
  a.emit('message', Buffer.from([1, 2, 3]));
  const bin = await seen_event(seen_a, 'binary refusal', (e) => e.event === 'error' && e.payload.code === 'binary_unsupported');
  assert.match(bin.payload.message, /binary/);
  assert.ok(a.connected);

  // logout (with ack): kicked, then a server disconnect; the token is dead
  const kicked = once(b, 'kicked');
  const gone = once(b, 'disconnect');
  assert.deepEqual(await ack(b, 'logout'), { message: 'logged out' });
  assert.equal((await kicked).reason, 'logout');
  assert.equal(await gone, 'io server disconnect');
  const me = await server.request('GET', '/api/me', { token: bob.token });
  assert.equal(me.status, 401);
  // and logout without ack
  const a_kicked = once(a, 'kicked');
  a.emit('logout');
  assert.equal((await a_kicked).reason, 'logout');
});

test('authentication: CONNECT auth, cookie, bearer header, register_user', async () => {
  const u = await user('auth');
  const via_auth = await connected({ auth: { token: u.token } });
  assert.equal((await ack(via_auth, 'debug_connection')).user.username, u.name);

  const via_cookie = await connected({ extraHeaders: { Cookie: `solod_session=${u.token}` } });
  assert.equal((await ack(via_cookie, 'debug_connection')).session_id, u.session_id);

  const via_bearer = await connected({ extraHeaders: { Authorization: `Bearer ${u.token}` } });
  assert.equal((await ack(via_bearer, 'check_connections')).used, 3);
  for (const s of [via_auth, via_cookie, via_bearer]) s.disconnect();

  // The Flask clients' flow: connect without a token, then register_user
  // (another user: the three sockets above may still hold their slots).
  const u2 = await user('reg');
  const later = await connected();
  const before_auth = await ack(later, 'get_online_users');
  assert.equal(before_auth.code, 'unauthorized');
  const response = once(later, 'response');
  const reg = await ack(later, 'register_user', { token: u2.token, username: u2.name });
  assert.equal(reg.message, 'registered');
  assert.equal(reg.user.username, u2.name);
  assert.equal((await response).message, 'registered');
  assert.ok((await ack(later, 'get_online_users')).users.includes(u2.name));

  // without an ack too
  const later2 = await connected();
  later2.emit('register_user', { token: u2.token });
  assert.equal((await once(later2, 'response')).session_id, u2.session_id);

  // a username that is not the token's is refused like a bad token
  const wrong = await connected();
  const gone = once(wrong, 'disconnect');
  wrong.emit('register_user', { token: u2.token, username: u.name });
  assert.equal((await once(wrong, 'response')).message, 'Invalid token!');
  assert.equal(await gone, 'io server disconnect');
});

test('a bad token: CONNECT_ERROR, and register_user answers then disconnects', async () => {
  const err = await refused({ auth: { token: 'not-a-token' } });
  assert.equal(err.message, 'Invalid token!');

  const s = await connected();
  const response = once(s, 'response');
  const gone = once(s, 'disconnect');
  s.emit('register_user', { token: 'garbage', username: 'whoever' });
  assert.deepEqual(await response, { message: 'Invalid token!' });
  assert.equal(await gone, 'io server disconnect');

  // a token of a session that has ended
  const u = await user('rev');
  const old = u.token;
  await login(u.name); // supersedes
  assert.equal((await refused({ auth: { token: old } })).message, 'Token has been revoked!');
  const s2 = await connected();
  s2.emit('register_user', { token: old });
  assert.equal((await once(s2, 'response')).message, 'Token has been revoked!');

  // an unknown namespace
  const nsp = await refused({ auth: { token: (await login(u.name)).token } }, '/admin');
  assert.equal(nsp.message, 'Invalid namespace');
});

test('a new login kicks Socket.IO and /ws connections alike, with reason and by', async () => {
  const u = await user('kick');
  const s = await connected({ auth: { token: u.token } });
  const ws = await ws_client(u.token);
  const kicked = once(s, 'kicked');
  const gone = once(s, 'disconnect');
  await login(u.name, { 'User-Agent': 'Second-Device/1.0' });
  const k = await kicked;
  assert.equal(k.reason, 'superseded');
  assert.equal(k.by.user_agent, 'Second-Device/1.0');
  assert.equal(k.by.ip, '127.0.0.1');
  assert.match(k.by.at, /Z$/);
  assert.equal(await gone, 'io server disconnect');
  const ws_kick = await ws_seen(ws, '/ws kicked', (m) => m.type === 'kicked');
  assert.equal(ws_kick.reason, 'superseded');
  assert.equal(ws_kick.by.user_agent, 'Second-Device/1.0');
  assert.equal(await ws.closed, 4001);
  // the old token is refused afterwards
  assert.equal((await refused({ auth: { token: u.token } })).message, 'Token has been revoked!');
});

test('a logout through /ws kicks the Socket.IO sockets of the session', async () => {
  const u = await user('wsout');
  const s = await connected({ auth: { token: u.token } });
  const ws = await ws_client(u.token);
  const kicked = once(s, 'kicked');
  ws.send(JSON.stringify({ type: 'logout' }));
  assert.equal((await kicked).reason, 'logout');
  assert.equal(await ws.closed, 4002);
});

test('max_connections_per_session counts /ws and Socket.IO together', async () => {
  const u = await user('cap');
  await ws_client(u.token);
  await ws_client(u.token);
  const s = await connected({ auth: { token: u.token } });
  assert.deepEqual(await ack(s, 'check_connections'), { used: 3, max: 3 });
  const err = await refused({ auth: { token: u.token } });
  assert.equal(err.message, 'too many connections for this session');
  assert.equal(err.data.reason, 'too_many_connections');
  const fourth = new WebSocket(`${ws_url}/ws`, { headers: { Authorization: `Bearer ${u.token}` } });
  open_clients.push(fourth);
  const code = await new Promise((resolve) => fourth.on('close', resolve));
  assert.equal(code, 4429);
});

test('presence and messages between a Socket.IO client and a /ws client', async () => {
  const alice = await user('pa');
  const bob = await user('pb');
  const a = await connected({ auth: { token: alice.token } });
  const seen_a = record(a);
  const ws = await ws_client(bob.token);
  ws.send(JSON.stringify({ type: 'subscribe', topic: 'presence' }));
  await ws_seen(ws, 'subscribed', (m) => m.type === 'subscribed');

  await seen_event(seen_a, 'bob online', (e) => e.event === 'user_status' && e.payload.user === bob.name && e.payload.status === 'online');
  assert.ok(await seen_event(seen_a, 'user_count', (e) => e.event === 'user_count' && e.payload.count >= 2));

  ws.send(JSON.stringify({ type: 'online' }));
  const online = await ws_seen(ws, '/ws online', (m) => m.type === 'online');
  assert.ok(online.users.includes(alice.name));

  ws.send(JSON.stringify({ type: 'message', text: 'from ws', to: alice.name }));
  const got = await seen_event(seen_a, 'ws message', (e) => e.event === 'message' && e.payload.text === 'from ws');
  assert.equal(got.payload.from, bob.name);

  a.emit('message', { text: 'from sio', to: bob.name });
  const back = await ws_seen(ws, 'sio message', (m) => m.type === 'message' && m.text === 'from sio');
  assert.equal(back.from, alice.name);

  // alice goes: the /ws subscriber hears it; bob goes: a second socket of alice's hears it
  const a2 = await connected({ auth: { token: alice.token } });
  const seen_a2 = record(a2);
  ws.close();
  await seen_event(seen_a2, 'bob offline', (e) => e.event === 'user_status' && e.payload.user === bob.name && e.payload.status === 'offline');
  a.disconnect();
  a2.disconnect();
});

test('polling: a default io(url) client starts on polling and upgrades to websocket', async () => {
  const u = await user('poll');
  const s = client({ auth: { token: u.token }, transports: ['polling', 'websocket'] });
  let opened_on = null;
  s.io.once('open', () => { opened_on = s.io.engine.transport.name; });
  await new Promise((resolve, reject) => {
    s.once('connect', resolve);
    s.once('connect_error', reject);
  });
  assert.equal(opened_on, 'polling');
  if (s.io.engine.transport.name !== 'websocket') {
    await once(s.io.engine, 'upgrade');
  }
  assert.equal(s.io.engine.transport.name, 'websocket');
  assert.equal((await ack(s, 'debug_connection')).transport, 'websocket');
  assert.ok((await ack(s, 'get_online_users')).users.includes(u.name));
  s.disconnect();
});

test('polling only: events, acks, pushes and pings over long-polling', async () => {
  const alice = await user('lp');
  const bob = await user('lq');
  const s = await connected({ auth: { token: alice.token }, transports: ['polling'] });
  const seen = record(s);
  assert.equal(s.io.engine.transport.name, 'polling');
  assert.equal((await ack(s, 'debug_connection')).transport, 'polling');
  const b = await connected({ auth: { token: bob.token } });
  b.emit('message', { text: 'to a poller', to: alice.name });
  await seen_event(seen, 'message over a long-poll', (e) => e.event === 'message' && e.payload.text === 'to a poller');
  // Several pings (1 s apart) pass and the session stays.
  await new Promise((r) => setTimeout(r, 2500));
  assert.ok(s.connected);
  assert.deepEqual(await ack(s, 'check_connections'), { used: 1, max: 3 });
  // A kick over polling: kicked first, then the server's disconnect.
  const kicked = once(s, 'kicked');
  const gone = once(s, 'disconnect');
  await login(alice.name);
  assert.equal((await kicked).reason, 'superseded');
  assert.equal(await gone, 'io server disconnect');
  b.disconnect();
});

test('polling requests the node does not hold, or that break the protocol, get 400 with a reason', async () => {
  const unknown = await server.request('GET', '/socket.io/?EIO=4&transport=polling&sid=0123456789abcdef');
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body.error, 'unknown_sid');
  assert.match(unknown.body.message, /sticky sessions/);

  const old = await server.request('GET', '/socket.io/?EIO=3&transport=polling');
  assert.equal(old.status, 400);
  assert.match(old.body.message, /EIO=4/);

  const open = await fetch(`${server.base_url}/socket.io/?EIO=4&transport=polling`);
  const text = await open.text();
  assert.equal(text[0], '0');
  const handshake = JSON.parse(text.slice(1));
  assert.deepEqual(handshake.upgrades, ['websocket']);
  assert.equal(handshake.pingInterval, 1000);
  assert.equal(handshake.pingTimeout, 1500);
  assert.equal(handshake.maxPayload, 1000000);
  const url = `${server.base_url}/socket.io/?EIO=4&transport=polling&sid=${handshake.sid}`;
  const first = fetch(url); // waits for packets (or the next ping)
  await new Promise((r) => setTimeout(r, 100));
  const second = await fetch(url);
  assert.equal(second.status, 400);
  assert.match((await second.json()).message, /one at a time/);
  await first;

  const foreign = await server.request('GET', '/socket.io/?EIO=4&transport=polling',
    { headers: { Origin: 'https://evil.example' } });
  assert.equal(foreign.status, 403);
});

test('a client that stops answering pings is closed', async () => {
  const u = await user('mute');
  const s = await connected({ auth: { token: u.token } });
  const before_metric = await ping_timeouts();
  s.io.engine._sendPacket = () => {}; // no more pongs (nor anything else)
  const reason = await once(s, 'disconnect', 8000);
  assert.equal(reason, 'transport close');
  assert.ok((await ping_timeouts()) > before_metric);
});

async function ping_timeouts() {
  const r = await fetch(`${server.base_url}/metrics`);
  const m = (await r.text()).match(/^solod_socketio_ping_timeouts_total (\d+)$/m);
  return m ? Number(m[1]) : -1;
}

test('an oversized message gets error too_large, then the connection closes', async () => {
  const u = await user('big');
  const s = await connected({ auth: { token: u.token } });
  const seen = record(s);
  const gone = once(s, 'disconnect');
  s.emit('message', { text: 'x'.repeat(MAX_MESSAGE_BYTES + 100) });
  const e = await seen_event(seen, 'too_large', (x) => x.event === 'error' && x.payload.code === 'too_large');
  assert.match(e.payload.message, /max_message_bytes/);
  assert.equal(await gone, 'transport close');
});

test('a flood is warned, then closed; metrics are labelled by protocol and transport', async () => {
  const u = await user('flood');
  const s = await connected({ auth: { token: u.token } });
  const seen = record(s);
  const gone = once(s, 'disconnect');
  for (let i = 0; i < PER_SECOND * 3; i++) s.emit('ping_manual');
  await seen_event(seen, 'rate_limited', (x) => x.event === 'error' && x.payload.code === 'rate_limited');
  assert.equal(await gone, 'transport close');

  const metrics = await (await fetch(`${server.base_url}/metrics`)).text();
  assert.match(metrics, /^solod_connections\{protocol="socketio",transport="websocket"\} \d+$/m);
  assert.match(metrics, /^solod_connections\{protocol="socketio",transport="polling"\} \d+$/m);
  assert.match(metrics, /^solod_connections\{protocol="ws",transport="websocket"\} \d+$/m);
  const sio_in = Number(metrics.match(/^solod_messages_total\{protocol="socketio",direction="in"\} (\d+)$/m)[1]);
  assert.ok(sio_in > PER_SECOND, `socketio messages in: ${sio_in}`);
});

test('TLS on the shared port: websocket and polling', async () => {
  const tls = await new Solod({ server: { tls: 'auto' } }).start();
  try {
    const https_url = tls.base_url.replace(/^http:/, 'https:');
    const name = unique_name('tls');
    await tls.register(name, PASSWORD); // plain HTTP on the same port
    const r = await tls.login(name, PASSWORD);
    for (const transport of ['websocket', 'polling']) {
      const s = io(https_url, {
        reconnection: false, transports: [transport], auth: { token: r.body.token },
        rejectUnauthorized: false, // the self-signed certificate generated into data/
      });
      open_clients.push(s);
      await new Promise((resolve, reject) => {
        s.once('connect', resolve);
        s.once('connect_error', reject);
      });
      assert.equal((await ack(s, 'debug_connection')).transport, transport);
      s.disconnect();
    }
  } finally {
    await tls.stop();
  }
});
