"""Issue 14: the data subject's rights. GET /api/admin/users/{id}/export (everything solod
holds about an account) and POST /api/admin/users/{id}/erase (pseudonymize it), and
their command-line twins `solod user export NAME` and `solod user erase NAME`.

Each subject registers, gets attributes, logs in from an address and with a user agent
no one else uses (X-Forwarded-For from a trusted 127.0.0.1), fails a login, is
superseded, and holds a live WebSocket; an old failed login typed with its name in
upper case (no user id) is written into the audit log directly.

The export must hold exactly the audit rows with the user's id (compared with direct SQL
and with the admin's audit listing), exactly its sessions and its attributes. After an
erasure no row of login_logs or sessions holds the old username, address or user agent,
no row was added or removed but the session's end and the admin_action (which does not
name the old username), the old credentials no longer log in, and the WebSocket was
kicked (4003).
"""

import json
import os
import random
import re
import sys
import time
import uuid
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import unittest  # noqa: E402

from solod_harness import (SolodTestCase, WsClosed, add_admin_token,  # noqa: E402
                           insert_audit_rows, unique_name, wait_until, walk_pages, with_query)

PASSWORD = "subject-password-1"
CONFIG = {"limits": {"login_per_ip_per_minute": 100000, "lockout_threshold": 100000},
          "server": {"trusted_proxies": ["127.0.0.1/32"]},
          "legal_basis": {"login_failure": "legitimate_interests", "sessions": "contract"}}
USERS = "/api/admin/users"
PSEUDONYM_RE = re.compile(r"^erased-[0-9a-f]{16}$")
BASIS_KEYS = {"register", "login_success", "login_failure", "logout", "session_superseded",
              "session_terminated", "session_expired", "account_locked", "ws_auth_failure",
              "admin_action", "sessions"}
USER_KEYS = {"id", "username", "full_name", "email", "is_admin", "is_active", "created_at",
             "last_login", "erased"}
# Each subject also failed to log in long ago: once typed with its name in upper case before
# the account existed (no user id), once with its id.
PAST_FAILURE = "2026-11-30T10:15:00.000Z"


def ms(iso: str) -> int:
    t = datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return int(t.timestamp() * 1000 + 0.5)


class Subject:
    """One account with everything the tests look for afterwards."""

    def __init__(self, name, user_id, ip, ua, first, live, ws):
        self.name, self.id, self.ip, self.ua = name, user_id, ip, ua
        self.first, self.live, self.ws = first, live, ws

    @property
    def needles(self) -> list[str]:
        """What must not be left anywhere after the erasure (compared in lower case)."""
        return [self.name.lower(), self.ip.lower(), self.ua.lower()]


class DataSubjectTest(SolodTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.s = cls.class_server(CONFIG, start=False)
        cp = s.cli("migrate")
        assert cp.returncode == 0, cp.stdout + cp.stderr
        # For the statistics: an account that failed to log in during a closed hour,
        # written before solod starts (solod may cache closed hours from its start on).
        cls.stats_name = unique_name("dss")
        cp = s.cli("user", "add", cls.stats_name, "--password-stdin", stdin=PASSWORD + "\n")
        assert cp.returncode == 0, cp.stdout + cp.stderr
        cls.stats_id = s.query("SELECT id FROM users WHERE username = ?",
                               [cls.stats_name])[0]["id"]
        cls.stats_ip, cls.stats_ua = "198.19.14.14", f"stats-agent/{uuid.uuid4().hex}"
        insert_audit_rows(s.db_path, [
            {"timestamp": "2026-11-29T07:20:00.000Z", "event_type": "login_failure",
             "user_id": cls.stats_id, "username": cls.stats_name, "ip_address": cls.stats_ip,
             "user_agent": cls.stats_ua, "status": "failure", "error_message": "bad_password"},
            {"timestamp": "2026-11-29T07:40:00.000Z", "event_type": "login_failure",
             "user_id": None, "username": cls.stats_name.upper(), "ip_address": cls.stats_ip,
             "user_agent": cls.stats_ua, "status": "failure", "error_message": "unknown_user"}])
        s.start()
        cls.admin, cls.token = add_admin_token(s, "dsadm")
        cls.admin_id = cls.s.query("SELECT id FROM users WHERE username = ?", [cls.admin])[0]["id"]
        cls.rnd = random.Random()

    # -- set-up helpers ----------------------------------------------------------------------------

    def unused_ip(self) -> str:
        """An address that appears nowhere in the audit log or the sessions yet."""
        taken = " ".join(str(v) for table in ("login_logs", "sessions")
                         for r in self.s.query(f"SELECT ip_address FROM {table}") for v in r)
        for _ in range(100):
            ip = f"198.18.{self.rnd.randrange(256)}.{self.rnd.randrange(1, 255)}"
            if ip not in taken:
                return ip
        self.fail("no unused address")

    def subject(self, live_socket: bool = True) -> Subject:
        name = unique_name("dsv")
        r = self.s.register(name, PASSWORD, full_name="Data Subject",
                            email=f"{name}@example.org")
        self.assert_status(r, 201)
        ip, ua = self.unused_ip(), f"subject-agent/{uuid.uuid4().hex}"
        headers = {"X-Forwarded-For": ip, "User-Agent": ua}
        first = self.s.login_ok(name, PASSWORD, headers=headers)
        uid = first["user"]["id"]
        for attr, value in (("nickname", "subject"), ("level", 7), ("prefs", {"dark": True})):
            r = self.s.request("PUT", f"{USERS}/{uid}/attributes/{attr}", {"value": value},
                               token=self.token)
            self.assertIn(r.status, (200, 201), r)
        r = self.s.login(name, "wrong-password", headers=headers)
        self.assert_error(r, 401, "invalid_credentials")
        live = self.s.login_ok(name, PASSWORD, headers=headers)  # supersedes `first`
        insert_audit_rows(self.s.db_path, [
            # typed in another case before the account existed: no user id, the name only
            {"timestamp": PAST_FAILURE, "event_type": "login_failure", "user_id": None,
             "username": name.upper(), "ip_address": ip, "user_agent": ua,
             "status": "failure", "error_message": "unknown_user"},
            {"timestamp": PAST_FAILURE, "event_type": "login_failure", "user_id": uid,
             "username": name, "ip_address": ip, "user_agent": ua, "status": "failure",
             "error_message": "bad_password"},
        ])
        ws = None
        if live_socket:
            ws = self.s.ws(live["token"], headers={"X-Forwarded-For": ip, "User-Agent": ua})
            self.addCleanup(ws.close)
        # register, 2 logins, superseded, failure, 2 inserted: 7 rows with the name
        self.s.wait_rows("SELECT id FROM login_logs WHERE lower(username) = lower(?)", [name],
                         min_rows=7)
        self.settle()
        return Subject(name, uid, ip, ua, first, live, ws)

    def settle(self, quiet: float = 0.3, timeout: float = 5.0) -> None:
        """Waits (bounded) until no audit row has been added for `quiet` seconds: admin
        actions and session ends are audited asynchronously."""
        state = {"last": None, "since": time.monotonic()}

        def quiet_now():
            top = self.s.query("SELECT MAX(id) FROM login_logs")[0][0]
            if top != state["last"]:
                state["last"], state["since"] = top, time.monotonic()
            return time.monotonic() - state["since"] >= quiet
        wait_until(quiet_now, timeout)

    # -- views of the tables -------------------------------------------------------------------------

    def audit_rows_of(self, user_id: int) -> list[dict]:
        rows = self.s.query("SELECT * FROM login_logs WHERE user_id = ? "
                            "ORDER BY timestamp DESC, id DESC", [user_id])
        return [{"id": r["id"], "at": r["timestamp"], "event": r["event_type"],
                 "user_id": r["user_id"], "username": r["username"],
                 "session_id": r["session_id"], "ip": r["ip_address"],
                 "user_agent": r["user_agent"], "status": r["status"],
                 "detail": r["error_message"], "legal_basis": r["legal_basis"]} for r in rows]

    def sessions_of(self, user_id: int) -> list[dict]:
        rows = self.s.query("SELECT s.*, u.username FROM sessions s JOIN users u "
                            "ON u.id = s.user_id WHERE s.user_id = ? "
                            "ORDER BY s.login_ts DESC, s.id DESC", [user_id])
        return [{"id": r["id"], "user_id": r["user_id"], "username": r["username"],
                 "created_at": r["login_ts"], "ended_at": r["logout_ts"],
                 "duration_ms": None if r["logout_ts"] is None
                 else ms(r["logout_ts"]) - ms(r["login_ts"]),
                 "end_reason": r["end_reason"], "ip": r["ip_address"],
                 "user_agent": r["user_agent"], "legal_basis": r["legal_basis"]} for r in rows]

    def listed_user(self, name: str) -> dict:
        r = self.s.get(with_query(USERS, q=name), token=self.token)
        self.assert_status(r, 200)
        found = [u for u in r.json["users"] if u["username"] == name]
        self.assertEqual(len(found), 1, r.json)
        return found[0]

    def counts(self) -> tuple[int, int, int]:
        """(login_logs rows, sessions rows, the highest audit id)."""
        return (int(self.s.query("SELECT COUNT(*) FROM login_logs")[0][0]),
                int(self.s.query("SELECT COUNT(*) FROM sessions")[0][0]),
                int(self.s.query("SELECT MAX(id) FROM login_logs")[0][0]))

    def hits(self, table: str, needles: list[str], columns: tuple | None = None) -> list:
        """(table, column, value) of each text value of `table` holding one of `needles`
        (case-insensitively); `columns` limits the columns looked at."""
        out = []
        for row in self.s.query(f"SELECT * FROM {table}"):
            for key in row.keys():
                value = row[key]
                if (columns is None or key in columns) and isinstance(value, str) \
                        and any(n in value.lower() for n in needles):
                    out.append((table, key, value))
        return out

    def tables(self) -> list[str]:
        if self.s.pg is not None:
            rows = self.s.query("SELECT table_name AS name FROM information_schema.tables "
                                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'")
        else:
            rows = self.s.query("SELECT name FROM sqlite_master WHERE type = 'table' "
                                "AND name NOT LIKE 'sqlite_%'")
        return sorted(r["name"] for r in rows)

    def export(self, user_id: int) -> dict:
        r = self.s.get(f"{USERS}/{user_id}/export", token=self.token)
        self.assert_status(r, 200)
        self.assertIn("application/json", r.header("Content-Type", ""))
        self.assertEqual(r.header("Content-Disposition"),
                         f'attachment; filename="solod-user-{user_id}.json"')
        return r.json

    def erase(self, user_id: int, token: str | None = None):
        return self.s.post(f"{USERS}/{user_id}/erase", token=token or self.token)

    def assert_kicked(self, ws, timeout: float = 5.0) -> None:
        try:
            msg = ws.recv_until(lambda m: m.get("type") == "kicked", timeout=timeout)
        except WsClosed as closed:
            self.fail(f"closed with {closed.code} before a kicked message")
        except TimeoutError:
            self.fail(f"no kicked message within {timeout} s")
        self.assertEqual(msg.get("reason"), "admin", msg)
        self.assertEqual(ws.wait_closed(timeout), 4003)

    # -- export ------------------------------------------------------------------------------------

    def test_export_holds_everything_about_the_user(self):
        subj = self.subject()
        doc = self.export(subj.id)
        self.assertEqual(set(doc), {"format", "exported_at", "user", "attributes", "sessions",
                                    "audit", "legal_basis"})
        self.assertEqual(doc["format"], "solod-subject-export/1")
        self.assert_iso(doc["exported_at"])
        # the account
        self.assertEqual(set(doc["user"]), USER_KEYS)
        listed = self.listed_user(subj.name)
        self.assertEqual(doc["user"], {**{k: listed[k] for k in USER_KEYS - {"erased"}},
                                       "erased": False})
        self.assertEqual((doc["user"]["full_name"], doc["user"]["email"]),
                         ("Data Subject", f"{subj.name}@example.org"))
        # its attributes, as the admin API shows them
        r = self.s.get(f"{USERS}/{subj.id}/attributes", token=self.token)
        self.assertEqual(doc["attributes"], r.json["attributes"])
        self.assertEqual({a["name"] for a in doc["attributes"]}, {"nickname", "level", "prefs"})
        # every session of the account, newest first
        self.assertEqual(doc["sessions"], self.sessions_of(subj.id))
        self.assertEqual([s["id"] for s in doc["sessions"]],
                         [subj.live["session"]["id"], subj.first["session"]["id"]])
        self.assertEqual({s["legal_basis"] for s in doc["sessions"]}, {"contract"})
        # exactly the audit rows with its id: the SQL and the admin's listing agree
        self.assertEqual(doc["audit"], self.audit_rows_of(subj.id))
        pages = walk_pages(self.s, "/api/admin/audit", "events", self.token, limit=1000,
                           user=subj.name)
        listed_ids = [e["id"] for page in pages for e in page if e["user_id"] == subj.id]
        self.assertEqual([e["id"] for e in doc["audit"]], listed_ids)
        by_name = [e for page in pages for e in page if e["user_id"] is None]
        self.assertEqual(len(by_name), 1, "the failure typed in upper case is in the log")
        self.assertNotIn(by_name[0]["id"], {e["id"] for e in doc["audit"]},
                         "a row without the user's id is not the user's")
        events = sorted(e["event"] for e in doc["audit"])
        self.assertEqual(events, ["login_failure", "login_failure", "login_success",
                                  "login_success", "register", "session_superseded"])
        # each row carries the basis configured for its type when it was written (the row
        # inserted here has the column's default)
        self.assertEqual({e["legal_basis"] for e in doc["audit"]
                          if e["event"] == "login_failure" and e["at"] != PAST_FAILURE},
                         {"legitimate_interests"})
        self.assertEqual({e["legal_basis"] for e in doc["audit"] if e["event"] != "login_failure"},
                         {"legal_obligation"})
        self.assertEqual(doc["legal_basis"], {**{k: "legal_obligation" for k in BASIS_KEYS},
                                              "login_failure": "legitimate_interests",
                                              "sessions": "contract"})

    def test_export_is_audited_and_for_admins_only(self):
        subj = self.subject(live_socket=False)
        before = self.counts()[2]
        ua = "solod-e2e-admin/1.0 (export)"
        r = self.s.get(f"{USERS}/{subj.id}/export", token=self.token, headers={"User-Agent": ua})
        self.assert_status(r, 200)
        rows = self.s.wait_rows("SELECT * FROM login_logs WHERE id > ? AND event_type = "
                                "'admin_action'", [before])
        self.assertEqual([(r["username"], r["user_id"], r["status"], r["error_message"],
                           r["user_agent"]) for r in rows],
                         [(self.admin, self.admin_id, "success", f"export user id {subj.id}", ua)])
        # not for anyone else
        self.assert_error(self.s.get(f"{USERS}/{subj.id}/export"), 401, "unauthorized")
        r = self.s.get(f"{USERS}/{subj.id}/export", token=subj.live["token"])
        self.assert_error(r, 403, "forbidden")
        top = int(self.s.query("SELECT MAX(id) FROM users")[0][0])
        for missing in (top + 1000, 0, "abc", "1x"):
            with self.subTest(user_id=missing):
                self.assert_error(self.s.get(f"{USERS}/{missing}/export", token=self.token),
                                  404, "not_found")
        r = self.s.post(f"{USERS}/{subj.id}/export", {}, token=self.token)
        self.assert_error(r, 405, "method_not_allowed")

    # -- erase -------------------------------------------------------------------------------------

    def assert_erased(self, subj: Subject, result: dict, before: tuple[int, int, int],
                      detail: str | None = None) -> str:
        """Everything the contract says of an erased account; returns the pseudonym.
        `detail`: the admin action's text (None: only that it says `id N as PSEUDONYM`)."""
        self.assertEqual(set(result), {"erased"})
        erased = result["erased"]
        self.assertEqual(set(erased), {"user_id", "pseudonym", "sessions", "audit_rows"})
        p = erased["pseudonym"]
        self.assertRegex(p, PSEUDONYM_RE)
        self.assertEqual(erased["user_id"], subj.id)
        # the live session ended first: token refused, the socket kicked
        refused = wait_until(lambda: self.s.me(subj.live["token"]).status == 401, 5)
        self.assertTrue(refused, "the token still works after the erasure")
        if subj.ws is not None:
            self.assert_kicked(subj.ws)
        row = self.s.wait_rows("SELECT * FROM sessions WHERE id = ? AND logout_ts IS NOT NULL",
                               [subj.live["session"]["id"]])
        self.assertEqual(row[0]["end_reason"], "admin")
        self.settle()
        # rows are kept: only the session's end and the admin action were added
        logs, sessions, _ = self.counts()
        new = self.s.query("SELECT * FROM login_logs WHERE id > ? ORDER BY id", [before[2]])
        self.assertEqual(sorted(r["event_type"] for r in new),
                         ["admin_action", "session_terminated"],
                         [(r["event_type"], r["error_message"]) for r in new])
        self.assertEqual((logs, sessions), (before[0] + 2, before[1]))
        # the admin action names the id and the pseudonym, never the old name
        action = [r for r in new if r["event_type"] == "admin_action"][0]
        if detail is not None:
            self.assertEqual(action["error_message"], detail.format(id=subj.id, p=p))
        self.assertIn(f"id {subj.id} as {p}", action["error_message"])
        self.assertEqual(action["status"], "success")
        # the user's rows (those there before, and the session's end) hold the pseudonym
        mine = self.s.query("SELECT * FROM login_logs WHERE user_id = ? AND (id <= ? OR "
                            "event_type = 'session_terminated')", [subj.id, before[2]])
        self.assertGreaterEqual(len(mine), 6)
        for r in mine:
            self.assertEqual((r["username"], r["ip_address"] in (p, ""),
                              r["user_agent"] in (p, "")), (p, True, True), dict(r))
        by_name = self.s.query("SELECT * FROM login_logs WHERE user_id IS NULL AND "
                               "timestamp = ? AND username = ?", [PAST_FAILURE, p])
        self.assertEqual(len(by_name), 1, "the failure typed with the old name is renamed")
        self.assertEqual((by_name[0]["ip_address"], by_name[0]["user_agent"]), (p, p))
        self.assertEqual(erased["audit_rows"], int(self.s.query(
            "SELECT COUNT(*) FROM login_logs WHERE username = ? AND NOT (id > ? AND "
            "event_type = 'admin_action')", [p, before[2]])[0][0]),
            "every row renamed (the session's end included)")
        srows = self.s.query("SELECT * FROM sessions WHERE user_id = ?", [subj.id])
        self.assertEqual(erased["sessions"], len(srows))
        self.assertEqual(len(srows), 2)
        for r in srows:
            self.assertEqual((r["ip_address"], r["user_agent"]), (p, p))
        # in login_logs and sessions: no old name, address or user agent in those columns
        found = self.hits("login_logs", subj.needles, ("username", "ip_address", "user_agent"))
        found += self.hits("sessions", subj.needles, ("ip_address", "user_agent"))
        self.assertEqual(found, [])
        # the account is a tombstone
        u = self.s.query("SELECT * FROM users WHERE id = ?", [subj.id])[0]
        self.assertEqual((u["username"], u["full_name"], u["email"], u["is_active"]),
                         (p, "", "", 0))
        self.assertEqual(self.s.query("SELECT * FROM user_attributes WHERE user_id = ?",
                                      [subj.id]), [])
        listed = self.listed_user(p)
        self.assertEqual((listed["erased"], listed["is_active"], listed["full_name"],
                          listed["email"]), (True, False, "", ""))
        self.assertEqual(self.s.get(with_query(USERS, q=subj.name), token=self.token)
                         .json["users"], [])
        # the old credentials (and the pseudonym with the old password) log in no more
        self.assert_error(self.s.login(subj.name, PASSWORD), 401, "invalid_credentials")
        self.assert_error(self.s.login(p, PASSWORD), 401, "invalid_credentials")
        return p

    def test_erase(self):
        subj = self.subject()
        before = self.counts()
        r = self.erase(subj.id)
        self.assert_status(r, 200)
        p = self.assert_erased(subj, r.json, before, "erase user id {id} as {p}")
        action = self.s.query("SELECT * FROM login_logs WHERE id > ? AND event_type = "
                              "'admin_action'", [before[2]])[0]
        self.assertEqual((action["username"], action["user_id"]), (self.admin, self.admin_id))
        # the audit shows the erasure, under the admin's name
        pages = walk_pages(self.s, "/api/admin/audit", "events", self.token, limit=1000,
                           user=self.admin, event="admin_action")
        details = [e["detail"] for page in pages for e in page]
        self.assertIn(f"erase user id {subj.id} as {p}", details)
        # what the export says now
        doc = self.export(subj.id)
        self.assertEqual((doc["user"]["username"], doc["user"]["erased"], doc["attributes"]),
                         (p, True, []))
        self.assertEqual(doc["audit"], self.audit_rows_of(subj.id))
        text = json.dumps(doc).lower()
        for needle in subj.needles:
            self.assertNotIn(needle, text)

    def test_erase_leaves_no_trace_in_any_column(self):
        """Every text column of every row of login_logs and sessions, the admin actions'
        details included (an attribute set, a session ended by an admin, a profile
        change named the account)."""
        subj = self.subject(live_socket=False)
        self.assert_status(self.s.request("PATCH", f"{USERS}/{subj.id}",
                                          {"full_name": "Renamed Subject"}, token=self.token), 200)
        self.assert_status(self.s.request(
            "DELETE", f"/api/admin/sessions/{subj.live['session']['id']}", token=self.token), 204)
        again = self.s.login_ok(subj.name, PASSWORD, headers={"X-Forwarded-For": subj.ip,
                                                              "User-Agent": subj.ua})
        self.settle()
        self.assertTrue(self.hits("login_logs", [subj.name.lower()], ("error_message",)),
                        "admin actions named the account before")
        r = self.erase(subj.id)
        self.assert_status(r, 200)
        self.assertTrue(wait_until(lambda: self.s.me(again["token"]).status == 401, 5))
        self.settle()
        self.assertEqual(self.hits("login_logs", subj.needles), [])
        self.assertEqual(self.hits("sessions", subj.needles), [])

    def test_erase_leaves_no_copy_in_other_tables(self):
        """Beyond login_logs and sessions: the users row, attributes, the cluster's
        connection and news tables, the webhook outbox and the statistics cache hold
        nothing of the old account once the erasure is answered (polled 5 s, for the
        connection table)."""
        subj = self.subject()
        r = self.erase(subj.id)
        self.assert_status(r, 200)
        self.assert_kicked(subj.ws)

        def leftovers():
            return [h for t in self.tables() for h in self.hits(t, subj.needles)]
        wait_until(lambda: not leftovers(), 5)
        self.assertEqual(leftovers(), [])

    def test_statistics_forget_the_old_name(self):
        """The statistics count the rows as they are: once an erasure renamed the failures,
        the top lists name the pseudonym, also for an hour solod has cached."""
        name, ip = self.stats_name, self.stats_ip
        # an hour that only this account's two failures are in
        rng = {"from": "2026-11-29T07:00:00.000Z", "to": "2026-11-29T08:00:00.000Z",
               "bucket": "hour"}

        def tops():
            r = self.s.get(with_query("/api/admin/stats", **rng), token=self.token)
            self.assert_status(r, 200)
            return r.json["top_failing_users"], r.json["top_failing_ips"]
        before = ([{"username": name, "failures": 2}], [{"ip": ip, "failures": 2}])
        self.assertEqual(tops(), before)
        self.assertEqual(tops(), before, "asked again (cached)")
        r = self.erase(self.stats_id)
        self.assert_status(r, 200)
        p = r.json["erased"]["pseudonym"]
        self.assertEqual(tops(), ([{"username": p, "failures": 2}], [{"ip": p, "failures": 2}]))
        self.assertEqual(tops(), ([{"username": p, "failures": 2}], [{"ip": p, "failures": 2}]),
                         "asked again")
        found = [h for table in self.tables() if table.startswith("stats")
                 for h in self.hits(table, [name.lower(), ip, self.stats_ua.lower()])]
        self.assertEqual(found, [], "the statistics cache forgot the old values")

    def test_erase_refusals(self):
        subj = self.subject(live_socket=False)
        r = self.erase(subj.id, token=subj.live["token"])
        self.assert_error(r, 403, "forbidden")
        self.assert_error(self.s.post(f"{USERS}/{subj.id}/erase"), 401, "unauthorized")
        self.assertEqual(self.listed_user(subj.name)["erased"], False, "nothing happened")
        top = int(self.s.query("SELECT MAX(id) FROM users")[0][0])
        for missing in (top + 1000, 0, "abc"):
            with self.subTest(user_id=missing):
                self.assert_error(self.erase(missing), 404, "not_found")
        # one's own account: refused, and the admin stays an admin
        self.assert_error(self.erase(self.admin_id), 400, "invalid_input")
        self.assert_status(self.s.get(USERS, token=self.token), 200)
        self.assertEqual(self.s.query("SELECT username FROM users WHERE id = ?",
                                      [self.admin_id])[0]["username"], self.admin)
        # a second erasure
        self.assert_status(self.erase(subj.id), 200)
        self.assert_error(self.erase(subj.id), 409, "already_erased")
        r = self.s.get(f"{USERS}/{subj.id}/erase", token=self.token)
        self.assert_error(r, 405, "method_not_allowed")

    # -- the command line ---------------------------------------------------------------------------

    def test_cli_export_is_the_http_export(self):
        subj = self.subject(live_socket=False)
        cp = self.s.cli("user", "export", subj.name)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        cli = json.loads(cp.stdout)
        self.settle()
        http = self.export(subj.id)
        self.assert_iso(cli["exported_at"])
        cli.pop("exported_at")
        http.pop("exported_at")
        self.assertEqual(cli, http)
        cp = self.s.cli("user", "export", unique_name("nobody"))
        self.assertNotIn(cp.returncode, (0, None), cp.stdout + cp.stderr)

    def test_cli_erase(self):
        subj = self.subject()
        before = self.counts()
        cp = self.s.cli("user", "erase", subj.name)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        result = json.loads(cp.stdout)
        p = self.assert_erased(subj, result, before)
        # no such user any more under the old name, nor ever under a new one
        for name in (subj.name, p, unique_name("nobody")):
            with self.subTest(name=name):
                cp = self.s.cli("user", "erase", name)
                self.assertNotIn(cp.returncode, (0, None), cp.stdout + cp.stderr)
        self.assert_error(self.erase(subj.id), 409, "already_erased")


if __name__ == "__main__":
    unittest.main(verbosity=2)
