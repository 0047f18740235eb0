#pragma once
/// @brief Secrets kept in files: read whole, trailing line ends dropped.

#include <optional>
#include <string>

namespace solod {

/// The content of `path` without its trailing `\n` and `\r`; nothing when
/// it cannot be read. The caller names the key in its own error.
std::optional<std::string> read_secret_file(const std::string& path);

} // namespace solod
