// solod admin page, Audit log tab: every sign-in, sign-out, failure and kick,
// filtered by user, IP address, event and days, paged, with the CSV export of
// exactly the filter. The other tabs open it filtered (audit_of,
// audit_filtered).
'use strict';

(function (admin) {
  const { $, el, cell, time_el, agent_el, day_start_iso, query_string, state } = admin;
  const { api, error_text, show_error, FAILURE_TEXT } = admin;

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

  // This tab's part of what the page shows now (`state`, see common.js).
  state.audit = { filters: {}, cursor: '', stack: [], next: null, loaded: false, seq: 0 };

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

  /** Sets the applied filters (empty) and the CSV link without loading yet. */
  function apply_audit_filters_quietly() {
    const read = read_audit_filters();
    state.audit.filters = read.filters || {};
    $('audit-summary').textContent = describe_filters(state.audit.filters);
    $('audit-csv').href = `/api/admin/audit.csv${query_string(state.audit.filters)}`;
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
    admin.select_panel('audit');
  }

  /** Fills the event list; listens to the filters, paging, page size and the names in the rows. */
  function wire_audit() {
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
  }

  // What the other scripts call.
  Object.assign(admin, { load_audit, audit_of, audit_filtered, apply_audit_filters_quietly, wire_audit });
})(window.solodAdmin);
