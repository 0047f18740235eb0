#pragma once
/// @brief `solod audit verify`: checks the audit chain and its checkpoints in the database.

#include "storage/checkpoint_signer.hpp"
#include "util/clock.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace soci {
class session;
}

namespace solod {

/// One place where the chain breaks.
struct chain_problem {
  std::int64_t row_id = 0;
  std::string kind;   ///< changed, deleted, inserted, reordered, forged checkpoint
  std::string detail; ///< one sentence for the operator
};

/// What a verification found.
struct chain_verdict {
  std::vector<chain_problem> problems; ///< by row; at most `max_problems`, the first one first
  std::size_t more_problems = 0;       ///< found beyond those kept
  std::int64_t first_row = 0, last_row = 0, rows = 0; ///< the span read
  std::size_t checkpoints = 0;   ///< valid checkpoints met in the span
  std::int64_t signed_up_to = 0; ///< the last row a valid checkpoint covers (0: none)
  std::int64_t outside_rows = 0; ///< rows from before the chain began, not covered
  std::string anchor;            ///< where the span starts: "the chain's start" or a checkpoint

  static constexpr std::size_t max_problems = 20;
  bool intact() const { return problems.empty(); }
};

/// What to verify and whom to trust.
struct verify_options {
  std::optional<time_point> from; ///< from the newest checkpoint made before it
  std::optional<time_point> to;   ///< to the first checkpoint made at or after it
  std::vector<std::string> trusted_keys; ///< public keys (hex); a checkpoint by any other is forged
  /// What this node signed last (kept beside its key): its row must still have that hash.
  std::optional<signed_point> last_signed;
};

/// Reads the chain over the range, recomputes every row hash and checks each
/// checkpoint's signature and head. Throws database_error.
chain_verdict verify_audit_chain(soci::session& sql, const verify_options& opts);

} // namespace solod
