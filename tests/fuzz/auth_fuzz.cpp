/// @brief Fuzz target: bearer tokens (JWT verification), the Authorization and
/// Cookie headers they come in, the authenticator, and the credential rules.
///
/// Input: lines — the Authorization value, the Cookie value, then the token
/// tried directly. `@TOKEN@` becomes a token signed with the fuzzer's key for a
/// live session, so mutations of valid tokens are explored too. The
/// Authorization value is also a service client's HTTP Basic credentials
/// (POST /api/introspect); `@BASIC@` becomes the right ones.

#include "storage/session_registry.hpp"
#include "auth/authenticator.hpp"
#include "auth/credentials.hpp"
#include "auth/jwt.hpp"
#include "auth/service_clients.hpp"
#include "net/api_router.hpp"
#include "util/clock.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "auth: %s\n", why.c_str());
  std::abort();
}

/// A clock that stands still, so a token's validity does not depend on when the fuzzer runs.
class fixed_clock final : public solod::clock {
public:
  solod::time_point now() const override { return solod::time_point{std::chrono::seconds{1767322800}}; }
};

struct world {
  fixed_clock clk;
  solod::token_codec codec{"auth-fuzz-secret-0123456789abcdef0123456789"};
  solod::session_registry registry;
  solod::authenticator auth{codec, registry, clk};
  std::string token;
  solod::service_clients services{{{"billing", "fuzz-service-secret-0123"}}};

  world() {
    solod::session_record s;
    s.id = "0123456789abcdef0123456789abcdef";
    s.user_id = 7;
    s.username = "alice";
    s.login_ts = clk.now();
    s.last_seen = clk.now();
    s.expires_at = clk.now() + std::chrono::hours{1};
    registry.put(solod::make_live_session(s, clk.now()));
    solod::token_claims c;
    c.sub = "7";
    c.name = "alice";
    c.sid = s.id;
    c.jti = "fedcba9876543210fedcba9876543210";
    c.iat = solod::to_unix_seconds(clk.now());
    c.exp = c.iat + 3600;
    token = codec.sign(c);
  }
};

std::string replace_all(std::string text, const std::string& mark, const std::string& with) {
  for (auto at = text.find(mark); at != std::string::npos; at = text.find(mark, at + with.size())) {
    text.replace(at, mark.size(), with);
  }
  return text;
}

void check_token(world& w, std::string_view token) {
  auto verified = w.codec.verify(token, w.clk.now());
  if (auto* claims = std::get_if<solod::token_claims>(&verified)) {
    if (claims->exp <= solod::to_unix_seconds(w.clk.now())) {
      fail("an expired token was accepted");
    }
    // What verifies must sign and verify again to the same claims.
    auto again = w.codec.verify(w.codec.sign(*claims), w.clk.now());
    auto* same = std::get_if<solod::token_claims>(&again);
    if (!same || same->sub != claims->sub || same->sid != claims->sid ||
        same->exp != claims->exp || same->name != claims->name) {
      fail("re-signed claims do not verify to themselves");
    }
  } else {
    (void)solod::to_string(std::get<solod::token_error>(verified));
  }
  if (auto who = w.auth.authenticate(token)) {
    if (!std::holds_alternative<solod::token_claims>(verified)) {
      fail("the authenticator accepted a token the codec refuses");
    }
    if (!w.registry.is_live(who->session.user_id, who->claims.sid)) {
      fail("the authenticator accepted a session that is not live");
    }
  }
  // A fingerprint shows the first 8 characters and the length, nothing more:
  // two tokens alike in those have the same fingerprint.
  if (token.size() > 8) {
    std::string other(token.substr(0, 8));
    other.resize(token.size(), 'x');
    if (solod::token_fingerprint(token) != solod::token_fingerprint(other)) {
      fail("a fingerprint depends on more than the first 8 characters and the length");
    }
  }
}

bool username_rule(std::string_view s) {
  if (s.size() < 3 || s.size() > 32) {
    return false;
  }
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static world w;
  auto text = replace_all(std::string(reinterpret_cast<const char*>(data), size), "@TOKEN@", w.token);
  // base64("billing:fuzz-service-secret-0123")
  text = replace_all(std::move(text), "@BASIC@", "Basic YmlsbGluZzpmdXp6LXNlcnZpY2Utc2VjcmV0LTAxMjM=");
  std::string_view rest = text;
  auto next_line = [&rest] {
    auto line = rest.substr(0, rest.find('\n'));
    rest.remove_prefix(std::min(rest.size(), line.size() + 1));
    return std::string(line);
  };
  auto authorization = next_line();
  auto cookie = next_line();
  std::string direct(rest);

  solod::http_request req;
  req.headers = {{"Authorization", authorization}, {"Cookie", cookie}};
  auto token = solod::request_token(req);
  if (!token.empty() && authorization.find(token) == std::string::npos &&
      cookie.find(token) == std::string::npos) {
    fail("request_token invented a token: " + token);
  }
  check_token(w, token);
  check_token(w, direct);
  if (auto client = w.services.authenticate(authorization)) {
    // Only the one client exists, and only its secret (raw, or form-encoded) proves it.
    if (*client != "billing") {
      fail("a service client that does not exist was accepted: " + *client);
    }
    if (authorization.size() < 10) {
      fail("service credentials accepted from a header too short to hold them");
    }
  }

  if (solod::is_valid_username(direct) != username_rule(direct)) {
    fail("is_valid_username disagrees with the SPEC's rule for: " + direct);
  }
  if (solod::is_valid_password(direct) != (direct.size() >= 8 && direct.size() <= 1024)) {
    fail("is_valid_password disagrees with the SPEC's rule");
  }
  return 0;
}
