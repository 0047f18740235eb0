#pragma once
/// @brief Client worker processes: each holds a share of the connections, meets the others at
/// named barriers, and reports one JSON line to the parent through a pipe.
///
/// One process may open only RLIMIT_NOFILE files (20,000 here), so a run of
/// 19,000 connections plus the server's own sockets spreads over several
/// processes. Each worker runs its own single-threaded io_context. The
/// parent only coordinates: at a barrier it waits for every worker, may act
/// (read the server's RSS, sleep), then answers all of them at once.

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace bench {

using json = nlohmann::json;

/// A worker's end of the pipes to its parent.
class worker_link {
public:
  worker_link(std::size_t index, std::size_t count, int up_fd, int down_fd);
  ~worker_link();
  worker_link(const worker_link&) = delete;
  worker_link& operator=(const worker_link&) = delete;

  std::size_t index() const { return index_; }
  std::size_t count() const { return count_; }

  /// This worker's part [begin, end) of `n` items split evenly over the workers.
  std::pair<std::size_t, std::size_t> share(std::size_t n) const;

  /// Tells the parent this worker reached barrier `name` (with `payload`), and
  /// runs `go` on `ioc` with the parent's answer once every worker has. The
  /// io_context keeps running meanwhile (pings are answered, frames read).
  void barrier(boost::asio::io_context& ioc, const std::string& name, json payload,
               std::function<void(json answer)> go);

  /// Sends the final report (blocking).
  void report(const json& result);

private:
  void write_line(const json& j);

  std::size_t index_;
  std::size_t count_;
  int up_fd_;
  int down_fd_;
  struct reader;
  std::unique_ptr<reader> reader_;
};

/// The parent's view of a barrier: every worker's payload, by worker index.
/// It returns the answer every worker receives (`{}` when nothing to say).
using barrier_hook = std::function<json(const std::string& name, const std::vector<json>& payloads)>;

/// What the workers reported.
struct worker_results {
  std::vector<json> reports; ///< by worker index; null where a worker failed
  bool ok = true;            ///< every worker reported
  std::string error;         ///< why not
};

/// Forks `count` workers running `body` (its return value is the report) and
/// waits for them, at most `timeout`; stragglers are killed (by pid).
/// Call before starting any thread in this process.
worker_results run_workers(std::size_t count, std::chrono::seconds timeout, barrier_hook hook,
                           std::function<json(worker_link&)> body);

/// Raises RLIMIT_NOFILE to its hard limit; returns the new soft limit.
std::size_t raise_open_file_limit();

/// How many worker processes `connections` need: at least `requested`, and
/// enough that none holds more than 3/4 of the open-file limit.
std::size_t processes_for(std::size_t connections, std::size_t requested);

} // namespace bench
