#pragma once
/// @brief Turns a bearer token into the live session it names, or refuses it.

#include "storage/session_registry.hpp"
#include "auth/jwt.hpp"

#include <functional>
#include <optional>
#include <string_view>

namespace solod {

class db_pool;

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

  /// What resolve() found.
  struct outcome {
    std::optional<principal> who;
    bool unavailable = false; ///< refused for now (503), not for good (401)
  };

  /// Like authenticate(), and more: a well-signed token newer than the
  /// session memory holds for its user may name a session that began on
  /// another node a moment ago, its news still on the way. Such a token is
  /// checked in the database (on `db`'s pool), and a live row is handed to
  /// `adopt` so that memory learns it at once. `done` runs exactly once, on
  /// this thread or a database thread: it must only hand off.
  void resolve(std::string_view token, db_pool& db, std::function<void(outcome)> done) const;

  /// Called with a session the database confirmed (set by the server: it
  /// tells the user's actor, as the news would).
  std::function<void(const session_record&)> adopt;

private:
  /// The claims of a well-signed token whose session memory does not know
  /// but may be about to: none is held for the user, or an older one.
  std::optional<token_claims> newer_than_memory(std::string_view token) const;

  const token_codec& codec_;
  const session_registry& registry_;
  const clock& clock_;
};

} // namespace solod
