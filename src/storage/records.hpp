#pragma once
/// @brief Plain rows of solod's tables, as the rest of the program sees them.

#include "util/clock.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace solod {

/// A row of `users`.
struct user_record {
  std::int64_t id = 0;
  std::string username;
  std::string password_hash;
  std::string full_name;
  std::string email;
  bool is_admin = false;
  bool is_active = true;
  time_point created_at{};
  std::optional<time_point> last_login;
  std::optional<time_point> erased_at; ///< set: a tombstone left by an erasure
};

/// A row of `sessions`.
struct session_record {
  std::string id;
  std::int64_t user_id = 0;
  std::string username; ///< joined from users, for listings
  time_point login_ts{};
  std::optional<time_point> logout_ts;
  std::string end_reason;
  std::string ip_address;
  std::string user_agent;
  time_point last_seen{};
  time_point expires_at{};
  std::string legal_basis = "legal_obligation"; ///< why the row is kept ([legal_basis] sessions)
};

/// A row of `login_logs`: one audited event.
struct audit_event {
  std::int64_t id = 0; ///< assigned by the database
  time_point timestamp{};
  std::string event_type;
  std::optional<std::int64_t> user_id;
  std::string username;
  std::string session_id;
  std::string ip_address;
  std::string user_agent;
  std::string status = "success"; ///< success or failure
  std::string error_message;
  std::string legal_basis = "legal_obligation";
};

} // namespace solod
