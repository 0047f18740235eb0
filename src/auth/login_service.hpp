#pragma once
/// @brief The login and registration pipelines: rate limit, user lookup, Argon2id, lockout, session.

#include "storage/records.hpp"

#include <caf/actor.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace soci {
class session;
}

namespace solod {

class account_lockout;
class clock;
class db_pool;
class hashing_pool;
class ip_rate_limiter;
class password_hasher;
struct config;
struct metrics;

/// Who is asking, as the audit log records it.
struct client_info {
  std::string ip;
  std::string user_agent;
  /// Set once the client has closed its connection (null: never known); a
  /// login whose client is gone is not hashed.
  std::shared_ptr<const std::atomic<bool>> gone;
};

/// The answer to a login attempt.
struct login_result {
  enum class status { ok, invalid_credentials, rate_limited, session_active, unavailable };
  status result = status::unavailable;
  int retry_after_seconds = 0; ///< with rate_limited
  user_record user;            ///< with ok
  session_record session;      ///< with ok
};

/// The answer to a registration.
struct register_result {
  enum class status { created, invalid_input, username_taken, disabled, rate_limited, unavailable };
  status result = status::unavailable;
  std::string message;
  user_record user;
  int retry_after_seconds = 0; ///< with rate_limited
};

/// Everything the pipelines work with; owned by the server.
struct login_service_deps {
  const config* cfg = nullptr;
  const clock* clk = nullptr;
  ip_rate_limiter* ip_limiter = nullptr;
  account_lockout* lockout = nullptr;
  const password_hasher* hasher = nullptr;
  hashing_pool* hashing = nullptr;
  db_pool* db = nullptr;
  caf::actor directory;
  caf::actor audit;
  metrics* stats = nullptr;
  /// Registrations per address (limits.register_per_ip_per_minute); each costs a hash.
  ip_rate_limiter* register_limiter = nullptr;
};

/// Runs logins and registrations without blocking the caller: the user
/// lookup (with the lock check) runs on the database pool, Argon2id (or an
/// imported hash's check and its Argon2id replacement) on the hashing pool, the lockout's update on the database pool again, the session
/// change in the user's actor. `done` is called exactly once, on one of those
/// threads, so it must only hand the result off.
class login_service {
public:
  explicit login_service(login_service_deps deps) : deps_(std::move(deps)) {}

  /// Logs `username` in. Every failure is audited with its reason, yet all
  /// answer alike: unknown users cost a dummy hash, locked and disabled
  /// accounts are checked only after the hash.
  void login(const std::string& username, const std::string& password, const client_info& client,
             std::function<void(login_result)> done);

  /// Creates an account (audited as `register`). Valid requests count against
  /// the client's registration limit before the password is hashed.
  void register_user(user_record user, const std::string& password, const client_info& client,
                     std::function<void(register_result)> done);

private:
  void verify(std::optional<user_record> user, bool locked, std::string username,
              std::string password, client_info client, std::function<void(login_result)> done);
  /// On the database pool: records the failure or success in the shared
  /// lockout, then answers or starts the session.
  void settle(user_record user, bool password_ok, std::optional<std::string> upgraded,
              client_info client, std::function<void(login_result)> done);
  /// On the database pool, after a successful check of an imported hash:
  /// stores its Argon2id replacement (a failure is logged, the login goes on).
  void replace_legacy_hash(soci::session& sql, const user_record& user,
                           const std::string& upgraded);
  void start_session(const user_record& user, const client_info& client,
                     std::function<void(login_result)> done);
  /// Audits a failed login; `then` runs once it is committed in `commit`
  /// durability (so an answered failure, and its login.failed webhook, survive
  /// kill -9; a failed commit keeps the row for a retry and runs `then` too),
  /// at once in `async`.
  void audit_failure(const std::string& username, std::optional<std::int64_t> user_id,
                     const std::string& reason, const client_info& client,
                     std::function<void()> then = {});
  void finish_failure(const std::string& username, std::optional<std::int64_t> user_id,
                      const std::string& reason, const client_info& client,
                      std::function<void(login_result)>& done);
  void audit(audit_event ev);
  void audit_then(audit_event ev, std::function<void()> then);

  login_service_deps deps_;
};

} // namespace solod
