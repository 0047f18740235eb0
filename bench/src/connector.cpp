#include "connector.hpp"

#include "clock.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>

namespace bench {

connector::connector(boost::asio::io_context& ioc, const target& t, ws_listener& next, std::size_t window)
  : ioc_(ioc), target_(t), next_(next), window_(std::max<std::size_t>(window, 1)) {}

void connector::open(std::vector<const std::string*> tokens, std::size_t first_index,
                     std::function<void()> done) {
  tokens_ = std::move(tokens);
  first_index_ = first_index;
  cursor_ = 0;
  pending_ = tokens_.size();
  done_ = std::move(done);
  if (clients_.size() < first_index + tokens_.size()) {
    clients_.resize(first_index + tokens_.size());
  }
  if (first_start_ns_ == 0) {
    first_start_ns_ = now_ns();
  }
  if (pending_ == 0) {
    boost::asio::post(ioc_, [d = std::move(done_)] { d(); });
    return;
  }
  launch();
}

void connector::launch() {
  while (in_flight_ < window_ && cursor_ < tokens_.size()) {
    auto index = first_index_ + cursor_;
    auto c = make_ws_client(ioc_, target_, *this, index);
    clients_[index] = c;
    ++in_flight_;
    c->start(*tokens_[cursor_]);
    ++cursor_;
  }
}

void connector::finished_one() {
  --in_flight_;
  launch();
  if (--pending_ == 0 && done_) {
    auto d = std::move(done_);
    done_ = nullptr;
    d();
  }
}

void connector::on_ready(ws_client& c) {
  ++ready_;
  last_ready_ns_ = std::max(last_ready_ns_, c.ready_ns);
  latency_.record(c.ready_ns - c.started_ns);
  next_.on_ready(c);
  finished_one();
}

void connector::on_message(ws_client& c, const inbound& m, std::string_view frame) {
  next_.on_message(c, m, frame);
}

void connector::on_closed(ws_client& c, const close_info& info) {
  if (info.before_ready) {
    ++failed_;
    std::string why = (info.code != 0 ? "close " + std::to_string(info.code) + " " : "") + info.reason;
    if (errors_.size() < 5 && std::find(errors_.begin(), errors_.end(), why) == errors_.end()) {
      errors_.push_back(why);
    }
    next_.on_closed(c, info);
    finished_one();
    return;
  }
  ++dropped_;
  next_.on_closed(c, info);
}

nlohmann::json connector::to_json() const {
  return {{"ready", ready_},
          {"failed", failed_},
          {"dropped", dropped_},
          {"first_start_ns", first_start_ns_},
          {"last_ready_ns", last_ready_ns_},
          {"latency", latency_.to_json()},
          {"errors", errors_}};
}

} // namespace bench
