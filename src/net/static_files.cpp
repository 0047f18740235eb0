#include "net/static_files.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace solod {

namespace {

std::string content_type_of(const std::string& name) {
  auto dot = name.rfind('.');
  auto ext = dot == std::string::npos ? "" : name.substr(dot + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "js") return "text/javascript; charset=utf-8";
  if (ext == "json") return "application/json";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  return "application/octet-stream";
}

/// A relative file name of plain characters, no segment empty or starting
/// with a dot (no `..`, no hidden files), no escapes: `%2e%2e` is refused as
/// it stands, never decoded into `..`.
bool is_safe_name(const std::string& name) {
  if (name.empty() || name.front() == '.' || name.front() == '/' || name.back() == '/' ||
      name.find("..") != std::string::npos || name.find("/.") != std::string::npos ||
      name.find("//") != std::string::npos) {
    return false;
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == '/';
    if (!ok) {
      return false;
    }
  }
  return true;
}

/// True when `path` lies under `root` (both canonical).
bool is_within(const std::filesystem::path& path, const std::filesystem::path& root) {
  auto p = path.begin();
  for (auto r = root.begin(); r != root.end(); ++r, ++p) {
    if (p == path.end() || *p != *r) {
      return false;
    }
  }
  return p != path.end();
}

} // namespace

std::optional<http_response> static_files::serve(const std::string& path) const {
  std::string name;
  if (path == "/" || path == "/index.html") {
    name = "index.html";
  } else if (path == "/app") {
    name = "app.html";
  } else if (path == "/admin") {
    name = "admin.html";
  } else if (path.size() > 1) {
    name = path.substr(1);
  }
  if (!is_safe_name(name)) {
    return std::nullopt;
  }
  auto file = root_ + "/" + name;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    return std::nullopt;
  }
  // What the name resolves to, symbolic links followed, stays under the root.
  auto real = std::filesystem::canonical(file, ec);
  auto root = std::filesystem::canonical(root_, ec);
  if (ec || !is_within(real, root)) {
    return std::nullopt;
  }
  std::ifstream in(real, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream body;
  body << in.rdbuf();
  http_response r;
  r.content_type = content_type_of(name);
  r.body = body.str();
  r.with_header("Cache-Control", "no-cache");
  r.with_header("X-Content-Type-Options", "nosniff");
  r.with_header("Content-Security-Policy",
                "default-src 'self'; connect-src 'self' ws: wss:; frame-ancestors 'none'");
  return r;
}

} // namespace solod
