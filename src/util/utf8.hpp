#pragma once
/// @brief The one UTF-8 sanitizer: bytes from the network become valid UTF-8 where they enter.

#include <cstddef>
#include <string>
#include <string_view>

namespace solod {

/// What `sanitize_utf8` does with control characters.
enum class utf8_controls {
  keep,    ///< leave them (JSON and the log formatter escape them)
  replace, ///< C0 (NUL and TAB included), DEL and C1 (U+0080-U+009F) become U+FFFD
};

/// True when `text` is well-formed UTF-8 (Unicode 15, table 3-7): no stray
/// continuation bytes, no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view text);

/// `text` as well-formed UTF-8, at most `max_bytes` long.
///
/// Each maximal ill-formed subpart becomes one U+FFFD (Unicode's recommended
/// practice, the same as Python's and the WHATWG decoder's "replace"), so
/// `\xC0\xAF` is two replacements and `\xE2\x82` one. With
/// `utf8_controls::replace` the controls become U+FFFD too: a value from a
/// header can then neither end a log line nor hide in a CSV cell. The cut
/// falls on a character boundary: a character that would cross `max_bytes` is
/// dropped whole, never split.
std::string sanitize_utf8(std::string_view text, std::size_t max_bytes = std::string::npos,
                          utf8_controls controls = utf8_controls::replace);

} // namespace solod
