#include "storage/user_attribute.hpp"

#include "util/utf8.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>

namespace solod {

namespace {

std::optional<std::int64_t> parse_integer(std::string_view text) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return v;
}

std::optional<double> parse_float(std::string_view text) {
  // JSON's number grammar, through the JSON parser: no "inf", "nan", hex or spaces.
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_number()) {
    return std::nullopt;
  }
  double v = j.get<double>();
  if (!std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

} // namespace

bool is_valid_attribute_name(std::string_view name) {
  if (name.empty() || name.size() > max_attribute_name) {
    return false;
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

bool is_attribute_type(std::string_view type) {
  return type == "string" || type == "integer" || type == "float" || type == "boolean" ||
         type == "json";
}

std::optional<std::string> attribute_from_text(std::string_view type, std::string_view text) {
  if (text.size() > max_attribute_value || !is_valid_utf8(text)) {
    return std::nullopt;
  }
  if (type == "string") {
    return std::string(text);
  }
  if (type == "integer") {
    auto v = parse_integer(text);
    return v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt;
  }
  if (type == "float") {
    auto v = parse_float(text);
    return v ? std::optional<std::string>(nlohmann::json(*v).dump()) : std::nullopt;
  }
  if (type == "boolean") {
    if (text == "true" || text == "1") {
      return std::string("true");
    }
    if (text == "false" || text == "0") {
      return std::string("false");
    }
    return std::nullopt;
  }
  if (type == "json") {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) {
      return std::nullopt;
    }
    auto out = j.dump();
    return out.size() <= max_attribute_value ? std::optional<std::string>(out) : std::nullopt;
  }
  return std::nullopt;
}

std::optional<user_attribute> attribute_from_json(const std::string& name,
                                                  const nlohmann::json& value,
                                                  const std::string& type) {
  std::string t = type;
  if (t.empty()) {
    t = value.is_string()            ? "string"
        : value.is_boolean()         ? "boolean"
        : value.is_number_integer()  ? "integer"
        : value.is_number_float()    ? "float"
        : value.is_structured()      ? "json"
                                     : "";
  }
  if (!is_attribute_type(t) || value.is_null()) {
    return std::nullopt;
  }
  std::optional<std::string> stored;
  if (t == "string" && value.is_string()) {
    stored = attribute_from_text(t, value.get_ref<const std::string&>());
  } else if (t == "integer" && value.is_number_integer()) {
    stored = value.dump();
    if (value.is_number_unsigned() && !parse_integer(*stored)) {
      stored.reset(); // beyond int64
    }
  } else if (t == "float" && value.is_number()) {
    stored = attribute_from_text(t, value.dump());
  } else if (t == "boolean" && value.is_boolean()) {
    stored = value.get<bool>() ? "true" : "false";
  } else if (t == "json") {
    stored = value.dump();
    if (stored->size() > max_attribute_value) {
      stored.reset();
    }
  }
  if (!stored) {
    return std::nullopt;
  }
  return user_attribute{name, t, *stored};
}

nlohmann::json attribute_value_json(const user_attribute& a) {
  if (a.type == "integer") {
    if (auto v = parse_integer(a.value)) {
      return *v;
    }
  } else if (a.type == "float") {
    if (auto v = parse_float(a.value)) {
      return *v;
    }
  } else if (a.type == "boolean") {
    if (a.value == "true" || a.value == "false") {
      return a.value == "true";
    }
  } else if (a.type == "json") {
    auto j = nlohmann::json::parse(a.value, nullptr, false);
    if (!j.is_discarded()) {
      return j;
    }
  }
  return a.value;
}

} // namespace solod
