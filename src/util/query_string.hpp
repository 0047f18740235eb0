#pragma once
/// @brief URL query strings: `a=1&b=x%20y` into a map.

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace solod {

/// Decodes `%XX` and `+`; nothing when an escape is malformed.
std::optional<std::string> url_decode(std::string_view text);

/// The parameters of `query` (first value wins), decoded and made valid UTF-8
/// without controls (util/utf8: `%FF` becomes U+FFFD); nothing when malformed.
std::optional<std::map<std::string, std::string>> parse_query(std::string_view query);

} // namespace solod
