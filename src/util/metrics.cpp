#include "util/metrics.hpp"

#include <cmath>
#include <cstdio>

namespace solod {

histogram::histogram(std::vector<double> bounds)
  : bounds_(std::move(bounds)),
    counts_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    counts_[i] = 0;
  }
}

void histogram::observe(double value) {
  std::size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) {
    ++i;
  }
  counts_[i]++;
  count_++;
  sum_micros_ += static_cast<std::uint64_t>(std::llround(value * 1e6));
}

void histogram::render(std::string& out, const std::string& name) const {
  char line[256];
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i].load();
    std::snprintf(line, sizeof line, "%s_bucket{le=\"%g\"} %llu\n", name.c_str(), bounds_[i],
                  static_cast<unsigned long long>(cumulative));
    out += line;
  }
  cumulative += counts_[bounds_.size()].load();
  std::snprintf(line, sizeof line, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n",
                name.c_str(), static_cast<unsigned long long>(cumulative), name.c_str(),
                static_cast<double>(sum_micros_.load()) / 1e6, name.c_str(),
                static_cast<unsigned long long>(count_.load()));
  out += line;
}

metrics::metrics()
  : audit_batch_size({1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096}),
    audit_commit_seconds({0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                          0.25, 1}) {}

std::string metrics::render() const {
  std::string out;
  char line[512];
  auto gauge = [&](const char* name, const char* help, const char* type, long long v) {
    std::snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n", name, help, name,
                  type, name, v);
    out += line;
  };

  out += "# HELP solod_logins_total Login attempts by result.\n# TYPE solod_logins_total counter\n";
  static const char* const names[] = {"success", "invalid_credentials", "rate_limited",
                                      "session_active", "unavailable", "abandoned"};
  for (std::size_t i = 0; i < logins.size(); ++i) {
    std::snprintf(line, sizeof line, "solod_logins_total{result=\"%s\"} %llu\n", names[i],
                  static_cast<unsigned long long>(logins[i].load()));
    out += line;
  }

  gauge("solod_live_sessions", "Sessions currently live.", "gauge",
        live_sessions ? live_sessions() : 0);
  gauge("solod_open_connections",
        "Accepted sockets open: TLS detection, HTTP and WebSocket (the last also in solod_open_websockets).",
        "gauge", open_connections.load());
  out += "# HELP solod_connections_refused_total Sockets closed at accept, by limit.\n"
         "# TYPE solod_connections_refused_total counter\n";
  std::snprintf(line, sizeof line,
                "solod_connections_refused_total{limit=\"max_connections\"} %llu\n"
                "solod_connections_refused_total{limit=\"max_connections_per_ip\"} %llu\n",
                static_cast<unsigned long long>(connections_refused_total.load()),
                static_cast<unsigned long long>(connections_refused_per_ip.load()));
  out += line;
  gauge("solod_db_wait_timeouts_total",
        "Database jobs answered 503 after waiting database.wait_timeout for the pool.", "counter",
        static_cast<long long>(db_wait_timeouts ? db_wait_timeouts() : 0));
  gauge("solod_ws_broadcasts_rate_limited_total",
        "Broadcasts refused by limits.broadcast_bytes_per_second.", "counter",
        static_cast<long long>(broadcasts_rate_limited.load()));
  gauge("solod_audit_queue_depth", "Audit events held and not yet committed.", "gauge",
        audit_queue_depth.load());
  gauge("solod_audit_events_committed_total", "Audit events committed.", "counter",
        static_cast<long long>(audit_events_committed.load()));
  gauge("solod_audit_commit_failures_total", "Audit batch commits that failed.", "counter",
        static_cast<long long>(audit_commit_failures.load()));

  gauge("solod_open_websockets", "WebSocket connections open.", "gauge", open_websockets.load());
  gauge("solod_open_files_limit", "Soft limit on open files (RLIMIT_NOFILE) after start-up.", "gauge",
        open_files_limit.load());
  gauge("solod_ws_messages_in_total", "WebSocket messages received.", "counter",
        static_cast<long long>(ws_messages_in.load()));
  gauge("solod_ws_messages_out_total", "WebSocket messages sent.", "counter",
        static_cast<long long>(ws_messages_out.load()));
  gauge("solod_presence_deliveries_total", "Presence updates delivered to subscribers.", "counter",
        static_cast<long long>(presence_deliveries.load()));
  gauge("solod_ws_slow_consumers_dropped_total",
        "WebSocket connections closed because they did not read fast enough.", "counter",
        static_cast<long long>(ws_slow_consumers_dropped.load()));
  gauge("solod_ws_auth_failures_total", "WebSocket authentications refused.", "counter",
        static_cast<long long>(ws_auth_failures.load()));
  // The same connections by protocol and transport: /ws, and /socket.io/'s two.
  std::snprintf(line, sizeof line,
                "# HELP solod_connections Client connections open, by protocol and transport.\n"
                "# TYPE solod_connections gauge\n"
                "solod_connections{protocol=\"ws\",transport=\"websocket\"} %lld\n"
                "solod_connections{protocol=\"socketio\",transport=\"websocket\"} %lld\n"
                "solod_connections{protocol=\"socketio\",transport=\"polling\"} %lld\n",
                static_cast<long long>(open_websockets.load()),
                static_cast<long long>(socketio_open_websocket.load()),
                static_cast<long long>(socketio_open_polling.load()));
  out += line;
  std::snprintf(line, sizeof line,
                "# HELP solod_messages_total Client messages, by protocol and direction.\n"
                "# TYPE solod_messages_total counter\n"
                "solod_messages_total{protocol=\"ws\",direction=\"in\"} %llu\n"
                "solod_messages_total{protocol=\"ws\",direction=\"out\"} %llu\n",
                static_cast<unsigned long long>(ws_messages_in.load()),
                static_cast<unsigned long long>(ws_messages_out.load()));
  out += line;
  std::snprintf(line, sizeof line,
                "solod_messages_total{protocol=\"socketio\",direction=\"in\"} %llu\n"
                "solod_messages_total{protocol=\"socketio\",direction=\"out\"} %llu\n",
                static_cast<unsigned long long>(socketio_messages_in.load()),
                static_cast<unsigned long long>(socketio_messages_out.load()));
  out += line;
  gauge("solod_socketio_ping_timeouts_total",
        "Socket.IO connections closed for not answering a ping within socketio.ping_timeout.",
        "counter", static_cast<long long>(socketio_ping_timeouts.load()));
  out += "# HELP solod_kicks_total Connections kicked, by reason.\n# TYPE solod_kicks_total counter\n";
  static const char* const kick_names[] = {"superseded", "logout", "admin", "expired",
                                           "unauthorized", "too_many_connections", "server_error"};
  for (std::size_t i = 0; i < kicks.size(); ++i) {
    std::snprintf(line, sizeof line, "solod_kicks_total{reason=\"%s\"} %llu\n", kick_names[i],
                  static_cast<unsigned long long>(kicks[i].load()));
    out += line;
  }

  out += "# HELP solod_webhook_deliveries_total Webhook delivery attempts, by result: delivered (2xx), "
         "retried (failed, tried again later), failed (given up).\n# TYPE solod_webhook_deliveries_total counter\n";
  std::snprintf(line, sizeof line,
                "solod_webhook_deliveries_total{result=\"delivered\"} %llu\n"
                "solod_webhook_deliveries_total{result=\"retried\"} %llu\n"
                "solod_webhook_deliveries_total{result=\"failed\"} %llu\n",
                static_cast<unsigned long long>(webhook_delivered.load()),
                static_cast<unsigned long long>(webhook_retries.load()),
                static_cast<unsigned long long>(webhook_failed.load()));
  out += line;
  gauge("solod_webhook_pending", "Webhook deliveries waiting (seen by the delivering node).", "gauge",
        webhook_pending.load());
  std::snprintf(line, sizeof line,
                "# HELP solod_webhook_queue_age_seconds Age of the oldest webhook event not yet delivered.\n"
                "# TYPE solod_webhook_queue_age_seconds gauge\nsolod_webhook_queue_age_seconds %.3f\n",
                static_cast<double>(webhook_queue_age_ms.load()) / 1000.0);
  out += line;
  gauge("solod_webhook_leader", "1 while this node is the one that delivers webhooks.", "gauge",
        webhook_leader.load());

  out += "# HELP solod_introspections_total Token introspections (POST /api/introspect), by answer.\n"
         "# TYPE solod_introspections_total counter\n";
  static const char* const introspection_names[] = {"active", "inactive", "refused"};
  for (std::size_t i = 0; i < introspections.size(); ++i) {
    std::snprintf(line, sizeof line, "solod_introspections_total{result=\"%s\"} %llu\n",
                  introspection_names[i], static_cast<unsigned long long>(introspections[i].load()));
    out += line;
  }

  out += "# HELP solod_actor_failures_total Actors that failed and were recovered (fail closed), by kind.\n"
         "# TYPE solod_actor_failures_total counter\n";
  static const char* const actor_names[] = {"user", "connection", "presence", "directory"};
  for (std::size_t i = 0; i < actor_failures.size(); ++i) {
    std::snprintf(line, sizeof line, "solod_actor_failures_total{actor=\"%s\"} %llu\n",
                  actor_names[i], static_cast<unsigned long long>(actor_failures[i].load()));
    out += line;
  }

  out += "# HELP solod_audit_batch_size Events per audit transaction.\n"
         "# TYPE solod_audit_batch_size histogram\n";
  audit_batch_size.render(out, "solod_audit_batch_size");
  out += "# HELP solod_audit_commit_seconds Time to write and commit one audit batch.\n"
         "# TYPE solod_audit_commit_seconds histogram\n";
  audit_commit_seconds.render(out, "solod_audit_commit_seconds");

  out += "# HELP solod_http_responses_total HTTP responses by status.\n"
         "# TYPE solod_http_responses_total counter\n";
  for (std::size_t s = 100; s < http_responses.size(); ++s) {
    auto v = http_responses[s].load();
    if (v != 0) {
      std::snprintf(line, sizeof line, "solod_http_responses_total{status=\"%zu\"} %llu\n", s,
                    static_cast<unsigned long long>(v));
      out += line;
    }
  }
  return out;
}

} // namespace solod
