#include "storage/session_registry.hpp"

#include <vector>

namespace solod {

live_session make_live_session(const session_record& s, time_point last_seen) {
  live_session live;
  live.id = s.id;
  live.user_id = s.user_id;
  live.username = s.username;
  live.created_at = s.login_ts;
  live.expires_at = s.expires_at;
  live.ip = s.ip_address;
  live.user_agent = s.user_agent;
  live.last_seen_ms->store(to_unix_ms(last_seen));
  return live;
}

void session_registry::put(const live_session& s) {
  std::string replaced;
  {
    auto& sh = shard_for(s.user_id);
    std::lock_guard<std::mutex> guard(sh.mtx);
    auto it = sh.sessions.find(s.user_id);
    if (it == sh.sessions.end()) {
      sh.sessions.emplace(s.user_id, s);
      size_++;
    } else {
      if (it->second.id != s.id) {
        replaced = it->second.id;
      }
      it->second = s;
    }
  }
  if (!replaced.empty()) {
    bury(replaced);
  }
}

void session_registry::bury(const std::string& session_id) {
  std::lock_guard<std::mutex> guard(dead_mtx_);
  if (!dead_.insert(session_id).second) {
    return;
  }
  dead_order_.push_back(session_id);
  if (dead_order_.size() > dead_max) {
    dead_.erase(dead_order_.front());
    dead_order_.pop_front();
  }
}

bool session_registry::is_dead(const std::string& session_id) const {
  std::lock_guard<std::mutex> guard(dead_mtx_);
  return dead_.count(session_id) > 0;
}

bool session_registry::erase(std::int64_t user_id, const std::string& session_id) {
  // Buried whether memory held it or not: the caller knows it has ended.
  bury(session_id);
  auto& sh = shard_for(user_id);
  std::lock_guard<std::mutex> guard(sh.mtx);
  auto it = sh.sessions.find(user_id);
  if (it == sh.sessions.end() || it->second.id != session_id) {
    return false;
  }
  sh.sessions.erase(it);
  size_--;
  return true;
}

std::optional<live_session> session_registry::erase_user(std::int64_t user_id) {
  std::optional<live_session> removed;
  {
    auto& sh = shard_for(user_id);
    std::lock_guard<std::mutex> guard(sh.mtx);
    auto it = sh.sessions.find(user_id);
    if (it == sh.sessions.end()) {
      return std::nullopt;
    }
    removed = std::move(it->second);
    sh.sessions.erase(it);
    size_--;
  }
  bury(removed->id);
  return removed;
}

std::optional<live_session> session_registry::find(std::int64_t user_id) const {
  auto& sh = shard_for(user_id);
  std::lock_guard<std::mutex> guard(sh.mtx);
  auto it = sh.sessions.find(user_id);
  if (it == sh.sessions.end()) {
    return std::nullopt;
  }
  return it->second;
}

bool session_registry::is_live(std::int64_t user_id, const std::string& session_id) const {
  auto& sh = shard_for(user_id);
  std::lock_guard<std::mutex> guard(sh.mtx);
  auto it = sh.sessions.find(user_id);
  return it != sh.sessions.end() && it->second.id == session_id;
}

void session_registry::for_each(const std::function<void(const live_session&)>& visit) const {
  for (auto& sh : shards_) {
    std::vector<live_session> copy;
    {
      std::lock_guard<std::mutex> guard(sh.mtx);
      copy.reserve(sh.sessions.size());
      for (const auto& [id, s] : sh.sessions) {
        copy.push_back(s);
      }
    }
    for (const auto& s : copy) {
      visit(s);
    }
  }
}

} // namespace solod
