#include "app/webhook_worker.hpp"

#include "auth/webhook_signature.hpp"
#include "storage/webhook_queue.hpp"
#include "util/clock.hpp"
#include "util/metrics.hpp"
#include "util/secret_file.hpp"
#include "util/thread_name.hpp"

#include <soci/soci.h>
#include <spdlog/spdlog.h>

#include <array>

namespace solod {

namespace {

std::string read_endpoint_secret(const std::string& path, const std::string& url) {
  auto secret = read_secret_file(path);
  if (!secret) {
    throw config_error("webhooks.endpoints '" + url + "': cannot read secret_file '" + path + "'");
  }
  return *secret;
}

long long unix_seconds(time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

} // namespace

std::vector<webhook_receiver> load_webhook_receivers(const webhooks_config& cfg) {
  std::vector<webhook_receiver> out;
  for (const auto& e : cfg.endpoints) {
    auto target = parse_webhook_url(e.url);
    if (!target) {
      throw config_error("webhooks.endpoints '" + e.url + "': not a URL solod can send to");
    }
    auto key = decode_webhook_secret(read_endpoint_secret(e.secret_file, e.url));
    if (!key) {
      throw config_error("webhooks.endpoints '" + e.url + "': the secret in '" + e.secret_file +
                         "' is not whsec_ followed by the base64 of 24 to 64 bytes");
    }
    out.push_back({e, std::move(*target), std::move(*key)});
  }
  return out;
}

std::chrono::milliseconds webhook_backoff(int attempts) {
  using namespace std::chrono;
  static constexpr std::array<milliseconds, 8> schedule = {
    seconds{1}, seconds{5}, seconds{30}, minutes{2}, minutes{5}, minutes{30}, hours{1}, hours{2}};
  if (attempts < 1) {
    return milliseconds{0};
  }
  const auto i = static_cast<std::size_t>(attempts - 1);
  return i < schedule.size() ? schedule[i] : hours{4};
}

webhook_worker::webhook_worker(webhook_worker_options opts) : opts_(std::move(opts)) {
  for (const auto& r : opts_.receivers) {
    endpoints_.push_back(r.endpoint);
  }
}

webhook_worker::~webhook_worker() {
  stop();
}

void webhook_worker::start() {
  thread_ = std::thread([this] {
    name_this_thread("webhooks", 0);
    run();
  });
}

void webhook_worker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void webhook_worker::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, d, [this] { return stopping_.load(); });
}

void webhook_worker::run() {
  std::unique_ptr<soci::session> sql;
  bool leading = false;
  while (!stopping_) {
    try {
      if (!sql) {
        sql = open_database(opts_.url);
        leading = false;
      }
      if (!round(*sql, leading)) {
        sleep_for(opts_.poll);
      }
    } catch (const std::exception& e) {
      // The database is away: a new connection (and a new try for the lock) later.
      spdlog::warn("webhooks: {}; retrying in 1 s", e.what());
      sql.reset();
      if (leading && opts_.stats) {
        opts_.stats->webhook_leader = 0;
      }
      leading = false;
      sleep_for(std::chrono::seconds{1});
    }
  }
}

bool webhook_worker::round(soci::session& sql, bool& leading) {
  webhook_queue queue(sql);
  if (!leading) {
    leading = queue.try_lead();
    if (!leading) {
      return false;
    }
    spdlog::info("webhooks: this node delivers ({} endpoints)", opts_.receivers.size());
    if (opts_.stats) {
      opts_.stats->webhook_leader = 1;
    }
  }
  const auto now = opts_.clk->now();
  const auto fanned = queue.fan_out(endpoints_, now, 500);
  const auto due = queue.due(now, 100);
  for (const auto& d : due) {
    if (stopping_) {
      break;
    }
    deliver(sql, d);
  }
  if (now - last_prune_ >= std::chrono::minutes{1}) {
    queue.prune(now - opts_.keep_done, 10000);
    last_prune_ = now;
  }
  // The gauges once a second: a scrape needs no fresher, the idle loop no more queries.
  if (opts_.stats && now - last_backlog_ >= std::chrono::seconds{1}) {
    last_backlog_ = now;
    const auto backlog = queue.backlog();
    opts_.stats->webhook_pending = static_cast<std::int64_t>(backlog.pending);
    opts_.stats->webhook_queue_age_ms =
      backlog.oldest ? std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                   now - *backlog.oldest).count())
                     : 0;
  }
  return fanned > 0 || !due.empty();
}

void webhook_worker::deliver(soci::session& sql, const webhook_delivery& d) {
  webhook_queue queue(sql);
  const auto now = opts_.clk->now();
  const webhook_receiver* to = nullptr;
  for (const auto& r : opts_.receivers) {
    if (r.endpoint.url == d.endpoint) {
      to = &r;
      break;
    }
  }
  if (to == nullptr) {
    queue.give_up(d, now, "endpoint no longer configured");
    if (opts_.stats) {
      opts_.stats->webhook_failed++;
    }
    return;
  }
  const auto stamp = unix_seconds(now);
  const std::vector<std::pair<std::string, std::string>> headers = {
    {"webhook-id", d.msg_id},
    {"webhook-timestamp", std::to_string(stamp)},
    {"webhook-signature", sign_webhook(to->key, d.msg_id, stamp, d.payload)},
  };
  const auto answer = client_.post(to->target, headers, d.payload, opts_.timeout, stopping_);
  if (stopping_ && !answer.ok()) {
    return; // abandoned: sent again after the restart
  }
  const auto after = opts_.clk->now();
  if (answer.ok()) {
    queue.delivered(d, after);
    if (opts_.stats) {
      opts_.stats->webhook_delivered++;
    }
    return;
  }
  const std::string why = answer.status != 0 ? "HTTP " + std::to_string(answer.status) : answer.error;
  const auto next = after + webhook_backoff(d.attempts + 1);
  if (next >= d.created_at + opts_.retry_for) {
    queue.give_up(d, after, why);
    spdlog::warn("webhooks: {} to {} given up after {} attempts: {}", d.msg_id, d.endpoint, d.attempts + 1, why);
    if (opts_.stats) {
      opts_.stats->webhook_failed++;
    }
    return;
  }
  queue.retry(d, next, why);
  if (opts_.stats) {
    opts_.stats->webhook_retries++;
  }
}

} // namespace solod
