#pragma once
/// @brief The cluster's own tables: node heartbeats and every node's connections.

#include "storage/records.hpp"

#include <string>
#include <vector>

namespace soci {
class session;
}

namespace solod {

class news_batch;

/// One authenticated WebSocket on some node (a row of `cluster_connections`).
struct cluster_connection {
  std::string node_id;
  std::string connection_id;
  std::int64_t user_id = 0;
  std::string username;
  std::string session_id;
  std::string ip_address;
  std::string user_agent;
  time_point connected_at{};
};

/// A connection of this node that came or went.
struct presence_change {
  bool joined = true;
  cluster_connection connection;
};

/// Reads and writes the cluster tables; every call blocks (database pool).
class cluster_repository {
public:
  explicit cluster_repository(soci::session& sql) : sql_(sql) {}

  /// Stamps node `node_id`'s heartbeat; false when its row was missing
  /// (a new node, or one the others took for dead: it must re-publish its
  /// connections).
  bool heartbeat(const std::string& node_id, time_point at, const std::string& address);

  /// Deletes the nodes (not `self_id`) silent since `before`, with their
  /// connections, and announces them gone; returns their ids.
  std::vector<std::string> reap(time_point before, const std::string& self_id);

  /// Applies this node's joins and leaves, and `news`, in one transaction.
  void apply(const std::vector<presence_change>& changes, news_batch& news);

  /// Replaces every connection row of `node_id` with `rows` (after a resync,
  /// or when the others had taken the node for dead).
  void replace_node(const std::string& node_id, const std::vector<cluster_connection>& rows);

  /// Removes node `node_id` and its connections, announcing it gone (clean shutdown).
  void remove_node(const std::string& node_id);

  /// Every connection of every node.
  std::vector<cluster_connection> connections();

  /// The connections, on any node, of session `session_id`.
  std::vector<cluster_connection> connections_of(const std::string& session_id);

private:
  soci::session& sql_;
};

} // namespace solod
