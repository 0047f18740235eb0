#pragma once
/// @brief Secrets kept in files: read whole, trailing line ends dropped.

#include <optional>
#include <string>

namespace solod {

/// The content of `path` without its trailing `\n` and `\r`; nothing when
/// it cannot be read. The caller names the key in its own error.
std::optional<std::string> read_secret_file(const std::string& path);

/// Writes `content` to a new file `path` (mode 0600, its directory created),
/// unless it exists: two processes starting at once never both write a key,
/// and neither reads half of one. False when it could neither be created nor found.
bool create_secret_file(const std::string& path, const std::string& content);

} // namespace solod
