// solod admin page: a dashboard (sign-in statistics as uPlot charts, the most
// failing IPs and names), sessions (live ones, which can be ended, and the
// filtered history with its CSV export), the audit log (filters, paging, CSV
// export) and accounts (search, create, disable, make admin, attributes,
// export a person's data, erase it). The session travels only in the HttpOnly
// cookie; this script never sees a token. All server data is put into the page
// with textContent.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);

  const SESSIONS_PAGE = 100;
  const HISTORY_PAGE = 50;
  const USERS_PAGE = 25;
  const PANELS = ['dashboard', 'sessions', 'audit', 'users'];

  /** The dashboard's preset ranges: their length and the bucket the API counts in. */
  const RANGES = {
    '24h': { hours: 24, bucket: 'hour' },
    '7d': { hours: 24 * 7, bucket: 'day' },
    '30d': { hours: 24 * 30, bucket: 'day' },
  };

  /** The two charts: where they go and their series (the data's order). */
  const CHARTS = {
    activity: {
      box: 'chart-activity',
      series: [
        { key: 'logins', label: 'Sign-ins', stroke: '#17803d', fill: 'rgba(23, 128, 61, 0.08)' },
        { key: 'failures', label: 'Failed', stroke: '#b42318' },
        { key: 'logouts', label: 'Sign-outs', stroke: '#5d6878' },
        { key: 'kicks', label: 'Kicks', stroke: '#c27c0e' },
      ],
    },
    sessions: {
      box: 'chart-sessions',
      series: [
        { key: 'new_sessions', label: 'New sessions', stroke: '#2457c5', fill: 'rgba(36, 87, 197, 0.08)' },
        { key: 'peak_live', label: 'Peak live', stroke: '#6532b0' },
      ],
    },
  };

  /** How a session ended (sessions.end_reason), in words. */
  const END_REASONS = {
    superseded: 'Replaced by new sign-in',
    logout: 'Signed out',
    admin: 'Ended by admin',
    expired: 'Expired',
  };

  /** The kinds of kick (stats `kicks` keys), in words. */
  const KICK_TEXT = { superseded: 'replaced', terminated: 'by admin', expired: 'expired' };

  /** Audit event names (SPEC §5), with what they mean to a person and a colour. */
  const EVENTS = [
    ['register', 'Registered', 'info'],
    ['login_success', 'Signed in', 'ok'],
    ['login_failure', 'Sign-in failed', 'bad'],
    ['logout', 'Signed out', 'plain'],
    ['session_superseded', 'Replaced by new sign-in', 'warn'],
    ['session_terminated', 'Session ended by admin', 'warn'],
    ['session_expired', 'Session expired', 'plain'],
    ['account_locked', 'Account locked', 'bad'],
    ['ws_auth_failure', 'WebSocket auth failed', 'bad'],
    ['admin_action', 'Admin action', 'admin'],
  ];
  const EVENT_INFO = Object.fromEntries(EVENTS.map(([name, label, tone]) => [name, { label, tone }]));

  /** The `detail` of a failed sign-in, in words. */
  const FAILURE_TEXT = {
    unknown_user: 'unknown user',
    bad_password: 'wrong password',
    locked: 'account locked',
    disabled: 'account disabled',
    rate_limited: 'too many attempts',
  };

  const state = {
    me: null,
    panel: 'dashboard',
    dash: { range: '24h', query: null, plot: null, charts: {}, seq: 0, loaded: false },
    sessions: { cursor: '', stack: [], next: null },
    history: { filters: {}, cursor: '', stack: [], next: null, loaded: false, seq: 0 },
    audit: { filters: {}, cursor: '', stack: [], next: null, loaded: false, seq: 0 },
    users: { q: '', offset: 0, total: 0, highlight: null },
    attributes: { user_id: null, username: '' },
    flash_timer: null,
  };

  // -- small helpers ---------------------------------------------------------------

  /** Creates an element; `text` goes in with textContent, never as markup. */
  function el(tag, opts, children) {
    const e = document.createElement(tag);
    const o = opts || {};
    if (o.class) e.className = o.class;
    if (o.text !== undefined && o.text !== null) e.textContent = String(o.text);
    if (o.title) e.title = o.title;
    if (o.attrs) {
      for (const [k, v] of Object.entries(o.attrs)) e.setAttribute(k, v);
    }
    if (o.data) {
      for (const [k, v] of Object.entries(o.data)) e.dataset[k] = v;
    }
    for (const c of children || []) {
      if (c) e.append(c);
    }
    return e;
  }

  /** A table cell; `label` names the column on small screens, where rows become cards. */
  function cell(label, children, cls) {
    return el('td', { class: cls, data: { label } }, children);
  }

  function format_time(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso;
    return d.toLocaleString(undefined, {
      year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
  }

  /** "Dec 2, 08:43" (the year too when not this year): for dense tables. */
  function format_short(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso;
    const opts = { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' };
    if (d.getFullYear() !== new Date().getFullYear()) opts.year = 'numeric';
    return d.toLocaleString(undefined, opts);
  }

  function format_clock(date) {
    return date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  /** "just now", "5 min ago", "3 h ago", "2 days ago". */
  function ago(iso) {
    const t = new Date(iso).getTime();
    if (Number.isNaN(t)) return '';
    const s = Math.max(0, Math.round((Date.now() - t) / 1000));
    if (s < 45) return 'just now';
    const m = Math.round(s / 60);
    if (m < 60) return `${m} min ago`;
    const h = Math.round(m / 60);
    if (h < 36) return `${h} h ago`;
    const days = Math.round(h / 24);
    return `${days} day${days === 1 ? '' : 's'} ago`;
  }

  /** A duration in words: "45 s", "12 min", "2 h 5 min", "3 d 4 h"; "live" while it lasts (null). */
  function human_duration(ms) {
    if (ms === null || ms === undefined || ms === '') return 'live';
    const s = Math.floor(Number(ms) / 1000);
    if (!Number.isFinite(s)) return '';
    if (s < 1) return '< 1 s';
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min`;
    const h = Math.floor(m / 60);
    if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
    const d = Math.floor(h / 24);
    return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
  }

  /** "legal_obligation" -> "Legal obligation". */
  function words(snake) {
    const t = String(snake || '').replace(/_/g, ' ');
    return t.charAt(0).toUpperCase() + t.slice(1);
  }

  /** A Date as a datetime-local input's value (local time, to the minute). */
  function to_local_input(date) {
    const p = (n) => String(n).padStart(2, '0');
    return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}T${p(date.getHours())}:${p(date.getMinutes())}`;
  }

  /** A datetime-local input's value (local time) as a Date; null when empty or malformed. */
  function from_local_input(value) {
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value || '')) return null;
    const d = new Date(value);   // no zone given: the browser's local time
    return Number.isNaN(d.getTime()) ? null : d;
  }

  /** A <time> with the local time shown and the exact UTC instant as its tooltip. */
  function time_el(iso, cls, short) {
    const t = el('time', { class: cls, text: short ? format_short(iso) : format_time(iso), title: iso || '' });
    if (iso) t.dateTime = iso;
    return t;
  }


  /** The browser column: a readable summary over the raw User-Agent. */
  function agent_el(ua) {
    const summary = summarize_agent(ua);
    const wrap = el('div', { class: 'agent' });
    if (summary) wrap.append(el('span', { class: 'agent-summary', text: summary }));
    wrap.append(el('span', {
      class: summary ? 'agent-raw mono' : 'agent-raw agent-only mono',
      text: ua || 'unknown',
      title: ua || '',
    }));
    return wrap;
  }

  /** A date input's value (local calendar day) as the ISO instant of its local midnight. */
  function day_start_iso(value, days_after) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || '');
    if (!m) return '';
    const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + (days_after || 0));
    return Number.isNaN(d.getTime()) ? '' : d.toISOString();
  }

  function query_string(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
    }
    const s = q.toString();
    return s ? `?${s}` : '';
  }

  // -- talking to the server ------------------------------------------------------

  /** fetch + JSON; resolves to {ok, status, body}; a network failure is status 0. */
  async function api(method, path, payload) {
    const init = { method, credentials: 'same-origin', cache: 'no-store', headers: {} };
    if (payload !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(payload);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      return { ok: false, status: 0, body: null };
    }
    let body = null;
    if (res.status !== 204) {
      try { body = await res.json(); } catch (e) { body = null; }
    }
    const r = { ok: res.ok, status: res.status, body };
    if (res.status === 401 && path !== '/api/me') show_signed_out();
    if (res.status === 403 && body && body.error === 'forbidden') show_forbidden();
    return r;
  }

  /** Human text for a failed request. */
  function error_text(r, what) {
    const prefix = what ? `${what}: ` : '';
    if (r.status === 0) return `${prefix}cannot reach the server. Check your connection and try again.`;
    const code = r.body && r.body.error;
    const message = r.body && r.body.message;
    switch (code) {
      case 'username_taken':
        return `${prefix}that username is already taken.`;
      case 'already_erased':
        return `${prefix}that account was already erased.`;
      case 'invalid_input':
        return `${prefix}${message || 'the server refused the input'}.`;
      case 'not_found':
        return `${prefix}it no longer exists (${message || 'not found'}). The list has been refreshed.`;
      case 'unauthorized':
        return `${prefix}your session has ended. Sign in again.`;
      case 'forbidden':
        return `${prefix}your account is no longer an administrator.`;
      case 'unavailable':
        return `${prefix}the database is busy. Try again in a moment.`;
      case 'rate_limited':
        return `${prefix}too many requests. Wait a moment and try again.`;
      default:
        if (message) return `${prefix}${message} (${code || `HTTP ${r.status}`}).`;
        if (r.status >= 500) return `${prefix}the server had a problem (HTTP ${r.status}). Try again in a moment.`;
        return `${prefix}unexpected answer from the server (HTTP ${r.status}).`;
    }
  }

  function show_error(id, text) {
    $(id).textContent = text || '';
    $(id).hidden = !text;
  }

  function flash(text) {
    const f = $('admin-flash');
    f.textContent = text;
    f.hidden = !text;
    clearTimeout(state.flash_timer);
    if (text) state.flash_timer = setTimeout(() => { f.hidden = true; }, 8000);
  }

  /** Asks with the page's dialog; resolves true when confirmed. */
  function confirm_action(title, text, ok_label, tone) {
    const dialog = $('confirm-dialog');
    $('confirm-title').textContent = title;
    $('confirm-text').textContent = text;
    $('confirm-ok').textContent = ok_label;
    $('confirm-ok').className = tone === 'danger' ? 'button button-danger' : 'button button-primary';
    dialog.returnValue = '';
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
      dialog.showModal();
      $('confirm-cancel').focus();
    });
  }

  // -- page states -------------------------------------------------------------------

  function show_only(id) {
    for (const other of ['admin-loading', 'forbidden-notice', 'signed-out-notice', 'admin-content']) {
      $(other).hidden = other !== id;
    }
  }

  function show_forbidden() {
    document.body.dataset.state = 'forbidden';
    $('forbidden-user').textContent = state.me ? state.me.username : 'this account';
    // Nothing admin-only stays on the page.
    for (const id of ['sessions-table', 'history-table', 'audit-table', 'users-table', 'top-ips', 'top-users']) {
      $(id).tBodies[0].replaceChildren();
    }
    $('user-suggestions').replaceChildren();
    show_only('forbidden-notice');
    document.title = 'Administrators only — solod';
  }

  function show_signed_out() {
    document.body.dataset.state = 'signed-out';
    show_only('signed-out-notice');
    $('logout').textContent = 'Sign in';
  }

  // -- tabs ---------------------------------------------------------------------------

  function select_panel(name, focus) {
    if (!PANELS.includes(name)) name = 'dashboard';
    state.panel = name;
    for (const tab of document.querySelectorAll('.admin-tabs .tab')) {
      const on = tab.dataset.panel === name;
      tab.classList.toggle('active', on);
      tab.setAttribute('aria-selected', String(on));
      tab.tabIndex = on ? 0 : -1;
      $(`panel-${tab.dataset.panel}`).hidden = !on;
      if (on && focus) tab.focus();
    }
    if (window.location.hash !== `#${name}`) history.replaceState(null, '', `#${name}`);
    if (name === 'dashboard') {
      if (!state.dash.loaded) load_stats();
      else draw_charts();
    }
    if (name === 'sessions' && !state.history.loaded) load_history();
    if (name === 'audit' && !state.audit.loaded) load_audit();
  }

  /**
   * Opens what a location hash names: a panel ("#users"), or the audit log
   * filtered by the hash's parameters ("#audit?ip=192.0.2.1", "#audit?user=bob"),
   * which is where the dashboard's links go.
   */
  function open_hash(hash) {
    const text = String(hash || '').replace(/^#/, '');
    const q = text.indexOf('?');
    const name = q >= 0 ? text.slice(0, q) : text;
    const params = new URLSearchParams(q >= 0 ? text.slice(q + 1) : '');
    if (name === 'audit' && ['user', 'ip', 'event'].some((k) => params.get(k))) {
      audit_filtered({ user: params.get('user') || '', ip: params.get('ip') || '', event: params.get('event') || '' });
      return;
    }
    select_panel(name);
  }

  /** What other panels show is out of date (something was changed): they reload when next shown. */
  function mark_stale() {
    state.dash.loaded = false;
    state.history.loaded = false;
    state.audit.loaded = false;
  }

  function on_tab_key(ev) {
    const tabs = Array.from(document.querySelectorAll('.admin-tabs .tab'));
    const i = tabs.indexOf(ev.currentTarget);
    let j = -1;
    if (ev.key === 'ArrowRight') j = (i + 1) % tabs.length;
    if (ev.key === 'ArrowLeft') j = (i + tabs.length - 1) % tabs.length;
    if (j >= 0) {
      ev.preventDefault();
      select_panel(tabs[j].dataset.panel, true);
    }
  }

  // -- dashboard -----------------------------------------------------------------------

  /** The stats query of the chosen range ({from, to, bucket}), or an error text. */
  function dash_query() {
    const d = state.dash;
    if (d.range !== 'custom') {
      const r = RANGES[d.range] || RANGES['24h'];
      const to = new Date();
      const from = new Date(to.getTime() - r.hours * 3600 * 1000);
      return { query: { from: from.toISOString(), to: to.toISOString(), bucket: r.bucket } };
    }
    const from = from_local_input($('dash-from').value);
    const to = from_local_input($('dash-to').value);
    if (!from || !to) return { error: 'Choose both "From" and "To".' };
    if (from >= to) return { error: '"From" must be before "To".' };
    // As the server would choose: hours up to three days, days beyond.
    const bucket = to - from <= 72 * 3600 * 1000 ? 'hour' : 'day';
    return { query: { from: from.toISOString(), to: to.toISOString(), bucket } };
  }

  function choose_range(range) {
    const d = state.dash;
    d.range = range;
    for (const b of document.querySelectorAll('#dash-range-form .segment')) {
      b.setAttribute('aria-pressed', String(b.dataset.range === range));
    }
    $('dash-custom').hidden = range !== 'custom';
    if (range === 'custom') {
      // Start from what is shown now; nothing loads until "Show".
      if (!$('dash-from').value || !$('dash-to').value) {
        const q = d.query || dash_query().query;
        $('dash-from').value = to_local_input(new Date(q.from));
        $('dash-to').value = to_local_input(new Date(q.to));
      }
      $('dash-from').focus();
      return;
    }
    load_stats();
  }

  async function load_stats() {
    const d = state.dash;
    const q = dash_query();
    if (q.error) {
      show_error('dash-error', q.error);
      return;
    }
    d.loaded = true;
    const seq = ++d.seq;
    const panel = $('panel-dashboard');
    panel.setAttribute('aria-busy', 'true');
    $('dash-refresh').disabled = true;
    $('dash-apply').disabled = true;
    const r = await api('GET', `/api/admin/stats${query_string(q.query)}`);
    if (seq !== d.seq) return;   // a newer range was asked for meanwhile
    panel.setAttribute('aria-busy', 'false');
    $('dash-refresh').disabled = false;
    $('dash-apply').disabled = false;
    if (!r.ok) {
      if (r.status !== 401 && r.status !== 403) show_error('dash-error', error_text(r, 'Could not load the statistics'));
      return;
    }
    show_error('dash-error', '');
    d.query = q.query;
    render_stats(r.body || {});
    $('dash-updated').textContent = `Updated ${format_clock(new Date())}`;
  }

  /** The stats answer as chart data and totals. */
  function summarize_stats(body) {
    const buckets = body.buckets || [];
    const n = (v) => Number(v) || 0;
    const kicks = (b) => Object.values(b.kicks || {}).reduce((sum, v) => sum + n(v), 0);
    const series = {
      logins: buckets.map((b) => n((b.events || {}).login_success)),
      failures: buckets.map((b) => n((b.events || {}).login_failure)),
      logouts: buckets.map((b) => n((b.events || {}).logout)),
      kicks: buckets.map(kicks),
      new_sessions: buckets.map((b) => n(b.new_sessions)),
      peak_live: buckets.map((b) => n(b.peak_live)),
    };
    const sum = (list) => list.reduce((a, b) => a + b, 0);
    const totals = {
      logins: sum(series.logins),
      failures: sum(series.failures),
      logouts: sum(series.logouts),
      kicks: sum(series.kicks),
      new_sessions: sum(series.new_sessions),
      peak_live: series.peak_live.length ? Math.max(...series.peak_live) : 0,
    };
    const merge = (field) => {
      const m = {};
      for (const b of buckets) {
        for (const [k, v] of Object.entries(b[field] || {})) m[k] = (m[k] || 0) + n(v);
      }
      return m;
    };
    return {
      xs: buckets.map((b) => Date.parse(b.start) / 1000),
      series, totals, failures: merge('failures'), kicks: merge('kicks'),
    };
  }

  /** "4 wrong password · 1 unknown user": the non-zero counts, largest first. */
  function count_words(counts, names) {
    return Object.entries(counts)
      .filter(([, v]) => v > 0)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([k, v]) => `${v} ${names[k] || k.replace(/_/g, ' ')}`)
      .join(' · ');
  }

  function render_stats(body) {
    const d = state.dash;
    const sum = summarize_stats(body);
    const bucket = body.bucket === 'day' ? 'day' : 'hour';
    const panel = $('panel-dashboard');
    panel.dataset.from = body.from || '';
    panel.dataset.to = body.to || '';
    panel.dataset.bucket = bucket;
    panel.dataset.buckets = String(sum.xs.length);
    $('dash-bucket-word').textContent = `${bucket}s`;
    for (const w of document.querySelectorAll('#panel-dashboard .bucket-word')) w.textContent = bucket;
    $('dash-range-text').textContent =
      `${format_time(body.from)} – ${format_time(body.to)} · ${sum.xs.length} ${bucket === 'day' ? 'daily' : 'hourly'} buckets`;

    for (const tile of document.querySelectorAll('#dash-totals .stat')) {
      tile.querySelector('.stat-value').textContent = String(sum.totals[tile.dataset.key]);
      tile.dataset.value = String(sum.totals[tile.dataset.key]);
    }
    document.querySelector('#dash-totals [data-key="failures"] .stat-detail').textContent =
      count_words(sum.failures, FAILURE_TEXT);
    document.querySelector('#dash-totals [data-key="kicks"] .stat-detail').textContent =
      count_words(sum.kicks, KICK_TEXT);

    d.plot = {};
    for (const [name, def] of Object.entries(CHARTS)) {
      d.plot[name] = [sum.xs, ...def.series.map((s) => sum.series[s.key])];
    }
    draw_charts();

    render_top('top-ips', 'top-ips-empty', body.top_failing_ips || [], 'ip');
    render_top('top-users', 'top-users-empty', body.top_failing_users || [], 'user');
    panel.dataset.state = 'ready';
  }

  /** A top-10 table: each IP or name links to the audit log filtered by it. */
  function render_top(table_id, empty_id, list, kind) {
    const counts = list.map((x) => Number(x.failures) || 0);
    const max = Math.max(1, ...counts);
    const rows = list.map((x, i) => {
      const value = String(kind === 'ip' ? x.ip : x.username);
      const link = el('a', {
        class: kind === 'ip' ? 'top-link mono' : 'top-link', text: value,
        title: `Open the audit log of ${kind === 'ip' ? 'IP address' : 'username'} ${value}`,
        attrs: { href: `#audit?${kind}=${encodeURIComponent(value)}` },
      });
      const bar = el('span', { class: 'top-bar' });
      bar.style.width = `${Math.max(2, Math.round((100 * counts[i]) / max))}%`;
      return el('tr', { data: { value, failures: String(counts[i]) } }, [
        el('td', {}, [link, el('span', { class: 'top-bar-track', attrs: { 'aria-hidden': 'true' } }, [bar])]),
        el('td', { class: 'num', text: String(counts[i]) }),
      ]);
    });
    $(table_id).tBodies[0].replaceChildren(...rows);
    $(table_id).hidden = rows.length === 0;
    $(empty_id).hidden = rows.length > 0;
  }

  function chart_height(width) {
    return width < 520 ? 200 : 250;
  }

  function chart_options(def, width) {
    const grid = { stroke: '#eef1f6', width: 1 };
    const ticks = { stroke: '#dde3ec', width: 1 };
    const when = (u, ts) => (ts === null || ts === undefined ? '–'
      : new Date(ts * 1000).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }));
    return {
      width,
      height: chart_height(width),
      cursor: { drag: { x: true, y: false } },
      scales: {
        x: { time: true },
        y: { range: (u, min, max) => [0, Math.max(4, Math.ceil((max || 0) * 1.15))] },
      },
      series: [
        { label: 'When', value: when },
        ...def.series.map((s) => ({
          label: s.label,
          stroke: s.stroke,
          fill: s.fill,
          width: 2,
          points: { size: 5, fill: s.stroke },
          value: (u, v) => (v === null || v === undefined ? '–' : String(v)),
        })),
      ],
      axes: [
        { stroke: '#5d6878', grid, ticks },
        {
          stroke: '#5d6878', grid, ticks, size: 44,
          incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 1000000],
          values: (u, splits) => splits.map((v) => String(v)),
        },
      ],
    };
  }

  /**
   * Draws (or redraws) both charts at their boxes' width. A hidden tab has no
   * width: it is drawn when shown (select_panel and the resize observer call again).
   */
  function draw_charts() {
    const d = state.dash;
    if (!d.plot) return;
    for (const [name, def] of Object.entries(CHARTS)) {
      const box = $(def.box);
      if (typeof uPlot === 'undefined') {
        box.textContent = 'The charts could not be loaded (vendor/uplot is missing).';
        continue;
      }
      const width = Math.floor(box.clientWidth);
      if (width <= 0) continue;
      const chart = d.charts[name];
      if (chart) {
        chart.setData(d.plot[name]);
        if (chart.width !== width) chart.setSize({ width, height: chart_height(width) });
      } else {
        d.charts[name] = new uPlot(chart_options(def, width), d.plot[name], box);
      }
    }
  }

  /** Charts follow their boxes' width (window resized, phone turned, tab shown). */
  function watch_chart_sizes() {
    if (typeof ResizeObserver === 'undefined') {
      window.addEventListener('resize', draw_charts);
      return;
    }
    const observer = new ResizeObserver(() => {
      const d = state.dash;
      for (const [name, def] of Object.entries(CHARTS)) {
        const width = Math.floor($(def.box).clientWidth);
        const chart = d.charts[name];
        if (width <= 0) continue;
        if (!chart) {
          draw_charts();
        } else if (chart.width !== width) {
          chart.setSize({ width, height: chart_height(width) });
        }
      }
    });
    for (const def of Object.values(CHARTS)) observer.observe($(def.box));
  }

  // -- live sessions -------------------------------------------------------------------

  async function load_sessions() {
    const s = state.sessions;
    const button = $('sessions-refresh');
    button.disabled = true;
    const r = await api('GET', `/api/admin/sessions${query_string({ active: 'true', limit: SESSIONS_PAGE, cursor: s.cursor })}`);
    button.disabled = false;
    if (!r.ok) {
      show_error('sessions-error', error_text(r, 'Could not load the sessions'));
      return;
    }
    show_error('sessions-error', '');
    const list = (r.body && r.body.sessions) || [];
    s.next = r.body.next_cursor || null;
    render_sessions(list);
    $('sessions-updated').textContent = `Updated ${format_clock(new Date())}`;
  }

  function render_sessions(list) {
    const s = state.sessions;
    const rows = list.map(session_row);
    $('sessions-table').tBodies[0].replaceChildren(...rows);
    $('sessions-empty').hidden = rows.length > 0;
    $('sessions-table').classList.toggle('is-empty', rows.length === 0);
    const paged = s.stack.length > 0 || !!s.next;
    $('sessions-pager').hidden = !paged;
    $('sessions-prev').disabled = s.stack.length === 0;
    $('sessions-next').disabled = !s.next;
    $('sessions-page').textContent = `Page ${s.stack.length + 1}`;
    $('sessions-count').textContent = paged ? `${list.length}+` : String(list.length);
  }

  function session_row(s) {
    const me = state.me && s.user_id === state.me.id;
    const user = el('div', { class: 'user-cell' }, [
      el('span', { class: 'avatar', text: (s.username || '?').charAt(0).toUpperCase(), attrs: { 'aria-hidden': 'true' } }),
      el('button', {
        class: 'link-button user-name', text: s.username,
        title: `Show the audit log of ${s.username}`, attrs: { type: 'button', 'data-action': 'audit-user' },
      }),
      me ? el('span', { class: 'tag', text: 'you' }) : null,
    ]);
    const since = el('div', { class: 'since' }, [
      el('span', { class: 'since-ago', text: ago(s.created_at) }),
      time_el(s.created_at, 'since-at muted'),
    ]);
    const conns = Number(s.connections) || 0;
    // Which node holds each connection (several nodes share one database).
    const per_node = new Map();
    for (const c of s.connection_list || []) per_node.set(c.node, (per_node.get(c.node) || 0) + 1);
    const where = [...per_node].map(([node, n]) => `${n} on node ${String(node).slice(0, 8)}`).join(', ');
    const conn = el('span', {
      class: conns > 0 ? 'conn conn-live' : 'conn',
      text: String(conns),
      title: conns > 0 ? `${conns} open WebSocket connection${conns === 1 ? '' : 's'}: ${where}` : 'No open WebSocket connection (REST only or idle)',
      data: { nodes: [...per_node.keys()].join(' ') },
    });
    const end = el('button', {
      class: 'button button-small button-danger-quiet', text: 'End',
      title: `End the session of ${s.username}`, attrs: { type: 'button', 'data-action': 'end-session' },
    });
    const tr = el('tr', { data: { sessionId: s.id, username: s.username, userId: String(s.user_id) } }, [
      cell('User', [user]),
      cell('IP address', [el('span', { class: 'mono ip', text: s.ip || 'unknown' })], 'col-ip'),
      cell('Browser', [agent_el(s.user_agent)], 'col-agent'),
      cell('Since', [since]),
      cell('Connections', [conn], 'num'),
      cell('', [end], 'col-actions'),
    ]);
    return tr;
  }

  async function end_session(tr) {
    const id = tr.dataset.sessionId;
    const name = tr.dataset.username;
    const own = state.me && tr.dataset.userId === String(state.me.id);
    const ok = await confirm_action(
      `End the session of ${name}?`,
      own
        ? 'This is your own session: this page will be signed out too.'
        : `${name} is signed out at once on every device and window, and sees that an administrator ended the session.`,
      'End session', 'danger');
    if (!ok) return;
    const button = tr.querySelector('[data-action="end-session"]');
    button.disabled = true;
    button.textContent = 'Ending…';
    const r = await api('DELETE', `/api/admin/sessions/${encodeURIComponent(id)}`);
    if (r.ok) {
      flash(`Ended the session of ${name}.`);
      show_error('sessions-error', '');
    } else if (r.status !== 401) {
      show_error('sessions-error', error_text(r, `Could not end the session of ${name}`));
    }
    mark_stale();
    await Promise.all([load_sessions(), load_history()]);
  }

  function page_sessions(dir) {
    const s = state.sessions;
    if (dir > 0 && s.next) {
      s.stack.push(s.cursor);
      s.cursor = s.next;
    } else if (dir < 0 && s.stack.length) {
      s.cursor = s.stack.pop();
    }
    load_sessions();
  }

  // -- session history -------------------------------------------------------------------

  /** The history filters in the form, as API parameters; or an error text. */
  function read_history_filters() {
    const from_day = $('history-filter-from').value;
    const to_day = $('history-filter-to').value;
    if (from_day && to_day && from_day > to_day) {
      return { error: '"Started from" is after "Started to".' };
    }
    const live = $('history-filter-state').value;
    return {
      filters: {
        user: $('history-filter-user').value.trim(),
        ip: $('history-filter-ip').value.trim(),
        reason: $('history-filter-reason').value,
        active: live === 'live' ? 'true' : live === 'ended' ? 'false' : '',
        from: day_start_iso(from_day, 0),
        to: day_start_iso(to_day, 1),   // "to" is exclusive: the day after, at midnight
      },
    };
  }

  function describe_history(f) {
    const parts = [];
    if (f.user) parts.push(`user ${f.user}`);
    if (f.ip) parts.push(`IP ${f.ip}`);
    if (f.reason) parts.push((END_REASONS[f.reason] || f.reason).toLowerCase());
    if (f.active === 'true') parts.push('live only');
    if (f.active === 'false') parts.push('ended only');
    const from = $('history-filter-from').value;
    const to = $('history-filter-to').value;
    if (from && to) parts.push(from === to ? `started on ${from}` : `started ${from} to ${to}`);
    else if (from) parts.push(`started since ${from}`);
    else if (to) parts.push(`started until ${to}`);
    return parts.length ? `Showing: ${parts.join(' · ')}` : 'Showing all sessions';
  }

  function apply_history_filters() {
    const read = read_history_filters();
    if (read.error) {
      show_error('history-error', read.error);
      return;
    }
    const h = state.history;
    h.filters = read.filters;
    h.cursor = '';
    h.stack = [];
    $('history-summary').textContent = describe_history(h.filters);
    // The export is exactly the filtered set (no paging).
    $('history-csv').href = `/api/admin/sessions.csv${query_string(h.filters)}`;
    load_history();
  }

  async function load_history() {
    const h = state.history;
    h.loaded = true;
    const seq = ++h.seq;
    $('history-apply').disabled = true;
    $('history-prev').disabled = true;
    $('history-next').disabled = true;
    $('history-table').setAttribute('aria-busy', 'true');
    const r = await api('GET', `/api/admin/sessions${query_string({ ...h.filters, limit: HISTORY_PAGE, cursor: h.cursor })}`);
    if (seq !== h.seq) return;   // newer filters were applied meanwhile
    $('history-table').setAttribute('aria-busy', 'false');
    $('history-apply').disabled = false;
    if (!r.ok) {
      if (r.status !== 401 && r.status !== 403) show_error('history-error', error_text(r, 'Could not load the session history'));
      $('history-prev').disabled = h.stack.length === 0;
      return;
    }
    show_error('history-error', '');
    const list = (r.body && r.body.sessions) || [];
    h.next = r.body.next_cursor || null;
    const rows = list.map(history_row);
    $('history-table').tBodies[0].replaceChildren(...rows);
    $('history-table').classList.toggle('is-empty', rows.length === 0);
    $('history-empty').hidden = rows.length > 0;
    $('history-prev').disabled = h.stack.length === 0;
    $('history-next').disabled = !h.next;
    $('history-page').textContent = `Page ${h.stack.length + 1}`;
  }

  function history_row(s) {
    const live = !s.ended_at;
    const user = el('div', { class: 'user-cell' }, [
      el('button', {
        class: 'link-button user-name', text: s.username,
        title: `Show the audit log of ${s.username}`, attrs: { type: 'button', 'data-action': 'audit-user' },
      }),
    ]);
    const reason = live
      ? el('span', { class: 'muted', text: '—' })
      : el('span', {
        class: `pill reason reason-${s.end_reason || 'unknown'}`,
        text: END_REASONS[s.end_reason] || words(s.end_reason) || 'unknown',
        title: s.end_reason || '',
      });
    const duration = live
      ? el('span', { class: 'pill pill-ok duration', text: 'live', title: 'Still live' })
      : el('span', { class: 'duration nowrap', text: human_duration(s.duration_ms), title: `${s.duration_ms} ms` });
    const ip = s.ip
      ? el('a', { class: 'mono ip', text: s.ip, title: `Open the audit log of IP address ${s.ip}`, attrs: { href: `#audit?ip=${encodeURIComponent(s.ip)}` } })
      : el('span', { class: 'muted', text: 'unknown' });
    return el('tr', {
      class: live ? 'is-live' : '',
      data: {
        sessionId: s.id, username: s.username, userId: String(s.user_id),
        state: live ? 'live' : 'ended', reason: s.end_reason || '',
        durationMs: s.duration_ms === null || s.duration_ms === undefined ? '' : String(s.duration_ms),
      },
    }, [
      cell('User', [user]),
      cell('Start', [time_el(s.created_at, 'nowrap', true)], 'col-start'),
      cell('End', [live ? el('span', { class: 'muted', text: '—' }) : time_el(s.ended_at, 'nowrap', true)], 'col-end'),
      cell('Duration', [duration], 'col-duration'),
      cell('End reason', [reason], 'col-reason'),
      cell('IP address', [ip], 'col-ip'),
      cell('Browser', [agent_el(s.user_agent)], 'col-agent'),
      cell('Legal basis', [el('span', { class: 'legal-basis', text: words(s.legal_basis) || '—', title: s.legal_basis || '' })], 'col-basis'),
    ]);
  }

  function page_history(dir) {
    const h = state.history;
    if (dir > 0 && h.next) {
      h.stack.push(h.cursor);
      h.cursor = h.next;
    } else if (dir < 0 && h.stack.length) {
      h.cursor = h.stack.pop();
    } else {
      return;
    }
    load_history();
  }

  function reset_history_filters() {
    $('history-filters').reset();
    show_error('history-error', '');
    apply_history_filters();
  }

  // -- audit log -------------------------------------------------------------------------

  /** The filters in the form, as API parameters; or an error text. */
  function read_audit_filters() {
    const from_day = $('audit-filter-from').value;
    const to_day = $('audit-filter-to').value;
    if (from_day && to_day && from_day > to_day) {
      return { error: '"From" is after "To".' };
    }
    return {
      filters: {
        user: $('audit-filter-user').value.trim(),
        ip: $('audit-filter-ip').value.trim(),
        event: $('audit-filter-event').value,
        from: day_start_iso(from_day, 0),
        to: day_start_iso(to_day, 1),   // "to" is exclusive: the day after, at midnight
      },
    };
  }

  function describe_filters(f) {
    const parts = [];
    if (f.user) parts.push(`user ${f.user}`);
    if (f.ip) parts.push(`IP ${f.ip}`);
    if (f.event) parts.push(EVENT_INFO[f.event] ? EVENT_INFO[f.event].label.toLowerCase() : f.event);
    const from = $('audit-filter-from').value;
    const to = $('audit-filter-to').value;
    if (from && to) parts.push(from === to ? `on ${from}` : `${from} to ${to}`);
    else if (from) parts.push(`since ${from}`);
    else if (to) parts.push(`until ${to}`);
    return parts.length ? `Showing: ${parts.join(' · ')}` : 'Showing all events';
  }

  function apply_audit_filters() {
    const read = read_audit_filters();
    if (read.error) {
      show_error('audit-error', read.error);
      return;
    }
    const a = state.audit;
    a.filters = read.filters;
    a.cursor = '';
    a.stack = [];
    $('audit-summary').textContent = describe_filters(a.filters);
    // The export is exactly the filtered set (no paging).
    $('audit-csv').href = `/api/admin/audit.csv${query_string(a.filters)}`;
    load_audit();
  }

  async function load_audit() {
    const a = state.audit;
    a.loaded = true;
    const seq = ++a.seq;
    $('audit-apply').disabled = true;
    $('audit-prev').disabled = true;
    $('audit-next').disabled = true;
    const limit = Number($('audit-limit').value) || 50;
    $('audit-table').setAttribute('aria-busy', 'true');
    const r = await api('GET', `/api/admin/audit${query_string({ ...a.filters, limit, cursor: a.cursor })}`);
    if (seq !== a.seq) return;   // newer filters were applied meanwhile
    $('audit-table').setAttribute('aria-busy', 'false');
    $('audit-apply').disabled = false;
    if (!r.ok) {
      show_error('audit-error', error_text(r, 'Could not load the audit log'));
      $('audit-prev').disabled = a.stack.length === 0;
      return;
    }
    show_error('audit-error', '');
    const events = (r.body && r.body.events) || [];
    a.next = r.body.next_cursor || null;
    const rows = events.map(audit_row);
    $('audit-table').tBodies[0].replaceChildren(...rows);
    $('audit-table').classList.toggle('is-empty', rows.length === 0);
    $('audit-empty').hidden = rows.length > 0;
    $('audit-prev').disabled = a.stack.length === 0;
    $('audit-next').disabled = !a.next;
    $('audit-page').textContent = `Page ${a.stack.length + 1}`;
  }

  function audit_row(e) {
    const info = EVENT_INFO[e.event] || { label: e.event, tone: 'plain' };
    let detail = e.detail || '';
    if (e.event === 'login_failure' && FAILURE_TEXT[detail]) detail = FAILURE_TEXT[detail];
    const session = e.session_id
      ? el('span', { class: 'mono session-id', text: e.session_id.slice(0, 8), title: e.session_id })
      : el('span', { class: 'muted', text: '—' });
    const user = e.username
      ? el('button', {
        class: 'link-button', text: e.username, title: `Only events of ${e.username}`,
        attrs: { type: 'button', 'data-action': 'audit-user' },
      })
      : el('span', { class: 'muted', text: '—' });
    return el('tr', { data: { event: e.event, auditId: String(e.id), username: e.username || '' } }, [
      cell('Time', [time_el(e.at, 'nowrap')]),
      cell('Event', [el('span', { class: `event event-${info.tone}`, text: info.label, title: e.event })]),
      cell('User', [user]),
      cell('IP address', [el('span', { class: 'mono ip', text: e.ip || '—' })], 'col-ip'),
      cell('Browser', [agent_el(e.user_agent)], 'col-agent'),
      cell('Session', [session]),
      cell('Detail', [el('span', { class: 'detail', text: detail || '—', title: e.detail || '' })], 'col-detail'),
    ]);
  }

  function page_audit(dir) {
    const a = state.audit;
    if (dir > 0 && a.next) {
      a.stack.push(a.cursor);
      a.cursor = a.next;
    } else if (dir < 0 && a.stack.length) {
      a.cursor = a.stack.pop();
    } else {
      return;
    }
    load_audit();
  }

  function reset_audit_filters() {
    $('audit-filters').reset();
    show_error('audit-error', '');
    apply_audit_filters();
  }

  /** Opens the audit log showing only the events of `username`. */
  function audit_of(username) {
    audit_filtered({ user: username });
  }

  /** Opens the audit log with exactly these filters ({user, ip, event}; the rest cleared). */
  function audit_filtered(f) {
    $('audit-filters').reset();
    $('audit-filter-user').value = f.user || '';
    $('audit-filter-ip').value = f.ip || '';
    if (f.event && EVENT_INFO[f.event]) $('audit-filter-event').value = f.event;
    show_error('audit-error', '');
    apply_audit_filters();   // loads: showing the panel then loads nothing more
    select_panel('audit');
  }

  // -- users -----------------------------------------------------------------------------

  async function load_users() {
    const u = state.users;
    const r = await api('GET', `/api/admin/users${query_string({ q: u.q, limit: USERS_PAGE, offset: u.offset })}`);
    if (!r.ok) {
      show_error('users-error', error_text(r, 'Could not load the users'));
      return null;
    }
    show_error('users-error', '');
    const users = (r.body && r.body.users) || [];
    u.total = Number(r.body.total) || 0;
    if (users.length === 0 && u.offset > 0 && u.total > 0) {
      // The page emptied under us (fewer matches now): go to the last one.
      u.offset = Math.floor((u.total - 1) / USERS_PAGE) * USERS_PAGE;
      return load_users();
    }
    const rows = users.map(user_row);
    $('users-table').tBodies[0].replaceChildren(...rows);
    $('users-table').classList.toggle('is-empty', rows.length === 0);
    $('users-empty').hidden = rows.length > 0;
    const first = users.length ? u.offset + 1 : 0;
    $('users-range').textContent = users.length
      ? `${first}–${u.offset + users.length} of ${u.total}`
      : `0 of ${u.total}`;
    $('users-prev').disabled = u.offset === 0;
    $('users-next').disabled = u.offset + users.length >= u.total;
    if (!u.q) {
      $('users-count').textContent = String(u.total);
      const options = users.map((x) => el('option', { attrs: { value: x.username } }));
      if (u.offset === 0) $('user-suggestions').replaceChildren(...options);
    }
    return users;
  }

  function user_row(u) {
    const me = state.me && u.id === state.me.id;
    const erased = !!u.erased;
    const name = el('div', { class: 'user-cell' }, [
      el('span', { class: 'avatar avatar-plain', text: erased ? '–' : u.username.charAt(0).toUpperCase(), attrs: { 'aria-hidden': 'true' } }),
      el('div', { class: 'user-names' }, [
        el('span', { class: erased ? 'user-name mono pseudonym' : 'user-name', text: u.username, title: erased ? 'Pseudonym of an erased account' : '' }),
        u.full_name ? el('span', { class: 'user-full muted small', text: u.full_name }) : null,
      ]),
      me ? el('span', { class: 'tag', text: 'you' }) : null,
    ]);
    const role = el('span', { class: u.is_admin ? 'pill pill-admin' : 'pill', text: u.is_admin ? 'Admin' : 'User' });
    const status = el('div', { class: 'status-cell' }, [
      erased
        ? el('span', { class: 'pill pill-erased', text: 'Erased', title: 'Personal data erased; the rows are kept under the pseudonym' })
        : el('span', { class: u.is_active ? 'pill pill-ok' : 'pill pill-bad', text: u.is_active ? 'Active' : 'Disabled' }),
      u.legacy_credentials ? el('span', {
        class: 'pill event-warn legacy-credentials', text: 'Legacy hash',
        title: 'Imported password hash: replaced by Argon2id at the next sign-in',
      }) : null,
    ]);
    const last = u.last_login
      ? el('div', { class: 'since' }, [el('span', { class: 'since-ago', text: ago(u.last_login) }), time_el(u.last_login, 'since-at muted', true)])
      : el('span', { class: 'muted', text: 'never' });
    const toggle_active = el('button', {
      class: u.is_active ? 'button button-small button-danger-quiet' : 'button button-small',
      text: u.is_active ? 'Disable' : 'Enable',
      attrs: { type: 'button', 'data-action': 'toggle-active' },
    });
    const toggle_admin = el('button', {
      class: 'button button-small',
      text: u.is_admin ? 'Revoke admin' : 'Make admin',
      attrs: { type: 'button', 'data-action': 'toggle-admin' },
    });
    const attributes = el('button', {
      class: 'button button-small', text: 'Attributes',
      attrs: { type: 'button', 'data-action': 'attributes' },
    });
    const export_data = el('a', {
      class: 'button button-small', text: 'Export data',
      title: `Download everything stored about ${u.username} (JSON)`,
      attrs: { href: `/api/admin/users/${encodeURIComponent(u.id)}/export`, download: '', 'data-action': 'export' },
    });
    const erase = el('button', {
      class: 'button button-small button-danger-quiet', text: 'Erase',
      title: `Erase the personal data of ${u.username}`,
      attrs: { type: 'button', 'data-action': 'erase' },
    });
    if (me) {
      // No locking yourself out from here; another admin or the CLI can.
      toggle_active.disabled = true;
      toggle_admin.disabled = true;
      erase.disabled = true;
      toggle_active.title = toggle_admin.title = erase.title = 'This is your own account';
    }
    const failures = Number(u.failures_24h) || 0;
    const count = (v) => (v === null || v === undefined ? '–' : String(v));
    const tr = el('tr', {
      class: state.users.highlight === u.id ? 'is-new' : '',
      data: {
        userId: String(u.id), username: u.username, erased: String(erased),
        active: String(!!u.is_active), admin: String(!!u.is_admin), legacyCredentials: String(!!u.legacy_credentials),
      },
    }, [
      cell('User', [name]),
      cell('Email', [u.email ? el('span', { class: 'email', text: u.email }) : el('span', { class: 'muted', text: '—' })]),
      cell('Role', [role]),
      cell('Status', [status]),
      cell('Last sign-in', [last]),
      cell('Sign-ins', [el('span', { class: 'count', text: count(u.logins_total), title: 'Successful sign-ins, all time' })], 'num col-logins'),
      cell('Failed (24 h)', [el('span', {
        class: failures > 0 ? 'count count-bad' : 'count', text: count(u.failures_24h),
        title: 'Failed sign-ins in the last 24 hours',
      })], 'num col-failures'),
      cell('', [el('div', { class: 'row-actions' },
        erased ? [export_data] : [attributes, toggle_admin, toggle_active, export_data, erase])], 'col-actions'),
    ]);
    return tr;
  }

  async function patch_user(tr, change) {
    const name = tr.dataset.username;
    const id = tr.dataset.userId;
    let question;
    if (change.is_active === false) {
      question = [`Disable ${name}?`, `${name} is signed out at once and cannot sign in until enabled again.`, 'Disable', 'danger'];
    } else if (change.is_admin === true) {
      question = [`Make ${name} an administrator?`, `${name} will see every session and the audit log, and can manage accounts.`, 'Make admin', 'primary'];
    } else if (change.is_admin === false) {
      question = [`Revoke admin rights of ${name}?`, `${name} keeps the account but can no longer open this page.`, 'Revoke admin', 'danger'];
    }
    if (question && !(await confirm_action(...question))) return;
    for (const b of tr.querySelectorAll('button')) b.disabled = true;
    const r = await api('PATCH', `/api/admin/users/${encodeURIComponent(id)}`, change);
    if (!r.ok) {
      if (r.status !== 401 && r.status !== 403) {
        show_error('users-error', error_text(r, `Could not change ${name}`));
      }
      await load_users();
      return;
    }
    show_error('users-error', '');
    const u = r.body.user;
    tr.replaceWith(user_row(u));
    if (change.is_active === false) flash(`${u.username} is disabled; any live session was ended.`);
    if (change.is_active === true) flash(`${u.username} is enabled again.`);
    if (change.is_admin === true) flash(`${u.username} is now an administrator.`);
    if (change.is_admin === false) flash(`${u.username} is no longer an administrator.`);
    mark_stale();
    if (change.is_active === false) load_sessions();
  }

  async function erase_user(tr) {
    const name = tr.dataset.username;
    const id = tr.dataset.userId;
    const ok = await confirm_action(
      `Erase ${name}?`,
      `This cannot be undone. ${name} is signed out at once; the name, email, attributes and password are deleted, `
        + `and the name, IP addresses and browsers in ${name}'s sessions and audit events are replaced by a pseudonym. `
        + 'The rows themselves stay, so the statistics do not change. Export the data first if the person asked for a copy.',
      'Erase', 'danger');
    if (!ok) return;
    for (const b of tr.querySelectorAll('button')) b.disabled = true;
    const r = await api('POST', `/api/admin/users/${encodeURIComponent(id)}/erase`);
    if (!r.ok) {
      if (r.status !== 401 && r.status !== 403) show_error('users-error', error_text(r, `Could not erase ${name}`));
      await load_users();
      return;
    }
    show_error('users-error', '');
    const e = (r.body && r.body.erased) || {};
    const n = (v, one) => `${Number(v) || 0} ${one}${Number(v) === 1 ? '' : 's'}`;
    flash(`Erased ${name}: shown as ${e.pseudonym} from now on (${n(e.sessions, 'session')} and ${n(e.audit_rows, 'audit event')} pseudonymised).`);
    state.users.highlight = Number(e.user_id) || Number(id);
    if (state.users.q) {
      // The old name matches nothing any more: show the pseudonym's row.
      state.users.q = e.pseudonym || '';
      $('users-search').value = state.users.q;
    }
    mark_stale();
    await Promise.all([load_users(), load_sessions()]);
  }

  // -- user attributes -----------------------------------------------------------------

  /** A typed value as text: JSON for json, the plain value otherwise. */
  function attribute_text(a) {
    return a.type === 'json' ? JSON.stringify(a.value) : String(a.value);
  }

  /** The form's value as the JSON the API takes for `type`; throws a message. */
  function attribute_payload(type, text) {
    switch (type) {
      case 'integer':
        if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new Error('an integer is digits, with an optional minus sign');
        return Number(text);
      case 'float': {
        const v = Number(text);
        if (text.trim() === '' || !Number.isFinite(v)) throw new Error('a float is a finite number, e.g. 2.5');
        return v;
      }
      case 'boolean':
        if (text !== 'true' && text !== 'false') throw new Error('a boolean is true or false');
        return text === 'true';
      case 'json':
        try { return JSON.parse(text); } catch (e) { throw new Error('the value is not valid JSON'); }
      default:
        return text;
    }
  }

  async function load_attributes() {
    const a = state.attributes;
    const r = await api('GET', `/api/admin/users/${encodeURIComponent(a.user_id)}/attributes`);
    if (!r.ok) {
      if (r.status !== 401 && r.status !== 403) show_error('attributes-error', error_text(r, 'Could not load the attributes'));
      return;
    }
    const list = r.body.attributes || [];
    const rows = list.map((x) => el('tr', { data: { name: x.name, type: x.type } }, [
      cell('Name', [el('code', { text: x.name })]),
      cell('Type', [el('span', { class: 'pill', text: x.type })]),
      cell('Value', [el('span', { class: 'attribute-value', text: attribute_text(x) })]),
      cell('', [el('div', { class: 'row-actions' }, [
        el('button', { class: 'button button-small', text: 'Edit', attrs: { type: 'button', 'data-action': 'edit-attribute', 'data-value': attribute_text(x) } }),
        el('button', { class: 'button button-small button-danger-quiet', text: 'Delete', attrs: { type: 'button', 'data-action': 'delete-attribute' } }),
      ])], 'col-actions'),
    ]));
    $('attributes-table').tBodies[0].replaceChildren(...rows);
    $('attributes-empty').hidden = rows.length > 0;
  }

  async function open_attributes(tr) {
    state.attributes = { user_id: tr.dataset.userId, username: tr.dataset.username };
    $('attributes-title').textContent = `Attributes of ${tr.dataset.username}`;
    $('attribute-form').reset();
    show_error('attributes-error', '');
    $('attributes-table').tBodies[0].replaceChildren();
    $('attributes-dialog').showModal();
    await load_attributes();
    $('attribute-name').focus();
  }

  async function on_save_attribute(ev) {
    ev.preventDefault();
    const a = state.attributes;
    const name = $('attribute-name').value.trim();
    const type = $('attribute-type').value;
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
      show_error('attributes-error', 'A name is 1–64 letters, digits, "_", "." or "-".');
      $('attribute-name').focus();
      return;
    }
    let value;
    try {
      value = attribute_payload(type, $('attribute-value').value);
    } catch (e) {
      show_error('attributes-error', `Not saved: ${e.message}.`);
      $('attribute-value').focus();
      return;
    }
    const r = await api('PUT', `/api/admin/users/${encodeURIComponent(a.user_id)}/attributes/${encodeURIComponent(name)}`, { value, type });
    if (!r.ok) {
      if (r.status !== 401 && r.status !== 403) show_error('attributes-error', error_text(r, 'Not saved'));
      return;
    }
    show_error('attributes-error', '');
    $('attribute-form').reset();
    flash(`Saved attribute ${name} of ${a.username}.`);
    mark_stale();
    await load_attributes();
  }

  async function delete_attribute(tr) {
    const a = state.attributes;
    const name = tr.dataset.name;
    const r = await api('DELETE', `/api/admin/users/${encodeURIComponent(a.user_id)}/attributes/${encodeURIComponent(name)}`);
    if (!r.ok && r.status !== 404) {
      if (r.status !== 401 && r.status !== 403) show_error('attributes-error', error_text(r, `Could not delete ${name}`));
      return;
    }
    show_error('attributes-error', '');
    mark_stale();
    await load_attributes();
  }

  function page_users(dir) {
    const u = state.users;
    u.offset = Math.max(0, u.offset + dir * USERS_PAGE);
    load_users();
  }

  function on_users_search(ev) {
    ev.preventDefault();
    state.users.q = $('users-search').value.trim();
    state.users.offset = 0;
    load_users();
  }

  async function on_create_user(ev) {
    ev.preventDefault();
    const username = $('new-username').value.trim();
    const password = $('new-password').value;
    const full_name = $('new-full-name').value.trim();
    const email = $('new-email').value.trim();
    if (!/^[A-Za-z0-9_.-]{3,32}$/.test(username)) {
      show_error('user-create-error', 'A username is 3–32 letters, digits, "_", "." or "-".');
      $('new-username').focus();
      return;
    }
    if (password.length < 8) {
      show_error('user-create-error', 'The password needs at least 8 characters.');
      $('new-password').focus();
      return;
    }
    show_error('user-create-error', '');
    const payload = { username, password, is_admin: $('new-is-admin').checked };
    if (full_name) payload.full_name = full_name;
    if (email) payload.email = email;
    const submit = $('user-create-submit');
    submit.disabled = true;
    submit.textContent = 'Creating…';
    const r = await api('POST', '/api/admin/users', payload);
    submit.disabled = false;
    submit.textContent = 'Create user';
    if (!r.ok) {
      show_error('user-create-error', error_text(r, 'Not created'));
      return;
    }
    const created = r.body.user;
    $('user-create-form').reset();
    flash(`Created ${created.is_admin ? 'administrator' : 'user'} ${created.username}.`);
    // Users are listed oldest first: the new one is on the last page of the full list.
    state.users.highlight = created.id;
    state.users.q = '';
    $('users-search').value = '';
    const count = await api('GET', '/api/admin/users?limit=1');
    const total = count.ok ? Number(count.body.total) || 0 : 0;
    state.users.offset = total > 0 ? Math.floor((total - 1) / USERS_PAGE) * USERS_PAGE : 0;
    await load_users();
    mark_stale();
  }

  // -- sign out ----------------------------------------------------------------------------

  async function on_logout() {
    if (document.body.dataset.state === 'signed-out') {
      window.location.assign('/');
      return;
    }
    $('logout').disabled = true;
    try {
      await fetch('/api/logout', { method: 'POST', credentials: 'same-origin' });
    } catch (e) {
      // Leave anyway.
    }
    window.location.assign('/');
  }

  // -- start -------------------------------------------------------------------------------

  function wire() {
    $('logout').addEventListener('click', on_logout);
    for (const tab of document.querySelectorAll('.admin-tabs .tab')) {
      tab.addEventListener('click', () => select_panel(tab.dataset.panel));
      tab.addEventListener('keydown', on_tab_key);
    }
    window.addEventListener('hashchange', () => open_hash(window.location.hash));

    for (const b of document.querySelectorAll('#dash-range-form .segment')) {
      b.addEventListener('click', () => choose_range(b.dataset.range));
    }
    $('dash-range-form').addEventListener('submit', (ev) => { ev.preventDefault(); load_stats(); });
    $('dash-refresh').addEventListener('click', () => load_stats());
    watch_chart_sizes();

    $('sessions-refresh').addEventListener('click', () => load_sessions());
    $('sessions-prev').addEventListener('click', () => page_sessions(-1));
    $('sessions-next').addEventListener('click', () => page_sessions(1));
    $('sessions-table').addEventListener('click', (ev) => {
      const button = ev.target.closest('button[data-action]');
      if (!button) return;
      const tr = button.closest('tr');
      if (button.dataset.action === 'end-session') end_session(tr);
      if (button.dataset.action === 'audit-user') audit_of(tr.dataset.username);
    });

    $('history-filters').addEventListener('submit', (ev) => { ev.preventDefault(); apply_history_filters(); });
    $('history-reset').addEventListener('click', reset_history_filters);
    $('history-prev').addEventListener('click', () => page_history(-1));
    $('history-next').addEventListener('click', () => page_history(1));
    $('history-table').addEventListener('click', (ev) => {
      const button = ev.target.closest('button[data-action="audit-user"]');
      if (button) audit_of(button.closest('tr').dataset.username);
    });

    const select = $('audit-filter-event');
    for (const [name, label] of EVENTS) {
      select.append(el('option', { text: label, title: name, attrs: { value: name } }));
    }
    $('audit-filters').addEventListener('submit', (ev) => { ev.preventDefault(); apply_audit_filters(); });
    $('audit-reset').addEventListener('click', reset_audit_filters);
    $('audit-prev').addEventListener('click', () => page_audit(-1));
    $('audit-next').addEventListener('click', () => page_audit(1));
    $('audit-limit').addEventListener('change', () => {
      // A new page size starts again from the newest event.
      state.audit.cursor = '';
      state.audit.stack = [];
      load_audit();
    });
    $('audit-table').addEventListener('click', (ev) => {
      const button = ev.target.closest('button[data-action="audit-user"]');
      if (button) audit_of(button.closest('tr').dataset.username);
    });

    $('users-search-form').addEventListener('submit', on_users_search);
    $('users-prev').addEventListener('click', () => page_users(-1));
    $('users-next').addEventListener('click', () => page_users(1));
    $('users-table').addEventListener('click', (ev) => {
      const button = ev.target.closest('button[data-action]');
      if (!button) return;
      const tr = button.closest('tr');
      if (button.dataset.action === 'toggle-active') patch_user(tr, { is_active: tr.dataset.active !== 'true' });
      if (button.dataset.action === 'toggle-admin') patch_user(tr, { is_admin: tr.dataset.admin !== 'true' });
      if (button.dataset.action === 'attributes') open_attributes(tr);
      if (button.dataset.action === 'erase') erase_user(tr);
    });
    $('attribute-form').addEventListener('submit', on_save_attribute);
    $('attributes-close').addEventListener('click', () => $('attributes-dialog').close());
    $('attributes-table').addEventListener('click', (ev) => {
      const button = ev.target.closest('button[data-action]');
      if (!button) return;
      const tr = button.closest('tr');
      if (button.dataset.action === 'delete-attribute') delete_attribute(tr);
      if (button.dataset.action === 'edit-attribute') {
        $('attribute-name').value = tr.dataset.name;
        $('attribute-type').value = tr.dataset.type;
        $('attribute-value').value = button.dataset.value;
        $('attribute-value').focus();
      }
    });
    $('user-create-form').addEventListener('submit', on_create_user);
  }

  async function boot() {
    let r;
    try {
      const res = await fetch('/api/me', { credentials: 'same-origin', cache: 'no-store' });
      let body = null;
      try { body = await res.json(); } catch (e) { body = null; }
      r = { status: res.status, body };
    } catch (e) {
      r = { status: 0, body: null };
    }
    if (r.status === 401) {
      window.location.replace('/');
      return;
    }
    if (r.status !== 200 || !r.body || !r.body.user) {
      $('admin-loading').textContent = r.status === 0
        ? 'Cannot reach the server. Reload the page to try again.'
        : `The server answered HTTP ${r.status}. Reload the page to try again.`;
      $('admin-loading').classList.add('form-error');
      return;
    }
    state.me = r.body.user;
    $('me-name').textContent = state.me.username;
    if (!state.me.is_admin) {
      show_forbidden();
      return;
    }
    document.body.dataset.state = 'ready';
    show_only('admin-content');
    apply_audit_filters_quietly();
    apply_history_filters_quietly();
    let zone = '';
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ''; } catch (e) { zone = ''; }
    $('dash-tz').textContent = zone || 'local time';
    open_hash(window.location.hash || '#dashboard');
    await Promise.all([load_sessions(), load_users()]);
  }

  /** Sets the applied filters (empty) and the CSV link without loading yet. */
  function apply_audit_filters_quietly() {
    const read = read_audit_filters();
    state.audit.filters = read.filters || {};
    $('audit-summary').textContent = describe_filters(state.audit.filters);
    $('audit-csv').href = `/api/admin/audit.csv${query_string(state.audit.filters)}`;
  }

  function apply_history_filters_quietly() {
    const read = read_history_filters();
    state.history.filters = read.filters || {};
    $('history-summary').textContent = describe_history(state.history.filters);
    $('history-csv').href = `/api/admin/sessions.csv${query_string(state.history.filters)}`;
  }

  document.addEventListener('DOMContentLoaded', () => {
    wire();
    boot();
  });
})();
