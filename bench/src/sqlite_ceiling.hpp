#pragma once
/// @brief What SQLite itself does with audit rows: the ceiling the audit actor is measured against.

#include <cstddef>
#include <string>

namespace bench {

/// One raw insert run.
struct sqlite_ceiling {
  std::size_t rows = 0;
  double seconds = 0;
  double rows_per_s = 0;
};

/// Inserts `rows` audit rows shaped like the audit scenario's into a fresh
/// SQLite file at `path` (solod's schema, migrations and pragmas), `batch`
/// rows per transaction, through one prepared statement of the C API: no
/// actor, no SOCI. With `secondary_indexes` false the login_logs indexes are
/// dropped first, leaving the table alone. Removes the file afterwards.
sqlite_ceiling measure_sqlite_ceiling(const std::string& path, std::size_t rows, std::size_t batch,
                                      bool secondary_indexes);

} // namespace bench
