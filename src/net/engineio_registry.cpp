#include "net/engineio_registry.hpp"

namespace solod {

void engineio_registry::add(const std::string& sid, std::shared_ptr<engineio_session> s) {
  std::lock_guard<std::mutex> guard(mtx_);
  sessions_[sid] = std::move(s);
}

std::shared_ptr<engineio_session> engineio_registry::find(const std::string& sid) const {
  std::lock_guard<std::mutex> guard(mtx_);
  auto it = sessions_.find(sid);
  return it == sessions_.end() ? nullptr : it->second;
}

void engineio_registry::remove(const std::string& sid) {
  std::shared_ptr<engineio_session> gone; // destroyed outside the lock
  std::lock_guard<std::mutex> guard(mtx_);
  auto it = sessions_.find(sid);
  if (it != sessions_.end()) {
    gone = std::move(it->second);
    sessions_.erase(it);
  }
}

std::size_t engineio_registry::size() const {
  std::lock_guard<std::mutex> guard(mtx_);
  return sessions_.size();
}

} // namespace solod
