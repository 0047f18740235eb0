#include "login_pool.hpp"

#include "clock.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>

namespace bench {

login_pool::login_pool(boost::asio::io_context& ioc, const target& t, std::size_t concurrency) {
  for (std::size_t i = 0; i < std::max<std::size_t>(concurrency, 1); ++i) {
    clients_.push_back(make_http_client(ioc, t));
  }
}

void login_pool::run(const std::vector<bench_user>& users, std::string password, std::size_t count,
                     std::int64_t deadline_ns, std::function<void(std::size_t, login_result&)> each,
                     std::function<void()> done) {
  users_ = &users;
  password_ = std::move(password);
  count_ = users.empty() ? 0 : count;
  deadline_ns_ = deadline_ns;
  started_ = 0;
  busy_ = 0;
  each_ = std::move(each);
  done_ = std::move(done);
  for (std::size_t lane = 0; lane < clients_.size(); ++lane) {
    next(lane);
  }
  if (busy_ == 0 && done_) {
    auto d = std::move(done_);
    done_ = nullptr;
    d();
  }
}

void login_pool::next(std::size_t lane) {
  if (started_ >= count_ || (deadline_ns_ > 0 && now_ns() >= deadline_ns_)) {
    return;
  }
  auto i = started_++;
  ++busy_;
  const auto& user = (*users_)[i % users_->size()];
  login(*clients_[lane], user.name, password_, [this, lane, i](login_result r) {
    --busy_;
    each_(i, r);
    next(lane);
    if (busy_ == 0 && done_) {
      auto d = std::move(done_);
      done_ = nullptr;
      d();
    }
  });
}

} // namespace bench
