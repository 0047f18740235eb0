#pragma once
/// @brief The webhook outbox: events for the team's other services, written in
/// the transaction of the change they report, so none is sent for a change that
/// rolled back and none is lost for one that committed.

#include "util/clock.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace soci {
class session;
}

namespace solod {

/// One event (Standard Webhooks body: `{"type", "timestamp", "data"}`).
struct webhook_event {
  std::string type;         ///< session.started, session.ended, login.failed, user.disabled
  std::int64_t user_id = 0; ///< one user's events are delivered in order; 0: of no user
  time_point at{};
  nlohmann::json data = nlohmann::json::object();
};

/// Writes `events` into `webhook_events` inside the transaction open on `sql`.
/// On PostgreSQL it first takes the row lock of each event's user (ascending),
/// so that ids, and with them the delivery order, follow one user's commits;
/// a caller that also changes rows of that user must lock the user first too
/// (session_repository does).
void write_webhook_events(soci::session& sql, const std::vector<webhook_event>& events);

/// The body of a `session.ended` event.
webhook_event session_ended_event(std::int64_t user_id, const std::string& username,
                                  const std::string& session_id, const std::string& reason,
                                  time_point at, const nlohmann::json& by = nullptr);

} // namespace solod
