// solod admin page, Sessions tab: the live sessions (one per account, paged;
// "End" signs that user out everywhere) and the history of every session,
// live or ended (filters, paging, the CSV export of exactly the filter). A
// user's name in either list opens their audit log.
'use strict';

(function (admin) {
  const { $, el, cell, ago, time_el, agent_el, format_clock, day_start_iso, query_string, state } = admin;
  const { api, error_text, show_error, flash, confirm_action } = admin;

  const SESSIONS_PAGE = 100;
  const HISTORY_PAGE = 50;

  /** How a session ended (sessions.end_reason), in words. */
  const END_REASONS = {
    superseded: 'Replaced by new sign-in',
    logout: 'Signed out',
    admin: 'Ended by admin',
    expired: 'Expired',
  };

  // This tab's part of what the page shows now (`state`, see common.js).
  state.sessions = { cursor: '', stack: [], next: null };
  state.history = { filters: {}, cursor: '', stack: [], next: null, loaded: false, seq: 0 };

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
    admin.mark_stale();
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

  /** Sets the applied filters (empty) and the CSV link without loading yet. */
  function apply_history_filters_quietly() {
    const read = read_history_filters();
    state.history.filters = read.filters || {};
    $('history-summary').textContent = describe_history(state.history.filters);
    $('history-csv').href = `/api/admin/sessions.csv${query_string(state.history.filters)}`;
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

  /** Listens to both lists: refresh, paging, End, filters; a name opens its audit log. */
  function wire_sessions() {
    $('sessions-refresh').addEventListener('click', () => load_sessions());
    $('sessions-prev').addEventListener('click', () => page_sessions(-1));
    $('sessions-next').addEventListener('click', () => page_sessions(1));
    $('sessions-table').addEventListener('click', (ev) => {
      const button = ev.target.closest('button[data-action]');
      if (!button) return;
      const tr = button.closest('tr');
      if (button.dataset.action === 'end-session') end_session(tr);
      if (button.dataset.action === 'audit-user') admin.audit_of(tr.dataset.username);
    });

    $('history-filters').addEventListener('submit', (ev) => { ev.preventDefault(); apply_history_filters(); });
    $('history-reset').addEventListener('click', reset_history_filters);
    $('history-prev').addEventListener('click', () => page_history(-1));
    $('history-next').addEventListener('click', () => page_history(1));
    $('history-table').addEventListener('click', (ev) => {
      const button = ev.target.closest('button[data-action="audit-user"]');
      if (button) admin.audit_of(button.closest('tr').dataset.username);
    });
  }

  // What the other scripts call.
  Object.assign(admin, { load_sessions, load_history, apply_history_filters_quietly, wire_sessions });
})(window.solodAdmin);
