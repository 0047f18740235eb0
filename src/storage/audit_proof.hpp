#pragma once
/// @brief Writing an audit report that carries its proof: the rows of a time
/// range (and, optionally, one account) with their chain data, every other
/// row of the span as its digest only, and signed checkpoints at both ends.

#include "storage/audit_chain_hash.hpp"
#include "storage/checkpoint_signer.hpp"
#include "storage/proof_records.hpp"
#include "util/clock.hpp"

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace soci {
class session;
}

namespace solod {

/// Nothing can be proven (no chained row, or no such account); a 4xx at the edge.
class proof_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// What a report covers.
struct proof_scope {
  std::optional<time_point> from; ///< inclusive
  std::optional<time_point> to;   ///< exclusive
  std::string username;           ///< one account's rows (by its id), or every row when empty
};

/// Writes a report in batches, so a large one never sits in memory.
class proof_report_writer {
public:
  proof_report_writer(proof_scope scope, bool json) : scope_(std::move(scope)), json_(json) {}

  /// Signs a fresh checkpoint of the chain's head (the report's end; the
  /// signer checks first that the chain extends what it signed last), picks
  /// where the report takes the chain up, and returns the opening: the
  /// header, the range and the anchor. Throws proof_error, chain_break,
  /// database_error. The signer must outlive the writer.
  std::string begin(soci::session& sql, checkpoint_signer& signer, time_point now);

  /// Appends the records of up to `rows` more rows to `chunk`, and after the
  /// last the closing checkpoint and the report's signature (by the key given
  /// to begin, which must outlive the writer); false once the report is complete.
  bool next(soci::session& sql, std::string& chunk, std::size_t rows = 2000);

private:
  /// `r` as the report spells it, added to the report's digest.
  std::string line(const proof_record& r);

  proof_scope scope_;
  bool json_;
  bool first_ = true;
  std::optional<std::int64_t> user_id_;
  std::string from_, to_;
  std::int64_t next_id_ = 0;
  proof_record end_;
  const audit_signing_key* key_ = nullptr;
  stream_digest digest_;
};

} // namespace solod
