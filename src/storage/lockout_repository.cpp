#include "storage/lockout_repository.hpp"

#include "storage/write_transaction.hpp"
#include "util/time_format.hpp"

#include <soci/soci.h>

namespace solod {

namespace {

/// Runs `st` once and returns the rows it changed.
std::size_t affected(soci::statement& st) {
  st.execute(true);
  return static_cast<std::size_t>(st.get_affected_rows());
}

} // namespace

void lockout_repository::lock_user_row(long long user_id) {
  // SQLite's write_transaction (BEGIN IMMEDIATE) already serializes every
  // writer. PostgreSQL's READ COMMITTED would let two nodes each insert a
  // failure and count without seeing the other's: the user's row lock makes
  // them count one after the other.
  if (sql_.get_backend_name() == "postgresql") {
    long long id = 0;
    sql_ << "SELECT id FROM users WHERE id = :u FOR UPDATE", soci::use(user_id), soci::into(id);
  }
}

bool lockout_repository::locked_at(long long user_id, const std::string& now) {
  long long n = 0;
  sql_ << "SELECT COUNT(*) FROM account_locks WHERE user_id = :u AND locked_until > :t",
    soci::use(user_id), soci::use(now), soci::into(n);
  return n > 0;
}

bool lockout_repository::is_locked(std::int64_t user_id, time_point now) {
  return locked_at(user_id, format_iso8601(now));
}

failure_outcome lockout_repository::record_failure(const failure_record& failure) {
  long long uid = failure.user_id;
  const std::string now = format_iso8601(failure.at);
  const std::string start = format_iso8601(failure.window_start);
  const std::string horizon = format_iso8601(failure.horizon);

  write_transaction tx(sql_);
  lock_user_row(uid);
  if (locked_at(uid, now)) {
    // Failures during a lock neither count nor extend it: an attacker cannot
    // keep the owner out forever by guessing on.
    return failure_outcome::while_locked;
  }
  sql_ << "DELETE FROM login_failures WHERE user_id = :u AND (failed_at <= :s OR failed_at > :h)",
    soci::use(uid), soci::use(start), soci::use(horizon);
  sql_ << "INSERT INTO login_failures (user_id, failed_at) VALUES (:u, :t)", soci::use(uid),
    soci::use(now);
  long long count = 0;
  sql_ << "SELECT COUNT(*) FROM login_failures WHERE user_id = :u", soci::use(uid),
    soci::into(count);
  if (count < failure.threshold) {
    tx.commit();
    return failure_outcome::counted;
  }
  const std::string until = format_iso8601(failure.locked_until);
  sql_ << "DELETE FROM login_failures WHERE user_id = :u", soci::use(uid);
  // An ended lock may still have its row: the upsert replaces it.
  sql_ << "INSERT INTO account_locks (user_id, locked_until) VALUES (:u, :t) "
          "ON CONFLICT (user_id) DO UPDATE SET locked_until = excluded.locked_until",
    soci::use(uid), soci::use(until);
  tx.commit();
  return failure_outcome::locks_now;
}

bool lockout_repository::record_success(std::int64_t user_id, time_point at) {
  long long uid = user_id;
  const std::string now = format_iso8601(at);
  // Most logins have nothing to clear: read first, so they take no write lock.
  long long failures = 0;
  sql_ << "SELECT COUNT(*) FROM login_failures WHERE user_id = :u", soci::use(uid),
    soci::into(failures);
  long long locks = 0;
  sql_ << "SELECT COUNT(*) FROM account_locks WHERE user_id = :u", soci::use(uid),
    soci::into(locks);
  if (failures == 0 && locks == 0) {
    return true;
  }
  write_transaction tx(sql_);
  lock_user_row(uid);
  if (locked_at(uid, now)) {
    return false;
  }
  sql_ << "DELETE FROM login_failures WHERE user_id = :u", soci::use(uid);
  sql_ << "DELETE FROM account_locks WHERE user_id = :u", soci::use(uid);
  tx.commit();
  return true;
}

std::size_t lockout_repository::prune(time_point window_start, time_point now) {
  const std::string start = format_iso8601(window_start);
  const std::string ts = format_iso8601(now);
  soci::statement failures =
    (sql_.prepare << "DELETE FROM login_failures WHERE failed_at <= :s", soci::use(start));
  soci::statement locks =
    (sql_.prepare << "DELETE FROM account_locks WHERE locked_until <= :t", soci::use(ts));
  return affected(failures) + affected(locks);
}

} // namespace solod
