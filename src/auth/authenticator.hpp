#pragma once
/// @brief Turns a bearer token into the live session it names, or refuses it.

#include "storage/session_registry.hpp"
#include "auth/jwt.hpp"

#include <optional>
#include <string_view>

namespace solod {

/// A request's proven identity.
struct principal {
  token_claims claims;
  live_session session;
};

/// Checks tokens: signature, alg, iss and exp by the codec, and that `sid`
/// is the user's live session right now, by the registry.
class authenticator {
public:
  authenticator(const token_codec& codec, const session_registry& registry, const clock& clk)
    : codec_(codec), registry_(registry), clock_(clk) {}

  /// The principal of `token`, or nothing; a success marks the session as seen.
  /// Nothing, too, while !available().
  std::optional<principal> authenticate(std::string_view token) const;

  /// False while the session registry cannot be trusted (this node has lost
  /// the news of the other nodes): a refused token must then be answered 503,
  /// not 401, since it may be live.
  bool available() const { return registry_.trusted(); }

private:
  const token_codec& codec_;
  const session_registry& registry_;
  const clock& clock_;
};

} // namespace solod
