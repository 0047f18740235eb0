// solod live page: one WebSocket to /ws, authenticated by the HttpOnly
// session cookie (this script never sees the token). Shows the connection
// status, this session, who is online, messages, the account's recent activity
// (sign-ins, failures, how sessions ended), and, when the session is ended
// from elsewhere, a notice saying why (also added on top of the activity).
// After a kick it never reconnects by itself. All server data is put into the
// page with textContent.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);

  /** What each kick reason means to a person (SPEC §4). */
  const KICK_TEXT = {
    superseded: {
      title: 'Signed out: your account signed in somewhere else',
      reason: 'A newer sign-in of your account replaced this session. Only one session per account is live at a time.',
      advice: 'If that was not you, sign in again and change your password.',
    },
    logout: {
      title: 'Signed out',
      reason: 'This session was signed out, from this window or another one using the same session.',
      advice: '',
    },
    admin: {
      title: 'Signed out by an administrator',
      reason: 'An administrator ended this session.',
      advice: 'Contact your administrator if you think this is a mistake.',
    },
    expired: {
      title: 'Your session expired',
      reason: 'This session was idle for too long or reached its time limit.',
      advice: 'Sign in again to continue.',
    },
    unauthorized: {
      title: 'This session is no longer valid',
      reason: 'The server did not accept this session (it has ended or its sign-in is invalid).',
      advice: 'Sign in again to continue.',
    },
    too_many_connections: {
      title: 'Too many windows open',
      reason: 'This session already has the most live connections the server allows.',
      advice: 'Close another solod tab or window, then reload this page.',
    },
    server_error: {
      title: 'Disconnected by a server error',
      reason: 'Part of the server failed; to be safe it closed this connection, and may have ended this session.',
      advice: 'Reload the page; sign in again if asked.',
    },
    ended: {
      title: 'This session has ended',
      reason: 'The server no longer knows this session; it was ended while this page was offline.',
      advice: 'Sign in again to continue.',
    },
  };

  /** Close codes that mean the session (or this connection) was ended on purpose. */
  const KICK_CODES = {
    4001: 'superseded',
    4002: 'logout',
    4003: 'admin',
    4004: 'expired',
    4401: 'unauthorized',
    4429: 'too_many_connections',
  };

  const STATUS_TEXT = {
    connecting: 'Connecting…',
    live: 'Live',
    kicked: 'Kicked',
    disconnected: 'Disconnected',
  };

  const state = {
    me: null,               // {id, username, ...} from /api/me
    ws: null,
    kicked: false,          // once true: no reconnect, ever, in this page
    logging_out: false,
    retry_delay_ms: 1000,
    retry_timer: null,
    online: new Set(),      // usernames
    online_ready: false,    // the first `online` answer arrived
    pending_presence: [],   // presence events seen before that answer
    activity: [],           // GET /api/me/activity's events
    activity_loaded: false,
    activity_seq: 0,
    kick_entry: null,       // this page's own kick, shown on top of the activity
  };

  // -- formatting ----------------------------------------------------------------

  function format_time(iso, with_date) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso || '';
    const opts = with_date
      ? { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' }
      : { hour: '2-digit', minute: '2-digit', second: '2-digit' };
    return d.toLocaleString(undefined, opts);
  }


  function set_agent(summary_el, raw_el, ua) {
    const summary = summarize_agent(ua);
    summary_el.textContent = summary;
    summary_el.hidden = !summary;
    raw_el.textContent = ua || 'unknown';
    raw_el.title = ua || '';
    // Unrecognised: the raw string is all there is, so it is shown as the main text.
    raw_el.classList.toggle('agent-only', !summary);
  }

  // -- recent activity on the account -------------------------------------------------

  /** Creates an element; `text` goes in with textContent, never as markup. */
  function el(tag, cls, text, children) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    for (const c of children || []) {
      if (c) e.append(c);
    }
    return e;
  }

  /** A table cell; `label` names the column on small screens, where rows become cards. */
  function cell(label, children, cls) {
    const td = el('td', cls, null, children);
    td.dataset.label = label;
    return td;
  }

  /** "Firefox 128 on Windows", or the raw User-Agent when not recognised. */
  function browser_words(ua) {
    return summarize_agent(ua) || ua || 'an unknown browser';
  }

  /** The account's events (SPEC audit types) as [label, tone]. */
  const ACTIVITY_TEXT = {
    login_success: ['Signed in', 'ok'],
    login_failure: ['Sign-in failed', 'bad'],
    logout: ['Signed out', 'plain'],
    session_superseded: ['Signed out by a new sign-in', 'warn'],
    session_terminated: ['Signed out by an administrator', 'warn'],
    session_expired: ['Session expired', 'plain'],
    account_locked: ['Account locked', 'bad'],
  };

  /** Why a sign-in failed (the audit row's detail), in words. */
  const FAILURE_TEXT = {
    bad_password: 'wrong password',
    unknown_user: 'unknown user',
    locked: 'account locked',
    disabled: 'account disabled',
    rate_limited: 'too many attempts',
    session_active: 'another session was live',
    audit_unavailable: 'server could not record it',
  };

  /** How a session ended (its end_reason), in words. */
  const END_TEXT = {
    superseded: 'replaced by a newer sign-in',
    logout: 'signed out',
    admin: 'ended by an administrator',
    expired: 'expired',
  };

  /** The kicks that are also events of the account: what the page adds to its list. */
  const KICK_EVENT = {
    superseded: 'session_superseded',
    admin: 'session_terminated',
    expired: 'session_expired',
  };

  /** The second line of an event: why a sign-in failed; which sign-in replaced a session. */
  function activity_detail(e) {
    if (e.event === 'login_failure') return FAILURE_TEXT[e.detail] || e.detail || '';
    if (e.event === 'session_superseded' && (e.ip || e.user_agent)) {
      // The row's IP and browser are the new sign-in's, not the replaced session's.
      return `from ${e.ip || 'an unknown IP'}, ${browser_words(e.user_agent)}`;
    }
    return '';
  }

  function activity_session_cell(e) {
    const parts = [];
    if (e.current || e.local) {
      parts.push(el('span', 'tag tag-current', 'this session'));
    }
    if (e.local) {
      parts.push(el('span', 'muted small', 'ended just now'));
    } else if (e.event === 'login_success' && e.session) {
      if (e.current && state.kick_entry) {
        parts.push(el('span', 'muted small', `ended: ${END_TEXT[state.kick_entry.reason] || 'ended'}`));
      } else if (!e.session.ended_at) {
        if (!e.current) parts.push(el('span', 'pill pill-ok', 'still live'));
      } else {
        const how = END_TEXT[e.session.end_reason] || (e.session.end_reason || 'ended').replace(/_/g, ' ');
        const at = el('time', 'muted small', format_time(e.session.ended_at, true));
        at.dateTime = e.session.ended_at;
        parts.push(el('span', 'activity-end', how), at);
      }
    }
    if (!parts.length) parts.push(el('span', 'muted', '—'));
    return el('div', 'activity-session', null, parts);
  }

  function activity_row(e) {
    const [label, tone] = ACTIVITY_TEXT[e.event] || [e.event, 'plain'];
    const failed = e.event === 'login_failure' || e.event === 'account_locked';
    const kicked = e.event === 'session_superseded' || e.event === 'session_terminated';
    const event = el('div', 'activity-event', null, [el('span', `event event-${tone}`, label)]);
    const detail = activity_detail(e);
    if (detail) event.append(el('div', 'activity-detail', detail));
    const when = el('time', 'nowrap', format_time(e.at, true));
    when.dateTime = e.at || '';
    const agent = el('div', 'agent', null, [
      summarize_agent(e.user_agent) ? el('span', 'agent-summary', summarize_agent(e.user_agent)) : null,
      el('span', summarize_agent(e.user_agent) ? 'agent-raw mono' : 'agent-raw agent-only mono', e.user_agent || 'unknown'),
    ]);
    agent.lastChild.title = e.user_agent || '';
    const classes = [failed ? 'is-failed' : '', kicked ? 'is-kick' : '', e.current ? 'is-current' : '', e.local ? 'is-local' : ''];
    const tr = el('tr', classes.filter(Boolean).join(' '), null, [
      cell('When', [when]),
      cell('Event', [event], 'col-event'),
      cell('IP address', [el('span', 'mono ip', e.ip || '—')], 'col-ip'),
      cell('Browser', [agent], 'col-agent'),
      cell('Session', [activity_session_cell(e)], 'col-session'),
    ]);
    tr.dataset.event = e.event;
    tr.dataset.current = String(!!e.current);
    if (e.local) tr.dataset.local = 'true';
    if (e.id !== undefined) tr.dataset.id = String(e.id);
    return tr;
  }

  function render_activity() {
    const list = state.kick_entry ? [state.kick_entry, ...state.activity] : state.activity;
    const rows = list.map(activity_row);
    $('activity-table').tBodies[0].replaceChildren(...rows);
    $('activity-table').classList.toggle('is-empty', rows.length === 0);
    $('activity-empty').hidden = rows.length > 0 || !state.activity_loaded;
  }

  function show_activity_error(text) {
    $('activity-error').textContent = text || '';
    $('activity-error').hidden = !text;
  }

  /** GET /api/me/activity: the account's last 50 events, newest first. */
  async function load_activity() {
    if (state.kicked) return;
    const seq = ++state.activity_seq;
    $('activity-refresh').disabled = true;
    $('activity-table').setAttribute('aria-busy', 'true');
    let status = 0;
    let body = null;
    try {
      const res = await fetch('/api/me/activity', { credentials: 'same-origin', cache: 'no-store' });
      status = res.status;
      try { body = await res.json(); } catch (e) { body = null; }
    } catch (e) {
      status = 0;
    }
    if (seq !== state.activity_seq) return;
    $('activity-table').setAttribute('aria-busy', 'false');
    $('activity-refresh').disabled = state.kicked;
    if (status !== 200 || !body || !Array.isArray(body.events)) {
      if (!state.kicked) {
        show_activity_error(status === 0
          ? 'Could not load your recent activity: cannot reach the server.'
          : status === 401
            ? 'Could not load your recent activity: this session is no longer valid.'
            : `Could not load your recent activity (HTTP ${status}).`);
      }
      return;
    }
    show_activity_error('');
    state.activity = body.events;
    state.activity_loaded = true;
    render_activity();
  }

  /**
   * This page's session was ended: its token is dead, so the list cannot be
   * fetched again. What the kick says goes on top, as the account's newest event.
   */
  function add_kick_to_activity(reason, by) {
    const event = KICK_EVENT[reason];
    if (!event) return;
    state.kick_entry = {
      local: true,
      reason,
      event,
      at: (by && by.at) || new Date().toISOString(),
      ip: reason === 'superseded' && by ? by.ip : '',
      user_agent: reason === 'superseded' && by ? by.user_agent : '',
    };
    render_activity();
    $('activity-refresh').disabled = true;
    $('activity-refresh').title = 'This session has ended: sign in again to see the latest activity';
  }

  // -- status & notices ------------------------------------------------------------

  function set_status(which, extra) {
    const el = $('status');
    el.dataset.state = which;
    el.textContent = extra ? `${STATUS_TEXT[which]} · ${extra}` : STATUS_TEXT[which];
    const live = which === 'live';
    $('message-text').disabled = !live;
    $('message-to').disabled = !live;
    $('message-send').disabled = !live;
    document.body.dataset.connection = which;
  }

  function show_conn_notice(text) {
    const el = $('conn-notice');
    el.textContent = text || '';
    el.hidden = !text;
  }

  function show_kicked(reason, by) {
    state.kicked = true;
    clearTimeout(state.retry_timer);
    const text = KICK_TEXT[reason] || {
      title: 'This session has ended',
      reason: `The server ended this connection (${reason}).`,
      advice: 'Sign in again to continue.',
    };
    const notice = $('kicked-notice');
    notice.dataset.reason = reason;
    $('kicked-title').textContent = text.title;
    $('kicked-reason').textContent = text.reason;
    $('kicked-advice').textContent = text.advice;
    $('kicked-advice').hidden = !text.advice;
    if (by && (by.ip || by.user_agent)) {
      $('kicked-by-ip').textContent = by.ip || 'unknown';
      set_agent($('kicked-by-agent-summary'), $('kicked-by-agent'), by.user_agent);
      $('kicked-by-at').textContent = by.at ? format_time(by.at, true) : 'just now';
      $('kicked-by').hidden = false;
    } else {
      $('kicked-by').hidden = true;
    }
    if (reason === 'too_many_connections' || reason === 'server_error') {
      $('kicked-login').textContent = 'Reload';
      $('kicked-login').href = '/app';
    }
    notice.hidden = false;
    show_conn_notice('');
    set_status('kicked');
    document.title = `${text.title} — solod`;
    document.body.classList.add('is-kicked');
    $('logout').textContent = 'Sign in again';
    $('session-connection').textContent = `closed at ${format_time(new Date().toISOString())}`;
    clear_online();
    add_kick_to_activity(reason, by);
  }

  // -- session -------------------------------------------------------------------

  function show_session(me) {
    const u = me.user;
    const s = me.session;
    $('me-name').textContent = u.username;
    $('session-user').textContent = u.full_name ? `${u.username} (${u.full_name})` : u.username;
    $('session-ip').textContent = s.ip || 'unknown';
    set_agent($('session-agent-summary'), $('session-agent'), s.user_agent);
    $('session-since').textContent = format_time(s.created_at, true);
    $('session-since').dataset.iso = s.created_at || '';
    $('session-expires').textContent = s.expires_at ? format_time(s.expires_at, true) : '—';
  }

  function show_whoami(msg) {
    // The connection's own view; the session's IP and browser are the sign-in's.
    if ($('session-ip').textContent === '—' && msg.ip) {
      $('session-ip').textContent = msg.ip;
    }
    if ($('session-agent').textContent === '—' && msg.user_agent) {
      set_agent($('session-agent-summary'), $('session-agent'), msg.user_agent);
    }
    $('session-connection').textContent =
      `live since ${format_time(msg.connected_at)} from ${msg.ip || 'unknown IP'}`;
  }

  /** GET /api/me; returns {status, body}. Network failures give status 0. */
  async function fetch_me() {
    try {
      const res = await fetch('/api/me', { credentials: 'same-origin', cache: 'no-store' });
      let body = null;
      try { body = await res.json(); } catch (e) { body = null; }
      return { status: res.status, body };
    } catch (e) {
      return { status: 0, body: null };
    }
  }

  // -- online users -----------------------------------------------------------------

  function clear_online() {
    state.online.clear();
    state.online_ready = false;
    state.pending_presence = [];
    render_online(0);
  }

  function render_online(count) {
    const list = $('online-list');
    const names = Array.from(state.online).sort((a, b) => a.localeCompare(b));
    const me = state.me ? state.me.username.toLowerCase() : '';
    list.replaceChildren();
    for (const name of names) {
      const li = document.createElement('li');
      li.dataset.user = name;
      const avatar = document.createElement('span');
      avatar.className = 'avatar';
      avatar.textContent = name.charAt(0).toUpperCase();
      avatar.setAttribute('aria-hidden', 'true');
      const label = document.createElement('span');
      label.className = 'online-name';
      label.textContent = name;
      li.append(avatar, label);
      if (name.toLowerCase() === me) {
        const you = document.createElement('span');
        you.className = 'tag';
        you.textContent = 'you';
        li.append(you);
      } else {
        const btn = document.createElement('button');
        btn.type = 'button';
        btn.className = 'button button-small';
        btn.textContent = 'Message';
        btn.title = `Send a message to ${name}`;
        btn.addEventListener('click', () => {
          $('message-to').value = name;
          $('message-text').focus();
        });
        li.append(btn);
      }
      list.append(li);
    }
    $('online-count').textContent = String(typeof count === 'number' ? count : names.length);
    const others = names.filter((n) => n.toLowerCase() !== me).length;
    const empty = $('online-empty');
    if (state.kicked) {
      empty.textContent = 'Not connected: this session has ended.';
      empty.hidden = false;
    } else {
      empty.textContent = 'Nobody else is online.';
      empty.hidden = !(state.online_ready && others === 0);
    }
    render_recipients(names.filter((n) => n.toLowerCase() !== me));
  }

  /** Keeps the "to" choice list in step with who is online; keeps the current choice if possible. */
  function render_recipients(names) {
    const select = $('message-to');
    const chosen = select.value;
    const everyone = document.createElement('option');
    everyone.value = '';
    everyone.textContent = 'Everyone';
    const options = [everyone];
    for (const name of names) {
      const o = document.createElement('option');
      o.value = name;
      o.textContent = name;
      options.push(o);
    }
    select.replaceChildren(...options);
    select.value = names.includes(chosen) ? chosen : '';
  }

  function apply_presence(msg) {
    if (msg.status === 'online') {
      state.online.add(msg.user);
    } else {
      state.online.delete(msg.user);
    }
  }

  function on_presence(msg) {
    if (!state.online_ready) {
      // Replayed over the first snapshot, in order, so none is lost.
      state.pending_presence.push(msg);
      return;
    }
    apply_presence(msg);
    render_online(msg.count);
  }

  function on_online(msg) {
    state.online = new Set(msg.users || []);
    state.online_ready = true;
    let count = msg.count;
    for (const p of state.pending_presence) {
      apply_presence(p);
      count = p.count;
    }
    state.pending_presence = [];
    render_online(count);
  }

  // -- messages --------------------------------------------------------------------

  function add_message(from, text, at, opts) {
    const o = opts || {};
    const li = document.createElement('li');
    li.className = 'message';
    const mine = state.me && from.toLowerCase() === state.me.username.toLowerCase();
    if (mine) li.classList.add('mine');
    if (o.to) li.classList.add('direct');
    const head = document.createElement('div');
    head.className = 'message-head';
    const who = document.createElement('span');
    who.className = 'message-from';
    who.textContent = mine ? 'You' : from;
    head.append(who);
    if (o.to) {
      const to = document.createElement('span');
      to.className = 'message-to';
      to.textContent = `→ ${o.to}`;
      head.append(to);
    }
    const time = document.createElement('time');
    time.className = 'message-at';
    time.dateTime = at;
    time.textContent = format_time(at);
    head.append(time);
    const body = document.createElement('p');
    body.className = 'message-text';
    body.textContent = text;
    li.dataset.from = from;
    li.append(head, body);
    $('messages').prepend(li);
    $('messages-empty').hidden = true;
  }

  function show_message_error(text) {
    $('message-error').textContent = text || '';
    $('message-error').hidden = !text;
  }

  function on_send(ev) {
    ev.preventDefault();
    const text = $('message-text').value;
    const to = $('message-to').value;
    if (!text.trim()) return;
    if (!send({ type: 'message', text, ...(to ? { to } : {}) })) {
      show_message_error('Not connected: the message was not sent.');
      return;
    }
    show_message_error('');
    // A message to everyone comes back to us from the server; a direct one does not.
    if (to && (!state.me || to.toLowerCase() !== state.me.username.toLowerCase())) {
      add_message(state.me ? state.me.username : 'you', text, new Date().toISOString(), { to });
    }
    $('message-text').value = '';
    $('message-text').focus();
  }

  // -- WebSocket ---------------------------------------------------------------------

  function send(obj) {
    if (!state.ws || state.ws.readyState !== WebSocket.OPEN) return false;
    state.ws.send(JSON.stringify(obj));
    return true;
  }

  function ws_url() {
    const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${window.location.host}/ws`;
  }

  function on_server_message(msg) {
    switch (msg.type) {
      case 'welcome':
        state.retry_delay_ms = 1000;
        set_status('live');
        show_conn_notice('');
        send({ type: 'subscribe', topic: 'presence' });
        send({ type: 'online' });
        send({ type: 'whoami' });
        break;
      case 'subscribed':
      case 'pong':
        break;
      case 'online':
        on_online(msg);
        break;
      case 'presence':
        on_presence(msg);
        break;
      case 'whoami':
        show_whoami(msg);
        break;
      case 'message':
        add_message(String(msg.from), String(msg.text), msg.at);
        break;
      case 'kicked':
        if (state.logging_out && msg.reason === 'logout') return;
        show_kicked(msg.reason, msg.by);
        break;
      case 'error':
        if (msg.code === 'not_online') {
          show_message_error(`Not delivered: ${msg.message || 'that user is not online'}.`);
        } else if (msg.code === 'rate_limited') {
          show_message_error('Slow down: too many messages at once.');
        } else if (msg.code === 'invalid_token') {
          // The close (4401) that follows shows the notice.
        } else {
          show_message_error(msg.message || `The server refused that (${msg.code}).`);
        }
        break;
      default:
        break;
    }
  }

  function connect() {
    if (state.kicked || state.logging_out) return;
    set_status('connecting');
    state.online_ready = false;
    state.pending_presence = [];
    let ws;
    try {
      ws = new WebSocket(ws_url());
    } catch (e) {
      schedule_reconnect();
      return;
    }
    state.ws = ws;
    ws.addEventListener('message', (ev) => {
      if (typeof ev.data !== 'string') return;
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (msg && typeof msg.type === 'string') on_server_message(msg);
    });
    ws.addEventListener('close', (ev) => {
      if (state.ws === ws) state.ws = null;
      if (state.logging_out || state.kicked) {
        if (state.kicked) set_status('kicked');
        return;
      }
      const reason = KICK_CODES[ev.code];
      if (reason) {
        // The close code alone says why (the `kicked` message may not have come first).
        show_kicked(reason, null);
        return;
      }
      clear_online();
      if (ev.code === 1008) {
        show_conn_notice('The server closed the connection: too many messages too fast.');
      } else if (ev.code === 1001) {
        show_conn_notice('The server is restarting.');
      }
      schedule_reconnect();
    });
  }

  function schedule_reconnect() {
    if (state.kicked || state.logging_out) return;
    const delay = state.retry_delay_ms;
    state.retry_delay_ms = Math.min(delay * 2, 30000);
    set_status('disconnected', `retrying in ${Math.round(delay / 1000)} s`);
    clearTimeout(state.retry_timer);
    state.retry_timer = setTimeout(reconnect, delay);
  }

  /** Before reconnecting, make sure the session still lives: a 401 means it ended meanwhile. */
  async function reconnect() {
    if (state.kicked || state.logging_out) return;
    const me = await fetch_me();
    if (me.status === 401) {
      show_kicked('ended', null);
      return;
    }
    if (me.status !== 200) {
      schedule_reconnect();
      return;
    }
    connect();
  }

  // -- logout ------------------------------------------------------------------------

  async function on_logout() {
    if (state.kicked) {
      window.location.assign('/');
      return;
    }
    state.logging_out = true;
    clearTimeout(state.retry_timer);
    $('logout').disabled = true;
    try {
      await fetch('/api/logout', { method: 'POST', credentials: 'same-origin' });
    } catch (e) {
      // Whatever happened, leave: the server ends the session on its side.
    }
    if (state.ws) state.ws.close(1000, 'logout');
    window.location.assign('/');
  }

  // -- start ---------------------------------------------------------------------------

  /** Loads this session from /api/me and connects; a 401 sends the browser back to sign in. */
  async function boot() {
    const me = await fetch_me();
    if (me.status === 401) {
      window.location.replace('/');
      return;
    }
    if (me.status !== 200 || !me.body || !me.body.user) {
      show_conn_notice('Cannot reach the server right now.');
      const delay = state.retry_delay_ms;
      state.retry_delay_ms = Math.min(delay * 2, 30000);
      set_status('disconnected', `retrying in ${Math.round(delay / 1000)} s`);
      state.retry_timer = setTimeout(boot, delay);
      return;
    }
    show_conn_notice('');
    state.me = me.body.user;
    show_session(me.body);
    connect();
    load_activity();
  }

  function start() {
    $('logout').addEventListener('click', on_logout);
    $('message-form').addEventListener('submit', on_send);
    $('activity-refresh').addEventListener('click', load_activity);
    set_status('connecting');
    boot();
  }

  document.addEventListener('DOMContentLoaded', start);
})();
