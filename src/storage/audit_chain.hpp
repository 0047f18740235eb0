#pragma once
/// @brief The audit chain in the database: extending it in each audit batch,
/// signed checkpoints, sealing rows before an erasure, and retention by whole
/// signed spans.
///
/// `audit_chain` holds one row: the id of the last row before the chain began
/// (`genesis_id`; older rows are outside it), the last chained row's id and its
/// hash. Every audit transaction updates that row first, so on PostgreSQL its
/// row lock puts the batches of all nodes and the CLI in one total order, the
/// order of commit, and on SQLite the write lock does.

#include "storage/audit_chain_hash.hpp"
#include "storage/audit_signing_key.hpp"
#include "storage/records.hpp"

#include <optional>
#include <string>
#include <vector>

namespace soci {
class session;
}

namespace solod {

/// A row's place in the chain, as written beside it.
struct chain_link {
  std::int64_t id = 0;
  std::string chain_key; ///< the row key, or its sealed form
  std::string row_hash;  ///< hex
};

/// A signed statement "the chain's row `row_id` has hash `head`", made at `created_at`.
struct audit_checkpoint {
  std::int64_t id = 0;
  std::int64_t row_id = 0;
  std::string head;       ///< hex
  std::int64_t genesis_id = 0; ///< where the chain began when it was signed
  std::string created_at; ///< ISO-8601, as signed
  std::string public_key; ///< hex
  std::string signature;  ///< hex

  /// True when `signature` is `public_key`'s signature of the rest.
  bool signature_valid() const;
};

/// The chain's state row.
struct chain_state {
  std::int64_t genesis_id = 0;
  std::int64_t last_id = 0;
  std::string head; ///< hex
};

/// The fields of `e`, as they are hashed, for the row `id`.
chain_row chain_row_of(const audit_event& e, std::int64_t id);

/// Reserves ids for `events` after the chain's last row (and after any row
/// written outside it) and returns their links, in order. Call inside the
/// transaction that inserts them: it locks the chain until commit.
std::vector<chain_link> extend_chain(soci::session& sql, const std::vector<audit_event>& events);

/// The chain's state row.
chain_state read_chain_state(soci::session& sql);

/// Signs the chain's head as it stands as a checkpoint (unless `always` is
/// false and this key's newest checkpoint already names that row); returns
/// what it wrote. Checks nothing: checkpoint_signer checks the chain first.
std::optional<audit_checkpoint> write_checkpoint(soci::session& sql, const audit_signing_key& key,
                                                 time_point now, bool always = false);

/// Every checkpoint, by row then id.
std::vector<audit_checkpoint> load_checkpoints(soci::session& sql);

/// Before rows are rewritten by an erasure: each chained row of `ids` gets
/// its sealed key for the fields in `replaced` (see seal_chain_key). Call in
/// the erasure's transaction, before the rewrite.
void seal_rows(soci::session& sql, const std::vector<std::int64_t>& ids, unsigned replaced);

/// Retention: deletes audit rows older than `cutoff` in whole signed spans:
/// the rows up to a checkpoint made before `cutoff` (the newest within
/// `max_rows` of the first row, else the nearest one beyond), which stays as
/// the chain's anchor while older checkpoints go; and up to `max_rows` rows
/// from before the chain began, by their time. One transaction; returns how
/// many rows it deleted (a whole span may exceed `max_rows`).
std::size_t delete_signed_span(soci::session& sql, time_point cutoff, std::size_t max_rows);

} // namespace solod
