// The cluster actor between this node and the others, on a real actor system
// with the real directory, user actors, presence, connection actors and
// database: another node's news (as its NOTIFY payload would carry it) kicks
// this node's connections, crosses presence, and a lost news connection
// leaves no token trusted until the resync has corrected memory.

#include "actors/cluster_actor.hpp"
#include "actors/messages.hpp"
#include "actors/online_board.hpp"
#include "actors/presence_actor.hpp"
#include "auth/authenticator.hpp"
#include "storage/news_listener.hpp"
#include "storage/session_repository.hpp"
#include "support/connection_world.hpp"
#include "util/node_id.hpp"
#include "util/time_format.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <soci/soci.h>

#include <mutex>

using namespace std::chrono_literals;
using nlohmann::json;
using solod::kick_reason;
using solod::login_outcome;
using test_support::connection_world;
using test_support::eventually;
using test_support::ws_client;

namespace {

const std::string other_node = "0123456789abcdef";

/// A connection_world with a cluster actor and a presence that reports to it.
struct cluster_world : connection_world {
  caf::actor cluster;
  solod::online_board board;
  /// Heartbeat and reconciliation period; long unless a test wants them.
  std::chrono::milliseconds tick = 1h;

  void start() {
    connection_world::start();
    solod::cluster_options opt;
    opt.db = pool.get();
    opt.registry = &registry;
    opt.clk = ctx.clk;
    opt.directory = directory;
    opt.presence = &presence;
    opt.heartbeat_every = tick;
    opt.reconcile_every = tick;
    cluster = solod::spawn_cluster_actor(*sys, opt);
    // Presence again, linked to the cluster (as server.cpp wires it).
    caf::anon_send_exit(presence.get(), caf::exit_reason::user_shutdown);
    solod::supervise_presence(*sys, &stats, presence, false,
                              solod::presence_links{cluster, &board});
  }

  /// Every actor is done before `board` goes: presence writes to it until then.
  ~cluster_world() {
    if (sys) {
      caf::anon_send_exit(cluster, caf::exit_reason::user_shutdown);
    }
    stop();
  }

  /// Hands the cluster actor one payload from node `from`.
  void news(const json& events, const std::string& from = other_node) {
    caf::anon_send(cluster, solod::news_atom::value,
                   json{{"o", from}, {"e", events}}.dump());
  }
};

/// Collects the payloads a listener hears.
struct payload_sink : solod::news_sink {
  std::mutex mtx;
  std::vector<std::string> payloads;
  std::atomic<int> listening{0};
  void on_news(std::string p) override {
    std::lock_guard<std::mutex> g(mtx);
    payloads.push_back(std::move(p));
  }
  void on_listening() override { listening++; }
  void on_lost(const std::string&) override {}
  bool contains(const std::string& text) {
    std::lock_guard<std::mutex> g(mtx);
    for (auto& p : payloads) {
      if (p.find(text) != std::string::npos) {
        return true;
      }
    }
    return false;
  }
};

json by_of(const std::string& ip, const std::string& ua, solod::time_point at) {
  return json{{"ip", ip}, {"user_agent", ua}, {"at", solod::format_iso8601(at)}};
}

void check_kicked(const ws_client& c, kick_reason reason, const std::optional<json>& by = {}) {
  REQUIRE(c.sink->wait_closed());
  json expected{{"type", "kicked"}, {"reason", solod::to_string(reason)}};
  if (by) {
    expected["by"] = *by;
  }
  CHECK(c.sink->messages().back() == expected);
  CHECK(c.sink->count_of("kicked") == 1);
  CHECK(c.sink->closed()->code == solod::close_code_of(reason));
}

/// A session another node started (its row written there).
solod::session_record remote_session(cluster_world& w, std::int64_t uid, const std::string& name,
                                     const std::string& id) {
  solod::session_record s;
  s.id = id;
  s.user_id = uid;
  s.username = name;
  s.login_ts = w.clk.now();
  s.last_seen = s.login_ts;
  s.expires_at = s.login_ts + 1h;
  s.ip_address = "203.0.113.77";
  s.user_agent = "OtherNode";
  solod::session_repository(*w.db.sql).start(s, "superseded");
  return s;
}

json start_event(const solod::session_record& s, const std::string& old_id) {
  return {{"k", "start"}, {"u", s.user_id}, {"s", s.id}, {"n", s.username},
          {"ip", s.ip_address}, {"ua", s.user_agent}, {"at", solod::format_iso8601(s.login_ts)},
          {"exp", solod::format_iso8601(s.expires_at)}, {"old", old_id}};
}

} // namespace

TEST_CASE("a login on another node kicks this node's connections of the old session",
          "[actors][cluster]") {
  cluster_world w;
  w.start();
  auto alice = w.add_user("alice");
  auto first = w.login(alice, "alice");
  REQUIRE(first.result == login_outcome::status::ok);
  auto c = w.connect(w.token_for(first.session));
  REQUIRE(c.sink->wait_for_type("welcome"));

  auto s2 = remote_session(w, alice, "alice", std::string(32, 'b'));
  w.news(json::array({start_event(s2, first.session.id)}));

  check_kicked(c, kick_reason::superseded, by_of("203.0.113.77", "OtherNode", s2.login_ts));
  REQUIRE(eventually([&] { return w.registry.is_live(alice, s2.id); }));
  CHECK_FALSE(w.auth->authenticate(w.token_for(first.session)));
  CHECK(w.auth->authenticate(w.token_for(s2)));

  // The new session's connection here, then its end on the other node: 4003.
  auto c2 = w.connect(w.token_for(s2));
  REQUIRE(c2.sink->wait_for_type("welcome"));
  solod::session_repository(*w.db.sql).end(s2.id, "admin", w.clk.now());
  w.news(json::array({{{"k", "end"}, {"u", alice}, {"s", s2.id}, {"r", "admin"}}}));
  check_kicked(c2, kick_reason::admin);
  REQUIRE(eventually([&] { return !w.registry.find(alice); }));

  // Late news of the ended session's start brings nothing back.
  w.news(json::array({start_event(s2, "")}));
  auto probe = w.login(w.add_user("probe"), "probe"); // a round trip through the directory
  REQUIRE(probe.result == login_outcome::status::ok);
  CHECK_FALSE(w.registry.find(alice));
}

TEST_CASE("this node's own news and malformed payloads change nothing", "[actors][cluster]") {
  cluster_world w;
  w.start();
  auto alice = w.add_user("alice");
  auto first = w.login(alice, "alice");
  auto c = w.connect(w.token_for(first.session));
  REQUIRE(c.sink->wait_for_type("welcome"));

  w.news(json::array({{{"k", "end"}, {"u", alice}, {"s", first.session.id}, {"r", "admin"}}}),
         solod::this_node_id());
  for (const char* junk : {"", "null", "[]", "{\"o\":1}", "{\"o\":\"x\",\"e\":{}}",
                           "{\"o\":\"x\",\"e\":[1,\"a\",{\"k\":7},{\"k\":\"end\"}]}"}) {
    caf::anon_send(w.cluster, solod::news_atom::value, std::string(junk));
  }
  CHECK(w.round_trip(c));
  CHECK_FALSE(c.sink->closed());
  CHECK(w.registry.is_live(alice, first.session.id));
}

TEST_CASE("presence and messages cross nodes", "[actors][cluster]") {
  cluster_world w;
  w.start();
  auto alice = w.add_user("alice");
  auto a = w.connect_live(w.login(alice, "alice"));
  a.send({{"type", "subscribe"}, {"topic", "presence"}});
  REQUIRE(a.sink->wait_for_type("subscribed"));

  json bob{{"k", "join"}, {"node", other_node}, {"c", std::string(32, 'c')}, {"u", 4242},
           {"n", "bob"}, {"s", std::string(32, 'd')}, {"ip", "198.51.100.9"}, {"ua", "x"},
           {"at", solod::format_iso8601(w.clk.now())}};
  w.news(json::array({bob}));
  REQUIRE(eventually([&] {
    for (auto& m : a.sink->messages_of("presence")) {
      if (m["user"] == "bob" && m["status"] == "online") {
        return true;
      }
    }
    return false;
  }));
  CHECK(w.board.names() == std::vector<std::string>{"alice", "bob"});

  // A message to bob leaves through the cluster as news, heard as another node would.
  payload_sink heard;
  solod::news_listener listener(w.db.url, heard, {1000ms, 2000ms, 20ms});
  listener.start();
  REQUIRE(eventually([&] { return heard.listening > 0; }));
  a.send({{"type", "message"}, {"to", "bob"}, {"text", "hello bob"}});
  REQUIRE(eventually([&] { return heard.contains("hello bob"); }));
  listener.stop();

  // A message from the other node reaches alice here.
  w.news(json::array({{{"k", "msg"}, {"to", "alice"}, {"t", R"({"type":"message","text":"hi"})"}}}));
  REQUIRE(eventually([&] {
    for (auto& m : a.sink->messages_of("message")) {
      if (m.value("text", "") == "hi") {
        return true;
      }
    }
    return false;
  }));

  // The other node dies: bob goes offline here.
  w.news(json::array({{{"k", "gone"}, {"node", other_node}}}));
  REQUIRE(eventually([&] { return w.board.names() == std::vector<std::string>{"alice"}; }));
}

TEST_CASE("a lost news connection refuses every token until the resync has corrected memory",
          "[actors][cluster]") {
  cluster_world w;
  w.start();
  auto alice = w.add_user("alice");
  auto bob = w.add_user("bob");
  auto a = w.login(alice, "alice");
  auto b = w.login(bob, "bob");
  auto ca = w.connect(w.token_for(a.session));
  REQUIRE(ca.sink->wait_for_type("welcome"));

  solod::cluster_news_sink sink(w.cluster, w.registry);
  sink.on_lost("test: connection cut");
  CHECK_FALSE(w.registry.trusted());
  CHECK_FALSE(w.auth->authenticate(w.token_for(b.session))); // live, but cannot be vouched for
  CHECK_FALSE(w.auth->available());

  // Meanwhile another node ended alice's session; its news never arrived.
  REQUIRE(solod::session_repository(*w.db.sql).end(a.session.id, "logout", w.clk.now()));
  sink.on_listening();
  REQUIRE(eventually([&] { return w.registry.trusted(); }));
  check_kicked(ca, kick_reason::logout);
  CHECK_FALSE(w.registry.find(alice));
  CHECK(w.auth->authenticate(w.token_for(b.session)));
}

TEST_CASE("the periodic reconciliation ends what memory missed, while news flows on",
          "[actors][cluster]") {
  cluster_world w;
  w.tick = 50ms;
  w.start();
  auto alice = w.add_user("alice");
  auto bob = w.add_user("bob");
  auto a = w.login(alice, "alice");
  auto b = w.login(bob, "bob");
  auto ca = w.connect(w.token_for(a.session));
  auto cb = w.connect(w.token_for(b.session));
  REQUIRE(ca.sink->wait_for_type("welcome"));
  REQUIRE(cb.sink->wait_for_type("welcome"));

  // Another node ended alice's session, and its news was lost: the
  // reconciliation finds the row ended and kicks with its reason.
  REQUIRE(solod::session_repository(*w.db.sql).end(a.session.id, "admin", w.clk.now()));
  check_kicked(ca, kick_reason::admin);
  CHECK_FALSE(w.registry.find(alice));

  // News is never held for it: bob's end arrives as news and kicks at once.
  solod::session_repository(*w.db.sql).end(b.session.id, "logout", w.clk.now());
  w.news(json::array({{{"k", "end"}, {"u", bob}, {"s", b.session.id}, {"r", "logout"}}}));
  check_kicked(cb, kick_reason::logout);
  CHECK(w.registry.trusted());
}
