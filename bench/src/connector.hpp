#pragma once
/// @brief Opens many WebSockets with a bounded number of handshakes in flight, and times each.

#include "latency_histogram.hpp"
#include "ws_client.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace bench {

/// Opens connections in waves of at most `window` unfinished handshakes
/// (TCP connect + TLS + upgrade + authentication + welcome). It listens to
/// every connection first, counts, and forwards everything to `next`.
class connector final : public ws_listener {
public:
  connector(boost::asio::io_context& ioc, const target& t, ws_listener& next, std::size_t window);

  /// Opens one connection per token; connection i gets index `first_index + i`
  /// and lands in clients()[first_index + i]. `done` runs once every one of
  /// them is ready or has failed. Tokens must live until then.
  void open(std::vector<const std::string*> tokens, std::size_t first_index, std::function<void()> done);

  /// Every connection opened so far, by index (null where none was opened).
  std::vector<std::shared_ptr<ws_client>>& clients() { return clients_; }

  std::size_t ready_count() const { return ready_; }
  std::size_t failed_count() const { return failed_; }
  /// Ready connections that closed since.
  std::size_t dropped_count() const { return dropped_; }
  std::int64_t first_start_ns() const { return first_start_ns_; }
  std::int64_t last_ready_ns() const { return last_ready_ns_; }
  const latency_histogram& latency() const { return latency_; }
  /// Up to 5 distinct reasons connections failed to open.
  const std::vector<std::string>& errors() const { return errors_; }

  /// Counts and latency as JSON, for a worker's report.
  nlohmann::json to_json() const;

  // -- ws_listener ----------------------------------------------------------------
  void on_ready(ws_client& c) override;
  void on_message(ws_client& c, const inbound& m, std::string_view frame) override;
  void on_closed(ws_client& c, const close_info& info) override;

private:
  void launch();
  void finished_one();

  boost::asio::io_context& ioc_;
  const target& target_;
  ws_listener& next_;
  std::size_t window_;
  std::vector<std::shared_ptr<ws_client>> clients_;
  std::vector<const std::string*> tokens_;
  std::size_t first_index_ = 0;
  std::size_t cursor_ = 0;
  std::size_t in_flight_ = 0;
  std::size_t pending_ = 0;
  std::function<void()> done_;
  std::size_t ready_ = 0;
  std::size_t failed_ = 0;
  std::size_t dropped_ = 0;
  std::int64_t first_start_ns_ = 0;
  std::int64_t last_ready_ns_ = 0;
  latency_histogram latency_;
  std::vector<std::string> errors_;
};

} // namespace bench
