#include "auth/authenticator.hpp"

#include <charconv>

namespace solod {

std::optional<principal> authenticator::authenticate(std::string_view token) const {
  auto now = clock_.now();
  auto verified = codec_.verify(token, now);
  auto* claims = std::get_if<token_claims>(&verified);
  if (!claims) {
    return std::nullopt;
  }
  std::int64_t user_id = 0;
  auto [end, ec] = std::from_chars(claims->sub.data(), claims->sub.data() + claims->sub.size(), user_id);
  if (ec != std::errc{} || end != claims->sub.data() + claims->sub.size()) {
    return std::nullopt;
  }
  if (!registry_.trusted()) {
    return std::nullopt; // fail closed: callers check available() and answer 503
  }
  auto live = registry_.find(user_id);
  if (!live || live->id != claims->sid || now >= live->expires_at) {
    return std::nullopt;
  }
  live->last_seen_ms->store(to_unix_ms(now));
  return principal{std::move(*claims), std::move(*live)};
}

} // namespace solod
