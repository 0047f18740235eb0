// Opening databases from solod's URL: parsing, SQLite settings, the directory.

#include "storage/database.hpp"
#include "support/test_database.hpp"

#include <catch2/catch.hpp>
#include <soci/soci.h>

#include <filesystem>
#include <fstream>

TEST_CASE("database_url parses sqlite3 and postgresql URLs", "[storage]") {
  auto lite = solod::database_url::parse("sqlite3://data/solod.db");
  CHECK(lite.dialect == solod::sql_dialect::sqlite);
  CHECK(lite.target == "data/solod.db");
  auto abs = solod::database_url::parse("sqlite3:///var/lib/solod/x.db");
  CHECK(abs.target == "/var/lib/solod/x.db");

  auto pg = solod::database_url::parse("postgresql://u:p@host/db");
  CHECK(pg.dialect == solod::sql_dialect::postgresql);
  CHECK(pg.target == "postgresql://u:p@host/db");

  CHECK_THROWS_AS(solod::database_url::parse("mysql://x"), solod::database_error);
  CHECK_THROWS_AS(solod::database_url::parse("sqlite3://"), solod::database_error);
  CHECK_THROWS_AS(solod::database_url::parse(""), solod::database_error);
}

TEST_CASE("open_database creates the directory and turns on WAL and foreign keys", "[storage]") {
  test_support::temp_dir dir;
  auto url = solod::database_url::parse("sqlite3://" + dir.path() + "/a/b/t.db");
  auto sql = solod::open_database(url);
  CHECK(std::filesystem::is_directory(dir.path() + "/a/b"));
  CHECK(test_support::text_of(*sql, "PRAGMA journal_mode") == "wal");
  CHECK(test_support::count_of(*sql, "PRAGMA foreign_keys") == 1);
  CHECK(test_support::count_of(*sql, "PRAGMA busy_timeout") > 0);
}

TEST_CASE("open_database reports an unusable path as database_error", "[storage]") {
  test_support::temp_dir dir;
  { std::ofstream(dir.path() + "/file") << "x"; }
  auto url = solod::database_url::parse("sqlite3://" + dir.path() + "/file/t.db");
  CHECK_THROWS_AS(solod::open_database(url), solod::database_error);
}
