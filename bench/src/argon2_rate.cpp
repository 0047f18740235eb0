#include "argon2_rate.hpp"

#include "clock.hpp"

#include "auth/password_hasher.hpp"

#include <atomic>
#include <thread>
#include <vector>

namespace bench {

argon2_rate measure_argon2_rate(const std::string& password, std::size_t threads, double seconds) {
  if (threads == 0) {
    threads = std::max(1u, std::thread::hardware_concurrency());
  }
  const solod::password_hasher hasher; // solod's parameters: 19 MiB, t=2, p=1
  const auto hash = hasher.hash(password);
  std::atomic<std::size_t> verifies{0};
  const auto start = now_ns();
  const auto deadline = start + ns_of_seconds(seconds);
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      // Every thread finishes the verify it started: whole verifies only.
      while (now_ns() < deadline) {
        if (hasher.verify(hash, password)) {
          verifies++;
        }
      }
    });
  }
  for (auto& t : pool) {
    t.join();
  }
  argon2_rate r;
  r.seconds = seconds_of(now_ns() - start);
  r.verifies = verifies.load();
  r.threads = threads;
  r.per_second = r.seconds > 0 ? static_cast<double>(r.verifies) / r.seconds : 0;
  return r;
}

} // namespace bench
