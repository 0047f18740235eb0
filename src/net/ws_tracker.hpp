#pragma once
/// @brief Every open WebSocket, to count them (max_connections) and close them all at shutdown.

#include "actors/ws_sink.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <unordered_map>
#include <vector>

namespace solod {

/// A thread-safe set of the open WebSockets.
class ws_tracker {
public:
  /// Adds a WebSocket that has just been accepted. Once `close_all` has run
  /// (shutdown), it is closed with the same code at once: its upgrade raced the
  /// signal, and it must hear 1001 like the others, not a bare TCP close.
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
  /// Set by `close_all`: the close every later arrival gets.
  std::optional<std::pair<std::uint16_t, std::string>> closing_;
};

} // namespace solod
