#include "util/worker_pool.hpp"

#include "util/thread_name.hpp"
#include "util/thread_priority.hpp"

#include <algorithm>
#include <optional>

namespace solod {

worker_pool::worker_pool(std::size_t threads, std::size_t max_queue, const char* name,
                         int niceness)
  : max_queue_(max_queue) {
  if (threads == 0) {
    // hardware_concurrency may answer 0 when it cannot tell.
    threads = std::max(1u, std::thread::hardware_concurrency());
  }
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this, name, i, niceness] {
      name_this_thread(name, i);
      lower_this_thread_priority(niceness);
      run();
    });
  }
  // Started here, not by the first bounded job: a thread inherits its
  // creator's priority, and that job may come from a lowered pool.
  watchdog_ = std::thread([this] {
    name_this_thread("solod-wait", 0);
    watch();
  });
}

worker_pool::~worker_pool() {
  stop();
}

bool worker_pool::try_submit(std::function<void()> job_fn) {
  return push(job{std::move(job_fn), {}, {}});
}

bool worker_pool::try_submit(std::function<void()> job_fn, std::chrono::milliseconds max_wait,
                             std::function<void()> expired) {
  if (!expired) {
    expired = [] {};
  }
  return push(job{std::move(job_fn), std::move(expired), steady::now() + max_wait});
}

bool worker_pool::push(job j) {
  bool wake_watchdog = false;
  {
    std::lock_guard lock{mtx_};
    if (stopping_ || queue_.size() >= max_queue_) {
      return false;
    }
    wake_watchdog = j.expired && watch_idle_;
    queue_.push_back(std::move(j));
  }
  cv_.notify_one();
  if (wake_watchdog) {
    watch_cv_.notify_one();
  }
  return true;
}

std::size_t worker_pool::queued() const {
  std::lock_guard lock{mtx_};
  return queue_.size();
}

std::uint64_t worker_pool::expired_count() const {
  std::lock_guard lock{mtx_};
  return expired_;
}

void worker_pool::stop() {
  {
    std::lock_guard lock{mtx_};
    stopping_ = true;
  }
  cv_.notify_all();
  watch_cv_.notify_all();
  // Workers leave only once the queue is empty, so joining drains it.
  for (auto& t : threads_) {
    if (t.joinable()) {
      t.join();
    }
  }
  if (watchdog_.joinable()) {
    watchdog_.join();
  }
}

void worker_pool::run() {
  for (;;) {
    std::function<void()> job_fn;
    {
      std::unique_lock lock{mtx_};
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        return;
      }
      job_fn = std::move(queue_.front().run);
      queue_.pop_front();
    }
    try {
      job_fn();
    } catch (...) {
      // A job reports its own outcome (through its callback); a throw must not take a worker down.
    }
  }
}

void worker_pool::watch() {
  std::unique_lock lock{mtx_};
  while (!stopping_) {
    const auto now = steady::now();
    std::vector<std::function<void()>> due;
    std::optional<steady::time_point> next;
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (!it->expired) {
        ++it; // no bound: it waits as long as it must
      } else if (it->deadline <= now) {
        due.push_back(std::move(it->expired));
        it = queue_.erase(it);
      } else {
        next = it->deadline; // later jobs have later deadlines
        break;
      }
    }
    if (!due.empty()) {
      expired_ += due.size();
      lock.unlock();
      for (auto& f : due) {
        try {
          f();
        } catch (...) {
          // As with jobs: the callback reports on its own.
        }
      }
      lock.lock();
      continue;
    }
    if (next) {
      watch_cv_.wait_until(lock, *next);
    } else {
      watch_idle_ = true;
      watch_cv_.wait(lock);
      watch_idle_ = false;
    }
  }
}

} // namespace solod
