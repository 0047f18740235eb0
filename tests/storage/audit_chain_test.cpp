// The audit chain against a real database (SQLite, or PostgreSQL when
// SOLOD_TEST_PG_URL is set): every tampering a person with database access
// can do is found and its first row named; retention, erasure and reports
// with proof keep the chain checkable.

#include "storage/audit_chain.hpp"
#include "storage/audit_proof.hpp"
#include "storage/audit_verifier.hpp"
#include "storage/chain_rows.hpp"
#include "storage/checkpoint_signer.hpp"
#include "storage/login_log_repository.hpp"
#include "storage/proof_check.hpp"
#include "storage/user_repository.hpp"
#include "storage/write_transaction.hpp"
#include "support/test_database.hpp"
#include "util/hex.hpp"

#include <catch2/catch.hpp>
#include <soci/soci.h>

using namespace std::chrono_literals;
using solod::audit_event;
using solod::time_point;
using test_support::count_of;

namespace {

const time_point t0{std::chrono::seconds{1'800'000'000}};

/// A database with a signing key and `n` chained audit rows (ids 1..n), one
/// batch of five at a time, a minute apart, users 1 and 2 alternating.
struct chained_log {
  test_support::test_database db;
  std::string key_path = db.dir.path() + "/audit.key";
  solod::audit_signing_key key = solod::audit_signing_key::load_or_create(key_path);
  solod::checkpoint_signer signer{key, key_path};
  soci::session& sql = *db.sql;

  explicit chained_log(int n = 20) {
    for (const char* name : {"ada", "bob"}) {
      solod::user_record u;
      u.username = name;
      u.password_hash = "h";
      u.created_at = t0;
      solod::user_repository(sql).insert(u);
    }
    append(n, t0);
  }

  void append(int n, time_point from) {
    for (int first = 0; first < n; first += 5) {
      std::vector<audit_event> batch;
      for (int i = first; i < std::min(n, first + 5); ++i) {
        audit_event e;
        e.timestamp = from + std::chrono::minutes{i};
        e.event_type = i % 3 == 0 ? "login_failure" : "login_success";
        e.user_id = 1 + i % 2;
        e.username = i % 2 == 0 ? "ada" : "bob";
        e.session_id = i % 3 == 0 ? "" : "s-" + std::to_string(i);
        e.ip_address = "192.0.2." + std::to_string(i);
        e.user_agent = "UA/" + std::to_string(i);
        e.status = i % 3 == 0 ? "failure" : "success";
        e.error_message = i % 3 == 0 ? "bad_password" : "";
        batch.push_back(e);
      }
      solod::write_transaction tx(sql);
      solod::login_log_repository(sql).insert_batch(batch);
      tx.commit();
    }
  }

  void checkpoint(time_point at) { REQUIRE(signer.sign(sql, at)); }

  solod::chain_verdict verify(solod::verify_options opts = {}) {
    if (opts.trusted_keys.empty()) {
      opts.trusted_keys = {key.public_key()};
    }
    if (!opts.last_signed) {
      opts.last_signed = solod::read_signed_point(solod::signed_point_path(key_path));
    }
    return solod::verify_audit_chain(sql, opts);
  }

  std::string report(solod::proof_scope scope, bool json, time_point now) {
    solod::proof_report_writer w(std::move(scope), json);
    std::string out = w.begin(sql, signer, now);
    while (w.next(sql, out, 7)) {
    }
    return out;
  }
};

void require_broken_at(const solod::chain_verdict& v, std::int64_t row, const std::string& kind) {
  REQUIRE_FALSE(v.intact());
  INFO(v.problems.front().detail);
  CHECK(v.problems.front().row_id == row);
  CHECK(v.problems.front().kind == kind);
}

} // namespace

TEST_CASE("an untouched chain verifies, with its checkpoints", "[storage][audit_chain]") {
  chained_log log;
  log.checkpoint(t0 + 1h);
  log.append(3, t0 + 2h);
  auto v = log.verify();
  REQUIRE(v.intact());
  CHECK(v.first_row == 1);
  CHECK(v.last_row == 23);
  CHECK(v.rows == 23);
  CHECK(v.checkpoints == 1);
  CHECK(v.signed_up_to == 20);
  CHECK(count_of(log.sql, "SELECT COUNT(*) FROM login_logs WHERE row_hash IS NULL OR chain_key IS NULL") == 0);
  // A second checkpoint of the same head is not written twice.
  log.checkpoint(t0 + 3h);
  CHECK_FALSE(log.signer.sign(log.sql, t0 + 4h));
}

TEST_CASE("each tampering is found and its first row named", "[storage][audit_chain]") {
  chained_log log;
  log.checkpoint(t0 + 1h);
  auto& sql = log.sql;
  SECTION("a changed field") {
    sql << "UPDATE login_logs SET ip_address = '203.0.113.9' WHERE id = 7";
    require_broken_at(log.verify(), 7, "changed");
  }
  SECTION("a changed time") {
    sql << "UPDATE login_logs SET timestamp = '2020-01-01T00:00:00.000Z' WHERE id = 12";
    require_broken_at(log.verify(), 12, "changed");
  }
  SECTION("a deleted row") {
    sql << "DELETE FROM login_logs WHERE id = 9";
    require_broken_at(log.verify(), 9, "deleted");
  }
  SECTION("the last rows deleted") {
    sql << "DELETE FROM login_logs WHERE id >= 18";
    require_broken_at(log.verify(), 18, "deleted");
  }
  SECTION("the first rows deleted without a checkpoint below them") {
    sql << "DELETE FROM login_logs WHERE id <= 3";
    require_broken_at(log.verify(), 1, "deleted");
  }
  SECTION("an inserted row") {
    sql << "INSERT INTO login_logs (timestamp, event_type, user_id, username, status) "
           "VALUES ('2027-01-15T00:30:00.000Z', 'login_success', 1, 'ada', 'success')";
    require_broken_at(log.verify(), 21, "inserted");
  }
  SECTION("a row moved to another place") {
    sql << "UPDATE login_logs SET id = -1 WHERE id = 5";
    sql << "UPDATE login_logs SET id = 5 WHERE id = 6";
    sql << "UPDATE login_logs SET id = 6 WHERE id = -1";
    require_broken_at(log.verify(), 5, "reordered");
  }
  SECTION("a forged checkpoint") {
    auto sig = *test_support::text_of(sql, "SELECT signature FROM audit_checkpoints");
    sig[10] = sig[10] == '0' ? '1' : '0';
    sql << "UPDATE audit_checkpoints SET signature = :s", soci::use(sig);
    require_broken_at(log.verify(), 20, "forged checkpoint");
  }
  SECTION("a checkpoint by another key") {
    auto other = solod::audit_signing_key::load_or_create(log.db.dir.path() + "/other.key");
    log.append(2, t0 + 2h);
    REQUIRE(solod::write_checkpoint(sql, other, t0 + 3h));
    require_broken_at(log.verify(), 22, "forged checkpoint");
    // Trusted once its key is given.
    CHECK(log.verify({.trusted_keys = {log.key.public_key(), other.public_key()}}).intact());
  }
  SECTION("the chain's start moved past signed rows") {
    const std::string zeros(64, '0'); // bound by reference: it must outlive the statement
    sql << "UPDATE audit_chain SET genesis_id = last_id, head = :h", soci::use(zeros);
    auto v = log.verify();
    REQUIRE_FALSE(v.intact());
    CHECK(v.problems.front().kind == "changed");
    CHECK_THROWS_AS(log.signer.sign(sql, t0 + 2h), solod::chain_break);
  }
  SECTION("a row of a live account sealed, then edited") {
    auto key = *test_support::text_of(sql, "SELECT chain_key FROM login_logs WHERE id = 8");
    auto row = solod::chain_row{};
    solod::for_each_stored_row(sql, 8, 8, [&](const solod::stored_row& r) { row = r.row; });
    auto sealed = *solod::seal_chain_key(key, row, solod::erased_fields);
    sql << "UPDATE login_logs SET chain_key = :k, ip_address = '203.0.113.9' WHERE id = 8", soci::use(sealed);
    require_broken_at(log.verify(), 8, "changed");
  }
  SECTION("signed rows rewritten, hashes recomputed and newer checkpoints deleted") {
    log.append(5, t0 + 2h); // rows 21..25
    log.checkpoint(t0 + 3h); // signs row 25, remembered beside the key
    sql << "DELETE FROM audit_checkpoints WHERE row_id = 25";
    sql << "UPDATE login_logs SET ip_address = '203.0.113.9' WHERE id = 23";
    solod::chain_digest prev{};
    std::vector<std::pair<long long, std::string>> hashes;
    solod::for_each_stored_row(sql, 1, 25, [&](const solod::stored_row& r) {
      prev = *solod::chain_row_hash(prev, *r.chain_key, r.row);
      hashes.emplace_back(r.row.id, solod::hex_of(prev));
    });
    for (auto& [id, h] : hashes) {
      sql << "UPDATE login_logs SET row_hash = :h WHERE id = :i", soci::use(h), soci::use(id);
    }
    sql << "UPDATE audit_chain SET head = :h", soci::use(hashes.back().second);
    // The signer refuses to sign it, and verify on this node names the row it signed.
    CHECK_THROWS_AS(log.signer.sign(sql, t0 + 4h), solod::chain_break);
    require_broken_at(log.verify(), 25, "changed");
  }
  SECTION("rows rewritten with their hashes recomputed disagree with the signed checkpoint") {
    // Someone who knows the scheme rewrites row 3 and every hash after it, and the state row.
    sql << "UPDATE login_logs SET ip_address = '203.0.113.9' WHERE id = 3";
    solod::chain_digest prev{};
    std::vector<std::pair<long long, std::string>> hashes;
    solod::for_each_stored_row(sql, 1, 20, [&](const solod::stored_row& r) {
      prev = *solod::chain_row_hash(prev, *r.chain_key, r.row);
      hashes.emplace_back(r.row.id, solod::hex_of(prev));
    });
    for (auto& [id, h] : hashes) {
      sql << "UPDATE login_logs SET row_hash = :h WHERE id = :i", soci::use(h), soci::use(id);
    }
    sql << "UPDATE audit_chain SET head = :h", soci::use(hashes.back().second);
    require_broken_at(log.verify(), 20, "changed");
  }
}

TEST_CASE("retention deletes whole signed spans and the chain still verifies", "[storage][audit_chain]") {
  chained_log log;                   // rows 1..20 at t0 .. t0+19min
  log.checkpoint(t0 + 30min);        // signs row 20
  log.append(5, t0 + 1h);            // rows 21..25
  log.checkpoint(t0 + 2h);           // signs row 25
  log.append(5, t0 + 3h);            // rows 26..30, not yet signed
  solod::login_log_repository logs(log.sql);

  // A cutoff before the first checkpoint deletes nothing chained.
  CHECK(logs.delete_older_than(t0 + 10min, 1000) == 0);
  // After it: the span up to row 20; its checkpoint stays as the anchor.
  CHECK(logs.delete_older_than(t0 + 90min, 1000) == 20);
  CHECK(count_of(log.sql, "SELECT MIN(id) FROM login_logs") == 21);
  CHECK(count_of(log.sql, "SELECT COUNT(*) FROM audit_checkpoints") == 2);
  auto v = log.verify();
  REQUIRE(v.intact());
  CHECK(v.first_row == 21);
  // Later: only up to the newest checkpoint made before the cutoff, a whole
  // span per step even beyond the bound (the chain stays anchored).
  CHECK(logs.delete_older_than(t0 + 5h, 3) == 5);
  CHECK(logs.delete_older_than(t0 + 5h, 1000) == 0);
  CHECK(count_of(log.sql, "SELECT COUNT(*) FROM login_logs") == 5); // 26..30 wait for a checkpoint
  CHECK(count_of(log.sql, "SELECT MIN(row_id) FROM audit_checkpoints") == 25);
  CHECK(log.verify().intact());
  // Deleting below the anchor's row, not at it, is found.
  log.sql << "DELETE FROM login_logs WHERE id = 26";
  require_broken_at(log.verify(), 26, "deleted");
}

TEST_CASE("a report with its proof checks without the database, and any edit fails", "[storage][audit_chain]") {
  chained_log log;
  log.checkpoint(t0 + 1h);
  log.append(10, t0 + 2h); // rows 21..30
  const auto keys = std::vector<std::string>{log.key.public_key()};

  for (bool json : {false, true}) {
    INFO((json ? "JSON" : "CSV"));
    SECTION(std::string("one account over a range, ") + (json ? "JSON" : "CSV")) {
      const auto text = log.report({.from = t0 + 2h, .to = t0 + 3h, .username = "bob"}, json, t0 + 4h);
      auto verdict = solod::check_proof_report(text, keys);
      INFO(verdict.summary);
      REQUIRE(verdict.intact);
      CHECK_THAT(verdict.summary, Catch::Contains("5 events in scope of 10 rows"));
      CHECK(text.find("UA/1") != std::string::npos);      // bob's rows in the range, in full
      CHECK(text.find("UA/0") == std::string::npos);      // ada's rows: digests only
      CHECK(text.find("192.0.2.2") == std::string::npos);
      // Every single byte matters.
      for (std::size_t i = 0; i < text.size(); ++i) {
        auto edited = text;
        edited[i] = static_cast<char>(edited[i] ^ 0x01);
        if (solod::check_proof_report(edited, keys).intact) {
          FAIL("an edit at byte " << i << " of " << text.size() << " passed");
        }
      }
      // Another key is not this server's.
      auto other = solod::audit_signing_key::load_or_create(log.db.dir.path() + "/other.key");
      CHECK_FALSE(solod::check_proof_report(text, {other.public_key()}).intact);
    }
  }
  SECTION("the whole log, then a row deleted in the database") {
    const auto text = log.report({}, false, t0 + 4h);
    auto verdict = solod::check_proof_report(text, keys);
    INFO(verdict.summary);
    REQUIRE(verdict.intact);
    CHECK_THAT(verdict.summary, Catch::Contains("30 events in scope of 30 rows"));
    // A line dropped from the report, signature rewritten or not, breaks it.
    const auto line = text.find("\r\nevent,12,");
    REQUIRE(line != std::string::npos);
    auto dropped = text;
    dropped.erase(line, text.find("\r\n", line + 2) - line);
    CHECK_FALSE(solod::check_proof_report(dropped, keys).intact);

    log.sql << "DELETE FROM login_logs WHERE id = 12";
    const auto after = log.report({}, false, t0 + 5h);
    auto broken = solod::check_proof_report(after, keys);
    CHECK_FALSE(broken.intact);
    CHECK_THAT(broken.summary, Catch::Contains("expected row 12"));
  }
  SECTION("an account that does not exist is nothing to prove") {
    CHECK_THROWS_AS(log.report({.username = "nobody"}, false, t0 + 4h), solod::proof_error);
  }
}
