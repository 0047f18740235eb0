// A Flask-style page in headless Chromium: it loads the socket.io client
// bundle (served by this harness from node_modules, never by solod), logs in
// through POST /login-token, connects to /socket.io/ with the session cookie,
// and shows the kick when the same user logs in from a second browser context.
//
// Run: node --test tests/browser/socketio_page.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Solod, launch_browser, wait_text, wait_attr, unique_name } from './harness.mjs';

const PASSWORD = 'correct horse battery';
const require = createRequire(import.meta.url);
const BUNDLE = readFileSync(
  join(dirname(require.resolve('socket.io-client/package.json')), 'dist', 'socket.io.min.js'));

// The page a Flask-SocketIO app would serve: no build step, the client from a script tag.
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>sio</title>
<script src="/vendor/socket.io.min.js"></script></head>
<body>
<p id="status" data-state="idle">idle</p>
<p id="kicked"></p>
<p id="reason"></p>
<script src="/sio-page.js"></script></body></html>`;

// Its script (solod's pages allow no inline script).
const PAGE_JS = `async function start(username, password) {
  const status = document.getElementById('status');
  const r = await fetch('/login-token', {
    method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({username, password}),
  });
  if (r.status !== 200) { status.textContent = 'login failed ' + r.status; return; }
  // The HttpOnly cookie the login set authenticates the socket.
  const socket = io({reconnection: false});
  socket.on('connect', () => { status.dataset.state = 'live'; status.textContent = 'live ' + socket.id; });
  socket.io.on('open', () => {
    window.sio_transport = socket.io.engine.transport.name;
    socket.io.engine.on('upgrade', (t) => { window.sio_transport = t.name; });
  });
  socket.on('connect_error', (e) => { status.dataset.state = 'error'; status.textContent = e.message; });
  socket.on('kicked', (k) => {
    document.getElementById('kicked').textContent =
      'kicked: ' + k.reason + (k.by ? ' by ' + k.by.ip + ' ' + k.by.user_agent : '');
  });
  socket.on('disconnect', (why) => {
    status.dataset.state = 'closed';
    document.getElementById('reason').textContent = why;
  });
}
`;

let server;
let browser;
let pages_dir;

before(async () => {
  // The page comes from solod's static_dir (a directory of this test's own),
  // as a Flask app's template would come from the app.
  pages_dir = mkdtempSync(join(tmpdir(), 'solod-sio-page-'));
  writeFileSync(join(pages_dir, 'sio-page.html'), PAGE);
  writeFileSync(join(pages_dir, 'sio-page.js'), PAGE_JS);
  server = await new Solod({ server: { static_dir: pages_dir } }).start();
  browser = await launch_browser();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
  if (pages_dir) rmSync(pages_dir, { recursive: true, force: true });
});

/** A browser context on PAGE; the client bundle comes from node_modules through the harness. */
async function open_page(user_agent) {
  const context = await browser.newContext({ userAgent: user_agent });
  // Answered here, by the harness: solod never serves the bundle.
  await context.route(`${server.base_url}/vendor/socket.io.min.js`,
    (route) => route.fulfill({ status: 200, contentType: 'text/javascript', body: BUNDLE }));
  const page = await context.newPage();
  await page.goto(`${server.base_url}/sio-page.html`);
  return page;
}

test('a page on socket.io-client is kicked by a login from a second browser', async () => {
  const name = unique_name('page');
  await server.register(name, PASSWORD);

  const first = await open_page('First-Browser/1.0');
  await first.evaluate(([u, p]) => start(u, p), [name, PASSWORD]);
  await wait_attr(first.locator('#status'), 'data-state', 'live');

  const second = await open_page('Second-Browser/2.0');
  await second.evaluate(([u, p]) => start(u, p), [name, PASSWORD]);
  await wait_attr(second.locator('#status'), 'data-state', 'live');

  await wait_text(first.locator('#kicked'), 'kicked: superseded by 127.0.0.1 Second-Browser/2.0');
  await wait_text(first.locator('#reason'), 'io server disconnect');
  assert.equal(await first.evaluate(() => window.sio_transport), 'websocket');
  assert.equal(await second.locator('#status').getAttribute('data-state'), 'live');
});
