#include "actors/online_board.hpp"

namespace solod {

bool online_board::add(const std::string& username) {
  std::lock_guard<std::mutex> guard(mtx_);
  return ++nodes_[username] == 1;
}

bool online_board::remove(const std::string& username) {
  std::lock_guard<std::mutex> guard(mtx_);
  auto it = nodes_.find(username);
  if (it == nodes_.end()) {
    return false;
  }
  if (--it->second > 0) {
    return false;
  }
  nodes_.erase(it);
  return true;
}

std::vector<std::string> online_board::names() const {
  std::lock_guard<std::mutex> guard(mtx_);
  std::vector<std::string> out;
  out.reserve(nodes_.size());
  for (const auto& [name, n] : nodes_) {
    out.push_back(name);
  }
  return out;
}

std::size_t online_board::size() const {
  std::lock_guard<std::mutex> guard(mtx_);
  return nodes_.size();
}

void online_board::clear() {
  std::lock_guard<std::mutex> guard(mtx_);
  nodes_.clear();
}

} // namespace solod
