#pragma once
/// @brief The records of an audit report with its proof, and their two
/// spellings, CSV and JSON. The writer (audit_proof.hpp) and the checker
/// (proof_check.hpp) share them, so the checker can demand the exact bytes
/// the writer makes: an edited byte anywhere fails, even in layout.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace solod {

/// One record. Which fields mean something depends on `kind`:
/// - `range`: the scope: `range_from`, `range_to`, `user_id`, `username` (empty: any);
///   `event_type` names the format (proof_format_name);
/// - `anchor`: where the chain is taken up: `id` (the row before the first),
///   `row_hash` (that row's hash), `genesis_id` (the row before the chain's
///   first); a signed checkpoint also has `timestamp` (when it was made),
///   `public_key` and `signature`; the chain's start has none;
/// - `event`: a row in the scope, every field, with `chain_key` and `row_hash`;
/// - `omitted`: a row outside the scope: `id`, `timestamp`, `user_id`,
///   `content_digest` and `row_hash` only;
/// - `checkpoint`: the signed checkpoint that ends the report: `id` (its row),
///   `timestamp`, `row_hash` (its head), `genesis_id`, `public_key`, `signature`;
/// - `signature`: the last record: `public_key` and `signature` of the
///   report_message of every byte before it, so nothing in the report,
///   its range included, can change unseen.
struct proof_record {
  std::string kind;
  std::string id, timestamp, event_type, user_id, username, session_id, ip_address, user_agent, status,
    error_message, legal_basis, chain_key, content_digest, row_hash, public_key, signature, range_from,
    range_to, genesis_id; ///< an empty user_id or session_id is NULL (the database keeps no empty session id)
};

/// The `event_type` of a `range` record: the format and its version.
inline constexpr std::string_view proof_format_name = "solod-audit-proof-v1";

/// The CSV header line of a report with proof.
std::string proof_csv_header();

/// `r` as one CSV line (CRLF). A field starting with `'`, `=`, `+`, `-`, `@`,
/// TAB or CR gets one `'` in front, so spreadsheets show text and the checker
/// can take it off again unambiguously.
std::string proof_csv_line(const proof_record& r);

/// `r` as one compact JSON object (no line end).
std::string proof_json_line(const proof_record& r);

/// A parsed report, or why it could not be read.
struct parsed_report {
  std::vector<proof_record> records;
  bool json = false;
  std::string error;
};

/// The text of a report's first `count` records, as the writer writes them
/// (JSON: without the closing bracket unless `closed`).
std::string render_proof_report(const std::vector<proof_record>& records, std::size_t count, bool json,
                                 bool closed);

/// Parses a report in either spelling (JSON when it starts with `[`) and
/// checks that writing the records again gives exactly `text`.
parsed_report parse_proof_report(std::string_view text);

/// How a JSON report opens, separates its records, and closes.
inline constexpr std::string_view proof_json_open = "[\n", proof_json_separator = ",\n",
                                  proof_json_close = "\n]\n";

} // namespace solod
