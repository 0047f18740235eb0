// Tests for src/storage/user_attribute.*: names, types and typed values.

#include "storage/user_attribute.hpp"

#include <catch2/catch.hpp>

using namespace solod;
using nlohmann::json;

TEST_CASE("user_attribute: names and types", "[attributes]") {
  CHECK(is_valid_attribute_name("team"));
  CHECK(is_valid_attribute_name("a.b-c_9"));
  CHECK(is_valid_attribute_name(std::string(64, 'x')));
  CHECK_FALSE(is_valid_attribute_name(""));
  CHECK_FALSE(is_valid_attribute_name(std::string(65, 'x')));
  CHECK_FALSE(is_valid_attribute_name("with space"));
  CHECK_FALSE(is_valid_attribute_name("slash/"));
  for (const char* t : {"string", "integer", "float", "boolean", "json"}) {
    CHECK(is_attribute_type(t));
  }
  CHECK_FALSE(is_attribute_type("int"));
  CHECK_FALSE(is_attribute_type(""));
}

TEST_CASE("user_attribute: text values per type, in canonical form", "[attributes]") {
  CHECK(attribute_from_text("string", " as is ") == " as is ");
  CHECK(attribute_from_text("integer", "-42") == "-42");
  CHECK_FALSE(attribute_from_text("integer", "4.2"));
  CHECK_FALSE(attribute_from_text("integer", "99999999999999999999"));
  CHECK_FALSE(attribute_from_text("integer", ""));
  CHECK_FALSE(attribute_from_text("integer", " 1"));
  CHECK(attribute_from_text("float", "2.5") == "2.5");
  CHECK(attribute_from_text("float", "1e3") == "1000.0");
  CHECK_FALSE(attribute_from_text("float", "nan"));
  CHECK_FALSE(attribute_from_text("float", "1e999"));
  CHECK(attribute_from_text("boolean", "1") == "true");
  CHECK(attribute_from_text("boolean", "false") == "false");
  CHECK_FALSE(attribute_from_text("boolean", "yes please"));
  CHECK(attribute_from_text("json", "{ \"a\" : [1, 2] }") == "{\"a\":[1,2]}");
  CHECK_FALSE(attribute_from_text("json", "{nope"));
  CHECK_FALSE(attribute_from_text("string", std::string(4097, 'x')));
  CHECK_FALSE(attribute_from_text("string", "\xff\xfe"));
  CHECK_FALSE(attribute_from_text("money", "1"));
}

TEST_CASE("user_attribute: JSON values take their type, or must fit the one given", "[attributes]") {
  CHECK(attribute_from_json("a", json("x"), "")->type == "string");
  CHECK(attribute_from_json("a", json(3), "")->type == "integer");
  CHECK(attribute_from_json("a", json(3.5), "")->type == "float");
  CHECK(attribute_from_json("a", json(true), "")->type == "boolean");
  CHECK(attribute_from_json("a", json::array({1}), "")->type == "json");
  CHECK(attribute_from_json("a", json::object({{"k", 1}}), "")->value == "{\"k\":1}");
  CHECK_FALSE(attribute_from_json("a", json(), ""));
  CHECK_FALSE(attribute_from_json("a", json("3"), "integer"));
  CHECK_FALSE(attribute_from_json("a", json(3.5), "integer"));
  CHECK_FALSE(attribute_from_json("a", json(18446744073709551615ULL), "integer"));
  CHECK(attribute_from_json("a", json(3), "float")->value == "3.0");
  CHECK(attribute_from_json("a", json("3"), "json")->value == "\"3\"");
  CHECK_FALSE(attribute_from_json("a", json(1), "decimal"));

  CHECK(attribute_value_json({"a", "integer", "42"}) == json(42));
  CHECK(attribute_value_json({"a", "float", "2.5"}) == json(2.5));
  CHECK(attribute_value_json({"a", "boolean", "true"}) == json(true));
  CHECK(attribute_value_json({"a", "json", "[1]"}) == json::array({1}));
  CHECK(attribute_value_json({"a", "string", "42"}) == json("42"));
  CHECK(attribute_value_json({"a", "integer", "broken"}) == json("broken"));
}
