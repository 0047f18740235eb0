#pragma once
/// @brief Test double of solod::ws_sink: records every text and the close, thread-safe,
/// with bounded waits for what the actors will eventually send.

#include "actors/ws_sink.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace test_support {

/// The close a sink was asked for.
struct close_record {
  std::uint16_t code = 0;
  std::string reason;
};

/// A ws_sink that keeps, in order, everything the actors hand it, and whether
/// it was closed or aborted. Like the real
/// WebSocket session it drops what comes after close() from what the client
/// would see (texts()), but it counts those late sends, so a test can tell
/// "sent to a closed connection" from "never sent".
class recording_sink final : public solod::ws_sink {
public:
  /// The guard of every wait: long enough never to matter when things work,
  /// short enough that a hang fails the test instead of the CI job.
  static constexpr std::chrono::milliseconds hang_guard{std::chrono::seconds{10}};

  // -- ws_sink: any thread -----------------------------------------------------

  void send(solod::ws_text text) override {
    {
      std::lock_guard<std::mutex> guard(mtx_);
      take(std::move(text));
      batches_++;
    }
    cv_.notify_all();
  }

  void send_batch(std::shared_ptr<const std::vector<solod::ws_text>> texts) override {
    {
      std::lock_guard<std::mutex> guard(mtx_);
      for (const auto& t : *texts) {
        take(t);
      }
      batches_++;
    }
    cv_.notify_all();
  }

  void close(solod::ws_text last, std::uint16_t code, std::string reason) override {
    {
      std::lock_guard<std::mutex> guard(mtx_);
      if (last) {
        take(std::move(last));
      }
      close_calls_++;
      if (!closed_) {
        closed_ = close_record{code, std::move(reason)};
      }
    }
    cv_.notify_all();
  }

  void abort() override {
    {
      std::lock_guard<std::mutex> guard(mtx_);
      aborted_ = true;
    }
    cv_.notify_all();
  }

  void go_live(solod::ws_text welcome) override {
    {
      std::lock_guard<std::mutex> guard(mtx_);
      take(std::move(welcome));
      batches_++;
      answers_pings_ = true;
    }
    cv_.notify_all();
  }

  /// go_live() was called: the connection actor handed ping answering to the session.
  bool answers_pings() const {
    std::lock_guard<std::mutex> guard(mtx_);
    return answers_pings_;
  }

  // -- reading what was recorded --------------------------------------------

  /// Every text sent before the first close(), in order: what the client sees.
  std::vector<std::string> texts() const {
    std::lock_guard<std::mutex> guard(mtx_);
    return texts_;
  }

  /// texts(), parsed (a text that is not JSON becomes a discarded value).
  std::vector<nlohmann::json> messages() const {
    std::vector<nlohmann::json> out;
    for (const auto& t : texts()) {
      out.push_back(nlohmann::json::parse(t, nullptr, false));
    }
    return out;
  }

  /// The parsed messages whose "type" is `type`.
  std::vector<nlohmann::json> messages_of(const std::string& type) const {
    std::vector<nlohmann::json> out;
    for (auto& m : messages()) {
      if (is_type(m, type)) {
        out.push_back(std::move(m));
      }
    }
    return out;
  }

  std::size_t count_of(const std::string& type) const { return messages_of(type).size(); }

  /// The first close asked for, if any.
  std::optional<close_record> closed() const {
    std::lock_guard<std::mutex> guard(mtx_);
    return closed_;
  }

  /// How many times close() was called.
  int close_calls() const {
    std::lock_guard<std::mutex> guard(mtx_);
    return close_calls_;
  }

  /// True once abort() was called.
  bool aborted() const {
    std::lock_guard<std::mutex> guard(mtx_);
    return aborted_;
  }

  /// Texts handed over after close(): the real session drops them unseen.
  std::size_t sent_after_close() const {
    std::lock_guard<std::mutex> guard(mtx_);
    return after_close_;
  }

  /// send() calls plus send_batch() calls.
  std::size_t hand_offs() const {
    std::lock_guard<std::mutex> guard(mtx_);
    return batches_;
  }

  // -- waiting (bounded only by hang_guard) ------------------------------------

  /// Waits until `done(texts, close)` holds; false only if the guard ran out.
  bool wait_until(const std::function<bool(const std::vector<std::string>&,
                                           const std::optional<close_record>&)>& done,
                  std::chrono::milliseconds limit = hang_guard) const {
    std::unique_lock<std::mutex> lock(mtx_);
    return cv_.wait_for(lock, limit, [&] { return done(texts_, closed_); });
  }

  /// Waits for at least `n` messages of `type`.
  bool wait_for_type(const std::string& type, std::size_t n = 1,
                     std::chrono::milliseconds limit = hang_guard) const {
    return wait_until(
      [&](const std::vector<std::string>& texts, const std::optional<close_record>&) {
        std::size_t seen = 0;
        for (const auto& t : texts) {
          seen += is_type(nlohmann::json::parse(t, nullptr, false), type) ? 1 : 0;
        }
        return seen >= n;
      },
      limit);
  }

  /// Waits for a message of `type` whose `field` equals `value` (e.g. the pong of one ping id).
  bool wait_for_field(const std::string& type, const std::string& field,
                      const nlohmann::json& value, std::chrono::milliseconds limit = hang_guard) const {
    return wait_until(
      [&](const std::vector<std::string>& texts, const std::optional<close_record>&) {
        for (const auto& t : texts) {
          auto m = nlohmann::json::parse(t, nullptr, false);
          if (is_type(m, type) && m.contains(field) && m[field] == value) {
            return true;
          }
        }
        return false;
      },
      limit);
  }

  /// Waits for at least `n` texts of any kind.
  bool wait_for_count(std::size_t n, std::chrono::milliseconds limit = hang_guard) const {
    return wait_until(
      [&](const std::vector<std::string>& texts, const std::optional<close_record>&) {
        return texts.size() >= n;
      },
      limit);
  }

  /// Waits for the close.
  bool wait_closed(std::chrono::milliseconds limit = hang_guard) const {
    return wait_until(
      [](const std::vector<std::string>&, const std::optional<close_record>& c) {
        return c.has_value();
      },
      limit);
  }

  static bool is_type(const nlohmann::json& m, const std::string& type) {
    if (!m.is_object()) {
      return false;
    }
    auto it = m.find("type");
    return it != m.end() && it->is_string() && *it == type;
  }

private:
  void take(solod::ws_text text) {
    if (closed_) {
      after_close_++;
    } else {
      texts_.push_back(*text);
    }
  }

  mutable std::mutex mtx_;
  mutable std::condition_variable cv_;
  std::vector<std::string> texts_;
  std::optional<close_record> closed_;
  int close_calls_ = 0;
  bool answers_pings_ = false;
  bool aborted_ = false;
  std::size_t after_close_ = 0;
  std::size_t batches_ = 0;
};

} // namespace test_support
