#pragma once
/// @brief Hears the other nodes' news: LISTEN on PostgreSQL, a polled table on SQLite.

#include "storage/database.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

namespace solod {

/// Where a listener delivers. Called on the listener's own thread: hand off only.
class news_sink {
public:
  virtual ~news_sink() = default;

  /// One payload (see news_batch).
  virtual void on_news(std::string payload) = 0;

  /// Listening (again): every change from now on will be heard, so whatever
  /// happened before must be re-read from the tables once.
  virtual void on_listening() = 0;

  /// The news connection is gone: changes may go unheard until on_listening.
  virtual void on_lost(const std::string& why) = 0;
};

/// Runs on its own thread with its own connection, so that neither the CAF
/// scheduler nor the network threads ever wait on the database.
///
/// PostgreSQL: LISTEN, then wait on the socket. Every `probe_every` of
/// silence it sends a query: a connection that has not answered within
/// `probe_timeout` is declared lost (a half-open TCP connection would
/// otherwise look quiet for minutes). Lost: reconnect at once, then every
/// 250 ms. The connection's application_name is `solod-listen <node id>`.
///
/// SQLite: one node, with the CLI beside it; polls `cluster_news` every
/// `poll_every`.
class news_listener {
public:
  struct timing {
    std::chrono::milliseconds probe_every{1000};
    std::chrono::milliseconds probe_timeout{2000};
    std::chrono::milliseconds poll_every{200};
  };

  news_listener(database_url url, news_sink& sink, timing t);
  ~news_listener();
  news_listener(const news_listener&) = delete;
  news_listener& operator=(const news_listener&) = delete;

  /// Starts the thread.
  void start();

  /// Stops and joins the thread; the sink hears nothing afterwards.
  void stop();

private:
  void run_postgresql();
  void run_sqlite();
  bool sleep_for(std::chrono::milliseconds d);

  database_url url_;
  news_sink& sink_;
  timing timing_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

} // namespace solod
