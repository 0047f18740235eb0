#pragma once
/// @brief A fixed pool of threads for password hashing, with a bounded queue.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace solod {

/// Runs blocking jobs (Argon2id) off the network and actor threads.
/// `try_submit` refuses work when the queue is full, so callers can answer 503.
class hashing_pool {
public:
  /// `threads` = 0 means one per core (at least 1); `name` names the threads (top -H, perf).
  hashing_pool(std::size_t threads, std::size_t max_queue, const char* name = "solod-hash");
  ~hashing_pool();

  hashing_pool(const hashing_pool&) = delete;
  hashing_pool& operator=(const hashing_pool&) = delete;

  /// Queues `job`; false when the queue holds `max_queue` jobs already, or after stop().
  bool try_submit(std::function<void()> job);

  /// Jobs waiting (not running).
  std::size_t queued() const;

  std::size_t thread_count() const { return threads_.size(); }

  /// Finishes queued jobs and joins the threads; idempotent. Call from the owner, never from a job.
  void stop();

private:
  void run();

  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::size_t max_queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

} // namespace solod
