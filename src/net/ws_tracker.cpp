#include "net/ws_tracker.hpp"

#include <vector>

namespace solod {

void ws_tracker::add(const std::shared_ptr<ws_sink>& s) {
  std::optional<std::pair<std::uint16_t, std::string>> closing;
  {
    std::lock_guard<std::mutex> guard(mtx_);
    sinks_.emplace(s.get(), s);
    closing = closing_;
  }
  if (closing) {
    s->close(nullptr, closing->first, closing->second);
  }
}

void ws_tracker::remove(const ws_sink* s) {
  std::lock_guard<std::mutex> guard(mtx_);
  sinks_.erase(s);
}

std::size_t ws_tracker::size() const {
  std::lock_guard<std::mutex> guard(mtx_);
  return sinks_.size();
}

std::vector<std::shared_ptr<ws_sink>> ws_tracker::snapshot() const {
  std::vector<std::shared_ptr<ws_sink>> open;
  std::lock_guard<std::mutex> guard(mtx_);
  for (auto& [raw, weak] : sinks_) {
    if (auto s = weak.lock()) {
      open.push_back(std::move(s));
    }
  }
  return open;
}

void ws_tracker::close_all(std::uint16_t code, const std::string& reason) {
  {
    std::lock_guard<std::mutex> guard(mtx_);
    closing_.emplace(code, reason);
  }
  for (auto& s : snapshot()) {
    s->close(nullptr, code, reason);
  }
}

void ws_tracker::abort_all() {
  for (auto& s : snapshot()) {
    s->abort();
  }
}

} // namespace solod
