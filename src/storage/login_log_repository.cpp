#include "storage/login_log_repository.hpp"

#include "util/time_format.hpp"

#include <soci/soci.h>

namespace solod {

void login_log_repository::insert_batch(const std::vector<audit_event>& events) {
  if (events.empty()) {
    return;
  }
  const auto n = events.size();
  std::vector<std::string> ts(n), type(n), username(n), session(n), ip(n), ua(n), status(n),
    error(n), basis(n);
  std::vector<long long> user_id(n);
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
  }
  sql_ << "INSERT INTO login_logs (timestamp, event_type, user_id, username, session_id, "
          "ip_address, user_agent, status, error_message, legal_basis) VALUES "
          "(:ts, :ty, :uid, :un, :sid, :ip, :ua, :st, :er, :lb)",
    soci::use(ts), soci::use(type), soci::use(user_id, user_ind), soci::use(username),
    soci::use(session, session_ind), soci::use(ip), soci::use(ua), soci::use(status),
    soci::use(error), soci::use(basis);
}

void login_log_repository::for_each(const audit_filter& filter,
                                    const std::function<void(const audit_event&)>& visit) {
  std::string query =
    "SELECT id, timestamp, event_type, user_id, username, session_id, ip_address, user_agent, "
    "status, error_message, legal_basis FROM login_logs WHERE 1 = 1";
  std::string from = filter.from ? format_iso8601(*filter.from) : "";
  std::string to = filter.to ? format_iso8601(*filter.to) : "";
  soci::statement st(sql_);
  // Bind only the filters in use; the names in the query match the order of exchange().
  if (!filter.username.empty()) {
    query += " AND lower(username) = lower(:un)";
    st.exchange(soci::use(filter.username));
  }
  if (!filter.ip.empty()) {
    query += " AND ip_address = :ip";
    st.exchange(soci::use(filter.ip));
  }
  if (!filter.event.empty()) {
    query += " AND event_type = :ev";
    st.exchange(soci::use(filter.event));
  }
  if (filter.from) {
    query += " AND timestamp >= :fr";
    st.exchange(soci::use(from));
  }
  if (filter.to) {
    query += " AND timestamp < :to";
    st.exchange(soci::use(to));
  }
  query += " ORDER BY id";

  long long id = 0, user_id = 0;
  std::string ts, type, username, session, ip, ua, status, error, basis;
  soci::indicator user_ind = soci::i_null, session_ind = soci::i_null;
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
  st.alloc();
  st.prepare(query);
  st.define_and_bind();
  st.execute(false);
  while (st.fetch()) {
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
    visit(e);
  }
}

} // namespace solod
