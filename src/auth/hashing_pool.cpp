#include "auth/hashing_pool.hpp"

#include "util/thread_name.hpp"

#include <algorithm>

namespace solod {

hashing_pool::hashing_pool(std::size_t threads, std::size_t max_queue, const char* name)
  : max_queue_(max_queue) {
  if (threads == 0) {
    // hardware_concurrency may answer 0 when it cannot tell.
    threads = std::max(1u, std::thread::hardware_concurrency());
  }
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this, name, i] {
      name_this_thread(name, i);
      run();
    });
  }
}

hashing_pool::~hashing_pool() {
  stop();
}

bool hashing_pool::try_submit(std::function<void()> job) {
  {
    std::lock_guard lock{mtx_};
    if (stopping_ || queue_.size() >= max_queue_) {
      return false;
    }
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

std::size_t hashing_pool::queued() const {
  std::lock_guard lock{mtx_};
  return queue_.size();
}

void hashing_pool::stop() {
  {
    std::lock_guard lock{mtx_};
    stopping_ = true;
  }
  cv_.notify_all();
  // Workers leave only once the queue is empty, so joining drains it.
  for (auto& t : threads_) {
    if (t.joinable()) {
      t.join();
    }
  }
}

void hashing_pool::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock{mtx_};
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        return;
      }
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      job();
    } catch (...) {
      // A job reports its own outcome (through its callback); a throw must not take a worker down.
    }
  }
}

} // namespace solod
