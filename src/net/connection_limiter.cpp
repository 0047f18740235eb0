#include "net/connection_limiter.hpp"

#include "util/address_key.hpp"
#include "util/metrics.hpp"

namespace solod {

// -- connection_slot ------------------------------------------------------------

connection_slot::connection_slot(connection_slot&& other) noexcept
  : owner_(other.owner_), key_(std::move(other.key_)) {
  other.owner_ = nullptr;
}

connection_slot& connection_slot::operator=(connection_slot&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = other.owner_;
    key_ = std::move(other.key_);
    other.owner_ = nullptr;
  }
  return *this;
}

connection_slot::~connection_slot() {
  release();
}

void connection_slot::release() {
  if (owner_) {
    owner_->release(key_);
    owner_ = nullptr;
  }
}

// -- connection_limiter -----------------------------------------------------------

connection_limiter::connection_limiter(std::size_t max_total, std::size_t max_per_address,
                                       const std::vector<std::string>& exempt, metrics* stats)
  : max_total_(max_total), max_per_address_(max_per_address), stats_(stats) {
  for (const auto& cidr : exempt) {
    if (auto net = ip_network::parse(cidr)) {
      exempt_.push_back(*net);
    }
  }
}

connection_slot connection_limiter::try_admit(const std::string& peer) {
  bool exempt = false;
  for (const auto& net : exempt_) {
    exempt = exempt || net.contains(peer);
  }
  std::string key = exempt ? std::string() : address_key(peer);
  if (!exempt && key.empty()) {
    key = "unknown"; // the empty key means exempt
  }
  std::lock_guard lock{mtx_};
  if (total_ >= max_total_) {
    stats_->connections_refused_total++;
    return {};
  }
  if (!exempt) {
    auto& n = per_key_[key];
    if (n >= max_per_address_) {
      stats_->connections_refused_per_ip++;
      return {};
    }
    ++n;
  }
  ++total_;
  stats_->open_connections++;
  return connection_slot(this, std::move(key));
}

void connection_limiter::release(const std::string& key) {
  std::lock_guard lock{mtx_};
  --total_;
  stats_->open_connections--;
  if (key.empty()) {
    return;
  }
  auto it = per_key_.find(key);
  if (it != per_key_.end() && --it->second == 0) {
    per_key_.erase(it); // the map holds only addresses with open sockets
  }
}

std::size_t connection_limiter::open() const {
  std::lock_guard lock{mtx_};
  return total_;
}

std::size_t connection_limiter::open_from(const std::string& peer) const {
  std::lock_guard lock{mtx_};
  auto it = per_key_.find(address_key(peer));
  return it == per_key_.end() ? 0 : it->second;
}

} // namespace solod
