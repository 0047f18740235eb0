// The presence actor on a real actor system, with recording sinks for
// connections and subscribers: who is online, and every change delivered to
// every subscriber, in order, none lost.

#include "actors/messages.hpp"
#include "actors/presence_actor.hpp"
#include "support/recording_sink.hpp"
#include "util/metrics.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

using nlohmann::json;
using solod::join_atom;
using solod::leave_atom;
using solod::subscribe_atom;
using test_support::recording_sink;

namespace {

/// A presence actor of its own.
struct presence_world {
  solod::metrics stats;
  caf::actor_system_config caf_cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::actor presence;

  presence_world() {
    caf_cfg.set("scheduler.max-threads", 2);
    caf_cfg.set("logger.verbosity", caf::atom("quiet"));
    sys = std::make_unique<caf::actor_system>(caf_cfg);
    presence = solod::spawn_presence_actor(*sys, &stats);
  }

  ~presence_world() {
    caf::anon_send_exit(presence, caf::exit_reason::user_shutdown);
    presence = nullptr;
    sys->await_all_actors_done();
  }

  presence_world(const presence_world&) = delete;
  presence_world& operator=(const presence_world&) = delete;

  // -- what connection actors send ---------------------------------------------

  void join(std::int64_t user_id, const std::string& username, const std::string& conn_id,
            std::shared_ptr<solod::ws_sink> sink = std::make_shared<recording_sink>()) {
    caf::anon_send(presence, join_atom::value, user_id, username, conn_id, std::move(sink));
  }

  void leave(std::int64_t user_id, const std::string& conn_id) {
    caf::anon_send(presence, leave_atom::value, user_id, conn_id);
  }

  void subscribe(const std::string& conn_id, std::shared_ptr<solod::ws_sink> sink) {
    caf::anon_send(presence, subscribe_atom::value, conn_id, std::move(sink));
  }

  /// The usernames online; the request also proves everything sent before was handled.
  std::vector<std::string> online() {
    std::optional<std::vector<std::string>> names;
    caf::scoped_actor self{*sys};
    self->request(presence, std::chrono::seconds{10}, solod::online_atom::value)
      .receive([&](const std::vector<std::string>& n) { names = n; }, [&](caf::error&) {});
    REQUIRE(names);
    return *names;
  }

  /// Two round trips: changes are flushed from a message presence queues to
  /// itself, which the first may overtake but the second cannot.
  void settle() {
    online();
    online();
  }
};

json presence_msg(const std::string& user, const std::string& status, std::size_t count) {
  return json{{"type", "presence"}, {"user", user}, {"status", status}, {"count", count}};
}

/// What presence sends a new subscriber first.
const json subscribed{{"type", "subscribed"}, {"topic", "presence"}};

} // namespace

TEST_CASE("presence: online at a user's first connection, offline at its last", "[actors]") {
  presence_world p;
  auto sub = std::make_shared<recording_sink>();
  p.subscribe("watcher", sub);

  p.join(1, "alice", "a1");
  p.settle();
  CHECK(sub->messages() == std::vector<json>{subscribed, presence_msg("alice", "online", 1)});

  p.join(1, "alice", "a2"); // a second connection: no change
  p.join(2, "bob", "b1");
  p.settle();
  CHECK(p.online() == std::vector<std::string>{"alice", "bob"});

  p.leave(1, "a1"); // alice still has a2
  p.settle();
  CHECK(p.online() == std::vector<std::string>{"alice", "bob"});
  CHECK(sub->texts().size() == 3);

  p.leave(1, "a2");
  p.leave(2, "b1");
  p.settle();
  CHECK(p.online().empty());

  const std::vector<json> expected{
    subscribed,
    presence_msg("alice", "online", 1),
    presence_msg("bob", "online", 2),
    presence_msg("alice", "offline", 1),
    presence_msg("bob", "offline", 0),
  };
  CHECK(sub->messages() == expected);
  CHECK(sub->closed() == std::nullopt);
  CHECK(p.stats.presence_deliveries == expected.size() - 1); // changes only

  SECTION("a user who comes back is online again") {
    p.join(1, "alice", "a3");
    p.settle();
    CHECK(sub->messages().back() == presence_msg("alice", "online", 1));
  }
}

TEST_CASE("presence: 500 joins in a burst reach 3 subscribers, in order, none lost", "[actors]") {
  constexpr int joins = 500;
  presence_world p;
  std::vector<std::shared_ptr<recording_sink>> subs;
  for (int i = 0; i < 3; ++i) {
    subs.push_back(std::make_shared<recording_sink>());
    p.subscribe("sub" + std::to_string(i), subs.back());
  }
  p.settle();

  for (int i = 0; i < joins; ++i) {
    p.join(100 + i, "user" + std::to_string(i), "c" + std::to_string(i));
  }
  for (auto& s : subs) {
    REQUIRE(s->wait_for_count(1 + joins));
  }
  p.settle();

  const auto reference = subs[0]->texts();
  REQUIRE(reference.size() == 1 + joins);
  CHECK(json::parse(reference[0]) == subscribed);
  for (int i = 0; i < joins; ++i) {
    INFO("change " << i);
    CHECK(json::parse(reference[static_cast<std::size_t>(i) + 1]) ==
          presence_msg("user" + std::to_string(i), "online", static_cast<std::size_t>(i) + 1));
  }
  for (auto& s : subs) {
    CHECK(s->texts() == reference);
    // Batched: fewer hand-offs than changes is allowed, more is not.
    CHECK(s->hand_offs() <= 1 + joins);
  }
  CHECK(p.stats.presence_deliveries == 3 * joins);
  CHECK(p.online().size() == joins);
}

TEST_CASE("presence: leave of an unknown connection is harmless", "[actors]") {
  presence_world p;
  auto sub = std::make_shared<recording_sink>();
  p.subscribe("watcher", sub);
  p.join(1, "alice", "a1");
  p.settle();
  REQUIRE(sub->texts().size() == 2);

  p.leave(1, "no-such-connection"); // a known user, an unknown connection
  p.leave(99, "a1");                // an unknown user, another user's connection id
  p.leave(99, "nothing");           // nothing known at all
  p.leave(1, "a1");
  p.leave(1, "a1");                 // twice
  p.settle();

  CHECK(sub->messages() == std::vector<json>{subscribed, presence_msg("alice", "online", 1),
                                             presence_msg("alice", "offline", 0)});
  CHECK(p.online().empty());
  CHECK(p.stats.presence_deliveries == 2);
}

TEST_CASE("presence: a subscriber that leaves hears nothing more", "[actors]") {
  presence_world p;
  auto leaving = std::make_shared<recording_sink>();
  auto staying = std::make_shared<recording_sink>();
  // Both are connections of users online, subscribed like connection actors subscribe.
  p.join(1, "alice", "a1", leaving);
  p.subscribe("a1", leaving);
  p.join(2, "bob", "b1", staying);
  p.subscribe("b1", staying);
  p.settle();
  const auto before = leaving->texts();

  p.leave(1, "a1");
  p.join(3, "carol", "c1");
  p.settle();

  CHECK(leaving->texts() == before); // not even its own offline
  CHECK(leaving->sent_after_close() == 0);
  CHECK(staying->messages_of("presence").size() >= 2);
  CHECK(staying->messages().back() == presence_msg("carol", "online", 2));
  auto staying_msgs = staying->messages();
  CHECK(std::find(staying_msgs.begin(), staying_msgs.end(), presence_msg("alice", "offline", 1)) !=
        staying_msgs.end());

  SECTION("and a subscriber that never joined, once it leaves, too") {
    auto observer = std::make_shared<recording_sink>();
    p.subscribe("obs", observer);
    p.join(4, "dave", "d1");
    p.settle();
    REQUIRE(observer->texts().size() == 2); // subscribed, dave online
    p.leave(0, "obs");
    p.join(5, "erin", "e1");
    p.settle();
    CHECK(observer->texts().size() == 2);
  }
}

// SPEC §4: after `subscribed`, a presence message "on each change". A change
// still pending in presence's batch when a subscription arrives happened
// before it: it goes to the earlier subscribers only, and the new one starts
// with "subscribed". The join and the subscribe are sent back to back, so the
// join's flush is nearly always still queued when the subscribe is handled.
TEST_CASE("presence: a subscriber hears no change from before it subscribed", "[actors]") {
  presence_world p;
  auto earlier = std::make_shared<recording_sink>();
  p.subscribe("earlier", earlier);
  for (int i = 0; i < 20; ++i) {
    INFO("attempt " << i);
    auto sub = std::make_shared<recording_sink>();
    p.join(1000 + i, "early" + std::to_string(i), "e" + std::to_string(i));
    p.subscribe("late-subscriber-" + std::to_string(i), sub);
    p.settle();
    CHECK(sub->messages() == std::vector<json>{subscribed});
    // The earlier subscriber got the change, after its own confirmation.
    CHECK(earlier->messages().back() ==
          presence_msg("early" + std::to_string(i), "online", static_cast<std::size_t>(i) + 1));
    p.leave(0, "late-subscriber-" + std::to_string(i));
  }
  CHECK(earlier->texts().size() == 21);
}
