// solod admin page, Users tab: search and page the accounts, create one,
// disable or enable it, make or revoke an administrator, download a person's
// data (JSON) and erase it; and the dialog of one account's attributes
// (named, typed values).
'use strict';

(function (admin) {
  const { $, el, cell, ago, time_el, query_string, state } = admin;
  const { api, error_text, show_error, flash, confirm_action } = admin;

  const USERS_PAGE = 25;

  // This tab's part of what the page shows now (`state`, see common.js).
  state.users = { q: '', offset: 0, total: 0, highlight: null };
  state.attributes = { user_id: null, username: '' };

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
    admin.mark_stale();
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
    admin.mark_stale();
    if (change.is_active === false) admin.load_sessions();
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
    admin.mark_stale();
    await Promise.all([load_users(), admin.load_sessions()]);
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
    admin.mark_stale();
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
    admin.mark_stale();
    await load_attributes();
  }

  /** Listens to search, paging, the row buttons, the new-user form and the attributes dialog. */
  function wire_users() {
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

  // What the other scripts call.
  Object.assign(admin, { load_users, wire_users });
})(window.solodAdmin);
