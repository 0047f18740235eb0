#pragma once
/// @brief Erasure of one person (GDPR art. 17, KVKK art. 7): their account
/// becomes a tombstone and their rows keep their facts under a pseudonym.

#include "util/clock.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace soci {
class session;
}

namespace solod {

/// What an erasure changed.
struct erasure_result {
  std::string pseudonym;      ///< "erased-" and 16 random hex digits
  std::int64_t sessions = 0;  ///< session rows pseudonymized
  std::int64_t audit_rows = 0; ///< audit rows pseudonymized
};

/// Why an erasure did nothing.
enum class erasure_refusal {
  no_such_user,
  already_erased,
  session_live ///< the caller must end the user's session first
};

/// Erases user `user_id` in one transaction:
/// - deletes its attributes; the users row keeps its id (the sessions' and
///   audit rows' key) but loses name, full name, email and password, and is
///   disabled and stamped `erased_at`;
/// - in its session rows and in every audit row with its id or its name,
///   username, IP address and User-Agent become one pseudonym; admin actions
///   naming it ("NAME (id N)") name the pseudonym instead;
/// - webhook events and news between nodes not yet pruned lose the same fields.
/// Row counts do not change. Blocks: run it on the database pool.
class user_erasure {
public:
  explicit user_erasure(soci::session& sql) : sql_(sql) {}

  /// Erases the user, or says why not (nothing changed then).
  std::variant<erasure_result, erasure_refusal> erase(std::int64_t user_id, time_point at);

private:
  soci::session& sql_;
};

} // namespace solod
