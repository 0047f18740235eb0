#pragma once
/// @brief Delivers the webhook outbox: a thread of its own, off the actor and network threads.

#include "config/config.hpp"
#include "net/webhook_client.hpp"
#include "storage/database.hpp"
#include "util/clock.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace solod {

class clock;
struct metrics;
struct webhook_delivery;

/// One configured endpoint, ready to sign and send to.
struct webhook_receiver {
  webhook_endpoint endpoint;
  webhook_target target;
  std::string key; ///< the HMAC key decoded from the endpoint's `whsec_` secret
};

/// Reads each endpoint's secret file; throws config_error naming the endpoint
/// and file for a missing file, a secret that is not `whsec_` + base64 of 24
/// to 64 bytes, or a URL that cannot be sent to.
std::vector<webhook_receiver> load_webhook_receivers(const webhooks_config& cfg);

/// The wait before attempt `attempts + 1`, after `attempts` failed ones:
/// 1 s, 5 s, 30 s, 2 min, 5 min, 30 min, 1 h, 2 h, then every 4 h.
std::chrono::milliseconds webhook_backoff(int attempts);

struct webhook_worker_options {
  database_url url;
  std::vector<webhook_receiver> receivers;
  std::chrono::milliseconds timeout{10000};
  std::chrono::milliseconds retry_for{std::chrono::hours{24}};
  /// How often the outbox is looked at when idle.
  std::chrono::milliseconds poll{100};
  /// Delivered and given-up events are deleted this long after they were written.
  std::chrono::milliseconds keep_done{std::chrono::hours{1}};
  const clock* clk = nullptr;
  metrics* stats = nullptr;
};

/// Fans the outbox out and delivers it: at least once, in order per endpoint
/// and user, retried with webhook_backoff for up to `retry_for`. On
/// PostgreSQL only the node holding the delivery lock delivers
/// (webhook_queue::try_lead); the others wait, ready to take over.
class webhook_worker {
public:
  explicit webhook_worker(webhook_worker_options opts);
  ~webhook_worker();
  webhook_worker(const webhook_worker&) = delete;
  webhook_worker& operator=(const webhook_worker&) = delete;

  void start();
  /// Stops within about 100 ms: a delivery in flight is abandoned and sent
  /// again later (same `webhook-id`).
  void stop();

private:
  void run();
  /// One round on `sql`; true when it did some work (look again at once).
  bool round(soci::session& sql, bool& leading);
  void deliver(soci::session& sql, const webhook_delivery& d);
  void sleep_for(std::chrono::milliseconds d);

  webhook_worker_options opts_;
  webhook_client client_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<webhook_endpoint> endpoints_; ///< of `opts_.receivers`, for the fan-out
  time_point last_prune_{};
  time_point last_backlog_{};
};

} // namespace solod
