// The retention actor on a real actor system and a real SQLite database: it
// deletes exactly the audit rows older than the cut-off, and a retention too
// long for the clock (INT_MAX days, passed straight to the actor, past the
// config's bounds) keeps everything instead of wrapping into the future.

#include "actors/retention_actor.hpp"
#include "storage/db_pool.hpp"
#include "support/test_database.hpp"
#include "util/clock.hpp"
#include "util/time_format.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <climits>
#include <memory>

using namespace std::chrono_literals;
using test_support::count_of;
using test_support::eventually;

namespace {

/// A retention actor over its own database, with rows of known ages.
struct retention_world {
  test_support::test_database db;
  solod::manual_clock clk;
  solod::db_pool pool{db.url, 1, 100};
  caf::actor_system_config caf_cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::actor retention;
  std::shared_ptr<std::atomic<int>> batches = std::make_shared<std::atomic<int>>(0);

  retention_world() {
    caf_cfg.set("scheduler.max-threads", 2);
    caf_cfg.set("logger.verbosity", caf::atom("quiet"));
    sys = std::make_unique<caf::actor_system>(caf_cfg);
  }

  ~retention_world() {
    caf::anon_send_exit(retention, caf::exit_reason::user_shutdown);
    retention = nullptr;
    sys->await_all_actors_done();
    pool.stop();
  }

  /// One audit row `age` before the clock's now.
  void add_row(const std::string& tag, std::chrono::hours age) {
    auto ts = solod::format_iso8601(clk.now() - age);
    *db.sql << "INSERT INTO login_logs (timestamp, event_type, username, status, user_agent) "
               "VALUES (:t, 'login_success', 'r', 'success', :ua)",
      soci::use(ts), soci::use(tag);
  }

  long long rows(const std::string& tag) {
    return count_of(*db.sql, "SELECT COUNT(*) FROM login_logs WHERE user_agent = :t", {tag});
  }

  /// Starts the actor and waits for its first sweep's first batch.
  void sweep_once(int retention_days, int stats_warm_days = 0) {
    solod::retention_options opts;
    opts.db = &pool;
    opts.clk = &clk;
    opts.retention_days = retention_days;
    opts.stats_warm_days = stats_warm_days;
    auto count = batches;
    opts.on_batch = [count](std::size_t, std::size_t) { ++*count; };
    retention = solod::spawn_retention_actor(*sys, opts);
    REQUIRE(eventually([&] { return batches->load() >= 1; }));
  }
};

} // namespace

TEST_CASE("retention deletes exactly the rows older than the cut-off", "[actors][retention]") {
  // The control for the cases below: the same set-up does delete.
  retention_world w;
  w.add_row("recent", 1h);
  w.add_row("month", 24h * 29);
  w.add_row("old", 24h * 31);
  w.add_row("ancient", 24h * 20000);
  w.sweep_once(30);
  CHECK(w.rows("recent") == 1);
  CHECK(w.rows("month") == 1);
  CHECK(w.rows("old") == 0);
  CHECK(w.rows("ancient") == 0);
}

TEST_CASE("a retention too long for the clock deletes nothing", "[actors][retention]") {
  auto days = GENERATE(INT_MAX, 1'000'000, 36'500 * 3);
  INFO("retention_days = " << days);
  retention_world w;
  w.add_row("recent", 1h);
  w.add_row("old", 24h * 400);
  w.add_row("ancient", 24h * 20000);
  w.sweep_once(days);
  CHECK(w.rows("recent") == 1);
  CHECK(w.rows("old") == 1);
  CHECK(w.rows("ancient") == 1);
}

TEST_CASE("after a sweep the statistics cache holds the closed hours of the last days",
          "[actors][retention][stats]") {
  retention_world w;
  w.add_row("recent", 3h);
  w.sweep_once(30, 1);
  // The clock's hour is not over, nor the one before it (not settled): 24
  // hours of the last day are closed at most, and at least 22.
  REQUIRE(test_support::eventually(
    [&] { return count_of(*w.db.sql, "SELECT COUNT(*) FROM stats_hours") >= 22; }));
  CHECK(count_of(*w.db.sql, "SELECT COUNT(*) FROM stats_hours") <= 24);
  CHECK(count_of(*w.db.sql, "SELECT SUM(n) FROM stats_events WHERE event_type = 'login_success'") == 1);
}
