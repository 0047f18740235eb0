// The schema of SPEC §5: created by migrate(), stable when migrated again, and
// enforcing one live session per user in the database itself.

#include "storage/migrations.hpp"
#include "support/test_database.hpp"

#include <catch2/catch.hpp>
#include <soci/soci.h>

#include <string>
#include <thread>
#include <vector>

using test_support::count_of;

namespace {

long long schema_objects(soci::session& sql, const std::string& type, const std::string& name) {
  if (sql.get_backend_name() == "postgresql") {
    const std::string catalog = type == "table" ? "pg_tables WHERE tablename"
                                : type == "view" ? "pg_views WHERE viewname"
                                                 : "pg_indexes WHERE indexname";
    return count_of(sql, "SELECT COUNT(*) FROM " + catalog + " = :n AND schemaname = current_schema()", {name});
  }
  return count_of(sql, "SELECT COUNT(*) FROM sqlite_master WHERE type = :t AND name = :n",
                  {type, name});
}

void add_user(soci::session& sql, long long id, const std::string& name) {
  sql << "INSERT INTO users (id, username, password_hash, created_at) VALUES (:i, :u, 'h', "
         "'2026-01-01T00:00:00.000Z')",
    soci::use(id), soci::use(name);
}

void add_session(soci::session& sql, const std::string& id, long long user_id, bool ended) {
  std::string logout = "2026-01-01T01:00:00.000Z";
  soci::indicator ind = ended ? soci::i_ok : soci::i_null;
  sql << "INSERT INTO sessions (id, user_id, login_ts, logout_ts, last_seen, expires_at) VALUES "
         "(:id, :u, '2026-01-01T00:00:00.000Z', :lo, '2026-01-01T00:00:00.000Z', "
         "'2026-01-02T00:00:00.000Z')",
    soci::use(id), soci::use(user_id), soci::use(logout, ind);
}

} // namespace

TEST_CASE("migrate creates every table and view of the schema", "[storage]") {
  test_support::test_database db; // migrated by its constructor
  auto& sql = *db.sql;
  for (const char* table : {"users", "user_attributes", "sessions", "login_logs"}) {
    INFO(table);
    CHECK(schema_objects(sql, "table", table) == 1);
  }
  for (const char* view : {"active_sessions", "user_login_summary"}) {
    INFO(view);
    CHECK(schema_objects(sql, "view", view) == 1);
  }
  CHECK(schema_objects(sql, "index", "sessions_one_live_per_user") == 1);
  for (const char* table : {"cluster_nodes", "cluster_connections", "cluster_news", "cluster_settings",
                            "login_failures", "account_locks"}) {
    INFO(table);
    CHECK(schema_objects(sql, "table", table) == 1);
  }

  // The SPEC's columns exist (a SELECT naming them compiles).
  CHECK_NOTHROW(sql << "SELECT id, user_id, login_ts, logout_ts, end_reason, ip_address, "
                       "user_agent, system_info, last_seen FROM sessions");
  CHECK_NOTHROW(sql << "SELECT id, timestamp, event_type, user_id, username, session_id, "
                       "ip_address, user_agent, status, error_message, legal_basis FROM login_logs");
}

TEST_CASE("migrate twice keeps the version", "[storage]") {
  test_support::test_database db;
  auto& sql = *db.sql;
  const int latest = solod::latest_schema_version();
  CHECK(latest >= 1);
  CHECK(count_of(sql, "SELECT MAX(version) FROM solod_schema") == latest);
  auto rows = count_of(sql, "SELECT COUNT(*) FROM solod_schema");

  CHECK(solod::migrate(sql, db.url.dialect) == latest);
  CHECK(solod::migrate(sql, db.url.dialect) == latest);
  CHECK(count_of(sql, "SELECT MAX(version) FROM solod_schema") == latest);
  CHECK(count_of(sql, "SELECT COUNT(*) FROM solod_schema") == rows);

  // A second connection (another process, say) sees the same version and changes nothing.
  auto other = db.connect();
  CHECK(solod::migrate(*other, db.url.dialect) == latest);
  CHECK(count_of(sql, "SELECT COUNT(*) FROM solod_schema") == rows);
}

TEST_CASE("the database refuses a second live session of one user", "[storage]") {
  test_support::test_database db;
  auto& sql = *db.sql;
  add_user(sql, 1, "alice");
  add_user(sql, 2, "bob");

  add_session(sql, "live-1", 1, false);
  CHECK_THROWS_AS(add_session(sql, "live-2", 1, false), soci::soci_error);
  CHECK(count_of(sql, "SELECT COUNT(*) FROM sessions WHERE user_id = 1 AND logout_ts IS NULL") == 1);

  // Ended sessions are not limited, and other users are not affected.
  CHECK_NOTHROW(add_session(sql, "ended-1", 1, true));
  CHECK_NOTHROW(add_session(sql, "ended-2", 1, true));
  CHECK_NOTHROW(add_session(sql, "live-bob", 2, false));

  // Once ended, a new live one is allowed.
  sql << "UPDATE sessions SET logout_ts = '2026-01-01T02:00:00.000Z' WHERE id = 'live-1'";
  CHECK_NOTHROW(add_session(sql, "live-3", 1, false));
}

TEST_CASE("sessions need an existing user (foreign keys are on)", "[storage]") {
  test_support::test_database db;
  CHECK_THROWS_AS(add_session(*db.sql, "orphan", 42, false), soci::soci_error);
}

TEST_CASE("the views show live sessions and login counts", "[storage]") {
  test_support::test_database db;
  auto& sql = *db.sql;
  add_user(sql, 1, "alice");
  add_session(sql, "old", 1, true);
  add_session(sql, "now", 1, false);
  sql << "INSERT INTO login_logs (timestamp, event_type, user_id, status) VALUES "
         "('2026-01-01T00:00:00.000Z', 'login_success', 1, 'success'), "
         "('2026-01-01T00:01:00.000Z', 'login_failure', 1, 'failure'), "
         "('2026-01-01T00:02:00.000Z', 'login_success', 1, 'success')";

  CHECK(count_of(sql, "SELECT COUNT(*) FROM active_sessions") == 1);
  CHECK(test_support::text_of(sql, "SELECT username FROM active_sessions WHERE id = 'now'") ==
        "alice");
  CHECK(count_of(sql, "SELECT successful_logins FROM user_login_summary WHERE user_id = 1") == 2);
  CHECK(count_of(sql, "SELECT failed_logins FROM user_login_summary WHERE user_id = 1") == 1);
  CHECK(test_support::text_of(sql, "SELECT last_login FROM user_login_summary WHERE user_id = 1") ==
        "2026-01-01T00:02:00.000Z");
}

TEST_CASE("on PostgreSQL ids are BIGSERIAL and the one-live-session index is partial", "[storage]") {
  test_support::test_database db;
  auto& sql = *db.sql;
  if (db.url.dialect != solod::sql_dialect::postgresql) {
    // SQLite: INTEGER PRIMARY KEY AUTOINCREMENT, and the same partial index.
    CHECK(count_of(sql, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'sessions_one_live_per_user' "
                        "AND sql LIKE '%WHERE logout_ts IS NULL%'") == 1);
    CHECK(count_of(sql, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'users' "
                        "AND sql LIKE '%INTEGER PRIMARY KEY AUTOINCREMENT%'") == 1);
    return;
  }
  CHECK(count_of(sql, "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'sessions_one_live_per_user' "
                      "AND indexdef LIKE 'CREATE UNIQUE INDEX%WHERE (logout_ts IS NULL)'") == 1);
  for (const char* table : {"users", "login_logs", "cluster_news"}) {
    INFO(table);
    CHECK(test_support::text_of(sql, "SELECT data_type FROM information_schema.columns "
                                     "WHERE table_name = :t AND column_name = 'id'", {table}) == "bigint");
    CHECK(test_support::text_of(sql, "SELECT column_default FROM information_schema.columns "
                                     "WHERE table_name = :t AND column_name = 'id'", {table})
            ->starts_with("nextval("));
  }
  // Timestamps stay fixed-width ISO-8601 text on both backends: they sort as text.
  CHECK(test_support::text_of(sql, "SELECT data_type FROM information_schema.columns "
                                   "WHERE table_name = 'sessions' AND column_name = 'login_ts'") == "text");
}

TEST_CASE("nodes migrating one empty database at once end at the latest version", "[storage]") {
  test_support::empty_database db;
  constexpr int nodes = 6;
  std::vector<int> versions(nodes, -1);
  std::vector<std::string> errors(nodes); // Catch2's macros are not for other threads
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < nodes; ++i) {
      threads.emplace_back([&, i] {
        try {
          auto sql = db.connect();
          versions[static_cast<std::size_t>(i)] = solod::migrate(*sql, db.url.dialect);
        } catch (const std::exception& e) {
          errors[static_cast<std::size_t>(i)] = e.what();
        }
      });
    }
  }
  for (int i = 0; i < nodes; ++i) {
    INFO("node " << i << ": " << errors[static_cast<std::size_t>(i)]);
    CHECK(errors[static_cast<std::size_t>(i)].empty());
    CHECK(versions[static_cast<std::size_t>(i)] == solod::latest_schema_version());
  }
  auto sql = db.connect();
  // Each step ran once: one row per version, not one per node.
  CHECK(count_of(*sql, "SELECT COUNT(*) FROM solod_schema") == solod::latest_schema_version());
  CHECK(count_of(*sql, "SELECT COUNT(DISTINCT version) FROM solod_schema") == solod::latest_schema_version());
}
