#pragma once
/// @brief The delivering side of the webhook outbox: fan-out, due deliveries, outcomes.

#include "config/config.hpp"
#include "util/clock.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace soci {
class session;
}

namespace solod {

/// One delivery of one event to one endpoint.
struct webhook_delivery {
  long long event_id = 0;
  std::string endpoint; ///< its URL
  std::string msg_id;   ///< `webhook-id`: the same on every attempt
  std::string type;
  std::string payload;  ///< the body, as written with the change
  time_point created_at{};
  int attempts = 0;     ///< attempts made before this one
};

/// What is still to deliver.
struct webhook_backlog {
  std::size_t pending = 0;
  std::optional<time_point> oldest; ///< created_at of the oldest pending delivery
};

/// The worker's queries; every call blocks, so it runs on the worker's thread.
class webhook_queue {
public:
  explicit webhook_queue(soci::session& sql) : sql_(sql) {}

  /// On PostgreSQL, takes the cluster-wide delivery lock for this connection
  /// if no other node's connection holds it: a session advisory lock, held
  /// until the connection ends (a node that dies or loses its connection
  /// frees it). Call it until it answers true, then again only on a new
  /// connection. On SQLite (one server per database file), always true.
  bool try_lead();

  /// In one transaction: turns up to `limit` events not yet fanned out into
  /// one pending delivery for each endpoint that wants their type; returns
  /// how many events it took.
  std::size_t fan_out(const std::vector<webhook_endpoint>& endpoints, time_point now, std::size_t limit);

  /// Up to `limit` deliveries due at `now`, each the oldest pending one of its
  /// endpoint and user (one user's events go out in order), oldest first.
  std::vector<webhook_delivery> due(time_point now, std::size_t limit);

  /// The receiver took it (2xx).
  void delivered(const webhook_delivery& d, time_point now);
  /// It failed; try again at `next`.
  void retry(const webhook_delivery& d, time_point next, const std::string& error);
  /// It failed for good (retried too long, or its endpoint is gone): the
  /// user's next event may go.
  void give_up(const webhook_delivery& d, time_point now, const std::string& error);

  webhook_backlog backlog();

  /// Deletes up to `max_rows` events created before `before` whose
  /// deliveries are all done (or that had none); returns how many.
  std::size_t prune(time_point before, std::size_t max_rows);

private:
  void finish(const webhook_delivery& d, const char* state, time_point now, const std::string& error);

  soci::session& sql_;
};

} // namespace solod
