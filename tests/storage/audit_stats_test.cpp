// The statistics of the admin dashboard against a real database: counts per
// hour and day, peak live sessions, top failures, and the cache of closed
// hours (which must never make a report differ from the tables).

#include "storage/audit_stats.hpp"
#include "storage/login_log_repository.hpp"
#include "storage/user_repository.hpp"
#include "storage/write_transaction.hpp"
#include "support/test_database.hpp"
#include "util/time_format.hpp"

#include <catch2/catch.hpp>
#include <soci/soci.h>

using namespace std::chrono_literals;
using solod::audit_event;
using solod::audit_stats;
using solod::stats_bucket;
using solod::time_point;
using test_support::count_of;

namespace {

/// 2027-01-15T08:00:00Z: a whole hour.
const time_point t0{std::chrono::seconds{1'800'000'000}};
/// Long after every stamp: every whole hour is closed and may be cached.
const time_point later = t0 + 24h * 30;

std::int64_t add_user(soci::session& sql, const std::string& name) {
  solod::user_record u;
  u.username = name;
  u.password_hash = "x";
  u.created_at = t0;
  return solod::user_repository(sql).insert(u)->id;
}

/// A session row as a seeded database holds it.
void add_session(soci::session& sql, const std::string& id, std::int64_t user, time_point in,
                 std::optional<time_point> out) {
  const std::string login = solod::format_iso8601(in);
  const std::string logout = out ? solod::format_iso8601(*out) : "";
  soci::indicator ind = out ? soci::i_ok : soci::i_null;
  long long uid = user;
  sql << "INSERT INTO sessions (id, user_id, login_ts, logout_ts, last_seen, expires_at) "
         "VALUES (:i, :u, :l, :o, :l2, :e)",
    soci::use(id), soci::use(uid), soci::use(login), soci::use(logout, ind), soci::use(login),
    soci::use(login);
}

audit_event event(time_point at, const std::string& type, const std::string& user,
                  const std::string& ip = "198.51.100.1", const std::string& why = "") {
  audit_event e;
  e.timestamp = at;
  e.event_type = type;
  e.username = user;
  e.ip_address = ip;
  e.status = type == "login_failure" ? "failure" : "success";
  e.error_message = why;
  return e;
}

void write(soci::session& sql, const std::vector<audit_event>& events) {
  solod::write_transaction tx(sql);
  solod::login_log_repository(sql).insert_batch(events);
  tx.commit();
}

std::int64_t count(const solod::stats_counts& c, const std::string& type) {
  auto it = c.events.find(type);
  return it == c.events.end() ? 0 : it->second;
}

} // namespace

TEST_CASE("audit_stats counts each hour and sweeps peak live sessions", "[storage][stats]") {
  test_support::test_database db;
  auto& sql = *db.sql;
  auto ann = add_user(sql, "ann");
  auto bob = add_user(sql, "bob");
  // Hour 0: ann in at 0:10, bob in at 0:20 (two live), ann out at 0:30 exactly
  // when carl's... session s3 (bob's second) starts: one out, one in, at once.
  add_session(sql, "s1", ann, t0 + 10min, t0 + 30min);
  add_session(sql, "s2", bob, t0 + 20min, t0 + 30min);
  add_session(sql, "s3", bob, t0 + 30min, std::nullopt);
  // Live before the range: started an hour earlier, ends in hour 1.
  add_session(sql, "s0", ann, t0 - 1h, t0 + 70min);
  write(sql, {event(t0 + 10min, "login_success", "ann"), event(t0 + 11min, "login_failure", "Ann", "10.0.0.1", "bad_password"),
              event(t0 + 12min, "login_failure", "ann", "10.0.0.1", "bad_password"),
              event(t0 + 13min, "login_failure", "zed", "10.0.0.2", "unknown_user"),
              event(t0 + 30min, "session_superseded", "bob"), event(t0 + 70min, "logout", "ann"),
              event(t0 + 26h, "login_failure", "zed", "10.0.0.2", "unknown_user")});

  auto report = audit_stats(sql).report(t0, t0 + 3h, stats_bucket::hour, later);
  REQUIRE(report.buckets.size() == 3);
  const auto& h0 = report.buckets[0].counts;
  CHECK(report.buckets[0].start == t0);
  CHECK(report.buckets[0].end == t0 + 1h);
  CHECK(count(h0, "login_success") == 1);
  CHECK(count(h0, "login_failure") == 3);
  CHECK(h0.failures.at("bad_password") == 2);
  CHECK(h0.failures.at("unknown_user") == 1);
  CHECK(count(h0, "session_superseded") == 1);
  CHECK(h0.new_sessions == 3);
  // s0 + s1 + s2 from 0:20 to 0:30; at 0:30 two end and one starts.
  CHECK(h0.peak_live == 3);
  const auto& h1 = report.buckets[1].counts;
  CHECK(count(h1, "logout") == 1);
  CHECK(h1.new_sessions == 0);
  CHECK(h1.peak_live == 2); // s0 and s3 until 1:10
  CHECK(report.buckets[2].counts.peak_live == 1);
  CHECK(report.buckets[2].counts.events.empty());
  // Top failures: by IP, then by lower-cased name, most first.
  REQUIRE(report.top_ips.size() == 2);
  CHECK(report.top_ips[0] == solod::failure_count{"10.0.0.1", 2});
  CHECK(report.top_ips[1] == solod::failure_count{"10.0.0.2", 1});
  REQUIRE(report.top_users.size() == 2);
  CHECK(report.top_users[0] == solod::failure_count{"ann", 2});

  SECTION("a second report reads the cache and says the same") {
    CHECK(count_of(sql, "SELECT COUNT(*) FROM stats_hours") == 3);
    auto again = audit_stats(sql).report(t0, t0 + 3h, stats_bucket::hour, later);
    REQUIRE(again.buckets.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(again.buckets[i].counts.events == report.buckets[i].counts.events);
      CHECK(again.buckets[i].counts.failures == report.buckets[i].counts.failures);
      CHECK(again.buckets[i].counts.peak_live == report.buckets[i].counts.peak_live);
      CHECK(again.buckets[i].counts.new_sessions == report.buckets[i].counts.new_sessions);
    }
    CHECK(again.top_ips == report.top_ips);
    CHECK(again.top_users == report.top_users);
  }
  SECTION("a row written late into a cached hour is counted") {
    write(sql, {event(t0 + 5min, "login_failure", "ann", "10.0.0.9", "locked")});
    auto again = audit_stats(sql).report(t0, t0 + 3h, stats_bucket::hour, later);
    CHECK(count(again.buckets[0].counts, "login_failure") == 4);
    CHECK(again.buckets[0].counts.failures.at("locked") == 1);
    CHECK(again.top_users[0] == solod::failure_count{"ann", 3});
  }
  SECTION("a range that starts and ends inside hours counts only its part") {
    auto part = audit_stats(sql).report(t0 + 25min, t0 + 65min, stats_bucket::hour, later);
    REQUIRE(part.buckets.size() == 2);
    CHECK(part.buckets[0].start == t0 + 25min);
    CHECK(part.buckets[1].end == t0 + 65min);
    CHECK(count(part.buckets[0].counts, "login_failure") == 0);
    CHECK(part.buckets[0].counts.new_sessions == 1);  // s3
    CHECK(part.buckets[0].counts.peak_live == 3);     // s0, s1, s2 at 0:25
    CHECK(part.buckets[1].counts.peak_live == 2);
    CHECK(part.top_ips.empty());
  }
  SECTION("days add their hours; a peak is the largest hour's") {
    auto days = audit_stats(sql).report(t0 - 8h, t0 + 40h, stats_bucket::day, later);
    REQUIRE(days.buckets.size() == 2); // 2027-01-15 and 2027-01-16 (from 00:00 UTC)
    CHECK(days.buckets[0].start == t0 - 8h);
    CHECK(days.buckets[0].end == t0 + 16h);
    CHECK(count(days.buckets[0].counts, "login_failure") == 3);
    CHECK(days.buckets[0].counts.peak_live == 3);
    CHECK(count(days.buckets[1].counts, "login_failure") == 1);
    CHECK(days.buckets[1].counts.peak_live == 1);
  }
  SECTION("hours not closed long enough are computed, never cached") {
    auto fresh = audit_stats(sql).report(t0 + 3h, t0 + 4h, stats_bucket::hour, t0 + 4h + 2min);
    REQUIRE(fresh.buckets.size() == 1);
    CHECK(fresh.buckets[0].counts.peak_live == 1);
    CHECK(count_of(sql, "SELECT COUNT(*) FROM stats_hours") == 3); // the three of the first report
  }
}

TEST_CASE("audit_stats of an empty range is every bucket, zero", "[storage][stats]") {
  test_support::test_database db;
  auto report = audit_stats(*db.sql).report(t0, t0 + 5h, stats_bucket::hour, later);
  REQUIRE(report.buckets.size() == 5);
  for (const auto& b : report.buckets) {
    CHECK(b.counts.events.empty());
    CHECK(b.counts.peak_live == 0);
    CHECK(b.counts.new_sessions == 0);
  }
  CHECK(report.top_ips.empty());
}

TEST_CASE("audit_stats keeps ten of the most failing IPs, ties by name", "[storage][stats]") {
  test_support::test_database db;
  std::vector<audit_event> events;
  for (int ip = 0; ip < 12; ++ip) {
    for (int n = 0; n <= ip % 3; ++n) {
      events.push_back(event(t0 + std::chrono::minutes{ip}, "login_failure", "u" + std::to_string(ip),
                             "10.1.0." + std::to_string(ip), "bad_password"));
    }
  }
  write(*db.sql, events);
  auto report = audit_stats(*db.sql).report(t0, t0 + 1h, stats_bucket::hour, later);
  REQUIRE(report.top_ips.size() == 10);
  CHECK(report.top_ips[0] == solod::failure_count{"10.1.0.11", 3});
  CHECK(report.top_ips[1] == solod::failure_count{"10.1.0.2", 3});
  CHECK(report.top_ips[4] == solod::failure_count{"10.1.0.1", 2});
  CHECK(report.top_ips[5] == solod::failure_count{"10.1.0.10", 2});
}

TEST_CASE("the top failures merge cached days and the log into one exact list", "[storage][stats]") {
  test_support::test_database db;
  std::vector<audit_event> events;
  // 2027-01-15 (a whole day, cached): eleven addresses, two failures each.
  for (int ip = 0; ip <= 10; ++ip) {
    for (int n = 0; n < 2; ++n) {
      events.push_back(event(t0 + std::chrono::minutes{ip}, "login_failure", "u", "10.2.0." + std::to_string(ip),
                             "bad_password"));
    }
  }
  // The next day, inside the range's partial last day (read from the log):
  // one more for 10.2.0.10 and three for a newcomer.
  events.push_back(event(t0 + 16h + 1min, "login_failure", "u", "10.2.0.10", "bad_password"));
  for (int n = 0; n < 3; ++n) {
    events.push_back(event(t0 + 16h + 2min, "login_failure", "u", "10.3.0.1", "bad_password"));
  }
  write(*db.sql, events);
  const time_point day = t0 - 8h;
  audit_stats(*db.sql).report(day, day + 24h, stats_bucket::day, later); // caches 2027-01-15
  CHECK(count_of(*db.sql, "SELECT COUNT(*) FROM stats_days") == 1);
  auto report = audit_stats(*db.sql).report(day, day + 26h, stats_bucket::hour, later);
  REQUIRE(report.top_ips.size() == 10);
  CHECK(report.top_ips[0] == solod::failure_count{"10.2.0.10", 3});
  CHECK(report.top_ips[1] == solod::failure_count{"10.3.0.1", 3});
  CHECK(report.top_ips[2] == solod::failure_count{"10.2.0.0", 2});
  CHECK(report.top_ips[9] == solod::failure_count{"10.2.0.7", 2});
  REQUIRE(report.top_users.size() == 1);
  CHECK(report.top_users[0] == solod::failure_count{"u", 26});

  SECTION("a failure written late into the cached day is counted") {
    write(*db.sql, {event(t0 + 3h, "login_failure", "v", "10.2.0.9", "bad_password")});
    CHECK(count_of(*db.sql, "SELECT COUNT(*) FROM stats_days") == 0);
    auto again = audit_stats(*db.sql).report(day, day + 26h, stats_bucket::hour, later);
    CHECK(again.top_ips[1] == solod::failure_count{"10.2.0.9", 3}); // ties go by name
    CHECK(count_of(*db.sql, "SELECT COUNT(*) FROM stats_days") == 1);
  }
}

TEST_CASE("audit_stats caches a quiet stretch at once, and measures around it", "[storage][stats]") {
  test_support::test_database db;
  auto& sql = *db.sql;
  auto ann = add_user(sql, "ann");
  add_session(sql, "q1", ann, t0 - 24h * 10, std::nullopt); // live all along
  write(sql, {event(t0 - 24h * 10, "login_success", "ann"), event(t0 + 30min, "logout", "ann")});
  auto report = audit_stats(sql).report(t0 - 24h * 9, t0 + 2h, stats_bucket::day, later);
  // 9 quiet days and the hour with the logout: one live session throughout.
  for (const auto& b : report.buckets) {
    CHECK(b.counts.peak_live == 1);
  }
  CHECK(count(report.buckets.back().counts, "logout") == 1);
  CHECK(count_of(sql, "SELECT COUNT(*) FROM stats_hours") == 24 * 9 + 2);
  CHECK(count_of(sql, "SELECT COUNT(*) FROM stats_hours WHERE peak_live = 1 AND live_at_end = 1") == 24 * 9 + 2);
  auto again = audit_stats(sql).report(t0 - 24h * 9, t0 + 2h, stats_bucket::day, later);
  CHECK(count(again.buckets.back().counts, "logout") == 1);
}
