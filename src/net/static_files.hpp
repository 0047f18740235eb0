#pragma once
/// @brief The browser pages of SPEC §6, served from `server.static_dir`.

#include "net/http_message.hpp"

#include <optional>
#include <string>

namespace solod {

/// Serves files under one directory: `/` is index.html, `/app` app.html,
/// `/admin` admin.html, other paths map to files by name. Only names of
/// `A-Z a-z 0-9 _ - . /` are looked up, none with an empty segment, a
/// segment starting with a dot, or a `%` escape (nothing is decoded), and
/// the file, symbolic links resolved, must lie under the directory.
class static_files {
public:
  explicit static_files(std::string root) : root_(std::move(root)) {}

  /// The file for `path`, or nothing.
  std::optional<http_response> serve(const std::string& path) const;

private:
  std::string root_;
};

} // namespace solod
