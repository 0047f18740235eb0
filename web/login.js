// solod sign-in page: log in (or create an account), then go to /app.
// The session token travels only in the HttpOnly cookie the server sets;
// this script never reads or stores it.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);

  /** Human text for an API error, by its code (SPEC §3). */
  function describe_error(status, body, retry_after) {
    const code = body && body.error;
    switch (code) {
      case 'invalid_credentials':
        return 'Wrong username or password.';
      case 'rate_limited': {
        const secs = parseInt(retry_after || '', 10);
        return secs > 0
          ? `Too many attempts from your network. Try again in ${secs} second${secs === 1 ? '' : 's'}.`
          : 'Too many attempts from your network. Wait a minute and try again.';
      }
      case 'session_active':
        return 'This account is already signed in somewhere else, and this server allows only one session. Sign out there first.';
      case 'username_taken':
        return 'That username is already taken. Pick another one.';
      case 'registration_disabled':
        return 'Creating accounts is turned off on this server. Ask an administrator for an account.';
      case 'invalid_input':
        return body.message ? `Please check the form: ${body.message}` : 'Please check the form.';
      case 'invalid_json':
      case 'too_large':
        return 'The server could not read the request. Please check the form.';
      default:
        if (status >= 500) {
          return 'The server had a problem. Please try again in a moment.';
        }
        return (body && body.message) || `Unexpected answer from the server (HTTP ${status}).`;
    }
  }

  /** POSTs JSON; resolves to {ok, status, body, retry_after}; network failures become status 0. */
  async function post_json(path, payload) {
    let res;
    try {
      res = await fetch(path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        credentials: 'same-origin',
        body: JSON.stringify(payload),
      });
    } catch (e) {
      return { ok: false, status: 0, body: null, retry_after: null };
    }
    let body = null;
    try {
      body = await res.json();
    } catch (e) {
      body = null;
    }
    return { ok: res.ok, status: res.status, body, retry_after: res.headers.get('Retry-After') };
  }

  function show_error(el, text) {
    el.textContent = text;
    el.hidden = !text;
  }

  function error_text(r) {
    if (r.status === 0) {
      return 'Cannot reach the server. Check your connection and try again.';
    }
    return describe_error(r.status, r.body, r.retry_after);
  }

  function set_busy(button, busy, idle_label, busy_label) {
    button.disabled = busy;
    button.textContent = busy ? busy_label : idle_label;
  }

  // -- tabs ------------------------------------------------------------------

  function select_tab(which) {
    const login = which === 'login';
    $('tab-login').classList.toggle('active', login);
    $('tab-register').classList.toggle('active', !login);
    $('tab-login').setAttribute('aria-selected', String(login));
    $('tab-register').setAttribute('aria-selected', String(!login));
    $('login-form').hidden = !login;
    $('register-form').hidden = login;
    (login ? $('login-username') : $('register-username')).focus();
  }

  // -- actions ---------------------------------------------------------------

  async function log_in(username, password) {
    return post_json('/api/login', { username, password });
  }

  async function on_login(ev) {
    ev.preventDefault();
    const err = $('login-error');
    const username = $('login-username').value.trim();
    const password = $('login-password').value;
    if (!username || !password) {
      show_error(err, 'Enter your username and password.');
      return;
    }
    show_error(err, '');
    set_busy($('login-submit'), true, 'Sign in', 'Signing in…');
    const r = await log_in(username, password);
    if (r.ok) {
      window.location.assign('/app');
      return;
    }
    set_busy($('login-submit'), false, 'Sign in', 'Signing in…');
    show_error(err, error_text(r));
    $('login-password').select();
  }

  async function on_register(ev) {
    ev.preventDefault();
    const err = $('register-error');
    const username = $('register-username').value.trim();
    const password = $('register-password').value;
    const full_name = $('register-full-name').value.trim();
    const email = $('register-email').value.trim();
    if (!/^[A-Za-z0-9_.-]{3,32}$/.test(username)) {
      show_error(err, 'A username is 3–32 letters, digits, "_", "." or "-".');
      return;
    }
    if (password.length < 8) {
      show_error(err, 'The password needs at least 8 characters.');
      return;
    }
    show_error(err, '');
    set_busy($('register-submit'), true, 'Create account', 'Creating…');
    const payload = { username, password };
    if (full_name) payload.full_name = full_name;
    if (email) payload.email = email;
    const r = await post_json('/api/register', payload);
    if (!r.ok) {
      set_busy($('register-submit'), false, 'Create account', 'Creating…');
      show_error(err, error_text(r));
      return;
    }
    // The account exists: sign in with it straight away.
    const l = await log_in(username, password);
    if (l.ok) {
      window.location.assign('/app');
      return;
    }
    set_busy($('register-submit'), false, 'Create account', 'Creating…');
    select_tab('login');
    $('login-username').value = username;
    show_error($('login-error'), `Account created, but signing in failed: ${error_text(l)}`);
  }

  /** If the cookie already holds a live session, offer to continue with it. */
  async function check_existing_session() {
    try {
      const res = await fetch('/api/me', { credentials: 'same-origin' });
      if (!res.ok) return;
      const me = await res.json();
      if (me && me.user && me.user.username) {
        $('already-user').textContent = me.user.username;
        $('already').hidden = false;
      }
    } catch (e) {
      // Not signed in, or the server is unreachable: the form says so on submit.
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('tab-login').addEventListener('click', () => select_tab('login'));
    $('tab-register').addEventListener('click', () => select_tab('register'));
    $('login-form').addEventListener('submit', on_login);
    $('register-form').addEventListener('submit', on_register);
    if (window.location.hash === '#register') {
      select_tab('register');
    } else {
      $('login-username').focus();
    }
    check_existing_session();
  });
})();
