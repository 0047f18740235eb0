#pragma once
/// @brief Caps the accepted sockets: all of them (server.max_connections) and
/// those of one address (server.max_connections_per_ip, IPv6 per /64).

#include "net/proxy_trust.hpp"

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace solod {

class connection_limiter;
struct metrics;

/// The place one accepted socket holds from accept to close, whatever it
/// turns into (TLS detection, HTTP, WebSocket). Move-only; the place is freed
/// when the last owner lets go.
class connection_slot {
public:
  connection_slot() = default;
  connection_slot(connection_slot&& other) noexcept;
  connection_slot& operator=(connection_slot&& other) noexcept;
  connection_slot(const connection_slot&) = delete;
  connection_slot& operator=(const connection_slot&) = delete;
  ~connection_slot();

  /// True when this slot holds a place.
  explicit operator bool() const { return owner_ != nullptr; }

private:
  friend class connection_limiter;
  connection_slot(connection_limiter* owner, std::string key) : owner_(owner), key_(std::move(key)) {}
  void release();

  connection_limiter* owner_ = nullptr;
  std::string key_; ///< address_key of the peer; empty when exempt from the per-address cap
};

/// Thread-safe: places are taken on the accepting thread and given back on
/// whichever thread closes the socket.
class connection_limiter {
public:
  /// `exempt` are the trusted proxies (CIDR text): every client of a reverse
  /// proxy arrives from its address, so only the total caps them.
  connection_limiter(std::size_t max_total, std::size_t max_per_address,
                     const std::vector<std::string>& exempt, metrics* stats);

  /// A place for a socket from `peer` (textual address), or an empty slot when
  /// either cap is reached (counted in the metrics).
  connection_slot try_admit(const std::string& peer);

  /// Sockets holding a place.
  std::size_t open() const;

  /// Sockets of `peer`'s key holding a place.
  std::size_t open_from(const std::string& peer) const;

private:
  friend class connection_slot;
  void release(const std::string& key);

  std::size_t max_total_;
  std::size_t max_per_address_;
  std::vector<ip_network> exempt_;
  metrics* stats_;
  mutable std::mutex mtx_;
  std::size_t total_ = 0;
  std::unordered_map<std::string, std::size_t> per_key_;
};

} // namespace solod
