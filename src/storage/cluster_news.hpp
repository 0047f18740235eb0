#pragma once
/// @brief News between nodes: what a transaction changed, sent inside it.

#include "storage/records.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace soci {
class session;
}

namespace solod {

/// The LISTEN/NOTIFY channel of every node.
inline constexpr const char* news_channel = "solod_news";

/// Payloads larger than this go through `cluster_news` (NOTIFY's limit is 8,000 bytes).
inline constexpr std::size_t news_inline_max = 7900;

/// The events of one transaction, published in it: every node hears them
/// exactly when the change commits, and never hears a change that rolled back.
///
/// Payload: `{"o": origin node, "e": [event, ...]}`. Events (`k` = kind):
/// - `start`: a session began (`u`, `s`, `n` username, `ip`, `ua`, `at`, `exp`,
///   `old`: the session it ended, or "")
/// - `end`: a session ended (`u`, `s`, `r` = its end_reason)
/// - `join` / `leave`: a connection of node `node` (`c`, `u`, `n`, `s`)
/// - `msg`: a message for `to` (empty: everyone) connected elsewhere (`t`: the text)
/// - `gone`: node `node` died; its connections are gone
class news_batch {
public:
  void session_started(const session_record& s, const std::string& old_id);
  void session_ended(std::int64_t user_id, const std::string& session_id, const std::string& reason);
  void add(nlohmann::json event) { events_.push_back(std::move(event)); }
  bool empty() const { return events_.empty(); }

  /// Sends the batch inside the transaction open on `sql`: PostgreSQL gets a
  /// NOTIFY (its payload in `cluster_news` when large); SQLite, where one node
  /// polls the table for the CLI's changes, gets a row.
  void publish(soci::session& sql) const;

private:
  nlohmann::json events_ = nlohmann::json::array();
};

/// A received payload, resolved.
struct news_item {
  std::string origin;
  nlohmann::json events; ///< an array
  std::optional<long long> ref; ///< set when the events are in `cluster_news` row `ref`
};

/// Parses a payload; nothing when it is not one of ours.
std::optional<news_item> parse_news(const std::string& payload);

/// The events of `cluster_news` row `id` (a payload too large for NOTIFY).
std::optional<news_item> read_news_row(soci::session& sql, long long id);

/// Deletes news rows older than `before`; returns how many.
std::size_t prune_news(soci::session& sql, time_point before);

/// True when `sql` talks to PostgreSQL.
bool is_postgresql(soci::session& sql);

} // namespace solod
