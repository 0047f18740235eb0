// One repository per table (users, sessions, login_logs) and the write
// transaction they share, against a real SQLite database.

#include "storage/login_log_repository.hpp"
#include "storage/session_repository.hpp"
#include "storage/user_repository.hpp"
#include "storage/write_transaction.hpp"
#include "support/test_database.hpp"
#include "util/time_format.hpp"

#include <catch2/catch.hpp>
#include <soci/soci.h>

#include <atomic>
#include <latch>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using solod::audit_event;
using solod::session_record;
using solod::time_point;
using solod::user_record;
using test_support::count_of;

namespace {

/// A fixed instant with whole milliseconds, so it survives the ISO-8601 round trip exactly.
const time_point t0{std::chrono::seconds{1'800'000'000}};

user_record new_user(const std::string& name) {
  user_record u;
  u.username = name;
  u.password_hash = "hash-of-" + name;
  u.full_name = "Full " + name;
  u.email = name + "@example.org";
  u.created_at = t0;
  return u;
}

std::int64_t insert_user(soci::session& sql, const std::string& name) {
  auto u = solod::user_repository(sql).insert(new_user(name));
  REQUIRE(u);
  return u->id;
}

session_record new_session(const std::string& id, std::int64_t user_id, time_point at) {
  session_record s;
  s.id = id;
  s.user_id = user_id;
  s.login_ts = at;
  s.last_seen = at;
  s.expires_at = at + 24h;
  s.ip_address = "203.0.113.9";
  s.user_agent = "agent";
  return s;
}

audit_event event(const std::string& type, time_point at, const std::string& username,
                  const std::string& ip) {
  audit_event e;
  e.timestamp = at;
  e.event_type = type;
  e.username = username;
  e.ip_address = ip;
  e.user_agent = "ua";
  return e;
}

std::vector<audit_event> select(soci::session& sql, const solod::audit_filter& filter) {
  std::vector<audit_event> out;
  solod::login_log_repository(sql).for_each(filter, [&](const audit_event& e) { out.push_back(e); });
  return out;
}

} // namespace

// -- users ----------------------------------------------------------------------

TEST_CASE("user_repository inserts and finds users, names case-insensitively", "[storage]") {
  test_support::test_database db;
  solod::user_repository users(*db.sql);

  auto alice = users.insert(new_user("Alice"));
  REQUIRE(alice);
  CHECK(alice->id > 0);
  CHECK(alice->username == "Alice");
  CHECK(alice->password_hash == "hash-of-Alice");
  CHECK(alice->full_name == "Full Alice");
  CHECK(alice->email == "Alice@example.org");
  CHECK(alice->created_at == t0);
  CHECK_FALSE(alice->is_admin);
  CHECK(alice->is_active);
  CHECK_FALSE(alice->last_login);

  for (const char* spelling : {"Alice", "alice", "ALICE", "aLiCe"}) {
    INFO(spelling);
    auto found = users.find_by_username(spelling);
    REQUIRE(found);
    CHECK(found->id == alice->id);
    CHECK(found->username == "Alice"); // stored as given
  }
  CHECK_FALSE(users.find_by_username("alic"));
  CHECK_FALSE(users.find_by_username("alice2"));

  // The same name in another case is taken.
  CHECK_FALSE(users.insert(new_user("ALICE")));
  CHECK_FALSE(users.insert(new_user("alice")));
  CHECK(count_of(*db.sql, "SELECT COUNT(*) FROM users") == 1);

  auto bob = users.insert(new_user("bob"));
  REQUIRE(bob);
  CHECK(bob->id != alice->id);
  auto by_id = users.find_by_id(bob->id);
  REQUIRE(by_id);
  CHECK(by_id->username == "bob");
  CHECK_FALSE(users.find_by_id(bob->id + 1000));
}

TEST_CASE("user_repository updates password, active and admin flags, last login", "[storage]") {
  test_support::test_database db;
  solod::user_repository users(*db.sql);
  auto id = insert_user(*db.sql, "carol");
  const std::int64_t missing = id + 1000;

  CHECK(users.set_password(id, "new-hash"));
  CHECK(users.find_by_id(id)->password_hash == "new-hash");

  CHECK(users.set_active(id, false));
  CHECK_FALSE(users.find_by_id(id)->is_active);
  CHECK(users.set_active(id, true));
  CHECK(users.find_by_id(id)->is_active);

  CHECK(users.set_admin(id, true));
  CHECK(users.find_by_id(id)->is_admin);
  CHECK(users.set_admin(id, false));
  CHECK_FALSE(users.find_by_id(id)->is_admin);

  CHECK_FALSE(users.set_password(missing, "x"));
  CHECK_FALSE(users.set_active(missing, false));
  CHECK_FALSE(users.set_admin(missing, true));

  users.set_last_login(id, t0 + 1234ms);
  auto u = users.find_by_id(id);
  REQUIRE(u->last_login);
  CHECK(*u->last_login == t0 + 1234ms);
}

// -- sessions -------------------------------------------------------------------

TEST_CASE("session_repository::start ends the previous live session", "[storage]") {
  test_support::test_database db;
  solod::session_repository sessions(*db.sql);
  auto uid = insert_user(*db.sql, "dave");

  CHECK_FALSE(sessions.start(new_session("s1", uid, t0), "superseded").ended);
  auto ended = sessions.start(new_session("s2", uid, t0 + 5s), "superseded").ended;
  REQUIRE(ended);
  CHECK(*ended == "s1");

  auto s1 = sessions.find("s1");
  REQUIRE(s1);
  REQUIRE(s1->logout_ts);
  CHECK(*s1->logout_ts == t0 + 5s); // ended at the new login's time
  CHECK(s1->end_reason == "superseded");
  CHECK(s1->username == "dave");

  auto s2 = sessions.find("s2");
  REQUIRE(s2);
  CHECK_FALSE(s2->logout_ts);
  CHECK(s2->end_reason.empty());
  CHECK(s2->login_ts == t0 + 5s);
  CHECK(s2->expires_at == t0 + 5s + 24h);
  CHECK(s2->ip_address == "203.0.113.9");
  CHECK(s2->user_agent == "agent");

  // The reason is the caller's.
  auto third = sessions.start(new_session("s3", uid, t0 + 9s), "admin").ended;
  REQUIRE(third);
  CHECK(*third == "s2");
  CHECK(sessions.find("s2")->end_reason == "admin");

  // start() stamps the user's last login.
  CHECK(solod::user_repository(*db.sql).find_by_id(uid)->last_login == t0 + 9s);
  CHECK(count_of(*db.sql, "SELECT COUNT(*) FROM sessions WHERE logout_ts IS NULL") == 1);
  CHECK_FALSE(sessions.find("nope"));
}

TEST_CASE("session_repository::end ends a live session once", "[storage]") {
  test_support::test_database db;
  solod::session_repository sessions(*db.sql);
  auto uid = insert_user(*db.sql, "erin");
  sessions.start(new_session("s1", uid, t0), "superseded");

  CHECK(sessions.end("s1", "logout", t0 + 1s));
  auto s1 = sessions.find("s1");
  REQUIRE(s1->logout_ts);
  CHECK(*s1->logout_ts == t0 + 1s);
  CHECK(s1->end_reason == "logout");

  // Already ended: nothing changes, not even the reason.
  CHECK_FALSE(sessions.end("s1", "admin", t0 + 2s));
  CHECK(sessions.find("s1")->end_reason == "logout");
  CHECK(*sessions.find("s1")->logout_ts == t0 + 1s);
  CHECK_FALSE(sessions.end("unknown", "logout", t0));
}

TEST_CASE("session_repository::load_live returns only live sessions, with usernames", "[storage]") {
  test_support::test_database db;
  solod::session_repository sessions(*db.sql);
  auto a = insert_user(*db.sql, "frank");
  auto b = insert_user(*db.sql, "grace");
  auto c = insert_user(*db.sql, "heidi");

  sessions.start(new_session("a1", a, t0), "superseded");
  sessions.start(new_session("a2", a, t0 + 1s), "superseded"); // ends a1
  sessions.start(new_session("b1", b, t0), "superseded");
  sessions.end("b1", "logout", t0 + 2s);
  sessions.start(new_session("c1", c, t0), "superseded");

  auto live = sessions.load_live();
  REQUIRE(live.size() == 2);
  std::map<std::string, std::string> by_id;
  for (const auto& s : live) {
    CHECK_FALSE(s.logout_ts);
    by_id[s.id] = s.username;
  }
  CHECK(by_id == std::map<std::string, std::string>{{"a2", "frank"}, {"c1", "heidi"}});
}

// -- login_logs -----------------------------------------------------------------

TEST_CASE("login_log_repository stores absent user and session ids as NULL", "[storage]") {
  test_support::test_database db;
  solod::login_log_repository logs(*db.sql);

  auto known = event("login_success", t0, "ivan", "192.0.2.1");
  known.user_id = 7;
  known.session_id = "sid-7";
  known.error_message = "";
  auto anonymous = event("login_failure", t0 + 1s, "nobody", "192.0.2.2");
  anonymous.status = "failure";
  anonymous.error_message = "unknown_user";
  {
    solod::write_transaction tx(*db.sql);
    logs.insert_batch({known, anonymous});
    logs.insert_batch({}); // an empty batch is no statement at all
    tx.commit();
  }

  CHECK(count_of(*db.sql, "SELECT COUNT(*) FROM login_logs") == 2);
  CHECK(count_of(*db.sql, "SELECT COUNT(*) FROM login_logs WHERE username = 'nobody' AND "
                          "user_id IS NULL AND session_id IS NULL") == 1);
  CHECK(count_of(*db.sql, "SELECT COUNT(*) FROM login_logs WHERE username = 'ivan' AND "
                          "user_id = 7 AND session_id = 'sid-7'") == 1);

  auto rows = select(*db.sql, {});
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].user_id == std::optional<std::int64_t>{7});
  CHECK(rows[0].session_id == "sid-7");
  CHECK(rows[0].timestamp == t0);
  CHECK(rows[0].legal_basis == "legal_obligation");
  CHECK(rows[0].id > 0);
  CHECK_FALSE(rows[1].user_id);
  CHECK(rows[1].session_id.empty());
  CHECK(rows[1].status == "failure");
  CHECK(rows[1].error_message == "unknown_user");
  CHECK(rows[1].ip_address == "192.0.2.2");
  CHECK(rows[1].user_agent == "ua");
}

TEST_CASE("login_log_repository::insert_batch writes a large batch exactly, hostile text included",
          "[storage]") {
  // 1,203 rows: on PostgreSQL three multi-row INSERTs (500, 500, 203).
  test_support::test_database db;
  const std::vector<std::string> hostile = {"it's", "back\\slash", ":p1 :name $1 ?", "\"quoted\"",
                                            "tab\tnew\nline", "caf\u00e9 \u2603", "", "'); DROP TABLE users; --"};
  std::vector<audit_event> batch;
  for (int i = 0; i < 1203; ++i) {
    auto e = event("batch", t0 + std::chrono::milliseconds{i}, "user" + std::to_string(i), "198.51.100.1");
    e.user_agent = hostile[static_cast<std::size_t>(i) % hostile.size()];
    e.error_message = std::to_string(i);
    if (i % 3 == 0) {
      e.user_id = i;
      e.session_id = "s" + std::to_string(i);
    }
    batch.push_back(e);
  }
  {
    solod::write_transaction tx(*db.sql);
    solod::login_log_repository(*db.sql).insert_batch(batch);
    tx.commit();
  }
  auto rows = select(*db.sql, {});
  REQUIRE(rows.size() == batch.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    INFO("row " << i);
    CHECK(rows[i].timestamp == batch[i].timestamp);
    CHECK(rows[i].username == batch[i].username);
    CHECK(rows[i].user_agent == batch[i].user_agent);
    CHECK(rows[i].error_message == batch[i].error_message);
    CHECK(rows[i].user_id == batch[i].user_id);
    CHECK(rows[i].session_id == batch[i].session_id);
  }
  CHECK(count_of(*db.sql, "SELECT COUNT(*) FROM login_logs WHERE user_id IS NULL") == 802);
  CHECK(count_of(*db.sql, "SELECT COUNT(*) FROM login_logs WHERE session_id IS NULL") == 802);
  CHECK(count_of(*db.sql, "SELECT COUNT(*) FROM users") == 0); // the hostile text stayed text
}

TEST_CASE("login_log_repository::for_each filters and returns oldest first", "[storage]") {
  test_support::test_database db;
  solod::login_log_repository logs(*db.sql);
  {
    solod::write_transaction tx(*db.sql);
    logs.insert_batch({
      event("login_success", t0, "Judy", "10.0.0.1"),
      event("login_failure", t0 + 1s, "judy", "10.0.0.2"),
      event("logout", t0 + 2s, "JUDY", "10.0.0.1"),
      event("login_success", t0 + 3s, "karl", "10.0.0.1"),
      event("login_success", t0 + 4s, "judy", "10.0.0.3"),
    });
    tx.commit();
  }
  auto types = [](const std::vector<audit_event>& rows) {
    std::vector<std::string> out;
    for (const auto& r : rows) {
      out.push_back(r.event_type + "@" + r.ip_address);
    }
    return out;
  };

  SECTION("everything, oldest first") {
    auto rows = select(*db.sql, {});
    REQUIRE(rows.size() == 5);
    for (std::size_t i = 1; i < rows.size(); ++i) {
      CHECK(rows[i - 1].id < rows[i].id);
      CHECK(rows[i - 1].timestamp < rows[i].timestamp);
    }
  }
  SECTION("by username, in any case") {
    solod::audit_filter f;
    f.username = "jUdY";
    auto rows = select(*db.sql, f);
    CHECK(types(rows) == std::vector<std::string>{"login_success@10.0.0.1", "login_failure@10.0.0.2",
                                                  "logout@10.0.0.1", "login_success@10.0.0.3"});
  }
  SECTION("by ip") {
    solod::audit_filter f;
    f.ip = "10.0.0.1";
    CHECK(types(select(*db.sql, f)) ==
          std::vector<std::string>{"login_success@10.0.0.1", "logout@10.0.0.1",
                                   "login_success@10.0.0.1"});
  }
  SECTION("by event") {
    solod::audit_filter f;
    f.event = "login_success";
    CHECK(select(*db.sql, f).size() == 3);
  }
  SECTION("from is inclusive, to is exclusive") {
    solod::audit_filter f;
    f.from = t0 + 1s;
    f.to = t0 + 3s;
    CHECK(types(select(*db.sql, f)) ==
          std::vector<std::string>{"login_failure@10.0.0.2", "logout@10.0.0.1"});
  }
  SECTION("filters combine") {
    solod::audit_filter f;
    f.username = "judy";
    f.ip = "10.0.0.1";
    f.event = "logout";
    f.from = t0;
    f.to = t0 + 10s;
    CHECK(types(select(*db.sql, f)) == std::vector<std::string>{"logout@10.0.0.1"});
  }
  SECTION("no match") {
    solod::audit_filter f;
    f.username = "nobody";
    CHECK(select(*db.sql, f).empty());
  }
}

// -- write_transaction ----------------------------------------------------------

TEST_CASE("write_transaction commits, and rolls back when not committed", "[storage]") {
  test_support::test_database db;
  auto insert = [&](const std::string& type) {
    *db.sql << "INSERT INTO login_logs (timestamp, event_type, status) VALUES "
               "('2026-01-01T00:00:00.000Z', :t, 'success')",
      soci::use(type);
  };
  {
    solod::write_transaction tx(*db.sql);
    insert("kept");
    tx.commit();
  }
  {
    solod::write_transaction tx(*db.sql);
    insert("dropped");
  }
  CHECK(count_of(*db.sql, "SELECT COUNT(*) FROM login_logs WHERE event_type = 'kept'") == 1);
  CHECK(count_of(*db.sql, "SELECT COUNT(*) FROM login_logs WHERE event_type = 'dropped'") == 0);
}

TEST_CASE("concurrent read-then-write transactions never fail with SQLITE_BUSY", "[storage]") {
  test_support::test_database db;
  constexpr int iterations = 200;
  std::atomic<int> failures{0};
  std::string first_error;
  std::mutex error_mtx;
  std::latch go{2};

  auto worker = [&](int who) {
    auto sql = db.connect();
    go.arrive_and_wait();
    for (int i = 0; i < iterations; ++i) {
      try {
        // The pattern that breaks with a deferred BEGIN: read, then write,
        // while the other connection writes in between.
        solod::write_transaction tx(*sql);
        long long n = 0;
        *sql << "SELECT COUNT(*) FROM login_logs", soci::into(n);
        std::string type = "w" + std::to_string(who);
        std::string note = std::to_string(n);
        *sql << "INSERT INTO login_logs (timestamp, event_type, status, error_message) VALUES "
                "('2026-01-01T00:00:00.000Z', :t, 'success', :n)",
          soci::use(type), soci::use(note);
        tx.commit();
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> guard(error_mtx);
        if (failures++ == 0) {
          first_error = e.what();
        }
      }
    }
  };
  std::thread a(worker, 1);
  std::thread b(worker, 2);
  a.join();
  b.join();

  INFO(first_error);
  CHECK(failures.load() == 0);
  CHECK(count_of(*db.sql, "SELECT COUNT(*) FROM login_logs") == 2 * iterations);
  if (db.url.dialect == solod::sql_dialect::sqlite) {
    // BEGIN IMMEDIATE serializes whole transactions: each saw every earlier
    // commit, so the counts read are all different. (PostgreSQL's plain BEGIN
    // at READ COMMITTED does not; what must not interleave there takes row
    // locks, as session_repository does.)
    CHECK(count_of(*db.sql, "SELECT COUNT(DISTINCT error_message) FROM login_logs") ==
          2 * iterations);
  }
}

TEST_CASE("every admin query runs and pages on this backend", "[storage]") {
  test_support::test_database db;
  auto& sql = *db.sql;
  solod::user_repository users(sql);
  const auto alice = insert_user(sql, "Alice_50%");
  insert_user(sql, "bob");
  insert_user(sql, "alicexx50yy");

  // Search: LIKE with its wildcards escaped, case-insensitive, counted and paged.
  CHECK(users.count("") == 3);
  CHECK(users.count("alice_50%") == 1);
  CHECK(users.count("ALICE") == 2);
  REQUIRE(users.list("alice", 1, 1).size() == 1);
  CHECK(users.list("", 10, 0).front().id == alice);
  CHECK(users.update_profile(alice, std::string("It's \"me\""), std::nullopt));
  CHECK(users.find_by_id(alice)->full_name == "It's \"me\"");
  CHECK(users.set_admin(alice, true));
  CHECK(users.find_by_username("ALICE_50%")->is_admin);

  // Sessions: filtered pages with a cursor, newest first; find.
  solod::session_repository sessions(sql);
  for (int i = 0; i < 5; ++i) {
    auto s = new_session("s" + std::to_string(i), alice, t0 + std::chrono::minutes{i});
    sessions.start(s, "superseded");
  }
  solod::session_filter all;
  auto first = sessions.page(all, 2, std::nullopt);
  REQUIRE(first.size() == 2);
  CHECK(first[0].id == "s4");
  auto next = sessions.page(all, 2, solod::page_position{solod::format_iso8601(first[1].login_ts), 0, first[1].id});
  REQUIRE(next.size() == 2);
  CHECK(next[0].id == "s2");
  solod::session_filter live;
  live.active_only = true;
  live.username = "alice_50%";
  live.from = t0;
  live.to = t0 + 1h;
  CHECK(sessions.page(live, 10, std::nullopt).size() == 1);
  CHECK(sessions.find("s0")->end_reason == "superseded");

  // Audit: pages with a cursor, newest first.
  {
    solod::write_transaction tx(sql);
    solod::login_log_repository(sql).insert_batch({event("a", t0, "x", "1.1.1.1"), event("b", t0, "x", "1.1.1.1"),
                                                    event("c", t0 + 1s, "y", "2.2.2.2")});
    tx.commit();
  }
  solod::login_log_repository logs(sql);
  auto top = logs.page({}, 2, std::nullopt);
  REQUIRE(top.size() == 2);
  CHECK(top[0].event_type == "c");
  auto rest = logs.page({}, 2, solod::page_position{solod::format_iso8601(top[1].timestamp), top[1].id, ""});
  REQUIRE(rest.size() == 1);
  CHECK(rest[0].event_type == "a");
  solod::audit_filter by_user;
  by_user.username = "X";
  by_user.ip = "1.1.1.1";
  by_user.from = t0;
  by_user.to = t0 + 1s;
  CHECK(logs.page(by_user, 10, std::nullopt).size() == 2);

  // Retention: both bounded deletes and the anonymisation run; chained audit
  // rows go only in whole spans below a signed checkpoint (audit_chain_test).
  CHECK(sessions.anonymise_older_than(t0 + 1h, 2) == 2);
  CHECK(logs.delete_older_than(t0 + 1s, 10) == 0);
}

TEST_CASE("session_repository::start refuses an account disabled or erased meanwhile", "[storage]") {
  test_support::test_database db;
  solod::session_repository sessions(*db.sql);
  auto uid = insert_user(*db.sql, "erin");
  REQUIRE(sessions.start(new_session("e1", uid, t0), "superseded").started);
  solod::user_repository(*db.sql).set_active(uid, false);
  // A login that checked the password before the admin's change comes too late.
  auto late = sessions.start(new_session("e2", uid, t0 + 1s), "superseded");
  CHECK_FALSE(late.started);
  CHECK(late.account_closed);
  CHECK_FALSE(late.ended);
  CHECK_FALSE(sessions.find("e2"));
  CHECK_FALSE(sessions.find("e1")->logout_ts); // nothing else changed
}
