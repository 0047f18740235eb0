#include "net/io_pool.hpp"

#include "util/thread_name.hpp"

#include <algorithm>

namespace solod {

io_pool::io_pool(std::size_t threads) {
  threads = std::max<std::size_t>(threads, 1);
  contexts_.reserve(threads);
  guards_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    // Concurrency hint 1: one thread runs each context, which lets Asio keep
    // handlers posted from that thread in a private queue without locking.
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
    guards_.push_back(boost::asio::make_work_guard(*contexts_.back()));
  }
}

io_pool::~io_pool() {
  stop();
}

boost::asio::io_context& io_pool::next() {
  return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

void io_pool::start() {
  for (std::size_t i = 0; i < contexts_.size(); ++i) {
    threads_.emplace_back([c = contexts_[i].get(), i] {
      name_this_thread("solod-io", i);
      c->run();
    });
  }
}

void io_pool::stop() {
  for (auto& ctx : contexts_) {
    ctx->stop();
  }
  for (auto& t : threads_) {
    if (t.joinable()) {
      t.join();
    }
  }
  threads_.clear();
}

} // namespace solod
