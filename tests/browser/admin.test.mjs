// The admin page in a real browser, against the real server: the first admin
// comes from the CLI, users register over REST. The admin ends a user's live
// session (the user's /app page says an administrator did it), filters the
// audit log (compared with the API's own answer), downloads the CSV export of
// exactly that filter, creates, disables and promotes users, shows an imported
// user's legacy hash and edits attributes, sees each account's sign-in counts,
// exports an account's data and erases it (a pseudonym stays); a non-admin is
// refused; the page fits a phone. With SOLOD_UPDATE_DOCS=1 it also rewrites the README
// screenshot docs/admin.png. (The Dashboard tab and the session history:
// dashboard.test.mjs.)
//
// Run: node --test tests/browser/   (or: node tests/browser/admin.test.mjs)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { pbkdf2Sync } from 'node:crypto';
import { join } from 'node:path';
import {
  Solod, SOURCE_DIR, launch_browser, eventually, wait_text, wait_attr, screenshot_path,
  parse_csv, no_sideways_scroll,
} from './harness.mjs';

const PASSWORD = 'correct horse battery';
const ADMIN = 'admin';

/** Realistic browsers, so the page's "browser" column has something to summarise. */
const UA = {
  admin: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  nora: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0',
  alice: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  bob: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  dmitri_old: 'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0',
  dmitri: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36',
  erin: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36',
  priya: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0',
  script: 'curl/8.5.0',
};

const CSV_HEADER = ['id', 'at', 'event', 'user_id', 'username', 'session_id', 'ip', 'user_agent',
  'status', 'detail', 'legal_basis'];

let server;
let browser;
const tokens = {};        // REST sessions: username -> token
const pages = {};         // admin, nora, ws (a page holding WebSockets of REST sessions)
const problems = [];      // page errors and console errors (CSP violations show up here)

async function new_page(name, user_agent, viewport = { width: 1280, height: 860 }) {
  const context = await browser.newContext({ userAgent: user_agent, viewport, acceptDownloads: true });
  const page = await context.newPage();
  page.on('pageerror', (err) => problems.push(`${name}: page error: ${err.message}`));
  page.on('console', (msg) => {
    // Refusals the tests provoke (401 /api/me before sign-in, 409 a taken name)
    // are logged by the browser as errors; anything else is a problem.
    if (msg.type() === 'error' && !/status of (401|409) /.test(msg.text())) {
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

/** A REST login as `username` from `ip` (the server trusts 127.0.0.1's X-Forwarded-For). */
async function rest_login(username, ip, user_agent, password = PASSWORD) {
  const r = await server.login(username, password, { 'X-Forwarded-For': ip, 'User-Agent': user_agent });
  if (r.status === 200) tokens[username] = r.body.token;
  return r;
}

/** GET through the admin's browser session (its HttpOnly cookie), as the page would. */
async function admin_get(path) {
  return pages.admin.evaluate(async (p) => {
    const res = await fetch(p, { cache: 'no-store' });
    const text = await res.text();
    let body = text;
    try { body = JSON.parse(text); } catch { /* CSV or empty */ }
    return { status: res.status, body };
  }, path);
}

const audit_rows = (page) => page.locator('#audit-table tbody tr');

/** The audit rows the page shows: [{id, event, username}]. */
async function shown_audit(page) {
  return page.$$eval('#audit-table tbody tr', (trs) => trs.map((tr) => ({
    id: Number(tr.dataset.auditId), event: tr.dataset.event, username: tr.dataset.username,
  })));
}

/** Waits until the page's audit table shows exactly `events` (by id, in order). */
async function expect_audit_rows(page, events, what) {
  const want = events.map((e) => e.id);
  let seen;
  try {
    await eventually(what, async () => {
      if ((await page.locator('#audit-table').getAttribute('aria-busy')) === 'true') return false;
      seen = (await shown_audit(page)).map((r) => r.id);
      return JSON.stringify(seen) === JSON.stringify(want);
    });
  } catch (err) {
    throw new Error(`${what}: the page shows ids ${JSON.stringify(seen)}, the API ${JSON.stringify(want)}`);
  }
}

/** Sets the audit filters in the form (missing keys cleared) and applies them. */
async function filter_audit(page, f) {
  await page.fill('#audit-filter-user', f.user || '');
  await page.fill('#audit-filter-ip', f.ip || '');
  await page.selectOption('#audit-filter-event', f.event || '');
  await page.fill('#audit-filter-from', f.from || '');
  await page.fill('#audit-filter-to', f.to || '');
  await page.click('#audit-apply');
}

before(async () => {
  server = new Solod({ server: { trusted_proxies: ['127.0.0.1/32'] } });
  const cli = await server.add_user_cli(ADMIN, PASSWORD, { admin: true, full_name: 'Site Admin', email: 'admin@example.org' });
  assert.match(cli.stdout + cli.stderr, /admin/);
  await server.start();

  // A few people, with sign-ins from around the world (documentation IP ranges).
  await server.register('nora', PASSWORD, { full_name: 'Nora Lindqvist', email: 'nora@example.org' });
  await server.register('alice', PASSWORD, { full_name: 'Alice Martin', email: 'alice@example.org' });
  await server.register('bob', PASSWORD, { full_name: 'Bob Okafor', email: 'bob.okafor@example.org' });
  await server.register('dmitri', PASSWORD, { full_name: 'Dmitri Volkov' });
  await server.register('erin', PASSWORD, { full_name: 'Erin Walsh', email: 'erin@example.org' });
  await server.register('priya', PASSWORD, { full_name: 'Priya Raman', email: 'priya@example.org' });

  assert.equal((await rest_login('nora', '198.51.100.23', UA.nora, 'not her password')).status, 401);
  assert.equal((await rest_login('alice', '203.0.113.24', UA.alice, 'Alice1234')).status, 401);
  assert.equal((await rest_login('alice', '203.0.113.24', UA.alice)).status, 200);
  assert.equal((await rest_login('root', '192.0.2.201', UA.script)).status, 401);
  assert.equal((await rest_login('bob', '198.51.100.7', UA.bob)).status, 200);
  assert.equal((await rest_login('dmitri', '192.0.2.10', UA.dmitri_old)).status, 200);
  assert.equal((await rest_login('dmitri', '192.0.2.77', UA.dmitri)).status, 200);   // supersedes the first
  assert.equal((await rest_login('priya', '203.0.113.90', UA.priya)).status, 200);

  browser = await launch_browser();

  // Live WebSockets for some REST sessions, so "connections" is not all zeros.
  const ws = await new_page('ws', UA.script);
  pages.ws = ws;
  await ws.goto(server.base_url + '/');
  const opened = await ws.evaluate(async (list) => {
    window.__sockets = [];
    const open = (token) => new Promise((resolve) => {
      const s = new WebSocket(`ws://${location.host}/ws`);
      window.__sockets.push(s);
      s.onopen = () => s.send(JSON.stringify({ type: 'auth', token }));
      s.onmessage = (ev) => { if (JSON.parse(ev.data).type === 'welcome') resolve(true); };
      s.onclose = () => resolve(false);
    });
    return Promise.all(list.map(open));
  }, [tokens.alice, tokens.alice, tokens.bob, tokens.priya]);
  assert.deepEqual(opened, [true, true, true, true], 'WebSockets of REST sessions welcomed');
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

test('the admin sees a user\'s live session and ends it; the user\'s page says an administrator did', async () => {
  const u = await new_page('nora', UA.nora);
  pages.nora = u;
  await sign_in(u, 'nora');
  const nora_session = await u.evaluate(async () => (await (await fetch('/api/me')).json()).session.id);

  const a = await new_page('admin', UA.admin);
  pages.admin = a;
  await sign_in(a, ADMIN);
  await a.goto(server.base_url + '/admin');
  await a.locator('#admin-content').waitFor({ state: 'visible', timeout: 15000 });
  assert.equal(await a.locator('#forbidden-notice').isVisible(), false);
  await a.click('#tab-sessions');   // the Dashboard opens first

  const row = a.locator('#sessions-table tbody tr[data-username="nora"]');
  await row.waitFor({ state: 'visible', timeout: 15000 });
  assert.equal(await row.getAttribute('data-session-id'), nora_session);
  await wait_text(row.locator('.col-ip'), /^127\.0\.0\.1$/);
  await wait_text(row.locator('.col-agent'), UA.nora);
  await wait_text(row.locator('.col-agent .agent-summary'), 'Firefox 128 on Windows');
  await wait_text(row.locator('td.num'), /^1$/);   // her /app page's WebSocket
  const alice = a.locator('#sessions-table tbody tr[data-username="alice"]');
  await wait_text(alice.locator('.col-ip'), '203.0.113.24');
  await wait_text(alice.locator('td.num'), /^2$/);
  // Each connection's node is named (one node here: both on it).
  assert.match(await alice.locator('td.num .conn').getAttribute('title'),
               /^2 open WebSocket connections: 2 on node [0-9a-f]{8}$/);
  await a.screenshot({ path: screenshot_path('admin-sessions.png'), fullPage: true });

  // Cancelling the confirmation ends nothing.
  await alice.locator('button[data-action="end-session"]').click();
  await a.locator('#confirm-dialog').waitFor({ state: 'visible' });
  await a.click('#confirm-cancel');
  await a.locator('#confirm-dialog').waitFor({ state: 'hidden' });
  assert.equal((await server.request('GET', '/api/me', { token: tokens.alice })).status, 200, 'alice still signed in');

  await row.locator('button[data-action="end-session"]').click();
  await a.locator('#confirm-dialog').waitFor({ state: 'visible' });
  await wait_text(a.locator('#confirm-title'), 'nora');
  await a.click('#confirm-ok');

  const notice = u.locator('#kicked-notice');
  await notice.waitFor({ state: 'visible', timeout: 15000 });
  await wait_attr(notice, 'data-reason', 'admin');
  await wait_text(u.locator('#kicked-title'), /administrator/i);
  await wait_text(u.locator('#kicked-reason'), 'An administrator ended this session.');
  await wait_attr(u.locator('#status'), 'data-state', 'kicked');
  await u.screenshot({ path: screenshot_path('kicked-admin.png'), fullPage: true });

  await wait_text(a.locator('#admin-flash'), 'Ended the session of nora');
  await eventually('nora\'s row gone from the live sessions', async () => (await row.count()) === 0);
  const live = await admin_get('/api/admin/sessions?active=true&user=nora');
  assert.deepEqual(live.body.sessions, [], 'no live session of nora left');
});

test('the audit log filters by user, event, IP and dates, and pages, exactly as the API does', async () => {
  const a = pages.admin;
  await a.click('#tab-audit');
  await a.locator('#panel-audit').waitFor({ state: 'visible' });
  await eventually('audit rows', async () => (await audit_rows(a).count()) > 0);

  // By user.
  await filter_audit(a, { user: 'nora' });
  let api = await admin_get('/api/admin/audit?user=nora&limit=50');
  assert.equal(api.status, 200);
  const nora_events = api.body.events.map((e) => e.event);
  for (const e of ['register', 'login_failure', 'login_success', 'session_terminated']) {
    assert.ok(nora_events.includes(e), `nora's audit has ${e}: ${nora_events}`);
  }
  await expect_audit_rows(a, api.body.events, 'user=nora');
  for (const r of await shown_audit(a)) assert.equal(r.username, 'nora');
  const terminated = a.locator('#audit-table tbody tr[data-event="session_terminated"]');
  await wait_text(terminated, /ended by admin/i);

  // By user and event.
  await filter_audit(a, { user: 'nora', event: 'login_failure' });
  api = await admin_get('/api/admin/audit?user=nora&event=login_failure&limit=50');
  assert.equal(api.body.events.length, 1, 'one failed sign-in of nora');
  await expect_audit_rows(a, api.body.events, 'user=nora event=login_failure');
  await wait_text(audit_rows(a).first(), 'wrong password');
  await wait_text(audit_rows(a).first().locator('.col-ip'), '198.51.100.23');

  // By event only.
  await filter_audit(a, { event: 'session_superseded' });
  api = await admin_get('/api/admin/audit?event=session_superseded&limit=50');
  assert.ok(api.body.events.length >= 1);
  await expect_audit_rows(a, api.body.events, 'event=session_superseded');
  for (const r of await shown_audit(a)) assert.equal(r.event, 'session_superseded');

  // By IP.
  await filter_audit(a, { ip: '203.0.113.24' });
  api = await admin_get('/api/admin/audit?ip=203.0.113.24&limit=50');
  assert.equal(api.body.events.length, 2, 'alice: one failure, one success');
  await expect_audit_rows(a, api.body.events, 'ip=203.0.113.24');

  // By date range: today (in the browser's calendar) holds everything; tomorrow nothing.
  const days = await a.evaluate(() => {
    const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    const now = new Date();
    return { today: iso(now), tomorrow: iso(new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1)) };
  });
  await filter_audit(a, { user: 'alice', from: days.today, to: days.today });
  const href = new URL(await a.locator('#audit-csv').getAttribute('href'), server.base_url);
  const from = href.searchParams.get('from');
  const to = href.searchParams.get('to');
  assert.match(from, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'from is sent as ISO');
  const span_h = (new Date(to) - new Date(from)) / 3600000;
  assert.ok(span_h >= 23 && span_h <= 25, `"to" is the end of that day (${span_h} h after "from")`);
  api = await admin_get(`/api/admin/audit?user=alice&from=${from}&to=${to}&limit=50`);
  const all_alice = await admin_get('/api/admin/audit?user=alice&limit=50');
  assert.deepEqual(api.body.events.map((e) => e.id), all_alice.body.events.map((e) => e.id));
  await expect_audit_rows(a, api.body.events, 'user=alice from..to today');
  await filter_audit(a, { user: 'alice', from: days.tomorrow });
  await expect_audit_rows(a, [], 'from tomorrow');
  await a.locator('#audit-empty').waitFor({ state: 'visible' });

  // Paging: 10 a page; next, next, previous, as the API's cursors give.
  await filter_audit(a, {});
  await a.selectOption('#audit-limit', '10');
  const p1 = await admin_get('/api/admin/audit?limit=10');
  assert.ok(p1.body.next_cursor, 'more than 10 events in all');
  await expect_audit_rows(a, p1.body.events, 'page 1');
  assert.equal(await a.locator('#audit-prev').isDisabled(), true);
  await a.click('#audit-next');
  const p2 = await admin_get(`/api/admin/audit?limit=10&cursor=${encodeURIComponent(p1.body.next_cursor)}`);
  await expect_audit_rows(a, p2.body.events, 'page 2');
  await wait_text(a.locator('#audit-page'), 'Page 2');
  if (p2.body.next_cursor) {
    await a.click('#audit-next');
    const p3 = await admin_get(`/api/admin/audit?limit=10&cursor=${encodeURIComponent(p2.body.next_cursor)}`);
    await expect_audit_rows(a, p3.body.events, 'page 3');
    await a.click('#audit-prev');
    await expect_audit_rows(a, p2.body.events, 'back to page 2');
  }
  await a.click('#audit-prev');
  await expect_audit_rows(a, p1.body.events, 'back to page 1');
  await a.selectOption('#audit-limit', '50');
});

test('"Download CSV" exports exactly the filtered events', async () => {
  const a = pages.admin;
  await filter_audit(a, { user: 'nora' });
  const listing = await admin_get('/api/admin/audit?user=nora&limit=50');
  await expect_audit_rows(a, listing.body.events, 'user=nora');
  const shown = await shown_audit(a);

  const href = await a.locator('#audit-csv').getAttribute('href');
  assert.equal(href, '/api/admin/audit.csv?user=nora', 'the link carries exactly the filters');
  const [download] = await Promise.all([a.waitForEvent('download'), a.click('#audit-csv')]);
  assert.equal(download.suggestedFilename(), 'solod-audit.csv');
  const rows = parse_csv(readFileSync(await download.path(), 'utf8'));
  assert.deepEqual(rows[0], CSV_HEADER);
  const body = rows.slice(1);
  assert.deepEqual(body.map((r) => Number(r[0])), shown.map((r) => r.id), 'the same events as listed');
  const by_id = new Map(listing.body.events.map((e) => [e.id, e]));
  for (const r of body) {
    const e = by_id.get(Number(r[0]));
    assert.equal(r[1], e.at);
    assert.equal(r[2], e.event);
    assert.equal(r[4], 'nora');
    assert.equal(r[6], e.ip);
    assert.equal(r[7], e.user_agent);
    assert.equal(r[10], 'legal_obligation');
  }

  // Several filters at once go into the link as they are.
  await filter_audit(a, { user: 'alice', event: 'login_failure', ip: '203.0.113.24' });
  const multi = new URL(await a.locator('#audit-csv').getAttribute('href'), server.base_url);
  assert.equal(multi.pathname, '/api/admin/audit.csv');
  assert.deepEqual(Object.fromEntries(multi.searchParams),
    { user: 'alice', ip: '203.0.113.24', event: 'login_failure' });
  const [second] = await Promise.all([a.waitForEvent('download'), a.click('#audit-csv')]);
  const rows2 = parse_csv(readFileSync(await second.path(), 'utf8'));
  assert.equal(rows2.length, 2, 'header and alice\'s one failed sign-in');
  assert.equal(rows2[1][2], 'login_failure');
  await a.screenshot({ path: screenshot_path('admin-audit.png'), fullPage: true });
  await filter_audit(a, {});
});

test('users: create through the form, disable (cannot sign in), make another admin', async () => {
  const a = pages.admin;
  await a.click('#tab-users');
  await a.locator('#panel-users').waitFor({ state: 'visible' });
  await a.locator('#users-table tbody tr[data-username="nora"]').waitFor({ timeout: 15000 });

  // Your own row cannot lock you out.
  const own = a.locator(`#users-table tbody tr[data-username="${ADMIN}"]`);
  assert.equal(await own.locator('button[data-action="toggle-active"]').isDisabled(), true);

  // A taken name: the API's refusal is shown.
  await a.fill('#new-username', 'nora');
  await a.fill('#new-password', PASSWORD);
  await a.click('#user-create-submit');
  await wait_text(a.locator('#user-create-error'), 'already taken');

  await a.fill('#new-username', 'dana');
  await a.fill('#new-password', PASSWORD);
  await a.fill('#new-full-name', 'Dana Scully');
  await a.fill('#new-email', 'dana@example.org');
  await a.click('#user-create-submit');
  const dana = a.locator('#users-table tbody tr[data-username="dana"]');
  await dana.waitFor({ state: 'visible', timeout: 15000 });
  assert.equal(await a.locator('#user-create-error').isVisible(), false);
  await wait_text(a.locator('#admin-flash'), 'Created user dana');
  await wait_attr(dana, 'data-active', 'true');
  await wait_attr(dana, 'data-admin', 'false');
  await wait_text(dana, 'Dana Scully');
  assert.equal(await a.inputValue('#new-username'), '', 'the form is cleared');

  // dana can sign in ...
  const ok = await rest_login('dana', '203.0.113.150', UA.erin);
  assert.equal(ok.status, 200);
  // ... until disabled, which also ends her live session.
  await dana.locator('button[data-action="toggle-active"]').click();
  await wait_text(a.locator('#confirm-title'), 'Disable dana');
  await a.click('#confirm-ok');
  await wait_attr(dana, 'data-active', 'false');
  await wait_text(dana, 'Disabled');
  await wait_text(dana.locator('button[data-action="toggle-active"]'), 'Enable');
  const refused = await rest_login('dana', '203.0.113.150', UA.erin);
  assert.equal(refused.status, 401);
  assert.equal(refused.body.error, 'invalid_credentials');
  assert.equal((await server.request('GET', '/api/me', { token: tokens.dana })).status, 401,
    'the old session of dana has ended');

  // Search, then make bob an administrator.
  await a.fill('#users-search', 'bob');
  await a.click('#users-search-submit');
  await eventually('only bob listed', async () => {
    const names = await a.$$eval('#users-table tbody tr', (trs) => trs.map((tr) => tr.dataset.username));
    return JSON.stringify(names) === '["bob"]';
  });
  const bob = a.locator('#users-table tbody tr[data-username="bob"]');
  assert.equal((await server.request('GET', '/api/admin/users', { token: tokens.bob })).status, 403);
  await bob.locator('button[data-action="toggle-admin"]').click();
  await wait_text(a.locator('#confirm-title'), 'Make bob an administrator');
  await a.click('#confirm-ok');
  await wait_attr(bob, 'data-admin', 'true');
  await wait_text(bob.locator('button[data-action="toggle-admin"]'), 'Revoke admin');
  const check = await admin_get('/api/admin/users?q=bob');
  assert.equal(check.body.users[0].is_admin, true);
  assert.equal((await server.request('GET', '/api/admin/users', { token: tokens.bob })).status, 200,
    'bob can use the admin API now');

  await a.fill('#users-search', '');
  await a.click('#users-search-submit');
  await eventually('all users listed again', async () => (await a.locator('#users-table tbody tr').count()) === 8);
  await a.screenshot({ path: screenshot_path('admin-users.png'), fullPage: true });
});

test('users: an imported user shows "Legacy hash" until signing in; attributes are shown and edited', async () => {
  const a = pages.admin;
  // A Django account, imported from the command line while the server runs.
  const salt = 'browsersalt1';
  const digest = pbkdf2Sync(PASSWORD, salt, 1000, 32, 'sha256').toString('base64');
  const csv = join(server.dir, 'import.csv');
  writeFileSync(csv, `username,password_hash,full_name,attr.team\nfelix,pbkdf2_sha256$1000$${salt}$${digest},Felix Imported,blue\n`);
  const imported = await server.cli(['user', 'import', csv]);
  assert.equal(imported.code, 0, imported.stdout + imported.stderr);
  assert.match(imported.stdout, /imported 1 user/);

  await a.click('#tab-users');
  await a.fill('#users-search', 'felix');
  await a.click('#users-search-submit');
  const felix = a.locator('#users-table tbody tr[data-username="felix"]');
  await felix.waitFor({ state: 'visible', timeout: 15000 });
  await wait_attr(felix, 'data-legacy-credentials', 'true');
  assert.equal(await felix.locator('.legacy-credentials').isVisible(), true);

  // The attributes dialog shows the imported one ...
  await felix.locator('button[data-action="attributes"]').click();
  await wait_text(a.locator('#attributes-title'), 'Attributes of felix');
  const rows = a.locator('#attributes-table tbody tr');
  await eventually('the imported attribute shown', async () => (await rows.count()) === 1);
  await wait_text(rows.first(), 'blue');
  // ... takes a typed one (a wrong value is refused in the page) ...
  await a.fill('#attribute-name', 'seats');
  await a.selectOption('#attribute-type', 'integer');
  await a.fill('#attribute-value', 'twelve');
  await a.click('#attribute-save');
  await wait_text(a.locator('#attributes-error'), 'integer');
  await a.fill('#attribute-value', '12');
  await a.click('#attribute-save');
  await eventually('two attributes', async () => (await rows.count()) === 2);
  const id = await felix.getAttribute('data-user-id');
  let api = await admin_get(`/api/admin/users/${id}/attributes`);
  assert.deepEqual(api.body.attributes, [
    { name: 'seats', type: 'integer', value: 12 },
    { name: 'team', type: 'string', value: 'blue' },
  ]);
  // ... edits one through its Edit button, and deletes one.
  const team = a.locator('#attributes-table tbody tr[data-name="team"]');
  await team.locator('button[data-action="edit-attribute"]').click();
  assert.equal(await a.inputValue('#attribute-name'), 'team');
  await a.fill('#attribute-value', 'green');
  await a.click('#attribute-save');
  await wait_text(team, 'green');
  await a.locator('#attributes-table tbody tr[data-name="seats"] button[data-action="delete-attribute"]').click();
  await eventually('one attribute left', async () => (await rows.count()) === 1);
  api = await admin_get(`/api/admin/users/${id}/attributes`);
  assert.deepEqual(api.body.attributes, [{ name: 'team', type: 'string', value: 'green' }]);
  await a.screenshot({ path: screenshot_path('admin-attributes.png') });
  await a.click('#attributes-close');

  // felix signs in with the Django password: the hash is replaced, the mark goes.
  assert.equal((await rest_login('felix', '203.0.113.160', UA.erin)).status, 200);
  await a.click('#users-search-submit');
  await wait_attr(a.locator('#users-table tbody tr[data-username="felix"]'), 'data-legacy-credentials', 'false');
  assert.equal(await a.locator('#users-table tbody tr[data-username="felix"] .legacy-credentials').count(), 0);
  await a.fill('#users-search', '');
  await a.click('#users-search-submit');
});

test('users: sign-ins and failures (24 h) per account; "Export data" downloads it all; "Erase" leaves a pseudonym', async () => {
  const a = pages.admin;
  await server.register('gail', PASSWORD, { full_name: 'Gail Porter', email: 'gail@example.org' });
  assert.equal((await rest_login('gail', '203.0.113.171', UA.erin, 'not her password')).status, 401);
  assert.equal((await rest_login('gail', '203.0.113.170', UA.erin)).status, 200);

  await a.click('#tab-users');
  await a.fill('#users-search', 'gail');
  await a.click('#users-search-submit');
  const gail = a.locator('#users-table tbody tr[data-username="gail"]');
  await gail.waitFor({ state: 'visible', timeout: 15000 });
  const id = await gail.getAttribute('data-user-id');
  const listed = (await admin_get('/api/admin/users?q=gail')).body.users[0];
  assert.equal(listed.logins_total, 1, 'one sign-in');
  assert.equal(listed.failures_24h, 1, 'one failure in 24 h');
  assert.equal(listed.erased, false);
  await wait_text(gail.locator('.col-logins'), /^1$/);
  await wait_text(gail.locator('.col-failures'), /^1$/);
  assert.equal(await gail.locator('.col-failures .count-bad').count(), 1, 'failures are marked');
  await wait_attr(gail, 'data-erased', 'false');

  // Export: everything stored about gail, as one JSON download.
  const [download] = await Promise.all([a.waitForEvent('download'), gail.locator('a[data-action="export"]').click()]);
  assert.equal(download.suggestedFilename(), `solod-user-${id}.json`);
  const exported = JSON.parse(readFileSync(await download.path(), 'utf8'));
  assert.equal(exported.format, 'solod-subject-export/1');
  assert.equal(exported.user.username, 'gail');
  assert.equal(exported.user.email, 'gail@example.org');
  assert.equal(exported.user.erased, false);
  assert.equal(exported.sessions.length, 1);
  assert.equal(exported.sessions[0].ip, '203.0.113.170');
  const events = exported.audit.map((e) => e.event);
  for (const e of ['login_success', 'login_failure']) assert.ok(events.includes(e), `the export has ${e}: ${events}`);
  assert.equal(exported.legal_basis.sessions, 'legal_obligation');

  // Erase: asked first (cancelling changes nothing) ...
  await gail.locator('button[data-action="erase"]').click();
  await wait_text(a.locator('#confirm-title'), 'Erase gail?');
  await wait_text(a.locator('#confirm-text'), 'cannot be undone');
  await a.click('#confirm-cancel');
  await a.locator('#confirm-dialog').waitFor({ state: 'hidden' });
  assert.equal((await admin_get('/api/admin/users?q=gail')).body.users.length, 1, 'not erased after Cancel');
  // ... then done: the row shows the pseudonym, marked erased.
  await gail.locator('button[data-action="erase"]').click();
  await a.click('#confirm-ok');
  const said = await wait_text(a.locator('#admin-flash'), /Erased gail: shown as erased-[0-9a-f]{16}/);
  const pseudonym = said.match(/erased-[0-9a-f]{16}/)[0];
  const row = a.locator(`#users-table tbody tr[data-user-id="${id}"]`);
  await wait_attr(row, 'data-erased', 'true');
  await wait_attr(row, 'data-username', pseudonym);
  await wait_text(row, 'Erased');
  assert.equal(await a.inputValue('#users-search'), pseudonym, 'the search follows the new name');
  assert.equal(await row.locator('button[data-action="erase"]').count(), 0);
  assert.equal(await row.locator('a[data-action="export"]').count(), 1);
  assert.equal((await row.getAttribute('class')) || '', 'is-new', 'the erased row is highlighted');
  await a.screenshot({ path: screenshot_path('admin-users-erased.png'), fullPage: true });

  const after = (await admin_get(`/api/admin/users?q=${pseudonym}`)).body.users;
  assert.equal(after.length, 1);
  assert.equal(String(after[0].id), id);
  assert.equal(after[0].erased, true);
  assert.equal(after[0].is_active, false);
  assert.equal(after[0].logins_total, 1, 'the rows are kept');
  assert.equal((await admin_get('/api/admin/users?q=gail')).body.users.length, 0, 'the name is gone');
  assert.equal((await admin_get('/api/admin/audit?user=gail&limit=50')).body.events.length, 0, 'no audit row names gail');
  for (const ip of ['203.0.113.170', '203.0.113.171']) {
    assert.equal((await admin_get(`/api/admin/audit?ip=${ip}&limit=50`)).body.events.length, 0, `no audit row has ${ip}`);
  }
  assert.equal((await server.request('GET', '/api/me', { token: tokens.gail })).status, 401, 'her session was ended');
  const again = await a.evaluate(async (u) => {
    const res = await fetch(`/api/admin/users/${u}/erase`, { method: 'POST' });
    return { status: res.status, body: await res.json() };
  }, id);
  assert.equal(again.status, 409);
  assert.equal(again.body.error, 'already_erased');

  // Your own account cannot be erased from here.
  await a.fill('#users-search', ADMIN);
  await a.click('#users-search-submit');
  const own = a.locator(`#users-table tbody tr[data-username="${ADMIN}"]`);
  await own.waitFor({ state: 'visible', timeout: 15000 });
  assert.equal(await own.locator('button[data-action="erase"]').isDisabled(), true);
  await a.fill('#users-search', '');
  await a.click('#users-search-submit');
});

test('a signed-in non-admin opening /admin is refused and sees no data; no one signed in goes to "/"', async () => {
  const page = await new_page('erin', UA.erin);
  const admin_requests = [];
  page.on('request', (req) => {
    if (new URL(req.url()).pathname.startsWith('/api/admin')) admin_requests.push(req.url());
  });
  await sign_in(page, 'erin');
  await page.goto(server.base_url + '/admin');
  const notice = page.locator('#forbidden-notice');
  await notice.waitFor({ state: 'visible', timeout: 15000 });
  await wait_text(notice, 'Administrators only');
  await wait_text(page.locator('#forbidden-user'), 'erin');
  assert.equal(await page.locator('#admin-content').isVisible(), false);
  for (const table of ['#sessions-table', '#audit-table', '#users-table']) {
    assert.equal(await page.locator(`${table} tbody tr`).count(), 0, `${table} is empty`);
  }
  const text = await page.locator('body').innerText();
  for (const secret of ['nora', 'alice', '203.0.113.24', 'login_success']) {
    assert.ok(!text.includes(secret), `the refusal shows nothing like ${secret}`);
  }
  assert.deepEqual(admin_requests, [], 'the page asked the admin API nothing');
  await page.screenshot({ path: screenshot_path('admin-forbidden.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await no_sideways_scroll(page, 'refusal on a phone');
  await page.context().close();

  const anon = await new_page('anon', 'Browser-Anon/0.1');
  await anon.goto(server.base_url + '/admin');
  await anon.waitForURL((url) => url.pathname === '/', { timeout: 15000 });
  await anon.context().close();
});

test('the admin page fits a phone-sized screen (390x844) in every section', async () => {
  // The same session as page "admin" (its cookie), on a phone-sized window.
  const context = await browser.newContext({
    userAgent: UA.admin, viewport: { width: 390, height: 844 },
    storageState: await pages.admin.context().storageState(),
  });
  const page = await context.newPage();
  page.on('pageerror', (err) => problems.push(`phone: page error: ${err.message}`));
  await page.goto(server.base_url + '/admin');
  await page.click('#tab-sessions');
  await page.locator('#sessions-table tbody tr').first().waitFor({ timeout: 15000 });
  await no_sideways_scroll(page, 'live sessions');
  await page.screenshot({ path: screenshot_path('admin-phone-sessions.png'), fullPage: true });

  await page.click('#tab-audit');
  await audit_rows(page).first().waitFor({ timeout: 15000 });
  await no_sideways_scroll(page, 'audit log');
  await page.screenshot({ path: screenshot_path('admin-phone-audit.png') });

  await page.click('#tab-users');
  await page.locator('#users-table tbody tr').first().waitFor({ timeout: 15000 });
  await no_sideways_scroll(page, 'users');
  await page.screenshot({ path: screenshot_path('admin-phone-users.png'), fullPage: true });
  await context.close();
});

test('README screenshot: docs/admin.png', async () => {
  const a = pages.admin;
  await a.setViewportSize({ width: 1280, height: 760 });
  await a.goto(server.base_url + '/admin#sessions');
  await a.reload();   // a fresh page: no notice left over from the tests above
  await a.locator('#sessions-table tbody tr[data-username="alice"]').waitFor({ timeout: 15000 });
  await wait_text(a.locator('#users-count'), /\d/);
  await a.mouse.move(0, 0);
  // The README's picture is rewritten only on request (SOLOD_UPDATE_DOCS=1),
  // so running the tests never changes a tracked file.
  const docs = process.env.SOLOD_UPDATE_DOCS === '1';
  if (docs) {
    mkdirSync(join(SOURCE_DIR, 'docs'), { recursive: true });
  }
  await a.screenshot({ path: docs ? join(SOURCE_DIR, 'docs', 'admin.png') : screenshot_path('admin-readme.png') });
  await a.click('#tab-audit');
  await audit_rows(a).first().waitFor({ timeout: 15000 });
  await a.screenshot({ path: screenshot_path('admin-audit-all.png') });
});

test('the pages ran without script errors or CSP violations', () => {
  assert.deepEqual(problems, []);
});
