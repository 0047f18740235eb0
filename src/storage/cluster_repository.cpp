#include "storage/cluster_repository.hpp"

#include "storage/cluster_news.hpp"
#include "storage/write_transaction.hpp"
#include "util/time_format.hpp"

#include <soci/soci.h>

namespace solod {

namespace {

nlohmann::json gone_event(const std::string& node_id) {
  return {{"k", "gone"}, {"node", node_id}};
}

void insert_connection(soci::session& sql, const cluster_connection& c) {
  long long uid = c.user_id;
  std::string at = format_iso8601(c.connected_at);
  sql << "INSERT INTO cluster_connections (node_id, connection_id, user_id, username, session_id, "
         "ip_address, user_agent, connected_at) VALUES (:n, :c, :u, :un, :s, :ip, :ua, :at)",
    soci::use(c.node_id), soci::use(c.connection_id), soci::use(uid), soci::use(c.username),
    soci::use(c.session_id), soci::use(c.ip_address), soci::use(c.user_agent), soci::use(at);
}

void delete_node_rows(soci::session& sql, const std::string& node_id) {
  sql << "DELETE FROM cluster_connections WHERE node_id = :n", soci::use(node_id);
}

} // namespace

bool cluster_repository::heartbeat(const std::string& node_id, time_point at,
                                   const std::string& address) {
  std::string ts = format_iso8601(at);
  soci::statement st = (sql_.prepare << "UPDATE cluster_nodes SET heartbeat_at = :t WHERE id = :id",
                        soci::use(ts), soci::use(node_id));
  st.execute(true);
  if (st.get_affected_rows() > 0) {
    return true;
  }
  sql_ << "INSERT INTO cluster_nodes (id, started_at, heartbeat_at, address) VALUES (:id, :s, :h, :a)",
    soci::use(node_id), soci::use(ts), soci::use(ts), soci::use(address);
  return false;
}

std::vector<std::string> cluster_repository::reap(time_point before, const std::string& self_id) {
  std::string cutoff = format_iso8601(before);
  write_transaction tx(sql_);
  std::vector<std::string> dead;
  {
    std::string id;
    soci::statement st = (sql_.prepare << "SELECT id FROM cluster_nodes WHERE heartbeat_at < :t AND id <> :me",
                          soci::use(cutoff), soci::use(self_id), soci::into(id));
    st.execute(false);
    while (st.fetch()) {
      dead.push_back(id);
    }
  }
  if (dead.empty()) {
    return dead;
  }
  news_batch news;
  for (const auto& id : dead) {
    delete_node_rows(sql_, id);
    sql_ << "DELETE FROM cluster_nodes WHERE id = :id", soci::use(id);
    news.add(gone_event(id));
  }
  news.publish(sql_);
  tx.commit();
  return dead;
}

void cluster_repository::apply(const std::vector<presence_change>& changes, news_batch& news) {
  write_transaction tx(sql_);
  for (const auto& ch : changes) {
    const auto& c = ch.connection;
    if (ch.joined) {
      insert_connection(sql_, c);
    } else {
      sql_ << "DELETE FROM cluster_connections WHERE node_id = :n AND connection_id = :c",
        soci::use(c.node_id), soci::use(c.connection_id);
    }
  }
  news.publish(sql_);
  tx.commit();
}

void cluster_repository::replace_node(const std::string& node_id,
                                      const std::vector<cluster_connection>& rows) {
  write_transaction tx(sql_);
  delete_node_rows(sql_, node_id);
  for (const auto& c : rows) {
    insert_connection(sql_, c);
  }
  tx.commit();
}

void cluster_repository::remove_node(const std::string& node_id) {
  write_transaction tx(sql_);
  delete_node_rows(sql_, node_id);
  sql_ << "DELETE FROM cluster_nodes WHERE id = :id", soci::use(node_id);
  news_batch news;
  news.add(gone_event(node_id));
  news.publish(sql_);
  tx.commit();
}

namespace {

std::vector<cluster_connection> read_connections(soci::session& sql, const std::string& where,
                                                 const std::string* session_id) {
  std::vector<cluster_connection> out;
  cluster_connection c;
  long long uid = 0;
  std::string at;
  soci::statement st(sql);
  st.exchange(soci::into(c.node_id));
  st.exchange(soci::into(c.connection_id));
  st.exchange(soci::into(uid));
  st.exchange(soci::into(c.username));
  st.exchange(soci::into(c.session_id));
  st.exchange(soci::into(c.ip_address));
  st.exchange(soci::into(c.user_agent));
  st.exchange(soci::into(at));
  if (session_id) {
    st.exchange(soci::use(*session_id));
  }
  st.alloc();
  st.prepare("SELECT node_id, connection_id, user_id, username, session_id, ip_address, "
             "user_agent, connected_at FROM cluster_connections " + where);
  st.define_and_bind();
  st.execute(false);
  while (st.fetch()) {
    c.user_id = uid;
    c.connected_at = parse_iso8601(at).value_or(time_point{});
    out.push_back(c);
  }
  return out;
}

} // namespace

std::vector<cluster_connection> cluster_repository::connections() {
  return read_connections(sql_, "", nullptr);
}

std::vector<cluster_connection> cluster_repository::connections_of(const std::string& session_id) {
  return read_connections(sql_, "WHERE session_id = :s ORDER BY connected_at", &session_id);
}

} // namespace solod
