// Opening databases from solod's URL: parsing, SQLite settings, the directory.

#include "storage/database.hpp"
#include "storage/pg_conninfo.hpp"
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
  CHECK(pg.target == "user='u' host='host' dbname='db' application_name='solod'");
  CHECK(pg.password == "p");

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

TEST_CASE("a database URL in URI form connects, as does key/value text", "[storage]") {
  test_support::test_database db;
  if (db.url.dialect == solod::sql_dialect::sqlite) {
    // The same file through the URL's path.
    auto again = solod::open_database(solod::database_url::parse("sqlite3://" + db.url.target));
    CHECK(test_support::count_of(*again, "SELECT COUNT(*) FROM solod_schema") > 0);
    return;
  }
  // The form the issue reported as broken ("database \"solod=\" does not exist"):
  // postgresql://USER@HOST:PORT/DBNAME, built from the test server's settings.
  auto admin = solod::pg_conninfo::parse(db.url.target);
  const std::string uri = "postgresql://" + admin.get("user") + "@" + admin.get("host") + ":" +
                          admin.get("port") + "/" + db.pg->name() + "?application_name=uri-test&sslmode=disable";
  auto sql = solod::open_database(solod::database_url::parse(uri));
  CHECK(test_support::text_of(*sql, "SELECT current_database()") == db.pg->name());
  CHECK(test_support::text_of(*sql, "SELECT current_setting('application_name')") == "uri-test");
  CHECK(test_support::count_of(*sql, "SELECT COUNT(*) FROM solod_schema") > 0);

  const std::string kv = "postgresql://host=" + admin.get("host") + " port=" + admin.get("port") +
                         " user=" + admin.get("user") + " dbname='" + db.pg->name() + "'";
  auto sql2 = solod::open_database(solod::database_url::parse(kv));
  CHECK(test_support::text_of(*sql2, "SELECT current_database()") == db.pg->name());
  CHECK(test_support::text_of(*sql2, "SELECT current_setting('application_name')") == "solod");

  // A password with whitespace goes through a one-time pgpass file (trust
  // auth here ignores it): the connection opens and the file is gone after.
  auto with_password = solod::database_url::parse(uri);
  with_password.password = "correct horse: battery \\ staple";
  auto count_passfiles = [] {
    int n = 0;
    for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::temp_directory_path())) {
      n += entry.path().filename().string().starts_with("solod-pgpass-") ? 1 : 0;
    }
    return n;
  };
  const int before = count_passfiles();
  auto sql3 = solod::open_database(with_password);
  CHECK(test_support::text_of(*sql3, "SELECT current_database()") == db.pg->name());
  CHECK(count_passfiles() == before);

  // A database that does not exist: a database_error naming it.
  auto missing = solod::database_url::parse("postgresql://" + admin.get("user") + "@" + admin.get("host") + ":" +
                                            admin.get("port") + "/solod_no_such_db");
  CHECK_THROWS_WITH(solod::open_database(missing), Catch::Matchers::Contains("\"solod_no_such_db\" does not exist"));
}
