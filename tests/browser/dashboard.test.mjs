// The admin dashboard and session history in a real browser, against the real
// server, on data made through the real API: sign-ins (one replacing another),
// a sign-out, a session an admin ended, and failed sign-ins from several
// addresses (X-Forwarded-For from 127.0.0.1, a trusted proxy here).
//
// It checks that the Dashboard tab opens first and its totals, buckets and
// top-10 tables say what GET /api/admin/stats says (and what was seeded); that
// both uPlot charts draw (canvas with painted pixels, the series in their
// colours) and follow their box's width; that an IP or a name in a top-10 table
// opens the audit log filtered by it; the range picker (7 and 30 days by day,
// a custom range by hour, a reversed range refused); the session history
// (durations, end reasons, legal basis, filters, the CSV export of exactly the
// filter) and that ending a live session still works; and that a 390 px phone
// scrolls no page sideways. Screenshots go to screenshots/; with
// SOLOD_UPDATE_DOCS=1 also to docs/ (admin-dashboard.png,
// admin-dashboard-phone.png, admin-session-history.png).
//
// Run: node --test tests/browser/dashboard.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Solod, SOURCE_DIR, launch_browser, eventually, wait_text, wait_attr, screenshot_path,
  parse_csv, no_sideways_scroll,
} from './harness.mjs';

const PASSWORD = 'correct horse battery';
const ADMIN = 'admin';

const UA = {
  admin: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  alice: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0',
  alice_phone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  bob: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  carol: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36',
  dave: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0',
  script: 'curl/8.5.0',
  bot: 'python-requests/2.31',
};

/** Failed sign-ins to seed: [ip, username, user agent], each one refused. */
const FAILURES = [
  ['198.51.100.7', 'alice', UA.bot],
  ['198.51.100.7', 'alice', UA.bot],
  ['198.51.100.7', 'alice', UA.bot],
  ['198.51.100.7', 'root', UA.bot],
  ['203.0.113.9', 'bob', UA.script],
  ['203.0.113.9', 'bob', UA.script],
  ['192.0.2.55', 'carol', UA.carol],
];
const TOP_IPS = [{ ip: '198.51.100.7', failures: 4 }, { ip: '203.0.113.9', failures: 2 }, { ip: '192.0.2.55', failures: 1 }];
const TOP_USERS = [
  { username: 'alice', failures: 3 }, { username: 'bob', failures: 2 },
  { username: 'carol', failures: 1 }, { username: 'root', failures: 1 },
];

const SESSIONS_CSV_HEADER = ['id', 'user_id', 'username', 'created_at', 'ended_at', 'duration_ms',
  'end_reason', 'ip', 'user_agent', 'legal_basis'];

/**
 * Series colours admin.js gives the charts (CHARTS there), but not the grey of
 * "Sign-outs", which is also the axes' colour. Lines with equal values cover
 * each other (the last drawn shows), so any of a chart's colours will do.
 */
const ACTIVITY_RGB = [[0x17, 0x80, 0x3d], [0xb4, 0x23, 0x18], [0xc2, 0x7c, 0x0e]];
const SESSIONS_RGB = [[0x24, 0x57, 0xc5], [0x65, 0x32, 0xb0]];

let server;
let browser;
let admin;                // the admin's page (desktop)
const tokens = {};
const problems = [];      // page errors and console errors (CSP violations show up here)
const docs = process.env.SOLOD_UPDATE_DOCS === '1';

async function new_page(name, user_agent, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ userAgent: user_agent, viewport, acceptDownloads: true });
  const page = await context.newPage();
  page.on('pageerror', (err) => problems.push(`${name}: page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/status of 401 /.test(msg.text())) {
      problems.push(`${name}: console error: ${msg.text()}`);
    }
  });
  return page;
}

/** A REST login from `ip` (X-Forwarded-For, trusted from 127.0.0.1). */
async function rest_login(username, ip, user_agent, password = PASSWORD) {
  const r = await server.login(username, password, { 'X-Forwarded-For': ip, 'User-Agent': user_agent });
  if (r.status === 200) tokens[username] = r.body.token;
  return r;
}

/** GET through the admin's browser session (its cookie), as the page would. */
async function admin_get(path) {
  return admin.evaluate(async (p) => {
    const res = await fetch(p, { cache: 'no-store' });
    const text = await res.text();
    let body = text;
    try { body = JSON.parse(text); } catch { /* CSV */ }
    return { status: res.status, body, disposition: res.headers.get('content-disposition') };
  }, path);
}

/** Waits until the dashboard shows a fresh answer; returns the panel's {from, to, bucket, buckets}. */
async function dashboard_ready(page, what) {
  return eventually(`dashboard ready (${what})`, async () => page.evaluate(() => {
    const p = document.getElementById('panel-dashboard');
    if (p.dataset.state !== 'ready' || p.getAttribute('aria-busy') === 'true') return false;
    return { from: p.dataset.from, to: p.dataset.to, bucket: p.dataset.bucket, buckets: Number(p.dataset.buckets) };
  }));
}

/** Per chart: its canvas size, its box's width, painted pixels, pixels near one of `colours`. */
async function chart_pixels(page, box_id, colours) {
  return page.evaluate(([id, wanted]) => {
    const box = document.getElementById(id);
    const canvas = box.querySelector('canvas');
    if (!canvas) return null;
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    let coloured = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] === 0) continue;
      painted += 1;
      if (data[i + 3] < 200) continue;
      const near = (w) => Math.abs(data[i] - w[0]) + Math.abs(data[i + 1] - w[1]) + Math.abs(data[i + 2] - w[2]) < 60;
      if (wanted.some(near)) coloured += 1;
    }
    const r = canvas.getBoundingClientRect();
    return {
      width: canvas.width, height: canvas.height, css_width: Math.round(r.width),
      box_width: box.clientWidth, painted, coloured,
      legend: (box.querySelector('.u-legend') || {}).textContent || '',
    };
  }, [box_id, colours]);
}

/** The stats totals the page should show for a stats answer. */
function totals_of(stats) {
  const t = { logins: 0, failures: 0, logouts: 0, kicks: 0, new_sessions: 0, peak_live: 0 };
  for (const b of stats.buckets) {
    t.logins += b.events.login_success || 0;
    t.failures += b.events.login_failure || 0;
    t.logouts += b.events.logout || 0;
    t.kicks += b.kicks.superseded + b.kicks.terminated + b.kicks.expired;
    t.new_sessions += b.new_sessions;
    t.peak_live = Math.max(t.peak_live, b.peak_live);
  }
  return t;
}

async function shown_totals(page) {
  return page.$$eval('#dash-totals .stat', (tiles) => Object.fromEntries(
    tiles.map((t) => [t.dataset.key, Number(t.querySelector('.stat-value').textContent)])));
}

async function shown_top(page, table) {
  return page.$$eval(`#${table} tbody tr`, (trs) => trs.map((tr) => ({
    value: tr.querySelector('a').textContent,
    href: tr.querySelector('a').getAttribute('href'),
    failures: Number(tr.querySelector('td.num').textContent),
  })));
}

/** The audit rows the page shows: [{id, username, ip}]. */
async function shown_audit(page) {
  return page.$$eval('#audit-table tbody tr', (trs) => trs.map((tr) => ({
    id: Number(tr.dataset.auditId), username: tr.dataset.username,
    ip: tr.querySelector('.col-ip').textContent.trim(),
  })));
}

async function expect_audit_ids(page, events, what) {
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

/** The history rows the page shows. */
async function shown_history(page) {
  return page.$$eval('#history-table tbody tr', (trs) => trs.map((tr) => ({
    id: tr.dataset.sessionId, username: tr.dataset.username, state: tr.dataset.state,
    reason: tr.dataset.reason, duration_ms: tr.dataset.durationMs,
    duration: tr.querySelector('.col-duration').textContent.trim(),
    reason_text: tr.querySelector('.col-reason').textContent.trim(),
    basis: tr.querySelector('.col-basis').textContent.trim(),
    ip: tr.querySelector('.col-ip').textContent.trim(),
    agent: tr.querySelector('.col-agent').textContent,
  })));
}

async function expect_history_ids(page, sessions, what) {
  const want = sessions.map((s) => s.id);
  let seen;
  try {
    await eventually(what, async () => {
      if ((await page.locator('#history-table').getAttribute('aria-busy')) === 'true') return false;
      seen = (await shown_history(page)).map((r) => r.id);
      return JSON.stringify(seen) === JSON.stringify(want);
    });
  } catch (err) {
    throw new Error(`${what}: the page shows ${JSON.stringify(seen)}, the API ${JSON.stringify(want)}`);
  }
}

/** Sets the history filters (missing ones cleared) and applies them. */
async function filter_history(page, f) {
  await page.fill('#history-filter-user', f.user || '');
  await page.fill('#history-filter-ip', f.ip || '');
  await page.selectOption('#history-filter-reason', f.reason || '');
  await page.selectOption('#history-filter-state', f.state || '');
  await page.fill('#history-filter-from', f.from || '');
  await page.fill('#history-filter-to', f.to || '');
  await page.click('#history-apply');
}

/** What admin.js's human_duration should say for `ms`. */
function human(ms) {
  const s = Math.floor(ms / 1000);
  if (s < 1) return '< 1 s';
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}

async function save_screenshot(page, name, opts = {}) {
  await page.screenshot({ path: screenshot_path(name), ...opts });
  if (docs) {
    mkdirSync(join(SOURCE_DIR, 'docs'), { recursive: true });
    await page.screenshot({ path: join(SOURCE_DIR, 'docs', name), ...opts });
  }
}

before(async () => {
  server = new Solod({ server: { trusted_proxies: ['127.0.0.1/32'] } });
  await server.add_user_cli(ADMIN, PASSWORD, { admin: true, full_name: 'Site Admin' });
  await server.start();
  for (const name of ['alice', 'bob', 'carol', 'dave']) await server.register(name, PASSWORD);

  for (const [ip, name, ua] of FAILURES) {
    const r = await rest_login(name, ip, ua, 'not the password');
    assert.equal(r.status, 401, `failed sign-in of ${name} from ${ip}`);
  }
  assert.equal((await rest_login('alice', '203.0.113.24', UA.alice)).status, 200);
  await new Promise((r) => setTimeout(r, 1200));   // the first session lasts over a second
  assert.equal((await rest_login('alice', '203.0.113.25', UA.alice_phone)).status, 200);   // replaces it
  assert.equal((await rest_login('bob', '198.51.100.20', UA.bob)).status, 200);
  const out = await server.request('POST', '/api/logout', { token: tokens.bob });
  assert.ok(out.status === 200 || out.status === 204, `bob signs out: HTTP ${out.status}`);
  assert.equal((await rest_login('carol', '192.0.2.60', UA.carol)).status, 200);
  assert.equal((await rest_login(ADMIN, '192.0.2.200', UA.script)).status, 200);
  const carol = await server.request('GET', '/api/admin/sessions?active=true&user=carol', { token: tokens[ADMIN] });
  assert.equal(carol.body.sessions.length, 1);
  const ended = await server.request('DELETE', `/api/admin/sessions/${carol.body.sessions[0].id}`, { token: tokens[ADMIN] });
  assert.ok(ended.status === 200 || ended.status === 204, `admin ends carol's session: HTTP ${ended.status}`);
  assert.equal((await rest_login('dave', '192.0.2.70', UA.dave)).status, 200);

  browser = await launch_browser();
  admin = await new_page('admin', UA.admin);
  // The admin signs in through "/" (this replaces the admin's REST session).
  await admin.goto(server.base_url + '/');
  await admin.fill('#login-username', ADMIN);
  await admin.fill('#login-password', PASSWORD);
  await admin.click('#login-submit');
  await admin.waitForURL(/\/app$/, { timeout: 15000 });
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

test('/admin opens on the Dashboard: totals and buckets as GET /api/admin/stats says, hourly over 24 h', async () => {
  const a = admin;
  await a.goto(server.base_url + '/admin');
  await a.locator('#admin-content').waitFor({ state: 'visible', timeout: 15000 });
  await wait_attr(a.locator('#tab-dashboard'), 'aria-selected', 'true');
  assert.equal(await a.locator('#panel-dashboard').isVisible(), true);
  assert.equal(await a.locator('#panel-sessions').isVisible(), false);
  await wait_attr(a.locator('#dash-range-form .segment[data-range="24h"]'), 'aria-pressed', 'true');

  const shown = await dashboard_ready(a, '24 h');
  assert.equal(shown.bucket, 'hour');
  const span_h = (Date.parse(shown.to) - Date.parse(shown.from)) / 3600e3;
  assert.ok(Math.abs(span_h - 24) < 0.01, `the last 24 h (${span_h} h)`);
  assert.ok(shown.buckets === 24 || shown.buckets === 25, `24 or 25 hourly buckets (${shown.buckets})`);

  const api = await admin_get(`/api/admin/stats?from=${encodeURIComponent(shown.from)}&to=${encodeURIComponent(shown.to)}&bucket=hour`);
  assert.equal(api.status, 200, JSON.stringify(api.body));
  assert.equal(api.body.buckets.length, shown.buckets, 'as many buckets as the API gives');
  const want = totals_of(api.body);
  assert.deepEqual(await shown_totals(a), want, 'the tiles sum the buckets');
  // What was seeded (the admin's browser sign-in included).
  assert.equal(want.logins, 7, 'sign-ins: alice 2, bob, carol, dave, admin 2');
  assert.equal(want.failures, FAILURES.length);
  assert.equal(want.logouts, 1, 'bob signed out');
  assert.equal(want.kicks, 3, 'alice and the admin replaced, carol ended by admin');
  assert.equal(want.new_sessions, 7);
  assert.ok(want.peak_live >= 3, `peak live sessions ${want.peak_live}`);
  await wait_text(a.locator('#dash-totals [data-key="failures"] .stat-detail'), /6 wrong password · 1 unknown user/);
  await wait_text(a.locator('#dash-totals [data-key="kicks"] .stat-detail'), /2 replaced · 1 by admin/);
  await wait_text(a.locator('#dash-tz'), /\S/);
});

test('both charts draw: canvases as wide as their boxes, painted, the series in their colours', async () => {
  const a = admin;
  const activity = await eventually('activity chart drawn', () => chart_pixels(a, 'chart-activity', ACTIVITY_RGB));
  const sessions = await eventually('sessions chart drawn', () => chart_pixels(a, 'chart-sessions', SESSIONS_RGB));
  for (const [name, c] of [['activity', activity], ['sessions', sessions]]) {
    assert.ok(c.width > 0 && c.height > 0, `${name}: canvas ${c.width}x${c.height}`);
    assert.ok(c.painted > 1000, `${name}: painted pixels (${c.painted})`);
    assert.ok(c.coloured > 20, `${name}: the series' lines are drawn (${c.coloured} pixels in their colours)`);
    assert.ok(Math.abs(c.css_width - c.box_width) <= 1, `${name}: canvas ${c.css_width}px in a ${c.box_width}px box`);
  }
  for (const label of ['Sign-ins', 'Failed', 'Sign-outs', 'Kicks']) assert.ok(activity.legend.includes(label), label);
  for (const label of ['New sessions', 'Peak live']) assert.ok(sessions.legend.includes(label), label);

  // Another window size (900 px: one chart a row, each wider): the charts follow their boxes.
  await a.setViewportSize({ width: 900, height: 900 });
  await eventually('charts resized at 900 px', async () => {
    const c = await chart_pixels(a, 'chart-activity', ACTIVITY_RGB);
    return c && c.box_width !== activity.box_width && Math.abs(c.css_width - c.box_width) <= 1;
  });
  await a.setViewportSize({ width: 700, height: 900 });
  await eventually('charts resized at 700 px', async () => {
    const c = await chart_pixels(a, 'chart-sessions', SESSIONS_RGB);
    return c && c.box_width < 700 - 60 && Math.abs(c.css_width - c.box_width) <= 1;
  });
  await a.setViewportSize({ width: 1280, height: 900 });
  await eventually('charts back at 1280 px', async () => {
    const c = await chart_pixels(a, 'chart-activity', ACTIVITY_RGB);
    return c && c.box_width === activity.box_width && Math.abs(c.css_width - c.box_width) <= 1;
  });
  await a.mouse.move(0, 0);
  await save_screenshot(a, 'admin-dashboard.png', { fullPage: true });
});

test('the top-10 tables list the failing IPs and names with their counts, as the API does', async () => {
  const a = admin;
  const shown = await dashboard_ready(a, 'top lists');
  const api = await admin_get(`/api/admin/stats?from=${encodeURIComponent(shown.from)}&to=${encodeURIComponent(shown.to)}`);
  assert.deepEqual(api.body.top_failing_ips, TOP_IPS, 'the API counts the seeded failures by IP');
  assert.deepEqual(api.body.top_failing_users, TOP_USERS, 'the API counts the seeded failures by name');
  const ips = await shown_top(a, 'top-ips');
  assert.deepEqual(ips.map(({ value, failures }) => ({ ip: value, failures })), TOP_IPS);
  assert.equal(ips[0].href, '#audit?ip=198.51.100.7');
  const users = await shown_top(a, 'top-users');
  assert.deepEqual(users.map(({ value, failures }) => ({ username: value, failures })), TOP_USERS);
});

test('an IP in the top-10 opens the audit log filtered to it; so does a name', async () => {
  const a = admin;
  await a.locator('#top-ips a', { hasText: '198.51.100.7' }).click();
  await wait_attr(a.locator('#tab-audit'), 'aria-selected', 'true');
  assert.equal(await a.locator('#panel-audit').isVisible(), true);
  assert.equal(await a.inputValue('#audit-filter-ip'), '198.51.100.7');
  assert.equal(await a.inputValue('#audit-filter-user'), '');
  const api = await admin_get('/api/admin/audit?ip=198.51.100.7&limit=50');
  assert.equal(api.body.events.length, 4, 'four failed sign-ins from 198.51.100.7');
  await expect_audit_ids(a, api.body.events, 'audit of 198.51.100.7');
  for (const r of await shown_audit(a)) assert.equal(r.ip, '198.51.100.7');
  await wait_text(a.locator('#audit-summary'), 'IP 198.51.100.7');
  assert.equal(await a.locator('#audit-csv').getAttribute('href'), '/api/admin/audit.csv?ip=198.51.100.7');

  await a.click('#tab-dashboard');
  await dashboard_ready(a, 'back on the dashboard');
  await a.locator('#top-users a', { hasText: 'alice' }).click();
  await wait_attr(a.locator('#tab-audit'), 'aria-selected', 'true');
  assert.equal(await a.inputValue('#audit-filter-user'), 'alice');
  assert.equal(await a.inputValue('#audit-filter-ip'), '', 'the IP filter is cleared');
  const alice = await admin_get('/api/admin/audit?user=alice&limit=50');
  await expect_audit_ids(a, alice.body.events, 'audit of alice');
  for (const r of await shown_audit(a)) assert.equal(r.username, 'alice');

  // The same links work as addresses.
  await a.goto(server.base_url + '/admin#audit?ip=203.0.113.9');
  await wait_attr(a.locator('#tab-audit'), 'aria-selected', 'true');
  const b = await admin_get('/api/admin/audit?ip=203.0.113.9&limit=50');
  await expect_audit_ids(a, b.body.events, 'audit of 203.0.113.9 from the address bar');
});

test('the range picker: 7 and 30 days by day, a custom range by hour, a reversed one refused', async () => {
  const a = admin;
  await a.click('#tab-dashboard');
  await dashboard_ready(a, 'dashboard');

  for (const [range, days] of [['7d', 7], ['30d', 30]]) {
    await a.click(`#dash-range-form .segment[data-range="${range}"]`);
    await wait_attr(a.locator(`#dash-range-form .segment[data-range="${range}"]`), 'aria-pressed', 'true');
    const shown = await eventually(`${days} days shown`, async () => {
      const s = await dashboard_ready(a, range);
      return s.bucket === 'day' ? s : false;
    });
    const span = (Date.parse(shown.to) - Date.parse(shown.from)) / 86400e3;
    assert.ok(Math.abs(span - days) < 0.001, `${days} days (${span})`);
    const api = await admin_get(`/api/admin/stats?from=${encodeURIComponent(shown.from)}&to=${encodeURIComponent(shown.to)}&bucket=day`);
    assert.equal(shown.buckets, api.body.buckets.length);
    assert.ok(shown.buckets === days || shown.buckets === days + 1, `${shown.buckets} daily buckets`);
    assert.deepEqual(await shown_totals(a), totals_of(api.body));
    await wait_text(a.locator('#chart-activity-title'), 'per day');
    const c = await chart_pixels(a, 'chart-activity', ACTIVITY_RGB);
    assert.ok(c.painted > 1000 && c.coloured > 0, `daily chart drawn (${JSON.stringify(c)})`);
  }

  // Custom: the last three hours to one hour ahead, as typed in local time.
  await a.click('#dash-range-form .segment[data-range="custom"]');
  await a.locator('#dash-custom').waitFor({ state: 'visible' });
  const range = await a.evaluate(() => {
    const p = (n) => String(n).padStart(2, '0');
    const local = (d) => `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
    const now = new Date();
    now.setSeconds(0, 0);
    const from = new Date(now.getTime() - 3 * 3600e3);
    const to = new Date(now.getTime() + 3600e3);
    return { from: local(from), to: local(to), from_iso: from.toISOString(), to_iso: to.toISOString() };
  });
  await a.fill('#dash-from', range.from);
  await a.fill('#dash-to', range.to);
  await a.click('#dash-apply');
  const custom = await eventually('custom range shown', async () => {
    const s = await dashboard_ready(a, 'custom');
    return s.from === range.from_iso ? s : false;
  });
  assert.equal(custom.to, range.to_iso);
  assert.equal(custom.bucket, 'hour');
  assert.ok(custom.buckets >= 4 && custom.buckets <= 5, `4 hours: ${custom.buckets} buckets`);
  const api = await admin_get(`/api/admin/stats?from=${encodeURIComponent(custom.from)}&to=${encodeURIComponent(custom.to)}&bucket=hour`);
  assert.deepEqual(await shown_totals(a), totals_of(api.body));
  assert.equal(totals_of(api.body).failures, FAILURES.length, 'everything seeded is in the last three hours');

  // Reversed: refused in the page, nothing asked.
  await a.fill('#dash-from', range.to);
  await a.fill('#dash-to', range.from);
  await a.click('#dash-apply');
  await wait_text(a.locator('#dash-error'), '"From" must be before "To"');

  await a.click('#dash-range-form .segment[data-range="24h"]');
  await eventually('back to 24 h', async () => {
    const s = await dashboard_ready(a, '24h again');
    return s.bucket === 'hour' && Math.abs(Date.parse(s.to) - Date.parse(s.from) - 86400e3) < 1000;
  });
  assert.equal(await a.locator('#dash-error').isVisible(), false);
  assert.equal(await a.locator('#dash-custom').isVisible(), false);
});

test('session history: duration, end reason, browser and legal basis of each session, as the API lists them', async () => {
  const a = admin;
  await a.click('#tab-sessions');
  await a.locator('#history-card').waitFor({ state: 'visible' });
  const api = await admin_get('/api/admin/sessions?limit=50');
  assert.equal(api.status, 200);
  const all = api.body.sessions;
  assert.equal(all.length, 7, 'seven sessions in all');
  await expect_history_ids(a, all, 'all sessions');
  const rows = await shown_history(a);
  const by_id = new Map(all.map((s) => [s.id, s]));
  for (const r of rows) {
    const s = by_id.get(r.id);
    assert.equal(typeof s.legal_basis, 'string', 'the API gives a legal basis');
    assert.equal(r.basis, 'Legal obligation', 'the default basis, in words');
    if (s.ended_at === null) {
      assert.equal(s.duration_ms, null, 'a live session has no duration');
      assert.equal(r.state, 'live');
      assert.equal(r.duration, 'live');
    } else {
      assert.equal(s.duration_ms, Date.parse(s.ended_at) - Date.parse(s.created_at), 'duration_ms = ended_at - created_at');
      assert.equal(r.state, 'ended');
      assert.equal(Number(r.duration_ms), s.duration_ms);
      assert.equal(r.duration, human(s.duration_ms));
    }
  }
  // alice's first session: over a second long, replaced by her second sign-in.
  const first = all.filter((s) => s.username === 'alice').at(-1);
  const row = rows.find((r) => r.id === first.id);
  assert.equal(row.reason, 'superseded');
  assert.equal(row.reason_text, 'Replaced by new sign-in');
  assert.ok(first.duration_ms >= 1000, `alice's first session lasted ${first.duration_ms} ms`);
  assert.match(row.duration, /^\d+ s$/);
  assert.equal(row.ip, '203.0.113.24');
  assert.ok(row.agent.includes('Firefox 128 on Windows'), row.agent);
  const bob = rows.find((r) => r.username === 'bob');
  assert.equal(bob.reason_text, 'Signed out');
  const carol = rows.find((r) => r.username === 'carol');
  assert.equal(carol.reason_text, 'Ended by admin');
  assert.equal(rows.filter((r) => r.state === 'live').map((r) => r.username).sort().join(), 'admin,alice,dave');
  await a.mouse.move(0, 0);
  await save_screenshot(a, 'admin-session-history.png', { fullPage: true });
});

test('session history filters: state, reason, user, IP, dates; the CSV export is exactly the filter', async () => {
  const a = admin;
  const check = async (f, query, what) => {
    await filter_history(a, f);
    const api = await admin_get(`/api/admin/sessions?${query}${query ? '&' : ''}limit=50`);
    assert.equal(api.status, 200, `${what}: ${JSON.stringify(api.body)}`);
    await expect_history_ids(a, api.body.sessions, what);
    const href = await a.locator('#history-csv').getAttribute('href');
    assert.equal(href, `/api/admin/sessions.csv${query ? `?${query}` : ''}`, `${what}: the CSV link`);
    return api.body.sessions;
  };

  const ended = await check({ state: 'ended' }, 'active=false', 'ended only');
  assert.equal(ended.length, 4);
  for (const r of await shown_history(a)) assert.equal(r.state, 'ended');
  const live = await check({ state: 'live' }, 'active=true', 'live only');
  assert.equal(live.length, 3);
  for (const r of await shown_history(a)) assert.equal(r.duration, 'live');
  const replaced = await check({ reason: 'superseded' }, 'reason=superseded', 'replaced sessions');
  assert.deepEqual(replaced.map((s) => s.username).sort(), ['admin', 'alice']);
  for (const r of await shown_history(a)) assert.equal(r.reason, 'superseded');
  await wait_text(a.locator('#history-summary'), 'replaced by new sign-in');
  const bob = await check({ user: 'bob' }, 'user=bob', 'bob');
  assert.equal(bob.length, 1);
  assert.equal(bob[0].end_reason, 'logout');
  await check({ ip: '192.0.2.60' }, 'ip=192.0.2.60', 'carol\'s IP');
  const days = await a.evaluate(() => {
    const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    const now = new Date();
    const tomorrow = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
    const midnight = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).toISOString();
    return {
      today: iso(now), tomorrow: iso(tomorrow),
      from: midnight(now), to: midnight(tomorrow),
      after: midnight(new Date(now.getFullYear(), now.getMonth(), now.getDate() + 2)),
    };
  });
  const today = await check({ from: days.today, to: days.today },
    `from=${encodeURIComponent(days.from)}&to=${encodeURIComponent(days.to)}`, 'started today');
  assert.equal(today.length, 7);
  await filter_history(a, { from: days.tomorrow });
  await a.locator('#history-empty').waitFor({ state: 'visible' });

  // The export of one filter: the same sessions, the contract's columns.
  const listed = await check({ state: 'ended', reason: 'superseded' }, 'reason=superseded&active=false', 'ended by a new sign-in');
  const [download] = await Promise.all([a.waitForEvent('download'), a.click('#history-csv')]);
  assert.equal(download.suggestedFilename(), 'solod-sessions.csv');
  const csv = parse_csv(readFileSync(await download.path(), 'utf8'));
  assert.deepEqual(csv[0], SESSIONS_CSV_HEADER);
  const body = csv.slice(1);
  assert.deepEqual(body.map((r) => r[0]), listed.map((s) => s.id), 'the listed sessions, in order');
  for (const [i, r] of body.entries()) {
    const s = listed[i];
    assert.equal(r[2], s.username);
    assert.equal(r[3], s.created_at);
    assert.equal(r[4], s.ended_at);
    assert.equal(Number(r[5]), s.duration_ms);
    assert.equal(r[6], 'superseded');
    assert.equal(r[7], s.ip);
    assert.equal(r[8], s.user_agent);
    assert.equal(r[9], s.legal_basis);
  }
  await a.click('#history-reset');
  await expect_history_ids(a, (await admin_get('/api/admin/sessions?limit=50')).body.sessions, 'reset');
});

test('ending a live session still works from the Sessions tab; the history shows it ended by admin', async () => {
  const a = admin;
  const row = a.locator('#sessions-table tbody tr[data-username="dave"]');
  await row.waitFor({ state: 'visible', timeout: 15000 });
  await row.locator('button[data-action="end-session"]').click();
  await wait_text(a.locator('#confirm-title'), 'dave');
  await a.click('#confirm-ok');
  await wait_text(a.locator('#admin-flash'), 'Ended the session of dave');
  await eventually('dave gone from the live sessions', async () => (await row.count()) === 0);
  assert.equal((await server.request('GET', '/api/me', { token: tokens.dave })).status, 401);
  const history = a.locator('#history-table tbody tr[data-username="dave"]');
  await wait_attr(history, 'data-state', 'ended');
  await wait_attr(history, 'data-reason', 'admin');
  await wait_text(history.locator('.col-reason'), 'Ended by admin');
  await wait_text(history.locator('.col-duration'), /\d+ (s|min)/);
});

test('a phone-sized screen (390 px): dashboard and sessions scroll nothing sideways; the charts fit', async () => {
  const context = await browser.newContext({
    userAgent: UA.admin, viewport: { width: 390, height: 844 }, deviceScaleFactor: 2,
    storageState: await admin.context().storageState(),
  });
  const page = await context.newPage();
  page.on('pageerror', (err) => problems.push(`phone: page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`phone: console error: ${msg.text()}`);
  });
  await page.goto(server.base_url + '/admin');
  await dashboard_ready(page, 'phone');
  for (const [id, colours] of [['chart-activity', ACTIVITY_RGB], ['chart-sessions', SESSIONS_RGB]]) {
    const c = await eventually(`${id} on the phone`, () => chart_pixels(page, id, colours));
    assert.ok(c.css_width <= 390 - 32, `${id}: ${c.css_width}px wide on a 390px screen`);
    assert.ok(Math.abs(c.css_width - c.box_width) <= 1, `${id}: as wide as its box`);
    assert.ok(c.painted > 1000 && c.coloured > 0, `${id}: drawn`);
  }
  await no_sideways_scroll(page, 'dashboard');
  await page.screenshot({ path: screenshot_path('admin-dashboard-phone-full.png'), fullPage: true });
  // One phone screen: the range picker, the totals and the first chart.
  await page.evaluate(() => {
    const top = document.getElementById('dash-range-form').getBoundingClientRect().top;
    window.scrollTo(0, window.scrollY + top - document.querySelector('.topbar').offsetHeight - 12);
  });
  await save_screenshot(page, 'admin-dashboard-phone.png');

  await page.click('#tab-sessions');
  await page.locator('#history-table tbody tr').first().waitFor({ timeout: 15000 });
  await no_sideways_scroll(page, 'sessions');
  await page.screenshot({ path: screenshot_path('admin-session-history-phone.png'), fullPage: true });

  await page.click('#tab-dashboard');
  await page.click('#dash-range-form .segment[data-range="custom"]');
  await page.locator('#dash-custom').waitFor({ state: 'visible' });
  await no_sideways_scroll(page, 'dashboard with the custom range');
  await context.close();
});

test('the pages ran without script errors or CSP violations', () => {
  assert.deepEqual(problems, []);
});
