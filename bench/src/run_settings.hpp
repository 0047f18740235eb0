#pragma once
/// @brief What every network scenario shares: the server, who to be, how many processes, the time cap.

#include "latency_histogram.hpp"
#include "options.hpp"
#include "target.hpp"
#include "users.hpp"

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace bench {

/// The common options, read once in the parent before the workers fork.
struct run_settings {
  std::string url;
  target server;
  /// --urls: several nodes of one cluster; worker w talks to nodes[w % size] (default: server alone).
  std::vector<target> nodes;
  std::string label;              ///< names the server in results ("solod", "flask", "node")
  std::string password;
  std::vector<bench_user> users;  ///< from --tokens, or generated names to log in first
  bool tokens_given = false;
  std::size_t processes = 1;      ///< requested; scenarios raise it for the open-file limit
  std::size_t window = 256;       ///< handshakes in flight per process
  std::size_t login_concurrency = 32; ///< setup logins in flight per process (peers)
  std::chrono::seconds timeout{600};
  pid_t server_pid = 0;           ///< 0 = unknown
};

/// The options every network scenario accepts.
std::vector<option_spec> common_specs();

/// The node worker `index` talks to (round robin over --urls).
const target& node_for(const run_settings& s, std::size_t index);

/// Reads the common options; `users_needed` users must be in the token file
/// (or are generated when none is given). Throws usage_error.
run_settings read_settings(const options& opts, std::size_t users_needed);

/// The head of every RESULT line: scenario, proto, label, tls.
nlohmann::json result_head(const std::string& scenario, const run_settings& s);

/// In a worker: logs in users[begin, end) that have no token yet (peers, or
/// no token file), setting their tokens; then `done(failed)`. Untimed setup.
void ensure_tokens(boost::asio::io_context& ioc, const run_settings& s, std::vector<bench_user>& users,
                   std::size_t begin, std::size_t end, std::function<void(std::size_t failed)> done);

/// Stops `ioc` after `limit` (every worker loop is bounded in time); sets `*timed_out`.
void arm_deadline(boost::asio::io_context& ioc, std::chrono::seconds limit, bool* timed_out);

/// Merges the histogram `key` of every report.
latency_histogram merged_histogram(const std::vector<nlohmann::json>& reports, const std::string& key);

/// Sum of the integer `key` over every report.
long long sum_of(const std::vector<nlohmann::json>& reports, const std::string& key);

/// Up to 5 distinct reasons connections failed to open, from every report
/// (its own "errors" and those of the connector reports inside it).
nlohmann::json connect_errors(const std::vector<nlohmann::json>& reports);

/// Smallest / largest non-zero integer `key` over every report (0 if none).
long long min_of(const std::vector<nlohmann::json>& reports, const std::string& key);
long long max_of(const std::vector<nlohmann::json>& reports, const std::string& key);

} // namespace bench
