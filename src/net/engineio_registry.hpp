#pragma once
/// @brief The Engine.IO sessions this node holds, by sid (for polling requests and upgrades).

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace solod {

class engineio_session;

/// A thread-safe map sid -> session. A sid is a 128-bit secret: whoever
/// knows it may poll the session, so it is never logged nor shown.
class engineio_registry {
public:
  /// Adds `s` under `sid`.
  void add(const std::string& sid, std::shared_ptr<engineio_session> s);
  /// The session of `sid`, or null (ended, or held by another node).
  std::shared_ptr<engineio_session> find(const std::string& sid) const;
  void remove(const std::string& sid);
  std::size_t size() const;

private:
  mutable std::mutex mtx_;
  std::unordered_map<std::string, std::shared_ptr<engineio_session>> sessions_;
};

} // namespace solod
