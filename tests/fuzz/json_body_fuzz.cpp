/// @brief Fuzz target: JSON request bodies, through the real routers' handlers
/// (register, login, logout, admin create and patch user), plus the JSON views
/// the handlers answer with, built from what the body held.
///
/// The first byte picks the route; the rest is the body, with `@ADMIN@` and
/// `@USER@` replaced by live tokens.

#include "net/json_views.hpp"
#include "support/fuzz_world.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

struct route {
  const char* method;
  const char* path;
  bool as_admin;
};

const route routes[] = {
  {"POST", "/api/register", false},
  {"POST", "/api/login", false},
  {"POST", "/api/logout", false},
  {"POST", "/api/admin/users", true},
  {"PATCH", "/api/admin/users/2", true},
  {"PATCH", "/api/admin/users/1", true},
  {"POST", "/login", false},
  {"POST", "/register", false},
};

/// The views must serialize whatever strings a body can carry.
void views_from(const nlohmann::json& body) {
  if (!body.is_object()) {
    return;
  }
  solod::user_record u;
  auto text = [&](const char* key) {
    auto it = body.find(key);
    return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  u.username = text("username");
  u.full_name = text("full_name");
  u.email = text("email");
  (void)solod::user_json(u).dump();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) {
    return 0;
  }
  auto& world = fuzz::fuzz_world::instance();
  world.refresh_sessions();
  const auto& r = routes[data[0] % (sizeof routes / sizeof routes[0])];
  solod::http_request req;
  req.method = r.method;
  req.target = req.path = r.path;
  req.body = world.with_tokens(std::string(reinterpret_cast<const char*>(data + 1), size - 1));
  req.client_ip = "203.0.113." + std::to_string(data[0]);
  req.headers = {{"Content-Type", "application/json"},
                 {"Authorization", "Bearer " + (r.as_admin ? world.admin.token : world.user.token)},
                 {"User-Agent", "fuzz-json"}};
  auto out = world.route(std::move(req));
  if (out.head.status >= 500 && out.head.status != 503) {
    std::fprintf(stderr, "server error %u: %s\n", out.head.status, out.head.body.c_str());
    std::abort();
  }
  // Bodies that are JSON with valid UTF-8 must render through the views
  // (nlohmann rejects invalid UTF-8 while parsing, so what it accepted is valid).
  auto body = nlohmann::json::parse(data + 1, data + size, nullptr, false);
  if (!body.is_discarded()) {
    views_from(body);
  }
  return 0;
}
