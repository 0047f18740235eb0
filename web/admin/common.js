// solod admin page, the part every tab uses: creating elements, formatting
// times, calling the server (api, error_text), error lines, the flash line,
// the confirm dialog and the page's states (loading, not an administrator,
// signed out).
//
// The page's scripts, in the order admin.html loads them: this file; one per
// tab: dashboard.js, sessions.js (live sessions and their history), audit.js,
// users.js (accounts and their attributes); and main.js, which switches tabs
// and starts the page. No build step and no modules: each is a plain script
// that runs one function with the namespace window.solodAdmin, created here.
// A script takes this file's helpers from the namespace when it loads, and
// calls another script's functions through it when they run
// (admin.audit_of(…)), so only the first and the last place in the order
// matter.
//
// The session travels only in the HttpOnly cookie; no script of the page
// sees a token. All server data is put into the page with textContent.
'use strict';

(function () {
  /** What the admin page's scripts share, instead of globals. */
  const admin = window.solodAdmin = {};
  const $ = (id) => document.getElementById(id);

  /** The `detail` of a failed sign-in, in words. */
  const FAILURE_TEXT = {
    unknown_user: 'unknown user',
    bad_password: 'wrong password',
    locked: 'account locked',
    disabled: 'account disabled',
    rate_limited: 'too many attempts',
  };

  /**
   * What the page shows now. Here: the signed-in user (main.js sets it at
   * start) and the flash's timer. Each tab's script adds its own part when it
   * loads: `dash` (dashboard.js), `sessions` and `history` (sessions.js),
   * `audit` (audit.js), `users` and `attributes` (users.js), `panel` (main.js).
   */
  const state = { me: null, flash_timer: null };

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

  // What the other scripts use.
  Object.assign(admin, {
    FAILURE_TEXT, state,
    $, el, cell, format_time, format_clock, ago, time_el, agent_el, day_start_iso, query_string,
    api, error_text, show_error, flash, confirm_action,
    show_only, show_forbidden,
  });
})();
