// Tests for src/storage/lockout_repository.*: the shared lockout's rows, and
// failures recorded at once from several connections (several nodes).

#include "storage/lockout_repository.hpp"
#include "storage/user_repository.hpp"
#include "support/test_database.hpp"

#include <catch2/catch.hpp>
#include <soci/soci.h>

#include <latch>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using solod::failure_outcome;
using solod::failure_record;
using solod::lockout_repository;
using solod::time_point;
using test_support::count_of;

namespace {

const time_point t0{std::chrono::seconds{1'800'000'000}};

std::int64_t insert_user(soci::session& sql, const std::string& name) {
  solod::user_record u;
  u.username = name;
  u.password_hash = "h";
  u.created_at = t0;
  auto created = solod::user_repository(sql).insert(u);
  REQUIRE(created);
  return created->id;
}

failure_record failure_at(std::int64_t user_id, time_point at, int threshold = 3) {
  failure_record f;
  f.user_id = user_id;
  f.at = at;
  f.window_start = at - 15min;
  f.horizon = at + 15min;
  f.threshold = threshold;
  f.locked_until = at + 10min;
  return f;
}

/// Another connection that keeps every writer of the lockout tables waiting
/// while it lives: SQLite's write lock, or PostgreSQL's table locks (reads
/// pass both); on PostgreSQL `tested` then gives up on a lock after 2 s.
class lockout_write_blocker {
public:
  lockout_write_blocker(const test_support::test_database& db, soci::session& tested) {
    if (tested.get_backend_name() == "sqlite3") {
      sqlite_.emplace(db);
      return;
    }
    sql_ = db.connect();
    *sql_ << "BEGIN";
    *sql_ << "LOCK TABLE login_failures, account_locks IN EXCLUSIVE MODE";
    tested << "SET lock_timeout = '2s'";
  }
  ~lockout_write_blocker() {
    if (sql_) {
      *sql_ << "ROLLBACK";
    }
  }

private:
  std::optional<test_support::write_blocker> sqlite_;
  std::unique_ptr<soci::session> sql_;
};

long long rows_of(soci::session& sql, const std::string& table, std::int64_t user_id) {
  return count_of(sql, "SELECT COUNT(*) FROM " + table + " WHERE user_id = " + std::to_string(user_id));
}

} // namespace

TEST_CASE("lockout_repository stores failures and the lock as ISO-8601 text", "[storage][lockout]") {
  test_support::test_database db;
  auto& sql = *db.sql;
  const auto id = insert_user(sql, "alice");
  lockout_repository repo(sql);
  CHECK(repo.record_failure(failure_at(id, t0)) == failure_outcome::counted);
  CHECK(test_support::text_of(sql, "SELECT failed_at FROM login_failures") ==
        "2027-01-15T08:00:00.000Z");
  CHECK(repo.record_failure(failure_at(id, t0 + 1s)) == failure_outcome::counted);
  CHECK(repo.record_failure(failure_at(id, t0 + 2s)) == failure_outcome::locks_now);
  CHECK(rows_of(sql, "login_failures", id) == 0); // cleared by the lock
  CHECK(test_support::text_of(sql, "SELECT locked_until FROM account_locks") ==
        "2027-01-15T08:10:02.000Z");
  CHECK(repo.is_locked(id, t0 + 10min + 2s - 1ms));
  CHECK_FALSE(repo.is_locked(id, t0 + 10min + 2s));
  // A lock after an ended one replaces its row (the upsert).
  const auto later = t0 + 1h;
  CHECK(repo.record_failure(failure_at(id, later)) == failure_outcome::counted);
  CHECK(repo.record_failure(failure_at(id, later)) == failure_outcome::counted);
  CHECK(repo.record_failure(failure_at(id, later)) == failure_outcome::locks_now);
  CHECK(rows_of(sql, "account_locks", id) == 1);
  CHECK(repo.is_locked(id, later + 10min - 1ms));
}

TEST_CASE("lockout_repository::record_success only writes when there is something to clear",
          "[storage][lockout]") {
  test_support::test_database db;
  const auto id = insert_user(*db.sql, "bob");
  lockout_repository repo(*db.sql);
  {
    // Another connection holds the write lock: a success with nothing to
    // clear must not wait for it (it would, were it to write, and fail).
    lockout_write_blocker blocker(db, *db.sql);
    CHECK(repo.record_success(id, t0));
  }
  CHECK(repo.record_failure(failure_at(id, t0)) == failure_outcome::counted);
  CHECK(repo.record_success(id, t0 + 1s));
  CHECK(rows_of(*db.sql, "login_failures", id) == 0);
}

TEST_CASE("lockout_repository::prune deletes what no longer counts, of every account",
          "[storage][lockout]") {
  test_support::test_database db;
  auto& sql = *db.sql;
  const auto a = insert_user(sql, "a");
  const auto b = insert_user(sql, "b");
  lockout_repository repo(sql);
  CHECK(repo.record_failure(failure_at(a, t0)) == failure_outcome::counted);
  CHECK(repo.record_failure(failure_at(b, t0 + 5min, 1)) == failure_outcome::locks_now); // until +15
  CHECK(repo.record_failure(failure_at(b, t0 + 10min, 1)) == failure_outcome::while_locked);
  CHECK(repo.prune(t0 + 1min, t0 + 14min) == 1); // a's failure
  CHECK(rows_of(sql, "login_failures", a) == 0);
  CHECK(rows_of(sql, "account_locks", b) == 1);
  CHECK(repo.prune(t0 + 1min, t0 + 15min) == 1); // b's lock has ended
  CHECK(count_of(sql, "SELECT COUNT(*) FROM account_locks") == 0);
}

TEST_CASE("failures recorded at once on several connections count one after the other",
          "[storage][lockout]") {
  // Each thread is a node with its own connection; all fail the same account
  // at the same instant. Counted without the transaction's serialization, two
  // could each miss the other's row and the lock never come.
  test_support::test_database db;
  const auto id = insert_user(*db.sql, "target");
  constexpr int nodes = 8;
  constexpr int threshold = 5;
  std::latch go{nodes};
  std::mutex mtx;
  std::vector<failure_outcome> outcomes;
  std::vector<std::string> errors;
  std::vector<std::thread> threads;
  for (int i = 0; i < nodes; ++i) {
    threads.emplace_back([&] {
      try {
        auto sql = db.connect();
        go.arrive_and_wait();
        auto outcome = lockout_repository(*sql).record_failure(failure_at(id, t0, threshold));
        std::lock_guard lock{mtx};
        outcomes.push_back(outcome);
      } catch (const std::exception& e) {
        std::lock_guard lock{mtx};
        errors.emplace_back(e.what());
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  INFO((errors.empty() ? std::string() : errors.front()));
  REQUIRE(errors.empty());
  auto count = [&](failure_outcome o) { return std::count(outcomes.begin(), outcomes.end(), o); };
  CHECK(count(failure_outcome::counted) == threshold - 1);
  CHECK(count(failure_outcome::locks_now) == 1);
  CHECK(count(failure_outcome::while_locked) == nodes - threshold);
  CHECK(lockout_repository(*db.sql).is_locked(id, t0));
}

TEST_CASE("a failure of an unknown user id is refused by the database", "[storage][lockout]") {
  test_support::test_database db;
  CHECK_THROWS(lockout_repository(*db.sql).record_failure(failure_at(987654, t0)));
  CHECK(count_of(*db.sql, "SELECT COUNT(*) FROM login_failures") == 0);
}
