// The audit chain's hashing: commitments, seals and row hashes, without a database.

#include "storage/audit_chain_hash.hpp"

#include <catch2/catch.hpp>

#include <vector>

using solod::chain_row;
using solod::personal_field;

namespace {

chain_row sample_row() {
  chain_row r;
  r.id = 42;
  r.timestamp = "2026-12-02T10:00:00.000Z";
  r.user_id = 7;
  r.event_type = "login_success";
  r.session_id = "s-1";
  r.status = "success";
  r.legal_basis = "legal_obligation";
  r.personal = {"mia", "192.0.2.7", "MiaBrowser/1.0", ""};
  return r;
}

solod::chain_digest hash_of(const std::string& key, const chain_row& r) {
  auto h = solod::chain_row_hash(solod::chain_genesis, key, r);
  REQUIRE(h);
  return *h;
}

} // namespace

TEST_CASE("every hashed field changes the row hash", "[unit][audit_chain]") {
  const auto key = solod::new_chain_keys(1)[0];
  const auto base = sample_row();
  const auto h = hash_of(key, base);
  auto changed = [&](auto edit) {
    auto r = base;
    edit(r);
    return hash_of(key, r) != h;
  };
  CHECK(changed([](chain_row& r) { r.id = 43; }));
  CHECK(changed([](chain_row& r) { r.timestamp = "2026-12-02T10:00:00.001Z"; }));
  CHECK(changed([](chain_row& r) { r.user_id = 8; }));
  CHECK(changed([](chain_row& r) { r.user_id.reset(); }));
  CHECK(changed([](chain_row& r) { r.event_type = "logout"; }));
  CHECK(changed([](chain_row& r) { r.session_id.reset(); }));
  CHECK(changed([](chain_row& r) { r.session_id = ""; }));
  CHECK(changed([](chain_row& r) { r.status = "failure"; }));
  CHECK(changed([](chain_row& r) { r.legal_basis = "consent"; }));
  for (std::size_t f = 0; f < solod::personal_field_count; ++f) {
    INFO("personal field " << f);
    CHECK(changed([f](chain_row& r) { r.personal[f] += "x"; }));
  }
  // Length prefixes: moving a byte from one field to the next is a change.
  CHECK(changed([](chain_row& r) {
    r.event_type = "login_succes";
    r.status = "ssuccess";
  }));
  // Another key, another hash; another previous row, another hash.
  CHECK(hash_of(solod::new_chain_keys(1)[0], base) != h);
  auto prev = solod::chain_genesis;
  prev[0] = 1;
  CHECK(*solod::chain_row_hash(prev, key, base) != h);
}

TEST_CASE("a sealed key keeps the row hash and frees the replaced fields", "[unit][audit_chain]") {
  const auto key = solod::new_chain_keys(1)[0];
  const auto row = sample_row();
  const auto h = hash_of(key, row);

  auto sealed = solod::seal_chain_key(key, row, solod::erased_fields);
  REQUIRE(sealed);
  CHECK(sealed->rfind("sealed:", 0) == 0);
  CHECK(sealed->find(key) == std::string::npos); // the row key itself is gone
  auto erased = row;
  erased.personal = {"erased-0123456789abcdef", "erased-0123456789abcdef", "erased-0123456789abcdef", ""};
  CHECK(hash_of(*sealed, erased) == h);
  // The kept field (detail) is still checked against its clear value.
  auto edited = erased;
  edited.personal[static_cast<std::size_t>(personal_field::detail)] = "edited";
  CHECK(hash_of(*sealed, edited) != h);
  // Sealing again (a second erasure naming the row) changes nothing.
  auto twice = solod::seal_chain_key(*sealed, erased, solod::erased_fields);
  REQUIRE(twice);
  CHECK(hash_of(*twice, erased) == h);
  // The detail alone, later: the other fields stay replaced.
  auto detail = solod::seal_chain_key(*sealed, erased, solod::field_bit(personal_field::detail));
  REQUIRE(detail);
  edited.personal[3] = "replaced too";
  CHECK(hash_of(*detail, edited) == h);
}

TEST_CASE("malformed chain keys are refused, not guessed", "[unit][audit_chain]") {
  const auto row = sample_row();
  for (const std::string& bad : std::vector<std::string>{"", "00", std::string(31, 'a'), std::string(33, 'a'), std::string(32, 'g'), "sealed:",
                          "sealed:k00,k00,k00,k00", "sealed:x" + std::string(32, '0') + ",,,",
                          "sealed:k" + std::string(32, '0') + ",k" + std::string(32, '0') + ",k" +
                            std::string(32, '0')}) {
    INFO(bad);
    CHECK_FALSE(solod::chain_row_hash(solod::chain_genesis, bad, row));
    CHECK_FALSE(solod::seal_chain_key(bad, row, solod::erased_fields));
  }
}

TEST_CASE("a report digest is the same however the bytes are split", "[unit][audit_chain]") {
  solod::stream_digest whole, parts;
  whole.add("range,anchor,event\r\n");
  parts.add("range,");
  parts.add("anchor,event");
  parts.add("\r\n");
  CHECK(whole.finish() == parts.finish());
}
