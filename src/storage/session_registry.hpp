#pragma once
/// @brief The exact in-memory view of every live session, read by network threads.

#include "storage/records.hpp"
#include "util/clock.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <deque>
#include <unordered_map>
#include <unordered_set>

namespace solod {

/// One live session as the network layer needs it to authorize a request.
struct live_session {
  std::string id;
  std::int64_t user_id = 0;
  std::string username;
  time_point created_at{};
  time_point expires_at{};
  std::string ip;
  std::string user_agent;
  /// Last authenticated request, in Unix ms; touched by network threads.
  std::shared_ptr<std::atomic<long long>> last_seen_ms = std::make_shared<std::atomic<long long>>(0);
  /// Open WebSocket connections of this session; kept by the user actor.
  std::shared_ptr<std::atomic<int>> connections = std::make_shared<std::atomic<int>>(0);
};

/// The live_session of a session row, last seen at `last_seen`.
live_session make_live_session(const session_record& s, time_point last_seen);

/// user id -> live session. Only user actors write it, and they do so before
/// answering, so a token check here is exact: a superseded or ended session is
/// gone before the new login's response leaves. Sharded to keep locks short.
class session_registry {
public:
  /// Installs `s` as the user's live session, replacing any other.
  void put(const live_session& s);

  /// Removes the user's live session if its id is `session_id`; true if removed.
  bool erase(std::int64_t user_id, const std::string& session_id);

  /// Removes the user's live session, whatever its id (an actor of the user
  /// failed: fail closed); the session removed, if any.
  std::optional<live_session> erase_user(std::int64_t user_id);

  /// The user's live session.
  std::optional<live_session> find(std::int64_t user_id) const;

  /// True when `session_id` is the user's live session.
  bool is_live(std::int64_t user_id, const std::string& session_id) const;

  /// Number of live sessions.
  std::int64_t size() const { return size_.load(); }

  /// Visits every live session (a snapshot per shard).
  void for_each(const std::function<void(const live_session&)>& visit) const;

  /// True when memory dropped session `session_id` (ended, superseded, or
  /// its actor failed) recently: its token is dead, no database read needed,
  /// and no late news may bring it back. Remembers the last 16,384.
  bool is_dead(const std::string& session_id) const;

  /// False while memory may be missing news from other nodes (the news
  /// connection is down, or the node is resyncing): then no token is accepted.
  bool trusted() const { return trusted_.load(std::memory_order_acquire); }

  /// Set by the cluster actor as the news connection comes and goes.
  void set_trusted(bool trusted) { trusted_.store(trusted, std::memory_order_release); }

private:
  static constexpr std::size_t shard_count = 64;
  struct shard {
    mutable std::mutex mtx;
    std::unordered_map<std::int64_t, live_session> sessions;
  };
  shard& shard_for(std::int64_t user_id) const {
    return shards_[static_cast<std::size_t>(user_id) % shard_count];
  }

  /// Records `session_id` as dropped.
  void bury(const std::string& session_id);

  mutable std::array<shard, shard_count> shards_;
  static constexpr std::size_t dead_max = 16384;
  mutable std::mutex dead_mtx_;
  std::unordered_set<std::string> dead_;
  std::deque<std::string> dead_order_;
  std::atomic<std::int64_t> size_{0};
  std::atomic<bool> trusted_{true};
};

} // namespace solod
