#pragma once
/// @brief The browser pages of SPEC §6, served from `server.static_dir`.

#include "net/http_message.hpp"

#include <optional>
#include <string>

namespace solod {

/// Serves files under one directory: `/` is index.html, `/app` app.html,
/// `/admin` admin.html, other paths map to files by name. Paths that try to
/// leave the directory are refused.
class static_files {
public:
  explicit static_files(std::string root) : root_(std::move(root)) {}

  /// The file for `path`, or nothing.
  std::optional<http_response> serve(const std::string& path) const;

private:
  std::string root_;
};

} // namespace solod
