#pragma once
/// @brief Who is online in the whole cluster, readable from any thread.

#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace solod {

/// The usernames online on any node, kept by the presence actor as users
/// come and go, read by the HTTP API (`/api/online`) without a round trip
/// through the actor. Counts are per node that reports the user.
class online_board {
public:
  /// `username` gained a node that has it online; true if it just came online.
  bool add(const std::string& username);

  /// `username` lost a node; true if it is now offline everywhere.
  bool remove(const std::string& username);

  /// Online usernames, sorted.
  std::vector<std::string> names() const;

  /// Number of online users.
  std::size_t size() const;

  /// Forgets everyone (the presence actor restarts empty).
  void clear();

private:
  mutable std::mutex mtx_;
  std::map<std::string, int> nodes_; ///< username -> nodes it is online on
};

} // namespace solod
