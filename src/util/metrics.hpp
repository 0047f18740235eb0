#pragma once
/// @brief Process-wide counters, gauges and histograms, rendered in Prometheus text format.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace solod {

/// A cumulative histogram with fixed upper bounds; lock-free to observe.
class histogram {
public:
  explicit histogram(std::vector<double> bounds);
  /// Adds one observation.
  void observe(double value);
  /// Appends `name_bucket`, `name_sum` and `name_count` lines.
  void render(std::string& out, const std::string& name) const;
  /// Observations so far.
  std::uint64_t count() const { return count_.load(); }

private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_; ///< one per bound, plus +Inf
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_micros_{0}; ///< sum in millionths, to stay atomic and exact enough
};

/// Every metric solod exports. One instance, owned by the server.
struct metrics {
  metrics();

  /// Login attempts by outcome.
  /// `abandoned`: the client closed its connection before the password was hashed.
  enum class login_result { success, invalid_credentials, rate_limited, session_active, unavailable, abandoned, count_ };
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(login_result::count_)> logins{};

  std::array<std::atomic<std::uint64_t>, 600> http_responses{}; ///< by status code

  std::atomic<std::int64_t> audit_queue_depth{0};    ///< events held, not yet committed
  std::atomic<std::uint64_t> audit_events_committed{0};
  std::atomic<std::uint64_t> audit_commit_failures{0};
  histogram audit_batch_size;
  histogram audit_commit_seconds;

  std::atomic<std::int64_t> open_connections{0}; ///< accepted sockets being served (HTTP, TLS, WebSocket)
  /// Sockets closed at accept: server.max_connections reached, or the address's
  /// server.max_connections_per_ip.
  std::atomic<std::uint64_t> connections_refused_total{0};
  std::atomic<std::uint64_t> connections_refused_per_ip{0};
  /// Requests answered 503 because they waited database.wait_timeout for the database pool.
  std::function<std::uint64_t()> db_wait_timeouts;
  /// Broadcasts refused by limits.broadcast_bytes_per_second.
  std::atomic<std::uint64_t> broadcasts_rate_limited{0};

  std::atomic<std::int64_t> open_websockets{0};
  std::atomic<std::int64_t> open_files_limit{0}; ///< soft RLIMIT_NOFILE after start-up
  std::atomic<std::uint64_t> ws_messages_in{0};
  std::atomic<std::uint64_t> ws_messages_out{0};
  std::atomic<std::uint64_t> presence_deliveries{0};
  std::atomic<std::uint64_t> ws_slow_consumers_dropped{0};
  std::atomic<std::uint64_t> ws_auth_failures{0};
  /// Socket.IO (`/socket.io/`) connections open, by transport, and their messages.
  std::atomic<std::int64_t> socketio_open_polling{0};
  std::atomic<std::int64_t> socketio_open_websocket{0};
  std::atomic<std::uint64_t> socketio_messages_in{0};
  std::atomic<std::uint64_t> socketio_messages_out{0};
  /// Socket.IO connections closed for not answering pings within socketio.ping_timeout.
  std::atomic<std::uint64_t> socketio_ping_timeouts{0};
  /// Kicks by reason, indexed by kick_reason.
  std::array<std::atomic<std::uint64_t>, 7> kicks{};

  /// Actors that failed (threw, or ended with an error), by kind.
  enum class actor_kind { user, connection, presence, directory, count_ };
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(actor_kind::count_)> actor_failures{};
  void count_failure(actor_kind k) { actor_failures[static_cast<std::size_t>(k)]++; }

  /// Token introspections (`POST /api/introspect`) by answer; `refused`: the
  /// service client did not authenticate.
  enum class introspection_result { active, inactive, refused, count_ };
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(introspection_result::count_)> introspections{};
  void count_introspection(introspection_result r) { introspections[static_cast<std::size_t>(r)]++; }

  /// Webhooks (this node's worker): deliveries answered 2xx, failed attempts
  /// to be retried, deliveries given up; what waits and for how long; 1 while
  /// this node is the one that delivers.
  std::atomic<std::uint64_t> webhook_delivered{0};
  std::atomic<std::uint64_t> webhook_retries{0};
  std::atomic<std::uint64_t> webhook_failed{0};
  std::atomic<std::int64_t> webhook_pending{0};
  std::atomic<std::int64_t> webhook_queue_age_ms{0};
  std::atomic<std::int64_t> webhook_leader{0};

  /// Gauges computed when scraped (e.g. live sessions from the registry).
  std::function<std::int64_t()> live_sessions;

  void count_login(login_result r) { logins[static_cast<std::size_t>(r)]++; }
  void count_response(unsigned status) {
    if (status < http_responses.size()) {
      http_responses[status]++;
    }
  }

  /// The Prometheus text exposition of everything above.
  std::string render() const;
};

} // namespace solod
