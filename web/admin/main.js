// solod admin page, start: asks who is signed in (GET /api/me) and shows the
// page or a refusal, switches tabs (clicks, arrow keys, the location hash:
// "#users", "#audit?ip=…") and signs out. Loaded last (see common.js): every
// other script of the page has run, so this one takes their functions at once.
'use strict';

(function (admin) {
  const { $, state, show_only, show_forbidden } = admin;
  const { load_stats, draw_charts, load_sessions, load_history, load_audit, audit_filtered, load_users } = admin;
  const { apply_audit_filters_quietly, apply_history_filters_quietly } = admin;
  const { wire_dashboard, wire_sessions, wire_audit, wire_users } = admin;

  const PANELS = ['dashboard', 'sessions', 'audit', 'users'];

  // Which tab is shown (part of `state`, see common.js).
  state.panel = 'dashboard';

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

  /** Listens to the tabs and Sign out; each tab's script listens to its own controls. */
  function wire() {
    $('logout').addEventListener('click', on_logout);
    for (const tab of document.querySelectorAll('.admin-tabs .tab')) {
      tab.addEventListener('click', () => select_panel(tab.dataset.panel));
      tab.addEventListener('keydown', on_tab_key);
    }
    window.addEventListener('hashchange', () => open_hash(window.location.hash));

    wire_dashboard();
    wire_sessions();
    wire_audit();
    wire_users();
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

  // What the other scripts call.
  Object.assign(admin, { select_panel, mark_stale });

  document.addEventListener('DOMContentLoaded', () => {
    wire();
    boot();
  });
})(window.solodAdmin);
