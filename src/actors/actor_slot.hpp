#pragma once
/// @brief A handle to an actor that may be replaced while other threads read it.

#include <caf/actor.hpp>

#include <mutex>

namespace solod {

/// Holds the current actor of a service that is restarted when it fails (the
/// presence actor): everyone asks the slot at each send instead of keeping a
/// handle that may point at a dead actor. One short lock per read.
class actor_slot {
public:
  /// The current actor (null before the first set()).
  caf::actor get() const {
    std::lock_guard<std::mutex> guard(mtx_);
    return actor_;
  }

  /// Makes `a` the current actor.
  void set(caf::actor a) {
    std::lock_guard<std::mutex> guard(mtx_);
    actor_ = std::move(a);
  }

private:
  mutable std::mutex mtx_;
  caf::actor actor_;
};

} // namespace solod
