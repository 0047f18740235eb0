// The live page in a real browser: sign in through "/", see the session live,
// get kicked by a newer sign-in of the same user (with who did it), watch
// presence and messages, check the token never reaches page scripts, and read
// the account's recent activity (a failed sign-in and the replacing sign-in
// marked; a kicked page adds its own kick on top). With SOLOD_UPDATE_DOCS=1
// the activity screenshot also goes to docs/app-activity.png.
//
// Run: node --test tests/browser/   (or: node tests/browser/app.test.mjs)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  Solod, SOURCE_DIR, launch_browser, eventually, wait_text, wait_attr, unique_name, screenshot_path,
} from './harness.mjs';

const PASSWORD = 'correct horse battery';
const UA_A = 'Browser-A/1.0';
const UA_B = 'Browser-B/2.0';
const UA_C = 'Browser-C/3.0';

let server;
let browser;
const user1 = unique_name('ann');
const user2 = unique_name('cid');
const pages = {};          // a, b, c: Page
const problems = [];       // page errors and console errors (CSP violations show up here)
let sockets_a = 0;         // WebSockets page A ever opened

async function new_page(name, user_agent, viewport = { width: 1100, height: 860 }, headers = undefined) {
  const context = await browser.newContext({ userAgent: user_agent, viewport, extraHTTPHeaders: headers });
  const page = await context.newPage();
  page.on('pageerror', (err) => problems.push(`${name}: page error: ${err.message}`));
  page.on('console', (msg) => {
    // Refused API calls the tests provoke (401 /api/me or sign-in, 403 registration
    // off, 409 name taken) are logged by the browser as errors; a 404 is not excused.
    if (msg.type() === 'error' && !/status of (401|403|409) /.test(msg.text())) {
      problems.push(`${name}: console error: ${msg.text()}`);
    }
  });
  return page;
}

/** Signs in through the "/" page and waits for /app to be live. */
async function sign_in(page, username) {
  await page.goto(server.base_url + '/');
  await page.fill('#login-username', username);
  await page.fill('#login-password', PASSWORD);
  await page.click('#login-submit');
  await page.waitForURL(/\/app$/, { timeout: 15000 });
  await wait_attr(page.locator('#status'), 'data-state', 'live');
}

const online_entry = (page, user) => page.locator(`#online-list li[data-user="${user}"]`);

before(async () => {
  // 127.0.0.1 is a trusted proxy: a browser context can come "from" another
  // address with X-Forwarded-For (without the header it is 127.0.0.1, as before).
  server = await new Solod({ server: { trusted_proxies: ['127.0.0.1/32'] } }).start();
  await server.register(user1, PASSWORD, { full_name: 'Ann Example' });
  await server.register(user2, PASSWORD);
  browser = await launch_browser();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

test('a wrong password shows a clear error on the sign-in page', async () => {
  const page = await new_page('a', UA_A);
  pages.a = page;
  page.on('websocket', () => { sockets_a += 1; });
  await page.goto(server.base_url + '/');
  await page.fill('#login-username', user1);
  await page.fill('#login-password', 'not the password');
  await page.click('#login-submit');
  await wait_text(page.locator('#login-error'), 'Wrong username or password');
  assert.equal(new URL(page.url()).pathname, '/');
  await page.screenshot({ path: screenshot_path('sign-in-error.png') });
});

test('/app without a session goes back to the sign-in page', async () => {
  const page = await new_page('anon', 'Browser-Anon/0.1');
  await page.goto(server.base_url + '/app');
  await page.waitForURL((url) => url.pathname === '/', { timeout: 15000 });
  await page.context().close();
});

test('A signs in through "/" and sees its live session', async () => {
  const a = pages.a;
  await sign_in(a, user1);
  await wait_text(a.locator('#status'), 'Live');
  await wait_text(a.locator('#session-ip'), /^127\.0\.0\.1$/);
  await wait_text(a.locator('#session-agent'), UA_A);
  await wait_text(a.locator('#session-since'), /\d/);
  await wait_text(a.locator('#session-user'), user1);
  await eventually('A in its own online list', () => online_entry(a, user1).count());
  await wait_text(a.locator('#online-count'), '1');
});

test('the token stays in the HttpOnly cookie, out of reach of page scripts', async () => {
  const a = pages.a;
  const cookies = await a.context().cookies();
  const session = cookies.find((c) => c.name === 'solod_session');
  assert.ok(session, 'the browser holds the solod_session cookie');
  assert.equal(session.httpOnly, true, 'solod_session is HttpOnly');
  assert.ok(session.value.length > 20);
  const seen = await a.evaluate(() => {
    const dump = (s) => Object.fromEntries(Array.from({ length: s.length }, (_, i) => [s.key(i), s.getItem(s.key(i))]));
    return { cookie: document.cookie, local: dump(localStorage), session: dump(sessionStorage) };
  });
  assert.ok(!seen.cookie.includes('solod_session'), `document.cookie shows no session: ${seen.cookie}`);
  const stored = JSON.stringify([seen.local, seen.session]);
  assert.ok(!stored.includes(session.value), 'the token is not in localStorage/sessionStorage');
  assert.ok(!/eyJ[\w-]+\.[\w-]+\./.test(stored), `no JWT-looking value in web storage: ${stored}`);
  assert.ok(!/token/i.test(Object.keys(seen.local).concat(Object.keys(seen.session)).join(' ')),
    'no "token" key in web storage');
});

test('B signs in as the same user: A is kicked and told by whom; B stays live', async () => {
  const a = pages.a;
  const b = await new_page('b', UA_B);
  pages.b = b;
  await sign_in(b, user1);

  const notice = a.locator('#kicked-notice');
  await notice.waitFor({ state: 'visible', timeout: 15000 });
  await wait_attr(notice, 'data-reason', 'superseded');
  await wait_text(a.locator('#kicked-reason'), /newer sign-in/i);
  await wait_text(a.locator('#kicked-title'), /signed in somewhere else/i);
  await wait_text(a.locator('#kicked-by-ip'), /^127\.0\.0\.1$/);
  await wait_text(a.locator('#kicked-by-agent'), UA_B);
  await wait_attr(a.locator('#status'), 'data-state', 'kicked');
  assert.equal(await a.locator('#message-text').isDisabled(), true, 'A can no longer send');

  await wait_attr(b.locator('#status'), 'data-state', 'live');
  await wait_text(b.locator('#session-agent'), UA_B);
  await a.screenshot({ path: screenshot_path('kicked-superseded.png'), fullPage: true });
});

test('C signs in as another user: B sees C come online live', async () => {
  const b = pages.b;
  const c = await new_page('c', UA_C);
  pages.c = c;
  await sign_in(c, user2);
  await online_entry(b, user2).waitFor({ state: 'visible', timeout: 15000 });
  await wait_text(b.locator('#online-count'), '2');
  await online_entry(c, user1).waitFor({ state: 'visible', timeout: 15000 });
});

test('messages from C reach B: to everyone, and to B by name', async () => {
  const b = pages.b;
  const c = pages.c;
  await c.selectOption('#message-to', '');
  await c.fill('#message-text', 'hello everyone from C');
  await c.click('#message-send');
  const first = b.locator('#messages li.message', { hasText: 'hello everyone from C' });
  await first.waitFor({ state: 'visible', timeout: 15000 });
  await wait_text(first.locator('.message-from'), user2);

  await eventually('B as a recipient choice on C', () =>
    c.locator(`#message-to option[value="${user1}"]`).count());
  await c.selectOption('#message-to', user1);
  const evil = '<img src=x onerror="window.__xss=1"> just for you';
  await c.fill('#message-text', evil);
  await c.click('#message-send');
  const second = b.locator('#messages li.message', { hasText: 'just for you' });
  await second.waitFor({ state: 'visible', timeout: 15000 });
  assert.equal(await second.locator('.message-text').textContent(), evil, 'shown as text');
  assert.equal(await b.locator('#messages img').count(), 0, 'no markup from messages');
  assert.equal(await b.evaluate(() => window.__xss), undefined, 'no script from messages');
  // C sees its own direct message too.
  await c.locator('#messages li.message', { hasText: 'just for you' }).waitFor({ timeout: 15000 });
  await b.screenshot({ path: screenshot_path('live-b.png'), fullPage: true });
});

test('C signs out: B sees C go offline; A never reconnected after its kick', async () => {
  const b = pages.b;
  const c = pages.c;
  await c.click('#logout');
  await c.waitForURL((url) => url.pathname === '/', { timeout: 15000 });
  await eventually(`${user2} gone from B's online list`,
    async () => (await online_entry(b, user2).count()) === 0);
  await wait_text(b.locator('#online-count'), '1');
  await wait_attr(b.locator('#status'), 'data-state', 'live');

  const a = pages.a;
  await wait_attr(a.locator('#status'), 'data-state', 'kicked');
  assert.equal(await a.locator('#kicked-notice').isVisible(), true);
  assert.equal(sockets_a, 1, 'page A opened exactly one WebSocket');
});

test('the kicked page reads well on a phone-sized screen', async () => {
  const a = pages.a;
  await a.setViewportSize({ width: 390, height: 844 });
  await a.locator('#kicked-notice').waitFor({ state: 'visible' });
  const overflow = await a.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no sideways scrolling (overflow ${overflow}px)`);
  await a.screenshot({ path: screenshot_path('kicked-superseded-phone.png'), fullPage: true });
});

test('a new account can be created from the sign-in page and lands on /app', async () => {
  const page = await new_page('reg', 'Browser-Reg/1.0');
  const name = unique_name('reg');
  await page.goto(server.base_url + '/');
  await page.click('#tab-register');
  await page.fill('#register-username', user1);   // taken
  await page.fill('#register-password', PASSWORD);
  await page.click('#register-submit');
  await wait_text(page.locator('#register-error'), 'already taken');
  await page.fill('#register-username', name);
  await page.fill('#register-full-name', 'Reg Example');
  await page.click('#register-submit');
  await page.waitForURL(/\/app$/, { timeout: 15000 });
  await wait_attr(page.locator('#status'), 'data-state', 'live');
  await wait_text(page.locator('#session-user'), name);
  await page.context().close();
});

test('when the server refuses registration the page says so', async () => {
  const closed = await new Solod({ auth: { allow_registration: false } }).start();
  try {
    const page = await new_page('closed', 'Browser-Closed/1.0');
    await page.goto(closed.base_url + '/#register');
    await page.fill('#register-username', unique_name('nope'));
    await page.fill('#register-password', PASSWORD);
    await page.click('#register-submit');
    await wait_text(page.locator('#register-error'), 'turned off on this server');
    await page.context().close();
  } finally {
    await closed.stop();
  }
});

test('recent activity: a failed sign-in and the replacing sign-in are marked; the kicked page adds its kick on top', async () => {
  const user = unique_name('eve');
  await server.register(user, PASSWORD);
  const UA_OLD = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
  const UA_NEW = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';
  const NEW_IP = '203.0.113.77';

  // Page A: signed in from 127.0.0.1; its own sign-in is "this session".
  const a = await new_page('act-a', UA_OLD);
  await sign_in(a, user);
  const mine = a.locator('#activity-table tbody tr[data-current="true"]');
  await mine.waitFor({ state: 'visible', timeout: 15000 });
  await wait_attr(mine, 'data-event', 'login_success');
  await wait_text(mine.locator('.col-session'), 'this session');
  await wait_text(mine.locator('.col-agent'), 'Chrome 126 on Linux');

  // Page B: another browser "from" 203.0.113.77; a wrong password first, then the right one.
  const b = await new_page('act-b', UA_NEW, { width: 1100, height: 860 }, { 'X-Forwarded-For': NEW_IP });
  await b.goto(server.base_url + '/');
  await b.fill('#login-username', user);
  await b.fill('#login-password', 'not the password');
  await b.click('#login-submit');
  await wait_text(b.locator('#login-error'), 'Wrong username or password');
  await b.fill('#login-password', PASSWORD);
  await b.click('#login-submit');
  await b.waitForURL(/\/app$/, { timeout: 15000 });
  await wait_attr(b.locator('#status'), 'data-state', 'live');
  await wait_text(b.locator('#session-ip'), NEW_IP);

  // A is kicked and told who did it ...
  await wait_attr(a.locator('#kicked-notice'), 'data-reason', 'superseded');
  await wait_text(a.locator('#kicked-by-ip'), NEW_IP);
  await wait_text(a.locator('#kicked-by-agent'), UA_NEW);
  // ... and its activity gets the kick on top, marked, naming the new sign-in's IP and browser.
  const top = a.locator('#activity-table tbody tr').first();
  await wait_attr(top, 'data-local', 'true');
  await wait_attr(top, 'data-event', 'session_superseded');
  assert.match(await top.getAttribute('class'), /\bis-kick\b/);
  await wait_text(top.locator('.col-event'), /Signed out by a new sign-in\s*from 203\.0\.113\.77, Firefox 128 on Windows/);
  await wait_text(top.locator('.col-ip'), NEW_IP);
  await wait_text(top.locator('.col-agent'), 'Firefox 128 on Windows');
  await wait_text(top.locator('.col-session'), 'this session');
  await wait_text(mine.locator('.col-session'), 'replaced by a newer sign-in');
  assert.equal(await a.locator('#activity-refresh').isDisabled(), true, 'a dead session fetches nothing');
  await a.screenshot({ path: screenshot_path('app-activity-kicked.png'), fullPage: true });

  // B's list (from the server): its own sign-in, the replaced session, the failure.
  const rows = b.locator('#activity-table tbody tr');
  const superseded = b.locator('#activity-table tbody tr[data-event="session_superseded"]');
  await eventually('the session_superseded row on B', async () => {
    if (await superseded.count()) return true;
    await b.click('#activity-refresh');   // the audit row may be written just after the sign-in
    return false;
  }, 15000, 300);
  assert.match(await superseded.getAttribute('class'), /\bis-kick\b/);
  await wait_text(superseded.locator('.col-event'), /Signed out by a new sign-in\s*from 203\.0\.113\.77, Firefox 128 on Windows/);
  await wait_text(superseded.locator('.col-ip'), NEW_IP);
  const failed = b.locator('#activity-table tbody tr[data-event="login_failure"]');
  assert.equal(await failed.count(), 1);
  assert.match(await failed.getAttribute('class'), /\bis-failed\b/);
  await wait_text(failed.locator('.col-event'), /failed/);
  await wait_text(failed.locator('.col-event'), 'wrong password');
  await wait_text(failed.locator('.col-ip'), NEW_IP);
  const current = b.locator('#activity-table tbody tr[data-current="true"]');
  await wait_attr(current, 'data-event', 'login_success');
  await wait_text(current.locator('.col-session'), 'this session');
  await wait_text(current.locator('.col-ip'), NEW_IP);
  // A's sign-in, seen from B: that session was replaced.
  const old = b.locator('#activity-table tbody tr[data-event="login_success"][data-current="false"]');
  await wait_text(old.locator('.col-session'), 'replaced by a newer sign-in');
  await wait_text(old.locator('.col-ip'), '127.0.0.1');

  // The rows are the API's, in its order.
  const api = await b.evaluate(async () => (await (await fetch('/api/me/activity', { cache: 'no-store' })).json()));
  const ids = await rows.evaluateAll((trs) => trs.map((tr) => Number(tr.dataset.id)));
  assert.deepEqual(ids, api.events.map((e) => e.id));
  assert.deepEqual(api.events.map((e) => e.event).slice(0, 3).sort(),
    ['login_failure', 'login_success', 'session_superseded'].sort(), `newest three: ${api.events.map((e) => e.event)}`);
  const sup = api.events.find((e) => e.event === 'session_superseded');
  assert.equal(sup.ip, NEW_IP, 'session_superseded carries the new sign-in\'s IP');
  assert.equal(sup.user_agent, UA_NEW);
  assert.equal(sup.current, false);
  assert.equal(api.events.filter((e) => e.current).length, 1, 'one row is this session');

  await b.evaluate(() => window.scrollTo(0, 0));
  await b.mouse.move(0, 0);
  await b.screenshot({ path: screenshot_path('app-activity.png'), fullPage: true });
  if (process.env.SOLOD_UPDATE_DOCS === '1') {
    mkdirSync(join(SOURCE_DIR, 'docs'), { recursive: true });
    await b.screenshot({ path: join(SOURCE_DIR, 'docs', 'app-activity.png'), fullPage: true });
  }
  await b.setViewportSize({ width: 390, height: 844 });
  const overflow = await b.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the activity fits a phone (overflow ${overflow}px)`);
  await b.screenshot({ path: screenshot_path('app-activity-phone.png'), fullPage: true });
  await a.context().close();
  await b.context().close();
});

test('the pages ran without script errors or CSP violations', () => {
  assert.deepEqual(problems, []);
});
