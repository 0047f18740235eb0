#include "storage/page_position.hpp"

#include "util/time_format.hpp"

#include <sodium.h>

#include <charconv>

namespace solod {

std::string page_position::encode() const {
  std::string raw = timestamp + "|" + std::to_string(id) + "|" + key;
  std::string out(sodium_base64_ENCODED_LEN(raw.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(raw.data()),
                    raw.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.find('\0'));
  return out;
}

std::optional<page_position> page_position::decode(std::string_view cursor) {
  if (cursor.empty() || cursor.size() > 256) {
    return std::nullopt;
  }
  std::string raw(cursor.size(), '\0');
  std::size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(raw.data()), raw.size(), cursor.data(),
                        cursor.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
    return std::nullopt;
  }
  raw.resize(len);
  auto first = raw.find('|');
  auto second = first == std::string::npos ? std::string::npos : raw.find('|', first + 1);
  if (second == std::string::npos) {
    return std::nullopt;
  }
  page_position p;
  p.timestamp = raw.substr(0, first);
  if (!parse_iso8601(p.timestamp)) {
    return std::nullopt;
  }
  auto digits = std::string_view(raw).substr(first + 1, second - first - 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), p.id);
  if (ec != std::errc{} || end != digits.data() + digits.size()) {
    return std::nullopt;
  }
  p.key = raw.substr(second + 1);
  return p;
}

} // namespace solod
