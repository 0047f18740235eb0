// Tests for src/storage/attribute_repository.* and the import's additions to
// src/storage/user_repository.* (last_login kept on insert, the conditional
// hash replacement of a login's upgrade), on SQLite and (as pg.*) PostgreSQL.

#include "storage/attribute_repository.hpp"
#include "storage/user_repository.hpp"
#include "support/test_database.hpp"

#include <catch2/catch.hpp>
#include <soci/soci.h>

using solod::attribute_repository;
using solod::time_point;
using solod::user_attribute;
using solod::user_record;
using solod::user_repository;

namespace {

const time_point t0{std::chrono::seconds{1'700'000'000}};

std::int64_t add_user(soci::session& sql, const std::string& name) {
  user_record u;
  u.username = name;
  u.password_hash = "pbkdf2:sha256:1000$salt$" + std::string(64, 'a');
  u.created_at = t0;
  auto created = user_repository(sql).insert(u);
  REQUIRE(created);
  return created->id;
}

} // namespace

TEST_CASE("attribute_repository puts, lists by name, finds, replaces and removes", "[storage]") {
  test_support::test_database db;
  const auto alice = add_user(*db.sql, "alice");
  const auto bob = add_user(*db.sql, "bob");
  attribute_repository attrs(*db.sql);

  CHECK(attrs.list(alice).empty());
  CHECK(attrs.put(alice, user_attribute{"team", "string", "red"}));
  CHECK(attrs.put(alice, user_attribute{"level", "integer", "3"}));
  CHECK(attrs.put(bob, user_attribute{"team", "string", "blue"}));
  auto list = attrs.list(alice);
  REQUIRE(list.size() == 2);
  CHECK(list[0].name == "level");
  CHECK(list[0].type == "integer");
  CHECK(list[0].value == "3");
  CHECK(list[1].name == "team");

  // A second put replaces (type too) and says it created nothing.
  CHECK_FALSE(attrs.put(alice, user_attribute{"level", "string", "three"}));
  auto level = attrs.find(alice, "level");
  REQUIRE(level);
  CHECK(level->type == "string");
  CHECK(level->value == "three");
  CHECK(attrs.list(alice).size() == 2);
  CHECK(attrs.find(bob, "team")->value == "blue");
  CHECK_FALSE(attrs.find(bob, "level"));

  CHECK(attrs.remove(alice, "team"));
  CHECK_FALSE(attrs.remove(alice, "team"));
  CHECK_FALSE(attrs.find(alice, "team"));
  CHECK(attrs.find(bob, "team")); // another user's attribute of that name stays
}

TEST_CASE("attribute rows written before migration 4 read as strings", "[storage]") {
  test_support::test_database db;
  const auto alice = add_user(*db.sql, "alice");
  long long id = alice;
  *db.sql << "INSERT INTO user_attributes (user_id, name, value) VALUES (:u, 'old', 'x')",
    soci::use(id);
  auto old = attribute_repository(*db.sql).find(alice, "old");
  REQUIRE(old);
  CHECK(old->type == "string");
}

TEST_CASE("user_repository keeps an imported last_login and replaces a hash only if unchanged",
          "[storage]") {
  test_support::test_database db;
  user_repository users(*db.sql);
  user_record u;
  u.username = "imported";
  u.password_hash = "bcrypt-old";
  u.created_at = t0;
  u.last_login = t0 + std::chrono::hours(5);
  u.is_admin = true;
  u.is_active = false;
  auto created = users.insert(u);
  REQUIRE(created);
  CHECK(created->last_login == u.last_login);
  auto found = users.find_by_username("imported");
  REQUIRE(found);
  CHECK(found->last_login == u.last_login);
  CHECK(found->created_at == t0);
  CHECK(found->is_admin);
  CHECK_FALSE(found->is_active);

  CHECK_FALSE(users.replace_password_hash(created->id, "something else", "$argon2id$new"));
  CHECK(users.find_by_id(created->id)->password_hash == "bcrypt-old");
  CHECK(users.replace_password_hash(created->id, "bcrypt-old", "$argon2id$new"));
  CHECK(users.find_by_id(created->id)->password_hash == "$argon2id$new");
  CHECK_FALSE(users.replace_password_hash(created->id, "bcrypt-old", "$argon2id$newer"));
}
