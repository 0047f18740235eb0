#pragma once
/// @brief Many logins over a few keep-alive connections, a bounded number in flight.

#include "http_client.hpp"
#include "users.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace bench {

/// Logs in users[i % users.size()] for i = 0, 1, ... over `concurrency`
/// connections, each with one login in flight, until `count` logins were
/// answered or `deadline_ns` passed (no new login starts after it).
class login_pool {
public:
  login_pool(boost::asio::io_context& ioc, const target& t, std::size_t concurrency);

  /// `each(i, result)` runs for every answer; `done()` once all are answered.
  /// `users` must live until then.
  void run(const std::vector<bench_user>& users, std::string password, std::size_t count,
           std::int64_t deadline_ns, std::function<void(std::size_t, login_result&)> each,
           std::function<void()> done);

private:
  void next(std::size_t lane);

  std::vector<std::shared_ptr<http_client>> clients_;
  const std::vector<bench_user>* users_ = nullptr;
  std::string password_;
  std::size_t count_ = 0;
  std::int64_t deadline_ns_ = 0;
  std::size_t started_ = 0;
  std::size_t busy_ = 0;
  std::function<void(std::size_t, login_result&)> each_;
  std::function<void()> done_;
};

} // namespace bench
