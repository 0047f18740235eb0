"""SPEC §7 on three real nodes sharing one PostgreSQL database: kicks, the race of
logins, presence and messages, admin and CLI actions, all across nodes.

Needs SOLOD_TEST_PG_URL (scripts/pg-test-server.sh start DIR); without it the
tests fail under CI=true and skip elsewhere.
"""

import os
import sys
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cluster_testing import NEWS_BOUND, PASSWORD, ClusterTestCase  # noqa: E402
from solod_harness import (ADMIN_PASSWORD, WsClosed, add_admin, subscribe_presence,  # noqa: E402
                           unique_name, wait_until)


class CrossNodeKickTest(ClusterTestCase):
    NODES = 3

    def test_login_on_b_kicks_a_and_the_old_token_dies_on_every_node(self):
        a, b, c = self.cluster.nodes
        name, pw = a.new_user(PASSWORD)
        first = a.login_ok(name, pw, headers={"User-Agent": "device-a/1.0"})
        on_a = a.ws(first["token"])
        on_c = c.ws(first["token"], via="message")  # the same session, connected to C too
        second = b.login_ok(name, pw, headers={"User-Agent": "device-b/2.0"})
        for label, conn in (("A", on_a), ("C", on_c)):
            kicked = self.expect_kick(conn, "superseded", 4001, f"connection on {label}:")
            self.assert_superseded_by(kicked, "device-b/2.0")
        self.assert_token_dead_everywhere(first["token"], self.cluster.nodes)
        for i, node in enumerate(self.cluster.nodes):
            ws = node.ws_connect()
            ws.send_json({"type": "auth", "token": first["token"]})
            self.assertEqual(self.close_code(ws), 4401, f"old token over /ws on node {i}")
        self.assert_token_alive_everywhere(second["token"], self.cluster.nodes)
        uid = first["user"]["id"]
        self.assertEqual(self.cluster.live_sessions(uid), [second["session"]["id"]])
        rows = self.cluster.wait_rows(
            "SELECT session_id FROM login_logs WHERE event_type = 'session_superseded' "
            "AND user_id = ?", [uid])
        self.assertEqual([r["session_id"] for r in rows], [first["session"]["id"]])

    def test_a_fresh_token_works_on_every_node_at_once(self):
        # SPEC §7: any node answers any request. Behind a load balancer the request
        # after a login (GET /api/me, the WebSocket upgrade) lands on any node, at once.
        nodes = self.cluster.nodes
        refused = []
        for i in range(15):
            login_node = nodes[i % 3]
            name, pw = login_node.new_user(PASSWORD)
            token = login_node.login_ok(name, pw)["token"]
            for j, node in enumerate(nodes):
                r = node.me(token)
                if r.status != 200:
                    refused.append((i % 3, j, r.status))
        self.assertEqual(refused, [], "(login node, asked node, status) of fresh tokens refused")

    def test_concurrent_logins_over_the_nodes_leave_one_session_and_one_token(self):
        nodes = self.cluster.nodes
        name, pw = nodes[0].new_user(PASSWORD)
        uid = nodes[0].login_ok(name, pw)["user"]["id"]
        racers = 24
        start = threading.Barrier(racers)

        def race(i):
            start.wait(30)
            return nodes[i % len(nodes)].login(name, pw, timeout=60,
                                               headers={"User-Agent": f"racer-{i}"})
        with ThreadPoolExecutor(max_workers=racers) as pool:
            answers = list(pool.map(race, range(racers)))
        self.assertEqual([r.status for r in answers], [200] * racers,
                         [r.text[:200] for r in answers if r.status != 200])
        live = self.cluster.live_sessions(uid)
        self.assertEqual(len(live), 1, f"live sessions of one user: {live}")
        winner = [r.json for r in answers if r.json["session"]["id"] == live[0]]
        self.assertEqual(len(winner), 1, "the live session is one of the answered logins")
        tokens = [r.json["token"] for r in answers]

        def working():
            return {(t[-12:], i) for t in tokens for i, node in enumerate(nodes)
                    if node.me(t).status != 401}
        expected = {(winner[0]["token"][-12:], i) for i in range(len(nodes))}
        got = wait_until(lambda: (lambda w: w if w == expected else None)(working()),
                         NEWS_BOUND, 0.2)
        self.assertEqual(working(), expected,
                         f"tokens not refused (token tail, node) after {NEWS_BOUND} s: {got}")
        # every login is in the audit log; all but the winner ended superseded
        rows = self.cluster.wait_rows("SELECT 1 FROM login_logs WHERE event_type = "
                                      "'login_success' AND user_id = ?", [uid], racers + 1)
        self.assertEqual(len(rows), racers + 1)
        ended = self.cluster.query("SELECT end_reason FROM sessions WHERE user_id = ? "
                                   "AND logout_ts IS NOT NULL", [uid])
        self.assertEqual([r["end_reason"] for r in ended], ["superseded"] * racers)


class CrossNodePresenceTest(ClusterTestCase):
    NODES = 3

    def presence_of(self, conn, user, status):
        try:
            return conn.recv_until(lambda m: m.get("type") == "presence"
                                   and m.get("user") == user and m.get("status") == status,
                                   timeout=NEWS_BOUND)
        except (TimeoutError, WsClosed) as e:
            self.fail(f"no presence {status} of {user} within {NEWS_BOUND} s: {e!r}")

    def online_users(self, node, token):
        r = node.get("/api/online", token=token)
        self.assert_status(r, 200)
        self.assertEqual(r.json["count"], len(r.json["users"]), r.json)
        return set(r.json["users"])

    def test_presence_online_and_messages_cross_nodes(self):
        a, b, c = self.cluster.nodes
        x, _ = a.new_user(PASSWORD)
        y, _ = b.new_user(PASSWORD)
        tx = a.login_ok(x, PASSWORD)["token"]
        ty = b.login_ok(y, PASSWORD)["token"]
        on_b = b.ws(ty)
        subscribe_presence(on_b)
        on_a = a.ws(tx)
        m = self.presence_of(on_b, x, "online")
        self.assertIsInstance(m.get("count"), int, m)
        # /api/online on every node, and the `online` message, see both users
        for i, (node, token) in enumerate(((a, tx), (b, ty), (c, ty))):
            users = wait_until(lambda: (lambda u: u if {x, y} <= u else None)(
                self.online_users(node, token)), NEWS_BOUND, 0.1)
            self.assertTrue(users and {x, y} <= users, f"/api/online on node {i}: {users}")
        on_a.send_json({"type": "online"})
        m = on_a.recv_until(lambda m: m.get("type") == "online", timeout=NEWS_BOUND)
        self.assertIn(y, m["users"], m)
        self.assertEqual(m["count"], len(m["users"]), m)
        # a direct message sent on A reaches its addressee on B, and back
        text = "from A " + unique_name("t")
        on_a.send_json({"type": "message", "to": y, "text": text})
        m = on_b.recv_until(lambda m: m.get("type") == "message" and m.get("text") == text,
                            timeout=NEWS_BOUND)
        self.assertEqual(m.get("from"), x, m)
        self.assert_iso(m.get("at"))
        text = "from B " + unique_name("t")
        on_b.send_json({"type": "message", "to": x.upper(), "text": text})
        m = on_a.recv_until(lambda m: m.get("type") == "message" and m.get("text") == text,
                            timeout=NEWS_BOUND)
        self.assertEqual(m.get("from"), y, m)
        # a message to everyone crosses too
        text = "to all " + unique_name("t")
        on_a.send_json({"type": "message", "text": text})
        m = on_b.recv_until(lambda m: m.get("type") == "message" and m.get("text") == text,
                            timeout=NEWS_BOUND)
        self.assertEqual(m.get("from"), x, m)
        # X leaves A: B's subscriber hears it, and no node lists X any more
        on_a.close()
        self.presence_of(on_b, x, "offline")
        for i, (node, token) in enumerate(((a, ty), (b, ty), (c, ty))):
            gone = wait_until(lambda: x not in self.online_users(node, token), NEWS_BOUND, 0.1)
            self.assertTrue(gone, f"{x} still online on node {i} after leaving")
        on_b.close()

    def test_a_message_over_8000_bytes_crosses_nodes_whole(self):
        # NOTIFY carries at most 8,000 bytes: a bigger relay goes through cluster_news
        a, b, _ = self.cluster.nodes
        x, _ = a.new_user(PASSWORD)
        y, _ = b.new_user(PASSWORD)
        tx = a.login_ok(x, PASSWORD)["token"]
        on_a = a.ws(tx)
        on_b = b.ws(b.login_ok(y, PASSWORD)["token"])
        # (as a user would: the addressee is seen online from A first)
        self.assertTrue(wait_until(lambda: y in self.online_users(a, tx), NEWS_BOUND, 0.05))
        text = ("é✓ \"quoted\" " + unique_name("big")) * 700  # ~20,000 bytes of UTF-8
        self.assertGreater(len(text.encode()), 16000)
        on_a.send_json({"type": "message", "to": y, "text": text})
        try:
            m = on_b.recv_until(lambda m: m.get("type") == "message", timeout=NEWS_BOUND)
        except (TimeoutError, WsClosed) as e:
            self.fail(f"the big message did not reach B: {e!r}")
        self.assertEqual(m.get("from"), x)
        self.assertEqual(m.get("text"), text)
        on_a.close()
        on_b.close()

    def test_user_connected_on_two_nodes_stays_online_until_both_leave(self):
        a, b, c = self.cluster.nodes
        x, _ = a.new_user(PASSWORD)
        w, _ = c.new_user(PASSWORD)
        tx = a.login_ok(x, PASSWORD)["token"]
        tw = c.login_ok(w, PASSWORD)["token"]
        watcher = c.ws(tw)
        subscribe_presence(watcher)
        on_a, on_b = a.ws(tx), b.ws(tx)
        self.presence_of(watcher, x, "online")
        on_a.close()
        # still connected on B: online on every node
        self.assertTrue(wait_until(lambda: x in self.online_users(c, tw), NEWS_BOUND, 0.1))
        on_b.send_json({"type": "ping", "id": 1})
        on_b.recv_until(lambda m: m.get("type") == "pong", timeout=NEWS_BOUND)
        self.assertIn(x, self.online_users(c, tw))
        on_b.close()
        self.presence_of(watcher, x, "offline")
        watcher.close()


class CrossNodeAdminTest(ClusterTestCase):
    NODES = 3

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        b = cls.cluster.nodes[1]
        cls.admin, _ = add_admin(b)  # the CLI, with node B's config: the shared database
        cls.admin_token = b.login_ok(cls.admin, ADMIN_PASSWORD)["token"]

    def victim(self, node, headers=None):
        name, pw = node.new_user(PASSWORD)
        body = node.login_ok(name, pw, headers=headers)
        return name, pw, body

    def test_admin_on_b_ends_a_session_held_on_a(self):
        a, b, c = self.cluster.nodes
        _, _, body = self.victim(a)
        on_a = a.ws(body["token"])
        on_c = c.ws(body["token"])
        r = b.request("DELETE", f"/api/admin/sessions/{body['session']['id']}",
                      token=self.admin_token)
        self.assert_status(r, 204)
        for label, conn in (("A", on_a), ("C", on_c)):
            kicked = self.expect_kick(conn, "admin", 4003, f"on {label}:")
            self.assertNotIn("by", kicked)
        self.assert_token_dead_everywhere(body["token"], self.cluster.nodes)
        row = self.cluster.query("SELECT end_reason, logout_ts FROM sessions WHERE id = ?",
                                 [body["session"]["id"]])[0]
        self.assertEqual(row["end_reason"], "admin")
        self.assertIsNotNone(row["logout_ts"])

    def test_admin_disable_on_c_kicks_on_a(self):
        a, b, c = self.cluster.nodes
        name, pw, body = self.victim(a)
        on_a = a.ws(body["token"])
        # the admin's token from B works on C (logging in again on C would end it)
        r = c.request("PATCH", f"/api/admin/users/{body['user']['id']}",
                      {"is_active": False}, token=self.admin_token)
        self.assert_status(r, 200)
        self.expect_kick(on_a, "admin", 4003)
        self.assert_token_dead_everywhere(body["token"], self.cluster.nodes)
        for i, node in enumerate(self.cluster.nodes):
            self.assert_error(node.login(name, pw), 401, "invalid_credentials", f"node {i}")

    def test_cli_disable_kicks_on_every_node(self):
        nodes = self.cluster.nodes
        name, pw, body = self.victim(nodes[0])
        conns = [node.ws(body["token"]) for node in nodes]  # one per node (3 per session)
        cp = nodes[2].cli("user", "disable", name)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        for i, conn in enumerate(conns):
            self.expect_kick(conn, "admin", 4003, f"connection on node {i}:")
        self.assert_token_dead_everywhere(body["token"], nodes)
        for i, node in enumerate(nodes):
            self.assert_error(node.login(name, pw), 401, "invalid_credentials", f"node {i}")
        row = self.cluster.query("SELECT end_reason FROM sessions WHERE id = ?",
                                 [body["session"]["id"]])[0]
        self.assertEqual(row["end_reason"], "admin")

    def test_cli_passwd_kicks_on_every_node(self):
        nodes = self.cluster.nodes
        name, pw, body = self.victim(nodes[1])
        conns = [nodes[0].ws(body["token"]), nodes[2].ws(body["token"])]
        new_pw = "a-new-password-9"
        cp = nodes[1].cli("user", "passwd", name, "--password-stdin", stdin=new_pw + "\n")
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        for i, conn in enumerate(conns):
            self.expect_kick(conn, "admin", 4003, f"connection {i}:")
        self.assert_token_dead_everywhere(body["token"], nodes)
        self.assert_error(nodes[0].login(name, pw), 401, "invalid_credentials")
        self.assert_status(nodes[2].login(name, new_pw), 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
