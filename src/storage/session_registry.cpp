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
  auto& sh = shard_for(s.user_id);
  std::lock_guard<std::mutex> guard(sh.mtx);
  auto [it, inserted] = sh.sessions.insert_or_assign(s.user_id, s);
  if (inserted) {
    size_++;
  }
}

bool session_registry::erase(std::int64_t user_id, const std::string& session_id) {
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
  auto& sh = shard_for(user_id);
  std::lock_guard<std::mutex> guard(sh.mtx);
  auto it = sh.sessions.find(user_id);
  if (it == sh.sessions.end()) {
    return std::nullopt;
  }
  auto removed = std::move(it->second);
  sh.sessions.erase(it);
  size_--;
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
