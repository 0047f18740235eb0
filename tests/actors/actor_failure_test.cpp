// Issue #9, point 2: an actor that fails, fails closed. Failures are injected
// through the test-only fail_atom hooks (honoured only when the world sets
// test_hooks) into the real actors over a real SQLite database; after each,
// memory equals the database, every connection of the lost session heard
// `kicked` `server_error` and a 1011 close, the user can log in again at once,
// and the failure is counted in /metrics.

#include "actors/answer_once.hpp"
#include "storage/session_repository.hpp"
#include "support/connection_world.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <set>
#include <string>

using namespace std::chrono_literals;
using nlohmann::json;
using solod::fail_point;
using solod::kick_reason;
using solod::login_outcome;
using solod::metrics;
using test_support::connection_world;
using test_support::eventually;
using test_support::ws_client;

namespace {

/// Ids of the live sessions in the registry.
std::set<std::string> registry_ids(const solod::session_registry& r) {
  std::set<std::string> ids;
  r.for_each([&](const solod::live_session& s) { ids.insert(s.id); });
  return ids;
}

/// Ids of the live sessions in the database.
std::set<std::string> database_ids(connection_world& w) {
  std::set<std::string> ids;
  for (auto& s : solod::session_repository(*w.db.sql).load_live()) {
    ids.insert(s.id);
  }
  return ids;
}

/// Memory and the database agree (once the recovery has run; the wait is only a guard).
bool registry_matches_database(connection_world& w) {
  return eventually([&] { return registry_ids(w.registry) == database_ids(w); });
}

std::uint64_t failures(const connection_world& w, metrics::actor_kind k) {
  return w.stats.actor_failures[static_cast<std::size_t>(k)].load();
}

/// `c` got exactly one `kicked` `server_error`, as its last message, and one 1011 close.
void check_closed_1011(const ws_client& c) {
  REQUIRE(c.sink->wait_closed());
  auto msgs = c.sink->messages();
  REQUIRE_FALSE(msgs.empty());
  CHECK(msgs.back() == json{{"type", "kicked"}, {"reason", "server_error"}});
  CHECK(c.sink->count_of("kicked") == 1);
  auto closed = c.sink->closed();
  REQUIRE(closed);
  CHECK(closed->code == 1011);
  CHECK(closed->reason == "server_error");
  CHECK(c.sink->close_calls() == 1);
}

void inject_user_failure(connection_world& w, std::int64_t uid, fail_point where) {
  caf::anon_send(w.directory, solod::fail_atom::value, uid, where);
}

} // namespace

TEST_CASE("answer_once answers exactly once, with the fallback when dropped", "[actors]") {
  int calls = 0;
  bool last = true;
  {
    auto reply = solod::answer_once<bool>([&](bool v) { calls++; last = v; }, false);
    auto copy = reply;
    copy(true);
    reply(false); // a second answer is swallowed
  }
  CHECK(calls == 1);
  CHECK(last == true);

  calls = 0;
  {
    auto reply = solod::answer_once<bool>([&](bool v) { calls++; last = v; }, false);
    auto copy = reply; // dropped unanswered, in two copies
  }
  CHECK(calls == 1);
  CHECK(last == false);
}

TEST_CASE("a failed user actor: session ended everywhere, connections closed 1011, login again",
          "[actors][failure]") {
  connection_world w;
  w.test_hooks = true;
  w.cfg.auth.policy = solod::session_policy::deny_new; // the strictest: a stale session would deny
  w.start();
  auto uid = w.add_user("ursula");
  auto other = w.add_user("otto");
  auto out = w.login(uid, "ursula");
  auto a = w.connect_live(out);
  auto b = w.connect_live(out);
  auto bystander = w.connect_live(w.login(other, "otto"));

  inject_user_failure(w, uid, fail_point::now);

  check_closed_1011(a);
  check_closed_1011(b);
  CHECK_FALSE(w.registry.is_live(uid, out.session.id));
  CHECK(eventually([&] { return w.is_ended_in_db(out.session.id); }));
  CHECK(w.end_reason_of(out.session.id) == "server_error");
  CHECK(registry_matches_database(w));
  CHECK(failures(w, metrics::actor_kind::user) == 1);
  CHECK(w.stats.render().find("solod_actor_failures_total{actor=\"user\"} 1\n") !=
        std::string::npos);

  // Under deny_new too: nothing of the old session is left to refuse the login.
  auto again = w.login(uid, "ursula");
  REQUIRE(again.result == login_outcome::status::ok);
  CHECK(w.registry.is_live(uid, again.session.id));
  CHECK(w.live_row_id(uid) == again.session.id);
  auto c = w.connect_live(again);
  CHECK(w.round_trip(c));

  // The other user noticed nothing.
  CHECK(w.round_trip(bystander));
  CHECK_FALSE(bystander.sink->closed());
  CHECK(w.registry.is_live(other, w.live_row_id(other).value_or("")));

  REQUIRE(w.flush_audit() == 0);
  CHECK(w.audit_rows("session_terminated", out.session.id) == 1);
  CHECK(registry_matches_database(w));
}

TEST_CASE("a user actor that dies after the database wrote a login (the issue's case)",
          "[actors][failure]") {
  connection_world w;
  w.test_hooks = true;
  w.start();
  auto uid = w.add_user("ivy");
  auto first = w.login(uid, "ivy", "203.0.113.1");
  auto old_conn = w.connect_live(first);

  inject_user_failure(w, uid, fail_point::next_started);
  // The database ends the first session and inserts the second; then the actor throws.
  auto second = w.login(uid, "ivy", "203.0.113.2");
  CHECK(second.result == login_outcome::status::unavailable); // answered, not dropped

  // The old token is refused and its connection closed: nothing of it is left.
  CHECK_FALSE(w.registry.is_live(uid, first.session.id));
  CHECK(w.auth->authenticate(w.token_for(first.session)) == std::nullopt);
  check_closed_1011(old_conn);
  // The row the failed actor wrote was never handed out: the recovery ends it.
  CHECK(registry_matches_database(w));
  CHECK(w.live_rows(uid) == 0);
  CHECK(failures(w, metrics::actor_kind::user) == 1);

  auto third = w.login(uid, "ivy", "203.0.113.3");
  REQUIRE(third.result == login_outcome::status::ok);
  CHECK(w.live_row_id(uid) == third.session.id);
  CHECK(registry_matches_database(w));
}

TEST_CASE("requests pending on a failed user actor are answered, never left hanging",
          "[actors][failure]") {
  connection_world w;
  w.test_hooks = true;
  w.start();
  auto uid = w.add_user("pend");
  auto live = w.login(uid, "pend");
  REQUIRE(live.result == login_outcome::status::ok);

  std::vector<std::future<login_outcome>> logins;
  std::future<bool> ended;
  {
    // The database's write lock is held: the first login's row waits in the
    // pool, the others wait in the actor; then the actor fails.
    test_support::write_blocker blocker(w.db);
    for (int i = 0; i < 3; ++i) {
      logins.push_back(w.login_async(uid, "pend"));
    }
    ended = w.end_async(uid, live.session.id);
    inject_user_failure(w, uid, fail_point::now);
    CHECK(eventually([&] { return !w.registry.is_live(uid, live.session.id); }));
  }
  for (auto& f : logins) {
    auto out = test_support::wait_reply(f);
    REQUIRE(out); // an answer came
    // Unavailable, or ok when the end message came first and the failure after:
    // either way, an answer, and the database decides what is live.
    CHECK(out->result != login_outcome::status::session_active);
  }
  REQUIRE(test_support::wait_reply(ended));
  // The failed actor's own job finished after it died; the fresh actor waited
  // for it before ending what it left live: memory and database agree.
  CHECK(registry_matches_database(w));
  CHECK(w.live_rows(uid) == 0);
  auto again = w.login(uid, "pend");
  CHECK(again.result == login_outcome::status::ok);
  CHECK(registry_matches_database(w));
}

TEST_CASE("a failed connection actor closes its own stream with 1011 and leaves presence",
          "[actors][failure]") {
  connection_world w;
  w.test_hooks = true;
  w.start();
  auto uid = w.add_user("conn");
  auto out = w.login(uid, "conn");
  auto doomed = w.connect_live(out);
  auto sibling = w.connect_live(out);
  w.settle_presence();

  caf::anon_send(doomed.actor, solod::fail_atom::value);
  check_closed_1011(doomed);
  w.await_gone(doomed);
  CHECK(failures(w, metrics::actor_kind::connection) == 1);

  // The session and the other connection are untouched; the user actor forgot the dead one.
  CHECK(w.registry.is_live(uid, out.session.id));
  CHECK(w.round_trip(sibling));
  CHECK_FALSE(sibling.sink->closed());
  CHECK(eventually([&] { return w.registry.find(uid)->connections->load() == 1; }));
  // A session end still reaches the survivor exactly once.
  REQUIRE(w.end(uid, out.session.id));
  REQUIRE(sibling.sink->wait_closed());
  CHECK(sibling.sink->closed()->code == 4002);
  CHECK(doomed.sink->close_calls() == 1);
}

TEST_CASE("a failed presence actor closes its connections with 1011 and is restarted",
          "[actors][failure]") {
  connection_world w;
  w.test_hooks = true;
  w.start();
  auto u1 = w.add_user("pia");
  auto u2 = w.add_user("quinn");
  auto a = w.connect_live(w.login(u1, "pia"));
  auto b = w.connect_live(w.login(u2, "quinn"));
  a.send({{"type", "subscribe"}, {"topic", "presence"}});
  REQUIRE(a.sink->wait_for_type("subscribed"));
  auto before = w.presence.get();

  caf::anon_send(before, solod::fail_atom::value);
  check_closed_1011(a);
  check_closed_1011(b);
  CHECK(eventually([&] { return failures(w, metrics::actor_kind::presence) == 1; }));
  CHECK(eventually([&] { return w.presence.get() != before; }));
  // The WebSocket sessions report their streams closed, as Beast does after the close.
  a.disconnect();
  b.disconnect();
  w.await_gone(a);
  w.await_gone(b);

  // The sessions themselves are still live: the clients reconnect, and the
  // fresh presence actor serves them.
  auto pia = w.registry.find(u1);
  REQUIRE(pia);
  solod::login_outcome again;
  again.result = login_outcome::status::ok;
  again.session.id = pia->id;
  again.session.user_id = u1;
  again.session.username = "pia";
  auto c = w.connect_live(again);
  c.send({{"type", "subscribe"}, {"topic", "presence"}});
  REQUIRE(c.sink->wait_for_type("subscribed"));
  c.send({{"type", "online"}});
  REQUIRE(c.sink->wait_for_type("online"));
  CHECK(c.sink->messages_of("online").front()["users"] == json::array({"pia"}));
  CHECK_FALSE(c.sink->closed());
}

TEST_CASE("a failed directory drops every session from memory and closes every connection",
          "[actors][failure]") {
  connection_world w;
  w.test_hooks = true;
  w.start();
  auto u1 = w.add_user("dora");
  auto u2 = w.add_user("dan");
  auto s1 = w.login(u1, "dora");
  auto s2 = w.login(u2, "dan");
  auto a = w.connect_live(s1);
  auto b = w.connect_live(s2);

  caf::anon_send(w.directory, solod::fail_atom::value);
  check_closed_1011(a);
  check_closed_1011(b);
  CHECK(eventually([&] { return w.registry.size() == 0; }));
  CHECK(w.auth->authenticate(w.token_for(s1.session)) == std::nullopt);
  CHECK(eventually([&] { return failures(w, metrics::actor_kind::directory) == 1; }));
  // The database keeps them: the server shuts down and a restart restores them.
  CHECK(w.live_rows(u1) == 1);
  CHECK(w.live_rows(u2) == 1);
}

TEST_CASE("without test_hooks the fail messages are ignored", "[actors][failure]") {
  connection_world w; // test_hooks stays false, as in production
  w.start();
  auto uid = w.add_user("safe");
  auto out = w.login(uid, "safe");
  auto c = w.connect_live(out);
  inject_user_failure(w, uid, fail_point::now);
  caf::anon_send(w.directory, solod::fail_atom::value);
  caf::anon_send(w.presence.get(), solod::fail_atom::value);
  caf::anon_send(c.actor, solod::fail_atom::value);
  CHECK(w.round_trip(c));
  w.settle_presence();
  CHECK(w.user_actors() == 1);
  CHECK(w.registry.is_live(uid, out.session.id));
  CHECK_FALSE(c.sink->closed());
  for (std::size_t k = 0; k < w.stats.actor_failures.size(); ++k) {
    CHECK(w.stats.actor_failures[k].load() == 0);
  }
}
