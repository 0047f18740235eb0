#pragma once
/// @brief One row of `user_attributes` and the rules of its typed value.

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace solod {

/// A named, typed value attached to a user. `value` is the stored text, in
/// the canonical form of `type`: `string` as is, `integer` in decimal,
/// `float` as JSON writes it, `boolean` `true`/`false`, `json` compact JSON.
struct user_attribute {
  std::string name;
  std::string type = "string";
  std::string value;
};

/// Limits of an attribute (names are short keys; values fit a row).
inline constexpr std::size_t max_attribute_name = 64;
inline constexpr std::size_t max_attribute_value = 4096;

/// 1-64 of `A-Z a-z 0-9 _ . -`.
bool is_valid_attribute_name(std::string_view name);

/// One of string, integer, float, boolean, json.
bool is_attribute_type(std::string_view type);

/// `text` (from a command line or an import file) as a stored value of
/// `type`; nothing when it is not one (or too long, or not UTF-8).
std::optional<std::string> attribute_from_text(std::string_view type, std::string_view text);

/// A JSON value (from the API) as an attribute of `type`, or, when `type`
/// is empty, of the type the JSON value has (string, integer, float,
/// boolean; objects and arrays are json). Nothing when they disagree.
std::optional<user_attribute> attribute_from_json(const std::string& name,
                                                  const nlohmann::json& value,
                                                  const std::string& type);

/// The stored value as a typed JSON value (a broken stored value of another
/// type is shown as the string it is).
nlohmann::json attribute_value_json(const user_attribute& a);

} // namespace solod
