"""Issue 14: GET /api/admin/stats, login statistics per UTC hour or UTC day.

The database is seeded while solod is stopped (`solod migrate`, then rows written straight
into login_logs and sessions: several hundred audit rows and sessions around a UTC
midnight, the European DST switch of 2026-10-25 01:00 UTC and the edges of the ranges
asked for), then solod starts with TZ=Europe/Berlin, so that any local-time arithmetic
shows. Every bucket of every answer is compared with what direct SQL on the same
database says: events by type, failures by reason, kicks, new sessions; peak_live is
computed here from the sessions rows by the contract's definition (a session is live on
[login_ts, logout_ts), ends before starts at one instant, the count at the bucket's start
included). Each range is asked twice (the second answer may come from solod's cache).
"""

import os
import random
import sys
import uuid
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import unittest  # noqa: E402

from solod_harness import (SolodTestCase, add_admin, insert_audit_rows, iso_at,  # noqa: E402
                           iso_now, unique_name, wait_until, with_query)

STATS = "/api/admin/stats"
PASSWORD = "stats-password-1"
CONFIG = {"limits": {"login_per_ip_per_minute": 100000, "lockout_threshold": 100000},
          "auth": {"idle_timeout": "366d"},
          "server": {"trusted_proxies": ["127.0.0.1/32"]}}
# A zone with a DST switch inside the seeded data: solod must count in UTC whatever TZ says.
ENV = {"TZ": "Europe/Berlin"}
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
UTC = timezone.utc

FAILURE_REASONS = ["bad_password", "unknown_user", "locked", "disabled", "rate_limited"]
KICK_EVENTS = {"superseded": "session_superseded", "terminated": "session_terminated",
               "expired": "session_expired"}
OTHER_EVENTS = ["login_success", "logout", "register", "account_locked", "ws_auth_failure",
                "admin_action", "session_superseded", "session_terminated", "session_expired"]
# Instants the ranges below start, end or cross at.
EDGES = ["2026-10-23T20:59:59.999Z", "2026-10-23T21:00:00.000Z",
         "2026-10-23T23:59:59.999Z", "2026-10-24T00:00:00.000Z",
         "2026-10-24T10:29:59.999Z", "2026-10-24T10:30:00.000Z",
         "2026-10-24T10:59:59.999Z", "2026-10-24T11:00:00.000Z",
         "2026-10-24T14:14:59.999Z", "2026-10-24T14:15:00.000Z",
         "2026-10-24T22:00:00.000Z",  # midnight in Berlin (CEST)
         "2026-10-25T00:59:59.999Z", "2026-10-25T01:00:00.000Z",  # the DST switch
         "2026-10-25T01:30:00.000Z", "2026-10-25T02:00:00.000Z",
         "2026-10-25T23:00:00.000Z",  # midnight in Berlin (CET)
         "2026-10-25T23:59:59.999Z", "2026-10-26T00:00:00.000Z",
         "2026-10-28T23:59:59.999Z", "2026-10-29T00:00:00.000Z"]
SEED_FROM = datetime(2026, 10, 19, tzinfo=UTC)
SEED_TO = datetime(2026, 10, 31, tzinfo=UTC)


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def bucket_bounds(frm: datetime, to: datetime, size: str) -> list[tuple[str, str]]:
    """The contract's buckets: aligned to UTC hours or days, the first and last clipped."""
    out = []
    start = frm
    while start < to:
        if size == "hour":
            edge = start.replace(minute=0, second=0, microsecond=0) + HOUR
        else:
            edge = start.replace(hour=0, minute=0, second=0, microsecond=0) + DAY
        end = min(edge, to)
        out.append((iso_at(start), iso_at(end)))
        start = end
    return out


def random_instant(rnd: random.Random) -> str:
    span_ms = int((SEED_TO - SEED_FROM).total_seconds() * 1000)
    return iso_at(SEED_FROM + timedelta(milliseconds=rnd.randrange(span_ms)))


def shift(iso: str, **delta) -> str:
    return iso_at(parse_iso(iso) + timedelta(**delta))


class StatsTest(SolodTestCase):
    """One seeded server for every range; the tests only read."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.s = cls.class_server(CONFIG, env=ENV, start=False)
        cp = s.cli("migrate")
        assert cp.returncode == 0, cp.stdout + cp.stderr
        cls.admin, _ = add_admin(s, "stadm", PASSWORD)
        cls.seed()
        s.start()
        cls.token = s.login_ok(cls.admin, PASSWORD)["token"]
        cls.user, _ = s.new_user(PASSWORD, prefix="stusr")
        cls.user_token = s.login_ok(cls.user, PASSWORD)["token"]

    # -- the data -------------------------------------------------------------------------------

    @classmethod
    def seed(cls) -> None:
        rnd = random.Random(14)
        conn = cls.s.db()
        try:
            conn.execute("BEGIN IMMEDIATE")
            user_ids = []
            for i in range(14):
                cur = conn.execute("INSERT INTO users (username, password_hash, created_at) "
                                   "VALUES (?, 'not-a-hash', ?)",
                                   [unique_name(f"st{i:02d}"), "2026-10-01T00:00:00.000Z"])
                user_ids.append(cur.lastrowid)
            for row in cls.session_rows(rnd, user_ids):
                conn.execute("INSERT INTO sessions (id, user_id, login_ts, logout_ts, end_reason, "
                             "ip_address, user_agent, last_seen, expires_at) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            conn.execute("COMMIT")
        finally:
            conn.close()
        insert_audit_rows(cls.s.db_path, cls.audit_rows(rnd))

    @staticmethod
    def session_rows(rnd: random.Random, user_ids: list[int]) -> list[list]:
        """Each user's sessions one after the other (one live session per user at most),
        the users' chains overlapping; some end exactly when the next begins, some last
        0 ms, some start or end on the edges, two are still live."""
        rows = []
        now = iso_now()
        for n, uid in enumerate(user_ids):
            t = SEED_FROM + timedelta(minutes=rnd.randrange(0, 7 * 24 * 60))
            edges = [parse_iso(e) for e in EDGES]
            for k in range(rnd.randrange(12, 30)):
                if rnd.random() < 0.3:  # start on an edge when one is near
                    ahead = [e for e in edges if t <= e <= t + 12 * HOUR]
                    if ahead:
                        t = ahead[0]
                choice = rnd.random()
                if choice < 0.1:
                    length = timedelta(0)
                elif choice < 0.25:
                    length = HOUR
                else:
                    length = timedelta(milliseconds=rnd.randrange(1, 10 * 3600 * 1000))
                end = t + length
                if rnd.random() < 0.2:  # end on an edge when one is within the session
                    inside = [e for e in edges if t <= e <= end]
                    if inside:
                        end = inside[-1]
                if end >= SEED_TO:
                    break
                reason = rnd.choice(["superseded", "logout", "admin", "expired"])
                rows.append([uuid.uuid4().hex, uid, iso_at(t), iso_at(end), reason,
                             f"192.0.2.{n}", f"stats-ua/{n}.{k}", iso_at(end),
                             iso_at(end + DAY)])
                gap = rnd.choice([timedelta(0), timedelta(0), timedelta(milliseconds=1),
                                  timedelta(minutes=rnd.randrange(1, 600))])
                t = end + gap
            if n < 2:  # still live: restored by solod at start, live through every range
                rows.append([uuid.uuid4().hex, uid, iso_at(t), None, None, f"192.0.2.{n}",
                             f"stats-ua/{n}.live", now, "2099-01-01T00:00:00.000Z"])
        # one that ends as another begins, on the partial-hour edge
        rows.append([uuid.uuid4().hex, user_ids[-1], "2026-10-24T09:00:00.000Z",
                     "2026-10-24T10:30:00.000Z", "logout", "192.0.2.99", "edge/1",
                     "2026-10-24T10:30:00.000Z", "2026-10-25T10:30:00.000Z"])
        rows.append([uuid.uuid4().hex, user_ids[-2], "2026-10-24T10:30:00.000Z",
                     "2026-10-24T14:15:00.000Z", "superseded", "192.0.2.98", "edge/2",
                     "2026-10-24T14:15:00.000Z", "2026-10-25T10:30:00.000Z"])
        return rows

    @staticmethod
    def audit_rows(rnd: random.Random) -> list[dict]:
        """~900 audit rows: failures from a skewed set of addresses and names (some
        typed in another case, some with neither), and every other event type; a few
        at each edge."""
        ips = [f"198.51.100.{i}" for i in range(1, 16)] + ["2001:db8::7", "10.0.0.9",
                                                            "10.0.0.10"]
        ip_weights = [30, 22, 18, 15, 12, 10, 9, 8, 7, 7, 6, 5, 5, 4, 3, 3, 2, 2]
        names = ["mallory", "Mallory", "MALLORY", "eve", "Eve", "trent", "oscar", "peggy",
                 "victor", "walter", "sybil", "judy", "ivan", "heidi", "grace", "frank"]
        name_weights = [20, 8, 4, 15, 5, 12, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]
        times = [random_instant(rnd) for _ in range(800)]
        for edge in EDGES:
            times += [edge] * rnd.randrange(1, 4)
        rows = []
        for at in times:
            if rnd.random() < 0.5:
                ip = rnd.choices(ips, ip_weights)[0] if rnd.random() > 0.05 else ""
                name = rnd.choices(names, name_weights)[0] if rnd.random() > 0.05 else ""
                rows.append({"timestamp": at, "event_type": "login_failure", "username": name,
                             "ip_address": ip, "status": "failure",
                             "error_message": rnd.choices(FAILURE_REASONS,
                                                          [50, 30, 10, 6, 4])[0]})
            else:
                event = rnd.choice(OTHER_EVENTS)
                rows.append({"timestamp": at, "event_type": event,
                             "username": rnd.choice(names), "ip_address": rnd.choice(ips),
                             "session_id": uuid.uuid4().hex,
                             "error_message": "seeded" if event == "admin_action" else ""})
        return rows

    # -- what the answer must be -----------------------------------------------------------------

    def count_by(self, sql: str, args: list) -> dict:
        return {r[0]: int(r[1]) for r in self.s.query(sql, args) if int(r[1]) > 0}

    def peak_live(self, sessions: list, start: str, end: str) -> int:
        """The most sessions live at one instant of [start, end): the count can only rise
        at a login, so the instants to look at are `start` and the logins inside."""
        def live_at(t: str) -> int:
            return sum(1 for login, logout in sessions
                       if login <= t and (logout is None or logout > t))
        instants = [start] + [login for login, _ in sessions if start <= login < end]
        return max(live_at(t) for t in instants)

    def top(self, column: str, label: str, frm: str, to: str) -> list[dict]:
        counts = self.count_by(
            f"SELECT {column}, COUNT(*) FROM login_logs WHERE event_type = 'login_failure' "
            f"AND {column} <> '' AND timestamp >= ? AND timestamp < ? GROUP BY {column}",
            [frm, to])
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
        return [{label: k, "failures": n} for k, n in ordered]

    def expected(self, frm: str, to: str, size: str) -> dict:
        sessions = [(r["login_ts"], r["logout_ts"]) for r in
                    self.s.query("SELECT login_ts, logout_ts FROM sessions")]
        buckets = []
        for start, end in bucket_bounds(parse_iso(frm), parse_iso(to), size):
            events = self.count_by("SELECT event_type, COUNT(*) FROM login_logs WHERE "
                                   "timestamp >= ? AND timestamp < ? GROUP BY event_type",
                                   [start, end])
            failures = self.count_by(
                "SELECT error_message, COUNT(*) FROM login_logs WHERE event_type = "
                "'login_failure' AND timestamp >= ? AND timestamp < ? GROUP BY error_message",
                [start, end])
            kicks = {k: int(self.s.query("SELECT COUNT(*) FROM login_logs WHERE event_type = ? "
                                         "AND timestamp >= ? AND timestamp < ?",
                                         [event, start, end])[0][0])
                     for k, event in KICK_EVENTS.items()}
            new = int(self.s.query("SELECT COUNT(*) FROM sessions WHERE login_ts >= ? AND "
                                   "login_ts < ?", [start, end])[0][0])
            buckets.append({"start": start, "end": end, "events": events, "failures": failures,
                            "kicks": kicks, "new_sessions": new,
                            "peak_live": self.peak_live(sessions, start, end)})
        return {"from": frm, "to": to, "bucket": size, "buckets": buckets,
                "top_failing_ips": self.top("ip_address", "ip", frm, to),
                "top_failing_users": self.top("lower(username)", "username", frm, to)}

    def stats(self, **params) -> dict:
        r = self.s.get(with_query(STATS, **params), token=self.token)
        self.assert_status(r, 200, str(params))
        self.assertIn("application/json", r.header("Content-Type", ""))
        return r.json

    def assert_stats(self, frm: str, to: str, size: str, query: dict | None = None) -> dict:
        """Asks twice (the second may be cached) and compares both with the SQL."""
        query = query if query is not None else {"from": frm, "to": to, "bucket": size}
        first = self.stats(**query)
        second = self.stats(**query)
        want = self.expected(frm, to, size)
        for got, label in ((first, "first"), (second, "second")):
            with self.subTest(answer=label, **query):
                self.assertEqual({k: got[k] for k in ("from", "to", "bucket")},
                                 {k: want[k] for k in ("from", "to", "bucket")})
                self.assertEqual([(b["start"], b["end"]) for b in got["buckets"]],
                                 [(b["start"], b["end"]) for b in want["buckets"]],
                                 "the buckets' bounds")
                for g, w in zip(got["buckets"], want["buckets"]):
                    self.assertEqual(g, w, f"bucket {w['start']}..{w['end']}")
                self.assertEqual(got["top_failing_ips"], want["top_failing_ips"])
                self.assertEqual(got["top_failing_users"], want["top_failing_users"])
                self.assertEqual(got, want)
        self.assertEqual(first, second, "the cached answer differs from the first")
        return want

    # -- the ranges ----------------------------------------------------------------------------

    def test_hourly_across_utc_midnight(self):
        want = self.assert_stats("2026-10-23T21:00:00.000Z", "2026-10-24T03:00:00.000Z", "hour")
        self.assertEqual(len(want["buckets"]), 6)
        self.assertTrue(any(b["events"] for b in want["buckets"]), "the range holds data")
        self.assertTrue(any(b["peak_live"] for b in want["buckets"]), "sessions are live in it")

    def test_hourly_across_the_dst_switch(self):
        # 2026-10-25 01:00 UTC: Berlin goes from CEST to CET, 02:00-03:00 local twice.
        want = self.assert_stats("2026-10-24T21:00:00.000Z", "2026-10-25T04:00:00.000Z", "hour")
        self.assertEqual(len(want["buckets"]), 7)

    def test_daily_across_the_dst_switch(self):
        want = self.assert_stats("2026-10-22T00:00:00.000Z", "2026-10-29T00:00:00.000Z", "day")
        self.assertEqual(len(want["buckets"]), 7)
        for b in want["buckets"]:
            self.assertEqual(parse_iso(b["end"]) - parse_iso(b["start"]), DAY,
                             "UTC days are 24 h, DST or not")
        self.assertGreater(sum(b["new_sessions"] for b in want["buckets"]), 20)
        self.assertEqual(len(want["top_failing_ips"]), 10, "more than ten failing addresses")
        self.assertEqual(len(want["top_failing_users"]), 10, "more than ten failing names")

    def test_daily_range_given_as_dates_defaults_to_days(self):
        """More than 72 h without `bucket`: days; dates alone mean midnight UTC."""
        self.assert_stats("2026-10-20T00:00:00.000Z", "2026-10-31T00:00:00.000Z", "day",
                          query={"from": "2026-10-20", "to": "2026-10-31"})

    def test_partial_first_and_last_hour(self):
        want = self.assert_stats("2026-10-24T10:30:00.000Z", "2026-10-24T14:15:00.000Z", "hour")
        self.assertEqual([(b["start"], b["end"]) for b in want["buckets"]][0],
                         ("2026-10-24T10:30:00.000Z", "2026-10-24T11:00:00.000Z"))
        self.assertEqual(want["buckets"][-1]["start"], "2026-10-24T14:00:00.000Z")
        self.assertEqual(want["buckets"][-1]["end"], "2026-10-24T14:15:00.000Z")
        # and the same edges in the middle of a day range
        self.assert_stats("2026-10-24T10:30:00.000Z", "2026-10-27T05:00:00.000Z", "day")

    def test_partial_edges_to_the_millisecond(self):
        self.assert_stats("2026-10-24T10:29:59.999Z", "2026-10-25T01:00:00.001Z", "hour")
        self.assert_stats("2026-10-23T23:59:59.999Z", "2026-10-26T00:00:00.001Z", "day")

    def test_default_bucket_is_hour_up_to_72_hours(self):
        frm = "2026-10-23T00:00:00.000Z"
        want = self.assert_stats(frm, "2026-10-26T00:00:00.000Z", "hour",
                                 query={"from": frm, "to": "2026-10-26T00:00:00.000Z"})
        self.assertEqual(len(want["buckets"]), 72)
        got = self.stats(**{"from": frm, "to": "2026-10-26T00:00:00.001Z"})
        self.assertEqual(got["bucket"], "day")
        self.assertEqual(len(got["buckets"]), 4)

    def test_empty_range_is_all_zeros(self):
        want = self.assert_stats("2026-06-01T00:00:00.000Z", "2026-06-02T00:00:00.000Z", "hour")
        self.assertEqual(len(want["buckets"]), 24)
        for b in want["buckets"]:
            self.assertEqual((b["events"], b["failures"], b["new_sessions"], b["peak_live"]),
                             ({}, {}, 0, 0))
            self.assertEqual(b["kicks"], {"superseded": 0, "terminated": 0, "expired": 0})
        self.assertEqual((want["top_failing_ips"], want["top_failing_users"]), ([], []))
        self.assert_stats("2026-06-01T00:00:00.000Z", "2026-06-08T00:00:00.000Z", "day")

    def test_default_range_is_the_last_24_hours(self):
        # Quiet first: the audit rows of this class's logins are in.
        wait_until(lambda: self.s.query("SELECT COUNT(*) FROM login_logs WHERE username = ? "
                                        "AND event_type = 'login_success'", [self.user])[0][0], 5)
        before = datetime.now(UTC)
        got = self.stats()
        after = datetime.now(UTC)
        frm, to = parse_iso(got["from"]), parse_iso(got["to"])
        self.assertEqual(got["bucket"], "hour")
        self.assertEqual(to - frm, timedelta(hours=24))
        self.assertTrue(before - timedelta(milliseconds=1) <= to <= after + timedelta(milliseconds=1),
                        f"to={got['to']} is not now ({before}..{after})")
        want = self.expected(got["from"], got["to"], "hour")
        bounds = [(b["start"], b["end"]) for b in got["buckets"]]
        self.assertEqual(bounds, [(b["start"], b["end"]) for b in want["buckets"]])
        self.assertIn(len(bounds), (24, 25))
        # every bucket but the last (which still grows with this test's own requests)
        for g, w in zip(got["buckets"][:-1], want["buckets"][:-1]):
            self.assertEqual(g, w, f"bucket {w['start']}")
        self.assertGreaterEqual(got["buckets"][-1]["peak_live"], 2,
                                "the admin and the user are logged in now")

    # -- refusals --------------------------------------------------------------------------------

    def test_exactly_2000_buckets_and_no_more(self):
        frm = datetime(2026, 6, 1, tzinfo=UTC)
        day0 = datetime(2020, 1, 1, tzinfo=UTC)
        exactly = [
            {"from": iso_at(frm), "to": iso_at(frm + 2000 * HOUR), "bucket": "hour"},
            # a clipped first hour and 1,999 whole ones
            {"from": iso_at(frm + timedelta(minutes=30)), "to": iso_at(frm + 2000 * HOUR),
             "bucket": "hour"},
        ]
        for params in exactly:
            with self.subTest(**params):
                self.assertEqual(len(self.stats(**params)["buckets"]), 2000)
        too_many = [
            {"from": iso_at(frm), "to": iso_at(frm + 2001 * HOUR), "bucket": "hour"},
            {"from": iso_at(frm), "to": iso_at(frm + 2000 * HOUR + timedelta(milliseconds=1)),
             "bucket": "hour"},
            {"from": iso_at(frm + timedelta(minutes=30)),
             "to": iso_at(frm + 2000 * HOUR + timedelta(minutes=1)), "bucket": "hour"},
            {"from": "2020-01-01", "to": iso_at(day0 + 2001 * DAY), "bucket": "day"},
            {"from": "2010-01-01", "to": "2026-10-30"},  # default: days, ~6,100 of them
            {"from": "2010-01-01", "to": "2026-10-30", "bucket": "day"},
            {"from": "2026-01-01", "to": "2026-12-01", "bucket": "hour"},
        ]
        for params in too_many:
            with self.subTest(**params):
                r = self.s.get(with_query(STATS, **params), token=self.token)
                self.assert_error(r, 400, "invalid_input")

    def test_range_at_most_400_days(self):
        """Beside the 2,000 buckets, a range spans at most 400 days: every hour
        not cached yet costs a few queries, and one request must stay bounded."""
        day0 = datetime(2020, 1, 1, tzinfo=UTC)
        got = self.stats(**{"from": "2020-01-01", "to": iso_at(day0 + 400 * DAY), "bucket": "day"})
        self.assertEqual(len(got["buckets"]), 400)
        self.assertEqual((got["buckets"][0]["start"], got["buckets"][-1]["end"]),
                         ("2020-01-01T00:00:00.000Z", iso_at(day0 + 400 * DAY)))
        for to in (day0 + 400 * DAY + timedelta(milliseconds=1), day0 + 2000 * DAY):
            with self.subTest(to=iso_at(to)):
                r = self.s.get(with_query(STATS, **{"from": "2020-01-01", "to": iso_at(to),
                                                    "bucket": "day"}), token=self.token)
                self.assert_error(r, 400, "invalid_input")

    def test_bad_parameters(self):
        bad = [
            {"from": "2026-10-24T10:00:00.000Z", "to": "2026-10-24T10:00:00.000Z"},
            {"from": "2026-10-24T11:00:00.000Z", "to": "2026-10-24T10:00:00.000Z"},
            {"from": "2026-10-24T10:00:00.001Z", "to": "2026-10-24T10:00:00.000Z"},
            {"from": "2026-10-24", "to": "2026-10-25", "bucket": "week"},
            {"from": "2026-10-24", "to": "2026-10-25", "bucket": "minute"},
            {"from": "yesterday"},
            {"to": "2026-02-30"},
            {"from": "2026-10-24T25:00:00.000Z", "to": "2026-10-25"},
        ]
        for params in bad:
            with self.subTest(**params):
                r = self.s.get(with_query(STATS, **params), token=self.token)
                self.assert_error(r, 400, "invalid_input")

    def test_only_admins(self):
        r = self.s.get(STATS, token=self.user_token)
        self.assert_error(r, 403, "forbidden")
        rows = self.s.wait_rows("SELECT * FROM login_logs WHERE event_type = 'admin_action' "
                                "AND username = ? AND status = 'failure'", [self.user])
        self.assertEqual([r["error_message"] for r in rows], [f"denied: GET {STATS}"])
        self.assert_error(self.s.get(STATS), 401, "unauthorized")
        self.assert_error(self.s.get(STATS, token="not-a-token"), 401, "unauthorized")
        r = self.s.request("POST", STATS, {}, token=self.token)
        self.assert_error(r, 405, "method_not_allowed")
        self.assertEqual(r.header("Allow"), "GET")


if __name__ == "__main__":
    unittest.main(verbosity=2)
