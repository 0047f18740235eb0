"""SPEC §3 admin rows: who may call /api/admin/*, users (list, create, patch) and sessions
(list with filters and cursor paging, end one), CSRF, and the audit trail of admin actions.

The audit log listing, its CSV export and `solod audit export` are in test_admin_audit.py;
retention is in test_retention.py.
"""

import datetime
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import unittest  # noqa: E402

from solod_harness import (HEX128_RE, SolodTestCase, WsClosed, add_admin,  # noqa: E402
                           add_admin_token, iso_now, unique_name, wait_until, walk_pages,
                           with_query)

PASSWORD = "user-password-1"
# No rate limit or lockout in the way of the loops; X-Forwarded-For from the test
# process is believed, so logins can come "from" any address.
CONFIG = {"limits": {"login_per_ip_per_minute": 100000, "lockout_threshold": 100000},
          "server": {"trusted_proxies": ["127.0.0.1/32"]}}

USERS = "/api/admin/users"
SESSIONS = "/api/admin/sessions"
AUDIT = "/api/admin/audit"
AUDIT_CSV = "/api/admin/audit.csv"
FOREIGN_ORIGIN = "https://evil.example.net"


def duration_ms(login_ts: str, logout_ts: str | None) -> int | None:
    """A session's length in ms from its stored stamps; None while live."""
    if logout_ts is None:
        return None
    parse = lambda t: datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ")  # noqa: E731
    return round((parse(logout_ts) - parse(login_ts)).total_seconds() * 1000)


def admin_endpoints(user_id: int, session_id: str) -> list[tuple[str, str, object]]:
    """Every admin row of SPEC §3 as (method, path, body), with harmless bodies."""
    return [
        ("GET", USERS, None),
        ("POST", USERS, {"username": unique_name("x"), "password": PASSWORD}),
        ("PATCH", f"{USERS}/{user_id}", {"full_name": "Changed By Intruder"}),
        ("GET", SESSIONS, None),
        ("DELETE", f"{SESSIONS}/{session_id}", None),
        ("GET", AUDIT, None),
        ("GET", AUDIT_CSV, None),
        ("GET", "/api/admin/stats", None),
        ("GET", "/api/admin/sessions.csv", None),
        ("GET", f"{USERS}/{user_id}/export", None),
        ("POST", f"{USERS}/{user_id}/erase", None),
    ]


class AdminCase(SolodTestCase):
    """Shared helpers: audit rows of admin actions, kicked WebSockets, SQL views of the tables."""

    s = None  # the class server

    def admin_action_rows(self, admin: str, detail: str, status: str = "success",
                          min_rows: int = 1) -> list:
        """Waits for `admin_action` rows of `admin` with error_message `detail`."""
        return self.s.wait_rows(
            "SELECT * FROM login_logs WHERE event_type = 'admin_action' AND username = ? "
            "AND error_message = ? AND status = ?", [admin, detail, status], min_rows=min_rows)

    def assert_admin_action(self, admin: str, detail: str, status: str = "success",
                            user_agent: str | None = None, count: int = 1) -> None:
        """There are exactly `count` admin_action rows of `admin` saying `detail`."""
        rows = self.admin_action_rows(admin, detail, status, min_rows=count)
        self.assertEqual(len(rows), count, f"admin_action rows {detail!r} by {admin} "
                                           f"({status}); all of {admin}: {self.details_of(admin)}")
        if user_agent is not None:
            self.assertEqual(rows[-1]["user_agent"], user_agent)
        self.assertEqual(rows[-1]["legal_basis"], "legal_obligation")

    def details_of(self, username: str) -> list[tuple]:
        return [tuple(r) for r in self.s.query(
            "SELECT event_type, status, error_message FROM login_logs WHERE username = ? "
            "ORDER BY id", [username])]

    def assert_kicked(self, ws, reason: str = "admin", code: int = 4003) -> None:
        """`ws` is told {"type":"kicked","reason":reason} and then closed with `code`."""
        try:
            msg = ws.recv_until(lambda m: m.get("type") == "kicked", timeout=10)
        except WsClosed as closed:
            self.fail(f"closed with {closed.code} before a kicked message")
        except TimeoutError:
            self.fail("no kicked message within 10 s")
        self.assertEqual(msg.get("reason"), reason, msg)
        self.assertEqual(ws.wait_closed(10), code)

    def assert_token_refused(self, token: str) -> None:
        """`token` gets 401 unauthorized on /api/me.

        PATCH answers without waiting for the session end it triggers (DELETE does
        wait), so a request sent the instant the 200 arrives can still pass now and
        then; this waits (bounded) for the refusal instead of asserting it at once."""
        r = wait_until(lambda: (lambda r: r if r.status == 401 else None)(self.s.me(token)), 5)
        self.assertIsNotNone(r, "the token still works 5 s after its session was ended")
        self.assert_error(r, 401, "unauthorized")

    def session_row(self, session_id: str):
        rows = self.s.query("SELECT * FROM sessions WHERE id = ?", [session_id])
        self.assertEqual(len(rows), 1, f"no sessions row {session_id}")
        return rows[0]

    def wait_session_ended(self, session_id: str, reason: str):
        rows = self.s.wait_rows("SELECT * FROM sessions WHERE id = ? AND logout_ts IS NOT NULL",
                                [session_id])
        self.assertEqual(len(rows), 1, f"session {session_id} not ended")
        self.assertEqual(rows[0]["end_reason"], reason)
        return rows[0]

    def logged_in_user(self, sockets: int = 2, headers: dict | None = None):
        """A fresh user, logged in, with `sockets` WebSockets on the session;
        returns (name, user id, login body, websockets)."""
        name, pw = self.s.new_user(PASSWORD)
        body = self.s.login_ok(name, pw, headers=headers)
        wss = [self.s.ws(body["token"]) for _ in range(sockets)]
        for ws in wss:
            self.addCleanup(ws.close)
        self.wait_published(body["session"]["id"], sockets)
        return name, body["user"]["id"], body, wss

    def wait_published(self, sid: str, sockets: int):
        """The admin lists count connections from the cluster's table, which the
        cluster actor writes a few milliseconds after a connect or close."""
        self.assertTrue(wait_until(lambda: self.s.query(
            "SELECT COUNT(*) AS n FROM cluster_connections WHERE session_id = ?",
            [sid])[0]["n"] == sockets), f"{sockets} connections of {sid} never published")


# -- who may call the admin API -----------------------------------------------------------------

class AdminAccessTest(AdminCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s = cls.class_server(CONFIG)
        cls.admin, cls.token = add_admin_token(cls.s)

    def test_first_admin_from_cli_can_use_every_endpoint(self):
        name, _, body, _ = self.logged_in_user(sockets=0)
        sid = body["session"]["id"]
        r = self.s.get(USERS, token=self.token)
        self.assert_status(r, 200)
        self.assertIn(self.admin, [u["username"] for u in r.json["users"]])
        me = [u for u in r.json["users"] if u["username"] == self.admin][0]
        self.assert_user(me, self.admin)
        self.assertIs(me["is_admin"], True)
        self.assert_status(self.s.get(SESSIONS, token=self.token), 200)
        self.assert_status(self.s.get(AUDIT, token=self.token), 200)
        self.assert_status(self.s.get(AUDIT_CSV, token=self.token), 200)
        self.assert_status(self.s.request("PATCH", f"{USERS}/{body['user']['id']}",
                                          {"email": "x@example.org"}, token=self.token), 200)
        r = self.s.request("DELETE", f"{SESSIONS}/{sid}", token=self.token)
        self.assert_status(r, 204)
        r = self.s.post(USERS, {"username": unique_name("c"), "password": PASSWORD},
                        token=self.token)
        self.assert_status(r, 201)

    def test_admin_by_cookie(self):
        r = self.s.get(USERS, cookie=self.token)
        self.assert_status(r, 200)

    def test_no_or_bad_token_is_401(self):
        _, uid, body, _ = self.logged_in_user(sockets=0)
        # an admin token whose session has ended (logout) is as bad as none
        ended_admin, pw = add_admin(self.s, "ended")
        ended_token = self.s.login_ok(ended_admin, pw)["token"]
        self.assert_status(self.s.logout(ended_token), 204)
        bad = {"none": {}, "garbage bearer": {"token": "not-a-jwt"},
               "garbage cookie": {"cookie": "abc.def.ghi"},
               "ended admin session": {"token": ended_token}}
        for method, path, payload in admin_endpoints(uid, body["session"]["id"]):
            for label, auth in bad.items():
                with self.subTest(method=method, path=path, auth=label):
                    r = self.s.request(method, path, payload, **auth)
                    self.assert_error(r, 401, "unauthorized")
        # nothing happened: the user's session is still live, no user was created
        self.assert_status(self.s.me(body["token"]), 200)
        self.assertIsNone(self.session_row(body["session"]["id"])["logout_ts"])

    def test_non_admin_is_403_and_each_denial_is_audited(self):
        victim, victim_id, victim_body, _ = self.logged_in_user(sockets=0)
        intruder, _, body, _ = self.logged_in_user(sockets=0)
        endpoints = admin_endpoints(victim_id, victim_body["session"]["id"])
        for method, path, payload in endpoints:
            with self.subTest(method=method, path=path):
                r = self.s.request(method, path + ("?limit=5" if method == "GET" else ""),
                                   payload, token=body["token"])
                self.assert_error(r, 403, "forbidden")
        for method, path, _ in endpoints:
            with self.subTest(audit=f"{method} {path}"):
                rows = self.admin_action_rows(intruder, f"denied: {method} {path}", "failure")
                self.assertEqual(len(rows), 1, self.details_of(intruder))
                self.assertEqual(rows[0]["user_id"], body["user"]["id"])
                self.assertEqual(rows[0]["ip_address"], "127.0.0.1")
                self.assertEqual(rows[0]["user_agent"], "solod-e2e/1.0")
        # the denied requests changed nothing
        self.assert_status(self.s.me(victim_body["token"]), 200)
        self.assertIsNone(self.session_row(victim_body["session"]["id"])["logout_ts"])
        rows = self.s.query("SELECT full_name FROM users WHERE id = ?", [victim_id])
        self.assertEqual(rows[0]["full_name"], "")
        created = endpoints[1][2]["username"]
        self.assertEqual(self.s.query("SELECT id FROM users WHERE lower(username) = ?",
                                      [created.lower()]), [])
        # and the admin sees the denials through the API too
        r = self.s.get(with_query(AUDIT, user=intruder, event="admin_action"), token=self.token)
        self.assert_status(r, 200)
        self.assertEqual(sorted(e["detail"] for e in r.json["events"]),
                         sorted(f"denied: {m} {p}" for m, p, _ in endpoints))

    def test_unknown_admin_path_and_wrong_method(self):
        self.assert_error(self.s.get("/api/admin/nothing-here", token=self.token), 404,
                          "not_found")
        r = self.s.request("PUT", USERS, {"username": "abc"}, token=self.token)
        self.assertEqual(r.status, 405, r)
        r = self.s.request("POST", SESSIONS, {}, token=self.token)
        self.assertEqual(r.status, 405, r)

    # -- CSRF ------------------------------------------------------------------------------------

    def test_cross_site_writes_are_refused(self):
        target, target_id, body, _ = self.logged_in_user(sockets=0)
        new_name = unique_name("csrf")
        same_host = f"http://{self.s.host}:{self.s.port}"
        foreign = [FOREIGN_ORIGIN, "null", f"http://{self.s.host}:{self.s.port + 1}",
                   f"http://evil.{self.s.host}:{self.s.port}"]
        writes = [("POST", USERS, {"username": new_name, "password": PASSWORD}),
                  ("PATCH", f"{USERS}/{target_id}", {"is_active": False}),
                  ("DELETE", f"{SESSIONS}/{body['session']['id']}", None)]
        for origin in foreign:
            for method, path, payload in writes:
                for auth in ({"cookie": self.token}, {"token": self.token}):
                    with self.subTest(origin=origin, method=method, auth=list(auth)[0]):
                        r = self.s.request(method, path, payload, headers={"Origin": origin},
                                           **auth)
                        self.assert_error(r, 403, "forbidden")
                        self.assertEqual(r.json["message"], "cross-site request refused")
        # nothing happened
        self.assertEqual(self.s.query("SELECT id FROM users WHERE lower(username) = ?",
                                      [new_name.lower()]), [])
        self.assert_status(self.s.me(body["token"]), 200)
        rows = self.s.query("SELECT is_active FROM users WHERE id = ?", [target_id])
        self.assertEqual(rows[0]["is_active"], 1)
        # the same host as origin is a normal request
        r = self.s.request("PATCH", f"{USERS}/{target_id}", {"full_name": "Same Origin"},
                           headers={"Origin": same_host}, cookie=self.token)
        self.assert_status(r, 200)
        self.assertEqual(r.json["user"]["full_name"], "Same Origin")
        r = self.s.request("POST", USERS, {"username": new_name, "password": PASSWORD},
                           headers={"Origin": same_host}, cookie=self.token)
        self.assert_status(r, 201)
        r = self.s.request("DELETE", f"{SESSIONS}/{body['session']['id']}",
                           headers={"Origin": same_host}, cookie=self.token)
        self.assert_status(r, 204)

    def test_allowed_origins(self):
        s = self.server({**CONFIG, "server": {**CONFIG["server"],
                                              "allowed_origins": ["https://admin.example.org"]}})
        _, token = add_admin_token(s)
        body = {"username": unique_name("ao"), "password": PASSWORD}
        r = s.post(USERS, body, headers={"Origin": FOREIGN_ORIGIN}, token=token)
        self.assert_error(r, 403, "forbidden")
        self.assertEqual(r.json["message"], "cross-site request refused")
        r = s.post(USERS, body, headers={"Origin": "https://admin.example.org"}, token=token)
        self.assert_status(r, 201)


# -- users ----------------------------------------------------------------------------------------

class UsersTest(AdminCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s = cls.class_server(CONFIG)
        cls.admin, cls.token = add_admin_token(cls.s)

    def create(self, body, **kw):
        return self.s.post(USERS, body, token=self.token, **kw)

    def insert_users(self, rows: list[dict]) -> None:
        """Users straight into the database (no Argon2 for each): listing needs no password."""
        conn = self.s.db()
        try:
            conn.execute("BEGIN IMMEDIATE")
            for row in rows:
                conn.execute("INSERT INTO users (username, password_hash, full_name, email, "
                             "created_at) VALUES (?, 'not-a-hash', ?, ?, ?)",
                             [row["username"], row.get("full_name", ""), row.get("email", ""),
                              iso_now()])
            conn.execute("COMMIT")
        finally:
            conn.close()

    def list_users(self, **params):
        r = self.s.get(with_query(USERS, **params), token=self.token)
        self.assert_status(r, 200, str(params))
        self.assertEqual(set(r.json), {"users", "total"})
        self.assertIsInstance(r.json["total"], int)
        for u in r.json["users"]:
            self.assert_user(u)
        return r.json

    def all_users_sql(self) -> list:
        return self.s.query("SELECT id, username, full_name, email FROM users ORDER BY id")

    # -- create -----------------------------------------------------------------------------

    def test_create_user(self):
        name = unique_name("Made")
        ua = "solod-e2e-admin/1.0 (create)"
        r = self.create({"username": name, "password": PASSWORD, "full_name": "Made By Admin",
                         "email": "made@example.org"}, headers={"User-Agent": ua})
        self.assert_status(r, 201)
        self.assertIn("application/json", r.header("Content-Type", ""))
        user = r.json["user"]
        self.assert_user(user, name)
        self.assertEqual(user["username"], name)
        self.assertEqual((user["full_name"], user["email"]), ("Made By Admin", "made@example.org"))
        self.assertIs(user["is_admin"], False)
        self.assertIs(user["is_active"], True)
        self.assertIsNone(user["last_login"])
        self.assert_admin_action(self.admin, f"create user {name} (id {user['id']})",
                                 user_agent=ua)
        # the new user can log in with that password, and is no admin
        login = self.s.login_ok(name.lower(), PASSWORD)
        self.assertEqual(login["user"]["id"], user["id"])
        self.assert_error(self.s.get(USERS, token=login["token"]), 403, "forbidden")

    def test_create_admin(self):
        name = unique_name("boss")
        r = self.create({"username": name, "password": PASSWORD, "is_admin": True})
        self.assert_status(r, 201)
        self.assertIs(r.json["user"]["is_admin"], True)
        # the detail names the user and its id (and may say it is an admin)
        rows = self.s.wait_rows(
            "SELECT * FROM login_logs WHERE event_type = 'admin_action' AND username = ? "
            "AND error_message LIKE ?", [self.admin, f"create user {name} (id {r.json['user']['id']}%"])
        self.assertEqual(len(rows), 1, self.details_of(self.admin))
        token = self.s.login_ok(name, PASSWORD)["token"]
        self.assert_status(self.s.get(USERS, token=token), 200)

    def test_create_username_taken(self):
        name = unique_name("Dup")
        self.assert_status(self.create({"username": name, "password": PASSWORD}), 201)
        for variant in (name, name.lower(), name.upper()):
            with self.subTest(variant=variant):
                self.assert_error(self.create({"username": variant, "password": PASSWORD}),
                                  409, "username_taken")
        # also against a self-registered user
        other, _ = self.s.new_user(PASSWORD)
        self.assert_error(self.create({"username": other.upper(), "password": PASSWORD}),
                          409, "username_taken")
        rows = self.s.query("SELECT COUNT(*) FROM users WHERE lower(username) = ?", [name.lower()])
        self.assertEqual(rows[0][0], 1)

    def test_create_bad_input(self):
        tag = uuid.uuid4().hex[:8]
        good = {"username": "ok" + tag, "password": PASSWORD}
        bad = [
            {"password": PASSWORD},
            {"username": "nopw" + tag},
            {**good, "username": "ab"},
            {**good, "username": "a" * 33},
            {**good, "username": "bad name" + tag},
            {**good, "username": 12345},
            {**good, "password": "short"},
            {**good, "password": "p" * 1025},
            {**good, "password": 123456789},
            {**good, "is_admin": "yes"},
            {**good, "is_admin": 1},
            {**good, "full_name": 5},
            {**good, "email": ["x@example.org"]},
            [good],
            "just a string",
        ]
        for body in bad:
            with self.subTest(body=body):
                r = self.s.post(USERS, body if not isinstance(body, str) else '"just a string"',
                                token=self.token)
                self.assert_error(r, 400, "invalid_input")
        for raw in ("{", "{'username': 'x'}", "", "nul"):
            with self.subTest(raw=raw):
                self.assert_error(self.s.post(USERS, raw, token=self.token), 400, "invalid_json")
        rows = self.s.query("SELECT username FROM users WHERE username LIKE ?", [f"%{tag}%"])
        self.assertEqual([tuple(r) for r in rows], [])

    # -- list ----------------------------------------------------------------------------

    def test_search_matches_name_full_name_and_email_case_insensitively(self):
        tag = "Zq" + uuid.uuid4().hex[:6]
        rows = [
            {"username": f"a{tag}x".lower()},
            {"username": f"B{tag.upper()}"},
            {"username": unique_name("fn"), "full_name": f"Jo {tag} Doe"},
            {"username": unique_name("em"), "email": f"{tag.lower()}@example.org"},
            {"username": unique_name("no"), "full_name": "Nothing Here", "email": "n@x.org"},
            {"username": unique_name("pc"), "full_name": "100% sure_thing"},
        ]
        self.insert_users(rows)
        everything = self.all_users_sql()
        for q in (tag, tag.lower(), tag.upper(), tag[2:5], "%", "_", "100%", "sure_t",
                  "@example.org", "no-such-" + tag):
            with self.subTest(q=q):
                expected = [r["id"] for r in everything
                            if any(q.lower() in (r[k] or "").lower()
                                   for k in ("username", "full_name", "email"))]
                got = self.list_users(q=q, limit=1000)
                self.assertEqual(sorted(u["id"] for u in got["users"]), sorted(expected))
                self.assertEqual(got["total"], len(expected))
        got = self.list_users(q=tag)
        self.assertEqual(got["total"], 4)
        self.assertEqual({u["username"] for u in got["users"]}, {r["username"] for r in rows[:4]})

    def test_limit_offset_and_total(self):
        tag = "pg" + uuid.uuid4().hex[:6]
        self.insert_users([{"username": f"{tag}{i:03d}"} for i in range(60)])
        expected = [r["id"] for r in self.s.query(
            "SELECT id FROM users WHERE username LIKE ? ORDER BY id", [f"{tag}%"])]
        self.assertEqual(len(expected), 60)
        first = self.list_users(q=tag)
        self.assertEqual(len(first["users"]), 50, "default limit is 50")
        self.assertEqual(first["total"], 60)
        for limit in (1, 7, 60, 1000):
            with self.subTest(limit=limit):
                seen = []
                for offset in range(0, 70, limit):
                    page = self.list_users(q=tag, limit=limit, offset=offset)
                    self.assertEqual(page["total"], 60)
                    self.assertLessEqual(len(page["users"]), limit)
                    seen += [u["id"] for u in page["users"]]
                self.assertEqual(len(seen), len(set(seen)), "a user on two pages")
                self.assertEqual(sorted(seen), expected)
        beyond = self.list_users(q=tag, offset=60)
        self.assertEqual((beyond["users"], beyond["total"]), ([], 60))
        everyone = self.list_users(limit=1000)
        self.assertEqual(everyone["total"], len(self.all_users_sql()))

    def test_list_bad_parameters(self):
        for params in ({"limit": 0}, {"limit": 1001}, {"limit": -1}, {"limit": "ten"},
                       {"limit": "5x"}, {"offset": -1}, {"offset": "x"}):
            with self.subTest(params=params):
                r = self.s.get(with_query(USERS, **params), token=self.token)
                self.assert_error(r, 400, "invalid_input")
        self.assertEqual(len(self.list_users(limit=1)["users"]), 1)


# -- PATCH /api/admin/users/{id} -------------------------------------------------------------------

class PatchUserTest(AdminCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s = cls.class_server(CONFIG)
        cls.admin, cls.token = add_admin_token(cls.s)

    def patch(self, user_id, body, **kw):
        return self.s.request("PATCH", f"{USERS}/{user_id}", body, token=self.token, **kw)

    def test_disable_kicks_live_session_and_enable_allows_login_again(self):
        name, uid, body, wss = self.logged_in_user(sockets=2)
        sid = body["session"]["id"]
        ua = "solod-e2e-admin/1.0 (disable)"
        r = self.patch(uid, {"is_active": False}, headers={"User-Agent": ua})
        self.assert_status(r, 200)
        self.assert_user(r.json["user"], name)
        self.assertIs(r.json["user"]["is_active"], False)
        self.assert_token_refused(body["token"])
        for ws in wss:
            self.assert_kicked(ws, "admin", 4003)
        self.wait_session_ended(sid, "admin")
        rows = self.s.wait_rows("SELECT * FROM login_logs WHERE event_type = 'session_terminated' "
                                "AND session_id = ?", [sid])
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["user_id"], uid)
        self.assert_admin_action(self.admin, f"update user {name} (id {uid}): disable",
                                 user_agent=ua)
        # disabled: even the right password is refused, like any bad login
        self.assert_error(self.s.login(name, PASSWORD), 401, "invalid_credentials")
        self.assertEqual(self.s.query("SELECT COUNT(*) FROM sessions WHERE user_id = ? AND "
                                      "logout_ts IS NULL", [uid])[0][0], 0)
        # enabled again: logs in as before
        r = self.patch(uid, {"is_active": True})
        self.assert_status(r, 200)
        self.assertIs(r.json["user"]["is_active"], True)
        self.assert_admin_action(self.admin, f"update user {name} (id {uid}): enable")
        again = self.s.login_ok(name, PASSWORD)
        self.assert_status(self.s.me(again["token"]), 200)
        ws = self.s.ws(again["token"])
        self.addCleanup(ws.close)

    def test_disable_without_live_session(self):
        name, pw = self.s.new_user(PASSWORD)
        uid = self.s.query("SELECT id FROM users WHERE username = ?", [name])[0]["id"]
        self.assert_status(self.patch(uid, {"is_active": False}), 200)
        self.assert_error(self.s.login(name, pw), 401, "invalid_credentials")
        self.assertEqual(self.s.query("SELECT COUNT(*) FROM sessions WHERE user_id = ?", [uid])[0][0], 0)

    def test_password_change_kicks_and_only_the_new_password_works(self):
        name, uid, body, wss = self.logged_in_user(sockets=2)
        sid = body["session"]["id"]
        new_pw = "brand-new-password-2"
        r = self.patch(uid, {"password": new_pw})
        self.assert_status(r, 200)
        self.assert_user(r.json["user"], name)
        self.assertIs(r.json["user"]["is_active"], True)
        self.assert_token_refused(body["token"])
        for ws in wss:
            self.assert_kicked(ws, "admin", 4003)
        self.wait_session_ended(sid, "admin")
        self.assertEqual(len(self.s.wait_rows(
            "SELECT 1 FROM login_logs WHERE event_type = 'session_terminated' AND session_id = ?",
            [sid])), 1)
        self.assert_admin_action(self.admin, f"update user {name} (id {uid}): set-password")
        self.assertNotIn(new_pw, str(self.details_of(self.admin)), "password in the audit log")
        self.assert_error(self.s.login(name, PASSWORD), 401, "invalid_credentials")
        again = self.s.login_ok(name, new_pw)
        self.assert_status(self.s.me(again["token"]), 200)

    def test_make_admin_and_revoke(self):
        name, uid, body, _ = self.logged_in_user(sockets=1)
        token = body["token"]
        self.assert_error(self.s.get(USERS, token=token), 403, "forbidden")
        r = self.patch(uid, {"is_admin": True})
        self.assert_status(r, 200)
        self.assertIs(r.json["user"]["is_admin"], True)
        self.assert_admin_action(self.admin, f"update user {name} (id {uid}): make-admin")
        # the same live session now passes: no new login needed, nothing was kicked
        r = self.s.get(USERS, token=token)
        self.assert_status(r, 200)
        self.assert_status(self.s.get(AUDIT, token=token), 200)
        r = self.s.post(USERS, {"username": unique_name("bynew"), "password": PASSWORD},
                        token=token)
        self.assert_status(r, 201)
        self.assert_admin_action(name, f"create user {r.json['user']['username']} "
                                       f"(id {r.json['user']['id']})")
        # revoked: the next call is refused (and audited), the session itself lives on
        r = self.patch(uid, {"is_admin": False})
        self.assert_status(r, 200)
        self.assertIs(r.json["user"]["is_admin"], False)
        self.assert_admin_action(self.admin, f"update user {name} (id {uid}): revoke-admin")
        self.assert_error(self.s.get(USERS, token=token), 403, "forbidden")
        self.assert_admin_action(name, f"denied: GET {USERS}", "failure", count=2)
        self.assert_status(self.s.me(token), 200)

    def test_full_name_and_email(self):
        name, uid, body, wss = self.logged_in_user(sockets=1)
        r = self.patch(uid, {"full_name": "Ada Lovelace", "email": "ada@example.org"})
        self.assert_status(r, 200)
        self.assertEqual((r.json["user"]["full_name"], r.json["user"]["email"]),
                         ("Ada Lovelace", "ada@example.org"))
        self.assert_admin_action(self.admin, f"update user {name} (id {uid}): edit-profile")
        r = self.patch(uid, {"email": "lovelace@example.org"})
        self.assert_admin_action(self.admin, f"update user {name} (id {uid}): edit-profile",
                                 count=2)
        self.assert_status(r, 200)
        self.assertEqual((r.json["user"]["full_name"], r.json["user"]["email"]),
                         ("Ada Lovelace", "lovelace@example.org"), "only the given field changes")
        r = self.patch(uid, {"full_name": ""})
        self.assert_status(r, 200)
        self.assertIn(r.json["user"]["full_name"], ("", None))
        listed = self.s.get(with_query(USERS, q="lovelace@example"), token=self.token).json
        self.assertEqual([u["id"] for u in listed["users"]], [uid])
        # a profile edit does not end the session
        self.assert_status(self.s.me(body["token"]), 200)
        wss[0].send_json({"type": "ping", "id": 1})
        self.assertEqual(wss[0].recv_json(timeout=10)["type"], "pong")
        # several changes in one PATCH are described together
        r = self.patch(uid, {"is_admin": True, "full_name": "Countess"})
        self.assert_status(r, 200)
        self.assert_admin_action(self.admin,
                                 f"update user {name} (id {uid}): make-admin edit-profile")

    def test_patch_errors(self):
        name, uid, body, _ = self.logged_in_user(sockets=0)
        bad = [{"is_active": "false"}, {"is_active": 0}, {"is_admin": 1}, {"is_admin": None},
               {"password": 12345678}, {"password": "short"}, {"password": "p" * 1025},
               {"full_name": 5}, {"email": ["a@b.c"]}, {"username": "renamed"},
               {"is_active": False, "bogus": 1}, {"password": "long-enough-1", "id": 7},
               [{"is_active": False}], "false"]
        for patch in bad:
            with self.subTest(body=patch):
                r = self.patch(uid, patch if not isinstance(patch, str) else "false")
                self.assert_error(r, 400, "invalid_input")
        for raw in ("{", "{is_active: false}", "nul"):
            with self.subTest(raw=raw):
                self.assert_error(self.patch(uid, raw), 400, "invalid_json")
        # none of it was applied: still active, still logged in with the old password
        row = self.s.query("SELECT is_active, is_admin, username FROM users WHERE id = ?", [uid])[0]
        self.assertEqual((row["is_active"], row["is_admin"], row["username"]), (1, 0, name))
        self.assert_status(self.s.me(body["token"]), 200)
        self.assertEqual(self.details_of(self.admin).count(
            ("admin_action", "success", f"update user {name} (id {uid}): disable")), 0)
        top = self.s.query("SELECT MAX(id) FROM users")[0][0]
        for missing in (top + 1000, 0, -1, "abc", "1x"):
            with self.subTest(user_id=missing):
                self.assert_error(self.patch(missing, {"full_name": "Nobody"}), 404, "not_found")


# -- sessions ---------------------------------------------------------------------------------------

SESSION_KEYS = {"id", "user_id", "username", "created_at", "ended_at", "end_reason", "ip",
                "user_agent", "connections", "duration_ms", "legal_basis"}
IP_A, IP_B, IP_V6 = "198.51.100.7", "203.0.113.9", "2001:db8::42"


class SessionsTest(AdminCase):
    """Sessions of several users from several addresses, some ended, some with WebSockets."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.s = cls.class_server(CONFIG)
        cls.admin, cls.token = add_admin_token(s)
        cls.sockets = []
        cls.alice, cls.bob, cls.carol = s.new_users(3, PASSWORD, prefix="ses")

        def login(name, ip, ua):
            return s.login_ok(name, PASSWORD, headers={"X-Forwarded-For": ip, "User-Agent": ua})
        cls.t0 = cls.between()
        login(cls.alice, IP_A, "alice-browser/1")
        login(cls.bob, IP_B, "bob-browser/1")
        cls.t1 = cls.between()
        login(cls.alice, IP_B, "alice-browser/2")
        bob = login(cls.bob, IP_V6, "bob-browser/2")
        s.logout(bob["token"])
        cls.t2 = cls.between()
        cls.alice_live = login(cls.alice, IP_V6, "alice-browser/3")
        cls.carol_live = login(cls.carol, IP_A, "carol-browser/1")
        cls.t3 = cls.between()
        for body, n in ((cls.alice_live, 2), (cls.carol_live, 1)):
            for _ in range(n):
                cls.sockets.append(s.ws(body["token"]))
        cls.expected_connections = {cls.alice_live["session"]["id"]: 2,
                                    cls.carol_live["session"]["id"]: 1}
        # Ended sessions that all began in the same millisecond: paging must break ties.
        cls.tied_at = "2026-01-02T03:04:05.678Z"
        conn = s.db()
        try:
            uid = conn.execute("SELECT id FROM users WHERE username = ?", [cls.carol]).fetchone()[0]
            conn.execute("BEGIN IMMEDIATE")
            for i in range(11):
                conn.execute("INSERT INTO sessions (id, user_id, login_ts, logout_ts, end_reason, "
                             "ip_address, user_agent, last_seen, expires_at) VALUES "
                             "(?, ?, ?, ?, 'logout', ?, 'tied/1', ?, ?)",
                             [uuid.uuid4().hex, uid, cls.tied_at, "2026-01-02T04:00:00.000Z",
                              IP_A, cls.tied_at, "2026-01-03T03:04:05.678Z"])
            conn.execute("COMMIT")
        finally:
            conn.close()

    @classmethod
    def tearDownClass(cls):
        for ws in getattr(cls, "sockets", []):
            ws.close()
        super().tearDownClass()

    @staticmethod
    def between() -> str:
        """A time strictly between the sessions before and after it."""
        time.sleep(0.02)
        t = iso_now()
        time.sleep(0.02)
        return t

    def sessions_sql(self, active=None, user=None, ip=None, from_=None, to=None) -> list[dict]:
        """What the listing must return, straight from the tables, newest login
        first (active: True live only, False ended only, None all)."""
        sql = ("SELECT s.id, s.user_id, u.username, s.login_ts, s.logout_ts, s.end_reason, "
               "s.ip_address, s.user_agent, s.legal_basis FROM sessions s "
               "JOIN users u ON u.id = s.user_id WHERE 1 = 1")
        args = []
        if active is not None:
            sql += " AND s.logout_ts IS NULL" if active else " AND s.logout_ts IS NOT NULL"
        for cond, value in ((" AND lower(u.username) = lower(?)", user),
                            (" AND s.ip_address = ?", ip), (" AND s.login_ts >= ?", from_),
                            (" AND s.login_ts < ?", to)):
            if value is not None:
                sql += cond
                args.append(value)
        rows = self.s.query(sql + " ORDER BY s.login_ts DESC, s.id DESC", args)
        return [{"id": r["id"], "user_id": r["user_id"], "username": r["username"],
                 "created_at": r["login_ts"], "ended_at": r["logout_ts"],
                 "end_reason": r["end_reason"], "ip": r["ip_address"],
                 "user_agent": r["user_agent"], "legal_basis": r["legal_basis"],
                 "duration_ms": duration_ms(r["login_ts"], r["logout_ts"]),
                 "connections": self.expected_connections.get(r["id"], 0)
                 if r["logout_ts"] is None else 0} for r in rows]

    def without_connection_list(self, rows: list[dict]) -> list[dict]:
        """Checks each row's connection_list (one entry per connection, with
        the node holding it) against its count, and drops it for comparison."""
        for row in rows:
            conns = row.pop("connection_list")
            self.assertEqual(len(conns), row["connections"], row["id"])
            for c in conns:
                self.assertEqual(set(c), {"id", "node", "ip", "connected_at"})
                self.assertEqual(len(c["node"]), 16)
        return rows

    def listing(self, limit=1000, **params) -> list[dict]:
        pages = walk_pages(self.s, SESSIONS, "sessions", self.token, limit=limit, **params)
        for page in pages[:-1]:
            self.assertEqual(len(page), limit, "only the last page may be short")
        return self.without_connection_list([row for page in pages for row in page])

    def test_shape_order_and_connections(self):
        r = self.s.get(SESSIONS, token=self.token)
        self.assert_status(r, 200)
        self.assertEqual(set(r.json), {"sessions", "next_cursor"})
        rows = self.listing()
        for row in rows:
            self.assertEqual(set(row), SESSION_KEYS, row)
            self.assertRegex(row["id"], HEX128_RE)
            self.assert_iso(row["created_at"])
            if row["ended_at"] is not None:
                self.assert_iso(row["ended_at"])
                self.assertIsInstance(row["end_reason"], str)
        self.assertEqual(rows, self.sessions_sql())
        by_id = {row["id"]: row for row in rows}
        alice = by_id[self.alice_live["session"]["id"]]
        self.assertEqual((alice["username"], alice["ip"], alice["user_agent"], alice["connections"],
                          alice["ended_at"], alice["end_reason"]),
                         (self.alice, IP_V6, "alice-browser/3", 2, None, None))
        ended = [row for row in rows if row["username"] == self.bob]
        self.assertEqual([row["end_reason"] for row in ended], ["logout", "superseded"])

    def test_filters(self):
        cases = {
            "active": dict(active="true"),
            "active=false": dict(active="false"),
            "user": dict(user=self.alice.upper()),
            "user+active": dict(user=self.alice, active="true"),
            "ip": dict(ip=IP_A),
            "ipv6": dict(ip=IP_V6),
            "from": dict(from_=self.t1),
            "to": dict(to=self.t2),
            "from+to": dict(from_=self.t1, to=self.t2),
            "user+ip+from": dict(user=self.bob, ip=IP_V6, from_=self.t0),
            "nothing": dict(user="nobody-" + uuid.uuid4().hex[:6]),
            "future": dict(from_="2999-01-01T00:00:00.000Z"),
        }
        for label, f in cases.items():
            with self.subTest(label):
                params = {("from" if k == "from_" else k): v for k, v in f.items()}
                sql = dict(f)
                if sql.get("active") is not None:
                    sql["active"] = sql["active"] == "true"
                # Sockets closed by other tests leave the table a moment later:
                # the same snapshot once both reads agree.
                pair = wait_until(lambda: (lambda e, l: (e, l) if e == l else None)(
                    self.sessions_sql(**sql), self.listing(**params)))
                if pair is None:
                    self.assertEqual(self.listing(**params), self.sessions_sql(**sql))
        # sanity of the data itself
        self.assertEqual([r["username"] for r in self.listing(active="true", ip=IP_A)],
                         [self.carol])
        self.assertEqual(len(self.listing(user=self.alice, **{"from": self.t0, "to": self.t3})), 3)

    def test_cursor_paging_has_no_gaps_or_repeats(self):
        for limit in (1, 2, 3, 7):
            for params in ({}, {"ip": IP_A}, {"user": self.carol}, {"active": "true"},
                           {"from": self.t0}):
                with self.subTest(limit=limit, **params):
                    rows = self.listing(limit=limit, **params)
                    ids = [r["id"] for r in rows]
                    self.assertEqual(len(ids), len(set(ids)), "a session on two pages")
                    sql = {("from_" if k == "from" else k): v for k, v in params.items()}
                    if "active" in sql:
                        sql["active"] = True
                    self.assertEqual(ids, [r["id"] for r in self.sessions_sql(**sql)])
        tied = [r for r in self.listing(limit=3) if r["created_at"] == self.tied_at]
        self.assertEqual(len(tied), 11)

    def test_next_cursor_null_on_last_page(self):
        total = len(self.sessions_sql())
        r = self.s.get(with_query(SESSIONS, limit=total + 1), token=self.token)
        self.assert_status(r, 200)
        self.assertEqual(len(r.json["sessions"]), total)
        self.assertIsNone(r.json["next_cursor"])
        r = self.s.get(with_query(SESSIONS, limit=1), token=self.token)
        self.assertIsInstance(r.json["next_cursor"], str)

    def test_default_limit_is_50(self):
        conn = self.s.db()
        try:
            conn.execute("BEGIN IMMEDIATE")
            uid = conn.execute("INSERT INTO users (username, password_hash, created_at) "
                               "VALUES (?, 'x', ?)", [unique_name("old"), iso_now()]).lastrowid
            for i in range(60):
                at = f"2025-02-01T00:00:{i:02d}.000Z"
                conn.execute("INSERT INTO sessions (id, user_id, login_ts, logout_ts, end_reason, "
                             "ip_address, user_agent, last_seen, expires_at) VALUES "
                             "(?, ?, ?, ?, 'logout', ?, 'old/1', ?, ?)",
                             [uuid.uuid4().hex, uid, at, at, IP_B, at, at])
            conn.execute("COMMIT")
        finally:
            conn.close()
        r = self.s.get(SESSIONS, token=self.token)
        self.assert_status(r, 200)
        self.assertEqual(self.without_connection_list(r.json["sessions"]), self.sessions_sql()[:50])
        self.assertIsInstance(r.json["next_cursor"], str)

    def test_bad_parameters(self):
        for params in ({"active": "yes"}, {"limit": 0}, {"limit": 1001}, {"limit": "x"},
                       {"cursor": "not-a-cursor"}, {"cursor": "%%%"}, {"from": "yesterday"},
                       {"to": "2026-13-01T00:00:00.000Z"}):
            with self.subTest(params=params):
                r = self.s.get(with_query(SESSIONS, **params), token=self.token)
                self.assert_error(r, 400)

    def test_delete_session(self):
        name, uid, body, wss = self.logged_in_user(sockets=2)
        sid = body["session"]["id"]
        listed = self.listing(user=name, active="true")
        self.assertEqual([(r["id"], r["connections"]) for r in listed], [(sid, 2)])
        ua = "solod-e2e-admin/1.0 (end session)"
        r = self.s.request("DELETE", f"{SESSIONS}/{sid}", token=self.token,
                           headers={"User-Agent": ua})
        self.assert_status(r, 204)
        self.assertEqual(r.body, b"")
        # ended when answered
        self.assert_error(self.s.me(body["token"]), 401, "unauthorized")
        for ws in wss:
            self.assert_kicked(ws, "admin", 4003)
        row = self.wait_session_ended(sid, "admin")
        self.assertIsNotNone(row["logout_ts"])
        events = self.s.wait_rows("SELECT * FROM login_logs WHERE event_type = "
                                  "'session_terminated' AND session_id = ?", [sid])
        self.assertEqual(len(events), 1)
        self.assertEqual((events[0]["user_id"], events[0]["username"]), (uid, name))
        self.assert_admin_action(self.admin, f"end session {sid[:8]} of {name} (id {uid})", user_agent=ua)
        self.assertEqual(self.listing(user=name, active="true"), [])
        self.wait_published(sid, 0)
        ended = self.listing(user=name)
        self.assertEqual([(r["id"], r["end_reason"], r["connections"]) for r in ended],
                         [(sid, "admin", 0)])
        # a second time, and sessions that are not live, are 404
        self.assert_error(self.s.request("DELETE", f"{SESSIONS}/{sid}", token=self.token), 404,
                          "not_found")
        superseded = self.sessions_sql(user=self.alice)[-1]
        self.assertEqual(superseded["end_reason"], "superseded")
        for missing in (uuid.uuid4().hex, superseded["id"], "x"):
            with self.subTest(session=missing):
                r = self.s.request("DELETE", f"{SESSIONS}/{missing}", token=self.token)
                self.assert_error(r, 404, "not_found")
        self.assertEqual(self.session_row(superseded["id"])["end_reason"], "superseded")
        self.assertEqual(len(self.admin_action_rows(self.admin, f"end session {sid[:8]} of {name} (id {uid})")), 1)
        # the user can simply log in again
        self.s.login_ok(name, PASSWORD)


if __name__ == "__main__":
    unittest.main(verbosity=2)
