#pragma once
/// @brief The network threads: one io_context per thread, connections spread over them.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace solod {

/// N single-threaded io_contexts. A connection lives on one context for its
/// whole life, so its handlers never run concurrently without a strand, and
/// the threads never contend for one shared handler queue (with one shared
/// io_context, two threads spent much of their time on its mutex and on
/// waking each other).
class io_pool {
public:
  /// Creates `threads` contexts (at least one); nothing runs until `start`.
  explicit io_pool(std::size_t threads);

  /// Stops and joins the threads if `stop` was not called.
  ~io_pool();

  io_pool(const io_pool&) = delete;
  io_pool& operator=(const io_pool&) = delete;

  /// The context for the next connection (round-robin; any thread).
  boost::asio::io_context& next();

  /// The first context: home of the acceptor and the signal handler.
  boost::asio::io_context& first() { return *contexts_.front(); }

  /// Runs every context on its own thread.
  void start();

  /// Stops every context and joins the threads.
  void stop();

  /// How many contexts (and threads) there are.
  std::size_t size() const { return contexts_.size(); }

private:
  using work_guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;

  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<work_guard> guards_;
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> next_{0};
};

} // namespace solod
