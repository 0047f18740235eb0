"""SPEC §4 at scale: 1,000 users x 2 WebSockets (2,000 connections, one process),
plus a presence subscriber; every user logs in again and every old connection
must be kicked (superseded, 4001), and the subscriber must see every presence
change, none lost, with consistent counts.

Bounded: registrations and logins go through a pool of 8 threads (Argon2id),
every wait has a deadline, and the whole test stays within a few minutes on
two cores.  Phase times are printed to stderr.
"""

import os
import sys
import time
from collections import Counter, defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import unittest  # noqa: E402

from solod_harness import (SolodTestCase, WsMux, raise_nofile_limit,  # noqa: E402
                           subscribe_presence, wait_until)

USERS = 1000
PER_USER = 2
CONNECTIONS = USERS * PER_USER
PASSWORD = "many-connections-pw"
WORKERS = 8
CONFIG = {
    "auth": {"max_connections_per_session": PER_USER},
    "limits": {"login_per_ip_per_minute": 100000, "lockout_threshold": 100000},
    "server": {"max_connections": 20000},
}


def relogin_agent(name):
    return f"relogin/{name}"


class ManyConnectionsTest(SolodTestCase):
    def setUp(self):
        self.t0 = time.monotonic()
        self.last = self.t0

    def phase(self, what):
        now = time.monotonic()
        print(f"  [{now - self.t0:6.1f} s] {what} ({now - self.last:.1f} s)",
              file=sys.stderr, flush=True)
        self.last = now

    def wait_for(self, predicate, timeout, what):
        ok = wait_until(predicate, timeout=timeout, interval=0.1)
        self.assertTrue(ok, f"{what}: not within {timeout} s")

    def test_thousand_users_two_connections_relogin(self):
        limit = raise_nofile_limit(CONNECTIONS + 1000)
        self.assertGreaterEqual(limit, CONNECTIONS + 200, "RLIMIT_NOFILE too low for the test")
        s = self.server(CONFIG)
        mux = WsMux()
        self.addCleanup(mux.close)
        print(file=sys.stderr)

        # The presence subscriber comes first.
        watcher, _ = s.new_user(PASSWORD, prefix="watch")
        wbody = s.login_ok(watcher, PASSWORD)
        sub = s.ws(wbody["token"])
        # Waits until the subscription is in force (see subscribe_presence); only the
        # watcher's own coming online may show up from before it.
        early = subscribe_presence(sub)
        self.assertIn(early, ([], [{"type": "presence", "user": watcher, "status": "online",
                                    "count": 1}]))
        mux.add("watcher", sub)

        names = s.new_users(USERS, PASSWORD, prefix="m", workers=WORKERS)
        self.phase(f"registered {USERS} users")
        bodies = s.login_many(names, PASSWORD, workers=WORKERS)
        self.phase(f"logged {USERS} users in")

        keys = []
        for i, (name, body) in enumerate(zip(names, bodies)):
            for j in range(PER_USER):
                client = s.ws(body["token"], via="bearer" if j == 0 else "cookie",
                              headers={"User-Agent": f"first/{name}/{j}"})
                self.assertEqual(client.welcome["session_id"], body["session"]["id"])
                mux.add((i, j), client)
                keys.append((i, j))
            if i % 100 == 0:
                self.assertLess(time.monotonic() - self.t0, 200, "connecting takes too long")
        self.phase(f"opened {CONNECTIONS} WebSockets")

        def presence_count():
            return sum(1 for m in mux.texts("watcher") if m.get("type") == "presence")
        self.wait_for(lambda: presence_count() >= USERS, 60, f"{USERS} online updates")
        self.wait_for(lambda: s.metric("solod_open_websockets") == CONNECTIONS + 1, 30,
                      f"solod_open_websockets == {CONNECTIONS + 1}")
        online = s.get("/api/online", token=wbody["token"]).json
        self.assertEqual(online["count"], USERS + 1)
        self.assertEqual(sorted(online["users"]), sorted(names + [watcher]))
        early = [k for k in keys if mux.finished(k)]
        self.assertEqual(early, [], "connections closed before the re-logins")
        self.phase("all online")

        s.login_many(names, PASSWORD, workers=WORKERS,
                     headers_for=lambda n: {"User-Agent": relogin_agent(n)})
        self.phase(f"re-logged {USERS} users in")
        self.wait_for(lambda: mux.finished_count(keys) == CONNECTIONS, 90,
                      f"all {CONNECTIONS} old connections closed "
                      f"(closed: {mux.finished_count(keys)})")
        self.wait_for(lambda: presence_count() >= 2 * USERS, 60,
                      f"{2 * USERS} presence updates (got {presence_count()})")
        self.phase("all kicked")

        # -- every old connection: kicked/superseded by its user's new login, then 4001 --
        bad = []
        for i, j in keys:
            name = names[i]
            events = mux.events((i, j))
            texts = [e.data for e in events if e.kind == "text"]
            closes = [e.data for e in events if e.kind == "close"]
            ok = (len(texts) == 1 and isinstance(texts[0], dict)
                  and texts[0].get("type") == "kicked" and texts[0].get("reason") == "superseded"
                  and isinstance(texts[0].get("by"), dict)
                  and texts[0]["by"].get("user_agent") == relogin_agent(name)
                  and closes == [4001] and events[-1].kind == "close")
            if not ok:
                bad.append(((i, j), name, [(e.kind, e.data) for e in events]))
        self.assertEqual(len(bad), 0, f"{len(bad)} of {CONNECTIONS} old connections not "
                                      f"kicked/superseded + 4001; first: {bad[:5]}")

        # -- the subscriber: each user online once, then offline once; counts consistent --
        updates = mux.texts("watcher")
        self.assertFalse(mux.finished("watcher"), f"the subscriber was closed: "
                                                  f"{mux.events('watcher')[-3:]}")
        others = [m for m in updates if m.get("type") != "presence"]
        self.assertEqual(others, [], "non-presence messages to the subscriber")
        self.assertEqual(len(updates), 2 * USERS,
                         f"{len(updates)} presence updates, expected {2 * USERS}")
        per_user = defaultdict(list)
        running, count_errors = 1, []  # the watcher itself is online
        for n, m in enumerate(updates):
            per_user[m.get("user")].append(m.get("status"))
            running += 1 if m.get("status") == "online" else -1
            if m.get("count") != running:
                count_errors.append((n, m, running))
        self.assertEqual(count_errors[:5], [], f"{len(count_errors)} updates whose count is "
                                               f"not the number of online users")
        self.assertEqual(set(per_user), set(names))
        sequences = Counter(tuple(v) for v in per_user.values())
        self.assertEqual(sequences, Counter({("online", "offline"): USERS}))
        # Connections were opened one after the other, each waiting for its welcome:
        # the users came online in that order, all before the re-logins.
        self.assertEqual([(m["user"], m["status"]) for m in updates[:USERS]],
                         [(name, "online") for name in names])
        self.assertEqual(updates[-1]["count"], 1)

        # -- the server's own view -------------------------------------------------------------
        self.assertEqual(s.metric("solod_kicks_total", reason="superseded"), CONNECTIONS)
        self.assertEqual(s.metric("solod_ws_slow_consumers_dropped_total"), 0)
        self.wait_for(lambda: s.metric("solod_open_websockets") == 1, 60,
                      "solod_open_websockets back to 1 (the subscriber)")
        online = s.get("/api/online", token=wbody["token"]).json
        self.assertEqual(online, {"users": [watcher], "count": 1})
        rows = s.wait_rows("SELECT COUNT(*) AS n FROM login_logs WHERE event_type = ? "
                           "HAVING COUNT(*) >= ?", ["session_superseded", USERS], timeout=30)
        self.assertTrue(rows and rows[0]["n"] == USERS,
                        f"session_superseded rows: {[dict(r) for r in rows]}")
        live = s.query("SELECT COUNT(*) AS n FROM sessions WHERE logout_ts IS NULL")[0]["n"]
        self.assertEqual(live, USERS + 1)
        self.phase("checked")


if __name__ == "__main__":
    unittest.main(verbosity=2)
