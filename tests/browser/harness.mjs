// Browser-test harness: runs the real solod on a fresh temporary directory and
// drives Debian's Chromium (never a downloaded one) through playwright-core.
//
// Environment:
//   SOLOD_BIN            the server binary (default <repo>/build/solod)
//   SOLOD_SOURCE_DIR     the repository root (default two levels above this file)
//   SOLOD_BROWSER_KEEP=1 keep the server's temporary directory for inspection
//   CHROMIUM_BIN         the browser (default /usr/bin/chromium)
//
// SOLOD_* variables are not passed on to the server: it refuses unknown ones.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

process.env.PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD = '1';
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (err) {
  throw new Error(`playwright-core is not installed (${err.message}); run scripts/install-browser-deps.sh`);
}

const HERE = dirname(fileURLToPath(import.meta.url));
export const SOURCE_DIR = resolve(process.env.SOLOD_SOURCE_DIR || join(HERE, '..', '..'));
export const SOLOD_BIN = resolve(process.env.SOLOD_BIN || join(SOURCE_DIR, 'build', 'solod'));
export const CHROMIUM_BIN = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
export const SCREENSHOT_DIR = join(HERE, 'screenshots');

const LISTENING_RE = /listening on (\S+):(\d+)/;
const KEEP = process.env.SOLOD_BROWSER_KEEP === '1';

/** TOML for a {section: {key: value}} object (strings, numbers, booleans, arrays). */
function to_toml(config) {
  const value = (v) => {
    if (typeof v === 'string') return JSON.stringify(v);
    if (Array.isArray(v)) return `[${v.map(value).join(', ')}]`;
    return String(v);
  };
  return Object.entries(config)
    .map(([section, keys]) =>
      [`[${section}]`, ...Object.entries(keys).map(([k, v]) => `${k} = ${value(v)}`)].join('\n'))
    .join('\n\n') + '\n';
}

/** The environment for the server: ours without any SOLOD_* variable. */
function child_env() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('SOLOD_')) env[k] = v;
  }
  return env;
}

/** A running solod; `base_url` is http://127.0.0.1:PORT. */
export class Solod {
  constructor(extra_config = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'solod-browser-'));
    this.config_path = join(this.dir, 'solod.toml');
    this.config = {
      // Browser and test both come from 127.0.0.1: the per-address limits are lifted.
      server: { listen: '127.0.0.1:0', tls: 'off', static_dir: join(SOURCE_DIR, 'web'),
                max_connections_per_ip: 100000, ...(extra_config.server || {}) },
      limits: { login_per_ip_per_minute: 1000, register_per_ip_per_minute: 1000,
                ...(extra_config.limits || {}) },
    };
    for (const [section, keys] of Object.entries(extra_config)) {
      if (!this.config[section]) this.config[section] = { ...keys };
    }
    this.proc = null;
    this.output = '';
    this.base_url = null;
    this.on_exit = () => this.kill_now();
  }

  /** Writes the config file (start() and cli() do this themselves). */
  write_config() {
    writeFileSync(this.config_path, to_toml(this.config));
  }

  /**
   * Runs a subcommand of the same binary in the server's directory with its
   * config (`solod ARGS... --config FILE`), `stdin` written to its input;
   * resolves to {code, stdout, stderr}. Works before or after start().
   */
  cli(args, stdin = '', timeout_ms = 30000) {
    this.write_config();
    return new Promise((resolve_run, reject) => {
      const proc = spawn(SOLOD_BIN, [...args, '--config', this.config_path], {
        cwd: this.dir,
        env: child_env(),
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`solod ${args.join(' ')} did not finish within ${timeout_ms} ms`));
      }, timeout_ms);
      proc.stdout.on('data', (c) => { stdout += c.toString('utf8'); });
      proc.stderr.on('data', (c) => { stderr += c.toString('utf8'); });
      proc.on('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`cannot run ${SOLOD_BIN}: ${err.message}`));
      });
      proc.on('close', (code) => {
        clearTimeout(timer);
        resolve_run({ code, stdout, stderr });
      });
      proc.stdin.end(stdin);
    });
  }

  /** `solod user add NAME [--admin] --password-stdin`; throws unless it exits 0. */
  async add_user_cli(username, password, { admin = false, full_name = '', email = '' } = {}) {
    const args = ['user', 'add', username];
    if (admin) args.push('--admin');
    if (full_name) args.push('--full-name', full_name);
    if (email) args.push('--email', email);
    args.push('--password-stdin');
    const r = await this.cli(args, `${password}\n`);
    if (r.code !== 0) {
      throw new Error(`solod ${args.join(' ')}: exit ${r.code}\n${r.stdout}${r.stderr}`);
    }
    return r;
  }

  /** Starts the server and waits for its "listening on HOST:PORT" line. */
  async start(timeout_ms = 30000) {
    this.write_config();
    this.proc = spawn(SOLOD_BIN, ['--config', this.config_path], {
      cwd: this.dir,
      env: child_env(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    process.on('exit', this.on_exit);
    const proc = this.proc;
    await new Promise((resolve_start, reject) => {
      let pending = '';
      const timer = setTimeout(() => {
        reject(new Error(`solod did not say "listening on" within ${timeout_ms} ms; output:\n${this.output}`));
      }, timeout_ms);
      const on_data = (chunk) => {
        const text = chunk.toString('utf8');
        this.output += text;
        pending += text;
        const lines = pending.split('\n');
        pending = lines.pop();
        for (const line of lines) {
          const m = line.match(LISTENING_RE);
          if (m && !this.base_url) {
            const host = m[1].replace(/^\[|\]$/g, '');
            this.base_url = `http://${host.includes(':') ? `[${host}]` : host}:${m[2]}`;
            clearTimeout(timer);
            resolve_start();
          }
        }
      };
      proc.stdout.on('data', on_data);
      proc.stderr.on('data', on_data);
      proc.on('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`cannot run ${SOLOD_BIN}: ${err.message}`));
      });
      proc.on('exit', (code, signal) => {
        if (!this.base_url) {
          clearTimeout(timer);
          reject(new Error(`solod exited (code ${code}, signal ${signal}) before listening; output:\n${this.output}`));
        }
      });
    });
    return this;
  }

  /** SIGTERM, then SIGKILL if it has not exited after `grace_ms`; removes the directory. */
  async stop(grace_ms = 8000) {
    const proc = this.proc;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), grace_ms);
      await exited;
      clearTimeout(timer);
    }
    process.off('exit', this.on_exit);
    if (KEEP) {
      console.log(`# kept solod directory ${this.dir}`);
    } else {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  kill_now() {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGKILL');
    }
  }

  /** POSTs JSON to the server; returns {status, body}. */
  async post(path, payload, headers = {}) {
    const res = await fetch(this.base_url + path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    const text = await res.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch { body = text; }
    return { status: res.status, body, headers: res.headers };
  }

  /** Any request; `payload` is sent as JSON. Returns {status, body, headers}. */
  async request(method, path, { payload, headers = {}, token } = {}) {
    const h = { ...headers };
    if (payload !== undefined) h['Content-Type'] = 'application/json';
    if (token) h.Authorization = `Bearer ${token}`;
    const res = await fetch(this.base_url + path, {
      method,
      headers: h,
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    const text = await res.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch { body = text; }
    return { status: res.status, body, headers: res.headers };
  }

  /** Logs in through the REST API; returns {status, body} (body.token on success). */
  async login(username, password, headers = {}) {
    return this.post('/api/login', { username, password }, headers);
  }

  /** Registers a user through the REST API; throws unless 201. */
  async register(username, password, extra = {}) {
    const r = await this.post('/api/register', { username, password, ...extra });
    if (r.status !== 201) {
      throw new Error(`register ${username}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    }
    return r.body.user;
  }
}

/** Launches headless Debian Chromium; never downloads a browser. */
export async function launch_browser() {
  return chromium.launch({
    executablePath: CHROMIUM_BIN,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * Polls `probe` until it returns a truthy value; returns that value. On time-out
 * throws with `what` and the last value seen, so a failure says what was on the page.
 */
export async function eventually(what, probe, timeout_ms = 15000, interval_ms = 100) {
  const deadline = Date.now() + timeout_ms;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (last) return last;
    } catch (err) {
      last = `error: ${err.message}`;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, interval_ms));
  }
}

/** Waits until the text of `locator` satisfies `test` (a string to contain, or a RegExp). */
export async function wait_text(locator, test, timeout_ms = 15000) {
  const ok = (t) => (test instanceof RegExp ? test.test(t) : t.includes(test));
  let seen = null;
  try {
    return await eventually(`text ${test} in ${locator}`, async () => {
      seen = await locator.textContent({ timeout: 1000 });
      return seen !== null && ok(seen) ? seen : false;
    }, timeout_ms);
  } catch (err) {
    throw new Error(`expected ${locator} to have text ${test}, last text: ${JSON.stringify(seen)}`);
  }
}

/** Waits until attribute `name` of `locator` equals `value`. */
export async function wait_attr(locator, name, value, timeout_ms = 15000) {
  let seen = null;
  try {
    return await eventually(`${name}=${value} on ${locator}`, async () => {
      seen = await locator.getAttribute(name, { timeout: 1000 });
      return seen === value;
    }, timeout_ms);
  } catch (err) {
    throw new Error(`expected ${locator} to have ${name}="${value}", last: ${JSON.stringify(seen)}`);
  }
}

/** A fresh valid username. */
export function unique_name(prefix) {
  return prefix + Math.random().toString(16).slice(2, 10);
}

export function screenshot_path(name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return join(SCREENSHOT_DIR, name);
}

/** RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF) to an array of rows. */
export function parse_csv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 1; } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      row.push(field); field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i += 1;
      row.push(field); rows.push(row); row = []; field = '';
    } else {
      field += c;
    }
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  return rows;
}

/** Fails unless the page fits its window's width (no sideways scrolling). */
export async function no_sideways_scroll(page, what) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${what}: no sideways scrolling (overflow ${overflow}px)`);
}
