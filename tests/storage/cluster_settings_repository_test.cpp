// Tests for src/storage/cluster_settings_repository.*: the first writer of a
// setting wins, also when several connections write it at once.

#include "storage/cluster_settings_repository.hpp"
#include "support/test_database.hpp"

#include <catch2/catch.hpp>

#include <latch>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

using solod::cluster_settings_repository;

TEST_CASE("cluster_settings_repository: put_if_absent keeps the first value", "[storage]") {
  test_support::test_database db;
  cluster_settings_repository repo(*db.sql);
  CHECK_FALSE(repo.get("colour"));
  CHECK(repo.put_if_absent("colour", "blue") == "blue");
  CHECK(repo.put_if_absent("colour", "red") == "blue");
  CHECK(repo.get("colour") == "blue");
  CHECK(repo.put_if_absent("size", "large") == "large");
  CHECK(test_support::count_of(*db.sql, "SELECT COUNT(*) FROM cluster_settings") == 2);
}

TEST_CASE("cluster_settings_repository: of writers at once, one wins and all see it", "[storage]") {
  test_support::test_database db;
  constexpr int writers = 6;
  std::latch go{writers};
  std::mutex mtx;
  std::vector<std::string> seen;
  std::vector<std::string> errors;
  std::vector<std::thread> threads;
  for (int i = 0; i < writers; ++i) {
    threads.emplace_back([&, i] {
      try {
        auto sql = db.connect();
        go.arrive_and_wait();
        auto value = cluster_settings_repository(*sql).put_if_absent("k", "v" + std::to_string(i));
        std::lock_guard lock{mtx};
        seen.push_back(value);
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
  REQUIRE(seen.size() == writers);
  CHECK(std::set<std::string>(seen.begin(), seen.end()).size() == 1);
  CHECK(cluster_settings_repository(*db.sql).get("k") == seen.front());
}
