#pragma once
/// @brief What every scenario prints: a small table for people, one `RESULT {json}` line for machines.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace bench {

/// One line of the human table.
struct report_row {
  std::string name;
  std::string value;
};

/// Prints `title`, the rows as a two-column table, then `RESULT ` and `result`
/// on one line (the only stdout line that starts with RESULT), and flushes.
void print_report(const std::string& title, const std::vector<report_row>& rows,
                  const nlohmann::json& result);

/// `x` with `decimals` decimals and thousands separators ("12,345.6").
std::string fmt(double x, int decimals = 0);

/// A latency summary (histogram summary_ms JSON) as "p50 a / p99 b / max c ms".
std::string fmt_latency(const nlohmann::json& summary);

} // namespace bench
