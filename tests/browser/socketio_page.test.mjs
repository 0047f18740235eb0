// A Flask-style page in headless Chromium: it loads the socket.io client
// bundle (served by this harness from node_modules, never by solod), logs in
// through POST /login-token, connects to /socket.io/ with the session cookie,
// and shows the kick when the same user logs in from a second browser context.
//
// Run: node --test tests/browser/socketio_page.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
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
<script>
async function start(username, password) {
  const status = document.getElementById('status');
  const r = await fetch('/login-token', {
    method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({username, password}),
  });
  if (r.status !== 200) { status.textContent = 'login failed ' + r.status; return; }
  // The HttpOnly cookie the login set authenticates the socket.
  const socket = io({reconnection: false});
  socket.on('connect', () => { status.dataset.state = 'live'; status.textContent = 'live ' + socket.id; });
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
</script></body></html>`;

let server;
let browser;

before(async () => {
  server = await new Solod().start();
  browser = await launch_browser();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

/** A browser context whose page is PAGE at solod's origin, the bundle from node_modules. */
async function open_page(user_agent) {
  const context = await browser.newContext({ userAgent: user_agent });
  // Both answered here, by the harness: solod serves neither.
  await context.route(`${server.base_url}/vendor/socket.io.min.js`,
    (route) => route.fulfill({ status: 200, contentType: 'text/javascript', body: BUNDLE }));
  await context.route(`${server.base_url}/sio-page`,
    (route) => route.fulfill({ status: 200, contentType: 'text/html', body: PAGE }));
  const page = await context.newPage();
  await page.goto(`${server.base_url}/sio-page`);
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
  assert.equal(await second.locator('#status').getAttribute('data-state'), 'live');
});
