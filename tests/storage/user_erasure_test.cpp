// Erasure (GDPR art. 17) against a real database: nothing names the person
// afterwards, every row is still there, and the account can never log in.

#include "storage/attribute_repository.hpp"
#include "storage/audit_chain.hpp"
#include "storage/audit_verifier.hpp"
#include "storage/checkpoint_signer.hpp"
#include "storage/login_log_repository.hpp"
#include "storage/session_repository.hpp"
#include "storage/user_activity.hpp"
#include "storage/user_erasure.hpp"
#include "storage/user_repository.hpp"
#include "storage/write_transaction.hpp"
#include "support/test_database.hpp"
#include "util/time_format.hpp"

#include <catch2/catch.hpp>
#include <soci/soci.h>

using namespace std::chrono_literals;
using solod::audit_event;
using solod::time_point;
using test_support::count_of;

namespace {

const time_point t0{std::chrono::seconds{1'800'000'000}};

std::int64_t add_user(soci::session& sql, const std::string& name) {
  solod::user_record u;
  u.username = name;
  u.password_hash = "hash";
  u.full_name = "Full " + name;
  u.email = name + "@example.org";
  u.created_at = t0;
  return solod::user_repository(sql).insert(u)->id;
}

audit_event row(time_point at, const std::string& type, std::optional<std::int64_t> user,
                const std::string& name, const std::string& ip, const std::string& ua,
                const std::string& detail = "") {
  audit_event e;
  e.timestamp = at;
  e.event_type = type;
  e.user_id = user;
  e.username = name;
  e.ip_address = ip;
  e.user_agent = ua;
  e.error_message = detail;
  return e;
}

/// Every text the tables hold, concatenated row by row.
long long rows_mentioning(soci::session& sql, const std::string& needle) {
  const std::string like = "%" + needle + "%";
  return count_of(sql,
                  "SELECT COUNT(*) FROM login_logs WHERE username || ip_address || user_agent || "
                  "error_message LIKE :n",
                  {like}) +
         count_of(sql, "SELECT COUNT(*) FROM sessions WHERE ip_address || user_agent LIKE :n", {like}) +
         count_of(sql, "SELECT COUNT(*) FROM cluster_news WHERE payload LIKE :n", {like}) +
         count_of(sql, "SELECT COUNT(*) FROM users WHERE username || full_name || email LIKE :n", {like});
}

} // namespace

TEST_CASE("user_erasure leaves a tombstone and rows without the person in them", "[storage][erasure]") {
  test_support::test_database db;
  auto& sql = *db.sql;
  auto mia = add_user(sql, "mia");
  auto admin = add_user(sql, "root");
  solod::attribute_repository(sql).put(mia, solod::user_attribute{"team", "string", "blue"});
  solod::session_record s;
  s.id = "sess-0001";
  s.user_id = mia;
  s.login_ts = t0;
  s.last_seen = t0;
  s.expires_at = t0 + 1h;
  s.ip_address = "192.0.2.77";
  s.user_agent = "MiaBrowser/1.0";
  solod::session_repository(sql).start(s, "superseded");
  {
    solod::write_transaction tx(sql);
    solod::login_log_repository(sql).insert_batch({
      row(t0 - 1min, "login_failure", std::nullopt, "MIA", "192.0.2.78", "Typo/2.0", "unknown_user"),
      row(t0, "login_success", mia, "mia", "192.0.2.77", "MiaBrowser/1.0"),
      row(t0 + 1min, "admin_action", admin, "root", "10.0.0.1", "AdminUA", "update user mia (id " +
                                                                             std::to_string(mia) + "): disable"),
      row(t0 + 1min, "admin_action", admin, "root", "10.0.0.1", "AdminUA",
          "export sessions csv ?user=Mia&ip=192.0.2.77&reason=admin"),
      row(t0 + 1min, "admin_action", admin, "root", "10.0.0.1", "AdminUA",
          "create user mia (id " + std::to_string(mia) + ", admin)"),
    });
    tx.commit();
  }
  solod::user_erasure erasure(sql);

  SECTION("a live session must end first") {
    auto refused = erasure.erase(mia, t0 + 2min);
    REQUIRE(std::holds_alternative<solod::erasure_refusal>(refused));
    CHECK(std::get<solod::erasure_refusal>(refused) == solod::erasure_refusal::session_live);
    CHECK(rows_mentioning(sql, "MiaBrowser") > 0); // nothing changed
  }
  SECTION("after the session ends, nothing names her and every row stays") {
    REQUIRE(solod::session_repository(sql).end("sess-0001", "admin", t0 + 2min));
    const auto audit_before = count_of(sql, "SELECT COUNT(*) FROM login_logs");
    const auto sessions_before = count_of(sql, "SELECT COUNT(*) FROM sessions");
    auto outcome = erasure.erase(mia, t0 + 3min);
    REQUIRE(std::holds_alternative<solod::erasure_result>(outcome));
    const auto& done = std::get<solod::erasure_result>(outcome);
    CHECK(done.pseudonym.rfind("erased-", 0) == 0);
    CHECK(done.pseudonym.size() == 7 + 16);
    CHECK(done.sessions == 1);
    CHECK(done.audit_rows == 2); // her login, and the failure typed with her name
    for (const char* trace : {"mia", "192.0.2.77", "192.0.2.78", "MiaBrowser", "Typo/2.0", "Full mia"}) {
      INFO(trace);
      CHECK(rows_mentioning(sql, trace) == 0);
    }
    CHECK(count_of(sql, "SELECT COUNT(*) FROM login_logs") == audit_before);
    CHECK(count_of(sql, "SELECT COUNT(*) FROM sessions") == sessions_before);
    CHECK(count_of(sql, "SELECT COUNT(*) FROM user_attributes") == 0);
    // The admin's row now names the pseudonym; the admin's own row keeps the admin.
    CHECK(rows_mentioning(sql, done.pseudonym + " (id ") == 2);
    CHECK(rows_mentioning(sql, "?user=" + done.pseudonym + "&ip=" + done.pseudonym + "&reason=admin") == 1);
    CHECK(rows_mentioning(sql, "AdminUA") == 3); // the admin's own rows keep the admin
    auto tomb = solod::user_repository(sql).find_by_id(mia);
    REQUIRE(tomb);
    CHECK(tomb->username == done.pseudonym);
    CHECK_FALSE(tomb->is_active);
    CHECK(tomb->erased_at == t0 + 3min);
    CHECK(tomb->password_hash == "!erased");
    CHECK_FALSE(solod::user_repository(sql).find_by_username("mia"));
    // Her rows are still hers by id, under the pseudonym.
    auto rows = solod::user_activity(sql).audit_rows(mia);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].username == done.pseudonym);
    CHECK(rows[0].ip_address == done.pseudonym);

    // A row still on its way (another node's audit actor) lands pseudonymized.
    {
      solod::write_transaction tx(sql);
      solod::login_log_repository(sql).insert_batch(
        {row(t0 + 2min, "session_terminated", mia, "mia", "192.0.2.77", "MiaBrowser/1.0", "admin")});
      tx.commit();
    }
    CHECK(rows_mentioning(sql, "MiaBrowser") == 0);
    CHECK(rows_mentioning(sql, "192.0.2.77") == 0);

    // The audit chain still verifies: each rewritten row was sealed first,
    // and its sealed key holds no way to test a guess of what it said.
    auto key = solod::audit_signing_key::load_or_create(db.dir.path() + "/audit.key");
    REQUIRE(solod::checkpoint_signer(key, db.dir.path() + "/audit.key").sign(sql, t0 + 5min));
    auto verdict = solod::verify_audit_chain(sql, {.trusted_keys = {key.public_key()}});
    INFO((verdict.intact() ? "" : verdict.problems.front().detail));
    CHECK(verdict.intact());
    CHECK(count_of(sql, "SELECT COUNT(*) FROM login_logs WHERE chain_key LIKE 'sealed:%'") == 6);
    // A changed pseudonymized row is still found: its kept fields are checked.
    sql << "UPDATE login_logs SET event_type = 'logout' WHERE user_id = :u AND event_type = 'login_success'",
      soci::use(mia);
    CHECK_FALSE(solod::verify_audit_chain(sql, {.trusted_keys = {key.public_key()}}).intact());

    auto again = erasure.erase(mia, t0 + 4min);
    CHECK(std::get<solod::erasure_refusal>(again) == solod::erasure_refusal::already_erased);
    CHECK(std::get<solod::erasure_refusal>(erasure.erase(9999, t0)) == solod::erasure_refusal::no_such_user);
  }
}

TEST_CASE("user_activity sums one account's logins and recent failures", "[storage]") {
  test_support::test_database db;
  auto& sql = *db.sql;
  auto kim = add_user(sql, "kim");
  auto lee = add_user(sql, "lee");
  {
    solod::write_transaction tx(sql);
    solod::login_log_repository(sql).insert_batch({
      row(t0 - 48h, "login_failure", kim, "kim", "", "", "bad_password"),
      row(t0 - 1h, "login_failure", kim, "kim", "", "", "bad_password"),
      row(t0, "login_success", kim, "kim", "", ""),
      row(t0 + 1s, "login_success", kim, "kim", "", ""),
      row(t0 + 2s, "login_success", lee, "lee", "", ""),
      row(t0 + 3s, "register", kim, "kim", "", ""),
    });
    tx.commit();
  }
  solod::user_activity activity(sql);
  auto sums = activity.summaries({kim, lee}, t0 + 5s);
  CHECK(sums.at(kim).logins_total == 2);
  CHECK(sums.at(kim).failures_24h == 1);
  CHECK(sums.at(lee).logins_total == 1);
  auto recent = activity.recent(kim, 3);
  REQUIRE(recent.size() == 3); // newest first; register is not activity
  CHECK(recent[0].event.timestamp == t0 + 1s);
  CHECK(recent[2].event.event_type == "login_failure");
  for (const auto& r : activity.recent(kim, 50)) {
    CHECK(r.event.user_id == kim);
  }
}
