#include "net/message_rate_limiter.hpp"

namespace solod {

message_rate_limiter::verdict message_rate_limiter::on_message(long long now_ms) {
  if (!started_ || now_ms - window_start_ms_ >= 1000) {
    started_ = true;
    window_start_ms_ = now_ms;
    window_count_ = 0;
  }
  ++window_count_;
  if (window_count_ <= limit_) {
    return verdict::pass;
  }
  if (window_count_ > 2 * limit_) {
    return verdict::close; // it went on after the warning: policy violation
  }
  return window_count_ == limit_ + 1 ? verdict::warn : verdict::drop;
}

} // namespace solod
