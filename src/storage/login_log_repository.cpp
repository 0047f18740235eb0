#include "storage/login_log_repository.hpp"

#include "storage/audit_chain.hpp"
#include "storage/audit_stats.hpp"
#include "storage/webhook_outbox.hpp"
#include "util/time_format.hpp"

#include <soci/soci.h>

#include <algorithm>
#include <deque>
#include <map>
#include <set>

namespace solod {

namespace {

/// PostgreSQL's SOCI backend runs a vector-bound insert as one round trip per
/// row; there a batch goes as multi-row INSERTs instead (500 rows of 13 values
/// each: 6,500 parameters, far below PostgreSQL's 65,535). Every value is sent
/// as text, which PostgreSQL converts to the column's type.
void insert_multi_row(soci::session& sql, const std::vector<audit_event>& events,
                      const std::vector<chain_link>& links) {
  constexpr std::size_t rows_per_insert = 500;
  for (std::size_t first = 0; first < events.size(); first += rows_per_insert) {
    const auto n = std::min(rows_per_insert, events.size() - first);
    // Deques: use() keeps references, which a growing vector would invalidate.
    std::deque<std::string> values;
    std::deque<soci::indicator> nulls;
    soci::statement st(sql);
    std::string query = "INSERT INTO login_logs (id, timestamp, event_type, user_id, username, session_id, "
                        "ip_address, user_agent, status, error_message, legal_basis, chain_key, row_hash) VALUES ";
    int param = 0;
    auto bind = [&](std::string value, bool is_null = false) {
      query += (query.back() == '(' ? ":p" : ", :p") + std::to_string(param++);
      values.push_back(std::move(value));
      nulls.push_back(is_null ? soci::i_null : soci::i_ok);
      st.exchange(soci::use(values.back(), nulls.back()));
    };
    for (std::size_t i = 0; i < n; ++i) {
      const auto& e = events[first + i];
      const auto& link = links[first + i];
      query += i == 0 ? "(" : ", (";
      bind(std::to_string(link.id));
      bind(format_iso8601(e.timestamp));
      bind(e.event_type);
      bind(e.user_id ? std::to_string(*e.user_id) : "", !e.user_id);
      bind(e.username);
      bind(e.session_id, e.session_id.empty());
      bind(e.ip_address);
      bind(e.user_agent);
      bind(e.status);
      bind(e.error_message);
      bind(e.legal_basis);
      bind(link.chain_key);
      bind(link.row_hash);
      query += ")";
    }
    st.alloc();
    st.prepare(query);
    st.define_and_bind();
    st.execute(true);
  }
}

} // namespace

namespace {

/// A `login.failed` webhook for each failed login of `events`, in the same transaction.
void write_login_failures(soci::session& sql, const std::vector<audit_event>& events) {
  std::vector<webhook_event> hooks;
  for (const auto& e : events) {
    if (e.event_type != "login_failure") {
      continue;
    }
    hooks.push_back({"login.failed", e.user_id.value_or(0), e.timestamp,
                     nlohmann::json{{"user_id", e.user_id ? nlohmann::json(*e.user_id) : nlohmann::json(nullptr)},
                                    {"username", e.username},
                                    {"reason", e.error_message},
                                    {"ip", e.ip_address},
                                    {"user_agent", e.user_agent},
                                    {"at", format_iso8601(e.timestamp)}}});
  }
  write_webhook_events(sql, hooks);
}

} // namespace

namespace {

/// The SQLite insert: one vector-bound statement for the whole batch.
void insert_vector_bound(soci::session& sql, const std::vector<audit_event>& events,
                         const std::vector<chain_link>& links);

/// Rows of an erased account that were still on their way when it was erased
/// (another node's audit actor, the CLI beside a running server) are written
/// under the account's pseudonym, their chain key sealed first as an erasure
/// seals it, so no row names the person. One indexed look-up per batch.
void pseudonymize_erased(soci::session& sql, std::vector<audit_event>& events, std::vector<chain_link>& links) {
  std::set<std::int64_t> ids;
  for (const auto& e : events) {
    if (e.user_id) {
      ids.insert(*e.user_id);
    }
  }
  if (ids.empty()) {
    return;
  }
  std::string list;
  for (auto id : ids) {
    list += (list.empty() ? "" : ", ") + std::to_string(id); // numbers: nothing to quote
  }
  std::map<std::int64_t, std::string> erased;
  long long id = 0;
  std::string pseudonym;
  soci::statement st = (sql.prepare << "SELECT id, username FROM users WHERE erased_at IS NOT NULL AND id IN (" +
                                         list + ")",
                        soci::into(id), soci::into(pseudonym));
  st.execute();
  while (st.fetch()) {
    erased.emplace(id, pseudonym);
  }
  for (std::size_t i = 0; i < events.size() && !erased.empty(); ++i) {
    auto& e = events[i];
    const auto it = e.user_id ? erased.find(*e.user_id) : erased.end();
    if (it == erased.end()) {
      continue;
    }
    links[i].chain_key = *seal_chain_key(links[i].chain_key, chain_row_of(e, links[i].id), erased_fields);
    e.username = it->second;
    for (auto* field : {&e.ip_address, &e.user_agent}) {
      *field = field->empty() ? "" : it->second; // empty stays empty: nothing was held there
    }
  }
}

} // namespace

void login_log_repository::insert_batch(const std::vector<audit_event>& batch) {
  if (batch.empty()) {
    return;
  }
  write_login_failures(sql_, batch);
  // Rows held while the database was down may land in an hour already cached.
  auto oldest = std::min_element(batch.begin(), batch.end(), [](const auto& a, const auto& b) {
    return a.timestamp < b.timestamp;
  });
  forget_stats_from(sql_, oldest->timestamp);
  auto links = extend_chain(sql_, batch);
  std::vector<audit_event> events = batch;
  pseudonymize_erased(sql_, events, links);
  if (sql_.get_backend_name() == "postgresql") {
    insert_multi_row(sql_, events, links);
  } else {
    insert_vector_bound(sql_, events, links);
  }
}

namespace {

void insert_vector_bound(soci::session& sql, const std::vector<audit_event>& events,
                         const std::vector<chain_link>& links) {
  const auto n = events.size();
  std::vector<std::string> ts(n), type(n), username(n), session(n), ip(n), ua(n), status(n),
    error(n), basis(n), key(n), hash(n);
  std::vector<long long> id(n), user_id(n);
  std::vector<soci::indicator> user_ind(n), session_ind(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& e = events[i];
    ts[i] = format_iso8601(e.timestamp);
    type[i] = e.event_type;
    user_id[i] = e.user_id.value_or(0);
    user_ind[i] = e.user_id ? soci::i_ok : soci::i_null;
    username[i] = e.username;
    session[i] = e.session_id;
    session_ind[i] = e.session_id.empty() ? soci::i_null : soci::i_ok;
    ip[i] = e.ip_address;
    ua[i] = e.user_agent;
    status[i] = e.status;
    error[i] = e.error_message;
    basis[i] = e.legal_basis;
    id[i] = links[i].id;
    key[i] = links[i].chain_key;
    hash[i] = links[i].row_hash;
  }
  sql << "INSERT INTO login_logs (id, timestamp, event_type, user_id, username, session_id, "
          "ip_address, user_agent, status, error_message, legal_basis, chain_key, row_hash) VALUES "
          "(:id, :ts, :ty, :uid, :un, :sid, :ip, :ua, :st, :er, :lb, :ck, :rh)",
    soci::use(id), soci::use(ts), soci::use(type), soci::use(user_id, user_ind), soci::use(username),
    soci::use(session, session_ind), soci::use(ip), soci::use(ua), soci::use(status),
    soci::use(error), soci::use(basis), soci::use(key), soci::use(hash);
}

} // namespace

namespace {

/// Columns and binding of one audit row.
struct audit_row {
  long long id = 0, user_id = 0;
  std::string ts, type, username, session, ip, ua, status, error, basis;
  soci::indicator user_ind = soci::i_null, session_ind = soci::i_null;

  void bind(soci::statement& st) {
    st.exchange(soci::into(id));
    st.exchange(soci::into(ts));
    st.exchange(soci::into(type));
    st.exchange(soci::into(user_id, user_ind));
    st.exchange(soci::into(username));
    st.exchange(soci::into(session, session_ind));
    st.exchange(soci::into(ip));
    st.exchange(soci::into(ua));
    st.exchange(soci::into(status));
    st.exchange(soci::into(error));
    st.exchange(soci::into(basis));
  }

  audit_event to_event() const {
    audit_event e;
    e.id = id;
    e.timestamp = parse_iso8601(ts).value_or(time_point{});
    e.event_type = type;
    if (user_ind == soci::i_ok) {
      e.user_id = user_id;
    }
    e.username = username;
    e.session_id = session_ind == soci::i_ok ? session : "";
    e.ip_address = ip;
    e.user_agent = ua;
    e.status = status;
    e.error_message = error;
    e.legal_basis = basis;
    return e;
  }
};

const char* const audit_select =
  "SELECT id, timestamp, event_type, user_id, username, session_id, ip_address, user_agent, "
  "status, error_message, legal_basis FROM login_logs WHERE 1 = 1";

/// Appends the filter's conditions and binds their values (kept alive in `values`).
void add_filter(soci::statement& st, std::string& query, const audit_filter& filter,
                std::deque<std::string>& values) {
  // A deque: use() keeps references, which a growing vector would invalidate.
  auto bind = [&](const char* condition, std::string value) {
    query += condition;
    values.push_back(std::move(value));
    st.exchange(soci::use(values.back()));
  };
  if (!filter.username.empty()) {
    bind(" AND lower(username) = lower(:un)", filter.username);
  }
  if (!filter.ip.empty()) {
    bind(" AND ip_address = :ip", filter.ip);
  }
  if (!filter.event.empty()) {
    bind(" AND event_type = :ev", filter.event);
  }
  if (filter.user_id) {
    query += " AND user_id = " + std::to_string(*filter.user_id); // a number: nothing to quote
  }
  for (std::size_t i = 0; i < filter.events.size(); ++i) {
    query += i == 0 ? " AND event_type IN (" : ", ";
    values.push_back(filter.events[i]);
    query += ":ev" + std::to_string(i);
    st.exchange(soci::use(values.back()));
    if (i + 1 == filter.events.size()) {
      query += ")";
    }
  }
  if (filter.from) {
    bind(" AND timestamp >= :fr", format_iso8601(*filter.from));
  }
  if (filter.to) {
    bind(" AND timestamp < :to", format_iso8601(*filter.to));
  }
}

} // namespace

void login_log_repository::for_each(const audit_filter& filter,
                                    const std::function<void(const audit_event&)>& visit) {
  std::string query = audit_select;
  std::deque<std::string> values;
  soci::statement st(sql_);
  add_filter(st, query, filter, values);
  query += " ORDER BY timestamp, id";
  audit_row r;
  r.bind(st);
  st.alloc();
  st.prepare(query);
  st.define_and_bind();
  st.execute(false);
  while (st.fetch()) {
    visit(r.to_event());
  }
}

std::vector<audit_event> login_log_repository::page(const audit_filter& filter, std::size_t limit,
                                                    const std::optional<page_position>& after) {
  std::string query = audit_select;
  std::deque<std::string> values;
  soci::statement st(sql_);
  add_filter(st, query, filter, values);
  long long after_id = after ? after->id : 0;
  std::string after_ts = after ? after->timestamp : "";
  if (after) {
    // A row value, not "ts < ? OR (ts = ? AND id < ?)": with bound values
    // SQLite turns the OR into a scan from the newest row, every page.
    query += " AND (timestamp, id) < (:ats, :aid)";
    st.exchange(soci::use(after_ts));
    st.exchange(soci::use(after_id));
  }
  query += " ORDER BY timestamp DESC, id DESC LIMIT " + std::to_string(limit);
  audit_row r;
  r.bind(st);
  st.alloc();
  st.prepare(query);
  st.define_and_bind();
  st.execute(false);
  std::vector<audit_event> out;
  out.reserve(limit);
  while (st.fetch()) {
    out.push_back(r.to_event());
  }
  return out;
}

std::size_t login_log_repository::delete_older_than(time_point cutoff, std::size_t max_rows) {
  return delete_signed_span(sql_, cutoff, max_rows);
}

} // namespace solod
