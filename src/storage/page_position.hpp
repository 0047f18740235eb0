#pragma once
/// @brief Keyset pagination: where a newest-first page stopped, as an opaque cursor.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace solod {

/// The last row of a page: (timestamp, id) in newest-first order. The next
/// page starts strictly after it, so rows added meanwhile (always newer)
/// cause neither gaps nor repeats.
struct page_position {
  std::string timestamp; ///< ISO-8601, as stored
  std::int64_t id = 0;   ///< or, for string ids, 0 with `key`
  std::string key;       ///< string id (sessions)

  /// The opaque cursor text (base64url).
  std::string encode() const;
  /// Parses a cursor; nothing if it is not one of ours.
  static std::optional<page_position> decode(std::string_view cursor);
};

} // namespace solod
