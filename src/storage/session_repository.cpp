#include "storage/session_repository.hpp"

#include "storage/audit_stats.hpp"
#include "storage/cluster_news.hpp"
#include "storage/webhook_outbox.hpp"
#include "storage/write_transaction.hpp"
#include "util/time_format.hpp"

#include <soci/soci.h>

#include <deque>

namespace solod {

namespace {

const char* const session_columns =
  "SELECT s.id, s.user_id, u.username, s.login_ts, s.logout_ts, s.end_reason, s.ip_address, "
  "s.user_agent, s.last_seen, s.expires_at, s.legal_basis FROM sessions s "
  "JOIN users u ON u.id = s.user_id ";

/// Explicit into() targets, converted to a session_record.
struct session_row {
  std::string id;
  long long user_id = 0;
  std::string username, login_ts, logout_ts, end_reason, ip, ua, last_seen, expires_at, legal_basis;
  soci::indicator logout_ind = soci::i_null, reason_ind = soci::i_null;

  template <class Statement>
  void bind(Statement& st) {
    st.exchange(soci::into(id));
    st.exchange(soci::into(user_id));
    st.exchange(soci::into(username));
    st.exchange(soci::into(login_ts));
    st.exchange(soci::into(logout_ts, logout_ind));
    st.exchange(soci::into(end_reason, reason_ind));
    st.exchange(soci::into(ip));
    st.exchange(soci::into(ua));
    st.exchange(soci::into(last_seen));
    st.exchange(soci::into(expires_at));
    st.exchange(soci::into(legal_basis));
  }

  session_record to_record() const {
    session_record s;
    s.id = id;
    s.user_id = user_id;
    s.username = username;
    s.login_ts = parse_iso8601(login_ts).value_or(time_point{});
    if (logout_ind == soci::i_ok) {
      s.logout_ts = parse_iso8601(logout_ts);
    }
    if (reason_ind == soci::i_ok) {
      s.end_reason = end_reason;
    }
    s.ip_address = ip;
    s.user_agent = ua;
    s.last_seen = parse_iso8601(last_seen).value_or(s.login_ts);
    s.expires_at = parse_iso8601(expires_at).value_or(time_point{});
    s.legal_basis = legal_basis;
    return s;
  }
};

} // namespace

namespace {

/// Locks the user's row until the transaction ends and returns its username.
/// PostgreSQL needs the lock: two nodes' logins of one user would both see the
/// same live session, and the webhook outbox orders one user's events by it.
/// Every change of a user's sessions takes it first, so they never deadlock.
/// SQLite's write_transaction already holds the database's one write lock.
std::string lock_user(soci::session& sql, long long user_id) {
  std::string name;
  if (is_postgresql(sql)) {
    sql << "SELECT username FROM users WHERE id = :u FOR UPDATE", soci::use(user_id), soci::into(name);
  } else {
    sql << "SELECT username FROM users WHERE id = :u", soci::use(user_id), soci::into(name);
  }
  return name;
}

webhook_event session_started_event(const session_record& s, const std::string& username,
                                    const std::optional<std::string>& replaced) {
  return {"session.started", s.user_id, s.login_ts,
          nlohmann::json{{"user_id", s.user_id},
                         {"username", username},
                         {"session_id", s.id},
                         {"ip", s.ip_address},
                         {"user_agent", s.user_agent},
                         {"created_at", format_iso8601(s.login_ts)},
                         {"expires_at", format_iso8601(s.expires_at)},
                         {"replaced", replaced ? nlohmann::json(*replaced) : nlohmann::json(nullptr)}}};
}

} // namespace

start_result session_repository::start(const session_record& s, const std::string& old_reason,
                                       live_policy policy) {
  long long user_id = s.user_id;
  std::string now = format_iso8601(s.login_ts);
  std::string expires = format_iso8601(s.expires_at);
  start_result result;
  news_batch news;
  std::vector<webhook_event> hooks;

  write_transaction tx(sql_);
  const auto username = lock_user(sql_, user_id);
  // A login checks the account before hashing: an admin may have disabled
  // or erased it meanwhile. Under the row lock that is decided for good.
  int active = 0;
  sql_ << "SELECT is_active FROM users WHERE id = :u", soci::use(user_id), soci::into(active);
  if (active == 0) {
    result.started = false;
    result.account_closed = true;
    return result;
  }
  forget_stats_from(sql_, s.login_ts); // the statistics cache of this hour on is stale
  std::string old_id, old_expires;
  sql_ << "SELECT id, expires_at FROM sessions WHERE user_id = :u AND logout_ts IS NULL",
    soci::use(user_id), soci::into(old_id), soci::into(old_expires);
  if (sql_.got_data()) {
    bool expired = old_expires <= now;
    if (policy == live_policy::refuse && !expired) {
      result.started = false;
      return result; // rolled back: nothing changed
    }
    std::string reason = expired ? std::string("expired") : old_reason;
    sql_ << "UPDATE sessions SET logout_ts = :t, end_reason = :r WHERE id = :id",
      soci::use(now), soci::use(reason), soci::use(old_id);
    result.ended = old_id;
    // `by` names the new login, as the kicked message does (SPEC §4).
    nlohmann::json by = nullptr;
    if (reason == "superseded") {
      by = {{"session_id", s.id}, {"ip", s.ip_address}, {"user_agent", s.user_agent}, {"at", now}};
    }
    hooks.push_back(session_ended_event(user_id, username, old_id, reason, s.login_ts, by));
  }
  sql_ << "INSERT INTO sessions (id, user_id, login_ts, ip_address, user_agent, last_seen, "
          "expires_at, legal_basis) VALUES (:id, :u, :t, :ip, :ua, :ls, :ex, :lb)",
    soci::use(s.id), soci::use(user_id), soci::use(now), soci::use(s.ip_address),
    soci::use(s.user_agent), soci::use(now), soci::use(expires), soci::use(s.legal_basis);
  sql_ << "UPDATE users SET last_login = :t WHERE id = :u", soci::use(now), soci::use(user_id);
  news.session_started(s, result.ended.value_or(""));
  news.publish(sql_);
  hooks.push_back(session_started_event(s, username, result.ended));
  write_webhook_events(sql_, hooks);
  tx.commit();
  return result;
}

bool session_repository::end(const std::string& id, const std::string& reason, time_point at) {
  std::string ts = format_iso8601(at);
  write_transaction tx(sql_);
  long long user_id = 0;
  sql_ << "SELECT user_id FROM sessions WHERE id = :id AND logout_ts IS NULL", soci::use(id),
    soci::into(user_id);
  if (!sql_.got_data()) {
    return false;
  }
  const auto username = lock_user(sql_, user_id);
  forget_stats_from(sql_, at); // the statistics cache of this hour on is stale
  soci::statement st =
    (sql_.prepare << "UPDATE sessions SET logout_ts = :t, end_reason = :r "
                     "WHERE id = :id AND logout_ts IS NULL",
     soci::use(ts), soci::use(reason), soci::use(id));
  st.execute(true);
  if (st.get_affected_rows() == 0) {
    return false;
  }
  news_batch news;
  news.session_ended(user_id, id, reason);
  news.publish(sql_);
  write_webhook_events(sql_, {session_ended_event(user_id, username, id, reason, at)});
  tx.commit();
  return true;
}

bool session_repository::end_if_idle(const std::string& id, time_point idle_since, time_point at) {
  std::string ts = format_iso8601(at);
  std::string since = format_iso8601(idle_since);
  write_transaction tx(sql_);
  long long user_id = 0;
  sql_ << "SELECT user_id FROM sessions s WHERE id = :id AND logout_ts IS NULL "
          "AND last_seen <= :since AND NOT EXISTS "
          "(SELECT 1 FROM cluster_connections c WHERE c.session_id = s.id)",
    soci::use(id), soci::use(since), soci::into(user_id);
  if (!sql_.got_data()) {
    return false;
  }
  std::string reason = "expired";
  const auto username = lock_user(sql_, user_id);
  forget_stats_from(sql_, at); // the statistics cache of this hour on is stale
  soci::statement st = (sql_.prepare << "UPDATE sessions SET logout_ts = :t, end_reason = :r "
                                        "WHERE id = :id AND logout_ts IS NULL",
                        soci::use(ts), soci::use(reason), soci::use(id));
  st.execute(true);
  if (st.get_affected_rows() == 0) {
    return false; // ended by another node while this one waited for the lock
  }
  news_batch news;
  news.session_ended(user_id, id, reason);
  news.publish(sql_);
  write_webhook_events(sql_, {session_ended_event(user_id, username, id, reason, at)});
  tx.commit();
  return true;
}

void session_repository::touch(const std::vector<std::pair<std::string, time_point>>& seen) {
  if (seen.empty()) {
    return;
  }
  write_transaction tx(sql_);
  std::string id, ts;
  soci::statement st = (sql_.prepare << "UPDATE sessions SET last_seen = :t "
                                        "WHERE id = :id AND last_seen < :t2",
                        soci::use(ts), soci::use(id), soci::use(ts));
  for (const auto& [sid, at] : seen) {
    id = sid;
    ts = format_iso8601(at);
    st.execute(true);
  }
  tx.commit();
}

std::vector<std::pair<std::string, std::string>> session_repository::ended_among(
  const std::vector<std::string>& ids) {
  // 500 ids a query: a node with 19,000 sessions resyncs in 38 round trips.
  constexpr std::size_t chunk = 500;
  std::vector<std::pair<std::string, std::string>> dead;
  for (std::size_t at = 0; at < ids.size(); at += chunk) {
    std::size_t n = std::min(chunk, ids.size() - at);
    std::string query = "SELECT id, end_reason FROM sessions WHERE logout_ts IS NOT NULL AND id IN (";
    for (std::size_t i = 0; i < n; ++i) {
      query += i == 0 ? ":i0" : ", :i" + std::to_string(i);
    }
    query += ")";
    std::string id, reason;
    soci::indicator ind = soci::i_null;
    soci::statement st(sql_);
    st.exchange(soci::into(id));
    st.exchange(soci::into(reason, ind));
    for (std::size_t i = 0; i < n; ++i) {
      st.exchange(soci::use(ids[at + i]));
    }
    st.alloc();
    st.prepare(query);
    st.define_and_bind();
    st.execute(false);
    while (st.fetch()) {
      dead.emplace_back(id, ind == soci::i_ok ? reason : std::string{});
    }
  }
  return dead;
}

std::vector<session_record> session_repository::end_live_of(std::int64_t user_id,
                                                            const std::string& keep_id,
                                                            const std::string& reason,
                                                            time_point at) {
  long long uid = user_id;
  std::string ts = format_iso8601(at);
  std::vector<session_record> ended;
  write_transaction tx(sql_);
  const auto username = lock_user(sql_, uid);
  forget_stats_from(sql_, at); // the statistics cache of this hour on is stale
  {
    session_row r;
    soci::statement st(sql_);
    r.bind(st);
    st.exchange(soci::use(uid));
    st.exchange(soci::use(keep_id));
    st.alloc();
    st.prepare(std::string(session_columns) +
               "WHERE s.user_id = :u AND s.logout_ts IS NULL AND s.id <> :k");
    st.define_and_bind();
    st.execute(false);
    while (st.fetch()) {
      ended.push_back(r.to_record());
    }
  }
  for (auto& s : ended) {
    sql_ << "UPDATE sessions SET logout_ts = :t, end_reason = :r WHERE id = :id",
      soci::use(ts), soci::use(reason), soci::use(s.id);
    s.logout_ts = at;
    s.end_reason = reason;
  }
  news_batch news;
  std::vector<webhook_event> hooks;
  for (const auto& s : ended) {
    news.session_ended(s.user_id, s.id, reason);
    hooks.push_back(session_ended_event(s.user_id, username, s.id, reason, at));
  }
  news.publish(sql_);
  write_webhook_events(sql_, hooks);
  tx.commit();
  return ended;
}

std::vector<session_record> session_repository::load_live() {
  std::vector<session_record> out;
  session_row r;
  soci::statement st(sql_);
  r.bind(st);
  st.alloc();
  st.prepare(std::string(session_columns) + "WHERE s.logout_ts IS NULL");
  st.define_and_bind();
  st.execute(false);
  while (st.fetch()) {
    out.push_back(r.to_record());
  }
  return out;
}

std::optional<session_record> session_repository::find(const std::string& id) {
  session_row r;
  soci::statement st(sql_);
  r.bind(st);
  st.exchange(soci::use(id));
  st.alloc();
  st.prepare(std::string(session_columns) + "WHERE s.id = :id");
  st.define_and_bind();
  if (!st.execute(true)) {
    return std::nullopt;
  }
  return r.to_record();
}

std::vector<session_record> session_repository::page(const session_filter& filter,
                                                     std::size_t limit,
                                                     const std::optional<page_position>& after) {
  std::string query = std::string(session_columns) + "WHERE 1 = 1";
  soci::statement st(sql_);
  session_row r;
  r.bind(st);
  // A deque: use() keeps references, which a growing vector would invalidate.
  std::deque<std::string> values;
  auto bind = [&](const char* condition, std::string value) {
    query += condition;
    values.push_back(std::move(value));
    st.exchange(soci::use(values.back()));
  };
  if (filter.active_only) {
    query += " AND s.logout_ts IS NULL";
  }
  if (filter.ended_only) {
    query += " AND s.logout_ts IS NOT NULL";
  }
  if (!filter.end_reason.empty()) {
    bind(" AND s.end_reason = :er", filter.end_reason);
  }
  if (filter.user_id) {
    query += " AND s.user_id = " + std::to_string(*filter.user_id); // a number: nothing to quote
  }
  if (!filter.username.empty()) {
    bind(" AND lower(u.username) = lower(:un)", filter.username);
  }
  if (!filter.ip.empty()) {
    bind(" AND s.ip_address = :ip", filter.ip);
  }
  if (filter.from) {
    bind(" AND s.login_ts >= :fr", format_iso8601(*filter.from));
  }
  if (filter.to) {
    bind(" AND s.login_ts < :to", format_iso8601(*filter.to));
  }
  if (after) {
    // A row value keeps the index range (see login_log_repository::page).
    bind(" AND (s.login_ts, s.id) < (:ats", after->timestamp);
    bind(", :aid)", after->key);
  }
  query += " ORDER BY s.login_ts DESC, s.id DESC LIMIT " + std::to_string(limit);
  st.alloc();
  st.prepare(query);
  st.define_and_bind();
  st.execute(false);
  std::vector<session_record> out;
  while (st.fetch()) {
    out.push_back(r.to_record());
  }
  return out;
}

std::size_t session_repository::anonymise_older_than(time_point cutoff, std::size_t max_rows) {
  std::string ts = format_iso8601(cutoff);
  long long n = static_cast<long long>(max_rows);
  soci::statement st =
    (sql_.prepare << "UPDATE sessions SET ip_address = '', user_agent = '', system_info = '' "
                     "WHERE id IN (SELECT id FROM sessions WHERE login_ts < :c "
                     "AND logout_ts IS NOT NULL AND (ip_address <> '' OR user_agent <> '') LIMIT :n)",
     soci::use(ts), soci::use(n));
  st.execute(true);
  return static_cast<std::size_t>(st.get_affected_rows());
}

} // namespace solod
