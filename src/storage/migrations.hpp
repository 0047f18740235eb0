#pragma once
/// @brief Versioned schema migrations: create or upgrade SPEC §5's tables.

#include "storage/database.hpp"

namespace soci {
class session;
}

namespace solod {

/// The schema version this build writes.
int latest_schema_version();

/// Applies every migration newer than the database's version, each in its own
/// transaction; returns the version now in force. Throws database_error.
int migrate(soci::session& sql, sql_dialect dialect);

} // namespace solod
