#pragma once
/// @brief `solod audit verify-report`: checks a report with its proof, with no database.

#include <string>
#include <string_view>
#include <vector>

namespace solod {

/// What the check found: the report is complete and unaltered for its scope, or where it is not.
struct report_verdict {
  bool intact = false;
  std::string summary; ///< what the report proves, or the first thing wrong with it
};

/// Checks that `text` is a report exactly as solod writes it; that its rows
/// chain from its anchor to its closing checkpoint with no row missing, each
/// row's hash recomputed from its fields (a row in scope) or its digest (a
/// row outside it); that each row is in or out of the scope as its record
/// says; and that the checkpoints are signed by one of `trusted_keys`, the
/// anchor made before the range began and the end at or after it ended.
report_verdict check_proof_report(std::string_view text, const std::vector<std::string>& trusted_keys);

} // namespace solod
