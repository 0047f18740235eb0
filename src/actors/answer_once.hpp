#pragma once
/// @brief A reply callback that is answered exactly once: by its caller, or with a
/// fallback when it is dropped unanswered (its actor failed).

#include <atomic>
#include <functional>
#include <memory>
#include <utility>

namespace solod {

/// Wraps `reply` so that it runs at most once, and runs with `fallback` when
/// the last copy of the wrapper is destroyed without having been called.
///
/// Why: a reply travels inside messages and database jobs. When the actor
/// that owes the answer fails, those messages are dropped with its mailbox and
/// the jobs' answers bounce; without this, the HTTP request waiting on the
/// reply would hang until its client gave up. The fallback runs on whatever
/// thread drops the last copy, so `reply` must only hand off (as it must anyway).
template <class Arg>
std::function<void(Arg)> answer_once(std::function<void(Arg)> reply,
                                     std::decay_t<Arg> fallback) {
  if (!reply) {
    return reply;
  }
  struct once {
    std::function<void(Arg)> fn;
    std::decay_t<Arg> fallback;
    std::atomic<bool> answered{false};

    once(std::function<void(Arg)> f, std::decay_t<Arg> fb)
      : fn(std::move(f)), fallback(std::move(fb)) {}
    ~once() {
      if (!answered.exchange(true)) {
        try {
          fn(fallback);
        } catch (...) {
          // A destructor must not throw; the caller's hand-off failed, nothing more to do.
        }
      }
    }
    void operator()(Arg value) {
      if (!answered.exchange(true)) {
        fn(std::forward<Arg>(value));
      }
    }
  };
  auto state = std::make_shared<once>(std::move(reply), std::move(fallback));
  return [state](Arg value) { (*state)(std::forward<Arg>(value)); };
}

} // namespace solod
