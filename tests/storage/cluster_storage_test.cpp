// What several nodes share through the database: session changes that carry
// their news (heard by a real news_listener: LISTEN on PostgreSQL, the polled
// table on SQLite), deny_new decided in the transaction, idle ends checked
// against every node, node heartbeats, reaping and connection rows.
#include "storage/cluster_news.hpp"
#include "storage/cluster_repository.hpp"
#include "storage/news_listener.hpp"
#include "storage/session_repository.hpp"
#include "storage/user_repository.hpp"
#include "support/test_database.hpp"
#include "util/node_id.hpp"

#include <catch2/catch.hpp>
#include <soci/soci.h>

#include <mutex>

using namespace std::chrono_literals;
using solod::cluster_connection;
using solod::live_policy;
using solod::session_record;
using solod::time_point;
using test_support::eventually;

namespace {

const time_point t0{std::chrono::seconds{1'800'000'000}};

std::int64_t add_user(soci::session& sql, const std::string& name) {
  solod::user_record u;
  u.username = name;
  u.password_hash = "h";
  u.created_at = t0;
  auto stored = solod::user_repository(sql).insert(u);
  REQUIRE(stored);
  return stored->id;
}

session_record session(const std::string& id, std::int64_t uid, time_point at,
                       std::chrono::hours ttl = 24h) {
  session_record s;
  s.id = id;
  s.user_id = uid;
  s.username = "u" + std::to_string(uid);
  s.login_ts = at;
  s.last_seen = at;
  s.expires_at = at + ttl;
  s.ip_address = "203.0.113.5";
  s.user_agent = "agent";
  return s;
}

/// Collects what a listener hears.
struct collecting_sink : solod::news_sink {
  std::mutex mtx;
  std::vector<std::string> payloads;
  std::atomic<int> listening{0};
  void on_news(std::string p) override {
    std::lock_guard<std::mutex> g(mtx);
    payloads.push_back(std::move(p));
  }
  void on_listening() override { listening++; }
  void on_lost(const std::string&) override {}

  /// Every event heard so far (big payloads resolved through `sql`).
  std::vector<nlohmann::json> events(soci::session& sql) {
    std::vector<std::string> copy;
    {
      std::lock_guard<std::mutex> g(mtx);
      copy = payloads;
    }
    std::vector<nlohmann::json> out;
    for (auto& p : copy) {
      auto item = solod::parse_news(p);
      REQUIRE(item);
      CHECK(item->origin == solod::this_node_id());
      if (item->ref) {
        item = solod::read_news_row(sql, *item->ref);
        REQUIRE(item);
      }
      for (auto& e : item->events) {
        out.push_back(e);
      }
    }
    return out;
  }
};

bool heard(collecting_sink& sink, soci::session& sql, const std::string& kind,
           const std::string& session_id) {
  for (auto& e : sink.events(sql)) {
    if (e.value("k", "") == kind && e.value("s", "") == session_id) {
      return true;
    }
  }
  return false;
}

cluster_connection conn(const std::string& node, const std::string& id, std::int64_t uid,
                        const std::string& sid) {
  cluster_connection c;
  c.node_id = node;
  c.connection_id = id;
  c.user_id = uid;
  c.username = "u" + std::to_string(uid);
  c.session_id = sid;
  c.ip_address = "198.51.100.3";
  c.connected_at = t0;
  return c;
}

} // namespace

TEST_CASE("every session change is heard by the other nodes, when it commits",
          "[storage][cluster]") {
  test_support::test_database db;
  auto uid = add_user(*db.sql, "alice");
  collecting_sink sink;
  solod::news_listener listener(db.url, sink, {1000ms, 2000ms, 20ms});
  listener.start();
  REQUIRE(eventually([&] { return sink.listening > 0; }));

  solod::session_repository sessions(*db.sql);
  sessions.start(session("s1", uid, t0), "superseded");
  auto second = sessions.start(session("s2", uid, t0 + 1s), "superseded");
  REQUIRE(second.ended == std::optional<std::string>("s1"));
  REQUIRE(sessions.end("s2", "logout", t0 + 2s));
  CHECK_FALSE(sessions.end("s2", "admin", t0 + 3s)); // already over: no second news

  REQUIRE(eventually([&] { return heard(sink, *db.sql, "end", "s2"); }));
  auto events = sink.events(*db.sql);
  REQUIRE(events.size() == 3);
  CHECK(events[0]["k"] == "start");
  CHECK(events[1]["k"] == "start");
  CHECK(events[1]["old"] == "s1");
  CHECK(events[1]["ip"] == "203.0.113.5");
  CHECK(events[2] == nlohmann::json{{"k", "end"}, {"u", uid}, {"s", "s2"}, {"r", "logout"}});

  // A payload larger than NOTIFY takes goes through cluster_news whole.
  solod::news_batch big;
  std::string text(20000, 'x');
  big.add({{"k", "msg"}, {"to", "bob"}, {"t", text}});
  {
    soci::transaction tx(*db.sql);
    big.publish(*db.sql);
    tx.commit();
  }
  REQUIRE(eventually([&] {
    for (auto& e : sink.events(*db.sql)) {
      if (e.value("k", "") == "msg") {
        return e["t"] == text;
      }
    }
    return false;
  }));

  // A rolled-back change is never heard.
  {
    soci::transaction tx(*db.sql);
    solod::news_batch lost;
    lost.session_ended(uid, "never", "logout");
    lost.publish(*db.sql);
    tx.rollback();
  }
  solod::session_repository(*db.sql).start(session("s3", uid, t0 + 4s), "superseded");
  REQUIRE(eventually([&] { return heard(sink, *db.sql, "start", "s3"); }));
  CHECK_FALSE(heard(sink, *db.sql, "end", "never"));
  listener.stop();
}

TEST_CASE("deny_new is decided in the transaction; an expired live session does not count",
          "[storage][cluster]") {
  test_support::test_database db;
  auto uid = add_user(*db.sql, "bob");
  solod::session_repository sessions(*db.sql);
  REQUIRE(sessions.start(session("a", uid, t0, 1h), "superseded", live_policy::refuse).started);

  auto refused = sessions.start(session("b", uid, t0 + 1s), "superseded", live_policy::refuse);
  CHECK_FALSE(refused.started);
  CHECK_FALSE(refused.ended);
  CHECK_FALSE(sessions.find("b"));
  CHECK_FALSE(sessions.find("a")->logout_ts);

  // Past its expiry, the live row is ended as expired and the login goes ahead.
  auto later = sessions.start(session("c", uid, t0 + 2h), "superseded", live_policy::refuse);
  CHECK(later.started);
  CHECK(later.ended == std::optional<std::string>("a"));
  CHECK(sessions.find("a")->end_reason == "expired");
}

TEST_CASE("an idle end needs every node's silence: no connection anywhere, no request since",
          "[storage][cluster]") {
  test_support::test_database db;
  auto uid = add_user(*db.sql, "carol");
  solod::session_repository sessions(*db.sql);
  sessions.start(session("s", uid, t0), "superseded");

  // Another node served it at t0 + 10 min: not idle since t0 + 5 min.
  sessions.touch({{"s", t0 + 10min}});
  sessions.touch({{"s", t0 + 1min}}); // never backwards
  CHECK_FALSE(sessions.end_if_idle("s", t0 + 5min, t0 + 35min));

  // A connection on some node keeps it.
  solod::news_batch none;
  solod::cluster_repository(*db.sql).apply({{true, conn("n2", "c1", uid, "s")}}, none);
  CHECK_FALSE(sessions.end_if_idle("s", t0 + 20min, t0 + 50min));

  solod::cluster_repository(*db.sql).apply({{false, conn("n2", "c1", uid, "s")}}, none);
  CHECK(sessions.end_if_idle("s", t0 + 10min, t0 + 50min)); // last seen exactly at the bound
  CHECK(sessions.find("s")->end_reason == "expired");
  CHECK_FALSE(sessions.end_if_idle("s", t0 + 20min, t0 + 51min));

  // ended_among: only rows that exist and have ended, with their reason.
  sessions.start(session("t", uid, t0 + 1h), "superseded");
  auto dead = sessions.ended_among({"s", "t", "missing"});
  REQUIRE(dead.size() == 1);
  CHECK(dead[0] == std::make_pair(std::string("s"), std::string("expired")));
}

TEST_CASE("nodes heartbeat; a silent node is reaped with its connections, and announced gone",
          "[storage][cluster]") {
  test_support::test_database db;
  auto uid = add_user(*db.sql, "dave");
  solod::cluster_repository cluster(*db.sql);
  CHECK_FALSE(cluster.heartbeat("n1", t0, "127.0.0.1:1")); // new
  CHECK(cluster.heartbeat("n1", t0 + 5s, "127.0.0.1:1"));
  CHECK_FALSE(cluster.heartbeat("n2", t0, "127.0.0.1:2"));

  solod::news_batch news;
  cluster.apply({{true, conn("n1", "a", uid, "s")}, {true, conn("n2", "b", uid, "s")},
                 {true, conn("n2", "c", uid, "s")}, {false, conn("n2", "c", uid, "s")}},
                news);
  CHECK(cluster.connections().size() == 2);
  CHECK(cluster.connections_of("s").size() == 2);
  CHECK(cluster.connections_of("other").empty());

  // n2 is silent since t0; at t0 + 25 s, with a 20 s bound, it is gone (never n1 itself).
  auto dead = cluster.reap(t0 + 5s, "n1");
  CHECK(dead == std::vector<std::string>{"n2"});
  auto left = cluster.connections();
  REQUIRE(left.size() == 1);
  CHECK(left[0].node_id == "n1");
  CHECK(left[0].ip_address == "198.51.100.3");
  CHECK(cluster.reap(t0 + 5s, "n1").empty());
  CHECK_FALSE(cluster.heartbeat("n2", t0 + 30s, "127.0.0.1:2")); // it must re-publish

  cluster.replace_node("n1", {conn("n1", "x", uid, "s"), conn("n1", "y", uid, "s")});
  CHECK(cluster.connections().size() == 2);
  cluster.remove_node("n1");
  CHECK(cluster.connections().empty());
}
