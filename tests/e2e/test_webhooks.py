"""Outgoing webhooks (Standard Webhooks): session.started, session.ended,
login.failed and user.disabled, from a durable outbox written with each change,
delivered at least once, in order per user, retried, never lost across a
restart or kill -9. A local receiver checks signatures, order and retries."""

import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import unittest  # noqa: E402

import openapi_check  # noqa: E402
from solod_harness import SOURCE_DIR, SolodTestCase, wait_until  # noqa: E402
from webhook_receiver import (Receiver, expected_signature, free_port, new_secret,  # noqa: E402
                              write_secret)

PASSWORD = "webhook-password"
NO_LIMITS = {"login_per_ip_per_minute": 100000, "lockout_threshold": 1000}
BOUND = 20.0  # seconds a delivery may take on this shared machine (a bound, polled)


def events_of(attempts, user_id=None, username=None):
    out = []
    for a in attempts:
        body = a.json()
        data = body["data"]
        if user_id is not None and data.get("user_id") != user_id:
            continue
        if username is not None and data.get("username") != username:
            continue
        out.append(body)
    return out


class WebhookTestCase(SolodTestCase):
    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="solod-hooks-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.secret, self.key = new_secret()
        self.secret_file = write_secret(self.dir, "hook.secret", self.secret)

    def receiver(self, **kw) -> Receiver:
        r = Receiver(**kw).start()
        self.addCleanup(r.stop)
        return r

    def hook_server(self, endpoints, webhooks=None, start=True):
        cfg = {"limits": NO_LIMITS, "webhooks": {"endpoints": endpoints, "timeout": "2s", **(webhooks or {})}}
        return self.server(cfg, start=start)

    def endpoint(self, url, events=None):
        e = {"url": url, "secret_file": self.secret_file}
        if events is not None:
            e["events"] = events
        return e

    def wait_delivered(self, receiver, predicate, timeout=BOUND, path=None):
        ok = wait_until(lambda: predicate(receiver.delivered(path)), timeout=timeout)
        self.assertTrue(ok, f"not delivered in {timeout} s; got {[a.json()['type'] for a in receiver.delivered(path)]}")
        return receiver.delivered(path)

    def assert_signed(self, attempt):
        h = attempt.headers
        self.assertRegex(h["webhook-id"], r"^msg_[0-9a-f]{32}$")
        self.assertRegex(h["webhook-timestamp"], r"^\d+$")
        self.assertLess(abs(int(h["webhook-timestamp"]) - time.time()), 60)
        self.assertEqual(h["webhook-signature"],
                         expected_signature(self.key, h["webhook-id"], h["webhook-timestamp"], attempt.body))
        self.assertEqual(h["content-type"], "application/json")
        self.assert_documented(attempt)
        self.assertNotEqual(h["webhook-signature"],
                            expected_signature(b"another key of 32 bytes........", h["webhook-id"],
                                               h["webhook-timestamp"], attempt.body))


    def assert_documented(self, attempt):
        """The body and headers match the `webhooks` of docs/openapi.json."""
        doc = openapi_check.document(SOURCE_DIR)
        body = attempt.json()
        hook = doc.doc["webhooks"][body["type"]]["post"]
        schema = hook["requestBody"]["content"]["application/json"]["schema"]
        self.assertEqual(doc.schema_problems(schema, body), [], attempt.body)
        for p in hook["parameters"]:
            self.assertEqual(doc.schema_problems(p["schema"], attempt.headers[p["name"]]), [], p["name"])


class DeliveryTest(WebhookTestCase):
    def test_events_signed_and_in_order_per_user(self):
        r = self.receiver()
        s = self.hook_server([self.endpoint(r.url())])
        name, pw = s.new_user(PASSWORD)
        first = s.login_ok(name, pw)
        s.login(name, "wrong-password")
        second = s.login_ok(name, pw, headers={"User-Agent": "second-device/2.0"})
        self.assert_status(s.logout(second["token"]), 204)
        uid = first["user"]["id"]
        got = self.wait_delivered(r, lambda d: len(events_of(d, user_id=uid)) >= 5)
        for a in got:
            self.assert_signed(a)
        events = events_of(got, user_id=uid)
        self.assertEqual([(e["type"], e["data"].get("reason")) for e in events], [
            ("session.started", None), ("login.failed", "bad_password"), ("session.ended", "superseded"),
            ("session.started", None), ("session.ended", "logout")])
        s1, s2 = first["session"]["id"], second["session"]["id"]
        started1, failed, ended1, started2, ended2 = events
        self.assertEqual(started1["data"]["session_id"], s1)
        self.assertEqual(started1["data"]["username"], name)
        self.assertEqual(started1["data"]["ip"], "127.0.0.1")
        self.assertIsNone(started1["data"]["replaced"])
        self.assertRegex(started1["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual(failed["data"]["username"], name)
        self.assertEqual(ended1["data"]["session_id"], s1)
        self.assertEqual(ended1["data"]["by"]["session_id"], s2)
        self.assertEqual(ended1["data"]["by"]["user_agent"], "second-device/2.0")
        self.assertEqual(started2["data"]["replaced"], s1)
        self.assertEqual(ended2["data"]["session_id"], s2)
        self.assertIsNone(ended2["data"]["by"])
        self.assertEqual(len({a.msg_id for a in got}), len(got), "one webhook-id per event")

    def test_user_disabled_and_admin_end(self):
        r = self.receiver()
        s = self.hook_server([self.endpoint(r.url())])
        name, pw = s.new_user(PASSWORD)
        uid = s.login_ok(name, pw)["user"]["id"]
        cp = s.cli("user", "disable", name, timeout=30)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        got = self.wait_delivered(r, lambda d: len(events_of(d, user_id=uid)) >= 3)
        self.assertEqual([(e["type"], e["data"].get("reason")) for e in events_of(got, user_id=uid)],
                         [("session.started", None), ("user.disabled", None), ("session.ended", "admin")])
        cp = s.cli("user", "disable", name, timeout=30)  # already disabled: no second event
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        s.login(name, pw)  # a disabled account's login fails: login.failed (disabled)
        got = self.wait_delivered(r, lambda d: len(events_of(d, user_id=uid)) >= 4)
        self.assertEqual([e["type"] for e in events_of(got, user_id=uid)][3:], ["login.failed"])
        self.assertEqual(events_of(got, user_id=uid)[3]["data"]["reason"], "disabled")

    def test_event_filter_and_unknown_user_failures(self):
        everything, ends = self.receiver(), self.receiver()
        s = self.hook_server([self.endpoint(everything.url()), self.endpoint(ends.url("/ends"), ["session.ended"])])
        name, pw = s.new_user(PASSWORD)
        token = s.login_ok(name, pw)["token"]
        s.login("no_such_user_at_all", "whatever-password")
        s.logout(token)
        self.wait_delivered(ends, lambda d: len(d) >= 1)
        self.wait_delivered(everything, lambda d: len(d) >= 3)
        time.sleep(0.5)  # nothing more may come to the filtered endpoint
        self.assertEqual([a.json()["type"] for a in ends.delivered()], ["session.ended"])
        self.assertEqual(ends.delivered()[0].path, "/ends")
        unknown = [e for e in events_of(everything.delivered()) if e["type"] == "login.failed"]
        self.assertEqual(len(unknown), 1)
        self.assertEqual(unknown[0]["data"], {**unknown[0]["data"], "user_id": None,
                                               "username": "no_such_user_at_all", "reason": "unknown_user"})


class RetryTest(WebhookTestCase):
    def test_retry_after_receiver_down_keeps_order(self):
        state = {"down": True}
        r = self.receiver(answer=lambda a: 503 if state["down"] else 200)
        s = self.hook_server([self.endpoint(r.url())])
        name, pw = s.new_user(PASSWORD)
        login = s.login_ok(name, pw)
        s.logout(login["token"])
        uid = login["user"]["id"]
        self.assertTrue(wait_until(lambda: len(r.snapshot()) >= 2, timeout=BOUND), "a retry")
        self.assertEqual({a.json()["type"] for a in r.snapshot()}, {"session.started"},
                         "the user's next event waits for the first")
        self.assertIsNotNone(s.metric("solod_webhook_deliveries_total", result="retried"))
        self.assertGreaterEqual(s.metric("solod_webhook_deliveries_total", result="retried"), 1)
        # The gauges are refreshed once a second.
        self.assertTrue(wait_until(lambda: s.metric("solod_webhook_queue_age_seconds") > 0, timeout=5))
        state["down"] = False
        got = self.wait_delivered(r, lambda d: len(events_of(d, user_id=uid)) >= 2)
        self.assertEqual([e["type"] for e in events_of(got, user_id=uid)], ["session.started", "session.ended"])
        retried = [a for a in r.snapshot() if a.msg_id == got[0].msg_id]
        self.assertGreaterEqual(len(retried), 2)
        self.assertEqual(len({a.body for a in retried}), 1, "every attempt carries the same body")
        for a in retried:
            self.assert_signed(a)
        self.assertTrue(wait_until(lambda: s.metric("solod_webhook_pending") == 0, timeout=BOUND))
        self.assertGreaterEqual(s.metric("solod_webhook_deliveries_total", result="delivered"), 2)

    def test_receiver_not_listening_then_up(self):
        port = free_port()
        s = self.hook_server([self.endpoint(f"http://127.0.0.1:{port}/late")])
        name, pw = s.new_user(PASSWORD)
        uid = s.login_ok(name, pw)["user"]["id"]
        time.sleep(1.5)  # refused at least once
        r = self.receiver(port=port)
        got = self.wait_delivered(r, lambda d: len(events_of(d, user_id=uid)) >= 1)
        self.assertEqual(got[0].json()["type"], "session.started")

    def test_given_up_after_retry_for_then_next_goes(self):
        doomed = set()

        def answer(a):
            body = a.json()
            if body["type"] == "session.started" and not doomed:
                doomed.add(a.msg_id)
            return 500 if a.msg_id in doomed else 200

        r = self.receiver(answer=answer)
        s = self.hook_server([self.endpoint(r.url())], {"retry_for": "3s"})
        name, pw = s.new_user(PASSWORD)
        login = s.login_ok(name, pw)
        s.logout(login["token"])
        got = self.wait_delivered(r, lambda d: len(d) >= 1)
        self.assertEqual(got[0].json()["type"], "session.ended")
        tries = [a for a in r.snapshot() if a.msg_id in doomed]
        self.assertGreaterEqual(len(tries), 2)
        self.assertTrue(wait_until(lambda: (s.metric("solod_webhook_deliveries_total", result="failed") or 0) >= 1))
        self.assertIn("given up", s.output())

    def test_timeout_is_a_failure(self):
        slow = {"first": True}

        def answer(a):
            if slow["first"]:
                slow["first"] = False
                time.sleep(3)  # over the 2 s timeout
            return 200

        r = self.receiver(answer=answer)
        s = self.hook_server([self.endpoint(r.url())])
        name, pw = s.new_user(PASSWORD)
        uid = s.login_ok(name, pw)["user"]["id"]
        got = self.wait_delivered(r, lambda d: len(events_of(d, user_id=uid)) >= 1)
        # The slow attempt is recorded when its handler returns, after the retry's.
        tries = lambda: [a for a in r.snapshot() if a.msg_id == got[0].msg_id]  # noqa: E731
        wait_until(lambda: len(tries()) >= 2, timeout=5)
        self.assertEqual(len(tries()), 2, "the timed-out attempt, then the retry (same webhook-id)")


class DurabilityTest(WebhookTestCase):
    def run_outage(self, stop):
        state = {"down": True}
        r = self.receiver(answer=lambda a: 503 if state["down"] else 200)
        s = self.hook_server([self.endpoint(r.url())])
        name, pw = s.new_user(PASSWORD)
        uids = []
        for i in range(5):
            login = s.login_ok(name, pw)
            uids.append(login["user"]["id"])
        s.login(name, "wrong-password")
        # Every change above was answered, so its outbox row is committed.
        stop(s)
        state["down"] = False
        s.start()
        got = self.wait_delivered(r, lambda d: len(events_of(d, user_id=uids[0])) >= 10)
        types = [e["type"] for e in events_of(got, user_id=uids[0])]
        self.assertEqual(types, ["session.started"] + ["session.ended", "session.started"] * 4 + ["login.failed"])
        return s

    def test_no_loss_across_restart(self):
        self.run_outage(lambda s: self.assertEqual(s.stop(), 0))

    def test_no_loss_across_kill_9(self):
        self.run_outage(lambda s: s.kill9())


class ConfigTest(WebhookTestCase):
    def expect_exit_2(self, needle, endpoints):
        s = self.hook_server(endpoints, start=False)
        cp = s.cli(timeout=15)
        text = cp.stdout + cp.stderr
        self.assertEqual(cp.returncode, 2, text[-1500:])
        self.assertIn(needle, text)

    def test_bad_secrets_stop_start(self):
        plain = write_secret(self.dir, "plain", "not-a-standard-webhooks-secret-at-all")
        short = write_secret(self.dir, "short", "whsec_c2hvcnQ=")
        self.expect_exit_2("is not whsec_", [{"url": "http://127.0.0.1:9/", "secret_file": plain}])
        self.expect_exit_2("is not whsec_", [{"url": "http://127.0.0.1:9/", "secret_file": short}])
        self.expect_exit_2("cannot read secret_file",
                           [{"url": "http://127.0.0.1:9/", "secret_file": os.path.join(self.dir, "nope")}])
        self.expect_exit_2("webhooks.endpoints[0]", [{"url": "mailto:x@example.com", "secret_file": plain}])


if __name__ == "__main__":
    unittest.main()
