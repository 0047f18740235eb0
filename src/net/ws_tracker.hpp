#pragma once
/// @brief Every open WebSocket, to count them (max_connections) and close them all at shutdown.

#include "net/ws_sink.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace solod {

/// A thread-safe set of the open WebSockets.
class ws_tracker {
public:
  void add(const std::shared_ptr<ws_sink>& s);
  void remove(const ws_sink* s);
  std::size_t size() const;
  /// Asks every open WebSocket to close with `code` (e.g. 1001 at shutdown).
  void close_all(std::uint16_t code, const std::string& reason);
  /// Drops every WebSocket's TCP connection (peers that ignored the close).
  void abort_all();

private:
  std::vector<std::shared_ptr<ws_sink>> snapshot() const;

  mutable std::mutex mtx_;
  std::unordered_map<const ws_sink*, std::weak_ptr<ws_sink>> sinks_;
};

} // namespace solod
