#pragma once
/// @brief A fixed pool of threads for blocking jobs, with a bounded queue and,
/// per job, an optional bound on the wait before a thread takes it.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace solod {

/// Runs blocking jobs (Argon2id, database work) off the network and actor
/// threads. `try_submit` refuses work when the queue is full, so callers can
/// answer 503; a job submitted with a wait bound that no thread has started
/// in time is dropped and its `expired` runs instead, so a caller behind a
/// stalled pool hears 503 after the bound, not after the whole queue.
class worker_pool {
public:
  /// `threads` = 0 means one per core (at least 1); `name` names the threads (top -H, perf);
  /// `niceness` > 0 lowers the threads' CPU priority by that much (see thread_priority.hpp).
  worker_pool(std::size_t threads, std::size_t max_queue, const char* name, int niceness = 0);
  ~worker_pool();

  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;

  /// Queues `job`; false when the queue holds `max_queue` jobs already, or after stop().
  bool try_submit(std::function<void()> job);

  /// Queues `job`, to be started within `max_wait`; else it is removed and
  /// `expired` runs (on the pool's watchdog thread). Bounds expire in submit
  /// order, so a pool should use one bound for all its jobs.
  bool try_submit(std::function<void()> job, std::chrono::milliseconds max_wait,
                  std::function<void()> expired);

  /// Jobs waiting (not running).
  std::size_t queued() const;

  /// Jobs dropped because they waited longer than their bound.
  std::uint64_t expired_count() const;

  std::size_t thread_count() const { return threads_.size(); }

  /// Finishes queued jobs (expired or not) and joins the threads; idempotent.
  /// Call from the owner, never from a job.
  void stop();

private:
  using steady = std::chrono::steady_clock;
  struct job {
    std::function<void()> run;
    std::function<void()> expired; ///< empty: no wait bound
    steady::time_point deadline{};
  };

  bool push(job j);
  void run();
  void watch();

  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::condition_variable watch_cv_;
  std::deque<job> queue_;
  std::size_t max_queue_;
  bool stopping_ = false;
  bool watch_idle_ = false; ///< the watchdog waits with no deadline in sight
  std::uint64_t expired_ = 0;
  std::vector<std::thread> threads_;
  std::thread watchdog_; ///< expires bounded jobs
};

} // namespace solod
