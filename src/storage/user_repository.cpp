#include "storage/user_repository.hpp"

#include "storage/cluster_news.hpp"
#include "storage/database.hpp"
#include "storage/webhook_outbox.hpp"
#include "storage/write_transaction.hpp"
#include "util/clock.hpp"
#include "util/time_format.hpp"

#include <soci/soci.h>

namespace solod {

namespace {

const char* const user_columns =
  "SELECT id, username, password_hash, full_name, email, is_admin, is_active, created_at, "
  "last_login, erased_at FROM users ";

/// Explicit into() targets: SOCI converts each column to these C++ types,
/// whatever the backend reports as the column's type.
struct user_row {
  long long id = 0;
  std::string username, password_hash, full_name, email;
  int is_admin = 0, is_active = 0;
  std::string created_at, last_login, erased_at;
  soci::indicator last_login_ind = soci::i_null, erased_ind = soci::i_null;

  user_record to_record() const {
    user_record u;
    u.id = id;
    u.username = username;
    u.password_hash = password_hash;
    u.full_name = full_name;
    u.email = email;
    u.is_admin = is_admin != 0;
    u.is_active = is_active != 0;
    u.created_at = parse_iso8601(created_at).value_or(time_point{});
    if (last_login_ind == soci::i_ok) {
      u.last_login = parse_iso8601(last_login);
    }
    if (erased_ind == soci::i_ok) {
      u.erased_at = parse_iso8601(erased_at);
    }
    return u;
  }
};

template <class Key>
std::optional<user_record> select_user(soci::session& sql, const std::string& condition,
                                       const Key& key) {
  user_row r;
  sql << user_columns + condition, soci::use(key), soci::into(r.id), soci::into(r.username),
    soci::into(r.password_hash), soci::into(r.full_name), soci::into(r.email),
    soci::into(r.is_admin), soci::into(r.is_active), soci::into(r.created_at),
    soci::into(r.last_login, r.last_login_ind), soci::into(r.erased_at, r.erased_ind);
  if (!sql.got_data()) {
    return std::nullopt;
  }
  return r.to_record();
}

} // namespace

std::optional<user_record> user_repository::find_by_username(const std::string& username) {
  return select_user(sql_, "WHERE lower(username) = lower(:k)", username);
}

std::optional<user_record> user_repository::find_by_id(std::int64_t id) {
  long long key = id;
  return select_user(sql_, "WHERE id = :k", key);
}

std::optional<user_record> user_repository::insert(const user_record& user) {
  if (find_by_username(user.username)) {
    return std::nullopt;
  }
  user_record out = user;
  int is_admin = user.is_admin ? 1 : 0;
  int is_active = user.is_active ? 1 : 0;
  std::string created = format_iso8601(user.created_at);
  try {
    sql_ << "INSERT INTO users (username, password_hash, full_name, email, is_admin, is_active, "
            "created_at) VALUES (:u, :p, :f, :e, :a, :ac, :c)",
      soci::use(user.username), soci::use(user.password_hash), soci::use(user.full_name),
      soci::use(user.email), soci::use(is_admin), soci::use(is_active), soci::use(created);
  } catch (const soci::soci_error&) {
    // The unique index caught a concurrent insert of the same name.
    if (find_by_username(user.username)) {
      return std::nullopt;
    }
    throw;
  }
  auto stored = find_by_username(user.username);
  if (!stored) {
    throw database_error("user vanished after insert");
  }
  if (user.last_login) {
    set_last_login(stored->id, *user.last_login);
    stored->last_login = user.last_login;
  }
  return stored;
}

bool user_repository::replace_password_hash(std::int64_t id, const std::string& expected,
                                            const std::string& password_hash) {
  long long key = id;
  soci::statement st =
    (sql_.prepare << "UPDATE users SET password_hash = :p WHERE id = :id AND password_hash = :old",
     soci::use(password_hash), soci::use(key), soci::use(expected));
  st.execute(true);
  return st.get_affected_rows() > 0;
}

bool user_repository::set_password(std::int64_t id, const std::string& password_hash) {
  long long key = id;
  soci::statement st = (sql_.prepare << "UPDATE users SET password_hash = :p WHERE id = :id",
                        soci::use(password_hash), soci::use(key));
  st.execute(true);
  return st.get_affected_rows() > 0;
}

bool user_repository::set_active(std::int64_t id, bool active) {
  long long key = id;
  int value = active ? 1 : 0;
  write_transaction tx(sql_);
  std::string username;
  int was = 0;
  sql_ << (is_postgresql(sql_) ? "SELECT username, is_active FROM users WHERE id = :id FOR UPDATE"
                               : "SELECT username, is_active FROM users WHERE id = :id"),
    soci::use(key), soci::into(username), soci::into(was);
  if (!sql_.got_data()) {
    return false;
  }
  sql_ << "UPDATE users SET is_active = :a WHERE id = :id", soci::use(value), soci::use(key);
  if (was != 0 && !active) {
    const auto now = system_clock{}.now();
    write_webhook_events(sql_, {{"user.disabled", id, now,
                                 nlohmann::json{{"user_id", id},
                                                {"username", username},
                                                {"disabled_at", format_iso8601(now)}}}});
  }
  tx.commit();
  return true;
}

bool user_repository::set_admin(std::int64_t id, bool admin) {
  long long key = id;
  int value = admin ? 1 : 0;
  soci::statement st = (sql_.prepare << "UPDATE users SET is_admin = :a WHERE id = :id",
                        soci::use(value), soci::use(key));
  st.execute(true);
  return st.get_affected_rows() > 0;
}

void user_repository::set_last_login(std::int64_t id, time_point at) {
  long long key = id;
  std::string ts = format_iso8601(at);
  sql_ << "UPDATE users SET last_login = :t WHERE id = :id", soci::use(ts), soci::use(key);
}

namespace {

/// `%q%` for LIKE, with LIKE's wildcards in `q` escaped (ESCAPE '\\').
std::string like_pattern(const std::string& q) {
  std::string out = "%";
  for (char c : q) {
    if (c == '%' || c == '_' || c == '\\') {
      out.push_back('\\');
    }
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  out.push_back('%');
  return out;
}

const char* const user_search =
  " WHERE (:q1 = '' OR lower(username) LIKE :p1 ESCAPE '\\' OR lower(full_name) LIKE :p2 "
  "ESCAPE '\\' OR lower(email) LIKE :p3 ESCAPE '\\')";

} // namespace

std::vector<user_record> user_repository::list(const std::string& q, std::size_t limit,
                                               std::size_t offset) {
  auto pattern = like_pattern(q);
  std::vector<user_record> out;
  user_row r;
  soci::statement st(sql_);
  st.exchange(soci::into(r.id));
  st.exchange(soci::into(r.username));
  st.exchange(soci::into(r.password_hash));
  st.exchange(soci::into(r.full_name));
  st.exchange(soci::into(r.email));
  st.exchange(soci::into(r.is_admin));
  st.exchange(soci::into(r.is_active));
  st.exchange(soci::into(r.created_at));
  st.exchange(soci::into(r.last_login, r.last_login_ind));
  st.exchange(soci::into(r.erased_at, r.erased_ind));
  st.exchange(soci::use(q));
  st.exchange(soci::use(pattern));
  st.exchange(soci::use(pattern));
  st.exchange(soci::use(pattern));
  st.alloc();
  st.prepare(std::string(user_columns).substr(0, std::string(user_columns).size() - 1) +
             user_search + " ORDER BY id LIMIT " + std::to_string(limit) + " OFFSET " +
             std::to_string(offset));
  st.define_and_bind();
  st.execute(false);
  while (st.fetch()) {
    out.push_back(r.to_record());
  }
  return out;
}

std::size_t user_repository::count(const std::string& q) {
  auto pattern = like_pattern(q);
  long long n = 0;
  sql_ << std::string("SELECT COUNT(*) FROM users") + user_search, soci::use(q),
    soci::use(pattern), soci::use(pattern), soci::use(pattern), soci::into(n);
  return static_cast<std::size_t>(n);
}

bool user_repository::update_profile(std::int64_t id, const std::optional<std::string>& full_name,
                                     const std::optional<std::string>& email) {
  long long key = id;
  bool found = find_by_id(id).has_value();
  if (full_name) {
    sql_ << "UPDATE users SET full_name = :f WHERE id = :id", soci::use(*full_name), soci::use(key);
  }
  if (email) {
    sql_ << "UPDATE users SET email = :e WHERE id = :id", soci::use(*email), soci::use(key);
  }
  return found;
}

} // namespace solod
