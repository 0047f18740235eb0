#pragma once
/// @brief How stored rows are shown outside: the JSON and CSV forms that the
/// admin API, the data-subject export and the CLI share, so they never differ.

#include "storage/records.hpp"
#include "storage/user_attribute.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace solod {

/// A user as SPEC §3 shows it: `{id, username, full_name, email, is_admin,
/// is_active, created_at, last_login}` (never the password hash).
nlohmann::json user_json(const user_record& u);

/// A user attribute: `{name, type, value}`, the value in its type's JSON form.
nlohmann::json attribute_json(const user_attribute& a);

/// A past or live session as the session history shows it: `duration_ms` is
/// computed from its start and end (null while live), never stored.
nlohmann::json session_history_json(const session_record& s);

/// The header record of the session history CSV.
std::string session_csv_header();

/// One CSV record of the session history: the fields of session_history_json,
/// nulls empty, quoted as the audit CSV (formula guard; invalid UTF-8 repaired).
std::string session_csv(const session_record& s);

/// An audit row with every column (the data-subject export).
nlohmann::json audit_row_json(const audit_event& e);

} // namespace solod
