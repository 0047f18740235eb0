#include "net/socketio_outbound.hpp"

#include "protocol/engineio_packet.hpp"
#include "protocol/socketio_packet.hpp"

#include <array>
#include <mutex>

namespace solod {

namespace {

/// The last translations, by text. A slot matches only while its text is
/// alive: an address reused by a new text belongs to an expired weak_ptr.
class translation_memo {
public:
  using packets = std::shared_ptr<const std::vector<std::string>>;

  packets find(const ws_text& text) {
    std::lock_guard<std::mutex> guard(mtx_);
    for (auto& s : slots_) {
      if (s.raw == text.get() && !s.text.expired()) {
        return s.out;
      }
    }
    return nullptr;
  }

  void remember(const ws_text& text, packets out) {
    std::lock_guard<std::mutex> guard(mtx_);
    auto& s = slots_[next_++ % slots_.size()];
    s.raw = text.get();
    s.text = text;
    s.out = std::move(out);
  }

private:
  struct slot {
    const std::string* raw = nullptr;
    std::weak_ptr<const std::string> text;
    packets out;
  };
  std::mutex mtx_;
  std::array<slot, 16> slots_;
  std::size_t next_ = 0;
};

translation_memo& memo() {
  static translation_memo m;
  return m;
}

} // namespace

std::shared_ptr<const std::vector<std::string>> socketio_outbound(const ws_text& text) {
  if (auto hit = memo().find(text)) {
    return hit;
  }
  auto out = std::make_shared<std::vector<std::string>>();
  for (auto& packet : socketio_packets_of(*text)) {
    out->push_back(encode_eio(eio_type::message, packet));
  }
  memo().remember(text, out);
  return out;
}

} // namespace solod
